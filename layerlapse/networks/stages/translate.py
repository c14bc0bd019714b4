"""The translate stage ``x -> x + t b``: the layer's bias, added gradually."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from layerlapse.networks.stages.base import Stage, identity_jacobian, times


@dataclass(frozen=True)
class TranslateStage(Stage):
    """``x -> x + t b`` on the layer's ``n_out`` coordinates; b (n_out,)."""

    kind: ClassVar[str] = "translate"
    blend: ClassVar[bool] = True

    layer: int
    n_in: int
    n_out: int
    dim: int
    b: np.ndarray = field(repr=False)

    @property
    def words(self) -> str:
        return "shift by the bias"

    @property
    def formula(self) -> str:
        return "x -> x + t b"

    def positions(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)
        out = np.broadcast_to(X, (t.size,) + X.shape).copy()
        out[..., : self.n_out] += t[:, None, None] * self.b
        return out

    def jacobian(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        return identity_jacobian(times(t).size, len(X), self.dim)
