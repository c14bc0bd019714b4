"""Every preset builds, trains a tiny network and renders; scene files, meshes, Python scenes;
the training clock; `reproduce` on a reduced setting."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import trimesh
from conftest import cached_networks

from layerlapse.app import api
from layerlapse.app.presets import SCENES, scene_names
from layerlapse.app.scenefile import load_scene_file, resolve_scene
from layerlapse.draw.style import OKABE_ITO
from layerlapse.errors import LayerlapseError
from layerlapse.render import Style, render_frames, resolve_settings

TINY = {
    "two-curves": dict(points_per_curve=40, samples_per_class=60),
    "grid-only": dict(grid_lines=5),
    "spirals": dict(points_per_curve=40, samples_per_class=60),
    "spirals-tangled": dict(points_per_curve=40, samples_per_class=60),
    "disk-annulus": dict(resolution=16, samples_per_class=60),
    "disk-annulus-lift": dict(resolution=16, samples_per_class=60),
    "line-segments": dict(points_per_segment=10, samples_per_class=60),
    "linked-tori": dict(resolution=16, samples_per_class=60, grid_lines=2),
    "linked-tori-4d": dict(resolution=16, samples_per_class=60, grid_lines=2),
    "linked-tori-flow": dict(resolution=16, samples_per_class=60, grid_lines=2),
    "linked-tori-flow-4d": dict(resolution=16, samples_per_class=60, grid_lines=2),
    "unlink": dict(points_per_curve=40, samples_per_class=60, grid_lines=2),
    "easy-way-out": dict(points_per_curve=40, samples_per_class=60, grid_lines=2),
    "sphere-shell": dict(subdivisions=1, samples_per_class=60, grid_lines=2),
    "sphere-shell-4d": dict(subdivisions=1, samples_per_class=60, grid_lines=2),
    "trefoil": dict(points_per_curve=40, samples_per_class=60, grid_lines=2),
}
FAST = dict(epochs=2, restarts=1)


def class_pixels(img, hex_colour, tol=0.17):
    """Pixels whose chromaticity (colour with brightness divided out) is the class colour's:
    lit and shaded surfaces count, and so does a class seen through the lightly tinted
    decision plane; the tinted decision sides, greys and the other class do not."""
    px = img.reshape(-1, 3).astype(float)
    total = px.sum(1)
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    ok = total > 40
    return int((np.abs(px[ok] / total[ok, None] - target / target.sum()).max(1) < tol).sum())


def test_every_preset_is_listed_with_a_description():
    assert set(TINY) <= set(scene_names())
    for name in TINY:
        assert len(SCENES[name].description) > 20


@pytest.mark.parametrize("name", sorted(TINY))
def test_preset_builds_trains_and_renders(name):
    scene = api.load_scene(name, **TINY[name])
    assert scene.samples.shape == (len(scene.labels), scene.dim)
    net = api.get_network(scene, training=FAST, progress=False)
    d = api.deform(scene, net, fps=4, timeline={"seconds_per_stage": 0.5, "pause": 0, "hold_start": 0.25, "hold_end": 0.5})
    frames = list(render_frames(scene, d, resolve_settings("low", (256, 192), 4), style=Style(), progress=False))
    assert len(frames) == d.n_frames
    assert all(f.std() > 3 for f in frames)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 0.3
    if scene.class_names:  # both classes are visible in every frame, however squashed
        for i, f in enumerate(frames):
            for colour in OKABE_ITO[:2]:
                assert class_pixels(f, colour) >= 4, (i, d.timeline.label(i), colour)
    # frames never jump, also across width changes and projections to 3-D (at 30 fps)
    d30 = api.deform(scene, net, fps=30, timeline={"seconds_per_stage": 1.0})
    P = d30.display(np.arange(d30.n_frames))
    step = np.linalg.norm(np.diff(P, axis=0), axis=2).max()
    assert step < 0.25 * max(np.abs(P).max(), 1.0), step


def test_grid_only_uses_its_fixed_layer():
    scene = api.load_scene("grid-only")
    net = api.get_network(scene, progress=False)
    assert net.accuracy is None
    np.testing.assert_allclose(net.model.hidden[0].weight.detach().numpy(), [[1.6, 0.9], [-0.7, 1.4]], atol=1e-6)
    assert not cached_networks(Path.cwd(), "grid-only")  # nothing trained or saved


def test_width_four_tori_are_projected_continuously():
    scene = api.load_scene("linked-tori-4d", **TINY["linked-tori-4d"])
    d = api.deform(scene, api.get_network(scene, training=FAST, progress=False), fps=30)
    assert d.dim == 4
    np.testing.assert_array_equal(d.display(np.array([0]))[0], scene.points()[0].astype(np.float32))
    P = d.projection(np.arange(d.n_frames))
    assert np.abs(np.diff(P, axis=0)).max() < 0.1


def test_hidden_override_and_no_hidden_layer():
    scene = api.load_scene("two-curves", **TINY["two-curves"])
    net = api.train_network(scene, network={"hidden": ()}, training=FAST, progress=False)
    d = api.deform(scene, net, fps=4)
    assert d.timeline.stage_names == ("input", "output")
    assert d.n_frames > 0


# --- scene files ------------------------------------------------------------------------

def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_scene_file_sets_everything(tmp_path):
    path = write(tmp_path, """
