"""Networks are cached in the user's cache folder (LAYERLAPSE_CACHE overrides it), shared by
every working folder; ``layerlapse cache list|clear`` show and remove them."""

from __future__ import annotations

import os

import platformdirs
import pytest
from conftest import TINY_SPIRALS, cached_networks
from typer.testing import CliRunner

from layerlapse.app import api, cache
from layerlapse.cli import app

TRAINING = {"epochs": 2}


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_a_network_trained_in_one_folder_is_loaded_in_another(tmp_path, monkeypatch):
    scene = api.load_scene("spirals", **TINY_SPIRALS)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    first = api.get_network(scene, training=TRAINING, progress=False)
    (pt,) = cached_networks(tmp_path, "spirals")
    stamp = pt.stat().st_mtime_ns
    monkeypatch.chdir(tmp_path / "b")
    monkeypatch.setattr("layerlapse.app.network.train_network", lambda *a, **k: pytest.fail("trained again"))
    again = api.get_network(scene, training=TRAINING, progress=False)
    assert again.accuracy == first.accuracy and pt.stat().st_mtime_ns == stamp
    assert not (tmp_path / "a" / "outputs").exists() and not (tmp_path / "b" / "outputs").exists()


def test_the_cache_is_the_platform_folder_unless_the_variable_moves_it(tmp_path, monkeypatch):
    assert cache.root() == tmp_path / "cache"  # conftest sets LAYERLAPSE_CACHE
    monkeypatch.setenv("LAYERLAPSE_CACHE", "~/somewhere")
    assert cache.root() == cache.Path(os.path.expanduser("~/somewhere"))
    monkeypatch.delenv("LAYERLAPSE_CACHE")
    assert cache.root() == platformdirs.user_cache_path("layerlapse", appauthor=False)


def test_cache_list_and_clear(tmp_path):
    scene = api.load_scene("spirals", **TINY_SPIRALS)
    api.get_network(scene, training=TRAINING, progress=False)
    api.get_network(scene, training={"epochs": 3}, progress=False)
    folder = tmp_path / "cache" / "networks" / "spirals"
    (folder / "notes.txt").write_text("mine")  # not a network: never removed
    r = run("cache", "list")
    lines = r.stdout.strip().splitlines()
    assert r.exit_code == 0 and len(lines) == 3 and all(line.startswith("spirals ") for line in lines[:2])
    assert lines[-1].startswith("2 networks, ") and str(tmp_path / "cache") in lines[-1]
    assert run("cache", "list", "two-curves").stdout.startswith("0 networks, ")
    r = run("cache", "clear", "spirals")
    assert r.exit_code == 0 and r.stdout.startswith("removed 2 networks (")
    assert not cached_networks(tmp_path, "spirals") and not list(folder.glob("*.npz"))
    assert (folder / "notes.txt").read_text() == "mine"
    r = run("cache", "clear", "../spirals")
    assert r.exit_code == 2 and r.stderr.startswith("error: scene: '../spirals' is not a scene name")
