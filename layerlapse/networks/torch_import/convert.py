"""Convert a recognised PyTorch model into our layers: its NetworkConfig and MLPWeights, and
the check that the converted layers reproduce the module's own outputs.

torch is imported inside the functions: importing this module does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_CLASSES, MAX_HIDDEN_LAYERS, MAX_INPUT_DIM, MAX_WIDTH, REASONS
from layerlapse.networks.layers import forward
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.stages.activation import Activation
from layerlapse.networks.torch_import.identify import SUPPORTED, Part, Structure, structure
from layerlapse.networks.train import Network

if TYPE_CHECKING:
    import torch

#: the relative tolerance between the module's outputs and the converted layers'
RTOL = 1e-4
_PROBES = 64  # random inputs the conversion is checked on (besides the samples)
#: each Linear's weight (out, in) and bias (out,) (None: bias=False)
Tensors = list[tuple["torch.Tensor", "torch.Tensor | None"]]


def _linear_tensors(part: Part) -> tuple[torch.Tensor, torch.Tensor | None]:
    params = dict(part.module.named_parameters(recurse=False))
    W, b = params.get("weight"), params.get("bias")
    if W is None or W.dim() != 2 or (b is not None and tuple(b.shape) != (W.shape[0],)):
        raise LayerlapseError(f"model: {part.label()} has no (out, in) weight matrix; {SUPPORTED}")
    for pname, t in (("weight", W), ("bias", b)):
        if t is None:
            continue
        if not t.is_floating_point():
            raise LayerlapseError(f"model: parameter '{part.where}.{pname}' of {part.label()} is {t.dtype}; "
                                  "floating point parameters are needed")
        if not bool(t.detach().isfinite().all()):
            raise LayerlapseError(f"model: parameter '{part.where}.{pname}' of {part.label()} holds NaN or Inf")
    return W, b



def network_from_module(
    module: torch.nn.Module,
    *,
    input_dim: int,
    samples: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    scene_key: Mapping[str, Any] | None = None,
) -> tuple[Network, list[str]]:
    """Convert a trained PyTorch classifier into a :class:`~layerlapse.networks.train.Network`.

    The module must be an ``nn.Sequential`` (nested Sequentials are flattened; a
    TorchScript-loaded one from :func:`load_model_file` works too) of ``nn.Linear`` layers,
    each followed by at most one element-wise activation: Tanh, Sigmoid, Softplus (beta),
    ReLU, LeakyReLU (negative_slope), ELU (alpha), SiLU, GELU (approximate 'none' or
    'tanh') or Identity. A Linear followed directly by a Linear is a hidden layer with the
    identity activation; ``nn.Identity`` and ``nn.Dropout`` in eval mode are skipped. The
    last Linear is the classifier head; strictly increasing activations and
    Softmax/LogSoftmax after it do not change the winning class and are left out. A head
    with one output ``z`` (a binary logit: class 1 when ``z > 0``) is drawn as the two
    logits ``[0, z]``.

    The module is not modified (its train/eval mode included). Its outputs are compared
    with the converted layers' on ``samples`` and on random inputs; a difference is an
    error.

    Parameters
    ----------
    module
        The trained ``torch.nn.Module``.
    input_dim
        The scene's dimension; the first Linear must take this many inputs.
    samples, labels
        The scene's samples (N, input_dim) and labels (N,) in 0 .. classes - 1; with them the
        accuracy is the module's own (computed with torch), else None.
    scene_key
        The scene's name and parameters (``scene.key``), stored with the network; its
        ``name`` is used in messages.

    Returns
    -------
    tuple[Network, list[str]]
        The network (``training`` None) and notes for the user, one line each: skipped or
        dropped modules, a one-output head, activations that are not homeomorphisms.

    Raises
    ------
    LayerlapseError
        One line naming the module, the value and what is supported.
    """
    key = dict(scene_key or {})
    scene = f"scene '{key['name']}'" if isinstance(key.get("name"), str) else "the scene"
    s = structure(module)
    notes = list(s.notes)
    tensors = [_linear_tensors(p) for p in [h.linear for h in s.hidden] + [s.head]]
    outputs = _check_shapes(s, tensors, input_dim, scene)
    config, weights = _weights(s, tensors, input_dim, outputs, notes)

    X = _probes(input_dim)
    if samples is not None or labels is not None:
        X_s, y = _samples(samples, labels, input_dim)
        X = np.vstack([X_s, X])
    out, eps = _module_outputs(module, X, outputs)
    _check_same(weights, s, out, X, outputs, rtol=max(RTOL, 100 * eps))
    accuracy = None
    if samples is not None:
        accuracy = _accuracy(out[: len(X_s)], y, s.tail, outputs, scene, notes)
    return Network(weights, config, None, accuracy, key), notes


def _check_shapes(s: Structure, tensors: Tensors, input_dim: int, scene: str) -> int:
    """Refuse a model whose layers do not chain from the scene's dimension, or that passes a
    bound of :mod:`layerlapse.limits`; the head's number of outputs."""
    linears = [h.linear for h in s.hidden] + [s.head]
    if len(s.hidden) > MAX_HIDDEN_LAYERS:
        raise LayerlapseError(f"model: {len(s.hidden)} hidden layers; "
                              f"at most {MAX_HIDDEN_LAYERS} are supported")
    n_in = int(tensors[0][0].shape[1])
    if n_in > MAX_INPUT_DIM:
        raise LayerlapseError(f"model: the first Linear takes {n_in} inputs; at most {MAX_INPUT_DIM} are supported")
    if n_in != input_dim:
        raise LayerlapseError(f"model: the first Linear takes {n_in} inputs but {scene} is {input_dim}-D")
    width = n_in
    for part, (W, _) in zip(linears, tensors):
        if int(W.shape[1]) != width:
            raise LayerlapseError(f"model: {part.label()} takes {int(W.shape[1])} inputs but the layer "
                                  f"before it gives {width}")
        width = int(W.shape[0])
    for k, (part, (W, _)) in enumerate(zip(linears[:-1], tensors[:-1])):
        if W.shape[0] > MAX_WIDTH:
            raise LayerlapseError(
                f"model: hidden layer {k + 1} ({part.label()}) has {int(W.shape[0])} neurons; at most "
                f"{MAX_WIDTH} are supported ({REASONS['hidden']})")
    outputs = int(tensors[-1][0].shape[0])
    if outputs > MAX_CLASSES:
        raise LayerlapseError(f"model: the classifier head ({s.head.label()}) has {outputs} outputs; "
                              f"at most {MAX_CLASSES} classes are supported")
    return outputs


