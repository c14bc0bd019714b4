"""Model files that run no code: TorchScript read as data, and a state_dict or safetensors
file with --arch; bad files are one line (exit 2 on the command line)."""

from __future__ import annotations

import pickle
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from layerlapse.cli import app
from layerlapse.errors import LayerlapseError
from layerlapse.networks.torch_import import load_model_file, network_from_module

X2 = np.random.default_rng(1).normal(size=(80, 2))
TINY = ["--set", "resolution=12", "--set", "samples_per_class=60"]


def seeded(*modules: nn.Module) -> nn.Sequential:
    """The modules in eval mode (their weights drawn from torch's global generator)."""
    return nn.Sequential(*modules).eval()


def outputs(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=torch.float32)).double().numpy()


def numpy_forward(network, X: np.ndarray) -> np.ndarray:
    from layerlapse.networks.layers import forward

    hidden, head = network.layers()
    return head(forward(hidden, X))


def refusal(match: str, path, **kwargs) -> str:
    with pytest.raises(LayerlapseError) as info:
        load_model_file(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and match in message, message
    return message


def cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


@pytest.fixture
def no_torchscript(monkeypatch):
    """Fail loudly if a file's TorchScript is compiled (torch.jit.load would run its code)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a TorchScript file was loaded")

    monkeypatch.setattr(torch.jit, "load", forbidden)
    monkeypatch.setattr(torch._C, "import_ir_module", forbidden)


def scripted(model: nn.Module, path: Path, how: str = "script") -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = torch.jit.script(model) if how == "script" else torch.jit.trace(model, torch.zeros(1, 2))
        torch.jit.save(compiled, str(path))
    return path


def rewrite(path: Path, edit) -> Path:
    """A copy of the zip archive with ``edit(name, data) -> data or None`` (None: dropped)."""
    out = path.with_name("crafted-" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = edit(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
    return out


# --------------------------------------------------------------------------- TorchScript, read as data

LOOP = ("    i = 0\n    while i < 1000000000000:\n      i = i + 1\n    return torch.tanh(input)\n")


def looping_tanh(model: nn.Module, path: Path) -> Path:
    """The archive of a scripted Sequential whose Tanh.forward is patched to loop 10^12 steps."""

    def edit(name: str, data: bytes) -> bytes | None:
        if name.endswith("nn/modules/activation.py"):
            text = data.decode()
            assert "return torch.tanh(input)" in text
            return text.replace("    return torch.tanh(input)\n", LOOP).encode()
        return None if name.endswith(".debug_pkl") else data

    return rewrite(scripted(model, path), edit)


def test_a_looping_forward_in_the_code_text_is_never_run(tmp_path, monkeypatch):
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    crafted = looping_tanh(model, tmp_path / "m.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = torch.jit.load(str(crafted))  # torch compiles it: its forward would loop for ever
    assert "while" in getattr(loaded, "1").code
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: pytest.fail("the archive's code was compiled"))
    start = time.perf_counter()
    module = load_model_file(crafted)
    network, _ = network_from_module(module, input_dim=2)
    assert time.perf_counter() - start < 5.0
    assert network.config.describe() == "2-3-2 tanh"  # Tanh by its type name: torch's tanh
    np.testing.assert_allclose(numpy_forward(network, X2), outputs(model, X2), rtol=1e-5, atol=1e-5)


class Looping(nn.Module):
    def forward(self, x):
        i = 0
        while i < 1000000000000:
            i = i + 1
        return torch.tanh(x)


def test_a_custom_class_with_a_looping_forward_is_refused_in_seconds(tmp_path, no_torchscript):
    path = scripted(seeded(nn.Linear(2, 3), Looping(), nn.Linear(3, 2)), tmp_path / "loop.pt")
    start = time.perf_counter()
    message = refusal("module '1' in", path)
    assert time.perf_counter() - start < 5.0
    assert "a class of your own (Looping" in message and "ll.render(..., model=module)" in message


def test_a_top_level_class_of_your_own_is_refused(tmp_path, no_torchscript):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))

        def forward(self, x):
            return self.body(x)

    message = refusal("the model in", scripted(Net(), tmp_path / "net.pt"))
    assert "a class of your own (Net" in message and "state_dict with --arch" in message


@pytest.mark.parametrize("how", ["script", "trace"])
def test_nested_sequentials_scripted_and_traced_convert_to_the_modules_outputs(tmp_path, how, no_torchscript):
    model = seeded(nn.Linear(2, 4), nn.Sequential(nn.LeakyReLU(0.3), nn.Sequential(nn.Linear(4, 3), nn.ELU(0.7))),
                   nn.Linear(3, 3), nn.Softplus(beta=3), nn.Linear(3, 2), nn.Softmax(dim=1))
    network, notes = network_from_module(load_model_file(scripted(model, tmp_path / "m.pt", how)), input_dim=2)
    assert network.config.activations == ("leaky_relu(0.3)", "elu(0.7)", "softplus(3)")
    assert any("Softmax" in n for n in notes)
    logits = outputs(model[:-1], X2)  # the Softmax is left out: it keeps the winning class
    np.testing.assert_allclose(numpy_forward(network, X2), logits, rtol=1e-5, atol=1e-5)


def test_a_pickle_naming_other_code_is_refused_without_running_it(tmp_path, no_torchscript):
    marker = tmp_path / "ran"

    class Touch:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w')",))

    def edit(name: str, data: bytes) -> bytes:
        return pickle.dumps({"x": Touch()}, protocol=2) if name.endswith("/data.pkl") else data

    crafted = rewrite(scripted(seeded(nn.Linear(2, 2)), tmp_path / "m.pt"), edit)
    refusal("exec in its pickle, which the module tree of an nn.Sequential does not hold", crafted)
    assert not marker.exists()


def test_a_storage_shorter_than_its_tensor_is_refused(tmp_path, no_torchscript):
    def edit(name: str, data: bytes) -> bytes:
        return data[:4] if name.endswith("/data/0") else data

    crafted = rewrite(scripted(seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)), tmp_path / "m.pt"), edit)
    refusal("cannot be read (UnpicklingError: the storage", crafted)


def test_a_file_past_the_size_bound_is_refused_before_reading(tmp_path, monkeypatch):
    import layerlapse.networks.torch_import.load as load

    monkeypatch.setattr(load, "MAX_MODEL_BYTES", 100)
    path = scripted(seeded(nn.Linear(2, 2)), tmp_path / "m.pt")
    refusal("at most 0 MiB are read", path)


# --------------------------------------------------------------------------- state_dict and safetensors + arch


def mlp(*widths: int, act=nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(len(widths) - 1):
        layers.append(nn.Linear(widths[k], widths[k + 1]))
        if k < len(widths) - 2:
            layers.append(act())
    return seeded(*layers)


def save_safetensors(model: nn.Module, path: Path) -> Path:
    safetensors = pytest.importorskip("safetensors.torch")
    safetensors.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def test_a_64d_state_dict_with_arch_gives_the_modules_outputs(tmp_path):
    model = mlp(64, 16, 8, 10)
    torch.save(model.state_dict(), tmp_path / "w.pt")
    module = load_model_file(tmp_path / "w.pt", arch="64-16-8-10", activation="tanh")
    X = np.random.default_rng(0).normal(size=(200, 64))
    np.testing.assert_allclose(outputs(module, X), outputs(model, X), rtol=1e-5, atol=1e-5)


def test_a_64d_safetensors_file_with_arch_gives_the_modules_outputs(tmp_path):
    model = mlp(64, 16, 8, 10, act=nn.ReLU)
    module = load_model_file(save_safetensors(model, tmp_path / "w.safetensors"), arch="64-16-8-10",
                             activation="relu")
    X = np.random.default_rng(0).normal(size=(200, 64))
    np.testing.assert_allclose(outputs(module, X), outputs(model, X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["state_dict", "safetensors"])
def test_a_state_dict_converts_to_the_modules_outputs_with_one_activation_per_layer(tmp_path, kind):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2)).eval()
    if kind == "state_dict":
        torch.save(model.state_dict(), path := tmp_path / "w.pth")
    else:
        path = save_safetensors(model, tmp_path / "w.safetensors")
    y = (X2[:, 0] > 0).astype(int)
    network, _ = network_from_module(load_model_file(path, arch="2-3-3-2", activation="leaky_relu(0.2),tanh"),
                                     input_dim=2, samples=X2, labels=y)
    assert network.config.describe() == "2-3-3-2 leaky_relu(0.2),tanh"
    np.testing.assert_allclose(numpy_forward(network, X2), outputs(model, X2), rtol=1e-5, atol=1e-5)
    assert network.accuracy == pytest.approx((outputs(model, X2).argmax(1) == y).mean())


def test_safetensors_keys_are_taken_in_natural_order(tmp_path):
    model = mlp(2, 3, 3, 3, 3, 3, 3, 2)  # keys 0, 2, ..., 10, 12: "10" sorts before "2" as text
    module = load_model_file(save_safetensors(model, tmp_path / "w.safetensors"), arch="2-3-3-3-3-3-3-2",
                             activation="tanh")
    np.testing.assert_allclose(outputs(module, X2), outputs(model, X2), rtol=1e-5, atol=1e-5)


def test_a_missing_safetensors_package_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"\x02\0\0\0\0\0\0\0{}")
    monkeypatch.setitem(sys.modules, "safetensors", None)
    refusal("needs the safetensors package; pip install 'layerlapse[safetensors]'", path, arch="2-2")


def test_bad_arch_values_are_one_line(tmp_path):
    torch.save(mlp(2, 3, 2).state_dict(), path := tmp_path / "w.pt")
    refusal("arch: 'two-three' is not layer widths like 64-16-8-10", path, arch="two-three", activation="tanh")
    refusal("arch: a hidden layer of 300 neurons; at most 256", path, arch="2-300-2", activation="tanh")
    refusal("arch: 2000 inputs; at most 1024", path, arch="2000-3-2", activation="tanh")
    refusal("arch: 11 classes; at most 10", path, arch="2-3-11", activation="tanh")
    refusal("activation: 2 activations for 1 hidden layer; give one", path, arch="2-3-2", activation="tanh,relu")
    refusal("activation: unknown activation 'swish'", path, arch="2-3-2", activation="swish")


def test_tensors_that_are_not_linear_layers_are_named(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Tanh(), nn.Linear(3, 2))
    torch.save(model.state_dict(), path := tmp_path / "bn.pt")
    refusal("'1.weight' in", path, arch="2-3-2", activation="tanh")  # BatchNorm's weight: a vector after a bias


# --------------------------------------------------------------------------- the command line: one line, exit 2


def test_bad_model_files_on_the_command_line_are_one_line_and_exit_2(tmp_path):
    model = mlp(2, 3, 3, 2)
    torch.save(model.state_dict(), weights := tmp_path / "w.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(weights.read_bytes()[:300])
    cases = [
        (["--model", str(weights)], "give its layer widths and activations, e.g. --arch"),
        (["--model", str(weights), "--arch", "2-3-2", "--activation", "tanh"],
         "holds 3 weight matrices (0.weight, 2.weight, 4.weight); --arch 2-3-2 has 2 layers"),
        (["--model", str(weights), "--arch", "2-3-4-2", "--activation", "tanh"],
         "'2.weight' in '" + str(weights) + "' has shape (3, 3); --arch 2-3-4-2 expects (4, 3)"),
        (["--model", str(weights), "--arch", "2-3-3-2"], "activation: the tensors of a state_dict or safetensors file "
                                                         "hold no activations"),
        (["--model", str(truncated), "--arch", "2-3-3-2", "--activation", "tanh"], "model: '" + str(truncated)),
        (["--arch", "2-3-3-2"], "arch: describes the tensors of a model file"),
    ]
    if _has_safetensors():
        st = save_safetensors(model, tmp_path / "w.safetensors")
        cut = tmp_path / "cut.safetensors"
        cut.write_bytes(st.read_bytes()[:-20])
        cases += [(["--model", str(cut), "--arch", "2-3-3-2", "--activation", "tanh"],
                   "could not be read as a safetensors file"),
                  (["--model", str(st), "--arch", "2-3-3-3", "--activation", "tanh"],
                   "'4.weight' in '" + str(st) + "' has shape (2, 3); --arch 2-3-3-3 expects (3, 3)")]
    for args, match in cases:
        code, err = cli("figure", "disk-annulus-lift", *TINY, "--out", str(tmp_path / "f.png"), *args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and match in lines[0], (args, err)
    assert not (tmp_path / "f.png").exists()


def _has_safetensors() -> bool:
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_python_keywords_arch_and_activation_reach_the_model_file(tmp_path):
    import layerlapse as ll

    model = mlp(2, 3, 3, 2)
    torch.save(model.state_dict(), path := tmp_path / "w.pt")
    scene = ll.load_scene("disk-annulus-lift", resolution=12, samples_per_class=60)
    prepared = ll.prepare(scene, model=path, arch="2-3-3-2", activation="tanh")
    assert prepared.network.config.describe() == "2-3-3-2 tanh"
    np.testing.assert_allclose(numpy_forward(prepared.network, X2), outputs(model, X2), rtol=1e-5, atol=1e-5)
    with pytest.raises(LayerlapseError, match="arch: a Sequential given in Python holds its own layers"):
        ll.prepare(scene, model=model, arch="2-3-3-2")
    with pytest.raises(LayerlapseError, match="activation: describes the tensors of a model file"):
        ll.prepare(scene, activation="tanh")


def test_a_tensor_view_repeating_its_storage_is_bounded(tmp_path, no_torchscript):
    """A weight of 10^10 floats viewed (stride 0) from a storage of six: refused, not allocated."""
    import struct

    big = b"(J" + struct.pack("<i", 100_000) + b"J" + struct.pack("<i", 100_000) + b"t(K\x00K\x00t"

    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("/data.pkl"):
            assert data.count(b"(K\x03K\x02t(K\x02K\x01t") == 1  # the (3, 2) weight's size and stride
            return data.replace(b"(K\x03K\x02t(K\x02K\x01t", big)
        return data

    crafted = rewrite(scripted(seeded(nn.Linear(2, 3)), tmp_path / "m.pt"), edit)
    start = time.perf_counter()
    refusal("the tensors of '" + str(crafted) + "' are more than 64 MiB", crafted)
    assert time.perf_counter() - start < 5.0


def test_a_tree_sharing_one_sequential_many_times_over_is_bounded(tmp_path, no_torchscript):
    """Forty Sequentials each listing the next twice: 2^40 modules in a pickle of a kilobyte
    (written opcode by opcode: GLOBAL, NEWOBJ, the state dict, BUILD, and BINGET of the last)."""

    def text(value: str) -> bytes:
        return b"X" + len(value).to_bytes(4, "little") + value.encode()

    head = b"c__torch__.torch.nn.modules.container\nSequential\n)\x81}(" + text("training") + b"\x89"
    data = b"\x80\x02" + head + b"ubq\x00"
    for k in range(1, 41):
        last = b"h" + bytes([k - 1])
        data += head + text("0") + last + text("1") + last + b"ubq" + bytes([k])
    data += b"."
    crafted = rewrite(scripted(seeded(nn.Linear(2, 2)), tmp_path / "m.pt"),
                      lambda name, old: data if name.endswith("/data.pkl") else old)
    start = time.perf_counter()
    refusal("holds more than 512 modules", crafted)
    assert time.perf_counter() - start < 5.0


def test_arch_as_a_sequence_and_a_lone_linear(tmp_path):
    torch.manual_seed(0)
    linear = nn.Linear(2, 2)
    torch.save(linear.state_dict(), path := tmp_path / "w.pt")
    module = load_model_file(path, arch=(2, 2))  # no hidden layer: no activation needed
    np.testing.assert_allclose(outputs(module, X2), outputs(linear, X2), rtol=1e-5, atol=1e-5)
    network, _ = network_from_module(load_model_file(scripted(linear, tmp_path / "lin.pt")), input_dim=2)
    np.testing.assert_allclose(numpy_forward(network, X2), outputs(linear, X2), rtol=1e-5, atol=1e-5)
