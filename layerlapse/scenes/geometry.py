"""Stateless array functions that make scene geometry; shapes in the docstrings."""

from __future__ import annotations

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_SAMPLING_DRAWS


def periodic_grid_faces(nu: int, nv: int, *, wrap_u: bool = True, wrap_v: bool = True) -> np.ndarray:
    """Triangles of an (nu, nv) vertex grid, vertex (i, j) at index i * nv + j; -> (T, 3) int."""
    iu = np.arange(nu if wrap_u else nu - 1)
    jv = np.arange(nv if wrap_v else nv - 1)
    ii, jj = np.meshgrid(iu, jv, indexing="ij")
    i, j = ii.ravel(), jj.ravel()
    i1, j1 = (i + 1) % nu, (j + 1) % nv
    a, b, c, d = i * nv + j, i1 * nv + j, i1 * nv + j1, i * nv + j1
    return np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]).astype(np.int64)


def torus_frame(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (3,), (3,) spanning the plane orthogonal to ``normal``."""
    n = np.asarray(normal, dtype=float)
    n = n / np.linalg.norm(n)
    helper = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(n, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(n, e1)


def torus_surface(
    center: np.ndarray, normal: np.ndarray, major: float, minor: float, nu: int, nv: int
) -> tuple[np.ndarray, np.ndarray]:
    """A closed torus mesh around the circle of radius ``major`` in the plane ⟂ ``normal``.

    Returns vertices (nu * nv, 3) and outward-oriented faces (2 nu nv, 3).
    """
    e1, e2 = torus_frame(normal)
    n = np.cross(e1, e2)
    u = np.linspace(0, 2 * np.pi, nu, endpoint=False)[:, None]
    v = np.linspace(0, 2 * np.pi, nv, endpoint=False)[None, :]
    radial = np.cos(u)[..., None] * e1 + np.sin(u)[..., None] * e2  # (nu, 1, 3)
    ring = major * radial + minor * (np.cos(v)[..., None] * radial + np.sin(v)[..., None] * n)
    vertices = (np.asarray(center, dtype=float) + ring).reshape(-1, 3)
    return vertices, periodic_grid_faces(nu, nv)


def inside_torus(X: np.ndarray, center: np.ndarray, normal: np.ndarray, major: float, minor: float) -> np.ndarray:
    """Whether points X (N, 3) lie inside the solid torus; -> (N,) bool."""
    n = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
    d = X - np.asarray(center, dtype=float)
    h = d @ n
    rho = np.linalg.norm(d - h[:, None] * n, axis=1)
    return (rho - major) ** 2 + h**2 < minor**2


def rejection_sample(
    rng: np.random.Generator, count: int, lo: np.ndarray, hi: np.ndarray, inside, *,
    field: str = "region", value: float | None = None, smaller: bool = False,
) -> np.ndarray:
    """``count`` points uniform in the region where ``inside(X)`` holds, inside box [lo, hi].

    Bounded: if the region is so small a part of the box that the count would take more than
    :data:`~layerlapse.limits.MAX_SAMPLING_DRAWS` random points, it fails, naming ``field``
    (the parameter that made the region small) and its ``value``; ``smaller``: the region
    grows as the parameter shrinks.
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    found: list[np.ndarray] = []
    total = drawn = 0
    batch = max(4 * count, 256)
    while total < count:
        X = rng.uniform(lo, hi, size=(batch, lo.size))
        X = X[inside(X)]
        found.append(X)
        total += len(X)
        drawn += batch
        # the draws still needed at an optimistic rate (an upper bound of a Poisson count:
        # three more points than seen), so bad luck with a small region never fails it early
        needed = (count - total) * drawn / (total + 3)
        if total < count and drawn + needed > MAX_SAMPLING_DRAWS:
            shown = repr(value) if value is not None else "its value"
            raise LayerlapseError(
                f"{field}: {shown} leaves too small a region to sample: {total} of {drawn:,} random points "
                f"in its bounding box fell inside, {count} are needed; use a {'smaller' if smaller else 'larger'} {field}"
            )
    return np.concatenate(found)[:count]


def grid_lines(lo: np.ndarray, hi: np.ndarray, lines_per_axis: int, points_per_line: int) -> np.ndarray:
    """Straight lines through the box [lo, hi] parallel to each axis; -> (L, P, n).

    In n dimensions there are ``n * lines_per_axis ** (n - 1)`` lines, each sampled at
    ``points_per_line`` points so that it can bend when deformed.
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    n = lo.size
    ticks = [np.linspace(lo[a], hi[a], lines_per_axis) for a in range(n)]
    out = []
    for axis in range(n):
        others = [a for a in range(n) if a != axis]
        along = np.linspace(lo[axis], hi[axis], points_per_line)
        mesh = np.meshgrid(*[ticks[a] for a in others], indexing="ij") if others else []
        for idx in np.ndindex(*(lines_per_axis,) * len(others)):
            line = np.zeros((points_per_line, n))
            line[:, axis] = along
            for a, m in zip(others, mesh):
                line[:, a] = m[idx]
            out.append(line)
    return np.array(out)


def principal_axes(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean (n,) of points X (N, n) and their ``k`` main principal directions (k, n),
    orthonormal rows: where a grid is drawn among wide data."""
    mean = X.mean(0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, vt[:k]


def padded_box(X: np.ndarray, pad: float) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box of X (N, n) grown by ``pad`` times its largest side on every side."""
    lo, hi = X.min(0), X.max(0)
    margin = pad * float((hi - lo).max())
    return lo - margin, hi + margin


def disk_mesh(r_inner: float, r_outer: float, n_angle: int, n_radius: int) -> tuple[np.ndarray, np.ndarray]:
    """A flat disk (``r_inner = 0``) or annulus in the plane; -> vertices (V, 2), faces (T, 3).

    Rings of ``n_angle`` vertices at ``n_radius`` radii; a disk gets a centre vertex.
    """
    radii = np.linspace(r_inner, r_outer, n_radius + 1)
    if r_inner == 0:
        radii = radii[1:]
    angle = np.linspace(0, 2 * np.pi, n_angle, endpoint=False)
    ring = np.stack([np.cos(angle), np.sin(angle)], 1)
    vertices = (radii[:, None, None] * ring[None]).reshape(-1, 2)
    faces = periodic_grid_faces(len(radii), n_angle, wrap_u=False, wrap_v=True)
    if r_inner == 0:
        centre = len(vertices)
        vertices = np.vstack([vertices, [[0.0, 0.0]]])
        j = np.arange(n_angle)
        faces = np.vstack([faces, np.stack([np.full(n_angle, centre), j, (j + 1) % n_angle], 1)])
    return vertices, faces


def sphere_mesh(radius: float, subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """An icosphere; -> vertices (V, 3), outward faces (T, 3)."""
    import trimesh

    ico = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return np.asarray(ico.vertices, dtype=float), np.asarray(ico.faces, dtype=np.int64)


def curve_samples(rng: np.random.Generator, points: np.ndarray, count: int, noise: float, *, closed: bool) -> np.ndarray:
    """``count`` points uniform in arc length along a polyline (N, n), plus Gaussian noise."""
    P = np.vstack([points, points[:1]]) if closed else points
    seg = np.linalg.norm(np.diff(P, axis=0), axis=1)
    cum = np.r_[0.0, np.cumsum(seg)]
    s = rng.uniform(0, cum[-1], count)
    i = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1)
    f = ((s - cum[i]) / np.maximum(seg[i], 1e-30))[:, None]
    X = P[i] + f * (P[i + 1] - P[i])
    return X + rng.normal(0.0, noise, X.shape) if noise else X


def weld(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge coincident vertices, drop degenerate, duplicate faces and unused vertices.

    vertices (V, 3), faces (T, 3) -> vertices (V', 3), faces (T', 3); the winding is kept.
    """
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    mesh.merge_vertices(merge_tex=True, merge_norm=True)  # plain positions: clipping duplicates rim points per face
    mesh.update_faces(mesh.nondegenerate_faces() & mesh.unique_faces())
    mesh.remove_unreferenced_vertices()
    return np.asarray(mesh.vertices, dtype=float), np.asarray(mesh.faces, dtype=np.int64)


def clip_halfspaces(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of a mesh where X . n >= 0 for every row n of normals (K, 3): planes through the origin.

    Triangles crossing a plane are cut exactly on it; vertices (V, 3), faces (T, 3) ->
    vertices (V', 3), faces (T', 3), not yet welded (each cut face has its own rim points).
    """
    # slice_mesh_plane is a loop over this, but it imports shapely (for caps; not a dependency here)
    from trimesh.intersections import slice_faces_plane

    for n in np.asarray(normals, dtype=float).reshape(-1, 3):
        vertices, faces, _ = slice_faces_plane(vertices, faces, n, np.zeros(3))
    return np.asarray(vertices, dtype=float), np.asarray(faces, dtype=np.int64)


def cut_wedge(vertices: np.ndarray, faces: np.ndarray, u: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A mesh with the wedge {X . u > 0 and X . w > 0} (two planes through the origin) cut away.

    The kept region is not convex, so it is clipped as three quarter pieces, welded back:
    all three are cut by the same two planes, so they share their seam points (no
    T-junctions). vertices (V, 3), faces (T, 3) -> vertices (V', 3), faces (T', 3).
    """
    u, w = np.asarray(u, dtype=float), np.asarray(w, dtype=float)
    pieces = [clip_halfspaces(vertices, faces, np.array([su * u, sw * w])) for su, sw in ((-1, -1), (-1, 1), (1, -1))]
    offsets = np.cumsum([0] + [len(v) for v, _ in pieces[:-1]])
    return weld(np.vstack([v for v, _ in pieces]), np.vstack([f + o for (_, f), o in zip(pieces, offsets)]))


def rim_angles(vertices: np.ndarray, normal: np.ndarray, axis: np.ndarray, side: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Angles in [0, pi] from ``axis`` towards ``side`` of the vertices (V, 3) on the plane
    X . normal = 0 in the half-plane X . side >= 0 (a clipped mesh's rim there); -> (k,) sorted."""
    on = (np.abs(vertices @ normal) < tol) & (vertices @ side > -tol)
    # |.|: a point on the axis with a side component of -0.0 or -1e-17 has angle 0 or pi, not -pi
    return np.sort(np.arctan2(np.abs(vertices[on] @ side), vertices[on] @ axis))


def half_annulus_mesh(
    axis: np.ndarray, side: np.ndarray, angles: np.ndarray, radii: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The half-annulus {rho (cos t axis + sin t side)} over angles t (A,) and radii rho (R,),
    both increasing; -> vertices (A * R, 3), faces (2 (A - 1) (R - 1), 3), facing axis x side."""
    axis, side = np.asarray(axis, dtype=float), np.asarray(side, dtype=float)
    direction = np.cos(angles)[:, None] * axis + np.sin(angles)[:, None] * side  # (A, 3)
    vertices = (direction[:, None, :] * np.asarray(radii)[None, :, None]).reshape(-1, 3)
    faces = periodic_grid_faces(len(angles), len(radii), wrap_u=False, wrap_v=False)
    return vertices, faces[:, ::-1]  # (angle, radius) grid cells wind towards side x axis: turn them
