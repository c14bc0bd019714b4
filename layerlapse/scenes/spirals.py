"""Two interleaved spirals in the plane (the essay's 2D example)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from layerlapse.limits import MAX_SAMPLES_PER_CLASS, SEED_MAX
from layerlapse.scenes.base import Curve, Grid, Scene
from layerlapse.scenes.geometry import grid_lines


class SpiralsParams(BaseModel):
    """Spiral A: ``r = (theta / theta_max)`` for theta in [start, start + 2 pi turns]; B = -A."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    turns: float = Field(0.75, gt=0, le=10, description="how far each spiral winds")
    start: float = Field(0.6, ge=0, le=20, description="starting angle in radians")
    points_per_curve: int = Field(240, ge=8, le=100_000)
    samples_per_class: int = Field(600, ge=10, le=MAX_SAMPLES_PER_CLASS)
    noise: float = Field(0.02, ge=0, le=1, description="std of Gaussian jitter on samples")
    grid_lines: int = Field(11, ge=0, le=200, description="grid lines per axis (0: no grid)")
    seed: int = Field(0, ge=0, le=SEED_MAX)


class TangledSpiralsParams(SpiralsParams):
    """The same spirals, wound further into each other."""

    turns: float = Field(1.5, gt=0, le=10, description="how far each spiral winds")


def spiral(theta: np.ndarray, theta_max: float, sign: float) -> np.ndarray:
    """Points (N, 2) of the spiral ``r = theta / theta_max`` (sign -1: rotated by pi)."""
    r = theta / theta_max
    return sign * np.stack([r * np.cos(theta), r * np.sin(theta)], 1)


def build_spirals(p: SpiralsParams, *, name: str = "spirals", description: str = "") -> Scene:
    theta_max = p.start + 2 * np.pi * p.turns
    rng = np.random.default_rng(p.seed)
    curves, samples, labels = [], [], []
    for label, sign in enumerate((1.0, -1.0)):
        curves.append(Curve(label, spiral(np.linspace(p.start, theta_max, p.points_per_curve), theta_max, sign)))
        theta = np.sqrt(rng.uniform(p.start**2, theta_max**2, p.samples_per_class))  # uniform in arc length, roughly
        samples.append(spiral(theta, theta_max, sign) + rng.normal(0.0, p.noise, (theta.size, 2)))
        labels.append(np.full(theta.size, label))
    grid = Grid(grid_lines(np.full(2, -1.0), np.full(2, 1.0), p.grid_lines, 64)) if p.grid_lines else None
    return Scene(
        name=name,
        description=description or "two interleaved spirals in the plane (2D)",
        dim=2,
        class_names=("spiral A", "spiral B"),
        surfaces=(),
        curves=tuple(curves),
        grid=grid,
        samples=np.concatenate(samples),
        labels=np.concatenate(labels),
    )
