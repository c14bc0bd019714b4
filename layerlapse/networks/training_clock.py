"""A second clock: the last hidden representation as training proceeds.

Instead of moving through the layers of a trained network, each frame shows the whole
network's hidden representation after a few more optimisation steps, with its decision
boundary, as the essay's "hard work isn't enough" figure does. The object has the same
drawing interface as :class:`~layerlapse.networks.deformation.Deformation`, so the same
renderer, styles and files serve both clocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import FrameSource
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.train import Network, TrainConfig, accuracy, train

DISPLAY_DIM = 3


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
    """Display positions (F, V, 3) of the scene's points and the head at every frame."""

    def __init__(self, positions: np.ndarray, heads: list[tuple[np.ndarray, np.ndarray]], timeline: TrainingTimeline,
                 dim: int) -> None:
        if not np.isfinite(positions).all():
            raise LayerlapseError("training: a snapshot has NaN or Inf positions; lower training.lr")
        self.positions = positions
        self.heads = heads
        self.timeline = timeline
        self.dim = dim

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


def record_training(
    points: np.ndarray, samples: np.ndarray, labels: np.ndarray, config: NetworkConfig, training: TrainConfig,
    *, frames: int, fps: float, scene_key: dict | None = None, progress: Callable[[int, float], None] | None = None,
) -> tuple[TrainingMovie, Network]:
    """Train once (no restarts) and snapshot the hidden representation of ``points`` (V, n)
    ``frames`` times, evenly over the optimisation steps (fewer if there are fewer steps)."""
    if config.hidden and config.hidden[-1] > DISPLAY_DIM:
        raise LayerlapseError(
            f"over: training is drawn in the last hidden representation, which must have at most "
            f"{DISPLAY_DIM} dimensions (this network's has {config.hidden[-1]})"
        )
    n = len(samples)
    batch = n if training.batch_size == 0 else min(training.batch_size, n)
    total_steps = training.epochs * -(-n // batch)
    wanted = set(np.unique(np.linspace(0, total_steps, frames).round().astype(int)).tolist())
    X = torch.as_tensor(np.asarray(points, dtype=np.float32))
    shots: list[tuple[int, np.ndarray, tuple[np.ndarray, np.ndarray], float]] = []

    def snapshot(step: int, model) -> None:
        if step not in wanted:
            return
        with torch.no_grad():
            rep = model.representation(X).numpy()
            W = model.head.weight.double().numpy().copy()
            b = model.head.bias.double().numpy().copy()
        shots.append((step, rep, (W, b), accuracy(model, samples, labels)))

    net = train(samples, labels, config, training.model_copy(update={"restarts": 1}), scene_key=scene_key,
                progress=progress, on_step=snapshot)
    width = X.shape[1] if not config.hidden else config.hidden[-1]
    positions = np.zeros((len(shots), len(points), DISPLAY_DIM), dtype=np.float32)
    for i, (_, rep, _, _) in enumerate(shots):
        positions[i, :, :width] = rep
    steps_per_epoch = -(-n // batch)
    labels_text = tuple(
        f"training \u00b7 step {step} \u00b7 epoch {step // steps_per_epoch} \u00b7 accuracy {100 * acc:.1f}%"
        for step, _, _, acc in shots
    )
    movie = TrainingMovie(positions, [h for _, _, h, _ in shots], TrainingTimeline(labels_text, fps), width)
    return movie, net
