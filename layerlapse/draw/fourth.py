"""The coordinate a scene in R^4 hides: what its 3-D projection does not show.

A frame of a width-4 network is shown through a projection P (3, D) (see
:meth:`~layerlapse.networks.deformation.Deformation.projection`); the direction n it drops
(orthogonal to P's rows, of unit length, its sign kept continuous from frame to frame) gives
every point its hidden coordinate n.x. The view colours each class by it on the class's own
ramp (darker below 0, paler above), so the tori seen to pass through each other in 3-D are
seen to lie apart in the 4th coordinate. No drawing library.
"""

from __future__ import annotations

import numpy as np

from layerlapse.networks.deformation import Deformation

#: the colour limit is this quantile of |hidden coordinate| over the classes at every frame,
#: rounded up to a round value (:func:`round_limit`): one range for the movie, the sheet and
#: the page, whatever their resolution or frame rate
QUANTILE = 0.98
#: class points the limit looks at, at most (an even stride over them)
LIMIT_POINTS = 4000
#: frames per batch when the limit reads the whole timeline
BATCH = 64


def round_limit(value: float) -> float:
    """``value`` rounded up to a multiple of half its leading power of ten (3.3, 3.4 -> 3.5;
    4.7 -> 5; 0.26 -> 0.3), so two outputs that sample the data differently agree."""
    if value <= 0:
        return 1e-6
    q = 0.5 * 10.0 ** np.floor(np.log10(value))
    return float(f"{np.ceil(value / q * (1 - 1e-9)) * q:.6g}")  # no 0.30000000000000004


def hidden_directions(P: np.ndarray) -> np.ndarray:
    """Unit directions (F, D) orthogonal to the rows of projections P (F, 3, D), D > 3 (the
    first of the D - 3 hidden ones), each frame's sign chosen to agree with the frame before;
    the first frame's points along +e_4 when P drops it."""
    _, _, vt = np.linalg.svd(P)  # the rows past the third span the hidden space
    n = vt[:, 3].copy()
    if n[0, 3] < 0:
        n[0] = -n[0]
    for f in range(1, len(n)):
        if n[f] @ n[f - 1] < 0:
            n[f] = -n[f]
    return n


class HiddenCoordinate:
    """The hidden coordinate of every stacked point of ``deformation`` (D > 3), at timeline
    frames or at any point of a stage, and a colour limit fixed for the whole movie over
    the points ``classes``."""

    def __init__(self, deformation: Deformation, classes: np.ndarray) -> None:
        self.deformation = deformation
        frames = np.arange(deformation.n_frames)
        self.directions = hidden_directions(deformation.projection(frames))
        classes = np.asarray(classes)[:: max(1, len(classes) // LIMIT_POINTS)]
        parts = [np.abs(np.einsum("fvd,fd->fv", deformation.frames(f, classes), self.directions[f])).ravel()
                 for f in np.array_split(frames, max(1, len(frames) // BATCH))] if len(classes) else []
        values = np.concatenate(parts) if parts else np.zeros(0)
        self.limit = round_limit(float(np.quantile(values, QUANTILE)) if values.size else 0.0)

    def at_frames(self, frames: np.ndarray) -> np.ndarray:
        """Hidden coordinates (F, V) at timeline frames (F,)."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        X = self.deformation.frames(frames)
        return np.einsum("fvd,fd->fv", X, self.directions[frames])

    def at(self, stage: int, t: float) -> np.ndarray:
        """Hidden coordinates (V,) at time ``t`` of ``stage`` (-1: the input), through the
        stage's last frame's projection (as :meth:`~layerlapse.networks.deformation.Deformation.display_at`)."""
        hits = np.flatnonzero(self.deformation.timeline.stage == stage)
        frame = int(hits[-1]) if hits.size else 0
        return self.deformation.stage(stage, np.array([float(t)]))[0] @ self.directions[frame]

    def ticks(self) -> list[tuple[float, str]]:
        """The colour bar's labels: (value, text) at -limit, 0 and +limit."""
        text = f"{self.limit:g}"
        return [(-self.limit, f"-{text}"), (0.0, "0"), (self.limit, f"+{text}")]
