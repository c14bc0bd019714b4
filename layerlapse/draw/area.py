"""How many pixels a class covers on screen, estimated cheaply from its projected points:
the zoom inset (:func:`~layerlapse.render.sight.pose_inset`) magnifies a class that
collapses to a short line or a speck, which its extent alone does not show (a 3-pixel line
can be 200 pixels long)."""

from __future__ import annotations

import numpy as np

#: a class estimated to cover less than this share of the frame's pixels gets the inset
#: (2.5 times the 0.2% a class must keep, as the tests measure it: lines, shading and the
#: markers take some of what is estimated)
AREA_SHARE = 0.005
#: the same in 3-D, where a class's projected points also count what the other class hides,
#: what a cutaway opens and what its dark side loses to shading (an edge-on sheet at
#: linked-tori's output: estimated 1%, 0.15% seen)
AREA_SHARE_3D = 0.012
#: the coarse grid's cells are never finer than this many pixels (the estimate stays cheap)
MIN_CELL = 2.0
#: consecutive points further apart than this many cells are not joined by a line
JUMP = 40


def screen_area(xy: np.ndarray, width: float, *, enough: float = np.inf) -> float:
    """Pixels covered by points ``xy`` (N, 2, in pixels) drawn ``width`` pixels wide: the
    points rasterised into cells ``width`` wide, closed over one cell (a gap between
    neighbouring points, a surface's interior between its vertices) and counted.

    ``enough``: an area known to be large enough: when the occupied cells alone reach it,
    their count is returned (no grid is built)."""
    if not len(xy):
        return 0.0
    cell = max(float(width), MIN_CELL)
    # one contiguous row per axis: numpy reduces an (N, 2) array along N slowly
    x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    x0, y0 = x.min(), y.min()
    grid = np.zeros((int((x.max() - x0) / cell) + 3, int((y.max() - y0) / cell) + 3), bool)
    grid[((x - x0) / cell).astype(np.int64) + 1, ((y - y0) / cell).astype(np.int64) + 1] = True
    occupied = float(np.count_nonzero(grid)) * cell * cell
    if occupied >= enough:  # the vertices alone cover enough: large, whatever lies between them
        return occupied
    extra = _filled(xy, cell)[len(xy):]
    grid[((extra[:, 0] - x0) / cell).astype(np.int64) + 1, ((extra[:, 1] - y0) / cell).astype(np.int64) + 1] = True
    return float(np.count_nonzero(_closed(grid))) * cell * cell


def _closed(grid: np.ndarray) -> np.ndarray:
    """``grid`` closed by a 3 x 3 square, with shifted slices (as ``scipy.ndimage.binary_closing``,
    in a fraction of its time on these small grids)."""
    grown = grid.copy()
    grown[1:] |= grid[:-1]
    grown[:-1] |= grid[1:]
    g = grown.copy()
    g[:, 1:] |= grown[:, :-1]
    g[:, :-1] |= grown[:, 1:]
    shrunk = g.copy()
    shrunk[1:-1] &= g[:-2] & g[2:]
    out = shrunk.copy()
    out[:, 1:-1] &= shrunk[:, :-2] & shrunk[:, 2:]
    out[[0, -1]] = False  # as ndimage erodes: nothing outside the grid
    out[:, [0, -1]] = False
    return out


def _filled(xy: np.ndarray, cell: float) -> np.ndarray:
    """``xy`` with points added between consecutive ones up to a cell apart: a sparsely sampled
    curve drawn as a line covers its segments, not only its vertices. Pairs further apart than
    :data:`JUMP` cells are taken for the end of one curve and the start of the next."""
    step = np.linalg.norm(np.diff(xy, axis=0), axis=1) / cell
    k = np.where(step <= JUMP, np.floor(step), 0).astype(np.int64)  # none between points a cell apart
    if not k.sum():
        return xy
    pair = np.repeat(np.arange(len(k)), k)
    start = np.cumsum(k) - k
    frac = (np.arange(len(pair)) - np.repeat(start, k) + 0.5) / np.repeat(np.maximum(k, 1), k)
    extra = xy[pair] + frac[:, None] * (xy[pair + 1] - xy[pair])
    return np.concatenate([xy, extra])
