"""What the stretch heat map costs per frame: the same movie with --color-by class and
--color-by stretch, rendered in one process, alternating, best of N each.

Counts everything a frame pays (positions, camera, the heat map's Jacobians, the scalar
upload, render, read back, encode); the heat map's one-off setup (the pushed tangent frames
and the colour limits) is reported apart.

    python benchmarks/heat_map_cost.py [--scene linked-tori] [--size 1280x720] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from layerlapse.app import api
from layerlapse.networks.stretch import Stretch
from layerlapse.render import Style, resolve_settings, write_movie


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", default="linked-tori")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds-per-stage", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    prepared = api.prepare(args.scene, progress=False)
    settings = resolve_settings("medium", args.size)
    deformation = prepared.deform(fps=settings.fps, timeline={"seconds_per_stage": args.seconds_per_stage})
    start = time.perf_counter()
    stretch = Stretch(deformation, prepared.preset.scene)
    stretch.limits(prepared.preset.scene.class_points())
    setup = time.perf_counter() - start
    best = {"class": float("inf"), "stretch": float("inf")}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for colour in best:
                begin = time.perf_counter()
                write_movie(Path(folder) / f"{colour}.mp4", prepared.preset.scene, deformation, settings,
                            style=Style(color_by=colour), progress=False)
                best[colour] = min(best[colour], time.perf_counter() - begin)
    n = deformation.n_frames
    print(f"{args.scene}, {n} frames at {args.size}, best of {args.repeats}:")
    for colour, seconds in best.items():
        print(f"  --color-by {colour:<8} {seconds:6.2f} s  ({1000 * seconds / n:5.1f} ms a frame)")
    print(f"  heat map setup (tangent frames pushed through every stage, colour limits): {1000 * setup:.0f} ms")
    print(f"ratio: {best['stretch'] / best['class']:.3f}")


if __name__ == "__main__":
    main()
