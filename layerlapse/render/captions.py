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
#: the parts of a caption (layer, map, time, view): a line break between two reads best
SEPARATOR = " · "
#: a space that never breaks a line while wrapping (restored after): inside parentheses
_KEEP = "\x00"
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
    or on two lines (:func:`two_lines`), so it ends at least the left margin before the right edge."""
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
    options = []
    for lines in two_lines(text):  # the first way that fits; if none does, the narrowest, shrunk
        actor.SetInput("\n".join(lines))
        options.append((_width(actor, renderer)[1], lines))
        if options[-1][0] <= room:
            break
    width, lines = options[-1] if options[-1][0] <= room else min(options, key=lambda option: option[0])
    actor.SetInput("\n".join(lines))
    if width > room:  # a very small figure: smaller still, as small as a tiny frame must
        prop.SetFontSize(max(5, int(font * room / width)))


def two_lines(text: str) -> list[list[str]]:
    """Ways to put ``text`` on two lines, the best read first: broken at the :data:`SEPARATOR`
    between its parts that balances the lines most (``layer 1 of 3 · tanh (...): x -> (1 - t)
    x + t tanh(x)`` / ``t = 0.68 · view: ...``), then balanced at spaces outside parentheses,
    so a formula's ``(1 - t)`` is never cut."""
    depth, kept = 0, []
    for char in text:
        depth += (char == "(") - (char == ")")
        kept.append(_KEEP if char == " " and depth > 0 else char)
    protected = "".join(kept)
    # half the text plus the longest word always fits in two
    plain = [line.replace(_KEEP, " ") for line in
             balanced(protected, (len(text) + 1) // 2 + max(len(word) for word in protected.split()))]
    parts = text.split(SEPARATOR)
    splits = [[SEPARATOR.join(parts[:i]), SEPARATOR.join(parts[i:])] for i in range(1, len(parts))]
    return ([min(splits, key=lambda pair: max(map(len, pair)))] if splits else []) + [plain]
