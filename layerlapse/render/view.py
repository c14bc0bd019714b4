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


def _plane_box_polygon(w: np.ndarray, c: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Corners (k, 3), k in 3..6, of the plane w.x + c = 0 inside the box [lo, hi], in order."""
    box = np.array([lo, hi])
    corners = np.array([[box[i, 0], box[j, 1], box[k, 2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    side = corners @ w + c
    points = []
    for a in range(8):
        for b in range(a + 1, 8):
            if bin(a ^ b).count("1") == 1 and side[a] * side[b] < 0:  # a box edge the plane crosses
                f = side[a] / (side[a] - side[b])
                points.append(corners[a] + f * (corners[b] - corners[a]))
    if len(points) < 3:
        return None
    P = np.array(points)
    centre = P.mean(0)
    n = w / np.linalg.norm(w)
    u = P[0] - centre
    u /= max(np.linalg.norm(u), 1e-30)
    v = np.cross(n, u)
    order = np.argsort(np.arctan2((P - centre) @ v, (P - centre) @ u))
    return P[order]


class DecisionBoundary:
    """The set where the two logits tie, drawn with a fixed topology and posed per frame.

    A tube along a line when the last representation is at most 2-D, a square patch of
    the plane when it is 3-D; either sized to the frame's points. Posing writes points
    in place, so a boundary that moves (training clock) costs no rebuild.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        if width <= 2:
            self.tube = Tube(2, closed=False, sides=12)
            faces = self.tube.faces
            n = self.tube.n_points
        else:  # the plane cut by a box is a polygon of at most 6 corners: a fan around its centre
            faces = np.array([[0, 1 + i, 1 + (i + 1) % 6] for i in range(6)])
            n = 7
        self.mesh = _polydata(np.zeros((n, 3), np.float32), faces, np.tile(np.float32([0, 0, 1]), (n, 1)))

    def pose(self, W: np.ndarray, b: np.ndarray, points: np.ndarray, radius: float) -> bool:
        """Fit the boundary of head (W (2, m), b (2,)) to points (V, 3); False if it misses them."""
        w = np.zeros(3)
        w[: W.shape[1]] = W[1] - W[0]
        c = float(b[1] - b[0])
        norm = float(np.linalg.norm(w))
        if norm < 1e-12:
            return False
        lo, hi = points.min(0), points.max(0)
        pad = 0.05 * float((hi - lo).max()) + 1e-9
        lo, hi = lo - pad, hi + pad
        mid = 0.5 * (lo + hi)
        origin = mid - ((w @ mid + c) / norm**2) * w
        if self.width <= 2:
            direction = np.array([-w[1], w[0], 0.0]) / norm
            s0, s1 = -np.inf, np.inf
            for i in range(2):  # clip the line to the box (Liang-Barsky)
                if abs(direction[i]) < 1e-12:
                    if not lo[i] <= origin[i] <= hi[i]:
                        return False
                    continue
                a, z = sorted(((lo[i] - origin[i]) / direction[i], (hi[i] - origin[i]) / direction[i]))
                s0, s1 = max(s0, a), min(s1, z)
            if s1 <= s0:
                return False
            ends = np.array([origin + s0 * direction, origin + s1 * direction])
            ends[:, 2] = 0.0  # a representation of width <= 2 lies in the z = 0 plane
            vertices, normals = self.tube(ends.astype(np.float32), radius)
        else:
            corners = _plane_box_polygon(w, c, lo, hi)
            if corners is None:
                return False
            vertices = np.vstack([corners.mean(0), corners, np.repeat(corners[-1:], 6 - len(corners), 0)])
            normals = np.tile(w / norm, (7, 1))
        self.mesh.points[:] = vertices
        self.mesh.point_data["Normals"][:] = normals
        self.mesh.GetPoints().Modified()
        self.mesh.GetPointData().GetNormals().Modified()
        return True


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
        head = deformation.display_head(deformation.n_frames - 1)
        self.boundary = self.boundary_actor = None
        if head is not None and head[0].shape[0] == 2 and len(scene.class_names) == 2:
            self.boundary = DecisionBoundary(head[0].shape[1])
            self.boundary_actor = self.plotter.add_mesh(self.boundary.mesh, color=style.decision_color, opacity=0.0,
                                                        smooth_shading=False, render=False, reset_camera=False)
            self.boundary_actor.SetVisibility(False)
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

    def set_state(self, positions: np.ndarray, *, label: str, tube_radius: float, boundary: float = 0.0,
                  head: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Put every part at ``positions`` (V, 3) float32, show ``label``; ``boundary`` in [0, 1]
        is the visibility of the decision boundary of ``head`` (W, b) in display space."""
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
            shown = boundary > 0 and head is not None and self.boundary.pose(*head, positions, 0.6 * tube_radius)
            self.boundary_actor.prop.opacity = BOUNDARY_OPACITY * float(np.clip(boundary, 0, 1))
            self.boundary_actor.SetVisibility(bool(shown))

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
        camera_frame = min(frame, len(self.camera.radius) - 1)
        self.set_state(positions, label=self.frame_label(frame),
                       tube_radius=self.style.tube_radius * float(self.camera.radius[camera_frame]),
                       boundary=timeline.boundary_opacity(frame), head=self.deformation.display_head(frame))
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
