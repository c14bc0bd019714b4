"""Bring your own PyTorch model: a trained ``nn.Sequential`` becomes a :class:`Network`.

What converts (see :func:`network_from_module`): an ``nn.Sequential`` (nested ones are
flattened) of ``nn.Linear`` layers, each followed by at most one element-wise activation
(Tanh, Sigmoid, Softplus, ReLU, LeakyReLU, ELU, SiLU, GELU, Identity). The last Linear is
the classifier head. ``nn.Identity`` and ``nn.Dropout`` in eval mode are skipped; after
the head, strictly increasing activations and Softmax/LogSoftmax are left out because
they do not change which class wins. Everything else is refused with one line that
names the module.

What loads from a file (see :func:`load_model_file`): TorchScript archives only
(``torch.jit.save(torch.jit.script(model), "model.pt")`` or ``torch.jit.trace``). They
hold TorchScript, not pickled Python, so loading one does not run arbitrary code. A
plain ``torch.save(model)`` pickle, a ``state_dict``, a legacy pickle and a
``torch.export`` program (``.pt2``, which ``torch.export.load`` unpickles) are refused
*before* anything in them is unpickled: the file is only listed as a zip archive and its
pickle disassembled (:mod:`pickletools`), never executed.

torch is imported inside the functions: importing this module does not import it.
"""

from __future__ import annotations

import io
import math
import pickletools
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.layers import forward
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.stages.activation import Activation
from layerlapse.networks.train import Network

if TYPE_CHECKING:
    import torch

#: the widest hidden layer accepted: the animation runs in R^(widest layer) and the view
#: projects that space to 3-D, which says little about hundreds of dimensions
MAX_WIDTH = 64
MAX_HIDDEN_LAYERS = 32  # NetworkConfig.hidden
MAX_CLASSES = 16  # NetworkConfig.classes
#: Softplus is drawn without its linear cut-off; below this threshold the cut-off is visible
MIN_SOFTPLUS_THRESHOLD = 10.0
SUPPORTED = ("a model must be an nn.Sequential of nn.Linear and element-wise activations "
             "(Tanh, Sigmoid, Softplus, ReLU, LeakyReLU, ELU, SiLU, GELU, Identity; Dropout in eval mode)")
SAVE_HINT = "torch.jit.save(torch.jit.script(model), 'model.pt')"
#: the relative tolerance between the module's outputs and the converted layers'
RTOL = 1e-4
_PROBES = 64  # random inputs the conversion is checked on (besides the samples)


# --------------------------------------------------------------------------- modules


@dataclass(frozen=True)
class _Part:
    """One module of the flattened sequence."""

    index: int  # position in the flattened sequence (0-based)
    where: str  # its name in the model, e.g. "2" or "1.0" inside a nested Sequential
    name: str  # class name, e.g. "Linear"
    kind: str  # linear, activation, softmax, dropout, identity, sequential or "" (unsupported)
    module: Any

    def label(self) -> str:
        at = "" if self.where == str(self.index) else f" at '{self.where}'"
        return f"module {self.index} ({self.name}{at})"


@dataclass
class _Hidden:
    """A Linear and the activation after it (None until one is seen)."""

    linear: _Part
    act: Activation | None = None
    act_part: _Part | None = None


def _kinds() -> dict[str, str]:
    """Fully qualified torch.nn class name -> kind."""
    from torch import nn

    table = {
        nn.Sequential: "sequential", nn.Linear: "linear", nn.Identity: "identity", nn.Dropout: "dropout",
        nn.Softmax: "softmax", nn.LogSoftmax: "softmax",
    }
    for cls in (nn.Tanh, nn.Sigmoid, nn.Softplus, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SiLU, nn.GELU):
        table[cls] = "activation"
    return {f"{cls.__module__}.{cls.__qualname__}": kind for cls, kind in table.items()}


_MANGLE = re.compile(r"\.___torch_mangle_\d+")


def _identify(module: Any, kinds: dict[str, str]) -> tuple[str, str]:
    """(class name, kind) of an eager or TorchScript module; kind "" when unsupported.

    Eager modules must be exactly the torch.nn class (a subclass may override forward).
    A TorchScript module keeps its class's qualified name, e.g.
    ``__torch__.torch.nn.modules.linear.___torch_mangle_3.Linear``: a user's own class
    called ``Linear`` has another module path.
    """
    import torch

    if isinstance(module, torch.jit.ScriptModule):
        name = str(getattr(module, "original_name", type(module).__name__))
        try:
            qualified = module._c._type().qualified_name()
        except Exception:
            return name, next((k for path, k in kinds.items() if path.rsplit(".", 1)[1] == name), "")
        path = _MANGLE.sub("", qualified.removeprefix("__torch__."))
        return name, kinds.get(path, "")
    cls = type(module)
    return cls.__name__, kinds.get(f"{cls.__module__}.{cls.__qualname__}", "")


