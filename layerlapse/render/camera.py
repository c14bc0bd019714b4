"""Cameras: one that follows the data smoothly and orbits slowly, or a still fit.

For movies the per-frame bounds of the deformed points are computed first (on a
subsample); the camera radius is a max-filter followed by a Gaussian, so it pulls back
before the data grows and never jumps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from layerlapse.networks.deformation import Deformation
from layerlapse.render.style import CAMERAS, Style

VIEW_ANGLE = 30.0


def bounds(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (..., 3) and half extent (..., 3) of points (..., V, 3)."""
    lo, hi = points.min(-2), points.max(-2)
    return 0.5 * (lo + hi), 0.5 * (hi - lo)


@dataclass(frozen=True)
class CameraPath:
    """Per-frame camera: centre (F, 3), radius (F,), azimuth (F,) degrees, a fixed elevation.

    ``top`` (2D scenes, or the ``top`` preset) looks down the z axis with y up.
    """

    centre: np.ndarray
    radius: np.ndarray
    azimuth: np.ndarray
    elevation: float
    top: bool

    @staticmethod
    def _radius(half: np.ndarray, top: bool) -> np.ndarray:
        return half[..., :2].max(-1) if top else np.linalg.norm(half, axis=-1)

    @classmethod
    def follow(cls, deformation: Deformation, *, fps: float, style: Style,
               max_points: int = 4000, batch: int = 64) -> "CameraPath":
        """A camera for every frame of ``deformation``, following the data."""
        step = max(1, deformation.n_points // max_points)
        subset = np.arange(0, deformation.n_points, step)
        centres, halves = [], []
        for start in range(0, deformation.n_frames, batch):
            idx = np.arange(start, min(start + batch, deformation.n_frames))
            c, h = bounds(deformation.display(idx, subset))
            centres.append(c)
            halves.append(h)
        centre, half = np.concatenate(centres), np.concatenate(halves)
        azimuth, elevation = CAMERAS[style.camera]
        top = deformation.dim < 3 or style.camera == "top"
        radius = cls._radius(half, top)
        sigma = max(style.camera_smoothing * fps, 1e-6)
        width = 2 * int(round(sigma)) + 1
        radius = gaussian_filter1d(maximum_filter1d(radius, size=width, mode="nearest"), sigma, mode="nearest")
        centre = gaussian_filter1d(centre, sigma, axis=0, mode="nearest")
        frames = np.arange(deformation.n_frames)
        orbit = 0.0 if top else style.orbit_degrees_per_second
        return cls(centre, np.maximum(radius, 1e-6), azimuth + orbit * frames / fps, elevation, top)

    @classmethod
    def still(cls, points: np.ndarray, *, style: Style, planar: bool) -> "CameraPath":
        """A one-frame camera fitted to points (V, 3), from the style's camera preset."""
        centre, half = bounds(points)
        azimuth, elevation = CAMERAS[style.camera]
        top = planar or style.camera == "top"
        radius = max(float(cls._radius(half, top)), 1e-6)
        return cls(centre[None], np.array([radius]), np.array([azimuth]), elevation, top)

    def apply(self, camera, frame: int, aspect: float) -> None:
        """Set a VTK camera for ``frame``; ``aspect`` = width / height."""
        c, r = self.centre[frame], float(self.radius[frame])
        half_angle = np.radians(VIEW_ANGLE / 2)
        if self.top:
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
