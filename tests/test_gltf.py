"""export --animate: one .glb whose meshes carry the deformation as morph targets and whose
animation plays them over the movie's timeline; loaded back with pygltflib, its positions at
every keyframe time are the deformation's, and between keyframes the web page's interpolation."""

from __future__ import annotations

import numpy as np
import pygltflib
import pytest
from typer.testing import CliRunner

from layerlapse.app import api
from layerlapse.cli import app
from layerlapse.render import Style
from layerlapse.web import data as webdata
from layerlapse.web.gltf import write_animated_glb


def array(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    dtype = {pygltflib.FLOAT: np.float32, pygltflib.UNSIGNED_INT: np.uint32}[acc.componentType]
    width = {"SCALAR": 1, "VEC3": 3}[acc.type]
    raw = gltf.binary_blob()[view.byteOffset + (acc.byteOffset or 0):][: acc.count * width * 4]
    return np.frombuffer(raw, dtype=dtype).reshape(acc.count, width) if width > 1 else np.frombuffer(raw, dtype=dtype)


def at_time(gltf: pygltflib.GLTF2, node: int, t: float) -> np.ndarray:
    """A node's positions at time t, as a glTF player computes them (linear weights)."""
    mesh = gltf.meshes[gltf.nodes[node].mesh]
    prim = mesh.primitives[0]
    channel = next(c for c in gltf.animations[0].channels if c.target.node == node)
    sampler = gltf.animations[0].samplers[channel.sampler]
    times = array(gltf, sampler.input)
    w = array(gltf, sampler.output).reshape(len(times), -1)
    weights = np.array([np.interp(t, times, w[:, j]) for j in range(w.shape[1])])
    base = array(gltf, prim.attributes.POSITION).astype(float)
    return base + sum(wj * array(gltf, target["POSITION"]) for wj, target in zip(weights, prim.targets))


@pytest.fixture(scope="module")
def made(tiny_tori, tmp_path_factory):
    scene, net = tiny_tori
    d = api.deform(scene, net, fps=8, timeline={"seconds_per_stage": 0.5, "pause": 0.25, "hold_start": 0.25,
                                                 "hold_end": 0.5})
    path = tmp_path_factory.mktemp("glb") / "tori.glb"
    return scene, d, write_animated_glb(path, scene, d, style=Style(), keyframes=4)


def test_the_glb_holds_morph_targets_an_animation_and_class_materials(made):
    _, d, result = made
    gltf = pygltflib.GLTF2().load(str(result.path))
    K = len(result.frames)
    assert K > 3 and result.frames[0] == 0 and result.frames[-1] == d.n_frames - 1
    assert [gltf.nodes[n].name for n in gltf.scenes[0].nodes] == ["torus_A_surface_1", "torus_B_surface_2", "grid"]
    for mesh in gltf.meshes:
        assert len(mesh.primitives[0].targets) == K - 1
    (animation,) = gltf.animations
    assert len(animation.channels) == 3 and {c.target.path for c in animation.channels} == {"weights"}
    for sampler in animation.samplers:
        assert sampler.interpolation == "LINEAR"
        assert np.allclose(array(gltf, sampler.input), result.frames / d.timeline.fps)
        assert array(gltf, sampler.output).size == K * (K - 1)
    colours = [m.pbrMetallicRoughness.baseColorFactor for m in gltf.materials[:2]]
    assert colours[0] != colours[1] and all(c[3] == 1.0 for c in colours)
    assert [m.name for m in gltf.materials] == ["torus A", "torus B", "grid"]
    assert gltf.meshes[2].primitives[0].mode == pygltflib.LINES


def test_positions_at_keyframes_are_the_deformations_and_between_them_the_pages(made):
    scene, d, result = made
    gltf = pygltflib.GLTF2().load(str(result.path))
    _, slices = scene.points()
    keys = webdata.select_keyframes(d, max_per_stage=4)
    for k in (0, len(result.frames) // 2, len(result.frames) - 1):
        exact = d.display(np.array([result.frames[k]]))[0, slices[0]]
        assert np.allclose(at_time(gltf, 0, float(result.times[k])), exact, atol=1e-4)
    f = int((result.frames[1] + result.frames[2]) // 2)  # between keyframes: the page's interpolation
    page = webdata.interpolate(keys.frames, keys.positions, np.array([f]))[0, slices[0]]
    assert np.allclose(at_time(gltf, 0, f / d.timeline.fps), page, atol=1e-4)


def test_the_command_writes_one_animated_glb_and_refuses_other_formats(tmp_path):
    r = CliRunner().invoke(app, ["export", "two-curves", "--animate", "--keyframes", "2", "-o", "curves.glb"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("wrote curves.glb (") and "keyframes over" in r.stdout
    gltf = pygltflib.GLTF2().load(str(tmp_path / "curves.glb"))
    assert gltf.animations and all(m.primitives[0].targets for m in gltf.meshes)
    r = CliRunner().invoke(app, ["export", "two-curves", "--animate", "-o", "curves.ply"])
    assert r.exit_code == 2 and r.stderr.strip() == "error: out: an animated export is one .glb; 'curves.ply' is not"
    r = CliRunner().invoke(app, ["export", "two-curves", "--animate", "--keyframes", "0", "-o", "c.glb"])
    assert r.exit_code == 2 and "keyframes: 0 is out of range; allowed: 1 to 256 per stage" in r.stderr
    assert not (tmp_path / "c.glb").exists()
