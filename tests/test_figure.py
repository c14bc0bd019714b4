"""Stills and contact sheets: moments, sizes, transparency, vector files, bad input."""

import xml.etree.ElementTree as ET
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from conftest import TINY_SPIRALS, TINY_TRAINING

from layerlapse.app import api
from layerlapse.errors import LayerlapseError
from layerlapse.render.figure import FigureSize, default_sheet_stages, parse_at

REFERENCE = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def tori(tiny_tori):
    scene, net = tiny_tori
    return scene, net, api.deform(scene, net, fps=10)


def test_parse_at(tori):
    _, _, d = tori
    tl = d.timeline
    m = parse_at("layer2.tanh:0.5", tl)
    assert (m.stage, m.t, m.name) == (5, 0.5, "layer2.tanh")
    assert "layer 2 of 3" in m.label and "t = 0.50" in m.label
    assert parse_at("layer1.linear", tl).t == 1.0
    assert (parse_at("input", tl).stage, parse_at("input", tl).t) == (-1, 0.0)
    assert parse_at("output", tl).stage == 8
    assert parse_at("0s", tl).name == "input"
    m = parse_at(f"{tl.duration:.3f}s", tl)
    assert m.name == "output"
    with pytest.raises(LayerlapseError, match=r"stages: input, layer1.linear, .*, output"):
        parse_at("layer7.tanh", tl)
    with pytest.raises(LayerlapseError, match=r"outside \[0, 1\]"):
        parse_at("layer1.tanh:1.5", tl)
    with pytest.raises(LayerlapseError, match="past the end"):
        parse_at("999s", tl)
    positions = d.display_at(5, 0.5)
    np.testing.assert_allclose(positions, d.stage(5, np.array([0.5]))[0], atol=1e-6)


def test_contact_sheet_panels_and_size(tori, tmp_path):
    scene, net, _ = tori
    path = api.figure(scene, tmp_path / "sheet.png", sheet=True, size=(160, 120), columns=2, network=net, supersample=1)
    img = iio.imread(path)
    stages = default_sheet_stages(api.deform(scene, net))
    assert stages == ["input", "layer1.tanh", "layer2.tanh", "output"]
    gap = 2
    assert img.shape == (2 * 120 + gap, 2 * 160 + gap, 3)
    panels = [img[r * 122 : r * 122 + 120, c * 162 : c * 162 + 160] for r in range(2) for c in range(2)]
    for p in panels:
        assert p.std() > 5
    assert all(np.abs(a.astype(int) - b).mean() > 1 for a, b in zip(panels[:-1], panels[1:]))
    assert (img[:, 160:162] == 255).all()  # the gap is background
    one_row = iio.imread(api.figure(scene, tmp_path / "row.png", sheet=True, size=(100, 80), network=net, supersample=1,
                                    stages=["input", "output"]))
    assert one_row.shape == (80, 2 * 100 + 2, 3)


def test_transparent_png_and_supersampling(tori, tmp_path):
    scene, net, _ = tori
    path = api.figure(scene, tmp_path / "t.png", at="layer1.tanh:0.5", size=(200, 150), transparent=True, network=net)
    img = iio.imread(path)
    assert img.shape == (150, 200, 4)
    for corner in (img[0, 0], img[0, -1], img[-1, 0], img[-1, -1]):
        assert corner[3] == 0
    assert (img[..., 3] == 255).mean() > 0.02  # the data is opaque
    edge = (img[..., 3] > 0) & (img[..., 3] < 255)
    assert edge.any()  # supersampling leaves partially covered edge pixels


def test_vector_figures_parse(tori, tmp_path):
    scene, net, _ = tori
    with pytest.warns(UserWarning, match="labels are vector"):
        svg = api.figure(scene, tmp_path / "f.svg", size=(200, 150), network=net)
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert any(el.tag.endswith("text") for el in root.iter())
    with pytest.warns(UserWarning):
        pdf = api.figure(scene, tmp_path / "f.pdf", size=(200, 150), network=net)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]


def test_inches_and_dpi(tori, tmp_path):
    scene, net, _ = tori
    path = api.figure(scene, tmp_path / "i.png", inches=(1.0, 0.5), dpi=200, network=net, supersample=1)
    assert iio.imread(path).shape[:2] == (100, 200)
    from PIL import Image

    assert round(Image.open(path).info["dpi"][0]) == 200
    assert FigureSize.inches(6, 4, 300) == FigureSize(1800, 1200, 300)


def test_figure_bad_input_fails_before_work(tori, tmp_path):
    scene, net, _ = tori
    with pytest.raises(LayerlapseError, match=r"allowed: \.png, \.pdf, \.svg, \.eps"):
        api.figure(scene, tmp_path / "f.jpg", network=net)
    with pytest.raises(LayerlapseError, match="larger than the renderer allows"):
        api.figure(scene, tmp_path / "huge.png", size=(12000, 9000), network=net)
    with pytest.raises(LayerlapseError, match="stages: input"):
        api.figure(scene, tmp_path / "x.png", at="layer5.tanh", network=net)
    with pytest.raises(LayerlapseError, match="contact sheets are written as PNG"):
        api.figure(scene, tmp_path / "s.pdf", sheet=True, network=net)
    assert list(tmp_path.iterdir()) == []


def test_still_matches_reference(regen_references):
    scene = api.load_scene("spirals", **TINY_SPIRALS)
    net = api.train_network(scene, training=TINY_TRAINING, progress=False)
    path = api.figure(scene, "still.png", at="layer2.tanh:0.5", size=(240, 160), network=net)
    img = iio.imread(path)
    ref_path = REFERENCE / "spirals_layer2_tanh_half.png"
    if regen_references:
        iio.imwrite(ref_path, img)
    ref = iio.imread(ref_path)
    diff = np.abs(img.astype(int) - ref)
    assert diff.mean() < 2.0 and (diff.max(2) > 40).mean() < 0.01, (diff.mean(), (diff.max(2) > 40).mean())
