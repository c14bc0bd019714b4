"""The linear stage ``x -> p(t) x``: a path of matrices from ``I`` (t = 0) to ``W`` (t = 1).

The path ``p(t)`` is the polar path: with ``W = Q S`` (``Q`` a rotation, ``S``
symmetric positive definite), ``p(t) = expm(t L) ((1 - t) I + t S)`` where ``L``
is a real skew-symmetric logarithm of ``Q``. The rotation keeps singular values and
the eigenvalues of ``(1 - t) I + t S`` lie between 1 and those of ``S``, so
``sigma_min(p(t)) >= min(1, sigma_min(W))`` for every t. ``det p(t) > 0`` all along.

Layers that change width act in ``R^max(m, n)`` with ``W`` completed to a square (see
:mod:`layerlapse.networks.layers`).

Cost at large n: the path stays this exact one in GL+(n) for every width allowed (up to
1,024). ``Q``'s real Schur form is computed once (``expm(tL)`` is a rotation by ``t theta_k``
in each of its planes), and a frame of a view needs only ``P p(t)`` for its 3 display rows
(:meth:`LinearPath.left`: the planes' rotations applied to the rows, then the stretch; some
``3 n^2`` a frame where a dense ``expm`` would cost ``n^3``); the positions themselves are
formed only where asked for (:meth:`LinearStage.positions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from layerlapse.errors import LayerlapseError, choice_error
from layerlapse.networks.stages.base import Stage, rows_at, seen, times

LINEAR_PATHS = ("polar", "straight")
#: Below this ratio sigma_min / sigma_max a layer is treated as singular.
SINGULAR_RTOL = 1e-9


def polar(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polar decomposition ``W = Q S``; (n, n) -> (Q orthogonal, S symmetric PSD)."""
    U, s, Vt = np.linalg.svd(W)
    Q = U @ Vt
    S = (Vt.T * s) @ Vt
    return Q, 0.5 * (S + S.T)


