"""Command-line habits of manim and PyVista users: -q l|m|h, -p/--preview, --help grouped in
panels with choices named, --version (tests/test_cli.py)."""

from __future__ import annotations

import subprocess

import imageio.v3 as iio
import pytest
from typer.testing import CliRunner

from layerlapse.cli import app
from layerlapse.render import resolve_settings


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_render_help_groups_its_options_and_names_the_choices():
    r = run("render", "--help")
    assert r.exit_code == 0
    for panel in ("Output", "Timeline", "Style", "Network", "Training", "Scene", "Split across workers"):
        assert f"─ {panel} ─" in r.stdout, panel
    for choices in ("low|medium|high", "polar|straight", "burn|file|none", "plane|pulled-back", "class|stretch"):
        assert choices in r.stdout, choices
    assert "-q" in r.stdout and "-p" in r.stdout


def test_quality_letters_are_the_qualities():
    for letter, name in (("l", "low"), ("m", "medium"), ("h", "high")):
        assert resolve_settings(letter) == resolve_settings(name)


def test_q_l_renders_the_low_quality_movie(tmp_path):
    r = run("render", "two-curves", "-q", "l", "--seconds-per-stage", "0.3", "--no-cards", "--no-progress",
            "-o", "low.mp4")
    assert r.exit_code == 0, r.output
    props = iio.improps(tmp_path / "low.mp4", plugin="pyav")
    assert props.shape[1:3] == (480, 854)
    r = run("render", "two-curves", "-q", "x", "-o", "x.mp4")
    assert r.exit_code == 2 and r.stderr.strip() == ("error: quality: unknown value 'x'; allowed: low, medium, high "
                                                     "(or l, m, h)")


@pytest.fixture
def opened(monkeypatch):
    calls: list[list[str]] = []

    class FakePopen:
        def __init__(self, args, **kwargs):
            calls.append(list(args))

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    return calls


def test_preview_opens_the_result_where_a_display_exists(monkeypatch, tmp_path, opened):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    r = run("figure", "two-curves", "--at", "output", "--size", "160x90", "-o", "still.png", "-p")
    assert r.exit_code == 0, r.output
    assert opened == [["xdg-open", "still.png"]]


def test_preview_without_a_display_says_so_and_keeps_the_file(monkeypatch, tmp_path, opened):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    r = run("figure", "two-curves", "--at", "output", "--size", "160x90", "-o", "still.png", "--preview")
    assert r.exit_code == 0 and opened == []
    assert "notice: preview: no display to open 'still.png' with; it is written" in r.stderr
    assert (tmp_path / "still.png").stat().st_size > 500
