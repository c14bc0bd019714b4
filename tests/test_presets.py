"""Presets pair geometry with defaults one level above the scenes; the network cache key
covers the geometry, the network and the training only; options are declared once."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
import pytest

from layerlapse import cli
from layerlapse.app import api
from layerlapse.app.presets import Preset
from layerlapse.app.scenefile import load_scene_file, resolve_scene
from layerlapse.errors import LayerlapseError
from layerlapse.networks.checkpoint import fingerprint
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.render.figure import default_sheet_stages

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_scenes_import_no_networks_and_no_rendering():
    for path in (ROOT / "layerlapse" / "scenes").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
        names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        bad = [n for n in names if n.startswith(("layerlapse.networks", "layerlapse.render", "layerlapse.app.presets",
                                                 "layerlapse.app.api", "torch"))]
        assert not bad, f"{path.name} imports {bad}"


def _key(preset: Preset) -> str:
    return fingerprint(preset.key, preset.network, preset.training)


def test_editing_style_or_timeline_of_a_scene_file_keeps_the_network(tmp_path):
    text = (EXAMPLES / "linked-tori-4d-dark.toml").read_text()
    path = tmp_path / "tori.toml"
    path.write_text(text)
    before = _key(load_scene_file(path))
    path.write_text(text.replace('background = "dark"', 'background = "white"').replace("pause = 0.3", "pause = 1.0"))
    edited = load_scene_file(path)
    assert edited.style["background"] == "white" and edited.timeline.pause == 1.0
    assert _key(edited) == before
    path.write_text(text.replace("minor_radius = 0.15", "minor_radius = 0.16"))
    assert _key(load_scene_file(path)) != before
    path.write_text(text.replace("seed = 1", "seed = 2"))
    assert _key(load_scene_file(path)) != before


@pytest.mark.slow  # meshes sampled twice: 6 s; the fast lane stays under 4 min on a busy 2-core machine
def test_a_mesh_scene_key_follows_the_mesh_content(tmp_path):
    shutil.copytree(EXAMPLES / "meshes", tmp_path / "meshes")
    shutil.copy(EXAMPLES / "my-meshes.toml", tmp_path / "my-meshes.toml")
    before = load_scene_file(tmp_path / "my-meshes.toml").key
    assert "meshes" in before["geometry"] and "style" not in str(before)
    mesh = next(p for p in (tmp_path / "meshes").iterdir() if p.suffix == ".obj")
    mesh.write_text(mesh.read_text() + "\n# edited\n")
    assert load_scene_file(tmp_path / "my-meshes.toml").key != before


def test_the_command_line_background_wins_over_the_scene_files():
    preset = load_scene_file(EXAMPLES / "linked-tori-4d-dark.toml")
    style = cli.make_style(preset, background="white")
    assert style.background.lower() in ("white", "#ffffff")
    assert cli.make_style(preset).background != style.background  # the file's dark stays the default


def test_a_python_scene_file_resolves_again_and_renders_a_figure(tmp_path):
    first = resolve_scene(str(EXAMPLES / "my_scene.py"))
    again = resolve_scene(str(EXAMPLES / "my_scene.py"))
    assert first.name == again.name == "nested-squares"
    path = api.figure(str(EXAMPLES / "my_scene.py"), tmp_path / "squares.png", size=(120, 90), supersample=1,
                      training={"epochs": 2}, progress=False)
    assert path.exists()


def test_sheet_panels_end_each_layer_even_when_it_narrows():
    rng = np.random.default_rng(0)
    hidden = [Layer(rng.normal(size=(4, 3)), rng.normal(size=4), "tanh"),
              Layer(rng.normal(size=(2, 4)), rng.normal(size=2), "tanh")]
    plan = orient_layers(hidden, Layer(rng.normal(size=(2, 2)), np.zeros(2), None))
    assert "layer2.project" in [s.name for s in plan.stages()]
    d = Deformation(plan, Timeline.build(plan.stages(), TimelineConfig(), 10), rng.normal(size=(5, 3)))
    assert default_sheet_stages(d) == ["input", "layer1.tanh", "output"]
    assert d.timeline.layer_ends() == ["layer1.tanh", "layer2.tanh"]


def test_prepare_once_then_every_function_takes_it(tmp_path):
    tiny = api.load_scene("spirals", points_per_curve=20, samples_per_class=40, grid_lines=2)
    prepared = api.prepare(tiny, training={"epochs": 1}, progress=False)
    assert api.prepare(prepared) is prepared
    assert api.prepare(prepared, progress=False) is prepared  # what notebook() passes
    fig = api.figure(prepared, tmp_path / "f.png", size=(80, 60), supersample=1)
    assert fig.exists()
    with pytest.raises(LayerlapseError, match="give either network= or model="):
        api.prepare(tiny, network=prepared.network, model=object())
    with pytest.raises(LayerlapseError, match="network: a given network is used as it is"):
        api.prepare(tiny, network=prepared.network, network_config={"hidden": (3,)})


def test_shared_options_are_declared_once_and_reach_every_command():
    from typer.main import get_command

    commands = get_command(cli.app).commands
    shared = {"checkpoint", "model", "arch", "retrain", "epochs", "restarts", "seed", "hidden", "activation", "head", "k",
              "progress"}
    for name in ("render", "figure", "export", "show"):
        options = {p.name for p in commands[name].params}
        assert shared <= options, (name, shared - options)
    for name in ("render", "figure", "show"):
        assert {"camera", "grid", "background", "colors"} <= {p.name for p in commands[name].params}
    source = "".join(p.read_text() for p in (ROOT / "layerlapse" / "cli").glob("*.py"))
    assert source.count("epochs: EpochsOpt") == 2  # the training group, and the reproduce command


def test_a_converted_model_saves_and_loads_as_a_checkpoint(tmp_path):
    import torch
    from torch import nn

    from layerlapse.networks.checkpoint import load_network, save_network

    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).eval()
    scene = api.load_scene("disk-annulus-lift", resolution=12, samples_per_class=30, grid_lines=2)
    prepared = api.prepare(scene, model=model)
    assert prepared.network.training is None and prepared.network.accuracy is not None
    path = save_network(prepared.network, tmp_path / "mine.pt")
    loaded = load_network(path, scene_key=scene.key)
    assert loaded.training is None and loaded.accuracy == prepared.network.accuracy
    X = scene.samples[:20]
    np.testing.assert_array_equal(loaded.predict(X), model(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy())


def test_ll_render_stays_the_function_after_the_render_package_is_imported():
    import importlib

    import layerlapse as ll

    importlib.import_module("layerlapse.render.encoder")  # what any render does
    from layerlapse.render import Style  # as the README shows

    assert callable(ll.render) and ll.render is api.render and Style.__name__ == "Style"


def test_sizes_as_text_or_pairs_and_a_model_with_a_checkpoint(tmp_path):
    from torch import nn

    from layerlapse.render.movie import pixel_size

    assert pixel_size("320x180") == pixel_size((320, 180)) == (320, 180)
    for bad in ("big", (1.5, 2), (1, 2, 3), None):
        with pytest.raises(LayerlapseError, match=r"^size: "):
            pixel_size(bad)
    tiny = api.load_scene("disk-annulus-lift", resolution=12, samples_per_class=30, grid_lines=2)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    with pytest.raises(LayerlapseError, match="checkpoint: a given model is neither loaded from nor saved"):
        api.render(tiny, tmp_path / "m.mp4", model=model, checkpoint=tmp_path / "ck.pt")
    out = api.render(tiny, tmp_path / "m.mp4", model=model, size="96x64", fps=4, seconds_per_stage=0.2,
                     progress=False)
    assert out.path.exists()
