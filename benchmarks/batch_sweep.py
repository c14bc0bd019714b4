"""What `layerlapse batch` costs and gains: one 8-job sweep run three ways.

1. a plain loop in this process: ``ll.train_network``, ``ll.render``, ``ll.figure`` per job;
2. ``ll.batch`` on a local cluster of 1 worker;
3. ``ll.batch`` on a local cluster of 2 workers.

The batch times include starting the cluster (spawned processes import torch and VTK) and
writing the manifest and gallery; the cluster's start is also timed alone. Per-job
overhead: (1 worker - loop) / jobs.

    python benchmarks/batch_sweep.py [--epochs 300] [--size 640x480]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import layerlapse as ll
from layerlapse.scenefile import resolve_scene
from layerlapse.sweep import read_sweep

SWEEP = """
scenes = ["two-curves"]
outputs = ["movie", "sheet"]
quality = "low"
size = "{size}"
seconds_per_stage = 1.0

[training]
epochs = {epochs}
restarts = 1

[grid]
seed = [0, 1, 2, 3]
hidden = [[2], [3]]
"""


def plain_loop(sweep: Path, out: Path) -> float:
    start = time.perf_counter()
    for job in read_sweep(sweep):
        preset = resolve_scene(job.scene, **job.params)
        net = ll.train_network(preset, network=job.network, training=job.training, progress=False)
        ll.render(preset, out / job.id / "movie.mp4", network=net, quality=job.quality, size=job.size,
                  seconds_per_stage=job.seconds_per_stage, progress=False)
        ll.figure(preset, out / job.id / "sheet.png", network=net, sheet=True, size=job.size, supersample=1,
                  progress=False)
    return time.perf_counter() - start


def _import_renderer() -> None:
    import layerlapse.render.movie  # noqa: F401


def cluster_start(workers: int) -> float:
    """Seconds to start a local cluster of spawned workers, each importing layerlapse's renderer."""
    import dask
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                client.run(_import_renderer)
                return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep = folder / "sweep.toml"
        sweep.write_text(SWEEP.format(epochs=args.epochs, size=args.size))
        n = len(read_sweep(sweep))
        times = {"loop": plain_loop(sweep, folder / "loop")}
        for workers in (1, 2):
            start = time.perf_counter()
            result = ll.batch(sweep, folder / f"batch-{workers}", workers=workers, progress=False)
            times[f"{workers} worker"] = time.perf_counter() - start
            assert result.done == n, result
        startup = {workers: cluster_start(workers) for workers in (1, 2)}
    for name, seconds in times.items():
        print(f"{name:>9}: {seconds:6.1f} s for {n} jobs, {60 * n / seconds:5.1f} jobs/min")
    for workers, seconds in startup.items():
        print(f"starting a {workers}-worker cluster (spawn, import torch and VTK): {seconds:.1f} s")
    print(f"2 workers / 1 worker: {times['1 worker'] / times['2 worker']:.2f}x the jobs per minute")
    print(f"per-job overhead of batch (1 worker against the loop): {(times['1 worker'] - times['loop']) / n:+.2f} s")


if __name__ == "__main__":
    main()
