"""Anti-aliasing options for the medium quality, measured on the real frames.

Renders the same frames of a scene at 1280x720 with: none; VTK's FXAA on the renderer;
2x supersampling (render 2560x1440, average 2x2 blocks in numpy); line smoothing.
Prints ms per frame (render + read back + any downscale) and the ratio to 'none', and
writes a crop of one frame per option to compare by eye.

    python benchmarks/antialiasing.py [--scene two-curves] [--frames 60] [--out outputs/aa]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from layerlapse.app import api
from layerlapse.draw.camera import CameraPath
from layerlapse.render import Style
from layerlapse.render.view import SceneView


def downsample2(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[0] // 2, img.shape[1] // 2
    x = img[: 2 * h, : 2 * w].reshape(h, 2, w, 2, 3).astype(np.uint16)
    return ((x.sum((1, 3)) + 2) >> 2).astype(np.uint8)


def run(scene, deformation, option: str, frames: np.ndarray, size=(1280, 720)):
    style = Style()
    factor = 2 if option == "ssaa2" else 1
    px = (size[0] * factor, size[1] * factor)
    camera = CameraPath.for_movie(deformation, fps=deformation.timeline.fps, style=style, aspect=size[0] / size[1],
                                  subset=scene.framed_points())
    view = SceneView(scene, deformation, camera, style=style, size=px)
    if option == "fxaa":
        view.plotter.renderer.UseFXAAOn()
    if option == "smooth":
        view.plotter.render_window.SetLineSmoothing(True)
        view.plotter.render_window.SetPolygonSmoothing(True)
    positions = deformation.display(frames)
    view.show_frame(int(frames[0]), positions[0])
    view.grab()  # warm up
    t = time.perf_counter()
    last = None
    for f, pos in zip(frames, positions):
        view.show_frame(int(f), pos)
        img = view.grab()
        last = downsample2(img) if factor == 2 else img
    ms = 1000 * (time.perf_counter() - t) / len(frames)
    view.close()
    return ms, last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", default="two-curves")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--out", default="outputs/aa")
    args = parser.parse_args()
    scene = api.load_scene(args.scene)
    net = api.get_network(scene, progress=False)
    d = api.deform(scene, net, fps=30)
    frames = np.linspace(d.n_frames // 3, d.n_frames - 1, args.frames).round().astype(int)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = None
    for option in ("none", "fxaa", "ssaa2", "smooth"):
        ms, img = run(scene, d, option, frames)
        base = base or ms
        iio.imwrite(out / f"{args.scene}-{option}.png", img[200:520, 500:980])
        print(f"{option:8s} {ms:7.1f} ms/frame  x{ms / base:.2f}", flush=True)


if __name__ == "__main__":
    main()
