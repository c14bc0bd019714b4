"""Depth and consistency in 3-D, checked on rendered pixels: a knot drawn whole, grid lines
behind the surfaces, one decision-plane colour, stretch colours that keep the classes apart,
a pulled-back boundary that does not double the plane, the 4th coordinate of R^4 scenes shown."""

import numpy as np
import pytest

from layerlapse.app import api
from layerlapse.draw.camera import CameraPath
from layerlapse.render import Style
from layerlapse.render.view import SceneView

SIZE = (320, 180)
FAST = dict(epochs=2, restarts=1)
TIMELINE = {"seconds_per_stage": 0.5, "pause": 0.0, "hold_start": 0.25, "hold_end": 0.5}


def view_of(scene, net, style=Style(), size=SIZE):
    d = api.deform(scene, net, fps=8, timeline=TIMELINE)
    camera = CameraPath.for_movie(d, fps=8, style=style, aspect=size[0] / size[1], subset=scene.framed_points())
    return d, SceneView(scene, d, camera, style=style, size=size)


def show(view, d, frame):
    view.show_frame(frame, d.display(np.array([frame]))[0])
    return view.grab()


def on_screen(view, points):
    """Pixel (row, column) of world points (N, 3) in the view's image."""
    renderer, h = view.plotter.renderer, view.size[1]
    out = []
    for p in np.asarray(points, dtype=float):
        renderer.SetWorldPoint(*p, 1.0)
        renderer.WorldToDisplay()
        x, y, _ = renderer.GetDisplayPoint()
        out.append((h - 1 - int(round(y)), int(round(x))))
    return np.array(out)


def test_the_trefoil_is_drawn_whole_at_its_first_frame():
    """The trefoil's bounding box holds its ring, which made it an "enclosing" class: the
    cutaway meant for a shell cut the knot open into arcs. Every point of its centre line
    must land on a drawn class pixel (not the background)."""
    scene = api.load_scene("trefoil", points_per_curve=200, samples_per_class=60, grid_lines=2)
    net = api.train_network(scene, training=dict(epochs=1, restarts=1), progress=False)
    d, view = view_of(scene, net, size=(480, 270))
    try:
        img = show(view, d, 0)
        knot = d.display(np.array([0]))[0][view.class_sets[0]]
        rows, cols = on_screen(view, knot).T
        inside = (rows >= 0) & (rows < img.shape[0]) & (cols >= 0) & (cols < img.shape[1])
        assert inside.all()
        # points under the zoom lens (opaque, showing a small class magnified) are the lens's
        lens = view.inset.renderer
        if lens.GetDraw():
            x0, y0, x1, y1 = lens.GetViewport()
            h, w = img.shape[:2]
            under = (cols >= x0 * w) & (cols <= x1 * w) & (h - 1 - rows >= y0 * h) & (h - 1 - rows <= y1 * h)
            rows, cols = rows[~under], cols[~under]
            assert len(rows) > 0.6 * len(knot)
        px = img[rows, cols].astype(int)
        coloured = (px.max(1) - px.min(1)) > 40  # a class colour, not white or a grey grid line
        assert coloured.mean() > 0.95, f"{(~coloured).sum()} of {len(px)} centre-line points not drawn"
        assert view.cutaways == []
    finally:
        view.close()


@pytest.mark.parametrize("frame", ["first", "last"])
def test_grid_lines_never_cover_a_surface(tiny_tori, frame):
    """Every class pixel of a 3-D frame is the same with the grid shown and hidden: the grid
    is a backdrop, however close in front of a squashed surface one of its lines lies."""
    scene, net = tiny_tori
    d, view = view_of(scene, net)
    try:
        f = 0 if frame == "first" else d.n_frames - 1
        with_grid = show(view, d, f).astype(int)
        for actor in view.grid_actors:
            actor.SetVisibility(False)
        without = view.grab().astype(int)
        assert view.grid_actors and (np.abs(with_grid - without).max(2) > 30).sum() > 50  # the grid is drawn
        surface = (without.max(2) - without.min(2)) > 60  # class colours (white, greys and text are not)
        covered = surface & (np.abs(with_grid - without).max(2) > 30)
        assert covered.sum() == 0, f"{covered.sum()} grid pixels over {surface.sum()} class pixels"
    finally:
        view.close()


def plane_tint(view, d):
    """The mean colour of the background pixels the decision tints at the last frame, seen
    from either side of the plane, across it (the movie's output turns to see it edge-on)."""
    from layerlapse.draw.edge import head_normal

    normal = head_normal(d.display_head(d.n_frames - 1))
    tints = []
    for side in (1, -1):
        show(view, d, d.n_frames - 1)
        cam = view.plotter.camera
        focal, pos = np.array(cam.GetFocalPoint()), np.array(cam.GetPosition())
        towards = 0.8 * normal + 0.6 * (pos - focal) / np.linalg.norm(pos - focal)
        cam.SetPosition(*(focal + side * np.linalg.norm(pos - focal) * towards / np.linalg.norm(towards)))
        shown = view.grab().astype(int)
        view.decision.set_visible(False)
        hidden = view.grab().astype(int)
        tinted = (np.abs(shown - hidden).max(2) > 8) & (hidden.min(2) > 250)
        assert tinted.sum() > 200
        tints.append(shown[tinted].mean(0))
    return tints


