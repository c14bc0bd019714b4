"""Checking a loaded checkpoint: its header, the names, shapes and dtypes of its weights, its
k-NN memory, its tensors' hash, the scene and architecture asked for, and its stored
accuracy recomputed with numpy."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from layerlapse.errors import LayerlapseError
from layerlapse.networks.checkpoint.content import (
    FORMAT,
    MEMORY,
    READS,
    BadCheckpoint,
    bad_checkpoint,
    content_sha256,
    kind_of,
    tensors,
)
from layerlapse.networks.knn import KnnHead, KnnMemory
from layerlapse.networks.layers import forward
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.train import Network, TrainConfig

#: a stored accuracy is accepted within this of the recomputed one (fractions): the stored
#: number is a float32/float64 of the same count, not an estimate
ACCURACY_TOL = 1e-6
#: training measured the accuracy in float32 (torch); the check runs in float64 (numpy). A
#: sample whose two best logits are within this (relative to the larger, plus 1) may fall
#: either way, so it counts as right or wrong, whichever brings the recomputed accuracy
#: nearer the stored one. Measured on the presets' networks: float32 and float64 logits
#: differ by at most 6e-7 (relative) without a flow, and by 2e-4 with one (its two ODE
#: solvers: torchdiffeq in float32, numpy in float64).
LOGIT_TOL = 1e-4
FLOW_LOGIT_TOL = 1e-2



def trained_under(path: Path, meta: dict) -> dict | None:
    """The header's optional ``trained_under`` (written since it was added; older files and
    converted models have none): a dict of plain values, or None."""
    under = meta.get("trained_under")
    if under is not None and not (isinstance(under, dict) and all(
            isinstance(v, (str, int, float, bool)) or v is None for v in under.values())):
        raise bad_checkpoint(path, f"has a bad header: 'trained_under' is {kind_of(under)}, not a dict of plain values")
    return under


def _header(path: Path, meta: dict) -> tuple[NetworkConfig, TrainConfig | None, dict, float | None, str | None]:
    """(config, training, scene, accuracy, content hash) of a checkpoint's header."""

    def fault(key: str, what: str) -> BadCheckpoint:
        return bad_checkpoint(path, f"has a bad header: {key!r} {what}")

    version = meta.get("version")
    if type(version) is not int or version not in READS:
        raise bad_checkpoint(path, f"has format version {version!r}; this layerlapse reads versions "
                         f"{', '.join(map(str, READS))} (a newer layerlapse wrote it?)")
    for key in ("network", "training", "scene", "accuracy"):
        if key not in meta:
            raise fault(key, "is missing")
    try:
        config = NetworkConfig.model_validate(meta["network"])
    except ValidationError as exc:
        raise fault("network", f"is not a network config ({_first_error(exc)})") from None
    try:
        training = None if meta["training"] is None else TrainConfig.model_validate(meta["training"])
    except ValidationError as exc:
        raise fault("training", f"is not training settings ({_first_error(exc)})") from None
    scene = meta["scene"]
    if not isinstance(scene, dict):
        raise fault("scene", f"is {kind_of(scene)}, not a dict")
    accuracy = meta["accuracy"]
    if accuracy is not None and (
        isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not math.isfinite(accuracy)
        or not 0 <= accuracy <= 1
    ):
        raise fault("accuracy", f"is {accuracy!r}, not a number from 0 to 1")
    digest = meta.get("content_sha256")
    if version >= 2 and not (isinstance(digest, str) and len(digest) == 64):
        raise fault("content_sha256", "is missing or not a SHA-256" if digest is None else f"is {digest!r}, not a SHA-256")
    return config, training, scene, None if accuracy is None else float(accuracy), digest


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(map(str, err.get("loc", ()))) or "value"
    return f"{where}: {err.get('msg', 'invalid')}"


def _check_arrays(path: Path, config: NetworkConfig, arrays: dict) -> None:
    """Names, shapes and dtypes of the weights (``arrays`` without the memory's)."""
    shapes = config.parameter_shapes()
    for name, shape in shapes.items():
        if name not in arrays:
            raise bad_checkpoint(path, f": weights do not match its config ({name} is missing for a {config.describe()} network)")
        a = arrays[name]
        if a.dtype != np.float32:
            raise bad_checkpoint(path, f": weights do not match its config ({name} is {a.dtype}, not float32)")
        if a.shape != shape:
            raise bad_checkpoint(path, f": weights do not match its config ({name} has shape {a.shape}, expected {shape} "
                             f"for a {config.describe()} network)")
    extra = sorted(set(arrays) - set(shapes))
    if extra:
        raise bad_checkpoint(path, f": weights do not match its config ({extra[0]} is not a weight of a "
                         f"{config.describe()} network)")


