"""Bring your own PyTorch model: conversion of nn.Sequential modules and safe file loading."""

from __future__ import annotations

import copy
import importlib.util
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_CLASSES, MAX_HIDDEN_LAYERS, MAX_WIDTH
from layerlapse.networks.torch_import import load_model_file, network_from_module

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own_model.py"
SAVE_HINT = "torch.jit.save(torch.jit.script(model), 'model.pt')"


def seeded(*modules: nn.Module, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(*modules).eval()


def numpy_forward(network, X: np.ndarray) -> np.ndarray:
    hidden, head = network.layers()
    for layer in hidden:
        X = layer(X)
    return head(X)


def torch_forward(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The oracle: the module itself, in float64."""
    with torch.no_grad():
        return copy.deepcopy(model).double()(torch.as_tensor(X)).numpy()


def refusal(model, match: str | None = None, **kwargs) -> str:
    kwargs.setdefault("input_dim", 2)
    with pytest.raises(LayerlapseError) as info:
        network_from_module(model, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("model: ")
    if match is not None:
        assert match in message, message
    return message


X = np.random.default_rng(1).normal(scale=1.5, size=(200, 2))


# --------------------------------------------------------------------------- conversion


ACTIVATIONS = [
    (nn.Tanh, "tanh"),
    (nn.Sigmoid, "sigmoid"),
    (nn.Softplus, "softplus"),
    (lambda: nn.Softplus(beta=2), "softplus(2)"),
    (nn.ReLU, "relu"),
    (nn.LeakyReLU, "leaky_relu"),
    (lambda: nn.LeakyReLU(0.2), "leaky_relu(0.2)"),
    (nn.ELU, "elu"),
    (lambda: nn.ELU(0.5), "elu(0.5)"),
    (nn.SiLU, "silu"),
    (nn.GELU, "gelu"),
    (lambda: nn.GELU(approximate="tanh"), "gelu_tanh"),
    (nn.Identity, "identity"),
]


@pytest.mark.parametrize(("make", "spec"), ACTIVATIONS, ids=[spec for _, spec in ACTIVATIONS])
def test_activation_converts_and_matches_torch(make, spec):
    model = seeded(nn.Linear(2, 3), make(), nn.Linear(3, 4), make(), nn.Linear(4, 3))
    network, notes = network_from_module(model, input_dim=2)
    assert network.config.input_dim == 2
    assert network.config.hidden == (3, 4)
    assert network.config.classes == 3
    assert network.config.activations == (spec, spec)
    assert network.training is None and network.accuracy is None
    np.testing.assert_allclose(numpy_forward(network, X), torch_forward(model, X), rtol=1e-5, atol=1e-5)
    folds = [n for n in notes if "is not a homeomorphism" in n]
    injective = spec not in ("relu", "silu", "gelu", "gelu_tanh")
    assert folds == ([] if injective else [f"layer 1: {spec} is not a homeomorphism (it folds space)",
                                          f"layer 2: {spec} is not a homeomorphism (it folds space)"])


def test_nested_sequentials_are_flattened():
    model = seeded(nn.Linear(2, 3), nn.Sequential(nn.Tanh(), nn.Sequential(nn.Linear(3, 3))), nn.ELU(),
                   nn.Sequential(), nn.Linear(3, 2))
    network, _ = network_from_module(model, input_dim=2)
    assert network.config.activations == ("tanh", "elu")
    np.testing.assert_allclose(numpy_forward(network, X), torch_forward(model, X), rtol=1e-5, atol=1e-5)


def test_bias_false_is_a_zero_bias():
    model = seeded(nn.Linear(2, 3, bias=False), nn.Tanh(), nn.Linear(3, 2, bias=False))
    network, _ = network_from_module(model, input_dim=2)
    arrays = network.weights().arrays
    assert not arrays["hidden.0.bias"].any() and not arrays["head.bias"].any()
    np.testing.assert_allclose(numpy_forward(network, X), torch_forward(model, X), rtol=1e-5, atol=1e-5)


def test_linear_after_linear_is_an_identity_layer():
    model = seeded(nn.Linear(2, 3), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2))
    network, _ = network_from_module(model, input_dim=2)
    assert network.config.activations == ("identity", "tanh")
    np.testing.assert_allclose(numpy_forward(network, X), torch_forward(model, X), rtol=1e-5, atol=1e-5)


def test_one_output_head_becomes_two_logits():
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    network, notes = network_from_module(model, input_dim=2, samples=X, labels=y)
    assert network.config.classes == 2
    logits = numpy_forward(network, X)
    np.testing.assert_array_equal(logits[:, 0], 0.0)
    np.testing.assert_allclose(logits[:, 1:], torch_forward(model, X), rtol=1e-5, atol=1e-5)
    z = torch_forward(model, X)[:, 0]
    assert network.accuracy == pytest.approx(((z > 0).astype(int) == y).mean())
    assert any("one output z (class 1 when z > 0)" in n and "[0, z]" in n for n in notes)


def test_one_output_head_with_sigmoid_keeps_its_threshold():
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid())
    y = (X[:, 0] > 0).astype(int)
    network, notes = network_from_module(model, input_dim=2, samples=X, labels=y)
    p = torch_forward(model, X)[:, 0]
    assert network.accuracy == pytest.approx(((p > 0.5).astype(int) == y).mean())
    assert np.array_equal(numpy_forward(network, X).argmax(1), (p > 0.5).astype(int))
    assert any("module 3 (Sigmoid) after the classifier head keeps the winning class" in n for n in notes)


@pytest.mark.parametrize("tail", [nn.Softmax(dim=1), nn.LogSoftmax(dim=-1), nn.Sigmoid(), nn.LeakyReLU(0.1)],
                         ids=["softmax", "log_softmax", "sigmoid", "leaky_relu"])
def test_argmax_preserving_modules_after_the_head_are_left_out(tail):
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), tail)
    network, notes = network_from_module(model, input_dim=2)
    assert network.config.activations == ("tanh",)
    assert np.array_equal(numpy_forward(network, X).argmax(1), torch_forward(model, X).argmax(1))
    assert any("after the classifier head keeps the winning class" in n for n in notes)


def test_accuracy_is_the_modules_own_and_its_mode_is_kept():
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).train()
    y = (X[:, 0] > 0).astype(int)
    network, _ = network_from_module(model, input_dim=2, samples=X, labels=y,
                                     scene_key={"name": "disk", "params": {"seed": 0}})
    assert model.training  # not switched to eval
    expected = (torch_forward(model, X).argmax(1) == y).mean()
    assert network.accuracy == pytest.approx(expected)
    assert network.scene_key == {"name": "disk", "params": {"seed": 0}}


def test_eval_dropout_is_skipped():
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Dropout(0.5), nn.Linear(3, 2))
    network, notes = network_from_module(model, input_dim=2)
    assert network.config.activations == ("tanh",)
    assert any("module 2 (Dropout) is the identity in eval mode" in n for n in notes)


def test_lone_linear_is_a_linear_classifier():
    network, _ = network_from_module(seeded(nn.Linear(2, 3)), input_dim=2)
    assert network.config.hidden == () and network.config.classes == 3


# --------------------------------------------------------------------------- refusals


def test_refuses_batchnorm_with_its_index():
    message = refusal(seeded(nn.Linear(2, 3), nn.Tanh(), nn.BatchNorm1d(3), nn.Linear(3, 2)))
    assert message.startswith("model: module 2 (BatchNorm1d) is not supported; a model must be an "
                              "nn.Sequential of nn.Linear and element-wise activations (Tanh, Sigmoid")


def test_refuses_conv_with_its_index_and_place():
    refusal(seeded(nn.Sequential(nn.Conv1d(1, 1, 1)), nn.Linear(2, 2)),
            "module 0 (Conv1d at '0.0') is not supported")


@pytest.mark.parametrize(("module", "name"), [(nn.Flatten(), "Flatten"), (nn.Hardtanh(), "Hardtanh"),
                                              (nn.Softmax(dim=1), "Softmax")])
def test_refuses_other_modules_between_layers(module, name):
    refusal(seeded(nn.Linear(2, 3), module, nn.Linear(3, 2)), f"module 1 ({name}")


def test_refuses_a_subclass_of_linear():
    class MyLinear(nn.Linear):
        pass

    refusal(seeded(nn.Linear(2, 3), nn.Tanh(), MyLinear(3, 2)), "module 2 (MyLinear) is not supported")


def test_refuses_a_custom_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(nn.Linear(2, 2))

        def forward(self, x):
            return self.layers(x) * 2

    refusal(Net(), "the model is a Net, not an nn.Sequential")
    refusal({"0.weight": torch.zeros(2, 2)}, "expected a torch.nn.Module, got dict")


def test_refuses_dropout_in_training_mode():
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Dropout(0.1), nn.Linear(3, 2)).train()
    refusal(model, "module 2 (Dropout) is in training mode")
    assert "model.eval()" in refusal(model)


def test_refuses_a_wrong_input_width_naming_the_scene():
    model = seeded(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    refusal(model, "the first Linear takes 4 inputs but scene 'linked-tori' is 3-D",
            input_dim=3, scene_key={"name": "linked-tori"})
    refusal(model, "the first Linear takes 4 inputs but the scene is 2-D")


def test_refuses_two_activations_in_a_row():
    refusal(seeded(nn.Linear(2, 3), nn.Tanh(), nn.ReLU(), nn.Linear(3, 2)),
            "module 2 (ReLU) follows another activation (module 1 (Tanh))")


def test_refuses_an_activation_first():
    refusal(seeded(nn.Tanh(), nn.Linear(2, 2)), "module 0 (Tanh) comes before any Linear")


def test_refuses_a_model_without_linear():
    refusal(seeded(nn.Tanh(), nn.ReLU()), "no nn.Linear layer")


def test_refuses_nan_weights_naming_the_parameter():
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    with torch.no_grad():
        model[2].weight[0, 1] = float("nan")
    refusal(model, "parameter '2.weight' of module 2 (Linear) holds NaN or Inf")
    with torch.no_grad():
        model[0].bias[0] = float("inf")
    refusal(model, "parameter '0.bias' of module 0 (Linear) holds NaN or Inf")


def test_refuses_hidden_layers_wider_than_the_width_bound():
    """An imported model is held to the bound a config's hidden widths are (limits.MAX_WIDTH)."""
    wide = MAX_WIDTH + 1
    refusal(seeded(nn.Linear(2, wide), nn.Tanh(), nn.Linear(wide, 2)),
            f"hidden layer 1 (module 0 (Linear)) has {wide} neurons; at most {MAX_WIDTH} are supported "
            "(every frame carries every vertex")
    network, _ = network_from_module(seeded(nn.Linear(2, MAX_WIDTH), nn.Tanh(), nn.Linear(MAX_WIDTH, 2)),
                                     input_dim=2)
    assert network.config.hidden == (MAX_WIDTH,)


def test_refuses_more_hidden_layers_or_classes_than_the_bounds():
    layers = [m for _ in range(MAX_HIDDEN_LAYERS + 1) for m in (nn.Linear(2, 2), nn.Tanh())]
    refusal(seeded(*layers, nn.Linear(2, 2)),
            f"{MAX_HIDDEN_LAYERS + 1} hidden layers; at most {MAX_HIDDEN_LAYERS} are supported")
    refusal(seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, MAX_CLASSES + 1)),
            f"has {MAX_CLASSES + 1} outputs; at most {MAX_CLASSES} classes are supported")


