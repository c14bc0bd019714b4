"""The flow stage kind: the numpy solver against torchdiffeq and a high-accuracy solve, its
Jacobian, a flow network end to end (training, deformation, logits, checkpoints), and the
continuous display projection of a flow into R^4."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from layerlapse.errors import LayerlapseError
from layerlapse.networks.checkpoint import fingerprint, load_network, save_network, sidecar_path
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.stages import KINDS
from layerlapse.networks.stages.flow import FlowConfig, FlowLayer, FlowStage, flow_block, velocity
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.networks.train import TrainConfig, train

T = np.array([0.0, 0.1, 0.35, 0.5, 0.8, 1.0])


def random_flow(seed: int = 0, n_in: int = 3, scale: float = 1.0, **config) -> FlowLayer:
    """A random field of moderate strength (weights ~ 1 / sqrt(fan-in))."""
    rng = np.random.default_rng(seed)
    cfg = FlowConfig(**{"width": 16, **config})
    shapes = list(cfg.parameter_shapes(n_in, prefix="").values())
    arrays = [scale * rng.normal(size=s) / np.sqrt(s[-1]) for s in shapes]
    return FlowLayer(tuple(zip(arrays[0::2], arrays[1::2])), n_in, cfg)


def reference(layer: FlowLayer, Y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The flow by scipy's DOP853 at rtol = atol = 1e-12; (F, V, d)."""
    d = Y.shape[1]
    sol = solve_ivp(lambda _, y: velocity(layer.params, y.reshape(-1, d))[0].ravel(), (0.0, 1.0), Y.ravel(),
                    method="DOP853", rtol=1e-12, atol=1e-12, t_eval=np.unique(t))
    return sol.y.T.reshape(-1, *Y.shape)


@pytest.fixture(scope="module")
def flow4():
    """A torch FlowBlock in R^4 (one zero appended) and its numpy FlowLayer."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        block = flow_block(FlowConfig(augment=1, width=16), 3)
    return block, block.layer()


def test_the_kind_is_registered_and_labelled(flow4):
    _, layer = flow4
    (stage,) = layer.stages(0, None, 5)
    assert KINDS["flow"] is FlowStage and stage.kind == "flow" and stage.injective
    assert (stage.n_in, stage.n_out, stage.dim) == (3, 4, 5)
    assert stage.name == "layer1.flow"
    assert stage.label(2) == "layer 1 of 2 \u00b7 flow along a vector field in R^4"
    assert random_flow().stages(1, None, 3)[0].label(2) == "layer 2 of 2 \u00b7 flow along a vector field"


def test_numpy_flow_equals_torchdiffeq(flow4):
    """The oracle: torchdiffeq's dopri5 forward pass of the trained module."""
    block, layer = flow4
    X = np.random.default_rng(1).normal(size=(200, 3))
    with torch.no_grad():
        expected = block(torch.from_numpy(X).float()).double().numpy()  # float32, as it trains
    np.testing.assert_allclose(layer(X), expected, atol=1e-4)


def test_positions_are_the_ode_solution_at_every_t():
    layer = random_flow(2, scale=1.5)
    Y = np.random.default_rng(3).normal(size=(60, 3))
    P = layer.flow(Y, T)[0]
    np.testing.assert_allclose(P, reference(layer, Y, T), atol=1e-4)
    np.testing.assert_array_equal(P[0], Y)  # t = 0 is the identity exactly
    assert np.abs(P[-1] - Y).max() > 0.1  # and it does move
    tight = FlowLayer(layer.params, 3, FlowConfig(width=16, rtol=1e-10, atol=1e-10))
    np.testing.assert_allclose(tight.flow(Y, T)[0], reference(layer, Y, T), atol=1e-8)


def test_unsorted_and_repeated_times():
    layer = random_flow(4)
    stage = layer.stages(0, None, 4)[0]
    X = np.hstack([np.random.default_rng(5).normal(size=(30, 3)), np.ones((30, 1))])
    t = np.array([1.0, 0.3, 0.0, 1.0, 0.3, 0.7])
    P = stage.positions(X, t)
    sorted_P = stage.positions(X, np.array([0.0, 0.3, 0.7, 1.0]))
    for i, k in enumerate([3, 1, 0, 3, 1, 2]):
        np.testing.assert_array_equal(P[i], sorted_P[k])
    np.testing.assert_array_equal(P[0], stage.apply(X))
    np.testing.assert_array_equal(P[:, :, 3], 1.0)  # the coordinate the flow does not act on
    with pytest.raises(LayerlapseError, match=r"\[0, 1\]"):
        stage.positions(X, np.array([1.5]))


