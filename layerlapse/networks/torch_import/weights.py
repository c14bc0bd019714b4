"""Tensors without an architecture (a ``state_dict`` or a ``.safetensors`` file) and the layer
widths given with them (``--arch 64-16-8-10 --activation tanh``), made into an
``nn.Sequential`` of torch's own Linear layers and activations.

The tensors are taken in order (a state_dict's own order; a safetensors file's names in
natural order, ``2.weight`` before ``10.weight``): each matrix (out, in) is a Linear's weight
and a vector right after it its bias. Every shape is checked against the widths, and the
error names the tensor, its shape and what the widths expect.

torch is imported inside the functions: importing this module does not import it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_CLASSES, MAX_HIDDEN_LAYERS, MAX_INPUT_DIM, MAX_WIDTH, REASONS
from layerlapse.networks.stages.activation import Activation
from layerlapse.networks.torch_import.archive import MAX_MODEL_TENSORS

#: an activation list's commas, not those inside a parameter's parentheses (``elu(0.5),tanh``)
_SPLIT = re.compile(r",(?![^(]*\))")
SAFETENSORS_MISSING = ("model: reading a .safetensors file needs the safetensors package; "
                       "pip install 'layerlapse[safetensors]' (or pip install safetensors)")


def parse_arch(arch: str | Sequence[int]) -> tuple[int, ...]:
    """``"64-16-8-10"`` (or ``(64, 16, 8, 10)``) -> ``(64, 16, 8, 10)``: inputs, hidden widths,
    classes, within the bounds."""
    try:
        items = re.split(r"[-,]", arch.strip()) if isinstance(arch, str) else list(arch)
        widths = tuple(int(w) for w in items)
    except (ValueError, TypeError):
        raise LayerlapseError(f"arch: {arch!r} is not layer widths like 64-16-8-10 "
                              "(inputs, hidden widths, classes)") from None
    if len(widths) < 2 or min(widths) < 1:
        raise LayerlapseError(f"arch: {arch!r} needs at least the inputs and the classes, each >= 1 "
                              "(e.g. 2-3-3-2)")
    hidden = widths[1:-1]
    if widths[0] > MAX_INPUT_DIM:
        raise LayerlapseError(f"arch: {widths[0]} inputs; at most {MAX_INPUT_DIM} are supported")
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise LayerlapseError(f"arch: {len(hidden)} hidden layers; at most {MAX_HIDDEN_LAYERS} are supported")
    if hidden and max(hidden) > MAX_WIDTH:
        raise LayerlapseError(f"arch: a hidden layer of {max(hidden)} neurons; at most {MAX_WIDTH} are "
                              f"supported ({REASONS['hidden']})")
    if widths[-1] > MAX_CLASSES:
        raise LayerlapseError(f"arch: {widths[-1]} classes; at most {MAX_CLASSES} are supported")
    return widths


def activation_specs(activation: str | Sequence[str] | None, hidden: int) -> tuple[str, ...]:
    """One activation spec per hidden layer from one for all or one per layer."""
    if activation is None:
        if hidden:
            raise LayerlapseError("activation: the tensors of a state_dict or safetensors file hold no activations; "
                                  "give --activation (activation=), one for all hidden layers or one per layer, "
                                  "e.g. tanh")
        return ()
    items = _SPLIT.split(activation) if isinstance(activation, str) else list(activation)
    specs = tuple(Activation.parse(str(a).strip()).spec for a in items if str(a).strip())
    if len(specs) == 1:
        return specs * hidden
    if len(specs) != hidden:
        raise LayerlapseError(f"activation: {len(specs)} activations for {hidden} hidden layer{'s' * (hidden != 1)}; "
                              "give one for all or one per hidden layer")
    return specs


def module_from_tensors(tensors: list[tuple[str, Any]], arch: str | Sequence[int], activation: str | Sequence[str] | None,
                        where: str) -> Any:
    """An ``nn.Sequential`` (Linear, activation, ..., Linear) of the tensors, checked against ``arch``."""
    from torch import nn

    from layerlapse.networks.model import torch_activation

    widths = parse_arch(arch)
    arch = "-".join(map(str, widths))  # as the messages show it
    specs = activation_specs(activation, len(widths) - 2)
    layers = _layers(tensors, where)
    if len(layers) != len(widths) - 1:
        names = ", ".join(k for (k, _), _b in layers[:4]) + (", ..." if len(layers) > 4 else "")
        raise LayerlapseError(f"model: '{where}' holds {len(layers)} weight matrices ({names or 'none'}); "
                              f"--arch {arch} has {len(widths) - 1} layers")
    modules: list[Any] = []
    for k, ((wkey, W), bias) in enumerate(layers):
        expected = (widths[k + 1], widths[k])
        if tuple(W.shape) != expected:
            raise LayerlapseError(f"model: '{wkey}' in '{where}' has shape {tuple(W.shape)}; --arch {arch} expects "
                                  f"{expected} (layer {k + 1}: {widths[k]} inputs, {widths[k + 1]} outputs)")
        if bias is not None and tuple(bias[1].shape) != (widths[k + 1],):
            raise LayerlapseError(f"model: '{bias[0]}' in '{where}' has shape {tuple(bias[1].shape)}; "
                                  f"--arch {arch} expects ({widths[k + 1]},)")
        linear = nn.Linear(widths[k], widths[k + 1], bias=bias is not None)
        linear.weight = nn.Parameter(_float(W), requires_grad=False)
        if bias is not None:
            linear.bias = nn.Parameter(_float(bias[1]), requires_grad=False)
        modules.append(linear)
        if k < len(specs):
            modules.append(torch_activation(specs[k]))
    return nn.Sequential(*modules).eval()


def _float(t: Any) -> Any:
    """A CPU copy; half precision widened to float32 (float64 kept)."""
    import torch

    t = t.detach().to("cpu")
    if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float32)
    return t.clone()


def _layers(tensors: list[tuple[str, Any]], where: str) -> list[tuple[tuple[str, Any], tuple[str, Any] | None]]:
    """``[((weight key, W), (bias key, b) or None), ...]`` in order."""
    layers: list[tuple[tuple[str, Any], tuple[str, Any] | None]] = []
    for key, t in tensors:
        shape = tuple(t.shape)
        if len(shape) == 2:
            layers.append(((key, t), None))
        elif len(shape) == 1 and layers and layers[-1][1] is None:
            layers[-1] = (layers[-1][0], (key, t))
        else:
            what = "a vector that follows no weight matrix" if len(shape) == 1 else f"{len(shape)}-D"
            raise LayerlapseError(f"model: '{key}' in '{where}' has shape {shape} ({what}); only nn.Linear weights "
                                  "(out, in), each followed by its bias (out,), are read")
    return layers


def _checked(items: list[tuple[Any, Any]], where: str) -> list[tuple[str, Any]]:
    import torch

    if len(items) > MAX_MODEL_TENSORS:
        raise LayerlapseError(f"model: '{where}' holds {len(items)} tensors; at most {MAX_MODEL_TENSORS} are read")
    for key, value in items:
        if not isinstance(value, torch.Tensor):
            raise LayerlapseError(f"model: '{key}' in '{where}' is a {type(value).__name__}, not a tensor; "
                                  "save model.state_dict() alone (torch.save(model.state_dict(), 'weights.pt'))")
    if not items:
        raise LayerlapseError(f"model: '{where}' holds no tensors")
    return [(str(k), v) for k, v in items]


def read_state_dict(path: Path) -> list[tuple[str, Any]]:
    """The tensors of a ``torch.save(model.state_dict())`` file, read with
    ``torch.load(weights_only=True)`` (tensors and plain containers only, no code)."""
    import torch

    try:
        loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LayerlapseError(f"model: '{path}' could not be read as a state_dict: {line[:200]}") from None
    if not isinstance(loaded, dict):
        raise LayerlapseError(f"model: '{path}' holds a {type(loaded).__name__}, not a state_dict; "
                              "save model.state_dict() (torch.save(model.state_dict(), 'weights.pt'))")
    return _checked(list(loaded.items()), str(path))


def read_safetensors(path: Path) -> list[tuple[str, Any]]:
    """The tensors of a ``.safetensors`` file, names in natural order (a layer's weight before its bias)."""
    try:
        from safetensors import safe_open
    except ImportError:
        raise LayerlapseError(SAFETENSORS_MISSING) from None
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = list(f.keys())
            if len(keys) > MAX_MODEL_TENSORS:
                raise LayerlapseError(f"model: '{path}' holds {len(keys)} tensors; at most "
                                      f"{MAX_MODEL_TENSORS} are read")
            items = [(k, f.get_tensor(k)) for k in sorted(keys, key=_natural)]
    except LayerlapseError:
        raise
    except Exception as exc:  # the package's own error for a truncated or damaged file
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LayerlapseError(f"model: '{path}' could not be read as a safetensors file: {line[:200]}") from None
    return _checked(items, str(path))


def _natural(key: str) -> tuple:
    """``layers.10.weight`` after ``layers.2.bias``; within a layer the weight first."""
    prefix, _, last = key.rpartition(".")
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", prefix or last) if p)
    return parts, 0 if last == "weight" else 1, last
