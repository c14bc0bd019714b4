"""How much of each frame the data uses: the pixel rule of the shared ``frame_span.py``, on
frames rendered through :class:`~layerlapse.render.view.SceneView` directly (no encoder).

    python tools/legibility.py PRESET [PRESET ...] [--hidden 2] [--step 5] [--png DIR]

Class pixels: the two default class colours (Okabe-Ito blue #0072B2 and vermillion #D55E00,
any shade: a hue window, saturation > 0.35). Connected components under 30 px, and those
lying wholly in the top or bottom 12% of the frame (titles, legends, captions), are dropped.
Per frame: ``span`` = the larger side of the remaining pixels' bounding box over the frame's
smaller side; ``area`` = each class's share of the frame's pixels (the smaller of the two).
The tests (tests/test_legibility.py) import :func:`measure` and :func:`sampled_frames`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

BAND = 0.12
MIN_COMPONENT = 30


def class_masks(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The blue and vermillion pixels of an (H, W, 3) uint8 frame, any shade."""
    a = rgb.astype(np.float32) / 255
    mx, mn = a.max(2), a.min(2)
    d = np.maximum(mx - mn, 1e-6)
    sat = (mx - mn) / np.maximum(mx, 1e-6)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    hue = np.where(mx == r, ((g - b) / d) % 6, np.where(mx == g, (b - r) / d + 2, (r - g) / d + 4)) * 60
    ok = (sat > 0.35) & (mx > 0.12)
    return ok & (hue > 185) & (hue < 225), ok & (hue > 8) & (hue < 40)


def clean(mask: np.ndarray) -> np.ndarray:
    """``mask`` without components under 30 px or wholly in the top or bottom band."""
    h = mask.shape[0]
    lab, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum(mask, lab, index=np.arange(1, n + 1))
    keep = np.zeros(n + 1, bool)
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        in_band = sl[0].stop <= BAND * h or sl[0].start >= (1 - BAND) * h
        keep[i] = sizes[i - 1] >= MIN_COMPONENT and not in_band
    return keep[lab]


def measure(rgb: np.ndarray) -> tuple[float, float]:
    """(span, smaller class area) of one frame, as ``frame_span.py`` measures them."""
    blue, orange = (clean(m) for m in class_masks(rgb))
    both = blue | orange
    ys, xs = np.nonzero(both)
    span = 0.0 if len(ys) == 0 else max(np.ptp(xs) + 1, np.ptp(ys) + 1) / min(both.shape)
    return float(span), float(min(blue.mean(), orange.mean()))


@dataclass(frozen=True)
class Sample:
    """One measured frame."""

    frame: int
    span: float
    area: float
    label: str


def sampled_frames(name: str, frames, *, network_config: dict | None = None, size=(854, 480), fps: float = 15.0,
                   png: Path | None = None) -> list[Sample]:
    """Render ``frames`` (indices, or a callable of the frame count returning them) of preset
    ``name`` at ``size`` and ``fps`` with its default network (the normal get_network path)."""
    from layerlapse.app.request import Request
    from layerlapse.draw.camera import CameraPath
    from layerlapse.render.view import SceneView

    req = Request.of(name, None, {"network_config": network_config, "progress": False})
    prepared = req.prepare()
    d = prepared.deform(fps=fps, timeline=req.timeline())
    style = req.style
    camera = CameraPath.for_movie(d, fps=fps, style=style, aspect=size[0] / size[1],
                                  subset=req.preset.scene.framed_points())
    view = SceneView(req.preset.scene, d, camera, style=style, size=size, title=prepared.title,
                     accuracy=prepared.network.accuracy)
    chosen = frames(d.n_frames) if callable(frames) else frames
    out = []
    try:
        for f in chosen:
            f = int(min(f, d.n_frames - 1))
            view.show_frame(f, d.display(np.array([f]))[0])
            img = view.grab()
            span, area = measure(img)
            out.append(Sample(f, span, area, d.timeline.label(f)))
            if png is not None:
                import imageio.v3 as iio

                iio.imwrite(png / f"{name}-{f:04d}.png", img)
    finally:
        view.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--hidden", default=None, help="hidden widths, e.g. 2 or 3,3")
    parser.add_argument("--step", type=int, default=5)
    parser.add_argument("--png", type=Path, default=None)
    parser.add_argument("--worst", type=int, default=3, help="print this many worst frames")
    args = parser.parse_args(argv)
    config = {"hidden": tuple(int(w) for w in args.hidden.split(","))} if args.hidden else None
    if args.png:
        args.png.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        samples = sampled_frames(name, lambda n: range(0, n, args.step), network_config=config, png=args.png)
        spans = np.array([s.span for s in samples])
        areas = np.array([s.area for s in samples])
        worst = sorted(samples, key=lambda s: s.span)[: args.worst]
        thin = min(samples, key=lambda s: s.area)
        print(f"{name}{' --hidden ' + args.hidden if args.hidden else ''}: span min {spans.min():.2f} "
              f"median {np.median(spans):.2f}; area min {100 * areas.min():.2f}% (frame {thin.frame}, {thin.label}); "
              f"worst spans " + ", ".join(f"{s.frame}:{s.span:.2f} ({s.label})" for s in worst), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
