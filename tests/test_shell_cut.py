"""The sphere-shell cutaway: spheres clipped exactly on the wedge's planes, the shell's wall
closed along the cut by two half-annuli facing into the wedge; the uncut scene and the
samples as before."""

import numpy as np
import pytest
import trimesh
from trimesh.grouping import group_rows

from layerlapse.scenes.geometry import clip_halfspaces, cut_wedge, sphere_mesh
from layerlapse.scenes.solids import SphereShellParams, build_sphere_shell

EPS = 1e-9
R_IN = SphereShellParams().shell_inner


def face_normals(s):
    """Unit normals (T, 3) from the faces' winding, and centroids (T, 3)."""
    tri = s.vertices[s.faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return n / np.linalg.norm(n, axis=1, keepdims=True), tri.mean(1)


def edge_lengths(s):
    """Lengths (T, 3) of the faces' edges."""
    return np.linalg.norm(s.vertices[s.faces] - s.vertices[np.roll(s.faces, 1, 1)], axis=2)


def boundary_vertices(vertices, faces):
    """Vertices (B, 3) on edges used by one face only."""
    m = trimesh.Trimesh(vertices, faces, process=False)
    return vertices[np.unique(m.edges_sorted[group_rows(m.edges_sorted, require_count=1)])]


def on_cut_planes(X):
    """Whether points X (N, 3) lie on the wedge's faces: x = 0 (y <= 0) or y = 0 (x >= 0)."""
    return ((np.abs(X[:, 0]) < EPS) & (X[:, 1] < EPS)) | ((np.abs(X[:, 1]) < EPS) & (X[:, 0] > -EPS))


@pytest.fixture(scope="module", params=[1, 3])
def subdivisions(request):
    return request.param


@pytest.fixture(scope="module")
def scene(subdivisions):
    return build_sphere_shell(SphereShellParams(subdivisions=subdivisions, samples_per_class=50))


def test_the_scene_has_the_whole_ball_the_clipped_shell_and_two_caps(scene, subdivisions):
    ball, inner, outer, *caps = scene.surfaces
    assert [s.label for s in scene.surfaces] == [0, 1, 1, 1, 1] and len(caps) == 2
    _, full_f = sphere_mesh(SphereShellParams().ball_radius, subdivisions)
    np.testing.assert_array_equal(ball.faces, full_f)  # the ball shows whole inside the opened shell
    assert len(inner.faces) < len(full_f) and len(outer.faces) < len(full_f)


@pytest.mark.parametrize("which, radius, outward", [(1, R_IN, -1), (2, 1.0, 1)])
def test_spheres_are_clipped_on_the_planes(scene, which, radius, outward):
    s = scene.surfaces[which]
    n, c = face_normals(s)
    assert not ((c[:, 0] > EPS) & (c[:, 1] < -EPS)).any()  # nothing left in the wedge
    np.testing.assert_allclose(np.linalg.norm(s.vertices, axis=1), radius, atol=1e-12)
    assert (outward * (n * c).sum(1) > 0).all()  # outer faces outward, inner towards the centre
    rim = boundary_vertices(s.vertices, s.faces)
    assert len(rim) >= 12 and on_cut_planes(rim).all()
    m = trimesh.Trimesh(s.vertices, s.faces, process=False)
    assert m.is_winding_consistent and len(np.unique(np.sort(s.faces, 1), axis=0)) == len(s.faces)
    assert (m.area_faces > 1e-6).all() and len(m.unique_faces()) == len(s.faces)
    assert len(np.unique(np.round(s.vertices, 9), axis=0)) == len(s.vertices)  # welded


@pytest.mark.parametrize("k, normal, side", [(0, [1.0, 0, 0], [0, -1.0, 0]), (1, [0, -1.0, 0], [1.0, 0, 0])])
def test_caps_are_half_annuli_facing_into_the_wedge(scene, k, normal, side):
    """Cap 0 on x = 0 (y <= 0) faces +x, cap 1 on y = 0 (x >= 0) faces -y."""
    cap = scene.surfaces[3 + k]
    X, r = cap.vertices, np.linalg.norm(cap.vertices, axis=1)
    assert (np.abs(X @ normal) < EPS).all() and (X @ side > -EPS).all()
    assert (r > R_IN - EPS).all() and (r < 1 + EPS).all()
    assert np.isclose(r.min(), R_IN) and np.isclose(r.max(), 1.0)
    n, _ = face_normals(cap)
    np.testing.assert_allclose(n, np.broadcast_to(normal, n.shape), atol=1e-9)
    # about as fine as the spheres, so that it bends as smoothly when deformed
    assert edge_lengths(cap).max() < 1.5 * edge_lengths(scene.surfaces[2]).max()


def test_vertex_count_stays_about_the_same(scene, subdivisions):
    n = sum(len(s.vertices) for s in scene.surfaces)
    whole = build_sphere_shell(SphereShellParams(subdivisions=subdivisions, cutaway=False))
    assert 0.75 < n / sum(len(s.vertices) for s in whole.surfaces) < 1.25


def test_caps_meet_the_rims_vertex_to_vertex_and_close_the_shell(scene):
    _, inner, outer, *caps = scene.surfaces
    rims = np.vstack([boundary_vertices(s.vertices, s.faces) for s in (inner, outer)])
    cap_v = np.vstack([c.vertices for c in caps])
    gap = np.linalg.norm(rims[:, None] - cap_v[None], axis=2).min(1)
    assert gap.max() < 1e-12
    parts = (inner, outer, *caps)
    offsets = np.cumsum([0] + [len(s.vertices) for s in parts[:-1]])
    solid = trimesh.Trimesh(np.vstack([s.vertices for s in parts]),
                            np.vstack([s.faces + o for s, o in zip(parts, offsets)]))  # processed: merges
    assert solid.is_watertight and solid.is_winding_consistent
    shell = 4 / 3 * np.pi * (1 - R_IN**3)
    assert 0.8 * 0.75 * shell < solid.volume < 0.75 * shell  # positive: all faces face out; inscribed: a bit less


def test_uncut_scene_and_samples_are_as_before():
    cut = build_sphere_shell(SphereShellParams())
    whole = build_sphere_shell(SphereShellParams(cutaway=False))
    assert len(whole.surfaces) == 3
    for s, (radius, flip) in zip(whole.surfaces, [(0.35, False), (R_IN, True), (1.0, False)]):
        v, f = sphere_mesh(radius, 3)
        np.testing.assert_array_equal(s.vertices, v)
        np.testing.assert_array_equal(s.faces, f[:, ::-1] if flip else f)
    np.testing.assert_array_equal(cut.samples, whole.samples)
    np.testing.assert_array_equal(cut.labels, whole.labels)
    np.testing.assert_array_equal(cut.grid.lines, whole.grid.lines)


def test_cut_wedge_on_a_mesh_not_aligned_with_the_planes():
    """A rotated icosphere: the planes cross its triangles anywhere, not along edges."""
    ico = trimesh.creation.icosphere(subdivisions=2)
    ico.apply_transform(trimesh.transformations.random_rotation_matrix(np.random.default_rng(3).random(3)))
    u, w = np.array([1.0, 0, 0]), np.array([0, -1.0, 0])
    v, f = cut_wedge(ico.vertices, ico.faces, u, w)
    wedge_v, wedge_f = clip_halfspaces(ico.vertices, ico.faces, [u, w])
    kept, removed = trimesh.Trimesh(v, f, process=False), trimesh.Trimesh(wedge_v, wedge_f, process=False)
    assert np.isclose(kept.area + removed.area, ico.area)  # clipped exactly: nothing lost, nothing doubled
    assert kept.is_winding_consistent and (kept.area_faces > 0).all()
    c = kept.triangles_center
    assert not ((c @ u > EPS) & (c @ w > EPS)).any()
    assert on_cut_planes(boundary_vertices(v, f)).all()
