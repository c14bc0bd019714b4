"""Every frame's vertex positions: the layer stages sampled along a timeline.

All stages run in the ambient space R^D, D the network's largest width; points of
narrower stages carry zeros in the unused coordinates. The points at every stage
boundary are computed once (``keyframes``), so any frame costs one partial stage,
computed for a batch of frames with one einsum or one broadcast, never vertex by vertex.

Display: for D <= 3 the first three coordinates (zero-padded). For D > 3, a projection
``P(f)`` (3 x D, orthonormal rows) per frame: the view path of
:mod:`layerlapse.networks.projection` (each layer end's principal directions, aligned from
layer to layer, moved smoothly during each layer; ``[I | 0]`` at the start for input of at most
3 coordinates). A frame's display ``P(f) x(f)`` is computed by each stage from its start
points without the D-dimensional positions (:meth:`~layerlapse.networks.stages.Stage.shown`);
:meth:`Deformation.view_share` is the share of the points' variance the view holds.

A k-NN head (:class:`~layerlapse.networks.knn.KnnHead`) has no plane: its decision direction
is the difference of the two class means of the final representation, the samples it gets
wrong are those whose leave-one-out vote is wrong, and :meth:`Deformation.final_votes` gives
the vote at every drawn point's final position (the region the renderer colours).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.networks.knn import KnnHead
from layerlapse.networks.layers import Layer, LayerPlan
from layerlapse.networks.projection import DISPLAY_DIM, ViewPath, view_path
from layerlapse.networks.stages import Stage
from layerlapse.networks.stages.base import seen
from layerlapse.networks.timeline import Timeline

#: points the view's share of the variance is measured on, at most (an even stride over the
#: view points): the share is a ratio of two sums over the same points, and a few thousand
#: give it to a tenth of a percent
SHARE_POINTS = 2000


class FrameSource(Protocol):
    """What a renderer needs of a motion (a :class:`Deformation`, or the training clock's
    movie). Shared batching (:meth:`iter_display`) is inherited by classes that subclass it."""

    timeline: Any

    @property
    def n_frames(self) -> int: ...

    @property
    def n_points(self) -> int: ...

    @property
    def planar(self) -> bool: ...

    def display(self, frames: np.ndarray, subset: slice | np.ndarray = ...) -> np.ndarray:
        """Display positions (F, V, 3) float32 at the frames (F,)."""
        ...

    def display_head(self, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The classifier head as an affine map of display space at ``frame``, or None."""
        ...

    def iter_display(self, batch: int = 16, frames: range | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(frame indices (B,), display positions (B, V, 3))`` over the whole timeline,
        or over ``frames`` (a range of it) in the whole timeline's batches: a range that starts
        on a multiple of ``batch`` gets the same positions as the whole movie, bit for bit."""
        frames = range(self.n_frames) if frames is None else frames
        for start in range(frames.start - frames.start % batch, frames.stop, batch):
            idx = np.arange(max(start, frames.start), min(start + batch, frames.stop))
            yield idx, self.display(idx)


class Deformation(FrameSource):
    """Positions of ``points`` (V, n) at every frame of ``timeline`` under ``plan``.

    ``keyframes``: (S + 1, V, D), the points before the first stage and after each of
    the S stages. ``view``: indices of the points the display projection (D > 3) and its
    share of the variance are chosen from (the scene's class points; default all).
    Raises :class:`LayerlapseError` if the network sends any point to NaN/Inf.
    """

    def __init__(self, plan: LayerPlan, timeline: Timeline, points: np.ndarray, *,
                 projection: ViewPath | None = None, view: np.ndarray | None = None) -> None:
        X = np.asarray(points, dtype=float)
        if X.ndim != 2 or X.shape[1] != plan.input_dim:
            raise LayerlapseError(
                f"Deformation: the network takes {plan.input_dim}-D input, the points have shape {X.shape}"
            )
        D = plan.ambient
        self.stages = plan.stages()
        self.plan = plan
        keys = [self._embed(X)]
        for st in self.stages:
            keys.append(self._apply(st, keys[-1]))
        self.timeline = timeline
        self.keyframes = np.stack(keys)
        self.dim = D
        self.view = np.arange(len(X)) if view is None or not len(view) else np.asarray(view, dtype=np.int64)
        self._projection = projection if projection is not None or D <= DISPLAY_DIM else self._projection_path()

    def carry(self, points: np.ndarray) -> Deformation:
        """Other points (N, n), e.g. the pulled-back decision boundary's vertices, moved by the
        same stages on the same timeline and seen through the same display projection (which
        the points it was built on chose, for D > 3)."""
        return Deformation(self.plan, self.timeline, points, projection=self._projection)

    def _embed(self, X: np.ndarray) -> np.ndarray:
        return np.hstack([X, np.zeros((len(X), self.plan.ambient - X.shape[1]))])

    def _apply(self, st: Stage, X: np.ndarray) -> np.ndarray:
        """Stage ``st`` at t = 1 applied to points X (V, D); NaN/Inf refused."""
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            Y = st.apply(X)
        if not np.isfinite(Y).all():
            raise LayerlapseError(f"network: layer {st.layer + 1} sends points to NaN or Inf; refusing to draw it")
        return Y

    def final(self, points: np.ndarray) -> np.ndarray:
        """Other points (N, n), e.g. the training samples, carried through every stage; -> (N, D)."""
        Y = self._embed(np.asarray(points, dtype=float).reshape(-1, self.plan.input_dim))
        for st in self.stages:
            Y = self._apply(st, Y)
        return Y

    def misclassified(self, samples: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The samples (N, n) the network gets wrong: -> (indices (K,), their final display
        positions (K, 3) float32 at the last frame)."""
        if len(samples) == 0:
            return np.zeros(0, np.int64), np.zeros((0, DISPLAY_DIM), np.float32)
        head = self.plan.head
        if head is None:
            return np.zeros(0, np.int64), np.zeros((0, DISPLAY_DIM), np.float32)
        Y = self.final(samples)
        if isinstance(head, KnnHead):
            Z = Y[:, : head.width]
            # the head's own samples are classified by the others (leave-one-out), as its accuracy is
            logits = head.loo_logits() if _is_memory(head, Z, labels) else head.logits(Z)
        else:
            logits = Y[:, : head.W.shape[1]] @ head.W.T + head.b
        wrong = np.flatnonzero(logits.argmax(1) != np.asarray(labels))
        last = np.array([self.n_frames - 1])
        return wrong, self._to_display(Y[wrong][None], self.projection(last))[0]

    @property
    def knn_head(self) -> KnnHead | None:
        """The plan's k-NN head, or None for an affine head."""
        head = self.plan.head
        return head if isinstance(head, KnnHead) else None

    def final_votes(self) -> np.ndarray | None:
        """The k-NN class (V,) int64 of every point at its final position; None unless the
        head is k-NN. Computed once."""
        head = self.knn_head
        if head is None:
            return None
        if getattr(self, "_votes", None) is None:
            self._votes = head.predict(self.keyframes[-1][:, : head.width])
        return self._votes

    def vote_plane(self, points: np.ndarray) -> np.ndarray | None:
        """The k-NN class (P,) of display-space points (P, 3) at the last frame, where the
        display is the final representation itself (D <= 3, representation at most 2 wide,
        so it lies in the display's z = 0 plane); None otherwise."""
        head = self.knn_head
        if head is None or self.dim > DISPLAY_DIM or head.width > 2:
            return None
        return head.predict(np.asarray(points, dtype=float)[:, : head.width])

    @property
    def n_frames(self) -> int:
        return self.timeline.n_frames

    @property
    def n_points(self) -> int:
        return self.keyframes.shape[1]

    @property
    def planar(self) -> bool:
        """Whether every frame lies in the z = 0 plane (all widths at most 2)."""
        return self.dim < 3

    def stage(self, index: int, t: np.ndarray, subset: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Animated stage ``index`` (-1 is the input) at times t; -> (F, V, D)."""
        t = np.asarray(t, dtype=float).reshape(-1)
        if index < 0:
            start = self.keyframes[0][subset]
            return np.broadcast_to(start, (t.size,) + start.shape).copy()
        return self.stages[index].positions(self.keyframes[index][subset], t)

    def frames(self, frames: np.ndarray, subset: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Positions at the given frame indices; (F,) -> (F, V, D) float64."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        n = self.keyframes[0][subset].shape[0]
        out = np.zeros((frames.size, n, self.dim))
        stages = self.timeline.stage[frames]
        for s in np.unique(stages):
            sel = stages == s
            out[sel] = self.stage(int(s), self.timeline.t[frames[sel]], subset)
        return out

    # --- display --------------------------------------------------------------------
    def _projection_path(self) -> ViewPath:
        """The view path for D > 3 (see :mod:`layerlapse.networks.projection`): the view
        points at the input and at each layer's end, each layer's moving frames."""
        tl, stages = self.timeline, self.stages
        ends, spans = [self.keyframes[0][self.view]], []
        for layer in sorted({st.layer for st in stages}):
            mine = [i for i, st in enumerate(stages) if st.layer == layer]
            ends.append(self.keyframes[mine[-1] + 1][self.view])
            moving = (tl.stage >= mine[0]) & (tl.stage <= mine[-1])
            if tl.hold is not None:
                moving &= ~tl.hold
            frames = np.flatnonzero(moving)
            spans.append((frames[0], frames[-1]) if frames.size else (tl.n_frames, tl.n_frames))
        head = self.plan.head
        rows = head.class_means() if isinstance(head, KnnHead) else head.W if isinstance(head, Layer) else None
        return view_path(ends, np.array(spans), self.plan.input_dim, rows)

    def projection(self, frames: np.ndarray) -> np.ndarray:
        """The display projection for each frame; (F,) -> (F, 3, D)."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        if self._projection is None:
            return np.broadcast_to(np.eye(DISPLAY_DIM, self.dim), (frames.size, DISPLAY_DIM, self.dim))
        return self._projection.at(frames)

    def _shown(self, index: int, t: np.ndarray, P: np.ndarray, subset: slice | np.ndarray) -> np.ndarray:
        """Stage ``index`` (-1: the input) at times t (F,) through projections P (F, 3, D); -> (F, V, 3).

        Only the coordinates the stage's points can use are read (past the wider of its two
        widths they are zero): a 1,024-wide input costs nothing once its layer has narrowed it."""
        st = self.stages[index] if index >= 0 else None
        w = self.plan.input_dim if st is None else max(st.n_in, st.n_out)
        X, P = self.keyframes[max(index, 0)][subset, :w], P[:, :, :w]
        if st is None:
            return seen(P, X)
        if st.blend:  # both ends are keyframes already: no activation evaluated again
            t = np.asarray(t, dtype=float).reshape(-1, 1, 1)
            return (1.0 - t) * seen(P, X) + t * seen(P, self.keyframes[index + 1][subset, :w])
        return st.shown(X, t, P)

    def view_share(self, frames: np.ndarray) -> np.ndarray:
        """The share of the variance the display holds at each frame (F,): the variance of the
        view points' display positions over the total variance of their D-dimensional
        positions, in [0, 1] (1 for D <= 3, and where the points do not spread at all).
        Computed for the whole timeline at the first call (on at most :data:`SHARE_POINTS`)."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        if self.dim <= DISPLAY_DIM:
            return np.ones(frames.size)
        if getattr(self, "_shares", None) is None:
            self._shares = self._view_share(np.arange(self.n_frames))
        return self._shares[frames]

    def shown_width(self, frame: int) -> int:
        """How many coordinates the points span at ``frame``: the input's, a moving stage's
        wider side, a layer's own width once its stage has ended (what a view's share is of)."""
        index, t = int(self.timeline.stage[frame]), float(self.timeline.t[frame])
        if index < 0:
            return self.plan.input_dim
        st = self.stages[index]
        return st.n_out if t >= 1.0 and st.kind != "linear" else max(st.n_in, st.n_out)

    def _view_share(self, frames: np.ndarray) -> np.ndarray:
        sub = self.view[:: max(1, len(self.view) // SHARE_POINTS)]
        shown = self.display(frames, sub).astype(float)
        seen_var = np.sum((shown - shown.mean(1, keepdims=True)) ** 2, axis=(1, 2)) / len(sub)
        total = np.zeros(frames.size)
        stages, t = self.timeline.stage[frames], self.timeline.t[frames]
        for s in np.unique(stages):
            sel = stages == s
            X = self.keyframes[max(int(s), 0)][sub]
            total[sel] = self.stages[int(s)].spread(X, t[sel]) if s >= 0 else np.sum((X - X.mean(0)) ** 2) / len(sub)
        return np.where(total > 1e-300, np.clip(seen_var / np.maximum(total, 1e-300), 0.0, 1.0), 1.0)

    def display(self, frames: np.ndarray, subset: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Positions in display space R^3 (zeros padded for 1-D and 2-D); -> (F, V, 3) float32."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        if self.dim <= DISPLAY_DIM:
            return self._to_display(self.frames(frames, subset), self.projection(frames))
        out = np.zeros((frames.size, len(self.keyframes[0][subset]), DISPLAY_DIM), dtype=np.float32)
        stages = self.timeline.stage[frames]
        for s in np.unique(stages):
            sel = stages == s
            out[sel] = self._shown(int(s), self.timeline.t[frames[sel]], self.projection(frames[sel]), subset)
        return _finite(out)

    def display_at(self, stage: int, t: float, frame: int | None = None) -> np.ndarray:
        """Display positions at any point of a stage (-1: the input), t in [0, 1]; -> (V, 3).

        ``frame`` picks the display projection (for D > 3); default: the stage's last frame.
        """
        if frame is None:
            hits = np.flatnonzero(self.timeline.stage == stage)
            frame = int(hits[-1]) if hits.size else 0
        if self.dim <= DISPLAY_DIM:
            return self._to_display(self.stage(stage, np.array([float(t)])), self.projection(np.array([frame])))[0]
        return _finite(self._shown(stage, np.array([float(t)]), self.projection(np.array([frame])), slice(None)))[0]

    def _to_display(self, X: np.ndarray, P: np.ndarray) -> np.ndarray:
        if self.dim <= DISPLAY_DIM:
            out = np.zeros(X.shape[:2] + (DISPLAY_DIM,), dtype=np.float32)
            out[..., : self.dim] = X
            return _finite(out)
        return _finite(np.einsum("fij,fvj->fvi", P, X))

    def display_head(self, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The classifier head as an affine map of display space at ``frame``, or None if
        the decision is not seen faithfully there.

        For D > 3 the argmax depends on the differences of W's rows only (for two classes the
        direction w = W[1] - W[0]); where the display projection P holds them all (the last
        view puts them first, see :mod:`layerlapse.networks.projection`), (W_i - W_j).x =
        P(W_i - W_j).(P x) and the head in display space is W P^T (each class's logit
        shifted by the same amount at a point: the same argmax). A k-NN head has no plane: None.
        """
        if not isinstance(self.plan.head, Layer):
            return None
        W, b = self.plan.head.W, self.plan.head.b
        if self.dim <= DISPLAY_DIM:
            return W, b
        Wd = np.zeros((len(W), self.dim))
        Wd[:, : W.shape[1]] = W
        P = self.projection(np.array([frame]))[0]
        w = Wd - Wd.mean(0)
        if np.any(np.linalg.norm(w @ P.T, axis=1) < (1 - 1e-6) * np.linalg.norm(w, axis=1)):
            return None
        return Wd @ P.T, b


def _finite(out: np.ndarray) -> np.ndarray:
    """Display positions as float32, refused when any is NaN or Inf."""
    out = np.asarray(out, dtype=np.float32)
    if not np.isfinite(out).all():
        raise LayerlapseError("network: a frame has NaN or Inf positions; refusing to draw it")
    return out


def _is_memory(head: KnnHead, Z: np.ndarray, labels: np.ndarray) -> bool:
    """Whether points Z (N, m) labelled ``labels`` are the head's own memory samples (the
    same final representations, to rounding, and labels)."""
    if Z.shape != head.Z.shape or not np.array_equal(np.asarray(labels), head.labels):
        return False
    scale = 1.0 + float(np.abs(head.Z).max(initial=0.0))
    return bool(np.allclose(Z, head.Z, rtol=0.0, atol=1e-6 * scale))
