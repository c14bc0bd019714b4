"""Pipeline vs bare render loop, and memory over long videos.

Renders the same scene at the same size twice:
  * pipeline: layerlapse's real path (deformation + camera + render + read back + encode);
  * bare loop: the same meshes updated in place (precomputed positions, no normals),
    the same camera per frame, render, read back pixels, nothing else.
Prints both frames/s and, last, ``ratio: X`` (pipeline fps / bare-loop fps). Then peak
memory (RSS) of a short and a 10x longer render, each in its own process.

    python benchmarks/render_throughput.py [--size 1280x720] [--frames 120] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from layerlapse.app import api
from layerlapse.draw.camera import CameraPath
from layerlapse.render import FrameWriter, Style, render_frames, resolve_settings, write_movie
from layerlapse.render.view import SceneView

SCENE = "linked-tori"


def setup(frames: int, fps: float):
    scene = api.load_scene(SCENE)
    net = api.get_network(scene, progress=False)
    n_layers = len(net.config.hidden)
    # choose seconds per stage so the timeline has about `frames` frames
    per_stage = max(frames / fps - 1.0 - 2.5 - 0.5 * n_layers, 0.3) / (3 * n_layers)
    deformation = api.deform(scene, net, fps=fps, timeline={"seconds_per_stage": per_stage})
    return scene, net, deformation


def pipeline(scene, net, deformation, settings) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_movie(Path(tmp) / "bench.mp4", scene, deformation, settings, style=Style(),
                    title="bench", accuracy=net.accuracy, progress=False)
        return deformation.n_frames / (time.perf_counter() - t)


def pipeline_without_encoding(scene, net, deformation, settings) -> float:
    """The real frames (deformation, normals, tubes, labels, camera, read back), not encoded."""
    t = time.perf_counter()
    for _ in render_frames(scene, deformation, settings, style=Style(), title="bench", accuracy=net.accuracy,
                           progress=False):
        pass
    return deformation.n_frames / (time.perf_counter() - t)


def encoder_cost(scene, net, deformation, settings, frames: int = 120) -> float:
    """CPU milliseconds ffmpeg spends per frame encoding the real frames as H.264 (its own process)."""
    images = []
    for image in render_frames(scene, deformation, settings, style=Style(), accuracy=net.accuracy, progress=False):
        images.append(image)
        if len(images) == frames:
            break
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp, FrameWriter(Path(tmp) / "e.mp4", settings.size, settings.fps,
                                                                   input_size=settings.render_size) as w:
        for image in images:
            w.write(image)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return 1000 * ((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)) / len(images)


def bare_loop(scene, deformation, settings) -> float:
    style = Style()
    camera = CameraPath.for_movie(deformation, fps=settings.fps, style=style, aspect=settings.size[0] / settings.size[1],
                                  subset=scene.framed_points())
    view = SceneView(scene, deformation, camera, style=style, size=settings.render_size,
                     anti_aliasing=settings.anti_aliasing)
    positions = np.concatenate([p for _, p in deformation.iter_display(32)])  # precomputed, not timed
    # the points each mesh shows: a slice of the stacked points, or selected rows of it
    meshes = [(p.sl, p.mesh, slice(None) if p.rows is None else p.rows) for p in view.parts if p.kind != "curve"]
    window = view.plotter.render_window
    from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

    pixels = vtkUnsignedCharArray()
    w, h = settings.render_size
    t = time.perf_counter()
    for frame in range(deformation.n_frames):
        camera.apply(view.plotter.camera, frame)  # the same views as the pipeline: same pixels to fill
        for sl, mesh, rows in meshes:
            mesh.points[:] = positions[frame, sl][rows]
            mesh.GetPoints().Modified()
        window.Render()
        window.GetPixelData(0, 0, w - 1, h - 1, 0, pixels, 0)
    fps = deformation.n_frames / (time.perf_counter() - t)
    view.close()
    return fps


def memory_child(frames: int, size: tuple[int, int]) -> None:
    settings = resolve_settings("medium", size, 30)
    scene, net, deformation = setup(frames, settings.fps)
    pipeline(scene, net, deformation, settings)
    print(json.dumps({"frames": deformation.n_frames, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3, help="best of N for each measurement")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    if args.memory_child:
        memory_child(args.memory_child, size)
        return
    scene, net, deformation = setup(args.frames, 30.0)
    # medium's anti-aliasing resolved for this scene; the bare loop renders the same pixels
    settings = resolve_settings("medium", size, 30).for_view(planar=deformation.planar)
    rw, rh = settings.render_size
    print(f"scene {SCENE}: {deformation.n_points} points, {deformation.n_frames} frames at {size[0]}x{size[1]} "
          f"({settings.anti_aliasing}: rendered at {rw}x{rh})")
    bares, pipes, quiet = [], [], []
    for _ in range(args.repeats):  # interleaved, best of N: the machine's speed drifts
        bares.append(bare_loop(scene, deformation, settings))
        quiet.append(pipeline_without_encoding(scene, net, deformation, settings))
        pipes.append(pipeline(scene, net, deformation, settings))
    bare, pipe, no_encode = max(bares), max(pipes), max(quiet)
    if not args.skip_memory:
        for frames in (args.frames, 10 * args.frames):
            out = subprocess.run([sys.executable, __file__, "--memory-child", str(frames), "--size", args.size],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"peak memory, {r['frames']} frames: {r['peak_mb']:.0f} MB")
    print(f"H.264 encoding (ffmpeg's own CPU time): {encoder_cost(scene, net, deformation, settings):.1f} ms per frame")
    print(f"bare loop: {bare:.1f} frames/s")
    print(f"pipeline without encoding: {no_encode:.1f} frames/s (ratio {no_encode / bare:.3f})")
    print(f"pipeline: {pipe:.1f} frames/s")
    print(f"ratio: {pipe / bare:.3f}")


if __name__ == "__main__":
    main()
