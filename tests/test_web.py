"""The offline web page: keyframes and quantisation (exact bounds), the page as one file,
the CLI, and the page itself in headless Chromium (opened from file://, network off)."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from layerlapse.app import api
from layerlapse.errors import LayerlapseError
from layerlapse.web import data as webdata
from tests.conftest import TINY_TRAINING
from tests.test_cli import TINY, run

#: the bound the issue sets: interpolated keyframes within 0.5% of the scene's extent
BOUND = 0.005


@pytest.fixture(scope="module")
def tori():
    """The default linked-tori geometry, coarser, with a 3-epoch network."""
    scene = api.load_scene("linked-tori", resolution=20, samples_per_class=150, grid_lines=3)
    return scene, api.train_network(scene, training=TINY_TRAINING, progress=False)


def test_interpolation_within_half_a_percent_of_the_extent(tori):
    scene, network = tori
    deformation = api.deform(scene, network)
    keys = webdata.select_keyframes(deformation)
    _, slices = scene.points()
    bounds = np.array([0] + [s.stop for s in slices])
    stored = webdata.dequantise(webdata.quantise(keys.positions, bounds))  # what the page decodes
    frames = np.arange(deformation.n_frames)
    exact = deformation.display(frames)
    page = webdata.interpolate(keys.frames, stored, frames)
    error = float(np.linalg.norm(page - exact, axis=-1).max()) / webdata.extent_of(exact)
    assert error < BOUND, error
    assert abs(keys.extent - webdata.extent_of(exact)) < 1e-5 * keys.extent
    assert keys.error <= webdata.TOLERANCE + 1e-9 and len(keys.frames) < deformation.n_frames / 3
    # affine stages (translate, tanh blend) and holds need one interval: far fewer keys than the polar paths
    assert keys.frames[0] == 0 and keys.frames[-1] == deformation.n_frames - 1


def test_runs_cover_the_timeline_once():
    stage = np.array([-1, -1, 0, 0, 0, 0, 1, 1, 1])
    hold = np.array([1, 1, 0, 0, 0, 1, 0, 0, 1], bool)
    assert webdata.runs(stage, hold) == [(0, 1), (2, 4), (5, 5), (6, 7), (8, 8)]


def test_quantisation_round_trip(rng):
    X = (rng.normal(size=(7, 500, 3)) * [1.0, 50.0, 1e-3]).astype(np.float32)
    bounds = np.array([0, 120, 500])
    q = webdata.quantise(X, bounds)
    back = webdata.dequantise(q)
    for p in range(2):
        sl = slice(bounds[p], bounds[p + 1])
        span = np.ptp(X[:, sl], axis=(0, 1))
        assert (np.abs(back[:, sl] - X[:, sl]).max((0, 1)) <= span / (2 * webdata.QMAX) * 0.51 + 1e-6 * span).all()
    deltas = webdata.delta_encode(q.q)  # jumps of up to 2 * 32767 wrap in int16 and come back exactly
    assert np.array_equal(webdata.delta_decode(deltas), q.q)
    assert webdata.quantise_unit(np.array([-9.0, 0.0, 9.0]), 2.0).tolist() == [0, 128, 255]


def test_page_is_one_file_with_nothing_external(tori, tmp_path):
    scene, network = tori
    with pytest.warns(UserWarning, match="off by up to"):  # two keyframes a stage: coarse, and said so
        result = api.web(scene, network=network, keyframes=2, progress=False)
    assert result.path == Path("outputs") / "linked-tori" / "linked-tori.html"
    text = result.path.read_text(encoding="utf-8")
    assert result.size == len(text.encode()) < 2_000_000  # two intervals a stage: small
    assert not re.search(r"https?://", text, re.IGNORECASE)
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(?!data:|blob:)""", text, re.IGNORECASE)
    assert "Content-Security-Policy" in text and text.count("<html") == 1
    assert [p.name for p in result.path.parent.glob("*.html")] == ["linked-tori.html"]
    bigger = api.web(scene, tmp_path / "more.html", network=network, keyframes=16, progress=False)
    assert bigger.size > result.size and bigger.error <= result.error


def test_large_page_warns(tori, monkeypatch):
    from layerlapse.web import page

    scene, network = tori
    monkeypatch.setattr(page, "WARN_BYTES", 1000)
    with pytest.warns(UserWarning, match="--keyframes"):
        api.web(scene, "p.html", network=network, keyframes=1, progress=False)


def test_cli_writes_the_page_and_refuses_bad_input(tmp_path):
    r = run("web", "linked-tori", *TINY, "-o", "page.html", "--keyframes", "4", "--no-progress",
            "--background", "dark", "--color-by", "stretch")
    assert r.returncode == 0, r.stderr
    assert "wrote page.html" in r.stdout and "keyframes" in r.stdout
    assert '"stretch":{' in (tmp_path / "page.html").read_text()
    for args in (["--keyframes", "0"], ["-o", "page.mp4"]):
        r = run("web", "linked-tori", *TINY, *args, "--no-progress")
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not (tmp_path / "page.mp4").exists()


