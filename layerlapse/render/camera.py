"""Cameras: one that follows the data smoothly and orbits slowly, or a still fit.

The data is framed by its extent projected on the screen plane for each frame's
viewing direction (computed first, on a subsample of the points). Over a movie the
framing is a max-filter followed by a Gaussian in time, so the camera pulls back
before the data grows, closes in after it shrinks, and never jumps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from layerlapse.networks.deformation import Deformation
from layerlapse.render.style import CAMERAS, Style

VIEW_ANGLE = 30.0
MARGIN = 1.2


def view_axes(azimuth: np.ndarray, elevation: float, top: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (F, 3) each: towards the camera, screen up, screen right."""
    azimuth = np.asarray(azimuth, dtype=float).reshape(-1)
    n = azimuth.size
    if top:
        return (np.tile([0.0, 0.0, 1.0], (n, 1)), np.tile([0.0, 1.0, 0.0], (n, 1)), np.tile([1.0, 0.0, 0.0], (n, 1)))
    az, el = np.radians(azimuth), np.radians(elevation)
    towards = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.full(n, np.sin(el))], 1)
    right = np.cross(np.array([0.0, 0.0, 1.0]), towards)
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    up = np.cross(towards, right)
    return towards, up, right


def framing(points: np.ndarray, towards: np.ndarray, up: np.ndarray, right: np.ndarray,
            aspect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre (F, 3), screen half-height to fit (F,) and depth half-extent (F,) of points (F, V, 3)."""
    lo, hi = points.min(1), points.max(1)
    centre = 0.5 * (lo + hi)
    rel = points - centre[:, None]
    half_h = np.abs(np.einsum("fvi,fi->fv", rel, up)).max(1)
    half_w = np.abs(np.einsum("fvi,fi->fv", rel, right)).max(1)
    depth = np.abs(np.einsum("fvi,fi->fv", rel, towards)).max(1)
    return centre, np.maximum(half_h, half_w / aspect), depth


@dataclass(frozen=True)
class CameraPath:
    """Per-frame camera: centre (F, 3), half-height in view (F,), depth (F,), azimuth (F,).

    ``top`` (2D scenes, or the ``top`` preset) looks down the z axis with y up.
    ``radius`` is also the scale for tube radii, so curves keep their on-screen width.
    """

    centre: np.ndarray
    radius: np.ndarray
    depth: np.ndarray
    azimuth: np.ndarray
    elevation: float
    top: bool

    @classmethod
    def follow(cls, deformation: Deformation, *, fps: float, style: Style, aspect: float,
               max_points: int = 4000, batch: int = 64) -> "CameraPath":
        """A camera for every frame of ``deformation``, following the data."""
        step = max(1, deformation.n_points // max_points)
        subset = np.arange(0, deformation.n_points, step)
        azimuth0, elevation = CAMERAS[style.camera]
        top = deformation.planar or style.camera == "top"
        orbit = 0.0 if top else style.orbit_degrees_per_second
        azimuth = azimuth0 + orbit * np.arange(deformation.n_frames) / fps
        towards, up, right = view_axes(azimuth, elevation, top)
        parts = []
        for start in range(0, deformation.n_frames, batch):
            idx = np.arange(start, min(start + batch, deformation.n_frames))
            parts.append(framing(deformation.display(idx, subset), towards[idx], up[idx], right[idx], aspect))
        centre, radius, depth = (np.concatenate(p) for p in zip(*parts))
        sigma = max(style.camera_smoothing * fps, 1e-6)
        width = 2 * int(round(sigma)) + 1

        def smooth(x):
            return gaussian_filter1d(maximum_filter1d(x, size=width, mode="nearest"), sigma, mode="nearest")

        centre = gaussian_filter1d(centre, sigma, axis=0, mode="nearest")
        return cls(centre, np.maximum(smooth(radius), 1e-6), smooth(depth), azimuth, elevation, top)

    @classmethod
    def still(cls, points: np.ndarray, *, style: Style, planar: bool, aspect: float) -> "CameraPath":
        """A one-frame camera fitted to points (V, 3), from the style's camera preset."""
        azimuth, elevation = CAMERAS[style.camera]
        top = planar or style.camera == "top"
        towards, up, right = view_axes(np.array([azimuth]), elevation, top)
        centre, radius, depth = framing(points[None], towards, up, right, aspect)
        return cls(centre, np.maximum(radius, 1e-6), depth, np.array([azimuth]), elevation, top)

    def apply(self, camera, frame: int) -> None:
        """Set a VTK camera for ``frame``."""
        c, r = self.centre[frame], float(self.radius[frame])
        towards, up, _ = view_axes(self.azimuth[frame : frame + 1], self.elevation, self.top)
        dist = MARGIN * r / np.tan(np.radians(VIEW_ANGLE / 2)) + float(self.depth[frame])
        camera.SetViewAngle(VIEW_ANGLE)
        camera.SetFocalPoint(*c)
        camera.SetPosition(*(c + dist * towards[0]))
        camera.SetViewUp(*up[0])
        reach = float(self.depth[frame]) + 2 * r
        camera.SetClippingRange(max(dist - reach, dist * 1e-3), dist + reach)
