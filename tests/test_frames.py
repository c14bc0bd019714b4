"""Frames that explain: a still camera within each layer, the decision and its errors
visible, thin or tiny classes kept in sight, the grid choices."""

import numpy as np
import pytest

from layerlapse.app import api
from layerlapse.draw.camera import CameraPath, _groups
from layerlapse.draw.model import grid_selection
from layerlapse.networks.layers import stage_list
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.render import Style, resolve_settings
from layerlapse.render.view import SceneView
from layerlapse.scenes.geometry import grid_lines

FAST = dict(epochs=2, restarts=1)
TIMELINE = {"seconds_per_stage": 0.75, "pause": 0.25, "hold_start": 0.5, "hold_end": 1.0}
SIZE = (256, 144)


def movie_view(scene, net, style=Style(), fps=8, size=SIZE):
    d = api.deform(scene, net, fps=fps, timeline=TIMELINE)
    settings = resolve_settings("low", size, fps)
    camera = CameraPath.for_movie(d, fps=fps, style=style, aspect=size[0] / size[1], subset=scene.framed_points())
    return d, camera, SceneView(scene, d, camera, style=style, size=settings.size)


def axes_box(view):
    """The on-screen bounding box (pixels) of the reference axes' end points."""
    renderer = view.plotter.renderer
    xy = []
    for p in np.asarray(view.reference.axes_mesh.points, dtype=float):
        renderer.SetWorldPoint(*p, 1.0)
        renderer.WorldToDisplay()
        xy.append(renderer.GetDisplayPoint()[:2])
    xy = np.array(xy)
    return np.r_[xy.min(0), xy.max(0)]


def with_and_without(view, d, frame, hide):
    """The frame rendered as it is, and again after ``hide()``; the view is closed after."""
    try:
        view.show_frame(frame, d.display(np.array([frame]))[0])
        shown = view.grab()
        hide()
        return shown, view.grab()
    finally:
        view.close()


def boxes_per_frame(d, view):
    out = []
    for f in range(d.n_frames):
        view.show_frame(f, d.display(np.array([f]))[0])
        out.append(axes_box(view))
    return np.array(out)


@pytest.mark.parametrize("name, params", [
    ("two-curves", dict(points_per_curve=40, samples_per_class=60)),
    ("linked-tori", dict(resolution=16, samples_per_class=60, grid_lines=2)),
])
def test_camera_is_still_within_each_stage(name, params):
    """The reference axes project to the same pixels in every frame of a stage whose data
    stays in the camera's band (the band keeps a still camera there: test_legibility.py);
    between layers the view does change (the framing follows each layer)."""
    scene = api.load_scene(name, **params)
    net = api.get_network(scene, training=FAST, progress=False)
    style = Style(orbit_degrees_per_second=0.0)
    d, camera, view = movie_view(scene, net, style)
    try:
        boxes = boxes_per_frame(d, view)
    finally:
        view.close()
    tl = d.timeline
    still = 0  # stages seen still
    for k in np.unique(tl.name[~tl.hold]):
        frames = np.flatnonzero((tl.name == k) & ~tl.hold)
        if np.ptp(camera.radius[frames]) > 0 or np.ptp(camera.centre[frames], axis=0).max() > 0:
            continue  # the data left the band: the camera zooms with it
        still += 1
        assert np.abs(boxes[frames] - boxes[frames[0]]).max() < 0.5, tl.stage_names[k]
    # (2-epoch networks often swing out of the band; test_legibility.py holds a still case)
    assert np.abs(boxes - boxes[0]).max() > 1.0, "the view never changes between layers"
    # today's follow mode is kept, and it does move within a stage
    d2, _, view2 = movie_view(scene, net, style.model_copy(update={"framing": "follow"}))
    try:
        follow = boxes_per_frame(d2, view2)
    finally:
        view2.close()
    moving = np.flatnonzero(~tl.hold)
    assert np.abs(np.diff(follow[moving], axis=0)).max() > 0.5


def test_camera_groups_ease_only_in_holds():
    stages = stage_list((2, 2, 2), "tanh")
    tl = Timeline.build(stages, TimelineConfig(seconds_per_stage=0.3, pause=0.2, hold_start=0.4, hold_end=0.6), 10)
    group, a, b, alpha = _groups(tl.hold, tl.layer, tl.name == len(tl.stage_names) - 1, 10)
    moving = ~tl.hold
    assert (alpha[moving] == 0).all() and (a[moving] == b[moving]).all()
    np.testing.assert_array_equal(group[moving], tl.layer[moving])
    assert (alpha >= 0).all() and (alpha <= 1).all()
    assert a[0] == b[0] == 1 and alpha[0] == 0  # the input is framed as the first layer (no zoom while "input")
    assert a[-1] == b[-1] == tl.layer.max() + 1  # the output framed by itself at the end


def test_decision_is_drawn_in_width_four_scenes():
    scene = api.load_scene("linked-tori-4d", resolution=16, samples_per_class=60, grid_lines=2)
    net = api.get_network(scene, training=FAST, progress=False)
    d, _, view = movie_view(scene, net)
    assert view.decision is not None and not view.decision.flat
    shown, hidden = with_and_without(view, d, d.n_frames - 1, lambda: view.decision.set_visible(False))
    assert (np.abs(shown.astype(int) - hidden).max(2) > 20).mean() > 0.01


