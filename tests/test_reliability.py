"""Bad input, runaway sizes and outputs that cannot be written: one line, exit 2, before any work.

Each row of the table runs the command in-process (typer's CliRunner) and asserts one
``error:`` line naming the field, and that nothing was trained or written on the way
(no ``outputs/`` folder appears). Signals and leftovers are in tests/test_signals.py, the
cache in tests/test_cache.py.
"""

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

from layerlapse.app import network as app_network
from layerlapse.app.scenefile import resolve_scene
from layerlapse.cli import app
from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_SAMPLING_DRAWS
from layerlapse.scenes.geometry import rejection_sample

TINY = ["--set", "points_per_curve=40", "--set", "samples_per_class=100", "--set", "grid_lines=3", "--epochs", "2"]
SMALL_MOVIE = ["--size", "96x64", "--fps", "4", "--seconds-per-stage", "0.25", "--no-progress"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run(*args: str) -> Run:
    start = time.perf_counter()
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr, time.perf_counter() - start)


def write(path: str, data: bytes | str) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    Path(path).write_bytes(data)
    return path


def folder(path: str) -> str:
    Path(path).mkdir(parents=True)
    return path


FLAT_OBJ = "v 0 0\nv 1 0\nv 0 1\nf 1 2 3\n"


def mesh_scene(first: str) -> str:
    write("ring.ply", trimesh.creation.torus(1.0, 0.3).export(file_type="ply"))
    return write("meshes.toml", f'[[meshes]]\npath = "{first}"\nlabel = "a"\n[[meshes]]\npath = "ring.ply"\nlabel = "b"\n')


#: (id, files to make first, command, what the one line must say)
BAD_INPUT = [
    ("scene-folder", lambda: folder("adir"), ["train", "adir"], "scene: 'adir' is a folder"),
    ("scene-toml-folder", lambda: folder("d.toml"), ["train", "d.toml"], "is a folder"),
    ("scene-binary", lambda: write("bin.toml", bytes(range(256)) * 8), ["train", "bin.toml"], "a binary file"),
    ("scene-utf16", lambda: write("u16.toml", 'family = "two-curves"\n'.encode("utf-16")), ["train", "u16.toml"],
     "UTF-16"),
    ("scene-not-a-scene", lambda: write("notes.txt", "hello"), ["train", "notes.txt"], "not a scene file"),
    ("seed-huge", None, ["train", "two-curves", "--seed", "99999999999999999999"], "training.seed"),
    ("seed-huge-toml", lambda: write("s.toml", 'family = "two-curves"\n[training]\nseed = 99999999999999999999\n'),
     ["train", "s.toml"], "training.seed"),
    ("scene-seed-huge", None, ["train", "two-curves", "--set", "seed=99999999999999999999"], "seed"),
    ("hidden-zero", None, ["train", "two-curves", "--hidden", "0,0"], "network.hidden.0"),
    ("hidden-negative", None, ["train", "two-curves", "--hidden", "-3"], "network.hidden.0"),
    ("hidden-huge", None, ["train", "two-curves", "--hidden", "100000,100000"], "256"),
    ("samples-huge", None, ["train", "linked-tori", "--set", "samples_per_class=1000000"], "samples_per_class"),
    ("samples-huge-file", lambda: write("m.toml", 'samples_per_class = 1000000\n[[meshes]]\npath = "a.ply"\n'
                                         'label = "a"\n[[meshes]]\npath = "b.ply"\nlabel = "b"\n'),
     ["train", "m.toml"], "samples_per_class"),
    ("tube-too-thin", None, ["train", "linked-tori", "--set", "minor_radius=1e-9"], "minor_radius: 1e-09"),
    ("annulus-too-thin", None, ["train", "disk-annulus", "--set", "annulus_inner=0.99999999"],
     "use a smaller annulus_inner"),
    ("obj-2d", lambda: (write("flat.obj", FLAT_OBJ), mesh_scene("flat.obj")), ["train", "meshes.toml"],
     "vertices have 2 coordinates"),
    ("out-is-folder", lambda: folder("out.mp4"), ["render", "two-curves", "-o", "out.mp4"], "out: 'out.mp4' is a folder"),
    ("out-trailing-slash", None, ["render", "two-curves", "-o", "newdir.mp4/"], "ends in a slash"),
    ("out-not-ours", lambda: write("notes.mp4", "my notes"), ["render", "two-curves", "-o", "notes.mp4"],
     "not replaced"),
    ("out-under-a-file", lambda: write("afile", "x"), ["render", "two-curves", "-o", "afile/x.mp4"],
     "('afile' is a file)"),
    ("figure-under-a-file", lambda: write("afile", "x"), ["figure", "two-curves", "-o", "afile/x.png"], "out:"),
    ("figure-folder", None, ["figure", "two-curves", "-o", "figs/"], "names a folder"),
    ("export-not-ours", lambda: write("e-input.ply", "not a mesh"), ["export", "two-curves", "-o", "e.ply"],
     "not replaced"),
    ("trajectory-under-a-file", lambda: write("afile", "x"),
     ["render", "two-curves", "-o", "t.mp4", "--save-trajectory", "afile/t.npz"], "save_trajectory:"),
    ("trajectory-suffix", None, ["render", "two-curves", "-o", "t.mp4", "--save-trajectory", "t.txt"],
     "save_trajectory: 't.txt' must end in .npz"),
    ("checkpoint-under-a-file", lambda: write("afile", "x"), ["train", "two-curves", "--checkpoint", "afile/n.pt"],
     "checkpoint:"),
    ("frames-too-many", None, ["render", "linked-tori", "--seconds-per-stage", "600"], "frames: 162,285 frames"),
    ("training-clock-too-long", None, ["render", "two-curves", "--over", "training", "--seconds", "3600", "--fps", "60"],
     "frames:"),
    ("trajectory-too-big", None, ["render", "linked-tori", "--seconds-per-stage", "300", "--fps", "30",
                                  "--save-trajectory", "t.npz"], "save_trajectory:"),
]


