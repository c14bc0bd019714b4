"""The pulled-back decision boundary: where the two logits tie, found in the input space.

The head's decision is a hyperplane ``w.y + c = 0`` in the last hidden representation
(``w = W[1] - W[0]``, ``c = b[1] - b[0]``). Pulled back through the hidden layers it is the
zero set of ``f(x) = w.h(x) + c`` in the input, a curve in 2-D and a surface in 3-D that the
layers straighten into that plane. Here ``f`` is sampled on a regular grid over a box
(:func:`tie_field`); the renderer contours the samples (marching squares or cubes, VTK) and
carries the contour's vertices through every stage with the data. In 1-D the tie set is a
few points, found here by linear interpolation between sign changes (:func:`crossings_1d`).

Only two-class affine heads have a tie set to pull back: :func:`unsupported` says why
not for the others. Pure numpy: nothing here draws or touches files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlapse.networks.layers import Layer, LayerPlan

#: grid points along the box's longest side. Enough to resolve the trained presets' level sets
#: (:func:`refine` then puts every vertex on it); in 3-D the triangle count, not the field, is
#: the cost: 96 gives linked-tori 50k translucent triangles, 64 gives 22k (a 720p frame 28 ->
#: 38 ms, 1.34x) and looks as smooth under Gouraud shading. The field costs 0.3-1 s (tanh).
CELLS = {1: 4000, 2: 400, 3: 64}
#: a box with no grid around it: the parts' bounding box padded by this share of its largest side
PAD = 0.1
#: points evaluated at once (memory stays flat for wide networks)
CHUNK = 1 << 16


@dataclass(frozen=True)
class TieField:
    """The logit difference ``f`` (n1, ..., nd) sampled at the points of a regular grid over
    [lo, hi] (each (d,)), axis k holding coordinate k ('ij' indexing); f > 0 where the
    second class wins."""

    lo: np.ndarray
    hi: np.ndarray
    values: np.ndarray

    @property
    def dim(self) -> int:
        return self.values.ndim

    @property
    def spacing(self) -> np.ndarray:
        """(d,) distance between neighbouring grid points along each axis."""
        return (self.hi - self.lo) / np.maximum(np.array(self.values.shape) - 1, 1)

    @property
    def crosses(self) -> bool:
        """Whether both classes win somewhere on the grid (else there is no boundary to draw)."""
        return bool(self.values.min() < 0 < self.values.max())


def unsupported(plan: LayerPlan, classes: int) -> str | None:
    """Why the pulled-back boundary cannot be drawn for ``plan`` (None when it can)."""
    if classes == 0:
        return "the scene has no classes, so there is no decision to pull back"
    if classes != 2:
        return (f"the scene has {classes} classes; the tie set is drawn for two classes only "
                "(with more, the regions of the top two would have to be told apart)")
    head = plan.head
    if not isinstance(head, Layer):
        return ("a k-NN head votes; it has no logits whose tie set could be carried "
                "(its decision region is shown by the colours at the output)")
    if head.W.shape[0] != 2:
        return f"the head has {head.W.shape[0]} outputs for 2 classes"
    return None


def box(points: np.ndarray, *, pad: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box (lo, hi), each (d,), of points (V, d), padded by ``pad`` times its
    largest side on every side (a flat side gets the padding too)."""
    P = np.asarray(points, dtype=float)
    lo, hi = P.min(0), P.max(0)
    margin = pad * float((hi - lo).max()) + 1e-9
    return lo - margin, hi + margin


def logit_difference(plan: LayerPlan, X: np.ndarray) -> np.ndarray:
    """``f(x) = logit_2(x) - logit_1(x)`` of a two-class affine head; (N, n) -> (N,)."""
    head = plan.head
    assert isinstance(head, Layer)
    w, c = head.W[1] - head.W[0], float(head.b[1] - head.b[0])
    out = np.zeros(len(X))
    for start in range(0, len(X), CHUNK):
        out[start : start + CHUNK] = plan.hidden_forward(X[start : start + CHUNK]) @ w + c
    return out


def tie_field(plan: LayerPlan, lo: np.ndarray, hi: np.ndarray, cells: int | None = None) -> TieField:
    """Sample the logit difference on a grid over [lo, hi] with ``cells`` points along the
    longest side (default :data:`CELLS` by dimension), the others in proportion (at least 2)."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    d = len(lo)
    n = CELLS[d] if cells is None else cells
    step = float((hi - lo).max()) / (n - 1)
    counts = [max(2, int(np.ceil((b - a) / step)) + 1) for a, b in zip(lo, hi)]
    axes = [np.linspace(a, b, k) for a, b, k in zip(lo, hi, counts)]
    X = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
    return TieField(lo, hi, logit_difference(plan, X).reshape(counts))


def crossings_1d(field: TieField) -> np.ndarray:
    """The tie points (K, 1) of a 1-D field: linear interpolation across each sign change."""
    f = field.values
    x = np.linspace(field.lo[0], field.hi[0], len(f))
    i = np.flatnonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)
    s = f[i] / (f[i] - f[i + 1])
    return (x[i] + s * (x[i + 1] - x[i]))[:, None]


def refine(plan: LayerPlan, X: np.ndarray, spacing: np.ndarray, *, steps: int = 3) -> np.ndarray:
    """Move contour vertices X (V, n) onto the tie set by Newton steps along the gradient of
    ``f`` (central differences), each step at most one grid spacing: the contour's linear
    interpolation error (second order in the spacing) drops to rounding, so at the last frame
    the carried vertices lie on the head's plane. A vertex whose step would be longer (a
    near-critical point of ``f``) stays where the contour put it."""
    X = np.array(X, dtype=float)
    if not len(X):
        return X
    n = X.shape[1]
    h = 1e-4 * float(np.min(spacing))
    limit = float(np.min(spacing))
    offsets = np.vstack([np.eye(n), -np.eye(n)]) * h
    for _ in range(steps):
        values = logit_difference(plan, np.vstack([X[None], X[None] + offsets[:, None]]).reshape(-1, n))
        f, shifted = values[: len(X)], values[len(X):].reshape(2 * n, len(X))
        g = ((shifted[:n] - shifted[n:]) / (2 * h)).T
        step = f[:, None] * g / np.maximum((g * g).sum(1), 1e-300)[:, None]
        ok = np.linalg.norm(step, axis=1) <= limit
        X[ok] -= step[ok]
    return X