def _weights(s: Structure, tensors: Tensors, input_dim: int, outputs: int,
             notes: list[str]) -> tuple[NetworkConfig, MLPWeights]:
    """The config and float32 weights of the converted layers; a one-output head becomes the
    two logits ``[0, z]``. What the user should know is appended to ``notes``."""
    import torch

    def array(t: torch.Tensor | None, rows: int) -> np.ndarray:
        if t is None:  # Linear(bias=False)
            return np.zeros(rows, dtype=np.float32)
        return t.detach().to("cpu", torch.float32).numpy().copy()

    hidden_arrays = [(array(W, 0), array(b, int(W.shape[0]))) for W, b in tensors[:-1]]
    W_head, b_head = array(tensors[-1][0], 0), array(tensors[-1][1], outputs)
    if outputs == 1:
        if any(step is None for _, step in s.tail):
            raise LayerlapseError(f"model: the classifier head ({s.head.label()}) has one output and is "
                                  "followed by Softmax, which makes every output 1; remove the Softmax")
        W_head = np.vstack([np.zeros_like(W_head), W_head])
        b_head = np.concatenate([np.zeros(1, np.float32), b_head])
        notes.append(f"the classifier head ({s.head.label()}) has one output z (class 1 when z > 0); "
                     "it is drawn as the two logits [0, z], which give the same classes")
    for part, step in s.tail:
        what = part.name if step is None else step.spec
        notes.append(f"{part.label()} after the classifier head keeps the winning class ({what}); left out")
    specs = tuple(h.act.spec if h.act is not None else "identity" for h in s.hidden)
    config = NetworkConfig(input_dim=input_dim, hidden=tuple(int(W.shape[0]) for W, _ in hidden_arrays),
                           classes=max(outputs, 2), activations=specs)
    weights = MLPWeights.from_layers(config, hidden_arrays, (W_head, b_head))
    bad = weights.nonfinite()
    if bad is not None:
        raise LayerlapseError(f"model: parameter {bad} does not fit in float32 (it overflows to Inf)")
    for k, h in enumerate(s.hidden):
        if h.act is not None and not h.act.injective:
            notes.append(f"layer {k + 1}: {h.act.spec} is not a homeomorphism (it folds space)")
    return config, weights


