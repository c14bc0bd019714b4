"""A frame drawn from the same inputs as the one before is not rendered again (holds, cards):
the movie's frames are byte-identical to rendering every frame, and frames are really skipped."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import layerlapse as ll
from layerlapse.app import api
from layerlapse.draw.style import Style
from layerlapse.draw.words import Cards
from layerlapse.render import render_frames, resolve_settings
from layerlapse.render.view import SceneView

SIZE = (320, 180)
TIMELINE = {"seconds_per_stage": 0.5, "pause": 0.25, "hold_start": 0.5, "hold_end": 0.75,
            "title_card": 0.5, "verdict_card": 0.5}
CARDS = Cards("Can width-3 tanh layers unlink two linked tori?", ("No.", "The last layer cannot unlink them."))


@pytest.fixture
def grabs(monkeypatch):
    """How many frames were rendered (SceneView.grab calls)."""
    count = [0]
    grab = SceneView.grab

    def counted(self):
        count[0] += 1
        return grab(self)

    monkeypatch.setattr(SceneView, "grab", counted)
    return count


def both(scene, d, style, grabs, **options):
    settings = resolve_settings("low", SIZE, d.timeline.fps)
    every = [f.copy() for f in render_frames(scene, d, settings, style=style, progress=False, reuse=False, **options)]
    assert grabs[0] == len(every) == d.n_frames
    grabs[0] = 0
    reused = [f.copy() for f in render_frames(scene, d, settings, style=style, progress=False, **options)]
    return every, reused, grabs[0]


def same(every, reused):
    assert len(every) == len(reused)
    bad = [k for k, (a, b) in enumerate(zip(every, reused)) if not np.array_equal(a, b)]
    assert not bad, f"frames {bad[:5]} differ from rendering every frame"


@pytest.mark.parametrize("style", [Style(), Style(color_by="stretch", hud=True), Style(boundary="pulled-back")],
                         ids=["plain", "heat+hud", "pulled-back"])
def test_3d_frames_with_cards_equal_rendering_every_frame(tiny_tori, grabs, style):
    scene, net = tiny_tori
    d = api.deform(scene, net, fps=8, timeline=TIMELINE)
    every, reused, rendered = both(scene, d, style, grabs, cards=CARDS)
    same(every, reused)
    assert rendered < len(every)  # the cards' frames (the camera stands still behind them) render once


def test_2d_holds_render_once_and_equal_rendering_every_frame(grabs):
    scene = api.load_scene("two-curves", points_per_curve=40, samples_per_class=100, grid_lines=5)
    net = api.train_network(scene, training={"epochs": 3}, progress=False)
    d = api.deform(scene, net, fps=8, timeline=TIMELINE)
    every, reused, rendered = both(scene, d, Style(), grabs, cards=CARDS, captions="burn")
    same(every, reused)
    assert rendered < len(every)


def test_wide_data_whose_view_turns_in_holds_equals_rendering_every_frame(grabs):
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    X = (rng.normal(0, 1, (3, 6))[y] + 0.4 * rng.standard_normal((300, 6))).astype(np.float32)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).eval()
    scene = ll.Scene.from_points(X, y, name="blobs6")
    prepared = ll.prepare(scene, model=model, progress=False)
    d = prepared.deform(fps=8, timeline={"seconds_per_stage": 0.5, "pause": 0.25, "hold_end": 0.5})
    every, reused, _ = both(scene, d, Style(), grabs)
    same(every, reused)
