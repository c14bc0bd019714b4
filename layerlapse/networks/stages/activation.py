"""The activation stage ``x -> (1 - t) x + t sigma(x)``, and the element-wise activations.

An activation is named by a short spec: ``tanh``, ``sigmoid``, ``softplus``, ``relu``,
``leaky_relu``, ``elu``, ``silu``, ``gelu``, ``gelu_tanh`` (GELU's tanh approximation) or
``identity``, with an optional parameter in brackets: ``leaky_relu(0.2)`` (negative
slope, default 0.01), ``elu(0.5)`` (alpha, default 1), ``softplus(2)`` (beta, default 1).

For an increasing sigma the stage is a homeomorphism for every t (its derivative
``(1 - t) + t sigma'(x)`` stays positive): tanh, sigmoid, softplus, leaky_relu with a
positive slope, elu, identity. ReLU, SiLU and GELU are not: they fold part of the line
onto another part (``Activation.injective`` is False and the movie says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.stages.base import Stage, box_text, identity_jacobian, times

#: name -> (default parameter or None, the parameter's meaning)
ACTIVATION_PARAMS: dict[str, tuple[float | None, str]] = {
    "tanh": (None, ""),
    "sigmoid": (None, ""),
    "softplus": (1.0, "beta"),
    "relu": (None, ""),
    "leaky_relu": (0.01, "negative slope"),
    "elu": (1.0, "alpha"),
    "silu": (None, ""),
    "gelu": (None, ""),
    "gelu_tanh": (None, ""),
    "identity": (None, ""),
}
def _special():
    """scipy.special, imported at the first sigmoid, softplus, SiLU or GELU: 0.25 s that a
    tanh network's still does not wait for."""
    from scipy import special

    return special


ACTIVATIONS = tuple(ACTIVATION_PARAMS)
#: the box each bounded activation squashes everything into
BOXES: dict[str, tuple[float, float]] = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}
_SPEC = re.compile(r"\s*([a-z_]+)\s*(?:\(\s*([-+0-9.eE]+)\s*\))?\s*")
_SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))


