"""What a frame holds, for every back-end: the drawing model.

Built once from a scene, its frame source, a style (and, for a view, its camera and first
frame), it lists the parts to draw (typed by :class:`Kind`) with the points each shows,
its colour (the exact floats or strings the back-ends are given), line width (pixels at
720p), depth offset in a flat view and whether the heat map and a k-NN vote colour it;
and the overlays (reference axes and box, decision, misclassified markers) with theirs;
with three classes or more the decision is the head's argmax (:mod:`layerlapse.draw.argmax`).
The VTK view (:mod:`layerlapse.render.view`) and the web page (:mod:`layerlapse.web.page`)
both draw from it, so a rule (a width, a colour mix, which grid lines) lives here once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from layerlapse.draw.argmax import Halos, Regions, halos, regions
from layerlapse.draw.camera import FIT, CameraPath
from layerlapse.draw.colour import ColourLike, float_rgb, mix
from layerlapse.draw.geometry import boundary_edges
from layerlapse.draw.source import layers_of
from layerlapse.draw.style import Style
from layerlapse.networks.deformation import FrameSource
from layerlapse.scenes.base import Scene

#: line widths at 720p, in pixels
CURVE_WIDTH = 4.0
BORDER_WIDTH = 2.5
OUTLINE_WIDTH = 3.5  # a class squashed to a sliver is this line: wide enough to keep an area
#: a class's line (curve, border, outline) is never thinner than this many pixels, at any size:
#: scaled from 720p, a 2.5 px outline was 1.7 px at 480p, a hairline lost under chroma subsampling
MIN_LINE_PIXELS = 3.0
DECISION_WIDTH = 2.5
AXES_WIDTH = 1.2
TICK_FONT = 19.5  # the ticks' numbers, points at 720p: 13 at 480p, digits 10 px tall
MARKER_SIZE = 6.0  # radius of a ring in flat views, diameter of a dot in 3-D
#: the smallest a marker may get (pixels): a ring or dot smaller than this is lost at 480p
MIN_MARKER = 4.5
#: a cloud's point: its diameter in pixels at 720p, and the least it gets at any size (a
#: 3-pixel dot at 480p still shows its class's hue; smaller ones turn grey under chroma subsampling)
POINT_SIZE, MIN_POINT_PIXELS = 6.0, 4.0
#: up to this many cloud points in a scene are round (lit spheres in 3-D, disks in a flat view);
#: more are square dots of the same size: on llvmpipe at 720p, 50,000 lit spheres cost 3x a
#: frame's squares (``benchmarks/cloud_points_cost.py``), and in a cloud that dense a dot's shape
#: no longer shows
ROUND_POINTS = 10_000
#: grid lines coloured by a k-NN vote take this share of the class colour (the rest stays the grid's)
GRID_VOTE_SHARE = 0.8
#: how far (a share of the way to the background) the faint grid lines, the axes and the
#: decision line fade, and how dark (a share of the way to black) a tube's rim is
FAINT_GRID_FADE, AXES_FADE, DECISION_FADE, RIM_SHADE = 0.55, 0.35, 0.2, 0.55
#: the 3-D decision plane's opacity: light enough that a class behind it keeps its colour
PLANE_OPACITY = 0.2
TICK_FADE = 0.15  # the ticks' numbers: a little lighter than the text, darker than the axes


def line_pixels(width: float, scale: float) -> float:
    """A class line's width in pixels: ``width`` at 720p scaled by ``scale`` (height / 720),
    never under :data:`MIN_LINE_PIXELS`."""
    return max(width * scale, MIN_LINE_PIXELS)


def point_pixels(scale: float) -> float:
    """A cloud point's diameter in pixels for a frame ``scale`` (height / 720) times 720p's."""
    return max(POINT_SIZE * scale, MIN_POINT_PIXELS)


def curve_width(label: int) -> float:
    """A curve's line width at 720p: a class's curve, or a thinner border or guide (label < 0)."""
    return CURVE_WIDTH if label >= 0 else BORDER_WIDTH


class Kind(enum.Enum):
    """What a part is, and so how a back-end draws it."""

    SURFACE = "surface"  #: a class's triangles: lit in 3-D, flat-coloured in a flat view
    OUTLINE = "outline"  #: a surface's border, a line of fixed on-screen width
    LINE = "line"  #: a curve in a flat view, a line of fixed on-screen width
    TUBE = "tube"  #: a curve in 3-D, a lit tube with a dark rim
    GRID = "grid"  #: grid polylines, strong or faint
    POINTS = "points"  #: a cloud's points, screen-space dots of a fixed pixel size


@dataclass(frozen=True, eq=False)
class Part:
    """One part of the scene's stacked points to draw.

    ``sl``: its points among the stacked points; ``rows``: which of those it shows (the
    grid's chosen lines), None for all. ``faces`` (T, 3) of a surface, ``edges`` (E, 2) of an
    outline (both into the slice's points); ``closed`` a curve's; ``lines`` and ``per``: a
    grid part's polylines of ``per`` points each. ``width``: a line's width at 720p (None:
    not a line); ``dz``: the depth offset in a flat view; ``rim``: a tube's rim colour;
    ``size``: a point's diameter at 720p and ``round`` whether it is a disk or sphere (else a
    square: points only).
    """

    kind: Kind
    label: int
    sl: slice
    colour: ColourLike
    rows: np.ndarray | None = None
    faces: np.ndarray | None = None
    edges: np.ndarray | None = None
    closed: bool = False
    lines: int = 0
    per: int = 0
    width: float | None = None
    dz: float = 0.0
    rim: ColourLike | None = None
    size: float = 0.0
    round: bool = True

    @property
    def heated(self) -> bool:
        """Coloured by the stretch heat map: every part but the outlines, which keep a class
        cue, and the points, which have no area or length to stretch."""
        return self.kind not in (Kind.OUTLINE, Kind.POINTS)

    @property
    def backdrop(self) -> bool:
        """Drawn behind every class part whatever its depth (the grid): a grid line a hair in
        front of a squashed surface would otherwise streak across it."""
        return self.kind is Kind.GRID

    @property
    def vote_share(self) -> float:
        """How much of a k-NN vote's class colour the part takes (the grid keeps some of its own)."""
        return GRID_VOTE_SHARE if self.kind is Kind.GRID else 1.0


@dataclass(frozen=True)
class Axes:
    """Faint axes through the origin out to ``reach`` and the activation's box: ``dim`` axes
    drawn (2 or 3) in an ``ambient``-wide representation, at depth ``z`` in a flat view; with
    numbered ticks (:mod:`layerlapse.draw.ticks`) in ``label_colour``, ``font_size`` points at
    720p (0: no ticks)."""

    dim: int
    ambient: int
    reach: float
    colour: ColourLike
    box_colour: ColourLike
    width: float
    z: float
    label_colour: ColourLike = "#808080"
    font_size: float = 0.0


@dataclass(frozen=True)
class Decision:
    """A two-class head's decision: the sides in ``colours``, the boundary in ``line_colour``
    ``width`` pixels wide (at 720p); ``width_in``: the head's input width; depth ``z``.
    ``plane_colour``: the 3-D plane's tint, the same on both faces (see
    :attr:`DrawModel.decision_plane_colour`)."""

    width_in: int
    colours: tuple[ColourLike, ColourLike]
    line_colour: ColourLike
    width: float
    z: float
    plane_colour: ColourLike = "#808080"


@dataclass(frozen=True)
class Misclassified:
    """The misclassified samples at the output: ``points`` (M, 3) in display space."""

    points: np.ndarray
    colour: ColourLike
    size: float


def grid_selection(lines: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Which grid lines (L, P, n) to draw: -> (strong line indices, faint line indices).

    ``full``: every line; ``box``: the box's edges, and faintly the lines through the
    middle of its faces; ``none``: nothing.
    """
    L = len(lines)
    if mode == "full":
        return np.arange(L), np.zeros(0, np.int64)
    if mode == "none" or L == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = lines.min((0, 1)), lines.max((0, 1))
    span = np.maximum(hi - lo, 1e-12)
    fixed = lines[:, 0]
    varying = np.abs(lines[:, -1] - lines[:, 0]) > 1e-9 * span
    values = [np.unique(fixed[:, j]) for j in range(lines.shape[2])]
    mid = np.array([u[np.argmin(np.abs(u - 0.5 * (lo[j] + hi[j])))] for j, u in enumerate(values)])
    on_edge = (np.abs(fixed - lo) < 1e-9 * span) | (np.abs(fixed - hi) < 1e-9 * span)
    at_edge = on_edge | varying
    at_mid = (np.abs(fixed - mid) < 1e-9 * span) | at_edge
    edge = at_edge.all(1)
    # through the middle of the box's faces (in 2-D: the square's two middle lines)
    faint = at_mid.all(1) & ~edge & ((on_edge & ~varying).sum(1) >= lines.shape[2] - 2)
    return np.flatnonzero(edge), np.flatnonzero(faint)


class DrawModel:
    """The parts and overlays of ``scene`` moved by ``source``, drawn in ``style``.

    ``flat``: a flat (parallel, 2-D) picture: curves as lines, depth offsets between layers.
    ``camera`` and ``start`` (the first frame's positions (V, 3)) place a view's depth layers
    and axes; without them (the web page) every offset is 0 and :attr:`axes` is None.
    """

    def __init__(self, scene: Scene, source: FrameSource, style: Style, *, flat: bool,
                 camera: CameraPath | None = None, start: np.ndarray | None = None) -> None:
        self.scene, self.source, self.style, self.flat = scene, source, style, flat
        self.layers = layers_of(source)
        _, self.slices = scene.points()
        self.class_points = scene.class_points()
        self.class_sets = {label: self.class_indices(label) for label in range(len(scene.class_names))}
        # depth layers of a flat view, from the back: grid, decision regions, axes and box,
        # classes (z = 0), outlines and curves, decision line
        self.eps = 2e-3 * float(np.min(camera.radius)) if camera is not None else 0.0
        self.depth = self._class_depths(start) if flat and start is not None else {}
        self.parts = self._class_parts() + self._grid_parts()
        self.axes = self._axes(camera, start) if camera is not None and start is not None else None
        self.decision = self._decision()
        #: three classes or more: the argmax regions of a flat, faithful view, else the points' halos
        self.regions: Regions | None = regions(self) if self.decision is None else None
        self.halos: Halos | None = halos(self) if self.decision is None and self.regions is None else None
        self.misclassified = self._misclassified()

    def _dz(self, label: int, *, above: bool = False) -> float:
        """The depth offset of a class part in a flat view (0 in 3-D); lines ``above`` the fills."""
        if not self.flat:
            return 0.0
        return self.depth.get(label, 0.0) + (self.eps if above else 0.0)

    def _class_parts(self) -> list[Part]:
        style, parts = self.style, []
        slices = iter(self.slices)
        for surface in self.scene.surfaces:
            sl, colour = next(slices), style.colour(surface.label)
            faces = np.asarray(surface.faces)
            parts.append(Part(Kind.SURFACE, surface.label, sl, colour, faces=faces, dz=self._dz(surface.label)))
            edges = boundary_edges(faces)
            if len(edges):  # a border keeps a squashed surface visible: a line of fixed width
                parts.append(Part(Kind.OUTLINE, surface.label, sl, colour, edges=edges, width=OUTLINE_WIDTH,
                                  dz=self._dz(surface.label, above=True)))
        for curve in self.scene.curves:
            sl, colour = next(slices), style.colour(curve.label)
            if self.flat:
                parts.append(Part(Kind.LINE, curve.label, sl, colour, closed=curve.closed, width=curve_width(curve.label),
                                  dz=self._dz(curve.label, above=True)))
            else:
                parts.append(Part(Kind.TUBE, curve.label, sl, colour, closed=curve.closed,
                                  rim=mix(colour, "black", RIM_SHADE)))
        clouds = self.scene.clouds
        round_ = sum(len(c.points) for c in clouds) <= ROUND_POINTS
        for cloud in clouds:  # dots over the fills, as a curve's line is
            parts.append(Part(Kind.POINTS, cloud.label, next(slices), style.colour(cloud.label), size=POINT_SIZE,
                              round=round_, dz=self._dz(cloud.label, above=True)))
        return parts

    def grid_mode(self) -> str:
        """The grid rule: the style's, or for ``auto`` every line of a planar motion, the box in 3-D."""
        style = self.style
        return style.grid if style.grid != "auto" else ("full" if self.source.planar else "box")

    def _grid_parts(self) -> list[Part]:
        """The grid's strong lines, then its faint ones (each part only if it has lines)."""
        grid = self.scene.grid
        if grid is None:
            return []
        sl, style = self.slices[-1], self.style
        P = grid.lines.shape[1]
        colours: tuple[ColourLike, ColourLike] = (style.grid_color, mix(style.grid_color, style.background, FAINT_GRID_FADE))
        parts = []
        for lines, colour in zip(grid_selection(grid.lines, self.grid_mode()), colours):
            if len(lines):
                rows = (lines[:, None] * P + np.arange(P)).ravel()
                parts.append(Part(Kind.GRID, -1, sl, colour, rows=rows, lines=len(lines), per=P,
                                  width=style.grid_width, dz=-3 * self.eps if self.flat else 0.0))
        return parts

    def _axes(self, camera: CameraPath, start: np.ndarray) -> Axes | None:
        if not self.style.axes:
            return None
        planar = self.source.planar
        if planar:  # across every view of the movie
            reach = float(np.max(np.linalg.norm(camera.centre, axis=1) + 3 * FIT * camera.radius))
        else:  # in 3-D long axes are clutter: just past the data and the tanh box
            reach = 1.25 * max(1.0, float(np.abs(start[self.scene.framed_points()]).max()))
        style = self.style
        # the ambient width: a network's representation, the training clock's scene (both have ``dim``)
        return Axes(dim=2 if planar else 3, ambient=getattr(self.source, "dim", 3), reach=reach,
                    colour=self.axes_colour, box_colour=style.text_color, width=AXES_WIDTH, z=-1.5 * self.eps,
                    label_colour=mix(style.text_color, style.background, TICK_FADE), font_size=TICK_FONT)

    @property
    def axes_colour(self) -> tuple[float, float, float]:
        return mix(self.style.grid_color, self.style.background, AXES_FADE)

    @property
    def decision_line_colour(self) -> tuple[float, float, float]:
        return mix(self.style.text_color, self.style.background, DECISION_FADE)

    @property
    def decision_plane_colour(self) -> tuple[float, float, float]:
        """The 3-D decision plane's tint on both its faces: the style's ``decision_color``.
        A face per class colour showed whichever class's side the camera was on, so the
        orbiting movie ended on one colour and the still figure, the sheet and the page on
        the other; the classes on either side say which side is whose."""
        return float_rgb(self.style.decision_color)

    def _decision(self) -> Decision | None:
        """A two-class head's decision, if the scene has two classes."""
        source = self.source
        head = source.display_head(source.n_frames - 1)
        if head is None or head[0].shape[0] != 2 or len(self.scene.class_names) != 2:
            return None
        style = self.style
        return Decision(width_in=head[0].shape[1], colours=(style.colour(0), style.colour(1)),
                        line_colour=self.decision_line_colour, width=DECISION_WIDTH, z=self.eps,
                        plane_colour=self.decision_plane_colour)

    def _misclassified(self) -> Misclassified | None:
        """The samples the network gets wrong (its argmax is not their label), where they end up; None if none.
        A scene with held-out samples marks those (the accuracy it shows is theirs, and the
        training samples of the digits are all right: no mark beside "15 misclassified")."""
        scene = self.scene
        held = getattr(getattr(scene, "scene", scene), "held_out", None)  # a Preset may stand in for its scene
        samples, labels = held if held is not None else (scene.samples, scene.labels)
        if self.layers is None or len(scene.class_names) < 2 or not len(samples):
            return None
        wrong, where = self.layers.misclassified(samples, labels)
        return Misclassified(where, self.style.text_color, MARKER_SIZE) if len(wrong) else None

    def result_text(self, accuracy: float | None) -> str:
        """`` · accuracy 92.4% · 57 misclassified (dots)``, or nothing without an accuracy; a k-NN
        head says so first (`` · 8-NN vote · accuracy ...``)."""
        if accuracy is None:
            return ""
        knn = self.layers.knn_head if self.layers is not None else None
        text = (f" \u00b7 {knn.describe()}" if knn is not None else "") + f" \u00b7 accuracy {100 * accuracy:.1f}%"
        if self.misclassified is not None:
            text += f" \u00b7 {len(self.misclassified.points)} misclassified ({'rings' if self.flat else 'dots'})"
        return text

    def marker_ring(self, camera: CameraPath, size: tuple[int, int]) -> float | None:
        """A marker ring's radius in world units in a flat view (None in 3-D: dots)."""
        if not self.flat:
            return None
        scale = size[1] / 720
        return max(MARKER_SIZE * scale, MIN_MARKER) * FIT * float(camera.radius[-1]) / size[1]

    def class_indices(self, label: int) -> np.ndarray:
        """Indices into the stacked points of class ``label``'s surfaces, curves and clouds."""
        scene = self.scene
        parts = [s.label for s in scene.surfaces] + [c.label for c in scene.curves] + [c.label for c in scene.clouds]
        sets = [np.arange(sl.start, sl.stop) for sl, part in zip(self.slices, parts) if part == label]
        return np.concatenate(sets) if sets else np.zeros(0, np.int64)

    def _class_depths(self, start: np.ndarray) -> dict[int, float]:
        """Flat views: a small depth offset per class, the smallest class (by the area of its
        input bounding box) on top, so a class squashed onto another stays in sight."""
        scene = self.scene
        labels = sorted({s.label for s in scene.surfaces} | {c.label for c in scene.curves} | {c.label for c in scene.clouds})
        sizes = []
        for label in labels:
            pts = start[self.class_indices(label)]
            sizes.append(float(np.prod(np.ptp(pts[:, :2], 0) + 1e-12)) if len(pts) else 0.0)
        order = np.argsort(sizes)[::-1]  # largest first, lowest
        return {labels[i]: 0.8 * self.eps * rank / max(len(labels), 1) for rank, i in enumerate(order)}
