"""The essay's k-NN head: the soft loss, the vote against a brute-force oracle (ties and
leave-one-out included), training, checkpoints, the deformation's misclassified samples,
and the vote drawn at the output."""

import hashlib
import json

import imageio.v3 as iio
import numpy as np
import pytest
import pyvista as pv
import torch
from conftest import TINY_SPIRALS

from layerlapse.app import api
from layerlapse.errors import LayerlapseError
from layerlapse.networks import load_network, save_network
from layerlapse.networks.checkpoint import fingerprint, sidecar_path
from layerlapse.networks.knn import KnnHead, KnnMemory, soft_knn_loss
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.train import TrainConfig, train

TINY_DISK = dict(resolution=16, samples_per_class=60)


def rgb255(colour):
    return np.round(255 * np.array(pv.Color(colour).float_rgb))


# --- the vote, against a brute force ----------------------------------------------------
def oracle_neighbours(M, Q, k, leave_out=None):
    """The k nearest memory points of each query, ties to the lower index, by brute force."""
    out = []
    for i, q in enumerate(Q):
        d2 = ((q[None, :] - M) ** 2).sum(-1)
        if leave_out is not None:
            d2[leave_out[i]] = np.inf
        out.append(np.lexsort((np.arange(len(M)), d2))[: min(k, len(M) - (leave_out is not None))])
    return np.array(out)


def oracle_class(labels, nb, classes):
    """Most votes; a tie goes to the class with the nearest voter."""
    lab = labels[nb]
    votes = np.bincount(lab, minlength=classes)
    tied = np.flatnonzero(votes == votes.max())
    return min(tied, key=lambda c: np.flatnonzero(lab == c)[0])


@pytest.mark.parametrize("k", [1, 4, 7, 16])
def test_votes_equal_a_brute_force_with_ties(k):
    rng = np.random.default_rng(k)
    M = rng.integers(0, 4, (200, 2)).astype(float)  # a 4 x 4 lattice: duplicates and equal distances
    labels = rng.integers(0, 3, 200)
    Q = rng.integers(-1, 5, (300, 2)).astype(float)
    head = KnnHead(M, labels, k, 3)
    nb = oracle_neighbours(M, Q, k)
    np.testing.assert_array_equal(head.neighbours(Q), nb)
    votes = np.stack([np.bincount(labels[row], minlength=3) for row in nb])
    np.testing.assert_array_equal(head.votes(Q), votes)
    np.testing.assert_array_equal(head.predict(Q), [oracle_class(labels, row, 3) for row in nb])
    assert (head.logits(Q).argmax(1) == head.predict(Q)).all()
    # leave-one-out: the memory's own samples
    loo = oracle_neighbours(M, M, k, leave_out=np.arange(200))
    np.testing.assert_array_equal(head.neighbours(M, leave_out=np.arange(200)), loo)
    np.testing.assert_array_equal(head.loo_predict(), [oracle_class(labels, row, 3) for row in loo])


def test_random_data_and_more_neighbours_than_samples():
    rng = np.random.default_rng(0)
    M, labels = rng.normal(size=(500, 3)), rng.integers(0, 2, 500)
    Q = rng.normal(size=(50, 3))
    head = KnnHead(M, labels, 8, 2)
    np.testing.assert_array_equal(head.neighbours(Q), oracle_neighbours(M, Q, 8))
    small = KnnHead(M[:5], labels[:5], 8, 2)  # k > N: every sample votes
    assert small.neighbours(Q).shape == (50, 5)
    assert small.neighbours(M[:5], leave_out=np.arange(5)).shape == (5, 4)
    assert head.neighbours(np.hstack([Q, np.ones((50, 2))])).shape == (50, 8)  # wider points: first m coordinates
    with pytest.raises(LayerlapseError, match="3-D points"):
        head.neighbours(Q[:, :2])


