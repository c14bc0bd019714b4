"""The words on screen: title and verdict cards, the class legend, per-stage captions, and
the same as WebVTT / SRT subtitles timed to the timeline."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from layerlapse.app import api
from layerlapse.app import network as source
from layerlapse.app.movie import cards_for
from layerlapse.app.request import Prepared
from layerlapse.cli import app
from layerlapse.draw.style import OKABE_ITO
from layerlapse.draw.words import Cards, cues, fallback_cards, srt, webvtt
from layerlapse.errors import LayerlapseError
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.stages import Activation, ActivationStage
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.render import Style, render_frames, resolve_settings

SIZE = (428, 240)
CARDS = Cards("Can width-3 tanh layers unlink two linked tori?",
              ("No. They stay linked in every frame.", "92.4%: 229 samples misclassified."))
TIMELINE = {"seconds_per_stage": 0.5, "pause": 0.0, "hold_start": 0.25, "hold_end": 0.5}


def _timeline(fps=10.0, **config):
    stages = source.planned_stages(NetworkConfig(input_dim=3, hidden=(3, 3)))
    return stages, Timeline.build(stages, TimelineConfig(**config), fps)


def test_cards_lengthen_the_holds_and_the_timeline_says_where():
    _stages, tl = _timeline()
    _, bare = _timeline(title_card=0, verdict_card=0)
    assert tl.n_frames == bare.n_frames + 15 + 30
    assert tl.card_span("title") == (0, 15) and tl.card_span("verdict") == (tl.n_frames - 30, tl.n_frames)
    assert tl.card_at(0) == "title" and tl.card_at(15) is None and tl.card_at(tl.n_frames - 1) == "verdict"
    assert bare.card_span("title") is None and bare.card_at(0) is None
    # the cards stand over holds: the input and the output, nothing moves under them
    assert (tl.stage[:15] == -1).all() and tl.hold[:15].all() and tl.hold[-30:].all()
    assert tl.stage_names[tl.name[-1]] == "output" and (tl.t[-30:] == 1).all()
    assert TimelineConfig().without_cards() == TimelineConfig(title_card=0, verdict_card=0)


def test_captions_come_from_the_stage_list():
    stages, tl = _timeline()
    assert tl.captions[1:-1] == tuple(st.caption(2) for st in stages)
    linear = tl.captions[1 + [st.kind for st in stages].index("linear")]
    assert "x -> p(t) x, p(1) = W" in linear and linear.startswith("layer 1 of 2 \u00b7 linear")
    tanh = ActivationStage(1, 2, 2, 2, Activation.parse("tanh"))
    assert tanh.caption(3) == "layer 2 of 3 \u00b7 tanh (squash into (-1, 1)^2): x -> (1 - t) x + t tanh(x)"
    moving = int(np.flatnonzero(~tl.hold)[3])
    assert tl.caption(moving).endswith(f" \u00b7 t = {tl.t[moving]:.2f}")
    assert "t =" not in tl.caption(0) and tl.caption(0).startswith("input")


def _clock(stamp, sep):
    h, m, rest = stamp.split(":")
    s, ms = rest.split(sep)
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _parse(text, *, vtt):
    sep = "." if vtt else ","
    body = text.split("\n\n")
    if vtt:
        assert body[0] == "WEBVTT"
        body = body[1:]
    out = []
    for i, block in enumerate(b for b in body if b.strip()):
        lines = block.strip("\n").split("\n")
        assert lines[0] == str(i + 1)
        m = re.fullmatch(rf"(\d\d:\d\d:\d\d\{sep}\d\d\d) --> (\d\d:\d\d:\d\d\{sep}\d\d\d)", lines[1])
        assert m, lines[1]
        assert len(lines) > 2 and all(line.strip() for line in lines[2:])
        out.append((_clock(m.group(1), sep), _clock(m.group(2), sep), "\n".join(lines[2:])))
    return out


def test_subtitle_cues_one_per_stage_and_card_timed_to_the_frames():
    fps = 12.0
    _, tl = _timeline(fps)
    items = cues(tl, CARDS, " \u00b7 accuracy 92.4%")
    assert len(items) == len(tl.stage_names) + 2
    for parsed in (_parse(webvtt(items), vtt=True), _parse(srt(items), vtt=False)):
        assert len(parsed) == len(items)
        stage_cues = [c for c in parsed if c[2] not in (CARDS.title, "\n".join(CARDS.verdict))]
        assert len(stage_cues) == len(tl.stage_names)
        for (_name, start, stop), (a, b, _) in zip(tl.stage_spans(), stage_cues):
            assert a == pytest.approx(round(start / fps, 3), abs=5e-4)
            assert b == pytest.approx(round(stop / fps, 3), abs=5e-4)
        title = next(c for c in parsed if c[2] == CARDS.title)
        assert title[:2] == (0.0, pytest.approx(round(tl.card_span("title")[1] / fps, 3)))
        verdict = next(c for c in parsed if c[2] == "\n".join(CARDS.verdict))
        assert verdict[1] == pytest.approx(tl.n_frames / fps, abs=5e-4)
    assert "x -&gt; p(t) x" in webvtt(items) and "x -> p(t) x" in srt(items)
    assert stage_cues[-1][2].endswith("accuracy 92.4%")


def test_fallback_cards_say_the_numbers():
    cards = fallback_cards("the linked tori", accuracy=0.924, misclassified=229, n_samples=3000)
    assert cards.title == "The linked tori"
    assert cards.verdict[0].startswith("Accuracy 92.4%") and "229 misclassified" in cards.verdict[1]
    assert "correctly" in fallback_cards("x", accuracy=1.0, misclassified=0, n_samples=10).verdict[1]


@pytest.mark.parametrize("name", ["linked-tori", "disk-annulus", "two-curves", "linked-tori-flow"])
def test_preset_cards_ask_the_claim_and_answer_with_the_networks_numbers(name):
    """The cards of a preset's shipped network: its claim's question for the network used,
    and a verdict whose answer, accuracy, count and linking number are the network's and the
    certificate's (a flow's stretched cores are not read)."""
    from layerlapse.networks.certificate import linking_values

    prepared = api.prepare(name)
    cards = cards_for(prepared)
    assert cards.title.startswith("Can ") and cards.title.endswith("?")
    n = len(prepared.preset.samples)
    accuracy = prepared.network.accuracy
    wrong = round((1 - accuracy) * n)
    text = " ".join(cards.verdict)
    kind = prepared.preset.claim.kind
    assert cards.verdict[0].startswith("Yes." if wrong == 0 and kind == "separates" else "No." if kind == "cannot"
                                       else cards.verdict[0][:3])
    if wrong:
        assert f"{100 * accuracy:.1f}%" in text and f"{wrong:,} samples misclassified" in text
    else:
        assert "100%" in text and "classified correctly" in text
    if name == "linked-tori":
        links = linking_values(prepared.deform(fps=5), prepared.preset.scene, None)
        assert np.allclose(links, 1.0) and "linking number 1 in every frame" in text
    else:
        assert "linking" not in text


@pytest.fixture(scope="module")
def tori(tiny_tori):
    return tiny_tori


def _frames(scene, net, *, cards, captions="none"):
    d = api.deform(scene, net, fps=8, timeline=TIMELINE if cards else {**TIMELINE, "title_card": 0,
                                                                        "verdict_card": 0})
    settings = resolve_settings("low", SIZE, 8)
    return d, list(render_frames(scene, d, settings, style=Style(), progress=False,
                                 cards=CARDS if cards else None, captions=captions))


def _dark(img, rows, cols):
    """Pixels near the text colour (#222222) in a band of the frame."""
    h, w = img.shape[:2]
    band = img[int(rows[0] * h):int(rows[1] * h), int(cols[0] * w):int(cols[1] * w)].astype(int)
    return int((np.abs(band - 0x22).max(2) < 40).sum())


def _panel_edge(img):
    """Whether a row of the top quarter is a card panel's edge: grey (half the text colour over
    white) across most of the width."""
    h, w = img.shape[:2]
    band = img[: h // 4, int(0.05 * w):int(0.95 * w)].astype(int)
    grey = ((band >= 115) & (band <= 170)).all(2)
    return bool((grey.mean(1) > 0.7).any())


def _has_colour(img, hex_colour, rows, tol=6):
    h = img.shape[0]
    band = img[int(rows[0] * h):int(rows[1] * h)].astype(int)
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(band - target).max(2) <= tol).sum())


