"""A movie encoded as pieces of about :data:`PIECE_SECONDS` each, joined without re-encoding.

Every MP4 and WebM longer than one piece is made this way, in one process or split across
workers (:mod:`layerlapse.batch.split`): the timeline is cut into pieces of a fixed number of
frames (:func:`piece_frames`, from the frame rate only, so the cut does not depend on how many
workers there are); each piece is encoded by a fresh ffmpeg (its first picture an IDR frame,
its groups of pictures closed, since nothing before it exists for the encoder) into a piece
file in a temporary folder beside the target; the pieces are then joined by ffmpeg's concat
demuxer with ``-c copy`` into the target's temporary name, renamed when complete. Who encoded
a piece changes nothing in it, so a split render's file is the one-process file, byte for byte.

A folder of PNG frames is cut the same way (each piece a folder of its frames, numbered as
in the whole movie); the join moves the frames into one folder. A GIF is one palette over the
whole clip: it is never cut.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from layerlapse._activity import note
from layerlapse._files import as_write_error, check_folder_writable, commit, remember_written, temporary_sibling
from layerlapse.errors import LayerlapseError
from layerlapse.render.encoder import EVEN_SIZE_FORMATS, FOLDER, FrameWriter, _child_setup, output_kind

#: seconds of movie a piece holds, about (see :func:`piece_frames`)
PIECE_SECONDS = 4.0
#: a piece's length is a multiple of this: the frames' positions are computed this many at a
#: time (render_frames' batch, the pulled-back boundary's), and a piece that starts on a batch
#: boundary computes them in the same batches as the whole movie does
PIECE_MULTIPLE = 8
#: how long the join may take: this, plus a second for every JOIN_BYTES_PER_S bytes of pieces
JOIN_TIMEOUT_S = 60.0
JOIN_BYTES_PER_S = 20e6


def piece_frames(fps: float) -> int:
    """Frames in each piece (the last may be shorter): :data:`PIECE_SECONDS` at ``fps``,
    rounded to a multiple of :data:`PIECE_MULTIPLE` (120 at 30 fps, 64 at 15)."""
    return max(PIECE_MULTIPLE, int(round(PIECE_SECONDS * fps / PIECE_MULTIPLE)) * PIECE_MULTIPLE)


def piece_ranges(n_frames: int, fps: float) -> list[range]:
    """The frames of each piece of an ``n_frames`` movie at ``fps``, in order."""
    step = piece_frames(fps)
    return [range(start, min(start + step, n_frames)) for start in range(0, n_frames, step)]


def is_cut(kind: str, n_frames: int, fps: float) -> bool:
    """Whether a movie of this kind and length is made of pieces: MP4 and WebM of more than one
    piece, and PNG folders (every one: their pieces are only a way to split the frames)."""
    return kind == FOLDER or (kind in EVEN_SIZE_FORMATS and n_frames > piece_frames(fps))


def piece_name(index: int, kind: str) -> str:
    """``piece_00003.mp4`` (a folder ``piece_00003`` for PNG frames)."""
    return f"piece_{index:05d}" + ("" if kind == FOLDER else kind)


class PieceWriter:
    """Frames to the piece files of ``pieces`` (index, frames) in ``folder``, in order, each
    by a fresh :class:`~layerlapse.render.encoder.FrameWriter` (so a fresh ffmpeg) started
    as its first frame arrives; use as a context manager. A piece is renamed into place only
    when complete: a writer killed mid-piece leaves only that piece's temporary name."""

    def __init__(self, folder: Path, kind: str, size: tuple[int, int], fps: float, *,
                 input_size: tuple[int, int], pieces: Iterable[tuple[int, range]], target: Path | None = None) -> None:
        self.folder, self.kind, self.size, self.fps, self.input_size = Path(folder), kind, size, fps, input_size
        self.target = target  # the movie the pieces make: what a failure to write one names
        self.pieces = list(pieces)
        self.done: list[Path] = []
        self._writer: FrameWriter | None = None
        self._left = 0  # frames the open piece still takes

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            if len(self.done) == len(self.pieces):
                raise ValueError(f"more frames than the {len(self.pieces)} pieces hold")
            index, frames = self.pieces[len(self.done)]
            self._writer = FrameWriter(self.folder / piece_name(index, self.kind), self.size, self.fps,
                                       input_size=self.input_size, first_index=frames.start, final=False,
                                       faststart=False, shown_as=self.target)
            self._left = len(frames)
        self._writer.write(frame)
        self._left -= 1
        if not self._left:
            writer, self._writer = self._writer, None
            done = writer.close()
            assert done is not None
            self.done.append(done)

    def close(self, *, success: bool = True) -> list[Path]:
        """The piece files, all of them complete; without success the open piece is dropped."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close(success=False)
            if success:
                raise LayerlapseError(f"writer: piece {len(self.done)} ended {self._left} frames short")
        if success and len(self.done) != len(self.pieces):
            raise LayerlapseError(f"writer: {len(self.done)} of {len(self.pieces)} pieces were written")
        return self.done

    def __enter__(self) -> PieceWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(success=exc_type is None)


def join_pieces(pieces: list[Path], path: Path) -> Path:
    """The pieces (complete piece files, in order) as the movie ``path``: written to a temporary
    name beside it and renamed when complete. MP4 and WebM by ffmpeg's concat demuxer with
    ``-c copy`` (an MP4's index moved to its start, ``+faststart``); PNG frames moved into one
    folder. Nothing is re-encoded."""
    kind = output_kind(path)
    check_folder_writable(path)
    if kind == FOLDER:
        return _join_frames(pieces, path)
    tmp = temporary_sibling(path)
    done = False
    try:
        _concat(pieces, tmp, kind, path)
        commit(tmp, path)
        done = True
    except BaseException as exc:
        note(exc, "joining the pieces", path)
        raise
    finally:
        if not done:
            tmp.unlink(missing_ok=True)
    return path


def _concat(pieces: list[Path], tmp: Path, kind: str, target: Path) -> None:
    """ffmpeg's concat demuxer over ``pieces`` into ``tmp``; its own words if it fails; bounded."""
    listing = pieces[0].parent / "pieces.txt"
    # the concat list's quoting: a quote ends the name, so it is written as '\''
    listing.write_text("".join("file '" + str(p.resolve()).replace("'", "'\\''") + "'\n" for p in pieces))
    # bitexact: no random segment id (WebM), so the same pieces always join into the same bytes
    extra = ["-fflags", "+bitexact", *(["-movflags", "+faststart"] if kind == ".mp4" else [])]
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "concat", "-safe", "0",
               "-i", str(listing), "-c", "copy", *extra, "-f", "mp4" if kind == ".mp4" else "webm", str(tmp)]
    timeout = JOIN_TIMEOUT_S + sum(p.stat().st_size for p in pieces) / JOIN_BYTES_PER_S
    with tempfile.TemporaryFile() as said:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=said,
                                preexec_fn=_child_setup())
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise LayerlapseError(f"ffmpeg: joining {len(pieces)} pieces took longer than {timeout:.0f} s; "
                                  "stopped") from None
        finally:
            if proc.poll() is None:  # interrupted: no half-joined file finishes behind our back
                proc.kill()
                proc.wait()
        if code != 0:
            said.seek(0)
            lines = [line.strip() for line in said.read().decode(errors="replace").splitlines() if line.strip()]
            text = "; ".join(lines[:2])
            raise as_write_error(text, target) or LayerlapseError(f"ffmpeg: joining the pieces failed (exit {code})"
                                                              + (f": {text}" if text else ""))


