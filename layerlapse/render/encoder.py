"""Frames to files on a background thread: MP4, WebM, GIF (ffmpeg) or a PNG folder.

Frames are queued (a bounded queue, so memory stays flat) and written while the next
frame renders. Output goes to a temporary name beside the target and is renamed into
place only when writing finished cleanly; on failure or interrupt nothing is left behind,
and if this process is killed, ffmpeg dies with it (on Linux; the kernel closes the pipe an
instant before the parent-death signal lands, so ffmpeg may still close what it had), and
the temporary file, never renamed, is removed by the next run in that folder.
"""

from __future__ import annotations

import ctypes
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import IO

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np

from layerlapse._activity import note
from layerlapse._files import (
    as_write_error,
    check_folder_writable,
    commit,
    remember_replaced,
    remember_written,
    temporary_sibling,
)
from layerlapse.errors import LayerlapseError

#: the encoder's threads, fixed, and one: x264 and VP9 make other pictures with another thread
#: count (measured: 1, 2 and 3 threads decode to three different movies), and a movie split
#: across workers must decode to the frames one process makes, on any machine; with two
#: threads x264 also wrote different (equivalent) bytes in 2 of 15 runs of the same frames on
#: a loaded machine, with one thread never. Encoding runs beside the renderer on its own
#: thread and is a small part of a frame's cost (see DESIGN.md; two-curves at 720p, where it
#: matters most, measured 2-8% slower than with two threads on the 2-core machine).
ENCODER_THREADS = 1

#: extension -> ffmpeg settings (the names imageio-ffmpeg's ``write_frames`` used).
#: H.264 and VP9 with yuv420p need even sides.
MOVIE_FORMATS: dict[str, dict] = {
    ".mp4": {
        "codec": "libx264",
        "pix_fmt_out": "yuv420p",
        "output_params": ["-threads", str(ENCODER_THREADS), "-crf", "18", "-preset", "veryfast",
                          "-movflags", "+faststart"],
    },
    ".webm": {
        "codec": "libvpx-vp9",
        "pix_fmt_out": "yuv420p",
        "output_params": ["-threads", str(ENCODER_THREADS), "-b:v", "0", "-crf", "31", "-deadline", "realtime",
                          "-cpu-used", "8", "-row-mt", "1"],
    },
    ".gif": {
        "codec": "gif",
        "pix_fmt_out": "pal8",
        # one palette for the whole clip, from the pixels that change, ordered dithering
        "output_params": [
            "-vf",
            "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=4:diff_mode=rectangle",
            "-loop",
            "0",
        ],
    },
}
EVEN_SIZE_FORMATS = (".mp4", ".webm")
FOLDER = "folder"  # a path without extension: a folder of PNG frames
FORMAT_NAMES = (*MOVIE_FORMATS, "a folder (PNG frames)")


def output_kind(path: Path) -> str:
    """``'.mp4'``, ``'.webm'``, ``'.gif'`` or :data:`FOLDER`; a clear error for anything else."""
    ext = path.suffix.lower()
    if not ext:
        return FOLDER
    if ext not in MOVIE_FORMATS:
        raise LayerlapseError(
            f"out: unknown format {ext!r} of {path.name!r}; allowed: {', '.join(FORMAT_NAMES)}"
        )
    return ext


def check_frame_folder(path: Path) -> None:
    """A PNG-frame target may be new or hold only earlier frames; never clobber other files."""
    if path.is_file():
        raise LayerlapseError(f"out: {str(path)!r} is a file; a PNG frame sequence needs a folder path")
    if path.is_dir():
        others = [p.name for p in path.iterdir() if not (p.name.startswith("frame_") and p.suffix == ".png")]
        if others:
            raise LayerlapseError(
                f"out: folder {str(path)!r} exists and holds other files ({others[0]!r}, ...); "
                "choose a new folder for the PNG frames"
            )


