"""The stretch heat map: every drawn point coloured by how much the layers so far stretch
space there (:mod:`layerlapse.networks.stretch`), written into the meshes' existing point
arrays each frame, with a colour bar that reads in ratios.

Colours, ticks and cues: :mod:`layerlapse.draw.heat`.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
import vtk
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy

from layerlapse.draw.colour import float_rgb
from layerlapse.draw.heat import COOL, NEUTRAL, WARM, ratio_text, ticks

#: the scalar array every heat-coloured mesh carries
ARRAY = "stretch"


def lookup_table(limit: float) -> vtk.vtkLookupTable:
    """256 colours over log ratios [-limit, limit], labelled in ratios (``×2``, ``×1/4``)."""
    ctf = vtk.vtkColorTransferFunction()
    ctf.SetColorSpaceToDiverging()
    ctf.AddRGBPoint(-limit, *COOL)
    ctf.AddRGBPoint(0.0, *NEUTRAL)
    ctf.AddRGBPoint(limit, *WARM)
    lut = vtk.vtkLookupTable()
    lut.SetNumberOfTableValues(256)
    lut.SetRange(-limit, limit)
    for i, x in enumerate(np.linspace(-limit, limit, 256)):
        lut.SetTableValue(i, *ctf.GetColor(x), 1.0)
    lut.Build()
    return lut


def colours(log_ratio: np.ndarray, limit: float) -> np.ndarray:
    """RGBA (N, 4) uint8 of log stretches (N,) on the heat map's colours (for mesh export)."""
    lut = lookup_table(limit)
    values = numpy_to_vtk(np.clip(np.asarray(log_ratio, dtype=np.float64), -limit, limit), deep=True)
    return vtk_to_numpy(lut.MapScalars(values, vtk.VTK_COLOR_MODE_MAP_SCALARS, -1)).reshape(-1, 4).copy()


class HeatMap:
    """Heat colouring of a :class:`~layerlapse.render.view.SceneView`'s parts: ``targets``
    are (mesh, actor, rows into the stacked points or None, tube sides or 0); outlines
    keep their class colour, so a class stays recognisable by its border."""

    def __init__(self, plotter: pv.Plotter, targets: list, *, limit: float, text_colour: str, font_size: int,
                 position: tuple[float, float] = (0.95, 0.5), height: float = 0.34) -> None:
        self.limit = limit
        self.lut = lookup_table(limit)
        self.targets = []
        self.actors: list = []
        for mesh, actor, part_slice, rows, tube in targets:
            n = mesh.GetNumberOfPoints()
            array = numpy_to_vtk(np.zeros(n, np.float32), deep=True)
            array.SetName(ARRAY)
            mesh.GetPointData().AddArray(array)
            mapper = actor.GetMapper()
            mapper.SetLookupTable(self.lut)
            mapper.SetScalarModeToUsePointFieldData()
            mapper.SelectColorArray(ARRAY)
            mapper.SetScalarRange(-limit, limit)
            mapper.SetColorModeToMapScalars()
            mapper.InterpolateScalarsBeforeMappingOn()
            mapper.ScalarVisibilityOn()
            self.targets.append((array, vtk_to_numpy(array), part_slice, rows, tube))
            self.actors.append(actor)
        self.bar_actors = _colour_bar(plotter, self.lut, limit, position=position, height=height,
                                      text_colour=text_colour, font_size=font_size)

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


def _colour_bar(plotter: pv.Plotter, lut: vtk.vtkLookupTable, limit: float, *, position: tuple[float, float],
                height: float, text_colour: str, font_size: int, width: float = 0.014, steps: int = 64) -> list:
    """A vertical bar of ``lut``'s colours at ``position`` (its lower right corner, in
    fractions of the viewport), labelled in ratios on its left, titled above; -> its actors.
    Drawn as a 2-D polygon strip, so where its ticks sit is exact."""
    x1, y0 = position
    x0 = x1 - width
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
    actors = [bar]
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

    for r in ticks(limit):
        text(ratio_text(r), x0 - 0.006, y0 + height * (np.log(r) + limit) / (2 * limit), size=font_size,
             right=True, middle=True)
    text("stretch", x1 - width / 2 - 0.01, y0 + height + 0.035, size=font_size, right=False, middle=False)
    for actor in actors:
        plotter.renderer.AddActor(actor)
    return actors
