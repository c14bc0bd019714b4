"""``layerlapse render --workers N`` (or ``--scheduler tcp://HOST:PORT``): one movie split
across Dask workers.

The movie's pieces (:mod:`~layerlapse.render.pieces`: about 4 s each, cut by the frame rate
alone) are dealt out in contiguous blocks, one or more per worker; a worker renders its
block's frames (:func:`~layerlapse.render.movie.render_frames` over that range, with the
camera path made once here) and encodes each piece with a fresh ffmpeg; this process joins
the pieces with the concat demuxer, without re-encoding. Who rendered a piece changes
nothing in it, so the file is the one a single process writes (the same decoded frames;
the same bytes).

Where the pieces go: a worker that sees the marker file in the temporary folder beside the
target (the local cluster's always do; a remote one on a shared mount may) writes its
pieces there, each renamed into place when complete, and memory stays flat however long
the movie is; one that does not returns its pieces' bytes, written here, and blocks are
kept to :data:`MAX_BLOCK_PIECES` pieces so that what one block returns stays small.

Faults: a worker that dies has its block run again by the scheduler (``retries`` times for
the cluster made here: ``allowed-failures``), then the render stops with one line. Nothing
waits for ever: a cluster without workers for ``wait_for_workers`` seconds, a scheduler that
goes away, or a block that runs for :func:`block_timeout` seconds each end it with one line.
However it ends (Ctrl-C included), the cluster made here is closed and the temporary folder
with every piece in it removed: only a complete movie is renamed into place.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerlapse._activity import note
from layerlapse._extras import require
from layerlapse.errors import LayerlapseError, range_error

if TYPE_CHECKING:
    from layerlapse.draw.camera import CameraPath
    from layerlapse.draw.style import Style
    from layerlapse.draw.words import Cards
    from layerlapse.networks.deformation import FrameSource
    from layerlapse.render.movie import RenderSettings
    from layerlapse.scenes.base import Scene

#: how often this process looks at the cluster while blocks render (seconds)
POLL_S = 0.5
#: a block returned as bytes holds at most this many pieces (about a minute of movie)
MAX_BLOCK_PIECES = 16
#: a block may render this many times longer than the 2-core estimate, and at least
#: BLOCK_TIMEOUT_MIN_S, before it is taken for hung
BLOCK_TIMEOUT_FACTOR = 20.0
BLOCK_TIMEOUT_MIN_S = 600.0
#: the marker file in the pieces' folder: a worker that sees it writes its pieces there
MARKER = "split-marker"


@dataclass(frozen=True)
class MovieSpec:
    """Everything a worker needs to render any range of the movie: what
    :func:`~layerlapse.render.movie.write_movie` takes, and the camera path made once."""

    scene: Scene
    deformation: FrameSource
    settings: RenderSettings
    style: Style
    title: str
    accuracy: float | None
    cards: Cards | None
    captions: str
    camera: CameraPath


@dataclass(frozen=True)
class Block:
    """Contiguous pieces, ``(index, frames)`` each, for one worker to render and encode."""

    pieces: tuple[tuple[int, range], ...]
    kind: str
    #: the pieces' folder here, and the marker file in it
    folder: str
    marker: str

    @property
    def frames(self) -> range:
        return range(self.pieces[0][1].start, self.pieces[-1][1].stop)

    def describe(self) -> str:
        return f"frames {self.frames.start}-{self.frames.stop - 1}"


@dataclass(frozen=True)
class BlockResult:
    """What a worker returns: its pieces' indices (and their bytes, when it could not write
    into the pieces' folder), the frames it saw lose a class, and who it was."""

    pieces: tuple[int, ...]
    files: dict[str, bytes] | None
    lost: dict[int, list[int]]
    frames: int
    worker: str
    seconds: float


def make_blocks(ranges: list[range], workers: int) -> list[tuple[tuple[int, range], ...]]:
    """The pieces ``ranges`` in contiguous blocks: as many as ``workers`` (fewer if there are
    fewer pieces), more if a block would hold over :data:`MAX_BLOCK_PIECES`; sizes within one."""
    count = min(len(ranges), max(workers, math.ceil(len(ranges) / MAX_BLOCK_PIECES)))
    size, extra = divmod(len(ranges), count)
    blocks, start = [], 0
    for i in range(count):
        stop = start + size + (i < extra)
        blocks.append(tuple((k, ranges[k]) for k in range(start, stop)))
        start = stop
    return blocks


