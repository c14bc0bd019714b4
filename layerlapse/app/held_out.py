"""A scene's held-out samples (``Scene.held_out``: the digits' images kept out of training):
the accuracy a picture shows for them, and the class separation of each layer on them.

A network's own ``accuracy`` stays the one on its training samples (what a checkpoint stores
and its loading rechecks); where a scene holds samples out, what a viewer is shown is the
accuracy on those, images the network never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from layerlapse.networks.separation import Separation, layer_separation


@dataclass(frozen=True)
class HeldOut:
    """How a network does on a scene's held-out samples: ``accuracy`` of ``count`` samples,
    ``misclassified`` of them wrong."""

    accuracy: float
    misclassified: int
    count: int


def held_out_samples(preset: object) -> tuple[np.ndarray, np.ndarray] | None:
    """The (samples, labels) a scene (or a preset's scene) holds out; None without any."""
    scene = getattr(preset, "scene", preset)
    held = getattr(scene, "held_out", None)
    return None if held is None or not len(held[1]) else held


def held_out_score(preset: object, network: object) -> HeldOut | None:
    """The network's accuracy on the scene's held-out samples; None for a scene without them."""
    held = held_out_samples(preset)
    predict = getattr(network, "predict", None)
    if held is None or predict is None:
        return None
    X, y = held
    wrong = int((np.asarray(predict(X)) != y).sum())
    return HeldOut(1.0 - wrong / len(y), wrong, len(y))


def shown_accuracy(preset: object, network: object) -> float | None:
    """The accuracy a picture shows: on the held-out samples where the scene has them, else the
    network's own (on its training samples; None for hand-set layers)."""
    score = held_out_score(preset, network)
    return score.accuracy if score is not None else getattr(network, "accuracy", None)


def held_out_separation(preset: object, network: object) -> list[Separation] | None:
    """The 5-NN accuracy on the held-out samples of the input and of each hidden layer's
    representation (:mod:`layerlapse.networks.separation`); None without held-out samples."""
    held = held_out_samples(preset)
    if held is None:
        return None
    hidden, _ = network.layers()  # type: ignore[attr-defined]
    scene: Any = getattr(preset, "scene", preset)
    return layer_separation(hidden, scene.samples, scene.labels, *held)