def test_jacobian_matches_finite_differences():
    layer = random_flow(6, scale=1.5)
    X = np.random.default_rng(7).normal(size=(20, 3))
    stage = layer.stages(0, None, 3)[0]
    J = stage.jacobian(X, T)
    np.testing.assert_array_equal(J[0], np.broadcast_to(np.eye(3), (20, 3, 3)))
    h = 1e-4  # default tolerances: differences wider than the solver's error
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        fd = (stage.positions(X + e, T) - stage.positions(X - e, T)) / (2 * h)
        np.testing.assert_allclose(J[..., j], fd, atol=2e-3)
    # the variational equation against the high-accuracy solve's differences
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1e-5
        fd = (reference(layer, X + e, T) - reference(layer, X - e, T)) / 2e-5
        np.testing.assert_allclose(J[..., j], fd, atol=1e-3)


def test_a_stiff_field_fails_with_a_message():
    layer = random_flow(8, scale=40.0, max_steps=10)
    with pytest.raises(LayerlapseError, match="more than 10 steps"):
        layer(np.random.default_rng(0).normal(size=(10, 3)))


def test_orient_layers_takes_a_flow_first_and_never_swaps_into_it():
    flow = random_flow(9, augment=1)
    rng = np.random.default_rng(10)
    W = rng.normal(size=(4, 4))
    if np.linalg.det(W) > 0:
        W[[0, 1]] = W[[1, 0]]  # det < 0: the layer after the flow needs a neuron swap
    hidden = [flow, Layer(W, rng.normal(size=4), "tanh")]
    head = Layer(rng.normal(size=(2, 4)), rng.normal(size=2), None)
    plan = orient_layers(hidden, head)
    assert plan.hidden[0] is flow and plan.paths[0] is None and plan.flips == ((1, 0, 1),)
    assert plan.widths == (3, 4, 4) and plan.ambient == 4 and plan.input_dim == 3
    assert [st.kind for st in plan.stages()] == ["flow", "linear", "translate", "activation"]
    assert any("flow in R^4" in note for note in plan.notes)
    X = rng.normal(size=(25, 3))
    np.testing.assert_allclose(plan.logits(X), head(hidden[1](flow(X))), atol=1e-12)


def test_augmented_flow_is_projected_continuously():
    flow = random_flow(11, augment=1, scale=1.5)
    rng = np.random.default_rng(12)
    plan = orient_layers([flow], Layer(rng.normal(size=(2, 4)), np.zeros(2), None))
    X = rng.normal(size=(40, 3))
    d = Deformation(plan, Timeline.build(plan.stages(), TimelineConfig(seconds_per_stage=1.0), fps=30), X)
    frames = np.arange(d.n_frames)
    P = d.projection(frames)
    np.testing.assert_allclose(P @ P.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (d.n_frames, 3, 3)), atol=1e-9)
    np.testing.assert_array_equal(P[0], np.eye(3, 4))  # the input is shown as defined
    assert np.abs(np.diff(P, axis=0)).max() < 0.2  # the view turns during the flow, never jumps
    assert np.abs(P[-1] - np.eye(3, 4)).max() > 0.01
    shown = d.display(frames)
    np.testing.assert_array_equal(shown[0], X.astype(np.float32))
    step = np.linalg.norm(np.diff(shown, axis=0), axis=2).max()
    assert step < 0.1 * np.ptp(shown.reshape(-1, 3), axis=0).max()  # every point moves a little per frame
    # the head drawn in display space at the end gives the network's logit difference
    Wd, bd = d.display_head(d.n_frames - 1)
    w, c = plan.head.W[1] - plan.head.W[0], plan.head.b[1] - plan.head.b[0]
    np.testing.assert_allclose(shown[-1] @ (Wd[1] - Wd[0]) + (bd[1] - bd[0]), d.keyframes[-1] @ w + c, atol=1e-4)


