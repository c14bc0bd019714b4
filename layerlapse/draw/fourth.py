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

#: the colour limit is this quantile of |hidden coordinate| over the classes at sampled frames
QUANTILE = 0.98
#: frames sampled over the timeline for the limit (besides the end of every stage)
SAMPLES = 48


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
        d = deformation
        sample = np.unique(np.r_[np.linspace(0, d.n_frames - 1, SAMPLES).round().astype(np.int64),
                                 [int(np.flatnonzero(d.timeline.stage == s)[-1]) for s in np.unique(d.timeline.stage)]])
        values = np.abs(self.at_frames(sample)[:, classes]) if len(classes) else np.zeros(0)
        self.limit = max(float(np.quantile(values, QUANTILE)) if values.size else 0.0, 1e-6)

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
        text = f"{self.limit:.2g}"
        return [(-self.limit, f"-{text}"), (0.0, "0"), (self.limit, f"+{text}")]
