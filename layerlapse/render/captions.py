"""The caption and the scene label on a VTK frame: on a translucent backing strip, so grid
lines and data never run through the text, and kept inside the margins (a long caption
shrinks a little, then wraps onto two balanced lines)."""

from __future__ import annotations

import pyvista as pv

from layerlapse.draw.words import balanced

#: the backing strip's opacity: the text stands out, the picture behind still shows
BACKING_OPACITY = 0.78
#: a caption shrinks to this share of its font before it wraps
SHRINK_FLOOR = 0.75
#: the margin on each side, a share of the frame's height (the caption starts at it on the left)
MARGIN = 0.022


def backing(prop, colour) -> None:
    """Give a text property a translucent strip of ``colour`` behind its text."""
    prop.SetBackgroundColor(pv.Color(colour).float_rgb)
    prop.SetBackgroundOpacity(BACKING_OPACITY)


def _width(actor, renderer) -> tuple[float, float]:
    """The text's left edge and width in pixels (the box VTK gives is about the actor's anchor)."""
    box = [0.0] * 4
    actor.GetBoundingBox(renderer, box)
    anchor = actor.GetPositionCoordinate().GetComputedDisplayValue(renderer)[0]
    return anchor + box[0], box[1] - box[0]


def fit_caption(actor, renderer, text: str, font: int, size: tuple[int, int]) -> None:
    """Show ``text`` in ``actor`` at ``font`` pixels, or smaller (down to :data:`SHRINK_FLOOR`),
    or on two balanced lines, so it ends at least the left margin before the right edge."""
    prop = actor.GetTextProperty()
    actor.SetInput(text)
    prop.SetFontSize(font)
    if not text:
        return
    left, width = _width(actor, renderer)
    room = size[0] - MARGIN * size[1] - left
    if width <= room or room <= 0:
        return
    shrunk = int(font * room / width)
    if shrunk >= SHRINK_FLOOR * font:
        prop.SetFontSize(shrunk)
        return
    # two lines at most: half the text plus the longest word always fits in two
    lines = balanced(text, (len(text) + 1) // 2 + max(len(word) for word in text.split()))
    actor.SetInput("\n".join(lines))
    _, width = _width(actor, renderer)
    if width > room:  # a very small figure: smaller still, as small as a tiny frame must
        prop.SetFontSize(max(5, int(font * room / width)))
