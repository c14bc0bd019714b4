"""Data files (.npz, .csv, .npy + --labels) as scenes and presets: read bounded and without
pickle, their defaults and question, the CLI route with --model, and every bad file as one
line and exit code 2 before any training. Also: labels are the data's, so their faults name
the data's field (not "model:")."""

import re

import numpy as np
import pytest
from conftest import cached_networks
from typer.testing import CliRunner

import layerlapse as ll
from layerlapse.app.claims import verdict
from layerlapse.app.datafile import data_preset, load_data
from layerlapse.app.scenefile import resolve_scene
from layerlapse.cli import app
from layerlapse.errors import LayerlapseError
from layerlapse.networks.model import NetworkConfig
from layerlapse.scenes.base import Grid, Scene


def blobs(n_dim=2, classes=3, per_class=30, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, n_dim))
    y = np.repeat(np.arange(classes), per_class)
    return centres[y] + rng.normal(scale=0.3, size=(len(y), n_dim)), y


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.mark.parametrize(("xkey", "ykey"), [("X", "y"), ("x", "labels"), ("features", "targets")])
def test_npz_keys(tmp_path, xkey, ykey):
    X, y = blobs()
    np.savez(tmp_path / "mine.npz", **{xkey: X, ykey: y})
    scene = load_data(tmp_path / "mine.npz")
    assert scene.name == "mine" and np.array_equal(scene.samples, X) and np.array_equal(scene.labels, y)


def test_npz_names_and_string_labels(tmp_path):
    X, y = blobs()
    np.savez(tmp_path / "named.npz", X=X, y=y, names=np.array(["red", "green", "blue"]))
    assert load_data(tmp_path / "named.npz").class_names == ("red", "green", "blue")
    np.savez(tmp_path / "words.npz", X=X, y=np.array(["b", "c", "a"])[y])
    assert load_data(tmp_path / "words.npz").class_names == ("a", "b", "c")


def write_csv(path, X, labels, header="a,b,label"):
    rows = [header] if header else []
    rows += [",".join([*(f"{v:.6f}" for v in x), str(label)]) for x, label in zip(X, labels)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_with_header_words_and_label_column_by_name(tmp_path):
    X, y = blobs()
    words = np.array(["setosa", "versicolor", "virginica"])[y]
    scene = load_data(write_csv(tmp_path / "iris.csv", X, words))
    assert scene.class_names == ("setosa", "versicolor", "virginica") and np.allclose(scene.samples, X, atol=1e-6)
    scene = load_data(write_csv(tmp_path / "xy.csv", X, words, header="x,y,label"))  # "label" wins over "y"
    assert scene.dim == 2 and scene.class_names[0] == "setosa"
    # a label column headed "class" need not be the last one
    rows = ["class;u;v"] + [f"{label};{a};{b}" for (a, b), label in zip(X, y)]
    (tmp_path / "first.csv").write_text("\n".join(rows))
    scene = load_data(tmp_path / "first.csv")
    assert np.allclose(scene.samples, X) and np.array_equal(scene.labels, y)


def test_csv_without_header_takes_the_last_column(tmp_path):
    X, y = blobs()
    scene = load_data(write_csv(tmp_path / "bare.csv", X, y, header=None))
    assert len(scene.samples) == len(X) and np.array_equal(scene.labels, y)
    assert scene.class_names == ("class 0", "class 1", "class 2")  # 0.0, 1.0 read as whole numbers


def test_npy_pair(tmp_path):
    X, y = blobs(3)
    np.save(tmp_path / "features.npy", X)
    np.save(tmp_path / "labels.npy", y)
    scene = ll.load_data(tmp_path / "features.npy", labels=tmp_path / "labels.npy")
    assert scene.name == "features" and scene.dim == 3 and np.array_equal(scene.labels, y)
    preset = resolve_scene(str(tmp_path / "features.npy"), labels=tmp_path / "labels.npy")
    assert preset.network.input_dim == 3


def test_data_defaults_and_neutral_question(tmp_path):
    X, y = blobs(2, classes=4)
    preset = data_preset(Scene.from_points(X, y))
    assert preset.network.hidden == (3, 3, 3) and preset.network.activation == "tanh"
    assert preset.network.classes == 4 and preset.training.epochs == 300
    assert ll.prepare  # the same defaults for a bare Scene.from_points:
    from layerlapse.app.presets import preset_for

    assert preset_for(Scene.from_points(X, y)).network == preset.network
    assert data_preset(Scene.from_points(np.tile(X, (300, 1)), np.tile(y, 300))).training.epochs == 30
    from layerlapse.app.claims import question

    assert question(preset, preset.network) == "How far can three width-3 tanh layers pull four classes apart?"
    assert verdict(preset.claim, accuracy=1.0, misclassified=0, n_samples=120)[0].startswith("All the way.")
    assert verdict(preset.claim, accuracy=0.75, misclassified=30, n_samples=120) == (
        "Part of the way: 30 of 120 samples end in another class's region.", "75.0%: 30 samples misclassified.")


@pytest.mark.skipif(not NetworkConfig.model_fields["input_dim"].metadata or
                    getattr(NetworkConfig.model_fields["input_dim"].metadata[-1], "le", 3) < 64,
                    reason="networks take inputs wider than 3 once the wide-input part is merged")
def test_wide_data_gets_a_network_as_wide_as_its_input():
    X, y = blobs(64, classes=10)
    assert data_preset(Scene.from_points(X, y)).network.hidden == (64, 64, 64)


def torchscript_model(path, X, y, classes):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 3), torch.nn.Tanh(), torch.nn.Linear(3, classes))
    opt = torch.optim.Adam(model.parameters(), 0.05)
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    torch.jit.save(torch.jit.script(model.eval()), str(path))
    return model


