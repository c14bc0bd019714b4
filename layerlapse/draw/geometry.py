"""Pure geometry the drawing back-ends share: a surface's border, the unit cube's edges and
the activation's box, and the decision of a two-class head clipped to the data's box (numpy only)."""

from __future__ import annotations

import numpy as np

#: the activation's box is drawn for widths up to this: a wider cube has 2^width corners, and
#: projected to the screen it would be a tangle of lines, not a box
MAX_BOX_DIM = 6
#: the activation's box at full strength: a little translucent, a guide rather than a wall
BOX_OPACITY = 0.75


def boundary_edges(faces: np.ndarray) -> np.ndarray:
    """Edges (E, 2) used by exactly one triangle of faces (T, 3): a surface's border."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return unique[counts == 1]


def cube_edges(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Corners (2^dim, dim) in {0, 1}^dim and edges (dim 2^(dim-1), 2) of the unit cube."""
    bits = np.arange(2**dim)
    corners = ((bits[:, None] >> np.arange(dim)) & 1).astype(float)  # corner i has bit a as coordinate a
    lower, axis = np.nonzero(corners == 0)  # every corner with a 0 joins the corner with that bit set
    return corners, np.stack([lower, lower | (1 << axis)], 1)


def box_corners(box: tuple[float, float, int], corners: np.ndarray, ambient: int,
                projection: np.ndarray | None) -> np.ndarray:
    """The corners (2^k, 3) in display space of the box [lo, hi]^m (``box``), embedded in the
    first m of ``ambient`` coordinates, from the unit cube's ``corners`` (2^k, k), k >= m
    (:func:`cube_edges`), seen through ``projection`` (3, ambient) when ambient > 3."""
    lo, hi, m = box
    X = np.zeros((len(corners), ambient))
    X[:, :m] = lo + (hi - lo) * corners[:, :m]  # m <= MAX_BOX_DIM: the corners cover it
    pts = np.zeros((len(X), 3))
    if projection is not None:
        pts[:] = X @ projection.T
    else:
        pts[:, : min(ambient, 3)] = X[:, :3]
    return pts


def clip_polygon(P: np.ndarray, w: np.ndarray, c: float) -> np.ndarray:
    """The part of convex polygon P (k, 2) where w.x + c >= 0 (Sutherland-Hodgman, one plane)."""
    out = []
    s = P @ w + c
    for i in range(len(P)):
        j = (i + 1) % len(P)
        if s[i] >= 0:
            out.append(P[i])
        if (s[i] >= 0) != (s[j] >= 0):
            f = s[i] / (s[i] - s[j])
            out.append(P[i] + f * (P[j] - P[i]))
    return np.array(out).reshape(-1, 2)


def plane_box_polygon(w: np.ndarray, c: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Corners (k, 3), k in 3..6, of the plane w.x + c = 0 inside the box [lo, hi], ordered
    counter-clockwise seen from the side w points to."""
    box = np.array([lo, hi])
    corners = np.array([[box[i, 0], box[j, 1], box[k, 2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    side = corners @ w + c
    points = []
    for a in range(8):
        for b in range(a + 1, 8):
            if bin(a ^ b).count("1") == 1 and side[a] * side[b] < 0:  # a box edge the plane crosses
                f = side[a] / (side[a] - side[b])
                points.append(corners[a] + f * (corners[b] - corners[a]))
    if len(points) < 3:
        return None
    P = np.array(points)
    centre = P.mean(0)
    n = w / np.linalg.norm(w)
    u = P[0] - centre
    u /= max(np.linalg.norm(u), 1e-30)
    v = np.cross(n, u)
    order = np.argsort(np.arctan2((P - centre) @ v, (P - centre) @ u))
    return P[order]


def decision_geometry(head: tuple[np.ndarray, np.ndarray] | None, data: np.ndarray, *, flat: bool) -> dict | None:
    """The decision of a two-class head (W (2, k), b (2,)) in display space, clipped to the
    padded box of ``data`` (N, 3) (the class points): flat (a head at most 2 wide): ``line``
    (2, 3) and the two ``regions`` (polygons (k, 3), class 0 then class 1), at z = 0; 3-D:
    the ``plane`` polygon (k, 3) and its ``normal`` (pointing to class 1). None if the
    decision misses the box."""
    if head is None or head[0].shape[0] != 2 or len(data) == 0:
        return None
    W, b = head
    w = np.zeros(3)
    w[: min(W.shape[1], 3)] = (W[1] - W[0])[:3]
    c = float(b[1] - b[0])
    if float(np.linalg.norm(w)) < 1e-12:
        return None
    lo, hi = data.min(0).astype(float), data.max(0).astype(float)
    pad = 0.04 * float((hi - lo).max()) + 1e-9
    lo, hi = lo - pad, hi + pad
    if flat:
        rect = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
        # logit 2 - logit 1 = w.x + c: the first class wins where it is negative
        sides = [clip_polygon(rect, -w[:2], -c), clip_polygon(rect, w[:2], c)]
        line = clip_polygon(rect, w[:2], c)
        on = line[np.abs(line @ w[:2] + c) < 1e-9 * (1 + abs(c) + np.abs(line).max())] if len(line) else line
        if len(on) < 2 or any(len(s) < 3 for s in sides):
            return None
        return {"line": np.c_[on[[0, -1]], np.zeros(2)], "regions": [np.c_[s, np.zeros(len(s))] for s in sides]}
    corners = plane_box_polygon(w, c, lo, hi)
    if corners is None:
        return None
    return {"plane": corners, "normal": w / np.linalg.norm(w)}
