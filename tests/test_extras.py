"""The optional extras: a feature whose package is not installed says so in one line (the
feature, the package, the pip line), exit code 2, before any work; the rest runs without it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from layerlapse._extras import EXTRAS, installed, require
from layerlapse.cli import app
from layerlapse.errors import LayerlapseError

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def hide(monkeypatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: find_spec says None, import fails
    assert not installed(module)


@pytest.mark.parametrize(("module", "args", "what"), [
    ("distributed", ("batch", str(ROOT / "examples" / "small-sweep.toml"), "-o", "swept"), "batch: running a sweep's jobs"),
    ("ripser", ("inspect", "two-curves"), "inspect: the Betti numbers per layer"),
    ("torchdiffeq", ("train", "linked-tori-flow", "--epochs", "1"), "training a flow layer"),
    ("distributed", ("render", "two-curves", "--workers", "2"), "render --workers/--scheduler: a split render"),
    ("pygltflib", ("export", "two-curves", "--animate"), "export --animate: an animated glTF"),
], ids=["batch", "inspect", "flow", "split", "gltf"])
def test_a_missing_extra_is_one_line_before_any_work(monkeypatch, tmp_path, module, args, what):
    hide(monkeypatch, module)
    r = run(*args)
    extra, package = EXTRAS[module]
    assert r.exit_code == 2, r.output
    assert r.stderr.strip() == (f"error: {what} needs {package}, which is not installed; "
                                f"pip install 'layerlapse[{extra}]' (or pip install '{package}')")
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "swept").exists()


def test_a_movie_and_a_still_need_no_extra(monkeypatch, tmp_path):
    for module in EXTRAS:
        hide(monkeypatch, module)
    r = run("figure", "two-curves", "--at", "output", "--size", "160x90", "-o", "still.png")
    assert r.exit_code == 0, r.output
    r = run("render", "two-curves", "--quality", "low", "--size", "160x90", "--seconds-per-stage", "0.3",
            "--no-progress", "-o", "movie.mp4")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "still.png").stat().st_size > 500 and (tmp_path / "movie.mp4").stat().st_size > 1000


def test_require_passes_for_what_is_installed_and_names_the_extra_otherwise(monkeypatch):
    require("distributed", "x")  # the test environment installs every extra
    hide(monkeypatch, "ripser")
    with pytest.raises(LayerlapseError, match=r"^x needs ripser, which is not installed; pip install 'layerlapse\[inspect\]'"):
        require("ripser", "x")
