"""What ``layerlapse render --workers 2`` gains: the same movie rendered by one process and
split across two local workers, each a whole process (imports, the shipped network, the
cluster's start and the join included), in pairs whose order alternates (the machine's speed
drifts); medians.

The cost is then taken apart, to say what more cores or a cluster would give: a short movie
of the same scene (two pieces) gives each way's fixed cost, the long one its cost per frame;
the join (ffmpeg's concat demuxer, ``-c copy``) is timed alone on the long movie's pieces.

    python benchmarks/split_render.py [--pairs 2] [--scenes linked-tori two-curves]
        [--quality medium] [--seconds-per-stage 1]

The last line: ``ratio: single / split`` (the long movie's whole-process times, per scene).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str]) -> tuple[float, int]:
    """Seconds of a whole process, and the frames it says it wrote."""
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return seconds, int(re.search(r"\((\d+) frames", done.stdout).group(1))


def join_seconds(movie: Path, fps: float, folder: Path) -> float:
    """The join alone: the movie cut at its pieces' keyframes (stream copy), joined again."""
    import imageio_ffmpeg

    from layerlapse.render.pieces import join_pieces, piece_frames

    pieces = folder / "cut"
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
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--scenes", nargs="+", default=["linked-tori", "two-curves"])
    parser.add_argument("--quality", default="medium")
    parser.add_argument("--seconds-per-stage", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from layerlapse.draw.style import QUALITIES

    fps = QUALITIES[args.quality].fps
    cores = os.cpu_count()
    print(f"{cores} cores; --quality {args.quality}; --workers {args.workers}; {args.pairs} pairs")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for scene in args.scenes:
            def command(out: str, seconds: float, workers: int | None, scene: str = scene) -> list[str]:
                return [sys.executable, "-m", "layerlapse", "render", scene, "--quality", args.quality,
                        "--seconds-per-stage", str(seconds), "--no-progress", "--no-cards", "-o", str(folder / out),
                        *(["--workers", str(workers)] if workers else [])]

            results: dict[str, list[float]] = {"single": [], "split": [], "single-short": [], "split-short": []}
            frames = short = 0
            for pair in range(args.pairs):
                runs = [("single", None), ("split", args.workers)]
                for name, workers in runs if pair % 2 == 0 else runs[::-1]:
                    seconds, frames = timed(command(f"{name}.mp4", args.seconds_per_stage, workers))
                    results[name].append(seconds)
                    seconds, short = timed(command(f"{name}-short.mp4", 0.1, workers))
                    results[f"{name}-short"].append(seconds)
            same = (folder / "single.mp4").read_bytes() == (folder / "split.mp4").read_bytes()
            join = join_seconds(folder / "single.mp4", fps, folder)
            t = {name: statistics.median(values) for name, values in results.items()}
            per_frame = {k: (t[k] - t[f"{k}-short"]) / (frames - short) for k in ("single", "split")}
            print(f"{scene}: {frames} frames ({short} in the short movie); the files byte-identical: {same}")
            for k in ("single", "split"):
                print(f"  {k:>6}: {t[k]:6.1f} s whole process ({frames / t[k]:5.2f} frames/s); short movie "
                      f"{t[f'{k}-short']:5.1f} s; per frame {1000 * per_frame[k]:6.1f} ms "
                      f"(runs: {', '.join(f'{s:.1f}' for s in results[k])})")
            print(f"  fixed cost of splitting (cluster start, each worker's imports and view): "
                  f"{t['split-short'] - t['single-short']:+.1f} s; the join: {join:.2f} s")
            ratios.append(f"{t['single'] / t['split']:.2f} ({scene})")
    print(f"ratio: single / split = {', '.join(ratios)}")


if __name__ == "__main__":
    main()
