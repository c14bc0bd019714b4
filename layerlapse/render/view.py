"""One Plotter drawing a scene whose points move: built once, updated in place.

Every actor (class meshes, curve tubes, grid, decision boundary, labels) is created
when the view is made; :meth:`SceneView.set_state` only writes new point and normal
arrays into the existing meshes and sets texts. Nothing is rebuilt per frame.
"""

from __future__ import annotations

import os
import sys

if not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
    # No X server: go straight to EGL instead of failing over from X with a warning.
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

from layerlapse.networks.deformation import Deformation
from layerlapse.render.camera import CameraPath
from layerlapse.render.meshes import Tube, VertexNormals
from layerlapse.render.style import Style
from layerlapse.scenes.base import Scene

BOUNDARY_OPACITY = 0.55


def _polydata(points: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> pv.PolyData:
    mesh = pv.PolyData(points.astype(np.float32), np.hstack([np.full((len(faces), 1), 3), faces]).astype(np.int64))
    mesh.point_data["Normals"] = normals
    mesh.point_data.active_normals_name = "Normals"
    return mesh


def decision_boundary(head_W: np.ndarray, head_b: np.ndarray, final: np.ndarray, tube_radius: float) -> pv.PolyData | None:
    """The set where the two logits tie, clipped to the final points' box, in display space.

    head_W (2, n), head_b (2,), final (V, 3) display positions of the last representation.
    A plane for n = 3, a tube along a line for n = 2; None for other cases.
    """
    if head_W.shape[0] != 2:
        return None
    n = head_W.shape[1]
    w = np.zeros(3)
    w[:n] = head_W[1] - head_W[0]
    c = float(head_b[1] - head_b[0])
    norm = np.linalg.norm(w)
    if norm < 1e-12:
        return None
    lo, hi = final.min(0), final.max(0)
    pad = 0.05 * float((hi - lo).max())
    lo, hi = lo - pad, hi + pad
    mid = 0.5 * (lo + hi)
    origin = mid - ((w @ mid + c) / norm**2) * w
    size = 4 * float(np.linalg.norm(hi - lo)) + 1e-6
    if n == 3:
        plane = pv.Plane(center=origin, direction=w, i_size=size, j_size=size, i_resolution=1, j_resolution=1)
        clipped = plane.clip_box((lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]), invert=False)
        return clipped.extract_surface(algorithm=None) if clipped.n_points else None
    if n == 2:
        along = np.array([-w[1], w[0], 0.0]) / norm
        line = pv.Line(origin - size * along, origin + size * along, resolution=1)
        clipped = line.clip_box((lo[0], hi[0], lo[1], hi[1], -1.0, 1.0), invert=False)
        if not clipped.n_points:
            return None
        return clipped.extract_surface(algorithm=None).tube(radius=tube_radius, n_sides=16)
    return None


