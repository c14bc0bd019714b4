"""Scenes from the user's own meshes: one class per mesh, samples inside or on each.

Pure geometry on trimesh objects; reading the files happens in
:mod:`layerlapse.app.scenefile`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import trimesh

from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_MESH_COORDINATE
from layerlapse.scenes.base import Grid, Scene, Surface
from layerlapse.scenes.geometry import grid_lines, padded_box, rejection_sample

MAX_FACES = 500_000


def check_mesh(mesh: trimesh.Trimesh, where: str) -> None:
    """Refuse meshes that cannot be drawn or sampled, naming the file: no triangles, not 3-D,
    NaN, Inf or huge coordinates, faces indexing past the vertices, too many triangles."""
    if len(mesh.faces) == 0 or len(mesh.vertices) == 0:
        raise LayerlapseError(f"{where}: the mesh has no triangles")
    vertices = np.asarray(mesh.vertices)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        coords = vertices.shape[1] if vertices.ndim == 2 else vertices.ndim
        raise LayerlapseError(f"{where}: its vertices have {coords} coordinates; a mesh needs 3 (x y z)")
    if not np.isfinite(vertices).all():
        raise LayerlapseError(f"{where}: the mesh has NaN or Inf coordinates")
    big = np.abs(vertices) > MAX_MESH_COORDINATE
    if big.any():
        row = int(np.flatnonzero(big.any(axis=1))[0])
        raise LayerlapseError(f"{where}: vertex {row} has coordinate {vertices[row][big[row]][0]:.3g}; mesh "
                              f"coordinates must lie within \u00b1{MAX_MESH_COORDINATE:.0e} (vertex merging and float32 "
                              "break down beyond); rescale the mesh to smaller units")
    _check_faces(np.asarray(mesh.faces), len(vertices), where)
    if len(mesh.faces) > MAX_FACES:
        raise LayerlapseError(
            f"{where}: the mesh has {len(mesh.faces)} triangles, more than {MAX_FACES}; "
            "simplify it first (e.g. MeshLab's quadric edge collapse)"
        )


def _check_faces(faces: np.ndarray, count: int, where: str) -> None:
    """Refuse the first face (T, 3) int that indexes past ``count`` vertices (or below 0:
    numpy would wrap -1 round to the last vertex and draw a wrong triangle)."""
    bad = (faces < 0) | (faces >= count)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        corners = " ".join(str(int(i)) for i in faces[row])
        raise LayerlapseError(f"{where}: triangle {row} ({corners}) refers to vertex {int(faces[row][bad[row]][0])}, "
                              f"but the mesh has {count} vertices (0 to {count - 1}; counting from 0)")


def build_mesh_scene(name: str, meshes: list[tuple[str, trimesh.Trimesh]], *, samples_per_class: int,
                     normalize: bool | str, grid_lines_per_axis: int, seed: int,
                     placements: list[tuple[float, tuple[float, float, float]] | None] | None = None) -> Scene:
    """Class i is ``meshes[i]`` (class name, mesh). Samples fill a watertight mesh and lie
    on the surface of any other (with a notice). ``normalize``: True fits all together into
    [-1, 1]^3, ``"each"`` fits each on its own (centred at the origin), False keeps the
    files' coordinates; then ``placements[i]`` = (scale, offset) or None moves mesh i."""
    rng = np.random.default_rng(seed)
    vertices = [np.asarray(m.vertices, dtype=float) for _, m in meshes]
    if normalize == "each":
        vertices = [_fit(v, v) for v in vertices]
    elif normalize:
        allv = np.vstack(vertices)
        vertices = [_fit(v, allv) for v in vertices]
    for i, placed in enumerate(placements or []):
        if placed is not None:
            vertices[i] = vertices[i] * placed[0] + np.asarray(placed[1], dtype=float)
    _warn_mismatch([c for c, _ in meshes], vertices, normalize)
    if normalize == "each":
        _warn_overlap([c for c, _ in meshes], vertices)
    surfaces, samples, labels, solids = [], [], [], {}
    for label, ((cls, mesh), v) in enumerate(zip(meshes, vertices)):
        m = trimesh.Trimesh(v, mesh.faces, process=False)
        surfaces.append(Surface(label, v, np.asarray(mesh.faces, dtype=np.int64)))
        if m.is_watertight and m.is_volume:
            X = _sample_inside(rng, m, samples_per_class, cls)
            solids[label] = m
        else:
            warnings.warn(f"mesh {cls!r} is not a closed manifold; its samples lie on its surface", stacklevel=2)
            X, _ = trimesh.sample.sample_surface(m, samples_per_class, seed=int(rng.integers(2**31)))
        samples.append(np.asarray(X, dtype=float))
        labels.append(np.full(len(X), label))
    for label, holes in _holes(solids, samples, [c for c, _ in meshes]).items():
        samples[label] = _sample_inside(rng, solids[label], samples_per_class, meshes[label][0],
                                        [solids[j] for j in holes])
    allv = np.vstack(vertices)
    grid = Grid(grid_lines(*padded_box(allv, 0.08), grid_lines_per_axis, 48)) if grid_lines_per_axis else None
    return Scene(name, "", 3, tuple(c for c, _ in meshes), tuple(surfaces), (), grid,
                 np.vstack(samples), np.concatenate(labels))


