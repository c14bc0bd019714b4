"""Training, checkpoints and their refusals."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_SPIRALS, TINY_TORI, cached_networks

from layerlapse.app import api
from layerlapse.errors import LayerlapseError
from layerlapse.networks import NetworkConfig, TrainConfig, load_network, save_network, train


@pytest.fixture(scope="module")
def spirals():
    return api.load_scene("spirals", **TINY_SPIRALS)


def test_training_learns_an_easy_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    net = train(X, y, NetworkConfig(input_dim=2, hidden=(2,)), TrainConfig(epochs=40, lr=0.05))
    assert net.accuracy > 0.97


def test_checkpoint_round_trip(tmp_path, spirals):
    net = api.train_network(spirals, training=dict(epochs=2), progress=False)
    path = save_network(net, tmp_path / "net.pt")
    loaded = load_network(path, scene_key=spirals.key, config=net.config)
    for a, b in zip(net.model.state_dict().values(), loaded.model.state_dict().values()):
        assert torch.equal(a, b)
    assert loaded.accuracy == net.accuracy and loaded.training == net.training
    # weights_only loading: the file is plain tensors and containers
    torch.load(path, weights_only=True)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_checkpoint_for_another_scene_or_architecture_is_refused(tmp_path, spirals):
    net = api.train_network(spirals, training=dict(epochs=1), progress=False)
    path = save_network(net, tmp_path / "net.pt")
    other = api.load_scene("spirals", **{**TINY_SPIRALS, "turns": 1.5})
    with pytest.raises(LayerlapseError, match="was trained on scene 'spirals' with parameters"):
        load_network(path, scene_key=other.key)
    with pytest.raises(LayerlapseError, match="holds a 2-2-2-2-2-2 tanh network, expected 2-2-2-2 tanh"):
        load_network(path, config=NetworkConfig(input_dim=2, hidden=(2, 2)))
    tori = api.load_scene("linked-tori", **TINY_TORI)
    with pytest.raises(LayerlapseError, match="trained on scene 'spirals'"):
        api.get_network(tori, checkpoint=path)


def test_foreign_and_missing_files_are_refused(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(LayerlapseError, match="not a loadable layerlapse checkpoint"):
        load_network(junk)
    torch.save({"hello": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(LayerlapseError, match="not a layerlapse checkpoint"):
        load_network(tmp_path / "other.pt")
    with pytest.raises(LayerlapseError, match="does not exist"):
        load_network(tmp_path / "missing.pt")


def test_checkpoint_with_nan_weights_is_refused(tmp_path, spirals):
    net = api.train_network(spirals, training=dict(epochs=1), progress=False)
    with torch.no_grad():
        net.model.hidden[0].weight[0, 0] = float("nan")
    path = save_network(net, tmp_path / "nan.pt")
    with pytest.raises(LayerlapseError, match="NaN or Inf"):
        load_network(path)


def test_get_network_trains_once_then_reuses(spirals):
    a = api.get_network(spirals, training=dict(epochs=2), progress=False)
    files = cached_networks(Path.cwd(), "spirals")
    assert len(files) == 1
    b = api.get_network(spirals, training=dict(epochs=2), progress=False)
    assert b.accuracy == a.accuracy
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    api.get_network(spirals, training=dict(epochs=3), progress=False)  # another config, another file
    assert len(cached_networks(Path.cwd(), "spirals")) == 2


def test_bad_configs_name_the_field(spirals):
    with pytest.raises(LayerlapseError, match=r"training\.epochs: .*greater than or equal to 1.*got 0"):
        api.train_network(spirals, training=dict(epochs=0), progress=False)
    with pytest.raises(LayerlapseError, match=r"network\.activation"):
        api.train_network(spirals, network=dict(activation="swish"), progress=False)
    with pytest.raises(LayerlapseError, match=r"scene 'spirals': turns"):
        api.load_scene("spirals", turns=-1)
    with pytest.raises(LayerlapseError, match=r"scene 'spirals': colour: Extra inputs are not permitted"):
        api.load_scene("spirals", colour="red")
    with pytest.raises(LayerlapseError, match="known scenes: digits, disk-annulus, disk-annulus-lift"):
        api.load_scene("tori")
