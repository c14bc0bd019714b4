"""Every frame's vertex positions: the layer stages sampled along a timeline.

All stages run in the ambient space R^D, D the network's largest width; points of
narrower stages carry zeros in the unused coordinates. The points at every stage
boundary are computed once (``keyframes``), so any frame costs one partial stage,
computed for a batch of frames with one einsum or one broadcast, never vertex by vertex.

Display: for D <= 3 the first three coordinates (zero-padded). For D > 3, a projection
``P(tau)`` (3 x D, orthonormal rows) that is ``[I | 0]`` until the first layer that widens
past 3 starts, turns continuously during that layer towards a view of the final
representation (the decision direction and its two main directions of spread), and
stays there: no frame jumps and the input looks as it was defined.

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
from layerlapse.networks.stages import Stage
from layerlapse.networks.timeline import Timeline, ease

DISPLAY_DIM = 3


def _orthonormal_rows(A: np.ndarray) -> np.ndarray:
    """The closest matrix with orthonormal rows (polar factor); (..., 3, D) -> same."""
    U, _, Vt = np.linalg.svd(A, full_matrices=False)
    return U @ Vt


def final_view(final: np.ndarray, head_W: np.ndarray, ambient: int) -> np.ndarray:
    """A 3 x D projection of the final representation (V, D): first axis the decision
    direction (for two classes: ``head_W[1] - head_W[0]``; a k-NN head passes its class
    means), then the main directions of spread orthogonal to it."""
    D = ambient
    axes = []
    if head_W.shape[0] == 2:
        w = np.zeros(D)
        w[: head_W.shape[1]] = head_W[1] - head_W[0]
        if np.linalg.norm(w) > 1e-12:
            axes.append(w / np.linalg.norm(w))
    X = final - final.mean(0)
    for a in axes:
        X = X - np.outer(X @ a, a)
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    for v in Vt:
        if len(axes) == 3:
            break
        for a in axes:
            v = v - (v @ a) * a
        if np.linalg.norm(v) > 1e-9:
            axes.append(v / np.linalg.norm(v))
    P1 = np.array(axes[:3])
    # rotate within the screen so the view starts as close to [I | 0] as it can
    P0 = np.eye(3, D)
    U, _, Vt = np.linalg.svd(P0 @ P1.T)
    return (U @ Vt) @ P1


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

    def iter_display(self, batch: int = 16) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(frame indices (B,), display positions (B, V, 3))`` over the whole timeline."""
        for start in range(0, self.n_frames, batch):
            idx = np.arange(start, min(start + batch, self.n_frames))
            yield idx, self.display(idx)


class Deformation(FrameSource):
    """Positions of ``points`` (V, n) at every frame of ``timeline`` under ``plan``.

    ``keyframes``: (S + 1, V, D), the points before the first stage and after each of
    the S stages. Raises :class:`LayerlapseError` if the network sends any point to NaN/Inf.
    """

    def __init__(self, plan: LayerPlan, timeline: Timeline, points: np.ndarray, *,
                 projection: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
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
    def _projection_path(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P0, P1, tau per frame) for D > 3; see the module docstring."""
        D = self.dim
        wide = [i for i, st in enumerate(self.stages) if max(st.n_in, st.n_out) > DISPLAY_DIM]
        first, layer = wide[0], self.stages[wide[0]].layer
        last = max(i for i, st in enumerate(self.stages) if st.layer == layer)
        tl = self.timeline
        frames_of = np.flatnonzero((tl.stage >= first) & (tl.stage <= last))
        f0, f1 = frames_of[0], frames_of[-1]
        tau = ease((np.arange(tl.n_frames) - f0) / max(f1 - f0, 1), "smoothstep")
        P0 = np.eye(DISPLAY_DIM, D)
        head = self.plan.head
        if isinstance(head, KnnHead):
            rows = head.class_means()
        else:
            rows = head.W if isinstance(head, Layer) else np.zeros((0, 1))
        P1 = final_view(self.keyframes[-1], rows, D)
        return P0, P1, tau

    def projection(self, frames: np.ndarray) -> np.ndarray:
        """The display projection for each frame; (F,) -> (F, 3, D)."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        if self._projection is None:
            return np.broadcast_to(np.eye(DISPLAY_DIM, self.dim), (frames.size, DISPLAY_DIM, self.dim))
        P0, P1, tau = self._projection
        a = tau[frames][:, None, None]
        return _orthonormal_rows((1 - a) * P0 + a * P1)

    def display(self, frames: np.ndarray, subset: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Positions in display space R^3 (zeros padded for 1-D and 2-D); -> (F, V, 3) float32."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        return self._to_display(self.frames(frames, subset), self.projection(frames))

    def display_at(self, stage: int, t: float, frame: int | None = None) -> np.ndarray:
        """Display positions at any point of a stage (-1: the input), t in [0, 1]; -> (V, 3).

        ``frame`` picks the display projection (for D > 3); default: the stage's last frame.
        """
        if frame is None:
            hits = np.flatnonzero(self.timeline.stage == stage)
            frame = int(hits[-1]) if hits.size else 0
        return self._to_display(self.stage(stage, np.array([float(t)])), self.projection(np.array([frame])))[0]

    def _to_display(self, X: np.ndarray, P: np.ndarray) -> np.ndarray:
        if self.dim <= DISPLAY_DIM:
            out = np.zeros(X.shape[:2] + (DISPLAY_DIM,), dtype=np.float32)
            out[..., : self.dim] = X
        else:
            out = np.einsum("fij,fvj->fvi", P, X).astype(np.float32)
        if not np.isfinite(out).all():
            raise LayerlapseError("network: a frame has NaN or Inf positions; refusing to draw it")
        return out

    def display_head(self, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The classifier head as an affine map of display space at ``frame``, or None if
        the decision is not seen faithfully there.

        For D > 3 the logits' difference depends on the direction w = W[1] - W[0] only; once
        the display projection P contains w (from the widening layer on, see
        :func:`final_view`), w.x = (P w).(P x) and the head in display space is W P^T.
        A k-NN head has no plane: None.
        """
        if not isinstance(self.plan.head, Layer):
            return None
        W, b = self.plan.head.W, self.plan.head.b
        if self.dim <= DISPLAY_DIM:
            return W, b
        if W.shape[0] != 2:
            return None
        Wd = np.zeros((2, self.dim))
        Wd[:, : W.shape[1]] = W
        P = self.projection(np.array([frame]))[0]
        w = Wd[1] - Wd[0]
        if np.linalg.norm(P @ w) < (1 - 1e-6) * np.linalg.norm(w):
            return None
        return Wd @ P.T, b


def _is_memory(head: KnnHead, Z: np.ndarray, labels: np.ndarray) -> bool:
    """Whether points Z (N, m) labelled ``labels`` are the head's own memory samples (the
    same final representations, to rounding, and labels)."""
    if Z.shape != head.Z.shape or not np.array_equal(np.asarray(labels), head.labels):
        return False
    scale = 1.0 + float(np.abs(head.Z).max(initial=0.0))
    return bool(np.allclose(Z, head.Z, rtol=0.0, atol=1e-6 * scale))
