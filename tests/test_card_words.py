"""Cards long enough to read, lines wrapped without a lone last word, and words that say
what the frames show (grid-only's question, no decision boundary where there is none, the
lift's verdict whatever the sign, the flow's map in a face VTK has)."""

import numpy as np

from layerlapse.app import network as source
from layerlapse.app.movie import cards_for
from layerlapse.app.preset_claims import CLAIMS
from layerlapse.app.request import Request
from layerlapse.draw.words import Cards, balanced, card_timeline, cues, reading_seconds, wrap
from layerlapse.networks.model import FlowConfig, NetworkConfig
from layerlapse.networks.timeline import Timeline, TimelineConfig

QUESTION = "Can three width-2 tanh layers separate a disk from the ring around it?"  # 13 words
VERDICT = ("No. Width-2 tanh layers are homeomorphisms of the plane, so the ring always encloses the disk.",
           "98.9%: the network pinches the ring thin where the disk pushes through; 17 samples misclassified.")


def test_cards_stand_about_three_words_a_second_within_a_floor_and_a_cap():
    assert reading_seconds(QUESTION) == 0.5 + 13 / 3
    words = len(" ".join(VERDICT).split())
    assert 25 <= words <= 35 and reading_seconds("\n".join(VERDICT)) == 0.5 + words / 3
    assert reading_seconds("Yes.") == 2.0 and reading_seconds("word " * 100) == 12.0


def test_the_timeline_gives_each_card_its_reading_time_and_keeps_seconds_given():
    stages = source.planned_stages(NetworkConfig(input_dim=2, hidden=(2, 2)))
    cards = Cards(QUESTION, VERDICT)
    timed = card_timeline(TimelineConfig(), cards)
    assert timed.title_card == reading_seconds(QUESTION) and timed.verdict_card == reading_seconds(cards.text("verdict"))
    tl = Timeline.build(stages, timed, 15.0)
    start, stop = tl.card_span("title")
    assert stop - start == round(15 * reading_seconds(QUESTION)) >= 60  # 1.5 s (22 frames) before
    start, stop = tl.card_span("verdict")
    assert stop - start == round(15 * reading_seconds(cards.text("verdict"))) >= 150  # 3 s (45 frames) before
    # the subtitle cues follow the timeline: each card's cue lasts as long as it stands
    for which in ("title", "verdict"):
        a, b = tl.card_span(which)
        (cue,) = [c for c in cues(tl, cards) if c.text == cards.text(which)]
        assert (cue.start, cue.end) == (a / 15, b / 15)
    # seconds a user gave (or --no-cards) are kept
    assert card_timeline(TimelineConfig(title_card=1.0), cards).title_card == 1.0
    assert card_timeline(TimelineConfig().without_cards(), cards) == TimelineConfig().without_cards()
    assert card_timeline(TimelineConfig(), None) == TimelineConfig()


def test_wrapped_lines_are_balanced_with_no_lone_last_word():
    # at 480p the title card's lines hold about 58 characters: plain wrapping left "it?" alone
    chars = 58
    lines = balanced(QUESTION + " " + "It?", chars)
    assert len(lines) == 2 and min(len(line.split()) for line in lines) >= 3
    lines = balanced("Can three width-3 tanh layers unlink two linked solid tori?", 55)
    assert len(lines) == 2 and len(lines[1].split()) >= 3
    assert balanced("short", 40) == ["short"]
    text = wrap(QUESTION, width_px=0.86 * 854, font_px=34 * 480 / 720)
    assert all(len(line.split()) >= 3 for line in text.split("\n"))


def test_grid_only_asks_a_question_and_says_what_its_frames_show():
    prepared = Request.of("grid-only", None, {}).prepare()
    cards = cards_for(prepared)
    assert cards.title.endswith("?") and "tanh" in cards.title
    verdict = " ".join(cards.verdict)
    assert "(-1, 1)^2" in verdict and "bends" in verdict and "decision" not in verdict
    captions = prepared.deform(fps=5.0).timeline.captions
    assert "decision" not in captions[-1] and captions[-1].startswith("output")


def test_a_two_class_output_keeps_its_decision_boundary_caption():
    prepared = Request.of("two-curves", None, {}).prepare()
    assert prepared.deform(fps=5.0).timeline.captions[-1] == "output: the decision boundary"


def test_the_lift_verdict_holds_whatever_the_sign_of_the_lift():
    reason = CLAIMS["disk-annulus-lift"].reason
    assert "above" not in reason and "below" not in reason and "part in height" in reason


def test_the_flow_caption_has_no_subscript_name():
    stages = source.planned_stages(NetworkConfig(input_dim=3, hidden=(), flow=FlowConfig()))
    caption = Timeline.build(stages, TimelineConfig(), 5.0).captions[1]
    assert "phi" not in caption and "x(t)" in caption and "x' = v(x)" in caption
    assert np.all([ord(ch) < 0x2000 or ch == "\u00b7" for ch in caption])
