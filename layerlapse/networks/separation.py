"""How far apart a network's layers hold the classes: the k-NN accuracy of each layer's
representation on held-out points (the essay's manifold hypothesis predicts that it grows
layer by layer), in the layer's full space and in the three principal directions a 3-D view
of it can hold.

Each held-out point is classified by a vote of its ``k`` nearest training points in the same
representation; a tie goes to the smallest label among the tied (the vote is deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layerlapse.networks.layers import forward

#: neighbours per vote
K = 5
#: the directions a 3-D view holds
VIEW = 3


@dataclass(frozen=True)
class Separation:
    """One representation's k-NN accuracy on the held-out points: ``full`` in all its
    ``width`` coordinates, ``view`` in its top three principal directions (of the training
    points), which equals ``full`` when ``width`` is three or less."""

    name: str
    width: int
    full: float
    view: float


def knn_accuracy(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
                 k: int = K) -> float:
    """The fraction of ``test`` points (M, n) whose ``k`` nearest ``train`` points (N, n) vote
    for their label (ties: the smallest label); nearest by Euclidean distance, the first
    among equally distant ones."""
    train, test = np.asarray(train, dtype=float), np.asarray(test, dtype=float)
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    k = min(k, len(train))
    d2 = (test**2).sum(1)[:, None] - 2 * test @ train.T + (train**2).sum(1)[None, :]
    nearest = np.argsort(d2, axis=1, kind="stable")[:, :k]
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    votes = np.zeros((len(test), classes))
    np.add.at(votes, (np.repeat(np.arange(len(test)), k), train_labels[nearest].ravel()), 1)
    return float((votes.argmax(1) == test_labels).mean())


def view_coordinates(train: np.ndarray, test: np.ndarray, dims: int = VIEW) -> tuple[np.ndarray, np.ndarray]:
    """Both point sets in the top ``dims`` principal directions of ``train`` (unchanged when
    they have ``dims`` coordinates or fewer)."""
    if train.shape[1] <= dims:
        return train, test
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    return (train - mean) @ vt[:dims].T, (test - mean) @ vt[:dims].T


def separation(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
               name: str, k: int = K) -> Separation:
    """The k-NN accuracy of one representation, in full and in its 3-D view."""
    full = knn_accuracy(train, train_labels, test, test_labels, k)
    if train.shape[1] <= VIEW:
        return Separation(name, int(train.shape[1]), full, full)
    seen_train, seen_test = view_coordinates(train, test)
    shown = knn_accuracy(seen_train, train_labels, seen_test, test_labels, k)
    return Separation(name, int(train.shape[1]), full, shown)


def layer_separation(hidden: Sequence, train: np.ndarray, train_labels: np.ndarray, test: np.ndarray,
                     test_labels: np.ndarray, k: int = K) -> list[Separation]:
    """:func:`separation` of the input and of the representation after each hidden layer
    (numpy layers, as ``Network.layers()[0]`` gives them)."""
    rows = [separation(train, train_labels, test, test_labels, "input", k)]
    for i, layer in enumerate(hidden, 1):
        train, test = forward([layer], train), forward([layer], test)
        rows.append(separation(train, train_labels, test, test_labels, f"layer {i}", k))
    return rows
