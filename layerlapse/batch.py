"""``layerlapse batch``: run a sweep's jobs on Dask distributed, with a manifest to resume from.

The driver (this process) reads the sweep, skips the jobs the manifest says are done (their
files still hashing the same), and keeps at most one job per worker in flight. Each job runs
:func:`run_job` in a worker process: it builds the scene, trains the network and calls the
public api functions, which write atomically into ``OUT/JOBID/``. Only the driver appends to
``OUT/manifest.jsonl``, one line per finished job, so an interrupted sweep leaves a manifest
whose every line is whole.

Workers on other machines need not see ``OUT``: the driver leaves a marker file there for
the sweep's length; a worker that sees it writes in place (same machine, shared mount), one
that does not makes the files in a temporary folder of its own and returns their bytes, which
the driver writes into ``OUT/JOBID/`` (each atomically) before hashing them.

Faults: an error in a job is returned as a failed record (not retried: it would fail
again); a worker that dies is the scheduler's to retry (``allowed-failures``, set from
``retries`` for the cluster made here); after that the job is recorded as failed. A job over
``job_timeout`` is recorded as failed and its worker restarted. Nothing waits for ever: a
cluster without workers for ``wait_for_workers`` seconds, or a scheduler that goes away, ends
the sweep with one line, the finished jobs kept in the manifest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerlapse.errors import LayerlapseError
from layerlapse.sweep import Job, read_sweep

MANIFEST = "manifest.jsonl"
#: how long the driver waits for a ``--scheduler`` to answer before giving up with one line
CONNECT_TIMEOUT_S = 5.0
#: how often the driver looks at the cluster while jobs run (seconds)
POLL_S = 1.0
#: after this many seconds without a worker, say so once
NOTICE_S = 10.0


@dataclass(frozen=True)
class BatchResult:
    """What :func:`batch` did: counts, and where the manifest and the gallery are."""

    done: int
    failed: int
    skipped: int
    manifest: Path
    gallery: Path
    #: (the job in words, its one-line error) for each job that failed in this run
    failures: tuple[tuple[str, str], ...] = ()


# --- in a worker ----------------------------------------------------------------------------
def run_job(job: Job, folder: str, marker: str | None = None) -> dict[str, Any]:
    """Make one job's outputs; -> its record's outputs, accuracy, worker, status (and files).

    ``marker`` is a file the driver made in ``OUT`` (None: write in place). A worker that
    sees it shares the driver's folder and writes into ``folder`` (``OUT/JOBID``); one
    that does not (another machine, no shared mount, a mount it may only read) makes the files in a temporary folder
    and returns them as ``files`` (name -> bytes) for the driver to write (:func:`receive`).

    Never raises for a job's own error (bad parameter, untrainable network): that is
    returned as ``status="failed"`` with the one-line message, so it is not retried.
    """
    from layerlapse._files import remove_stale_temporaries

    start = time.perf_counter()
    record: dict[str, Any] = {"worker": f"{socket.gethostname()}:{os.getpid()}", "address": _worker_address()}
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
                record["files"] = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}
        record.update(status="done", error=None, **made)
    except Exception as exc:  # any error of one job is that job's failure; the sweep goes on
        message = str(exc) if isinstance(exc, LayerlapseError) else f"{type(exc).__name__}: {exc}"
        record.update(status="failed", outputs={}, accuracy=None, error=" ".join(message.split()))
    record["wall_s"] = round(time.perf_counter() - start, 3)
    return record


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


def _make(job: Job, out: Path) -> dict[str, Any]:
    """Train the job's network and make its outputs; -> the record's ``outputs`` (kind: file
    name), ``accuracy``, ``network`` (in words) and ``certificate`` (its summary, or None)."""
    from layerlapse.app import api
    from layerlapse.app.scenefile import resolve_scene
    from layerlapse.app.trajectory import save_trajectory
    from layerlapse.networks import save_network

    preset = resolve_scene(job.scene, **job.params)
    network = api.train_network(preset, network=job.network or None, training=job.training or None, progress=False)
    save_network(network, out / "network.pt")
    prepared = api.Prepared(preset, network)
    made = {"network": "network.pt"}
    if (out / "network.pt.npz").is_file():  # the torch-free copy that drawing loads: hashed and checked too
        made["network-npz"] = "network.pt.npz"
    timeline = {"seconds_per_stage": job.seconds_per_stage} if job.seconds_per_stage else None
    if "movie" in job.outputs:
        movie = out / f"movie.{job.format}"
        trajectory = out / "trajectory.npz" if "trajectory" in job.outputs else None
        api.render(prepared, movie, quality=job.quality, size=job.size, seconds_per_stage=job.seconds_per_stage,
                   save_trajectory=trajectory, progress=False)
        made["movie"] = movie.name
        if trajectory is not None:
            made["trajectory"] = trajectory.name
        if not {"sheet", "figure"} & set(job.outputs):  # the gallery's thumbnail: the movie's first moment
            api.figure(prepared, out / "first-frame.png", at="input", size=job.size, supersample=1, progress=False)
            made["first-frame"] = "first-frame.png"
    elif "trajectory" in job.outputs:
        save_trajectory(out / "trajectory.npz", preset.scene, prepared.deform(timeline=timeline))
        made["trajectory"] = "trajectory.npz"
    if "sheet" in job.outputs:
        api.figure(prepared, out / "sheet.png", sheet=True, size=job.size, supersample=job.supersample,
                   progress=False)
        made["sheet"] = "sheet.png"
    if "figure" in job.outputs:
        api.figure(prepared, out / "output.png", at="output", size=job.size, supersample=job.supersample,
                   progress=False)
        made["figure"] = "output.png"
    summary = None
    if "certificate" in job.outputs:  # layerlapse inspect: certificate.csv, .json, .png
        inspected = api.inspect(prepared, out, seconds_per_stage=job.seconds_per_stage)
        summary = inspected.summary
        made.update({f"certificate-{p.suffix[1:]}": p.name for p in inspected.paths})
    return {"outputs": made, "accuracy": network.accuracy, "network": network.config.describe(),
            "certificate": summary}


# --- the manifest ---------------------------------------------------------------------------
def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(out: Path) -> dict[str, dict[str, Any]]:
    """The latest record of each job id; a line that is not whole JSON (a crash) or lacks a
    record's fields is ignored."""
    latest: dict[str, dict[str, Any]] = {}
    path = out / MANIFEST
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return latest
    except OSError as exc:  # a folder of that name, unreadable
        raise LayerlapseError(f"out: cannot read the manifest {str(path)!r} ({exc.strerror or exc}); it should be "
                              "the file layerlapse batch appends to") from None
    for line in lines:
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if _well_formed(record):
            latest[record["id"]] = record
    return latest


