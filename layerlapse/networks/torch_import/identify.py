"""Recognise the modules of a PyTorch model: which torch.nn class each is (eager or
TorchScript), the activation spec an activation module stands for, and the model's split
into hidden layers, the classifier head and what follows the head.

torch is imported inside the functions: importing this module does not import it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from layerlapse.errors import LayerlapseError
from layerlapse.networks.stages.activation import Activation
from layerlapse.networks.torch_import.load import SAVE_HINT

#: Softplus is drawn without its linear cut-off; below this threshold the cut-off is visible
MIN_SOFTPLUS_THRESHOLD = 10.0
SUPPORTED = ("a model must be an nn.Sequential of nn.Linear and element-wise activations "
             "(Tanh, Sigmoid, Softplus, ReLU, LeakyReLU, ELU, SiLU, GELU, Identity; Dropout in eval mode)")


# --------------------------------------------------------------------------- modules


@dataclass(frozen=True)
class Part:
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
class Hidden:
    """A Linear and the activation after it (None until one is seen)."""

    linear: Part
    act: Activation | None = None
    act_part: Part | None = None


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


def _flatten(model: Any, kinds: dict[str, str]) -> list[Part]:
    """The modules of a (nested) Sequential in order."""
    parts: list[Part] = []

    def walk(seq: Any, prefix: str) -> None:
        for child_name, child in seq.named_children():
            where = f"{prefix}{child_name}"
            name, kind = _identify(child, kinds)
            if kind == "sequential":
                walk(child, where + ".")
            else:
                parts.append(Part(len(parts), where, name, kind, child))

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


def _param(part: Part, attr: str, op: str, position: int) -> Any:
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


def _number(part: Part, attr: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise LayerlapseError(f"model: {part.label()} has {attr} {value!r}; a number is needed") from None
    if not math.isfinite(x):
        raise LayerlapseError(f"model: {part.label()} has {attr} {x}; it must be finite")
    return x


def _activation(part: Part) -> Activation:
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


def _check_dropout(part: Part) -> None:
    """Refuse a Dropout that is active (training mode): its output is random."""
    training = bool(getattr(part.module, "training", False))
    try:  # a traced Dropout bakes the mode into its graph
        training = training or bool(_graph_constant(part.module, ("aten::dropout", "aten::dropout_"), 2))
    except AttributeError:
        pass
    if training:
        raise LayerlapseError(f"model: {part.label()} is in training mode (its output is random); "
                              "call model.eval() before converting or saving the model")


# --------------------------------------------------------------------------- structure


@dataclass
class Structure:
    hidden: list[Hidden]
    head: Part
    tail: list[tuple[Part, Activation | None]]  # after the head; None: (log-)softmax
    notes: list[str]


def structure(model: Any) -> Structure:
    """Check the module and split it into hidden layers, the head and what follows."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise LayerlapseError(f"model: expected a torch.nn.Module, got {type(model).__name__}; {SUPPORTED}")
    kinds = _kinds()
    name, kind = _identify(model, kinds)
    if kind == "linear":  # a lone Linear: a linear classifier, no hidden layer
        parts = [Part(0, "0", name, kind, model)]
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
    hidden: list[Hidden] = []
    head_index = linears[-1].index
    tail: list[tuple[Part, Activation | None]] = []
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
            hidden.append(Hidden(part))
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
    return Structure(hidden, head.linear, tail, notes)


def _tail_step(part: Part) -> Activation | None:
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
