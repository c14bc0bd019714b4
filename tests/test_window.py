"""The interactive window under a virtual display: slider, keys, labels; no display -> clear error."""

import os
import subprocess
import sys

import numpy as np
import pytest

from layerlapse.app import api
from layerlapse.errors import LayerlapseError


@pytest.fixture(scope="module")
def tori(tiny_tori):
    return tiny_tori


@pytest.mark.display
def test_window_slider_keys_and_labels(xvfb, tori):
    scene, net = tori
    viewer = api.show(scene, network=net, size=(480, 320), block=False)
    try:
        assert type(viewer.plotter.render_window).__name__ == "vtkXOpenGLRenderWindow"
        first = viewer.screenshot()
        assert viewer.label.startswith("input") and first.shape == (320, 480, 3)
        # the slider, moved as a user would: continuous time, not only stage ends
        rep = viewer.slider.GetRepresentation()
        t_mid = viewer.boundaries[1] + 0.37 * (viewer.boundaries[2] - viewer.boundaries[1])
        rep.SetValue(t_mid)
        viewer.slider.InvokeEvent("InteractionEvent")
        assert abs(viewer.time - t_mid) < 1e-9
        assert viewer.label.startswith("layer 1 of 3 \u00b7 linear (rotate and stretch): x -> p(t) x")
        assert 0 < viewer.timeline.t[viewer.frame] < 1
        moved = viewer.screenshot()
        assert np.abs(moved.astype(int) - first).mean() > 1
        # Right / Left step between stage boundaries
        viewer.press("Right")
        assert viewer.time == pytest.approx(viewer.boundaries[2])
        assert viewer.label.startswith("layer 1 of 3 \u00b7 translate")
        viewer.press("Left")
        assert viewer.time == pytest.approx(viewer.boundaries[1])
        # Space plays: the timer's ticks advance time; Space again pauses
        viewer.press("space")
        assert viewer.playing
        before = viewer.time
        for _ in range(5):
            viewer.tick()
        assert viewer.time == pytest.approx(before + 5 / viewer.fps)
        viewer.press("space")
        viewer.tick()
        assert not viewer.playing and viewer.time == pytest.approx(before + 5 / viewer.fps)
        # g toggles the grid (all its lines), 1 and 2 the classes
        assert viewer.view.grid_actors
        shot = viewer.screenshot()
        viewer.press("g")
        assert not any(a.GetVisibility() for a in viewer.view.grid_actors)
        assert np.abs(viewer.screenshot().astype(int) - shot).mean() > 0.1
        viewer.press("g")
        assert all(a.GetVisibility() for a in viewer.view.grid_actors)
        viewer.press("1")
        assert not any(a.GetVisibility() for a in viewer.view.class_actors[0])
        assert all(a.GetVisibility() for a in viewer.view.class_actors[1])
        viewer.press("1")
        # at the end the label gives the accuracy and the boundary shows; b hides it
        viewer.set_time(viewer.timeline.duration)
        assert viewer.label.startswith("output: the decision boundary \u00b7 accuracy")
        assert viewer.view.boundary_actor.GetVisibility()
        viewer.press("b")
        assert not viewer.view.boundary_actor.GetVisibility()
        # r refits the camera; f stops following the data
        viewer.press("f")
        assert not viewer.follow
        viewer.press("r")
        assert viewer.screenshot().std() > 5
    finally:
        viewer.close()


@pytest.mark.display
def test_window_shows_the_diagnostics(xvfb, tori):
    """--color-by stretch --boundary pulled-back --hud in the window: the colours, the readout
    and the carried boundary follow the slider."""
    from layerlapse.draw.style import Style

    scene, net = tori
    style = Style(color_by="stretch", boundary="pulled-back", hud=True)
    viewer = api.show(scene, network=net, size=(480, 320), style=style, block=False)
    try:
        view = viewer.view
        assert view.heat is not None and view.hud is not None
        first_text = view.hud[0].GetInput()
        first_heat = [np.array(t[1]) for t in view.heat.targets]
        assert all(np.abs(h).max() < 1e-6 for h in first_heat)  # nothing stretched at the input
        viewer.set_time(viewer.boundaries[3])  # the end of layer 1's stages
        assert view.hud[0].GetInput() != first_text and view.hud[0].GetInput().startswith("det W(t)")
        assert max(np.abs(np.array(t[1])).max() for t in view.heat.targets) > 0.05
        assert viewer.screenshot().std() > 5
    finally:
        viewer.close()


def test_no_display_is_a_clear_error(tori, monkeypatch):
    scene, net = tori
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(LayerlapseError, match=r"no display .*xvfb-run"):
        api.show(scene, network=net, block=False)


def test_unreachable_display_is_a_clear_error_not_a_crash(tmp_path):
    env = {**os.environ, "DISPLAY": ":4242"}
    r = subprocess.run([sys.executable, "-m", "layerlapse", "show", "spirals", "--no-progress"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "error: show: cannot open display ':4242'" in r.stderr
