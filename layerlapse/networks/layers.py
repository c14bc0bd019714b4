"""A trained MLP as plain arrays, oriented so every linear stage can be animated.

``det W < 0``: no continuous path in invertible matrices joins ``I`` to ``W``. As the
essay says, swapping two hidden neurons (rows i, j of ``W`` and entries i, j of ``b``,
columns i, j of the next layer's ``W``) leaves the network's function unchanged and
flips the sign of ``det W``. :func:`orient_layers` does this once, before animating,
and reports which layers were flipped.

Width changes (``W`` of shape m x n, m != n) are animated in ``R^max(m, n)``:

* m > n: points are embedded by appending zeros and ``W`` is completed to the square
  ``[W | C]``, the columns of C an orthonormal basis of the complement of W's columns,
  signed so that the determinant is positive; ``[W | C] (x, 0) = W x``.
* m < n: ``W`` is completed by rows, ``[W ; R]`` with R spanning W's null space, the path
  runs in GL+(n), then a ``project`` stage lets the last n - m coordinates shrink to 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.stages import (
    SINGULAR_RTOL,
    Activation,
    ActivationStage,
    FlowLayer,
    LinearPath,
    LinearStage,
    ProjectStage,
    Stage,
    TranslateStage,
)

if TYPE_CHECKING:
    from layerlapse.networks.knn import KnnHead


@dataclass(frozen=True)
class Layer:
    """One layer ``x -> activation(W x + b)``; W (m, n), b (m,), ``activation`` a spec
    such as ``tanh`` or ``leaky_relu(0.2)`` (:class:`~layerlapse.networks.stages.Activation`);
    ``None`` or ``identity``: affine."""

    W: np.ndarray
    b: np.ndarray
    activation: str | None

    @property
    def act(self) -> Activation | None:
        """The parsed activation; None for an affine layer."""
        if self.activation is None:
            return None
        act = Activation.parse(self.activation)
        return None if act.name == "identity" else act

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """(V, n) -> (V, m)."""
        Z = X @ self.W.T + self.b
        act = self.act
        return Z if act is None else act(Z)

    def stages(self, index: int, path: LinearPath, dim: int) -> list[Stage]:
        """The animated stages of this layer (``index`` 0-based) in ``R^dim``: linear (on
        ``path``), project when it narrows, translate, and the activation unless affine."""
        m, n = self.W.shape
        out: list[Stage] = [LinearStage(index, n, m, dim, path)]
        if m < n:
            out.append(ProjectStage(index, n, m, dim))
        out.append(TranslateStage(index, n, m, dim, np.asarray(self.b, dtype=float)))
        if self.act is not None:
            out.append(ActivationStage(index, n, m, dim, self.act))
        return out


def stage_list(widths: list[int] | tuple[int, ...], activation: str | tuple[str, ...]) -> list[Stage]:
    """The stages of hidden layers with ``widths`` = (input_dim, h1, h2, ...) and their
    activations (one for all, or one per layer), for placeholder weights: what the
    timeline of a network with this architecture looks like before it is trained."""
    acts = (activation,) * (len(widths) - 1) if isinstance(activation, str) else tuple(activation)
    dim = max(widths)
    stages: list[Stage] = []
    for k, (n, m) in enumerate(zip(widths[:-1], widths[1:])):
        layer = Layer(np.eye(m, n), np.zeros(m), acts[k])
        stages += layer.stages(k, LinearPath(np.eye(max(m, n)), "straight"), dim)
    return stages


def complete_square(W: np.ndarray) -> np.ndarray | None:
    """``W`` (m, n) completed to a q x q matrix, q = max(m, n), with det > 0 when possible.

    Returns None when W is rank deficient (no completion is invertible).
    """
    m, n = W.shape
    if m == n:
        return W
    U, s, Vt = np.linalg.svd(W)
    if s[-1] <= SINGULAR_RTOL * max(s[0], 1e-300):
        return None
    if m > n:
        C = U[:, n:].copy()
        M = np.hstack([W, C])
        if np.linalg.slogdet(M)[0] < 0:
            M[:, -1] *= -1
    else:
        R = Vt[m:, :].copy()
        M = np.vstack([W, R])
        if np.linalg.slogdet(M)[0] < 0:
            M[-1] *= -1
    return M


@dataclass(frozen=True)
class LayerPlan:
    """Hidden layers ready to animate, the classifier head, and what was done to them.

    ``squares``: the q x q matrix each linear stage reaches (W itself, or its completion);
    ``flips``: (layer index, i, j) for every neuron swap made; ``singular``: indices of
    layers whose W is singular or nearly so (animated on the straight path);
    ``notes``: one human-readable line per flip, singular layer or non-homeomorphic
    activation. A hidden block without W (a flow,
    :class:`~layerlapse.networks.stages.flow.FlowLayer`) has None for its path and square.
    ``head``: the affine classifier, or a
    :class:`~layerlapse.networks.knn.KnnHead` (a vote of the nearest training samples), or
    None when there is none to draw (a k-NN network without its memory).
    """

    hidden: tuple[Layer | FlowLayer, ...]
    head: Layer | KnnHead | None
    paths: tuple[LinearPath | None, ...]
    squares: tuple[np.ndarray | None, ...] = ()
    flips: tuple[tuple[int, int, int], ...] = ()
    singular: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())
    input_dim: int = 0

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.input_dim, *(_width(layer) for layer in self.hidden))

    @property
    def ambient(self) -> int:
        """The dimension all stages are animated in: the largest width."""
        return max(self.widths)

    def stages(self) -> list[Stage]:
        """Every animated stage, in order (:class:`~layerlapse.networks.stages.Stage` objects)."""
        stages: list[Stage] = []
        for k, (layer, path) in enumerate(zip(self.hidden, self.paths)):
            stages += layer.stages(k, path, self.ambient)  # type: ignore[arg-type]  # None only for a flow
        return stages

    def hidden_forward(self, X: np.ndarray) -> np.ndarray:
        """The last hidden representation; (V, n) -> (V, m_last)."""
        return forward(self.hidden, X)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """The network's output; (V, n) -> (V, classes) (a k-NN head's votes, see
        :meth:`~layerlapse.networks.knn.KnnHead.logits`)."""
        if self.head is None:
            raise LayerlapseError("network: this k-NN network has no memory (training samples) to vote with")
        return self.head(self.hidden_forward(X))


def forward(blocks: Sequence[Layer | FlowLayer], X: np.ndarray) -> np.ndarray:
    """Hidden blocks (layers, flows) applied in order; (V, n) -> (V, m_last)."""
    for block in blocks:
        X = block(X)
    return X


def _width(block: Layer | FlowLayer) -> int:
    """The output width of a hidden block: a Layer's rows, a flow's ``dim``."""
    return block.W.shape[0] if isinstance(block, Layer) else block.dim


def swap_neurons(layer: Layer, following: Layer, i: int, j: int) -> tuple[Layer, Layer]:
    """Swap hidden neurons i and j of ``layer``; the pair computes the same function. A
    following k-NN head gets its memory's coordinates i and j swapped (None stays None)."""
    W, b = layer.W.copy(), layer.b.copy()
    W[[i, j]] = W[[j, i]]
    b[[i, j]] = b[[j, i]]
    if not isinstance(following, Layer):
        return replace(layer, W=W, b=b), None if following is None else following.swapped(i, j)
    W2 = following.W.copy()
    W2[:, [i, j]] = W2[:, [j, i]]
    return replace(layer, W=W, b=b), replace(following, W=W2)


