"""Read a model file without running anything in it.

* A TorchScript archive (``torch.jit.save(torch.jit.script(model))`` or ``torch.jit.trace``)
  is read as data (:mod:`.archive`: its pickle with a restricted unpickler, its code text
  parsed, never compiled) and rebuilt from torch's own modules (:mod:`.script`).
* A ``state_dict`` saved with ``torch.save`` (read with ``torch.load(weights_only=True)``)
  or a ``.safetensors`` file, with the layer widths given by ``arch`` and the activations by
  ``activation`` (:mod:`.weights`).
* Anything else is refused with one line: a ``torch.save`` pickle of a model, a legacy
  pickle of one or a ``torch.export`` program (all unpickle code) is recognised by listing
  the zip archive and disassembling its pickle (:mod:`pickletools`), never by unpickling it.

Every read is bounded in size (:data:`~.archive.MAX_MODEL_BYTES` and friends), so in time.
torch is imported inside the functions: importing this module does not import it.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from layerlapse.errors import LayerlapseError
from layerlapse.networks.torch_import.archive import MAX_MODEL_BYTES, read_tree

if TYPE_CHECKING:
    import torch

SAVE_HINT = "torch.jit.save(torch.jit.script(model), 'model.pt')"
ARCH_HINT = "give its layer widths and activations, e.g. --arch 2-3-3-2 --activation tanh (arch=, activation=)"


def load_model_file(path: str | Path, *, arch: str | Sequence[int] | None = None,
                    activation: str | Sequence[str] | None = None) -> torch.nn.Module:
    """Read a model file into torch's own modules, running nothing from the file.

    Parameters
    ----------
    path
        A TorchScript archive of an ``nn.Sequential`` (``torch.jit.save(torch.jit.script(model),
        "model.pt")`` or ``torch.jit.trace``), or a ``state_dict`` (``torch.save(model.state_dict(),
        "weights.pt")``) or ``.safetensors`` file of one, with ``arch``.
    arch
        For tensors only: the layer widths, inputs to classes, e.g. ``"64-16-8-10"`` or ``(64, 16, 8, 10)``.
    activation
        For tensors only: the hidden layers' activation, one for all or one per layer
        (``"tanh"``, ``"relu,tanh"`` or a sequence of specs).

    Returns
    -------
    torch.nn.Module
        A fresh ``nn.Sequential`` (nested as saved; a lone ``nn.Linear`` for a linear model) of
        torch's own modules on the CPU, in the modes the file was saved in; give it to
        :func:`network_from_module`.

    Raises
    ------
    LayerlapseError
        One line for a missing, damaged, oversized or truncated file; a TorchScript file of a
        class of your own (its forward would have to run); tensors without ``arch`` or whose
        shapes do not fit it (naming the tensor); ``arch`` with a TorchScript file; and
        ``torch.save`` pickles of a model, legacy pickles and ``torch.export`` programs,
        refused before any of their content is unpickled: unpickling runs whatever code the
        file names.
    """
    from layerlapse.networks.torch_import.weights import module_from_tensors, read_safetensors, read_state_dict

    p = Path(path)
    if not p.exists():
        raise LayerlapseError(f"model: file '{p}' does not exist")
    if p.is_dir():
        raise LayerlapseError(f"model: '{p}' is a directory; give a TorchScript file saved with {SAVE_HINT}")
    size = p.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise LayerlapseError(f"model: '{p}' is {size / 2**20:.0f} MiB; at most {MAX_MODEL_BYTES // 2**20} MiB "
                              "are read (a network layerlapse can draw holds far less)")
    if _is_safetensors(p, size):
        if arch is None:
            raise LayerlapseError(f"model: '{p}' holds tensors only (no layers); {ARCH_HINT}")
        return module_from_tensors(read_safetensors(p), arch, activation, str(p))
    if not zipfile.is_zipfile(p):
        _refuse_non_zip(p, arch)  # returns for a legacy pickle of tensors only, with arch
    else:
        script = _read_zip(p, tensors_given=arch is not None or activation is not None, arch=arch)
        if script is not None:
            return script
    return module_from_tensors(read_state_dict(p), cast("str | Sequence[int]", arch), activation, str(p))


def _read_zip(p: Path, *, tensors_given: bool, arch: object) -> Any:
    """A TorchScript archive's modules; None for a state_dict (then read with ``arch``)."""
    try:
        with zipfile.ZipFile(p) as archive:
            if _zip_kind(p, archive, arch) != "torchscript":
                return None
            if tensors_given:
                raise LayerlapseError(f"arch: '{p}' is a TorchScript file, which holds its own layers; "
                                      "drop --arch and --activation")
            from layerlapse.networks.torch_import.script import rebuild

            top, code = read_tree(archive, str(p))
            return rebuild(top, code, str(p))
    except zipfile.BadZipFile as exc:
        raise LayerlapseError(f"model: '{p}' is a damaged zip archive ({exc}); "
                              f"save the model with {SAVE_HINT}") from None