@pytest.mark.parametrize(("make", "args", "says"), [row[1:] for row in BAD_INPUT], ids=[row[0] for row in BAD_INPUT])
def test_bad_input_is_one_line_before_any_work(make, args, says):
    if make is not None:
        make()
    r = run(*args)
    lines = r.stderr.strip().splitlines()
    assert r.code == 2, r.stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in r.stderr, r.stderr
    assert says in errors[0], errors[0]
    assert not Path("outputs").exists(), "work was done before the refusal"
    assert r.seconds < 20


def test_rejection_sampling_gives_up_with_the_parameter():
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    with pytest.raises(LayerlapseError, match=r"^radius: 1e-12 leaves too small a region .* use a larger radius$"):
        rejection_sample(rng, 100, np.zeros(3), np.ones(3), lambda X: X[:, 0] < 1e-12, field="radius", value=1e-12)
    assert time.perf_counter() - start < 10
    # a region that is small but samplable is sampled, the same way as before the bound
    X = rejection_sample(np.random.default_rng(1), 50, np.zeros(2), np.ones(2), lambda X: X.sum(1) < 0.01)
    assert X.shape == (50, 2) and (X.sum(1) < 0.01).all()
    # the budget bounds draws, whatever the region
    calls = []

    def never(X):
        calls.append(len(X))
        return np.zeros(len(X), bool)

    with pytest.raises(LayerlapseError):
        rejection_sample(rng, 10, np.zeros(1), np.ones(1), never)
    assert sum(calls) <= MAX_SAMPLING_DRAWS


def test_output_is_replaced_and_says_so():
    args = ["render", "two-curves", *TINY, *SMALL_MOVIE, "-o", "x.mp4"]
    first = run(*args)
    assert first.code == 0 and "replaced" not in first.stdout
    second = run(*args)
    assert second.code == 0 and "wrote x.mp4 (" in second.stdout and ", replaced)" in second.stdout
    figure = [run("figure", "two-curves", *TINY, "--size", "64x48", "--no-progress", "-o", "f.png") for _ in range(2)]
    assert "(replaced)" not in figure[0].stdout and "wrote f.png (replaced)" in figure[1].stdout


