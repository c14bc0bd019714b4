"""Checkpoints: the weights beside the config and the scene they were trained on.

Two containers hold the same content:

* ``.pt`` (the default): a ``torch.save`` dict, loaded with ``torch.load(weights_only=True)``:
  plain containers and tensors only, no pickled code.
* ``.npz``: the weights as float32 arrays named as in the torch ``state_dict`` and a JSON
  ``meta`` string, loaded with ``np.load(allow_pickle=False)``: no pickles at all.

Saving a ``.pt`` also writes ``<name>.pt.npz`` beside it, a numpy sidecar that records the
SHA-256 of the ``.pt`` it mirrors. Loading a ``.pt`` whose sidecar matches reads the
sidecar, so a render with a cached network never imports torch (about a second of start-up).
A missing or stale sidecar is ignored: the ``.pt`` is loaded with torch and the sidecar
(re)written, best effort. A checkpoint for another scene or architecture is refused.

A network with a k-NN head also stores its memory, the training samples it votes with:
``memory.samples`` (N, input_dim) float32 and ``memory.labels`` (N,) int64 arrays in the
``.npz``, a ``memory`` dict of two tensors in the ``.pt``.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from layerlapse._files import atomic_output
from layerlapse.errors import LayerlapseError
from layerlapse.networks.knn import KnnMemory
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.train import Network, TrainConfig

FORMAT = "layerlapse-checkpoint"
VERSION = 1
NPZ = ".npz"
MEMORY = "memory."  # the prefix of a k-NN head's memory arrays in an .npz


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


def _is_npz(path: Path) -> bool:
    return path.suffix.lower() == NPZ


def _meta(network: Network) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "network": network.config.model_dump(mode="json"),
        # None for a model trained elsewhere (your own PyTorch model)
        "training": None if network.training is None else network.training.model_dump(mode="json"),
        "scene": json.loads(json.dumps(network.scene_key)),
        "accuracy": None if network.accuracy is None else float(network.accuracy),
    }


def save_network(network: Network, path: str | Path) -> Path:
    """Write ``network`` to ``path`` atomically (a temporary file renamed into place).

    Parameters
    ----------
    network
        A trained, loaded or converted network.
    path
        ``.npz``: the numpy container only (no torch needed); anything else: a torch
        ``.pt`` plus its numpy sidecar :func:`sidecar_path`.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    meta, weights, memory = _meta(network), network.weights(), network.memory
    if _is_npz(path):
        with atomic_output(path) as tmp:
            _write_npz(tmp, meta, weights, memory=memory)
        return path
    import torch

    payload = {**meta, "state_dict": {name: torch.from_numpy(a.copy()) for name, a in weights.arrays.items()}}
    if memory is not None:
        payload["memory"] = {"samples": torch.from_numpy(memory.samples.copy()),
                             "labels": torch.from_numpy(memory.labels.copy())}
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    _write_sidecar(path, meta, weights, digest, memory)
    return path


def load_network(
    path: str | Path, *, scene_key: dict | None = None, config: NetworkConfig | None = None
) -> Network:
    """Load a checkpoint; refuse it if it was made for another scene or architecture.

    Parameters
    ----------
    path
        A file written by :func:`save_network`. A ``.pt`` with a matching sidecar is read
        from the sidecar, without torch.
    scene_key
        The scene it must have been trained on (``Preset.key``); None skips the check.
    config
        The architecture it must have; None skips the check.

    Returns
    -------
    Network
    """
    path = Path(path)
    if not path.is_file():
        raise LayerlapseError(f"checkpoint: {str(path)!r} does not exist")
    digest = None
    if _is_npz(path):
        meta, arrays = _read_npz(path)
    else:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        found = _read_sidecar(path, digest)
        if found is not None:
            meta, arrays = found
            digest = None  # nothing to write
        else:
            meta, arrays = _read_pt(path, data)
    network = _network(path, meta, arrays, scene_key, config)
    if digest is not None:
        _write_sidecar(path, _meta(network), network.weights(), digest, network.memory)
    return network


def _write_npz(target: Path, meta: dict, weights: MLPWeights, source_sha256: str | None = None, *,
               memory: KnnMemory | None = None) -> None:
    meta = {**meta, "source_sha256": source_sha256}
    extra = {} if memory is None else {f"{MEMORY}samples": memory.samples, f"{MEMORY}labels": memory.labels}
    with open(target, "wb") as f:
        arrays: dict[str, Any] = {**weights.arrays, **extra}
        np.savez(f, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)


def _write_sidecar(path: Path, meta: dict, weights: MLPWeights, digest: str, memory: KnnMemory | None = None) -> None:
    """Best effort: a read-only folder just means the next load uses torch again."""
    try:
        with atomic_output(sidecar_path(path)) as tmp:
            _write_npz(tmp, meta, weights, digest, memory=memory)
    except OSError:
        pass