def _is_safetensors(p: Path, size: int) -> bool:
    """A safetensors file: an 8-byte little-endian header length, then the JSON header."""
    if p.suffix.lower() == ".safetensors":
        return True
    with p.open("rb") as f:
        head = f.read(9)
    return len(head) == 9 and 2 <= int.from_bytes(head[:8], "little") <= size - 8 and head[8:9] == b"{"


def _zip_kind(p: Path, archive: zipfile.ZipFile, arch: object) -> str:
    """"torchscript", or "tensors" (a torch.save state_dict, read only with ``arch``); else refused."""
    names = archive.namelist()
    entries = {n.split("/", 1)[1] for n in names if "/" in n}
    if any(e.startswith("code/") for e in entries) and "data.pkl" in entries:
        return "torchscript"
    if "archive_format" in entries or any(e.startswith("models/") for e in entries):
        raise LayerlapseError(
            f"model: '{p}' is a torch.export program (.pt2); torch.export.load unpickles "
            "parts of it, which can run arbitrary code, so layerlapse does not load it; "
            f"save the model with {SAVE_HINT}")
    if "data.pkl" in entries:
        pkl = next(n for n in names if n.endswith("/data.pkl") and n.count("/") == 1)
        _refuse_pickle(p, archive.read(pkl), arch=arch)
        return "tensors"
    raise LayerlapseError(f"model: '{p}' is a zip archive but not a TorchScript model; "
                          f"save the model with {SAVE_HINT}")


_PICKLE_REASON = "loading it would run arbitrary code (it is unpickled), so layerlapse does not load it"
_SAFE_GLOBALS = ("torch.", "collections.OrderedDict", "builtins.", "__builtin__.", "_codecs.", "numpy.")


def _refuse_non_zip(p: Path, arch: object) -> None:
    """Refuse a file that is no zip archive, unless it is a legacy pickle of tensors and ``arch`` is given."""
    with p.open("rb") as f:
        head = f.read(2)
    if p.suffix.lower() == ".onnx":
        raise LayerlapseError(f"model: '{p}' is an ONNX model, which is not supported; "
                              f"save the PyTorch model with {SAVE_HINT}")
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # a pickle's PROTO opcode
        with p.open("rb") as f:
            data = f.read()
        _refuse_pickle(p, data, legacy=True, arch=arch)
        return
    raise LayerlapseError(f"model: '{p}' is not a TorchScript archive (not a zip file); "
                          f"save the model with {SAVE_HINT}")


def _refuse_pickle(p: Path, data: bytes, legacy: bool = False, arch: object = None) -> None:
    """Say what a torch.save pickle holds, read by disassembly only, and refuse it unless it
    holds tensors only and ``arch`` is given (then ``torch.load(weights_only=True)`` reads it)."""
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
                              f"save it with {SAVE_HINT}, or save model.state_dict() and give --arch")
    if arch is None:
        raise LayerlapseError(f"model: '{p}' is {what} of tensors only (a state_dict or checkpoint: no "
                              f"layers); {ARCH_HINT}")


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
