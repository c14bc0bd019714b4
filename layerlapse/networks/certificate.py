"""A certificate for every frame: what the deformation keeps, measured.

Per frame of a :class:`~layerlapse.networks.deformation.Deformation`:

* ``det`` and ``sigma_min`` of ``p(t)``, the matrix of the linear stage being played; outside
  linear stages the last linear map reached (``p(1) = W`` of the layer's linear stage, held
  through its translate and activation and the pause; 1 before the first). Polar paths keep
  both positive; a straight path through ``det = 0`` shows as a sign change.
* ``distance``: the smallest distance between the classes' meshes (triangles and polyline
  segments), and ``intersect``: whether they cross (:func:`class_distance`).
* ``linking``: the Gauss linking integral of the classes' core curves (``Scene.cores``),
  exactly for polygons (:func:`linking_number`); NaN where the cores do not lie in a 3-D
  coordinate space (frames in R^4) or lie in a plane.

Per layer (the input and the end of each layer): Betti numbers b0, b1 of each class's samples
(:func:`betti`, persistent homology with ripser). Pure numpy/scipy/ripser: no files, no drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import LayerPlan
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
#: :func:`class_distance` refines the distance around this many vertices of each class
#: nearest the other, each against the cells around its this many nearest vertices there
CANDIDATES = 64
NEIGHBOURS = 6


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


# --- distance and intersection between classes -----------------------------------------------
@dataclass(frozen=True)
class ClassGeometry:
    """The drawn parts of one class: ``index`` (V,) into ``Scene.points()``, ``triangles``
    (T, 3) and ``segments`` (K, 2) in local vertex numbers, and ``edges`` (E, 2): the
    triangles' edges and the segments, each once."""

    label: int
    index: np.ndarray
    triangles: np.ndarray
    segments: np.ndarray
    edges: np.ndarray = field(repr=False)

    def incidence(self, which: str) -> sparse.csr_matrix:
        """Vertex -> cell incidence of ``triangles``, ``segments`` or ``edges`` (computed once)."""
        cache = self.__dict__.setdefault("_incidence", {})
        if which not in cache:
            cache[which] = _incidence(getattr(self, which), len(self.index))
        return cache[which]


