"""Render a scene's continuous deformation to a movie file."""

from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
from tqdm import tqdm

from layerlapse._files import check_folder_writable
from layerlapse.draw.camera import CameraPath
from layerlapse.draw.style import QUALITIES, Style
from layerlapse.draw.words import Cards
from layerlapse.errors import LayerlapseError, range_error
from layerlapse.networks.deformation import FrameSource
from layerlapse.render.encoder import (
    EVEN_SIZE_FORMATS,
    FOLDER,
    FrameWriter,
    check_frame_folder,
    output_kind,
)
from layerlapse.render.sight import Visibility
from layerlapse.scenes.base import Scene

MAX_SIDE = 8192
#: ``quality="l"``, ``"m"``, ``"h"`` (``-q l``, as manim's -ql/-qm/-qh)
QUALITY_LETTERS = {"l": "low", "m": "medium", "h": "high"}


@dataclass(frozen=True)
class RenderSettings:
    """Size, frame rate and anti-aliasing after presets and overrides are resolved."""

    size: tuple[int, int]
    fps: float
    anti_aliasing: str

    def for_view(self, *, planar: bool) -> RenderSettings:
        """``auto`` anti-aliasing resolved: supersample for 3-D views, none for flat 2-D ones
        (whose lines are cheap to draw but whose movies must stay quick; see Quality)."""
        if self.anti_aliasing != "auto":
            return self
        return replace(self, anti_aliasing="none" if planar else "supersample")

    @property
    def render_size(self) -> tuple[int, int]:
        """The size frames are rendered at: larger than ``size`` for ``supersample``, whose
        frames the encoder scales down (area average) to ``size``."""
        if self.anti_aliasing != "supersample":
            return self.size
        return (int(round(self.size[0] * SUPERSAMPLE)), int(round(self.size[1] * SUPERSAMPLE)))


#: the render scale of ``supersample`` anti-aliasing (2.25 samples a pixel); see Quality
SUPERSAMPLE = 1.5


#: what the odd-size notice calls each even-sided format's codec
CODEC_NAMES = {".mp4": "H.264", ".webm": "VP9"}
GIF_MAX_WIDTH = 640
GIF_MAX_FPS = 12.0
GIF_WARN_BYTES = 30e6


def pixel_size(size: object) -> tuple[int, int]:
    """``(width, height)`` from a pair of integers or a ``'WIDTHxHEIGHT'`` string (``'1280x720'``)."""
    if isinstance(size, str):
        m = re.fullmatch(r"\s*(-?\d+)\s*[xX]\s*(-?\d+)\s*", size)
        if not m:
            raise LayerlapseError(f"size: {size!r} is not WIDTHxHEIGHT (e.g. 1280x720)")
        return int(m.group(1)), int(m.group(2))
    try:
        w, h = cast(tuple[Any, Any], size)
        if int(w) != w or int(h) != h:
            raise ValueError
        return int(w), int(h)
    except (TypeError, ValueError):
        raise LayerlapseError(f"size: {size!r} is not (width, height) in pixels or 'WIDTHxHEIGHT'") from None


def resolve_settings(
    quality: str = "medium",
    size: tuple[int, int] | str | None = None,
    fps: float | None = None,
    *,
    kind: str = ".mp4",
    style: Style | None = None,
) -> RenderSettings:
    """Apply ``size``/``fps`` overrides to a quality preset and check them.

    ``kind`` is the output format (see :func:`~layerlapse.render.encoder.output_kind`):
    MP4 and WebM round odd sides down to even, with a warning; GIF defaults to at most
    640 pixels wide and 12 fps unless size or fps are given.
    """
    quality = QUALITY_LETTERS.get(quality, quality)
    if quality not in QUALITIES:
        raise LayerlapseError(f"quality: unknown value {quality!r}; allowed: {', '.join(QUALITIES)} (or l, m, h)")
    preset = QUALITIES[quality]
    w, h = pixel_size(size) if size is not None else preset.size
    if kind == ".gif" and size is None and w > GIF_MAX_WIDTH:
        w, h = GIF_MAX_WIDTH, int(round(h * GIF_MAX_WIDTH / w))
    if kind == ".gif" and fps is None:
        fps = min(preset.fps, GIF_MAX_FPS)
    even = kind in EVEN_SIZE_FORMATS
    if w <= 0 or h <= 0:
        raise LayerlapseError(f"size: {w}x{h} is not positive; give WIDTHxHEIGHT with both sides >= 2")
    if w > MAX_SIDE or h > MAX_SIDE:
        raise LayerlapseError(f"size: {w}x{h} is larger than the renderer allows ({MAX_SIDE} per side)")
    if even and (w % 2 or h % 2):
        ew, eh = max(2, w - w % 2), max(2, h - h % 2)
        codec = CODEC_NAMES[kind]
        warnings.warn(f"size: {w}x{h} rounded to {ew}x{eh} ({codec} with yuv420p needs even sides)", stacklevel=2)
        w, h = ew, eh
    fps = preset.fps if fps is None else fps
    if not (0 < fps <= 240):
        raise range_error("fps", fps, "0 < fps <= 240")
    aa = style.anti_aliasing if style is not None and style.anti_aliasing is not None else preset.anti_aliasing
    return RenderSettings((int(w), int(h)), float(fps), aa)


