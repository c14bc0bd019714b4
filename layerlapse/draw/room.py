"""Room for a card: while a title or verdict card stands, the camera frames the data in the
free area below the card's panel, so no class and no misclassified sample lies under it.

The panel's height is measured by the back-end (its text decides it); here it is a share of
the frame's height. The camera zooms out just enough that the data fits between the panel's
bottom edge and the legend's band, and moves the data down into that area; it eases in
before the verdict card and out after the title card (over the rest of the input hold), in
log-zoom, so it reads as one calm move, not as the data shrinking.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from layerlapse.networks.timeline import ease

if TYPE_CHECKING:
    from layerlapse.draw.camera import CameraPath

#: the legend and the scene's title live in the bottom band: the data stays above this share
BOTTOM = 0.075
#: the data fills at most this share of the free area's height (a small margin above and below)
FILL = 0.94
#: seconds over which the camera makes room before the verdict card (taken from the output hold)
EASE_IN = 0.75


def room_view(half: float, drop: float, fit: float, top: float) -> tuple[float, float]:
    """The view's half-height and the focal point's offset (a share of that half-height along
    the view's up) that put data framed by ``half`` (its half-extent ``half / fit``, centred
    ``drop`` of ``half`` below the middle) inside the free area below a panel taking the top
    ``top`` share of the frame. Never zooms in."""
    free = max(1.0 - top - BOTTOM, 0.2)
    wide = max(half, half / fit / (FILL * free))
    centre = BOTTOM + free / 2  # where the data's centre sits, as a share of the height from the bottom
    return wide, 1.0 - 2.0 * centre


def card_room(timeline, tops: dict[str, float], fps: float) -> np.ndarray | None:
    """Per frame (F, 2): the top share of the frame the standing (or coming) card takes, and
    how far (0 to 1) the camera has made room for it; None when no card stands."""
    card = getattr(timeline, "card_span", None)
    if card is None or not tops:
        return None
    F = timeline.n_frames
    top, weight = np.zeros(F), np.zeros(F)
    title, verdict = card("title"), card("verdict")
    if title is not None and "title" in tops:
        a, b = title
        moving = np.flatnonzero(~timeline.hold[b:]) if timeline.hold is not None else np.zeros(0, int)
        end = b + (int(moving[0]) if moving.size else F - b)  # eases out over the rest of the input hold
        top[a:end] = tops["title"]
        weight[a:b] = 1.0
        weight[b:end] = ease(1.0 - (np.arange(b, end) - b + 1) / max(end - b, 1), "smoothstep")
    if verdict is not None and "verdict" in tops:
        a, b = verdict
        start = max(0, a - int(round(EASE_IN * fps)), timeline.output_start)
        top[start:b] = tops["verdict"]
        weight[start:a] = ease((np.arange(start, a) - start + 1) / max(a - start, 1), "smoothstep")
        weight[a:b] = 1.0
    if not weight.any():
        return None
    return np.stack([top, weight], 1)


def with_room(camera: CameraPath, room: np.ndarray | None) -> CameraPath:
    """``camera`` that makes ``room`` (F, 2) (:func:`card_room`) for the cards."""
    return camera if room is None else replace(camera, room=room)