def test_notebook_web_backend(tori):
    scene, network = tori
    shown = api.notebook(scene, backend="web", network=network)
    markup = shown._repr_html_()
    assert markup.startswith("<iframe srcdoc=") and "&lt;script type=&quot;module&quot;&gt;" in markup


# --- in a real browser ----------------------------------------------------------------------
def browse(exe: str, url: str, profile: Path, *args: str) -> str:
    """Open ``url`` in headless Chromium with the network cut off; -> stdout."""
    cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
           "--enable-unsafe-swiftshader", "--hide-scrollbars", "--window-size=800,500",
           "--virtual-time-budget=15000", f"--user-data-dir={profile}", "--no-first-run",
           "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", *args, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "Uncaught" not in done.stderr, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def page(tori, tmp_path_factory):
    scene, network = tori
    folder = tmp_path_factory.mktemp("web")
    result = api.web(scene, folder / "tori.html", network=network, progress=False)
    # the page's timeline: its cards stand as long as their words take to read
    from layerlapse.app.movie import cards_for
    from layerlapse.app.request import Request
    from layerlapse.draw.words import card_timeline

    req = Request.of(scene, None, {"network": network})
    prepared = req.prepare()
    return result.path, prepared.deform(timeline=card_timeline(req.timeline(), cards_for(prepared)))


def _dom(exe, path, fragment, profile):
    dom = browse(exe, path.resolve().as_uri() + fragment, profile, "--dump-dom")
    body = re.search(r"<body([^>]*)>", dom)
    errors = re.search(r'<pre id="errors"[^>]*>(.*?)</pre>', dom, re.S)
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert body and errors and title, dom[:500]
    return body.group(1), errors.group(1), title.group(1)


def test_page_plays_offline_in_chromium(chromium, page, tmp_path):
    path, deformation = page
    tl = deformation.timeline
    last = tl.n_frames - 1
    for fragment, frame in (("#t=0.0", 0), ("#t=0.5", int(np.floor(0.5 * last + 0.5))), ("#t=1.0", last)):
        body, errors, title = _dom(chromium, path, fragment, tmp_path / "profile")
        assert 'data-ready="1"' in body and not errors.strip(), (errors, body)
        label = html.escape(tl.caption(frame), quote=False)  # the movie's caption, as the DOM writes it
        assert title.startswith(label), (title, label)
        if frame == last:
            assert "accuracy" in title
    shots = {}
    for t in ("0.0", "1.0"):
        png = tmp_path / f"t{t}.png"
        browse(chromium, path.resolve().as_uri() + f"#t={t}", tmp_path / "profile", f"--screenshot={png}")
        import imageio.v3 as iio

        shots[t] = iio.imread(png)[..., :3].astype(int)
    for t, image in shots.items():
        view = image[60:-60]  # the canvas between the label and the control bar
        assert view.std() > 10, f"t={t}: the canvas is blank"
        r, g, b = view[..., 0], view[..., 1], view[..., 2]
        blue = ((b > r + 50) & (b > g + 10)).sum()      # Okabe-Ito blue, shaded
        orange = ((r > b + 80) & (r > g + 30)).sum()    # vermillion, shaded
        assert blue > 200 and orange > 200, f"t={t}: class colours missing ({blue} blue, {orange} orange pixels)"
    assert np.abs(shots["0.0"] - shots["1.0"]).mean() > 2


def test_blocked_requests_are_reported(chromium, page, tmp_path):
    """The page's CSP forbids requests, and the page says so in its DOM: so the check above,
    no errors, also means no request left the page."""
    path, _ = page
    text = path.read_text(encoding="utf-8")
    leaky = tmp_path / "leaky.html"
    leaky.write_text(text.replace('<script type="module">', '<img src="https://example.invalid/x.png">'
                                  '<script type="module">', 1), encoding="utf-8")
    _, errors, _ = _dom(chromium, leaky, "#t=0", tmp_path / "profile")
    assert "blocked request: https://example.invalid/x.png" in errors


def test_page_opened_plainly_plays_and_is_not_blank(chromium, page, tmp_path):
    """Opened with no #t= (a double-click, a notebook), the page plays from the start and
    shows the scene. (Under --virtual-time-budget the animation clock never runs backwards, so
    this does not replay the real-time race where a first step before play began made the
    camera NaN; template.html clamps that step, the frame and the camera's direction.)"""
    path, _ = page
    png = tmp_path / "plain.png"
    browse(chromium, path.resolve().as_uri(), tmp_path / "profile", f"--screenshot={png}")
    import imageio.v3 as iio

    view = iio.imread(png)[60:-60, :, :3].astype(int)
    assert view.std() > 10, "the playing page is blank"
    assert (view.min(2) < 200).mean() > 0.002