def _accuracy(out: np.ndarray, y: np.ndarray, tail: list[tuple[Part, Activation | None]], outputs: int,
              scene: str, notes: list[str]) -> float | None:
    """The module's accuracy from its outputs (N, outputs) on the scene's samples, labels y (N,);
    None when there are no samples. A class count that differs from the scene's is an error or a note."""
    if outputs == 1:
        pred = (out[:, 0] > _tail_at_zero(tail)).astype(int)
    else:
        pred = out.argmax(1)
    classes = max(outputs, 2)
    if len(y) and int(y.max()) >= classes:
        raise LayerlapseError(f"model: the classifier head gives {classes} classes but {scene} has "
                              f"{int(y.max()) + 1}")
    if len(y) and int(y.max()) + 1 < classes:
        notes.append(f"the classifier head gives {classes} classes; {scene} has {int(y.max()) + 1}")
    return float((pred == y).mean()) if len(y) else None


def _probes(input_dim: int) -> np.ndarray:
    """Random inputs the conversion is checked on (the global RNG is left alone)."""
    return np.random.default_rng(0).normal(scale=2.0, size=(_PROBES, input_dim))


def _samples(samples: Any, labels: Any, input_dim: int) -> tuple[np.ndarray, np.ndarray]:
    if samples is None or labels is None:
        raise LayerlapseError("model: samples and labels go together; give both or neither")
    X = np.asarray(samples, dtype=np.float64)
    y = np.asarray(labels)
    # the samples and labels are the scene's data, not the model: their faults name them
    if X.ndim != 2 or X.shape[1] != input_dim:
        raise LayerlapseError(f"samples: shape {X.shape}; (N, {input_dim}) is needed")
    if y.shape != (len(X),) or (len(y) and y.dtype.kind not in "iub"):
        raise LayerlapseError(f"labels: {y.dtype} of shape {y.shape}; allowed: ({len(X)},) integers "
                              "(Scene.from_points also takes whole-number floats and strings)")
    return X, y.astype(np.int64)


def _module_outputs(module: Any, X: np.ndarray, outputs: int) -> tuple[np.ndarray, float]:
    """The module's own outputs on X (no_grad, its mode untouched) as float64, and the
    machine epsilon of its parameters' dtype."""
    import torch

    first = next(iter(module.parameters()))
    x = torch.as_tensor(X, dtype=first.dtype, device=first.device)
    try:
        with torch.no_grad():
            out = module(x)
    except Exception as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LayerlapseError(f"model: running the model on {len(X)} inputs failed: {line}") from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(X), outputs):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise LayerlapseError(f"model: the model returned {shape} for {len(X)} inputs; "
                              f"({len(X)}, {outputs}) was expected")
    return out.detach().to("cpu", torch.float64).numpy(), float(torch.finfo(first.dtype).eps)


def _apply_tail(Z: np.ndarray, tail: list[tuple[Part, Activation | None]]) -> np.ndarray:
    for part, step in tail:
        if step is not None:
            Z = step(Z)
        else:
            shifted = Z - Z.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            Z = log_p if part.name == "LogSoftmax" else np.exp(log_p)
    return Z


def _tail_at_zero(tail: list[tuple[Part, Activation | None]]) -> float:
    """Where a one-output model's decision threshold z = 0 lands after the tail."""
    return float(_apply_tail(np.zeros((1, 1)), tail)[0, 0])


def _check_same(weights: MLPWeights, s: Structure, out: np.ndarray, X: np.ndarray, outputs: int,
                rtol: float = RTOL) -> None:
    """The converted layers (numpy, float64) must reproduce the module's outputs."""
    hidden, head = weights.layers()
    assert head is not None  # a converted model always has a linear head
    Z = head(forward(hidden, X))
    if outputs == 1:
        Z = Z[:, 1:] - Z[:, :1]
    with np.errstate(over="ignore", invalid="ignore"):
        ours = _apply_tail(Z, s.tail)
    scale = 1.0 + np.abs(out).max(axis=1, keepdims=True)
    err = np.abs(ours - out) / scale
    err = np.where(np.isnan(err), np.inf, err)
    if err.size and float(err.max()) > rtol:
        i = int(np.unravel_index(int(np.argmax(err)), err.shape)[0])
        raise LayerlapseError(
            f"model: the converted layers do not reproduce the model's outputs (relative difference "
            f"{float(err.max()):.2g} at input {i}); an unsupported construct (a forward hook, a patched "
            "forward, a modified module class) may be hiding in it")
