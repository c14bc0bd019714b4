"""Wide data and wide layers: a 64-D, ten-class point cloud seen through one continuous
projection (principal directions of each layer's end, aligned from layer to layer), its share
of the variance, and stages that stay exact in the full space for 64-16-3-10 and 1024-256-10."""

import numpy as np
import pytest
import torch

from layerlapse.app import api
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.projection import align, principal_rows
from layerlapse.networks.stages import LinearPath
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.networks.train import TrainConfig, train
from layerlapse.scenes.base import Cloud, Scene

TIMELINE = TimelineConfig(seconds_per_stage=1.0, pause=0.2, hold_start=0.2, hold_end=0.4, title_card=0.0,
                          verdict_card=0.0)


def blobs(n_per_class: int = 60, dim: int = 64, classes: int = 10, seed: int = 0):
    """Ten Gaussian blobs in R^64 whose centres differ in every coordinate."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, dim))
    X = np.concatenate([c + rng.normal(size=(n_per_class, dim)) for c in centres])
    y = np.repeat(np.arange(classes), n_per_class)
    return X, y


def cloud_scene(X, y):
    clouds = tuple(Cloud(k, X[y == k]) for k in range(int(y.max()) + 1))
    return Scene("blobs", "ten blobs in R^64", X.shape[1], tuple(f"c{k}" for k in range(len(clouds))), (), (), None,
                 X, y, key={"name": "blobs"}, clouds=clouds)


@pytest.fixture(scope="module")
def wide():
    """A 64-16-3-10 tanh network trained on the blobs, and its deformation at 30 fps (the
    default timeline, without cards)."""
    X, y = blobs()
    scene = cloud_scene(X, y)
    net = train(X, y, NetworkConfig(input_dim=64, hidden=(16, 3), classes=10), TrainConfig(epochs=40))
    d = api.deform(scene, net, fps=30, timeline=TimelineConfig(title_card=0.0, verdict_card=0.0))
    return scene, net, d


def random_net(widths, seed=0):
    """A tanh MLP with random weights as torch float64 layers and our layers."""
    torch.manual_seed(seed)
    linears = [torch.nn.Linear(a, b).double() for a, b in zip(widths[:-1], widths[1:])]
    hidden = [Layer(lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy(), "tanh")
              for lin in linears[:-1]]
    head = Layer(linears[-1].weight.detach().numpy().copy(), linears[-1].bias.detach().numpy().copy(), None)
    return linears, hidden, head


@pytest.mark.parametrize("widths", [(64, 16, 3, 10),
                                    # a 1,024 x 1,024 polar decomposition and Schur form: 13 s here
                                    pytest.param((1024, 256, 10), marks=pytest.mark.slow)])
def test_composed_stages_equal_a_plain_pytorch_forward_pass(widths):
    """Stages at t = 1, in the full space, are the network: the last keyframe is the last
    hidden representation of a plain PyTorch forward pass (1e-5 relative), and the display
    of the last frame is the projection of it."""
    linears, hidden, head = random_net(widths)
    X = np.random.default_rng(1).normal(size=(300, widths[0]))
    plan = orient_layers(hidden, head, input_dim=widths[0])
    tl = Timeline.build(plan.stages(), TIMELINE, 5.0)
    d = Deformation(plan, tl, X)
    x = torch.as_tensor(X)
    with torch.no_grad():
        for lin in linears[:-1]:
            x = torch.tanh(lin(x))
        logits = linears[-1](x).numpy()
    rep = x.numpy()
    last = d.keyframes[-1]
    np.testing.assert_allclose(last[:, : rep.shape[1]], rep, rtol=1e-5, atol=1e-7)
    assert np.abs(last[:, rep.shape[1]:]).max() == 0.0
    np.testing.assert_allclose(plan.head(last[:, : rep.shape[1]]), logits, rtol=1e-5, atol=1e-7)
    f = d.n_frames - 1
    P = d.projection(np.array([f]))[0]
    np.testing.assert_allclose(d.display(np.array([f]))[0], last @ P.T, rtol=1e-5, atol=1e-5)


def test_a_frame_seen_through_the_view_is_the_view_of_its_full_positions():
    """Every stage computes its display without the 64-D positions; it equals the projection
    of the exact positions at every frame (linear with its rotation, project, shift, tanh)."""
    _, hidden, head = random_net((64, 16, 3, 10))
    X = np.random.default_rng(2).normal(size=(80, 64))
    plan = orient_layers(hidden, head, input_dim=64)
    d = Deformation(plan, Timeline.build(plan.stages(), TIMELINE, 8.0), X)
    frames = np.arange(d.n_frames)
    full = np.einsum("fij,fvj->fvi", d.projection(frames), d.frames(frames))
    np.testing.assert_allclose(d.display(frames), full, rtol=1e-5, atol=1e-5)
    assert {st.kind for st in d.stages} == {"linear", "project", "translate", "activation"}


def test_the_rotation_is_applied_to_the_view_rows_as_its_matrix_is():
    """``LinearPath.left`` (the 3 display rows through p(t)) is ``P p(t)``, for the polar and
    the straight path; ``spread`` is the trace of ``p(t) C p(t)^T``."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(40, 40))
    W[[0, 1]] = W[[1, 0]] if np.linalg.det(W) < 0 else W[[0, 1]]
    C = np.cov(rng.normal(size=(200, 40)).T)
    t = np.array([0.0, 0.3, 0.8, 1.0])
    P = np.broadcast_to(np.linalg.qr(rng.normal(size=(40, 3)))[0].T, (4, 3, 40))
    for method in ("polar", "straight"):
        path = LinearPath(W, method)
        p = path.at(t)
        np.testing.assert_allclose(path.left(P, t), P @ p, atol=1e-10)
        np.testing.assert_allclose(path.spread(C, t), np.einsum("fij,jk,fik->f", p, C, p), rtol=1e-10)
    np.testing.assert_allclose(LinearPath(W).at(np.ones(1))[0], W, atol=1e-9)