class SceneView:
    """A scene drawn in one Plotter: :meth:`set_state` or :meth:`show_frame`, then :meth:`grab`.

    ``deformation`` holds the scene's stacked points (``Scene.points``) deformed over its
    timeline; ``camera`` its per-frame camera (or a still one).
    """

    def __init__(
        self,
        scene: Scene,
        deformation: Deformation,
        camera: CameraPath,
        *,
        style: Style,
        size: tuple[int, int],
        anti_aliasing: str = "none",
        title: str = "",
        accuracy: float | None = None,
        off_screen: bool = True,
    ) -> None:
        self.scene, self.deformation, self.camera, self.style = scene, deformation, camera, style
        self.size = size
        self.accuracy = accuracy
        theme = pv.themes.Theme()
        theme.multi_samples = 0  # 3-4x cheaper on llvmpipe; see Quality
        theme.background = style.background
        theme.font.color = style.text_color
        self.plotter = pv.Plotter(off_screen=off_screen, window_size=list(size), theme=theme, lighting="light kit")
        if anti_aliasing == "ssaa":
            self.plotter.enable_anti_aliasing("ssaa")
        scale = size[1] / 720
        _, self.slices = scene.points()
        start = deformation.display(np.array([0]))[0]
        self._updaters = []
        self.class_actors: dict[int, list] = {}
        radius0 = style.tube_radius * float(camera.radius[0])
        slices = iter(self.slices)
        for surface in scene.surfaces:
            sl = next(slices)
            normals = VertexNormals(surface.faces, len(surface.vertices))
            mesh = _polydata(start[sl], surface.faces, normals(start[sl]))
            self._add_class_mesh(mesh, surface.label)
            self._updaters.append(("surface", sl, mesh, normals))
        for curve in scene.curves:
            sl = next(slices)
            tube = Tube(len(curve.points), closed=curve.closed)
            points, normals = tube(start[sl], radius0)
            mesh = _polydata(points, tube.faces, normals)
            self._add_class_mesh(mesh, curve.label)
            self._updaters.append(("curve", sl, mesh, tube))
        self.grid_actor = None
        if scene.grid is not None:
            sl = next(slices)
            L, P = scene.grid.lines.shape[:2]
            cells = np.hstack([np.full((L, 1), P), np.arange(L * P).reshape(L, P)]).astype(np.int64)
            mesh = pv.PolyData(start[sl].astype(np.float32), lines=cells)
            self.grid_actor = self.plotter.add_mesh(
                mesh, color=style.grid_color, line_width=style.grid_width * scale,
                lighting=False, render=False, reset_camera=False,
            )
            self._updaters.append(("grid", sl, mesh, None))
        last = deformation.n_frames - 1
        head = deformation.display_head(last)
        boundary = None
        if head is not None and scene.class_names:
            boundary = decision_boundary(*head, deformation.display(np.array([last]))[0],
                                         style.tube_radius * float(camera.radius[-1]) * 0.6)
        self.boundary_actor = None
        if boundary is not None:
            self.boundary_actor = self.plotter.add_mesh(boundary, color=style.decision_color, opacity=0.0,
                                                        smooth_shading=False, render=False, reset_camera=False)
            self.boundary_actor.SetVisibility(False)
        names = deformation.timeline.name
        self._first_output = int(np.argmax(names == names[-1]))
        margin = 0.022 * size[1] / size[0]
        self.label_actor = self._text("", (margin, 0.965), 20 * scale, top=True)
        self.title_actor = self._text(title, (margin, 0.03), 13 * scale, top=False)
        self._pixels = vtkUnsignedCharArray()
        if off_screen:
            self.plotter.show(auto_close=False, interactive=False)

    def _text(self, text: str, position: tuple[float, float], size: float, *, top: bool):
        """A text actor at a viewport position (fractions of width, height), inset from the edges."""
        actor = self.plotter.add_text(text, position=position, viewport=True, font_size=max(7, int(round(size))),
                                      color=self.style.text_color, render=False)
        prop = actor.GetTextProperty()
        if top:
            prop.SetVerticalJustificationToTop()
        else:
            prop.SetVerticalJustificationToBottom()
        return actor

    def _add_class_mesh(self, mesh: pv.PolyData, label: int) -> None:
        actor = self.plotter.add_mesh(mesh, color=self.style.colour(label), smooth_shading=False,
                                      specular=self.style.specular, specular_power=25.0,
                                      render=False, reset_camera=False)
        actor.prop.interpolation = "gouraud"
        self.class_actors.setdefault(label, []).append(actor)

    def set_state(self, positions: np.ndarray, *, label: str, tube_radius: float, boundary: float = 0.0) -> None:
        """Put every part at ``positions`` (V, 3) float32, show ``label``; ``boundary`` in [0, 1]
        is the decision boundary's visibility."""
        for kind, sl, mesh, helper in self._updaters:
            pts = positions[sl]
            if kind == "surface":
                mesh.points[:] = pts
                mesh.point_data["Normals"][:] = helper(pts)
            elif kind == "curve":
                verts, normals = helper(pts, tube_radius)
                mesh.points[:] = verts
                mesh.point_data["Normals"][:] = normals
            else:
                mesh.points[:] = pts
            mesh.GetPoints().Modified()
            if kind != "grid":
                mesh.GetPointData().GetNormals().Modified()
        self.label_actor.SetInput(label)
        if self.boundary_actor is not None:
            self.boundary_actor.prop.opacity = BOUNDARY_OPACITY * float(np.clip(boundary, 0, 1))
            self.boundary_actor.SetVisibility(boundary > 0)

    def frame_label(self, frame: int) -> str:
        """The on-screen text for ``frame``: layer and stage, and the accuracy at the end."""
        timeline = self.deformation.timeline
        text = timeline.label(frame)
        if timeline.stage_names[timeline.name[frame]] == "output" and self.accuracy is not None:
            text += f" \u00b7 accuracy {100 * self.accuracy:.1f}%"
        return text

    def show_frame(self, frame: int, positions: np.ndarray, *, move_camera: bool = True) -> None:
        """Show timeline frame ``frame`` at ``positions`` (V, 3), with its label and camera."""
        timeline = self.deformation.timeline
        fade = 0.0
        if timeline.stage_names[timeline.name[frame]] == "output":
            fade = (frame - self._first_output + 1) / max(0.5 * timeline.fps, 1)
        camera_frame = min(frame, len(self.camera.radius) - 1)
        self.set_state(positions, label=self.frame_label(frame),
                       tube_radius=self.style.tube_radius * float(self.camera.radius[camera_frame]), boundary=fade)
        if move_camera:
            self.camera.apply(self.plotter.camera, camera_frame)

    def grab(self) -> np.ndarray:
        """Render and read back the frame; -> (H, W, 3) uint8 (a new array)."""
        window = self.plotter.render_window
        window.Render()
        w, h = self.size
        window.GetPixelData(0, 0, w - 1, h - 1, 0, self._pixels, 0)
        return vtk_to_numpy(self._pixels).reshape(h, w, 3)[::-1].copy()

    def close(self) -> None:
        self.plotter.close()