def _memory(path: Path, config: NetworkConfig, arrays: dict) -> KnnMemory | None:
    """The k-NN memory (``memory.*`` arrays, removed from ``arrays``), None for a linear head."""
    found = {name[len(MEMORY):]: arrays.pop(name) for name in list(arrays) if name.startswith(MEMORY)}
    if config.head != "knn":
        if found:
            raise bad_checkpoint(path, ": holds a k-NN memory but its head is linear")
        return None
    if set(found) != {"samples", "labels"}:
        raise bad_checkpoint(path, ": a k-NN head without its memory (training samples)")
    samples, labels = found["samples"], found["labels"]
    if samples.dtype != np.float32 or labels.dtype != np.int64:
        raise bad_checkpoint(path, f": its k-NN memory holds {samples.dtype} samples and {labels.dtype} labels, "
                         "not float32 and int64")
    try:
        memory = KnnMemory(samples, labels)
    except LayerlapseError as exc:
        raise bad_checkpoint(path, f": {str(exc).partition(': ')[2]}") from None
    if memory.samples.shape[1] != config.input_dim or memory.labels.max() >= config.classes \
            or memory.labels.min() < 0:
        raise bad_checkpoint(path, ": its k-NN memory does not match its config")
    return memory


def verified(path: Path, meta: Any, arrays: dict, scene_key: dict | None, config: NetworkConfig | None,
             samples: tuple[np.ndarray, np.ndarray] | None) -> Network:
    """Check what was loaded against itself and the caller's expectations; the same for both containers."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise bad_checkpoint(path, "is not a layerlapse checkpoint")
    saved_config, training, saved_scene, accuracy, digest = _header(path, meta)
    if scene_key is not None and saved_scene != json.loads(json.dumps(scene_key)):
        raise LayerlapseError(
            f"checkpoint: {str(path)!r} was trained on scene {saved_scene.get('name')!r} "
            f"with parameters {saved_scene.get('params')}, not on {scene_key.get('name')!r} "
            f"with {scene_key.get('params')}; retrain or pass another checkpoint"
        )
    if config is not None and saved_config != config:
        raise LayerlapseError(
            f"checkpoint: {str(path)!r} holds a {saved_config.describe()} network, "
            f"expected {config.describe()}"
        )
    arrays = dict(arrays)
    memory = _memory(path, saved_config, arrays)
    _check_arrays(path, saved_config, arrays)
    weights = MLPWeights(saved_config, arrays)
    if digest is not None and content_sha256(tensors(weights, memory)) != digest:
        raise bad_checkpoint(path, "is corrupt: its tensors do not match their SHA-256 (a changed weight)")
    # version 1 (no hash): trusted as far as the structure, NaN/Inf and the accuracy below go
    bad = weights.nonfinite()
    if bad is not None:
        raise bad_checkpoint(path, f": {bad} holds NaN or Inf")
    network = Network(weights, saved_config, training, accuracy, saved_scene, memory,
                      trained_under=trained_under(path, meta))
    if samples is not None and accuracy is not None:
        try:
            with np.errstate(all="ignore"):  # a changed weight may overflow: then the accuracy tells
                low, high = accuracy_bounds(network, *samples)
        except LayerlapseError as exc:  # e.g. a k-NN memory carried to Inf
            raise bad_checkpoint(path, f"is corrupt: its weights cannot be evaluated ({str(exc).partition(': ')[2]})") from None
        if not low - ACCURACY_TOL <= accuracy <= high + ACCURACY_TOL:
            found = f"{low:.6g}" if low == high else f"{low:.6g} to {high:.6g}"
            raise bad_checkpoint(path, f"does not match its weights: it says accuracy {accuracy:.6g}, but they score "
                             f"{found} on the scene's samples")
    return network


def accuracy_bounds(network: Network, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The accuracy ``network`` had when trained on X (N, input_dim), y (N,), recomputed with numpy.

    A linear head's samples whose two best logits are within :data:`LOGIT_TOL` (with a flow,
    :data:`FLOW_LOGIT_TOL`) may have gone either way in training's float32, so the result is
    a range: (right for sure, right or undecided) / N. A k-NN head's leave-one-out accuracy on
    its memory is computed exactly as in training: the range is one number.

    Parameters
    ----------
    network
        A network with a linear head, or a k-NN head and its memory.
    X, y
        The samples and labels it was trained on.

    Returns
    -------
    tuple
        (low, high) fractions.
    """
    hidden, head = network.layers()
    if isinstance(head, KnnHead):
        acc = head.loo_accuracy()
        return acc, acc
    y = np.asarray(y)
    if head is None or len(y) == 0:
        return 0.0, 1.0  # nothing to compare with
    logits = head(forward(hidden, np.asarray(X, dtype=np.float32).astype(np.float64)))
    right = logits.argmax(1) == y
    top2 = np.partition(logits, -2, axis=1)[:, -2:]
    tol = FLOW_LOGIT_TOL if network.config.flow is not None else LOGIT_TOL
    undecided = top2[:, 1] - top2[:, 0] <= tol * (1.0 + np.abs(top2).max(1))
    n = len(y)
    return float((right & ~undecided).sum() / n), float((right | undecided).sum() / n)