def test_leave_one_out_excludes_the_sample_itself():
    # a lone sample of class 1 among class 0: it votes for itself only if it is not left out
    M = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    labels = np.array([1, 0, 0, 0, 0])
    head = KnnHead(M, labels, 1, 2)
    assert head.predict(M[:1])[0] == 1
    # left out, the centre's nearest is class 0; each outer point's nearest other is the centre
    np.testing.assert_array_equal(head.loo_predict(), [0, 1, 1, 1, 1])
    assert head.loo_accuracy() == 0.0
    # duplicates still vote for each other: leave-one-out is by index, not by place
    twins = KnnHead(np.zeros((2, 2)), np.array([1, 1]), 1, 2)
    assert (twins.loo_predict() == 1).all()


def test_swapped_head_votes_for_swapped_coordinates():
    rng = np.random.default_rng(1)
    M, labels, Q = rng.normal(size=(60, 3)), rng.integers(0, 2, 60), rng.normal(size=(20, 3))
    head = KnnHead(M, labels, 5, 2)
    np.testing.assert_array_equal(head.swapped(0, 2).predict(Q[:, [2, 1, 0]]), head.predict(Q))


# --- the soft loss ------------------------------------------------------------------------
def test_soft_loss_is_finite_and_decreases():
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(64) % 2
    z = torch.randn(64, 2, generator=gen).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.05)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = soft_knn_loss(z, y, 8, 2)
        loss.backward()
        assert torch.isfinite(z.grad).all()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < 0.7 * losses[0]
    assert soft_knn_loss(z, y, None, 2).item() > 0  # every other point votes: the essay's wording


def test_soft_loss_survives_collapse_and_single_points():
    y = torch.tensor([0, 0, 1, 1, 1])
    z = torch.zeros(5, 2, requires_grad=True)  # everything in one place: every vote weighs the same
    loss = soft_knn_loss(z, y, 4, 2)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()
    one = torch.ones(1, 2, requires_grad=True)
    assert soft_knn_loss(one, torch.tensor([0]), 4, 2).item() == 0.0


# --- config, training, checkpoints ------------------------------------------------------
def test_config_describe_and_shapes():
    config = NetworkConfig(input_dim=2, hidden=(2, 2, 2), head="knn")
    assert config.describe() == "2-2-2-2-2 tanh \u00b7 8-NN head"
    assert not any(name.startswith("head.") for name in config.parameter_shapes())
    assert NetworkConfig(input_dim=2, hidden=(2,), head="knn", k=3).describe() == "2-2-2 tanh \u00b7 3-NN head"
    with pytest.raises(ValueError):
        NetworkConfig(input_dim=2, head="knn", k=0)
    with pytest.raises(ValueError):
        NetworkConfig(input_dim=2, head="tree")


def test_linear_fingerprints_are_unchanged_and_k_counts_only_for_knn():
    key, training = {"name": "x", "params": {}}, TrainConfig()
    linear = NetworkConfig(input_dim=2)
    legacy = {k: v for k, v in linear.model_dump(mode="json").items() if k not in ("head", "k")}
    blob = json.dumps({"scene": key, "network": legacy, "training": training.model_dump(mode="json")}, sort_keys=True)
    assert fingerprint(key, linear, training) == hashlib.sha256(blob.encode()).hexdigest()[:10]
    assert fingerprint(key, linear.model_copy(update={"k": 3}), training) == fingerprint(key, linear, training)
    knn = NetworkConfig(input_dim=2, head="knn")
    assert fingerprint(key, knn, training) != fingerprint(key, linear, training)
    assert fingerprint(key, knn, training) != fingerprint(key, knn.model_copy(update={"k": 3}), training)


@pytest.fixture(scope="module")
def disk():
    return api.load_scene("disk-annulus", **TINY_DISK)


@pytest.fixture(scope="module")
def knn_net(disk):
    config = NetworkConfig(input_dim=2, hidden=(2, 2), head="knn", k=4)
    return train(disk.samples, disk.labels, config, TrainConfig(epochs=4, seed=3), scene_key=disk.key)


