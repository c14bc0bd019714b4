"""The flow stage: points follow a vector field, ``x' = v(x)``, from t = 0 to t = 1.

The essay ("Neural Networks, Manifolds, and Topology", last section) proposes layers that
move points along a vector field instead of ``sigma(W x + b)``; neural ODEs (Chen et al.
2018) made them trainable, and augmented neural ODEs (Dupont et al. 2019) showed that
appending zero coordinates lets a flow separate what it cannot separate in place.

A flow layer appends ``augment`` zeros to its input (``n_in`` -> ``dim = n_in + augment``)
and moves every point by the time-1 map of the autonomous field
``v(x) = W_D tanh(... tanh(W_0 x + b_0) ...) + b_D``. Its stage is the ODE solution itself:
the frame at local time t shows ``phi_t(x)``, so the animation *is* the layer. Every
``phi_t`` is a diffeomorphism isotopic to the identity (``injective`` is always True): a
flow in R^3 cannot unlink two linked tori, a flow in R^4 can.

Everything about the kind lives here:

* :class:`FlowConfig`: the architecture and solver settings (part of ``NetworkConfig``).
* :class:`FlowLayer`: the trained field as numpy arrays, a block of a network's hidden list.
* :class:`FlowStage`: the animated stage (``positions``, ``jacobian``), numpy only.
* :func:`flow_block`: the ``torch.nn.Module`` that trains (torchdiffeq's dopri5). Torch is
  imported only when it is called; drawing a loaded flow never imports torch.

The numpy solver is Dormand-Prince 5(4) (dopri5, the method torchdiffeq trains with), with
the usual step-size control, on all points at once. Two choices make the stage exact in
the sense the other stages are:

* the steps run from 0 to 1 whatever times are asked for, and times inside a step are read
  from the method's dense output, so asking for times in one call or one by one gives the
  same numbers, and t = 1 is always the end state that :meth:`FlowStage.apply` returns;
* the error is controlled on the points alone (max norm: every vertex meets the
  tolerance, not just their average) and the Jacobian rides along on the same steps (the
  variational equation ``J' = Dv(x) J`` through the same Runge-Kutta stages), so
  :meth:`FlowStage.jacobian` is the derivative of the map :meth:`FlowStage.positions`
  computes with its steps held fixed (the steps themselves move with the points only at the
  level of the tolerance).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from layerlapse.errors import LayerlapseError
from layerlapse.networks.stages.base import Stage, times

if TYPE_CHECKING:
    from torch import nn

#: the state_dict prefix of a network's flow block (``flow.field.0.weight``, ...)
PREFIX = "flow."

Params = tuple[tuple[np.ndarray, np.ndarray], ...]


class FlowConfig(BaseModel):
    """A flow layer: ``augment`` zeros appended, then the time-1 map of a tanh MLP field.

    Tolerances. ``rtol=1e-5``, ``atol=1e-6`` keep every point within about 1e-5 of the
    exact flow for data of unit size: far below a pixel of any frame, and close enough
    that the solver used for training (torchdiffeq, RMS error norm) and the one used for
    drawing (numpy, max norm) send the same points to the same side of the boundary. The
    presets' trained fields take 25 to 60 steps over all of a scene's vertices at these
    settings (torchdiffeq's RMS norm takes 15 to 25 on a batch); dopri5's steps grow as
    ``tol^(-1/5)``, so each tenfold tightening costs about 1.6x the steps, in every training
    step too. ``max_steps`` bounds both solvers so that a stiff field fails with a message
    instead of hanging.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    augment: int = Field(0, ge=0, le=3, description="zeros appended: the flow runs in R^(input + augment)")
    width: int = Field(32, ge=4, le=256, description="hidden width of the vector field's MLP")
    depth: int = Field(2, ge=1, le=4, description="hidden tanh layers of the vector field's MLP")
    rtol: float = Field(1e-5, ge=1e-12, le=1e-2, description="relative tolerance of the ODE solver")
    atol: float = Field(1e-6, ge=1e-12, le=1e-2, description="absolute tolerance of the ODE solver")
    max_steps: int = Field(1000, ge=10, le=100_000, description="the solver gives up after this many steps")

    def dim(self, n_in: int) -> int:
        """The width the flow runs in: ``n_in + augment``."""
        return n_in + self.augment

    def sizes(self, n_in: int) -> tuple[int, ...]:
        """Widths through the field's MLP: ``(dim, width, ..., width, dim)``."""
        dim = self.dim(n_in)
        return (dim, *(self.width,) * self.depth, dim)

    def parameter_shapes(self, n_in: int, prefix: str = PREFIX) -> dict[str, tuple[int, ...]]:
        """The flow block's ``state_dict`` names and shapes, in its order.

        Parameters
        ----------
        n_in
            The width of the flow's input (before the zeros are appended).
        prefix
            Prepended to every name (the network's attribute holding the block).

        Returns
        -------
        dict
            ``{"flow.field.0.weight": (width, dim), "flow.field.0.bias": (width,), ...}``.
        """
        sizes = self.sizes(n_in)
        shapes: dict[str, tuple[int, ...]] = {}
        for k, (a, b) in enumerate(itertools.pairwise(sizes)):
            shapes[f"{prefix}field.{k}.weight"] = (b, a)
            shapes[f"{prefix}field.{k}.bias"] = (b,)
        return shapes

    def describe(self, n_in: int) -> str:
        """``flow(4)``: the word for a network's description."""
        return f"flow({self.dim(n_in)})"


# --- the vector field and the solver (numpy) -------------------------------------------


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


# --- the layer and its stage ---------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FlowLayer:
    """A trained flow layer as float64 numpy arrays: a block of a network's hidden list.

    ``params``: the field's ``((W_0, b_0), ..., (W_D, b_D))``; ``n_in``: its input width;
    ``config``: augmentation and solver settings. ``dim = n_in + augment``.
    """

    params: Params = field(repr=False)
    n_in: int
    config: FlowConfig = field(default_factory=FlowConfig)
    _last: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        params = tuple((np.asarray(W, dtype=float), np.asarray(b, dtype=float)) for W, b in self.params)
        shapes = list(self.config.parameter_shapes(self.n_in, prefix="").values())
        if [s for W, b in params for s in (W.shape, b.shape)] != shapes:
            raise LayerlapseError(f"flow: the field's weights do not match its config ({self.config})")
        if not all(np.isfinite(a).all() for pair in params for a in pair):
            raise LayerlapseError("network: the flow's field has NaN or Inf weights")
        object.__setattr__(self, "params", params)

    @property
    def dim(self) -> int:
        """The width the flow runs in (and its output width)."""
        return self.config.dim(self.n_in)

    @classmethod
    def from_arrays(cls, config: FlowConfig, n_in: int, arrays: Mapping[str, Any], prefix: str = PREFIX) -> FlowLayer:
        """From a ``state_dict``-like mapping (numpy arrays or tensors) of a network.

        Parameters
        ----------
        config
            The flow's config.
        n_in
            The width of the flow's input.
        arrays
            Holds ``prefix + "field.k.weight"`` and ``... .bias`` for every linear map.
        prefix
            The names' prefix (``"flow."`` in a network, ``""`` for a bare block).

        Returns
        -------
        FlowLayer
        """
        names = list(config.parameter_shapes(n_in, prefix))
        values = [_numpy(arrays[name]) for name in names]
        return cls(tuple(zip(values[0::2], values[1::2])), n_in, config)

    def arrays(self, prefix: str = PREFIX) -> dict[str, np.ndarray]:
        """The parameters by ``state_dict`` name; the inverse of :meth:`from_arrays`."""
        names = list(self.config.parameter_shapes(self.n_in, prefix))
        return dict(zip(names, (a for pair in self.params for a in pair)))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The flow at t = 1 of the zero-padded points; (V, n_in) -> (V, dim)."""
        X = np.asarray(X, dtype=float)
        Y = np.hstack([X, np.zeros((len(X), self.config.augment))])
        return self.flow(Y, np.ones(1))[0][0]

    def flow(self, Y: np.ndarray, t: np.ndarray, jacobian: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """``phi_t`` of points Y (V, dim) at any local times t (F,), in any order, repeats allowed.

        Parameters
        ----------
        Y
            Points (V, dim), already in the flow's space (zeros appended).
        t
            Local times (F,) in [0, 1].
        jacobian
            Also return ``d phi_t / d Y`` (:func:`solve_jacobian`).

        Returns
        -------
        tuple
            Positions (F, V, dim) and, with ``jacobian``, their derivatives (F, V, dim, dim).
        """
        t = times(t)
        if t.size and not (np.isfinite(t).all() and t.min() >= 0.0 and t.max() <= 1.0):
            raise LayerlapseError(f"flow: local times must lie in [0, 1] (got {t.min():g} to {t.max():g})")
        if not jacobian:
            return self.trajectory(Y).at(t), None
        c = self.config
        Y = _finite(Y)
        return self.trajectory(Y).at(t), solve_jacobian(self.params, Y, t, rtol=c.rtol, atol=c.atol,
                                                          max_steps=c.max_steps)

    def trajectory(self, Y: np.ndarray) -> Trajectory:
        """The solved flow of points Y (V, dim) over [0, 1] (:func:`solve`).

        The last one solved is kept: the frames of a stage come in batches, each asking for
        the same points at other times, and one solve serves them all.
        """
        Y = _finite(Y)
        key = (Y.shape, hashlib.blake2b(Y.tobytes(), digest_size=16).digest())
        found = self._last.get(key)
        if found is None:
            c = self.config
            found = solve(self.params, Y, rtol=c.rtol, atol=c.atol, max_steps=c.max_steps)
            self._last.clear()
            self._last[key] = found
        return found

    def stages(self, index: int, path: object = None, dim: int | None = None) -> list[Stage]:
        """The one animated stage of this layer (``index`` 0-based) in ``R^dim``.

        Parameters
        ----------
        index
            The layer's index in the network (0-based).
        path
            Unused (a flow has no linear path); accepted for the ``Layer.stages`` signature.
        dim
            The ambient dimension (default: the flow's own).

        Returns
        -------
        list
            ``[FlowStage(...)]``.
        """
        return [FlowStage(index, self.n_in, self.dim, self.dim if dim is None else dim, self)]

    def notes(self, index: int) -> tuple[str, ...]:
        """What the plan reports about this layer (``index`` 0-based)."""
        if not self.config.augment:
            return ()
        zeros = "zero" if self.config.augment == 1 else "zeros"
        return (f"layer {index + 1}: a flow in R^{self.dim} ({self.config.augment} {zeros} appended to the input)",)

    def export(self, number: int) -> dict[str, np.ndarray]:
        """Arrays for a trajectory file: ``flow<k>.field.<j>.weight`` ... and ``activation<k>``."""
        return {**self.arrays(f"flow{number}."), f"activation{number}": np.array("flow")}


@dataclass(frozen=True)
class FlowStage(Stage):
    """``x -> phi_t(x)`` on the first ``n_out`` coordinates (the flow of ``flow``'s field);
    ``n_in`` is the width before the zeros were appended."""

    kind: ClassVar[str] = "flow"
    camera_zooms: ClassVar[bool] = True

    layer: int
    n_in: int
    n_out: int
    dim: int
    flow: FlowLayer = field(repr=False)

    def label(self, n_layers: int) -> str:
        where = f" in R^{self.n_out}" if self.n_out > self.n_in else ""
        return f"{super().label(n_layers)} along a vector field{where}"

    def positions(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)
        m = self.n_out
        out = np.broadcast_to(X, (t.size,) + X.shape).copy()
        out[..., :m] = self.flow.flow(X[:, :m], t)[0]
        return out

    def jacobian(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)
        m = self.n_out
        J = np.broadcast_to(np.eye(self.dim), (t.size, len(X), self.dim, self.dim)).copy()
        J[..., :m, :m] = self.flow.flow(X[:, :m], t, jacobian=True)[1]
        return J


# --- torch ---------------------------------------------------------------------------


def _finite(Y: np.ndarray) -> np.ndarray:
    Y = np.ascontiguousarray(Y, dtype=float)
    if not np.isfinite(Y).all():
        raise LayerlapseError("flow: points with NaN or Inf coordinates cannot be flowed")
    return Y


def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # a torch tensor
        a = a.detach().cpu().double().numpy()
    return np.array(a, dtype=float)


def flow_block(config: FlowConfig, n_in: int) -> nn.Module:
    """The trainable flow: a ``torch.nn.Module`` (imports torch and torchdiffeq).

    Parameters
    ----------
    config
        Augmentation, field and solver settings.
    n_in
        The width of its input.

    Returns
    -------
    torch.nn.Module
        ``FlowBlock``: (N, n_in) -> (N, n_in + augment), the time-1 map of its field
        (``field.k`` the linear maps), trained by backpropagating through dopri5.
    """
    return _flow_block_class()(config, n_in)


@functools.cache
def _flow_block_class():
    """Define the torch module class (importing torch) on first use."""
    import torch
    import torchdiffeq
    from torch import nn

    class FlowBlock(nn.Module):
        """Append ``augment`` zeros, then flow along ``v`` from t = 0 to 1 (torchdiffeq, dopri5)."""

        def __init__(self, config: FlowConfig, n_in: int) -> None:
            super().__init__()
            self.config, self.n_in = config, n_in
            sizes = config.sizes(n_in)
            self.field = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))

        def velocity(self, t, x):
            """The autonomous field v(x) (``t`` is ignored)."""
            for lin in self.field[:-1]:
                x = torch.tanh(lin(x))
            return self.field[-1](x)

        def forward(self, x):
            """(N, n_in) -> (N, n_in + augment)."""
            c = self.config
            if c.augment:
                x = torch.cat([x, x.new_zeros(x.shape[0], c.augment)], dim=1)
            span = torch.tensor([0.0, 1.0], dtype=x.dtype, device=x.device)
            try:
                return torchdiffeq.odeint(self.velocity, x, span, method="dopri5", rtol=c.rtol, atol=c.atol,
                                          options={"max_num_steps": c.max_steps})[-1]
            except AssertionError as exc:  # torchdiffeq reports max_num_steps and dt underflow so
                raise LayerlapseError(f"flow: the ODE solver failed ({exc}); lower training.lr "
                                      "or raise flow.max_steps") from None

        def layer(self) -> FlowLayer:
            """The current field as a numpy :class:`FlowLayer`."""
            return FlowLayer.from_arrays(self.config, self.n_in, self.state_dict(), prefix="")

    FlowBlock.__module__ = __name__
    FlowBlock.__qualname__ = "FlowBlock"
    return FlowBlock


def __getattr__(name: str):
    if name == "FlowBlock":
        return _flow_block_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