def test_webm_notice_names_vp9():
    r = run("render", "two-curves", *TINY, *SMALL_MOVIE, "--size", "97x64", "-o", "x.webm")
    assert r.code == 0
    assert "rounded to 96x64 (VP9 with yuv420p needs even sides)" in r.stderr


def test_a_failed_final_rename_leaves_nothing(monkeypatch):
    """The target turns into a folder while the movie renders: one line, no temporary left."""
    from layerlapse.render import view

    original = view.SceneView.show_frame

    def sabotage(self, frame, positions, **kw):
        if frame >= 2 and not Path("late.mp4").exists():  # frame 2 may be a hold's, not rendered again
            Path("late.mp4").mkdir()
        return original(self, frame, positions, **kw)

    monkeypatch.setattr(view.SceneView, "show_frame", sabotage)
    r = run("render", "two-curves", *TINY, *SMALL_MOVIE, "-o", "late.mp4")
    assert r.code == 2 and r.stderr.startswith("error: out: could not move the finished output to 'late.mp4'"), r.stderr
    assert sorted(p.name for p in Path().iterdir() if p.name.startswith(".")) == []


def test_blank_pictures_are_not_silent():
    # the grid 1e-9 across: after its tanh layer no float32 can tell its points apart
    r = run("figure", "grid-only", "--set", "half_width=1e-9", "--size", "80x60", "--no-progress", "-o", "g.png")
    assert r.code == 0 and "notice: visibility: the grid spans fewer than 3 pixels" in r.stderr, r.stderr
    # the same grid at its normal size: no notice
    r = run("figure", "grid-only", "--size", "80x60", "--no-progress", "-o", "g.png")
    assert r.code == 0 and "visibility" not in r.stderr


def test_tiny_scene_is_framed_and_warned_about():
    r = run("figure", "linked-tori", "--set", "major_radius=1e-9", "--set", "minor_radius=1e-10", "--set",
            "resolution=16", "--set", "samples_per_class=100", "--set", "grid_lines=2", "--epochs", "1",
            "--at", "input", "--size", "120x90", "--supersample", "1", "--no-progress", "-o", "tiny.png")
    assert r.code == 0, r.stderr
    assert "scene: its samples span 3.2e-09 units" in r.stderr
    # the camera frames the classes at their own scale (no absolute floor): both fill the picture
    import imageio.v3 as iio

    img = iio.imread("tiny.png")[..., :3].astype(int)
    for colour in ([0x00, 0x72, 0xB2], [0xD5, 0x5E, 0x00]):
        assert (np.abs(img - colour).max(2) < 60).mean() > 0.01


