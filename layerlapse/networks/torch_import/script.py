"""A TorchScript archive's module tree (:mod:`.archive`) rebuilt as torch's own modules.

Each module is recognised by its class's qualified name
(``__torch__.torch.nn.modules.linear.___torch_mangle_3.Linear`` is torch's ``Linear``) and
rebuilt as a fresh ``torch.nn`` module: a Linear from its weight and bias, an activation
from its parameters read as data (the pickled attributes, a scripted class's constants or
a traced forward's literal arguments, parsed from the code text, never run). So what is
converted, and later run to check the conversion, is torch's code with the file's numbers,
not the file's code. A class of the user's own has its own forward, which cannot be read
without running it: refused with one line.

torch is imported inside the functions: importing this module does not import it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.torch_import.archive import CodeText, Record, call_argument, class_constant

_MANGLE = re.compile(r"\.___torch_mangle_\d+")
OWN_CLASS = ("pass the module in Python (ll.render(..., model=module)), or save an nn.Sequential of torch.nn "
             "layers (torch.jit.save(torch.jit.script(model), 'model.pt')) or its state_dict with --arch")

#: an activation's parameters: attribute -> (traced op names, position, keyword, torch's default)
_PARAMS: dict[str, dict[str, tuple[tuple[str, ...], int, str, Any]]] = {
    "LeakyReLU": {"negative_slope": (("leaky_relu", "leaky_relu_"), 1, "negative_slope", 0.01)},
    "ELU": {"alpha": (("elu", "elu_"), 1, "alpha", 1.0)},
    "Softplus": {"beta": (("softplus",), 1, "beta", 1.0), "threshold": (("softplus",), 2, "threshold", 20.0)},
    "GELU": {"approximate": (("gelu",), 1, "approximate", "none")},
    "Softmax": {"dim": (("softmax",), 1, "dim", None)},
    "LogSoftmax": {"dim": (("log_softmax",), 1, "dim", None)},
    "Dropout": {"p": (("dropout", "dropout_"), 1, "p", 0.5)},
}
_PLAIN = ("Tanh", "Sigmoid", "ReLU", "SiLU", "Identity")
#: modules rebuilt from one file: a Linear and an activation for each of at most 33 layers,
#: with room for Dropouts, Identities and nested Sequentials
MAX_MODULES = 512


def torch_path(qualified: str) -> str:
    """``__torch__.torch.nn.modules.linear.___torch_mangle_3.Linear`` -> ``torch.nn.modules.linear.Linear``."""
    return _MANGLE.sub("", qualified.removeprefix("__torch__."))


def rebuild(top: Record, code: CodeText, where: str) -> Any:
    """The archive's module tree as fresh ``torch.nn`` modules (an ``nn.Sequential``, nested
    as saved, or a lone Linear), in the modes they were saved in.

    Raises
    ------
    LayerlapseError
        One line for a class of the user's own, a module whose parameters cannot be read as
        data, or a Linear without an (out, in) weight.
    """
    try:
        return _module(top, code, where, "", [0])
    except LayerlapseError:
        raise
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:  # torch refusing what a crafted tree holds
        raise LayerlapseError(f"model: the modules of '{where}' cannot be rebuilt ({type(exc).__name__}: "
                              f"{str(exc)[:120]})") from None


def _module(record: Record, code: CodeText, where: str, at: str, built: list[int]) -> Any:
    from torch import nn

    built[0] += 1  # a tree may list one Sequential many times over: the count is bounded
    if built[0] > MAX_MODULES:
        raise LayerlapseError(f"model: '{where}' holds more than {MAX_MODULES} modules; a network layerlapse "
                              "can draw has far fewer")
    what = f"module '{at}'" if at else "the model"
    path = torch_path(record.qualified)
    name = path.rpartition(".")[2]
    if not path.startswith("torch.nn.modules."):
        shown = name if path == name else f"{name}, {path}"
        raise LayerlapseError(f"model: {what} in '{where}' is a class of your own ({shown}); its forward is "
                              f"its own code, which layerlapse does not run to read it; {OWN_CLASS}")
    state = record.state
    if name == "Sequential" and path == "torch.nn.modules.container.Sequential":
        children = [(k, v) for k, v in state.items() if isinstance(v, Record)]
        module: Any = nn.Sequential()
        for key, child in children:
            if not isinstance(key, str) or not key or "." in key:
                raise LayerlapseError(f"model: {what} in '{where}' has a submodule named {str(key)[:40]!r}")
            module.add_module(key, _module(child, code, where, f"{at}.{key}" if at else key, built))
    elif name == "Linear" and path == "torch.nn.modules.linear.Linear":
        module = _linear(state, where, what)
    elif name in _PLAIN or name in _PARAMS:
        params = {attr: _param(record, code, attr, spec, where, what)
                  for attr, spec in _PARAMS.get(name, {}).items()}
        try:
            module = getattr(nn, name)(**params)
        except (TypeError, ValueError) as exc:
            raise LayerlapseError(f"model: {what} ({name}) in '{where}' has parameters {params} that "
                                  f"torch refuses ({exc})") from None
    else:  # torch's, but nothing layerlapse draws: a stand-in whose class name the refusal names
        module = type(name, (nn.Module,), {"__module__": "layerlapse.unsupported"})()
    module.train(bool(state.get("training", False)))
    if name == "Dropout":
        _dropout_mode(module, record, code)
    return module


def _linear(state: dict[str, Any], where: str, what: str) -> Any:
    import torch
    from torch import nn

    W, b = state.get("weight"), state.get("bias")
    if not isinstance(W, np.ndarray) or W.ndim != 2 or not (
            b is None or (isinstance(b, np.ndarray) and b.shape == (W.shape[0],))):
        raise LayerlapseError(f"model: {what} (Linear) in '{where}' has no (out, in) weight matrix with an "
                              "(out,) bias")
    module = nn.Linear(int(W.shape[1]), int(W.shape[0]), bias=b is not None)
    with torch.no_grad():
        module.weight = nn.Parameter(torch.from_numpy(W.copy()), requires_grad=W.dtype.kind == "f")
        if b is not None:
            module.bias = nn.Parameter(torch.from_numpy(b.copy()), requires_grad=b.dtype.kind == "f")
    return module


def _param(record: Record, code: CodeText, attr: str, spec: tuple[tuple[str, ...], int, str, Any],
           where: str, what: str) -> Any:
    """An activation's parameter, read as data: a pickled attribute, else the scripted class's
    constant, else the literal argument of the traced forward's call."""
    if attr in record.state and not isinstance(record.state[attr], Record):
        return record.state[attr]
    cls = code.class_source(record.qualified)
    if cls is not None:
        ops, position, keyword, default = spec
        for read in (lambda: class_constant(cls, attr), lambda: call_argument(cls, ops, position, keyword, default)):
            try:
                return read()
            except KeyError:
                pass
    name = torch_path(record.qualified).rpartition(".")[2]
    raise LayerlapseError(f"model: cannot read the {attr} of {what} ({name}) in '{where}' from its code text; "
                          "save the model with torch.jit.save(torch.jit.script(model), 'model.pt')")


def _dropout_mode(module: Any, record: Record, code: CodeText) -> None:
    """A traced Dropout bakes its mode into its forward's call (``torch.dropout(x, p, train)``)."""
    cls = code.class_source(record.qualified)
    if cls is None:
        return
    try:
        if call_argument(cls, ("dropout", "dropout_"), 2, "train", False) is True:
            module.train(True)
    except KeyError:
        pass
