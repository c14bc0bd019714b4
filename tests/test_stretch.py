"""The stretch heat map: exact answers, a finite-difference oracle, and the colours on screen."""

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from layerlapse.app import api
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.stretch import Stretch, tangent_frames, volume_ratio
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.scenes.base import Curve, Grid, Scene, Surface
from layerlapse.scenes.geometry import grid_lines, torus_surface

HEAD = Layer(np.array([[1.0, 0, 0], [-1.0, 0, 0]]), np.zeros(2), None)


def scene3() -> Scene:
    """A torus (surface), a closed curve and a grid, in 3-D."""
    v, f = torus_surface(np.zeros(3), np.array([0, 0, 1.0]), 0.6, 0.2, 48, 24)
    s = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    ring = np.stack([0.3 * np.cos(s), 0.3 * np.sin(s), 0.5 + 0 * s], 1)
    grid = Grid(grid_lines(np.full(3, -1.0), np.full(3, 1.0), 3, 12))
    return Scene("t", "", 3, ("a", "b"), (Surface(0, v, f),), (Curve(1, ring, closed=True),), grid,
                 np.zeros((2, 3)), np.array([0, 1]))


def deformation(scene: Scene, layers: list[Layer], head: Layer = HEAD) -> Deformation:
    plan = orient_layers(layers, head, input_dim=scene.dim)
    timeline = Timeline.build(plan.stages(), TimelineConfig(seconds_per_stage=0.5, pause=0.1, hold_start=0.1,
                                                            hold_end=0.1), 10.0)
    return Deformation(plan, timeline, scene.points()[0])


def groups(scene: Scene) -> dict[str, np.ndarray]:
    """Indices of the surface, the curve and the grid in the stacked points."""
    _, slices = scene.points()
    return {kind: np.arange(sl.start, sl.stop) for (kind, _), sl in zip(scene.parts(), slices)}


def test_identity_stretches_nothing():
    scene = scene3()
    d = deformation(scene, [Layer(np.eye(3), np.zeros(3), None)])
    values = Stretch(d, scene).log_ratio(np.arange(d.n_frames))
    assert np.abs(values).max() < 1e-5


def test_doubling_is_4_on_surfaces_and_2_on_lines():
    scene = scene3()
    d = deformation(scene, [Layer(2 * np.eye(3), np.array([0.3, -0.2, 0.1]), None)])
    stretch = Stretch(d, scene)
    last = stretch.log_ratio(np.array([d.n_frames - 1]))[0]
    parts = groups(scene)
    assert np.exp(last[parts["surface"]]) == pytest.approx(4.0, rel=1e-5)
    assert np.exp(last[parts["curve"]]) == pytest.approx(2.0, rel=1e-5)
    assert np.exp(last[parts["grid"]]) == pytest.approx(2.0, rel=1e-5)
    # along the polar path I -> 2I the stretch grows as (1 + t)^k, never jumping
    frames = np.flatnonzero(d.timeline.stage == 0)
    t = d.timeline.t[frames]
    values = stretch.log_ratio(frames)
    assert np.allclose(values[:, parts["surface"]], 2 * np.log(1 + t)[:, None], atol=1e-5)
    assert np.allclose(values[:, parts["curve"]], np.log(1 + t)[:, None], atol=1e-5)