def _read_sidecar(path: Path, digest: str) -> tuple[dict, dict] | None:
    """The sidecar's content if it exists, is readable and mirrors exactly these ``.pt`` bytes."""
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    try:
        meta, arrays = _read_npz(sidecar)
    except LayerlapseError:
        return None
    if not isinstance(meta, dict) or meta.get("source_sha256") != digest:
        return None
    return meta, arrays


def _not_loadable(path: Path, exc: Exception) -> LayerlapseError:
    return LayerlapseError(
        f"checkpoint: {str(path)!r} is not a loadable layerlapse checkpoint ({type(exc).__name__})"
    )


def _read_npz(path: Path) -> tuple[dict, dict]:
    """(meta, arrays) of an ``.npz`` checkpoint; no pickles are ever loaded."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile) or "meta" not in npz.files:
                raise LayerlapseError(f"checkpoint: {str(path)!r} is not a layerlapse checkpoint")
            meta = json.loads(str(npz["meta"][()]))
            arrays = {name: npz[name] for name in npz.files if name != "meta"}
    except LayerlapseError:
        raise
    except Exception as exc:  # numpy and zipfile raise several types for foreign or corrupt files
        raise _not_loadable(path, exc) from None
    return meta, arrays


def _read_pt(path: Path, data: bytes) -> tuple[dict, dict]:
    """(meta, arrays) of a torch ``.pt`` checkpoint, loaded with ``weights_only=True``."""
    import torch

    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        raise _not_loadable(path, exc) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise LayerlapseError(f"checkpoint: {str(path)!r} is not a layerlapse checkpoint")
    state = payload.get("state_dict")
    arrays = {}
    if isinstance(state, dict):
        for name, value in state.items():
            if not isinstance(value, torch.Tensor):
                raise LayerlapseError(f"checkpoint: {str(path)!r}: weights do not match its config")
            arrays[str(name)] = value.detach().cpu().float().numpy()
    memory = payload.get("memory")
    if isinstance(memory, dict):
        for name, value in memory.items():
            if not isinstance(value, torch.Tensor):
                raise LayerlapseError(f"checkpoint: {str(path)!r}: its k-NN memory is not a pair of tensors")
            arrays[f"{MEMORY}{name}"] = value.detach().cpu().numpy()
    return {k: v for k, v in payload.items() if k not in ("state_dict", "memory")}, arrays


def _network(path: Path, meta: dict, arrays: dict, scene_key: dict | None, config: NetworkConfig | None) -> Network:
    """Check what was loaded against the caller's expectations; the same for both containers."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise LayerlapseError(f"checkpoint: {str(path)!r} is not a layerlapse checkpoint")
    try:
        saved_config = NetworkConfig.model_validate(meta["network"])
        training = None if meta["training"] is None else TrainConfig.model_validate(meta["training"])
        saved_scene = meta["scene"]
        accuracy = meta["accuracy"]
        accuracy = None if accuracy is None else float(accuracy)
    except (KeyError, TypeError, ValueError, ValidationError):
        raise LayerlapseError(f"checkpoint: {str(path)!r} is not a layerlapse checkpoint (bad header)") from None
    if scene_key is not None and saved_scene != json.loads(json.dumps(scene_key)):
        saved = saved_scene if isinstance(saved_scene, dict) else {}
        raise LayerlapseError(
            f"checkpoint: {str(path)!r} was trained on scene {saved.get('name')!r} "
            f"with parameters {saved.get('params')}, not on {scene_key.get('name')!r} "
            f"with {scene_key.get('params')}; retrain or pass another checkpoint"
        )
    if config is not None and saved_config != config:
        raise LayerlapseError(
            f"checkpoint: {str(path)!r} holds a {saved_config.describe()} network, "
            f"expected {config.describe()}"
        )
    memory_arrays = {name[len(MEMORY):]: arrays.pop(name) for name in list(arrays) if name.startswith(MEMORY)}
    try:
        weights = MLPWeights(saved_config, arrays)
    except LayerlapseError:
        raise LayerlapseError(f"checkpoint: {str(path)!r}: weights do not match its config") from None
    bad = weights.nonfinite()
    if bad is not None:
        raise LayerlapseError(f"checkpoint: {str(path)!r}: {bad} holds NaN or Inf")
    memory = None
    if saved_config.head == "knn":
        if set(memory_arrays) != {"samples", "labels"}:
            raise LayerlapseError(f"checkpoint: {str(path)!r}: a k-NN head without its memory (training samples)")
        try:
            memory = KnnMemory(memory_arrays["samples"], memory_arrays["labels"])
        except LayerlapseError as exc:
            raise LayerlapseError(f"checkpoint: {str(path)!r}: {str(exc).partition(': ')[2]}") from None
        if memory.samples.shape[1] != saved_config.input_dim or memory.labels.max() >= saved_config.classes \
                or memory.labels.min() < 0:
            raise LayerlapseError(f"checkpoint: {str(path)!r}: its k-NN memory does not match its config")
    return Network(weights, saved_config, training, accuracy, saved_scene, memory)
