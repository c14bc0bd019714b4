"""``layerlapse batch``: run a sweep's jobs on Dask distributed, with a manifest to resume from.

The driver (this process) reads the sweep, skips the jobs the manifest says are done (their
files still hashing the same), and keeps at most one job per worker in flight. Each job runs
:func:`~layerlapse.batch.job.run_job` in a worker process. Only the driver appends to
``OUT/manifest.jsonl``, one line per finished job, so an interrupted sweep leaves a manifest
whose every line is whole.

Workers on other machines need not see ``OUT``: the driver leaves a marker file there for
the sweep's length; a worker that sees it writes in place (same machine, shared mount), one
that does not returns its files' bytes, which the driver writes into ``OUT/JOBID/`` (each
atomically) before hashing them.

Faults: an error in a job is returned as a failed record (not retried: it would fail
again); a worker that dies is the scheduler's to retry (``allowed-failures``, set from
``retries`` for the cluster made here); after that the job is recorded as failed. A job over
``job_timeout`` is recorded as failed and its worker restarted. Nothing waits for ever: a
cluster without workers for ``wait_for_workers`` seconds, or a scheduler that goes away, ends
the sweep with one line, the finished jobs kept in the manifest.

One driver per ``OUT``: the driver holds ``OUT/.lock`` (:mod:`~layerlapse.batch.lock`) from
reading the manifest to writing the gallery; another driver on the same folder says who holds
it and stops, or waits up to ``wait`` seconds. Every path the manifest names stays in ``OUT``
(:func:`~layerlapse.batch.manifest.read_manifest`), and a job whose folder ``OUT/JOBID``
leads out of it (a symlink) is failed unrun, so nothing is written through it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerlapse._extras import require
from layerlapse.batch.gallery import write_gallery
from layerlapse.batch.job import JobResult, run_job
from layerlapse.batch.lock import check_wait, locked
from layerlapse.batch.manifest import (
    MANIFEST,
    Output,
    Record,
    Status,
    append_record,
    inside,
    is_done,
    plain_name,
    read_manifest,
    sha256,
)
from layerlapse.batch.sweep import Job, read_sweep
from layerlapse.errors import LayerlapseError, range_error

if TYPE_CHECKING:
    from layerlapse.batch.cluster import NoWorkers

#: how often the driver looks at the cluster while jobs run (seconds)
POLL_S = 1.0


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


@dataclass(frozen=True)
class Options:
    """How :func:`batch` runs the jobs it does not skip (its keywords of that name)."""

    scheduler: str | None = None
    workers: int | None = None
    retries: int = 1
    jobs_per_worker: int | None = None
    progress: bool = True
    wait_for_workers: float = 120.0
    job_timeout: float | None = None
    wait: float = 0.0

    def check(self) -> None:
        """One line for the first setting out of range (or two that do not go together)."""
        if not 0 <= self.retries <= 100:
            raise LayerlapseError(f"retries: {self.retries} is out of range; allowed: 0 to 100")
        if self.jobs_per_worker is not None and self.jobs_per_worker < 1:
            raise LayerlapseError(f"jobs_per_worker: {self.jobs_per_worker} is out of range; allowed: 1 or more")
        if self.workers is not None and not 1 <= self.workers <= 1024:
            raise LayerlapseError(f"workers: {self.workers} is out of range; allowed: 1 to 1024")
        if not 1 <= self.wait_for_workers <= 86_400:
            raise range_error("wait_for_workers", self.wait_for_workers, "1 to 86400 seconds")
        if self.job_timeout is not None and not 1 <= self.job_timeout <= 7 * 86_400:
            raise range_error("job_timeout", self.job_timeout, "1 to 604800 seconds")
        if self.workers is not None and self.scheduler is not None:
            raise LayerlapseError("workers: a running scheduler has its own workers; drop --workers (or --scheduler)")
        check_wait(self.wait)


@dataclass(frozen=True)
class Counts:
    """A sweep's jobs so far: done and failed in this run, skipped as done before, and (the
    job in words, its error) for each that failed."""

    done: int = 0
    failed: int = 0
    skipped: int = 0
    failures: tuple[tuple[str, str], ...] = ()

    def add(self, job: Job, record: Record) -> Counts:
        """These counts with ``job`` finished as ``record`` says."""
        if record.status is Status.DONE:
            return replace(self, done=self.done + 1)
        return replace(self, failed=self.failed + 1,
                       failures=(*self.failures, (f"{job.id} {job.describe()}", record.error or "?")))

    def shown(self) -> dict[str, int]:
        """What the progress bar shows beside the bar."""
        return {"done": self.done, "failed": self.failed, "skipped": self.skipped}


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
    wait: float = 0.0,
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
        answers within :data:`~layerlapse.batch.cluster.CONNECT_TIMEOUT_S`); None: a local
        cluster of ``workers`` processes (default: min(cores, jobs)), spawned, one thread
        each. Its workers need not see ``out``: those that do not return their files to be
        written here.
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
    wait
        When another batch holds ``out`` (its lock, ``out/.lock``), wait up to this many
        seconds for it (0 to 86400; 0: do not wait), then raise
        :class:`~layerlapse.batch.lock.Busy`, one line naming its pid, host and start.

    Returns
    -------
    BatchResult
    """
    import multiprocessing

    from layerlapse._files import check_folder_writable

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # a spawned worker importing a script that calls batch() without a __main__ guard: leave
        # quietly; the driver says what to do (where its workers fail to start)
        sys.exit(1)
    options = Options(scheduler=scheduler, workers=workers, retries=retries, jobs_per_worker=jobs_per_worker,
                      progress=progress, wait_for_workers=wait_for_workers, job_timeout=job_timeout, wait=wait)
    options.check()
    jobs = read_sweep(sweep)
    require("distributed", "batch: running a sweep's jobs")
    if scheduler is not None:
        from layerlapse.batch.cluster import check_scheduler

        check_scheduler(scheduler)  # before OUT is made: a wrong address leaves nothing behind
    out = check_out(out)
    check_folder_writable(out / MANIFEST)  # one line, before any cluster starts
    with locked(out, wait=options.wait):  # the plan too: a driver that waited skips what the other did
        return _locked(jobs, out, options, force=force)


