"""What a checkpoint holds: its format and version, its header (made from a network), the
SHA-256 of its tensors, its fingerprint, and the name of a ``.pt``'s numpy sidecar."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.knn import KnnMemory
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.train import Network, TrainConfig

FORMAT = "layerlapse-checkpoint"
#: 2 added ``content_sha256``. Version 1 files (written before it) still load, so existing
#: caches keep working: without a hash their weights are only checked for structure and
#: NaN/Inf, and, when the caller gives the scene's samples (``get_network`` always does), by
#: recomputing the accuracy, which a flipped bit in a weight that matters changes.
VERSION = 2
READS = (1, 2)  # the versions this code loads
NPZ = ".npz"
MEMORY = "memory."  # the prefix of a k-NN head's memory arrays in an .npz


class BadCheckpoint(LayerlapseError):
    """A checkpoint file that cannot be used: unreadable, malformed or corrupt (its tensors do
    not match their SHA-256, or its stored accuracy does not match its weights). One line
    naming the file and the fault. A sound checkpoint made for another scene or architecture
    is a plain :class:`~layerlapse.errors.LayerlapseError` instead."""

    reason: str = ""


def bad_checkpoint(path: Path, reason: str) -> BadCheckpoint:
    """The error for ``path``: ``reason`` follows the quoted name after a space (or directly
    when it starts with a colon)."""
    exc = BadCheckpoint(f"checkpoint: {str(path)!r}{'' if reason.startswith(':') else ' '}{reason}")
    exc.reason = reason
    return exc


def fingerprint(scene_key: dict, config: NetworkConfig, training: TrainConfig) -> str:
    """A short stable hash of what determines a trained network. A linear head's hash leaves
    out ``head`` and ``k`` (k is not read then), so it is the same as before k-NN heads existed."""
    network = config.model_dump(mode="json")
    if config.head == "linear":
        network.pop("head")
        network.pop("k")
    blob = json.dumps(
        {"scene": scene_key, "network": network, "training": training.model_dump(mode="json")},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def sidecar_path(path: str | Path) -> Path:
    """``network-abc.pt`` -> ``network-abc.pt.npz``: the numpy copy of a ``.pt`` checkpoint."""
    path = Path(path)
    return path.with_name(path.name + NPZ)


def content_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """The SHA-256 of a checkpoint's tensors, independent of the container.

    The arrays are taken in sorted name order; each contributes a header line (JSON
    ``[name, dtype, shape]``) and then its bytes: floating arrays as float32 little-endian
    (``<f4``), integer arrays (a k-NN memory's labels) as int64 little-endian (``<i8``).

    Parameters
    ----------
    arrays
        The weights by ``state_dict`` name and, for a k-NN head, ``memory.samples`` (N, n)
        and ``memory.labels`` (N,).

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        dtype = "<i8" if a.dtype.kind in "iu" else "<f4"
        a = np.ascontiguousarray(a, dtype=dtype)
        h.update(json.dumps([name, dtype, list(a.shape)]).encode() + b"\n")
        h.update(a.tobytes())
    return h.hexdigest()


def tensors(weights: MLPWeights, memory: KnnMemory | None) -> dict[str, np.ndarray]:
    """What :func:`content_sha256` covers, by the names the ``.npz`` uses."""
    extra = {} if memory is None else {f"{MEMORY}samples": memory.samples, f"{MEMORY}labels": memory.labels}
    return {**weights.arrays, **extra}


def is_npz(path: Path) -> bool:
    return path.suffix.lower() == NPZ


def meta_of(network: Network) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "network": network.config.model_dump(mode="json"),
        # None for a model trained elsewhere (your own PyTorch model)
        "training": None if network.training is None else network.training.model_dump(mode="json"),
        "scene": json.loads(json.dumps(network.scene_key)),
        "accuracy": None if network.accuracy is None else float(network.accuracy),
        "content_sha256": content_sha256(tensors(network.weights(), network.memory)),
        # versions, threads, kernels and platform it was trained under (None: not known); not
        # checked against this machine: another one may load it, it only says where it came from
        "trained_under": network.trained_under,
    }


def kind_of(value: object) -> str:
    """``a list``, ``a str``: what a malformed entry holds, for a message."""
    return "missing" if value is None else f"a {type(value).__name__}"