def orient_layers(
    hidden: Sequence[Layer | FlowLayer], head: Layer | KnnHead | None, *, linear_path: str = "polar",
    input_dim: int | None = None,
) -> LayerPlan:
    """Make every hidden W animatable from the identity; see the module docstring."""
    layers = list(hidden)
    following = layers[1:] + [head]
    flips, singular = [], []
    notes: list[str] = []
    paths: list[LinearPath | None] = []  # None for a flow
    squares: list[np.ndarray | None] = []
    for k, layer in enumerate(layers):
        if not isinstance(layer, Layer):  # a flow (FlowLayer): no W, so no path and no neuron to swap
            paths.append(None)
            squares.append(None)
            notes += layer.notes(k)
            continue
        m, n = layer.W.shape
        if not (np.isfinite(layer.W).all() and np.isfinite(layer.b).all()):
            raise LayerlapseError(f"network: layer {k + 1} has NaN or Inf weights")
        M = complete_square(layer.W)
        method = linear_path
        if M is None or np.linalg.svd(M, compute_uv=False)[-1] <= SINGULAR_RTOL * max(np.abs(M).max(), 1e-300):
            singular.append(k)
            method = "straight"
            M = _zero_padded(layer.W)
            notes.append(f"layer {k + 1}: W is singular (rank deficient); it is not a homeomorphism "
                         "and is animated on the straight path")
        elif m == n and np.linalg.slogdet(layer.W)[0] < 0 and linear_path == "polar":
            if n < 2:
                raise LayerlapseError(
                    f"network: layer {k + 1} has det W < 0 with a single neuron; no neuron "
                    "swap can fix the orientation (use linear_path='straight')"
                )
            layer, nxt = swap_neurons(layer, following[k], 0, 1)  # type: ignore[arg-type]  # a flow only comes first
            layers[k] = layer
            following[k] = nxt
            if k + 1 < len(layers):
                layers[k + 1] = nxt
            else:
                head = nxt
            M = layer.W
            flips.append((k, 0, 1))
            notes.append(f"layer {k + 1}: det W < 0, swapped neurons 1 and 2 (same function)")
        elif m != n:
            notes.append(f"layer {k + 1}: width {n} -> {m}, animated in R^{max(m, n)}"
                         + (" with a projection stage" if m < n else ""))
        path = LinearPath(M, method)
        if method == "straight" and k not in singular and path.crosses_singular:
            notes.append(f"layer {k + 1}: the straight path passes through a singular matrix")
        paths.append(path)
        squares.append(M)
        if layer.act is not None and not layer.act.injective:
            notes.append(f"layer {k + 1}: {layer.act.spec} is not a homeomorphism (it folds space)")
    return LayerPlan(
        hidden=tuple(layers), head=head, paths=tuple(paths), squares=tuple(squares), flips=tuple(flips),
        singular=tuple(singular), notes=tuple(notes),
        input_dim=_input_width(layers, head) if input_dim is None else input_dim,
    )


def _zero_padded(W: np.ndarray) -> np.ndarray:
    """W (m, n) in the top-left corner of a square zero matrix (max(m, n), max(m, n))."""
    m, n = W.shape
    M = np.zeros((max(m, n), max(m, n)))
    M[:m, :n] = W
    return M


def _input_width(layers: Sequence[Layer | FlowLayer], head: Layer | KnnHead | None) -> int:
    """The width the first layer (or, with none, the head) takes; 0 for an empty network."""
    if layers:
        first = layers[0]
        return first.W.shape[1] if isinstance(first, Layer) else first.n_in
    return head.W.shape[1] if isinstance(head, Layer) else head.width if head is not None else 0