def _flatten(model: Any, kinds: dict[str, str]) -> list[_Part]:
    """The modules of a (nested) Sequential in order."""
    parts: list[_Part] = []

    def walk(seq: Any, prefix: str) -> None:
        for child_name, child in seq.named_children():
            where = f"{prefix}{child_name}"
            name, kind = _identify(child, kinds)
            if kind == "sequential":
                walk(child, where + ".")
            else:
                parts.append(_Part(len(parts), where, name, kind, child))

    walk(model, "")
    return parts


def _graph_constant(module: Any, ops: tuple[str, ...], position: int) -> Any:
    """The constant argument ``position`` of the first ``ops`` call in a TorchScript
    module's graph (a traced module keeps its activations' parameters only there)."""
    graph = getattr(module, "graph", None)
    if graph is None:
        raise AttributeError(position)
    for node in graph.nodes():
        if node.kind() in ops:
            inputs = list(node.inputs())
            if position < len(inputs) and inputs[position].node().kind() == "prim::Constant":
                return inputs[position].toIValue()
    raise AttributeError(position)


def _param(part: _Part, attr: str, op: str, position: int) -> Any:
    """An activation's parameter: the module attribute (eager, scripted), else the
    constant in its graph (traced)."""
    try:
        return getattr(part.module, attr)
    except AttributeError:
        pass
    try:
        return _graph_constant(part.module, (op, op + "_"), position)
    except AttributeError:
        raise LayerlapseError(f"model: cannot read the {attr} of {part.label()}; "
                              f"save the model with {SAVE_HINT}") from None


