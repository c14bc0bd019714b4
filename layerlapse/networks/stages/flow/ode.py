"""The flow's vector field and the numpy ODE solver the stage draws with.

The numpy solver is Dormand-Prince 5(4) (dopri5, the method torchdiffeq trains with), with
the usual step-size control, on all points at once. Two choices make the stage exact in
the sense the other stages are:

* the steps run from 0 to 1 whatever times are asked for, and times inside a step are read
  from the method's dense output, so asking for times in one call or one by one gives the
  same numbers, and t = 1 is always the end state that :meth:`~.layer.FlowStage.apply` returns;
* the error is controlled on the points alone (max norm: every vertex meets the
  tolerance, not just their average) and the Jacobian rides along on the same steps (the
  variational equation ``J' = Dv(x) J`` through the same Runge-Kutta stages), so
  :meth:`~.layer.FlowStage.jacobian` is the derivative of the map :meth:`~.layer.FlowStage.positions`
  computes with its steps held fixed (the steps themselves move with the points only at the
  level of the tolerance).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.stages.base import times

#: a field's ``((W_0, b_0), ..., (W_D, b_D))``, tanh between the linear maps
Params = tuple[tuple[np.ndarray, np.ndarray], ...]


def velocity(params: Params, X: np.ndarray, T: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The field ``v`` at points X and, given tangents T, its derivative applied to them.

    Parameters
    ----------
    params
        ``((W_0, b_0), ..., (W_D, b_D))``, tanh between the linear maps.
    X
        Points (V, d).
    T
        Tangent matrices (V, d, k), or None.

    Returns
    -------
    tuple
        ``v(X)`` (V, d) and ``Dv(X) T`` (V, d, k) (None when T is None). The values of
        ``v`` do not depend on whether T is given.
    """
    H, dH = X, T
    for W, b in params[:-1]:
        H = np.tanh(H @ W.T + b)
        if dH is not None:
            dH = (1.0 - H * H)[..., None] * (W @ dH)
    W, b = params[-1]
    return H @ W.T + b, None if dH is None else W @ dH