@pytest.mark.parametrize("tail", [nn.ReLU(), nn.GELU(), nn.LeakyReLU(-0.5)], ids=["relu", "gelu", "leaky"])
def test_refuses_activations_after_the_head_that_can_change_the_class(tail):
    refusal(seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2), tail),
            "module 3 (" + type(tail).__name__ + ") after the last Linear (the classifier head) can change")


def test_refuses_softmax_over_a_single_output():
    refusal(seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Softmax(dim=1)), "has one output")


def test_refuses_softplus_with_a_low_threshold():
    refusal(seeded(nn.Linear(2, 3), nn.Softplus(threshold=1), nn.Linear(3, 2)),
            "module 1 (Softplus) has threshold 1")


def test_refuses_labels_beyond_the_heads_classes():
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    refusal(model, "gives 2 classes but scene 's' has 3", samples=X, labels=np.arange(len(X)) % 3,
            scene_key={"name": "s"})


def test_refuses_a_model_whose_forward_was_patched():
    """The conversion is checked against the module's own outputs."""
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    model[1].register_forward_hook(lambda module, args, out: out * 2)
    refusal(model, "the converted layers do not reproduce the model's outputs")


# --------------------------------------------------------------------------- files


def save_torchscript(model: nn.Module, path: Path, how: str) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "script":
            compiled = torch.jit.script(model)
        else:
            compiled = torch.jit.trace(model, torch.zeros(1, 2), check_trace=False)
        torch.jit.save(compiled, str(path))
    return path


