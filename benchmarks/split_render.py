"""What ``layerlapse render --workers 2`` gains: the same movie rendered by one process and
split across two local workers, each a whole process (imports, the shipped network, the
cluster's start and the join included), in rounds whose order alternates (the machine's
speed drifts); medians. A third way, one process held to one core (llvmpipe, BLAS and OpenMP
threads 1), says how much of a frame spreads over cores at all.

The cost is then taken apart, to say what more cores or a cluster would give: each way at two
lengths of the same movie (``--seconds-per-stage`` 0.5 and 2, no cards, whose word-timed
holds would add frames of another cost; many pieces each, so a block is never more than a
piece longer than another) gives its cost per frame (the difference) and its fixed cost (the
rest); the join (ffmpeg's concat demuxer, ``-c copy``) is timed alone on the long movie's pieces.

    python benchmarks/split_render.py [--rounds 2] [--scenes linked-tori two-curves]
        [--quality medium] [--workers 2]

The last line: ``ratio: single / split`` (the longer movie's whole-process times, per scene:
the default ``--seconds-per-stage`` 2, without cards).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: one core for everything of one process: llvmpipe's rasterizer, BLAS, OpenMP (ffmpeg has one thread)
ONE_CORE = {"LP_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float]:
    """Seconds of a whole process, the frames it says it wrote, and the CPU seconds it and its
    children (workers, ffmpeg) used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, int(re.search(r"\((\d+) frames", done.stdout).group(1)), cpu


def join_seconds(movie: Path, fps: float, folder: Path) -> float:
    """The join alone: the movie cut at its pieces' keyframes (stream copy), joined again."""
    import imageio_ffmpeg

    from layerlapse.render.pieces import join_pieces, piece_frames

    pieces = folder / f"cut-{movie.stem}"
    pieces.mkdir()
    every = piece_frames(fps) / fps
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(movie), "-c", "copy", "-f", "segment",
                    "-segment_time", f"{every:.6f}", "-reset_timestamps", "1", str(pieces / "piece_%05d.mp4")],
                   check=True)
    files = sorted(pieces.iterdir())
    start = time.perf_counter()
    join_pieces(files, folder / "joined.mp4")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenes", nargs="+", default=["linked-tori", "two-curves"])
    parser.add_argument("--quality", default="medium")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from layerlapse.draw.style import QUALITIES

    fps = QUALITIES[args.quality].fps
    cores = os.cpu_count()
    print(f"{cores} cores; --quality {args.quality}; --workers {args.workers}; {args.rounds} rounds")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for scene in args.scenes:
            def command(out: str, seconds: float, workers: int | None, scene: str = scene) -> list[str]:
                return [sys.executable, "-m", "layerlapse", "render", scene, "--quality", args.quality,
                        "--seconds-per-stage", str(seconds), "--no-progress", "--no-cards", "-o", str(folder / out),
                        *(["--workers", str(workers)] if workers else [])]

            names = ("single", "split", "one-core")
            lengths = (0.5, 2.0)
            results: dict[tuple[str, float], list[float]] = {(n, k): [] for n in names for k in lengths}
            cpu: dict[str, list[float]] = {n: [] for n in names}
            frames: dict[float, int] = {}
            for round_ in range(args.rounds):
                runs = [("single", None, None), ("split", args.workers, None), ("one-core", None, ONE_CORE)]
                for name, workers, env in runs if round_ % 2 == 0 else runs[::-1]:
                    for k in lengths:
                        seconds, frames[k], used = timed(command(f"{scene}-{name}-{k:g}.mp4", k, workers), env)
                        results[name, k].append(seconds)
                        if k == lengths[-1]:
                            cpu[name].append(used)
            long, short = lengths[-1], lengths[0]
            same = (folder / f"{scene}-single-2.mp4").read_bytes() == (folder / f"{scene}-split-2.mp4").read_bytes()
            join = join_seconds(folder / f"{scene}-single-2.mp4", fps, folder)
            t = {key: statistics.median(values) for key, values in results.items()}
            per_frame = {n: (t[n, long] - t[n, short]) / (frames[long] - frames[short]) for n in names}
            fixed = {n: t[n, long] - frames[long] * per_frame[n] for n in names}
            print(f"{scene}: {frames[long]} frames ({frames[short]} at --seconds-per-stage {short:g}); the files "
                  f"byte-identical: {same}")
            for n in names:
                print(f"  {n:>8}: {t[n, long]:6.1f} s whole process ({frames[long] / t[n, long]:5.2f} frames/s, "
                      f"{statistics.median(cpu[n]) / t[n, long]:.2f} cores busy); per frame "
                      f"{1000 * per_frame[n]:5.1f} ms, fixed {fixed[n]:4.1f} s "
                      f"(runs: {', '.join(f'{s:.1f}' for s in results[n, long])})")
            # a frame's cost on p cores of one process, as serial + parallel / p, from 1 and all cores
            one, every = per_frame["one-core"], per_frame["single"]
            serial = max(0.0, (cores * every - one) / (cores - 1)) if cores > 1 else one
            print(f"  a frame in one process: {1000 * one:.1f} ms on one core, {1000 * every:.1f} ms on {cores}: "
                  f"{1000 * serial:.1f} ms of it does not spread over cores")
            print(f"  fixed cost of splitting (cluster start, each worker's imports and view): "
                  f"{fixed['split'] - fixed['single']:+.1f} s; the join: {join:.2f} s "
                  f"({1000 * join / frames[long]:.2f} ms a frame)")
            ratios.append(f"{t['single', long] / t['split', long]:.2f} ({scene})")
    print(f"ratio: single / split = {', '.join(ratios)}")


if __name__ == "__main__":
    main()
