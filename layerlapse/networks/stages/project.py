"""The project stage of a narrowing layer (``n_in > n_out``): after the linear stage (in
``R^n_in``, with W completed by rows spanning its null space), the last ``n_in - n_out``
coordinates shrink to 0: ``x -> (x_1..x_m, (1 - t) x_(m+1)..x_n)``. Not one-to-one at t = 1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from layerlapse.networks.stages.base import Stage, identity_jacobian, times


@dataclass(frozen=True)
class ProjectStage(Stage):
    """Coordinates ``n_out .. n_in - 1`` scaled by ``1 - t``."""

    kind: ClassVar[str] = "project"
    blend: ClassVar[bool] = True
    injective: ClassVar[bool] = False

    layer: int
    n_in: int
    n_out: int
    dim: int

    @property
    def words(self) -> str:
        dropped = f"coordinate {self.n_in}" if self.n_in == self.n_out + 1 else f"coordinates {self.n_out + 1}-{self.n_in}"
        return f"drop {dropped}: not one-to-one"

    @property
    def formula(self) -> str:
        return f"x_k -> (1 - t) x_k for k > {self.n_out}"

    def positions(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)
        out = np.broadcast_to(X, (t.size,) + X.shape).copy()
        out[..., self.n_out : self.n_in] *= (1.0 - t)[:, None, None]
        return out

    def jacobian(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)
        J = identity_jacobian(t.size, len(X), self.dim)
        idx = np.arange(self.n_out, self.n_in)
        J[..., idx, idx] = (1.0 - t)[:, None, None]
        return J
