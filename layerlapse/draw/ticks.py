"""Numbered ticks on the axes through the origin: a scale that moves with the world.

When the camera zooms with the data (:mod:`layerlapse.draw.band`), the ticks spread apart
or crowd together and renumber in 1-2-5 steps, so a zoom reads as zoom and not as the data
itself shrinking or growing. The rule lives here, without any back-end, so every output
that draws the axes can number them the same way.
"""

from __future__ import annotations

import numpy as np

#: the tick step is the smallest 1-2-5 value at least the view's half-height over this:
#: about 2 labelled ticks above the origin, 3-4 to each side in a 16:9 frame
PER_HALF = 2.5
#: ticks drawn per side of an axis at most (a fixed pool of actors)
MAX_TICKS = 6
#: a tick mark's half-length and a label's offset, as shares of the view's half-height
TICK_SIZE, LABEL_OFFSET = 0.018, 0.035
#: tick labels whose anchor falls in the top or bottom band of the frame (this share of
#: its height: the stage label, the title, captions) are hidden
BAND = 0.12


def tick_step(half: float) -> float:
    """The round step (1, 2 or 5 times a power of ten) for a view ``half`` world units high."""
    target = max(float(half), 1e-300) / PER_HALF
    power = 10.0 ** np.floor(np.log10(target))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * power >= target * (1 - 1e-9):
            return float(m * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def tick_values(step: float, reach: float) -> np.ndarray:
    """The tick positions k * step, 0 < |k| <= MAX_TICKS, within ``reach`` of the origin."""
    k = np.arange(1, MAX_TICKS + 1)
    pos = k * step
    pos = pos[pos <= reach * (1 + 1e-9)]
    return np.concatenate([-pos[::-1], pos])


def tick_label(value: float, step: float) -> str:
    """``0.2``, ``-5``, ``20``, ``1e+03``: as many decimals as the step needs, no more."""
    decimals = max(0, -int(np.floor(np.log10(step) + 1e-9)))
    if abs(value) >= 1e4 or (value != 0 and abs(value) < 1e-3):
        return f"{value:.0e}"
    return f"{value:.{decimals}f}"