def test_only_pages_of_ours_are_replaced(tori, tmp_path):
    scene, network = tori
    mine = tmp_path / "mine.html"
    mine.write_text("<html><body>my notes</body></html>", encoding="utf-8")
    with pytest.raises(LayerlapseError, match="not replaced"):
        api.web(scene, mine, network=network, progress=False)
    assert mine.read_text(encoding="utf-8") == "<html><body>my notes</body></html>"
    ours = api.web(scene, tmp_path / "ours.html", network=network, progress=False)
    api.web(scene, ours.path, network=network, progress=False)  # ours: replaced


def test_too_few_keyframes_say_the_motion_is_off(tori, tmp_path):
    scene, network = tori
    with pytest.warns(UserWarning, match=r"off by up to .*% of the scene's size"):
        api.web(scene, tmp_path / "coarse.html", network=network, progress=False, keyframes=1)


def test_a_title_holding_the_templates_slots_is_only_text(tori):
    """The template is filled in one pass: a title of slot markers neither embeds three.js
    twice nor lets another slot's value in; it appears escaped, as text."""
    from layerlapse.draw.style import Style
    from layerlapse.web.page import SLOT, _template, _vendor_blocks, build_page

    scene, network = tori
    deformation = api.deform(scene, network)
    plain = build_page(scene, deformation, style=Style(), title="tori", accuracy=None, keyframes=2)
    title = "<b>{{THREE}}</b> {{META}} {{TITLE}} & {{DATA}}"
    tricky = build_page(scene, deformation, style=Style(), title=title, accuracy=None, keyframes=2)
    assert tricky.html.count(_vendor_blocks()) == 1 and tricky.html.count('id="ll-meta"') == 1
    assert abs(tricky.size - plain.size) < 500  # the title's length, not a second three.js (1.7 MB)
    assert "&lt;b&gt;{{THREE}}&lt;/b&gt; {{META}} {{TITLE}} &amp; {{DATA}}</title>" in tricky.html
    assert set(SLOT.findall(_template())) == {"TITLE", "BACKGROUND", "TEXT", "META", "DATA", "THREE"}


def test_the_page_marks_the_misclassified_as_the_movie_does(tori):
    """The drawing model's misclassified samples ride in the page's header, counted in its result text."""
    import json

    from layerlapse.draw.model import DrawModel
    from layerlapse.draw.style import Style
    from layerlapse.web.page import build_page

    scene, network = tori
    deformation = api.deform(scene, network)
    wrong = DrawModel(scene, deformation, Style(), flat=deformation.planar).misclassified
    assert wrong is not None  # three epochs: some samples end up on the wrong side
    html = build_page(scene, deformation, style=Style(), title="tori", accuracy=network.accuracy, keyframes=2).html
    meta = json.loads(re.search(r'id="ll-meta">(.*?)</script>', html).group(1))
    marks = meta["misclassified"]
    assert len(marks["points"]) == 3 * len(wrong.points) and marks["size"] == wrong.size
    assert meta["result"].endswith(f" \u00b7 {len(wrong.points)} misclassified (dots)")


def test_the_page_shows_the_activation_box_where_the_movie_does(tori):
    """Frame by frame, the page's box is the drawing model's: shown where the view shows it, at its corners."""
    import json

    from layerlapse.draw.source import activation_box
    from layerlapse.draw.style import Style
    from layerlapse.web.page import build_page

    scene, network = tori
    d = api.deform(scene, network)
    tl = d.timeline
    html = build_page(scene, d, style=Style(), title="tori", accuracy=None, keyframes=2).html
    box = json.loads(re.search(r'id="ll-meta">(.*?)</script>', html).group(1))["box"]
    shown = [activation_box(d, int(tl.stage[f]), float(tl.t[f]), output=tl.stage_names[tl.name[f]] == "output")
             for f in range(tl.n_frames)]
    assert [b is not None for b in box["frames"]] == [b is not None and b[3] > 0 for b in shown]
    f = next(i for i, b in enumerate(box["frames"]) if b)
    lo, hi, m, opacity = shown[f]
    corners = np.reshape(box["frames"][f]["points"], (-1, 3))
    assert np.allclose(corners[:, :m].min(0), lo, atol=1e-4) and np.allclose(corners[:, :m].max(0), hi, atol=1e-4)
    assert box["frames"][f]["opacity"] == pytest.approx(0.75 * opacity) and len(box["edges"]) == 2 * 12
    no_axes = build_page(scene, d, style=Style(axes=False), title="t", accuracy=None, keyframes=2).html
    assert '"box":null' in no_axes
