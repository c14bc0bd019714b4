"""The decision plane seen edge-on: where a 3-D camera turns to during the output hold.

Seen face-on, a plane between two classes hides which side each lies on (the classes look
mixed in front of and behind it); seen edge-on it is a line with one class on either
side. The camera keeps its elevation and turns (eased, once) to the nearest azimuth whose
view direction is perpendicular to the plane's normal; a still of the output looks from
that azimuth too. No drawing library.
"""

from __future__ import annotations

import numpy as np

from layerlapse.networks.timeline import ease

#: seconds the turn to edge-on takes, at most this share of the output hold
EDGE_TURN, EDGE_SHARE = 2.0, 0.6


def head_normal(head: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | None:
    """The unit normal (3,) in display space of a two-class head (W (2, k), b (2,)), or None."""
    if head is None or head[0].shape[0] != 2:
        return None
    n = np.zeros(3)
    w = head[0][1] - head[0][0]
    n[: min(w.size, 3)] = w[:3]
    norm = float(np.linalg.norm(n))
    return None if norm < 1e-12 else n / norm


def edge_on_azimuth(normal: np.ndarray, elevation: float, near: float) -> float:
    """The azimuth (degrees) nearest ``near`` from which a camera at ``elevation`` looks
    along the plane with unit ``normal`` (3,): towards . normal = 0, i.e.
    cos(el) (nx cos az + ny sin az) = -nz sin(el). Where no azimuth reaches it (a plane
    tilted flatter than the elevation), the one that comes closest."""
    nx, ny, nz = (float(v) for v in normal)
    el = np.radians(elevation)
    across = float(np.hypot(nx, ny))
    if across < 1e-9:
        return float(near)  # a horizontal plane: every azimuth sees it alike
    phi = np.degrees(np.arctan2(ny, nx))
    # phi +- arccos(r); |r| > 1 means unreachable: arccos(+-1) is the closest approach
    r = float(np.clip(-nz * np.tan(el) / max(across, 1e-300), -1.0, 1.0))
    turns = [phi + np.degrees(np.arccos(r)), phi - np.degrees(np.arccos(r))]
    # each solution's copy nearest ``near`` (modulo 360): the camera turns the short way
    turns = [c + 360.0 * np.round((near - c) / 360.0) for c in turns]
    return float(min(turns, key=lambda c: abs(c - near)))


def plane_angle(towards: np.ndarray, normal: np.ndarray) -> float:
    """Degrees between a view direction (3,) and the plane of unit ``normal`` (0: edge-on)."""
    t = np.asarray(towards, float) / max(float(np.linalg.norm(towards)), 1e-300)
    return float(np.degrees(np.arcsin(min(1.0, abs(float(t @ normal))))))


def turn_to_edge(azimuth: np.ndarray, output: np.ndarray, normal: np.ndarray | None, elevation: float,
                 fps: float) -> np.ndarray:
    """``azimuth`` (F,) with the output hold's frames ``output`` (F,) turning from where the
    hold starts to the edge-on azimuth (smoothstep over :data:`EDGE_TURN` seconds, at most
    :data:`EDGE_SHARE` of the hold) and staying there: one calm turn, no orbit after."""
    frames = np.flatnonzero(output)
    if normal is None or not frames.size:
        return azimuth
    start = float(azimuth[frames[0]])
    target = edge_on_azimuth(normal, elevation, start)
    span = max(1.0, min(EDGE_TURN * fps, EDGE_SHARE * frames.size))
    s = ease(np.clip(np.arange(frames.size) / span, 0.0, 1.0), "smoothstep")
    out = np.array(azimuth, dtype=float)
    out[frames] = start + s * (target - start)
    return out
