"""Read a TorchScript archive as data: its module tree, tensors and code text, running none of it.

A TorchScript file is a zip archive: ``<name>/data.pkl`` pickles the module tree (each
module an object of a ``__torch__.<qualified name>`` class whose state is its attributes,
parameters and submodules), ``<name>/data/<key>`` holds each tensor's raw bytes and
``<name>/code/...`` the TorchScript source of every class. ``torch.jit.load`` compiles
and runs that code (a class's ``__setstate__`` on load, ``forward`` when called), so a
crafted archive can loop for ever. Here the pickle is read by :class:`_Unpickler`, which
knows only what a module tree needs: every ``__torch__.*`` class becomes an inert
:class:`Record` keeping its qualified name and state, the tensor rebuild function and the
storage types become checks that copy bounded bytes out of ``data/``, and every other
global is refused. The code text is parsed (:mod:`ast`) when a module's constants live only
there, never compiled. Sizes are bounded by :data:`MAX_MODEL_BYTES` and friends, so the
time spent is bounded too.

torch is not imported here.
"""

from __future__ import annotations

import ast
import io
import math
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerlapse.errors import LayerlapseError

#: the bytes of a model file, and of the tensors in it: the widest network allowed (1,024
#: inputs, 32 hidden layers of 256, 10 classes) holds 2.4 million parameters, 19 MB in float64
MAX_MODEL_BYTES = 64 * 2**20
#: the tensors of a model file: two per Linear (weight, bias) of at most 33 Linears, and room
#: for buffers; more means it is not a network layerlapse can draw
MAX_MODEL_TENSORS = 256
#: a pickle of a module tree or the code text of its classes is a few kilobytes per module
MAX_PICKLE_BYTES = 4 * 2**20
MAX_CODE_BYTES = 4 * 2**20

#: storage type -> (numpy dtype, itemsize); bfloat16 is read as its 16 bits and widened
_STORAGES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "<u2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}


@dataclass
class Record:
    """One module of the tree: its TorchScript class name and its state (attributes,
    parameters as numpy arrays, submodules as Records), as pickled; nothing of its code."""

    qualified: str
    state: dict[str, Any] = field(default_factory=dict)


