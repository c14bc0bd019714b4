"""Two solid tori linked like chain links (the essay's 3D example)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from layerlapse.limits import MAX_SAMPLES_PER_CLASS, SEED_MAX
from layerlapse.scenes.base import Grid, Scene, Surface
from layerlapse.scenes.geometry import (
    grid_lines,
    inside_torus,
    padded_box,
    rejection_sample,
    torus_frame,
    torus_surface,
)


class LinkedToriParams(BaseModel):
    """Ring A lies in the xy-plane, ring B in the xz-plane through A's hole."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    major_radius: float = Field(0.6, gt=0, le=100, description="radius of each ring's centre circle")
    minor_radius: float = Field(0.2, gt=0, le=100, description="radius of each ring's tube")
    resolution: int = Field(96, ge=8, le=2000, description="vertices around each ring")
    samples_per_class: int = Field(1500, ge=10, le=MAX_SAMPLES_PER_CLASS)
    noise: float = Field(0.0, ge=0, le=10, description="std of Gaussian jitter on samples")
    grid_lines: int = Field(5, ge=0, le=50, description="grid lines per axis (0: no grid)")
    seed: int = Field(0, ge=0, le=SEED_MAX)

    @model_validator(mode="after")
    def _linked(self) -> LinkedToriParams:
        if self.minor_radius >= self.major_radius / 2:
            raise ValueError(
                f"minor_radius ({self.minor_radius}) must be below major_radius / 2 "
                f"({self.major_radius / 2}) or the rings touch"
            )
        return self


def build_linked_tori(p: LinkedToriParams) -> Scene:
    R, r = p.major_radius, p.minor_radius
    rings = [
        (np.array([-R / 2, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])),
        (np.array([R / 2, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])),
    ]
    nv = max(8, int(round(p.resolution * r / R * 1.6)))
    rng = np.random.default_rng(p.seed)
    surfaces, samples, labels, cores = [], [], [], []
    for label, (center, normal) in enumerate(rings):
        vertices, faces = torus_surface(center, normal, R, r, p.resolution, nv)
        cores.append(_circle(center, normal, R, p.resolution))
        surfaces.append(Surface(label, vertices, faces))
        lo, hi = vertices.min(0), vertices.max(0)
        X = rejection_sample(
            rng, p.samples_per_class, lo, hi, lambda X, c=center, n=normal: inside_torus(X, c, n, R, r),
            field="minor_radius", value=r,
        )
        samples.append(X + rng.normal(0.0, p.noise, X.shape) if p.noise else X)
        labels.append(np.full(len(X), label))
    allv = np.concatenate([s.vertices for s in surfaces])
    grid = None
    if p.grid_lines:
        lo, hi = padded_box(allv, 0.08)
        grid = Grid(grid_lines(lo, hi, p.grid_lines, 48))
    return Scene(
        name="linked-tori",
        description="two solid tori linked like chain links (3D)",
        dim=3,
        class_names=("torus A", "torus B"),
        surfaces=tuple(surfaces),
        curves=(),
        grid=grid,
        samples=np.concatenate(samples),
        labels=np.concatenate(labels),
        cores=tuple(cores),
    )


def _circle(center: np.ndarray, normal: np.ndarray, radius: float, n: int) -> np.ndarray:
    """A ring's centre circle as a closed polygon of n vertices (n, 3) (its core: hidden)."""
    e1, e2 = torus_frame(normal)
    s = np.linspace(0.0, 2 * np.pi, n, endpoint=False)[:, None]
    return center + radius * (np.cos(s) * e1 + np.sin(s) * e2)