def test_misclassified_samples_are_marked_and_counted():
    scene = api.load_scene("two-curves", points_per_curve=40, samples_per_class=60)
    net = api.train_network(scene, training=dict(epochs=1, restarts=1, lr=1e-4), progress=False)
    assert net.accuracy < 1.0
    d, _, view = movie_view(scene, net)
    assert view.misclassified == round((1 - net.accuracy) * len(scene.labels))
    assert view.misclassified > 0
    view.accuracy = net.accuracy
    labels = []
    marked, unmarked = with_and_without(view, d, d.n_frames - 1, lambda: (
        labels.append(view.label_text), view.markers.set_visible(False)))
    assert f"{view.misclassified} misclassified (rings)" in labels[0]
    assert (np.abs(marked.astype(int) - unmarked).max(2) > 40).sum() > 10


def test_two_d_is_flat_and_orthographic():
    scene = api.load_scene("disk-annulus", resolution=16, samples_per_class=60)
    net = api.get_network(scene, network={"hidden": (2,)}, training=FAST, progress=False)
    d, camera, view = movie_view(scene, net)
    try:
        assert camera.parallel and view.flat
        view.show_frame(0, d.display(np.array([0]))[0])
        assert view.plotter.camera.GetParallelProjection()
        img = view.grab()
    finally:
        view.close()
    # unlit: the disk's pixels are exactly its colour, no shading
    blue = np.array([0x00, 0x72, 0xB2])
    assert (np.abs(img.astype(int) - blue).max(2) == 0).sum() > 100


def test_a_class_too_small_to_see_gets_an_inset():
    scene = api.load_scene("disk-annulus", resolution=16, samples_per_class=60, disk_radius=0.004)
    net = api.get_network(scene, training=FAST, progress=False)
    d, _, view = movie_view(scene, net)
    try:
        view.show_frame(0, d.display(np.array([0]))[0])
        assert view.inset.shown
        assert view.inset.caption.GetInput().startswith("disk A, zoomed")
        with_inset = view.grab()
        view.inset.set_visible(False)
        without = view.grab()
    finally:
        view.close()
    blue = np.array([0x00, 0x72, 0xB2])
    assert (np.abs(with_inset.astype(int) - blue).max(2) < 30).sum() > 5 * max(
        1, (np.abs(without.astype(int) - blue).max(2) < 30).sum())


def test_grid_choices():
    cube = grid_lines(np.full(3, -1.0), np.full(3, 1.0), 5, 8)
    strong, faint = grid_selection(cube, "box")
    assert len(strong) == 12 and len(faint) == 12  # the box's edges; lines through the faces' middles
    square = grid_lines(np.full(2, -1.0), np.full(2, 1.0), 11, 8)
    strong, faint = grid_selection(square, "box")
    assert len(strong) == 4 and len(faint) == 2
    assert len(grid_selection(square, "full")[0]) == len(square)
    assert len(grid_selection(square, "none")[0]) == 0


def test_the_camera_zooms_with_a_flow_and_holds_still_elsewhere():
    """A flow that spreads the data e^2 times over: the camera zooms with it (the data fills
    the view all along), and so it does through the tanh layer after it, which shrinks the
    data about five-fold (W = 0.2 I): the band keeps it large there too."""
    from layerlapse.draw.camera import CameraPath, extent, view_axes
    from layerlapse.networks.deformation import Deformation
    from layerlapse.networks.layers import Layer, orient_layers
    from layerlapse.networks.stages.flow import FlowConfig, FlowLayer
    from layerlapse.networks.timeline import Timeline, TimelineConfig

    W0, W1 = np.zeros((4, 3)), np.zeros((3, 4))
    W0[:3, :3], W1[:3, :3] = 0.05 * np.eye(3), 40.0 * np.eye(3)  # v(x) ~ 2 x
    flow = FlowLayer(((W0, np.zeros(4)), (W1, np.zeros(3))), 3, FlowConfig(width=4, depth=1))
    tanh = Layer(0.2 * np.eye(3), np.zeros(3), "tanh")
    plan = orient_layers([flow, tanh], Layer(np.eye(2, 3), np.zeros(2), None), input_dim=3)
    rng = np.random.default_rng(0)
    d = Deformation(plan, Timeline.build(plan.stages(), TimelineConfig(seconds_per_stage=1.0), 10),
                    rng.normal(size=(200, 3)))
    style = Style(orbit_degrees_per_second=0.0)
    camera = CameraPath.for_movie(d, fps=10, style=style, aspect=16 / 9)
    tl = d.timeline
    moving = ~tl.hold
    flow_frames = np.flatnonzero(moving & (tl.stage == 0))
    tanh_frames = np.flatnonzero(moving & (tl.layer == 2))
    assert camera.radius[flow_frames[-1]] > 2.5 * camera.radius[flow_frames[0]]
    towards, up, right = view_axes(camera.azimuth[flow_frames], camera.elevation, camera.top)
    need, _ = extent(d.display(flow_frames), camera.centre[flow_frames], towards, up, right, 16 / 9)
    filled = need / camera.radius[flow_frames]
    assert filled.max() <= 1 + 1e-6 and filled.min() > 0.5, filled  # never cut off, never a speck
    towards, up, right = view_axes(camera.azimuth[tanh_frames], camera.elevation, camera.top)
    P = d.display(tanh_frames)
    own, _ = extent(P, 0.5 * (P.min(1) + P.max(1)), towards, up, right, 16 / 9)
    assert (own / camera.radius[tanh_frames]).min() > 0.6  # the tanh layer: never a speck