def test_flat_surfaces_of_a_2d_scene_show_the_determinant():
    square = grid_lines(np.full(2, -1.0), np.full(2, 1.0), 3, 8)
    disk_v = np.array([[0.0, 0.0], [0.3, 0.0], [0.0, 0.3]])
    scene = Scene("p", "", 2, ("a", "b"), (Surface(0, disk_v, np.array([[0, 1, 2]])),), (), Grid(square),
                  np.zeros((2, 2)), np.array([0, 1]))
    W = np.array([[2.0, 1.0], [0.0, 1.5]])
    head = Layer(np.array([[1.0, 0], [-1.0, 0]]), np.zeros(2), None)
    d = deformation(scene, [Layer(W, np.zeros(2), None)], head)
    last = Stretch(d, scene).log_ratio(np.array([d.n_frames - 1]))[0]
    assert np.exp(last[:3]) == pytest.approx(3.0, rel=1e-5)  # |det W|


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_a_tanh_network_agrees_with_finite_differences(seed):
    """Oracle: the area a small triangle fan around a vertex maps to, by finite differences."""
    rng = np.random.default_rng(seed)
    scene = scene3()
    layers = [Layer(rng.normal(size=(3, 3)) + 2 * np.eye(3), rng.normal(size=3) * 0.3, "tanh") for _ in range(2)]
    d = deformation(scene, layers)
    stretch = Stretch(d, scene)
    frame = int(rng.integers(0, d.n_frames))
    values = stretch.log_ratio(np.array([frame]))[0]
    # the frame's map applied to tiny displacements along each vertex's tangent frame
    (idx2, T2), (idx1, T1) = sorted(tangent_frames(scene), key=lambda g: -g[1].shape[2])
    h = 1e-6
    s, t = int(d.timeline.stage[frame]), float(d.timeline.t[frame])

    def mapped(X):
        Y = np.hstack([X, np.zeros((len(X), d.dim - 3))])
        for k in range(s):
            Y = d.stages[k].apply(Y)
        return d.stages[s].positions(Y, np.array([t]))[0] if s >= 0 else Y

    pick2 = rng.choice(len(idx2), 20, replace=False)
    X = scene.points()[0][idx2[pick2]]
    base = mapped(X)
    cols = [(mapped(X + h * T2[pick2, :, j]) - base) / h for j in range(2)]
    area = volume_ratio(np.stack(cols, 2))
    assert np.allclose(values[idx2[pick2]], np.log(area), atol=2e-3)
    pick1 = rng.choice(len(idx1), 20, replace=False)
    X = scene.points()[0][idx1[pick1]]
    length = np.linalg.norm((mapped(X + h * T1[pick1, :, 0]) - mapped(X)) / h, axis=1)
    assert np.allclose(values[idx1[pick1]], np.log(length), atol=2e-3)


def test_surface_frames_are_tangent_and_orthonormal():
    mesh = trimesh.creation.icosphere(subdivisions=3)
    scene = Scene("s", "", 3, ("a", "b"), (Surface(0, np.asarray(mesh.vertices), np.asarray(mesh.faces)),), (), None,
                  np.zeros((2, 3)), np.array([0, 1]))
    ((_, T),) = tangent_frames(scene)
    normals = np.asarray(mesh.vertices)  # a unit sphere's normals are its points
    assert np.abs(np.einsum("vik,vi->vk", T, normals)).max() < 0.02
    assert np.allclose(np.einsum("vik,vil->vkl", T, T), np.eye(2), atol=1e-9)


def test_limits_are_fixed_symmetric_and_at_least_log_2():
    scene = scene3()
    d = deformation(scene, [Layer(np.eye(3), np.zeros(3), None)])
    assert Stretch(d, scene).limits() == pytest.approx(np.log(2.0))
    d = deformation(scene, [Layer(8 * np.eye(3), np.zeros(3), None)])
    assert Stretch(d, scene).limits() == pytest.approx(np.log(64.0), rel=1e-4)  # the surfaces' area ratio