class _Storage:
    """A storage type named in the pickle (``torch.FloatStorage``): only its dtype."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = np.dtype(_STORAGES[name])


class _Tensor:
    """A tensor read from the archive: a numpy array (copied, bounds checked)."""

    def __init__(self, array: np.ndarray, bfloat16: bool) -> None:
        self.array = array
        self.bfloat16 = bfloat16

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError("a tensor has no state to set")


def _record_class(qualified: str) -> type:
    """A class standing for ``__torch__.<qualified>``: instances record their state only."""

    def setstate(self: Any, state: Any) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"{qualified} has a state of type {type(state).__name__}")
        self.record = Record(qualified, dict(state))

    def init(self: Any, *args: Any) -> None:
        raise pickle.UnpicklingError(f"{qualified} is called with arguments")

    return type("ScriptObject", (), {"__setstate__": setstate, "__init__": init, "qualified": qualified})


class _Unpickler(pickle.Unpickler):
    """The module tree's pickle, knowing nothing but what a module tree needs."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, where: str) -> None:
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.where = archive, prefix, where
        self.storages: dict[str, tuple[np.ndarray, bool]] = {}
        self.bytes = 0  # read from the storages
        self.copied = 0  # copied into tensors (views may repeat a storage's bytes)
        self.classes: dict[str, type] = {}
        # a fresh function for each file: whatever a pickle sets on it dies with this load
        self.rebuild = lambda *args: self._rebuild(*args)

    def find_class(self, module: str, name: str) -> Any:
        qualified = f"{module}.{name}"
        if module == "__torch__" or module.startswith("__torch__."):
            return self.classes.setdefault(qualified, _record_class(qualified))
        if qualified == "collections.OrderedDict":
            return OrderedDict
        if qualified == "torch._utils._rebuild_tensor_v2":
            return self.rebuild
        if module == "torch" and name in _STORAGES:
            return _Storage(name)
        raise LayerlapseError(f"model: '{self.where}' names {qualified} in its pickle, which the module tree of "
                              "an nn.Sequential does not hold; refused without loading it")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)
                and isinstance(pid[2], str) and pid[2].isdigit() and isinstance(pid[4], int)):
            raise pickle.UnpicklingError(f"unexpected storage reference {str(pid)[:80]}")
        kind, key, numel = pid[1], pid[2], pid[4]
        if key in self.storages:
            return self.storages[key]
        if len(self.storages) >= MAX_MODEL_TENSORS:
            raise LayerlapseError(f"model: '{self.where}' holds more than {MAX_MODEL_TENSORS} tensors; "
                                  "a network layerlapse can draw has far fewer")
        name = f"{self.prefix}data/{key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise pickle.UnpicklingError(f"the storage {name} is missing") from None
        size = numel * kind.dtype.itemsize
        if info.file_size != size or numel < 0:
            raise pickle.UnpicklingError(f"the storage {name} holds {info.file_size} bytes, not {size}")
        self.bytes += size
        if self.bytes > MAX_MODEL_BYTES:
            raise LayerlapseError(f"model: '{self.where}' holds more than {MAX_MODEL_BYTES // 2**20} MiB of "
                                  "tensors; a network layerlapse can draw holds far less")
        with self.archive.open(info) as f:
            raw = f.read(size + 1)  # never more than the entry says: a lying entry is caught here
        if len(raw) != size:
            raise pickle.UnpicklingError(f"the storage {name} is truncated")
        self.storages[key] = (np.frombuffer(raw, dtype=kind.dtype), kind.name == "BFloat16Storage")
        return self.storages[key]

    def _rebuild(self, storage: Any, offset: Any, size: Any, stride: Any, *_rest: Any) -> _Tensor:
        """``torch._utils._rebuild_tensor_v2``: a bounds-checked copy of the storage's view,
        the copies bounded in total (a view with zero strides repeats its storage's bytes)."""
        if not (isinstance(storage, tuple) and len(storage) == 2 and isinstance(storage[0], np.ndarray)):
            raise pickle.UnpicklingError("a tensor without a storage")
        data, bfloat16 = storage
        ints = (isinstance(offset, int) and isinstance(size, tuple) and isinstance(stride, tuple)
                and len(size) == len(stride) <= 8 and all(isinstance(v, int) for v in size + stride))
        if not ints or offset < 0 or any(v < 0 for v in size + stride):
            raise pickle.UnpicklingError("a tensor with a bad shape")
        numel = math.prod(size)
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if numel else offset - 1
        if last >= len(data):
            raise pickle.UnpicklingError("a tensor reaches past its storage")
        item = data.itemsize
        self.copied += numel * item
        if self.copied > MAX_MODEL_BYTES:
            raise LayerlapseError(f"model: the tensors of '{self.where}' are more than {MAX_MODEL_BYTES // 2**20} "
                                  "MiB; a network layerlapse can draw holds far less")
        view = np.lib.stride_tricks.as_strided(data[offset:], shape=size, strides=[s * item for s in stride],
                                               writeable=False) if numel else np.zeros(size, data.dtype)
        return _Tensor(np.array(view), bfloat16)


def read_tree(archive: zipfile.ZipFile, where: str) -> tuple[Record, CodeText]:
    """The module tree of a TorchScript archive and its code text (path -> source).

    Raises
    ------
    LayerlapseError
        One line for a pickle or code text past the bounds, a global a module tree does not
        hold, or a pickle that cannot be read.
    """
    names = archive.namelist()
    pkl = next(n for n in names if n.endswith("/data.pkl") and n.count("/") == 1)
    prefix = pkl.removesuffix("data.pkl")
    info = archive.getinfo(pkl)
    if info.file_size > MAX_PICKLE_BYTES:
        raise LayerlapseError(f"model: the module tree of '{where}' is {info.file_size:,} bytes; a network "
                              f"layerlapse can draw takes far less than {MAX_PICKLE_BYTES // 2**20} MiB")
    with archive.open(info) as f:
        data = f.read(MAX_PICKLE_BYTES + 1)
    try:
        top = _Unpickler(data, archive, prefix, where).load()
    except LayerlapseError:
        raise
    except Exception as exc:  # a damaged or crafted pickle: any error is a refusal
        raise LayerlapseError(f"model: the module tree of '{where}' cannot be read "
                              f"({type(exc).__name__}: {str(exc)[:120]})") from None
    code = CodeText(_code_text(archive, prefix, where))
    return _records(top, where, 0), code