def _number(part: _Part, attr: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise LayerlapseError(f"model: {part.label()} has {attr} {value!r}; a number is needed") from None
    if not math.isfinite(x):
        raise LayerlapseError(f"model: {part.label()} has {attr} {x}; it must be finite")
    return x


def _activation(part: _Part) -> Activation:
    """The activation spec of an activation module."""
    name = part.name

    def number(attr: str, op: str, position: int) -> float:
        return _number(part, attr, _param(part, attr, op, position))

    simple = {"Tanh": "tanh", "Sigmoid": "sigmoid", "ReLU": "relu", "SiLU": "silu"}
    if name in simple:
        spec = simple[name]
    elif name == "LeakyReLU":
        spec = f"leaky_relu({number('negative_slope', 'aten::leaky_relu', 1)!r})"
    elif name == "ELU":
        spec = f"elu({number('alpha', 'aten::elu', 1)!r})"
    elif name == "Softplus":
        beta = number("beta", "aten::softplus", 1)
        threshold = number("threshold", "aten::softplus", 2)
        if threshold < MIN_SOFTPLUS_THRESHOLD:
            raise LayerlapseError(
                f"model: {part.label()} has threshold {threshold:g}; above it Softplus is cut to a line, "
                f"which layerlapse does not draw; thresholds >= {MIN_SOFTPLUS_THRESHOLD:g} are supported "
                "(the default is 20)")
        spec = f"softplus({beta!r})"
    elif name == "GELU":
        approximate = _param(part, "approximate", "aten::gelu", 1)
        if approximate not in ("none", "tanh"):
            raise LayerlapseError(f"model: {part.label()} has approximate={approximate!r}; "
                                  "allowed: 'none', 'tanh'")
        spec = "gelu" if approximate == "none" else "gelu_tanh"
    else:  # pragma: no cover - _kinds lists exactly the names above
        raise LayerlapseError(f"model: {part.label()} is not supported; {SUPPORTED}")
    try:
        return Activation.parse(spec)
    except LayerlapseError as exc:
        raise LayerlapseError(f"model: {part.label()}: {str(exc).partition(': ')[2]}") from None


def _check_dropout(part: _Part) -> None:
    """Refuse a Dropout that is active (training mode): its output is random."""
    training = bool(getattr(part.module, "training", False))
    try:  # a traced Dropout bakes the mode into its graph
        training = training or bool(_graph_constant(part.module, ("aten::dropout", "aten::dropout_"), 2))
    except AttributeError:
        pass
    if training:
        raise LayerlapseError(f"model: {part.label()} is in training mode (its output is random); "
                              "call model.eval() before converting or saving the model")


def _linear_tensors(part: _Part) -> tuple[torch.Tensor, torch.Tensor | None]:
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


# --------------------------------------------------------------------------- structure


@dataclass
class _Structure:
    hidden: list[_Hidden]
    head: _Part
    tail: list[tuple[_Part, Activation | None]]  # after the head; None: (log-)softmax
    notes: list[str]


def _structure(model: Any) -> _Structure:
    """Check the module and split it into hidden layers, the head and what follows."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise LayerlapseError(f"model: expected a torch.nn.Module, got {type(model).__name__}; {SUPPORTED}")
    kinds = _kinds()
    name, kind = _identify(model, kinds)
    if kind == "linear":  # a lone Linear: a linear classifier, no hidden layer
        parts = [_Part(0, "0", name, kind, model)]
    elif kind == "sequential":
        parts = _flatten(model, kinds)
    else:
        raise LayerlapseError(f"model: the model is a {name}, not an nn.Sequential; {SUPPORTED}")

    for part in parts:
        if not part.kind:
            raise LayerlapseError(f"model: {part.label()} is not supported; {SUPPORTED}")
    linears = [p for p in parts if p.kind == "linear"]
    if not linears:
        raise LayerlapseError(f"model: no nn.Linear layer ({len(parts)} modules); {SUPPORTED}")

    notes: list[str] = []
    hidden: list[_Hidden] = []
    head_index = linears[-1].index
    tail: list[tuple[_Part, Activation | None]] = []
    for part in parts:
        if part.kind == "identity":
            continue
        if part.kind == "dropout":
            _check_dropout(part)
            notes.append(f"{part.label()} is the identity in eval mode; skipped")
            continue
        if part.index > head_index:
            tail.append((part, _tail_step(part)))
            continue
        if part.kind == "linear":
            hidden.append(_Hidden(part))
        elif part.kind == "softmax":
            raise LayerlapseError(f"model: {part.label()} before the last Linear is not supported "
                                  "(it is not element-wise; Softmax is allowed only after the "
                                  f"classifier head); {SUPPORTED}")
        elif not hidden:
            raise LayerlapseError(f"model: {part.label()} comes before any Linear; "
                                  "a model must start with an nn.Linear")
        elif hidden[-1].act is not None:
            previous = hidden[-1].act_part
            raise LayerlapseError(
                f"model: {part.label()} follows another activation ({previous.label() if previous else '?'}); "
                "each Linear may be followed by at most one activation")
        else:
            hidden[-1].act, hidden[-1].act_part = _activation(part), part
    head = hidden.pop()
    return _Structure(hidden, head.linear, tail, notes)


def _tail_step(part: _Part) -> Activation | None:
    """What follows the head must keep the winning class: a strictly increasing
    element-wise activation, or (Log)Softmax over the classes."""
    if part.kind == "softmax":
        dim = _param(part, "dim", "aten::softmax" if part.name == "Softmax" else "aten::log_softmax", 1)
        if dim not in (None, 1, -1):
            raise LayerlapseError(f"model: {part.label()} has dim={dim}; after the classifier head only "
                                  "Softmax/LogSoftmax over the classes (dim=1 or -1) is supported")
        return None
    if part.kind == "linear":  # pragma: no cover - the head is the last Linear
        raise AssertionError(part)
    act = _activation(part)
    if not act.injective:
        raise LayerlapseError(
            f"model: {part.label()} after the last Linear (the classifier head) can change which class wins "
            f"({act.spec} is not strictly increasing); after the head only strictly increasing activations "
            "(Tanh, Sigmoid, Softplus, ELU, LeakyReLU with a positive slope) and Softmax/LogSoftmax "
            "are supported")
    return act


# --------------------------------------------------------------------------- conversion


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
    import torch

    key = dict(scene_key or {})
    scene = f"scene '{key['name']}'" if isinstance(key.get("name"), str) else "the scene"
    s = _structure(module)
    notes = list(s.notes)

    linears = [h.linear for h in s.hidden] + [s.head]
    tensors = [_linear_tensors(p) for p in linears]
    if len(s.hidden) > MAX_HIDDEN_LAYERS:
        raise LayerlapseError(f"model: {len(s.hidden)} hidden layers; "
                              f"at most {MAX_HIDDEN_LAYERS} are supported")
    n_in = int(tensors[0][0].shape[1])
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
                f"{MAX_WIDTH} are supported (the animation runs in R^n for the widest layer n and the "
                "view projects it to 3-D)")
    outputs = int(tensors[-1][0].shape[0])
    if outputs > MAX_CLASSES:
        raise LayerlapseError(f"model: the classifier head ({s.head.label()}) has {outputs} outputs; "
                              f"at most {MAX_CLASSES} classes are supported")

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

    accuracy = None
    X = _probes(input_dim)
    if samples is not None or labels is not None:
        X_s, y = _samples(samples, labels, input_dim)
        X = np.vstack([X_s, X])
    out, eps = _module_outputs(module, X, outputs)
    _check_same(weights, s, out, X, outputs, rtol=max(RTOL, 100 * eps))
    if samples is not None:
        out_s = out[: len(X_s)]
        if outputs == 1:
            pred = (out_s[:, 0] > _tail_at_zero(s.tail)).astype(int)
        else:
            pred = out_s.argmax(1)
        classes = max(outputs, 2)
        if len(y) and int(y.max()) >= classes:
            raise LayerlapseError(f"model: the classifier head gives {classes} classes but {scene} has "
                                  f"{int(y.max()) + 1}")
        if len(y) and int(y.max()) + 1 < classes:
            notes.append(f"the classifier head gives {classes} classes; {scene} has {int(y.max()) + 1}")
        accuracy = float((pred == y).mean()) if len(y) else None
    return Network(weights, config, None, accuracy, key), notes


def _probes(input_dim: int) -> np.ndarray:
    """Random inputs the conversion is checked on (the global RNG is left alone)."""
    return np.random.default_rng(0).normal(scale=2.0, size=(_PROBES, input_dim))


def _samples(samples: Any, labels: Any, input_dim: int) -> tuple[np.ndarray, np.ndarray]:
    if samples is None or labels is None:
        raise LayerlapseError("model: samples and labels go together; give both or neither")
    X = np.asarray(samples, dtype=np.float64)
    y = np.asarray(labels)
    if X.ndim != 2 or X.shape[1] != input_dim:
        raise LayerlapseError(f"model: samples have shape {X.shape}; (N, {input_dim}) is needed")
    if y.shape != (len(X),) or (len(y) and y.dtype.kind not in "iub"):
        raise LayerlapseError(f"model: labels have shape {y.shape} ({y.dtype}); "
                              f"({len(X)},) integers are needed")
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


def _apply_tail(Z: np.ndarray, tail: list[tuple[_Part, Activation | None]]) -> np.ndarray:
    for part, step in tail:
        if step is not None:
            Z = step(Z)
        else:
            shifted = Z - Z.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            Z = log_p if part.name == "LogSoftmax" else np.exp(log_p)
    return Z


def _tail_at_zero(tail: list[tuple[_Part, Activation | None]]) -> float:
    """Where a one-output model's decision threshold z = 0 lands after the tail."""
    return float(_apply_tail(np.zeros((1, 1)), tail)[0, 0])


def _check_same(weights: MLPWeights, s: _Structure, out: np.ndarray, X: np.ndarray, outputs: int,
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


# --------------------------------------------------------------------------- files


def load_model_file(path: str | Path) -> torch.nn.Module:
    """Load a TorchScript model file, refusing anything that would be unpickled.

    Parameters
    ----------
    path
        A TorchScript archive: ``torch.jit.save(torch.jit.script(model), "model.pt")`` (or
        ``torch.jit.trace``).

    Returns
    -------
    torch.nn.Module
        The loaded ``torch.jit.ScriptModule`` on the CPU, in the mode it was saved in; give
        it to :func:`network_from_module`.

    Raises
    ------
    LayerlapseError
        One line for a missing file, a directory, a file that is not a TorchScript archive,
        and for ``torch.save`` pickles (a model, a ``state_dict`` or a checkpoint), legacy
        pickles and ``torch.export`` programs, which are refused before any of their
        content is unpickled: unpickling runs whatever code the file names.
    """
    p = Path(path)
    if not p.exists():
        raise LayerlapseError(f"model: file '{p}' does not exist")
    if p.is_dir():
        raise LayerlapseError(f"model: '{p}' is a directory; give a TorchScript file saved with {SAVE_HINT}")
    if not zipfile.is_zipfile(p):
        _refuse_non_zip(p)
    try:
        with zipfile.ZipFile(p) as archive:
            names = archive.namelist()
            entries = {n.split("/", 1)[1] for n in names if "/" in n}
            if any(e.startswith("code/") for e in entries) and "data.pkl" in entries:
                pass  # TorchScript: loaded below
            elif "archive_format" in entries or any(e.startswith("models/") for e in entries):
                raise LayerlapseError(
                    f"model: '{p}' is a torch.export program (.pt2); torch.export.load unpickles "
                    "parts of it, which can run arbitrary code, so layerlapse does not load it; "
                    f"save the model with {SAVE_HINT}")
            elif "data.pkl" in entries:
                pkl = next(n for n in names if n.endswith("/data.pkl") and n.count("/") == 1)
                _refuse_pickle(p, archive.read(pkl))
            else:
                raise LayerlapseError(f"model: '{p}' is a zip archive but not a TorchScript model; "
                                      f"save the model with {SAVE_HINT}")
    except zipfile.BadZipFile as exc:
        raise LayerlapseError(f"model: '{p}' is a damaged zip archive ({exc}); "
                              f"save the model with {SAVE_HINT}") from None
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in recent torch
            return torch.jit.load(str(p), map_location="cpu")
    except Exception as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LayerlapseError(f"model: '{p}' could not be loaded as TorchScript: {line}") from None


_PICKLE_REASON = "loading it would run arbitrary code (it is unpickled), so layerlapse does not load it"
_SAFE_GLOBALS = ("torch.", "collections.OrderedDict", "builtins.", "__builtin__.", "_codecs.", "numpy.")


def _refuse_non_zip(p: Path) -> None:
    with p.open("rb") as f:
        head = f.read(2)
    if p.suffix.lower() == ".onnx":
        raise LayerlapseError(f"model: '{p}' is an ONNX model, which is not supported; "
                              f"save the PyTorch model with {SAVE_HINT}")
    if p.suffix.lower() == ".safetensors":
        raise LayerlapseError(f"model: '{p}' holds tensors only (no architecture); "
                              f"save the model itself with {SAVE_HINT}")
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # a pickle's PROTO opcode
        with p.open("rb") as f:
            data = f.read()
        _refuse_pickle(p, data, legacy=True)
    raise LayerlapseError(f"model: '{p}' is not a TorchScript archive (not a zip file); "
                          f"save the model with {SAVE_HINT}")


def _refuse_pickle(p: Path, data: bytes, legacy: bool = False) -> None:
    """Say what a torch.save pickle holds, read by disassembly only, and refuse it."""
    names, strings = _pickle_globals(data, pickles=4 if legacy else 1)
    what = "a legacy torch.save pickle" if legacy else "a torch.save pickle"
    if "layerlapse-checkpoint" in strings:
        raise LayerlapseError(f"model: '{p}' is a layerlapse checkpoint, not a PyTorch model; "
                              "pass it with --checkpoint (checkpoint=) instead")
    if names is None:
        raise LayerlapseError(f"model: '{p}' is {what} that cannot be read; {_PICKLE_REASON}; "
                              f"save the model with {SAVE_HINT}")
    modules = sorted(n for n in names if n.startswith("torch.nn.modules."))
    foreign = sorted(n for n in names if not n.startswith(_SAFE_GLOBALS))
    if modules or foreign:
        shown = (foreign + modules)[:3]
        holds = f" (it names {', '.join(shown)})" if shown else ""
        raise LayerlapseError(f"model: '{p}' is {what} of a model{holds}; {_PICKLE_REASON}; "
                              f"save it with {SAVE_HINT} instead")
    raise LayerlapseError(f"model: '{p}' is {what} of tensors only (a state_dict or checkpoint: no "
                          f"architecture); save the model itself with {SAVE_HINT}")


_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING",
               "BINSTRING", "STRING"}


def _pickle_globals(data: bytes, pickles: int = 1) -> tuple[set[str] | None, set[str]]:
    """The ``module.name`` globals and the strings a pickle refers to, by disassembly
    (:func:`pickletools.genops`: nothing is constructed or run). Globals None when the
    stream cannot be read."""
    names: set[str] = set()
    strings: set[str] = set()
    stream = io.BytesIO(data)
    try:
        for _ in range(pickles):
            if stream.tell() >= len(data):
                break
            memo: dict[int, Any] = {}
            pushed: list[Any] = [None, None]
            for op, arg, _pos in pickletools.genops(stream):
                name = op.name
                if name in _STRING_OPS:
                    value = arg.decode("latin-1") if isinstance(arg, bytes) else arg
                    strings.add(str(value))
                    pushed.append(value)
                elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                    memo[int(cast(int, arg))] = pushed[-1]
                    continue
                elif name == "MEMOIZE":
                    memo[len(memo)] = pushed[-1]
                    continue
                elif name in ("GET", "BINGET", "LONG_BINGET"):
                    pushed.append(memo.get(int(cast(int, arg))))
                elif name == "GLOBAL":
                    names.add(str(arg).replace(" ", "."))
                    pushed.append(None)
                elif name == "STACK_GLOBAL":
                    module, qualname = pushed[-2], pushed[-1]
                    names.add(f"{module}.{qualname}" if module and qualname else "<unknown>.<unknown>")
                    pushed.append(None)
                else:
                    pushed.append(None)
                del pushed[:-2]
    except Exception:
        return None, strings
    return names, strings
