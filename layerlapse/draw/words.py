"""The words a movie, a figure, a contact sheet and the page show, in one place: the title
and verdict cards, the class legend, each frame's caption, and the same as subtitle cues.

Every back-end takes its text from here, so they all say the same thing. Pure: no VTK,
no files (the subtitle files are written by :mod:`layerlapse.app.subtitles`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Literal

from layerlapse.draw.style import Style
from layerlapse.networks.timeline import Timeline, TimelineConfig

#: what ``--captions`` accepts: on the frames, in WebVTT and SRT files beside the movie, nowhere
CAPTIONS = ("burn", "file", "none")
CaptionMode = Literal["burn", "file", "none"]
#: font sizes at 720p, in pixels: the title card, the verdict's first line, its other lines,
#: the legend's names
TITLE_FONT, HEADLINE_FONT, BODY_FONT, LEGEND_FONT = 34.0, 28.0, 21.0, 17.0
#: how wide one character runs, as a share of the font size (VTK's Arial, mixed text; the
#: layout then measures and shrinks what still runs over)
CHAR_WIDTH = 0.52
#: a card stands as long as its words take to read: about 3 words a second after a short
#: look at the picture, never under the floor (a glance) nor over the cap (seconds)
WORDS_PER_SECOND, CARD_LEAD, CARD_FLOOR, CARD_CAP = 3.0, 0.5, 2.0, 12.0


@dataclass(frozen=True)
class Cards:
    """The title card's question and the verdict card's lines (the first is the answer)."""

    title: str
    verdict: tuple[str, ...]

    def text(self, which: str) -> str:
        """The card ``which`` (``title`` or ``verdict``) as one string, lines joined by newlines."""
        return self.title if which == "title" else "\n".join(self.verdict)


def fallback_cards(description: str, *, accuracy: float | None, misclassified: int | None,
                   n_samples: int) -> Cards:
    """Cards for a scene without a claim: its description as the question, the accuracy and
    the misclassified count as the verdict."""
    title = description[:1].upper() + description[1:] if description else "What do the layers do to the data?"
    if accuracy is None:
        return Cards(title, ("The network's representation at the output.",))
    lines = [f"Accuracy {100 * accuracy:.1f}% on the {n_samples:,} training samples."]
    if misclassified:
        lines.append(f"{misclassified:,} misclassified, marked dark where they end up.")
    elif misclassified == 0:
        lines.append("Every sample is classified correctly.")
    return Cards(title, tuple(lines))


def reading_seconds(text: str) -> float:
    """How long a card holding ``text`` stands: ``CARD_LEAD + words / WORDS_PER_SECOND``,
    within [CARD_FLOOR, CARD_CAP] (a 12-word question 4.5 s, a 30-word verdict 10.5 s)."""
    return min(CARD_CAP, max(CARD_FLOOR, CARD_LEAD + len(text.split()) / WORDS_PER_SECOND))


def card_timeline(config: TimelineConfig, cards: Cards | None) -> TimelineConfig:
    """``config`` with each card that its words time (``title_card`` or ``verdict_card``
    None) standing for :func:`reading_seconds` of them; seconds given are kept."""
    if cards is None:
        return config
    update = {f"{which}_card": reading_seconds(cards.text(which)) for which in ("title", "verdict")
              if getattr(config, f"{which}_card") is None}
    return config.model_copy(update=update) if update else config


#: the legend's name for the misclassified samples' markers
MISCLASSIFIED = "misclassified"


def legend(class_names: tuple[str, ...], style: Style, *,
           markers: str | None = None) -> tuple[tuple[str, str, str], ...]:
    """``(name, colour, look)`` of every class, in label order, in the colours the parts are
    drawn in (look ``swatch``), then, where the misclassified samples are marked
    (``markers``: their colour), :data:`MISCLASSIFIED` with the markers' look (``ring``)."""
    entries = tuple((name, style.colour(label), "swatch") for label, name in enumerate(class_names))
    return entries + (((MISCLASSIFIED, markers, "ring"),) if markers is not None else ())