#: seconds a frame costs on the 2-core development machine (Mesa llvmpipe, no GPU): a fixed
#: part, and a part per million rendered pixels (SSAA renders several passes). Measured with
#: linked-tori and two-curves at every quality; an estimate to warn with, not a promise.
FRAME_SECONDS = 0.004
SECONDS_PER_MEGAPIXEL = {"ssaa": 0.11}
SECONDS_PER_MEGAPIXEL_DEFAULT = 0.011
#: and the positions' part: seconds per (vertex x width^2) of every hidden layer, measured
#: with linked-tori at --hidden 256,256 (0.21 s a frame more than at its own width 3)
SECONDS_PER_WORK = 1.2e-10


def estimate_seconds(n_frames: int, settings: RenderSettings, *, planar: bool = False, work: float = 0.0) -> float:
    """About how long rendering ``n_frames`` takes on a 2-core machine without a GPU;
    ``work``: vertices x the sum of the hidden layers' squared widths."""
    settings = settings.for_view(planar=planar)
    megapixels = settings.render_size[0] * settings.render_size[1] / 1e6
    rate = SECONDS_PER_MEGAPIXEL.get(settings.anti_aliasing, SECONDS_PER_MEGAPIXEL_DEFAULT)
    return n_frames * (FRAME_SECONDS + megapixels * rate + work * SECONDS_PER_WORK)


def check_movie_length(n_frames: int, settings: RenderSettings, *, planar: bool = False, work: float = 0.0) -> None:
    """Refuse a movie longer than :data:`~layerlapse.limits.MAX_FRAMES`; warn (no question
    asked) with the estimate when it would render for more than a few minutes."""
    from layerlapse.limits import MAX_FRAMES, WARN_SECONDS

    minutes = n_frames / settings.fps / 60
    if n_frames > MAX_FRAMES:
        raise LayerlapseError(
            f"frames: {n_frames:,} frames ({minutes:.0f} min at {settings.fps:g} fps) is more than one movie "
            f"may have ({MAX_FRAMES:,}); lower --seconds-per-stage, --fps or --seconds"
        )
    seconds = estimate_seconds(n_frames, settings, planar=planar, work=work)
    if seconds > WARN_SECONDS:
        w, h = settings.size
        warnings.warn(f"render: {n_frames:,} frames at {w}x{h} will take about {_duration(seconds)} on a 2-core "
                      "machine without a GPU; lower --quality, --size or --seconds-per-stage for a quicker one",
                      stacklevel=2)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def movie_camera(scene: Scene, deformation: FrameSource, settings: RenderSettings, *, style: Style) -> CameraPath:
    """The camera of every frame of the movie (whole-movie framing: made once, and handed to
    each worker of a split render so that every range is seen as in the whole movie)."""
    settings = settings.for_view(planar=deformation.planar)
    return CameraPath.for_movie(deformation, fps=settings.fps, style=style, aspect=settings.size[0] / settings.size[1],
                                subset=scene.framed_points())