def test_training_is_deterministic_and_reports_leave_one_out(disk, knn_net):
    again = train(disk.samples, disk.labels, knn_net.config, TrainConfig(epochs=4, seed=3), scene_key=disk.key)
    for name, a in knn_net.weights().arrays.items():
        np.testing.assert_array_equal(a, again.weights().arrays[name])
    assert again.accuracy == knn_net.accuracy
    _, head = knn_net.layers()
    assert isinstance(head, KnnHead) and head.k == 4 and len(head.Z) == len(disk.samples)
    assert knn_net.accuracy == head.loo_accuracy()
    np.testing.assert_array_equal(knn_net.memory.samples, disk.samples.astype(np.float32))
    assert knn_net.predict(disk.samples).shape == (len(disk.samples),)
    with pytest.raises(LayerlapseError, match="no logits"):
        knn_net.model(torch.zeros(1, 2))


def test_a_neuron_swap_carries_the_memory_along(knn_net, disk):
    hidden, head = knn_net.layers()
    W, b = hidden[-1].W, hidden[-1].b
    flipped = [*hidden[:-1], Layer(W[[1, 0]], b[[1, 0]], hidden[-1].activation)]  # det W < 0 now, or was
    flipped_head = head.swapped(0, 1)
    for layers, h in ((hidden, head), (flipped, flipped_head)):
        plan = orient_layers(layers, h, input_dim=2)
        np.testing.assert_array_equal(plan.logits(disk.samples).argmax(1), knn_net.predict(disk.samples))


@pytest.mark.parametrize("suffix", [".pt", ".npz"])
def test_checkpoint_round_trip(tmp_path, knn_net, disk, suffix):
    path = save_network(knn_net, tmp_path / f"net{suffix}")
    if suffix == ".pt":
        assert sidecar_path(path).is_file()
    loaded = load_network(path, scene_key=disk.key, config=knn_net.config)
    assert loaded._model is None  # numpy only: the .npz, or the .pt's sidecar
    assert loaded.accuracy == knn_net.accuracy
    np.testing.assert_array_equal(loaded.memory.samples, knn_net.memory.samples)
    np.testing.assert_array_equal(loaded.memory.labels, knn_net.memory.labels)
    np.testing.assert_array_equal(loaded.layers()[1].Z, knn_net.layers()[1].Z)
    if suffix == ".pt":  # without its sidecar the .pt itself is read (with torch), memory included
        sidecar_path(path).unlink()
        again = load_network(path, config=knn_net.config)
        np.testing.assert_array_equal(again.memory.samples, knn_net.memory.samples)
        assert sidecar_path(path).is_file()


def test_a_checkpoint_without_its_memory_is_refused(tmp_path, knn_net):
    path = save_network(knn_net, tmp_path / "net.npz")
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files if not name.startswith("memory.")}
    np.savez(tmp_path / "bare.npz", **arrays)
    with pytest.raises(LayerlapseError, match="without its memory"):
        load_network(tmp_path / "bare.npz")
    assert KnnMemory(np.zeros((2, 2)), np.array([0.0, 1.0])).labels.dtype == np.int64


# --- the deformation and the picture ----------------------------------------------------
@pytest.fixture(scope="module")
def tangled():
    """A k-NN network that gets many samples wrong: one epoch, a wide vote."""
    scene = api.load_scene("spirals-tangled", **TINY_SPIRALS)
    net = api.train_network(scene, network={"head": "knn", "k": 40}, training={"epochs": 1}, progress=False)
    return scene, net


def test_misclassified_agrees_with_a_brute_force(tangled):
    scene, net = tangled
    d = api.deform(scene, net, fps=5, timeline={"seconds_per_stage": 0.2})
    assert d.display_head(d.n_frames - 1) is None  # no plane to draw
    wrong, where = d.misclassified(scene.samples, scene.labels)
    Z = d.plan.hidden_forward(scene.samples)
    nb = oracle_neighbours(Z, Z, 40, leave_out=np.arange(len(Z)))
    oracle = np.array([oracle_class(scene.labels, row, 2) for row in nb])
    np.testing.assert_array_equal(wrong, np.flatnonzero(oracle != scene.labels))
    assert 0 < len(wrong) == round((1 - net.accuracy) * len(scene.samples))
    assert where.shape == (len(wrong), 3)
    votes = d.final_votes()
    assert votes.shape == (d.n_points,) and set(np.unique(votes)) <= {0, 1}


