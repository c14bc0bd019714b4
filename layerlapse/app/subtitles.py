"""``--captions file``: the stage captions and the cards as WebVTT and SubRip files beside
the movie, timed to its timeline (written like every output: to a temporary name, renamed
when complete)."""

from __future__ import annotations

from pathlib import Path

from layerlapse._files import atomic_output, check_output
from layerlapse.draw.words import Cards, cues, srt, webvtt
from layerlapse.networks.timeline import Timeline

SUFFIXES = (".vtt", ".srt")


def subtitle_paths(movie: Path) -> tuple[Path, Path]:
    """``movie.vtt`` and ``movie.srt`` beside ``movie`` (a file, or a folder of frames)."""
    return movie.with_suffix(".vtt"), movie.with_suffix(".srt")


def check_subtitles(movie: Path) -> None:
    """Before any work: both subtitle files can be written beside ``movie``."""
    for path in subtitle_paths(movie):
        check_output(path, "captions")


def write_subtitles(movie: Path, timeline: Timeline, cards: Cards | None, result: str = "") -> tuple[Path, Path]:
    """Write the cues of ``timeline`` (one per stage, ``result`` after the output's) and of
    ``cards`` beside ``movie``; -> (the .vtt, the .srt)."""
    items = cues(timeline, cards, result)
    vtt, sub = subtitle_paths(movie)
    for path, text in ((vtt, webvtt(items)), (sub, srt(items))):
        with atomic_output(path, "captions") as tmp:
            tmp.write_text(text, encoding="utf-8")
    return vtt, sub
