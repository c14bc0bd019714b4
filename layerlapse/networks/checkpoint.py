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

Trust. Both containers (and the sidecar) record ``content_sha256``, :func:`content_sha256` of
the weights and memory, checked on every load: a flipped bit in a weight is found, not
rendered. Given the scene's samples, :func:`load_network` also recomputes the accuracy with
numpy and refuses a checkpoint whose stored accuracy disagrees. Whatever makes a file
unusable (unreadable, malformed, corrupt) raises :class:`BadCheckpoint`, one line naming the
file and the fault; a checkpoint made for another scene or architecture is a plain
:class:`~layerlapse.errors.LayerlapseError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from layerlapse._files import atomic_output
from layerlapse.errors import LayerlapseError
from layerlapse.networks.knn import KnnHead, KnnMemory
from layerlapse.networks.layers import forward
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


class BadCheckpoint(LayerlapseError):
    """A checkpoint file that cannot be used: unreadable, malformed or corrupt (its tensors do
    not match their SHA-256, or its stored accuracy does not match its weights). One line
    naming the file and the fault. A sound checkpoint made for another scene or architecture
    is a plain :class:`~layerlapse.errors.LayerlapseError` instead."""

    reason: str = ""


def _bad(path: Path, reason: str) -> BadCheckpoint:
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


def _tensors(weights: MLPWeights, memory: KnnMemory | None) -> dict[str, np.ndarray]:
    """What :func:`content_sha256` covers, by the names the ``.npz`` uses."""
    extra = {} if memory is None else {f"{MEMORY}samples": memory.samples, f"{MEMORY}labels": memory.labels}
    return {**weights.arrays, **extra}


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
        "content_sha256": content_sha256(_tensors(network.weights(), network.memory)),
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
    if path.is_dir():
        raise LayerlapseError(f"checkpoint: {str(path)!r} is a directory, not a checkpoint file")
    if not path.exists():
        raise LayerlapseError(f"checkpoint: {str(path)!r} does not exist")
    if not path.is_file():
        raise LayerlapseError(f"checkpoint: {str(path)!r} is not a regular file")

    def check(meta: Any, arrays: dict) -> Network:
        return _network(path, meta, arrays, scene_key, config, samples)

    if _is_npz(path):
        return check(*_read_npz(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror or exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    found = _read_sidecar(path, digest)
    sidecar_fault = None
    if found is not None:
        try:
            return check(*found)
        except BadCheckpoint as exc:  # the .pt may be sound: it decides
            sidecar_fault = exc.reason
    network = check(*_read_pt(path, data))
    if sidecar_fault is not None:
        warnings.warn(f"checkpoint: the numpy sidecar of {str(path)!r}{'' if sidecar_fault.startswith(':') else ' '}"
                      f"{sidecar_fault}; read the .pt instead and rewrote the sidecar", stacklevel=2)
    _write_sidecar(path, _meta(network), network.weights(), digest, network.memory)
    return network


def _write_npz(target: Path, meta: dict, weights: MLPWeights, source_sha256: str | None = None, *,
               memory: KnnMemory | None = None) -> None:
    meta = {**meta, "source_sha256": source_sha256}
    with open(target, "wb") as f:
        arrays: dict[str, Any] = _tensors(weights, memory)
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
    return _bad(path, f"is not a loadable layerlapse checkpoint ({type(exc).__name__})")


def _read_npz(path: Path) -> tuple[Any, dict]:
    """(meta, arrays) of an ``.npz`` checkpoint; no pickles are ever loaded."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile) or "meta" not in npz.files:
                raise _bad(path, "is not a layerlapse checkpoint")
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
        raise _bad(path, "is not a layerlapse checkpoint")
    dtypes = {torch.float32: "float32", torch.int64: "int64"}
    arrays = {}
    for key, prefix, what in (("state_dict", "", "weights"), ("memory", MEMORY, "k-NN memory")):
        group = payload.get(key)
        if group is None and key == "memory":
            continue
        if not isinstance(group, dict):
            raise _bad(path, f": its {key} is {_kind(group)}, not a dict of tensors")
        for name, value in group.items():
            if not isinstance(value, torch.Tensor):
                raise _bad(path, f": {prefix}{name} is {_kind(value)}, not a tensor ({what})")
            if value.dtype not in dtypes or value.layout != torch.strided:
                raise _bad(path, f": {prefix}{name} is a {value.dtype} tensor ({what} are float32 or int64)")
            arrays[f"{prefix}{name}"] = value.detach().cpu().numpy()
    return {k: v for k, v in payload.items() if k not in ("state_dict", "memory")}, arrays


def _kind(value: object) -> str:
    """``a list``, ``a str``: what a malformed entry holds, for a message."""
    return "missing" if value is None else f"a {type(value).__name__}"


def _header(path: Path, meta: dict) -> tuple[NetworkConfig, TrainConfig | None, dict, float | None, str | None]:
    """(config, training, scene, accuracy, content hash) of a checkpoint's header."""

    def fault(key: str, what: str) -> BadCheckpoint:
        return _bad(path, f"has a bad header: {key!r} {what}")

    version = meta.get("version")
    if type(version) is not int or version not in READS:
        raise _bad(path, f"has format version {version!r}; this layerlapse reads versions "
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
        raise fault("scene", f"is {_kind(scene)}, not a dict")
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
            raise _bad(path, f": weights do not match its config ({name} is missing for a {config.describe()} network)")
        a = arrays[name]
        if a.dtype != np.float32:
            raise _bad(path, f": weights do not match its config ({name} is {a.dtype}, not float32)")
        if a.shape != shape:
            raise _bad(path, f": weights do not match its config ({name} has shape {a.shape}, expected {shape} "
                             f"for a {config.describe()} network)")
    extra = sorted(set(arrays) - set(shapes))
    if extra:
        raise _bad(path, f": weights do not match its config ({extra[0]} is not a weight of a "
                         f"{config.describe()} network)")


def _memory(path: Path, config: NetworkConfig, arrays: dict) -> KnnMemory | None:
    """The k-NN memory (``memory.*`` arrays, removed from ``arrays``), None for a linear head."""
    found = {name[len(MEMORY):]: arrays.pop(name) for name in list(arrays) if name.startswith(MEMORY)}
    if config.head != "knn":
        if found:
            raise _bad(path, ": holds a k-NN memory but its head is linear")
        return None
    if set(found) != {"samples", "labels"}:
        raise _bad(path, ": a k-NN head without its memory (training samples)")
    samples, labels = found["samples"], found["labels"]
    if samples.dtype != np.float32 or labels.dtype != np.int64:
        raise _bad(path, f": its k-NN memory holds {samples.dtype} samples and {labels.dtype} labels, "
                         "not float32 and int64")
    try:
        memory = KnnMemory(samples, labels)
    except LayerlapseError as exc:
        raise _bad(path, f": {str(exc).partition(': ')[2]}") from None
    if memory.samples.shape[1] != config.input_dim or memory.labels.max() >= config.classes \
            or memory.labels.min() < 0:
        raise _bad(path, ": its k-NN memory does not match its config")
    return memory


def _network(path: Path, meta: Any, arrays: dict, scene_key: dict | None, config: NetworkConfig | None,
             samples: tuple[np.ndarray, np.ndarray] | None) -> Network:
    """Check what was loaded against itself and the caller's expectations; the same for both containers."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _bad(path, "is not a layerlapse checkpoint")
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
    if digest is not None and content_sha256(_tensors(weights, memory)) != digest:
        raise _bad(path, "is corrupt: its tensors do not match their SHA-256 (a changed weight)")
    # version 1 (no hash): trusted as far as the structure, NaN/Inf and the accuracy below go
    bad = weights.nonfinite()
    if bad is not None:
        raise _bad(path, f": {bad} holds NaN or Inf")
    network = Network(weights, saved_config, training, accuracy, saved_scene, memory)
    if samples is not None and accuracy is not None:
        try:
            with np.errstate(all="ignore"):  # a changed weight may overflow: then the accuracy tells
                low, high = accuracy_bounds(network, *samples)
        except LayerlapseError as exc:  # e.g. a k-NN memory carried to Inf
            raise _bad(path, f"is corrupt: its weights cannot be evaluated ({str(exc).partition(': ')[2]})") from None
        if not low - ACCURACY_TOL <= accuracy <= high + ACCURACY_TOL:
            found = f"{low:.6g}" if low == high else f"{low:.6g} to {high:.6g}"
            raise _bad(path, f"does not match its weights: it says accuracy {accuracy:.6g}, but they score "
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