# Dormand-Prince 5(4): nodes, coefficients, 5th-order weights, error weights (5th minus
# 4th order, over the 7 stages including the first-same-as-last one) and the quartic dense
# output of Shampine (1986), as in scipy.integrate.RK45.
_C = np.array([0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1])
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
)
_B = (35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
_E = (-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40)
_P = np.array([
    [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0, 0, 0, 0],
    [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
    [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
])
_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 10.0


def _combine(y: np.ndarray, h: float, weights, K: list[np.ndarray]) -> np.ndarray:
    out = y.copy()
    for w, k in zip(weights, K):
        if w:
            out += (h * w) * k
    return out


def _error_ratio(err: np.ndarray, y0: np.ndarray, y1: np.ndarray, rtol: float, atol: float) -> float:
    """max |err| / (atol + rtol max(|y0|, |y1|)); inf when anything is not finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = float(np.max(np.abs(err) / (atol + rtol * np.maximum(np.abs(y0), np.abs(y1))), initial=0.0))
    return ratio if np.isfinite(ratio) else np.inf


def _first_step(params: Params, x: np.ndarray, f0: np.ndarray, rtol: float, atol: float) -> float:
    """Hairer, Norsett and Wanner's starting step (II.4), in the max norm."""
    scale = atol + rtol * np.abs(x)
    d0, d1 = np.abs(x / scale).max(initial=0.0), np.abs(f0 / scale).max(initial=0.0)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    f1, _ = velocity(params, x + h0 * f0)
    d2 = np.abs((f1 - f0) / scale).max(initial=0.0) / h0
    h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** (1 / 5)
    return float(min(100 * h0, h1, 1.0))


def _dense(x: np.ndarray, q: np.ndarray, h: float, theta: float) -> np.ndarray:
    """Inside a step of length h from state x: ``x + h sum_j q[j] theta^(j + 1)``."""
    powers = h * theta ** np.arange(1, 5)
    return x + np.tensordot(powers, q, axes=1)


def _steps(params: Params, x: np.ndarray, J: np.ndarray | None, rtol: float, atol: float,
           max_steps: int) -> Iterator[tuple]:
    """The accepted steps of dopri5 from t = 0 to 1: ``(start, h, x, q, J, qJ, x_end, J_end)``
    each, q the dense-output coefficients (4, ...) of x (and qJ those of J, when J is given).

    The step size is controlled on x alone (max norm), so J takes the same steps as x
    would without it.
    """
    fx, fJ = velocity(params, x, J)
    h = _first_step(params, x, fx, rtol, atol)
    now, count, rejected = 0.0, 0, False
    while now < 1.0:
        if count >= max_steps:
            raise LayerlapseError(
                f"flow: the ODE solver needed more than {max_steps} steps (reached t = {now:.3g} of 1); "
                "the field is too stiff to draw (raise flow.max_steps or flow.rtol)"
            )
        count += 1
        last = h >= 1.0 - now
        if last:
            h = 1.0 - now
        Kx, KJ = [fx], [] if fJ is None else [fJ]
        for s in range(1, 6):
            kx, kJ = velocity(params, _combine(x, h, _A[s], Kx), None if J is None else _combine(J, h, _A[s], KJ))
            Kx.append(kx)
            KJ += [] if kJ is None else [kJ]
        x_new = _combine(x, h, _B, Kx)
        J_new = None if J is None else _combine(J, h, _B, KJ)
        fx_new, fJ_new = velocity(params, x_new, J_new)
        Kx.append(fx_new)
        KJ += [] if fJ_new is None else [fJ_new]
        ratio = _error_ratio(_combine(np.zeros_like(x), h, _E, Kx), x, x_new, rtol, atol)
        if ratio > 1.0:
            h *= max(_MIN_FACTOR, _SAFETY * ratio ** -0.2)
            rejected = True
            if now + h <= now:
                raise LayerlapseError(f"flow: the ODE solver's step underflowed at t = {now:.3g}; "
                                      "the field sends points to NaN or Inf")
            continue
        q = np.tensordot(_P.T, np.stack(Kx), axes=1)
        qJ = None if J is None else np.tensordot(_P.T, np.stack(KJ), axes=1)
        yield now, h, x, q, J, qJ, x_new, J_new
        x, J, fx, fJ = x_new, J_new, fx_new, fJ_new
        now = 1.0 if last else now + h
        factor = _MAX_FACTOR if ratio == 0.0 else min(_MAX_FACTOR, _SAFETY * ratio ** -0.2)
        h *= min(factor, 1.0) if rejected else factor
        rejected = False


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A solved flow: its accepted steps and their dense output, readable at any t in [0, 1].

    ``starts``, ``lengths``: (S,) each step's start time and length; ``x``: the state at
    each step's start and ``q`` its dense-output coefficients (see :func:`_dense`);
    ``end``: the state at t = 1.
    """

    starts: np.ndarray
    lengths: np.ndarray
    x: list[np.ndarray]
    q: list[np.ndarray]
    end: np.ndarray

    def at(self, t: np.ndarray) -> np.ndarray:
        """Positions (F, V, d) at times t (F,) in [0, 1], any order; each time on its own,
        so that asking in one call or one at a time gives the same numbers."""
        t = times(t)
        out = np.zeros((t.size, *self.end.shape))
        step = np.clip(np.searchsorted(self.starts, t, side="right") - 1, 0, None)
        for f, (tf, s) in enumerate(zip(t, step)):
            if tf >= 1.0 or not self.x:
                out[f] = self.end
            else:
                out[f] = _dense(self.x[s], self.q[s], self.lengths[s], max(tf - self.starts[s], 0.0) / self.lengths[s])
        return out


def solve(params: Params, X: np.ndarray, *, rtol: float, atol: float, max_steps: int) -> Trajectory:
    """The flow of ``x' = v(x)`` from X over [0, 1] (dopri5, see the module docstring).

    Parameters
    ----------
    params
        The field's ``((W, b), ...)``.
    X
        Start points (V, d).
    rtol, atol, max_steps
        The solver's tolerances and step bound (accepted and rejected steps).

    Returns
    -------
    Trajectory
        Readable at any times with :meth:`Trajectory.at`.

    Raises
    ------
    LayerlapseError
        When the solver needs more than ``max_steps`` steps or its step underflows.
    """
    x = np.array(X, dtype=float)
    end = x
    starts, lengths, xs, qs = [], [], [], []
    if len(x):
        for start, h, x0, q, _, _, end, _ in _steps(params, x, None, rtol, atol, max_steps):  # noqa: B007 (the last one is kept)
            starts.append(start)
            lengths.append(h)
            xs.append(x0)
            qs.append(q)
    return Trajectory(np.array(starts), np.array(lengths), xs, qs, end)


def solve_jacobian(params: Params, X: np.ndarray, t: np.ndarray, *, rtol: float, atol: float,
                   max_steps: int) -> np.ndarray:
    """``d phi_t / d x`` at X (V, d) for times t (F,) in [0, 1]: the variational equation
    ``J' = Dv(x) J``, ``J(0) = I``, carried along the steps :func:`solve` takes.

    Returns
    -------
    numpy.ndarray
        (F, V, d, d), ``J[f, v, i, j] = d phi_t(x_v)_i / d x_j``. Only the requested times
        are kept (not every step's state, which is d times larger than the positions').
    """
    t = times(t)
    V, d = X.shape
    eye = np.broadcast_to(np.eye(d), (V, d, d)).copy()
    end = eye
    out = np.zeros((t.size, V, d, d))
    out[t <= 0.0] = eye
    if V:
        for start, h, _, _, J0, qJ, _, end in _steps(params, np.array(X, dtype=float), eye, rtol, atol, max_steps):  # noqa: B007
            inside = (t > start) & (t < start + h) & (t < 1.0)
            for f in np.flatnonzero(inside):
                out[f] = _dense(J0, qJ, h, (t[f] - start) / h)
    out[t >= 1.0] = end
    return out

