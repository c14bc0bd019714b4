"""A cache you can trust: checkpoints are verified on load (their tensors' SHA-256, their
accuracy recomputed from the scene's samples). A bad cached network is retrained with a
notice; a bad checkpoint the user gave is refused in one line; nothing gives a traceback."""

import io
import json
import os
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cached_networks
from typer.testing import CliRunner

from layerlapse.app import api
from layerlapse.app import network as app_network
from layerlapse.cli import app
from layerlapse.errors import LayerlapseError
from layerlapse.networks.checkpoint import (
    VERSION,
    BadCheckpoint,
    accuracy_bounds,
    content_sha256,
    load_network,
    save_network,
    sidecar_path,
)

SCENE = dict(points_per_curve=40, samples_per_class=100, grid_lines=5)
TRAINING = {"epochs": 3}
# the same scene and training on the command line
CLI_TINY = ["--set", "points_per_curve=40", "--set", "samples_per_class=100", "--set", "grid_lines=5",
            "--epochs", "3", "--no-progress"]


@pytest.fixture(scope="module")
def scene():
    return api.load_scene("two-curves", **SCENE)


@pytest.fixture(scope="module")
def trained(scene):
    return api.train_network(scene, training=TRAINING, progress=False)


@pytest.fixture(scope="module")
def knn_trained(scene):
    return api.train_network(scene, network={"head": "knn", "k": 5}, training=TRAINING, progress=False)


def cached(scene):
    """Train into the default cache; -> (network, its .pt)."""
    net = api.get_network(scene, training=TRAINING, progress=False)
    (pt,) = cached_networks(Path.cwd(), "two-curves")
    return net, pt


def flip_bit(path, array):
    """Flip an exponent bit of ``array``'s first float in the file's raw bytes, as a disk might."""
    data = bytearray(path.read_bytes())
    at = bytes(data).find(np.ascontiguousarray(array, "<f4").tobytes())
    assert at >= 0, "the weights' bytes are not in the file"
    data[at + 3] ^= 0x40
    path.write_bytes(bytes(data))


def payload(path):
    return torch.load(path, weights_only=True)


def rewrite_npz(path, change):
    """Rewrite an .npz checkpoint (or sidecar) with ``change(meta, arrays)`` applied."""
    with np.load(path) as npz:
        meta = json.loads(str(npz["meta"][()]))
        arrays = {name: npz[name] for name in npz.files if name != "meta"}
    change(meta, arrays)
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def load(scene, path):
    """Load as get_network does: for this scene, with its samples."""
    return load_network(path, scene_key=scene.key, samples=(scene.samples, scene.labels))


def one_line(exc_info, path):
    message = str(exc_info.value)
    assert "\n" not in message and repr(str(path)) in message, message
    return message


def same_weights(a, b):
    return all(np.array_equal(a.weights().arrays[n], b.weights().arrays[n]) for n in a.weights().arrays)


# --- a flipped bit ----------------------------------------------------------------------------
def test_a_flipped_bit_in_the_cached_pt_is_noticed_and_retrained(scene):
    net, pt = cached(scene)
    flip_bit(pt, net.weights().arrays["hidden.0.weight"])
    with pytest.raises(BadCheckpoint, match="its tensors do not match their SHA-256") as exc:
        load(scene, pt)
    one_line(exc, pt)
    with pytest.warns(UserWarning, match=r"is corrupt: .*; retraining the cached network") as record:
        again = api.get_network(scene, training=TRAINING, progress=False)
    assert len(record) == 1
    assert same_weights(again, net) and again.accuracy == net.accuracy  # seeded: the same network
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten cache loads silently, torch-free
        reloaded = api.get_network(scene, training=TRAINING, progress=False)
    assert reloaded._model is None and same_weights(reloaded, net)


def test_a_flipped_bit_in_a_given_pt_is_refused_with_the_retrain_hint(scene, trained):
    path = save_network(trained, app_network.OUTPUTS / "mine.pt")
    flip_bit(path, trained.weights().arrays["head.weight"])
    with pytest.raises(LayerlapseError, match=r"its tensors do not match their SHA-256.*--retrain") as exc:
        api.get_network(scene, checkpoint=path, training=TRAINING, progress=False)
    one_line(exc, path)
    net = api.get_network(scene, checkpoint=path, training=TRAINING, retrain=True, progress=False)
    assert same_weights(net, trained) and same_weights(load(scene, path), trained)


