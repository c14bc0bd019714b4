"""The smallest distance between two classes' meshes, and whether they cross.

A class is drawn as triangles (its surfaces) and segments (its curves) over one vertex set
(:class:`ClassGeometry`); :func:`class_distance` measures two of them at one frame, in any
dimension (crossing is tested in R^3 and below). Pure numpy/scipy geometry: the
certificate (:mod:`layerlapse.networks.certificate`) calls it on every computed frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from layerlapse.scenes.base import Scene

#: :func:`class_distance` refines the distance around this many vertices of each class
#: nearest the other, each against the cells around its this many nearest vertices there
CANDIDATES = 64
NEIGHBOURS = 6


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
    from scipy.spatial import cKDTree  # the certificate's, not a still's

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
