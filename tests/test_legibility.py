"""The data fills the frame: the camera's band keeps it large (unit tests on hand-set
layers), the ticks number the axes in 1-2-5 steps, and for every preset sampled frames at
low quality show the class parts spanning >= 30% of the frame's smaller side, each class
covering >= 0.2% of its pixels (the pixel rule of the shared frame_span.py, in
tools/legibility.py)."""

import functools
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from layerlapse.draw.band import SWING
from layerlapse.draw.camera import CameraPath, extent, view_axes
from layerlapse.draw.style import Style
from layerlapse.draw.ticks import tick_label, tick_step, tick_values
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.timeline import Timeline, TimelineConfig

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("legibility", ROOT / "tools" / "legibility.py")
legibility = importlib.util.module_from_spec(_spec)
sys.modules["legibility"] = legibility  # its dataclass looks its module up
_spec.loader.exec_module(legibility)

MIN_SPAN, MIN_AREA = 0.30, 0.002


def hand_set(*weights, fps=10, dim=2):
    """A deformation of 300 points of the unit disk (or ball) through tanh layers W = w I."""
    layers = [Layer(w * np.eye(dim), np.zeros(dim), "tanh") for w in weights]
    plan = orient_layers(layers, Layer(np.eye(2, dim), np.zeros(2), None), input_dim=dim)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, dim))
    x /= np.maximum(1.0, np.linalg.norm(x, axis=1, keepdims=True))
    return Deformation(plan, Timeline.build(plan.stages(), TimelineConfig(seconds_per_stage=1.0), fps), x)


def fill(d, camera, aspect=16 / 9):
    """Per frame: the data's own framing radius over the camera's."""
    f = np.arange(d.n_frames)
    towards, up, right = view_axes(camera.azimuth, camera.elevation, camera.top)
    P = d.display(f)
    own, _ = extent(P, 0.5 * (P.min(1) + P.max(1)), towards, up, right, aspect)
    need, _ = extent(P, camera.centre, towards, up, right, aspect)
    return own / camera.radius, need / camera.radius


def test_a_spreading_layer_keeps_the_data_large():
    """W = 20 I spreads the data twenty-fold before tanh squashes it back: the camera of
    today (still through the layer) left it at 1/20 of the view; the band keeps its framing
    above 1 / SWING of the view in every frame, and never cuts it off."""
    d = hand_set(20.0)
    camera = CameraPath.for_movie(d, fps=10, style=Style(), aspect=16 / 9)
    own, need = fill(d, camera)
    assert need.max() <= 1 + 1e-6
    assert own.min() >= 1 / SWING - 0.03, own.min()
    assert camera.radius.max() > 8 * camera.radius.min()  # it did zoom


@pytest.mark.parametrize("dim", [2, 3])
def test_the_input_hold_does_not_zoom(dim):
    """Nor turn, nor pan: the input is seen still while it is labelled "input"."""
    d = hand_set(20.0, 0.5, dim=dim)
    camera = CameraPath.for_movie(d, fps=10, style=Style(), aspect=16 / 9)
    lead = np.arange(d.n_frames) < np.argmin(d.timeline.hold)
    assert lead.sum() >= 5
    assert np.ptp(camera.radius[lead]) == 0.0 and np.ptp(camera.centre[lead], axis=0).max() == 0.0
    assert np.ptp(camera.azimuth[lead]) == 0.0
    # and the first moving frames join it without a step
    first = int(np.argmin(d.timeline.hold))
    assert abs(np.log(camera.radius[first] / camera.radius[first - 1])) < 0.05


def test_a_layer_that_stays_in_the_band_keeps_a_still_camera():
    """W = I: tanh shrinks the data by a quarter at most, within the band, so the camera is
    still through every stage."""
    d = hand_set(1.0, 1.0)
    camera = CameraPath.for_movie(d, fps=10, style=Style(), aspect=16 / 9)
    tl = d.timeline
    for k in np.unique(tl.name[~tl.hold]):
        frames = np.flatnonzero((tl.name == k) & ~tl.hold)
        assert np.ptp(camera.radius[frames]) < 1e-9 * camera.radius[frames].max(), tl.stage_names[k]