class FrameWriter:
    """Write RGB frames (H, W, 3) uint8 to ``path`` atomically; use as a context manager.

    The format follows the extension (:data:`MOVIE_FORMATS`); no extension writes
    ``frame_00000.png``, ... into the folder ``path`` (numbered from ``first_index``).
    ``final=False``: a part of an output (a piece of a movie, :mod:`~layerlapse.render.pieces`),
    renamed into place without being counted as an output made; ``faststart=False`` leaves
    an MP4's index at its end (a piece is joined, and the join moves the index).
    """

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, *, queue_size: int = 8,
                 input_size: tuple[int, int] | None = None, first_index: int = 0, final: bool = True,
                 faststart: bool = True, shown_as: str | Path | None = None) -> None:
        self.path = Path(path)
        #: the file an error names: the movie a piece belongs to, not the piece inside its folder
        self.shown_as = Path(shown_as) if shown_as is not None else self.path
        self.first_index, self.final, self.faststart = first_index, final, faststart
        self.size = size
        #: frames arrive at this size and are scaled down to ``size`` (area average) on the
        #: writer's side: by ffmpeg for movies, by Pillow for PNG frames
        self.input_size = tuple(input_size) if input_size is not None else tuple(size)
        self.fps = fps
        self.kind = output_kind(self.path)
        check_folder_writable(self.path)
        if self.kind == FOLDER:
            check_frame_folder(self.path)
        self.tmp = temporary_sibling(self.path, folder=self.kind == FOLDER)
        self.frames_written = 0
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._input_ended = False  # the writer thread took the end-of-frames mark
        self._error: BaseException | None = None
        # ffmpeg is started here, on the caller's thread, never on the writer's: forking while
        # another thread is inside a BLAS call lets OpenBLAS's fork handler stop the thread
        # pool under that call, which then waits forever (a flow's ODE solve, all matrix
        # products, hung the camera pass this way about one render in six).
        # Caveat: Linux's parent-death signal (see _child_setup) fires when the *thread* that
        # started ffmpeg ends, so a writer made on a thread that ends before close() loses ffmpeg.
        self._stderr: IO[bytes] | None = None
        self._encoder: subprocess.Popen | None = None
        if self.kind != FOLDER:
            try:
                self._encoder = self._start_encoder()
            except BaseException:
                self._discard()
                raise
        self._thread = threading.Thread(target=self._run, name="layerlapse-writer", daemon=True)
        self._thread.start()

    def _frames(self) -> Iterator[np.ndarray]:
        while (frame := self._queue.get()) is not None:
            yield frame
        self._input_ended = True

    def _run(self) -> None:
        try:
            if self.kind == FOLDER:
                for i, frame in enumerate(self._frames(), start=self.first_index):
                    iio.imwrite(self.tmp / f"frame_{i:05d}.png", self._downscale(frame), compress_level=3)
                return
            proc = self._encoder
            assert proc is not None and proc.stdin is not None
            try:
                for frame in self._frames():
                    proc.stdin.write(frame.data.cast("B"))  # C-contiguous: see write()
                proc.stdin.close()
            except OSError:  # a broken pipe: ffmpeg stopped; its own words say why
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                raise self._ffmpeg_failure("stopped early") from None
            if proc.wait() != 0:
                raise self._ffmpeg_failure("failed")
        except BaseException as exc:  # surfaced in write()/close() on the caller's thread
            self._error = exc
            if not self._input_ended:
                for _ in self._frames():  # drain so the producer never blocks
                    pass

    def ffmpeg_command(self) -> list[str]:
        """The ffmpeg command line: the one imageio-ffmpeg's ``write_frames`` built (raw RGB
        from stdin, never padded to macro blocks), plus the downscale to ``size``."""
        settings = MOVIE_FORMATS[self.kind]
        params = list(settings["output_params"])
        if not self.faststart and "+faststart" in params:
            i = params.index("+faststart")
            del params[i - 1 : i + 1]
        if self.input_size != tuple(self.size):
            scale = f"scale={self.size[0]}:{self.size[1]}:flags=area"
            if "-vf" in params:  # join the format's own filter chain
                i = params.index("-vf") + 1
                params[i] = f"{scale},{params[i]}"
            else:
                params = ["-vf", scale, *params]
        w, h = self.input_size
        return [
            imageio_ffmpeg.get_ffmpeg_exe(), "-y",
            "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{w}x{h}", "-pix_fmt", "rgb24",
            "-r", str(Fraction(self.fps).limit_denominator()), "-i", "-", "-an",
            "-vcodec", settings["codec"], "-pix_fmt", settings["pix_fmt_out"],
            "-v", "error", *params, str(self.tmp),
        ]

    def _start_encoder(self) -> subprocess.Popen:
        """The ffmpeg process, reading frames from its stdin; what it says goes to a file
        (a pipe nobody reads could fill and stall it)."""
        self._stderr = tempfile.TemporaryFile()
        return subprocess.Popen(self.ffmpeg_command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=self._stderr, preexec_fn=_child_setup())

    def _ffmpeg_says(self, lines: int = 2) -> str:
        """``": "`` and the first lines ffmpeg wrote to stderr (the cause; the rest are its
        consequences), on one line; "" if it said nothing."""
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            text = self._stderr.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""
        said = [re.sub(r" @ 0x[0-9a-f]+", "", line.strip()) for line in text.splitlines() if line.strip()]
        more = f"; ... ({len(said) - lines} more lines)" if len(said) > lines else ""
        return ": " + "; ".join(said[:lines]) + more if said else ""

    def _ffmpeg_failure(self, what: str) -> LayerlapseError:
        """ffmpeg's exit, in its own words; a full disk (its "No space left on device") as a WriteError."""
        says = self._ffmpeg_says()
        code = self._encoder.returncode if self._encoder is not None else None
        return as_write_error(says, self.shown_as) or LayerlapseError(f"ffmpeg {what} (exit {code}){says}")

    def _stop_encoder(self) -> None:
        """Kill ffmpeg if it still runs and reap it (no zombie, no half-finished file)."""
        proc = self._encoder
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def _downscale(self, frame: np.ndarray) -> np.ndarray:
        if self.input_size == tuple(self.size):
            return frame
        from PIL import Image

        return np.asarray(Image.fromarray(frame).resize((int(self.size[0]), int(self.size[1])), Image.Resampling.BOX))

    def write(self, frame: np.ndarray) -> None:
        """Queue one frame; it must be (H, W, 3) uint8 with (W, H) == input_size."""
        if self._error is not None:
            raise self._failure()
        w, h = self.input_size
        if frame.shape != (h, w, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame of shape {frame.shape} {frame.dtype}, expected {(h, w, 3)} uint8")
        self._queue.put(np.ascontiguousarray(frame))
        self.frames_written += 1

    def _discard(self) -> None:
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)

    def _end_thread(self) -> None:
        """Give the writer its end mark and wait for it to finish, offering the mark again
        until the thread ends, so that one lost wake-up cannot hang the process. (Twice, in
        many test runs, a render hung with the writer waiting for frames after the mark was
        put: once under SIGTERM, where an exception raised inside ``Queue.put`` can leave an
        item queued without waking the writer, once after a failed frame.) Extra marks are
        never read."""
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.5)
            except queue.Full:  # the writer is busy with the queued frames; it will get there
                pass
            self._thread.join(timeout=0.5)

    def close(self, *, success: bool = True) -> Path | None:
        """Finish writing; rename into place on success, delete the temporary output otherwise.

        Without success ffmpeg is killed at once, not left to finish a file nobody keeps.
        """
        done = False
        try:
            if not success:
                self._stop_encoder()
            self._end_thread()
            if success and self._error is None and self.frames_written:
                if not self.final:  # a piece: in a temporary folder of the caller's
                    os.replace(self.tmp, self.path)
                elif self.kind == FOLDER:
                    if self.path.exists():  # only earlier frames: see check_frame_folder
                        shutil.rmtree(self.path)
                        remember_replaced(self.path)
                    os.chmod(self.tmp, 0o755)
                    os.replace(self.tmp, self.path)
                    remember_written(self.path)
                else:
                    commit(self.tmp, self.path)
                done = True
                return self.path
        except BaseException as exc:  # interrupted while ffmpeg finished the file
            if self.final:  # a piece's name means nothing to the user: its movie's writer says which
                note(exc, "writing", self.path)
            raise
        finally:
            self._stop_encoder()  # a no-op after a clean finish; ffmpeg reaped in every case
            if not done:
                self._end_thread()
                self._discard()
            if self._stderr is not None:
                self._stderr.close()
        if success and self._error is not None:
            raise self._failure()
        if success:
            raise LayerlapseError("writer: no frames were written")
        return None

    def _failure(self) -> LayerlapseError:
        """The writer thread's error, for the caller: a full disk as a WriteError (exit 74)."""
        assert self._error is not None
        return as_write_error(self._error, self.shown_as) or LayerlapseError(f"writer: {self._error}")

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            note(exc, "rendering frames", self.path)
        self.close(success=exc_type is None)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _child_setup() -> Callable[[], None] | None:
    """What ffmpeg's child process runs between fork and exec (None off POSIX).

    Its own process group, so a terminal's Ctrl-C reaches only us and we stop ffmpeg (as
    imageio-ffmpeg did). On Linux also ``PR_SET_PDEATHSIG``: the kernel sends ffmpeg SIGKILL
    when its parent dies, killed too, so it never sees a clean end of input and never
    finishes a partial file. The signal is tied to the parent *thread* that forked, see
    :class:`FrameWriter`. libc's ``prctl`` is looked up here: the child, a copy of a
    threaded process, must not load libraries or take locks.
    """
    if os.name != "posix":
        return None
    parent = os.getpid()
    prctl = None
    if sys.platform.startswith("linux"):
        try:
            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            prctl = None
    sigkill = int(signal.SIGKILL)

    def setup() -> None:
        os.setpgrp()
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before the signal was armed
                os._exit(1)

    return setup
