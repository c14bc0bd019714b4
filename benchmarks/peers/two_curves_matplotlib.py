"""The `two-curves` movie drawn with matplotlib, from a layerlapse trajectory file.

The peer that benchmarks/two_curves_peers.py times against layerlapse: the same content
(every frame's vertex positions of the two class curves, the square's border and the grid
lines, read from ``layerlapse render two-curves --save-trajectory traj.npz``), drawn the way a
matplotlib user animates lines: one ``Line2D`` per curve and per grid line, updated with
``set_data``, a stage label updated per frame, the view refitted to each frame, written as
1280x720 H.264 at 30 fps by ``matplotlib.animation.FFMpegWriter`` (the same x264 settings as
layerlapse: crf 18, preset veryfast, yuv420p).

It does not compute the motion: the trajectory comes precomputed (its time is in the file's
reading only).

    python benchmarks/peers/two_curves_matplotlib.py traj.npz out.mp4 [--size 1280x720] [--fps 30]
"""

from __future__ import annotations

import argparse
import sys
import time

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.animation import FFMpegWriter

CLASS_COLORS = ("#0072B2", "#D55E00")  # layerlapse's default palette (Okabe & Ito)
BORDER_COLOR = "#222222"
GRID_COLOR = "#b4b4b4"
TEXT_COLOR = "#222222"
CURVE_PX, GRID_PX = 3.0, 1.0  # line widths in pixels, as layerlapse draws them at 720p
MARGIN = 0.08  # of the frame's extent, on each side


def grid_points_per_line(first: np.ndarray) -> int:
    """The grid part is its lines stacked; in the first frame (the input) every line is
    straight. The longest run length that cuts it into straight pieces is one line's."""
    n = len(first)
    for p in sorted((d for d in range(2, n + 1) if n % d == 0), reverse=True):
        chunks = first.reshape(n // p, p, -1)
        centred = chunks - chunks.mean(axis=1, keepdims=True)
        s = np.linalg.svd(centred, compute_uv=False)
        if (s[:, 1] <= 1e-6 * np.maximum(s[:, 0], 1e-12)).all():
            return p
    return n


def _broken(start: int, stop: int, per_line: int) -> np.ndarray:
    """Row indices of the grid's points, line after line, with -1 (a NaN break) between lines."""
    rows = np.arange(start, stop).reshape(-1, per_line)
    return np.concatenate([rows, np.full((len(rows), 1), -1)], axis=1).ravel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trajectory", help="a layerlapse --save-trajectory .npz")
    parser.add_argument("out", help="the .mp4 to write")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=float, default=None, help="default: the trajectory's")
    parser.add_argument("--grid-points-per-line", type=int, default=None,
                        help="default: inferred from the first frame")
    parser.add_argument("--title", default="two-curves \u00b7 2-2-2 tanh")
    parser.add_argument("--plain", action="store_true",
                        help="the plainest loop: every grid line in one Line2D (NaN-separated), no text")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    t0 = time.perf_counter()
    try:  # the ffmpeg that layerlapse itself uses
        import imageio_ffmpeg

        matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:  # then ffmpeg must be on PATH
        pass

    z = np.load(args.trajectory, allow_pickle=False)
    positions = z["positions"][:, :, :2]  # (F, V, 2): a 2-D scene, z is 0
    kinds, labels = z["part_kind"], z["part_label"]
    starts, stops = z["part_start"], z["part_stop"]
    stage_names, frame_stage = z["stage_names"], z["frame_stage"]
    fps = float(args.fps if args.fps is not None else z["fps"])
    n_frames = positions.shape[0]

    dpi = 100
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.axhline(0, color=GRID_COLOR, lw=0.5 * 72 / dpi, zorder=0)  # the axes through the origin
    ax.axvline(0, color=GRID_COLOR, lw=0.5 * 72 / dpi, zorder=0)
    px = 72 / dpi  # points per pixel
    # (artist, slice of the stacked points) for everything that moves
    moving: list[tuple[plt.Line2D, slice]] = []
    for kind, label, start, stop in zip(kinds, labels, starts, stops):
        if kind == "curve":
            color = BORDER_COLOR if label < 0 else CLASS_COLORS[int(label) % len(CLASS_COLORS)]
            (line,) = ax.plot([], [], color=color, lw=CURVE_PX * px, solid_capstyle="round",
                              zorder=3 if label >= 0 else 2)
            moving.append((line, slice(int(start), int(stop))))
        elif kind == "grid" and args.plain:  # one artist for all grid lines: NaN rows break them
            per_line = args.grid_points_per_line or grid_points_per_line(positions[0, start:stop])
            (line,) = ax.plot([], [], color=GRID_COLOR, lw=GRID_PX * px, zorder=1)
            moving.append((line, _broken(int(start), int(stop), per_line)))
        elif kind == "grid":
            per_line = args.grid_points_per_line or grid_points_per_line(positions[0, start:stop])
            for s in range(int(start), int(stop), per_line):
                (line,) = ax.plot([], [], color=GRID_COLOR, lw=GRID_PX * px, zorder=1)
                moving.append((line, slice(s, s + per_line)))
        else:
            raise SystemExit(f"two_curves_matplotlib: a 2-D scene has no {kind!r} parts")
    label = fig.text(0, 0, "") if args.plain else fig.text(16 / width, 1 - 16 / height, "", ha="left", va="top", fontsize=30 * px, color=TEXT_COLOR)
    if not args.plain:
        fig.text(16 / width, 16 / height, args.title, ha="left", va="bottom", fontsize=20 * px, color=TEXT_COLOR)
    aspect = width / height

    writer = FFMpegWriter(fps=fps, codec="libx264",
                          extra_args=["-pix_fmt", "yuv420p", "-crf", "18", "-preset", "veryfast",
                                      "-movflags", "+faststart"])
    with writer.saving(fig, args.out, dpi):
        for f in range(n_frames):
            frame = positions[f]
            for line, rows in moving:
                if isinstance(rows, np.ndarray):  # grid rows with -1 marking the breaks
                    xy = np.where((rows < 0)[:, None], np.nan, frame[rows])
                    line.set_data(xy[:, 0], xy[:, 1])
                else:
                    line.set_data(frame[rows, 0], frame[rows, 1])
            # refit the view to this frame, keeping the aspect
            lo, hi = frame.min(axis=0), frame.max(axis=0)
            centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, 1e-9) * (1 + 2 * MARGIN)
            half = np.maximum(half, [half[1] * aspect, half[0] / aspect])
            ax.set_xlim(centre[0] - half[0], centre[0] + half[0])
            ax.set_ylim(centre[1] - half[1], centre[1] + half[1])
            if not args.plain:
                label.set_text(str(stage_names[frame_stage[f]]))
            writer.grab_frame()
    plt.close(fig)
    print(f"wrote {args.out} ({n_frames} frames, {width}x{height}, {time.perf_counter() - t0:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