def test_cards_stand_on_the_first_and_last_frames_and_the_legend_in_the_bottom_band(tori):
    scene, net = tori
    d, with_cards = _frames(scene, net, cards=True)
    _, without = _frames(scene, net, cards=False)
    top, middle = (0.0, 0.25), (0.02, 0.98)
    for frame in (with_cards[0], with_cards[-1]):
        assert _dark(frame, top, middle) > 80, "no card text on the panel"
    for frame in (without[0], without[-1]):
        assert _dark(frame, top, middle) < 20
    # a frame between the cards has none
    middle_frame = with_cards[d.timeline.card_span("title")[1] + 1]
    assert _dark(middle_frame, top, middle) < 20
    for frame in (with_cards[0], without[len(without) // 2]):
        for colour in OKABE_ITO[:2]:
            assert _has_colour(frame, colour, (0.88, 1.0)) >= 12, f"legend swatch {colour} missing"


def test_burnt_captions_say_each_stage_and_none_say_nothing(tori):
    scene, net = tori
    d, burnt = _frames(scene, net, cards=False, captions="burn")
    _, bare = _frames(scene, net, cards=False, captions="none")
    tl = d.timeline
    width = (0.0, 1.0)
    for _, start, _ in tl.stage_spans():
        assert _dark(burnt[start], (0.0, 0.1), width) > 20, tl.captions[tl.name[start]]
        assert _dark(bare[start], (0.0, 0.1), width) < 5


def test_render_writes_subtitles_beside_the_movie(tori, tmp_path):
    scene, net = tori
    out = tmp_path / "tori.mp4"
    result = api.render(scene, out, network=net, quality="low", size=(192, 108), fps=4, seconds_per_stage=0.5,
                        captions="file", progress=False)
    vtt, sub = tmp_path / "tori.vtt", tmp_path / "tori.srt"
    assert result.subtitles == (vtt, sub) and out.exists()
    tl = result.deformation.timeline
    for path, is_vtt in ((vtt, True), (sub, False)):
        parsed = _parse(path.read_text(encoding="utf-8"), vtt=is_vtt)
        assert len(parsed) == len(tl.stage_names) + 2
        assert max(c[1] for c in parsed) == pytest.approx(tl.n_frames / 4, abs=5e-4)
    assert cards_for(Prepared(scene, net)).title in vtt.read_text(encoding="utf-8")


def test_bad_captions_are_refused_before_any_work(tori):
    scene, net = tori
    with pytest.raises(LayerlapseError, match=r"captions: unknown value 'srt'; allowed: burn, file, none"):
        api.render(scene, network=net, captions="srt")
    result = CliRunner().invoke(app, ["render", "two-curves", "--captions", "srt", "--no-progress"])
    assert result.exit_code == 2 and "captions: unknown value 'srt'" in result.output


def test_the_page_carries_the_movies_captions_and_cards(tori):
    import json

    from layerlapse.web.page import build_page

    scene, net = tori
    d = api.deform(scene, net)
    tl = d.timeline
    html = build_page(scene, d, style=Style(), title="tori", accuracy=net.accuracy, keyframes=2, cards=CARDS).html
    meta = json.loads(re.search(r'id="ll-meta">(.*?)</script>', html).group(1))
    assert meta["labels"] == list(tl.captions)
    moving = int(np.flatnonzero(~tl.hold)[2])
    assert meta["tOf"][moving] == round(float(tl.t[moving]), 2) and meta["tOf"][0] is None
    title, verdict = meta["cards"]
    assert (title["start"], title["stop"]) == tl.card_span("title") and title["lines"] == [CARDS.title]
    assert (verdict["start"], verdict["stop"]) == tl.card_span("verdict") and verdict["lines"] == list(CARDS.verdict)
    assert 'id="card"' in html and "showCard(k)" in html


def test_a_sheet_opens_with_the_title_and_ends_with_the_verdict(tori, tmp_path):
    from layerlapse.render.figure import FigureSize, save_contact_sheet

    scene, net = tori
    d = api.deform(scene, net, fps=8, timeline=TIMELINE)
    panel = FigureSize(320, 180)
    plain = save_contact_sheet(tmp_path / "plain.png", scene, d, panel=panel, supersample=1, style=Style())
    carded = save_contact_sheet(tmp_path / "cards.png", scene, d, panel=panel, supersample=1, style=Style(),
                                cards=CARDS)
    import imageio.v3 as iio

    a, b = iio.imread(plain), iio.imread(carded)
    first, last = (slice(0, 320), slice(a.shape[1] - 320, a.shape[1]))
    for cols in (first, last):
        # the card's panel: its edge, a grey line across the panel's width in the top band
        assert _panel_edge(b[:, cols]) and not _panel_edge(a[:, cols])
    middle = slice(330, 650)
    assert np.array_equal(a[:, middle], b[:, middle]), "a panel between the input and the output has no card"


def test_a_figure_inside_a_card_shows_it(tori, tmp_path):
    from layerlapse.render.figure import parse_at

    scene, net = tori
    d = api.deform(scene, net, fps=8, timeline=TIMELINE)
    assert parse_at("0.1s", d.timeline).card == "title"
    assert parse_at(f"{d.timeline.duration - 0.1:.2f}s", d.timeline).card == "verdict"
    assert parse_at("input", d.timeline).card is None and parse_at("output", d.timeline).card is None


def test_misclassified_markers_stay_visible_at_480p(tori):
    from layerlapse.draw.camera import FIT, CameraPath
    from layerlapse.draw.model import DrawModel

    scene = api.load_scene("two-curves")
    d = api.deform(scene, api.train_network(scene, training={"epochs": 1}, progress=False), fps=4)
    camera = CameraPath.for_movie(d, fps=4, style=Style(), aspect=854 / 480, subset=scene.framed_points())
    model = DrawModel(scene, d, Style(), flat=True, camera=camera, start=d.display(np.array([0]))[0])
    ring_px = model.marker_ring(camera, (854, 480)) * 480 / (FIT * float(camera.radius[-1]))
    assert ring_px >= 4.5 - 1e-9  # the old rings: 3 pixels at 480p, one pixel wide


def test_the_verdict_inset_looks_at_the_errors():
    from layerlapse.render.words import pose_error_inset

    class Camera:
        def GetPosition(self): return (0.0, 0.0, 10.0)
        def GetFocalPoint(self): return (0.0, 0.0, 0.0)
        def GetViewUp(self): return (0.0, 1.0, 0.0)
        def GetParallelProjection(self): return True
        def GetParallelScale(self): return 5.0

    class Lens:
        def pose(self, cam, centre, half, what, avoid=None, corner=None):
            self.centre, self.half, self.caption = centre, half, what

    rng = np.random.default_rng(0)
    cluster = np.c_[rng.normal(2.0, 0.05, (40, 2)), np.zeros(40)]
    stray = np.array([[-4.0, -4.0, 0.0], [4.0, -3.0, 0.0]])
    lens = Lens()
    assert pose_error_inset(Camera(), (854, 480), np.vstack([cluster, stray]), lens)
    assert np.allclose(lens.centre[:2], 2.0, atol=0.05) and lens.half < 1.0
    assert lens.caption == "40 of 42 misclassified"
    assert not pose_error_inset(Camera(), (854, 480), np.zeros((0, 3)), lens)


def test_the_verdict_inset_keeps_its_group_and_corner_while_the_camera_turns():
    """Two groups of errors: 30 on a line along z, 20 in a ball. From the front the line is
    end-on, the densest spot; from the side it spreads out and the ball is. The lens chosen
    at the verdict's first frame keeps its group and its corner in every later frame (judged
    afresh, it jumped from one group and corner to the other as the camera orbited)."""
    from layerlapse.render.words import pose_error_inset

    class Camera:
        def __init__(self, position):
            self.position = position
        def GetPosition(self): return self.position
        def GetFocalPoint(self): return (0.0, 0.0, 0.0)
        def GetViewUp(self): return (0.0, 1.0, 0.0)
        def GetParallelProjection(self): return True
        def GetParallelScale(self): return 5.0

    class Renderer:
        viewport = (0.0, 0.0, 0.3, 0.3)
        def GetViewport(self): return self.viewport

    class Lens:
        renderer = Renderer()
        def pose(self, cam, centre, half, what, avoid=None, corner=None):
            self.caption, self.corner = what, corner
            self.renderer.viewport = corner if corner is not None else (0.7, 0.7, 1.0, 1.0)

    rng = np.random.default_rng(0)
    line = np.c_[np.full(30, 2.0), rng.normal(0.0, 0.05, 30), np.linspace(-2.0, 2.0, 30)]  # a line along z
    ball = rng.normal(0.0, 0.05, (20, 3)) + [-2.0, -2.0, 0.0]  # apart from the line in both views
    errors = np.vstack([line, ball])
    front, side = Camera((0.0, 0.0, 10.0)), Camera((10.0, 0.0, 0.0))
    fresh = Lens()
    pose_error_inset(front, (854, 480), errors, fresh)
    assert fresh.caption == "30 of 50 misclassified"  # from the front the line is end-on: densest
    pose_error_inset(side, (854, 480), errors, fresh)
    assert fresh.caption == "20 of 50 misclassified"  # from the side the ball is: judged afresh, it jumps
    kept, chosen = Lens(), {}
    pose_error_inset(front, (854, 480), errors, kept, chosen=chosen)
    first_corner = kept.renderer.GetViewport()
    pose_error_inset(side, (854, 480), errors, kept, chosen=chosen)
    assert kept.caption == "30 of 50 misclassified" and kept.corner == first_corner
