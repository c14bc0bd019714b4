"""Frames from a trained network: composition, timeline, continuity, NaN refusal."""

import numpy as np
import pytest
import torch
from conftest import TINY_SPIRALS

from layerlapse.app import api
from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers, stage_list
from layerlapse.networks.timeline import Timeline, TimelineConfig, ease


@pytest.fixture(scope="module")
def tori(tiny_tori):
    return tiny_tori


def test_stages_at_one_compose_to_the_forward_pass(tori):
    scene, net = tori
    deformation = api.deform(scene, net, fps=10)
    X = scene.points()[0]
    with torch.no_grad():
        expected = net.model.representation(torch.as_tensor(X, dtype=torch.float64).float()).double().numpy()
    np.testing.assert_allclose(deformation.keyframes[-1], expected, rtol=1e-5, atol=1e-6)
    # the sampled frames reach it too: the last frame is the last stage at t = 1
    last = deformation.frames(np.array([deformation.n_frames - 1]))[0]
    np.testing.assert_allclose(last, expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        logits = net.model(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(deformation.plan.head(last), logits, rtol=1e-4, atol=1e-4)


def test_each_stage_end_matches_keyframes(tori):
    scene, net = tori
    d = api.deform(scene, net, fps=10)
    for s in range(3 * len(d.plan.hidden)):
        np.testing.assert_allclose(d.stage(s, np.array([0.0]))[0], d.keyframes[s], atol=1e-12)
        np.testing.assert_allclose(d.stage(s, np.array([1.0]))[0], d.keyframes[s + 1], rtol=1e-9, atol=1e-9)


def test_first_frame_is_the_undeformed_input(tori):
    scene, net = tori
    d = api.deform(scene, net, fps=10)
    np.testing.assert_array_equal(d.display(np.array([0]))[0], scene.points()[0].astype(np.float32))


def test_timeline_layout():
    cfg = TimelineConfig(seconds_per_stage=1.0, pause=0.5, hold_start=1.0, hold_end=2.0, title_card=0, verdict_card=0)
    tl = Timeline.build(stage_list((2, 2, 2), "tanh"), cfg, fps=10)
    assert tl.stage_names == (
        "input", "layer1.linear", "layer1.translate", "layer1.tanh",
        "layer2.linear", "layer2.translate", "layer2.tanh", "output",
    )
    assert tl.n_frames == 10 + 2 * (3 * 10 + 5) + 20
    assert tl.stage[0] == -1 and tl.t[0] == 0 and tl.label(0) == "input"
    assert (tl.t >= 0).all() and (tl.t <= 1).all()
    for s in range(6):
        ts = tl.t[(tl.stage == s) & (tl.name == s + 1)]
        assert ts[0] == 0.0 and ts[-1] == 1.0 and (np.diff(ts) >= 0).all()
    assert tl.label(15) == "layer 1 of 2 \u00b7 linear"
    assert tl.stage_names[tl.name[-1]] == "output"


def test_easing_endpoints():
    for e in ("smoothstep", "smootherstep", "linear"):
        assert ease(np.array([0.0, 1.0]), e).tolist() == [0.0, 1.0]


def test_consecutive_frames_move_a_bounded_amount(tori):
    scene, net = tori
    d = api.deform(scene, net, fps=30, timeline={"seconds_per_stage": 1.0})
    P = d.frames(np.arange(d.n_frames))
    step = np.linalg.norm(np.diff(P, axis=0), axis=2).max(axis=1)
    extent = np.abs(P).max()
    # at 30 frames per 1-second stage no vertex may jump more than a fixed share of the scene
    assert step.max() < 0.25 * extent, (step.max(), extent)


def test_nan_network_is_refused_before_drawing():
    bad = Layer(np.array([[np.inf, 0.0], [0.0, 1.0]]), np.zeros(2), "tanh")
    head = Layer(np.ones((2, 2)), np.zeros(2), None)
    with pytest.raises(LayerlapseError, match="NaN or Inf"):
        orient_layers([bad], head)
    huge = Layer(np.diag([1e308, 1e308]), np.zeros(2), "softplus")
    plan = orient_layers([huge], head)
    tl = Timeline.build(plan.stages(), TimelineConfig(), fps=5)
    with pytest.raises(LayerlapseError, match="NaN or Inf"):
        Deformation(plan, tl, np.full((4, 2), 10.0))


def test_same_seed_same_weights_same_frames():
    scene = api.load_scene("spirals", **TINY_SPIRALS)
    a = api.train_network(scene, training=dict(epochs=4, seed=7), progress=False)
    b = api.train_network(scene, training=dict(epochs=4, seed=7), progress=False)
    c = api.train_network(scene, training=dict(epochs=4, seed=8), progress=False)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k
    assert any(not torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), c.model.state_dict().values()))
    fa = api.deform(scene, a, fps=5).frames(np.arange(0, 60, 7))
    fb = api.deform(scene, b, fps=5).frames(np.arange(0, 60, 7))
    np.testing.assert_array_equal(fa, fb)
    # the scene's own randomness is seeded too
    s2 = api.load_scene("spirals", **TINY_SPIRALS)
    np.testing.assert_array_equal(scene.samples, s2.samples)