@dataclass(frozen=True)
class RotationLog:
    """A rotation ``Q`` written as commuting plane rotations: ``Q = prod_k R_k(theta_k)``.

    ``u``, ``v``: (k, n) orthonormal pairs spanning each plane; ``theta``: (k,) angles
    in [0, pi]. ``expm(t L)`` is the rotation by ``t * theta_k`` in every plane, which
    is the exponential of the real skew-symmetric logarithm ``L`` of ``Q``.
    """

    u: np.ndarray
    v: np.ndarray
    theta: np.ndarray

    def at(self, t: np.ndarray) -> np.ndarray:
        """``expm(t L)`` for every t; (F,) -> (F, n, n)."""
        n = self.u.shape[1]
        return self.left(np.broadcast_to(np.eye(n), (times(t).size, n, n)), t)

    def left(self, P: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``P_f expm(t_f L)`` for matrices P (F, r, n) and times t (F,); -> (F, r, n).

        ``expm(t L) = I + sum_k (cos(t theta_k) - 1)(u u^T + v v^T) + sin(t theta_k)(v u^T - u v^T)``,
        applied from the right without forming it: ``4 r k n`` per frame (for the 3 display
        rows of a 1,024-wide layer, some 6 million, where a dense n x n matrix costs n^2 k)."""
        t = times(t)
        P = np.asarray(P, dtype=float)
        if self.theta.size == 0:
            return P.copy()
        angle = t[:, None, None] * self.theta[None, None, :]  # (F, 1, k)
        c, s = np.cos(angle) - 1.0, np.sin(angle)
        Pu, Pv = rows_at(P, self.u.T), rows_at(P, self.v.T)  # (F, r, k)
        return P + rows_at(c * Pu + s * Pv, self.u) + rows_at(c * Pv - s * Pu, self.v)


def rotation_log(Q: np.ndarray) -> RotationLog:
    """Real logarithm of a rotation ``Q`` (det +1) from its real Schur form.

    ``scipy.linalg.logm`` returns a complex result for rotations by pi (``-I`` in 2D);
    here the -1 eigenvalues, which come in pairs when det Q = +1, are paired into
    rotations by pi in the planes their Schur vectors span.
    """
    from scipy import linalg  # 0.15 s of imports, on the first rotation

    n = Q.shape[0]
    T, Z = linalg.schur(Q, output="real")
    us, vs, thetas, negatives = [], [], [], []
    i = 0
    while i < n:
        if i + 1 < n and T[i + 1, i] != 0.0:
            cos = 0.5 * (T[i, i] + T[i + 1, i + 1])
            sin = 0.5 * (T[i + 1, i] - T[i, i + 1])
            us.append(Z[:, i])
            vs.append(Z[:, i + 1])
            thetas.append(np.arctan2(sin, cos))
            i += 2
        else:
            if T[i, i] < 0.0:
                negatives.append(i)
            i += 1
    if len(negatives) % 2:
        raise LayerlapseError("rotation_log: the matrix is not a rotation (det Q = -1)")
    for a, b in zip(negatives[0::2], negatives[1::2]):
        us.append(Z[:, a])
        vs.append(Z[:, b])
        thetas.append(np.pi)
    if not thetas:
        return RotationLog(np.zeros((0, n)), np.zeros((0, n)), np.zeros(0))
    return RotationLog(np.array(us), np.array(vs), np.array(thetas, dtype=float))


@dataclass(frozen=True)
class LinearPath:
    """A path ``p(t)`` of n x n matrices from ``I`` (t = 0) to ``W`` (t = 1).

    ``method='polar'`` (default) stays in GL+(n) when det W > 0. ``'straight'`` is
    ``(1 - t) I + t W``; it passes through a singular matrix exactly when W has a real
    eigenvalue <= 0 (see :attr:`crosses_singular`).
    """

    W: np.ndarray
    method: str = "polar"

    def __post_init__(self) -> None:
        if self.method not in LINEAR_PATHS:
            raise choice_error("linear_path", self.method, LINEAR_PATHS)
        W = np.asarray(self.W, dtype=float)
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise LayerlapseError(f"LinearPath: W must be square, got shape {W.shape}")
        object.__setattr__(self, "W", W)
        if self.method == "polar":
            if np.linalg.slogdet(W)[0] <= 0:
                raise LayerlapseError(
                    "LinearPath: the polar path needs det W > 0; swap two neurons first "
                    "(orient_layers) or use method='straight'"
                )
            Q, S = polar(W)
            object.__setattr__(self, "_log", rotation_log(Q))
            object.__setattr__(self, "_S", S)

    @property
    def crosses_singular(self) -> bool:
        """True when the straight line from I to W meets det = 0 for some t in (0, 1]."""
        ev = np.linalg.eigvals(self.W)
        real = np.abs(ev.imag) <= 1e-12 * max(1.0, np.abs(ev).max())
        return bool(np.any(real & (ev.real <= 0.0)))

    def at(self, t: np.ndarray) -> np.ndarray:
        """The matrices ``p(t)``; (F,) -> (F, n, n)."""
        t = np.asarray(t, dtype=float).reshape(-1)
        n = self.W.shape[0]
        eye = np.eye(n)
        if self.method == "straight":
            return (1.0 - t)[:, None, None] * eye + t[:, None, None] * self.W
        stretch = (1.0 - t)[:, None, None] * eye + t[:, None, None] * self._S  # type: ignore[attr-defined]
        return self._log.at(t) @ stretch  # type: ignore[attr-defined]

    @property
    def _K(self) -> np.ndarray:
        """The matrix the path's stretch moves towards: S (polar; the rotation is left of it) or W."""
        return self._S if self.method == "polar" else self.W  # type: ignore[attr-defined]

    def left(self, P: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``P_f p(t_f)`` for row blocks P (F, r, n): what a frame's view of ``p(t) x`` needs,
        without the n x n matrices (``p(t) = expm(tL)((1 - t) I + t S)``: the rotation applied
        to P's rows plane by plane, then the stretch); -> (F, r, n)."""
        t = times(t)[:, None, None]
        A = self._log.left(P, t.ravel()) if self.method == "polar" else np.asarray(P, dtype=float)  # type: ignore[attr-defined]
        return (1.0 - t) * A + t * rows_at(A, self._K)

    def spread(self, C: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``trace(p(t) C p(t)^T)`` for a symmetric C (n, n) (the total variance of points whose
        covariance is C, after ``p(t)``); (F,) -> (F,). The rotation keeps it, so it is the
        quadratic ``(1 - t)^2 tr C + 2 t (1 - t) tr(K C) + t^2 tr(K C K^T)`` (K = S, or W for the
        straight path): three numbers for the whole stage."""
        t = times(t)
        K = self._K
        a, b, c = np.trace(C), np.trace(K @ C), np.einsum("ij,jk,ik->", K, C, K)
        return (1.0 - t) ** 2 * a + 2.0 * t * (1.0 - t) * b + t ** 2 * c


def linear_stage(X: np.ndarray, path: LinearPath, t: np.ndarray) -> np.ndarray:
    """``x -> p(t) x`` for every t; X (V, n), t (F,) -> (F, V, n)."""
    return np.einsum("fij,vj->fvi", path.at(t), X)


@dataclass(frozen=True)
class LinearStage(Stage):
    """``x -> p(t) x`` on the first ``max(n_in, n_out)`` coordinates; ``path.W`` is the
    layer's W, completed to a square when the width changes."""

    kind: ClassVar[str] = "linear"

    layer: int
    n_in: int
    n_out: int
    dim: int
    path: LinearPath

    @property
    def injective(self) -> bool:  # type: ignore[override]
        return self.path.method == "polar" or not self.path.crosses_singular

    @property
    def words(self) -> str:
        return "rotate and stretch" if self.path.method == "polar" else "straight from I to W"

    @property
    def formula(self) -> str:
        return "x -> p(t) x, p(1) = W"

    def positions(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)
        q = self.path.W.shape[0]
        out = np.broadcast_to(X, (t.size,) + X.shape).copy()
        with np.errstate(over="ignore", invalid="ignore"):  # NaN/Inf are refused by the caller
            out[..., :q] = linear_stage(X[:, :q], self.path, t)
        return out

    def shown(self, X: np.ndarray, t: np.ndarray, P: np.ndarray) -> np.ndarray:
        """``P_f p(t_f) x``: the 3 display rows moved through the path (3 q k + 3 q^2 a frame),
        then applied to the points; the n-dimensional positions are never formed."""
        t = times(t)
        q = self.path.W.shape[0]
        with np.errstate(over="ignore", invalid="ignore"):  # NaN/Inf are refused by the caller
            rows = np.concatenate([self.path.left(P[:, :, :q], t), P[:, :, q:]], axis=2)
            return seen(rows, X)

    def spread(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        q = self.path.W.shape[0]
        Xc = X - X.mean(0)
        rest = float(np.sum(Xc[:, q:] ** 2)) / len(X)
        return self.path.spread(Xc[:, :q].T @ Xc[:, :q] / len(X), t) + rest

    def apply(self, X: np.ndarray) -> np.ndarray:
        q = self.path.W.shape[0]
        out = np.array(X, dtype=float, copy=True)
        with np.errstate(over="ignore", invalid="ignore"):
            out[:, :q] = X[:, :q] @ self.path.W.T
        return out

    def jacobian(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)
        q = self.path.W.shape[0]
        P = np.broadcast_to(np.eye(self.dim), (t.size, self.dim, self.dim)).copy()
        P[:, :q, :q] = self.path.at(t)
        return np.broadcast_to(P[:, None], (t.size, len(X), self.dim, self.dim))
