"""Frames to files on a background thread: MP4, WebM, GIF (imageio-ffmpeg) or a PNG folder.

Frames are queued (a bounded queue, so memory stays flat) and written while the next
frame renders. Output goes to a temporary name beside the target and is renamed into
place only when writing finished cleanly; on failure nothing is left behind.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np

from layerlapse._files import commit, temporary_sibling
from layerlapse.errors import LayerlapseError

#: extension -> imageio-ffmpeg settings. H.264 and VP9 with yuv420p need even sides.
MOVIE_FORMATS: dict[str, dict] = {
    ".mp4": {
        "codec": "libx264",
        "pix_fmt_out": "yuv420p",
        "output_params": ["-crf", "18", "-preset", "veryfast", "-movflags", "+faststart"],
    },
    ".webm": {
        "codec": "libvpx-vp9",
        "pix_fmt_out": "yuv420p",
        "output_params": ["-b:v", "0", "-crf", "31", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"],
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


def check_writable(path: Path) -> None:
    """Create ``path``'s folder and prove a file can be written there, before any work."""
    folder = path.parent
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise LayerlapseError(f"out: cannot write to folder {str(folder)!r} ({str(blocker)!r} is a file)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".layerlapse-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise LayerlapseError(f"out: cannot write to folder {str(folder)!r} ({exc.strerror or exc})") from None


class FrameWriter:
    """Write RGB frames (H, W, 3) uint8 to ``path`` atomically; use as a context manager.

    The format follows the extension (:data:`MOVIE_FORMATS`); no extension writes
    ``frame_00000.png``, ... into the folder ``path``.
    """

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, *, queue_size: int = 8,
                 input_size: tuple[int, int] | None = None) -> None:
        self.path = Path(path)
        self.size = size
        #: frames arrive at this size and are scaled down to ``size`` (area average) on the
        #: writer's side: by ffmpeg for movies, by Pillow for PNG frames
        self.input_size = tuple(input_size) if input_size is not None else tuple(size)
        self.fps = fps
        self.kind = output_kind(self.path)
        check_writable(self.path)
        if self.kind == FOLDER:
            check_frame_folder(self.path)
        if self.kind == FOLDER:
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        else:
            self.tmp = temporary_sibling(self.path)
        self.frames_written = 0
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        # ffmpeg is started here, on the caller's thread, never on the writer's: forking while
        # another thread is inside a BLAS call lets OpenBLAS's fork handler stop the thread
        # pool under that call, which then waits forever (a flow's ODE solve, all matrix
        # products, hung the camera pass this way about one render in six).
        self._encoder = None if self.kind == FOLDER else self._start_encoder()
        self._thread = threading.Thread(target=self._run, name="layerlapse-writer", daemon=True)
        self._thread.start()

    def _frames(self) -> Iterator[np.ndarray]:
        while (frame := self._queue.get()) is not None:
            yield frame

    def _run(self) -> None:
        try:
            if self.kind == FOLDER:
                for i, frame in enumerate(self._frames()):
                    iio.imwrite(self.tmp / f"frame_{i:05d}.png", self._downscale(frame), compress_level=3)
                return
            gen = self._encoder
            assert gen is not None
            for frame in self._frames():
                gen.send(frame)
            gen.close()
        except BaseException as exc:  # surfaced in write()/close() on the caller's thread
            self._error = exc
            for _ in self._frames():  # drain so the producer never blocks
                pass

    def _start_encoder(self) -> Any:
        """The ffmpeg process, started (imageio-ffmpeg's generator, primed)."""
        settings = dict(MOVIE_FORMATS[self.kind])
        if self.input_size != tuple(self.size):
            scale = f"scale={self.size[0]}:{self.size[1]}:flags=area"
            params = list(settings["output_params"])
            if "-vf" in params:  # join the format's own filter chain
                i = params.index("-vf") + 1
                params[i] = f"{scale},{params[i]}"
            else:
                params = ["-vf", scale, *params]
            settings["output_params"] = params
        gen = imageio_ffmpeg.write_frames(
            str(self.tmp),
            self.input_size,
            fps=self.fps,
            quality=None,
            macro_block_size=1,  # never pad: the video has exactly the size asked for
            ffmpeg_log_level="error",
            **settings,
        )
        gen.send(None)
        return gen

    def _downscale(self, frame: np.ndarray) -> np.ndarray:
        if self.input_size == tuple(self.size):
            return frame
        from PIL import Image

        return np.asarray(Image.fromarray(frame).resize((int(self.size[0]), int(self.size[1])), Image.Resampling.BOX))

    def write(self, frame: np.ndarray) -> None:
        """Queue one frame; it must be (H, W, 3) uint8 with (W, H) == input_size."""
        if self._error is not None:
            raise LayerlapseError(f"writer: {self._error}")
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

    def close(self, *, success: bool = True) -> Path | None:
        """Finish writing; rename into place on success, delete the temporary output otherwise."""
        self._queue.put(None)
        self._thread.join()
        if success and self._error is None and self.frames_written:
            if self.kind == FOLDER:
                if self.path.exists():  # only earlier frames: see check_frame_folder
                    shutil.rmtree(self.path)
                os.chmod(self.tmp, 0o755)
                os.replace(self.tmp, self.path)
                return self.path
            return commit(self.tmp, self.path)
        self._discard()
        if success and self._error is not None:
            raise LayerlapseError(f"writer: {self._error}")
        if success:
            raise LayerlapseError("writer: no frames were written")
        return None

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(success=exc_type is None)
