"""How much the layers so far stretch space at each drawn point: the heat map's numbers.

The map from the input to a frame (stage s at local time t) is the composition of the
stages before s at t = 1 and stage s at t; its derivative at a point is the product of
the stages' exact Jacobians (:meth:`~layerlapse.networks.stages.Stage.jacobian`: ``p(t)``
for a linear stage, ``(1 - t) I + t J_act`` for an activation, the variational equation
for a flow). A point's *stretch* is how that derivative changes the size of what passes
through it:

* on a surface, the area ratio on its tangent plane: with T (n x 2) an orthonormal basis of
  the tangent plane and A = J T, ``sqrt(det(A^T A))``;
* on a curve or a grid line, the length ratio along it: ``|J t|`` for the unit tangent t;
* a flat surface of a 2-D scene fills its plane, so T = I and the ratio is ``|det J|``
  (in wider layers, the area of the image of the plane).

The pushed-forward tangent frames at the end of every stage are computed once
(``frames[s]``); a frame then costs one stage Jacobian and one small batched product,
for a batch of frames at once. Ratios are measured in the network's own space R^D (not
in the 3-D display of a width-4 layer). Pure numpy: no drawing, no files.
"""

from __future__ import annotations

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.scenes.base import Scene

#: below this, a tangent or a ratio is zero (a squashed point, not a number to log)
TINY = 1e-30
#: the heat map's Jacobians of one frame, (points with a tangent) x width x width floats, may
#: take at most this many bytes: a 1,024-wide network's grid of 1,000 points needs 8 GB a frame
MAX_STRETCH_BYTES = 1e9


def check_stretch_size(scene: Scene, width: int) -> None:
    """Refuse ``--color-by stretch`` for a network ``width`` wide (its widest layer) whose
    Jacobians at the scene's tangent points would pass :data:`MAX_STRETCH_BYTES` a frame."""
    points = sum(len(idx) for idx, _ in tangent_frames(scene))
    need = 8.0 * points * width * width
    if need > MAX_STRETCH_BYTES:
        raise LayerlapseError(
            f"color_by: 'stretch' on a {width}-wide network takes {need / 1e9:.1f} GB of Jacobians a frame "
            f"({points:,} points x {width} x {width}); allowed: at most {MAX_STRETCH_BYTES / 1e9:.0f} GB "
            "(about 350 wide for 1,000 points); use --color-by class")


def tangent_frames(scene: Scene) -> list[tuple[np.ndarray, np.ndarray]]:
    """Orthonormal tangent frames of every stacked point (``Scene.points`` order), in
    groups of equal dimension: ``[(indices (N,), frames (N, n, k)), ...]`` with k = 1 on
    curves and grid lines, k = 2 on surfaces (k = n = 2 for flat surfaces of 2-D scenes)."""
    n = scene.dim
    groups: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def add(start: int, frames: np.ndarray) -> None:
        idx, fr = groups.setdefault(frames.shape[2], ([], []))
        idx.append(np.arange(start, start + len(frames)))
        fr.append(frames)

    start = 0
    for surface in scene.surfaces:
        V = len(surface.vertices)
        if n == 2:
            add(start, np.broadcast_to(np.eye(2), (V, 2, 2)).copy())
        else:
            add(start, _surface_frames(np.asarray(surface.vertices, dtype=float), surface.faces))
        start += V
    for curve in scene.curves:
        add(start, _curve_tangents(np.asarray(curve.points, dtype=float), curve.closed)[:, :, None])
        start += len(curve.points)
    start += sum(len(cloud.points) for cloud in scene.clouds)  # points: no tangent, nothing to stretch
    if scene.grid is not None:
        lines = np.asarray(scene.grid.lines, dtype=float)
        L, P, _ = lines.shape
        along = lines[:, -1] - lines[:, 0]  # the lines are straight: one direction each
        along /= np.maximum(np.linalg.norm(along, axis=1, keepdims=True), TINY)
        add(start, np.repeat(along, P, axis=0)[:, :, None])
        start += L * P
    return [(np.concatenate(idx), np.concatenate(fr)) for _, (idx, fr) in sorted(groups.items())]


def _curve_tangents(points: np.ndarray, closed: bool) -> np.ndarray:
    """Unit tangents (N, n) of a polyline (central differences; one-sided at open ends)."""
    if closed:
        T = np.roll(points, -1, 0) - np.roll(points, 1, 0)
    else:
        T = np.gradient(points, axis=0) if len(points) > 1 else np.ones_like(points)
    return T / np.maximum(np.linalg.norm(T, axis=1, keepdims=True), TINY)