def _well_formed(record: Any) -> bool:
    """Whether a manifest line has the fields the driver and the gallery read, of their types
    (a line edited by hand or by another tool is ignored, as a torn one is)."""
    if not (isinstance(record, dict) and isinstance(record.get("id"), str) and isinstance(record.get("status"), str)):
        return False
    outputs = record.get("outputs")
    if not isinstance(outputs, list) or (record["status"] == "done" and not outputs) or not all(
            isinstance(o, dict) and isinstance(o.get("kind"), str) and isinstance(o.get("path"), str)
            and type(o.get("size")) is int and isinstance(o.get("sha256"), str) for o in outputs):
        return False
    numbers = (record.get("accuracy"), record.get("wall_s"))
    return all(n is None or (isinstance(n, int | float) and not isinstance(n, bool)) for n in numbers)


def is_done(record: dict[str, Any] | None, out: Path) -> bool:
    """Whether a record says done and every output it lists still has its size and hash."""
    if not record or record.get("status") != "done":
        return False
    for item in record.get("outputs", []):
        path = out / item["path"]
        if not path.is_file() or path.stat().st_size != item["size"] or sha256(path) != item["sha256"]:
            return False
    return True


def append_record(out: Path, record: dict[str, Any]) -> None:
    """One whole line, written with one call and flushed to disk; a failure to write it (a
    full disk, a folder made read-only) is one line about ``out``."""
    line = json.dumps(record, sort_keys=True) + "\n"
    try:
        with (out / MANIFEST).open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise LayerlapseError(f"out: cannot append to {str(out / MANIFEST)!r} ({exc.strerror or exc}); the jobs "
                              "recorded before are kept: make room (or make it writable), then run the batch "
                              "again") from None


