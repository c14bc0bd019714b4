"""The view of a network wider than 3: one continuous path of 3 x D projections.

A scene whose network works in ``R^D``, D > 3, is seen through ``P(f)`` (3, D), orthonormal
rows, at every frame f. The path is built from one view per layer end:

* the input's view: ``[I | 0]`` for input of at most 3 coordinates (the data as defined),
  else the input's three principal directions (as much of it as a 3-D view can hold);
* after each layer: the three principal directions of that layer's end representation
  (of the view points: the scene's class points); after the last, the directions the
  decision depends on come first (for two classes ``W[1] - W[0]``; for up to four classes the
  span of the head's centred rows), so the decision is drawn faithfully, then the main spread;
* each view is turned within its own span to lie closest to the view before (orthogonal
  Procrustes), so no axis flips or swaps from one layer to the next;
* during each layer's moving stages the view moves from the last one to the next: the
  polar factor of ``(1 - a) A + a B`` (a smoothstep in the layer's frames), which is
  well defined all along (after Procrustes ``A B^T`` is symmetric positive semi-definite, so
  the blend's singular values stay at least ``1 / sqrt(2)``) and still in the holds, so no
  frame jumps, at a layer's start or end either.

A direction no point spreads along (a layer narrower than 3) is filled with the one of the
view before that it can keep. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layerlapse.networks.timeline import ease

DISPLAY_DIM = 3
#: the view points a view is chosen from, at most (an even stride over them): principal
#: directions are stable long before, and a 1,024-wide covariance of 4,000 points costs
#: 4e9 operations, under a second on two cores
VIEW_POINTS = 4000
#: a principal direction whose spread is below this share of the largest is no direction
RANK_RTOL = 1e-9


def orthonormal_rows(A: np.ndarray) -> np.ndarray:
    """The closest matrix with orthonormal rows (polar factor); (..., 3, D) -> same."""
    U, _, Vt = np.linalg.svd(A, full_matrices=False)
    return U @ Vt


def align(previous: np.ndarray, view: np.ndarray) -> np.ndarray:
    """``view`` (3, D) turned within its span by the orthogonal 3 x 3 R that brings it
    closest to ``previous`` (orthogonal Procrustes: R = U W^T for ``previous view^T = U S W^T``);
    afterwards ``previous view^T`` is symmetric positive semi-definite: no axis flipped or swapped."""
    U, _, Wt = np.linalg.svd(previous @ view.T)
    return (U @ Wt) @ view


def _basis(rows: np.ndarray, limit: int) -> np.ndarray:
    """An orthonormal basis (k, D), k <= limit, of the span of ``rows`` (r, D)."""
    if not len(rows):
        return rows
    _, s, Vt = np.linalg.svd(rows, full_matrices=False)
    return Vt[s > RANK_RTOL * max(s[0], 1e-300)][:limit]


def principal_rows(X: np.ndarray, previous: np.ndarray | None, first: np.ndarray | None = None) -> np.ndarray:
    """A view (3, D) of points X (V, D): the directions ``first`` (r, D), r <= 3, then the
    main directions of spread orthogonal to them; directions the points do not spread along
    are taken from ``previous`` (3, D) as far as it reaches outside those, then coordinate axes."""
    D = X.shape[1]
    rows = _basis(np.zeros((0, D)) if first is None else np.asarray(first, dtype=float), DISPLAY_DIM)
    Xc = X - X.mean(0)
    Xc = Xc - (Xc @ rows.T) @ rows
    C = Xc.T @ Xc
    # the three largest only: a 1,024-wide covariance's whole eigenbasis costs ten times as much
    from scipy import linalg  # 0.15 s of imports: data wider than 3-D only

    s, V = linalg.eigh(C, subset_by_index=[max(D - DISPLAY_DIM, 0), D - 1])
    order = np.argsort(s)[::-1]
    keep = s[order] > RANK_RTOL * max(float(np.trace(C)), 1e-300)
    rows = np.vstack([rows, V[:, order[keep]].T[: DISPLAY_DIM - len(rows)]])
    for fill in (previous, np.eye(min(D, 2 * DISPLAY_DIM), D)):
        if len(rows) == DISPLAY_DIM or fill is None:
            continue
        rest = fill - (fill @ rows.T) @ rows
        rows = np.vstack([rows, _basis(rest, DISPLAY_DIM - len(rows))])
    return rows[:DISPLAY_DIM]


def signed(view: np.ndarray) -> np.ndarray:
    """Each row's sign chosen so that its largest entry is positive (principal directions
    have no sign of their own: the same data always gives the same view)."""
    big = view[np.arange(len(view)), np.abs(view).argmax(1)]
    return view * np.where(big < 0, -1.0, 1.0)[:, None]


@dataclass(frozen=True)
class ViewPath:
    """The display projection of every frame: ``views`` (K + 1, 3, D), aligned in turn, and
    ``spans`` (K, 2), the frames [start, stop] over which view k turns into view k + 1."""

    views: np.ndarray
    spans: np.ndarray

    def at(self, frames: np.ndarray) -> np.ndarray:
        """The projections at timeline frames (F,); -> (F, 3, D), orthonormal rows."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        if not len(self.spans):
            return np.broadcast_to(self.views[0], (frames.size,) + self.views[0].shape).copy()
        starts, stops = self.spans[:, 0], self.spans[:, 1]
        k = np.searchsorted(starts, frames, side="right") - 1  # the last turn started: -1 before any
        before = k < 0
        k = np.maximum(k, 0)
        a = ease((frames - starts[k]) / np.maximum(stops[k] - starts[k], 1), "smoothstep")
        a = np.where(before, 0.0, a)[:, None, None]
        return orthonormal_rows((1.0 - a) * self.views[k] + a * self.views[k + 1])


def decision_rows(head_rows: np.ndarray | None, D: int) -> np.ndarray | None:
    """The directions a head's argmax depends on (the span of its centred rows (C, m), in R^D),
    when there are at most three of them; else None."""
    if head_rows is None or len(head_rows) < 2:
        return None
    rows = np.zeros((len(head_rows), D))
    rows[:, : head_rows.shape[1]] = head_rows - head_rows.mean(0)
    basis = _basis(rows, D)
    return basis if 0 < len(basis) <= DISPLAY_DIM else None


def view_path(ends: Sequence[np.ndarray], spans: np.ndarray, input_dim: int,
              head_rows: np.ndarray | None) -> ViewPath:
    """The path through the views of the representations ``ends`` (the view points (V, D) at
    the input and after each layer), turning during ``spans`` (one [start, stop] per layer).

    With no layer the one view is the last (decision first), which is also the input's."""
    D = ends[0].shape[1]
    ends = [X[:: max(1, len(X) // VIEW_POINTS)] for X in ends]
    decision = decision_rows(head_rows, D)
    if len(ends) == 1:
        return ViewPath(signed(principal_rows(ends[0], np.eye(DISPLAY_DIM, D), decision))[None], np.zeros((0, 2), np.int64))
    first = np.eye(DISPLAY_DIM, D) if input_dim <= DISPLAY_DIM else signed(principal_rows(ends[0], None))
    views = [first]
    for i, X in enumerate(ends[1:], start=1):
        view = principal_rows(X, views[-1], decision if i == len(ends) - 1 else None)
        views.append(align(views[-1], view))
    return ViewPath(np.stack(views), np.asarray(spans, dtype=np.int64).reshape(-1, 2))
