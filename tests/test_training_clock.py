"""The training clock's timing: frames spaced for even motion, shutter-averaged between
recorded steps, step 0 first; deterministic. Tiny scenes, a few hundred steps."""

import numpy as np
import pytest

from layerlapse.app import api
from layerlapse.app import network as app_network
from layerlapse.networks.train import train
from layerlapse.networks.training_clock import (
    _box_weights,
    _windows,
    record_training,
    recorded_steps,
)

SCENE = dict(resolution=16, samples_per_class=100, grid_lines=3)
TRAINING = dict(epochs=20, batch_size=32, restarts=1)  # 7 steps an epoch: 140, past the dense start
FRAMES = 48


def _setup():
    scene = api.load_scene("disk-annulus", **SCENE)
    config, training = app_network.network_settings(scene, None, TRAINING)
    points, _ = scene.points()
    return scene, config, training, points


@pytest.fixture(scope="module")
def clock():
    """The movie, and the representation of the points after every step (S + 1, V, w) from
    an independent run of the same seeded training."""
    scene, config, training, points = _setup()
    movie, net = record_training(points, scene.samples, scene.labels, config, training, frames=FRAMES, fps=24.0)
    import torch

    X = torch.as_tensor(points, dtype=torch.float32)
    reps = []

    def keep(step, model):
        with torch.no_grad():
            reps.append(model.representation(X).numpy().copy())

    train(scene.samples, scene.labels, config, training, on_step=keep)
    return movie, net, np.array(reps, dtype=np.float64), scene


def _change(P: np.ndarray) -> np.ndarray:
    """Mean displacement per frame relative to the frames' bounding-box diagonal; (F - 1,)."""
    extent = np.linalg.norm(P.max(1) - P.min(1), axis=1)
    return np.linalg.norm(np.diff(P, axis=0), axis=2).mean(1) / np.maximum(extent[1:], extent[:-1])


def test_first_frame_is_step_zero_and_last_is_the_end(clock):
    movie, net, reps, _ = clock
    S = len(reps) - 1
    assert movie.n_frames == FRAMES and movie.steps[0] == 0 and movie.steps[-1] == S
    w = reps.shape[2]
    np.testing.assert_allclose(movie.positions[0, :, :w], reps[0], atol=1e-5)
    assert np.all(movie.positions[:, :, w:] == 0)
    assert movie.timeline.label(0).startswith("training \u00b7 step 0 \u00b7 epoch 0 \u00b7")
    last = movie.timeline.label(FRAMES - 1)
    assert f"step {S} \u00b7 epoch {TRAINING['epochs']} \u00b7 accuracy {100 * net.accuracy:.1f}%" in last


def test_frames_average_the_recorded_path_within_their_window(clock):
    movie, _, reps, _ = clock
    t, half = movie.steps, _windows(movie.steps)
    lo, hi = np.floor(np.maximum(t - half, 0)).astype(int), np.ceil(np.minimum(t + half, len(reps) - 1)).astype(int)
    w = reps.shape[2]
    for f in range(FRAMES):
        window = reps[lo[f] : hi[f] + 1]
        P = movie.positions[f, :, :w]
        assert np.all(P >= window.min(0) - 1e-5) and np.all(P <= window.max(0) + 1e-5), f


def test_frames_less_than_a_step_apart_interpolate_two_steps(clock):
    _, _, reps, scene = clock
    _, config, training, points = _setup()
    movie, _ = record_training(points, scene.samples, scene.labels, config, training, frames=400, fps=24.0)
    t, half = movie.steps, _windows(movie.steps)
    lo, hi = np.floor(t - half).astype(int), np.ceil(t + half).astype(int)
    early = np.flatnonzero((hi - lo == 1) & (t - half >= 0))
    assert early.size >= 10 and early[0] == 1
    w = reps.shape[2]
    for f in early:  # on the segment between the two steps, at the frame's fraction of the way
        a, b = reps[lo[f]], reps[hi[f]]
        np.testing.assert_allclose(movie.positions[f, :, :w], a + (t[f] - lo[f]) * (b - a), atol=1e-5)


