"""The presets' default networks ship with the package: they load without training, agree with
their claims, are hash-checked, and ``--retrain`` (or other settings) trains afresh."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cached_networks

from layerlapse.app import network as source
from layerlapse.app import shipped
from layerlapse.app.presets import PRESETS, load_scene
from layerlapse.errors import LayerlapseError
from layerlapse.networks.checkpoint import accuracy_bounds

TRAINED = sorted(name for name in PRESETS if name != "grid-only")


@pytest.fixture
def no_training(monkeypatch):
    """Any training fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("trained, though a shipped network should have been used")

    monkeypatch.setattr(source, "train", refuse)


@pytest.fixture
def counted(monkeypatch):
    """Counts training runs (they still happen)."""
    calls = []
    real = source.train

    def count(*args, **kwargs):
        calls.append(kwargs.get("scene_key", {}).get("name"))
        return real(*args, **kwargs)

    monkeypatch.setattr(source, "train", count)
    return calls


def test_every_preset_with_data_ships_a_network():
    assert sorted(shipped.read_index()) == TRAINED


@pytest.mark.parametrize("name", TRAINED)
def test_the_shipped_network_loads_without_training_and_keeps_its_claim(name, no_training):
    preset = load_scene(name)
    net = source.get_network(preset, progress=False)
    low, high = accuracy_bounds(net, preset.samples, preset.labels)
    if preset.claim.kind == "separates":
        assert net.accuracy == 1.0 and low == 1.0, f"{name}: {low:.4%}"
    elif preset.claim.kind == "cannot":
        assert net.accuracy < 1.0 and high < 1.0, f"{name}: {high:.4%}"
    assert not cached_networks(Path.cwd(), name)  # nothing went into the cache


def test_render_with_an_empty_cache_trains_nothing(no_training, tmp_path):
    from layerlapse.cli import main

    with pytest.raises(SystemExit) as done:
        main(["render", "line-segments", "--quality", "low", "--seconds-per-stage", "0.3",
              "-o", str(tmp_path / "m.mp4")])
    assert done.value.code in (0, None)
    assert (tmp_path / "m.mp4").stat().st_size > 0
    assert not (tmp_path / "outputs" / "line-segments").exists()


def test_retrain_trains_afresh_into_the_cache(counted):
    preset = load_scene("line-segments")
    net = source.get_network(preset, retrain=True, progress=False)
    assert counted == ["line-segments"] and net.accuracy == 1.0
    assert len(cached_networks(Path.cwd(), "line-segments")) == 1


def test_other_settings_are_not_the_shipped_network(counted):
    preset = load_scene("line-segments")
    source.get_network(preset, training={"epochs": 5}, progress=False)
    source.get_network(load_scene("line-segments", samples_per_class=50), progress=False)
    assert counted == ["line-segments", "line-segments"]


def _damaged(tmp_path, monkeypatch, name: str):
    folder = tmp_path / "pretrained"
    shutil.copytree(shipped.FOLDER, folder)
    path = folder / f"{name}.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    monkeypatch.setattr(shipped, "FOLDER", folder)
    return path


def test_a_shipped_file_that_fails_its_hash_is_an_error_naming_it(tmp_path, monkeypatch, no_training):
    path = _damaged(tmp_path, monkeypatch, "line-segments")
    with pytest.raises(LayerlapseError) as info:
        source.get_network(load_scene("line-segments"), progress=False)
    message = str(info.value)
    assert str(path) in message and "SHA-256" in message and "--retrain" in message and "\n" not in message


@pytest.mark.slow  # a real process on a copied package: 6 s; the fast lane stays under 4 min on a busy 2-core machine
def test_a_damaged_shipped_file_exits_2(tmp_path):
    folder = tmp_path / "pkg"
    shutil.copytree(shipped.FOLDER.parent, folder / "layerlapse", ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "layerlapse" / "pretrained" / "line-segments.pt"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-m", "layerlapse", "train", "line-segments", "--no-progress"],
                          capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(folder), "PATH": ""})
    assert done.returncode == 0  # `train` always retrains: the shipped file is not read
    done = subprocess.run([sys.executable, "-m", "layerlapse", "inspect", "line-segments", "-o", str(tmp_path / "i")],
                          capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(folder), "PATH": ""},
                          cwd=tmp_path / "pkg")
    assert done.returncode == 2, done.stderr
    assert "line-segments.pt" in done.stderr and "SHA-256" in done.stderr


def test_the_shipped_networks_verdicts_say_what_their_numbers_show(no_training):
    from layerlapse.app.claims import verdict_for

    for name in TRAINED:
        preset = load_scene(name)
        first, second = verdict_for(preset, source.get_network(preset, progress=False))
        kind = preset.claim.kind
        assert first.startswith({"separates": "Yes.", "cannot": "No.", "usually-not": "Not this time.",
                                 "pulls-apart": "Yes: "}[kind]), name
        assert second.startswith("100%: all") == (kind == "separates"), name
    tori = load_scene("linked-tori")
    assert verdict_for(tori, source.get_network(tori, progress=False), linking=[1.0] * 3) == (
        "No. Width-3 tanh layers are homeomorphisms of R^3, and a homeomorphism cannot unlink them: "
        "linking number 1 in every frame.",
        "92.4%: the network pulls one torus thin through the other; 229 samples misclassified.")
    assert verdict_for(load_scene("grid-only"), source.get_network(load_scene("grid-only"))) == ()
