"""What encoding a movie's frames costs, per x264 preset and per encoder (ffmpeg in its own
process, as layerlapse writes movies, or PyAV in this process), against size and quality.

Renders ``--frames`` real frames of a scene first (not timed: layerlapse's own medium-quality
path, at the size the encoder is given them, so a supersampled 3-D scene's frames arrive at
1.5x and are scaled down by the encoder), then encodes them with each setting as H.264 yuv420p:
wall and CPU milliseconds per frame (the ffmpeg process's or this process's), kilobytes per
frame, and PSNR of the decoded frames against the frames given (scaled down first where the
encoder scales). PyAV rows are skipped when ``av`` is not importable.

Last line: ``ratio: X`` = ffmpeg-process wall time / PyAV wall time at layerlapse's settings
(crf 18, veryfast); above 1, in-process encoding would be faster.

    python benchmarks/encoder_settings.py [--scene two-curves] [--frames 150]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from layerlapse.app import api
from layerlapse.draw.style import Style
from layerlapse.render import render_frames, resolve_settings


def frames_of(scene_name: str, count: int) -> tuple[np.ndarray, tuple[int, int]]:
    scene = api.load_scene(scene_name)
    net = api.get_network(scene, progress=False)
    deformation = api.deform(scene, net)
    settings = resolve_settings("medium").for_view(planar=deformation.planar)
    out = []
    for frame in render_frames(scene, deformation, settings, style=Style(), accuracy=net.accuracy, progress=False):
        out.append(frame)
        if len(out) == count:
            break
    return np.stack(out), settings.size


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def by_ffmpeg(frames: np.ndarray, size: tuple[int, int], out: Path, preset: str, crf: int,
              tune: str | None) -> tuple[float, float]:
    h, w = frames.shape[1:3]
    vf = ["-vf", f"scale={size[0]}:{size[1]}:flags=area"] if (w, h) != size else []
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{w}x{h}",
           "-pix_fmt", "rgb24", "-r", "30", "-i", "-", "-an", "-vcodec", "libx264", "-pix_fmt", "yuv420p",
           "-v", "error", *vf, "-crf", str(crf), "-preset", preset, *(["-tune", tune] if tune else []), str(out)]
    c, t = children_cpu(), time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for frame in frames:
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("ffmpeg failed")
    return time.perf_counter() - t, children_cpu() - c


def by_pyav(frames: np.ndarray, size: tuple[int, int], out: Path, preset: str, crf: int,
            tune: str | None) -> tuple[float, float]:
    import av

    c, t = self_cpu(), time.perf_counter()
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset, **({"tune": tune} if tune else {})}
        for frame in frames:
            video = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if (frame.shape[1], frame.shape[0]) != size:
                video = video.reformat(width=size[0], height=size[1], interpolation="AREA")
            container.mux(stream.encode(video))
        container.mux(stream.encode())
    return time.perf_counter() - t, self_cpu() - c


def psnr(path: Path, reference: np.ndarray) -> float:
    import imageio.v3 as iio

    decoded = iio.imread(path, index=None).astype(np.float32)
    mse = float(((decoded[: len(reference)] - reference) ** 2).mean())
    return 10 * np.log10(255**2 / max(mse, 1e-12))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scene", default="two-curves")
    ap.add_argument("--frames", type=int, default=150)
    args = ap.parse_args()
    frames, size = frames_of(args.scene, args.frames)
    reference = frames
    if (frames.shape[2], frames.shape[1]) != size:  # the encoder scales down: compare with the scaled frames
        from PIL import Image

        reference = np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BOX)) for f in frames])
    reference = reference.astype(np.float32)
    try:
        import av  # noqa: F401

        encoders = {"ffmpeg": by_ffmpeg, "pyav": by_pyav}
    except ImportError:
        encoders = {"ffmpeg": by_ffmpeg}
        print("pyav: skipped (av is not installed)")
    settings = [("veryfast", 18, None), ("veryfast", 18, "animation"), ("superfast", 18, None),
                ("ultrafast", 18, None), ("ultrafast", 23, None)]
    n = len(frames)
    print(f"{args.scene}: {n} frames given at {frames.shape[2]}x{frames.shape[1]}, encoded at {size[0]}x{size[1]}; "
          f"{os.cpu_count()} CPUs")
    print(f"{'encoder':<8} {'preset':<10} {'crf':>3} {'tune':<10} {'wall ms/f':>9} {'cpu ms/f':>9} {'kB/f':>6} "
          f"{'PSNR dB':>7}")
    walls: dict[tuple[str, str, int, str | None], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset, crf, tune in settings:
            for name, encode in encoders.items():
                out = Path(tmp) / f"{name}.mp4"
                wall, cpu = encode(frames, size, out, preset, crf, tune)
                walls[(name, preset, crf, tune)] = wall
                print(f"{name:<8} {preset:<10} {crf:>3} {tune or '-':<10} {wall / n * 1e3:9.1f} {cpu / n * 1e3:9.1f} "
                      f"{out.stat().st_size / n / 1e3:6.1f} {psnr(out, reference):7.1f}", flush=True)
    if "pyav" in encoders:
        print(f"ratio: {walls[('ffmpeg', 'veryfast', 18, None)] / walls[('pyav', 'veryfast', 18, None)]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