def _code_text(archive: zipfile.ZipFile, prefix: str, where: str) -> dict[str, str]:
    """``code/...py`` entries, bounded in total: path below ``code/`` -> source text."""
    code: dict[str, str] = {}
    total = 0
    for info in archive.infolist():
        name = info.filename
        if not (name.startswith(prefix + "code/") and name.endswith(".py")):
            continue
        total += info.file_size
        if total > MAX_CODE_BYTES:
            raise LayerlapseError(f"model: the code text of '{where}' is more than {MAX_CODE_BYTES // 2**20} MiB; "
                                  "a network layerlapse can draw has a few kilobytes")
        with archive.open(info) as f:
            code[name.removeprefix(prefix + "code/")] = f.read(info.file_size + 1).decode("utf-8", "replace")
    return code


_MAX_DEPTH = 64  # nested Sequentials deeper than this are not a network anyone drew


def _records(obj: Any, where: str, depth: int, memo: dict[int, Any] | None = None) -> Any:
    """The unpickled tree with every object replaced by its Record and tensors by arrays.
    Each object is converted once (``memo``): a pickle may share one list many times over."""
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    if depth > _MAX_DEPTH:
        raise LayerlapseError(f"model: the modules of '{where}' are nested more than {_MAX_DEPTH} deep")
    out: Any
    if hasattr(obj, "qualified") and not isinstance(obj, type):
        record = getattr(obj, "record", None) or Record(obj.qualified)
        out = Record(record.qualified, {k: _records(v, where, depth + 1, memo) for k, v in record.state.items()})
    elif isinstance(obj, _Tensor):
        out = (obj.array.astype(np.uint32) << 16).view(np.float32) if obj.bfloat16 else obj.array  # bf16: a float32's top half
    elif isinstance(obj, (list, tuple)):
        out = type(obj)(_records(v, where, depth + 1, memo) for v in obj)
    elif isinstance(obj, dict):
        out = {k: _records(v, where, depth + 1, memo) for k, v in obj.items()}
    else:
        out = obj
    memo[id(obj)] = out
    return out


# --------------------------------------------------------------------------- code text


class CodeText:
    """The archive's code text (path below ``code/`` -> source), each file parsed (with
    :mod:`ast`, never compiled) at most once."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.parsed: dict[str, ast.Module | None] = {}

    def class_source(self, qualified: str) -> ast.ClassDef | None:
        """The TorchScript class ``__torch__.a.b.C`` from ``__torch__/a/b.py``; None when the
        archive has no such text (or it does not parse)."""
        module, _, name = qualified.rpartition(".")
        path = module.replace(".", "/") + ".py"
        if path not in self.parsed:
            text = self.files.get(path)
            try:
                self.parsed[path] = None if text is None else ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self.parsed[path] = None
        tree = self.parsed[path]
        if tree is None:
            return None
        return next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)


def class_constant(cls: ast.ClassDef, attr: str) -> Any:
    """A scripted module's constant, ``negative_slope : Final[float] = 0.2`` in its class body."""
    for node in cls.body:
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == attr
                and node.value is not None):
            return _literal(node.value)
    raise KeyError(attr)


def call_argument(cls: ast.ClassDef, ops: tuple[str, ...], position: int, keyword: str, default: Any) -> Any:
    """The literal argument ``position`` (or ``keyword``) of the first call in the class's
    ``forward`` to a function named one of ``ops`` (``torch.leaky_relu(x, 0.2)``: a traced
    module keeps its constants only there); ``default`` when the call leaves it out."""
    forward = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
    if forward is None:
        raise KeyError(keyword)
    for node in ast.walk(forward):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in ops:
            continue
        for kw in node.keywords:
            if kw.arg == keyword:
                return _literal(kw.value)
        if position < len(node.args):
            return _literal(node.args[position])
        return default
    raise KeyError(keyword)


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise KeyError(ast.dump(node)[:40]) from None
