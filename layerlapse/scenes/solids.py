"""3-D examples: a ball inside a spherical shell; tangled, unlinked and knotted curves."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from layerlapse.limits import MAX_SAMPLES_PER_CLASS, SEED_MAX
from layerlapse.scenes.base import Curve, Grid, Scene, Surface
from layerlapse.scenes.geometry import (
    curve_samples,
    cut_wedge,
    grid_lines,
    half_annulus_mesh,
    padded_box,
    rejection_sample,
    rim_angles,
    sphere_mesh,
)


def _grid(points: np.ndarray, lines: int) -> Grid | None:
    if not lines:
        return None
    lo, hi = padded_box(points, 0.08)
    return Grid(grid_lines(lo, hi, lines, 48))


class SphereShellParams(BaseModel):
    """Ball A (r < ball_radius) inside shell B (shell_inner < r < 1): the disk and annulus in 3-D."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ball_radius: float = Field(0.35, gt=0, lt=1)
    shell_inner: float = Field(0.65, gt=0, lt=1)
    subdivisions: int = Field(3, ge=1, le=6, description="icosphere refinement of each sphere")
    cutaway: bool = Field(True, description="open a wedge of the shell so the ball shows")
    samples_per_class: int = Field(1500, ge=10, le=MAX_SAMPLES_PER_CLASS)
    grid_lines: int = Field(4, ge=0, le=50)
    seed: int = Field(0, ge=0, le=SEED_MAX)

    @model_validator(mode="after")
    def _nested(self) -> SphereShellParams:
        if self.shell_inner <= self.ball_radius:
            raise ValueError(f"shell_inner ({self.shell_inner}) must exceed ball_radius ({self.ball_radius})")
        return self


# the cutaway wedge {X . U > 0 and X . W > 0} = {x > 0, y < 0}: the quarter the default camera looks from
U, W = np.array([1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0])
Z = np.array([0.0, 0.0, 1.0])  # the wedge's edge


def build_sphere_shell(p: SphereShellParams) -> Scene:
    rng = np.random.default_rng(p.seed)
    ball = Surface(0, *sphere_mesh(p.ball_radius, p.subdivisions))  # whole: it shows inside the opened shell
    outer_v, outer_f = sphere_mesh(1.0, p.subdivisions)
    inner_v, inner_f = sphere_mesh(p.shell_inner, p.subdivisions)
    shell = [Surface(1, inner_v, inner_f[:, ::-1]), Surface(1, outer_v, outer_f)]  # the shell's inside faces inward
    if p.cutaway:
        shell = _open_shell(shell, p.shell_inner, 1.0)
    lo, hi = np.full(3, -1.0), np.full(3, 1.0)
    r = lambda X: np.linalg.norm(X, axis=1)  # noqa: E731
    A = rejection_sample(rng, p.samples_per_class, lo, hi, lambda X: r(X) < p.ball_radius,
                         field="ball_radius", value=p.ball_radius)
    B = rejection_sample(rng, p.samples_per_class, lo, hi, lambda X: (r(X) > p.shell_inner) & (r(X) < 1),
                         field="shell_inner", value=p.shell_inner, smaller=True)
    return Scene("sphere-shell", "", 3, ("ball A", "shell B"), (ball, *shell), (), _grid(outer_v, p.grid_lines),
                 np.vstack([A, B]), np.r_[np.zeros(len(A), np.int64), np.ones(len(B), np.int64)])


def _open_shell(spheres: list[Surface], r_inner: float, r_outer: float) -> list[Surface]:
    """The inner and outer spheres clipped on the wedge's planes, and the two half-annuli
    that close the shell's wall along the cut, so it reads as a solid with a wedge removed."""
    inner, outer = (_clip_sphere(s, r) for s, r in zip(spheres, (r_inner, r_outer)))
    caps = [_cap(inner.vertices, outer.vertices, r_inner, r_outer, normal, axis, side)
            for normal, axis, side in ((U, Z, W), (W, -Z, U))]  # x = 0 (y < 0) and y = 0 (x > 0)
    return [inner, outer, *caps]


def _clip_sphere(s: Surface, radius: float) -> Surface:
    """A sphere mesh with the wedge cut away, the triangles clipped on its planes."""
    v, f = cut_wedge(s.vertices, s.faces, U, W)
    # rim points fall on the triangles' chords: put them on the sphere, where the caps' edges lie
    return Surface(s.label, v * (radius / np.linalg.norm(v, axis=1))[:, None], f)