def receive(folder: Path, files: dict[str, bytes]) -> None:
    """Write the files a worker without the driver's folder returned, each atomically."""
    from layerlapse._files import atomic_output

    for name, data in files.items():
        if name in ("", ".", "..") or Path(name).name != name:
            raise LayerlapseError(f"out: a worker returned a file named {name!r}; not written outside {str(folder)!r}")
        with atomic_output(folder / name) as tmp:
            tmp.write_bytes(data)


def _record(job: Job, out: Path, result: dict[str, Any]) -> dict[str, Any]:
    """The manifest line of a finished job; files a worker returned are written first. An
    output the driver cannot write or read fails that job (one line), not the sweep."""
    outputs = []
    doing = "write"
    try:
        if result.get("files"):
            receive(out / job.id, result["files"])
        doing = "read"
        for kind, name in result.get("outputs", {}).items():
            path = out / job.id / name
            outputs.append({"kind": kind, "path": f"{job.id}/{name}", "size": path.stat().st_size,
                            "sha256": sha256(path)})
    except (OSError, LayerlapseError) as exc:
        detail = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
        where = getattr(exc, "filename", None) or str(out / job.id)
        outputs = []
        result = {**result, "status": "failed", "error": f"{where}: the driver cannot {doing} the job's output ({detail})"}
    return {"id": job.id, "inputs": job.inputs(), "status": result["status"], "outputs": outputs,
            "accuracy": result.get("accuracy"), "network": result.get("network"),
            "certificate": result.get("certificate"), "wall_s": result.get("wall_s"), "worker": result.get("worker"),
            "error": result.get("error"), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


# --- the driver -----------------------------------------------------------------------------
def plan(jobs: Iterable[Job], out: Path, *, force: bool = False) -> tuple[list[Job], list[Job]]:
    """(to run, to skip): a job is skipped when its latest record is done and its files match."""
    latest = {} if force else read_manifest(out)
    run: list[Job] = []
    skip: list[Job] = []
    for job in unique_jobs(jobs):
        (skip if is_done(latest.get(job.id), out) else run).append(job)
    return run, skip


def batch(
    sweep: str | Path,
    out: str | Path = "outputs/batch",
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    retries: int = 1,
    jobs_per_worker: int | None = None,
    force: bool = False,
    progress: bool = True,
    wait_for_workers: float = 120.0,
    job_timeout: float | None = None,
) -> BatchResult:
    """Run a sweep file's jobs on Dask; write ``OUT/JOBID/...``, ``OUT/manifest.jsonl`` and ``OUT/index.html``.

    Parameters
    ----------
    sweep
        The ``.toml`` sweep file (see ``examples/small-sweep.toml``).
    out
        The output folder.
    scheduler
        ``tcp://HOST:PORT`` of a running ``dask scheduler`` (checked first: one line if none
        answers within :data:`CONNECT_TIMEOUT_S`); None: a local cluster of ``workers``
        processes (default: min(cores, jobs)), spawned, one thread each. Its workers need not
        see ``out``: those that do not return their files to be written here.
    retries
        How many times a job whose worker died is run again (the local cluster's
        ``allowed-failures``; a running scheduler uses its own setting).
    jobs_per_worker
        Restart a worker (a fresh process) after it finished this many jobs; None: never.
    force
        Run every job, even those the manifest says are done.
    progress
        A progress bar over jobs.
    wait_for_workers
        Give up (one error line) when the cluster has had no workers this many seconds
        (a scheduler nobody started workers for; an adaptive one still starting them).
    job_timeout
        Stop a job that runs longer than this many seconds (recorded as failed; its worker is
        restarted); None: no limit.

    Returns
    -------
    BatchResult
    """
    import multiprocessing

    from layerlapse._files import check_folder_writable
    from layerlapse.gallery import write_gallery

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # a spawned worker importing a script that calls batch() without a __main__ guard: leave
        # quietly; the driver says what to do (below, where its workers fail to start)
        sys.exit(1)
    if not 0 <= retries <= 100:
        raise LayerlapseError(f"retries: {retries} is out of range; allowed: 0 to 100")
    if jobs_per_worker is not None and jobs_per_worker < 1:
        raise LayerlapseError(f"jobs_per_worker: {jobs_per_worker} is out of range; allowed: 1 or more")
    if workers is not None and not 1 <= workers <= 1024:
        raise LayerlapseError(f"workers: {workers} is out of range; allowed: 1 to 1024")
    if not 1 <= wait_for_workers <= 86_400:
        raise LayerlapseError(f"wait_for_workers: {wait_for_workers:g} is out of range; allowed: 1 to 86400 seconds")
    if job_timeout is not None and not 1 <= job_timeout <= 7 * 86_400:
        raise LayerlapseError(f"job_timeout: {job_timeout:g} is out of range; allowed: 1 to 604800 seconds")
    if workers is not None and scheduler is not None:
        raise LayerlapseError("workers: a running scheduler has its own workers; drop --workers (or --scheduler)")
    jobs = read_sweep(sweep)
    if scheduler is not None:
        check_scheduler(scheduler)  # before OUT is made: a wrong address leaves nothing behind
    out = check_out(out)
    check_folder_writable(out / MANIFEST)  # one line, before any cluster starts
    todo, skipped = plan(jobs, out, force=force)
    shown = unique_jobs(jobs)  # the gallery's rows: the sweep's order, each job once
    counts = {"done": 0, "failed": 0, "skipped": len(skipped)}
    failures: list[tuple[str, str]] = []
    try:
        if todo:
            _run(todo, out, counts, failures, scheduler=scheduler, workers=workers, retries=retries,
                 jobs_per_worker=jobs_per_worker, progress=progress, total=len(todo) + len(skipped),
                 worker_timeout=wait_for_workers, job_timeout=job_timeout)
    except BaseException:  # stopped: the gallery still shows what the manifest holds, if it can
        with contextlib.suppress(Exception):
            write_gallery(out, shown)
        raise
    gallery = write_gallery(out, shown)
    return BatchResult(counts["done"], counts["failed"], counts["skipped"], out / MANIFEST, gallery, tuple(failures))


def check_out(out: str | Path) -> Path:
    """``out`` resolved, or one line if it (or the manifest in it) is not what a batch can use."""
    out = Path(out).resolve()
    blocker = next((p for p in (out, *out.parents) if p.exists()), out)
    if not blocker.is_dir():
        where = "is a file" if blocker == out else f"is under a file ({str(blocker)!r})"
        raise LayerlapseError(f"out: {str(out)!r} {where}; give a folder")
    if (out / MANIFEST).exists() and not (out / MANIFEST).is_file():
        raise LayerlapseError(f"out: {str(out / MANIFEST)!r} is not a file; it should be the manifest this batch "
                              "appends to")
    return out


def unique_jobs(jobs: Iterable[Job]) -> list[Job]:
    """Each job once (a sweep may make the same job twice, e.g. a repeated grid value), in order."""
    seen: set[str] = set()
    unique = []
    for job in jobs:
        if job.id not in seen:
            seen.add(job.id)
            unique.append(job)
    return unique


def check_scheduler(address: str, timeout: float | None = None) -> None:
    """Raise one line unless a Dask scheduler answers at ``address`` within ``timeout`` seconds
    (default :data:`CONNECT_TIMEOUT_S`). Distributed's own connect waits 30 s for a closed
    port, and for ever for a server that accepts but never answers (the dashboard's port)."""
    from distributed.comm import connect

    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout

    async def handshake() -> None:
        comm = await connect(address, timeout=timeout)
        await comm.close()

    where = f"scheduler: {address!r}"
    outcome: list[BaseException] = []

    def probe() -> None:  # in a thread of its own: the caller may be inside an event loop (Jupyter)
        try:
            asyncio.run(asyncio.wait_for(handshake(), timeout + 1))  # + the handshake, which connect leaves unbounded
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=probe, name="layerlapse-scheduler-probe", daemon=True)
    thread.start()
    thread.join()
    if not outcome:
        return
    exc = outcome[0]
    if isinstance(exc, ValueError):  # no such scheme, no port
        raise LayerlapseError(f"{where} is not a scheduler address ({exc}); give tcp://HOST:PORT") from None
    if isinstance(exc, (OSError, asyncio.TimeoutError)):
        root = exc
        while (root.__cause__ or root.__context__) is not None:  # what connect's retries last met
            root = root.__cause__ or root.__context__  # type: ignore[assignment]
        text = getattr(root, "strerror", None) or (str(root) if root is not exc else "")
        detail = f" ({' '.join(text.split())})" if text else ""
        raise LayerlapseError(f"{where}: no Dask scheduler answered within {timeout:g} s{detail}; is `dask scheduler` "
                              "running there, and is that its port (8786 by default; 8787 is the dashboard)?") from None
    raise LayerlapseError(f"{where}: what answered is not a Dask scheduler ({type(exc).__name__}); "
                          "is that the scheduler's port (8786 by default)?") from None


