"""The pulled-back decision boundary (``Style.boundary = "pulled-back"``) in a SceneView.

The set where the two logits tie (:mod:`layerlapse.networks.boundary`) is contoured once
in the input space (VTK's marching squares in 2-D, flying edges in 3-D; sign changes in
1-D) and its vertices are carried through every stage with the data
(:meth:`~layerlapse.networks.deformation.Deformation.carry`: the same plan, timeline and
display projection). Built once; each frame writes its vertices (and normals) in place. At
the last frame it lies on the head's plane, which it becomes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy

from layerlapse.draw.meshes import VertexNormals
from layerlapse.networks import boundary as tie
from layerlapse.networks.deformation import Deformation
from layerlapse.render.overlays import line_mesh, triangle_mesh
from layerlapse.scenes.base import Scene

#: a surface this translucent shows the classes behind it and still reads as a surface
SURFACE_OPACITY = 0.42
#: curves (2-D input) and points (1-D input) are drawn nearly opaque: they hide almost nothing
LINE_OPACITY = 0.9
#: line width and point size at 720p, in pixels (the class curves are 4)
LINE_WIDTH = 3.5
POINT_SIZE = 14.0
#: frames of the carried vertices computed at once while a movie plays forward
BATCH = 8


def tie_geometry(field: tie.TieField) -> tuple[np.ndarray, np.ndarray]:
    """Contour the field's zero set: -> (vertices (V, d), cells), cells (S, 2) line segments
    in 2-D, (T, 3) triangles in 3-D, (V, 1) points in 1-D. Empty when it does not cross 0."""
    d = field.dim
    if not field.crosses:
        return np.zeros((0, d)), np.zeros((0, max(d, 1)), np.int64)
    if d == 1:
        points = tie.crossings_1d(field)
        return points, np.arange(len(points))[:, None]
    shape = field.values.shape + (1,) * (3 - d)
    image = pv.ImageData(dimensions=shape, spacing=tuple(np.r_[field.spacing, [1.0] * (3 - d)]),
                         origin=tuple(np.r_[field.lo, [0.0] * (3 - d)]))
    image.point_data["f"] = field.values.reshape(shape).ravel(order="F")
    mesh = image.contour([0.0], scalars="f", method="contour" if d == 2 else "flying_edges")
    if mesh.n_points == 0:
        return np.zeros((0, d)), np.zeros((0, d), np.int64)
    points = np.asarray(mesh.points, dtype=float)[:, :d]
    if d == 2:
        cells = _segments(mesh)
    else:
        mesh = mesh.triangulate()
        points = np.asarray(mesh.points, dtype=float)
        cells = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3).astype(np.int64)
    return points, cells


def _segments(mesh: pv.PolyData) -> np.ndarray:
    """The line cells of a contour as segments (S, 2)."""
    lines = vtk_to_numpy(mesh.GetLines().GetConnectivityArray()).astype(np.int64)
    offsets = vtk_to_numpy(mesh.GetLines().GetOffsetsArray()).astype(np.int64)
    out = [np.stack([lines[a : b - 1], lines[a + 1 : b]], 1) for a, b in zip(offsets[:-1], offsets[1:]) if b - a >= 2]
    return np.concatenate(out) if out else np.zeros((0, 2), np.int64)


def tie_box(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """The box the tie set is looked for in: all the scene's parts (the grid spans the scene),
    padded by :data:`~layerlapse.networks.boundary.PAD` when there is no grid."""
    points, _ = scene.points()
    return tie.box(points, pad=0.0 if scene.grid is not None else tie.PAD)


class PulledBack:
    """The tie set drawn and carried: a translucent surface (3-D input), a line of fixed
    on-screen width (2-D input) or dots (1-D input) in ``colour``.

    ``deformation`` carries the scene; ``vertices`` (V, n) and ``cells`` are the tie set in
    the input space (:func:`tie_geometry`); ``z`` the depth offset of a flat view.
    """

    def __init__(self, plotter: pv.Plotter, deformation: Deformation, vertices: np.ndarray, cells: np.ndarray, *,
                 colour: str, flat: bool, z: float, scale: float, ambient: float) -> None:
        self.carried = deformation.carry(vertices)
        self.z = z if flat else 0.0
        self.normals: VertexNormals | None = None
        start = self.carried.display(np.array([0]))[0]
        kind = {1: "points", 2: "lines", 3: "surface"}[cells.shape[1]]
        if kind == "surface":
            self.normals = VertexNormals(cells, len(vertices))
            self.mesh = triangle_mesh(start, cells, self.normals(start))
            self.actor = plotter.add_mesh(self.mesh, color=colour, opacity=SURFACE_OPACITY, smooth_shading=False,
                                          ambient=max(ambient, 0.35), diffuse=0.65, specular=0.15,
                                          render=False, reset_camera=False)
            self.actor.prop.interpolation = "gouraud"
        elif kind == "lines":
            self.mesh = line_mesh(start, cells)
            self.actor = plotter.add_mesh(self.mesh, color=colour, opacity=LINE_OPACITY, line_width=LINE_WIDTH * scale,
                                          lighting=False, render=False, reset_camera=False)
        else:
            self.mesh = pv.PolyData(start.astype(np.float32))
            self.actor = plotter.add_mesh(self.mesh, color=colour, opacity=LINE_OPACITY,
                                          point_size=POINT_SIZE * scale, render_points_as_spheres=True,
                                          lighting=False, render=False, reset_camera=False)
        self.points = vtk_to_numpy(self.mesh.GetPoints().GetData())
        normals = self.mesh.GetPointData().GetNormals()
        self.normal_array = vtk_to_numpy(normals) if normals is not None else None
        self.kind = kind
        self.opacity = float(self.actor.prop.opacity)
        self.shown, self.fade = True, 0.0  # the user's toggle; how far the decision has replaced it
        self._cache: dict[int, np.ndarray] = {}
        self.pose(start)

    @classmethod
    def build(cls, plotter: pv.Plotter, scene: Scene, deformation: object, *, colour: str, flat: bool, z: float,
              scale: float, ambient: float) -> PulledBack | None:
        """The pulled-back boundary of ``deformation``'s network over ``scene``'s box, or None
        (with one warning saying why) when there is none to draw."""
        if not isinstance(deformation, Deformation):
            warnings.warn("boundary: pulled-back is drawn through the layers of a trained network (--over depth); "
                          "the training clock shows the plane only", stacklevel=3)
            return None
        why = tie.unsupported(deformation.plan, len(scene.class_names))
        if why is not None:
            warnings.warn(f"boundary: pulled-back is not drawn: {why}", stacklevel=3)
            return None
        lo, hi = tie_box(scene)
        field = tie.tie_field(deformation.plan, lo, hi)
        vertices, cells = tie_geometry(field)
        vertices = tie.refine(deformation.plan, vertices, field.spacing)
        if len(vertices) == 0:
            head = deformation.plan.head
            f = float(tie.logit_difference(deformation.plan, (0.5 * (lo + hi))[None])[0])
            winner = scene.class_names[int(f > 0)] if head is not None else "one class"
            warnings.warn(f"boundary: pulled-back is not drawn: the network gives the whole scene's box to "
                          f"{winner!r}, so the logits tie nowhere in it", stacklevel=3)
            return None
        return cls(plotter, deformation, vertices, cells, colour=colour, flat=flat, z=z, scale=scale, ambient=ambient)

    def pose(self, positions: np.ndarray) -> None:
        """Put the vertices at display positions (V, 3)."""
        self.points[:] = positions
        if self.z:
            self.points[:, 2] += self.z
        if self.normals is not None and self.normal_array is not None:
            self.normal_array[:] = self.normals(positions)
            self.mesh.GetPointData().GetNormals().Modified()
        self.mesh.GetPoints().Modified()

    def show_frame(self, frame: int) -> None:
        """The vertices at timeline frame ``frame`` (computed :data:`BATCH` frames at a time while
        a movie plays forward)."""
        if frame not in self._cache:
            end = min(frame + BATCH, self.carried.n_frames) if frame - 1 in self._cache else frame + 1
            frames = np.arange(frame, end)
            self._cache = dict(zip(frames.tolist(), self.carried.display(frames)))
        self.pose(self._cache[frame])

    def show_at(self, stage: int, t: float) -> None:
        """The vertices at any point of a stage (-1: the input), t in [0, 1]."""
        self.pose(self.carried.display_at(stage, t))

    def set_visible(self, visible: bool) -> None:
        """Show or hide it (the window's toggle); hidden also while the decision has replaced it."""
        self.shown = bool(visible)
        self.actor.SetVisibility(self.shown and self.fade < 1.0)

    def set_fade(self, decision: float) -> None:
        """Fade out as the decision fades in (``decision``: its visibility, 0..1): at the
        output the carried boundary lies on the decision plane (line, points), and both
        drawn there read as one surface doubled over the other, z-fighting."""
        self.fade = float(np.clip(decision, 0.0, 1.0))
        self.actor.prop.opacity = self.opacity * (1.0 - self.fade)
        self.set_visible(self.shown)

    @property
    def visible(self) -> bool:
        """Whether the user shows it (the window's toggle cycle)."""
        return self.shown
