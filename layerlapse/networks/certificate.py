"""A certificate for every frame: what the deformation keeps, measured.

Per frame of a :class:`~layerlapse.networks.deformation.Deformation`:

* ``det`` and ``sigma_min`` of ``p(t)``, the matrix of the linear stage being played; outside
  linear stages the last linear map reached (``p(1) = W`` of the layer's linear stage, held
  through its translate and activation and the pause; 1 before the first). Polar paths keep
  both positive; a straight path through ``det = 0`` shows as a sign change.
* ``distance``: the smallest distance between the classes' meshes (triangles and polyline
  segments), and ``intersect``: whether they cross
  (:func:`~layerlapse.networks.mesh_distance.class_distance`).
* ``linking``: the Gauss linking integral of the classes' core curves (``Scene.cores``),
  exactly for polygons (:func:`linking_number`); NaN where the cores do not lie in a 3-D
  coordinate space (frames in R^4) or lie in a plane.

Per layer (the input and the end of each layer): Betti numbers b0, b1 of each class's samples
(:func:`betti`, persistent homology with ripser). Pure numpy/scipy/ripser: no files, no drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import LayerPlan
from layerlapse.networks.mesh_distance import class_distance, class_geometry
from layerlapse.networks.stages import LinearStage
from layerlapse.networks.timeline import Timeline
from layerlapse.scenes.base import Scene

#: ripser's subsample per class and layer (the cost grows about cubically with it)
BETTI_POINTS = 400
#: a piece or loop counts when it persists over this share of its class's diameter (see :func:`betti`)
BETTI_PERSISTENCE = 0.1
#: a linking integral further than this from a whole number is undefined: the cores meet
LINK_TOLERANCE = 1e-3
#: frames of linking numbers computed together (memory: about 0.5 KB per segment pair)
_LINK_PAIRS_PER_BATCH = 400_000


# --- the linear stage's matrix ---------------------------------------------------------------
def linear_values(deformation: Deformation, frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """det and smallest singular value of the current linear map at each frame, and the index
    of its stage (-1: none yet, the identity); (F,) -> three (F,) arrays.

    Inside a linear stage the map is ``p(t)``; elsewhere, the last linear map reached
    (``p(1)``), or the identity before the first linear stage.
    """
    tl = deformation.timeline
    frames = np.arange(tl.n_frames) if frames is None else np.asarray(frames, dtype=np.int64).reshape(-1)
    stages = deformation.stages
    last_linear = np.full(len(stages) + 1, -1)  # index by stage + 1 (stage -1 is the input)
    current = -1
    for i, st in enumerate(stages):
        if isinstance(st, LinearStage):
            current = i
        last_linear[i + 1] = current
    which = last_linear[tl.stage[frames] + 1]
    t = np.where(which == tl.stage[frames], tl.t[frames], 1.0)  # past a linear stage: its t = 1
    det, smin = np.ones(frames.size), np.ones(frames.size)
    for s in np.unique(which[which >= 0]):
        sel = which == s
        stage = stages[int(s)]
        assert isinstance(stage, LinearStage)
        P = stage.path.at(t[sel])
        det[sel] = np.linalg.det(P)
        smin[sel] = np.linalg.svd(P, compute_uv=False)[:, -1]
    return det, smin, which


# --- linking numbers -------------------------------------------------------------------------
def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(v / n)


def linking_number(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The Gauss linking integral of closed polygons A and B in R^3, exactly.

    A (..., N, 3), B (..., M, 3) (the last vertex joins the first), batched over leading
    axes; -> (...) float, an integer up to rounding when the polygons are disjoint. Sum over
    segment pairs of the signed solid angle each pair subtends, over 4 pi (Klenin &
    Langowski, Biopolymers 54, 2000, eq. 12-16).
    """
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    p1, p2 = A, np.roll(A, -1, axis=-2)
    p3, p4 = B, np.roll(B, -1, axis=-2)
    p1, p2 = p1[..., :, None, :], p2[..., :, None, :]  # (..., N, 1, 3)
    p3, p4 = p3[..., None, :, :], p4[..., None, :, :]  # (..., 1, M, 3)
    r13, r14, r23, r24 = p3 - p1, p4 - p1, p3 - p2, p4 - p2
    n1 = _unit(np.cross(r13, r14))
    n2 = _unit(np.cross(r14, r24))
    n3 = _unit(np.cross(r24, r23))
    n4 = _unit(np.cross(r23, r13))

    def asin(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.arcsin(np.clip(np.sum(u * v, axis=-1), -1.0, 1.0))

    omega = asin(n1, n2) + asin(n2, n3) + asin(n3, n4) + asin(n4, n1)
    sign = np.sign(np.sum(np.cross(p4 - p3, p2 - p1) * r13, axis=-1))
    return np.sum(omega * sign, axis=(-2, -1)) / (4.0 * np.pi)


def _in_three_d(X: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Whether points X (F, V, D) of each frame span R^3 as embedded: the coordinates past
    the third are zero and the third is not (a plane has no linking); -> (F,) bool."""
    scale = np.abs(X).max(axis=(1, 2)) + 1e-300
    beyond = np.abs(X[..., 3:]).max(axis=(1, 2)) if X.shape[2] > 3 else np.zeros(len(X))
    third = np.abs(X[..., 2]).max(axis=1) if X.shape[2] > 2 else np.zeros(len(X))
    return (beyond <= rtol * scale) & (third > rtol * scale)


def core_deformation(deformation: Deformation, scene: Scene) -> Deformation | None:
    """The scene's hidden core curves (``Scene.cores``) carried through the same stages and
    timeline; None when the scene has fewer than two."""
    if len(scene.cores) < 2:
        return None
    points = np.concatenate([np.asarray(c, dtype=float) for c in scene.cores])
    return Deformation(deformation.plan, deformation.timeline, points)


def linking_values(deformation: Deformation, scene: Scene, frames: np.ndarray | None = None) -> np.ndarray:
    """The linking number of the first two cores at each frame (F,); NaN where undefined (no
    cores; the cores outside a 3-D coordinate space: width-4 stages, flattened to a plane; or
    not a whole number: the cores meet)."""
    tl = deformation.timeline
    frames = np.arange(tl.n_frames) if frames is None else np.asarray(frames, dtype=np.int64).reshape(-1)
    out = np.full(frames.size, np.nan)
    cores = core_deformation(deformation, scene)
    if cores is None:
        return out
    n_a, n_b = len(scene.cores[0]), len(scene.cores[1])
    unique, inverse = _unique_moments(tl, frames)
    values = np.full(unique.size, np.nan)
    batch = max(1, _LINK_PAIRS_PER_BATCH // (n_a * n_b))
    for start in range(0, unique.size, batch):
        idx = unique[start:start + batch]
        X = cores.frames(idx)[:, : n_a + n_b]
        ok = _in_three_d(X)
        if ok.any():
            values[start:start + batch][ok] = linking_number(X[ok, :n_a, :3], X[ok, n_a:, :3])
    # disjoint closed polygons give a whole number; anything else means the cores touch or
    # cross (a stage that is not one-to-one, e.g. relu, folded one onto the other)
    values[np.abs(values - np.round(values)) > LINK_TOLERANCE] = np.nan
    out[:] = values[inverse]
    return out


def _unique_moments(tl: Timeline, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames showing the same (stage, t) (the pauses and holds) are computed once:
    -> (representative frames (U,), index into them for each frame (F,))."""
    keys = np.stack([tl.stage[frames].astype(float), tl.t[frames]], 1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return frames[first], inverse.reshape(-1)


def frame_values(deformation: Deformation, scene: Scene, frames: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The cheap per-frame readout (for an on-screen display of every frame of a movie):
    ``det``, ``sigma_min`` (of the current linear map, see :func:`linear_values`) and
    ``linking`` (NaN where undefined), each (F,) for ``frames`` (default: all)."""
    det, smin, _ = linear_values(deformation, frames)
    return {"det": det, "sigma_min": smin, "linking": linking_values(deformation, scene, frames)}


# --- distance and intersection between classes (measured by mesh_distance) ---------------------
def distance_values(deformation: Deformation, scene: Scene, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least distance between any two classes, and whether any two intersect, at each
    frame; (F,) -> (F,) float, (F,) bool. NaN / False for scenes with fewer than two classes."""
    geometry = class_geometry(scene)
    frames = np.asarray(frames, dtype=np.int64).reshape(-1)
    dist, hit = np.full(frames.size, np.nan), np.zeros(frames.size, bool)
    if len(geometry) < 2:
        return dist, hit
    unique, inverse = _unique_moments(deformation.timeline, frames)
    index = np.concatenate([g.index for g in geometry])
    starts = np.cumsum([0] + [len(g.index) for g in geometry])
    ud, uh = np.full(unique.size, np.nan), np.zeros(unique.size, bool)
    for k, f in enumerate(unique):
        X = deformation.frames(np.array([f]), index)[0]
        width = _width(X)
        X = X[:, :width]
        best, touch = np.inf, False
        for a in range(len(geometry)):
            for b in range(a + 1, len(geometry)):
                d, t = class_distance(X[starts[a]:starts[a + 1]], geometry[a], X[starts[b]:starts[b + 1]], geometry[b])
                best, touch = min(best, d), touch or t
        ud[k], uh[k] = best, touch
    dist[:], hit[:] = ud[inverse], uh[inverse]
    return dist, hit


def _width(X: np.ndarray) -> int:
    """The number of leading coordinates the points X (V, D) use (at least 2)."""
    used = np.flatnonzero(np.abs(X).max(0) > 0)
    return max(2, int(used[-1]) + 1 if used.size else 2)


# --- Betti numbers per layer ---------------------------------------------------------------------
def betti(X: np.ndarray, *, persistence: float = BETTI_PERSISTENCE) -> tuple[int, int, float]:
    """Betti numbers b0, b1 of a point cloud X (N, d): the features of the Vietoris-Rips
    filtration (ripser, maxdim 1) that persist over at least ``persistence`` times the cloud's
    diameter; -> (b0, b1, that length).

    Relative to the cloud's own size, not to its sample spacing: the gaps between samples
    (a few times their spacing at most, and uneven after a few layers) are short-lived,
    while a class's pieces and holes last a good part of its size. Still the samples' view:
    a hole squeezed to a sliver a tenth of the class's size no longer counts.
    """
    from ripser import ripser

    X = np.asarray(X, dtype=float)
    if len(X) < 2:
        return len(X), 0, 0.0
    lo, hi = X.min(0), X.max(0)
    length = float(persistence * np.linalg.norm(hi - lo))
    if length <= 0:
        return 1, 0, 0.0
    dgms = ripser(X, maxdim=1)["dgms"]
    counts = [int(np.sum(d[:, 1] - d[:, 0] >= length)) for d in dgms]  # the unbounded piece: inf
    return counts[0], counts[1] if len(counts) > 1 else 0, length


@dataclass(frozen=True)
class LayerBetti:
    """b0, b1 and the persistence they needed (``epsilon``: BETTI_PERSISTENCE times the class's
    diameter), per class, at one moment (``input`` or a layer's end)."""

    name: str
    frame: int
    b0: tuple[int, ...]
    b1: tuple[int, ...]
    epsilon: tuple[float, ...]


def layer_betti(plan: LayerPlan, timeline: Timeline, samples: np.ndarray, labels: np.ndarray, *,
                points: int = BETTI_POINTS, seed: int = 0) -> list[LayerBetti]:
    """Betti numbers of each class's samples (at most ``points`` of each, a seeded random
    subset) at the input and at the end of each layer (the table of Naitzat et al.,
    *Topology of deep neural networks*, 2020)."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    picks = []
    for c in classes:
        idx = np.flatnonzero(labels == c)
        picks.append(np.sort(rng.choice(idx, min(points, idx.size), replace=False)))
    chosen = np.concatenate(picks)
    ends = np.cumsum([0] + [p.size for p in picks])
    keys = Deformation(plan, timeline, samples[chosen]).keyframes  # (S + 1, N, D)
    stages = plan.stages()
    moments = [("input", 0, -1)] + [
        (f"layer{st.layer + 1}", i + 1, i) for i, st in enumerate(stages)
        if i + 1 == len(stages) or stages[i + 1].layer != st.layer
    ]
    out = []
    for name, key, stage in moments:
        frame = int(np.flatnonzero(timeline.stage == stage)[-1]) if np.any(timeline.stage == stage) else 0
        rows = [betti(keys[key][ends[k]:ends[k + 1]]) for k in range(len(classes))]
        out.append(LayerBetti(name, frame, tuple(r[0] for r in rows), tuple(r[1] for r in rows),
                              tuple(r[2] for r in rows)))
    return out


# --- everything together ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Certificate:
    """The certificate of a deformation: per-frame arrays over the computed ``frames`` (F,),
    the per-layer Betti table, and the network's accuracy.

    ``stage`` (F,) index of the stage played (-1: input); ``time`` (F,) seconds;
    ``linear_stage`` (F,) the stage whose matrix ``det``/``sigma_min`` describe (-1: none);
    ``linking`` NaN where undefined; ``distance`` NaN with fewer than two classes.
    """

    frames: np.ndarray
    time: np.ndarray
    stage: np.ndarray
    t: np.ndarray
    det: np.ndarray
    sigma_min: np.ndarray
    linear_stage: np.ndarray
    distance: np.ndarray
    intersect: np.ndarray
    linking: np.ndarray
    layers: list[LayerBetti]
    accuracy: float | None
    stage_names: tuple[str, ...]
    class_names: tuple[str, ...]
    straight_crossings: tuple[str, ...] = ()
    #: every stage is one-to-one (then the true classes can never meet)
    homeomorphic: bool = True

    def stage_name(self, stage: int) -> str:
        """``layer2.tanh`` for stage index 1 .. S - 1 (``input`` for -1)."""
        return self.stage_names[stage + 1]


def certify(deformation: Deformation, scene: Scene, *, frames: Sequence[int] | np.ndarray,
            accuracy: float | None = None, betti_points: int = BETTI_POINTS) -> Certificate:
    """Every quantity of the module docstring at ``frames`` of ``deformation`` (made over
    ``scene.points()``), the Betti table from the scene's samples."""
    tl = deformation.timeline
    frames = np.asarray(frames, dtype=np.int64).reshape(-1)
    det, smin, which = linear_values(deformation, frames)
    dist, hit = distance_values(deformation, scene, frames)
    link = linking_values(deformation, scene, frames)
    layers = layer_betti(deformation.plan, tl, scene.samples, scene.labels, points=betti_points)
    crossings = tuple(st.name for st in deformation.stages
                      if isinstance(st, LinearStage) and st.path.method == "straight" and st.path.crosses_singular)
    return Certificate(
        frames=frames, time=frames / tl.fps, stage=tl.stage[frames], t=tl.t[frames], det=det, sigma_min=smin,
        linear_stage=which, distance=dist, intersect=hit, linking=link, layers=layers, accuracy=accuracy,
        stage_names=("input", *(st.name for st in deformation.stages)), class_names=scene.class_names,
        straight_crossings=crossings, homeomorphic=all(st.injective for st in deformation.stages),
    )


def default_every(n_frames: int, budget: int = 240) -> int:
    """The default ``every``: about ``budget`` computed frames (the pauses and holds, which
    repeat a frame, cost nothing)."""
    return max(1, int(np.ceil(n_frames / budget)))


def frame_selection(timeline: Timeline, every: int) -> np.ndarray:
    """Every ``every``-th frame, plus each stage's first and last frame (and the last frame)."""
    n = timeline.n_frames
    keep = np.zeros(n, bool)
    keep[::every] = True
    keep[-1] = True
    change = np.flatnonzero((np.diff(timeline.name) != 0) | (np.diff(timeline.stage) != 0))
    keep[change] = True
    keep[change + 1] = True
    return np.flatnonzero(keep)