def _locked(jobs: list[Job], out: Path, options: Options, *, force: bool) -> BatchResult:
    """:func:`batch` once it holds ``out``'s lock: plan, run, write the gallery."""
    todo, skipped = plan(jobs, out, force=force)
    shown = unique_jobs(jobs)  # the gallery's rows: the sweep's order, each job once
    counts = Counts(skipped=len(skipped))
    try:
        if todo:
            counts = _run(todo, out, counts, options)
    except BaseException:  # stopped: the gallery still shows what the manifest holds, if it can
        with contextlib.suppress(Exception):
            write_gallery(out, shown)
        raise
    gallery = write_gallery(out, shown)
    return BatchResult(counts.done, counts.failed, counts.skipped, out / MANIFEST, gallery, counts.failures)


def plan(jobs: Iterable[Job], out: Path, *, force: bool = False) -> tuple[list[Job], list[Job]]:
    """(to run, to skip): a job is skipped when its latest record is done and its files match."""
    latest = {} if force else read_manifest(out)
    run: list[Job] = []
    skip: list[Job] = []
    for job in unique_jobs(jobs):
        (skip if is_done(latest.get(job.id), out) else run).append(job)
    return run, skip


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


def dry_run(sweep: str | Path, out: str | Path, *, force: bool = False) -> list[str]:
    """What ``batch --dry-run`` prints: one line per job (id, run or skip, scene and
    settings), then the counts. Nothing runs and Dask is not imported."""
    from layerlapse.batch.sweep import read_sweep

    jobs = read_sweep(sweep)
    todo, done = plan(jobs, check_out(out), force=force)
    ids = {job.id for job in todo}
    lines = [f"{job.id}  {'run ' if job.id in ids else 'skip'}  {job.describe()}" for job in unique_jobs(jobs)]
    repeated = len(jobs) - len(todo) - len(done)
    lines.append(f"{len(todo) + len(done)} jobs: {len(todo)} to run, {len(done)} done"
                 + (f" ({repeated} repeated in the sweep, listed once)" if repeated else ""))
    return lines


