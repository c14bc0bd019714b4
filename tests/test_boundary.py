"""The pulled-back decision boundary (--boundary pulled-back): the tie set is found right in
the input, is carried with the data, lands on the head's plane at the last frame, is drawn
from the first frame, and says so once when there is nothing to draw."""

import numpy as np
import pytest

from layerlapse.app import api
from layerlapse.app import network as app_network
from layerlapse.app.request import as_preset
from layerlapse.draw.style import Style
from layerlapse.networks import boundary as tie
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.timeline import Timeline
from layerlapse.render.figure import FigureSize, StillRenderer, parse_at
from layerlapse.render.pulled_back import tie_geometry

TINY = ["--set", "resolution=12", "--set", "samples_per_class=100", "--set", "grid_lines=2", "--epochs", "2"]

PULLED = Style(boundary="pulled-back")
QUICK = {"epochs": 20, "restarts": 1}


def run(*args):
    """The command in-process (as tests/test_cli.py runs it)."""
    from typer.testing import CliRunner

    from layerlapse.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _gradient(plan, X, h=1e-6):
    n = X.shape[1]
    return np.stack([(tie.logit_difference(plan, X + h * e) - tie.logit_difference(plan, X - h * e)) / (2 * h)
                     for e in np.eye(n)], 1)


def test_affine_head_ties_on_its_line():
    # no hidden layer: f(x) = w.x + c, a line; the contour's vertices lie on it
    head = Layer(np.array([[0.0, 0.0], [2.0, -1.0]]), np.array([0.0, 0.3]), None)
    plan = orient_layers([], head, input_dim=2)
    field = tie.tie_field(plan, np.array([-1.0, -1.0]), np.array([1.0, 1.0]), cells=64)
    vertices, segments = tie_geometry(field)
    assert len(vertices) > 10 and segments.shape[1] == 2
    assert np.abs(vertices @ np.array([2.0, -1.0]) + 0.3).max() < 1e-6  # exact for a line, to float32 (VTK points)


@pytest.mark.parametrize("dim", [2, 3])
def test_tanh_layer_level_set(dim):
    rng = np.random.default_rng(dim)
    hidden = [Layer(rng.normal(size=(dim, dim)) * 2, rng.normal(size=dim) * 0.3, "tanh")]
    head = Layer(rng.normal(size=(2, dim)), np.zeros(2), None)
    plan = orient_layers(hidden, head, input_dim=dim)
    lo, hi = -np.ones(dim), np.ones(dim)
    field = tie.tie_field(plan, lo, hi, cells=48 if dim == 3 else 200)
    assert field.crosses
    raw, cells = tie_geometry(field)
    assert len(raw) > 20 and cells.shape[1] == dim
    h = float(field.spacing.max())
    # |f| / |grad f| is how far a vertex is from the level set (to first order): within the
    # grid spacing from the contour, to rounding after the Newton refinement
    for X, bound in ((raw, 0.5 * h), (tie.refine(plan, raw, field.spacing), 1e-6 * h)):
        g = np.linalg.norm(_gradient(plan, X), axis=1)
        assert (np.abs(tie.logit_difference(plan, X)) / g).max() < bound
    assert ((raw >= lo - 1e-9) & (raw <= hi + 1e-9)).all()


def test_crossings_1d():
    field = tie.TieField(np.array([0.0]), np.array([1.0]), np.linspace(0, 1, 11) - 0.43)
    assert np.allclose(tie.crossings_1d(field), [[0.43]])


def test_unsupported_heads():
    plan = orient_layers([], Layer(np.eye(2), np.zeros(2), None), input_dim=2)
    assert tie.unsupported(plan, 2) is None
    assert "no classes" in tie.unsupported(plan, 0)
    assert "two classes only" in tie.unsupported(plan, 3)


def _final_distance(still: StillRenderer, deformation) -> float:
    """Largest distance of the drawn boundary's vertices to the head's plane at the last
    frame, relative to the data's extent there."""
    still.pose(parse_at("output", deformation.timeline))
    pulled = still.view.pulled_back
    assert pulled is not None and len(pulled.points) > 10
    last = deformation.n_frames - 1
    W, b = deformation.display_head(last)
    w = np.zeros(3)
    w[: W.shape[1]] = (W[1] - W[0])[:3]
    pts = np.asarray(pulled.points, dtype=float).copy()
    pts[:, 2] -= pulled.z
    data = deformation.display(np.array([last]))[0][still.view.class_points]
    extent = float(np.ptp(data, 0).max())
    distance = np.abs(pts @ w + b[1] - b[0]) / np.linalg.norm(w) / extent
    # the movie's path (show_frame) puts it at the same place
    pulled.show_frame(last)
    assert np.allclose(pulled.points, still.view.pulled_back.points)
    return float(distance.max())


