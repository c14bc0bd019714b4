"""The verdict's zoom inset: opaque, its stated magnification true against the main view's
pixels, markers at the same pixel size in it, a locator rectangle in the main view, and
the misclassified markers in the legend, hollow in 3-D."""

import re

import numpy as np
import pytest

from layerlapse.app import api
from layerlapse.draw.camera import CameraPath
from layerlapse.draw.style import Style
from layerlapse.draw.words import MISCLASSIFIED, legend
from layerlapse.render import resolve_settings
from layerlapse.render.view import SceneView

FAST = dict(epochs=2, restarts=1)
TIMELINE = {"seconds_per_stage": 0.5, "pause": 0.0, "hold_start": 0.25, "hold_end": 0.5}
SIZE = (428, 240)


def _view(name, **params):
    scene = api.load_scene(name, resolution=16, samples_per_class=80, **params)
    net = api.get_network(scene, training=FAST, progress=False)
    d = api.deform(scene, net, fps=8, timeline=TIMELINE)
    camera = CameraPath.for_movie(d, fps=8, style=Style(), aspect=SIZE[0] / SIZE[1], subset=scene.framed_points())
    view = SceneView(scene, d, camera, style=Style(), size=resolve_settings("low", SIZE, 8).size,
                     cards=api_cards(name))
    last = d.n_frames - 1
    view.show_frame(last, d.display(np.array([last]))[0])
    return view


def api_cards(name):
    from layerlapse.draw.words import Cards

    return Cards(f"{name}?", ("No.", "why"))


@pytest.fixture(scope="module")
def flat():
    view = _view("disk-annulus")
    yield view
    view.close()


def _viewport_pixels(view, image):
    """The inset's pixels (rows, cols slices), inside its border and below its caption."""
    w, h = view.size
    x0, y0, x1, y1 = view.inset.renderer.GetViewport()
    return image[int((1 - y1) * h) + 4:int((1 - y0) * h) - 4, int(x0 * w) + 4:int(x1 * w) - 4]


def test_the_inset_is_opaque(flat):
    """Looking at empty space far from the data, the lens shows only its background: no
    main-view colour (tint, decision line, data) leaks through it."""
    cam = flat.plotter.camera
    flat.inset.pose(cam, np.array([1e3, 1e3, 0.0]), 0.5, "nothing")
    flat.inset.caption.SetVisibility(False)
    image = flat.grab()
    flat.inset.caption.SetVisibility(True)
    flat.show_card("verdict")  # the lens back on the errors
    inside = _viewport_pixels(flat, image).reshape(-1, 3).astype(int)
    background = np.array([int(255 * c) for c in flat.plotter.renderer.GetBackground()])
    assert np.abs(inside - background).max() <= 2, "main-view content shows through the inset"


def _world_per_pixel_main(view, point):
    """World units per main-view pixel at ``point``, measured by projecting a step up."""
    renderer = view.plotter.renderer
    up = np.array(view.plotter.camera.GetViewUp())
    xy = []
    for p in (point, point + 1e-3 * up):
        renderer.SetWorldPoint(*p, 1.0)
        renderer.WorldToDisplay()
        xy.append(np.array(renderer.GetDisplayPoint()[:2]))
    return 1e-3 / np.linalg.norm(xy[1] - xy[0])


def _world_per_pixel_inset(view):
    renderer = view.inset.renderer
    _, y0, _, y1 = renderer.GetViewport()
    return 2 * renderer.GetActiveCamera().GetParallelScale() / ((y1 - y0) * view.size[1])


@pytest.mark.parametrize("name", ["disk-annulus", "linked-tori"])
def test_the_stated_zoom_is_the_true_magnification(name, flat):
    view = flat if name == "disk-annulus" else _view(name)
    try:
        assert view.inset.shown, "the verdict shows the inset on the errors"
        stated = float(re.search("\u00d7([0-9.]+)", view.inset.caption.GetInput()).group(1))
        centre = np.array(view.inset.renderer.GetActiveCamera().GetFocalPoint())
        true = _world_per_pixel_main(view, centre) / _world_per_pixel_inset(view)
        assert stated >= 2 and abs(stated - true) <= 0.1 * true + 0.5, (stated, true)
    finally:
        if view is not flat:
            view.close()