def class_geometry(scene: Scene) -> list[ClassGeometry]:
    """Each class's surfaces and curves as one vertex set with triangles and segments."""
    _, slices = scene.points()
    parts = [(s.label, s.faces, None) for s in scene.surfaces] + [(c.label, None, c.closed) for c in scene.curves]
    out = []
    for label in sorted({label for label, _, _ in parts if label >= 0}):
        index, tris, segs, offset = [], [], [], 0
        for (lab, faces, closed), sl in zip(parts, slices):
            if lab != label:
                continue
            n = sl.stop - sl.start
            index.append(np.arange(sl.start, sl.stop))
            if faces is not None:
                tris.append(np.asarray(faces, dtype=np.int64) + offset)
            else:
                i = np.arange(n if closed else n - 1)
                segs.append(np.stack([i, (i + 1) % n], 1) + offset)
            offset += n
        T = np.concatenate(tris) if tris else np.zeros((0, 3), np.int64)
        K = np.concatenate(segs) if segs else np.zeros((0, 2), np.int64)
        E = np.sort(np.concatenate([T[:, [0, 1]], T[:, [1, 2]], T[:, [2, 0]], K]), axis=1)
        out.append(ClassGeometry(label, np.concatenate(index), T, K, np.unique(E, axis=0)))
    return out


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", u, v)


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points p to segments ab, pairwise; (K, d) each -> (K,), any d."""
    ab = b - a
    den = _dot(ab, ab)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(den > 0, _dot(p - a, ab) / den, 0.0), 0.0, 1.0)
    return np.linalg.norm(p - a - t[:, None] * ab, axis=1)


def point_triangle_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance from points p to triangles abc, pairwise; (K, d) each -> (K,), any d.

    The closest point is the projection onto the triangle's plane when that falls inside
    (barycentric coordinates from the 2 x 2 Gram system), else on one of its edges.
    """
    ab, ac, ap = b - a, c - a, p - a
    g11, g12, g22 = _dot(ab, ab), _dot(ab, ac), _dot(ac, ac)
    r1, r2 = _dot(ab, ap), _dot(ac, ap)
    det = g11 * g22 - g12 * g12
    ok = det > 1e-14 * (g11 * g22 + 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(ok, (g22 * r1 - g12 * r2) / det, -1.0)
        v = np.where(ok, (g11 * r2 - g12 * r1) / det, -1.0)
    inside = (u >= 0) & (v >= 0) & (u + v <= 1)
    d_plane = np.linalg.norm(ap - u[:, None] * ab - v[:, None] * ac, axis=1)
    d_edges = np.minimum(np.minimum(point_segment_distance(p, a, b), point_segment_distance(p, b, c)),
                         point_segment_distance(p, c, a))
    return np.where(inside, np.minimum(d_plane, d_edges), d_edges)


def segment_segment_distance(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Distance between segments p1q1 and p2q2, pairwise; (K, d) each -> (K,), any d.

    The squared distance is a convex quadratic on [0, 1]^2: its minimum is the unconstrained
    one when that lies inside, else on the boundary (an endpoint against the other segment).
    """
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a, e, b = _dot(d1, d1), _dot(d2, d2), _dot(d1, d2)
    c, f = _dot(d1, r), _dot(d2, r)
    den = a * e - b * b
    ok = den > 1e-14 * (a * e + 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(ok, (b * f - c * e) / den, -1.0)
        t = np.where(ok, (a * f - b * c) / den, -1.0)
    inside = (s >= 0) & (s <= 1) & (t >= 0) & (t <= 1)
    d_in = np.linalg.norm(r + s[:, None] * d1 - t[:, None] * d2, axis=1)
    d_ends = np.minimum.reduce([point_segment_distance(p1, p2, q2), point_segment_distance(q1, p2, q2),
                                point_segment_distance(p2, p1, q1), point_segment_distance(q2, p1, q1)])
    return np.where(inside, np.minimum(d_in, d_ends), d_ends)


def segments_cross_triangles(p: np.ndarray, q: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Whether segments pq cross triangles abc in R^3, pairwise (Moller-Trumbore); (K, 3) each -> (K,) bool.
    Segments lying in the triangle's plane count as not crossing (their distance is 0 then)."""
    d, e1, e2 = q - p, b - a, c - a
    h = np.cross(d, e2)
    det = _dot(e1, h)
    ok = np.abs(det) > 1e-14 * (np.linalg.norm(d, axis=1) * np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1) + 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(ok, 1.0 / det, 0.0)
    s = p - a
    u = inv * _dot(s, h)
    qv = np.cross(s, e1)
    v = inv * _dot(d, qv)
    t = inv * _dot(e2, qv)
    return ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t >= 0) & (t <= 1)


def _incidence(cells: np.ndarray, n: int) -> sparse.csr_matrix:
    """Vertex -> cell incidence (n, K) of cells (K, m)."""
    K, m = cells.shape
    return sparse.csr_matrix((np.ones(K * m, bool), (cells.ravel(), np.repeat(np.arange(K), m))), shape=(n, K))


def _near_cells(inc: sparse.csr_matrix, vertices: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (owner, cell) for every cell incident to ``vertices`` (P,), each tagged with
    ``owners`` (P,); duplicates removed; -> two (Q,) int arrays."""
    rows = inc[vertices]
    counts = np.diff(rows.indptr)
    n = max(inc.shape[1], 1)
    key = np.unique(np.repeat(owners, counts).astype(np.int64) * n + rows.indices)
    return key // n, key % n


def class_distance(PA: np.ndarray, A: ClassGeometry, PB: np.ndarray, B: ClassGeometry, *,
                   tol: float = 1e-9, candidates: int = CANDIDATES, neighbours: int = NEIGHBOURS) -> tuple[float, bool]:
    """The smallest distance between two classes' meshes and whether they intersect.

    PA (VA, d), PB (VB, d): the classes' vertices at one frame. The least vertex-to-vertex
    distance (k-d tree) is refined exactly where the classes come closest: each of the
    ``candidates`` vertices of one class nearest the other is measured against every
    triangle, segment and edge around its ``neighbours`` nearest vertices of the other class
    (vertex against cell and edge against edge: where two disjoint triangles or segments in
    R^2 or R^3 are closest), both ways. Exact whenever the closest pair lies around those
    vertices (for meshes whose cells are not much longer than the gap); never more than the
    vertex-to-vertex distance, so at worst off by one edge length. ``intersect``: in R^3 an
    edge there crossing a triangle of the other class (Moller-Trumbore), or the distance at
    most ``tol`` times the classes' size.
    """
    scale = max(float(np.ptp(PA, axis=0).max(initial=0.0)), float(np.ptp(PB, axis=0).max(initial=0.0)), 1e-300)
    best = np.inf
    crossing = False
    for (P, G), (Q, H) in (((PA, A), (PB, B)), ((PB, B), (PA, A))):
        tree = cKDTree(Q)
        d, _ = tree.query(P)
        best = min(best, float(d.min()))
        m = min(candidates, len(P))
        near = np.argpartition(d, m - 1)[:m]  # this class's vertices nearest the other
        k = min(neighbours, len(Q))
        _, nb = tree.query(P[near], k=k)
        nb = nb.reshape(m, k)
        owners = np.repeat(near, k)
        for which in ("triangles", "segments"):
            cells = getattr(H, which)
            if len(cells) == 0:
                continue
            i, j = _near_cells(H.incidence(which), nb.ravel(), owners)
            c = cells[j]
            if cells.shape[1] == 3:
                dist = point_triangle_distance(P[i], Q[c[:, 0]], Q[c[:, 1]], Q[c[:, 2]])
            else:
                dist = point_segment_distance(P[i], Q[c[:, 0]], Q[c[:, 1]])
            best = min(best, float(dist.min(initial=np.inf)))
        # the edges around the candidates against the other's edges and triangles around their neighbours
        own = G.incidence("edges")[near]
        mine = np.repeat(np.arange(m), np.diff(own.indptr)), own.indices  # (candidate, edge)
        if mine[1].size == 0:
            continue
        their_edges = H.incidence("edges")
        ci, ej = _near_cells(their_edges, nb.ravel(), np.repeat(np.arange(m), k))
        ea, eb = _join(mine, (ci, ej))
        ea, eb = G.edges[ea], H.edges[eb]
        dist = segment_segment_distance(P[ea[:, 0]], P[ea[:, 1]], Q[eb[:, 0]], Q[eb[:, 1]])
        best = min(best, float(dist.min(initial=np.inf)))
        if P.shape[1] <= 3 and len(H.triangles) and not crossing:
            ti, tj = _near_cells(H.incidence("triangles"), nb.ravel(), np.repeat(np.arange(m), k))
            ea, tb = _join(mine, (ti, tj))
            e, t = G.edges[ea], H.triangles[tb]
            P3, Q3 = _pad3(P), _pad3(Q)
            crossing = bool(segments_cross_triangles(P3[e[:, 0]], P3[e[:, 1]], Q3[t[:, 0]], Q3[t[:, 1]], Q3[t[:, 2]]).any())
    if crossing or best <= tol * scale:
        return 0.0, True
    return best, False


def _join(left: tuple[np.ndarray, np.ndarray], right: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (left value, right value) of rows sharing a key: ``left`` and ``right`` are
    (keys, values); -> two (P,) arrays."""
    lk, lv = left
    rk, rv = right
    order = np.argsort(rk, kind="stable")
    rk, rv = rk[order], rv[order]
    lo, hi = np.searchsorted(rk, lk, "left"), np.searchsorted(rk, lk, "right")
    counts = hi - lo
    li = np.repeat(np.arange(lk.size), counts)
    ri = np.repeat(lo - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(int(counts.sum()))
    return lv[li], rv[ri]


def _pad3(P: np.ndarray) -> np.ndarray:
    return P if P.shape[1] == 3 else np.hstack([P, np.zeros((len(P), 3 - P.shape[1]))])


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
