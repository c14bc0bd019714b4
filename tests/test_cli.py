"""The `layerlapse` command end to end on a tiny setting, and its bad-input errors.

Commands run in-process through typer's CliRunner (one subprocess check in
tests/test_window.py covers the installed entry point)."""

from dataclasses import dataclass

import numpy as np
import pytest
from conftest import cached_networks
from typer.testing import CliRunner

from layerlapse.cli import app

TINY = ["--set", "resolution=12", "--set", "samples_per_class=100", "--set", "grid_lines=2", "--epochs", "2"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run(*args):
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def test_help_and_scenes():
    r = run("--help")
    assert r.returncode == 0 and "render" in r.stdout and "scenes" in r.stdout
    r = run("render", "--help")
    assert r.returncode == 0 and "--quality" in r.stdout and "--save-trajectory" in r.stdout
    r = run("scenes")
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and any(line.startswith("linked-tori ") for line in lines)
    assert all(len(line.split()) > 2 for line in lines)


def test_version_is_in_one_place():
    import importlib.metadata
    import re
    from pathlib import Path

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    import layerlapse

    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"layerlapse {layerlapse.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", layerlapse.__version__)
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "layerlapse._version.__version__"}
    assert importlib.metadata.version("layerlapse") == layerlapse.__version__  # the installed metadata


def test_render_end_to_end(tmp_path):
    r = run("render", "linked-tori", *TINY, "--size", "128x72", "--fps", "6", "--seconds-per-stage", "0.3",
            "--no-progress", "--save-trajectory", "traj.npz")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "outputs" / "linked-tori" / "linked-tori.mp4"
    assert out.exists() and out.stat().st_size > 1000
    assert "accuracy" in r.stdout and f"wrote {out.relative_to(tmp_path)}" in r.stdout
    assert np.load(tmp_path / "traj.npz")["positions"].shape[2] == 3
    checkpoints = cached_networks(tmp_path, "linked-tori")
    assert len(checkpoints) == 1
    # a second render reuses the checkpoint instead of training
    r = run("render", "linked-tori", *TINY, "--size", "64x48", "--fps", "4", "--seconds-per-stage", "0.2",
            "-o", "again.mp4", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "train" not in r.stderr and (tmp_path / "again.mp4").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "nope"], "error: scene: unknown scene 'nope'; known scenes: digits, disk-annulus, disk-annulus-lift"),
        (["render", "spirals", "--size", "0x100"], "error: size: 0x100 is not positive"),
        (["render", "spirals", "--size", "big"], "error: size: 'big' is not WIDTHxHEIGHT"),
        (["render", "spirals", "-o", "blocker/x.mp4"], "error: out: cannot write to folder 'blocker'"),
        (["render", "spirals", "-o", "x.avi"], "error: out: unknown format '.avi' of 'x.avi'; allowed: .mp4, .webm, .gif, a folder (PNG frames)"),
        (["render", "spirals", "--background", "blurple"], "error: style.background: 'blurple' is not a colour"),
        (["render", "spirals", "--camera", "side"], "error: camera: unknown value 'side'; allowed: iso, front, top, follow, still"),
        (["render", "spirals", "--grid", "dots"], "error: style.grid: Input should be 'auto', 'full', 'box' or 'none'"),
        (["figure", "spirals", "--at", "layer9.tanh"], "error: at: unknown stage 'layer9.tanh'; stages: input, layer1.linear"),
        (["figure", "spirals", "-o", "f.jpg"], "error: out: unknown figure format '.jpg' of 'f.jpg'; allowed: .png, .pdf, .svg, .eps"),
        (["figure", "spirals", "--size", "9000x9000"], "larger than the renderer allows (16384)"),
        (["export", "spirals", "-o", "m.stl"], "error: out: unknown mesh format '.stl' of 'm.stl'; allowed: .ply, .obj, .glb"),
        (["render", "spirals", "--set", "turns=-2"], "error: scene 'spirals': turns: Input should be greater than 0"),
        (["render", "spirals", "--set", "colour=red"], "error: scene 'spirals': colour: Extra inputs are not permitted"),
        (["render", "spirals", "--epochs", "0"], "error: training.epochs: Input should be greater than or equal to 1"),
        (["render", "spirals", "--checkpoint", "junk.pt"], "error: checkpoint: 'junk.pt' is not a loadable layerlapse checkpoint"),
        (["render", "spirals", "--quality", "ultra"], "error: quality: unknown value 'ultra'; allowed: low, medium, high"),
        (["render", "spirals", "--linear-path", "zigzag"], "error: linear_path: unknown value 'zigzag'; allowed: polar, straight"),
        (["render", "two-curves", "--hidden", "none", "--head", "knn"], "error: network: a k-NN head needs a hidden layer or a flow"),
        (["render", "spirals", "--k", "3"], "error: k: 3 is read by a k-NN head only; add --head knn"),
        (["render", "spirals", "--activation", "tanh,relu,tanh"], "error: network: 3 activations for 4 hidden layers; give one for all layers or one per layer"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    r = run(*args)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "outputs" / "spirals" / "spirals.mp4").exists()


