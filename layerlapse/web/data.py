"""The web page's numbers: keyframes and their quantisation.

A page cannot carry every frame of a movie, so it carries keyframes and interpolates
linearly between them. The timeline is cut into *runs* of consecutive frames that sample
the same stage in the same way (a stage's animated frames, its pause, the output hold);
each run gets the fewest keyframes, evenly spaced frames of the run (the page interpolates
linearly in time, easing included), out of a ladder up to
``max_per_stage``, that keep linear interpolation within ``tolerance`` of the scene's
extent at every frame of the run. Translations and activation blends are affine in t, so
they need one interval; a polar path that turns needs more.

Positions are stored as int16 per part and coordinate (offset and scale), delta-coded
between keyframes in int16 wrap-around arithmetic (exact, and it lets gzip find the
small steps). Pure numpy: no drawing, no files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlapse.errors import LayerlapseError

#: interpolation may be off by this fraction of the scene's extent (quantisation adds < 1e-4)
TOLERANCE = 0.004
#: the default most keyframe intervals one run (a stage) may get
DEFAULT_KEYFRAMES = 24
#: intervals per run tried in order; the first that meets the tolerance is kept
LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
QMAX = 32767


def runs(stage: np.ndarray, hold: np.ndarray | None) -> list[tuple[int, int]]:
    """First and last frame (inclusive) of each run of frames with the same stage and hold flag."""
    key = stage.astype(np.int64) * 2 + (hold.astype(np.int64) if hold is not None else 0)
    cuts = np.flatnonzero(np.diff(key) != 0) + 1
    starts = np.r_[0, cuts]
    ends = np.r_[cuts - 1, len(key) - 1]
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def interpolate(key_frames: np.ndarray, keys: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Linear interpolation of keyframes (K, V, 3) at timeline frames ``key_frames`` (K,)
    (increasing) to ``frames`` (F,); -> (F, V, 3) float64. What the page does."""
    kf = np.asarray(key_frames, dtype=float)
    f = np.clip(np.asarray(frames, dtype=float), kf[0], kf[-1])
    if len(kf) == 1:
        return np.broadcast_to(keys[0].astype(float), (len(f),) + keys.shape[1:]).copy()
    j = np.clip(np.searchsorted(kf, f, side="right") - 1, 0, len(kf) - 2)
    a = ((f - kf[j]) / (kf[j + 1] - kf[j]))[:, None, None]
    return (1 - a) * keys[j] + a * keys[j + 1]


def extent_of(positions: np.ndarray) -> float:
    """The largest side of the bounding box of positions (..., 3)."""
    flat = np.asarray(positions).reshape(-1, 3)
    return float(np.ptp(flat, axis=0).max()) if len(flat) else 0.0


@dataclass(frozen=True)
class Keyframes:
    """``frames`` (K,) timeline frames and ``positions`` (K, V, 3) float32 there; ``extent``
    the largest side of the box of every frame's positions, ``error`` the largest distance
    (a fraction of ``extent``) between interpolated and exact positions over all frames."""

    frames: np.ndarray
    positions: np.ndarray
    extent: float
    error: float


