"""The stretch heat map's colours, colour-bar ticks and class cues (no drawing library).

Colours: Moreland's cool-to-warm diverging map in log ratio, centred on 1 (unchanged,
light grey), blue where space is squeezed, red where it is stretched, with the same
limits over the whole movie so colours compare across frames. The lookup table itself
is VTK's (:mod:`layerlapse.render.heat`).
"""

from __future__ import annotations

import numpy as np

#: Moreland (2009), "Diverging Color Maps for Scientific Visualization": its end and centre colours
COOL, NEUTRAL, WARM = (0.230, 0.299, 0.754), (0.865, 0.865, 0.865), (0.706, 0.016, 0.150)
#: ratios the colour bar may label (powers of two, then tens)
TICKS = (1 / 1000, 1 / 100, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0, 16.0, 100.0, 1000.0)
#: class cues (outlines, tube rims, the edges of 2-D lines) under the stretch heat map: near
#: black, bluish green, yellow, reddish purple; none on the cool-to-warm map's blue-grey-red axis
HEAT_CUES = ("#1a1a1a", "#009E73", "#F0E442", "#CC79A7")
#: why the heat map and a k-NN head do not go together
KNN_STRETCH = ("color_by: 'stretch' would hide the k-NN head's vote (the colours that show its decision); "
               "use --color-by class with --head knn")


def heat_cue(label: int) -> str:
    """The class cue of class ``label`` under the stretch heat map."""
    return HEAT_CUES[label % len(HEAT_CUES)]


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