def test_the_vote_recolours_a_class_it_disagrees_with(tangled):
    from layerlapse.draw.camera import CameraPath
    from layerlapse.draw.style import Style
    from layerlapse.render.view import SceneView

    scene, net = tangled
    d = api.deform(scene, net, fps=5, timeline={"seconds_per_stage": 0.2})
    style = Style()
    final = d.display(np.array([d.n_frames - 1]))[0]
    view = SceneView(scene, d, CameraPath.still(final, style=style, planar=True, aspect=4 / 3), style=style,
                     size=(160, 120), accuracy=net.accuracy)
    try:
        assert view.decision is None and view.vote is not None and view.vote.image_actor is not None
        assert "40-NN vote" in view.result_text()
        view.set_state(final, label="output", tube_radius=0.01, boundary=1.0)
        # the class-1 curve: partly in class 0's colour (where the vote is class 0), partly its own
        i = next(i for i, c in enumerate(scene.curves) if c.label == 1)
        curve = next(p for p in view.parts if p.sl == view.slices[len(scene.surfaces) + i])
        colours = np.asarray(curve.mesh.point_data["vote"]).astype(float)
        votes = d.final_votes()[curve.sl]
        assert (votes == 0).any() and (votes == 1).any()
        for c in (0, 1):
            assert (colours[votes == c] == rgb255(style.colour(c))).all()
        view.set_state(final, label="output", tube_radius=0.01, boundary=0.0)
        assert not view.vote.items[0][1].GetScalarVisibility() and not view.vote.image_actor.GetVisibility()
    finally:
        view.close()


def test_render_through_the_api_shows_the_vote(tmp_path):
    from layerlapse.draw.model import GRID_VOTE_SHARE
    from layerlapse.draw.style import Style
    from layerlapse.render.overlays import REGION_OPACITY

    scene = api.load_scene("disk-annulus", **TINY_DISK)
    result = api.render(scene, tmp_path / "frames", network_config={"head": "knn", "k": 8}, training={"epochs": 30},
                        quality="low", size=(320, 240), fps=5, seconds_per_stage=0.2, progress=False)
    assert result.network.config.head == "knn"
    frames = sorted((tmp_path / "frames").glob("*.png"))
    tl = result.deformation.timeline
    assert len(frames) == tl.n_frames
    before, last = iio.imread(frames[tl.output_start - 1])[..., :3], iio.imread(frames[-1])[..., :3]
    style = Style()

    def share(img, colour, tol=6):
        return float((np.abs(img.astype(float) - colour).max(-1) <= tol).mean())

    grey = rgb255(style.grid_color)
    for c in range(2):
        tint = (1 - REGION_OPACITY) * 255.0 + REGION_OPACITY * rgb255(style.colour(c))
        assert share(last, tint) > 0.02, f"no tint of class {c} at the output"
        assert share(before, tint) == 0.0
        line = (1 - GRID_VOTE_SHARE) * grey + GRID_VOTE_SHARE * rgb255(style.colour(c))
        assert share(last, line) > 0.002, f"no grid line in class {c}'s vote colour"
        assert share(before, line) == 0.0
    assert share(before, grey) > 0.01  # grid lines in their own grey before the output,
    assert share(last, grey) < 0.2 * share(before, grey)  # in the vote's colours at it


def test_the_training_clock_refuses_a_knn_head(tmp_path):
    with pytest.raises(LayerlapseError, match="k-NN head"):
        api.render(api.load_scene("disk-annulus", **TINY_DISK), tmp_path / "t.mp4", over="training",
                   network_config={"head": "knn"}, progress=False)
