"""What `layerlapse batch` costs and gains: one 8-job sweep run three ways, each a whole process.

1. a plain loop: ``python batch_sweep.py --loop``, one process calling ``ll.train_network``,
   ``ll.render`` and ``ll.figure`` per job (what a user's script would do);
2. ``layerlapse batch --workers 1``;
3. ``layerlapse batch --workers 2``.

Whole processes, so each pays its imports (torch, VTK; batch also Dask's) and batch its
cluster's start, manifest and gallery. The cost is then split in two: the fixed cost of a
sweep (the whole-process difference less the per-job part) and the per-job overhead in
steady state, from each job's time inside the worker (the manifest's ``wall_s``) against the
loop's time for the same job, leaving out the first job of each network width (imports and
the first 3-D render).

    python benchmarks/batch_sweep.py [--epochs 300] [--size 640x480]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def plain_loop(sweep: Path, out: Path) -> list[float]:
    """Each job's seconds, in a loop of public api calls in this process."""
    import layerlapse as ll
    from layerlapse.app.scenefile import resolve_scene
    from layerlapse.batch import read_sweep

    seconds = []
    for job in read_sweep(sweep):
        start = time.perf_counter()
        preset = resolve_scene(job.scene, **job.params)
        net = ll.train_network(preset, network=job.network, training=job.training, progress=False)
        ll.render(preset, out / job.id / "movie.mp4", network=net, quality=job.quality, size=job.size,
                  seconds_per_stage=job.seconds_per_stage, progress=False)
        ll.figure(preset, out / job.id / "sheet.png", network=net, sheet=True, size=job.size, supersample=1,
                  progress=False)
        seconds.append(time.perf_counter() - start)
    return seconds


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def steady(seconds: list[float], jobs: list) -> list[float]:
    """The jobs after the first of each network width (which pay imports and first renders)."""
    seen: set[str] = set()
    kept = []
    for s, job in zip(seconds, jobs):
        width = json.dumps(job.network)
        if width in seen:
            kept.append(s)
        seen.add(width)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--loop", nargs=2, metavar=("SWEEP", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:  # the plain loop's own process
        Path(args.loop[1]).mkdir(parents=True, exist_ok=True)
        (Path(args.loop[1]) / "seconds.json").write_text(json.dumps(plain_loop(Path(args.loop[0]), Path(args.loop[1]))))
        return
    from layerlapse.batch import read_sweep

    layerlapse = str(Path(sys.executable).with_name("layerlapse"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep = folder / "sweep.toml"
        sweep.write_text(SWEEP.format(epochs=args.epochs, size=args.size))
        jobs = read_sweep(sweep)
        n = len(jobs)
        times = {"loop": timed([sys.executable, __file__, "--loop", str(sweep), str(folder / "loop")])}
        loop_jobs = json.loads((folder / "loop" / "seconds.json").read_text())
        worker_jobs = {}
        for workers in (1, 2):
            out = folder / f"batch-{workers}"
            times[f"{workers} worker"] = timed([layerlapse, "batch", str(sweep), "-o", str(out), "--workers",
                                                str(workers), "--no-progress"])
            records = {r["id"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
            assert sum(r["status"] == "done" for r in records.values()) == n, records
            worker_jobs[workers] = [records[job.id]["wall_s"] for job in jobs]
    loop_steady, worker_steady = steady(loop_jobs, jobs), steady(worker_jobs[1], jobs)
    per_job = statistics.fmean(worker_steady) - statistics.fmean(loop_steady)
    job_seconds = statistics.fmean(loop_steady)
    fixed = times["1 worker"] - times["loop"] - n * per_job
    for name, seconds in times.items():
        print(f"{name:>9}: {seconds:6.1f} s for {n} jobs (whole process), {60 * n / seconds:5.1f} jobs/min")
    print(f"2 workers / 1 worker: {times['1 worker'] / times['2 worker']:.2f}x the jobs per minute")
    print(f"a job in steady state: {job_seconds:.2f} s in the loop, {statistics.fmean(worker_steady):.2f} s in a worker: "
          f"per-job overhead {per_job:+.3f} s ({100 * per_job / job_seconds:+.1f}%)")
    print(f"fixed cost of a sweep (cluster start, Dask's imports, first jobs, gallery): {fixed:.1f} s")


if __name__ == "__main__":
    main()
