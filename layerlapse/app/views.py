"""``show``, ``web`` and ``notebook``: the deformation to play with, in a window, an offline
web page, or inline in Jupyter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from layerlapse._files import check_output, output_path
from layerlapse.app import network as source
from layerlapse.app.request import NetworkOptions, Prepared, Request, SceneLike, Unpack, as_preset
from layerlapse.errors import LayerlapseError, choice_error
from layerlapse.networks.train import Network

if TYPE_CHECKING:
    from layerlapse.draw.style import Style


def show(
    scene: SceneLike,
    *,
    size: tuple[int, int] | str | None = None,
    style: Style | None = None,
    block: bool = True,
    **options: Unpack[NetworkOptions],
) -> Any:
    """Open an interactive window: a time slider, Space to play, Left/Right to step stages.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    size
        Window size in pixels (default 1280x800).
    style
        A Style; default: the scene file's, else the default.
    block
        Wait until the window is closed.
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    Viewer
        The :class:`~layerlapse.render.window.Viewer` (after the window closes when ``block``).
    """
    from layerlapse.render.movie import pixel_size
    from layerlapse.render.window import Viewer, check_display

    check_display()  # before any training
    req = Request.of(scene, style, options)
    req.check_look()
    prepared = req.prepare()
    viewer = Viewer(req.preset.scene, prepared.deform(fps=60.0), style=req.style,
                    size=pixel_size(size) if size else (1280, 800), accuracy=prepared.accuracy,
                    title=prepared.title)
    viewer.show(block=block)
    return viewer



@dataclass(frozen=True)
class WebResult:
    """What :func:`web` made: the page, its size in bytes, its keyframes (timeline frames)
    and their measured interpolation error (a fraction of the scene's extent)."""

    path: Path
    network: Network
    size: int
    keyframes: np.ndarray
    error: float
    notes: tuple[str, ...] = ()



def _keyframe_count(keyframes: int | None) -> int:
    """The most keyframe intervals per stage: ``keyframes``, checked, or the default."""
    from layerlapse.web.data import DEFAULT_KEYFRAMES

    count = DEFAULT_KEYFRAMES if keyframes is None else keyframes
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 256:
        raise LayerlapseError(f"keyframes: {keyframes!r} is out of range; allowed: a whole number from 1 to 256 "
                              "(the most keyframe intervals per stage)")
    return count


def web_page(scene: SceneLike, *, seconds_per_stage: float | None = None, style: Style | None = None,
             keyframes: int | None = None, **options: Unpack[NetworkOptions]) -> tuple[Any, Prepared]:
    """The page of :func:`web`, built in memory: -> (:class:`~layerlapse.web.page.Page`, Prepared)."""
    from layerlapse.web.page import build_page

    count = _keyframe_count(keyframes)
    req = Request.of(scene, style, options)
    timeline = req.timeline(seconds_per_stage)
    req.check_frame_cap(timeline, 30.0, field="seconds_per_stage", lower="--seconds-per-stage")
    prepared = req.prepare()
    from layerlapse.app.movie import cards_for
    from layerlapse.draw.words import card_timeline

    cards = cards_for(prepared)
    deformation = prepared.deform(fps=30.0, timeline=card_timeline(timeline, cards))
    title = prepared.title if req.preset.class_names else req.name
    page = build_page(req.preset.scene, deformation, style=req.style, title=title,
                      accuracy=prepared.accuracy, keyframes=count, cards=cards)
    return page, prepared



def web(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    seconds_per_stage: float | None = None,
    style: Style | None = None,
    keyframes: int | None = None,
    **options: Unpack[NetworkOptions],
) -> WebResult:
    """One self-contained HTML page that plays the deformation in any browser, offline.

    The page carries three.js, keyframes of every part's positions and a player (orbit
    and zoom with the mouse, a time slider, Space to play, Left/Right to step stages,
    toggles for the grid, the classes and the boundary); it opens from ``file://`` with
    the network off. ``page.html#t=0.5`` opens halfway (``#t=3.2s``: at 3.2 s).

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        An ``.html`` file; default ``outputs/<scene>/<scene>.html``.
    seconds_per_stage
        Seconds for each stage of each layer.
    style
        A Style (background, class colours, ``color_by="stretch"``); default: the scene
        file's, else the default.
    keyframes
        The most keyframe intervals per stage (default 24; each stage gets the fewest that
        keep interpolation within 0.4% of the scene's extent): fewer make a smaller page.
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    WebResult

    Examples
    --------
    >>> ll.web("linked-tori")                 # outputs/linked-tori/linked-tori.html
    """
    from layerlapse._files import atomic_output

    _keyframe_count(keyframes)  # before the scene is read
    preset = as_preset(scene)
    path = output_path(out) if out is not None else source.OUTPUTS / preset.name / f"{preset.name}.html"
    if path.suffix.lower() not in (".html", ".htm"):
        raise LayerlapseError(f"out: {path.name!r} is not an .html file; the page is one HTML file")
    check_output(path)
    page, prepared = web_page(scene, seconds_per_stage=seconds_per_stage, style=style, keyframes=keyframes, **options)
    with atomic_output(path) as tmp:
        tmp.write_text(page.html, encoding="utf-8")
    return WebResult(path, prepared.network, page.size, page.keyframes.frames, page.keyframes.error, prepared.notes)



def notebook(
    scene: SceneLike,
    *,
    backend: str = "auto",
    frames: int = 48,
    size: tuple[int, int] = (640, 400),
    style: Style | None = None,
    **options: Unpack[NetworkOptions],
) -> Any:
    """Show a scene inline in Jupyter with a time slider.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    backend
        ``auto`` or ``trame``: a live view when PyVista's trame backend is installed;
        ``web`` (or ``auto`` without trame): the page of :func:`web`, inline (an iframe);
        ``static``: ``frames`` pre-rendered frames under a slider.
    frames, size
        The static slider's frame count and size (``web``: the inline page's size).
    style
        A Style; default: the scene file's, else the default.
    **options
        Where the network comes from: see :class:`NetworkOptions` (progress defaults to off).

    Returns
    -------
    object
        Something Jupyter displays.
    """
    from layerlapse.render.notebook import BACKENDS, InlinePage, frame_slider, live_view, trame_available

    if backend not in BACKENDS:
        raise choice_error("backend", backend, BACKENDS)
    if backend == "trame" and not trame_available():
        raise LayerlapseError("backend: 'trame' needs PyVista's trame backend: pip install 'pyvista[jupyter]'")
    options.setdefault("progress", False)
    req = Request.of(scene, style, options)
    live = backend == "trame" or (backend == "auto" and trame_available())
    if backend == "web" or (backend == "auto" and not live):
        page, _ = web_page(scene if isinstance(scene, Prepared) else req.preset, style=req.style, **options)
        return InlinePage(page.html, height=size[1] + 60)
    prepared = req.prepare()
    deformation = prepared.deform(fps=30.0 if live else 15.0)
    accuracy = prepared.accuracy
    if live:
        return live_view(req.preset.scene, deformation, size=size, style=req.style, accuracy=accuracy)
    return frame_slider(req.preset.scene, deformation, frames=frames, size=size, style=req.style, accuracy=accuracy)



def inline_movie(path: str | Path) -> Any:
    """A rendered movie (MP4, WebM or GIF) that a notebook displays inline."""
    from layerlapse.render.notebook import InlineMovie

    return InlineMovie(path)