@pytest.mark.parametrize("name, params", [
    ("two-curves", {"points_per_curve": 40, "samples_per_class": 100, "grid_lines": 5}),
    ("disk-annulus-lift", {"resolution": 24, "samples_per_class": 100, "grid_lines": 3}),
    ("linked-tori-4d", {"resolution": 16, "samples_per_class": 150, "grid_lines": 3}),
])
def test_carried_boundary_lands_on_the_plane(name, params):
    scene = api.load_scene(name, **params)
    net = api.train_network(scene, training=QUICK, progress=False)
    deformation = api.deform(scene, net)
    still = StillRenderer(scene.scene, deformation, style=PULLED,
                          size=FigureSize(96, 72), supersample=1, accuracy=net.accuracy)
    try:
        assert _final_distance(still, deformation) < 1e-3
    finally:
        still.close(warn=False)


def test_tori_boundary_lands_on_the_plane(tiny_tori):
    scene, net = tiny_tori
    deformation = api.deform(scene, net)
    still = StillRenderer(scene.scene, deformation, style=PULLED, size=FigureSize(96, 72), supersample=1, accuracy=net.accuracy)
    try:
        assert still.view.pulled_back.kind == "surface"
        assert _final_distance(still, deformation) < 1e-3
    finally:
        still.close(warn=False)


def test_whole_box_one_class_draws_nothing_and_says_so(tiny_tori):
    scene = tiny_tori[0].scene
    W = np.zeros((2, 3))
    plan = orient_layers([], Layer(W, np.array([0.0, 5.0]), None), input_dim=3)
    deformation = Deformation(plan, Timeline.build(plan.stages(), app_network.timeline_settings(as_preset("linked-tori")), 10),
                              scene.points()[0])
    with pytest.warns(UserWarning, match=r"boundary: pulled-back is not drawn: the network gives the whole .*'torus B'"):
        still = StillRenderer(scene, deformation, style=PULLED, size=FigureSize(64, 48), supersample=1,
                              accuracy=None)
    assert still.view.pulled_back is None
    still.close(warn=False)


def _purple(img: np.ndarray) -> int:
    """Pixels near the default boundary colour #7B3294 (or its blend over white)."""
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return int(((r - g > 20) & (b - g > 25) & (np.abs(r - b) < 70)).sum())


def test_cli_render_draws_it_from_the_first_frame(tmp_path):
    import imageio.v3 as iio

    out = tmp_path / "frames"
    r = run("render", "linked-tori", *TINY, "--size", "160x96", "--fps", "4", "--seconds-per-stage", "0.25",
            "--no-progress", "--boundary", "pulled-back", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    first = iio.imread(out / "frame_00000.png")
    assert _purple(first) > 30
    r = run("render", "linked-tori", *TINY, "--size", "160x96", "--fps", "4", "--seconds-per-stage", "0.25",
            "--no-progress", "-o", str(tmp_path / "plain"))
    assert r.exit_code == 0 and _purple(iio.imread(tmp_path / "plain" / "frame_00000.png")) == 0


def test_cli_figure_2d_and_grid_only_notice(tmp_path):
    import imageio.v3 as iio

    r = run("figure", "two-curves", "--set", "points_per_curve=40", "--set", "samples_per_class=100",
            "--set", "grid_lines=5", "--epochs", "3", "--at", "input", "--size", "160x120", "--supersample", "1",
            "--boundary", "pulled-back", "--no-progress", "-o", str(tmp_path / "a.png"))
    assert r.exit_code == 0, r.stderr
    assert _purple(iio.imread(tmp_path / "a.png")) > 30
    r = run("figure", "grid-only", "--at", "input", "--size", "64x48", "--supersample", "1",
            "--boundary", "pulled-back", "--no-progress", "-o", str(tmp_path / "g.png"))
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("notice: boundary: pulled-back is not drawn: the scene has no classes") == 1


@pytest.mark.display
def test_window_b_cycles_plane_and_pulled_back(xvfb, tiny_tori):
    scene, net = tiny_tori
    viewer = api.show(scene, network=net, size=(320, 240), style=PULLED, block=False)
    try:
        pulled = viewer.view.pulled_back
        assert pulled is not None and pulled.visible
        viewer.set_time(viewer.timeline.duration)
        assert viewer.view.boundary_actor.GetVisibility()
        viewer.press("b")  # the plane only
        assert not pulled.visible and viewer.view.boundary_actor.GetVisibility()
        viewer.press("b")  # none
        assert not pulled.visible and not viewer.view.boundary_actor.GetVisibility()
        viewer.press("b")  # both again
        assert pulled.visible and viewer.view.boundary_actor.GetVisibility()
    finally:
        viewer.close()
