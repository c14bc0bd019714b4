"""Closed meshes inside or across one another (a sphere in a sphere): no point may carry two
labels. The outer becomes a shell around the inner, overlapping meshes keep out of each
other, each with a one-line notice."""

import warnings

import numpy as np
import trimesh

from layerlapse.app.scenefile import load_scene_file


def two_spheres(tmp_path, inner_centre, inner_radius=0.5):
    trimesh.creation.icosphere(subdivisions=2, radius=1.0).export(tmp_path / "outer.ply")
    ball = trimesh.creation.icosphere(subdivisions=2, radius=inner_radius)
    ball.apply_translation(inner_centre)
    ball.export(tmp_path / "inner.ply")
    (tmp_path / "nested.toml").write_text("""
samples_per_class = 200
normalize = false
[[meshes]]
path = "outer.ply"
label = "outer"
[[meshes]]
path = "inner.ply"
label = "inner"
""")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = load_scene_file(tmp_path / "nested.toml")
    return scene, [str(w.message) for w in caught if str(w.message).startswith("meshes:")]


def test_a_sphere_inside_a_sphere_makes_the_outer_a_shell(tmp_path):
    scene, notes = two_spheres(tmp_path, (0, 0, 0))
    radius = np.linalg.norm(scene.samples, axis=1)
    outer, inner = radius[scene.labels == 0], radius[scene.labels == 1]
    assert len(outer) == len(inner) == 200
    assert inner.max() < 0.5 and outer.min() > 0.45 and outer.max() < 1.0  # no outer sample inside the inner ball
    assert notes == ["meshes: 'inner' lies inside 'outer'; 'outer' is taken as a shell around it (its samples only "
                     "outside 'inner'), so no point carries both labels"]


def test_overlapping_spheres_keep_out_of_each_other(tmp_path):
    scene, notes = two_spheres(tmp_path, (1.0, 0, 0), inner_radius=0.6)
    outer, inner = scene.samples[scene.labels == 0], scene.samples[scene.labels == 1]
    assert (np.linalg.norm(outer - [1.0, 0, 0], axis=1) > 0.57).all()  # icosphere facets lie within 5% of the radius
    assert (np.linalg.norm(inner, axis=1) > 0.95).all()
    assert len(notes) == 1 and "'outer' and 'inner' overlap" in notes[0] and "no point carries both labels" in notes[0]


def test_apart_meshes_give_no_notice(tmp_path):
    scene, notes = two_spheres(tmp_path, (3.0, 0, 0))
    assert notes == [] and (np.linalg.norm(scene.samples[scene.labels == 0], axis=1) < 1.0).all()


def test_meshes_filling_the_same_space_get_a_notice(tmp_path):
    scene, notes = two_spheres(tmp_path, (0, 0, 0), inner_radius=1.0)
    assert len(scene.samples) == 400
    assert len(notes) == 1 and "'outer' and 'inner' fill the same space, so their samples carry both labels" in notes[0]
