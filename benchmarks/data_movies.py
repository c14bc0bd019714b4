"""Whole movies of a user's data at 720p: what a frame costs end to end (positions, view,
drawing, encoding) for ten classes of Gaussian blobs in R^64 at 1,797 and 50,000 points and
for a hidden layer 256 wide, against the same number of points in 3-D.

Each case trains its network first with the data defaults (outside the timing: an untrained
network squashes the classes to points, a picture nobody renders); then ``ll.render`` at
``--quality medium`` (1280x720, 30 fps) without cards, its wall time divided by its frames.

    python benchmarks/data_movies.py [--seconds-per-stage 0.5]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np

import layerlapse as ll

CASES = (  # (label, input dim, points, hidden widths)
    ("3-D, 1,797 points, 3-3-3-10", 3, 1797, (3, 3)),
    ("64-D, 1,797 points, 64-16-3-10", 64, 1797, (16, 3)),
    ("64-D, 50,000 points, 64-16-3-10", 64, 50_000, (16, 3)),
    ("64-D, 1,797 points, 64-256-3-10", 64, 1797, (256, 3)),
)


def blobs(dim: int, n: int, classes: int = 10, seed: int = 0) -> ll.Scene:
    """Ten Gaussian blobs of ``n`` points in all, in R^dim, scaled so that a point's length is
    about the same in every dimension (else tanh saturates wide data into ten corners)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, (classes, dim))
    y = np.arange(n) % classes
    X = (centres[y] + 0.5 * rng.standard_normal((n, dim))) / np.sqrt(dim / 3)
    return ll.Scene.from_points(X, y, name=f"blobs-{dim}d-{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-stage", type=float, default=0.5)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; 1280x720, 30 fps, no cards")
    with tempfile.TemporaryDirectory() as out:
        for label, dim, n, hidden in CASES:
            prepared = ll.prepare(blobs(dim, n), network_config={"hidden": hidden},
                                  progress=False)
            start = time.perf_counter()
            result = ll.render(prepared, os.path.join(out, "m.mp4"), quality="medium", cards=False,
                               seconds_per_stage=args.seconds_per_stage, progress=False)
            wall = time.perf_counter() - start
            frames = result.deformation.n_frames
            print(f"{label:34s} {frames:4d} frames  {wall:6.1f} s  {1000 * wall / frames:6.1f} ms a frame")


if __name__ == "__main__":
    main()