def wrap(text: str, *, width_px: float, font_px: float) -> str:
    """``text`` wrapped (at spaces, existing line breaks kept) to lines that fit ``width_px``
    pixels in a ``font_px`` font; -> the lines joined by newlines."""
    chars = max(12, int(width_px / (CHAR_WIDTH * font_px)))
    return "\n".join(line for part in text.split("\n") for line in (balanced(part, chars) or [""]))


def balanced(text: str, chars: int) -> list[str]:
    """``text`` in as few lines of at most ``chars`` characters as plain wrapping takes, but
    as even as they can be, so no line ends the card with one lone word (``it?``)."""
    lines = textwrap.wrap(text, chars)
    if len(lines) < 2:
        return lines
    # the narrowest width that still needs no more lines: the last line fills up as the others shrink
    lo, hi = max(len(word) for word in text.split()), chars
    while lo < hi:
        mid = (lo + hi) // 2
        if len(textwrap.wrap(text, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid + 1
    return textwrap.wrap(text, lo)


def frame_caption(timeline: Timeline, frame: int, result: str = "") -> str:
    """The caption a frame shows: its stage's map in words and symbols, the local time while
    it moves, and at the output ``result`` (`` · accuracy 92.4% · ...``)."""
    text = timeline.caption(frame)
    if timeline.stage_names[timeline.name[frame]] == "output":
        text += result
    return text


def view_caption(width: int, share: float) -> str:
    """What a view of wider data holds, after a frame's caption: `` · view: 3 of 64
    directions, 71% of the variance`` (`` · view: all 3 directions`` when it holds them all)."""
    if width <= 3:
        return f" \u00b7 view: all {width} directions"
    return f" \u00b7 view: 3 of {width} directions, {100 * share:.0f}% of the variance"


@dataclass(frozen=True)
class Cue:
    """One subtitle: from ``start`` to ``end`` seconds, ``text`` (lines joined by newlines)."""

    start: float
    end: float
    text: str


def cues(timeline: Timeline, cards: Cards | None, result: str = "") -> list[Cue]:
    """One cue per stage of ``timeline`` (its caption, the output's with ``result``), and one
    per card that stands, each timed to its frames: frame ``f`` starts at ``f / fps``."""
    fps = timeline.fps
    out = []
    for name, start, stop in timeline.stage_spans():
        text = timeline.captions[name] if timeline.captions else timeline.stage_labels[name]
        if name == len(timeline.stage_names) - 1:
            text += result
        out.append(Cue(start / fps, stop / fps, text))
    if cards is not None:
        for which in ("title", "verdict"):
            span = timeline.card_span(which)
            if span is not None:
                out.append(Cue(span[0] / fps, span[1] / fps, cards.text(which)))
    return sorted(out, key=lambda cue: (cue.start, cue.end))


def _clock(seconds: float, separator: str) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def _clean(text: str) -> str:
    """A cue's text with no blank line (which would end the cue) and no ``-->``."""
    lines = [line.replace("-->", "->") for line in text.split("\n") if line.strip()]
    return "\n".join(lines) or "-"


def webvtt(items: list[Cue]) -> str:
    """The cues as a WebVTT file (``WEBVTT``, then numbered cues ``00:00:01.500 --> ...``)."""
    blocks = ["WEBVTT"]
    for i, cue in enumerate(items, 1):
        text = _clean(cue.text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{i}\n{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}\n{text}")
    return "\n\n".join(blocks) + "\n"


def srt(items: list[Cue]) -> str:
    """The cues as a SubRip file (numbered cues ``00:00:01,500 --> ...``)."""
    blocks = [f"{i}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n{_clean(cue.text)}"
              for i, cue in enumerate(items, 1)]
    return "\n\n".join(blocks) + "\n"
