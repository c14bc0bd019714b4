"""The `two-curves` movie drawn with manim Community, from a layerlapse trajectory file.

The second peer of benchmarks/two_curves_peers.py: the same content as
two_curves_matplotlib.py (every frame's vertex positions of the two class curves, the
square's border and the grid lines, read from ``layerlapse render two-curves
--save-trajectory traj.npz``): one ``VMobject`` per curve and grid line whose points are
replaced every frame with ``set_points_as_corners``, a stage label (one ``Text`` per stage,
made once and swapped in), the view refitted to each frame, 1280x720 at 30 fps with the
Cairo renderer and manim's own H.264 writer (its default settings).

Like the matplotlib peer it does not compute the motion; its time includes reading the
file. manim needs its system libraries (cairo, pango); it is not a layerlapse dependency.

    python benchmarks/peers/two_curves_manim.py traj.npz out.mp4 [--size 1280x720] [--fps 30]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLASS_COLORS = ("#0072B2", "#D55E00")  # layerlapse's default palette (Okabe & Ito)
BORDER_COLOR = "#222222"
GRID_COLOR = "#b4b4b4"
TEXT_COLOR = "#222222"
CURVE_PX, GRID_PX = 3.0, 1.0  # line widths in pixels at 720p
MARGIN = 0.08


def grid_points_per_line(first: np.ndarray) -> int:
    """The longest run length that cuts the (straight, in the input frame) grid lines apart."""
    n = len(first)
    for p in sorted((d for d in range(2, n + 1) if n % d == 0), reverse=True):
        chunks = first.reshape(n // p, p, -1)
        s = np.linalg.svd(chunks - chunks.mean(axis=1, keepdims=True), compute_uv=False)
        if (s[:, 1] <= 1e-6 * np.maximum(s[:, 0], 1e-12)).all():
            return p
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trajectory")
    parser.add_argument("out")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=float, default=None, help="default: the trajectory's")
    parser.add_argument("--grid-points-per-line", type=int, default=None)
    parser.add_argument("--title", default="two-curves \u00b7 2-2-2 tanh")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    t0 = time.perf_counter()

    z = np.load(args.trajectory, allow_pickle=False)
    positions = z["positions"][:, :, :2].astype(np.float64)
    kinds, labels = z["part_kind"], z["part_label"]
    starts, stops = z["part_start"], z["part_stop"]
    stage_names, frame_stage = [str(s) for s in z["stage_names"]], z["frame_stage"]
    fps = float(args.fps if args.fps is not None else z["fps"])
    n_frames = positions.shape[0]

    import manim as mn

    media = Path(tempfile.mkdtemp(prefix="manim-two-curves-"))
    mn.config.update({
        "pixel_width": width, "pixel_height": height, "frame_rate": fps,
        "frame_height": 8.0, "frame_width": 8.0 * width / height,
        "background_color": mn.WHITE, "media_dir": str(media), "disable_caching": True,
        "progress_bar": "none", "verbosity": "ERROR", "output_file": "two-curves",
    })
    frame_w, frame_h = mn.config.frame_width, mn.config.frame_height
    unit_px = width / frame_w  # pixels per manim unit
    # manim's Cairo stroke width: 1 unit of stroke_width = 0.01 manim units
    stroke = {"curve": CURVE_PX / (0.01 * unit_px), "grid": GRID_PX / (0.01 * unit_px)}

    pieces: list[tuple[slice, str, float, int]] = []  # (rows, colour, stroke width, z)
    for kind, label, start, stop in zip(kinds, labels, starts, stops):
        if kind == "curve":
            color = BORDER_COLOR if label < 0 else CLASS_COLORS[int(label) % len(CLASS_COLORS)]
            pieces.append((slice(int(start), int(stop)), color, stroke["curve"], 3 if label >= 0 else 2))
        elif kind == "grid":
            per_line = args.grid_points_per_line or grid_points_per_line(positions[0, start:stop])
            for s in range(int(start), int(stop), per_line):
                pieces.append((slice(s, s + per_line), GRID_COLOR, stroke["grid"], 1))
        else:
            raise SystemExit(f"two_curves_manim: a 2-D scene has no {kind!r} parts")
    aspect = frame_w / frame_h

    def screen(frame: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """This frame's points refitted into manim's view (the same framing as the matplotlib peer)."""
        lo, hi = frame.min(axis=0), frame.max(axis=0)
        centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, 1e-9) * (1 + 2 * MARGIN)
        half = np.maximum(half, [half[1] * aspect, half[0] / aspect])
        scale = (frame_w / 2) / half[0]
        out = np.zeros((len(frame), 3))
        out[:, :2] = (frame - centre) * scale
        return out, scale, centre

    class TwoCurves(mn.Scene):
        def construct(self) -> None:
            # the frame index runs 0 .. n_frames over the movie; every moving mobject has an
            # updater that reads it (manim redraws mobjects with updaters each frame)
            tracker = mn.ValueTracker(0)
            memo: dict[str, object] = {"frame": None}

            def current() -> tuple[int, np.ndarray, float, np.ndarray]:
                f = min(int(round(tracker.get_value())), n_frames - 1)
                if memo["frame"] != f:
                    memo.update(frame=f, screen=screen(positions[f]))
                pts, scale, centre = memo["screen"]
                return f, pts, scale, centre

            origin_h = mn.Line([-frame_w / 2, 0, 0], [frame_w / 2, 0, 0], color=GRID_COLOR,
                               stroke_width=stroke["grid"] / 2)
            origin_v = mn.Line([0, -frame_h / 2, 0], [0, frame_h / 2, 0], color=GRID_COLOR,
                               stroke_width=stroke["grid"] / 2)
            origin_h.add_updater(lambda m: m.set_y(-current()[3][1] * current()[2]))
            origin_v.add_updater(lambda m: m.set_x(-current()[3][0] * current()[2]))
            self.add(origin_h, origin_v)
            for rows, color, width_, z_index in pieces:
                mob = mn.VMobject(stroke_color=color, stroke_width=width_, fill_opacity=0)
                mob.set_z_index(z_index)
                mob.add_updater(lambda m, rows=rows: m.set_points_as_corners(current()[1][rows]))
                self.add(mob)
            size = 1.6 * 48 / unit_px  # manim's font_size for a given pixel height (about)
            stage_text = [mn.Text(name, color=TEXT_COLOR, font_size=30 * size).to_corner(mn.UL, buff=16 / unit_px)
                          for name in stage_names]
            title = mn.Text(args.title, color=TEXT_COLOR, font_size=20 * size)
            label = stage_text[int(frame_stage[0])].copy()
            shown = {"stage": int(frame_stage[0])}

            def relabel(m) -> None:
                stage = int(frame_stage[current()[0]])
                if stage != shown["stage"]:
                    m.become(stage_text[stage])
                    shown["stage"] = stage

            label.add_updater(relabel)
            self.add(title.to_corner(mn.DL, buff=16 / unit_px), label)
            self.play(tracker.animate.set_value(n_frames), run_time=n_frames / fps, rate_func=mn.linear)

    TwoCurves().render()
    made = sorted(media.rglob("two-curves.mp4"))
    if not made:
        raise SystemExit(f"two_curves_manim: manim wrote no movie under {media}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(made[0]), args.out)
    shutil.rmtree(media, ignore_errors=True)
    print(f"wrote {args.out} ({n_frames} frames, {width}x{height}, {time.perf_counter() - t0:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
