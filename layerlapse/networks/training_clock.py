"""A second clock: the last hidden representation as training proceeds.

Instead of moving through the layers of a trained network, each frame shows the whole
network's hidden representation at some point of its training, with its decision
boundary, as the essay's "hard work isn't enough" figure does. The object has the same
drawing interface as :class:`~layerlapse.networks.deformation.Deformation`, so the same
renderer, styles and files serve both clocks.

Timing. Training moves fast at first (in the first tens of steps the representation is
small and Adam moves every weight by about ``lr`` per step) and later mostly jitters from
batch to batch (about a tenth of the representation's size from one epoch to the next) while
it drifts slowly. Frames evenly spaced in steps therefore rush through the start and flicker
later. So training keeps the parameters at every step of the start and at geometrically
spaced steps after it (``recorded_steps``), and the frames are placed afterwards:

* each frame shows the mean of the piecewise-linear path through the recorded steps over a
  window (a shutter) centred on its step, at least one frame interval wide, so nothing in
  between is skipped, and at least ``SHUTTER`` of the steps so far, so the batch jitter
  averages out instead of aliasing into flicker; near step 0 the windows are shorter than a
  step and a frame is a plain interpolation between two recorded steps; the first frame is
  step 0 itself, the last the mean over the last stretch (the trained network's picture
  with its jitter averaged out);
* the frames' steps are chosen so that the picture changes by about as much from each frame
  to the next (an arc-length reparametrisation of the motion seen by a camera that follows
  the data, see ``_motion``), with ``UNIFORM_SHARE`` of uniform time so the clock never
  races through a quiet stretch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import FrameSource
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.stages import activate
from layerlapse.networks.train import Network, TrainConfig, train

DISPLAY_DIM = 3
# Recorded steps are at most this share of the steps so far apart: every step for the first
# 1 / SPACING (where training moves fastest), then geometrically spaced: about 530 of the
# spirals' 7600 steps, 800 of 100k. A frame's shutter (SHUTTER of the steps so far) then
# spans about 15 of them, enough to average the batch jitter, and memory and the cost of
# drawing stay bounded: what is kept is a parameter vector (tens to hundreds of floats) per
# recorded step; positions (V x 3, V up to ~15k) are computed for the frames afterwards.
SPACING = 0.01
MOTION_POINTS = 256  # training samples (evenly picked) whose motion times the frames
UNIFORM_SHARE = 0.2  # share of each frame's time budget spent uniformly in steps
HEAD = 0.5  # weight of the boundary's motion against the points' (0.3 to 1 render about as evenly)
BAND = 0.5  # how near the data's box (in RMS radii) the boundary's motion counts
SHUTTER = 0.15  # each frame averages at least this share of the steps so far (centred on its step)
ITERATIONS = 24  # rounds of the timing fixed point (damped); each costs milliseconds


@dataclass(frozen=True)
class TrainingTimeline:
    """One label per frame: ``training · step 120 · epoch 4 · accuracy 81.2%``."""

    labels: tuple[str, ...]
    fps: float
    stage_names: tuple[str, ...] = ("training",)

    @property
    def n_frames(self) -> int:
        return len(self.labels)

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    @property
    def name(self) -> np.ndarray:
        return np.zeros(self.n_frames, dtype=np.int64)

    def label(self, frame: int) -> str:
        return self.labels[frame]

    def boundary_opacity(self, frame: int) -> float:
        return 1.0


class TrainingMovie(FrameSource):
    """Display positions (F, V, 3) of the scene's points and the head at every frame.

    ``steps``: (F,) the (fractional) optimisation step each frame stands for, if known.
    """

    def __init__(self, positions: np.ndarray, heads: list[tuple[np.ndarray, np.ndarray]], timeline: TrainingTimeline,
                 dim: int, steps: np.ndarray | None = None) -> None:
        if not np.isfinite(positions).all():
            raise LayerlapseError("training: a snapshot has NaN or Inf positions; lower training.lr")
        self.positions = positions
        self.heads = heads
        self.timeline = timeline
        self.dim = dim
        self.steps = steps

    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_points(self) -> int:
        return self.positions.shape[1]

    @property
    def planar(self) -> bool:
        return self.dim < 3

    def display(self, frames: np.ndarray, subset: slice | np.ndarray = slice(None)) -> np.ndarray:
        return self.positions[np.asarray(frames, dtype=np.int64).reshape(-1)][:, subset]

    def display_head(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        return self.heads[frame]


class _Snapshots:
    """Flat parameter vectors (N, P) at steps ``grid`` (N,), and the network they fill."""

    def __init__(self, grid: np.ndarray, params: np.ndarray, shapes: list[tuple[int, ...]], activation: str) -> None:
        self.grid, self.params, self.activation = grid, params, activation
        ends = np.cumsum([int(np.prod(s)) for s in shapes])
        self.slices = [(slice(e - int(np.prod(s)), e), s) for e, s in zip(ends, shapes, strict=True)]

    def _layer(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        (sw, shape), (sb, _) = self.slices[2 * k], self.slices[2 * k + 1]
        return rows[:, sw].reshape(len(rows), *shape), rows[:, sb]

    def representation(self, rows: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The last hidden representation of X (V, n) under each parameter row; (B, P) -> (B, V, w)."""
        H = np.broadcast_to(X, (len(rows), *X.shape))
        for k in range(len(self.slices) // 2 - 1):
            W, b = self._layer(rows, k)
            H = activate(self.activation, H @ W.transpose(0, 2, 1) + b[:, None, :])  # batched BLAS
        return H

    @property
    def width(self) -> int:
        """Width of the last hidden representation (the head's input)."""
        return self.slices[-2][1][1]

    def head(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The head's W (B, classes, w) and b (B, classes)."""
        return self._layer(rows, len(self.slices) // 2 - 1)


def _box_weights(t: np.ndarray, half: np.ndarray, grid: np.ndarray) -> sparse.csr_matrix:
    """(F, N) weights: row f averages the piecewise-linear path through the snapshots at
    steps ``grid`` (N,) over ``[t - half, t + half]`` clipped to the recorded steps.

    The integral of hat function j up to x is piecewise quadratic, so the mean over [a, b] is
    exact; windows are at least 1e-6 steps wide, so an empty window is (to 1e-6) a lerp.
    """
    eps = 1e-6
    S = grid[-1]
    a = np.clip(t - half, grid[0], S - eps)
    b = np.clip(np.maximum(t + half, a + eps), a + eps, S)
    N = len(grid)
    lo = np.clip(np.searchsorted(grid, a, side="right") - 1, 0, N - 1)
    hi = np.clip(np.searchsorted(grid, b, side="left"), 0, N - 1)
    counts = hi - lo + 1
    rows = np.repeat(np.arange(len(t)), counts)
    cols = lo[rows] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    left, centre, right = grid[np.maximum(cols - 1, 0)], grid[cols], grid[np.minimum(cols + 1, N - 1)]

    def integral(x: np.ndarray) -> np.ndarray:  # of hat j from -inf to x
        u, v = np.clip(x, left, centre), np.clip(x, centre, right)
        dl, dr = np.maximum(centre - left, 1e-300), np.maximum(right - centre, 1e-300)
        return (u - left) ** 2 / (2 * dl) + (right - centre) / 2 - (right - v) ** 2 / (2 * dr) * (right > centre)

    w = (integral(b[rows]) - integral(a[rows])) / (b - a)[rows]
    return sparse.csr_matrix((w, (rows, cols)), shape=(len(t), N))


def _windows(t: np.ndarray) -> np.ndarray:
    """Half-widths (F,) of the frames' shutters: at least half the local frame spacing, so the
    windows cover the run, and at least ``SHUTTER`` of the steps so far, so that the batch
    jitter averages out however dense the frames; never reaching back past step 0 (the first
    frame is step 0 itself)."""
    padded = np.r_[t[0], t, t[-1]]
    return np.minimum(np.maximum((padded[2:] - padded[:-2]) / 4, SHUTTER * t / 2), t - t[0])


def _motion(P: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How much the picture changes between consecutive frames; (F - 1,).

    P (F, m, w) positions of the motion points; W (F, classes, w), b (F, classes) the head.
    The camera follows the data's centre and size, so each frame is centred and scaled to unit
    RMS radius first (drift and growth are what the camera takes out; counting them as well
    made the pixel change less even, not more). Then the RMS displacement of the points and,
    for two classes, ``HEAD`` times that of the drawn boundary: its signed distance from a
    lattice over the data's box (where the shading is drawn), clipped to +-``BAND`` so that a
    boundary far outside counts nothing.
    """
    centre = P.mean(1, keepdims=True)
    size = np.maximum(np.sqrt(((P - centre) ** 2).sum(2).mean(1)), 1e-12)
    Q = (P - centre) / size[:, None, None]
    change = (np.diff(Q, axis=0) ** 2).sum(2).mean(1)
    if W.shape[1] == 2:
        lo, hi = Q.min(1), Q.max(1)
        lattice = np.stack(np.meshgrid(*[np.linspace(0, 1, 5)] * P.shape[2]), -1).reshape(-1, P.shape[2])
        probes = lo[:, None] + (hi - lo)[:, None] * lattice
        # logit 2 - logit 1 = w.x + c, in each frame's normalised coordinates
        w = W[:, 1] - W[:, 0]
        c = b[:, 1] - b[:, 0] + np.einsum("fi,fi->f", w, centre[:, 0])
        w = w * size[:, None]
        norm = np.maximum(np.linalg.norm(w, axis=1), 1e-12)
        dist = np.clip((np.einsum("fvi,fi->fv", probes, w) + c[:, None]) / norm[:, None], -BAND, BAND)
        change = change + HEAD**2 * (np.diff(dist, axis=0) ** 2).mean(1)
    return np.sqrt(change)


def _frame_steps(snaps: _Snapshots, X: np.ndarray, frames: int) -> np.ndarray:
    """Fractional steps (F,) from 0 to the last step, spaced so that the motion of X (m, n)
    per frame is about even, with ``UNIFORM_SHARE`` of every frame's budget in steps.

    A damped fixed point: measure each frame interval's motion with the current shutters,
    take the motion as uniform within each interval, and place the frames at equal shares
    of the cumulative cost (arc length). Deterministic.
    """
    grid = snaps.grid
    S = float(grid[-1])
    R = snaps.representation(snaps.params, X).reshape(len(grid), -1)
    t = np.linspace(0.0, S, frames)
    for _ in range(ITERATIONS):
        C = _box_weights(t, _windows(t), grid)
        W, b = snaps.head(np.asarray(C @ snaps.params))
        d = _motion(np.asarray(C @ R).reshape(frames, len(X), -1), W, b)
        cost = (1 - UNIFORM_SHARE) * d / max(d.sum(), 1e-12) + UNIFORM_SHARE * np.diff(t) / S
        cumulative = np.r_[0.0, np.cumsum(cost)]
        t_new = np.interp(np.linspace(0.0, cumulative[-1], frames), cumulative, t)
        t = 0.5 * (t + t_new)
    t[0], t[-1] = 0.0, S
    return np.maximum.accumulate(t)


def recorded_steps(total: int) -> np.ndarray:
    """The steps (N,) whose parameters are kept: 0 .. total, see ``SPACING``."""
    dense = round(1 / SPACING)
    if total <= dense:
        return np.arange(total + 1)
    later = np.geomspace(dense, total, int(np.ceil(np.log(total / dense) / np.log1p(SPACING))) + 1)
    return np.unique(np.r_[np.arange(dense), later.round().astype(np.int64)])


def record_training(
    points: np.ndarray, samples: np.ndarray, labels: np.ndarray, config: NetworkConfig, training: TrainConfig,
    *, frames: int, fps: float, scene_key: dict | None = None, progress: Callable[[int, float], None] | None = None,
) -> tuple[TrainingMovie, Network]:
    """Train once (no restarts) and draw the hidden representation of ``points`` (V, n) at
    ``frames`` moments from step 0 to the last step, spaced for even motion (see the module
    docstring). Labels show the frame's step (rounded), its epoch and the training accuracy
    at the recorded step nearest to it (at most 1% of the steps so far away).

    Costs over plain training: a copy of the parameters at each recorded step, then one
    forward pass of ``points`` per recorded step and a few of the samples (measured on two
    cores, 360 frames: +0.1 s for disk-annulus and spirals, +0.4 s for linked-tori over
    the former uniform snapshots).
    """
    import torch

    _check_drawable(config)
    n = len(samples)
    batch = n if training.batch_size == 0 else min(training.batch_size, n)
    steps_per_epoch = -(-n // batch)
    total_steps = training.epochs * steps_per_epoch
    grid = recorded_steps(total_steps)
    slot = np.full(total_steps + 1, -1)
    slot[grid.astype(np.int64)] = np.arange(len(grid))
    kept: dict = {}

    def snapshot(step: int, model) -> None:
        if slot[step] < 0:
            return
        if not kept:
            kept["shapes"] = [tuple(p.shape) for p in model.parameters()]
            kept["params"] = np.zeros((len(grid), sum(p.numel() for p in model.parameters())), dtype=np.float32)
        with torch.no_grad():
            kept["params"][slot[step]] = torch.nn.utils.parameters_to_vector(model.parameters()).numpy()

    net = train(samples, labels, config, training.model_copy(update={"restarts": 1}), scene_key=scene_key,
                progress=progress, on_step=snapshot)
    snaps = _Snapshots(grid.astype(np.float64), kept["params"].astype(np.float64), kept["shapes"], config.activation)
    X = np.asarray(points, dtype=np.float64)
    data = np.asarray(samples, dtype=np.float64)
    pick = np.unique(np.linspace(0, len(data) - 1, min(MOTION_POINTS, len(data))).round().astype(np.int64))
    t = _frame_steps(snaps, data[pick], frames)
    positions, heads = _frames(snaps, X, t)
    step = np.rint(t).astype(np.int64)
    acc = _accuracy(snaps, np.asarray(samples, dtype=np.float64), np.asarray(labels), step)
    labels_text = tuple(
        f"training \u00b7 step {s} \u00b7 epoch {s // steps_per_epoch} \u00b7 accuracy {100 * a:.1f}%"
        for s, a in zip(step, acc, strict=True)
    )
    movie = TrainingMovie(positions, heads, TrainingTimeline(labels_text, fps), snaps.width, steps=t)
    return movie, net


def _check_drawable(config: NetworkConfig) -> None:
    """Refuse a network the training clock cannot draw: a k-NN head, a flow layer, or a last
    hidden representation wider than the display."""
    if config.head != "linear":
        raise LayerlapseError("over: the training clock draws a linear head's boundary; a k-NN head "
                              "(network.head = 'knn') is drawn with --over depth only")
    if config.flow is not None:
        raise LayerlapseError("over: the training clock draws plain MLPs only; a network with a flow layer "
                              "(network.flow) is drawn with --over depth only")
    if config.hidden and config.hidden[-1] > DISPLAY_DIM:
        raise LayerlapseError(
            f"over: training is drawn in the last hidden representation, which must have at most "
            f"{DISPLAY_DIM} dimensions (this network's has {config.hidden[-1]})"
        )


def _frames(snaps: _Snapshots, X: np.ndarray, t: np.ndarray, chunk: int = 128):
    """Positions (F, V, 3) float32 and heads [(W, b)] of the frames at steps ``t``: the
    shutter-weighted sums of the snapshots, computed ``chunk`` snapshots at a time so only
    one chunk's representations (chunk, V, w) are ever held."""
    C = _box_weights(t, _windows(t), snaps.grid).tocsc()
    width = snaps.width
    positions = np.zeros((len(t), len(X), DISPLAY_DIM), dtype=np.float32)
    X32 = X.astype(np.float32)
    for j0 in range(0, len(snaps.grid), chunk):
        block = C[:, j0 : j0 + chunk].tocsr()
        rows = np.flatnonzero(np.diff(block.indptr))
        if rows.size == 0:
            continue
        r0, r1 = rows[0], rows[-1] + 1  # frames are in step order, so the frames a chunk feeds are consecutive
        # float32 like the positions: the representations are the bulk of the cost
        R = snaps.representation(snaps.params[j0 : j0 + chunk].astype(np.float32), X32).reshape(block.shape[1], -1)
        positions[r0:r1, :, :width] += (block[r0:r1].astype(np.float32) @ R).reshape(r1 - r0, len(X), width)
    W, b = snaps.head(np.asarray(C @ snaps.params))
    return positions, [(W[f], b[f]) for f in range(len(t))]


def _accuracy(snaps: _Snapshots, samples: np.ndarray, labels: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Training accuracy (F,) at the recorded step nearest each of ``steps``."""
    near = np.clip(np.searchsorted(snaps.grid, steps), 1, len(snaps.grid) - 1)
    near = np.where(steps - snaps.grid[near - 1] < snaps.grid[near] - steps, near - 1, near)
    used, inverse = np.unique(near, return_inverse=True)
    acc = np.zeros(len(used))
    for start in range(0, len(used), 64):
        rows = snaps.params[used[start : start + 64]]
        W, b = snaps.head(rows)
        logits = snaps.representation(rows, samples) @ W.transpose(0, 2, 1) + b[:, None, :]
        acc[start : start + 64] = (logits.argmax(2) == labels).mean(1)
    return acc[inverse]
