"""What a Dask worker runs for one job: :func:`run_job` builds the scene, trains the network
and calls the public api functions, which write atomically into the job's folder.

A worker that shares the driver's ``OUT`` (it sees the driver's marker file there) writes in
place; one that does not (another machine, no shared mount, a mount it may only read) makes
the files in a temporary folder of its own and returns their bytes for the driver to write.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from layerlapse.batch.manifest import JobOutput, OutputKind, Status
from layerlapse.batch.sweep import Job
from layerlapse.errors import LayerlapseError

if TYPE_CHECKING:
    from layerlapse.app import api


@dataclass(frozen=True)
class JobResult:
    """What a job returns to the driver, which makes its manifest record from it."""

    status: Status
    error: str | None = None
    #: kind -> the file's name in the job's folder, in the order the record lists them
    outputs: dict[OutputKind, str] = field(default_factory=dict)
    accuracy: float | None = None
    #: the trained network in words
    network: str | None = None
    #: the certificate's summary (None: none made)
    certificate: str | None = None
    #: HOST:PID of the process that ran it
    worker: str | None = None
    #: the Dask worker's address (None outside a worker), to restart it after so many jobs
    address: str | None = None
    wall_s: float | None = None
    #: name -> bytes of the files a worker without the driver's folder made (None: written in place)
    files: dict[str, bytes] | None = None


@dataclass(frozen=True)
class _Made:
    """What :func:`_make` made: the record's outputs, accuracy, network and certificate."""

    outputs: dict[OutputKind, str]
    accuracy: float | None
    network: str
    certificate: str | None


def run_job(job: Job, folder: str, marker: str | None = None) -> JobResult:
    """Make one job's outputs.

    ``marker`` is a file the driver made in ``OUT`` (None: write in place). A worker that
    sees it shares the driver's folder and writes into ``folder`` (``OUT/JOBID``); one
    that does not makes the files in a temporary folder and returns them as ``files`` for
    the driver to write.

    Never raises for a job's own error (bad parameter, untrainable network): that is
    returned as ``status=FAILED`` with the one-line message, so it is not retried.
    """
    from layerlapse._files import remove_stale_temporaries

    start = time.perf_counter()
    worker, address = f"{socket.gethostname()}:{os.getpid()}", _worker_address()
    files = None
    try:
        _check_scene_file(job)
        if marker is None or (os.path.isfile(marker) and os.access(os.path.dirname(marker), os.W_OK)):
            out = Path(folder)
            out.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(out)  # what a killed attempt left
            made = _make(job, out)
        else:
            with tempfile.TemporaryDirectory(prefix="layerlapse-job-") as tmp:
                made = _make(job, Path(tmp))
                files = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}
    except Exception as exc:  # any error of one job is that job's failure; the sweep goes on
        message = str(exc) if isinstance(exc, LayerlapseError) else f"{type(exc).__name__}: {exc}"
        return JobResult(Status.FAILED, " ".join(message.split()), worker=worker, address=address,
                         wall_s=round(time.perf_counter() - start, 3))
    return JobResult(Status.DONE, None, made.outputs, made.accuracy, made.network, made.certificate, worker=worker,
                     address=address, wall_s=round(time.perf_counter() - start, 3), files=files)


def _worker_address() -> str | None:
    """This Dask worker's address; None outside a worker (a job run in the driver, a test)."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


def _check_scene_file(job: Job) -> None:
    """A scene file must still be the one the job's id was made from (not edited since the
    sweep was read, not another machine's different copy)."""
    from layerlapse.app.scenefile import scene_file_digest

    if not job.scene_hash:
        return
    try:
        digest = scene_file_digest(Path(job.scene))
    except OSError as exc:
        raise LayerlapseError(f"scene file {job.scene!r}: cannot read it on {socket.gethostname()} "
                              f"({exc.strerror or exc}); workers read scene files at the driver's path") from None
    if digest != job.scene_hash:
        raise LayerlapseError(f"scene file {job.scene!r}: not the file the sweep was read with (edited since, or "
                              f"another copy on {socket.gethostname()}); run the batch again")


def _make(job: Job, out: Path) -> _Made:
    """Train the job's network and make its outputs in ``out``."""
    from layerlapse.app import api
    from layerlapse.app.scenefile import resolve_scene
    from layerlapse.networks import save_network

    preset = resolve_scene(job.scene, **job.params)
    network = api.train_network(preset, network=job.network or None, training=job.training or None, progress=False)
    save_network(network, out / "network.pt")
    prepared = api.Prepared(preset, network)
    made = {OutputKind.NETWORK: "network.pt"}
    if (out / "network.pt.npz").is_file():  # the torch-free copy that drawing loads: hashed and checked too
        made[OutputKind.NETWORK_NPZ] = "network.pt.npz"
    made.update(_motion(job, prepared, out))
    if JobOutput.SHEET in job.outputs:
        api.figure(prepared, out / "sheet.png", sheet=True, size=job.size, supersample=job.supersample,
                   progress=False)
        made[OutputKind.SHEET] = "sheet.png"
    if JobOutput.FIGURE in job.outputs:
        api.figure(prepared, out / "output.png", at="output", size=job.size, supersample=job.supersample,
                   progress=False)
        made[OutputKind.FIGURE] = "output.png"
    summary = None
    if JobOutput.CERTIFICATE in job.outputs:  # layerlapse inspect: certificate.csv, .json, .png
        inspected = api.inspect(prepared, out, seconds_per_stage=job.seconds_per_stage)
        summary = inspected.summary
        made.update({OutputKind.certificate(p.suffix): p.name for p in inspected.paths})
    return _Made(made, network.accuracy, network.config.describe(), summary)


def _motion(job: Job, prepared: api.Prepared, out: Path) -> dict[OutputKind, str]:
    """The movie (with the trajectory it plays and, without a still, its first moment as the
    gallery's thumbnail), or the trajectory alone; -> kind: file name."""
    from layerlapse.app import api
    from layerlapse.app.trajectory import save_trajectory

    made: dict[OutputKind, str] = {}
    if JobOutput.MOVIE in job.outputs:
        movie = out / f"movie.{job.format}"
        trajectory = out / "trajectory.npz" if JobOutput.TRAJECTORY in job.outputs else None
        api.render(prepared, movie, quality=job.quality, size=job.size, seconds_per_stage=job.seconds_per_stage,
                   save_trajectory=trajectory, progress=False)
        made[OutputKind.MOVIE] = movie.name
        if trajectory is not None:
            made[OutputKind.TRAJECTORY] = trajectory.name
        if not {JobOutput.SHEET, JobOutput.FIGURE} & set(job.outputs):
            api.figure(prepared, out / "first-frame.png", at="input", size=job.size, supersample=1, progress=False)
            made[OutputKind.FIRST_FRAME] = "first-frame.png"
    elif JobOutput.TRAJECTORY in job.outputs:
        timeline = {"seconds_per_stage": job.seconds_per_stage} if job.seconds_per_stage else None
        save_trajectory(out / "trajectory.npz", prepared.preset.scene, prepared.deform(timeline=timeline))
        made[OutputKind.TRAJECTORY] = "trajectory.npz"
    return made
