"""What a point cloud costs per frame: Gaussian blobs of N points (2-D and 3-D), drawn by
the movie's view at 720p, per frame (positions, camera, points written in place, render,
read back; no encoding), with the points as the movie draws them (round up to
``ROUND_POINTS``, square beyond), as lit sphere impostors, as unlit round disks, as unlit
square dots, and hidden (the rest of the frame).

    python benchmarks/cloud_points_cost.py [--points 1797 50000] [--frames 30]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from layerlapse.app import api
from layerlapse.scenes.base import Cloud, Grid, Scene
from layerlapse.scenes.geometry import grid_lines


def blobs(dim: int, classes: int, n: int, seed: int = 0) -> Scene:
    """``classes`` Gaussian blobs of ``n`` points in all, in R^dim, with a coarse grid."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1.5, 1.5, (classes, dim))
    y = np.arange(n) % classes
    X = centres[y] + 0.35 * rng.standard_normal((n, dim))
    lo, hi = X.min() - 0.2, X.max() + 0.2
    lines = grid_lines(np.full(dim, lo), np.full(dim, hi), 5, 30)
    return Scene(name=f"blobs-{dim}d", description="Gaussian blobs", dim=dim,
                 class_names=tuple(f"class {c}" for c in range(classes)), surfaces=(), curves=(),
                 grid=Grid(lines), samples=X, labels=y,
                 clouds=tuple(Cloud(c, X[y == c]) for c in range(classes)))


def frame_cost(scene: Scene, frames: int, size: tuple[int, int]) -> dict[str, float]:
    """Milliseconds a frame (best of two passes over ``frames`` frames) in each point mode."""
    from layerlapse.draw.camera import CameraPath
    from layerlapse.draw.model import Kind
    from layerlapse.draw.style import Style
    from layerlapse.render.view import SceneView

    prepared = api.prepare(scene, network_config={"hidden": (scene.dim, scene.dim)}, training={"epochs": 20},
                           progress=False)
    deformation = prepared.deform(fps=30)
    camera = CameraPath.for_movie(deformation, fps=30, aspect=size[0] / size[1], subset=scene.framed_points(),
                                  style=Style())
    view = SceneView(scene, deformation, camera, style=Style(), size=size, accuracy=prepared.network.accuracy)
    points = [d.actor for d in view.parts if d.kind is Kind.POINTS]
    picks = np.linspace(0, deformation.n_frames - 1, frames).astype(int)
    out = {}
    drawn = [(actor.prop.render_points_as_spheres, actor.prop.lighting) for actor in points]
    for mode in ("as drawn", "spheres", "disks", "squares", "hidden"):
        for actor, (sphere, lit) in zip(points, drawn):
            actor.prop.render_points_as_spheres = sphere if mode == "as drawn" else mode in ("spheres", "disks")
            actor.prop.lighting = lit if mode == "as drawn" else mode == "spheres" and scene.dim == 3
            actor.SetVisibility(mode != "hidden")
        best = float("inf")
        for _ in range(2):
            begin = time.perf_counter()
            for f in picks:
                view.show_frame(int(f), deformation.display(np.array([f]))[0])
                view.grab()
            best = min(best, (time.perf_counter() - begin) / len(picks))
        out[mode] = 1000 * best
    view.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, nargs="+", default=[1797, 50000])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    args = parser.parse_args()
    for dim, n in itertools.product(args.dims, args.points):
        cost = frame_cost(blobs(dim, args.classes, n), args.frames, (1280, 720))
        print(f"{dim}-D, {n:>6,} points, 1280x720: " + ", ".join(f"{k} {v:6.1f} ms" for k, v in cost.items()))


if __name__ == "__main__":
    main()
