"""The essay's k-nearest-neighbour head: classify the last representation by its neighbours.

The essay ("K-Nearest Neighbor Layers") argues that linear separability may be too much to
ask of a network: a k-NN classifier on the last representation only needs every point's
neighbours to share its class, not a hyperplane between the classes. It trains the network
for this directly, with a soft k-NN: "classify each element of the mini-batch based on the
classes of other elements of the mini-batch, giving each one a weight of 1/(distance from
classification target)".

Two halves, one per side of the torch boundary:

* :func:`soft_knn_loss` (torch): the training objective, the essay's 1/distance vote within
  the mini-batch, restricted to each point's ``k`` nearest in the batch (see its docstring).
* :class:`KnnHead` (numpy, no torch): the classifier the renderer draws and the accuracy is
  measured with: hard k-NN votes against a memory of the training samples' final
  representations, with a leave-one-out variant for the training samples themselves.

A k-NN classifier *is* its training set, so a network with this head keeps its training
samples (:class:`KnnMemory`) beside its weights: :class:`~layerlapse.networks.train.Network`
holds them, checkpoints store them, and ``Network.layers()`` returns a :class:`KnnHead` built
from their final representations under the network's own hidden layers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from layerlapse.errors import LayerlapseError

if TYPE_CHECKING:
    import torch

#: the default k (the largest is :data:`layerlapse.limits.MAX_K`)
K_DEFAULT = 8
#: the soft loss compares every pair of a batch: batches are at most this large for a k-NN head
#: (a step costs about 5 ms at 256, 0.7 s at 2048 on two cores)
MAX_BATCH = 512
#: distances are sqrt(d^2 + DISTANCE_EPS^2): finite weights (and gradients) for coincident points,
#: and the loss's one length scale (a twentieth of the tanh box): neighbours nearer than about
#: this vote alike, so the classes are kept at least about this far apart. Without a scale the
#: loss does not care how large the representation is, and training drifts into a corner of the
#: tanh box where everything is a speck (measured, disk-annulus and linked-tori: the final
#: representation 0.01 wide with 1e-3; 1.2 to 1.4 wide with 0.1, the same accuracy)
DISTANCE_EPS = 0.1
#: a point whose in-batch neighbours are all of another class keeps this share of a vote for its
#: own class, so its loss is finite and still pushes those neighbours away
SMOOTHING = 0.05
#: queries are answered this many at a time (bounded memory)
CHUNK = 32768
#: neighbours asked of the tree beyond k, so that ties at the k-th distance are resolved by index
_SLACK = 8


def soft_knn_loss(z: torch.Tensor, y: torch.Tensor, k: int | None, classes: int) -> torch.Tensor:
    """The essay's soft k-NN loss on a batch of last representations.

    Each point i is classified by the other points j != i of the batch, each weighted by
    ``w_ij = 1 / d_ij``, ``d_ij = sqrt(|z_i - z_j|^2 + eps^2)`` (the essay's weight; ``eps``,
    :data:`DISTANCE_EPS`, keeps coincident points finite and gives the loss a length scale).
    Only the ``k`` nearest in the batch vote: in m dimensions the total 1/d weight of a
    shell of radius r grows like r^(m - 2), so with every point of the batch voting the far
    ones would count as much as the near ones (2-D) or more (3-D), which asks for separated
    class means, not for consistent neighbourhoods. The choice of the k nearest is not
    differentiated, the weights are. (A batch samples the data, so its k nearest reach
    further than the k nearest among all samples that :class:`KnnHead` votes with.) Then

    ``P(c | i) = (sum of w_ij over voters j of class c + a_i) / (sum of w_ij + classes * a_i)``

    with ``a_i = SMOOTHING * mean voter weight`` (held constant), and the loss is
    ``-mean_i log P(y_i | i)``. The smoothing makes the loss finite when all of a point's
    neighbours are of another class, and its gradient then still pushes them away. At
    distances well above ``eps`` the loss is unchanged by scaling z (the weights are
    normalised); below it, votes weigh alike. If every point is mapped to the same place,
    every vote weighs the same and P is the class share of the voters: finite, no NaN.

    Parameters
    ----------
    z
        (B, m) the batch's last hidden representations.
    y
        (B,) their labels, 0 .. classes - 1.
    k
        How many nearest points of the batch vote (None: all other points, the essay's
        literal wording); at most B - 1 are used.
    classes
        The number of classes.

    Returns
    -------
    torch.Tensor
        A scalar; 0 (attached to z's graph) for a batch of fewer than two points.
    """
    import torch

    B = z.shape[0]
    if B < 2:
        return z.sum() * 0.0
    zd = z.double()  # the Gram form of the distances cancels; in float64 it does not matter
    sq = (zd * zd).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * zd @ zd.T).clamp_min(0.0)
    d = torch.sqrt(d2 + DISTANCE_EPS**2)
    eye = torch.eye(B, dtype=torch.bool, device=z.device)
    w = (1.0 / d).masked_fill(eye, 0.0)
    voters = B - 1 if k is None else min(int(k), B - 1)
    if voters < B - 1:
        with torch.no_grad():
            nearest = d.masked_fill(eye, float("inf")).topk(voters, dim=1, largest=False).indices
            keep = torch.zeros_like(eye).scatter_(1, nearest, True)
        w = w * keep
    total = w.sum(1)
    same = (y[:, None] == y[None, :]) & ~eye
    own = (w * same).sum(1)
    a = SMOOTHING * total.detach() / voters
    p = (own + a) / (total + classes * a)
    return -torch.log(p).mean().to(z.dtype)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block (restored after).

    The loss is a few dozen kernels on B x B arrays: just past torch's grain size for
    threading, and too small for threads to pay. On two busy cores a step of B = 256 took
    4-5 ms on one thread and 95-230 ms on two (measured).

    Yields
    ------
    None
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True, eq=False)
class KnnMemory:
    """The samples a k-NN head votes with: ``samples`` (N, input_dim) float32 and their
    ``labels`` (N,) int64; read-only copies."""

    samples: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        X = np.array(self.samples, dtype=np.float32)
        y = np.array(self.labels)
        if X.ndim != 2 or y.shape != (len(X),) or len(X) == 0:
            raise LayerlapseError(f"network: a k-NN memory needs samples (N, n) and labels (N,), N >= 1; "
                                  f"got {X.shape} and {y.shape}")
        if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
            raise LayerlapseError("network: a k-NN memory's labels must be integers")
        if not np.isfinite(X).all():
            raise LayerlapseError("network: a k-NN memory holds NaN or Inf samples")
        y = y.astype(np.int64)
        X.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "samples", X)
        object.__setattr__(self, "labels", y)

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"KnnMemory({len(self)} samples of dimension {self.samples.shape[1]})"


@dataclass(frozen=True, eq=False)
class KnnHead:
    """A k-NN classifier of final representations: ``Z`` (N, m) of the memory samples (in the
    animated network's coordinates), their ``labels`` (N,), ``k`` and the number of
    ``classes``.

    A query's neighbours are the k memory points nearest to it (Euclidean), ties at the k-th
    distance going to the lower memory index, so the result does not depend on the search
    structure. Its class is the one with the most votes; a tie between classes goes to the
    class with the nearest voter.
    """

    Z: np.ndarray
    labels: np.ndarray
    k: int
    classes: int

    def __post_init__(self) -> None:
        Z = np.array(self.Z, dtype=np.float64)
        y = np.asarray(self.labels).astype(np.int64)
        if Z.ndim != 2 or y.shape != (len(Z),) or len(Z) == 0:
            raise LayerlapseError(f"network: a k-NN head needs a memory (N, m) and labels (N,), N >= 1; "
                                  f"got {Z.shape} and {y.shape}")
        if not np.isfinite(Z).all():
            raise LayerlapseError("network: the k-NN memory's final representations hold NaN or Inf")
        if y.min() < 0 or y.max() >= self.classes:
            raise LayerlapseError(f"network: k-NN labels outside 0 .. {self.classes - 1}")
        if not 1 <= int(self.k):
            raise LayerlapseError(f"network: k = {self.k}; k must be at least 1")
        Z.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "Z", Z)
        object.__setattr__(self, "labels", y)
        object.__setattr__(self, "k", int(self.k))

    @classmethod
    def fit(cls, Z: np.ndarray, labels: np.ndarray, k: int, classes: int) -> KnnHead:
        """A head that votes with the final representations ``Z`` (N, m) of samples labelled
        ``labels`` (N,).

        Parameters
        ----------
        Z
            (N, m) the memory samples' final representations.
        labels
            (N,) their classes.
        k
            Neighbours per vote.
        classes
            The number of classes.

        Returns
        -------
        KnnHead
        """
        return cls(Z, labels, k, classes)

    def __repr__(self) -> str:
        return f"KnnHead(k={self.k}, classes={self.classes}, memory={self.Z.shape})"

    @property
    def width(self) -> int:
        """The width m of the representation the head reads."""
        return self.Z.shape[1]

    @cached_property
    def tree(self):
        """The memory's k-d tree (scipy's ``cKDTree``), built on first use."""
        from scipy.spatial import cKDTree

        return cKDTree(self.Z)

    def neighbours(self, Z: np.ndarray, *, leave_out: np.ndarray | None = None) -> np.ndarray:
        """The memory indices of each query's nearest neighbours, nearest first.

        Parameters
        ----------
        Z
            (Q, m) query points (the first m coordinates are read if wider).
        leave_out
            (Q,) a memory index per query that must not vote (its own sample), or None.

        Returns
        -------
        np.ndarray
            (Q, k') int64, k' = min(k, memory size, minus one with ``leave_out``).
        """
        Z = self._queries(Z)
        N = len(self.Z)
        available = N - (leave_out is not None)
        kk = min(self.k, available)
        out = np.zeros((len(Z), max(kk, 0)), np.int64)
        if kk <= 0 or len(Z) == 0:
            return out
        ask = min(N, kk + _SLACK + (leave_out is not None))
        for start in range(0, len(Z), CHUNK):
            q = Z[start : start + CHUNK]
            _, idx = self.tree.query(q, ask)
            idx = np.asarray(idx, np.int64).reshape(len(q), ask)
            # exact squared distances, as a brute force computes them; the tree only picks candidates
            d2 = ((q[:, None, :] - self.Z[idx]) ** 2).sum(-1)
            if leave_out is not None:
                d2[idx == leave_out[start : start + CHUNK, None]] = np.inf
            order = np.lexsort((idx, d2), axis=-1)
            d2, idx = np.take_along_axis(d2, order, 1), np.take_along_axis(idx, order, 1)
            out[start : start + len(q)] = idx[:, :kk]
            if ask < N:  # a tie at the k-th distance may run past the candidates: settle it exactly
                last = np.take_along_axis(d2, np.isfinite(d2).sum(1, keepdims=True) - 1, 1)[:, 0]
                short = np.flatnonzero(last <= d2[:, kk - 1])
                for r in short:
                    out[start + r] = self._brute(q[r], kk, None if leave_out is None else leave_out[start + r])
        return out

    def _brute(self, z: np.ndarray, kk: int, skip: int | None) -> np.ndarray:
        d2 = ((z[None, :] - self.Z) ** 2).sum(-1)
        if skip is not None:
            d2[skip] = np.inf
        return np.lexsort((np.arange(len(d2)), d2))[:kk]

    def votes(self, Z: np.ndarray, *, leave_out: np.ndarray | None = None) -> np.ndarray:
        """Per-class vote counts of the queries' neighbours.

        Parameters
        ----------
        Z
            (Q, m) query points.
        leave_out
            (Q,) a memory index per query that must not vote, or None.

        Returns
        -------
        np.ndarray
            (Q, classes) float64 counts.
        """
        return self._logits(self.neighbours(Z, leave_out=leave_out), bonus=False)

    def logits(self, Z: np.ndarray) -> np.ndarray:
        """Votes with the tie-break folded in: argmax is the k-NN class.

        Parameters
        ----------
        Z
            (Q, m) query points.

        Returns
        -------
        np.ndarray
            (Q, classes) float64: each class's vote count plus, for classes with votes, a
            fraction in (0, 1/2] that is larger the nearer the class's nearest voter.
        """
        return self._logits(self.neighbours(Z), bonus=True)

    __call__ = logits

    def loo_logits(self) -> np.ndarray:
        """:meth:`logits` of the memory samples themselves, each left out of its own vote
        (leave-one-out): (N, classes)."""
        return self._logits(self.neighbours(self.Z, leave_out=np.arange(len(self.Z))), bonus=True)

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """The k-NN class of each query; (Q, m) -> (Q,) int64."""
        return self.logits(Z).argmax(1)

    def loo_predict(self) -> np.ndarray:
        """The leave-one-out class of each memory sample; -> (N,) int64."""
        return self.loo_logits().argmax(1)

    def loo_accuracy(self) -> float:
        """The share of memory samples whose leave-one-out vote is their own class."""
        return float((self.loo_predict() == self.labels).mean())

    def swapped(self, i: int, j: int) -> KnnHead:
        """The same head for a representation whose coordinates i and j are exchanged (a
        neuron swap of the last hidden layer, see :func:`~layerlapse.networks.layers.swap_neurons`)."""
        Z = self.Z.copy()
        Z[:, [i, j]] = Z[:, [j, i]]
        return KnnHead(Z, self.labels, self.k, self.classes)

    def class_means(self) -> np.ndarray:
        """(classes, m) the mean final representation of each class (zeros for an absent class)."""
        means = np.zeros((self.classes, self.width))
        for c in range(self.classes):
            sel = self.labels == c
            if sel.any():
                means[c] = self.Z[sel].mean(0)
        return means

    def describe(self) -> str:
        """E.g. ``8-NN vote``."""
        return f"{self.k}-NN vote"

    def _queries(self, Z: np.ndarray) -> np.ndarray:
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] < self.width:
            raise LayerlapseError(f"network: the k-NN head reads {self.width}-D points, got shape {Z.shape}")
        return Z[:, : self.width]

    def _logits(self, nb: np.ndarray, *, bonus: bool) -> np.ndarray:
        Q, kk = nb.shape
        lab = self.labels[nb]
        out = np.zeros((Q, self.classes))
        rank = np.arange(kk)
        for c in range(self.classes):
            mine = lab == c
            out[:, c] = mine.sum(1)
            if bonus and kk:
                first = np.where(mine, rank, kk).min(1)
                out[:, c] += np.where(first < kk, 0.5 * (kk - first) / kk, 0.0)
        return out


def knn_head(hidden_forward, memory: KnnMemory, k: int, classes: int) -> KnnHead:
    """The head of a k-NN network: its memory's samples carried through ``hidden_forward``
    ((N, n) -> (N, m), the network's hidden layers).

    Parameters
    ----------
    hidden_forward
        The network's hidden layers as one function of float64 arrays.
    memory
        The training samples and labels the head votes with.
    k
        Neighbours per vote.
    classes
        The number of classes.

    Returns
    -------
    KnnHead
    """
    return KnnHead.fit(hidden_forward(memory.samples.astype(np.float64)), memory.labels, k, classes)
