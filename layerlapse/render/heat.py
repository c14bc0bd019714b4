"""The stretch heat map: every drawn point coloured by how much the layers so far stretch
space there (:mod:`layerlapse.networks.stretch`), written into the meshes' existing point
arrays each frame, with a colour bar that reads in ratios.

Colours, ticks and cues: :mod:`layerlapse.draw.heat`.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy

from layerlapse.draw.colour import ColourLike, float_rgb
from layerlapse.draw.heat import RAMP_SIZE, class_ramp, ramp_index, ratio_text
from layerlapse.draw.heat import ticks as ratio_ticks
from layerlapse.render import _vtk as vtk

#: the scalar array every heat-coloured mesh carries
ARRAY = "stretch"
#: a colour bar's width and the gap between two (fractions of the viewport's width), its steps
BAR_WIDTH, BAR_GAP, BAR_STEPS = 0.012, 0.004, 64
#: the colour bars' lower right corner and height, in fractions of the viewport
BAR_CORNER, BAR_HEIGHT = (0.95, 0.5), 0.34


def lookup_table(limit: float, colour: ColourLike) -> vtk.vtkLookupTable:
    """The ramp of a class coloured ``colour`` (:func:`~layerlapse.draw.heat.class_ramp`, the
    page's table) over log ratios [-limit, limit]."""
    lut = vtk.vtkLookupTable()
    lut.SetNumberOfTableValues(RAMP_SIZE)
    lut.SetRange(-limit, limit)
    for i, rgb in enumerate(class_ramp(colour) / 255.0):
        lut.SetTableValue(i, *rgb, 1.0)
    lut.Build()
    return lut


def colours(log_ratio: np.ndarray, limit: float, colour: ColourLike) -> np.ndarray:
    """RGBA (N, 4) uint8 of log stretches (N,) on the ramp of ``colour`` (for mesh export)."""
    rgb = class_ramp(colour)[ramp_index(log_ratio, limit)]
    return np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], 1)


class HeatMap:
    """Heat colouring of a :class:`~layerlapse.render.view.SceneView`'s parts: ``targets``
    are (mesh, actor, rows into the stacked points or None, tube sides or 0, ramp colour);
    each part takes its class's ramp; ``bars``: the colours whose ramps the colour bar shows
    (the classes', in order), ``title`` above them and ``ticks`` (value, text) beside them
    (default: the stretch ratios). The 4th coordinate of an R^4 scene is shown the same way."""

    def __init__(self, plotter: pv.Plotter, targets: list, *, limit: float, text_colour: str, font_size: int,
                 bars: list[ColourLike], title: str = "stretch", ticks: list[tuple[float, str]] | None = None) -> None:
        self.limit, self.font_size = limit, font_size
        self.luts: dict[ColourLike, vtk.vtkLookupTable] = {}
        self.targets = []
        self.actors: list = []
        for mesh, actor, part_slice, rows, tube, colour in targets:
            lut = self._lut(colour)
            n = mesh.GetNumberOfPoints()
            array = numpy_to_vtk(np.zeros(n, np.float32), deep=True)
            array.SetName(ARRAY)
            mesh.GetPointData().AddArray(array)
            mapper = actor.GetMapper()
            mapper.SetLookupTable(lut)
            mapper.SetScalarModeToUsePointFieldData()
            mapper.SelectColorArray(ARRAY)
            mapper.SetScalarRange(-limit, limit)
            mapper.SetColorModeToMapScalars()
            mapper.InterpolateScalarsBeforeMappingOn()
            mapper.ScalarVisibilityOn()
            self.targets.append((array, vtk_to_numpy(array), part_slice, rows, tube))
            self.actors.append(actor)
        if ticks is None:
            ticks = [(float(np.log(r)), ratio_text(r)) for r in ratio_ticks(limit)]
        self.plotter, self.text_colour = plotter, text_colour
        self.bar_luts, self.bar_title, self.bar_ticks = [self._lut(c) for c in bars], title, ticks
        self.bar_actors: list = []
        self.place_bars(BAR_CORNER[1], BAR_CORNER[1] + BAR_HEIGHT)

    def place_bars(self, y0: float, y1: float) -> None:
        """(Re)draw the colour bars from ``y0`` to ``y1`` (fractions of the height) at the
        right edge; :attr:`rect` is then what they cover with their ticks and title
        (x0, y0, x1, y1, fractions of the viewport)."""
        for actor in self.bar_actors:
            self.plotter.renderer.RemoveActor(actor)
        font = self.font_size
        self.bar_actors = _colour_bars(self.plotter, self.bar_luts, self.limit, title=self.bar_title,
                                       ticks=self.bar_ticks, position=(BAR_CORNER[0], y0), height=y1 - y0,
                                       text_colour=self.text_colour, font_size=font)
        n = len(self.bar_luts)
        x0 = BAR_CORNER[0] - n * BAR_WIDTH - (n - 1) * BAR_GAP
        w, h = self.plotter.window_size
        # the labels' reach, a guess from the font: the tick texts left of the bar, the title above it
        left = max((len(t) for _, t in self.bar_ticks), default=0) * 0.55 * font / w + 0.006
        middle, title = 0.5 * (x0 + BAR_CORNER[0]) - 0.01, 0.55 * font * len(self.bar_title) / w
        self.rect = (min(x0 - left, middle - 0.5 * title), y0 - 0.5 * font / h,
                     min(1.0, max(BAR_CORNER[0], middle + 0.5 * title)), y1 + 0.035 + 1.2 * font / h)

    def _lut(self, colour: ColourLike) -> vtk.vtkLookupTable:
        if colour not in self.luts:
            self.luts[colour] = lookup_table(self.limit, colour)
        return self.luts[colour]

    def update(self, log_ratio: np.ndarray) -> None:
        """Write one frame's log stretch (V,) of the stacked points into every target."""
        values = np.clip(log_ratio, -self.limit, self.limit)
        for array, view, part_slice, rows, tube in self.targets:
            v = values[part_slice]
            if rows is not None:
                v = v[rows]
            if tube:  # a tube's rings, then its two caps when open
                ring = np.repeat(v, tube)
                view[:] = ring if len(view) == len(ring) else np.r_[ring, v[[0, -1]]]
            else:
                view[:] = v
            array.Modified()