def test_the_cli_refuses_a_corrupt_checkpoint_in_one_line(scene, trained, tmp_path):
    path = save_network(trained, tmp_path / "mine.pt")
    flip_bit(path, trained.weights().arrays["head.bias"])
    result = CliRunner().invoke(app, ["export", "two-curves", *CLI_TINY, "--checkpoint", str(path), "-o", "m.ply"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: checkpoint: ") and "--retrain" in lines[0], lines
    assert "Traceback" not in result.output


def test_a_corrupt_sidecar_gives_way_to_its_pt(scene):
    net, pt = cached(scene)
    name = "hidden.0.bias"

    def flip(meta, arrays):  # the sidecar still claims to mirror these .pt bytes
        arrays[name] = arrays[name] * np.float32(-1e30)

    rewrite_npz(sidecar_path(pt), flip)
    with pytest.warns(UserWarning, match=r"the numpy sidecar of .* is corrupt: its tensors do not match") as record:
        loaded = load(scene, pt)
    assert len(record) == 1 and same_weights(loaded, net)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load(scene, pt)  # the sidecar was rewritten
    assert again._model is None and same_weights(again, net)


def test_a_changed_weight_in_an_npz_checkpoint(scene, trained):
    path = save_network(trained, app_network.OUTPUTS / "net.npz")

    def change(meta, arrays):
        arrays["hidden.0.weight"] = arrays["hidden.0.weight"].copy()
        arrays["hidden.0.weight"][0, 0] = -2.6e37

    rewrite_npz(path, change)
    with pytest.raises(BadCheckpoint, match="tensors do not match their SHA-256") as exc:
        load(scene, path)
    one_line(exc, path)
    with pytest.raises(LayerlapseError, match=r"tensors do not match their SHA-256.*--retrain"):
        api.get_network(scene, checkpoint=path, training=TRAINING, progress=False)


# --- the accuracy is recomputed -----------------------------------------------------------------
def test_a_tampered_accuracy_is_caught(scene):
    net, pt = cached(scene)
    data = payload(pt)
    data["accuracy"] = min(1.0, net.accuracy + 0.2)  # the hash covers tensors, not this number
    torch.save(data, pt)
    with pytest.raises(BadCheckpoint, match=rf"says accuracy {data['accuracy']:.6g}, but they score "
                                            rf"{net.accuracy:.6g} on the scene's samples") as exc:
        load(scene, pt)
    one_line(exc, pt)
    assert load_network(pt).accuracy == data["accuracy"]  # without the samples nothing is recomputed
    with pytest.warns(UserWarning, match="retraining"):
        again = api.get_network(scene, training=TRAINING, progress=False)
    assert again.accuracy == net.accuracy and payload(pt)["accuracy"] == net.accuracy


def test_a_float32_rounded_accuracy_is_accepted(scene, trained, tmp_path):
    low, high = accuracy_bounds(trained, scene.samples, scene.labels)
    assert low <= trained.accuracy <= high and high - low < 0.02
    path = save_network(trained, tmp_path / "net.npz")
    rewrite_npz(path, lambda meta, arrays: meta.update(accuracy=float(np.float32(trained.accuracy))))
    assert load(scene, path).accuracy == pytest.approx(trained.accuracy, abs=1e-7)


def test_a_knn_networks_accuracy_is_its_leave_one_out_accuracy(scene, knn_trained, tmp_path):
    path = save_network(knn_trained, tmp_path / "knn.npz")
    assert load(scene, path).accuracy == knn_trained.accuracy
    rewrite_npz(path, lambda meta, arrays: meta.update(accuracy=knn_trained.accuracy - 0.01))
    with pytest.raises(BadCheckpoint, match="does not match its weights"):
        load(scene, path)


def test_verification_is_cheap(scene, trained):
    arrays = trained.weights().arrays
    costs = []
    for _ in range(5):  # the best of five: other processes share the cores
        start = time.perf_counter()
        accuracy_bounds(trained, scene.samples, scene.labels)
        content_sha256(arrays)
        costs.append(time.perf_counter() - start)
    assert min(costs) < 0.01, costs  # about 1 ms (the presets: under 1 ms, flows aside)


# --- version 1 ----------------------------------------------------------------------------------
def version_1(path):
    """Rewrite a .pt as version 1 wrote it: no content hash; its sidecar removed."""
    data = payload(path)
    data["version"] = 1
    del data["content_sha256"]
    torch.save(data, path)
    sidecar_path(path).unlink(missing_ok=True)


def test_version_1_checkpoints_still_load(scene, trained, tmp_path):
    assert VERSION == 2
    path = save_network(trained, tmp_path / "old.pt")
    version_1(path)
    loaded = api.get_network(scene, checkpoint=path, training=TRAINING, progress=False)
    assert same_weights(loaded, trained) and loaded.accuracy == trained.accuracy
    assert sidecar_path(path).is_file()  # and is read from now on
    assert api.get_network(scene, checkpoint=path, training=TRAINING, progress=False)._model is None


def test_a_changed_weight_in_a_version_1_checkpoint_shows_in_its_accuracy(scene, trained, tmp_path):
    path = save_network(trained, tmp_path / "old.pt")
    version_1(path)
    data = payload(path)
    data["state_dict"]["head.bias"][0] = -2.6e37  # every sample is now class 1
    torch.save(data, path)
    with pytest.raises(LayerlapseError, match=r"does not match its weights.*--retrain"):
        api.get_network(scene, checkpoint=path, training=TRAINING, progress=False)


# --- malformed files: one line each --------------------------------------------------------------
def _pt_case(change):
    def build(net, path):
        save_network(net, path)
        data = payload(path)
        change(data)
        torch.save(data, path)
        sidecar_path(path).unlink()

    return build


def _npz_case(change):
    def build(net, path):
        save_network(net, path)
        rewrite_npz(path, change)

    return build


def _raw(content):
    def build(net, path):
        path.write_bytes(content(net, path) if callable(content) else content)

    return build


def _truncated(net, path):
    save_network(net, path)
    sidecar_path(path).unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign_zip(net, path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "not a checkpoint")
    path.write_bytes(buffer.getvalue())


def _object_npz(net, path):
    np.savez(path, meta=np.array(json.dumps({"format": "layerlapse-checkpoint"})),
             **{"hidden.0.weight": np.array([object()], dtype=object)})


def _set(key, value):
    return lambda data, *rest: data.__setitem__(key, value)


def _drop(key):
    return lambda data, *rest: data.pop(key)


def _weight(value):
    return lambda data: data["state_dict"].__setitem__("hidden.0.weight", value)


def _array(name, value):
    return lambda meta, arrays: arrays.__setitem__(name, value)


MALFORMED = {
    # .pt: unpickles safely, but is not what it says
    "no network": (".pt", _pt_case(_drop("network")), "'network' is missing"),
    "network not a config": (".pt", _pt_case(_set("network", {"input_dim": "two"})), "is not a network config"),
    "state_dict a list": (".pt", _pt_case(lambda d: d.__setitem__("state_dict", list(d["state_dict"].values()))),
                          "its state_dict is a list, not a dict of tensors"),
    "no state_dict": (".pt", _pt_case(_drop("state_dict")), "its state_dict is missing"),
    "weight a list": (".pt", _pt_case(_weight([[1.0, 2.0], [3.0, 4.0]])), "hidden.0.weight is a list, not a tensor"),
    "weight a string": (".pt", _pt_case(_weight("weights")), "hidden.0.weight is a str, not a tensor"),
    "weight of wrong shape": (".pt", _pt_case(_weight(torch.zeros(5, 5))), r"hidden.0.weight has shape \(5, 5\)"),
    "weight of ints": (".pt", _pt_case(_weight(torch.zeros(2, 2, dtype=torch.int64))), "hidden.0.weight is int64"),
    "weight of float64": (".pt", _pt_case(_weight(torch.zeros(2, 2, dtype=torch.float64))), "torch.float64 tensor"),
    "a weight too many": (".pt", _pt_case(lambda d: d["state_dict"].__setitem__("extra", torch.zeros(1))),
                          "extra is not a weight"),
    "a weight missing": (".pt", _pt_case(lambda d: d["state_dict"].pop("head.bias")), "head.bias is missing"),
    "accuracy a string": (".pt", _pt_case(_set("accuracy", "0.9")), "'accuracy' is '0.9', not a number"),
    "accuracy above 1": (".pt", _pt_case(_set("accuracy", 1.5)), "'accuracy' is 1.5"),
    "accuracy a bool": (".pt", _pt_case(_set("accuracy", True)), "'accuracy' is True"),
    "training bad": (".pt", _pt_case(_set("training", {"epochs": "many"})), "'training' is not training settings"),
    "training a list": (".pt", _pt_case(_set("training", [1, 2])), "'training' is not training settings"),
    "no scene": (".pt", _pt_case(_drop("scene")), "'scene' is missing"),
    "scene a string": (".pt", _pt_case(_set("scene", "two-curves")), "'scene' is a str, not a dict"),
    "no version": (".pt", _pt_case(_drop("version")), "format version None"),
    "version from the future": (".pt", _pt_case(_set("version", 99)), "format version 99"),
    "version a string": (".pt", _pt_case(_set("version", "2")), "format version '2'"),
    "no content hash": (".pt", _pt_case(_drop("content_sha256")), "'content_sha256' is missing"),
    "content hash a number": (".pt", _pt_case(_set("content_sha256", 12)), "'content_sha256' is 12"),
    "memory on a linear head": (".pt", _pt_case(_set("memory", {"samples": torch.zeros(3, 2),
                                                                "labels": torch.zeros(3, dtype=torch.int64)})),
                                "holds a k-NN memory but its head is linear"),
    "memory a list": (".pt", _pt_case(_set("memory", [1, 2])), "its memory is a list"),
    "payload a list": (".pt", _raw(lambda net, path: (torch.save([1, 2], path), path.read_bytes())[1]),
                       "is not a layerlapse checkpoint"),
    "not ours": (".pt", _raw(lambda net, path: (torch.save({"hello": torch.zeros(2)}, path), path.read_bytes())[1]),
                 "is not a layerlapse checkpoint"),
    # broken files
    "empty": (".pt", _raw(b""), "is not a loadable layerlapse checkpoint"),
    "truncated": (".pt", _truncated, "is not a loadable layerlapse checkpoint"),
    "text": (".pt", _raw(b"hello\n"), "is not a loadable layerlapse checkpoint"),
    "a foreign zip": (".pt", _foreign_zip, "is not a loadable layerlapse checkpoint"),
    # .npz
    "npz empty": (".npz", _raw(b""), "is not a loadable layerlapse checkpoint"),
    "npz foreign zip": (".npz", _foreign_zip, "is not a layerlapse checkpoint"),
    "npz truncated": (".npz", lambda net, path: (save_network(net, path),
                                                 path.write_bytes(path.read_bytes()[:300])),
                      "is not a loadable layerlapse checkpoint"),
    "npz object arrays": (".npz", _object_npz, "is not a loadable layerlapse checkpoint"),
    "npz meta a list": (".npz", _raw(lambda net, path: (np.savez(path, meta=np.array("[1, 2]")),
                                                        path.read_bytes())[1]), "is not a layerlapse checkpoint"),
    "npz meta not json": (".npz", _raw(lambda net, path: (np.savez(path, meta=np.array("{oops")),
                                                          path.read_bytes())[1]), "is not a loadable"),
    "npz weight of ints": (".npz", _npz_case(_array("hidden.0.weight", np.zeros((2, 2), np.int32))),
                           "hidden.0.weight is int32, not float32"),
    "npz weight of strings": (".npz", _npz_case(_array("hidden.0.weight", np.array([["a", "b"], ["c", "d"]]))),
                              "hidden.0.weight is <U1, not float32"),
    "npz weight 0-d": (".npz", _npz_case(_array("hidden.0.weight", np.float32(1.0))),
                       r"hidden.0.weight has shape \(\)"),
    "npz accuracy a string": (".npz", _npz_case(lambda meta, arrays: meta.update(accuracy="high")),
                              "'accuracy' is 'high'"),
    "npz network a list": (".npz", _npz_case(lambda meta, arrays: meta.update(network=[2, 2])),
                           "'network' is not a network config"),
}


MALFORMED_KNN = {
    "knn without memory": (".pt", _pt_case(_drop("memory")), "a k-NN head without its memory"),
    "knn memory of floats": (".pt", _pt_case(lambda d: d["memory"].__setitem__("labels", d["memory"]["labels"].float())),
                             "float32 samples and float32 labels, not float32 and int64"),
    "knn memory labels too large": (".pt", _pt_case(lambda d: d["memory"]["labels"].__setitem__(0, 7)),
                                    "k-NN memory does not match its config"),
    "knn memory samples of wrong width": (".pt", _pt_case(lambda d: d["memory"].__setitem__(
        "samples", torch.zeros(len(d["memory"]["labels"]), 3))), "k-NN memory does not match its config"),
    "knn memory of strings": (".pt", _pt_case(lambda d: d["memory"].__setitem__("samples", "x")),
                              "memory.samples is a str, not a tensor"),
    "knn npz memory of float64": (".npz", _npz_case(
        lambda meta, arrays: arrays.__setitem__("memory.samples", arrays["memory.samples"].astype(np.float64))),
        "float64 samples and int64 labels"),
}


def _check_malformed(net, scene, suffix, build, message, tmp_path):
    path = tmp_path / f"bad{suffix}"
    build(net, path)
    with pytest.raises(BadCheckpoint, match=message) as exc:
        load_network(path)
    one_line(exc, path)
    assert exc.value.__cause__ is None  # nothing chained: one line, not a traceback
    # what a user sees for a checkpoint they gave: the fault, and how to get past it
    with pytest.raises(LayerlapseError, match="--retrain") as exc:
        api.get_network(scene, checkpoint=path, training=TRAINING, progress=False)
    one_line(exc, path)


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_checkpoint_is_one_line(case, scene, trained, tmp_path):
    _check_malformed(trained, scene, *MALFORMED[case], tmp_path)


@pytest.mark.parametrize("case", list(MALFORMED_KNN))
def test_a_malformed_knn_checkpoint_is_one_line(case, scene, knn_trained, tmp_path):
    suffix, build, message = MALFORMED_KNN[case]
    path = tmp_path / f"bad{suffix}"
    build(knn_trained, path)
    with pytest.raises(BadCheckpoint, match=message) as exc:
        load_network(path)
    one_line(exc, path)


def test_a_malformed_cached_checkpoint_is_retrained(scene):
    net, pt = cached(scene)
    _pt_case(_set("accuracy", "0.9"))(net, pt)
    with pytest.warns(UserWarning, match=r"'accuracy' is '0.9'.*; retraining the cached network"):
        again = api.get_network(scene, training=TRAINING, progress=False)
    assert same_weights(again, net) and payload(pt)["accuracy"] == net.accuracy


def test_the_cli_retrains_a_corrupt_cache_with_one_notice(scene):
    net, pt = cached(scene)
    pt.write_bytes(b"")
    result = CliRunner().invoke(app, ["export", "two-curves", *CLI_TINY, "-o", "mesh.ply"])
    assert result.exit_code == 0, result.output
    notices = [line for line in result.stderr.splitlines() if line.startswith("notice: checkpoint:")]
    assert len(notices) == 1 and "retraining the cached network" in notices[0], result.stderr
    assert same_weights(load(scene, pt), net)


def test_content_hash_is_canonical(trained):
    arrays = dict(trained.weights().arrays)
    digest = content_sha256(arrays)
    assert content_sha256(dict(reversed(arrays.items()))) == digest  # order-free
    assert content_sha256({k: v.astype(">f4") for k, v in arrays.items()}) == digest  # byte order-free
    changed = {**arrays, "head.bias": arrays["head.bias"] + np.float32(1e-6)}
    assert content_sha256(changed) != digest
    renamed = {("x" + k if k == "head.bias" else k): v for k, v in arrays.items()}
    assert content_sha256(renamed) != digest


# --- directories and unwritable folders ---------------------------------------------------------
def test_a_directory_is_refused_and_kept(scene):
    _, pt = cached(scene)
    pt.unlink()
    sidecar_path(pt).unlink()
    pt.mkdir()
    (pt / "keep.txt").write_text("mine")
    for kwargs in ({}, {"checkpoint": pt}, {"retrain": True}):
        with pytest.raises(LayerlapseError, match="is a directory") as exc:
            api.get_network(scene, training=TRAINING, progress=False, **kwargs)
        one_line(exc, pt)
    assert (pt / "keep.txt").read_text() == "mine"
    with pytest.raises(LayerlapseError, match="is a directory"):
        load_network(pt)
    os.mkfifo("pipe.pt")  # opening it would block
    with pytest.raises(LayerlapseError, match=r"'pipe\.pt' is not a regular file"):
        api.get_network(scene, checkpoint="pipe.pt", training=TRAINING, progress=False)


def test_an_unwritable_checkpoint_folder_fails_before_training(scene, monkeypatch, tmp_path):
    (tmp_path / "file.txt").write_text("in the way")
    monkeypatch.setattr(api, "train_network", lambda *a, **k: pytest.fail("trained before checking the folder"))
    with pytest.raises(LayerlapseError, match=r"^checkpoint: cannot write to folder .*file.txt.* is a file"):
        api.get_network(scene, checkpoint=tmp_path / "file.txt" / "net.pt", training=TRAINING, progress=False)


def test_a_sound_checkpoint_for_another_scene_is_still_an_error(scene, trained, tmp_path):
    other = api.load_scene("two-curves", **{**SCENE, "points_per_curve": 41})
    path = save_network(trained, tmp_path / "net.pt")
    with pytest.raises(LayerlapseError, match="was trained on scene 'two-curves'") as exc:
        api.get_network(other, checkpoint=path, training=TRAINING, progress=False)
    assert not isinstance(exc.value, BadCheckpoint)
