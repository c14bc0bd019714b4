"""The trained flow layer (numpy arrays) and its animated stage, ``x -> phi_t(x)``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.stages.base import Stage, times
from layerlapse.networks.stages.flow.config import PREFIX, FlowConfig
from layerlapse.networks.stages.flow.ode import Params, Trajectory, solve, solve_jacobian


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

    @property
    def words(self) -> str:
        where = f" in R^{self.n_out}" if self.n_out > self.n_in else ""
        return f"flow along a vector field{where}"

    @property
    def formula(self) -> str:
        # no "phi_t": VTK's face has no subscript, and x(t) needs no name to be read
        return "x -> x(t), where x' = v(x)"

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


def _finite(Y: np.ndarray) -> np.ndarray:
    Y = np.ascontiguousarray(Y, dtype=float)
    if not np.isfinite(Y).all():
        raise LayerlapseError("flow: points with NaN or Inf coordinates cannot be flowed")
    return Y


def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # a torch tensor
        a = a.detach().cpu().double().numpy()
    return np.array(a, dtype=float)