@pytest.fixture
def no_torchscript(monkeypatch):
    """Fail loudly if a file's TorchScript is loaded (compiled, so run on load or forward)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a TorchScript file was loaded with torch.jit.load")

    monkeypatch.setattr(torch.jit, "load", forbidden)
    monkeypatch.setattr(torch._C, "import_ir_module", forbidden)


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_round_trip_recovers_parameters(tmp_path, how, no_torchscript):
    model = seeded(nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Linear(3, 3), nn.ELU(0.5), nn.Linear(3, 4),
                   nn.Softplus(beta=2), nn.Linear(4, 3), nn.GELU(approximate="tanh"), nn.Dropout(0.2),
                   nn.Linear(3, 2, bias=False))
    loaded = load_model_file(save_torchscript(model, tmp_path / "model.pt", how))
    # read as data and rebuilt from torch's own modules: nothing of the file's code is kept
    assert type(loaded) is nn.Sequential and not isinstance(loaded, torch.jit.ScriptModule)
    y = (X[:, 0] > 0).astype(int)
    network, _ = network_from_module(loaded, input_dim=2, samples=X, labels=y)
    assert network.config.activations == ("leaky_relu(0.2)", "elu(0.5)", "softplus(2)", "gelu_tanh")
    np.testing.assert_allclose(numpy_forward(network, X), torch_forward(model, X), rtol=1e-5, atol=1e-5)
    assert network.accuracy == pytest.approx((torch_forward(model, X).argmax(1) == y).mean())


def test_torchscript_of_a_custom_module_is_refused(tmp_path, no_torchscript):
    class Linear(nn.Module):  # named like torch's, but its own class
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(2, 2))

        def forward(self, x):
            return x @ self.weight

    message = load_refusal(save_torchscript(seeded(Linear()), tmp_path / "custom.pt", "script"),
                           "module '0' in")
    assert "is a class of your own (Linear" in message and "model=module" in message


def test_torchscript_dropout_in_training_mode_is_refused(tmp_path, no_torchscript):
    model = seeded(nn.Linear(2, 3), nn.Tanh(), nn.Dropout(0.1), nn.Linear(3, 2)).train()
    loaded = load_model_file(save_torchscript(model, tmp_path / "m.pt", "script"))
    refusal(loaded, "module 2 (Dropout) is in training mode")


class Trap(nn.Module):
    """Unpickling this would run code: it records that it happened."""

    unpickled = False

    def forward(self, x):
        return x

    def __setstate__(self, state):
        Trap.unpickled = True
        super().__setstate__(state)


@pytest.fixture
def no_unpickling(monkeypatch):
    """Fail loudly if anything tries to unpickle or torch.load."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a file was unpickled")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    Trap.unpickled = False
    yield
    assert not Trap.unpickled