def _run(todo: list[Job], out: Path, counts: dict[str, int], failures: list[tuple[str, str]], *, scheduler: str | None, workers: int | None,
         retries: int, jobs_per_worker: int | None, progress: bool, total: int, worker_timeout: float,
         job_timeout: float | None) -> None:
    # VTK and torch are not fork-safe: workers start (and restart) as fresh processes
    settings: dict[str, Any] = {"distributed.worker.multiprocessing-method": "spawn",
                                "distributed.scheduler.allowed-failures": retries}
    n = workers or min(os.cpu_count() or 1, len(todo))
    if scheduler is None:  # the cores the workers leave idle go to their torch threads
        settings["distributed.nanny.pre-spawn-environ"] = worker_environ(n)
    # what goes wrong is said in one line (or in the manifest); Dask's client would also log
    # each lost connection and reconnect attempt as a traceback
    quiet = logging.getLogger("distributed.client")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        _start(todo, out, counts, failures, settings, n, scheduler=scheduler, jobs_per_worker=jobs_per_worker,
               progress=progress, total=total, worker_timeout=worker_timeout, job_timeout=job_timeout)
    finally:
        quiet.setLevel(level)


def _start(todo: list[Job], out: Path, counts: dict[str, int], failures: list[tuple[str, str]],
           settings: dict[str, Any], n: int, *,
           scheduler: str | None, jobs_per_worker: int | None, progress: bool, total: int,
           worker_timeout: float, job_timeout: float | None) -> None:
    """Start (or connect to) the cluster, run the jobs, close it."""
    import dask
    from distributed import Client, LocalCluster

    from layerlapse._files import temporary_sibling

    with dask.config.set(settings):
        cluster = None
        if scheduler is None:
            before = _clusters()
            try:
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.CRITICAL)  # what goes wrong is the manifest's to say
            except BaseException as exc:
                _forget(_clusters() - before)
                if isinstance(exc, RuntimeError) and "failed to start" in str(exc):
                    raise LayerlapseError(
                        f"workers: the local cluster's worker processes did not start ({exc}); from a script, call "
                        "ll.batch under `if __name__ == \"__main__\":` (workers are spawned, and import the script "
                        "again)") from None
                raise
        try:
            client = Client(scheduler or cluster)
        except BaseException as exc:
            if cluster is not None:
                cluster.close()
            if isinstance(exc, OSError):
                raise LayerlapseError(f"scheduler: cannot connect to {scheduler!r} ({exc})") from None
            raise
        marker: Path | None = None
        try:
            # a worker that sees this file shares OUT; one that does not returns its files (run_job)
            marker = temporary_sibling(out / "batch-marker")
            _loop(client, todo, out, counts, failures, marker=str(marker), jobs_per_worker=jobs_per_worker, progress=progress,
                  total=total, worker_timeout=worker_timeout, job_timeout=job_timeout)
        finally:
            if marker is not None:
                with contextlib.suppress(OSError):  # never hides why the sweep stopped
                    marker.unlink(missing_ok=True)
            client.close()
            if cluster is not None:
                cluster.close()


