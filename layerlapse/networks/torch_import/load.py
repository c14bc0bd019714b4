"""Read a model file: TorchScript archives only; a torch.save pickle, a state_dict, a legacy
pickle or a torch.export program is recognised by listing the zip archive and disassembling
its pickle (:mod:`pickletools`), never by unpickling it, and refused.

torch is imported inside the functions: importing this module does not import it.
"""

from __future__ import annotations

import io
import pickletools
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from layerlapse.errors import LayerlapseError

if TYPE_CHECKING:
    import torch

SAVE_HINT = "torch.jit.save(torch.jit.script(model), 'model.pt')"


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