def test_heat_map_colours_the_frames(tiny_tori):
    """At the input (ratio 1) each class shows its own colour, the middle of its ramp; at the
    output its pixels leave that colour (darker where squeezed, paler where stretched) but
    keep its hue; a colour bar per class is drawn; the training clock is refused in one line."""
    import colorsys

    import imageio.v3 as iio

    from layerlapse.draw.style import OKABE_ITO, Style

    scene, net = tiny_tori
    style = Style(color_by="stretch")
    images = {}
    for at in ("input", "output"):
        path = api.figure(scene, f"{at}.png", network=net, at=at, size=(240, 180), supersample=1, style=style,
                          progress=False)
        images[at] = iio.imread(path)[..., :3].astype(int)[:, :200]  # left of the colour bars
    blue, orange = (np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for c in OKABE_ITO[:2])

    def share(img, colour, tol=12):
        return (np.abs(img - colour).max(2) < tol).mean()

    def hue(c):
        return 360 * colorsys.rgb_to_hsv(*(np.asarray(c) / 255))[0]

    # lit, the input's classes are shades of their own colours
    assert share(images["input"], blue, 60) > 0.01 and share(images["input"], orange, 60) > 0.01
    px = images["output"].reshape(-1, 3)
    chroma = px[(px.max(1) - px.min(1)) > 40]
    assert len(chroma)
    hues = np.array([hue(c) for c in chroma])
    near = np.minimum(np.abs(hues - hue(blue)), np.abs(hues - hue(orange)))
    assert (near < 20).mean() > 0.9  # every class pixel keeps one of the two class hues
    with pytest.raises(Exception, match="over: the training clock has no layers to measure stretch in"):
        api.render(scene, "clock.mp4", over="training", seconds=0.5, size=(96, 64), fps=4, style=style,
                   training={"epochs": 2}, progress=False)


def test_hud_reads_the_frame(tiny_tori):
    """--hud: det of the linear map reached, the linking number of the tori's cores (+-1 on
    every frame of a width-3 network) and the accuracy, in the lower right corner."""
    from layerlapse.draw.camera import CameraPath
    from layerlapse.draw.style import Style
    from layerlapse.render.view import SceneView

    scene, net = tiny_tori
    d = api.deform(scene, net)
    style = Style(hud=True)
    camera = CameraPath.for_movie(d, fps=30.0, style=style, aspect=4 / 3)
    view = SceneView(scene, d, camera, style=style, size=(160, 120), accuracy=net.accuracy)
    try:
        _, values = view.hud
        assert np.all(np.abs(np.abs(values["linking"]) - 1) < 1e-6)
        for frame in (0, d.n_frames // 2, d.n_frames - 1):
            view.show_frame(frame, d.display(np.array([frame]))[0])
            text = view.hud[0].GetInput()
            assert text.startswith(f"det W(t) {values['det'][frame]:+.2f}") and "linking" in text
            assert f"accuracy {100 * net.accuracy:.1f}%" in text
    finally:
        view.close()


@pytest.mark.parametrize(("args", "says"), [
    (["render", "two-curves", "--head", "knn", "--color-by", "stretch"], "would hide the k-NN head's vote"),
    (["figure", "two-curves", "--head", "knn", "--color-by", "stretch"], "would hide the k-NN head's vote"),
    (["render", "two-curves", "--over", "training", "--hud"], "over: the training clock has no layers"),
    (["render", "two-curves", "--over", "training", "--boundary", "pulled-back"], "over: the training clock"),
])
def test_looks_a_network_cannot_show_are_refused_before_training(args, says):
    from pathlib import Path

    from typer.testing import CliRunner

    from layerlapse.cli import app

    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 2 and says in result.stderr, result.stderr
    assert not Path("outputs").exists()


def test_betti_counts_pieces_not_sample_gaps():
    """Uniform samples on segments (line-segments' classes): one piece and two, not split at
    the samples' largest gaps; a solid torus has one loop."""
    from layerlapse.networks.certificate import betti

    rng = np.random.default_rng(0)
    one = np.c_[rng.uniform(-1, -0.2, 400), np.zeros(400)]
    two = np.r_[np.c_[rng.uniform(-0.1, 0.3, 200), np.zeros(200)], np.c_[rng.uniform(0.6, 1.0, 200), np.zeros(200)]]
    assert betti(one)[:2] == (1, 0) and betti(two)[:2] == (2, 0)
    scene = api.load_scene("linked-tori", samples_per_class=400)
    assert betti(scene.samples[scene.labels == 0])[:2] == (1, 1)
