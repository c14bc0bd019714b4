"""The layer math: exact endpoints, the polar path's invariants, neuron swaps."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import special_ortho_group

from layerlapse.errors import LayerlapseError
from layerlapse.networks.layers import Layer, orient_layers, swap_neurons
from layerlapse.networks.stages import (
    ActivationStage,
    LinearPath,
    TranslateStage,
    activate,
    linear_stage,
    polar,
    rotation_log,
)
from layerlapse.networks.stages.activation import Activation

T_GRID = np.linspace(0.0, 1.0, 401)


def square(n):
    return arrays(np.float64, (n, n), elements=st.floats(-3, 3, allow_nan=False, width=64))


@st.composite
def positive_det_matrices(draw):
    n = draw(st.integers(1, 4))
    W = draw(square(n))
    s = np.linalg.svd(W, compute_uv=False)
    assume(s[-1] > 1e-3 and s[0] / s[-1] < 1e4)
    if np.linalg.det(W) < 0:
        W[0] *= -1
    return W


def check_polar_invariants(W):
    path = LinearPath(W, "polar")
    P = path.at(T_GRID)
    n = W.shape[0]
    np.testing.assert_array_equal(P[0], np.eye(n))
    np.testing.assert_allclose(P[-1], W, rtol=0, atol=1e-10 * max(1.0, np.abs(W).max()))
    assert (np.linalg.det(P) > 0).all()
    smin = np.linalg.svd(P, compute_uv=False)[:, -1]
    bound = min(1.0, np.linalg.svd(W, compute_uv=False)[-1])
    assert (smin >= bound * (1 - 1e-9)).all(), (smin.min(), bound)


@settings(max_examples=150, deadline=None)
@given(positive_det_matrices())
def test_polar_path_keeps_det_positive_and_sigma_min_bounded(W):
    check_polar_invariants(W)


@pytest.mark.parametrize(
    "W",
    [
        -np.eye(2),
        -np.eye(4),
        np.diag([-1.0, -1.0, 1.0]),
        np.diag([-2.0, -0.5, 3.0, 1.0]),
        np.array([[-1.0, 1e-9], [-1e-9, -1.0]]),  # a hair away from a rotation by pi
        special_ortho_group.rvs(3, random_state=1) @ np.diag([-1.0, -1.0, 1.0]),
    ],
)
def test_polar_path_handles_rotations_by_pi(W):
    check_polar_invariants(W)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_rotation_log_reconstructs_rotation(n, seed):
    Q = special_ortho_group.rvs(n, random_state=seed)
    log = rotation_log(Q)
    np.testing.assert_allclose(log.at(np.array([1.0]))[0], Q, atol=1e-10)
    R = log.at(np.linspace(0, 1, 11))
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(n), R.shape), atol=1e-10)


def test_polar_decomposition():
    W = np.array([[2.0, 1.0], [-0.5, 1.5]])
    Q, S = polar(W)
    np.testing.assert_allclose(Q @ S, W, atol=1e-12)
    np.testing.assert_allclose(Q @ Q.T, np.eye(2), atol=1e-12)
    assert (np.linalg.eigvalsh(S) > 0).all()


def test_straight_path_reports_crossing_singular_matrices():
    assert LinearPath(-np.eye(2), "straight").crosses_singular
    assert not LinearPath(np.diag([2.0, 0.5]), "straight").crosses_singular
    P = LinearPath(-np.eye(2), "straight").at(np.array([0.5]))
    assert abs(np.linalg.det(P[0])) < 1e-12  # the collapse the polar path avoids


def test_polar_path_refuses_negative_determinant():
    with pytest.raises(LayerlapseError, match="det W > 0"):
        LinearPath(np.diag([-1.0, 1.0]), "polar")
    with pytest.raises(LayerlapseError, match="linear_path"):
        LinearPath(np.eye(2), "zigzag")


@settings(max_examples=50, deadline=None)
@given(positive_det_matrices(), st.integers(0, 1000))
def test_stages_are_identity_at_zero_and_exact_at_one(W, seed):
    rng = np.random.default_rng(seed)
    n = W.shape[0]
    X = rng.normal(size=(20, n))
    b = rng.normal(size=n)
    t = np.array([0.0, 1.0])
    lin = linear_stage(X, LinearPath(W), t)
    np.testing.assert_array_equal(lin[0], X)
    np.testing.assert_allclose(lin[1], X @ W.T, atol=1e-9 * max(1, np.abs(W).max()))
    tr = TranslateStage(0, n, n, n, b).positions(X, t)
    np.testing.assert_array_equal(tr[0], X)
    np.testing.assert_allclose(tr[1], X + b, atol=1e-12)
    for act in ("tanh", "sigmoid", "softplus", "relu", "leaky_relu(0.2)", "elu", "silu", "gelu", "gelu_tanh"):
        ac = ActivationStage(0, n, n, n, Activation.parse(act)).positions(X, t)
        np.testing.assert_array_equal(ac[0], X)
        np.testing.assert_allclose(ac[1], activate(act, X), atol=1e-12)


@st.composite
def networks(draw):
    n = draw(st.integers(2, 3))
    depth = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    hidden = [Layer(rng.normal(size=(n, n)) * 1.5, rng.normal(size=n), "tanh") for _ in range(depth)]
    head = Layer(rng.normal(size=(2, n)), rng.normal(size=2), None)
    return hidden, head, rng.normal(size=(30, n))


@settings(max_examples=80, deadline=None)
@given(networks())
def test_neuron_swaps_leave_outputs_unchanged_and_make_det_positive(net):
    hidden, head, X = net
    before = head(X if not hidden else _forward(hidden, X))
    plan = orient_layers(hidden, head)
    np.testing.assert_allclose(plan.logits(X), before, atol=1e-10)
    for k, layer in enumerate(plan.hidden):
        assert np.linalg.det(layer.W) > 0 or k in plan.singular
    # a swap in layer k also swaps columns of layer k + 1 (flipping its sign too), so
    # which layers get flipped cascades; every flip is reported
    if np.linalg.det(hidden[0].W) < 0:
        assert plan.flips[0][0] == 0
    assert sum("swapped neurons" in n for n in plan.notes) == len(plan.flips)


def test_swap_neurons_single_pair():
    rng = np.random.default_rng(3)
    a = Layer(rng.normal(size=(3, 3)), rng.normal(size=3), "tanh")
    b = Layer(rng.normal(size=(2, 3)), rng.normal(size=2), None)
    a2, b2 = swap_neurons(a, b, 0, 2)
    X = rng.normal(size=(10, 3))
    np.testing.assert_allclose(b2(a2(X)), b(a(X)), atol=1e-12)
    assert np.sign(np.linalg.det(a2.W)) == -np.sign(np.linalg.det(a.W))


@st.composite
def width_changing_networks(draw):
    widths = draw(st.sampled_from([(1, 2), (3, 4, 4), (2, 3, 2), (3, 2), (2, 3), (3, 4, 3), (1, 2, 3, 4)]))
    rng = np.random.default_rng(draw(st.integers(0, 10_000)))
    hidden = [Layer(rng.normal(size=(m, n)) * 1.3, rng.normal(size=m) * 0.5, "tanh") for n, m in zip(widths[:-1], widths[1:])]
    head = Layer(rng.normal(size=(2, widths[-1])), rng.normal(size=2), None)
    return widths, hidden, head, rng.normal(size=(25, widths[0]))


@settings(max_examples=60, deadline=None)
@given(width_changing_networks())
def test_width_changes_compose_to_the_forward_pass(net):
    from layerlapse.networks.deformation import Deformation
    from layerlapse.networks.timeline import Timeline, TimelineConfig

    widths, hidden, head, X = net
    plan = orient_layers(hidden, head, input_dim=widths[0])
    assert plan.ambient == max(widths)
    for layer, M, path in zip(plan.hidden, plan.squares, plan.paths):
        m, n = layer.W.shape
        np.testing.assert_allclose(M[:m, :n], layer.W, atol=1e-12)  # the completion extends W
        if m < n:
            np.testing.assert_allclose(M[m:] @ layer.W.T, 0, atol=1e-9)  # rows span W's null space
        P = path.at(T_GRID)
        assert (np.linalg.det(P) > 0).all()
    tl = Timeline.build(plan.stages(), TimelineConfig(seconds_per_stage=1.0, pause=0.0), fps=20)
    d = Deformation(plan, tl, X)
    final = d.keyframes[-1][:, : widths[-1]]
    np.testing.assert_allclose(final, plan.hidden_forward(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(d.keyframes[-1][:, widths[-1]:], 0, atol=1e-12)
    # continuity: every stage starts where the previous ended, and frames move boundedly
    P = d.display(np.arange(d.n_frames))
    np.testing.assert_array_equal(P[0, :, : widths[0]], X.astype(np.float32)[:, :3])
    steps = np.linalg.norm(np.diff(P, axis=0), axis=2).max()
    assert steps < 0.3 * max(np.abs(P).max(), 1.0), steps
    if plan.ambient < 3:
        assert d.planar


def test_projection_sub_stage_when_narrowing():
    rng = np.random.default_rng(0)
    plan = orient_layers([Layer(rng.normal(size=(2, 3)), np.zeros(2), "tanh")], Layer(np.ones((2, 2)), np.zeros(2), None))
    assert [s.kind for s in plan.stages()] == ["linear", "project", "translate", "activation"]
    assert [s.name for s in plan.stages()][1] == "layer1.project"


def test_four_dimensional_representations_are_projected_continuously():
    from layerlapse.networks.deformation import Deformation
    from layerlapse.networks.timeline import Timeline, TimelineConfig

    rng = np.random.default_rng(1)
    hidden = [Layer(rng.normal(size=(4, 3)), rng.normal(size=4), "tanh"), Layer(rng.normal(size=(4, 4)), rng.normal(size=4), "tanh")]
    plan = orient_layers(hidden, Layer(rng.normal(size=(2, 4)), np.zeros(2), None))
    X = rng.normal(size=(40, 3))
    d = Deformation(plan, Timeline.build(plan.stages(), TimelineConfig(seconds_per_stage=0.5), fps=30), X)
    P = d.projection(np.arange(d.n_frames))
    np.testing.assert_allclose(P @ P.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (d.n_frames, 3, 3)), atol=1e-9)
    np.testing.assert_array_equal(P[0], np.eye(3, 4))  # the input is shown as defined
    assert np.abs(np.diff(P, axis=0)).max() < 0.2  # the view turns, never jumps
    assert np.abs(P[-1] - np.eye(3, 4)).max() > 0.01
    shown = d.display(np.arange(d.n_frames))
    np.testing.assert_array_equal(shown[0], X.astype(np.float32))
    # before the view turns, the decision direction is not on screen; at the end it is, and the
    # head in display space gives the network's own logit difference on the shown points
    assert d.display_head(0) is None
    Wd, bd = d.display_head(d.n_frames - 1)
    w, c = plan.head.W[1] - plan.head.W[0], plan.head.b[1] - plan.head.b[0]
    np.testing.assert_allclose(shown[-1] @ (Wd[1] - Wd[0]) + (bd[1] - bd[0]), d.keyframes[-1] @ w + c, atol=1e-4)


def test_singular_layer_uses_straight_path_and_is_reported():
    sing = Layer(np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros(2), "tanh")
    plan = orient_layers([sing], Layer(np.ones((2, 2)), np.zeros(2), None))
    assert plan.singular == (0,) and plan.paths[0].method == "straight"
    assert "singular" in plan.notes[0]


def test_relu_is_flagged():
    plan = orient_layers([Layer(np.eye(2), np.zeros(2), "relu")], Layer(np.ones((2, 2)), np.zeros(2), None))
    assert any("not a homeomorphism" in n for n in plan.notes)


def _forward(hidden, X):
    for layer in hidden:
        X = layer(X)
    return X