def _cap(inner: np.ndarray, outer: np.ndarray, r_inner: float, r_outer: float,
         normal: np.ndarray, axis: np.ndarray, side: np.ndarray) -> Surface:
    """The half-annulus r_inner <= r <= r_outer on the plane X . normal = 0, on the side
    X . side >= 0, facing ``normal`` (into the wedge, out of the solid shell).

    Its radial lines go through the clipped spheres' rim points, inner (Vi, 3) and outer
    (Vo, 3), so its edges meet the rims vertex to vertex; its radial steps are about as
    long as the rim's, so it bends as smoothly as the spheres when deformed.
    """
    t = np.sort(np.r_[0.0, rim_angles(inner, normal, axis, side), rim_angles(outer, normal, axis, side), np.pi])
    t = t[np.r_[True, np.diff(t) > 1e-9]]  # one radial line per rim angle: both spheres are one icosphere, scaled
    step = 0.5 * (r_inner + r_outer) * np.diff(t).mean()
    radii = np.linspace(r_inner, r_outer, max(1, round((r_outer - r_inner) / step)) + 1)
    v, f = half_annulus_mesh(axis, side, t, radii)
    return Surface(1, v, f if np.cross(axis, side) @ normal > 0 else f[:, ::-1])  # it faces axis x side


class CurvePairParams(BaseModel):
    """Common parameters of the 3-D curve scenes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    points_per_curve: int = Field(400, ge=16, le=100_000)
    samples_per_class: int = Field(1200, ge=10, le=MAX_SAMPLES_PER_CLASS)
    noise: float = Field(0.03, ge=0, le=1, description="std of the samples around each curve")
    grid_lines: int = Field(4, ge=0, le=50)
    seed: int = Field(0, ge=0, le=SEED_MAX)


def _curve_scene(name: str, classes: tuple[str, str], curves: list[Curve], p: CurvePairParams) -> Scene:
    """The scene of two classes of curves; when each class is one closed curve, the curves
    are also its cores (hidden; the linking number of ``inspect``). Open curves have no
    linking number: no cores."""
    rng = np.random.default_rng(p.seed)
    samples, labels = [], []
    for label in (0, 1):
        mine = [c for c in curves if c.label == label]
        lengths = np.array([np.linalg.norm(np.diff(c.points, axis=0), axis=1).sum() for c in mine])
        counts = np.floor(p.samples_per_class * lengths / lengths.sum()).astype(int)
        counts[0] += p.samples_per_class - counts.sum()
        for c, k in zip(mine, counts):
            samples.append(curve_samples(rng, c.points, int(k), p.noise, closed=c.closed))
            labels.append(np.full(int(k), label))
    allp = np.vstack([c.points for c in curves])
    closed = [c for c in curves if c.closed]
    cores = tuple(c.points for c in sorted(closed, key=lambda c: c.label)) \
        if len(closed) == len(curves) == len({c.label for c in curves}) else ()
    return Scene(name, "", 3, classes, (), tuple(curves), _grid(allp, p.grid_lines), np.vstack(samples),
                 np.concatenate(labels), cores=cores)


def build_unlink(p: CurvePairParams) -> Scene:
    """A closed loop (A) and an open curve (B) that spirals twice around it: not linked."""
    s = np.linspace(0, 2 * np.pi, p.points_per_curve, endpoint=False)
    loop = np.stack([np.cos(s), np.sin(s), 0 * s], 1) * 0.8
    u = np.linspace(0.15 * np.pi, 1.85 * np.pi, p.points_per_curve)
    wraps = 2 * 2 * np.pi / (u[-1] - u[0])
    rho = 0.25
    radial = np.stack([np.cos(u), np.sin(u), 0 * u], 1)
    spiral = (0.8 + rho * np.cos(wraps * (u - u[0])))[:, None] * radial
    spiral[:, 2] = rho * np.sin(wraps * (u - u[0]))
    return _curve_scene("unlink", ("loop A", "spiral B"), [Curve(0, loop, closed=True), Curve(1, spiral)], p)


def build_easy_way_out(p: CurvePairParams) -> Scene:
    """Two open helices wound around each other (a double helix): tangled, not linked."""
    s = np.linspace(-1, 1, p.points_per_curve)
    turns = 1.5 * 2 * np.pi
    curves = []
    for label, phase in enumerate((0.0, np.pi)):
        curves.append(Curve(label, np.stack([0.35 * np.cos(turns * s + phase), 0.35 * np.sin(turns * s + phase), s], 1)))
    return _curve_scene("easy-way-out", ("helix A", "helix B"), curves, p)


def trefoil(s: np.ndarray) -> np.ndarray:
    """The trefoil knot (sin s + 2 sin 2s, cos s - 2 cos 2s, -sin 3s), scaled into [-1, 1]^3; (N, 3)."""
    return np.stack([np.sin(s) + 2 * np.sin(2 * s), np.cos(s) - 2 * np.cos(2 * s), -np.sin(3 * s)], 1) / 3.2


def build_trefoil(p: CurvePairParams) -> Scene:
    """A trefoil knot (A) and an unknotted ring (B) running around one of its strands."""
    s = np.linspace(0, 2 * np.pi, p.points_per_curve, endpoint=False)
    centre = trefoil(np.array([0.0]))[0]
    tangent = trefoil(np.array([1e-4]))[0] - centre
    tangent /= np.linalg.norm(tangent)
    e1 = np.cross(tangent, [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(tangent, e1)
    ring = centre + 0.2 * (np.cos(s)[:, None] * e1 + np.sin(s)[:, None] * e2)
    return _curve_scene("trefoil", ("trefoil A", "ring B"), [Curve(0, trefoil(s), closed=True), Curve(1, ring, closed=True)], p)
