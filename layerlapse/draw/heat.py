"""The stretch heat map's colours, colour-bar ticks and class cues (no drawing library).

Colours: Moreland's cool-to-warm diverging map in log ratio, centred on 1 (unchanged,
light grey), blue where space is squeezed, red where it is stretched, with the same
limits over the whole movie so colours compare across frames. :func:`lookup_colours`
computes VTK's lookup table (:mod:`layerlapse.render.heat`) without VTK, in the same double
precision steps (math's scalar functions are the C library's, as VTK's are), for the web page.
"""

from __future__ import annotations

import math

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


def _rgb_to_lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    # vtkMath::RGBToLab: sRGB to XYZ (D65) to CIELAB
    def lin(c: float) -> float:
        return math.pow((c + 0.055) / 1.055, 2.4) if c > 0.04045 else c / 12.92
    r, g, b = (lin(c) for c in rgb)
    x = r * 0.4124 + g * 0.3576 + b * 0.1805
    y = r * 0.2126 + g * 0.7152 + b * 0.0722
    z = r * 0.0193 + g * 0.1192 + b * 0.9505
    def f(v: float) -> float:
        return math.pow(v, 1.0 / 3.0) if v > 0.008856 else (7.787 * v) + (16.0 / 116.0)
    vx, vy, vz = f(x / 0.9505), f(y / 1.000), f(z / 1.089)
    return (116 * vy) - 16, 500 * (vx - vy), 200 * (vy - vz)


def _lab_to_rgb(lab: tuple[float, float, float]) -> list[float]:
    # vtkMath::LabToRGB, clipped into [0, 1] as VTK clips
    L, a, b = lab
    vy = (L + 16) / 116
    vx = a / 500 + vy
    vz = vy - b / 200
    def f(v: float) -> float:
        return math.pow(v, 3) if math.pow(v, 3) > 0.008856 else (v - 16.0 / 116.0) / 7.787
    x, y, z = 0.9505 * f(vx), 1.000 * f(vy), 1.089 * f(vz)
    r = x * 3.2406 + y * -1.5372 + z * -0.4986
    g = x * -0.9689 + y * 1.8758 + z * 0.0415
    bb = x * 0.0557 + y * -0.2040 + z * 1.0570
    def gamma(c: float) -> float:
        return 1.055 * (math.pow(c, (1 / 2.4))) - 0.055 if c > 0.0031308 else 12.92 * c
    rgb = [gamma(r), gamma(g), gamma(bb)]
    m = max(rgb)
    if m > 1.0:
        rgb = [c / m for c in rgb]
    return [max(c, 0.0) for c in rgb]


def _msh(lab: tuple[float, float, float]) -> list[float]:
    L, a, b = lab
    M = math.sqrt(L * L + a * a + b * b)
    s = math.acos(L / M) if M > 0.001 else 0.0
    h = math.atan2(b, a) if s > 0.001 else 0.0
    return [M, s, h]


def _angle_diff(a1: float, a2: float) -> float:
    d = abs(a1 - a2)
    while d >= 2.0 * math.pi:
        d -= 2.0 * math.pi
    return 2.0 * math.pi - d if d > math.pi else d


def _adjust_hue(msh: list[float], unsat_m: float) -> float:
    if msh[0] >= unsat_m - 0.1:
        return msh[2]
    spin = msh[1] * math.sqrt(unsat_m * unsat_m - msh[0] * msh[0]) / (msh[0] * math.sin(msh[1]))
    return msh[2] + spin if msh[2] > -0.3 * math.pi else msh[2] - spin


def _diverging(s: float, rgb1: tuple[float, float, float], rgb2: tuple[float, float, float]) -> list[float]:
    """Moreland's interpolation in Msh space from ``rgb1`` (s = 0) to ``rgb2`` (s = 1), white
    inserted between two distinct saturated ends (VTK's vtkColorTransferFunction, step by step)."""
    m1, m2 = _msh(_rgb_to_lab(rgb1)), _msh(_rgb_to_lab(rgb2))
    if m1[1] > 0.05 and m2[1] > 0.05 and _angle_diff(m1[2], m2[2]) > 0.33 * math.pi:
        mid = max(88.0, max(m1[0], m2[0]))
        if s < 0.5:
            m2, s = [mid, 0.0, 0.0], 2.0 * s
        else:
            m1, s = [mid, 0.0, 0.0], 2.0 * s - 1.0
    if m1[1] < 0.05 and m2[1] > 0.05:
        m1[2] = _adjust_hue(m2, m1[0])
    elif m2[1] < 0.05 and m1[1] > 0.05:
        m2[2] = _adjust_hue(m1, m2[0])
    M, sat, h = ((1 - s) * a + s * b for a, b in zip(m1, m2))
    return _lab_to_rgb((M * math.cos(sat), M * math.sin(sat) * math.cos(h), M * math.sin(sat) * math.sin(h)))


def _colour_at(x: float, limit: float) -> list[float]:
    """The colour transfer function's RGB in [0, 1] at log ratio ``x``: nodes at -limit, 0, limit."""
    nodes = [(-limit, COOL), (0.0, NEUTRAL), (limit, WARM)]
    if x <= nodes[0][0]:
        return list(COOL)
    if x >= nodes[-1][0]:
        return list(WARM)
    i = 1 if x < 0.0 else 2
    (x1, c1), (x2, c2) = nodes[i - 1], nodes[i]
    s = (x - x1) / (x2 - x1)
    s = 0.5 * s / 0.5 if s < 0.5 else 0.5 + 0.5 * (s - 0.5) / (1 - 0.5)
    return _diverging(s, c1, c2)


def lookup_colours(limit: float) -> np.ndarray:
    """The heat map's 256 colours (256, 3) uint8 over log ratios [-limit, limit], as VTK's
    lookup table holds them (:func:`layerlapse.render.heat.lookup_table`; a test compares)."""
    xs = np.linspace(-limit, limit, 256)
    return np.array([[int(c * 255.0 + 0.5) for c in _colour_at(float(x), limit)] for x in xs], np.uint8)