def render_frames(
    scene: Scene,
    deformation: FrameSource,
    settings: RenderSettings,
    *,
    style: Style,
    title: str = "",
    accuracy: float | None = None,
    progress: bool = True,
    batch: int = 8,
    cards: Cards | None = None,
    captions: str = "burn",
    frames: range | None = None,
    camera: CameraPath | None = None,
    seen: Visibility | None = None,
    reuse: bool = True,
):
    """Yield every frame of the timeline (or of ``frames``, a range of it) as (H, W, 3) uint8
    at ``settings.render_size``, rendered in one Plotter; ``cards`` stand where the timeline
    has them, ``captions`` ``burn`` draws each stage's caption on the frames.

    A range's frames are those of the whole movie: its positions are computed in the whole
    movie's batches (a range starting on a multiple of ``batch`` has the same ones), and what
    the view keeps from earlier frames (the verdict lens, chosen at the verdict's first frame)
    is primed. ``camera``: :func:`movie_camera`, if made already. ``seen``: record which frames
    lose a class from sight there (the caller warns); None: warn here, once the frames end.

    A frame drawn from the same inputs as the one before
    (:meth:`~layerlapse.render.view.SceneView.frame_key`: holds, cards) is not rendered again:
    the same pixels are yielded (the same array; do not write into it), unless ``reuse`` is
    False. A range's first frame is always rendered."""
    from layerlapse.render.view import SceneView  # VTK loads here: the size checks above stay light

    settings = settings.for_view(planar=deformation.planar)
    frames = range(deformation.n_frames) if frames is None else frames
    if camera is None:
        camera = movie_camera(scene, deformation, settings, style=style)
    view = SceneView(scene, deformation, camera, style=style, size=settings.render_size,
                     anti_aliasing=settings.anti_aliasing, title=title, accuracy=accuracy, cards=cards,
                     captions=captions)
    bar = tqdm(total=len(frames), unit="frame", desc="render", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    warn = seen is None
    seen = Visibility(scene.class_names) if seen is None else seen
    shown: tuple | None = None  # the key of the last frame rendered, and its pixels
    pixels = np.zeros(0, np.uint8)
    try:
        _prime(view, deformation, frames.start)
        for idx, positions in deformation.iter_display(batch, frames):
            view.heat_batch(idx)
            for frame, pos in zip(idx, positions):
                # a hold or a card: the same inputs as the frame before give the same pixels
                key = view.frame_key(int(frame), pos) if reuse else None
                if key is None or key != shown:
                    view.show_frame(int(frame), pos)
                    pixels, shown = view.grab(), key
                seen.record(int(frame), view.visible_pixels)
                yield pixels
                bar.update(1)
    finally:
        bar.close()
        view.close()
    if warn:
        seen.warn(fps=settings.fps)


def _prime(view: Any, deformation: FrameSource, start: int) -> None:
    """Before a range that starts at ``start`` inside the verdict card, show the verdict's
    first frame (not grabbed): the lens on the errors is chosen there and kept to the end."""
    span = getattr(deformation.timeline, "card_span", lambda _: None)("verdict")
    if span is not None and span[0] < start:
        view.show_frame(span[0], deformation.display(np.array([span[0]]))[0])


def write_movie(
    path: str | Path,
    scene: Scene,
    deformation: FrameSource,
    settings: RenderSettings,
    *,
    style: Style,
    title: str = "",
    accuracy: float | None = None,
    progress: bool = True,
    cards: Cards | None = None,
    captions: str = "burn",
) -> Path:
    """Render every frame into ``path`` (written to a temporary name, renamed when complete);
    ``cards`` and ``captions`` as :func:`render_frames` has them.

    The extension picks the format: ``.mp4`` (H.264), ``.webm`` (VP9), ``.gif``
    (palette-optimised), none: a folder of PNG frames. An MP4 or WebM longer than a piece
    (about 4 s) is encoded piece by piece and joined (:mod:`~layerlapse.render.pieces`).
    """
    from layerlapse.render.pieces import MovieWriter, is_cut

    path = Path(path)
    kind = check_movie_target(path, deformation.n_frames, settings)
    settings = settings.for_view(planar=deformation.planar)
    writer: FrameWriter | MovieWriter
    if kind != FOLDER and is_cut(kind, deformation.n_frames, settings.fps):
        writer = MovieWriter(path, settings.size, settings.fps, input_size=settings.render_size,
                             n_frames=deformation.n_frames)
    else:
        writer = FrameWriter(path, settings.size, settings.fps, input_size=settings.render_size)
    with writer:
        for frame in render_frames(scene, deformation, settings, style=style, title=title, accuracy=accuracy,
                                   progress=progress, cards=cards, captions=captions):
            writer.write(frame)
    return path


def check_movie_target(path: Path, n_frames: int, settings: RenderSettings) -> str:
    """The target's kind (see :func:`~layerlapse.render.encoder.output_kind`), once its folder
    is writable; a PNG folder must hold only earlier frames; a large GIF is warned about."""
    kind = output_kind(path)
    check_folder_writable(path)
    if kind == FOLDER:
        check_frame_folder(path)
    if kind == ".gif":
        estimate = n_frames * settings.size[0] * settings.size[1] * 0.12
        if estimate > GIF_WARN_BYTES:
            warnings.warn(
                f"out: this GIF will be about {estimate / 1e6:.0f} MB ({n_frames} frames at "
                f"{settings.size[0]}x{settings.size[1]}); use .mp4 or .webm, or a smaller --size/--fps",
                stacklevel=3,
            )
    return kind
