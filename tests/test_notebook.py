"""Notebook output: the static slider fallback and inline movies."""

import base64
import io
import re

import imageio.v3 as iio
import pytest
from conftest import TINY_SPIRALS, TINY_TRAINING

from layerlapse.app import api
from layerlapse.errors import LayerlapseError


@pytest.fixture(scope="module")
def spirals():
    scene = api.load_scene("spirals", **TINY_SPIRALS)
    return scene, api.train_network(scene, training=TINY_TRAINING, progress=False)


def test_static_slider(spirals, tmp_path):
    scene, net = spirals
    slider = api.notebook(scene, network=net, backend="static", frames=6, size=(120, 80))
    html = slider._repr_html_()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 6
    first = iio.imread(io.BytesIO(base64.b64decode(images[0])))
    assert first.shape == (80, 120, 3)
    assert 'type="range"' in html and 'max="5"' in html
    assert slider.labels[0].startswith("input") and slider.labels[-1].startswith("output")
    page = slider.save(tmp_path / "slider.html")
    assert page.read_text().startswith("<!doctype html>")


def test_inline_movie(spirals, tmp_path):
    scene, net = spirals
    res = api.render(scene, tmp_path / "m.mp4", network=net, size=(64, 48), fps=4, seconds_per_stage=0.2, progress=False)
    html = api.inline_movie(res.path)._repr_html_()
    assert html.startswith("<video") and "data:video/mp4;base64," in html
    with pytest.raises(LayerlapseError, match="does not exist"):
        api.inline_movie(tmp_path / "missing.mp4")


def test_backend_choice(spirals):
    scene, net = spirals
    with pytest.raises(LayerlapseError, match="backend: unknown value 'qt'; allowed: auto, trame, web, static"):
        api.notebook(scene, network=net, backend="qt")


def test_auto_prefers_the_web_page_without_trame(spirals, monkeypatch):
    from layerlapse.render import notebook

    scene, net = spirals
    monkeypatch.setattr(notebook, "trame_available", lambda: False)
    shown = api.notebook(scene, network=net)
    assert isinstance(shown, notebook.InlinePage) and "<iframe srcdoc=" in shown._repr_html_()
