"""Writing and reading the two containers (``.pt`` and ``.npz``) and a ``.pt``'s sidecar."""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from layerlapse._files import atomic_output
from layerlapse.errors import LayerlapseError
from layerlapse.networks.checkpoint.content import (
    FORMAT,
    MEMORY,
    BadCheckpoint,
    bad_checkpoint,
    is_npz,
    kind_of,
    meta_of,
    sidecar_path,
    tensors,
)
from layerlapse.networks.checkpoint.verify import verified
from layerlapse.networks.knn import KnnMemory
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.train import Network


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
    meta, weights, memory = meta_of(network), network.weights(), network.memory
    if is_npz(path):
        with atomic_output(path, "checkpoint") as tmp:
            _write_npz(tmp, meta, weights, memory=memory)
        return path
    import torch

    payload = {**meta, "state_dict": {name: torch.from_numpy(a.copy()) for name, a in weights.arrays.items()}}
    if memory is not None:
        payload["memory"] = {"samples": torch.from_numpy(memory.samples.copy()),
                             "labels": torch.from_numpy(memory.labels.copy())}
    with atomic_output(path, "checkpoint") as tmp:
        torch.save(payload, tmp)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    _write_sidecar(path, meta, weights, digest, memory)
    return path


def load_network(
    path: str | Path, *, scene_key: dict | None = None, config: NetworkConfig | None = None,
    samples: tuple[np.ndarray, np.ndarray] | None = None,
) -> Network:
    """Load a checkpoint; refuse it if it is corrupt or was made for another scene or architecture.

    Every load checks the structure, the tensors' ``content_sha256`` (version 2 files) and
    NaN/Inf. A ``.pt``'s sidecar found corrupt is passed over (with a warning) for the
    ``.pt`` itself, and rewritten.

    Parameters
    ----------
    path
        A file written by :func:`save_network`. A ``.pt`` with a matching sidecar is read
        from the sidecar, without torch.
    scene_key
        The scene it must have been trained on (``Preset.key``); None skips the check.
    config
        The architecture it must have; None skips the check.
    samples
        The scene's samples (N, input_dim) and labels (N,): the stored accuracy is recomputed
        (with numpy; leave-one-out on the memory for a k-NN head) and must agree. None, or a
        checkpoint without an accuracy (your own model's), skips the check.

    Returns
    -------
    Network

    Raises
    ------
    BadCheckpoint
        The file is unreadable, malformed or corrupt.
    LayerlapseError
        It is missing, a directory or not a regular file, or made for another scene or architecture.
    """
    path = Path(path)
    _require_file(path)

    def check(meta: Any, arrays: dict) -> Network:
        return verified(path, meta, arrays, scene_key, config, samples)

    if is_npz(path):
        return check(*_read_npz(path))
    return _load_pt(path, check)


def _require_file(path: Path) -> None:
    """Refuse a missing path, a directory or anything that is not a regular file."""
    if path.is_dir():
        raise LayerlapseError(f"checkpoint: {str(path)!r} is a directory, not a checkpoint file")
    if not path.exists():
        raise LayerlapseError(f"checkpoint: {str(path)!r} does not exist")
    if not path.is_file():
        raise LayerlapseError(f"checkpoint: {str(path)!r} is not a regular file")


def _load_pt(path: Path, check: Callable[[Any, dict], Network]) -> Network:
    """A ``.pt`` checkpoint through ``check``: from its sidecar when that mirrors these bytes
    and passes, else from the ``.pt`` itself (with torch), then the sidecar (re)written."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise bad_checkpoint(path, f"cannot be read ({exc.strerror or exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    found = _read_sidecar(path, digest)
    sidecar_fault = None
    if found is not None:
        try:
            return check(*found)
        except BadCheckpoint as exc:  # the .pt may be sound: it decides
            sidecar_fault = exc.reason
    network = check(*_read_pt(path, data))
    if sidecar_fault is not None:  # stacklevel 3: the warning names load_network's caller
        warnings.warn(f"checkpoint: the numpy sidecar of {str(path)!r}{'' if sidecar_fault.startswith(':') else ' '}"
                      f"{sidecar_fault}; read the .pt instead and rewrote the sidecar", stacklevel=3)
    _write_sidecar(path, meta_of(network), network.weights(), digest, network.memory)
    return network


def _write_npz(target: Path, meta: dict, weights: MLPWeights, source_sha256: str | None = None, *,
               memory: KnnMemory | None = None) -> None:
    meta = {**meta, "source_sha256": source_sha256}
    with open(target, "wb") as f:
        arrays: dict[str, Any] = tensors(weights, memory)
        np.savez(f, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)


def _write_sidecar(path: Path, meta: dict, weights: MLPWeights, digest: str, memory: KnnMemory | None = None) -> None:
    """Best effort: a read-only folder, or a folder in the sidecar's place, just means the
    next load uses torch again."""
    try:
        with atomic_output(sidecar_path(path), "checkpoint") as tmp:
            _write_npz(tmp, meta, weights, digest, memory=memory)
    except (OSError, LayerlapseError):
        pass


def _read_sidecar(path: Path, digest: str) -> tuple[dict, dict] | None:
    """The sidecar's content if it exists, is readable and claims to mirror exactly these
    ``.pt`` bytes (whether it does is checked as for any checkpoint)."""
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


def _not_loadable(path: Path, exc: Exception) -> BadCheckpoint:
    return bad_checkpoint(path, f"is not a loadable layerlapse checkpoint ({type(exc).__name__})")


def _read_npz(path: Path) -> tuple[Any, dict]:
    """(meta, arrays) of an ``.npz`` checkpoint; no pickles are ever loaded."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile) or "meta" not in npz.files:
                raise bad_checkpoint(path, "is not a layerlapse checkpoint")
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
        raise bad_checkpoint(path, "is not a layerlapse checkpoint")
    dtypes = {torch.float32: "float32", torch.int64: "int64"}
    arrays = {}
    for key, prefix, what in (("state_dict", "", "weights"), ("memory", MEMORY, "k-NN memory")):
        group = payload.get(key)
        if group is None and key == "memory":
            continue
        if not isinstance(group, dict):
            raise bad_checkpoint(path, f": its {key} is {kind_of(group)}, not a dict of tensors")
        for name, value in group.items():
            if not isinstance(value, torch.Tensor):
                raise bad_checkpoint(path, f": {prefix}{name} is {kind_of(value)}, not a tensor ({what})")
            if value.dtype not in dtypes or value.layout != torch.strided:
                raise bad_checkpoint(path, f": {prefix}{name} is a {value.dtype} tensor ({what} are float32 or int64)")
            arrays[f"{prefix}{name}"] = value.detach().cpu().numpy()
    return {k: v for k, v in payload.items() if k not in ("state_dict", "memory")}, arrays
