"""Start-up: a render with a cached network reads numpy arrays and never imports torch; the
numpy copy of a checkpoint is the torch model's weights exactly."""

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import TINY_SPIRALS, cached_networks

from layerlapse.app import api
from layerlapse.errors import LayerlapseError
from layerlapse.networks import load_network, save_network
from layerlapse.networks.checkpoint import sidecar_path

TRAINING = dict(epochs=2)

# what `layerlapse render` does once the network is cached: load it, deform, draw
RENDER_CACHED = textwrap.dedent(
    f"""
    import json, sys
    import layerlapse as ll

    scene = ll.load_scene("spirals", **{TINY_SPIRALS!r})
    net = ll.get_network(scene, training={TRAINING!r}, progress=False)
    positions = ll.deform(scene, net, fps=6, timeline={{"seconds_per_stage": 0.2}}).frames([0, 5])
    assert positions.shape[0] == 2 and abs(positions).sum() > 0
    if "--render" in sys.argv:
        ll.render(scene, "cached.mp4", network=net, size=(64, 48), fps=4, seconds_per_stage=0.2, progress=False)
    print(json.dumps({{"torch": "torch" in sys.modules, "accuracy": net.accuracy}}))
    """
)


def run_cached(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", RENDER_CACHED, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture
def spirals():
    return api.load_scene("spirals", **TINY_SPIRALS)


@pytest.mark.slow  # trains, then a fresh process renders: 4 s
def test_render_with_a_cached_network_does_not_import_torch(tmp_path, spirals):
    net = api.get_network(spirals, training=TRAINING, progress=False)  # trains and caches it here
    (pt,) = cached_networks(tmp_path, "spirals")
    assert sidecar_path(pt).is_file()
    result = run_cached("--render")
    assert result == {"torch": False, "accuracy": net.accuracy}
    assert (tmp_path / "cached.mp4").stat().st_size > 1000


@pytest.mark.slow  # trains, then a fresh process loads: 4 s
def test_a_checkpoint_without_sidecar_gets_one_on_first_load(tmp_path, spirals):
    api.get_network(spirals, training=TRAINING, progress=False)
    (pt,) = cached_networks(tmp_path, "spirals")
    sidecar_path(pt).unlink()  # as a checkpoint saved before sidecars existed
    assert run_cached()["torch"] is True  # read with torch, sidecar written
    assert sidecar_path(pt).is_file()
    assert run_cached()["torch"] is False


def test_numpy_checkpoint_matches_the_torch_model(tmp_path, spirals):
    net = api.train_network(spirals, training=TRAINING, progress=False)
    path = save_network(net, tmp_path / "net.pt")
    loaded = load_network(path, scene_key=spirals.key, config=net.config)
    assert loaded._model is None  # read from the sidecar, torch module not built
    # the layers the renderer animates: identical arrays
    (h_torch, head_torch), (h_np, head_np) = net.model.layers(), loaded.layers()
    assert len(h_torch) == len(h_np)
    for a, b in zip([*h_torch, head_torch], [*h_np, head_np]):
        assert a.activation == b.activation
        np.testing.assert_array_equal(a.W, b.W)
        np.testing.assert_array_equal(a.b, b.b)
    assert loaded._model is None
    # trusted oracle: torch's forward pass of the trained model
    X = np.random.default_rng(0).normal(size=(200, 2))
    with torch.no_grad():
        expected = net.model(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    logits = X
    for layer in h_np:
        logits = layer(logits)
    np.testing.assert_allclose(head_np(logits), expected, rtol=1e-5, atol=1e-5)
    # the lazily built torch module holds exactly the same weights
    for (ka, a), (kb, b) in zip(net.model.state_dict().items(), loaded.model.state_dict().items()):
        assert ka == kb and torch.equal(a, b)
    assert loaded.accuracy == net.accuracy and loaded.training == net.training and loaded.config == net.config


def test_npz_checkpoints_round_trip_and_load_without_pickles(tmp_path, spirals):
    net = api.train_network(spirals, training=TRAINING, progress=False)
    path = save_network(net, tmp_path / "net.npz")
    assert not sidecar_path(path).exists()
    loaded = load_network(path, scene_key=spirals.key)
    for a, b in zip(net.model.state_dict().values(), loaded.model.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(LayerlapseError, match="was trained on scene 'spirals'"):
        load_network(path, scene_key={**spirals.key, "name": "other"})
    # a pickle inside an .npz is never unpickled
    evil = tmp_path / "evil.npz"
    np.savez(evil, meta=np.array([object()], dtype=object))
    with pytest.raises(LayerlapseError, match="not a loadable layerlapse checkpoint"):
        load_network(evil)
    with pytest.raises(LayerlapseError, match="not a layerlapse checkpoint"):
        np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
        load_network(tmp_path / "foreign.npz")


def test_stale_or_corrupt_sidecars_are_ignored(tmp_path, spirals):
    a = api.train_network(spirals, training=dict(epochs=1), progress=False)
    b = api.train_network(spirals, training=dict(epochs=1, seed=7), progress=False)
    path = save_network(a, tmp_path / "net.pt")
    shutil.copy(sidecar_path(path), tmp_path / "a-sidecar.npz")
    save_network(b, path)
    shutil.copy(tmp_path / "a-sidecar.npz", sidecar_path(path))  # the sidecar of another .pt
    loaded = load_network(path)
    for x, y in zip(b.model.state_dict().values(), loaded.model.state_dict().values()):
        assert torch.equal(x, y)
    assert loaded.training == b.training
    # the stale sidecar was rewritten for the .pt it sits beside
    assert load_network(path)._model is None
    sidecar_path(path).write_bytes(b"garbage")
    again = load_network(path)
    assert again.training == b.training
    np.testing.assert_array_equal(again.layers()[1].W, b.model.layers()[1].W)


def test_nan_weights_are_refused_from_the_sidecar_too(tmp_path, spirals):
    net = api.train_network(spirals, training=dict(epochs=1), progress=False)
    with torch.no_grad():
        net.model.head.bias[0] = float("inf")
    path = save_network(net, tmp_path / "inf.pt")
    assert sidecar_path(path).is_file()
    with pytest.raises(LayerlapseError, match=r"head\.bias holds NaN or Inf"):
        load_network(path)
    with pytest.raises(LayerlapseError, match="NaN or Inf"):
        load_network(sidecar_path(path))
