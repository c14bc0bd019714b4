"""Deformed meshes reload in trimesh with the same vertices, coloured by class."""

import numpy as np
import pytest
import trimesh
from conftest import TINY_SPIRALS, TINY_TRAINING

from layerlapse.app import api
from layerlapse.draw.style import OKABE_ITO
from layerlapse.errors import LayerlapseError


@pytest.fixture(scope="module")
def tori(tiny_tori):
    scene, net = tiny_tori
    return scene, net, api.deform(scene, net)


@pytest.mark.parametrize("ext", [".ply", ".obj", ".glb"])
def test_meshes_reload_with_deformed_coordinates(tori, tmp_path, ext):
    scene, net, d = tori
    files = api.export_meshes(scene, tmp_path / f"m{ext}", at=["input", "layer2.tanh:0.5"], network=net)
    assert [f.name for f in files] == [f"m-input{ext}", f"m-layer2.tanh_0.5{ext}"]
    n = sum(len(s.vertices) for s in scene.surfaces)
    expected = d.display_at(5, 0.5)[:n]
    loaded = trimesh.load(files[1], process=False, force="mesh")
    assert len(loaded.vertices) == n
    np.testing.assert_allclose(np.sort(loaded.vertices, axis=0), np.sort(expected, axis=0), atol=1e-5)
    if ext != ".obj":  # OBJ vertex order is kept too; PLY/GLB also keep colours
        colours = {tuple(c[:3]) for c in np.asarray(loaded.visual.vertex_colors)}
        blue = tuple(int(OKABE_ITO[0][i : i + 2], 16) for i in (1, 3, 5))
        assert blue in colours


def test_ply_keeps_vertex_order(tori, tmp_path):
    scene, net, d = tori
    (f,) = api.export_meshes(scene, tmp_path / "o.ply", at=["output"], network=net)
    loaded = trimesh.load(f, process=False)
    n = len(loaded.vertices)
    np.testing.assert_allclose(loaded.vertices, d.display_at(8, 1.0)[:n], atol=1e-5)


def test_curves_export_as_tubes(tmp_path):
    scene = api.load_scene("spirals", **TINY_SPIRALS)
    net = api.train_network(scene, training=TINY_TRAINING, progress=False)
    (f,) = api.export_meshes(scene, tmp_path / "s.glb", at=["input"], network=net)
    loaded = trimesh.load(f)
    assert len(loaded.geometry) == 2  # one object per curve
    for mesh in loaded.geometry.values():
        assert mesh.is_watertight  # closed tubes with end caps


def test_export_errors(tori, tmp_path):
    scene, net, _ = tori
    with pytest.raises(LayerlapseError, match=r"allowed: \.ply, \.obj, \.glb"):
        api.export_meshes(scene, tmp_path / "m.stl", network=net)
    with pytest.raises(LayerlapseError, match=r"unknown stage 'layer9.linear'"):
        api.export_meshes(scene, tmp_path / "m.ply", at=["input", "layer9.linear"], network=net)
    assert list(tmp_path.iterdir()) == []
