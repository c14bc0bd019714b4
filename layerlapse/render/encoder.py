"""Frames to a movie file through imageio-ffmpeg, on a background thread.

Frames are queued (a bounded queue, so memory stays flat) and piped to ffmpeg while
the next frame renders. The file is written under a temporary name in the target
folder and renamed into place only when ffmpeg has finished cleanly.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from layerlapse._files import commit, temporary_sibling
from layerlapse.errors import LayerlapseError, choice_error

#: extension -> ffmpeg output parameters
MOVIE_FORMATS: dict[str, dict] = {
    ".mp4": {"codec": "libx264", "pix_fmt_out": "yuv420p", "output_params": ["-crf", "18", "-preset", "veryfast", "-movflags", "+faststart"]},
}


def movie_format(path: Path) -> dict:
    """The encoder settings for ``path``'s extension, or a clear error listing the formats."""
    ext = path.suffix.lower()
    if ext not in MOVIE_FORMATS:
        raise choice_error("out", f"{path.name} (extension {ext or 'none'})", sorted(MOVIE_FORMATS))
    return MOVIE_FORMATS[ext]


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


class MovieWriter:
    """Write RGB frames (H, W, 3) uint8 to ``path`` atomically; use as a context manager."""

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float, *, queue_size: int = 8) -> None:
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.settings = movie_format(self.path)
        check_writable(self.path)
        self.tmp = temporary_sibling(self.path)
        self.frames_written = 0
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="layerlapse-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            gen = imageio_ffmpeg.write_frames(
                str(self.tmp),
                self.size,
                fps=self.fps,
                quality=None,
                macro_block_size=1,  # never pad: the video has exactly the size asked for
                ffmpeg_log_level="error",
                **self.settings,
            )
            gen.send(None)
            while (frame := self._queue.get()) is not None:
                gen.send(frame)
            gen.close()
        except BaseException as exc:  # surfaced in write()/close() on the caller's thread
            self._error = exc
            while self._queue.get() is not None:  # drain so the producer never blocks
                pass

    def write(self, frame: np.ndarray) -> None:
        """Queue one frame; it must be (H, W, 3) uint8 with (W, H) == size."""
        if self._error is not None:
            raise LayerlapseError(f"encoder: ffmpeg failed: {self._error}")
        if frame.shape != (self.size[1], self.size[0], 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame of shape {frame.shape} {frame.dtype}, expected {(self.size[1], self.size[0], 3)} uint8")
        self._queue.put(np.ascontiguousarray(frame))
        self.frames_written += 1

    def close(self, *, success: bool = True) -> Path | None:
        """Finish encoding; rename into place on success, delete the temporary file otherwise."""
        self._queue.put(None)
        self._thread.join()
        if success and self._error is None and self.frames_written:
            return commit(self.tmp, self.path)
        self.tmp.unlink(missing_ok=True)
        if success and self._error is not None:
            raise LayerlapseError(f"encoder: ffmpeg failed: {self._error}")
        if success:
            raise LayerlapseError("encoder: no frames were written")
        return None

    def __enter__(self) -> "MovieWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(success=exc_type is None)
