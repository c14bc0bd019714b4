"""Keeping the data large on screen under a still camera: the band the data's own framing
must stay in, and an orbit that turns only while nothing moves.

A layer with a large ``W`` spreads the data many times over before its activation squashes
it back into the box; a camera that frames everything the layer does shows the data as a
speck for part of it. The still camera of :meth:`~layerlapse.draw.camera.CameraPath.layered`
is the preferred path; it is corrected only where the data leaves a band around it: the
data's centre may stray at most :data:`STRAY` of the data's half-size from the camera's
centre, and the camera's radius stays between what fits the data and :data:`SWING` times
the data's own radius. Where the band does not bite the camera is exactly the still one;
where it does, the correction is smoothed in time (a Gaussian of :data:`SMOOTHING` seconds),
so the camera starts and stops zooming gently. Zoom then reads as zoom against the reference
frame's numbered ticks and the box (:mod:`layerlapse.draw.ticks`).
"""

from __future__ import annotations

import numpy as np

#: the camera's radius is at most this many times the data's own: the data's framing never
#: shrinks below 1 / SWING of the view (with FIT = 1.3 and the depth term, the framed points
#: span at least about 0.5 of the frame's smaller side)
SWING = 1.35
#: the data's centre strays at most this share of its own half-size from the camera's centre
STRAY = 0.5
#: seconds of the Gaussian that smooths the band's corrections
SMOOTHING = 0.2
#: seconds of the Gaussian that eases the orbit's speed in and out of the holds
ORBIT_EASE = 0.25


def smoothed_correction(correction: np.ndarray, fps: float, still: np.ndarray) -> np.ndarray:
    """Smooth a per-frame correction (F,) or (F, k) in time; the frames ``still`` (F,) (the
    input hold, which must not zoom) take the smoothed value of the first frame after them,
    so they stay constant and join the rest without a step."""
    from scipy.ndimage import gaussian_filter1d  # a movie's camera, not a still's

    sigma = max(SMOOTHING * fps, 1e-6)
    out = gaussian_filter1d(np.asarray(correction, dtype=float), sigma, axis=0, mode="nearest")
    lead = int(np.argmin(still)) if (~still).any() else still.size
    if 0 < lead < still.size:
        out[:lead] = out[lead]
    return out


def stray_centre(preferred: np.ndarray, centre: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """``preferred`` camera centres (F, 3) moved (as little as possible) to within ``STRAY *
    reach`` (F,) of the data's own centres ``centre`` (F, 3)."""
    off = preferred - centre
    norm = np.linalg.norm(off, axis=1)
    limit = STRAY * reach
    scale = np.where(norm > limit, limit / np.maximum(norm, 1e-300), 1.0)
    return centre + off * scale[:, None]


def banded_radius(preferred: np.ndarray, need: np.ndarray, own: np.ndarray) -> np.ndarray:
    """``preferred`` radii (F,) clipped to [need, SWING * own]: never cutting the data off
    (``need``: what fits it around the camera's centre), never leaving it smaller than
    1 / SWING of the view (``own``: the data's radius around its own centre)."""
    return np.clip(preferred, need, np.maximum(need, SWING * own))


def orbit_speed(hold: np.ndarray, fps: float) -> np.ndarray:
    """The share (F,) of the orbit's speed each frame turns at: 1 in the frames ``hold`` (F,)
    (the pauses and the output hold, where nothing moves), 0 elsewhere, eased in and out, so
    that a turning camera is never a third motion beside the data's and the zoom's."""
    from scipy.ndimage import gaussian_filter1d

    return np.clip(gaussian_filter1d(hold.astype(float), max(ORBIT_EASE * fps, 1e-6), mode="nearest"), 0.0, 1.0)