def test_mismatched_meshes_warn_and_each_fits_them():
    write("small.ply", trimesh.creation.icosphere(radius=8).export(file_type="ply"))
    write("big.ply", trimesh.creation.torus(600, 200).export(file_type="ply"))
    body = '[[meshes]]\npath = "small.ply"\nlabel = "small"\n{place}[[meshes]]\npath = "big.ply"\nlabel = "big"\n'
    write("together.toml", "samples_per_class = 50\n" + body.format(place=""))
    with pytest.warns(UserWarning, match="'small' is 100 times smaller than 'big'.*normalize = \"each\""):
        resolve_scene("together.toml")
    write("each.toml", 'samples_per_class = 50\nnormalize = "each"\n'
          + body.format(place="scale = 0.5\noffset = [0, 0, 1.5]\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        preset = resolve_scene("each.toml")
    small, big = (np.ptp(s.vertices, axis=0).max() for s in preset.scene.surfaces)
    assert small == pytest.approx(1.0) and big == pytest.approx(2.0)
    assert preset.scene.surfaces[0].vertices[:, 2].mean() == pytest.approx(1.5, abs=1e-6)
    # the placement is part of the cache key: moving a mesh retrains
    with pytest.warns(UserWarning, match="times smaller"):
        assert preset.key != resolve_scene("together.toml").key


def test_long_renders_print_their_estimate():
    from layerlapse.render.movie import check_movie_length, resolve_settings

    settings = resolve_settings("high")
    with pytest.warns(UserWarning, match=r"render: 5,550 frames at 1920x1080 will take about \d+ min"):
        check_movie_length(5550, settings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_movie_length(300, resolve_settings("low"))


def test_long_training_prints_its_estimate(monkeypatch):
    clock = iter([0.0, 2.0, 4.0, 6.0])
    monkeypatch.setattr(app_network.time, "perf_counter", lambda: next(clock))
    estimate = app_network.TrainingEstimate(epochs=300)
    estimate.tick()  # the first epoch pays for the setup: not counted
    with pytest.warns(UserWarning, match=r"train: 300 epochs will take about 10 min here \(2.00 s each\)"):
        estimate.tick()
        estimate.tick()
    quick = app_network.TrainingEstimate(epochs=10)
    monkeypatch.setattr(app_network.time, "perf_counter", iter([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]).__next__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(7):
            quick.tick()


def test_retrain_never_replaces_a_file_that_is_not_a_checkpoint():
    write("notes.pt", "my notes, not a network")
    r = run("train", "two-curves", *TINY, "--checkpoint", "notes.pt", "--no-progress")
    assert r.code == 2 and "checkpoint: 'notes.pt' exists and is not a PT file" in r.stderr, r.stderr
    assert Path("notes.pt").read_text() == "my notes, not a network"


def test_wide_layers_draw_without_a_hypercube():
    """A 64-wide layer has no 2^64-corner box to draw (it crashed, and 24 wide took 7 GB)."""
    from layerlapse.draw.geometry import MAX_BOX_DIM, cube_edges

    corners, edges = cube_edges(MAX_BOX_DIM)
    assert corners.shape == (2**MAX_BOX_DIM, MAX_BOX_DIM) and len(edges) == MAX_BOX_DIM * 2 ** (MAX_BOX_DIM - 1)
    assert (np.abs(corners[edges[:, 0]] - corners[edges[:, 1]]).sum(1) == 1).all()  # edges join neighbours
    r = run("figure", "two-curves", *TINY, "--hidden", "64", "--size", "80x60", "--supersample", "1",
            "--at", "layer1.tanh:0.5", "--no-progress", "-o", "wide.png")
    assert r.code == 0 and r.seconds < 30, r.stderr


def test_a_folder_at_the_sidecar_is_only_a_lost_shortcut():
    Path("ck/x.pt.npz").mkdir(parents=True)
    r = run("train", "two-curves", *TINY, "--checkpoint", "ck/x.pt", "--no-progress")
    assert r.code == 0 and Path("ck/x.pt").is_file(), r.stderr
    r = run("render", "two-curves", *TINY, *SMALL_MOVIE, "--checkpoint", "ck/x.pt", "-o", "x.mp4")
    assert r.code == 0 and "error" not in r.stderr, r.stderr


def test_each_normalised_mesh_overlapping_another_gets_a_notice():
    write("small.ply", trimesh.creation.icosphere(radius=8).export(file_type="ply"))
    write("big.ply", trimesh.creation.icosphere(radius=800).export(file_type="ply"))
    write("o.toml", 'samples_per_class = 50\nnormalize = "each"\n[[meshes]]\npath = "small.ply"\nlabel = "a"\n'
          '[[meshes]]\npath = "big.ply"\nlabel = "b"\n')
    with pytest.warns(UserWarning, match="'a' and 'b' overlap .* offset"):
        resolve_scene("o.toml")


def test_a_class_seen_in_the_inset_is_not_reported_lost():
    """Tori 1e-9 across: at the input both are seen, the inset zoomed on one showing both;
    from the first layer on (which carries them far off) neither is, and the notice says so."""
    r = run("render", "linked-tori", "--set", "major_radius=1e-9", "--set", "minor_radius=1e-10", "--set",
            "resolution=16", "--set", "samples_per_class=100", "--set", "grid_lines=2", "--epochs", "1",
            "--size", "160x120", "--fps", "8", "--seconds-per-stage", "0.5", "--no-progress", "-o", "t.mp4")
    assert r.code == 0, r.stderr
    lost = [line for line in r.stderr.splitlines() if "notice: visibility:" in line]
    assert len(lost) == 2 and all("from 0.0 s" not in line for line in lost), r.stderr
