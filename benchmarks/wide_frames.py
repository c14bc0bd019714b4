"""Frame cost of wide data: the stages' positions and the view's projection, against width
and point count (random tanh networks, Gaussian points; the numbers do not depend on the
weights' values).

For each network and point count it prints: the keyframes and the view path built once
(``setup``), the display of a frame (positions through the view, the renderer's part of a
frame, averaged over every frame of a 2 s-per-stage timeline at 30 fps), the view's share of
the variance for the whole timeline, and the memory the keyframes hold.

    python benchmarks/wide_frames.py [--points 1797 50000] [--nets 64-3-10 64-64-10 ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.timeline import Timeline, TimelineConfig

NETS = ["64-3-10", "64-64-10", "64-256-10", "64-16-3-10", "1024-3-10", "1024-64-10", "1024-256-10"]


def network(widths: list[int], seed: int = 0) -> tuple[list[Layer], Layer]:
    """Random tanh layers of these widths (the last is the head), scaled as PyTorch initialises."""
    rng = np.random.default_rng(seed)
    layers = [Layer(rng.uniform(-1, 1, (b, a)) / np.sqrt(a), rng.uniform(-1, 1, b) / np.sqrt(a), "tanh")
              for a, b in zip(widths[:-1], widths[1:])]
    return layers[:-1], Layer(layers[-1].W, layers[-1].b, None)


def measure(widths: list[int], n_points: int, batch: int = 16) -> dict[str, float]:
    hidden, head = network(widths)
    X = np.random.default_rng(1).normal(size=(n_points, widths[0]))
    start = time.perf_counter()
    plan = orient_layers(hidden, head, input_dim=widths[0])
    tl = Timeline.build(plan.stages(), TimelineConfig(title_card=0.0, verdict_card=0.0), 30.0)
    d = Deformation(plan, tl, X)
    setup = time.perf_counter() - start
    moving = np.flatnonzero(~tl.hold)  # the frames where the stages move (holds repeat a keyframe)
    start = time.perf_counter()
    for i in range(0, len(moving), batch):
        d.display(moving[i : i + batch])
    frame = (time.perf_counter() - start) / len(moving)
    start = time.perf_counter()
    d.view_share(np.arange(d.n_frames))
    share = time.perf_counter() - start
    return {"setup_s": setup, "frame_ms": 1e3 * frame, "share_s": share, "frames": d.n_frames,
            "keyframes_mb": d.keyframes.nbytes / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[1797, 50_000])
    parser.add_argument("--nets", nargs="+", default=NETS)
    args = parser.parse_args()
    print(f"{'network':<14}{'points':>8}{'setup s':>10}{'frame ms':>10}{'share s':>10}{'frames':>8}{'keys MB':>10}")
    for net in args.nets:
        for n in args.points:
            r = measure([int(w) for w in net.split("-")], n)
            print(f"{net:<14}{n:>8}{r['setup_s']:>10.2f}{r['frame_ms']:>10.2f}{r['share_s']:>10.2f}"
                  f"{r['frames']:>8}{r['keyframes_mb']:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
