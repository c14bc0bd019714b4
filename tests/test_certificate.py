"""`layerlapse inspect`: linking numbers, det along the linear paths, distances between
meshes, Betti numbers, and the command end to end on a tiny linked-tori network."""

import csv
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import special_ortho_group

from layerlapse.networks import certificate as C
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import Layer, orient_layers
from layerlapse.networks.mesh_distance import class_distance, class_geometry
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.scenes.geometry import sphere_mesh
from tests.conftest import TINY_TORI
from tests.test_cli import run


def circle(n=100, radius=1.0, center=(0, 0, 0), axes=((1, 0, 0), (0, 1, 0))):
    s = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
    return np.asarray(center) + radius * (np.cos(s) * np.asarray(axes[0]) + np.sin(s) * np.asarray(axes[1]))


HOPF = (circle(), circle(center=(1, 0, 0), axes=((1, 0, 0), (0, 0, 1))))


def torus_knot_link(n=200):
    """Two parallel (1, 2) curves on a torus: the (2, 4) torus link, linking number 2."""
    s = np.linspace(0, 2 * np.pi, n, endpoint=False)
    out = []
    for phase in (0.0, np.pi):
        u, v = s, 2 * s + phase
        out.append(np.stack([(2 + np.cos(v)) * np.cos(u), (2 + np.cos(v)) * np.sin(u), np.sin(v)], 1))
    return out


def test_linking_numbers_of_known_links():
    assert C.linking_number(*HOPF) == pytest.approx(1.0, abs=1e-9) or C.linking_number(*HOPF) == pytest.approx(-1.0, abs=1e-9)
    assert C.linking_number(circle(), circle(center=(5, 0, 0))) == pytest.approx(0.0, abs=1e-9)
    assert abs(C.linking_number(*torus_knot_link())) == pytest.approx(2.0, abs=1e-6)
    assert C.linking_number(HOPF[0], HOPF[1][::-1]) == pytest.approx(-C.linking_number(*HOPF), abs=1e-9)


def test_linking_number_is_invariant(rng):
    A, B = HOPF
    lk = C.linking_number(A, B)
    R = special_ortho_group.rvs(3, random_state=1)
    assert C.linking_number(A @ R.T + 3, B @ R.T + 3) == pytest.approx(lk, abs=1e-9)
    # a smooth homeomorphism: a tanh layer with det W > 0, and a batch over frames
    W = np.eye(3) + 0.4 * rng.normal(size=(3, 3))
    if np.linalg.det(W) < 0:
        W[[0, 1]] = W[[1, 0]]
    f = lambda X: np.tanh(X @ W.T + 0.3)  # noqa: E731
    batch = C.linking_number(np.stack([A, f(A)]), np.stack([B, f(B)]))
    assert batch == pytest.approx([lk, lk], abs=1e-6)


def _deformation(W, path, points):
    plan = orient_layers([Layer(np.asarray(W, float), np.zeros(len(W)), "tanh")],
                         Layer(np.eye(2, len(W)), np.zeros(2), None), linear_path=path)
    tl = Timeline.build(plan.stages(), TimelineConfig(seconds_per_stage=1.0), 30.0)
    return Deformation(plan, tl, points)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_polar_path_keeps_det_positive(seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(3, 3))
    if np.linalg.det(W) < 0:
        W[0] *= -1
    d = _deformation(W, "polar", rng.normal(size=(5, 3)))
    det, smin, which = C.linear_values(d)
    assert (det > 0).all() and (smin > 0).all() and (which >= -1).all()
    assert smin.min() >= min(1.0, np.linalg.svd(W, compute_uv=False)[-1]) - 1e-9


def test_straight_path_of_a_negative_det_crosses_zero():
    W = np.diag([-1.0, 1.0, 2.0])  # the straight path meets det = 0 at t = 1/2; polar swaps neurons instead
    straight = C.frame_values(_deformation(W, "straight", np.eye(3)), _scene_without_cores())
    assert straight["det"].max() > 0 > straight["det"].min()
    assert straight["sigma_min"].min() < 0.1  # sampled at 30 fps: near, not at, the singular t = 1/2
    polar = C.frame_values(_deformation(W, "polar", np.eye(3)), _scene_without_cores())
    assert (polar["det"] > 0).all() and np.isnan(polar["linking"]).all()


def _scene_without_cores():
    from layerlapse.scenes.base import Scene

    return Scene("x", "", 3, (), (), (), None, np.zeros((0, 3)), np.zeros(0, np.int64))


