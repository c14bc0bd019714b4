"""Numbered ticks on the axes through the origin: a scale that moves with the world.

When the camera zooms with the data (:mod:`layerlapse.draw.band`), the ticks spread apart
or crowd together and renumber in 1-2-5 steps, so a zoom reads as zoom and not as the data
itself shrinking or growing. The rule lives here, without any back-end, so every output
that draws the axes can number them the same way.
"""

from __future__ import annotations

import math

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


#: a label's box: its width per character and its height, as shares of the font's pixel
#: size (measured on VTK's Arial digits), and the clear pixels it keeps from the box's
#: outline, another label and any panel, per pixel of frame height at 480p
CHAR_WIDTH, LINE_HEIGHT, CLEAR = 0.5, 0.85, 3.0 / 480


def label_box(x: float, y: float, text: str, font_px: float) -> np.ndarray:
    """The pixel box (x0, y0, x1, y1) of ``text`` centred at (x, y)."""
    half_w, half_h = 0.5 * CHAR_WIDTH * font_px * len(text), 0.5 * LINE_HEIGHT * font_px
    return np.array([x - half_w, y - half_h, x + half_w, y + half_h])


def _sampled(segments: np.ndarray) -> np.ndarray:
    """Points (N, 2) along pixel segments (S, 2, 2), a pixel apart at most (400 per segment
    at most): near enough to test a few pixels' clearance against, sampled once per frame."""
    if not len(segments):
        return np.zeros((0, 2))
    a, b = segments[:, 0], segments[:, 1]
    n = int(min(400, max(2, np.ceil(np.linalg.norm(b - a, axis=1).max()))))
    s = np.linspace(0.0, 1.0, n)[None, :, None]
    return (a[:, None] + s * (b - a)[:, None]).reshape(-1, 2)


def _near_points(box: np.ndarray, points: np.ndarray, clear: float) -> bool:
    """Whether any pixel point (N, 2) lies within ``clear`` of ``box``."""
    x0, y0, x1, y1 = box
    return bool(len(points)) and bool(np.any((points[:, 0] >= x0 - clear) & (points[:, 0] <= x1 + clear)
                                             & (points[:, 1] >= y0 - clear) & (points[:, 1] <= y1 + clear)))


class _Occupied:
    """Which cells of a pixel grid hold a data point, grown by one cell: a surface's sampled
    vertices lie several pixels apart, and a label must not slip between them."""

    def __init__(self, points: np.ndarray, size: tuple[int, int], cell: float) -> None:
        w, h = size
        self.cell = max(float(cell), 1.0)
        nx, ny = int(np.ceil(w / self.cell)) + 1, int(np.ceil(h / self.cell)) + 1
        grid = np.zeros((ny + 2, nx + 2), bool)
        if len(points):
            ij = np.floor(np.asarray(points, float) / self.cell).astype(np.int64) + 1
            keep = (ij[:, 0] >= 0) & (ij[:, 0] < nx + 2) & (ij[:, 1] >= 0) & (ij[:, 1] < ny + 2)
            grid[ij[keep, 1], ij[keep, 0]] = True
        rows = grid.copy()
        rows[1:] |= grid[:-1]
        rows[:-1] |= grid[1:]
        grown = rows.copy()
        grown[:, 1:] |= rows[:, :-1]
        grown[:, :-1] |= rows[:, 1:]
        self.grid = grown

    def hit(self, box: np.ndarray) -> bool:
        x0, y0, x1, y1 = (math.floor(v / self.cell) + 1 for v in box.tolist())
        ny, nx = self.grid.shape
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, nx - 1), min(y1, ny - 1)
        return x0 <= x1 and y0 <= y1 and bool(self.grid[y0 : y1 + 1, x0 : x1 + 1].any())


def _overlaps(box: np.ndarray, rects: list[np.ndarray], clear: float) -> bool:
    return any(box[0] < r[2] + clear and r[0] < box[2] + clear and box[1] < r[3] + clear and r[1] < box[3] + clear
               for r in rects)


def place_labels(candidates: list[list[tuple[float, float]]], texts: list[str], font_px: float,
                 size: tuple[int, int], *, outline: np.ndarray, keep_out: list[np.ndarray],
                 data: np.ndarray | None = None) -> list[np.ndarray | None]:
    """Where each label goes (its pixel box), or None where it is dropped.

    Labels are taken in the order given (the nearest the origin first); each takes the first
    of its ``candidates`` (centres, in pixels) whose box lies in the frame between the top and
    bottom :data:`BAND` and clears the box's ``outline`` (segments (S, 2, 2), pixels), the
    ``keep_out`` rectangles (x0, y0, x1, y1: the inset, panels, the colour bar), the cells
    (about twice the clearance wide, grown by one) holding the classes' points ``data`` (N, 2)
    and every label placed before it. A label with no such place is dropped: a missing number reads
    better than one crossed by a line or piled on another.
    """
    w, h = size
    clear = CLEAR * h
    edge = _sampled(np.asarray(outline, float).reshape(-1, 2, 2))
    occupied = _Occupied(np.zeros((0, 2)) if data is None else data, size, 2 * clear)
    placed: list[np.ndarray] = []
    out: list[np.ndarray | None] = []
    for spots, text in zip(candidates, texts):
        chosen = None
        for x, y in spots:
            box = label_box(x, y, text, font_px)
            if box[0] < 0 or box[2] > w or box[1] < BAND * h or box[3] > (1 - BAND) * h:
                continue
            if (_overlaps(box, keep_out, 0.0) or _overlaps(box, placed, clear) or _near_points(box, edge, clear)
                    or occupied.hit(box)):
                continue
            chosen = box
            break
        if chosen is not None:
            placed.append(chosen)
        out.append(chosen)
    return out
