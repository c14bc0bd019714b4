"""The class colours, and the colour science that checks them: CIELAB, CIEDE2000 and a
simulation of deuteranopia (the commonest colour-vision deficiency).

:data:`PALETTE` holds ten colours, as many as a scene may have classes
(:data:`~layerlapse.limits.MAX_CLASSES`): Okabe & Ito's seven colours without its black
(black is the text's colour and the misclassified markers'), in their order, so that every
scene of up to seven classes keeps the colours it always had, then three darker ones: Paul Tol's indigo
``#332288`` (his *muted* scheme), a maroon ``#7E2F1F`` and a dark teal ``#005F5F``, the
three of 24 candidates (Tol's muted, bright, light and vibrant schemes, a few dark tones)
that lie furthest from the seven and from one another for normal and for deuteranopic
vision: every pair of the ten differs by CIEDE2000 >= 21.7 (normal) and >= 11.6 (as a
deuteranope sees them; the closest pair is Okabe & Ito's own orange and yellow), the
three new ones by >= 23.3 and >= 17.3. Pure numpy: no drawing.
"""

from __future__ import annotations

import numpy as np

from layerlapse.draw.colour import ColourLike, float_rgb

#: Okabe & Ito's colour-blind-safe palette (blue, vermillion, bluish green, orange, ...)
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: ten class colours: Okabe-Ito without black, then three of Paul Tol's (see the module)
PALETTE = OKABE_ITO[:7] + ("#332288", "#7E2F1F", "#005F5F")

# Machado, Oliveira & Fernandes (2009): deuteranomaly at severity 1.0, on linear RGB
_DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],
                          [0.280085, 0.672501, 0.047413],
                          [-0.011820, 0.042940, 0.968881]])
# sRGB (D65) to XYZ, and the D65 white
_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                 [0.2126729, 0.7151522, 0.0721750],
                 [0.0193339, 0.1191920, 0.9503041]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def linear(colour: ColourLike) -> np.ndarray:
    """Linear RGB (3,) of a colour (the sRGB transfer curve undone)."""
    c = np.array(float_rgb(colour))
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lab(rgb_linear: np.ndarray) -> np.ndarray:
    """CIELAB (3,) of a linear RGB colour (3,), D65 white."""
    t = (_XYZ @ np.clip(rgb_linear, 0, 1)) / _WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def deuteranopia(rgb_linear: np.ndarray) -> np.ndarray:
    """How a deuteranope sees a linear RGB colour (3,): -> linear RGB (3,)."""
    return np.clip(_DEUTERANOPIA @ rgb_linear, 0, 1)


def ciede2000(a: np.ndarray, b: np.ndarray) -> float:
    """The CIEDE2000 colour difference of two CIELAB colours (3,) (Sharma, Wu & Dalal 2005)."""
    L1, a1, b1 = a
    L2, a2, b2 = b
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    G = 0.5 * (1 - np.sqrt((0.5 * (C1 + C2)) ** 7 / ((0.5 * (C1 + C2)) ** 7 + 25 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dL, dC = L2 - L1, C2p - C1p
    dh = 0.0 if C1p * C2p == 0 else ((h2p - h1p + 180) % 360) - 180
    dH = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lm, Cm = 0.5 * (L1 + L2), 0.5 * (C1p + C2p)
    if C1p * C2p == 0:
        hm = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hm = 0.5 * (h1p + h2p)
    else:
        hm = 0.5 * (h1p + h2p + (360 if h1p + h2p < 360 else -360))
    T = (1 - 0.17 * np.cos(np.radians(hm - 30)) + 0.24 * np.cos(np.radians(2 * hm))
         + 0.32 * np.cos(np.radians(3 * hm + 6)) - 0.20 * np.cos(np.radians(4 * hm - 63)))
    SL = 1 + 0.015 * (Lm - 50) ** 2 / np.sqrt(20 + (Lm - 50) ** 2)
    SC, SH = 1 + 0.045 * Cm, 1 + 0.015 * Cm * T
    RT = -2 * np.sqrt(Cm ** 7 / (Cm ** 7 + 25 ** 7)) * np.sin(np.radians(60 * np.exp(-(((hm - 275) / 25) ** 2))))
    return float(np.sqrt((dL / SL) ** 2 + (dC / SC) ** 2 + (dH / SH) ** 2 + RT * (dC / SC) * (dH / SH)))


def difference(first: ColourLike, second: ColourLike, *, deuteranope: bool = False) -> float:
    """CIEDE2000 between two colours, as seen with normal vision or by a deuteranope."""
    a, b = linear(first), linear(second)
    if deuteranope:
        a, b = deuteranopia(a), deuteranopia(b)
    return ciede2000(lab(a), lab(b))
