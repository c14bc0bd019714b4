"""Point clouds drawn as points, and the decision of heads with three classes or more: the
drawing model's parts and overlays, the movie's frames and legend, the page's data."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from test_render import colour_share

from layerlapse.app import api
from layerlapse.draw.model import DrawModel, Kind
from layerlapse.draw.style import PALETTE, Style
from layerlapse.networks.stretch import tangent_frames
from layerlapse.render import render_frames, resolve_settings
from layerlapse.scenes.base import Cloud, Grid, Scene
from layerlapse.scenes.geometry import grid_lines


def blobs(dim: int, classes: int, n: int, *, images: tuple[int, int] | None = None, spread: float = 0.3,
          seed: int = 0) -> Scene:
    """``classes`` Gaussian blobs (``n`` points) in R^dim with a grid; ``images`` (h, w) per point."""
    rng = np.random.default_rng(seed)
    centres = 2.5 * np.stack([np.cos(2 * np.pi * np.arange(classes) / classes),
                              np.sin(2 * np.pi * np.arange(classes) / classes),
                              *([np.linspace(-1, 1, classes)] if dim == 3 else [])], 1)
    y = np.arange(n) % classes
    X = centres[y] + spread * rng.standard_normal((n, dim))
    lines = grid_lines(np.full(dim, -3.5), np.full(dim, 3.5), 5, 20)
    clouds = tuple(Cloud(c, X[y == c], None if images is None else rng.uniform(0, 1, ((y == c).sum(), *images)))
                   for c in range(classes))
    return Scene(name=f"blobs-{dim}d-{classes}", description="Gaussian blobs", dim=dim,
                 class_names=tuple(f"class {c}" for c in range(classes)), surfaces=(), curves=(),
                 grid=Grid(lines), samples=X, labels=y, clouds=clouds)


def prepared(scene: Scene, epochs: int = 30):
    return api.prepare(scene, network_config={"hidden": (scene.dim, scene.dim)}, training={"epochs": epochs},
                       progress=False)


@pytest.fixture(scope="module")
def flat4():
    scene = blobs(2, 4, 400, images=(8, 8), spread=1.0)
    p = prepared(scene)
    return scene, p.network, p.deform(fps=8, timeline={"seconds_per_stage": 0.5, "pause": 0.0})


@pytest.fixture(scope="module")
def solid10():
    scene = blobs(3, 10, 600)
    p = prepared(scene)
    return scene, p.network, p.deform(fps=8, timeline={"seconds_per_stage": 0.5, "pause": 0.0})


def test_a_cloud_is_a_points_part_of_its_class(flat4):
    scene, _, d = flat4
    model = DrawModel(scene, d, Style(), flat=True)
    points = [p for p in model.parts if p.kind is Kind.POINTS]
    assert [p.label for p in points] == [c.label for c in scene.clouds]
    _, slices = scene.points()
    for part, cloud, sl in zip(points, scene.clouds, slices):
        assert part.sl == sl and part.colour == PALETTE[cloud.label] and part.size > 0 and not part.heated
        assert np.array_equal(model.class_indices(cloud.label), np.arange(sl.start, sl.stop))
    # the stretch's grid tangents start after the clouds' points (they were read from the clouds' slots)
    grid_start = slices[-1].start
    assert min(idx.min() for idx, frames in tangent_frames(scene)) == grid_start


def test_many_classes_in_2d_show_the_argmax_regions_and_the_misclassified(flat4):
    scene, network, d = flat4
    model = DrawModel(scene, d, Style(), flat=True)
    assert model.decision is None and model.halos is None and model.regions is not None
    r = model.regions
    W, b = d.display_head(d.n_frames - 1)
    for j, i in ((0, 0), (len(r.ys) // 2, len(r.xs) // 3), (-1, -1)):  # the head's argmax at the cells
        assert r.classes[j, i] == np.argmax(W @ np.array([r.xs[i], r.ys[j]]) + b)
    assert set(np.unique(r.classes)) <= set(range(4)) and len(np.unique(r.classes)) >= 2
    wrong = (network.predict(scene.samples) != scene.labels).sum()
    assert wrong and model.misclassified is not None and len(model.misclassified.points) == wrong


def test_many_classes_in_3d_ring_every_point_in_its_predicted_class(solid10):
    scene, network, d = solid10
    model = DrawModel(scene, d, Style(), flat=False)
    assert model.decision is None and model.regions is None and model.halos is not None
    X = np.concatenate([c.points for c in scene.clouds])
    assert np.array_equal(model.halos.classes, network.predict(X))
    assert np.allclose(model.halos.points, d.display(np.array([d.n_frames - 1]))[0][: len(X)])
    assert model.misclassified is not None


def test_cloud_frames_show_every_class_and_the_regions(flat4):
    scene, _, d = flat4
    frames = list(render_frames(scene, d, resolve_settings("low", (426, 240), 8), style=Style(), progress=False))
    for label in range(4):
        assert colour_share(frames[0], PALETTE[label]) > 0.001, f"class {label} missing"
    last = frames[-1].astype(int)
    tinted = ((last.min(2) > 200) & (last.max(2) < 250) & (np.ptp(last, axis=2) > 8)).mean()
    first = frames[0].astype(int)
    assert tinted > 0.05 and tinted > 5 * ((first.min(2) > 200) & (first.max(2) < 250) & (np.ptp(first, axis=2) > 8)).mean()


def test_points_are_written_in_place(flat4):
    from layerlapse.draw.camera import CameraPath
    from layerlapse.render.view import SceneView

    scene, _, d = flat4
    camera = CameraPath.for_movie(d, fps=8, aspect=16 / 9, subset=scene.framed_points(), style=Style())
    view = SceneView(scene, d, camera, style=Style(), size=(320, 180))
    try:
        drawn = next(p for p in view.parts if p.kind is Kind.POINTS)
        array, mesh = drawn.points, drawn.mesh
        last = d.n_frames - 1
        positions = d.display(np.array([last]))[0]
        view.show_frame(last, positions)
        assert drawn.points is array and drawn.mesh is mesh
        assert np.allclose(np.asarray(mesh.points)[:, :2], positions[drawn.sl][:, :2])
        assert view.argmax is not None and view.argmax.image_actor.GetVisibility()
    finally:
        view.close()


@pytest.mark.parametrize("size", [(854, 480), (1280, 720)])
def test_ten_classes_take_two_legend_rows_in_the_bottom_band(solid10, size):
    from layerlapse.draw.camera import CameraPath
    from layerlapse.render.lens import CORNERS
    from layerlapse.render.view import SceneView

    scene, _, d = solid10
    camera = CameraPath.for_movie(d, fps=8, aspect=size[0] / size[1], subset=scene.framed_points(), style=Style())
    view = SceneView(scene, d, camera, style=Style(), size=size, title="blobs-3d-10 · 3-3-3-10 tanh")
    try:
        view.grab()
        renderer = view.plotter.renderer
        boxes = []
        for actor in view.words.legend_actors + [view.title_actor]:
            if hasattr(actor, "GetInput"):  # a name: where it stands, and its size
                box = [0.0] * 4
                actor.GetBoundingBox(renderer, box)
                x, y = actor.GetPositionCoordinate().GetComputedDisplayValue(renderer)
                boxes.append([x, x + box[1] - box[0], y, y + box[3] - box[2]])
            else:  # a swatch or ring: its points in the viewport
                pts = np.asarray(actor.GetMapper().GetInput().GetPoints().GetData())
                boxes.append([pts[:, 0].min() * size[0], pts[:, 0].max() * size[0], pts[:, 1].min() * size[1],
                              pts[:, 1].max() * size[1]])
        legend, title = np.array(boxes[:-1]), boxes[-1]
        rows = np.unique(np.round(legend[:, 2] / 4))
        assert len(rows) >= 2  # two rows (their swatches and names)
        # in the bottom band, under the zoom inset's lower corners
        assert legend[:, 3].max() <= CORNERS[0][1] * size[1] and legend[:, 2].min() >= 0
        assert legend[:, 0].min() >= 0 and legend[:, 1].max() <= size[0]
        assert legend[:, 0].min() > title[1], "the legend runs into the title"
        for a, b in itertools.combinations(legend, 2):  # no entry covers another
            assert a[1] <= b[0] + 0.5 or b[1] <= a[0] + 0.5 or a[3] <= b[2] + 0.5 or b[3] <= a[2] + 0.5, (a, b)
    finally:
        view.close()


def test_the_page_carries_points_images_and_regions(flat4):
    from layerlapse.web.page import build_page

    scene, _, d = flat4
    page = build_page(scene, d, style=Style(), title="blobs", accuracy=0.9)
    import json
    import re

    meta = json.loads(re.search(r'<script type="application/json" id="ll-meta">(.*?)</script>', page.html, re.S)
                      .group(1).replace("<\\/", "</"))
    points = [p for p in meta["parts"] if p["kind"] == "points"]
    assert len(points) == 4 and all(p["imageShape"] == [8, 8] and p["images"][1] == p["count"] * 64 for p in points)
    assert meta["regions"]["xs"][2] > 10 and meta["misclassified"] is not None and "halos" not in meta
    big = blobs(2, 4, 400, images=(40, 40), spread=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = build_page(big, d, style=Style(), title="blobs", accuracy=0.9)
    assert any("40x40 pixels, more than 32 a side" in str(w.message) for w in caught)
    assert '"imageShape"' not in page.html


@pytest.mark.slow
def test_hovering_a_point_shows_its_image(chromium, flat4, tmp_path):
    """In headless Chromium: the mouse moved onto a point (``#hover=LABEL:INDEX``) finds it by
    raycasting, and the small canvas shows that point's image (its grey levels' sum)."""
    import re

    from test_web import browse

    from layerlapse.web.page import build_page

    scene, _, d = flat4
    path = tmp_path / "blobs.html"
    path.write_text(build_page(scene, d, style=Style(), title="blobs", accuracy=0.9).html, encoding="utf-8")
    label, index = 2, 7
    dom = browse(chromium, path.resolve().as_uri() + f"#t=0.3&hover={label}:{index}", tmp_path / "profile",
                 "--dump-dom")
    assert re.search(r'<pre id="errors"[^>]*>\s*</pre>', dom), dom[-2000:]
    hit = re.search(r'data-hover="(\d+):(\d+)"', dom)
    assert hit, "no point found under the mouse"
    hit_label, hit_index = int(hit.group(1)), int(hit.group(2))
    shown = re.search(r'<div id="hover" data-sum="(\d+)"[^>]*display: block', dom)
    assert shown, "the hover image is not shown"
    image = scene.clouds[hit_label].images[hit_index]
    assert int(shown.group(1)) == int(np.round(255 * image).astype(np.uint8).astype(int).sum())
    # the point asked for, or one drawn on top of it
    at = d.display(np.array([0]))[0]
    _, slices = scene.points()
    here, there = at[slices[label]][index], at[slices[hit_label]][hit_index]
    assert (hit_label, hit_index) == (label, index) or np.linalg.norm(here - there) < 0.05


def test_dense_clouds_are_square_dots(flat4, monkeypatch):
    """Past ``ROUND_POINTS`` points the clouds are squares (a third of a lit sphere's cost)."""
    from layerlapse.draw import model as drawing

    scene, _, d = flat4
    assert all(p.round for p in DrawModel(scene, d, Style(), flat=True).parts if p.kind is Kind.POINTS)
    monkeypatch.setattr(drawing, "ROUND_POINTS", len(scene.samples) - 1)
    assert not any(p.round for p in DrawModel(scene, d, Style(), flat=True).parts if p.kind is Kind.POINTS)


@pytest.mark.display
def test_the_window_shows_and_hides_the_regions(xvfb, flat4):
    """In the window, the end shows the argmax regions; ``b`` hides them and the markers."""
    scene, network, _ = flat4
    viewer = api.show(scene, network=network, size=(480, 320), block=False)
    try:
        viewer.set_time(viewer.timeline.duration)
        image = viewer.view.argmax.image_actor
        assert image.GetVisibility() and viewer.view.markers is not None
        shown = viewer.screenshot()
        viewer.press("b")
        assert not image.GetVisibility()
        assert np.abs(viewer.screenshot().astype(int) - shown).mean() > 0.5
        viewer.press("b")
        assert image.GetVisibility()
    finally:
        viewer.close()


def test_a_saved_trajectory_labels_the_clouds(flat4, tmp_path):
    from layerlapse.app.trajectory import save_trajectory

    scene, _, d = flat4
    path = save_trajectory(tmp_path / "traj.npz", scene, d)
    with np.load(path) as data:
        kinds, labels = list(data["part_kind"]), list(data["part_label"])
    assert kinds == ["cloud"] * 4 + ["grid"] and labels == [0, 1, 2, 3, -1]
