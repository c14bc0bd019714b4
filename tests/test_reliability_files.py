"""Crafted files and bad numbers (issue 23): faces that index past their vertices in every mesh
format we read, coordinates float32 cannot hold, NaN and infinite options, times past the end
of the timeline, a cache folder that cannot be written, and paths chosen by a file's content.

Each refusal is one ``error:`` line naming the file or field, the value and what is allowed,
exit code 2, before any training (no ``outputs/`` folder appears).
"""

import errno
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

from layerlapse import _files
from layerlapse.app import api
from layerlapse.app import network as app_network
from layerlapse.app.scenefile import load_scene_file, scene_file_digest
from layerlapse.cli import app
from layerlapse.errors import LayerlapseError

TINY = ["--set", "points_per_curve=40", "--set", "samples_per_class=100", "--set", "grid_lines=3", "--epochs", "2"]
TINY_TORI = ["--set", "resolution=16", "--set", "samples_per_class=100", "--set", "grid_lines=3", "--epochs", "2"]
TETRA = "0 0 0\n1 0 0\n0 1 0\n0 0 1\n"


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def one_error(result) -> str:
    """The one ``error:`` line of a refused command (exit 2, no traceback, nothing trained)."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 2, result.stderr
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert not Path("outputs").exists(), "work was done before the refusal"
    return errors[0]


def mesh_toml(first: str) -> str:
    Path("ring.ply").write_bytes(trimesh.creation.torus(1.0, 0.3).export(file_type="ply"))
    Path("meshes.toml").write_text(f'samples_per_class = 50\n[[meshes]]\npath = "{first}"\nlabel = "a"\n'
                                   '[[meshes]]\npath = "ring.ply"\nlabel = "b"\n')
    return "meshes.toml"


def ascii_ply(last_face: str, vertices: str = TETRA) -> str:
    return ("ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
            "element face 2\nproperty list uchar int vertex_indices\nend_header\n"
            f"{vertices}3 0 1 2\n{last_face}\n")


def binary_ply(last_face: tuple[int, int, int]) -> bytes:
    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
              b"property float z\nelement face 2\nproperty list uchar int vertex_indices\nend_header\n")
    vertices = struct.pack("<12f", 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1)
    faces = struct.pack("<B3i", 3, 0, 1, 2) + struct.pack("<B3i", 3, *last_face)
    return header + vertices + faces


def glb(last_face: tuple[int, int, int]) -> bytes:
    mesh = trimesh.Trimesh(np.eye(4)[:, :3], np.array([[0, 1, 2], last_face]), process=False)
    return mesh.export(file_type="glb")


OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\n"
OFF = "OFF\n4 2 0\n" + TETRA + "3 0 1 2\n"

#: (id, file name, its bytes, what the one line must say besides the file's name)
BAD_FACES = [
    ("ply-ascii-past", "bad.ply", ascii_ply("3 0 2 99"), "triangle 1 (0 2 99) refers to vertex 99, but the mesh has "
                                                         "4 vertices (0 to 3"),
    ("ply-ascii-negative", "neg.ply", ascii_ply("3 0 2 -5"), "refers to vertex -5, but the mesh has 4 vertices"),
    ("ply-binary-past", "bin.ply", binary_ply((0, 2, 99)), "refers to vertex 99, but the mesh has 4 vertices"),
    ("ply-binary-negative", "binneg.ply", binary_ply((0, 2, -1)), "refers to vertex -1, but the mesh has 4 vertices"),
    ("obj-past", "bad.obj", OBJ + "f 1 3 99\n", "line 6: face 'f 1 3 99' refers to vertex 99, but the file has "
                                                "4 vertices (1 to 4)"),
    ("obj-negative", "neg.obj", OBJ + "f 1 3 -5\n", "line 6: face 'f 1 3 -5' refers to vertex -5 (5 back), but only 4"),
    ("obj-zero", "zero.obj", OBJ + "f 0 1 2\n", "refers to vertex 0, but OBJ counts vertices from 1"),
    ("obj-slashes", "uv.obj", OBJ + "vt 0 0\nf 1/1 3/1 9/1\n", "refers to vertex 9, but the file has 4 vertices"),
    ("off-past", "bad.off", OFF + "3 0 2 99\n", "line 8: face '3 0 2 99' refers to vertex 99, but the file has "
                                                "4 vertices (0 to 3)"),
    ("glb-past", "bad.glb", glb((0, 2, 99)), "refers to vertex 99, but the mesh has 4 vertices"),
]


@pytest.mark.parametrize(("name", "data", "says"), [row[1:] for row in BAD_FACES], ids=[row[0] for row in BAD_FACES])
def test_a_face_past_the_vertices_is_one_line(name, data, says):
    Path(name).write_bytes(data.encode() if isinstance(data, str) else data)
    line = one_error(run("train", mesh_toml(name), "--epochs", "2", "--no-progress"))
    assert f"meshes[0].path {name!r}: " in line and says in line, line


def test_good_relative_and_textured_obj_faces_still_load():
    Path("ok.obj").write_text(OBJ + "vt 0 0\nf -4/1 -2/1 -1/1\n")
    scene = load_scene_file(mesh_toml("ok.obj"))
    assert len(scene.surfaces[0].faces) == 2


# --- coordinates float32 cannot hold --------------------------------------------------------

def test_a_coordinate_past_float32_is_refused_like_nan():
    Path("big.ply").write_text(ascii_ply("3 0 2 3", TETRA.replace("0 0 1\n", "0 0 3e38\n")))
    line = one_error(run("train", mesh_toml("big.ply"), "--epochs", "2", "--no-progress"))
    assert "meshes[0].path 'big.ply': vertex 3 has coordinate 3e+38; mesh coordinates must lie within ±1e+10" in line


@pytest.mark.parametrize("offset", ["[3e38, 0, 0]", "[inf, 0, 0]", "[nan, 0, 0]"])
def test_an_offset_past_the_bound_is_refused(offset):
    mesh_toml("ring.ply")
    Path("meshes.toml").write_text(Path("meshes.toml").read_text().replace('label = "a"\n', f'label = "a"\noffset = {offset}\n'))
    line = one_error(run("train", "meshes.toml", "--epochs", "2", "--no-progress"))
    assert "meshes.0.offset.0" in line, line


# --- NaN and infinity on the command line -----------------------------------------------------

NOT_A_NUMBER = [
    ("seconds-per-stage", ["render", "two-curves", "--seconds-per-stage", "nan"],
     "timeline.seconds_per_stage: nan is not a number; allowed: 0 < seconds_per_stage <= 600"),
    ("seconds-per-stage-inf", ["render", "two-curves", "--seconds-per-stage", "inf"],
     "timeline.seconds_per_stage: inf is out of range; allowed: 0 < seconds_per_stage <= 600"),
    ("fps", ["render", "two-curves", "--fps", "nan"], "fps: nan is not a number; allowed: 0 < fps <= 240"),
    ("seconds", ["render", "two-curves", "--over", "training", "--seconds", "nan"],
     "seconds: nan is not a number; allowed: 0 < seconds <= 3600"),
    ("orbit", ["render", "linked-tori", "--orbit", "nan"],
     "style.orbit_degrees_per_second: nan is not a number; allowed: -360 <= orbit_degrees_per_second <= 360"),
    ("dpi", ["figure", "two-curves", "--dpi", "nan"], "dpi: nan is not a number; allowed: 0 < dpi <= 100,000"),
    ("dpi-huge", ["figure", "two-curves", "--dpi", "1e9"], "dpi: 1000000000.0 is out of range"),
    ("inspect-fps", ["inspect", "two-curves", "--fps", "nan"], "fps: nan is not a number"),
    ("set", ["train", "linked-tori", "--set", "minor_radius=nan"],
     "scene 'linked-tori': minor_radius: nan is not a number; allowed: 0 < minor_radius <= 100"),
    ("at-past-the-end", ["figure", "linked-tori", "--at", "1e9s", *TINY_TORI],
     "at: '1e9s' is past the end of the 27.5 s timeline; allowed: 0 to 27.5 s"),
    ("at-before-the-start", ["figure", "two-curves", "--at", "-1s", *TINY], "at: '-1s' is before the start of the"),
    ("at-nan", ["figure", "two-curves", "--at", "nans", *TINY], "at: 'nans' is not a number"),
    ("at-fraction-nan", ["figure", "two-curves", "--at", "layer1.tanh:nan", *TINY],
     "at: fraction 'nan' is not a number; allowed: 0 to 1"),
]


@pytest.mark.parametrize(("args", "says"), [row[1:] for row in NOT_A_NUMBER], ids=[row[0] for row in NOT_A_NUMBER])
def test_nan_reads_not_a_number_with_the_range(args, says):
    line = one_error(run(*args))
    assert says in line, line


def test_nan_in_a_scene_file_reads_not_a_number():
    Path("s.toml").write_text('family = "two-curves"\n[timeline]\nseconds_per_stage = nan\n')
    line = one_error(run("render", "s.toml"))
    assert "timeline.seconds_per_stage: nan is not a number; allowed: 0 < seconds_per_stage <= 600" in line, line


# --- a cache folder that cannot be written -----------------------------------------------------

SCENE = dict(points_per_curve=40, samples_per_class=100, grid_lines=3)
TRAINING = {"epochs": 2}


@pytest.fixture
def read_only(monkeypatch):
    """Folders under ``ro/``, ``outputs/`` and ``cache/`` (the network cache, moved there)
    refuse new files as a read-only mount does (the tests run as root in CI, where a chmod
    would not stop a write)."""
    monkeypatch.setenv("LAYERLAPSE_CACHE", "cache")
    real_open = os.open

    def refusing(path, flags, *args, **kwargs):
        if str(path).startswith(("ro/", "outputs/", "cache/")) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(_files.os, "open", refusing)


def test_a_read_only_cache_trains_without_saving(read_only):
    scene = api.load_scene("two-curves", **SCENE)
    with pytest.warns(UserWarning, match=r"network: could not be cached in 'cache/networks/two-curves' \(Read-only "
                                         r"file system\); it serves this run only"):
        net = api.get_network(scene, training=TRAINING, progress=False)
    assert net.accuracy is not None and not list(Path("cache").rglob("*.pt"))


def test_a_cache_that_is_a_file_trains_without_saving_on_the_command_line(monkeypatch):
    monkeypatch.setenv("LAYERLAPSE_CACHE", "cache")
    Path("cache").write_text("in the way")
    r = run("figure", "two-curves", *TINY, "--size", "64x48", "--supersample", "1", "-o", "f.png", "--no-progress")
    assert r.exit_code == 0 and Path("f.png").is_file(), r.stderr
    assert "notice: network: could not be cached in 'cache/networks/two-curves' ('cache' is a file)" in r.stderr
    assert Path("cache").read_text() == "in the way"


def test_a_cache_that_fills_up_keeps_the_trained_network(monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(app_network, "save_network", full)
    scene = api.load_scene("two-curves", **SCENE)
    with pytest.warns(UserWarning, match=r"could not be cached .*No space left on device"):
        assert api.get_network(scene, training=TRAINING, progress=False).accuracy is not None


def test_a_checkpoint_the_user_named_in_a_read_only_folder_is_still_refused(read_only, monkeypatch):
    monkeypatch.setattr(app_network, "train_network", lambda *a, **k: pytest.fail("trained before the refusal"))
    Path("ro").mkdir()
    scene = api.load_scene("two-curves", **SCENE)
    with pytest.raises(LayerlapseError, match=r"^checkpoint: cannot write to folder 'ro' \(Read-only file system\)$"):
        api.get_network(scene, checkpoint="ro/net.pt", training=TRAINING, progress=False)


# --- paths that come from a file's content ----------------------------------------------------

@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", "a/b", "..", "a\\b", "tab\there"])
def test_a_scene_files_name_cannot_choose_where_outputs_go(name):
    Path("s.toml").write_text(f'name = {name!r}\nfamily = "two-curves"\n'.replace("'", '"').replace("\t", "\\t"))
    line = one_error(run("figure", "s.toml", *TINY))
    assert "scene file 's.toml': name: a scene's name names its folder under outputs/" in line, line
    assert not Path("../escaped").exists() and not Path("/tmp/escaped").exists()


def test_mesh_paths_may_point_anywhere_and_are_only_read(tmp_path):
    elsewhere = tmp_path.parent / f"{tmp_path.name}-meshes"
    elsewhere.mkdir()
    ball = elsewhere / "ball.ply"
    ball.write_bytes(trimesh.creation.icosphere(subdivisions=1).export(file_type="ply"))
    before = ball.stat().st_mtime_ns, sorted(elsewhere.iterdir())
    scene = load_scene_file(mesh_toml(f"../{elsewhere.name}/ball.ply"))
    assert scene.class_names == ("a", "b")
    assert (ball.stat().st_mtime_ns, sorted(elsewhere.iterdir())) == before


def test_the_digest_of_a_scene_file_never_reads_a_fifo():
    os.mkfifo("pipe.ply")  # read, it would block until a writer came: for ever
    Path("s.toml").write_text('[[meshes]]\npath = "pipe.ply"\nlabel = "a"\n[[meshes]]\npath = "x.ply"\nlabel = "b"\n')
    done = threading.Event()
    worker = threading.Thread(target=lambda: (scene_file_digest(Path("s.toml")), done.set()), daemon=True)
    worker.start()
    finished = done.wait(10)
    if not finished:  # let the stuck reader go: a writer that opens and closes gives it end-of-file
        os.close(os.open("pipe.ply", os.O_WRONLY | os.O_NONBLOCK))
    assert finished, "scene_file_digest blocked on a FIFO"


def test_the_docs_say_a_python_scene_file_is_a_program():
    page = (Path(__file__).parent.parent / "docs" / "scene-files.md").read_text()
    section = page.partition("## Your own scenes: Python")[2].partition("\n## ")[0]
    assert "runs its code" in " ".join(section.split()) and "Sweeps refuse `.py` scenes" in " ".join(section.split())
    mesh_section = page.partition("**Mesh files.**")[2].partition("## ")[0]
    assert "never written, and may point anywhere" in mesh_section