def receive(folder: Path, files: dict[str, bytes]) -> None:
    """Write the files a worker without the driver's folder returned, each atomically."""
    from layerlapse._files import atomic_output

    for name, data in files.items():
        if not plain_name(name):
            raise LayerlapseError(f"out: a worker returned a file named {name!r}; not written outside {str(folder)!r}")
        with atomic_output(folder / name) as tmp:
            tmp.write_bytes(data)


def record_of(job: Job, out: Path, result: JobResult) -> Record:
    """The manifest line of a finished job; files a worker returned are written first. An
    output the driver cannot write or read fails that job (one line), not the sweep."""
    outputs = []
    doing = "write"
    try:
        if result.files:
            receive(out / job.id, result.files)
        doing = "read"
        for kind, name in result.outputs.items():
            path = out / job.id / name
            if not plain_name(name) or not inside(out, path):  # what the manifest would refuse to read back
                raise LayerlapseError(f"out: the job's output {name!r} is not a file in {str(out / job.id)!r}")
            outputs.append(Output(kind=kind, path=f"{job.id}/{name}", size=path.stat().st_size, sha256=sha256(path)))
    except (OSError, LayerlapseError) as exc:
        detail = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
        where = getattr(exc, "filename", None) or str(out / job.id)
        outputs = []
        result = replace(result, status=Status.FAILED,
                         error=f"{where}: the driver cannot {doing} the job's output ({detail})")
    return Record(id=job.id, inputs=job.inputs(), status=result.status, outputs=outputs, accuracy=result.accuracy,
                  network=result.network, certificate=result.certificate, wall_s=result.wall_s, worker=result.worker,
                  error=result.error, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))


def _run(todo: list[Job], out: Path, counts: Counts, options: Options) -> Counts:
    """Start (or connect to) the cluster, run ``todo`` on it, close it; -> the counts after."""
    from layerlapse._files import temporary_sibling
    from layerlapse.batch.cluster import connected

    workers = options.workers or min(os.cpu_count() or 1, len(todo))
    with connected(options.scheduler, workers, options.retries) as client:
        marker: Path | None = None
        try:
            # a worker that sees this file shares OUT; one that does not returns its files (run_job)
            marker = temporary_sibling(out / "batch-marker")
            return _Loop(client, out, str(marker), options, counts).run(todo)
        finally:
            if marker is not None:
                with contextlib.suppress(OSError):  # never hides why the sweep stopped
                    marker.unlink(missing_ok=True)