def test_the_ten_class_cloud_deforms_through_a_continuous_projection(wide):
    """No frame jumps: the largest frame-to-frame move of any class point on screen is
    under 2.5% of the view's extent (measured: 1.6%), and it changes by under 0.5% from one
    frame to the next (no sudden step, at the layers' boundaries either, where the view's turn
    eases in and out); the rows stay orthonormal."""
    _, _, d = wide
    frames = np.arange(d.n_frames)
    shown = d.display(frames, d.view)
    extent = np.ptp(shown.reshape(-1, 3), axis=0).max()
    moves = np.linalg.norm(np.diff(shown, axis=0), axis=2).max(axis=1)
    assert moves.max() < 0.025 * extent, (moves.max() / extent, int(moves.argmax()))
    assert np.abs(np.diff(moves)).max() < 0.005 * extent
    starts = [int(np.flatnonzero(d.timeline.layer == k)[0]) for k in (1, 2)]
    assert all(moves[f - 2: f + 2].max() < 0.005 * extent for f in starts)
    P = d.projection(frames)
    np.testing.assert_allclose(P @ np.swapaxes(P, 1, 2), np.broadcast_to(np.eye(3), (len(P), 3, 3)), atol=1e-9)
    # the view itself turns smoothly: no step of the rows larger than a few degrees
    assert np.linalg.norm(np.diff(P, axis=0), axis=(1, 2)).max() < 0.1
    # every class moves: the points are not left still in a view that hides them
    assert np.ptp(shown[:, d.view], axis=0).max() > 0.1 * extent


def test_consecutive_views_are_aligned_without_flips(wide):
    """Procrustes: between each layer's view and the next, ``A B^T`` is symmetric positive
    semi-definite (no axis flipped or swapped); the first view is the input's principal
    directions, the last holds the final representation (3 wide) exactly."""
    _, _, d = wide
    views = d._projection.views
    assert len(views) == 3  # the input, after layer 1, after layer 2
    for A, B in zip(views[:-1], views[1:]):
        M = A @ B.T
        np.testing.assert_allclose(M, M.T, atol=1e-9)
        assert np.linalg.eigvalsh(0.5 * (M + M.T)).min() > -1e-9
        assert (np.diag(M) >= -1e-9).all()
    X0 = d.keyframes[0][d.view]
    top = np.linalg.svd(X0 - X0.mean(0), full_matrices=False)[2][:3]
    np.testing.assert_allclose(np.abs(np.linalg.svd(top @ views[0].T)[1]), 1.0, atol=1e-6)  # same span
    np.testing.assert_allclose(np.linalg.norm(views[-1][:, :3], axis=1), 1.0, atol=1e-9)
    assert d.display_head(d.n_frames - 1) is not None  # ten classes, all their differences in view


def test_procrustes_undoes_a_flip_and_a_swap():
    rng = np.random.default_rng(4)
    A = np.linalg.qr(rng.normal(size=(20, 3)))[0].T
    B = np.array([-A[1], A[0], A[2]])  # the same span, two axes swapped and one flipped
    np.testing.assert_allclose(align(A, B), A, atol=1e-12)
    X = rng.normal(size=(50, 20)) * np.r_[5.0, 4.0, np.ones(18) * 0.1]
    rows = principal_rows(X, None)
    assert rows.shape == (3, 20) and np.allclose(rows @ rows.T, np.eye(3))


def test_view_share_is_the_variance_the_view_holds(wide):
    """``view_share`` in (0, 1]: at the input the three principal directions of the 64-D blobs
    hold their share of the variance (more than any coordinate axes would), at the end all of
    it (the last representation is 3 wide)."""
    _, _, d = wide
    frames = np.arange(d.n_frames)
    share = d.view_share(frames)
    assert share.shape == (d.n_frames,) and (share > 0).all() and (share <= 1 + 1e-12).all()
    X0 = d.keyframes[0][d.view]
    var = np.var(X0, axis=0)
    s = np.linalg.svd(X0 - X0.mean(0), compute_uv=False) ** 2
    np.testing.assert_allclose(share[0], s[:3].sum() / s.sum(), rtol=0.02)
    assert share[0] > np.sort(var)[-3:].sum() / var.sum()
    assert share[-1] == pytest.approx(1.0, abs=1e-6)
    assert np.abs(np.diff(share)).max() < 0.1  # it moves as the view does, with no jump


