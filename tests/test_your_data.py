"""The issue's end-to-end case: a 64-D point cloud of ten classes, a 64-16-3-10 tanh model
trained in plain PyTorch and handed over as it is, rendered; every class's colour is on
screen in sampled frames (the input, mid-movie and the output)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_render import colour_share

import layerlapse as ll
from layerlapse.draw.style import PALETTE, Style
from layerlapse.render import render_frames, resolve_settings


@pytest.fixture(scope="module")
def digits_like():
    """Ten Gaussian blobs in R^64 (100 points each) and a 64-16-3-10 tanh model fit to them."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0.0, 1.0, (10, 64))
    y = np.arange(1000) % 10
    X = ((centres[y] + 0.5 * rng.standard_normal((1000, 64))) / np.sqrt(64 / 3)).astype(np.float32)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3), torch.nn.Tanh(),
                                torch.nn.Linear(3, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    return ll.Scene.from_points(X, y, name="blobs64"), model.eval()


def test_a_64d_ten_class_cloud_renders_with_every_class_in_sight(digits_like):
    scene, model = digits_like
    prepared = ll.prepare(scene, model=model, progress=False)
    assert prepared.network.config.input_dim == 64 and prepared.network.config.hidden == (16, 3)
    assert prepared.network.accuracy > 0.9
    d = prepared.deform(fps=6, timeline={"seconds_per_stage": 0.5, "pause": 0.0})
    frames = list(render_frames(scene, d, resolve_settings("low", (426, 240), 6), style=Style(), progress=False))
    for k in (0, len(frames) // 2, len(frames) - 1):
        for label in range(10):
            assert colour_share(frames[k], PALETTE[label]) > 2e-4, f"class {label} missing from frame {k}"
