"""The essay's 1-D and 2-D examples: two curves, the grid alone, disk and annulus, line segments."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from layerlapse.limits import MAX_SAMPLES_PER_CLASS, SEED_MAX
from layerlapse.scenes.base import Curve, Grid, Scene, Surface
from layerlapse.scenes.geometry import curve_samples, disk_mesh, grid_lines, rejection_sample


def _square_grid(lines: int, dim: int = 2, half: float = 1.0) -> Grid | None:
    return Grid(grid_lines(np.full(dim, -half), np.full(dim, half), lines, 64)) if lines else None


def _border(half: float = 1.0, n: int = 200) -> np.ndarray:
    """The square's outline as a closed polyline (n, 2)."""
    s = np.linspace(0, 4, n, endpoint=False)
    side, f = np.divmod(s, 1.0)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float) * half
    side = side.astype(int)
    return corners[side] + f[:, None] * (corners[side + 1] - corners[side])


class TwoCurvesParams(BaseModel):
    """Curve A: ``y = offset + amplitude * sin(pi * frequency * x)``; B the same, lower."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amplitude: float = Field(0.45, ge=0, le=2)
    frequency: float = Field(1.0, gt=0, le=10)
    gap: float = Field(0.35, gt=0, le=2, description="vertical distance between the curves")
    points_per_curve: int = Field(200, ge=8, le=100_000)
    samples_per_class: int = Field(400, ge=10, le=MAX_SAMPLES_PER_CLASS)
    noise: float = Field(0.02, ge=0, le=1)
    grid_lines: int = Field(11, ge=0, le=200)
    border: bool = True
    seed: int = Field(0, ge=0, le=SEED_MAX)


def build_two_curves(p: TwoCurvesParams) -> Scene:
    x = np.linspace(-1, 1, p.points_per_curve)
    rng = np.random.default_rng(p.seed)
    curves, samples, labels = [], [], []
    for label, offset in enumerate((p.gap / 2, -p.gap / 2)):
        pts = np.stack([x, offset + p.amplitude * np.sin(np.pi * p.frequency * x)], 1)
        curves.append(Curve(label, pts))
        samples.append(curve_samples(rng, pts, p.samples_per_class, p.noise, closed=False))
        labels.append(np.full(p.samples_per_class, label))
    if p.border:
        curves.append(Curve(-1, _border(), closed=True))
    return Scene("two-curves", "", 2, ("curve A", "curve B"), (), tuple(curves), _square_grid(p.grid_lines),
                 np.concatenate(samples), np.concatenate(labels))


class GridOnlyParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    grid_lines: int = Field(15, ge=2, le=200)
    half_width: float = Field(1.0, gt=0, le=100, description="the grid spans [-h, h]^2")


def build_grid_only(p: GridOnlyParams) -> Scene:
    return Scene("grid-only", "", 2, (), (), (), _square_grid(p.grid_lines, half=p.half_width),
                 np.zeros((0, 2)), np.zeros(0, dtype=np.int64))


class DiskAnnulusParams(BaseModel):
    """Disk A (r < disk_radius) inside annulus B (annulus_inner < r < 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disk_radius: float = Field(1 / 3, gt=0, lt=1)
    annulus_inner: float = Field(2 / 3, gt=0, lt=1)
    resolution: int = Field(96, ge=8, le=4000, description="vertices around each ring")
    samples_per_class: int = Field(800, ge=10, le=MAX_SAMPLES_PER_CLASS)
    grid_lines: int = Field(11, ge=0, le=200)
    seed: int = Field(0, ge=0, le=SEED_MAX)

    @model_validator(mode="after")
    def _nested(self) -> DiskAnnulusParams:
        if self.annulus_inner <= self.disk_radius:
            raise ValueError(f"annulus_inner ({self.annulus_inner}) must exceed disk_radius ({self.disk_radius})")
        return self


def build_disk_annulus(p: DiskAnnulusParams) -> Scene:
    rng = np.random.default_rng(p.seed)
    rings = max(2, p.resolution // 8)
    disk_v, disk_f = disk_mesh(0.0, p.disk_radius, p.resolution, rings)
    ann_v, ann_f = disk_mesh(p.annulus_inner, 1.0, p.resolution, rings)
    lo, hi = np.full(2, -1.0), np.full(2, 1.0)
    A = rejection_sample(rng, p.samples_per_class, lo, hi, lambda X: np.linalg.norm(X, axis=1) < p.disk_radius,
                         field="disk_radius", value=p.disk_radius)
    B = rejection_sample(rng, p.samples_per_class, lo, hi,
                         lambda X: (np.linalg.norm(X, axis=1) > p.annulus_inner) & (np.linalg.norm(X, axis=1) < 1),
                         field="annulus_inner", value=p.annulus_inner, smaller=True)
    return Scene("disk-annulus", "", 2, ("disk A", "annulus B"), (Surface(0, disk_v, disk_f), Surface(1, ann_v, ann_f)),
                 (), _square_grid(p.grid_lines, half=1.15), np.vstack([A, B]),
                 np.r_[np.zeros(len(A), np.int64), np.ones(len(B), np.int64)])


class LineSegmentsParams(BaseModel):
    """B on [-1, -2/3], A on [-1/3, 1/3], B on [2/3, 1] (the essay's 1-D example)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    points_per_segment: int = Field(60, ge=2, le=100_000)
    samples_per_class: int = Field(400, ge=10, le=MAX_SAMPLES_PER_CLASS)
    grid: bool = Field(True, description="draw the line itself, which bends with the data")
    seed: int = Field(0, ge=0, le=SEED_MAX)


def build_line_segments(p: LineSegmentsParams) -> Scene:
    rng = np.random.default_rng(p.seed)
    segments = [(1, -1.0, -2 / 3), (0, -1 / 3, 1 / 3), (1, 2 / 3, 1.0)]
    curves = [Curve(label, np.linspace(a, b, p.points_per_segment)[:, None]) for label, a, b in segments]
    A = rng.uniform(-1 / 3, 1 / 3, p.samples_per_class)
    B = np.r_[rng.uniform(-1, -2 / 3, p.samples_per_class // 2), rng.uniform(2 / 3, 1, p.samples_per_class - p.samples_per_class // 2)]
    grid = Grid(np.linspace(-1.2, 1.2, 96)[None, :, None]) if p.grid else None
    return Scene("line-segments", "", 1, ("segment A", "segments B"), (), tuple(curves), grid,
                 np.r_[A, B][:, None], np.r_[np.zeros(len(A), np.int64), np.ones(len(B), np.int64)])
