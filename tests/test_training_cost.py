"""Honest training cost: one line before training (epochs x restarts, samples, the estimate
here) and the --restarts option."""

from __future__ import annotations

import re
import time

import pytest
import torch
from typer.testing import CliRunner

from layerlapse.cli import app

LINE = re.compile(r"^training: (\d[\d,]*) epochs x (\d+) restarts? on ([\d,]+) samples, about [\d.]+ (s|min|h) here")
TINY = ["--set", "resolution=12", "--set", "samples_per_class=60"]


def cli(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_training_says_epochs_times_restarts_and_the_time_before_it_starts(capsys):
    import layerlapse as ll

    scene = ll.load_scene("two-curves", samples_per_class=60)
    net = ll.train_network(scene, training={"epochs": 3, "restarts": 2}, progress=True)
    err = capsys.readouterr().err
    first = err.lstrip().splitlines()[0]
    match = LINE.match(first)
    assert match, err
    assert match.groups()[:3] == ("3", "2", f"{len(scene.samples):,}")
    assert err.index("training:") < err.index("train:")  # before the progress bar
    assert net.training.restarts == 2


def test_no_line_without_progress(capsys):
    import layerlapse as ll

    ll.train_network(ll.load_scene("two-curves", samples_per_class=60), training={"epochs": 1}, progress=False)
    assert "training:" not in capsys.readouterr().err


def test_restarts_on_the_command_line(tmp_path):
    import layerlapse as ll

    path = tmp_path / "net.pt"
    code, _, err = cli("train", "two-curves", "--set", "samples_per_class=60", "--epochs", "2", "--restarts", "3",
                       "--checkpoint", str(path))
    assert code == 0, err
    assert LINE.match(err.lstrip().splitlines()[0]).groups()[:2] == ("2", "3")
    scene = ll.load_scene("two-curves", samples_per_class=60)
    assert ll.load_network(path, scene_key=scene.key).training.restarts == 3
    for bad in ("0", "101"):
        code, _, err = cli("train", "two-curves", "--restarts", bad, "--checkpoint", str(tmp_path / "x.pt"))
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: training.restarts:"), err
        assert f"(got {bad})" in lines[0]
    assert not (tmp_path / "x.pt").exists()


def test_the_estimate_is_about_the_training_time():
    """Timed on a busy machine both vary; an estimate that forgot the steps of an epoch or the
    restarts would be off by their factor (here 19 steps x 3 restarts)."""
    import layerlapse as ll
    from layerlapse.app.network import network_settings
    from layerlapse.app.request import as_preset
    from layerlapse.networks.train import estimate_seconds, train

    preset = as_preset(ll.load_scene("two-curves", samples_per_class=600))
    config, training = network_settings(preset, None, {"epochs": 20, "restarts": 3, "batch_size": 64})
    estimate_seconds(preset.samples, preset.labels, config, training)  # torch's optimisers set up once
    estimate = estimate_seconds(preset.samples, preset.labels, config, training)
    threads = torch.get_num_threads()
    start = time.perf_counter()
    train(preset.samples, preset.labels, config, training)
    took = time.perf_counter() - start
    assert torch.get_num_threads() == threads
    assert took / 8 < estimate < took * 8, (estimate, took)


@pytest.mark.parametrize(("seconds", "text"), [(0.01, "about 0.1 s"), (4.23, "about 4.2 s"), (42.4, "about 42 s"),
                                                (600, "about 10 min"), (7200, "about 2.0 h")])
def test_the_estimate_reads_in_seconds_minutes_or_hours(monkeypatch, seconds, text):
    import importlib

    import numpy as np

    from layerlapse.app.network import training_line
    from layerlapse.networks.model import NetworkConfig
    from layerlapse.networks.train import TrainConfig

    train_module = importlib.import_module("layerlapse.networks.train")  # the package's `train` is the function
    monkeypatch.setattr(train_module, "estimate_seconds", lambda *a: seconds)
    line = training_line(np.zeros((2000, 2)), np.zeros(2000, int), NetworkConfig(input_dim=2, hidden=(2,), classes=2),
                         TrainConfig(epochs=300, restarts=6))
    assert line.startswith(f"training: 300 epochs x 6 restarts on 2,000 samples, {text} here"), line


def test_the_estimate_leaves_training_as_it_was():
    """The estimate trains a throwaway network on the side: the trained weights are the same
    with the line (progress on) as without."""
    import layerlapse as ll

    scene = ll.load_scene("two-curves", samples_per_class=60)
    torch.manual_seed(123)
    quiet = ll.train_network(scene, training={"epochs": 3, "restarts": 2}, progress=False)
    after_quiet = torch.rand(1)
    torch.manual_seed(123)
    told = ll.train_network(scene, training={"epochs": 3, "restarts": 2}, progress=True)
    assert torch.equal(torch.rand(1), after_quiet)  # the global generator is untouched
    for name, array in quiet.weights().arrays.items():
        assert (array == told.weights().arrays[name]).all(), name