def test_cli_trains_on_a_csv_and_takes_a_model_for_an_npz(tmp_path):
    X, y = blobs()
    write_csv(tmp_path / "pts.csv", X, y)
    r = cli("train", "pts.csv", "--epochs", "3", "--no-progress")
    assert r.exit_code == 0, r.output
    assert "2-3-3-3-3 tanh on pts.csv" in r.stdout and cached_networks(tmp_path, "pts")
    np.savez(tmp_path / "pts.npz", X=X, y=y)
    torchscript_model(tmp_path / "model.pt", X, y, 3)
    r = cli("export", "pts.npz", "--model", "model.pt", "--at", "input")
    assert r.exit_code == 2 and "'pts' has points only, no meshes or curves to export" in r.stderr, r.output
    r = cli("render", "pts.npz", "--model", "model.pt", "--size", "64x48", "--fps", "4", "--seconds-per-stage", "0.2",
            "--no-progress")
    assert r.exit_code == 0 and (tmp_path / "outputs" / "pts" / "pts.mp4").stat().st_size > 1000, r.output
    prepared = ll.prepare("pts.npz", model="model.pt")
    assert prepared.network.accuracy == 1.0 and prepared.deform(fps=4).n_frames > 4


BAD_FILES = {
    "one.csv": ("a,b,label\n1,2,x\n3,4,x\n", r"'one.csv': y: every label is 'x'; allowed: 2 to 10 classes"),
    "word.csv": ("a,b,label\n1,2,x\n3,zz,y\n", r"'word.csv': line 3, column 'b' is 'zz'; allowed: numbers"),
    "ragged.csv": ("a,b,label\n1,2,x\n3,4\n", r"'ragged.csv': line 3 has 2 cells; the header has 3"),
    "empty.csv": ("", r"'empty.csv': empty; allowed: feature columns and a label column"),
    "onecol.csv": ("label\n0\n1\n", r"'onecol.csv': 2 rows of 1 column; allowed: at least one feature column"),
    "half.npz": (dict(X=np.zeros((4, 2)), y=[0, 0.5, 1, 1]), r"'half.npz': y: row 1 is 0.5, not a class"),
    "nokey.npz": (dict(A=np.zeros((4, 2))), r"'nokey.npz': no features; it holds \['A'\]; allowed keys: X, x"),
    "nan.npz": (dict(X=[[0, 0], [1, np.nan], [2, 2]], y=[0, 1, 0]), r"'nan.npz': X: row 1, column 1 is nan"),
    "many.npz": (dict(X=np.zeros((11, 2)), y=np.arange(11)), r"'many.npz': y: 11 classes"),
    "short.npz": (dict(X=np.zeros((4, 2)), y=[0, 1, 0]), r"'short.npz': y: 3 labels for 4 points in X"),
    "flat.npz": (dict(X=np.zeros(4), y=[0, 1, 0, 1]), r"'flat.npz': X: shape \(4,\); allowed: \(N, n\)"),
    "objects.npz": (dict(X=np.zeros((2, 2)), y=np.array([0, "a"], dtype=object)),
                    r"'objects.npz': y: holds Python objects, which only unpickling"),
    "text.npz": ("hello", r"'text.npz': not an .npz archive"),
    "features.npy": (np.zeros((4, 2)), r"^labels: data file '.*features.npy' holds features only; give its labels' .npy "
                     r"with --labels"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_data_file_is_one_line_and_exit_2(tmp_path, name):
    content, message = BAD_FILES[name]
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, dict):
        np.savez(path, **content)
    else:
        np.save(path, content)
    r = cli("render", name, "--quality", "low", "--no-progress")
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    import re

    assert re.search(message, lines[0].removeprefix("error: ")), lines[0]
    assert not (tmp_path / "outputs").exists()  # refused before any training


def test_labels_option_mismatches_are_one_line(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((4, 2)))
    np.save(tmp_path / "l.npy", [0, 1, 1])
    write_csv(tmp_path / "c.csv", *blobs())
    for args, message in [(("f.npy", "--labels", "l.npy"), "data file 'f.npy' with labels 'l.npy': y: 3 labels for 4"),
                          (("c.csv", "--labels", "l.npy"), "labels: 'l.npy' is for a .npy of features; a .csv file"),
                          (("two-curves", "--labels", "l.npy"), "labels: 'l.npy' goes with a .npy of features"),
                          (("c.csv", "--set", "seed=1"), "set: 'seed': a data file has no parameters"),
                          (("missing.npz",), "data file 'missing.npz': no such file"),
                          (("f.npy", "--labels", "nothere.npy"), "labels 'nothere.npy': no such file")]:
        r = cli("render", *args, "--no-progress")
        assert r.exit_code == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


def test_oversized_npz_is_refused_before_reading(tmp_path, monkeypatch):
    from layerlapse.app import datafile

    np.savez_compressed(tmp_path / "big.npz", X=np.zeros((2000, 8)), y=np.arange(2000) % 2)
    monkeypatch.setattr(datafile, "MAX_DATA_FILE_BYTES", (tmp_path / "big.npz").stat().st_size + 1)
    with pytest.raises(LayerlapseError, match=r"'.*big.npz': unpacks to 0\.0 GiB; allowed: at most"):
        load_data(tmp_path / "big.npz")


def hand_scene(labels):
    X = np.random.default_rng(0).normal(size=(len(labels), 2))
    return Scene("hand", "", 2, ("a", "b"), (), (), Grid(np.zeros((1, 2, 2))), X, np.asarray(labels))


def test_float_label_faults_name_the_labels_not_the_model():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 2)).eval()
    with pytest.raises(LayerlapseError, match=r"^labels: float64 of shape \(20,\); allowed: \(20,\) integers"):
        ll.prepare(hand_scene(np.r_[np.zeros(10), np.full(10, 0.5)]), model=model)
    with pytest.raises(LayerlapseError, match=r"^labels: row 10 is 0\.5, not a class; allowed: integers 0 to 1$"):
        ll.train_network(hand_scene(np.r_[np.zeros(10), np.full(10, 0.5)]), training={"epochs": 1}, progress=False)