def _join_frames(pieces: list[Path], path: Path) -> Path:
    """PNG pieces (folders of frames numbered as in the whole movie) as the folder ``path``."""
    tmp = temporary_sibling(path, folder=True)
    done = False
    try:
        for piece in pieces:
            for frame in sorted(piece.iterdir()):
                os.replace(frame, tmp / frame.name)
        if path.exists():  # only earlier frames: see check_frame_folder
            shutil.rmtree(path)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
        remember_written(path)
        done = True
    finally:
        if not done:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


class MovieWriter:
    """A whole movie written piece by piece in this process (:class:`PieceWriter` into a
    temporary folder beside ``path``), then joined (:func:`join_pieces`); the folder is
    removed however it ends. Use as a context manager, as a FrameWriter."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, *, input_size: tuple[int, int],
                 n_frames: int) -> None:
        self.path = Path(path)
        kind = output_kind(self.path)
        check_folder_writable(self.path)
        self.folder = temporary_sibling(self.path, folder=True)
        self.pieces = PieceWriter(self.folder, kind, size, fps, input_size=input_size,
                                  pieces=enumerate(piece_ranges(n_frames, fps)), target=self.path)

    def write(self, frame: np.ndarray) -> None:
        self.pieces.write(frame)

    def close(self, *, success: bool = True) -> Path | None:
        try:
            done = self.pieces.close(success=success)
            return join_pieces(done, self.path) if success else None
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> MovieWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            note(exc, "rendering frames", self.path)
        self.close(success=exc_type is None)
