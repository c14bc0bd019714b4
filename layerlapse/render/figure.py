"""Publication stills: one moment of the timeline, or a contact sheet of several.

PNGs are rendered ``supersample`` times larger and averaged down (SSAA), optionally
with a transparent background; PDF/SVG/EPS (single frames) are the same view as one image
with its labels as text in an embedded font (:mod:`layerlapse.render.vector`; VTK's
OpenGL2 backend has no vector path for 3D geometry, and a warning says so).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from layerlapse._files import atomic_output, check_output
from layerlapse.draw.camera import CameraPath
from layerlapse.draw.colour import rgba
from layerlapse.draw.edge import head_normal
from layerlapse.draw.room import with_room
from layerlapse.draw.source import activation_box
from layerlapse.draw.style import Style
from layerlapse.draw.words import Cards
from layerlapse.errors import LayerlapseError, range_error
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.timeline import Timeline
from layerlapse.render.sight import Visibility
from layerlapse.render.vector import Label, labels, save_vector
from layerlapse.render.view import SceneView
from layerlapse.scenes.base import Scene

RASTER_FORMATS = (".png",)
VECTOR_FORMATS = (".pdf", ".svg", ".eps")
FIGURE_FORMATS = RASTER_FORMATS + VECTOR_FORMATS
#: the software renderer's largest framebuffer side (llvmpipe: 16384)
MAX_RENDER_SIDE = 16384


@dataclass(frozen=True)
class Moment:
    """A point of the timeline: animated stage index (-1: input), local time t, and its label."""

    stage: int
    t: float
    name: str
    label: str
    card: str | None = None  #: the card standing over the moment: ``title``, ``verdict`` or None


def parse_at(spec: str, timeline: Timeline) -> Moment:
    """``'layer2.tanh:0.5'``, ``'layer2.tanh'`` (its end), ``'input'``, ``'output'``, or a time
    ``'3.2s'`` / ``'3.2'`` in seconds of the movie timeline."""
    tl = timeline
    names = tl.stage_names
    spec = spec.strip()
    seconds = _seconds(spec)
    if seconds is not None:
        _check_seconds(spec, seconds, tl.duration)
        frame = min(int(round(seconds * tl.fps)), tl.n_frames - 1)
        name = names[tl.name[frame]]
        return Moment(int(tl.stage[frame]), float(tl.t[frame]), name, tl.caption(frame), tl.card_at(frame))
    name, _, frac = spec.partition(":")
    if name not in names:
        raise LayerlapseError(f"at: unknown stage {name!r}; stages: {', '.join(names)} (optionally :FRACTION, or a time like 3.2s)")
    try:
        t = 1.0 if not frac else float(frac)
    except ValueError:
        raise LayerlapseError(f"at: fraction {frac!r} is not a number in [0, 1]") from None
    if not 0.0 <= t <= 1.0:
        what = "is not a number" if math.isnan(t) else "is outside [0, 1]"
        raise LayerlapseError(f"at: fraction {frac!r} {what}; allowed: 0 to 1 ({name}:0.5 is halfway)")
    index = names.index(name)
    caption = tl.captions[index] if tl.captions else tl.stage_labels[index]  # the movie's words for it
    if name == "input":
        return Moment(-1, 0.0, name, caption)
    if name == "output":
        return Moment(len(names) - 3, 1.0, name, caption)
    label = caption + ("" if t == 1.0 else f" \u00b7 t = {t:.2f}")
    return Moment(index - 1, t, name, label)


#: the largest DPI a figure may record: a PNG stores pixels per metre in 32 bits (1.09e8 dpi
#: at most: beyond, writing it fails after the render), and no printer or scanner comes within
#: a thousandth of that; 100,000 leaves room for any of them
MAX_DPI = 100_000


def _check_dpi(dpi: float) -> None:
    """Refuse a DPI a PNG cannot record (or NaN), before anything is drawn."""
    if not 0 < dpi <= MAX_DPI:
        raise range_error("dpi", float(dpi), f"0 < dpi <= {MAX_DPI:,}")


#: a time on the command line: ``3.2s``, ``3.2``, ``1e9s``, ``-1s``, ``nan s`` (stage names never parse)
_TIME = re.compile(r"([+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?|[+-]?(nan|inf|infinity))\s*s?", re.IGNORECASE)


def _seconds(spec: str) -> float | None:
    """The seconds ``spec`` names, or None when it names a stage."""
    return float(spec.rstrip("sS").strip()) if _TIME.fullmatch(spec) else None


def _check_seconds(spec: str, seconds: float, duration: float) -> None:
    """Refuse a time outside the timeline, saying how long it is."""
    length = f"{duration:.1f}" if abs(duration - round(duration, 1)) < 1e-9 else f"{duration:.2f}"
    if math.isnan(seconds):
        raise LayerlapseError(f"at: {spec!r} is not a number; allowed: a time from 0 to {length} s, or a stage")
    if seconds < 0:
        raise LayerlapseError(f"at: {spec!r} is before the start of the {length} s timeline; allowed: 0 to {length} s")
    if seconds > duration:
        raise LayerlapseError(f"at: {spec!r} is past the end of the {length} s timeline; allowed: 0 to {length} s")


@dataclass(frozen=True)
class FigureSize:
    """A figure's pixel size, from pixels or from inches at a DPI."""

    width: int
    height: int
    dpi: float = 100.0

    def __post_init__(self) -> None:
        _check_dpi(self.dpi)

    @classmethod
    def inches(cls, width: float, height: float, dpi: float = 300.0) -> FigureSize:
        _check_dpi(dpi)
        if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
            raise LayerlapseError(f"size: {width}x{height} in at {dpi} dpi is not positive")
        return cls(int(round(width * dpi)), int(round(height * dpi)), dpi)

    def check(self, supersample: int, *, columns: int = 1, rows: int = 1) -> None:
        if self.width <= 0 or self.height <= 0:
            raise LayerlapseError(f"size: {self.width}x{self.height} is not positive")
        if not 1 <= supersample <= 8:
            raise LayerlapseError(f"supersample: {supersample} is out of range; allowed: 1 to 8")
        side = max(self.width, self.height) * supersample
        if side > MAX_RENDER_SIDE:
            raise LayerlapseError(
                f"size: {self.width}x{self.height} at supersample {supersample} needs a {side}-pixel "
                f"render, larger than the renderer allows ({MAX_RENDER_SIDE}); lower --size or --supersample"
            )
        if self.width * columns * self.height * rows > 400e6:
            raise LayerlapseError(f"size: a {columns}x{rows} sheet of {self.width}x{self.height} panels is too large")