def load_refusal(path, match: str) -> str:
    with pytest.raises(LayerlapseError) as info:
        load_model_file(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("model: ")
    assert match in message, message
    return message


def test_plain_torch_save_is_refused_without_unpickling(tmp_path, no_unpickling):
    path = tmp_path / "model.pt"
    torch.save(seeded(nn.Linear(2, 2), Trap()), path)
    message = load_refusal(path, "is a torch.save pickle of a model")
    assert "Trap" in message and "would run arbitrary code" in message and SAVE_HINT in message


def test_legacy_pickle_is_refused_without_unpickling(tmp_path, no_unpickling):
    path = tmp_path / "legacy.pt"
    torch.save(seeded(nn.Linear(2, 2), Trap()), path, _use_new_zipfile_serialization=False)
    message = load_refusal(path, "is a legacy torch.save pickle of a model")
    assert "Trap" in message and SAVE_HINT in message


def test_state_dict_is_refused(tmp_path, no_unpickling):
    path = tmp_path / "weights.pt"
    torch.save(seeded(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).state_dict(), path)
    message = load_refusal(path, "of tensors only (a state_dict or checkpoint: no layers)")
    assert "--arch 2-3-3-2 --activation tanh" in message


def test_layerlapse_checkpoint_is_pointed_to_checkpoint(tmp_path, no_unpickling):
    path = tmp_path / "network.pt"
    torch.save({"format": "layerlapse-checkpoint", "weights": {"head.bias": torch.zeros(2)}}, path)
    load_refusal(path, "is a layerlapse checkpoint")


def test_torch_export_program_is_refused(tmp_path, no_unpickling):
    path = tmp_path / "model.pt2"
    with zipfile.ZipFile(path, "w") as archive:  # the layout torch.export.save writes
        archive.writestr("model/archive_format", "pt2")
        archive.writestr("model/models/model.json", "{}")
    message = load_refusal(path, "is a torch.export program (.pt2)")
    assert SAVE_HINT in message


def test_bad_files_are_refused(tmp_path):
    load_refusal(tmp_path / "missing.pt", "file '" + str(tmp_path / "missing.pt") + "' does not exist")
    load_refusal(tmp_path, "is a directory")
    (tmp_path / "garbage.pt").write_bytes(b"not a model at all")
    load_refusal(tmp_path / "garbage.pt", "is not a TorchScript archive (not a zip file)")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("notes.txt", "hello")
    load_refusal(tmp_path / "other.zip", "is a zip archive but not a TorchScript model")
    (tmp_path / "broken.pt").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    load_refusal(tmp_path / "broken.pt", "model:")


# --------------------------------------------------------------------------- example


@pytest.fixture
def one_thread():
    """Tiny full-batch steps run several times faster on one thread (no oversubscription)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_example_trains_saves_and_converts(tmp_path, capsys, one_thread):
    spec = importlib.util.spec_from_file_location("own_model_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    path = example.main(["--no-render"])  # the autouse fixture runs each test in tmp_path
    assert path.resolve() == (tmp_path / "outputs" / "own-model.pt").resolve()
    assert "accuracy" in capsys.readouterr().out

    import layerlapse as ll

    scene = ll.load_scene(example.SCENE)
    network, notes = network_from_module(load_model_file(path), input_dim=scene.dim, samples=scene.samples,
                                         labels=scene.labels, scene_key=scene.key)
    assert network.config.describe() == "2-3-3-2 tanh"
    assert network.accuracy > 0.9
    assert network.scene_key["name"] == "disk-annulus-lift"
    assert notes == []
