"""A trained MLP as plain arrays, oriented so every linear stage can be animated.

``det W < 0``: no continuous path in invertible matrices joins ``I`` to ``W``. As the
essay says, swapping two hidden neurons (rows i, j of ``W`` and entries i, j of ``b``,
columns i, j of the next layer's ``W``) leaves the network's function unchanged and
flips the sign of ``det W``. :func:`orient_layers` does this once, before animating,
and reports which layers were flipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.stages import (
    HOMEOMORPHIC_ACTIVATIONS,
    SINGULAR_RTOL,
    LinearPath,
    activate,
)


@dataclass(frozen=True)
class Layer:
    """One layer ``x -> activation(W x + b)``; W (m, n), b (m,). ``activation=None``: affine."""

    W: np.ndarray
    b: np.ndarray
    activation: str | None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """(V, n) -> (V, m)."""
        Z = X @ self.W.T + self.b
        return Z if self.activation is None else activate(self.activation, Z)


@dataclass(frozen=True)
class LayerPlan:
    """Hidden layers ready to animate, the classifier head, and what was done to them.

    ``flips``: (layer index, i, j) for every neuron swap made; ``singular``: indices of
    layers whose W is singular or nearly so (animated on the straight path);
    ``notes``: one human-readable line per flip, singular layer or non-homeomorphic
    activation.
    """

    hidden: tuple[Layer, ...]
    head: Layer
    paths: tuple[LinearPath, ...]
    flips: tuple[tuple[int, int, int], ...] = ()
    singular: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def hidden_forward(self, X: np.ndarray) -> np.ndarray:
        """The last hidden representation; (V, n) -> (V, n)."""
        for layer in self.hidden:
            X = layer(X)
        return X

    def logits(self, X: np.ndarray) -> np.ndarray:
        """The network's output; (V, n) -> (V, classes)."""
        return self.head(self.hidden_forward(X))


def swap_neurons(layer: Layer, following: Layer, i: int, j: int) -> tuple[Layer, Layer]:
    """Swap hidden neurons i and j of ``layer``; the pair computes the same function."""
    W, b, W2 = layer.W.copy(), layer.b.copy(), following.W.copy()
    W[[i, j]] = W[[j, i]]
    b[[i, j]] = b[[j, i]]
    W2[:, [i, j]] = W2[:, [j, i]]
    return replace(layer, W=W, b=b), replace(following, W=W2)


def orient_layers(
    hidden: list[Layer] | tuple[Layer, ...], head: Layer, *, linear_path: str = "polar"
) -> LayerPlan:
    """Make every hidden W animatable from the identity; see the module docstring.

    Hidden layers must be square (widths equal to the input dimension): animating a
    width change is not supported yet and raises a :class:`LayerlapseError`.
    """
    layers = list(hidden)
    following = layers[1:] + [head]
    flips, singular, notes, paths = [], [], [], []
    for k, layer in enumerate(layers):
        m, n = layer.W.shape
        if m != n:
            raise LayerlapseError(
                f"network.hidden: layer {k + 1} changes width {n} -> {m}; animating width "
                f"changes is not supported yet: use hidden widths equal to the input "
                f"dimension ({layers[0].W.shape[1]})"
            )
        if not (np.isfinite(layer.W).all() and np.isfinite(layer.b).all()):
            raise LayerlapseError(f"network: layer {k + 1} has NaN or Inf weights")
        s = np.linalg.svd(layer.W, compute_uv=False)
        method = linear_path
        if s[-1] <= SINGULAR_RTOL * max(s[0], 1e-300):
            singular.append(k)
            method = "straight"
            notes.append(
                f"layer {k + 1}: W is singular (sigma_min/sigma_max = {s[-1] / s[0]:.1e}); "
                "it is not a homeomorphism and is animated on the straight path"
            )
        elif np.linalg.slogdet(layer.W)[0] < 0 and linear_path == "polar":
            if n < 2:
                raise LayerlapseError(
                    f"network: layer {k + 1} has det W < 0 with a single neuron; no neuron "
                    "swap can fix the orientation (use linear_path='straight')"
                )
            layer, nxt = swap_neurons(layer, following[k], 0, 1)
            layers[k] = layer
            following[k] = nxt
            if k + 1 < len(layers):
                layers[k + 1] = nxt
            else:
                head = nxt
            flips.append((k, 0, 1))
            notes.append(f"layer {k + 1}: det W < 0, swapped neurons 1 and 2 (same function)")
        path = LinearPath(layer.W, method)
        if method == "straight" and k not in singular and path.crosses_singular:
            notes.append(f"layer {k + 1}: the straight path passes through a singular matrix")
        paths.append(path)
        if layer.activation not in HOMEOMORPHIC_ACTIVATIONS:
            notes.append(
                f"layer {k + 1}: {layer.activation} is not a homeomorphism (it folds space)"
            )
    return LayerPlan(
        hidden=tuple(layers),
        head=head,
        paths=tuple(paths),
        flips=tuple(flips),
        singular=tuple(singular),
        notes=tuple(notes),
    )