def figure_kind(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in FIGURE_FORMATS:
        raise LayerlapseError(f"out: unknown figure format {ext or '(none)'!r} of {path.name!r}; allowed: {', '.join(FIGURE_FORMATS)}")
    return ext


def _downsample(img: np.ndarray, k: int) -> np.ndarray:
    """Average k x k blocks (premultiplied by alpha when there is one); (kH, kW, C) -> (H, W, C)."""
    if k == 1:
        return img
    h, w = img.shape[0] // k, img.shape[1] // k
    x = img[: h * k, : w * k].astype(np.float32).reshape(h, k, w, k, -1)
    if img.shape[2] == 4:
        a = x[..., 3:4] / 255.0
        rgb = (x[..., :3] * a).mean((1, 3))
        alpha = a.mean((1, 3))
        out = np.concatenate([rgb / np.maximum(alpha, 1e-6), alpha * 255.0], -1)
    else:
        out = x.mean((1, 3))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class StillRenderer:
    """One offscreen view reused for every panel of a figure."""

    def __init__(self, scene: Scene, deformation: Deformation, *, style: Style, size: FigureSize,
                 supersample: int, accuracy: float | None, title: str = "", cards: Cards | None = None) -> None:
        self.deformation, self.style, self.k = deformation, style, supersample
        self.planar = deformation.planar
        self.framed = scene.framed_points()
        first = CameraPath.still(deformation.display_at(-1, 0.0)[self.framed], style=style, planar=self.planar,
                                 aspect=size.width / size.height)
        self.px = (size.width * supersample, size.height * supersample)
        self.view = SceneView(scene, deformation, first, style=style, size=self.px, title=title, accuracy=accuracy,
                              cards=cards)
        self.accuracy = accuracy
        self.seen = Visibility(scene.class_names)  # warned about in close()

    def pose(self, moment: Moment) -> None:
        d = self.deformation
        positions = d.display_at(moment.stage, moment.t)
        output = moment.name == "output"
        normal = head_normal(d.display_head(d.n_frames - 1)) if output and not self.planar else None
        camera = CameraPath.still(positions[self.framed], style=self.style, planar=self.planar,
                                  aspect=self.px[0] / self.px[1], normal=normal)
        label = moment.label  # "layer 2 of 4 · tanh (squash into (-1, 1)^2): x -> ... · t = 0.50"
        box = activation_box(d, moment.stage, moment.t, output=output)
        if output:
            label += self.view.result_text()
        projection = None
        if box is not None and d.dim > 3:
            hits = np.flatnonzero(d.timeline.stage == moment.stage)
            projection = d.projection(hits[-1:] if hits.size else np.array([0]))[0]
        self.view.set_state(positions, label=label, tube_radius=self.style.tube_radius * float(camera.radius[0]),
                            boundary=1.0 if output else 0.0, head=d.display_head(d.n_frames - 1),
                            box=box, projection=projection)
        self.view.update_heat(stage=moment.stage, t=moment.t)
        if self.view.hud is not None:  # the timeline frame nearest the moment
            tl = d.timeline
            hits = np.flatnonzero(tl.stage == moment.stage)
            frame = int(hits[np.argmin(np.abs(tl.t[hits] - moment.t))]) if hits.size else 0
            self.view.update_hud(frame)
        if self.view.pulled_back is not None:
            self.view.pulled_back.show_at(moment.stage, moment.t)
        if moment.card in self.view.words.tops:  # the data below the card's panel, as in the movie
            camera = with_room(camera, np.array([[self.view.words.tops[moment.card], 1.0]]))
        camera.apply(self.view.plotter.camera, 0)
        self.view.update_cutaways(positions)
        self.view.update_inset(positions)
        self.view.show_card(moment.card)
        self.seen.record(self.seen.frames, self.view.visible_pixels)

    def image(self, *, transparent: bool) -> np.ndarray:
        self.view.plotter.render()  # screenshot() only reads the buffer back
        img = self.view.plotter.screenshot(transparent_background=transparent, return_img=True)
        return _downsample(np.asarray(img), self.k)

    def unlabelled_image(self) -> tuple[np.ndarray, list[Label]]:
        """The view without its text, and the text actors taken out (for a vector figure to
        write as text)."""
        self.view.plotter.render()  # lays the labels out, so their boxes are known
        texts = labels(self.view.plotter.render_window)
        for label in texts:
            label.actor.SetVisibility(False)
        try:
            return self.image(transparent=False), texts
        finally:
            for label in texts:
                label.actor.SetVisibility(True)

    def close(self, *, warn: bool = True) -> None:
        self.view.close()
        if warn:
            self.seen.warn(what="panels")


def _save_png(path: Path, img: np.ndarray, dpi: float) -> Path:
    with atomic_output(path) as tmp:
        iio.imwrite(tmp, img, extension=".png", dpi=(dpi, dpi))
    return path


def save_figure(
    path: str | Path,
    scene: Scene,
    deformation: Deformation,
    *,
    at: str = "output",
    size: FigureSize = FigureSize(1600, 1200),
    supersample: int = 2,
    transparent: bool = False,
    style: Style = Style(),
    accuracy: float | None = None,
    title: str = "",
    cards: Cards | None = None,
) -> Path:
    """One moment ``at`` of the timeline as PNG (SSAA, optional transparency) or PDF/SVG/EPS;
    ``cards`` stand over a time ``at`` inside a card's frames, as in the movie."""
    path = Path(path)
    kind = figure_kind(path)
    vector = kind in VECTOR_FORMATS
    moment = parse_at(at, deformation.timeline)
    ss = 1 if vector else supersample
    size.check(ss)
    check_output(path)
    still = StillRenderer(scene, deformation, style=style, size=size, supersample=ss, accuracy=accuracy, title=title,
                          cards=cards)
    try:
        still.pose(moment)
        if not vector:
            return _save_png(path, still.image(transparent=transparent), size.dpi)
        warnings.warn(
            f"out: in the {kind} the labels are vector but the 3D geometry is a raster image at "
            f"{size.width}x{size.height}: VTK's OpenGL2 backend has no vector path for 3D primitives; "
            "raise --size for a sharper image",
            stacklevel=2,
        )
        return save_vector(path, *still.unlabelled_image(), dpi=size.dpi)
    finally:
        still.close()


def default_sheet_stages(deformation: Deformation) -> list[str]:
    """The input, then the end of each layer (the last one as ``output``, with the boundary)."""
    layer_ends = deformation.timeline.layer_ends()
    return ["input", *layer_ends[:-1], "output"] if layer_ends else ["input", "output"]


def _with_cards(moments: list[Moment]) -> list[Moment]:
    """The first moment under the title card if it is the input, the last under the verdict if
    it is the output."""
    out = list(moments)
    if out and out[0].name == "input":
        out[0] = replace(out[0], card="title")
    if out and out[-1].name == "output":
        out[-1] = replace(out[-1], card="verdict")
    return out


def save_contact_sheet(
    path: str | Path,
    scene: Scene,
    deformation: Deformation,
    *,
    stages: list[str] | None = None,
    columns: int | None = None,
    panel: FigureSize = FigureSize(800, 600),
    supersample: int = 2,
    transparent: bool = False,
    style: Style = Style(),
    accuracy: float | None = None,
    cards: Cards | None = None,
) -> Path:
    """Small multiples of the chosen stages (default :func:`default_sheet_stages`), each titled,
    in one row (``columns=None``) or a grid; one style and one viewpoint, each panel framed
    to its data. ``cards``: the title card over the first panel and the verdict over the last
    when they are the input and the output, as the movie opens and ends. PNG only."""
    path = Path(path)
    if figure_kind(path) != ".png":
        raise LayerlapseError(f"out: contact sheets are written as PNG; {path.suffix} is for single frames (layerlapse figure --at)")
    moments = [parse_at(s, deformation.timeline) for s in (stages or default_sheet_stages(deformation))]
    if cards is not None:
        moments = _with_cards(moments)
    columns = len(moments) if columns is None else columns
    if not 1 <= columns <= 64:
        raise LayerlapseError(f"columns: {columns} is out of range; allowed: 1 to 64")
    rows = math.ceil(len(moments) / columns)
    panel.check(supersample, columns=columns, rows=rows)
    check_output(path)
    still = StillRenderer(scene, deformation, style=style, size=panel, supersample=supersample, accuracy=accuracy,
                          cards=cards)
    try:
        images = []
        for m in moments:
            still.pose(m)
            images.append(still.image(transparent=transparent))
    finally:
        still.close()
    channels = images[0].shape[2]
    gap = max(2, panel.width // 100)
    sheet = np.zeros((rows * panel.height + (rows - 1) * gap, columns * panel.width + (columns - 1) * gap, channels), np.uint8)
    if not transparent:
        sheet[:] = rgba(style.background)[:3][:channels]
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        y, x = r * (panel.height + gap), c * (panel.width + gap)
        sheet[y : y + img.shape[0], x : x + img.shape[1]] = img
    return _save_png(path, sheet, panel.dpi)