def _fit(v: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``v`` moved and scaled as fits ``reference``'s bounding box into [-1, 1]^3."""
    centre = 0.5 * (reference.min(0) + reference.max(0))
    return (v - centre) * (2.0 / max(float(np.ptp(reference, axis=0).max()), 1e-12))


#: meshes whose sizes differ by more than this factor get a notice: the smaller is a speck
SIZE_RATIO_WARN = 20.0


def _warn_mismatch(names: list[str], vertices: list[np.ndarray], normalize: bool | str) -> None:
    sizes = [float(np.ptp(v, axis=0).max()) for v in vertices]
    small, large = int(np.argmin(sizes)), int(np.argmax(sizes))
    if sizes[small] * SIZE_RATIO_WARN < sizes[large]:
        ratio = sizes[large] / max(sizes[small], 1e-300)
        fix = ("give the meshes scale factors closer together" if normalize == "each" else
               "set normalize = \"each\" to fit each mesh on its own, and place them with scale and offset")
        warnings.warn(f"meshes: {names[small]!r} is {ratio:.0f} times smaller than {names[large]!r} and will be "
                      f"a speck beside it; {fix}", stacklevel=3)


#: boxes sharing more than this share of the smaller one's volume get a notice under normalize = "each"
OVERLAP_WARN = 0.5


def _warn_overlap(names: list[str], vertices: list[np.ndarray]) -> None:
    """normalize = "each" centres every mesh at the origin: without offsets they overlap."""
    boxes = [(v.min(0), v.max(0)) for v in vertices]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            lo, hi = np.maximum(boxes[i][0], boxes[j][0]), np.minimum(boxes[i][1], boxes[j][1])
            shared = float(np.prod(np.clip(hi - lo, 0, None)))
            smaller = min(float(np.prod(b[1] - b[0])) for b in (boxes[i], boxes[j]))
            if smaller > 0 and shared > OVERLAP_WARN * smaller:
                warnings.warn(f"meshes: {names[i]!r} and {names[j]!r} overlap ({shared / smaller:.0%} of the smaller's "
                              "box): normalize = \"each\" centres every mesh at the origin; place them apart with "
                              "offset = [x, y, z] (and scale)", stacklevel=3)
                return


#: a mesh holding at least this share of another's samples holds the other (nested), else they overlap
NESTED_SHARE = 0.99


def _holes(solids: dict[int, trimesh.Trimesh], samples: list[np.ndarray], names: list[str]) -> dict[int, list[int]]:
    """Which closed meshes' interiors each closed mesh's samples must avoid, so that no point
    carries two labels: a mesh inside another makes the outer a shell around it; two that
    overlap each keep out of the other. One notice a pair; -> {label: [labels to avoid]}."""
    holes: dict[int, list[int]] = {}
    order = sorted(solids)
    for a, i in enumerate(order):
        for j in order[a + 1:]:
            share_j, share_i = _inside_share(solids[i], samples[j]), _inside_share(solids[j], samples[i])
            if not share_i and not share_j:
                continue
            if min(share_i, share_j) >= NESTED_SHARE:  # each inside the other: the same space, nothing to carve
                warnings.warn(f"meshes: {names[i]!r} and {names[j]!r} fill the same space, so their samples carry "
                              "both labels; move them apart (offset = [x, y, z]) or scale one inside the other",
                              stacklevel=3)
                continue
            if max(share_i, share_j) >= NESTED_SHARE:
                outer, inner = (i, j) if share_j >= share_i else (j, i)
                holes.setdefault(outer, []).append(inner)
                warnings.warn(f"meshes: {names[inner]!r} lies inside {names[outer]!r}; {names[outer]!r} is taken as "
                              f"a shell around it (its samples only outside {names[inner]!r}), so no point carries "
                              "both labels", stacklevel=3)
                continue
            holes.setdefault(i, []).append(j)
            holes.setdefault(j, []).append(i)
            warnings.warn(f"meshes: {names[i]!r} and {names[j]!r} overlap ({share_j:.0%} of {names[j]!r}'s samples "
                          f"lie inside {names[i]!r}, {share_i:.0%} the other way); each one's samples are taken only "
                          "outside the other, so no point carries both labels", stacklevel=3)
    return holes


def _inside_share(mesh: trimesh.Trimesh, X: np.ndarray) -> float:
    """The share of points X (N, 3) inside a closed mesh; ray tests only within its bounding box."""
    lo, hi = mesh.bounds
    near = np.flatnonzero(((X >= lo) & (X <= hi)).all(axis=1))
    return float(_contains(mesh, X[near]).sum()) / max(len(X), 1) if len(near) else 0.0


def _contains(mesh: trimesh.Trimesh, X: np.ndarray) -> np.ndarray:
    """Whether points X (N, 3) lie inside ``mesh``, in pieces (ray tests take ~700 bytes a point)."""
    if not len(X):
        return np.zeros(0, bool)
    return np.concatenate([mesh.contains(X[i:i + CONTAINS_CHUNK]) for i in range(0, len(X), CONTAINS_CHUNK)])


def _sample_inside(rng: np.random.Generator, mesh: trimesh.Trimesh, count: int, name: str,
                   holes: Sequence[trimesh.Trimesh] = ()) -> np.ndarray:
    """``count`` points uniform inside a closed mesh and outside each of ``holes`` (bounded:
    a very thin mesh, or shell, is refused)."""

    def inside(X: np.ndarray) -> np.ndarray:
        keep = _contains(mesh, X)
        for hole in holes:
            keep[keep] = ~_contains(hole, X[keep])
        return keep

    try:
        lo, hi = mesh.bounds
        return rejection_sample(rng, count, lo, hi, inside)
    except LayerlapseError as exc:
        detail = str(exc).partition("sample: ")[2]
        raise LayerlapseError(f"mesh {name!r}: too thin to sample inside ({detail})") from None


#: points per inside-test call when sampling a mesh's interior
CONTAINS_CHUNK = 50_000
