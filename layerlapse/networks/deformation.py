"""Every frame's vertex positions: the layer stages sampled along a timeline.

The points at every stage boundary are computed once (``keyframes``), so any frame
costs one partial stage; frames are computed in vectorized batches (one einsum or
one broadcast per batch), never vertex by vertex.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.layers import LayerPlan
from layerlapse.networks.stages import activate, lerp_stage, linear_stage
from layerlapse.networks.timeline import Timeline

DISPLAY_DIM = 3


class Deformation:
    """Positions of ``points`` (V, n) at every frame of ``timeline`` under ``plan``.

    ``keyframes``: (3L + 1, V, n), the points before the first stage and after each
    stage. Raises :class:`LayerlapseError` if the network sends any point to NaN/Inf.
    """

    def __init__(self, plan: LayerPlan, timeline: Timeline, points: np.ndarray) -> None:
        X = np.asarray(points, dtype=float)
        if X.ndim != 2:
            raise LayerlapseError(f"Deformation: points must be (V, n), got shape {X.shape}")
        if X.shape[1] > DISPLAY_DIM:
            raise LayerlapseError(
                f"Deformation: data in R^{X.shape[1]} needs a projection to 3D for display, "
                "which is not supported yet"
            )
        if len(plan.hidden) and plan.hidden[0].W.shape[1] != X.shape[1]:
            raise LayerlapseError(
                f"Deformation: the network takes {plan.hidden[0].W.shape[1]}-D input, "
                f"the points are {X.shape[1]}-D"
            )
        keys = [X]
        for k, layer in enumerate(plan.hidden):
            with np.errstate(over="ignore", invalid="ignore"):  # checked just below
                keys.append(X @ layer.W.T)
                keys.append(keys[-1] + layer.b)
                keys.append(activate(layer.activation, keys[-1]))
            X = keys[-1]
            if not np.isfinite(X).all() or not np.isfinite(keys[-2]).all():
                raise LayerlapseError(
                    f"network: layer {k + 1} sends points to NaN or Inf; refusing to draw it"
                )
        self.plan = plan
        self.timeline = timeline
        self.keyframes = np.stack(keys)
        self.dim = self.keyframes.shape[2]

    @property
    def n_frames(self) -> int:
        return self.timeline.n_frames

    @property
    def n_points(self) -> int:
        return self.keyframes.shape[1]

    def stage(self, index: int, t: np.ndarray, subset: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Animated stage ``index`` (0 .. 3L - 1; -1 is the input) at times t; -> (F, V, n)."""
        t = np.asarray(t, dtype=float).reshape(-1)
        if index < 0:
            return np.broadcast_to(self.keyframes[0][subset], (t.size,) + self.keyframes[0][subset].shape).copy()
        start = self.keyframes[index][subset]
        if index % 3 == 0:
            return linear_stage(start, self.plan.paths[index // 3], t)
        return lerp_stage(start, self.keyframes[index + 1][subset], t)

    def frames(self, frames: np.ndarray, subset: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Positions at the given frame indices; (F,) -> (F, V, n) float64."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        n = self.keyframes[0][subset].shape[0]
        out = np.zeros((frames.size, n, self.dim))
        stages = self.timeline.stage[frames]
        for s in np.unique(stages):
            sel = stages == s
            out[sel] = self.stage(int(s), self.timeline.t[frames[sel]], subset)
        return out

    def display(self, frames: np.ndarray, subset: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Positions in display space R^3 (zeros padded for 1-D and 2-D data); -> (F, V, 3) float32."""
        return self._to_display(self.frames(frames, subset))

    def display_at(self, stage: int, t: float) -> np.ndarray:
        """Display positions at any point of a stage (-1: the input), t in [0, 1]; -> (V, 3) float32."""
        return self._to_display(self.stage(stage, np.array([float(t)])))[0]

    def _to_display(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros(X.shape[:2] + (DISPLAY_DIM,), dtype=np.float32)
        out[..., : self.dim] = X
        if not np.isfinite(out).all():
            raise LayerlapseError("network: a frame has NaN or Inf positions; refusing to draw it")
        return out

    def iter_display(self, batch: int = 16) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(frame indices (B,), display positions (B, V, 3))`` over the whole timeline."""
        for start in range(0, self.n_frames, batch):
            idx = np.arange(start, min(start + batch, self.n_frames))
            yield idx, self.display(idx)