def _clusters() -> set[Any]:
    """The Dask clusters this process has made (that Dask's exit hook will close)."""
    from distributed.deploy.spec import SpecCluster

    return set(SpecCluster._instances)


def _forget(clusters: set[Any]) -> None:
    """After a cluster's start was interrupted (Ctrl-C), close what it started and drop it from
    Dask's exit hook, which would otherwise fail on its half-started workers with a traceback
    as Python exits."""
    from distributed.deploy.spec import SpecCluster

    for cluster in clusters:
        with contextlib.suppress(BaseException):
            cluster.close(timeout=5)
        SpecCluster._instances.discard(cluster)


def worker_environ(workers: int, cores: int | None = None) -> dict[str, Any]:
    """The environment a local cluster's nanny gives each of ``workers`` processes: Dask's
    own (``OMP_NUM_THREADS=1`` and the like), but with the machine's cores shared out, so one
    worker on a 2-core machine trains with torch on both cores, as a plain loop would."""
    import dask

    threads = str(max(1, (cores or os.cpu_count() or 1) // workers))
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        environ[name] = threads
    return environ


def _loop(client: Any, todo: list[Job], out: Path, counts: dict[str, int], failures: list[tuple[str, str]], *,
          marker: str, jobs_per_worker: int | None, progress: bool, total: int, worker_timeout: float,
          job_timeout: float | None) -> None:
    """At most one job per worker in flight, so a worker due for a restart is idle when restarted."""
    from concurrent.futures import CancelledError

    from distributed import wait
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=counts["skipped"], unit="job", disable=not progress, desc="batch")
    bar.set_postfix(counts, refresh=True)
    pending = list(reversed(todo))
    running: dict[Any, Job] = {}
    started: dict[Any, float] = {}
    finished_by: dict[str, int] = {}
    idle = NoWorkers(worker_timeout, str(client.scheduler.address))

    def finish(job: Job, result: dict[str, Any]) -> None:
        record = _record(job, out, result)
        append_record(out, record)
        counts[record["status"]] += 1
        if record["status"] == "failed":
            failures.append((f"{job.id} {job.describe()}", record["error"] or "?"))
        bar.set_postfix(counts, refresh=False)
        bar.update(1)

    try:
        while pending or running:
            info = client.scheduler_info(n_workers=-1)
            if "workers" not in info:  # what a client that lost its scheduler reports
                raise ConnectionError("no answer from the scheduler")
            slots = max(1, idle.check(len(info["workers"])))
            while pending and len(running) < slots:
                job = pending.pop()
                key = f"job-{job.id}-{secrets.token_hex(3)}"
                running[client.submit(run_job, job, str(out / job.id), marker, key=key, pure=False)] = job
            if job_timeout is not None:
                _stop_overdue(client, running, started, job_timeout, finish)
            try:
                done = wait(list(running), timeout=POLL_S, return_when="FIRST_COMPLETED").done
            except TimeoutError:  # nothing finished: look at the workers again
                continue
            for future in done:
                job = running.pop(future)
                started.pop(future, None)
                result = _result(future)
                future.release()  # else restarting its worker would lose the result, and the job run again
                finish(job, result)
                worker = result.get("address") if jobs_per_worker else None
                if worker and jobs_per_worker:
                    finished_by[worker] = finished_by.get(worker, 0) + 1
                    if finished_by[worker] >= jobs_per_worker and (pending or running):
                        del finished_by[worker]
                        client.restart_workers([worker], raise_for_error=False)
    except BaseException as exc:  # Ctrl-C: what finished is in the manifest; the rest is not started again
        for future in running:
            future.cancel()
        if isinstance(exc, (OSError, CancelledError)):
            # the scheduler went away: a CommClosedError (the client may not have noticed yet), or the
            # futures cancelled as "scheduler-connection-lost"; the loop's own file errors are LayerlapseErrors
            why = "" if isinstance(exc, CancelledError) else f" ({' '.join(str(exc).split()) or type(exc).__name__})"
            raise LayerlapseError(f"scheduler: lost the connection to {client.scheduler.address}{why}; the "
                                  f"{counts['done']} jobs that finished are in the manifest: run the batch again to "
                                  "resume") from None
        raise
    finally:
        bar.close()


def _stop_overdue(client: Any, running: dict[Any, Job], started: dict[Any, float], limit: float,
                  finish: Any) -> None:
    """Record each job that has been running on a worker longer than ``limit`` seconds as
    failed, cancel it and restart its worker (a fresh process: whatever hung is gone). A job's
    clock starts when the scheduler first reports it on a worker, not while it waits for one."""
    now = time.monotonic()
    where = {key: worker for worker, keys in client.processing().items() for key in keys}
    for future in running:
        if future.key in where:
            started.setdefault(future, now)
    overdue = [f for f in running if f in started and now - started[f] > limit and not f.done()]
    for future in overdue:
        job = running.pop(future)
        started.pop(future)
        future.cancel()
        finish(job, {"status": "failed", "error": f"ran longer than --job-timeout {limit:g} s; stopped, and its "
                     "worker restarted"})
        if future.key in where:
            client.restart_workers([where[future.key]], raise_for_error=False)


class NoWorkers:
    """How long a cluster has had no workers: a notice after :data:`NOTICE_S`, one error line
    after ``timeout`` seconds (a scheduler nobody started workers for would wait for ever)."""

    def __init__(self, timeout: float, address: str) -> None:
        self.timeout, self.address = timeout, address
        self.since: float | None = None
        self.said = False

    def check(self, workers: int) -> int:
        """``workers`` (how many the scheduler has now); raises once there were none for ``timeout`` s."""
        if workers:
            self.since, self.said = None, False
            return workers
        now = time.monotonic()
        self.since = now if self.since is None else self.since
        waited = now - self.since
        if waited > self.timeout:
            raise LayerlapseError(f"scheduler: {self.address} has had no workers for {self.timeout:g} s; start "
                                  f"`dask worker {self.address}` (or give --wait-for-workers more seconds), then run "
                                  "the batch again")
        if waited > min(NOTICE_S, self.timeout / 2) and not self.said:
            self.said = True
            sys.stderr.write(f"notice: batch: {self.address} has no workers; waiting up to {self.timeout:g} s for "
                             f"one (`dask worker {self.address}`)\n")
        return workers


def _result(future: Any) -> dict[str, Any]:
    """The job's record, or a failure saying why the future holds none (a worker died too often)."""
    from distributed import KilledWorker

    try:
        return dict(future.result())
    except KilledWorker:
        return {"status": "failed", "error": "its worker died while running it, more often than --retries allows "
                "(KilledWorker)"}
    except Exception as exc:  # the task could not even start (e.g. unpicklable, worker import error)
        return {"status": "failed", "error": " ".join(f"{type(exc).__name__}: {exc}".split())}