def test_the_decision_plane_has_one_colour_from_either_side_and_in_every_back_end(tiny_tori):
    """The plane's faces were tinted in the two class colours, so the viewer saw whichever
    class's side the camera was on: blue at the end of the orbiting movie, orange in the
    still figure, sheet and page. One tint now, the model's, in the view and on the page."""
    from layerlapse.draw.colour import hex_rgb
    from layerlapse.web.page import _colours

    scene, net = tiny_tori
    d, view = view_of(scene, net)
    try:
        front, back = plane_tint(view, d)
        assert np.abs(front - back).max() < 3, (front, back)
        actor = view.decision.actors[0]
        assert actor.GetBackfaceProperty() is None
        assert hex_rgb(actor.prop.color.float_rgb) == _colours(view.model)["decisionPlane"]
        assert view.model.decision.plane_colour == view.model.decision_plane_colour
    finally:
        view.close()


def test_the_pulled_back_boundary_does_not_double_the_plane_at_the_output(tiny_tori):
    """At the output the carried tie set lies on the decision plane (to 1e-6): drawn both,
    one translucent surface lay doubled over the other. It fades out as the plane fades in:
    no face of it is drawn within reach of the plane at the last frame, and it is drawn at
    the first."""
    scene, net = tiny_tori
    d, view = view_of(scene, net, style=Style(boundary="pulled-back"))
    try:
        pulled = view.pulled_back
        assert pulled is not None and pulled.kind == "surface"
        for frame, drawn in ((0, True), (d.n_frames - 1, False)):
            image = show(view, d, frame).astype(int)
            visible = pulled.actor.GetVisibility()
            pulled.actor.SetVisibility(False)
            without = view.grab().astype(int)
            pulled.actor.SetVisibility(visible)
            changed = int((np.abs(image - without).max(2) > 8).sum())
            assert (changed > 100) if drawn else (changed == 0), (frame, changed)
        W, b = d.display_head(d.n_frames - 1)
        w, c = W[1] - W[0], float(b[1] - b[0])
        on_plane = np.abs(pulled.points @ w[:3] + c) / np.linalg.norm(w[:3]) < 1e-3
        assert on_plane.mean() > 0.9  # it does lie on the plane: drawing it would double it
        assert pulled.actor.prop.opacity == 0.0
        assert pulled.visible  # the window's toggle is the user's, untouched
    finally:
        view.close()


def hues(img):
    """Hue in degrees (N,) of the saturated pixels of an image (H, W, 3)."""
    import colorsys

    px = img.reshape(-1, 3) / 255.0
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in px[(px.max(1) - px.min(1)) > 0.1]])
    return 360 * hsv[:, 0] if len(hsv) else np.zeros(0)


def test_stretch_colours_keep_the_two_classes_apart(tiny_tori):
    """One cool-to-warm map for every class turned both classes red, grey and blue: each
    class now has its own ramp in its own hue, so the hues of the two classes' pixels do not
    overlap, while the colours still change with the stretch; one colour bar per class."""
    scene, net = tiny_tori
    d, view = view_of(scene, net, style=Style(color_by="stretch"))
    try:
        frame = int(np.flatnonzero(d.timeline.stage == 1)[-1])  # the end of the first tanh: stretched unevenly
        show(view, d, frame)
        seen = {}
        for label in (0, 1):
            for other in view.class_actors[1 - label]:
                other.SetVisibility(False)
            img = view.grab()[:, : int(0.8 * SIZE[0])]  # left of the colour bars
            for other in view.class_actors[1 - label]:
                other.SetVisibility(True)
            seen[label] = hues(img)
            assert len(seen[label]) > 100
        (a0, a1), (b0, b1) = (np.percentile(seen[k], [2, 98]) for k in (0, 1))
        assert a1 < b0 or b1 < a0, f"hues overlap: class 0 {a0:.0f}-{a1:.0f}, class 1 {b0:.0f}-{b1:.0f}"
        values = view.stretch.log_ratio(np.array([frame]))[0][view.class_points]
        assert np.ptp(values) > 0.5  # the frame is stretched unevenly: the ramps show it
        assert {view.style.colour(0), view.style.colour(1)} <= set(view.heat.luts)
        assert sum(a.IsA("vtkActor2D") and not a.IsA("vtkTextActor") for a in view.heat.bar_actors) == 2
    finally:
        view.close()