@pytest.mark.parametrize(("args", "line"), [
    (["render", "spirals", "--qualty", "low"],
     "error: No such option: --qualty (Possible options: --out, --quality) (see 'layerlapse render --help')"),
    (["rendr"], "error: No such command 'rendr'. Did you mean 'render'? (see 'layerlapse --help')"),
    (["render"], "error: Missing argument 'scene'. (see 'layerlapse render --help')"),
    (["render", "spirals", "--epochs", "abc"], "error: Invalid value for '--epochs': Input should be a valid integer, "
     "unable to parse string as an integer (see 'layerlapse render --help')"),
])
def test_usage_errors_are_one_line_too(args, line):
    r = run(*args)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [line] and r.stdout == ""


def test_help_and_exit_codes_are_kept():
    assert run("--help").returncode == 0
    bare = run()  # a bare command shows its help, as before
    assert bare.returncode == 2 and "Commands" in bare.stdout + bare.stderr


def test_figure_export_and_formats_end_to_end(tmp_path):
    tiny = ["--set", "points_per_curve=20", "--set", "samples_per_class=50", "--epochs", "1", "--no-progress"]
    r = run("figure", "spirals", *tiny, "--sheet", "--size", "120x90", "--supersample", "1")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "outputs" / "spirals" / "spirals-sheet.png").exists()
    r = run("figure", "spirals", *tiny, "--at", "layer1.tanh:0.5", "--inches", "1x0.5", "--dpi", "100",
            "--transparent", "--background", "dark", "-o", "still.png")
    assert r.returncode == 0, r.stderr
    import imageio.v3 as iio

    assert iio.imread(tmp_path / "still.png").shape == (50, 100, 4)
    r = run("export", "spirals", *tiny, "--at", "output", "-o", "mesh.ply")
    assert r.returncode == 0 and (tmp_path / "mesh.ply").exists(), r.stderr
    r = run("render", "spirals", *tiny, "-o", "clip.gif", "--size", "80x60", "--fps", "4", "--seconds-per-stage", "0.2")
    assert r.returncode == 0 and (tmp_path / "clip.gif").exists(), r.stderr


def test_odd_size_notice(tmp_path):
    r = run("render", "spirals", "--set", "points_per_curve=20", "--set", "samples_per_class=50", "--epochs", "1",
            "--size", "65x49", "--fps", "4", "--seconds-per-stage", "0.2", "--no-progress", "-o", "odd.mp4")
    assert r.returncode == 0, r.stderr
    assert "notice: size: 65x49 rounded to 64x48" in r.stderr


def test_your_own_model_renders_and_bad_models_are_one_line(tmp_path):
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), nn.LeakyReLU(0.2), nn.Linear(3, 2)).eval()
    torch.jit.save(torch.jit.script(model), str(tmp_path / "mine.pt"))
    tiny = ["--set", "resolution=12", "--set", "samples_per_class=40", "--set", "grid_lines=3", "--no-progress"]
    r = run("render", "disk-annulus-lift", "--model", "mine.pt", *tiny, "--size", "96x64", "--fps", "4",
            "--seconds-per-stage", "0.2", "-o", "mine.mp4")
    assert r.returncode == 0, r.stderr
    assert "network 2-3-3-2 tanh,leaky_relu(0.2): accuracy" in r.stdout and (tmp_path / "mine.mp4").exists()
    assert not list((tmp_path / "cache").glob("**/network-*.pt"))  # nothing trained
    torch.save(model, tmp_path / "pickled.pt")
    r = run("render", "disk-annulus-lift", "--model", "pickled.pt", *tiny)
    assert r.returncode == 2 and "would run arbitrary code" in r.stderr and "torch.jit.save" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run("render", "linked-tori", "--model", "mine.pt", "--set", "resolution=12", "--no-progress")
    assert r.returncode == 2 and "3-D" in r.stderr, r.stderr
    r = run("render", "disk-annulus-lift", "--model", "mine.pt", "--hidden", "4", *tiny)
    assert r.returncode == 2 and "a given network is used as it is" in r.stderr