def _geometry(V, F):
    from layerlapse.scenes.base import Scene, Surface

    scene = Scene("x", "", 3, ("a", "b"), (Surface(0, V[0], F[0]), Surface(1, V[1], F[1])), (), None,
                  np.zeros((0, 3)), np.zeros(0, np.int64))
    return class_geometry(scene)


def test_distance_and_intersection_of_spheres():
    v, f = sphere_mesh(1.0, 3)
    A, B = _geometry([v, v], [f, f])
    # two unit spheres 3 apart: the exact distance of the spheres is 1; the meshes' is a bit more
    d, hit = class_distance(v, A, v + [3, 0, 0], B)
    assert not hit and 1.0 <= d < 1.0 + 2e-2
    # overlapping: they cross
    d, hit = class_distance(v, A, v + [1, 0.1, 0.05], B)
    assert hit and d == 0.0
    # the exact distance from a vertex to a face: a sphere's lowest vertex above a large flat square
    # (refined near the closest vertices: the plane's cells are about as fine as the sphere's)
    x = np.linspace(-2, 2, 21)
    sq = np.stack(np.meshgrid(x, x, [0.0], indexing="ij"), -1).reshape(-1, 3)
    i = (np.arange(20)[:, None] * 21 + np.arange(20)).ravel()
    sf = np.r_[np.c_[i, i + 21, i + 22], np.c_[i, i + 22, i + 1]]
    A, B = _geometry([v, sq], [f, sf])
    d, hit = class_distance(v + [0.3, 0.2, 2.0], A, sq, B)
    assert not hit and d == pytest.approx(2.0 + v[:, 2].min(), abs=1e-12)


def test_betti_numbers(rng):
    s = rng.uniform(0, 2 * np.pi, 300)
    ring = np.c_[np.cos(s), np.sin(s)] + rng.normal(0, 0.05, (300, 2))
    assert C.betti(ring)[:2] == (1, 1)
    blobs = np.r_[rng.normal(0, 0.1, (150, 3)), rng.normal(3, 0.1, (150, 3))]
    assert C.betti(blobs)[:2] == (2, 0)


@pytest.fixture(scope="module")
def tiny(tiny_tori):
    from layerlapse.app import api

    scene, net = tiny_tori
    return scene, net, api.deform(scene, net, fps=10.0)


def test_linking_stays_on_every_frame_of_tiny_tori(tiny):
    scene, _, d = tiny
    assert len(scene.scene.cores) == 2
    values = C.frame_values(d, scene.scene)
    assert values["det"].shape == (d.n_frames,)
    assert np.abs(np.abs(values["linking"]) - 1).max() < 1e-6  # width 3: defined and +-1 everywhere


def test_inspect_command_writes_the_certificate(tiny_tori, tmp_path):
    r = run("inspect", "linked-tori", *[a for k, v in TINY_TORI.items() for a in ("--set", f"{k}={v}")],
            "--epochs", "3", "--fps", "6", "--seconds-per-stage", "0.5", "--every", "2", "--no-progress", "-o", "cert")
    assert r.returncode == 0, r.stderr
    assert "linking number +1" in r.stdout or "linking number -1" in r.stdout
    with open(tmp_path / "cert" / "certificate.csv") as f:
        rows = list(csv.DictReader(f))
    doc = json.loads((tmp_path / "cert" / "certificate.json").read_text())
    assert len(rows) == len(doc["frames"]["frame"]) == doc["summary"]["frames"]
    assert (tmp_path / "cert" / "certificate.png").read_bytes().startswith(b"\x89PNG")
    assert [layer["name"] for layer in doc["layers"]] == ["input", "layer1", "layer2", "layer3"]
    assert all(abs(abs(float(row["linking"])) - 1) < 1e-6 for row in rows)


@pytest.mark.parametrize(("args", "message"), [
    (["--every", "0"], "every: 0 is out of range"),
    (["--linear-path", "curved"], "linear_path: unknown value 'curved'"),
    (["--fps", "-1"], "fps: -1.0 is out of range"),
])
def test_inspect_refuses_bad_input(args, message):
    r = run("inspect", "linked-tori", *args, "--no-progress")
    assert r.returncode == 2 and message in r.stderr


def test_inspect_refuses_a_file_as_its_folder(tmp_path):
    (tmp_path / "afile").write_text("x")
    r = run("inspect", "linked-tori", "-o", "afile", "--no-progress")
    assert r.returncode == 2 and "out: 'afile' is a file" in r.stderr