def test_the_fourth_coordinate_of_an_r4_scene_is_shown_by_colour():
    """linked-tori-4d is drawn through a projection to 3-D that drops one direction: each
    class is coloured by that hidden coordinate on its own ramp, so the tori that seem to pass
    through each other are seen to lie apart in it. While the 4th coordinate is 0 (the input)
    the classes keep their own colours exactly; later the colours follow it, the bar says so."""
    from layerlapse.draw.fourth import hidden_directions

    scene = api.load_scene("linked-tori-4d", resolution=16, samples_per_class=60, grid_lines=2)
    net = api.get_network(scene, training=FAST, progress=False)
    d, view = view_of(scene, net)
    try:
        assert view.hidden is not None and view.heat is not None
        P = d.projection(np.arange(d.n_frames))
        n = hidden_directions(P)
        assert np.abs(np.einsum("fij,fj->fi", P, n)).max() < 1e-9 and np.allclose(np.linalg.norm(n, axis=1), 1)
        assert (np.einsum("fd,fd->f", n[1:], n[:-1]) > 0).all()  # no sign flips between frames
        texts = [a.GetInput() for a in view.heat.bar_actors if a.IsA("vtkTextActor")]
        assert "4th coordinate" in texts
        differs = {}
        for frame in (0, d.n_frames - 1):
            coloured = show(view, d, frame).astype(int)
            for actor in view.heat.actors:
                actor.GetMapper().ScalarVisibilityOff()
            plain = view.grab().astype(int)
            for actor in view.heat.actors:
                actor.GetMapper().ScalarVisibilityOn()
            differs[frame] = int((np.abs(coloured - plain).max(2) > 12).sum())
            w = view.hidden.at_frames(np.array([frame]))[0][view.class_points]
            assert (np.abs(w).max() < 1e-9) == (frame == 0)
        assert differs[0] < 20 and differs[d.n_frames - 1] > 200, differs
    finally:
        view.close()


def test_the_page_shows_the_fourth_coordinate_and_the_class_ramps_as_the_movie_does():
    """The page of an R^4 scene carries the hidden coordinate at its keyframes, with the
    movie's class ramps and a colour bar titled as the movie's; a 3-D scene's carries none."""
    import base64
    import json
    import re

    from layerlapse.draw.heat import class_ramp
    from layerlapse.web.page import build_page

    scene = api.load_scene("linked-tori-4d", resolution=12, samples_per_class=60, grid_lines=2)
    net = api.get_network(scene, training=FAST, progress=False)
    d = api.deform(scene, net, fps=8, timeline=TIMELINE)
    html = build_page(scene, d, style=Style(), title="t", accuracy=None, keyframes=2).html
    meta = json.loads(re.search(r'"stretch":(\{.*?"ticks":\[.*?\]\]\})', html).group(1))
    assert meta["title"] == "4th coordinate" and len(meta["ticks"]) == 3
    for label in (0, 1):
        table = np.frombuffer(base64.b64decode(meta["ramps"][str(label)]), np.uint8).reshape(-1, 3)
        assert np.array_equal(table, class_ramp(Style().colour(label)))
    flat = api.load_scene("linked-tori", resolution=12, samples_per_class=60, grid_lines=2)
    d3 = api.deform(flat, api.get_network(flat, training=FAST, progress=False), fps=8, timeline=TIMELINE)
    assert '"stretch":null' in build_page(flat, d3, style=Style(), title="t", accuracy=None, keyframes=2).html


def test_the_trefoil_is_seen_from_above_its_ring():
    """From the default iso view one lobe of the trefoil is seen edge-on (its projected
    tangent shrinks to 1% of its length: a strand that seems to end) and the ring at 46% of its
    width. The preset looks from above the ring: no strand shrinks below 30%, the ring is seen
    nearly face-on; a camera asked for by name still wins."""
    from layerlapse.app.request import themed_style
    from layerlapse.draw.camera import view_axes

    preset = api.load_scene("trefoil")
    style = themed_style(preset, None, {})
    knot, ring = preset.curves[0].points, preset.curves[1].points
    _, up, right = view_axes(np.array([style.direction()[0]]), style.direction()[1], False)
    screen = np.stack([right[0], up[0]]).T
    tangent = np.roll(knot, -1, 0) - knot
    kept = np.linalg.norm(tangent @ screen, axis=1) / np.linalg.norm(tangent, axis=1)
    s = np.linalg.svd((ring - ring.mean(0)) @ screen, compute_uv=False)
    assert kept.min() > 0.3 and s[1] / s[0] > 0.8, (kept.min(), s[1] / s[0])
    assert style.tube_radius > Style().tube_radius
    assert themed_style(preset, None, {"camera": "front"}).direction() == (-90.0, 0.0)