TINY = NetworkConfig(input_dim=3, hidden=(), flow=FlowConfig(augment=1, width=8))
TINY_TRAINING = TrainConfig(epochs=2, lr=0.02, batch_size=64, seed=3)


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(128, 3)).astype(np.float32)
    return X, (np.linalg.norm(X, axis=1) > 1.5).astype(np.int64)


@pytest.fixture(scope="module")
def tiny_net(tiny_data):
    return train(*tiny_data, TINY, TINY_TRAINING, scene_key={"name": "blob"})


def test_a_flow_network_trains_deterministically(tiny_data, tiny_net):
    again = train(*tiny_data, TINY, TINY_TRAINING, scene_key={"name": "blob"})
    a, b = tiny_net.weights().arrays, again.weights().arrays
    assert list(a) == list(TINY.parameter_shapes()) and next(iter(a)) == "flow.field.0.weight"
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    other = train(*tiny_data, TINY, TINY_TRAINING.model_copy(update={"seed": 4}))
    assert not np.array_equal(other.weights().arrays["flow.field.0.weight"], a["flow.field.0.weight"])
    assert TINY.describe() == "3-flow(4)-2"
    assert NetworkConfig(input_dim=3, hidden=(4,), flow=FlowConfig()).describe() == "3-flow(3)-4-2 tanh"


def test_stages_compose_to_the_torch_logits(tiny_data, tiny_net):
    hidden, head = tiny_net.layers()
    assert isinstance(hidden[0], FlowLayer) and hidden[0].dim == 4
    plan = orient_layers(hidden, head, input_dim=3)
    X = tiny_data[0].astype(np.float64)
    d = Deformation(plan, Timeline.build(plan.stages(), TimelineConfig(), fps=10), X)
    logits = d.keyframes[-1] @ plan.head.W.T + plan.head.b
    with torch.no_grad():
        expected = tiny_net.model(torch.from_numpy(X).float()).double().numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_checkpoint_round_trip(tmp_path, tiny_net):
    key = {"name": "blob"}
    plain = NetworkConfig(input_dim=3, hidden=())
    assert "flow" not in plain.model_dump()  # plain networks keep their fingerprints
    assert fingerprint(key, TINY, TINY_TRAINING) != fingerprint(key, plain, TINY_TRAINING)
    for name in ("net.pt", "net.npz"):
        path = save_network(tiny_net, tmp_path / name)
        loaded = load_network(path, scene_key=key, config=TINY)
        assert loaded.config == TINY and loaded.config.flow == TINY.flow
        for k, a in tiny_net.weights().arrays.items():
            np.testing.assert_array_equal(loaded.weights().arrays[k], a)
        X = np.random.default_rng(14).normal(size=(20, 3))
        np.testing.assert_array_equal(loaded.layers()[0][0](X), tiny_net.weights().layers()[0][0](X))
    assert sidecar_path(tmp_path / "net.pt").is_file()
    with pytest.raises(LayerlapseError, match="expected 3-flow\\(3\\)-2"):
        load_network(tmp_path / "net.pt", config=TINY.model_copy(update={"flow": FlowConfig(width=8)}))


def test_drawing_a_loaded_flow_never_imports_torch(tmp_path, tiny_net):
    save_network(tiny_net, tmp_path / "net.pt")
    code = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        from layerlapse.networks.checkpoint import load_network
        from layerlapse.networks.layers import orient_layers
        net = load_network("net.pt")
        hidden, head = net.layers()
        stages = orient_layers(hidden, head, input_dim=3).stages()
        P = stages[0].positions(np.zeros((5, 4)), np.array([0.5, 1.0]))
        print(json.dumps({"torch": "torch" in sys.modules, "finite": bool(np.isfinite(P).all())}))
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"torch": False, "finite": True}


def test_the_training_clock_refuses_a_flow(tiny_data):
    from layerlapse.networks.training_clock import record_training

    with pytest.raises(LayerlapseError, match="flow"):
        record_training(tiny_data[0], *tiny_data, TINY, TINY_TRAINING, frames=4, fps=4)