family = "spirals"
description = "mine"
[params]
turns = 1.0
points_per_curve = 30
samples_per_class = 50
[network]
hidden = [2, 2]
[training]
epochs = 2
[timeline]
seconds_per_stage = 0.4
[style]
background = "dark"
camera = "top"
""")
    scene = load_scene_file(path)
    assert scene.name == "s" and scene.description == "mine"
    assert scene.network.hidden == (2, 2) and scene.training.epochs == 2 and scene.timeline.seconds_per_stage == 0.4
    assert scene.style == {"background": "dark", "camera": "top"}
    res = api.render(path.as_posix(), tmp_path / "m.mp4", size=(64, 48), fps=4, progress=False)
    assert res.path.exists() and res.network.config.hidden == (2, 2)


@pytest.mark.parametrize(("text", "message"), [
    ('family = "spirals"\ncolour = "red"', "colour: Extra inputs are not permitted"),
    ('family = "spirals"\n[params]\nturns = "many"', "params.turns: Input should be a valid number"),
    ('family = "spirals"\n[params]\nturns = -1', "params.turns: Input should be greater than 0 (got -1)"),
    ('family = "spirals"\n[network]\nactivation = "swish"', "network.activation: unknown activation 'swish'; allowed: tanh, sigmoid"),
    ('family = "spirals"\n[training]\nepochs = 0', "training.epochs: Input should be greater than or equal to 1"),
    ('family = "spirals"\n[timeline]\neasing = "bouncy"', "timeline.easing: Input should be 'smoothstep', 'smootherstep' or 'linear'"),
    ('family = "spirals"\n[style]\nbackground = "nope"', "style.background: 'nope' is not a colour"),
    ('family = "spiralz"', "unknown family 'spiralz'; allowed: digits, disk-annulus"),
    ('description = "nothing"', "give either family"),
    ('family = "spirals"\nmeshes = [{path = "a.ply", label = "a"}, {path = "b.ply", label = "b"}]', "not both or neither"),
    ('family = "spirals"\n[params', "not valid TOML"),
])
def test_scene_file_errors_name_file_and_field(tmp_path, text, message):
    path = write(tmp_path, text, "bad.toml")
    with pytest.raises(LayerlapseError) as info:
        load_scene_file(path)
    assert f"scene file {str(path)!r}" in str(info.value) and message in str(info.value), str(info.value)


def mesh_file(tmp_path, name, mesh):
    mesh.export(tmp_path / name)
    return name


def meshes_toml(tmp_path, a, b, extra=""):
    return write(tmp_path, f"""