def test_shipped_example_data_loads():
    from pathlib import Path

    scene = load_data(Path(__file__).parent.parent / "examples" / "data" / "blobs.csv")
    assert scene.class_names == ("east", "north", "south", "west") and scene.samples.shape == (240, 2)


@pytest.mark.slow
def test_the_train_your_own_example_runs_and_its_printed_commands_render(tmp_path):
    """examples/train_your_own.py, as the README runs it: trains in plain PyTorch, writes the
    .npz, TorchScript and state_dict files and a movie; both commands it prints (TorchScript,
    and the state_dict with --arch) then render the same data."""
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "helices"
    run = subprocess.run([sys.executable, str(root / "examples" / "train_your_own.py"), "--out", str(out)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (out / "helices.mp4").stat().st_size > 10_000
    commands = [line.split("layerlapse ", 1)[1] for line in run.stdout.splitlines() if "layerlapse render" in line]
    assert len(commands) == 2 and "--arch 3-3-3-3-3" in commands[1]
    for k, command in enumerate(commands):
        movie = tmp_path / f"cli-{k}.mp4"
        args = shlex.split(command.replace("--quality low", "--quality low --seconds-per-stage 0.2 --no-cards"))
        result = cli(*args, "-o", movie)
        assert result.exit_code == 0, result.output
        assert movie.stat().st_size > 10_000

def npy_header_only(shape, pad=1000):
    """The bytes of an .npy whose header declares ``shape`` of float64 but holds ``pad`` bytes."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}".ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * pad


@pytest.mark.parametrize(("shape", "message"), [
    ((100_000_000, 64), r"X: shape \(100000000, 64\) of float64 is 47\.7 GiB; allowed: at most 2 GiB"),
    ((100, 3), r"X: its header declares shape \(100, 3\) of float64 \(2,400 bytes\) but it holds 1,000"),
])
def test_npy_header_declaring_more_than_it_holds_is_one_line(tmp_path, shape, message):
    # NumPy allocates what a header declares before reading: a 1 kB member asked for 48 GiB
    # and the run died in a traceback (MemoryError), so the header is checked first
    import io
    import zipfile

    with zipfile.ZipFile(tmp_path / "declared.npz", "w") as archive:
        archive.writestr("X.npy", npy_header_only(shape))
        labels = io.BytesIO()
        np.save(labels, np.arange(2))
        archive.writestr("y.npy", labels.getvalue())
    with pytest.raises(LayerlapseError, match=r"^data file '.*declared.npz': " + message):
        load_data(tmp_path / "declared.npz")
    (tmp_path / "declared.npy").write_bytes(npy_header_only(shape))
    np.save(tmp_path / "labels.npy", np.arange(2))
    r = cli("render", tmp_path / "declared.npy", "--labels", tmp_path / "labels.npy", "--no-progress")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert re.search(message.removeprefix("X: "), r.stderr), r.stderr


def test_complex_features_are_refused_not_truncated(tmp_path):
    # float64 of a complex array drops its imaginary parts with only a warning, so the
    # network would be trained on other data than the file's
    X, y = blobs()
    np.savez(tmp_path / "c.npz", X=X + 1j, y=y)
    r = cli("render", tmp_path / "c.npz", "--no-progress")
    assert r.exit_code == 2 and "X: complex numbers (complex128); allowed: real numbers" in r.stderr, r.stderr
    with pytest.raises(LayerlapseError, match=r"^X: complex numbers"):
        Scene.from_points(X.astype(complex), y)


def test_stretch_colouring_of_a_very_wide_network_is_refused_before_training(tmp_path):
    """--color-by stretch forms (tangent points x width x width) Jacobians a frame: for
    1,024-D data that is gigabytes, so it is one line naming color_by, exit 2, before any
    training (the training line never prints)."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "wide.npz", X=rng.normal(size=(40, 1024)), y=np.arange(40) % 2)
    result = cli("render", tmp_path / "wide.npz", "--color-by", "stretch", "-o", tmp_path / "w.mp4")
    assert result.exit_code == 2
    assert "color_by: 'stretch' on a 1024-wide network" in result.output and "training:" not in result.output
    assert not (tmp_path / "w.mp4").exists()


def test_2d_data_seen_in_3d_is_first_looked_at_from_higher_up():
    """2-D data goes through 3-wide layers, so it is drawn in 3-D: from the iso view's 22
    degrees its plane was a thin slanted band (a fifth of the frame's height); the preset
    looks from 55 degrees. 3-D data keeps the iso view; --camera still overrides a preset's view."""
    from layerlapse.app.request import themed_style

    flat = data_preset(Scene.from_points(*blobs(n_dim=2)))
    assert flat.style == {"view": (-35.0, 55.0)}
    assert themed_style(flat, None, {}).direction() == (-35.0, 55.0)
    assert themed_style(flat, None, {"camera": "front"}).direction() == (-90.0, 0.0)
    assert data_preset(Scene.from_points(*blobs(n_dim=3))).style is None