def _surface_frames(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Two orthonormal tangents (V, 3, 2) per vertex of a 3-D triangle mesh, perpendicular
    to its area-weighted vertex normal."""
    faces = np.asarray(faces, dtype=np.int64)
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    face_normals = np.cross(b - a, c - a)
    normals = np.zeros_like(vertices)
    for i in range(3):
        np.add.at(normals, faces[:, i], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > TINY, normals / np.maximum(length, TINY), np.array([0.0, 0.0, 1.0]))
    helper = np.where(np.abs(normals[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    u = np.cross(normals, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(normals, u)
    return np.stack([u, v], axis=2)


def volume_ratio(A: np.ndarray) -> np.ndarray:
    """``sqrt(det(A^T A))`` of k columns (..., D, k), k = 1 or 2 (or k = D = 3): the length,
    area (or volume) of the image of a unit k-cube; -> (...)."""
    k = A.shape[-1]
    if k == 1:
        return np.sqrt(np.einsum("...i,...i->...", A[..., 0], A[..., 0]))
    if k == 2:
        a, b = A[..., 0], A[..., 1]
        aa, bb, ab = (np.einsum("...i,...i->...", x, y) for x, y in ((a, a), (b, b), (a, b)))
        return np.sqrt(np.maximum(aa * bb - ab * ab, 0.0))
    return np.sqrt(np.maximum(np.linalg.det(np.swapaxes(A, -1, -2) @ A), 0.0))


class Stretch:
    """The stretch of every drawn point at any frame of a :class:`Deformation`.

    ``log_ratio(frames)`` (F, V) float32: the natural log of each point's area or length
    ratio; 0 where nothing changed. A point squashed to nothing gets the smallest finite
    value seen rather than -inf.
    """

    def __init__(self, deformation, scene: Scene) -> None:
        check_stretch_size(scene, deformation.dim)
        self.deformation = deformation
        self.n_points = deformation.n_points
        self.class_points = scene.class_points()
        D = deformation.dim
        self.groups = []
        for idx, T in tangent_frames(scene):
            frames = np.zeros((len(idx), D, T.shape[2]))
            frames[:, : T.shape[1]] = T
            pushed = [frames]  # the frame pushed through every stage so far, at t = 1
            for s, stage in enumerate(deformation.stages):
                J = stage.jacobian(deformation.keyframes[s][idx], np.ones(1))[0]
                pushed.append(J @ pushed[-1])
            self.groups.append((idx, np.stack(pushed).astype(np.float32)))

    def log_ratio(self, frames: np.ndarray) -> np.ndarray:
        """Log stretch (F, V) float32 at timeline frames (F,)."""
        d = self.deformation
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        out = np.zeros((frames.size, self.n_points), np.float32)
        stages, t = d.timeline.stage[frames], d.timeline.t[frames]
        for s in np.unique(stages):
            sel = stages == s
            out[sel] = self.at(int(s), t[sel])
        return out

    def at(self, stage: int, t: np.ndarray) -> np.ndarray:
        """Log stretch (F, V) float32 within stage ``stage`` (-1: the input) at local times t (F,)."""
        d = self.deformation
        t = np.asarray(t, dtype=float).reshape(-1)
        out = np.zeros((t.size, self.n_points), np.float32)
        if stage < 0:
            return out
        for idx, pushed in self.groups:
            J = d.stages[stage].jacobian(d.keyframes[stage][idx], t)  # (F, N, D, D)
            ratio = volume_ratio(J @ pushed[stage].astype(float))  # the frames are orthonormal at the input
            out[:, idx] = np.log(np.maximum(ratio, TINY))
        alive = out > np.log(TINY) + 1
        if alive.any() and not alive.all():  # squashed to nothing: the smallest stretch seen, not -69
            np.maximum(out, float(out[alive].min()), out=out)
        return out

    def limits(self, subset: np.ndarray | None = None, *, samples: int = 48, quantile: float = 0.95) -> float:
        """A symmetric colour limit L (the colours span ``exp(-L)`` to ``exp(L)``), fixed for
        the whole movie: the ``quantile`` of |log stretch| over ``subset`` of the points
        (default: the classes' points, all points in a scene without classes), at
        the end of every stage and at ``samples`` frames spread over the timeline; at least
        log 2 (so a layer that barely stretches is not painted as if it did)."""
        d = self.deformation
        frames = np.unique(np.r_[np.linspace(0, d.n_frames - 1, samples).round().astype(np.int64),
                                 [int(np.flatnonzero(d.timeline.stage == s)[-1])
                                  for s in np.unique(d.timeline.stage)]])
        values = np.abs(self.log_ratio(frames))
        if subset is None and len(self.class_points):
            subset = self.class_points
        if subset is not None:
            values = values[:, subset]
        return max(float(np.quantile(values, quantile)) if values.size else 0.0, float(np.log(2.0)))