def select_keyframes(source, subset: np.ndarray | slice = slice(None), *, max_per_stage: int = DEFAULT_KEYFRAMES,
                     tolerance: float = TOLERANCE) -> Keyframes:
    """Keyframes of ``source`` (a :class:`~layerlapse.networks.deformation.Deformation`) for
    the points ``subset``: per run (:func:`runs`), the fewest of :data:`LADDER` evenly spaced
    intervals (at most ``max_per_stage``) that interpolate every frame of the run within
    ``tolerance`` times the scene's extent."""
    if not (isinstance(max_per_stage, int) and 1 <= max_per_stage <= 256):
        raise LayerlapseError(f"keyframes: {max_per_stage!r} is out of range; allowed: 1 to 256 per stage")
    tl = source.timeline
    segments = runs(np.asarray(tl.stage), getattr(tl, "hold", None))
    ladder = sorted({k for k in LADDER if k < max_per_stage} | {max_per_stage})
    exact_runs = []
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for a, b in segments:
        exact = source.display(np.arange(a, b + 1), subset)
        lo, hi = np.minimum(lo, exact.min((0, 1))), np.maximum(hi, exact.max((0, 1)))
        exact_runs.append(exact)  # float32; a long movie of a big scene: see check_page_size
    extent = float((hi - lo).max()) if np.isfinite(lo).all() else 0.0
    scale = max(extent, 1e-12)
    chosen: list[int] = []
    worst = 0.0
    for (a, b), exact in zip(segments, exact_runs):
        frames = np.arange(a, b + 1)
        for k in ladder:
            cand = np.unique(np.round(np.linspace(a, b, min(k, b - a) + 1)).astype(np.int64))
            err = float(np.linalg.norm(interpolate(cand, exact[cand - a], frames) - exact, axis=-1).max())
            if err <= tolerance * scale or k == ladder[-1]:
                break
        chosen.extend(cand.tolist())
        worst = max(worst, err / scale)
    frames = np.unique(np.array(chosen, dtype=np.int64))
    starts = np.array([a for a, _ in segments])
    run_of = np.searchsorted(starts, frames, side="right") - 1
    positions = np.stack([exact_runs[r][f - starts[r]] for f, r in zip(frames, run_of)]).astype(np.float32)
    return Keyframes(frames, positions, extent, worst)


@dataclass(frozen=True)
class Quantised:
    """Positions (K, V, 3) as int16 ``q`` with, per part p (points ``bounds[p]:bounds[p+1]``),
    ``offset`` (P, 3) and ``scale`` (P, 3): x = offset + scale * q."""

    q: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    bounds: np.ndarray


def quantise(positions: np.ndarray, bounds: np.ndarray) -> Quantised:
    """int16 positions, one offset and scale per part and coordinate over all keyframes."""
    X = np.asarray(positions, dtype=np.float64)
    P = len(bounds) - 1
    offset, scale = np.zeros((P, 3)), np.zeros((P, 3))
    q = np.zeros(X.shape, np.int16)
    for p in range(P):
        part = X[:, bounds[p]:bounds[p + 1]]
        if part.shape[1] == 0:
            scale[p] = 1.0
            continue
        lo, hi = part.min((0, 1)), part.max((0, 1))
        offset[p] = 0.5 * (lo + hi)
        scale[p] = np.maximum(0.5 * (hi - lo) / QMAX, 1e-30)
        q[:, bounds[p]:bounds[p + 1]] = np.clip(np.round((part - offset[p]) / scale[p]), -QMAX, QMAX)
    return Quantised(q, offset.astype(np.float32), scale.astype(np.float32), np.asarray(bounds, np.int64))


def dequantise(data: Quantised) -> np.ndarray:
    """The positions (K, V, 3) float32 a :class:`Quantised` stands for (as the page computes them)."""
    out = np.zeros(data.q.shape, np.float32)
    for p in range(len(data.bounds) - 1):
        sl = slice(data.bounds[p], data.bounds[p + 1])
        out[:, sl] = data.offset[p] + data.scale[p] * data.q[:, sl].astype(np.float32)
    return out


def delta_encode(q: np.ndarray) -> np.ndarray:
    """Keyframe k minus keyframe k - 1 (the first as it is), in int16 wrap-around arithmetic."""
    d = q.astype(np.int32)
    d[1:] -= q[:-1].astype(np.int32)
    return d.astype(np.int16)  # wraps modulo 2^16, as the page's Int16Array does


def delta_decode(d: np.ndarray) -> np.ndarray:
    """Undo :func:`delta_encode` (what the page does)."""
    return np.cumsum(d.astype(np.int64), axis=0).astype(np.int16)


def quantise_unit(values: np.ndarray, limit: float) -> np.ndarray:
    """Log stretches in [-limit, limit] (clipped) as uint8 0..255 (128 near 0: unchanged)."""
    v = np.clip(np.asarray(values, dtype=np.float64) / max(limit, 1e-30), -1.0, 1.0)
    return np.round((v + 1.0) * 127.5).astype(np.uint8)