def _shape_change(P: np.ndarray) -> np.ndarray:
    """RMS displacement per frame after centring and scaling each frame to unit RMS radius,
    as a camera that follows the data sees it (what the timing evens out); (F - 1,)."""
    centred = P - P.mean(1, keepdims=True)
    Q = centred / np.sqrt((centred**2).sum(2).mean(1))[:, None, None]
    return np.sqrt((np.diff(Q, axis=0) ** 2).sum(2).mean(1))


def test_timing_is_more_even_than_uniform_steps(clock):
    movie, _, reps, _ = clock
    steps = movie.steps
    quarter = FRAMES // 4
    assert np.all(np.diff(steps) >= 0)
    assert np.diff(steps)[:quarter].mean() < 0.5 * np.diff(steps)[-quarter:].mean()  # slow start
    ours = movie.positions[:, :, : reps.shape[2]].astype(np.float64)
    uniform = reps[np.linspace(0, len(reps) - 1, FRAMES).round().astype(int)]
    def ratio(d):
        return d.max() / np.median(d)

    assert ratio(_shape_change(ours)) < 0.6 * ratio(_shape_change(uniform))
    assert _change(ours).max() < 0.6 * _change(uniform).max()  # growth included, as without a camera


def test_labels_steps_never_go_back_and_heads_move(clock):
    movie, _, _, _ = clock
    shown = [int(movie.timeline.label(f).split("step ")[1].split(" ")[0]) for f in range(FRAMES)]
    assert shown == sorted(shown) and shown == list(np.rint(movie.steps).astype(int))
    W0, b0 = movie.display_head(0)
    W1, _ = movie.display_head(FRAMES - 1)
    assert W0.shape == W1.shape == (2, 2) and b0.shape == (2,)
    assert not np.allclose(W0, W1)


def test_same_seed_same_movie(clock):
    movie, _, _, _ = clock
    scene, config, training, points = _setup()
    again, _ = record_training(points, scene.samples, scene.labels, config, training, frames=FRAMES, fps=24.0)
    np.testing.assert_array_equal(again.positions, movie.positions)
    np.testing.assert_array_equal(again.steps, movie.steps)
    assert again.timeline.labels == movie.timeline.labels


def test_recorded_steps_dense_then_geometric():
    assert np.array_equal(recorded_steps(7), np.arange(8))
    g = recorded_steps(100_000)
    assert g[0] == 0 and g[-1] == 100_000 and np.all(np.diff(g) > 0)
    assert np.array_equal(g[:100], np.arange(100)) and len(g) < 1000
    assert np.all(np.diff(g)[100:] <= 0.02 * g[100:-1])


def test_box_weights_average_the_path_exactly():
    grid = np.array([0.0, 1.0, 2.0, 5.0, 9.0, 10.0])
    t = np.array([0.0, 0.3, 1.5, 4.0, 9.5, 10.0])
    half = np.array([0.0, 0.1, 1.0, 3.0, 2.0, 0.5])
    C = _box_weights(t, half, grid).toarray()
    np.testing.assert_allclose(C.sum(1), 1.0)
    # on a straight path the mean over a window is its middle (windows clipped to the run)
    a, b = np.clip(t - half, 0, 10), np.clip(t + half, 0, 10)
    np.testing.assert_allclose(C @ grid, (a + b) / 2, atol=1e-6)
    # on a bent path: the mean of x^2 sampled at the grid, over [1, 5]: the exact integral
    path = grid**2
    row = _box_weights(np.array([3.0]), np.array([2.0]), grid).toarray()[0]
    exact = ((1 + 4) / 2 * 1 + (4 + 25) / 2 * 3) / 4
    assert row @ path == pytest.approx(exact)