def block_timeout(block: Block, spec: MovieSpec) -> float:
    """Seconds a block may render before it is taken for hung."""
    from layerlapse.render.movie import estimate_seconds

    frames = len(block.frames)
    return max(BLOCK_TIMEOUT_MIN_S, BLOCK_TIMEOUT_FACTOR * estimate_seconds(frames, spec.settings))


def render_block(spec: MovieSpec, block: Block) -> BlockResult:
    """What a Dask worker runs: render ``block``'s frames and encode its pieces, into the
    pieces' folder if this worker sees it, else into a folder of its own, returned as bytes."""
    from layerlapse.render.movie import render_frames
    from layerlapse.render.pieces import PieceWriter
    from layerlapse.render.sight import Visibility

    start = time.perf_counter()
    seen = Visibility(spec.scene.class_names)
    settings = spec.settings

    def encode(folder: Path) -> list[Path]:
        with PieceWriter(folder, block.kind, settings.size, settings.fps, input_size=settings.render_size,
                         pieces=block.pieces) as writer:
            for frame in render_frames(spec.scene, spec.deformation, settings, style=spec.style, title=spec.title,
                                       accuracy=spec.accuracy, progress=False, cards=spec.cards,
                                       captions=spec.captions, frames=block.frames, camera=spec.camera, seen=seen):
                writer.write(frame)
        return writer.done

    files = None
    if os.path.isfile(block.marker) and os.access(block.folder, os.W_OK):
        encode(Path(block.folder))
    else:
        with tempfile.TemporaryDirectory(prefix="layerlapse-split-") as tmp:
            files = {}
            for piece in encode(Path(tmp)):
                paths = sorted(piece.iterdir()) if piece.is_dir() else [piece]
                files.update({str(p.relative_to(tmp)): p.read_bytes() for p in paths})
    return BlockResult(tuple(k for k, _ in block.pieces), files, seen.lost, seen.frames,
                       f"{socket.gethostname()}:{os.getpid()}", round(time.perf_counter() - start, 3))