def test_the_orbit_turns_only_while_nothing_moves():
    d = hand_set(0.9, dim=3)
    camera = CameraPath.for_movie(d, fps=10, style=Style(orbit_degrees_per_second=6.0), aspect=16 / 9)
    turn = np.abs(np.diff(camera.azimuth))
    tl = d.timeline
    mid_stage = ~tl.hold[1:] & (tl.t[1:] > 0.3) & (tl.t[1:] < 0.7)
    assert turn[mid_stage].max() < 0.05 * 6.0 / 10
    assert turn[tl.hold[1:] & tl.hold[:-1]].max() > 0.5 * 6.0 / 10


def test_ticks_are_round_and_readable():
    for half in (0.013, 0.9, 1.3, 4.0, 26.0, 7e3):
        step = tick_step(half)
        mantissa = step / 10 ** np.floor(np.log10(step))
        assert round(mantissa, 6) in (1.0, 2.0, 5.0)
        assert 1.0 <= half / step <= 2.5 + 1e-9  # one to two and a half labelled ticks above the centre
    assert tick_label(0.2, 0.2) == "0.2" and tick_label(-5.0, 5.0) == "-5" and tick_label(20.0, 10.0) == "20"
    np.testing.assert_allclose(tick_values(0.5, 1.2), [-1.0, -0.5, 0.5, 1.0])


def test_the_ticks_number_the_axes_on_screen():
    """Zoomed in ten times, the ticks renumber (1-2-5) and their labels stay out of the
    top and bottom bands."""
    from layerlapse.app import api
    from layerlapse.render.view import SceneView

    scene = api.load_scene("two-curves", points_per_curve=40, samples_per_class=60)
    net = api.get_network(scene, training=dict(epochs=2, restarts=1), progress=False)
    d = api.deform(scene, net, fps=8, timeline={"seconds_per_stage": 0.75, "pause": 0.25, "hold_start": 0.5,
                                                "hold_end": 1.0})
    camera = CameraPath.for_movie(d, fps=8, style=Style(), aspect=16 / 9, subset=scene.framed_points())
    view = SceneView(scene, d, camera, style=Style(), size=(320, 180))
    try:
        texts = []
        for scale in (1.0, 0.1):
            still = CameraPath(camera.centre[:1] * scale, camera.radius[:1] * scale, camera.depth[:1] * scale,
                               camera.azimuth[:1], camera.elevation, camera.top, camera.parallel)
            view.show_frame(0, d.display(np.array([0]))[0], move_camera=False)
            still.apply(view.plotter.camera, 0)
            view.update_inset(d.display(np.array([0]))[0])
            shown = [t for t in view.reference.ticks.labels if t.GetVisibility()]
            assert len(shown) >= 2
            for t in shown:
                y = t.GetPosition()[1]
                assert 0.12 * 180 <= y <= 0.88 * 180
            texts.append({t.GetInput() for t in shown})
        assert texts[0] != texts[1]
    finally:
        view.close()


#: every preset, with the essay's disk-annulus network (--hidden 2); the frames sampled in
#: each (spread over the timeline, and the worst ones measured before this change)
PRESETS = ["two-curves", "spirals", "spirals-tangled", "disk-annulus", "disk-annulus-lift", "line-segments",
           "linked-tori", "linked-tori-4d", "unlink", "easy-way-out", "sphere-shell", "sphere-shell-4d",
           "trefoil", "linked-tori-flow", "linked-tori-flow-4d"]
KNOWN_WORST = {"linked-tori": (122, 127, 232, 237, 247, 352, 370), "disk-annulus": (127, 232, 322, 328),
               "trefoil": (137, 157, 217, 222, 247), "spirals-tangled": (332, 422), "spirals": (423, 441),
               "sphere-shell": (237, 271, 307, 385), "line-segments": (0, 112, 150), "two-curves": (45, 120),
               "unlink": (228, 242), "easy-way-out": (114, 128, 370)}
