"""A camera that follows the data smoothly and orbits slowly.

The per-frame bounds of the deformed points are computed first (on a subsample); the
camera radius is a max-filter followed by a Gaussian, so it pulls back before the data
grows and never jumps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from layerlapse.networks.deformation import Deformation

VIEW_ANGLE = 30.0


@dataclass(frozen=True)
class CameraPath:
    """Per-frame camera: centre (F, 3), radius (F,), azimuth (F,) degrees; 2D scenes look down z."""

    centre: np.ndarray
    radius: np.ndarray
    azimuth: np.ndarray
    elevation: float
    planar: bool

    @classmethod
    def follow(
        cls,
        deformation: Deformation,
        *,
        fps: float,
        smooth_seconds: float,
        azimuth: float,
        degrees_per_second: float,
        elevation: float,
        max_points: int = 4000,
        batch: int = 64,
    ) -> "CameraPath":
        step = max(1, deformation.n_points // max_points)
        subset = np.arange(0, deformation.n_points, step)
        lo, hi = [], []
        for start in range(0, deformation.n_frames, batch):
            idx = np.arange(start, min(start + batch, deformation.n_frames))
            X = deformation.display(idx, subset)
            lo.append(X.min(1))
            hi.append(X.max(1))
        lo, hi = np.concatenate(lo), np.concatenate(hi)
        centre = 0.5 * (lo + hi)
        half = 0.5 * (hi - lo)
        planar = deformation.dim < 3
        radius = np.linalg.norm(half, axis=1) if not planar else half[:, :2].max(1)
        sigma = max(smooth_seconds * fps, 1e-6)
        width = 2 * int(round(sigma)) + 1
        radius = gaussian_filter1d(maximum_filter1d(radius, size=width, mode="nearest"), sigma, mode="nearest")
        centre = gaussian_filter1d(centre, sigma, axis=0, mode="nearest")
        frames = np.arange(deformation.n_frames)
        az = azimuth + (0.0 if planar else degrees_per_second) * frames / fps
        return cls(centre, np.maximum(radius, 1e-6), az, elevation, planar)

    def apply(self, camera, frame: int, aspect: float) -> None:
        """Set a VTK camera for ``frame``; ``aspect`` = width / height."""
        c, r = self.centre[frame], float(self.radius[frame])
        half_angle = np.radians(VIEW_ANGLE / 2)
        if self.planar:
            # fit the square [c - r, c + r]^2 with a margin; the limiting side is the shorter one
            dist = 1.3 * r / np.tan(half_angle) / min(1.0, aspect)
            direction, up = np.array([0.0, 0.0, 1.0]), (0.0, 1.0, 0.0)
        else:
            # r bounds the data's distance from c; its silhouette is rarely that wide
            dist = 0.85 * r / np.sin(half_angle) / min(1.0, aspect)
            az, el = np.radians(self.azimuth[frame]), np.radians(self.elevation)
            direction = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            up = (0.0, 0.0, 1.0)
        camera.SetViewAngle(VIEW_ANGLE)
        camera.SetFocalPoint(*c)
        camera.SetPosition(*(c + dist * direction))
        camera.SetViewUp(*up)
        camera.SetClippingRange(max(dist - 3 * r, dist * 1e-3), dist + 3 * r)