def _local_threads(workers: int) -> dict[str, str]:
    """The local workers' share of the cores for llvmpipe's rasterizer threads (each worker's
    BLAS and OpenMP threads are shared out by :func:`~layerlapse.batch.cluster.worker_environ`);
    ffmpeg's are fixed (:data:`~layerlapse.render.encoder.ENCODER_THREADS`)."""
    return {"LP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // workers))}


@dataclass(frozen=True)
class SplitRender:
    """A movie writer that renders on Dask workers: pass it as ``movie_writer`` to
    :func:`layerlapse.render` (``layerlapse render --workers N``). ``workers``: a local cluster
    of that many spawned processes; ``scheduler``: a running one (``tcp://HOST:PORT``)."""

    workers: int | None = None
    scheduler: str | None = None
    retries: int = 2
    wait_for_workers: float = 120.0
    progress: bool = True

    def check(self, out: str | Path | None = None) -> None:
        """One line for the first setting out of range, or a target that is not split; a
        ``scheduler`` must answer (:func:`~layerlapse.batch.cluster.check_scheduler`)."""
        from layerlapse.render.encoder import output_kind

        if self.workers is not None and not 1 <= self.workers <= 1024:
            raise LayerlapseError(f"workers: {self.workers} is out of range; allowed: 1 to 1024")
        if self.workers is not None and self.scheduler is not None:
            raise LayerlapseError("workers: a running scheduler has its own workers; drop --workers (or --scheduler)")
        if self.workers is None and self.scheduler is None:
            raise LayerlapseError("workers: give a number of local workers or a --scheduler to split the render on")
        if not 0 <= self.retries <= 100:
            raise LayerlapseError(f"retries: {self.retries} is out of range; allowed: 0 to 100")
        if not 1 <= self.wait_for_workers <= 86_400:
            raise range_error("wait_for_workers", self.wait_for_workers, "1 to 86400 seconds")
        if out is not None and output_kind(Path(out)) == ".gif":
            split = f"--workers {self.workers}" if self.workers is not None else f"--scheduler {self.scheduler}"
            raise LayerlapseError(f"workers: {split} with {Path(out).name!r}: a GIF is one palette over the whole "
                                  "clip and is not split; allowed with --workers or --scheduler: .mp4, .webm or a "
                                  "folder for PNG frames")
        require("distributed", "render --workers/--scheduler: a split render")
        if self.scheduler is not None:
            from layerlapse.batch.cluster import check_scheduler

            check_scheduler(self.scheduler)

    def __call__(self, path: str | Path, scene: Scene, deformation: FrameSource, settings: RenderSettings, *,
                 style: Style, title: str = "", accuracy: float | None = None, progress: bool = True,
                 cards: Cards | None = None, captions: str = "burn") -> Path:
        """Render every frame into ``path`` as :func:`~layerlapse.render.movie.write_movie` does,
        the pieces on the cluster; a movie of one piece renders here, as it would anyway."""
        from layerlapse.render.movie import check_movie_target, movie_camera, write_movie
        from layerlapse.render.pieces import is_cut

        path = Path(path)
        self.check(path)
        kind = check_movie_target(path, deformation.n_frames, settings)
        settings = settings.for_view(planar=deformation.planar)
        if not is_cut(kind, deformation.n_frames, settings.fps) or kind == ".gif":
            return write_movie(path, scene, deformation, settings, style=style, title=title, accuracy=accuracy,
                               progress=progress, cards=cards, captions=captions)
        spec = MovieSpec(scene, deformation, settings, style, title, accuracy, cards, captions,
                         movie_camera(scene, deformation, settings, style=style))
        return _Split(self, spec, path, kind, progress=progress and self.progress).run()


class _Split:
    """One split render: the pieces' folder, the cluster, the blocks in flight, the join."""

    def __init__(self, options: SplitRender, spec: MovieSpec, path: Path, kind: str, *, progress: bool) -> None:
        from layerlapse.render.pieces import piece_ranges

        self.options, self.spec, self.path, self.kind, self.progress = options, spec, path, kind, progress
        self.ranges = piece_ranges(spec.deformation.n_frames, spec.settings.fps)

    def run(self) -> Path:
        from layerlapse._files import temporary_sibling
        from layerlapse.batch.cluster import connected
        from layerlapse.render.pieces import join_pieces, piece_name
        from layerlapse.render.sight import Visibility

        folder = temporary_sibling(self.path, folder=True)
        try:
            (folder / MARKER).write_text(secrets.token_hex(8))
            seen = Visibility(self.spec.scene.class_names)
            workers = self.options.workers or 1
            environ = _local_threads(workers) if self.options.scheduler is None else None
            with connected(self.options.scheduler, workers, self.options.retries, environ) as client:
                self._render(client, folder, seen)
            pieces = [folder / piece_name(k, self.kind) for k in range(len(self.ranges))]
            missing = [p.name for p in pieces if not p.exists()]
            if missing:
                raise LayerlapseError(f"workers: {len(missing)} pieces were not made ({missing[0]}, ...)")
            join_pieces(pieces, self.path)
        except BaseException as exc:
            note(exc, "rendering frames", self.path)
            raise
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        seen.warn(fps=self.spec.settings.fps)
        return self.path

    def _render(self, client: Any, folder: Path, seen: Any) -> None:
        """Submit the blocks, wait for them (bounded), write what comes back as bytes."""
        from concurrent.futures import CancelledError

        from distributed import wait
        from tqdm import tqdm

        from layerlapse.batch.cluster import NoWorkers

        address = str(client.scheduler.address)
        idle = NoWorkers(self.options.wait_for_workers, address)
        workers = self._workers(client, idle)
        blocks = [Block(pieces, self.kind, str(folder), str(folder / MARKER))
                  for pieces in make_blocks(self.ranges, workers)]
        token = secrets.token_hex(3)
        with warnings.catch_warnings():  # distributed's "large object in the task graph": on purpose, see below
            warnings.simplefilter("ignore")
            # the spec travels once to the scheduler, as a task of its own, not scattered: a
            # result the scheduler can make again if the worker holding it is killed
            spec = client.submit(_hold, self.spec, key=f"movie-{token}", pure=False)
            running = {client.submit(render_block, spec, block, key=f"frames-{block.frames.start}-{token}",
                                     pure=False): block for block in blocks}
        started: dict[Any, float] = {}
        bar = tqdm(total=self.spec.deformation.n_frames, unit="frame", desc=f"render ({workers} workers)",
                   disable=not self.progress, file=sys.stderr, dynamic_ncols=True)
        try:
            while running:
                info = client.scheduler_info(n_workers=-1)
                if "workers" not in info:
                    raise ConnectionError("no answer from the scheduler")
                idle.check(len(info["workers"]))
                self._overdue(client, running, started)
                try:
                    done = wait(list(running), timeout=POLL_S, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    done = set()
                for future in done:
                    block = running.pop(future)
                    result = _result(future, block, self.options.retries)
                    future.release()
                    if result.files is not None:
                        _receive(folder, result.files)
                    seen.add(result.lost, result.frames)
                made = self._made(folder)
                if made > bar.n:
                    bar.update(made - bar.n)
        except BaseException as exc:
            for future in running:
                future.cancel()
            if isinstance(exc, (OSError, CancelledError)):
                why = "" if isinstance(exc, CancelledError) else f" ({' '.join(str(exc).split()) or type(exc).__name__})"
                raise LayerlapseError(f"scheduler: lost the connection to {address}{why}; nothing was written, "
                                      "run the render again") from None
            raise
        finally:
            bar.close()

    def _workers(self, client: Any, idle: Any) -> int:
        """How many workers the cluster has, waiting (bounded) for the first."""
        while True:
            info = client.scheduler_info(n_workers=-1)
            if "workers" not in info:
                raise ConnectionError("no answer from the scheduler")
            if idle.check(len(info["workers"])):
                return len(info["workers"])
            time.sleep(POLL_S)

    def _overdue(self, client: Any, running: dict[Any, Block], started: dict[Any, float]) -> None:
        """Stop with one line once a block has rendered on a worker for longer than its limit
        (the clock starts when the scheduler first reports it on a worker, not while it waits)."""
        now = time.monotonic()
        busy = {key for keys in client.processing().values() for key in keys}
        for future, block in running.items():
            if future.key in busy:
                started.setdefault(future, now)
            limit = block_timeout(block, self.spec)
            if future in started and now - started[future] > limit:
                raise LayerlapseError(f"workers: {block.describe()} rendered on a worker for more than {limit:.0f} s "
                                      "(20 times the estimate); stopped as hung")

    def _made(self, folder: Path) -> int:
        """Frames in the pieces complete so far (those in the folder)."""
        from layerlapse.render.pieces import piece_name

        return sum(len(frames) for k, frames in enumerate(self.ranges)
                   if (folder / piece_name(k, self.kind)).exists())


def _hold(spec: MovieSpec) -> MovieSpec:
    """The movie's spec as a task's result (see :meth:`_Split._render`)."""
    return spec


def _result(future: Any, block: Block, retries: int) -> BlockResult:
    """The block's result; a worker that died too often is one line."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        raise LayerlapseError(f"workers: the worker rendering {block.describe()} died, more often than --retries "
                              f"{retries} allows (KilledWorker); nothing was written") from None


def _receive(folder: Path, files: dict[str, bytes]) -> None:
    """Pieces a worker without the folder returned: each file written, renamed into place when
    complete (a piece folder's frames first, the folder last)."""
    from layerlapse.batch.manifest import plain_name

    for name in files:
        parts = Path(name).parts
        if not 1 <= len(parts) <= 2 or not all(plain_name(p) for p in parts):
            raise LayerlapseError(f"workers: a worker returned a piece named {name!r}; not written")
    pieces: dict[str, dict[str, bytes]] = {}
    for name, data in files.items():
        head, _, tail = name.partition("/")
        pieces.setdefault(head, {})[tail] = data
    for head, content in pieces.items():
        target = folder / head
        tmp = folder / f".{head}.receiving"
        if "" in content:  # a movie piece: one file
            tmp.write_bytes(content[""])
        else:  # PNG frames: a folder of them
            tmp.mkdir(exist_ok=True)
            for frame, data in content.items():
                (tmp / frame).write_bytes(data)
        os.replace(tmp, target)