#: the same for the essay's disk-annulus network (--hidden 2): its disk under the rings at the output
KNOWN_WORST_HIDDEN_2 = (120, 127, 142, 150)
# every preset passes both bars; sphere-shell's main picture alone still spans 0.14-0.18 at
# frames 256-313 (the shell cut and translated) and passes with its inset magnifying the shell


def _frames(worst):
    def choose(n):
        return sorted(set(np.linspace(0, n - 1, 14).round().astype(int)) | {f for f in worst if f < n})
    return choose


@functools.cache
def _check(name, hidden=None):
    """(frames under the span bar, frames under the area bar) of preset ``name``, rendered once."""
    config = {"hidden": hidden} if hidden else None
    worst = KNOWN_WORST_HIDDEN_2 if hidden == (2,) else KNOWN_WORST.get(name, ())
    samples = legibility.sampled_frames(name, _frames(worst), network_config=config)
    low_span = [(s.frame, round(s.span, 2)) for s in samples if s.span < MIN_SPAN]
    low_area = [(s.frame, round(100 * s.area, 2)) for s in samples if s.area < MIN_AREA]
    return low_span, low_area


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_spans_the_frame(name):
    low_span, _ = _check(name)
    assert not low_span, f"frames (frame, span) under {MIN_SPAN}: {low_span}"


@pytest.mark.slow
def test_the_essays_disk_annulus_network_spans_the_frame():
    low_span, _ = _check("disk-annulus", (2,))
    assert not low_span, low_span


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_every_class_keeps_an_area(name):
    _, low_area = _check(name)
    assert not low_area, f"frames (frame, % area) under {100 * MIN_AREA}%: {low_area}"


@pytest.mark.slow
def test_the_essays_disk_annulus_network_keeps_an_area():
    """Its disk ends squashed along the box's corner under the misclassified rings."""
    _, low_area = _check("disk-annulus", (2,))
    assert not low_area, low_area


def test_the_screen_area_estimate():
    """A 3-pixel line 200 pixels long covers about 600 pixels, however sparsely its points are
    sampled (a small figure's curves); a 60-pixel square sampled every
    5 pixels is filled between its points (about 3600); one point, one cell."""
    from layerlapse.draw.area import screen_area

    line = np.stack([np.linspace(0, 200, 400), np.zeros(400)], 1)
    assert 450 <= screen_area(line, 3.0) <= 1000
    g = np.arange(0, 61, 5.0)
    square = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    assert 3000 <= screen_area(square, 3.0) <= 4500
    sparse = line[::40]  # 11 points 20 pixels apart: a curve drawn as a line covers its segments
    assert 450 <= screen_area(sparse, 3.0) <= 1000
    assert screen_area(line, 3.0, enough=100) >= 100  # large enough: it may stop early
    assert screen_area(np.zeros((1, 2)), 3.0) == 9.0 and screen_area(np.zeros((0, 2)), 3.0) == 0.0


class _Lens:
    """What pose_inset needs of an Inset: its viewport, and where it was posed."""

    def __init__(self):
        import vtk

        self.renderer, self.posed, self.shown = vtk.vtkRenderer(), None, None
        self.renderer.SetViewport(0.66, 0.08, 0.985, 0.46)

    def pose(self, cam, centre, half, what, avoid=None):
        self.posed, self.shown, self.avoided = (centre, half, what), True, avoid

    def set_visible(self, visible):
        self.shown = visible