class _Loop:
    """At most one job per worker in flight, so a worker due for a restart is idle when restarted.

    ``counts`` is updated (a new :class:`Counts`) as each job finishes, its record appended."""

    def __init__(self, client: Any, out: Path, marker: str, options: Options, counts: Counts) -> None:
        self.client, self.out, self.marker, self.options, self.counts = client, out, marker, options, counts
        self.running: dict[Any, Job] = {}  # future -> its job
        self.started: dict[Any, float] = {}  # future -> when the scheduler first had it on a worker
        self.finished_by: dict[str, int] = {}  # worker address -> jobs since its (re)start
        self.bar: Any = None  # the progress bar, while it runs

    def run(self, todo: list[Job]) -> Counts:
        """Run ``todo``; -> the counts after. A lost scheduler is one line; on Ctrl-C (or any
        error) what finished is in the manifest and the rest is not started again."""
        from concurrent.futures import CancelledError

        from tqdm.auto import tqdm

        from layerlapse.batch.cluster import NoWorkers

        self.bar = tqdm(total=len(todo) + self.counts.skipped, initial=self.counts.skipped, unit="job",
                        disable=not self.options.progress, desc="batch")
        self.bar.set_postfix(self.counts.shown(), refresh=True)
        pending = list(reversed(todo))
        idle = NoWorkers(self.options.wait_for_workers, str(self.client.scheduler.address))
        try:
            while pending or self.running:
                self._step(pending, idle)
        except BaseException as exc:
            for future in self.running:
                future.cancel()
            if isinstance(exc, (OSError, CancelledError)):
                # the scheduler went away: a CommClosedError (the client may not have noticed yet), or the
                # futures cancelled as "scheduler-connection-lost"; the loop's own file errors are LayerlapseErrors
                why = "" if isinstance(exc, CancelledError) else f" ({' '.join(str(exc).split()) or type(exc).__name__})"
                raise LayerlapseError(f"scheduler: lost the connection to {self.client.scheduler.address}{why}; the "
                                      f"{self.counts.done} jobs that finished are in the manifest: run the batch "
                                      "again to resume") from None
            raise
        finally:
            self.bar.close()
        return self.counts

    def _step(self, pending: list[Job], idle: NoWorkers) -> None:
        """Fill the free workers from ``pending``, stop overdue jobs, record those that finished."""
        from distributed import wait

        info = self.client.scheduler_info(n_workers=-1)
        if "workers" not in info:  # what a client that lost its scheduler reports
            raise ConnectionError("no answer from the scheduler")
        slots = max(1, idle.check(len(info["workers"])))
        while pending and len(self.running) < slots:
            job = pending.pop()
            if not inside(self.out, self.out / job.id):  # a symlink out of OUT: write nothing through it
                self._finish(job, JobResult(Status.FAILED, f"out: {str(self.out / job.id)!r} leads outside "
                                            f"{str(self.out)!r} (a symlink); remove it and run the batch again"))
                continue
            key = f"job-{job.id}-{secrets.token_hex(3)}"
            future = self.client.submit(run_job, job, str(self.out / job.id), self.marker, key=key, pure=False)
            self.running[future] = job
        if self.options.job_timeout is not None:
            self._stop_overdue(self.options.job_timeout)
        try:
            done = wait(list(self.running), timeout=POLL_S, return_when="FIRST_COMPLETED").done
        except TimeoutError:  # nothing finished: look at the workers again
            return
        for future in done:
            job = self.running.pop(future)
            self.started.pop(future, None)
            result = _result(future)
            future.release()  # else restarting its worker would lose the result, and the job run again
            self._finish(job, result)
            self._count_on_worker(result.address, more=bool(pending or self.running))

    def _finish(self, job: Job, result: JobResult) -> None:
        record = record_of(job, self.out, result)
        append_record(self.out, record)
        self.counts = self.counts.add(job, record)
        self.bar.set_postfix(self.counts.shown(), refresh=False)
        self.bar.update(1)

    def _count_on_worker(self, worker: str | None, *, more: bool) -> None:
        """Restart ``worker`` once it finished ``jobs_per_worker`` jobs, if jobs are left."""
        limit = self.options.jobs_per_worker
        if not (worker and limit):
            return
        self.finished_by[worker] = self.finished_by.get(worker, 0) + 1
        if self.finished_by[worker] >= limit and more:
            del self.finished_by[worker]
            self.client.restart_workers([worker], raise_for_error=False)

    def _stop_overdue(self, limit: float) -> None:
        """Record each job that has been running on a worker longer than ``limit`` seconds as
        failed, cancel it and restart its worker (a fresh process: whatever hung is gone). A job's
        clock starts when the scheduler first reports it on a worker, not while it waits for one."""
        now = time.monotonic()
        where = {key: worker for worker, keys in self.client.processing().items() for key in keys}
        for future in self.running:
            if future.key in where:
                self.started.setdefault(future, now)
        overdue = [f for f in self.running if f in self.started and now - self.started[f] > limit and not f.done()]
        for future in overdue:
            job = self.running.pop(future)
            self.started.pop(future)
            future.cancel()
            self._finish(job, JobResult(Status.FAILED, f"ran longer than --job-timeout {limit:g} s; stopped, and its "
                                        "worker restarted"))
            if future.key in where:
                self.client.restart_workers([where[future.key]], raise_for_error=False)


def _result(future: Any) -> JobResult:
    """The job's result, or a failure saying why the future holds none (a worker died too often)."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        return JobResult(Status.FAILED, "its worker died while running it, more often than --retries allows "
                         "(KilledWorker)")
    except Exception as exc:  # the task could not even start (e.g. unpicklable, worker import error)
        return JobResult(Status.FAILED, " ".join(f"{type(exc).__name__}: {exc}".split()))