def _bar(lut: vtk.vtkLookupTable, limit: float, x0: float, x1: float, y0: float, height: float, steps: int):
    """A vertical strip of ``lut``'s colours from (x0, y0) to (x1, y0 + height), in fractions
    of the viewport: a 2-D polygon strip, so where the ticks sit is exact."""
    ys = y0 + height * np.linspace(0.0, 1.0, steps + 1)
    points = np.zeros((2 * (steps + 1), 3))
    points[0::2, 0], points[1::2, 0] = x0, x1
    points[0::2, 1] = points[1::2, 1] = ys
    quads = np.array([[4, 2 * i, 2 * i + 1, 2 * i + 3, 2 * i + 2] for i in range(steps)]).ravel()
    strip = pv.PolyData(points, faces=quads)
    strip.point_data["value"] = np.repeat(np.linspace(-limit, limit, steps + 1), 2)
    coordinate = vtk.vtkCoordinate()
    coordinate.SetCoordinateSystemToNormalizedViewport()
    mapper = vtk.vtkPolyDataMapper2D()
    mapper.SetInputData(strip)
    mapper.SetTransformCoordinate(coordinate)
    mapper.SetLookupTable(lut)
    mapper.SetScalarRange(-limit, limit)
    mapper.ScalarVisibilityOn()
    bar = vtk.vtkActor2D()
    bar.SetMapper(mapper)
    return bar


def _colour_bars(plotter: pv.Plotter, luts: list, limit: float, *, title: str, ticks: list[tuple[float, str]],
                 position: tuple[float, float], height: float, text_colour: str, font_size: int) -> list:
    """One vertical bar per class ramp (``luts``) over [-limit, limit], side by side, ending
    at ``position`` (the lower right corner, in fractions of the viewport), ``ticks`` (value,
    text) on the left of the first, ``title`` above; -> their actors."""
    x1, y0 = position
    width, gap = BAR_WIDTH, BAR_GAP
    x0 = x1 - len(luts) * width - (len(luts) - 1) * gap
    actors = [_bar(lut, limit, x0 + i * (width + gap), x0 + i * (width + gap) + width, y0, height, BAR_STEPS)
              for i, lut in enumerate(luts)]
    colour = float_rgb(text_colour)

    def text(value: str, x: float, y: float, *, size: int, right: bool, middle: bool) -> None:
        actor = vtk.vtkTextActor()
        actor.SetInput(value)
        actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        actor.GetPositionCoordinate().SetValue(x, y)
        prop = actor.GetTextProperty()
        prop.SetColor(colour)
        prop.SetFontSize(size)
        prop.SetFontFamilyToArial()
        prop.SetJustificationToRight() if right else prop.SetJustificationToCentered()
        prop.SetVerticalJustificationToCentered() if middle else prop.SetVerticalJustificationToBottom()
        actors.append(actor)

    for value, label in ticks:
        text(label, x0 - 0.006, y0 + height * (value + limit) / (2 * limit), size=font_size, right=True, middle=True)
    text(title, 0.5 * (x0 + x1) - 0.01, y0 + height + 0.035, size=font_size, right=False, middle=False)
    for actor in actors:
        plotter.renderer.AddActor(actor)
    return actors


def bar_span(size: tuple[int, int], font_size: int, inset, words) -> tuple[float, float]:
    """Where the colour bars go (bottom, top; fractions of the height): below every card's
    panel and the top band, above the inset (at the right edge) and the bottom band, with
    room for the title above and the lowest tick below; at most :data:`BAR_HEIGHT` tall,
    as high as it goes."""
    h = size[1]
    text = 1.2 * font_size / h
    top = 0.88
    for actors in getattr(words, "panels", {}).values():
        top = min(top, float(actors[0].GetMapper().GetInput().GetBounds()[2]))
    high = top - 0.035 - text - 0.01
    low = 0.12 + text
    if inset is not None:
        x0, _, _, y1 = inset.renderer.GetViewport()
        if x0 < BAR_CORNER[0] and y1 + text < high - 0.12:  # the inset shares the right edge
            low = max(low, y1 + text)
    return max(low, high - BAR_HEIGHT), high