def test_a_short_line_in_a_corner_is_magnified():
    """A class squashed to a short line (100 of 480 pixels long, so wider than the 40 px at
    720p of the extent rule) covers about 0.07% of the frame: the inset magnifies it, at least
    twice, and the areas say it is small; a class twice as long and 20 wide is left alone."""
    import vtk

    from layerlapse.draw.area import AREA_SHARE
    from layerlapse.render.sight import MIN_MAGNIFY, pose_inset

    cam = vtk.vtkCamera()
    cam.ParallelProjectionOn()
    cam.SetParallelScale(1.0)  # 480 pixels are 2 units: 240 px a unit
    cam.SetPosition(0, 0, 10)
    cam.SetFocalPoint(0, 0, 0)
    cam.SetViewUp(0, 1, 0)
    size = (854, 480)
    s = np.linspace(0, 1, 200)
    short = np.stack([0.8 + 0.4 * s, 0.9 + 0 * s, 0 * s], 1)  # 0.4 units: 96 px
    rng = np.random.default_rng(0)
    wide = np.stack([rng.uniform(-0.8, 0.8, 3000), rng.uniform(-0.5, 0.5, 3000), np.zeros(3000)], 1)
    positions = np.r_[short, wide]
    sets = {0: np.arange(200), 1: np.arange(200, 3200)}
    lens, areas = _Lens(), {}
    pose_inset(cam, size, sets, ("line A", "blob B"), positions, lens, areas)
    assert areas[0] < AREA_SHARE * size[0] * size[1] <= areas[1]
    assert lens.shown and lens.posed[2] == "line A"  # the lens captions it "line A, zoomed ×N"
    assert lens.avoided is not None and len(lens.avoided)  # and stands where it covers the least data
    inset_px = 0.38 * 480
    assert inset_px / (2 * lens.posed[1] * 240) >= MIN_MAGNIFY - 1e-9
    lens = _Lens()
    pose_inset(cam, size, {0: np.arange(200, 3200), 1: np.arange(200, 3200)}, ("A", "B"), positions, lens)
    assert lens.shown is False


def test_a_sparse_cloud_is_zoomed_only_when_it_collapses():
    """Ten digit-like clouds of 180 dots in 3-D, each some 70 pixels across: a cloud's dots
    cover under the 3-D area rule's share of the frame, yet the cloud reads (the digits movie
    had "6, zoomed x2" in most frames). As a cloud it is left alone; the same points taken
    for a surface's vertices are zoomed; a cloud squashed to a speck is still zoomed."""
    import vtk

    from layerlapse.render.sight import pose_inset

    cam = vtk.vtkCamera()  # perspective, 30 degrees: about 90 px a unit at the focal plane
    cam.SetPosition(0, 0, 10)
    cam.SetFocalPoint(0, 0, 0)
    cam.SetViewUp(0, 1, 0)
    cam.SetViewAngle(30)
    size = (854, 480)
    rng = np.random.default_rng(1)
    centres = np.c_[np.linspace(-3.5, 3.5, 10), np.tile([-1.2, 1.2], 5), np.zeros(10)]
    positions = np.concatenate([c + rng.normal(0, 0.2, (180, 3)) for c in centres])
    sets = {k: np.arange(180 * k, 180 * (k + 1)) for k in range(10)}
    names = tuple(str(k) for k in range(10))
    lens = _Lens()
    pose_inset(cam, size, sets, names, positions, lens, clouds=frozenset(range(10)))
    assert lens.shown is False
    lens = _Lens()
    pose_inset(cam, size, sets, names, positions, lens)  # the same points as a surface's: zoomed
    assert lens.shown
    speck = positions.copy()
    speck[sets[3]] = centres[3] + rng.normal(0, 0.02, (180, 3))
    lens = _Lens()
    pose_inset(cam, size, sets, names, speck, lens, clouds=frozenset(range(10)))
    assert lens.shown and lens.posed[2] == "3"


def test_what_a_cutaway_opens_is_not_counted():
    """The shell's points on the camera's side of its cut are not drawn: the inset and the area
    estimate see only the far half (sphere-shell's shell was estimated twice what was drawn)."""
    import vtk

    from layerlapse.render.sight import drawn_sets

    rng = np.random.default_rng(1)
    shell = rng.normal(size=(400, 3))
    shell /= np.linalg.norm(shell, axis=1, keepdims=True)
    positions = np.r_[shell, 0.3 * shell]
    sets = {0: np.arange(400, 800), 1: np.arange(400)}
    plane = vtk.vtkPlane()
    plane.SetOrigin(0, 0, 0)
    plane.SetNormal(0, 0, -1)  # faced away from a camera on +z
    drawn = drawn_sets(sets, [(plane, sets[0], 1)], positions)
    assert np.array_equal(drawn[0], sets[0])
    assert (positions[drawn[1], 2] <= 0).all() and 150 < len(drawn[1]) < 250
    assert drawn_sets(sets, [], positions) is sets