def test_rings_keep_their_pixel_size_in_the_inset(flat):
    markers = flat.markers
    assert markers.ring is not None and markers.count
    main_px = markers.ring / _world_per_pixel_main(flat, markers.centres[0].astype(float))
    lens = np.asarray(markers.lens_mesh.points[:12], float)
    inset_px = np.linalg.norm(lens - lens.mean(0), axis=1).mean() / _world_per_pixel_inset(flat)
    assert inset_px == pytest.approx(main_px, rel=0.1)


def test_the_locator_shows_where_the_lens_looks(flat):
    """A rectangle in the main view around the lens's centre, its height the lens's height
    over the zoom."""
    inset = flat.inset
    assert inset.locator.GetVisibility()
    x0, y0, x1, y1 = inset.locator_box
    v = inset.renderer.GetViewport()
    assert (y1 - y0) * inset.zoom == pytest.approx(v[3] - v[1], rel=0.02)
    centre = np.array(inset.renderer.GetActiveCamera().GetFocalPoint())
    renderer = flat.plotter.renderer
    renderer.SetWorldPoint(*centre, 1.0)
    renderer.WorldToDisplay()
    cx, cy = np.array(renderer.GetDisplayPoint()[:2]) / flat.size
    assert x0 < cx < x1 and y0 < cy < y1
    # never over the data it magnifies
    assert not (x0 < v[2] and x1 > v[0] and y0 < v[3] and y1 > v[1])
    image = flat.grab().astype(int)
    w, h = flat.size
    row = int(round((1 - y0) * h))
    cols = slice(int(x0 * w) + 2, int(x1 * w) - 2)
    colour = np.array([int(255 * c) for c in inset.locator.GetProperty().GetColor()])
    near = np.abs(image[row - 1:row + 2, cols] - colour).max(2) < 60
    assert near.any(0).mean() > 0.7, "the locator's bottom edge is drawn"


def test_the_legend_names_the_markers(flat):
    entries = legend(("a", "b"), Style(), markers="#222222")
    assert [e[0] for e in entries] == ["a", "b", MISCLASSIFIED] and entries[-1][2] == "ring"
    assert legend(("a", "b"), Style())[-1][0] == "b"
    texts = [a.GetInput() for a in flat.words.legend_actors if hasattr(a, "GetInput")]
    assert MISCLASSIFIED in texts
    assert all(a.GetVisibility() for a in flat.words.marker_actors)


def test_3d_dots_are_hollow():
    """A 3-D marker is a ring of dark pixels around its sample, the class under it seen
    through the middle."""
    view = _view("linked-tori")
    try:
        markers = view.markers
        mesh = markers.actor.GetMapper().GetInput()
        where = np.array(view.plotter.camera.GetFocalPoint(), np.float32)
        mesh.points[:] = where  # every marker on one spot, alone in its layer
        mesh.GetPoints().Modified()
        for prop in view.plotter.renderer.GetViewProps():
            prop.SetVisibility(False)
        view.inset.set_visible(False)
        view.words.show(None)
        image = view.grab().astype(int).min(2)
        renderer = markers.renderer
        renderer.SetWorldPoint(*where, 1.0)
        renderer.WorldToDisplay()
        x, y = (int(round(c)) for c in renderer.GetDisplayPoint()[:2])
        row = view.size[1] - 1 - y
        assert image[row - 8:row + 9, x - 8:x + 9].min() < 120, "the dot is drawn"
        assert image[row, x] > 200, "its middle is open"
    finally:
        view.close()


def test_the_rings_are_drawn_in_the_inset(flat):
    """The lens on the errors shows their rings (marker-coloured pixels inside it): in a flat
    view they share the lens's depth test with the fills, and were drawn under the disk."""
    flat.show_card("verdict")
    inset = flat.inset
    assert inset.renderer.GetDraw()
    inside = _viewport_pixels(flat, flat.grab()).reshape(-1, 3).astype(int)
    colour = np.array([int(255 * c) for c in flat.markers.actor.GetProperty().GetColor()])
    dark = (np.abs(inside - colour).max(1) < 50).sum()
    assert dark > 30, dark
