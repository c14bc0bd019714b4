"""Per-frame geometry for drawing, in numpy: vertex normals, curve tubes and their rims.

VTK's normals filter re-runs on every render (about 30% of a large frame on the
software renderer); here normals come from the known faces through one sparse
matrix product, and tube vertices and their normals are written in closed form.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from layerlapse.scenes.geometry import periodic_grid_faces


class VertexNormals:
    """Area-weighted vertex normals of a fixed triangulation; faces (T, 3)."""

    def __init__(self, faces: np.ndarray, n_vertices: int) -> None:
        self.faces = np.asarray(faces, dtype=np.int64)
        rows = self.faces.ravel()
        cols = np.repeat(np.arange(len(self.faces)), 3)
        self._incidence = sparse.csr_matrix(
            (np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n_vertices, len(self.faces))
        )

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        """Unit normals (V, 3) float32 for vertices (V, 3)."""
        v = np.asarray(vertices, dtype=np.float32)
        a, b, c = v[self.faces[:, 0]], v[self.faces[:, 1]], v[self.faces[:, 2]]
        b -= a
        c -= a
        face_normals = np.empty_like(b)  # noqa: TID251 -- every entry is written just below (np.cross is slow on small rows)
        face_normals[:, 0] = b[:, 1] * c[:, 2] - b[:, 2] * c[:, 1]
        face_normals[:, 1] = b[:, 2] * c[:, 0] - b[:, 0] * c[:, 2]
        face_normals[:, 2] = b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0]
        n = self._incidence @ face_normals
        n /= np.maximum(np.sqrt(np.einsum("ij,ij->i", n, n)), 1e-30)[:, None]
        return n


def curve_frames(points: np.ndarray, *, closed: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tangent, normal, binormal (N, 3) each along a polyline (N, 3).

    Planar curves (z = 0) use the plane's normal as binormal; others use the
    rotation-minimising frame by double reflection (Wang et al. 2008).
    """
    if closed:
        T = np.roll(points, -1, 0) - np.roll(points, 1, 0)
    else:
        T = np.gradient(points, axis=0)
    T /= np.maximum(np.linalg.norm(T, axis=1, keepdims=True), 1e-30)
    if np.all(points[:, 2] == 0):
        B = np.zeros_like(T)
        B[:, 2] = 1.0
        N = np.cross(B, T)
        N /= np.maximum(np.linalg.norm(N, axis=1, keepdims=True), 1e-30)
        return T, N, B
    N = np.zeros_like(T)
    helper = np.eye(3)[np.argmin(np.abs(T[0]))]
    N[0] = np.cross(T[0], helper)
    N[0] /= np.linalg.norm(N[0])
    for i in range(len(points) - 1):
        v1 = points[i + 1] - points[i]
        c1 = v1 @ v1
        if c1 < 1e-30:
            N[i + 1] = N[i]
            continue
        rL = N[i] - (2 / c1) * (v1 @ N[i]) * v1
        tL = T[i] - (2 / c1) * (v1 @ T[i]) * v1
        v2 = T[i + 1] - tL
        c2 = v2 @ v2
        N[i + 1] = rL - (2 / c2) * (v2 @ rL) * v2 if c2 > 1e-30 else rL
    return T, N, np.cross(T, N)


class Tube:
    """A tube of ``sides`` sides around a polyline of ``n`` points, with end caps when open."""

    def __init__(self, n: int, *, closed: bool, sides: int = 16) -> None:
        self.n, self.closed, self.sides = n, closed, sides
        phi = np.linspace(0, 2 * np.pi, sides, endpoint=False)
        self._cos, self._sin = np.cos(phi)[None, :, None], np.sin(phi)[None, :, None]
        # reversed winding so the faces' front side is the outside: VTK's two-sided
        # lighting flips the normals of back faces, which would darken the tube
        faces = periodic_grid_faces(n, sides, wrap_u=closed, wrap_v=True)[:, [0, 2, 1]]
        if not closed:
            ring = np.arange(sides)
            first, last = n * sides, n * sides + 1
            cap0 = np.stack([np.full(sides, first), np.roll(ring, -1), ring], 1)
            tail = (n - 1) * sides + ring
            cap1 = np.stack([np.full(sides, last), tail, np.roll(tail, -1)], 1)
            faces = np.concatenate([faces, cap0, cap1])
        self.faces = faces
        self.n_points = n * sides + (0 if closed else 2)

    def __call__(self, centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """Vertices and unit normals, each (n_points, 3) float32, around centre (n, 3)."""
        T, N, B = curve_frames(centre.astype(np.float64), closed=self.closed)
        normals = self._cos * N[:, None, :] + self._sin * B[:, None, :]  # (n, sides, 3)
        vertices = centre[:, None, :] + radius * normals
        vertices, normals = vertices.reshape(-1, 3), normals.reshape(-1, 3)
        if not self.closed:
            vertices = np.concatenate([vertices, centre[[0, -1]]])
            normals = np.concatenate([normals, -T[[0]], T[[-1]]])
        return vertices.astype(np.float32), normals.astype(np.float32)


def hull(vertices: np.ndarray, normals: np.ndarray, radius: float, scale: float = 1.4) -> np.ndarray:
    """A slightly fatter copy of a tube's vertices (V, 3) along its normals: drawn inside
    out (front faces culled) it is the tube's dark rim, a cheap depth cue where strands cross."""
    return vertices + np.float32((scale - 1.0) * radius) * normals
