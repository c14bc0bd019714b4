"""The Dask cluster a batch runs on: a running scheduler (checked to answer first) or a local
cluster of spawned worker processes made here, and closed here however the sweep ends.

Nothing waits for ever: a ``--scheduler`` that does not answer within :data:`CONNECT_TIMEOUT_S`
is one line; a cluster without workers for ``wait_for_workers`` seconds is one line
(:class:`NoWorkers`); a local cluster whose start is interrupted (Ctrl-C) is closed before the
interrupt goes on, so Dask's exit hook finds nothing half-started to fail on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from distributed import Client, LocalCluster

from layerlapse.errors import LayerlapseError

#: how long the driver waits for a ``--scheduler`` to answer before giving up with one line
CONNECT_TIMEOUT_S = 5.0
#: after this many seconds without a worker, say so once
NOTICE_S = 10.0


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


@contextlib.contextmanager
def connected(scheduler: str | None, workers: int, retries: int,
              environ: dict[str, str] | None = None) -> Iterator[Client]:
    """A client of the running ``scheduler``, or (None) of a local cluster of ``workers``
    processes started here, which runs a job again ``retries`` times if its worker dies; both
    closed after. ``environ``: more for the local workers' environment (:func:`worker_environ`)."""
    import dask

    # VTK and torch are not fork-safe: workers start (and restart) as fresh processes
    settings: dict[str, Any] = {"distributed.worker.multiprocessing-method": "spawn",
                                "distributed.scheduler.allowed-failures": retries}
    if scheduler is None:  # the cores the workers leave idle go to their torch threads
        settings["distributed.nanny.pre-spawn-environ"] = {**worker_environ(workers), **(environ or {})}
    # what goes wrong is said in one line (or in the manifest); Dask's client would also log
    # each lost connection and reconnect attempt as a traceback
    quiet = logging.getLogger("distributed.client")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with dask.config.set(settings):
            cluster = None if scheduler is not None else _local_cluster(workers)
            try:
                client = Client(scheduler or cluster)
            except BaseException as exc:
                if cluster is not None:
                    cluster.close()
                if isinstance(exc, OSError):
                    raise LayerlapseError(f"scheduler: cannot connect to {scheduler!r} ({exc})") from None
                raise
            try:
                yield client
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    finally:
        quiet.setLevel(level)


class _HandedOver(LocalCluster):
    """A LocalCluster that hands itself to ``started`` before it starts: its constructor starts
    the scheduler and the workers, and if that is interrupted no caller would get the object
    to close."""

    def __init__(self, started: list[LocalCluster], **options: Any) -> None:
        started.append(self)
        super().__init__(**options)


def _local_cluster(workers: int) -> LocalCluster:
    """``workers`` spawned processes of one thread each; a start that fails or is interrupted
    closes what it started and is one line (or the interrupt)."""
    started: list[LocalCluster] = []
    try:
        return _HandedOver(started, n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.CRITICAL)  # what goes wrong is the manifest's to say
    except BaseException as exc:
        for cluster in started:
            _abandon(cluster)
        if isinstance(exc, RuntimeError) and "failed to start" in str(exc):
            raise LayerlapseError(
                f"workers: the local cluster's worker processes did not start ({exc}); from a script, call "
                "ll.batch under `if __name__ == \"__main__\":` (workers are spawned, and import the script "
                "again)") from None
        raise


def _abandon(cluster: LocalCluster) -> None:
    """Close a cluster whose start failed or was interrupted, and take it off Dask's exit hook
    (its documented ``shutdown_on_close``), which would otherwise close it again as Python
    exits and fail on its half-started workers with a traceback."""
    with contextlib.suppress(BaseException):
        cluster.close(timeout=5)
    cluster.shutdown_on_close = False


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