@dataclass(frozen=True)
class Activation:
    """An element-wise activation: its name and parameter (see the module docstring)."""

    name: str
    param: float | None = None

    @classmethod
    def parse(cls, spec: str, field: str = "activation") -> Activation:
        """``"leaky_relu(0.2)"`` -> ``Activation("leaky_relu", 0.2)``; errors name ``field``."""
        m = _SPEC.fullmatch(str(spec).lower())
        allowed = ", ".join(ACTIVATIONS)
        if not m or m.group(1) not in ACTIVATION_PARAMS:
            raise LayerlapseError(f"{field}: unknown activation {spec!r}; allowed: {allowed} "
                                  "(leaky_relu, elu and softplus take a parameter, e.g. leaky_relu(0.2))")
        name, raw = m.group(1), m.group(2)
        default, meaning = ACTIVATION_PARAMS[name]
        if raw is not None and default is None:
            raise LayerlapseError(f"{field}: {name} takes no parameter (got {spec!r})")
        try:
            param = default if raw is None else float(raw)
        except ValueError:
            raise LayerlapseError(f"{field}: {raw!r} in {spec!r} is not a number") from None
        if param is not None and not np.isfinite(param):
            raise LayerlapseError(f"{field}: the {meaning} of {name} must be finite (got {spec!r})")
        if name in ("softplus", "elu") and param is not None and param <= 0:
            raise LayerlapseError(f"{field}: the {meaning} of {name} must be > 0 (got {spec!r})")
        return cls(name, param)

    @property
    def spec(self) -> str:
        """The canonical spec: the name alone when the parameter is the default."""
        default = ACTIVATION_PARAMS[self.name][0]
        return self.name if self.param is None or self.param == default else f"{self.name}({self.param:g})"

    @property
    def injective(self) -> bool:
        """Whether ``(1 - t) x + t sigma(x)`` is one-to-one for every t in [0, 1]."""
        if self.name == "leaky_relu":
            return self.param is not None and self.param > 0
        return self.name not in ("relu", "silu", "gelu", "gelu_tanh")

    @property
    def box(self) -> tuple[float, float] | None:
        return BOXES.get(self.name)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """sigma(x), element-wise."""
        x = np.asarray(x, dtype=float)
        name, a = self.name, self.param
        if name == "tanh":
            return np.tanh(x)
        if name == "sigmoid":
            return _special().expit(x)
        if name == "softplus":
            assert a is not None
            return np.logaddexp(0.0, a * x) / a
        if name == "relu":
            return np.maximum(x, 0.0)
        if name == "leaky_relu":
            return np.where(x > 0, x, (a or 0.0) * x)
        if name == "elu":
            return np.where(x > 0, x, (a or 1.0) * np.expm1(np.minimum(x, 0.0)))
        if name == "silu":
            return x * _special().expit(x)
        if name == "gelu":
            return x * _special().ndtr(x)
        if name == "gelu_tanh":
            return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
        return x.copy()  # identity

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """sigma'(x), element-wise (the right derivative at kinks)."""
        x = np.asarray(x, dtype=float)
        name, a = self.name, self.param
        if name == "tanh":
            return 1.0 - np.tanh(x) ** 2
        if name == "sigmoid":
            s = _special().expit(x)
            return s * (1.0 - s)
        if name == "softplus":
            return _special().expit((a or 1.0) * x)
        if name == "relu":
            return (x >= 0).astype(float)
        if name == "leaky_relu":
            return np.where(x >= 0, 1.0, a or 0.0)
        if name == "elu":
            return np.where(x >= 0, 1.0, (a or 1.0) * np.exp(np.minimum(x, 0.0)))
        if name == "silu":
            s = _special().expit(x)
            return s + x * s * (1.0 - s)
        if name == "gelu":
            return _special().ndtr(x) + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
        if name == "gelu_tanh":
            u = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
            th = np.tanh(u)
            return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th**2) * _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x**2)
        return np.ones_like(x)


def activate(spec: str, x: np.ndarray) -> np.ndarray:
    """Apply the activation named by ``spec`` element-wise; (..., n) -> (..., n)."""
    return Activation.parse(spec)(x)


@dataclass(frozen=True)
class ActivationStage(Stage):
    """``x -> (1 - t) x + t sigma(x)`` on the layer's ``n_out`` coordinates."""

    kind: ClassVar[str] = "activation"
    blend: ClassVar[bool] = True

    layer: int
    n_in: int
    n_out: int
    dim: int
    activation: Activation

    @property
    def injective(self) -> bool:  # type: ignore[override]
        return self.activation.injective

    @property
    def tag(self) -> str:
        return self.activation.spec

    @property
    def box(self) -> tuple[float, float] | None:
        return self.activation.box

    def label(self, n_layers: int) -> str:
        base = super().label(n_layers)
        if self.box is not None:
            lo, hi = self.box
            return f"{base} squashes into {box_text(lo, hi, self.n_out)}"
        return base if self.injective else f"{base} (folds space: not one-to-one)"

    @property
    def words(self) -> str:
        if self.box is not None:
            return f"squash into {box_text(*self.box, self.n_out)}"
        return "bend each coordinate" if self.injective else "fold space: not one-to-one"

    @property
    def formula(self) -> str:
        return f"x -> (1 - t) x + t {self.activation.spec}(x)"

    def positions(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)[:, None, None]
        m = self.n_out
        out = np.broadcast_to(X, (t.shape[0],) + X.shape).copy()
        with np.errstate(over="ignore", invalid="ignore"):  # NaN/Inf are refused by the caller
            out[..., :m] += t * (self.activation(X[:, :m]) - X[:, :m])[None]
        return out

    def jacobian(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = times(t)
        J = identity_jacobian(t.size, len(X), self.dim)
        m = self.n_out
        d = (1.0 - t)[:, None, None] + t[:, None, None] * self.activation.derivative(X[:, :m])[None]
        idx = np.arange(m)
        J[..., idx, idx] = d
        return J

