"""VTK actors of the drawing model's parts (:mod:`layerlapse.draw.model`): one builder per
:class:`~layerlapse.draw.model.Kind`, and per frame new points written in place."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy

from layerlapse.draw.meshes import Tube, VertexNormals, hull
from layerlapse.draw.model import Kind, Part, line_pixels, point_pixels
from layerlapse.draw.style import Style
from layerlapse.render.overlays import line_mesh, polyline_cells, triangle_mesh

#: the depth (0 near .. 1 far) every backdrop fragment is written at: behind any surface in
#: the view, in front of the cleared depth buffer
BACKDROP_DEPTH = "0.99999"


def backdrop(actor) -> None:
    """Draw ``actor`` behind every other fragment, whatever its depth, without moving it on
    screen: its fragments are written at :data:`BACKDROP_DEPTH` (in the coincident-topology
    slot, so no polygon offset applies). A grid line a hair in front of a surface squashed
    flat no longer streaks across it (a polygon offset only moved the tie); in the input the
    box reads as the space the data sits in. Costs nothing measurable (a few hundred line
    fragments)."""
    actor.mapper.SetResolveCoincidentTopologyToOff()
    actor.GetShaderProperty().AddFragmentShaderReplacement(
        "//VTK::Coincident::Impl", True, f"gl_FragDepth = {BACKDROP_DEPTH};\n", False)


class Drawn:
    """A part as drawn: its mesh and actor, which of the part's points the mesh shows
    (``rows``, or all) and a helper (vertex normals, or the tube and its rim).
    ``points``/``normals`` are numpy views of the VTK arrays, made once, so a frame writes
    into them without wrapping a new array."""

    def __init__(self, part: Part, mesh: pv.PolyData, actor, rows: np.ndarray | None = None, helper=None) -> None:
        self.part, self.mesh, self.actor, self.rows, self.helper = part, mesh, actor, rows, helper
        self.points = vtk_to_numpy(mesh.GetPoints().GetData())
        vtk_normals = mesh.GetPointData().GetNormals()
        self.normals = vtk_to_numpy(vtk_normals) if vtk_normals is not None else None

    @property
    def kind(self) -> Kind:
        return self.part.kind

    @property
    def sl(self) -> slice:
        return self.part.sl

    def update(self, pts: np.ndarray, *, tube_radius: float, flat: bool) -> None:
        """Move the mesh to the part's points ``pts`` (the part's slice of a frame)."""
        if self.part.kind is Kind.TUBE:
            tube, rim = self.helper
            verts, normals = tube(pts, tube_radius)
            assert self.normals is not None  # tubes are lit
            self.points[:] = verts
            self.normals[:] = normals
            rim.points[:] = hull(verts, normals, tube_radius)
            rim.GetPoints().Modified()
        else:
            self.points[:] = pts if self.rows is None else pts[self.rows]
            if self.part.dz:
                self.points[:, 2] += self.part.dz
            if self.part.kind is Kind.SURFACE and not flat:
                assert self.normals is not None
                self.normals[:] = self.helper(pts)
        self.mesh.GetPoints().Modified()
        if self.normals is not None:
            self.mesh.GetPointData().GetNormals().Modified()


class PartBuilder:
    """Adds each part's actors to ``plotter``, keeping the class actors (by label, in the
    order added) and the grid's, which the heat map, the cutaways and the inset reuse."""

    def __init__(self, plotter: pv.Plotter, style: Style, *, flat: bool, scale: float, tube_radius: float) -> None:
        self.plotter, self.style, self.flat, self.scale, self.tube_radius = plotter, style, flat, scale, tube_radius
        self.class_actors: dict[int, list] = {}
        self.grid_actors: list = []
        self._builders: dict[Kind, Callable[[Part, np.ndarray], Drawn]] = {
            Kind.SURFACE: self._surface, Kind.OUTLINE: self._outline, Kind.LINE: self._line,
            Kind.TUBE: self._tube, Kind.GRID: self._grid, Kind.POINTS: self._points}

    def build(self, part: Part, start: np.ndarray) -> Drawn:
        """The drawn ``part`` at the first frame's positions ``start`` (V, 3)."""
        return self._builders[part.kind](part, start[part.sl])

    def _surface(self, part: Part, pts: np.ndarray) -> Drawn:
        assert part.faces is not None
        normals = VertexNormals(part.faces, len(pts))
        mesh = triangle_mesh(pts, part.faces, normals(pts))
        return Drawn(part, mesh, self._add_class_mesh(mesh, part), helper=normals)

    def _outline(self, part: Part, pts: np.ndarray) -> Drawn:
        assert part.edges is not None
        ids, segments = np.unique(part.edges, return_inverse=True)
        mesh = line_mesh(pts[ids], segments.reshape(-1, 2))
        return Drawn(part, mesh, self._add_class_mesh(mesh, part), rows=ids)

    def _line(self, part: Part, pts: np.ndarray) -> Drawn:
        n, closed = len(pts), part.closed
        cells = np.r_[n + closed, np.arange(n), [0] * closed].astype(np.int64)
        mesh = pv.PolyData(pts.astype(np.float32), lines=cells)
        return Drawn(part, mesh, self._add_class_mesh(mesh, part))

    def _tube(self, part: Part, pts: np.ndarray) -> Drawn:
        tube = Tube(len(pts), closed=part.closed)
        tube_points, tube_normals = tube(pts, self.tube_radius)
        mesh = triangle_mesh(tube_points, tube.faces, tube_normals)
        rim = triangle_mesh(hull(tube_points, tube_normals, self.tube_radius), tube.faces)
        rim_actor = self.plotter.add_mesh(rim, color=part.rim, lighting=False, render=False, reset_camera=False)
        rim_actor.prop.culling = "front"
        actor = self._add_class_mesh(mesh, part)
        self.class_actors[part.label].append(rim_actor)
        return Drawn(part, mesh, actor, helper=(tube, rim))

    def _grid(self, part: Part, pts: np.ndarray) -> Drawn:
        assert part.width is not None
        mesh = pv.PolyData(pts[part.rows].astype(np.float32), lines=polyline_cells(part.lines, part.per))
        actor = self.plotter.add_mesh(mesh, color=part.colour, line_width=part.width * self.scale,
                                      lighting=False, render=False, reset_camera=False)
        if not self.flat and part.backdrop:
            backdrop(actor)
        self.grid_actors.append(actor)
        return Drawn(part, mesh, actor, rows=part.rows)

    def _points(self, part: Part, pts: np.ndarray) -> Drawn:
        """A cloud: one vertex per point, drawn as a screen-space dot of
        :func:`~layerlapse.draw.model.point_pixels` (``part.round``: a sphere impostor, lit in
        3-D, a flat disk in a flat view; else an unlit square); a frame writes the points in
        place, as for every part."""
        mesh = pv.PolyData(pts.astype(np.float32))
        actor = self.plotter.add_mesh(mesh, color=part.colour, style="points", point_size=point_pixels(self.scale),
                                      render_points_as_spheres=part.round, lighting=part.round and not self.flat,
                                      ambient=self.style.ambient, diffuse=1.0 - 0.5 * self.style.ambient,
                                      specular=0.0 if self.flat else 0.5 * self.style.specular,
                                      render=False, reset_camera=False)
        self.class_actors.setdefault(part.label, []).append(actor)
        return Drawn(part, mesh, actor)

    def _add_class_mesh(self, mesh: pv.PolyData, part: Part):
        """A class part's actor: a line of the part's width, a flat fill, or a lit surface."""
        add = self.plotter.add_mesh
        if part.width is not None:
            actor = add(mesh, color=part.colour, line_width=line_pixels(part.width, self.scale), lighting=False,
                        render=False, reset_camera=False)
        elif self.flat:
            actor = add(mesh, color=part.colour, lighting=False, render=False, reset_camera=False)
        else:
            ambient = self.style.ambient
            actor = add(mesh, color=part.colour, smooth_shading=False, ambient=ambient, diffuse=1.0 - 0.5 * ambient,
                        specular=self.style.specular, specular_power=25.0, render=False, reset_camera=False)
            actor.prop.interpolation = "gouraud"
        self.class_actors.setdefault(part.label, []).append(actor)
        return actor