samples_per_class = 80
{extra}
[[meshes]]
path = "{a}"
label = "first"
[[meshes]]
path = "{b}"
label = "second"
[training]
epochs = 2
""", "meshes.toml")


def test_mesh_scene_samples_inside_watertight_meshes(tmp_path):
    a = mesh_file(tmp_path, "ball.ply", trimesh.creation.icosphere(subdivisions=1, radius=0.5))
    b = mesh_file(tmp_path, "ring.obj", trimesh.creation.torus(1.5, 0.3, major_sections=24, minor_sections=8))
    scene = load_scene_file(meshes_toml(tmp_path, a, b))
    assert scene.class_names == ("first", "second") and scene.dim == 3
    assert np.abs(scene.samples).max() <= 1.0 + 1e-9  # normalised into [-1, 1]^3
    ball = scene.samples[scene.labels == 0]
    centre = scene.surfaces[0].vertices.mean(0)
    radius = np.linalg.norm(scene.surfaces[0].vertices - centre, axis=1).max()
    assert (np.linalg.norm(ball - centre, axis=1) < radius + 1e-9).all()  # inside, not just on
    assert np.linalg.norm(ball - centre, axis=1).min() < 0.5 * radius
    res = api.render(scene, tmp_path / "m.mp4", size=(64, 48), fps=4, seconds_per_stage=0.2, progress=False)
    assert res.path.exists()


def test_mesh_problems_are_clear(tmp_path):
    good = mesh_file(tmp_path, "ball.ply", trimesh.creation.icosphere(subdivisions=1))
    sheet = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], [[0, 1, 2], [1, 3, 2]])
    open_mesh = mesh_file(tmp_path, "sheet.ply", sheet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = load_scene_file(meshes_toml(tmp_path, good, open_mesh))
    assert any("not a closed manifold" in str(w.message) for w in caught)
    assert (np.abs(scene.samples[scene.labels == 1][:, 2] - scene.surfaces[1].vertices[0, 2]) < 1e-9).all()
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 nan\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(LayerlapseError, match=r"meshes\[1\]\.path 'nan.obj': the mesh has NaN or Inf coordinates"):
        load_scene_file(meshes_toml(tmp_path, good, "nan.obj"))
    (tmp_path / "empty.obj").write_text("v 0 0 0\nv 1 0 0\n")
    with pytest.raises(LayerlapseError, match=r"meshes\[1\]\.path"):
        load_scene_file(meshes_toml(tmp_path, good, "empty.obj"))
    with pytest.raises(LayerlapseError, match=r"meshes\[1\]\.path: 'missing.ply' does not exist"):
        load_scene_file(meshes_toml(tmp_path, good, "missing.ply"))
    with pytest.raises(LayerlapseError, match=r"is not a mesh file; allowed: \.ply"):
        load_scene_file(meshes_toml(tmp_path, good, "notes.txt"))


def test_huge_mesh_is_refused(tmp_path, monkeypatch):
    from layerlapse.scenes import meshes

    monkeypatch.setattr(meshes, "MAX_FACES", 50)
    good = mesh_file(tmp_path, "ball.ply", trimesh.creation.icosphere(subdivisions=2))
    with pytest.raises(LayerlapseError, match="triangles, more than 50; simplify it"):
        load_scene_file(meshes_toml(tmp_path, good, good))


def test_shipped_examples_load():
    from pathlib import Path

    root = Path(__file__).parent.parent / "examples"
    for toml in sorted(root.glob("*.toml")):
        if toml.stem.endswith("-sweep"):  # a sweep file (layerlapse batch), not a scene
            from layerlapse.batch import read_sweep

            assert len(read_sweep(toml)) == 4
            continue
        scene = load_scene_file(toml)
        assert len(scene.samples) > 0, toml
    scene = resolve_scene(str(root / "my_scene.py"))
    assert scene.name == "nested-squares" and scene.dim == 2
    assert resolve_scene(f"{root / 'my_scene.py'}:nested-squares", gap=0.2).key["params"]["gap"] == 0.2


# --- the training clock -------------------------------------------------------------------

def test_training_clock(tmp_path):
    scene = api.load_scene("disk-annulus", **TINY["disk-annulus"])
    res = api.render(scene, tmp_path / "t.mp4", over="training", seconds=2, fps=6, size=(96, 64),
                     training={"epochs": 30}, progress=False)
    movie = res.deformation
    assert movie.n_frames == 12
    assert movie.timeline.label(0).startswith("training \u00b7 step 0")
    assert "epoch 30" in movie.timeline.label(movie.n_frames - 1)
    assert not np.allclose(movie.positions[0], movie.positions[-1])
    heads = [movie.display_head(i)[0] for i in (0, movie.n_frames - 1)]
    assert not np.allclose(*heads)  # the boundary moves with training
    with pytest.raises(LayerlapseError, match="at most 3 dimensions"):
        api.render(api.load_scene("linked-tori-4d", **TINY["linked-tori-4d"]), tmp_path / "x.mp4", over="training",
                   progress=False)
    with pytest.raises(LayerlapseError, match="over: unknown value 'time'; allowed: depth, training"):
        api.render(scene, tmp_path / "x.mp4", over="time", progress=False)


# --- reproduce ----------------------------------------------------------------------------

@pytest.mark.slow  # a sweep on a real Dask cluster
def test_reproduce_reduced(tmp_path):
    from layerlapse.batch.reproduce import CLAIMS, run

    results = run(tmp_path / "r", seeds=1, epochs=2, scene_params=TINY, figure_size=(120, 90), progress=False)
    assert [r.scene for r in results] == [c.scene for c in CLAIMS]
    table = (tmp_path / "r" / "results.md").read_text()
    assert table.count("\n") == len(CLAIMS) + 2 and "| disk in annulus | `disk-annulus` | 2-2-2-2-2 tanh |" in table
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    assert len(data) == len(CLAIMS) and all(0 <= d["best"] <= 1 for d in data)
    for r in results:
        assert (tmp_path / "r" / r.figure).exists()