def test_a_width_4_preset_starts_in_its_own_coordinates_and_ends_on_its_decision():
    """linked-tori-4d (3-4-4-2): [I | 0] at the start (the 4th coordinate hidden, zero), the
    decision direction in the last view (the plane drawn faithfully)."""
    scene = api.load_scene("linked-tori-4d", resolution=12, samples_per_class=60, grid_lines=2)
    net = api.get_network(scene, training=dict(epochs=2, restarts=1), progress=False)
    d = api.deform(scene, net, fps=8, timeline=TIMELINE)
    np.testing.assert_allclose(d.projection(np.array([0]))[0], np.eye(3, 4), atol=1e-12)
    assert d.display_head(d.n_frames - 1) is not None
    share = d.view_share(np.array([0, d.n_frames - 1]))
    assert share[0] == pytest.approx(1.0) and 0 < share[1] <= 1


def test_a_network_takes_up_to_1024_inputs_and_names_the_bound():
    from pydantic import ValidationError

    assert NetworkConfig(input_dim=1024, hidden=(256,), classes=10).describe() == "1024-256-10 tanh"
    with pytest.raises(ValidationError, match="input_dim"):
        NetworkConfig(input_dim=1025, hidden=(3,))


def test_the_caption_says_how_much_of_the_data_the_view_holds(wide):
    """Where D > 3 the frame's caption ends with the view's share: of the input's 64
    directions at the start, of the 16 of layer 2's input, all 3 at the end."""
    from layerlapse.draw.camera import CameraPath
    from layerlapse.draw.words import view_caption
    from layerlapse.render import Style
    from layerlapse.render.view import SceneView

    assert view_caption(64, 0.7131) == " \u00b7 view: 3 of 64 directions, 71% of the variance"
    assert view_caption(3, 1.0) == " \u00b7 view: all 3 directions"
    scene, _, d = wide
    assert [d.shown_width(f) for f in (0, d.n_frames - 1)] == [64, 3]
    assert d.shown_width(int(np.flatnonzero(d.timeline.layer == 2)[5])) == 16
    camera = CameraPath.for_movie(d, fps=30, style=Style(), aspect=16 / 9, subset=scene.framed_points())
    view = SceneView(scene, d, camera, style=Style(), size=(320, 180))
    try:
        share = d.view_share(np.array([0]))[0]
        assert view.frame_label(0).endswith(f"view: 3 of 64 directions, {100 * share:.0f}% of the variance")
        assert view.frame_label(d.n_frames - 1).endswith("view: all 3 directions")
        assert view.hidden is None  # no "4th coordinate" colouring: 64-D has no one hidden axis
    finally:
        view.close()


def test_the_stages_of_a_wide_network_are_planned_without_decomposing_its_matrices():
    """Before training, a movie's length is planned from the stage names: placeholder layers
    give the same stages as trained ones, at once (a 1,024-wide polar decomposition and Schur
    form took 54 s on two busy cores only to name them)."""
    import time

    from layerlapse.app.network import planned_stages
    from layerlapse.networks.model import MLPWeights

    for config in (NetworkConfig(input_dim=64, hidden=(16, 3), classes=10),
                   NetworkConfig(input_dim=2, hidden=(4, 2), activations=("tanh", "relu"))):
        rng = np.random.default_rng(0)
        arrays = {name: rng.normal(size=shape) for name, shape in config.parameter_shapes().items()}
        hidden, head = MLPWeights(config, arrays).layers()
        trained = orient_layers(hidden, head, input_dim=config.input_dim).stages()
        assert [(s.name, s.n_in, s.n_out) for s in planned_stages(config)] == [(s.name, s.n_in, s.n_out) for s in trained]
    start = time.perf_counter()
    names = [s.name for s in planned_stages(NetworkConfig(input_dim=1024, hidden=(256,), classes=10))]
    assert time.perf_counter() - start < 1.0
    assert names == ["layer1.linear", "layer1.project", "layer1.translate", "layer1.tanh"]


def test_the_page_says_what_the_view_holds_as_the_movie_does(wide):
    """The page's caption of every frame ends with the same view text as the movie's (one
    string per distinct text, and an index per frame); narrow scenes carry none."""
    import json
    import re

    from layerlapse.draw.style import Style
    from layerlapse.draw.words import view_caption
    from layerlapse.web.page import build_page

    scene, net, d = wide
    page = build_page(scene, d, style=Style(), title="blobs", accuracy=net.accuracy, keyframes=2)
    meta = json.loads(re.search(r'id="ll-meta">(.*?)</script>', page.html, re.S).group(1).replace("<\\/", "</"))
    views, of = meta["views"], meta["viewOf"]
    assert len(of) == d.n_frames
    for f in (0, d.n_frames // 2, d.n_frames - 1):
        assert views[of[f]] == view_caption(d.shown_width(f), float(d.view_share(np.array([f]))[0]))
    assert views[of[-1]].endswith("view: all 3 directions")
