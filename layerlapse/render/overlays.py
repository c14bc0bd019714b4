"""What a frame shows besides the deformed parts: the still frame of reference (axes
through the origin, the activation's box), the decision (its boundary and the two
sides tinted in the class colours), and the misclassified samples.

Every overlay is built once with a fixed topology and posed per frame by writing
points in place, like the class meshes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyvista as pv

from layerlapse.draw.colour import ColourLike
from layerlapse.draw.geometry import BOX_OPACITY, MAX_BOX_DIM, box_corners, cube_edges, decision_geometry
from layerlapse.draw.model import PLANE_OPACITY

REGION_OPACITY = 0.16
#: in 3-D the axes reach at least this many view half-heights from the origin
AXES_ACROSS = 1.6
#: the misclassified markers: their opacity, a 3-D dot's diameter (a share of the marker
#: size) and its open middle (a share of the diameter), the sides of a flat view's ring
MARKER_ALPHA, DOT_ACROSS, DOT_HOLE, RING_SIDES = 0.8, 1.75, 0.5, 12
MARKER_ALPHA_3D = 0.6  # hollow dots crowd on a squashed class (linked-tori's output): lighter still


def line_mesh(points: np.ndarray, segments: np.ndarray) -> pv.PolyData:
    """Line segments (S, 2) between points (P, 3)."""
    cells = np.hstack([np.full((len(segments), 1), 2), segments]).astype(np.int64)
    return pv.PolyData(np.asarray(points, np.float32), lines=cells)


def polyline_cells(n_lines: int, per_line: int) -> np.ndarray:
    """VTK line cells for ``n_lines`` polylines of ``per_line`` consecutive points each."""
    idx = np.arange(n_lines * per_line).reshape(n_lines, per_line)
    return np.hstack([np.full((n_lines, 1), per_line), idx]).astype(np.int64).ravel()


class ReferenceFrame:
    """Faint axes through the origin (fixed) with numbered ticks (:mod:`layerlapse.render.ticks`)
    and the activation's box in display space. In 3-D the axes reach across the view, so
    the ticks number it however far the camera zooms out."""

    def __init__(self, plotter: pv.Plotter, *, dim: int, ambient: int, reach: float, colour: ColourLike, box_colour: ColourLike,
                 width: float, z: float, label_colour: ColourLike | None = None, font_size: int = 0,
                 halo: ColourLike = "white") -> None:
        from layerlapse.render.ticks import Ticks

        shown = max(1, min(dim, 3))
        self.shown, self.reach = shown, reach
        ends = np.zeros((2 * shown, 3), np.float32)
        for a in range(shown):
            ends[2 * a, a], ends[2 * a + 1, a] = -reach, reach
        ends[:, 2] += z if dim < 3 else 0.0
        self.ticks = None if not font_size else Ticks(
            plotter, shown=shown, colour=colour, label_colour=label_colour or colour, width=width,
            font_size=font_size, z=z, planar=dim < 3, halo=halo)
        self.axes_mesh = line_mesh(ends, np.arange(2 * shown).reshape(-1, 2))
        self.axes_actor = plotter.add_mesh(self.axes_mesh, color=colour, line_width=width, lighting=False,
                                           render=False, reset_camera=False)
        self.ambient, self.z, self.planar = ambient, z, dim < 3
        corners, edges = cube_edges(min(ambient, MAX_BOX_DIM))
        self.corners, self.edges = corners, np.asarray(edges)
        self.box_mesh = line_mesh(np.zeros((len(corners), 3)), edges)
        self.box_actor = plotter.add_mesh(self.box_mesh, color=box_colour, line_width=1.6 * width, lighting=False,
                                          opacity=0.0, render=False, reset_camera=False)
        self.box_actor.SetVisibility(False)

    def pose_ticks(self, renderer, size: tuple[int, int], keep_out: list[np.ndarray] | None = None,
                   data: np.ndarray | None = None) -> None:
        """Number the axes for the current camera (call after it is set), the labels clear of
        the box's outline, the pixel rectangles ``keep_out`` and the classes' points ``data``
        (N, 3); in 3-D stretch the axes across the view first."""
        if self.ticks is None:
            return
        from layerlapse.render.ticks import box_outline, view_half

        half = view_half(renderer.GetActiveCamera())
        reach = self.reach
        if not self.planar:
            reach = max(reach, AXES_ACROSS * half)
            ends = np.zeros((2 * self.shown, 3), np.float32)
            for a in range(self.shown):
                ends[2 * a, a], ends[2 * a + 1, a] = -reach, reach
            self.axes_mesh.points[:] = ends
            self.axes_mesh.GetPoints().Modified()
        outline = box_outline(renderer, size, self.box_mesh.points, self.edges) if self.box_actor.GetVisibility() \
            else None
        self.ticks.pose(renderer, size, reach, half, outline=outline, keep_out=keep_out, data=data)

    def pose_box(self, box: tuple[float, float, int] | None, opacity: float, projection: np.ndarray | None) -> None:
        """Show the box [lo, hi]^m (embedded in the first m of the ambient coordinates),
        through ``projection`` (3, D) for D > 3; ``box=None`` hides it."""
        if box is None or opacity <= 0 or box[2] > MAX_BOX_DIM:
            self.box_actor.SetVisibility(False)
            return
        pts = box_corners(box, self.corners, self.ambient, projection)
        if self.planar:
            pts[:, 2] = self.z
        self.box_mesh.points[:] = pts
        self.box_mesh.GetPoints().Modified()
        self.box_actor.prop.opacity = float(np.clip(opacity, 0, 1)) * BOX_OPACITY
        self.box_actor.SetVisibility(True)


def _fan(polygon: np.ndarray, corners: int) -> np.ndarray:
    """A polygon (k, 3), k <= corners, as a fan of ``corners`` triangles around its centre:
    (corners + 1, 3) points, the last corner repeated (degenerate triangles) to fill."""
    pad = np.repeat(polygon[-1:], corners - len(polygon), 0)
    return np.vstack([polygon.mean(0), polygon, pad])


def _fan_faces(corners: int) -> np.ndarray:
    return np.array([[0, 1 + i, 1 + (i + 1) % corners] for i in range(corners)])


def triangle_mesh(points: np.ndarray, faces: np.ndarray, normals: np.ndarray | None = None) -> pv.PolyData:
    """Triangles faces (T, 3) on points (P, 3), with point normals (P, 3) when given."""
    mesh = pv.PolyData(np.asarray(points, np.float32),
                       np.hstack([np.full((len(faces), 1), 3), faces]).astype(np.int64))
    if normals is not None:
        mesh.point_data["Normals"] = normals
        mesh.point_data.active_normals_name = "Normals"
    return mesh


class DecisionView:
    """Where the two logits tie, and the two sides tinted in the class colours.

    2-D (a representation at most 2 wide): the line clipped to the data's padded box, drawn
    in screen-space width, and the box's two half-planes lightly tinted. 3-D: the plane
    clipped to the data's box, tinted ``plane_colour`` on both faces (one colour from every
    side, as in the figure, the sheet and the page), with its outline.
    """

    def __init__(self, plotter: pv.Plotter, *, width: int, planar: bool, colours: tuple[ColourLike, ColourLike], line_colour: ColourLike,
                 line_width: float, z: float, plane_colour: ColourLike = "#808080") -> None:
        self.width, self.planar, self.z = width, planar, z
        self.flat = width <= 2
        self.actors = []
        if self.flat:
            self.line = line_mesh(np.zeros((2, 3)), np.array([[0, 1]]))
            self.regions = [triangle_mesh(np.zeros((6, 3)), _fan_faces(5)) for _ in range(2)]
            for mesh, colour in zip(self.regions, colours):
                self.actors.append(plotter.add_mesh(mesh, color=colour, opacity=REGION_OPACITY, lighting=False,
                                                    render=False, reset_camera=False))
            self.line_actor = plotter.add_mesh(self.line, color=line_colour, line_width=line_width, lighting=False,
                                               render=False, reset_camera=False)
        else:
            self.plane = triangle_mesh(np.zeros((7, 3)), _fan_faces(6), np.tile(np.array([0, 0, 1], np.float32), (7, 1)))
            # unlit: a lit plane's tint would change with the side it is seen from, too
            actor = plotter.add_mesh(self.plane, color=plane_colour, opacity=PLANE_OPACITY, lighting=False,
                                     render=False, reset_camera=False)
            self.actors.append(actor)
            self.line = line_mesh(np.zeros((6, 3)), np.array([[i, (i + 1) % 6] for i in range(6)]))
            self.line_actor = plotter.add_mesh(self.line, color=line_colour, line_width=line_width, lighting=False,
                                               render=False, reset_camera=False)
        self.actors.append(self.line_actor)
        self.opacities = [a.prop.opacity for a in self.actors]
        self.set_visible(False)

    def set_visible(self, visible: bool, fade: float = 1.0) -> None:
        for actor, opacity in zip(self.actors, self.opacities):
            actor.SetVisibility(visible)
            actor.prop.opacity = opacity * float(np.clip(fade, 0, 1))

    def pose(self, W: np.ndarray, b: np.ndarray, data: np.ndarray) -> bool:
        """Fit the decision of head (W (2, k), b (2,)), k <= 3, to the box of the data points (V, 3);
        False if it misses the box."""
        geometry = decision_geometry((W, b), data, flat=self.flat)
        if geometry is None:
            return False
        if self.flat:
            ends = geometry["line"]
            ends[:, 2] = self.z * 2
            self._write(self.line, ends)
            for mesh, pts in zip(self.regions, geometry["regions"]):
                pts[:, 2] = -2 * self.z
                self._write(mesh, _fan(pts, 5))
            return True
        w = geometry["normal"]
        corners = geometry["plane"]
        fan = _fan(corners, 6)
        self._write(self.plane, fan)
        self.plane.point_data["Normals"][:] = w
        self.plane.GetPointData().GetNormals().Modified()
        self._write(self.line, fan[1:])
        return True

    @staticmethod
    def _write(mesh: pv.PolyData, points: np.ndarray) -> None:
        mesh.points[:] = points
        mesh.GetPoints().Modified()


class Markers:
    """The misclassified samples at the output, drawn on top of everything (an overlay
    renderer layer), so that samples inside solids show too: thin rings of ``ring`` world
    units in flat views, hollow dots in 3-D, so the class under them keeps its colour and
    they do not read as a third class. :attr:`lens_actor` draws them in the zoom inset at
    the same pixel size (:meth:`pose_lens`)."""

    def __init__(self, plotter: pv.Plotter, points: np.ndarray, *, colour: ColourLike, size: float,
                 ring: float | None = None) -> None:
        from layerlapse.render import _vtk as vtk

        self.count = len(points)
        # translucent: a class under many markers keeps its hue (darker), not hidden; the 3-D
        # dots crowd on a squashed class (linked-tori's output), so they are lighter still
        self.alpha = MARKER_ALPHA if ring is not None else MARKER_ALPHA_3D
        self.renderer = vtk.vtkRenderer()
        self.renderer.SetLayer(1)
        self.renderer.InteractiveOff()
        self.renderer.SetActiveCamera(plotter.renderer.GetActiveCamera())
        window = plotter.render_window
        window.SetNumberOfLayers(max(2, window.GetNumberOfLayers()))
        window.AddRenderer(self.renderer)
        self.centres = np.asarray(points, np.float32).reshape(-1, 3)
        self.ring = ring
        self.actor = self._actor(self._mesh(1.0), colour, size)
        self.lens_mesh = self._mesh(1.0) if ring is not None else None
        if self.lens_mesh is None:
            self.lens_actor = self.actor  # dots: a size in pixels already
        else:
            self.lens_actor = vtk.vtkActor()
            mapper = vtk.vtkPolyDataMapper()
            mapper.SetInputData(self.lens_mesh)
            self.lens_actor.SetMapper(mapper)
            self.lens_actor.SetProperty(self.actor.GetProperty())
        self.renderer.AddActor(self.actor)
        self.set_visible(False)

    def _mesh(self, zoom: float) -> pv.PolyData:
        """Rings (a circle of ``ring / zoom`` around each sample) or the samples as points."""
        if self.ring is None:
            return pv.PolyData(self.centres)
        return pv.PolyData(self._ring_points(zoom), lines=_ring_cells(len(self.centres), RING_SIDES))

    def _ring_points(self, zoom: float) -> np.ndarray:
        phi = np.linspace(0, 2 * np.pi, RING_SIDES, endpoint=False)
        circle = np.stack([np.cos(phi), np.sin(phi), np.zeros(RING_SIDES)], 1) * (self.ring or 0.0) / zoom
        return (self.centres[:, None] + circle[None]).reshape(-1, 3).astype(np.float32)

    def _actor(self, mesh: pv.PolyData, colour: ColourLike, size: float):
        from layerlapse.render import _vtk as vtk

        mapper = vtk.vtkPolyDataMapper()
        mapper.SetInputData(mesh)
        actor = vtk.vtkActor()
        actor.SetMapper(mapper)
        prop = actor.GetProperty()
        prop.SetColor(pv.Color(colour).float_rgb)
        prop.LightingOff()
        if self.ring is not None:  # at least 1.5 pixels: a 1-pixel ring vanishes along a class's edge at 480p
            prop.SetLineWidth(max(1.5, size / 3.0))
        else:  # 7 pixels across at 480p, the middle open: a ring 1.75 pixels wide
            prop.SetPointSize(max(7.0, DOT_ACROSS * size))
            prop.SetRenderPointsAsSpheres(True)
            actor.GetShaderProperty().AddFragmentShaderReplacement(
                "//VTK::Light::Impl", True,
                "//VTK::Light::Impl\n  { vec2 hole = 2.0 * gl_PointCoord - 1.0;"
                f" if (dot(hole, hole) < {DOT_HOLE ** 2:.4f}) {{ discard; }} }}\n", False)
        return actor

    def pose_lens(self, zoom: float) -> None:
        """Size the rings in the inset for its ``zoom``: the same pixels as in the main view."""
        if self.lens_mesh is not None:
            points = self._ring_points(max(zoom, 1e-9))
            # the main view draws the rings in a layer of their own, over everything; in the
            # lens they share the depth test with the flat view's fills (their depth offsets are
            # a few thousandths of the view), so they are lifted by a ring's radius above them
            points[:, 2] += float(self.ring or 0.0)
            self.lens_mesh.points[:] = points
            self.lens_mesh.GetPoints().Modified()

    def set_visible(self, visible: bool, fade: float = 1.0) -> None:
        for actor in {id(self.actor): self.actor, id(self.lens_actor): self.lens_actor}.values():
            actor.SetVisibility(bool(visible and self.count))
        self.actor.GetProperty().SetOpacity(self.alpha * float(np.clip(fade, 0, 1)))


def _ring_cells(n: int, sides: int) -> np.ndarray:
    """Closed polylines around ``n`` consecutive runs of ``sides`` points."""
    idx = np.arange(n * sides).reshape(n, sides)
    return np.hstack([np.full((n, 1), sides + 1), idx, idx[:, :1]]).astype(np.int64).ravel()


class VoteView:
    """A k-NN head's decision region: the drawn parts recoloured by the vote at their final
    positions, and in flat views a lightly tinted image of the vote behind them.

    Each coloured mesh gets a uint8 ``vote`` point array, shown by its mapper as direct
    colours only while the vote is visible; :meth:`set_fade` blends it from the mesh's own
    colour (fade 0) to the vote's (fade 1) in place. Nothing is rebuilt per frame.
    """

    def __init__(self, plotter: pv.Plotter, parts: Sequence[tuple[pv.PolyData, Any, np.ndarray, float | np.ndarray]],
                 image: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None, *, colours: list,
                 opacity: float = REGION_OPACITY) -> None:
        """``parts``: (mesh, its actor, vote per mesh point (P,), share of the vote colour (P,)
        or scalar); ``image``: (xs (nx,), ys (ny,), vote (ny, nx), z) of a flat view, or None;
        ``colours``: the class colours."""
        palette = np.array([pv.Color(c).float_rgb for c in colours], float)
        self.items = []
        for mesh, actor, vote, share in parts:
            base = np.array(actor.GetProperty().GetColor(), dtype=np.float64)
            target = base + np.reshape(share, (-1, 1)) * (palette[vote] - base)
            mesh.point_data["vote"] = np.zeros((len(vote), 3), np.uint8)
            array = mesh.point_data["vote"]  # a view of the VTK array, written in place
            mapper = actor.GetMapper()
            mapper.SetScalarModeToUsePointFieldData()
            mapper.SelectColorArray("vote")
            mapper.SetColorModeToDirectScalars()
            mapper.ScalarVisibilityOff()
            self.items.append((mesh, mapper, base, target, array))
        self.image_actor = None
        if image is not None:
            xs, ys, vote, z = image
            X, Y = np.meshgrid(xs, ys)
            corner = np.arange(X.size).reshape(X.shape)[:-1, :-1].ravel()
            nx = len(xs)
            quads = np.stack([np.full_like(corner, 4), corner, corner + 1, corner + nx + 1, corner + nx], 1)
            grid = pv.PolyData(np.stack([X.ravel(), Y.ravel(), np.full(X.size, z)], 1).astype(np.float32),
                               faces=quads.ravel())
            grid.point_data["vote"] = (255 * palette[vote.ravel()]).round().astype(np.uint8)
            self.image_actor = plotter.add_mesh(grid, scalars="vote", rgb=True, opacity=opacity, lighting=False,
                                                show_scalar_bar=False, render=False, reset_camera=False)
            self.image_opacity = opacity
        self.fade = -1.0
        self.set_fade(0.0)

    @property
    def actors(self) -> list:
        """The actors it adds (the tinted image), for the inset lens."""
        return [self.image_actor] if self.image_actor is not None else []

    def set_fade(self, fade: float) -> None:
        """Show the vote at ``fade`` in [0, 1] (0: the parts in their own colours, no tint)."""
        fade = float(np.clip(fade, 0.0, 1.0))
        if fade == self.fade:
            return
        self.fade = fade
        for mesh, mapper, base, target, array in self.items:
            mapper.SetScalarVisibility(fade > 0)
            if fade > 0:
                array[:] = np.round(255 * (base + fade * (target - base))).astype(np.uint8)
                mesh.GetPointData().GetArray("vote").Modified()
        if self.image_actor is not None:
            self.image_actor.SetVisibility(fade > 0)
            self.image_actor.prop.opacity = self.image_opacity * fade
