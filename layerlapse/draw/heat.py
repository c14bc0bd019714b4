"""The stretch heat map's colours and colour-bar ticks (no drawing library).

Colours: each class its own ramp in its own hue (:func:`class_ramp`): its colour where
nothing changed, darker where space is squeezed, paler where it is stretched, in log ratio
with the same limits over the whole movie, so colours compare across frames and the two
classes never share a colour (one cool-to-warm map for all turned both helices of
``easy-way-out`` the same red and white). The grid's ramp is the grid's grey. The VTK view
(:mod:`layerlapse.render.heat`) and the web page use the same tables.
"""

from __future__ import annotations

import numpy as np

from layerlapse.draw.colour import ColourLike, float_rgb

#: ratios the colour bar may label (powers of two, then tens)
TICKS = (1 / 1000, 1 / 100, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0, 16.0, 100.0, 1000.0)
#: a class ramp's ends: at the squeeze limit the class colour moves this share of the way to
#: black, at the stretch limit this share of the way to white (its hue stays the class's)
SQUEEZED_SHADE, STRETCHED_TINT = 0.72, 0.78
#: entries of a ramp table, over log ratios [-limit, limit]
RAMP_SIZE = 256
#: why the heat map and a k-NN head do not go together
KNN_STRETCH = ("color_by: 'stretch' would hide the k-NN head's vote (the colours that show its decision); "
               "use --color-by class with --head knn")


def class_ramp(colour: ColourLike) -> np.ndarray:
    """A class's stretch ramp: (RAMP_SIZE, 3) uint8 over log ratios [-limit, limit] (any limit:
    entry i is at ``-limit + 2 limit i / (RAMP_SIZE - 1)``); the middle is ``colour`` itself.

    Mixing towards black or white keeps the hue (and so the class) of every entry; lightness
    alone says how much space is squeezed (dark) or stretched (pale)."""
    base = np.array(float_rgb(colour))
    s = np.linspace(-1.0, 1.0, RAMP_SIZE)[:, None]
    dark = base * (1 + SQUEEZED_SHADE * np.minimum(s, 0))
    rgb = dark + STRETCHED_TINT * np.maximum(s, 0) * (1 - dark)
    return np.round(255 * rgb).astype(np.uint8)


def ramp_index(log_ratio: np.ndarray, limit: float) -> np.ndarray:
    """The ramp entries (N,) int of log stretches (N,), clipped to [-limit, limit]."""
    s = np.clip(np.asarray(log_ratio, dtype=np.float64) / limit, -1.0, 1.0)
    return np.round((s + 1) * 0.5 * (RAMP_SIZE - 1)).astype(np.int64)


def ticks(limit: float) -> list[float]:
    """The ratios the colour bar labels: those of :data:`TICKS` within ``exp(±limit)``, at most 7."""
    shown = [r for r in TICKS if abs(np.log(r)) <= limit * (1 + 1e-9)]
    while len(shown) > 7:  # keep the bar readable: 1 and every other ratio out from it
        middle = shown.index(1.0)
        shown = [r for i, r in enumerate(shown) if (i - middle) % 2 == 0]
    return shown


def ratio_text(r: float) -> str:
    """``×2``, ``×1`` or ``×1/4``."""
    return f"\u00d7{r:g}" if r >= 1 else f"\u00d71/{1 / r:g}"
