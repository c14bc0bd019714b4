"""The reference frame's numbered ticks in VTK: tick marks on the axes through the origin
(a fixed pool of line segments written in place) and their numbers (a fixed pool of 2-D
text actors, placed where the ticks project). The rule (1-2-5 steps, how many, the label
bands kept free) is the drawing model's: :mod:`layerlapse.draw.ticks`."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from layerlapse.draw.colour import ColourLike
from layerlapse.draw.ticks import BAND, LABEL_OFFSET, MAX_TICKS, TICK_SIZE, tick_label, tick_step, tick_values


class Ticks:
    """Numbered ticks on ``shown`` axes (2 or 3), at depth ``z`` in a flat view."""

    def __init__(self, plotter: pv.Plotter, *, shown: int, colour: ColourLike, label_colour: ColourLike,
                 width: float, font_size: int, z: float, planar: bool) -> None:
        import vtk

        from layerlapse.render.overlays import line_mesh

        self.shown, self.z, self.planar = shown, z, planar
        n = shown * 2 * MAX_TICKS
        self.mesh = line_mesh(np.zeros((2 * n, 3)), np.arange(2 * n).reshape(-1, 2))
        self.actor = plotter.add_mesh(self.mesh, color=colour, line_width=width, lighting=False, render=False,
                                      reset_camera=False)
        self.labels = []
        for _ in range(n):
            text = vtk.vtkTextActor()
            prop = text.GetTextProperty()
            prop.SetFontSize(font_size)
            prop.SetColor(pv.Color(label_colour).float_rgb)
            prop.SetJustificationToCentered()
            prop.SetVerticalJustificationToCentered()
            text.SetVisibility(False)
            plotter.renderer.AddViewProp(text)
            self.labels.append(text)
        self.step = 0.0

    def pose(self, renderer, size: tuple[int, int], reach: float, half: float) -> None:
        """Place the ticks for the current camera of ``renderer`` on axes ``reach`` long, in a
        view ``half`` world units high (at the focal point)."""
        cam = renderer.GetActiveCamera()
        towards = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
        towards /= max(float(np.linalg.norm(towards)), 1e-300)
        step = tick_step(half)
        values = tick_values(step, reach)
        k = len(values)
        ends = np.zeros((self.shown, 2 * MAX_TICKS, 2, 3))
        anchors = np.zeros((self.shown, 2 * MAX_TICKS, 3))
        for a in range(self.shown):
            axis = np.eye(3)[a]
            across = np.cross(axis, towards)
            norm = float(np.linalg.norm(across))
            across = across / norm if norm > 1e-6 else np.eye(3)[(a + 1) % 3]
            pts = values[:, None] * axis
            ends[a, :k, 0] = pts - TICK_SIZE * half * across
            ends[a, :k, 1] = pts + TICK_SIZE * half * across
            ends[a, k:] = 0.0  # unused ticks collapse onto the origin
            anchors[a, :k] = pts
        if self.planar:
            ends[..., 2] = self.z
            anchors[..., 2] = self.z
        self.mesh.points[:] = ends.reshape(-1, 3)
        self.mesh.GetPoints().Modified()
        self._label(renderer, size, anchors, values, step)

    def _label(self, renderer, size: tuple[int, int], anchors: np.ndarray, values: np.ndarray, step: float) -> None:
        """Number the ticks: each label beside its tick, off the axis (below a horizontal
        axis, left of a vertical one), hidden in the top and bottom bands and off screen."""
        w, h = size
        xy = _to_display(renderer, anchors.reshape(-1, 3), size).reshape(self.shown, -1, 2)
        origin = _to_display(renderer, np.zeros((1, 3)), size)[0]
        k = len(values)
        for a in range(self.shown):
            tip = xy[a, k - 1] if k else origin
            d = tip - origin
            d = d / max(float(np.linalg.norm(d)), 1e-9)
            side = np.array([d[1], -d[0]])  # perpendicular on screen, pointing down or left
            if side[1] > 1e-6 or (abs(side[1]) <= 1e-6 and side[0] > 0):
                side = -side
            for i, text in enumerate(self.labels[a * 2 * MAX_TICKS : (a + 1) * 2 * MAX_TICKS]):
                if i >= k:
                    text.SetVisibility(False)
                    continue
                x, y = xy[a, i] + LABEL_OFFSET * h * side
                inside = 0 <= x <= w and BAND * h <= y <= (1 - BAND) * h
                text.SetVisibility(bool(inside))
                if inside:
                    label = tick_label(values[i], step)
                    if text.GetInput() != label:
                        text.SetInput(label)
                    text.SetPosition(float(x), float(y))

    def set_visible(self, visible: bool) -> None:
        self.actor.SetVisibility(visible)
        if not visible:
            for text in self.labels:
                text.SetVisibility(False)


def view_half(cam) -> float:
    """The half-height of a VTK camera's view at its focal point, in world units."""
    if cam.GetParallelProjection():
        return float(cam.GetParallelScale())
    dist = float(np.linalg.norm(np.subtract(cam.GetPosition(), cam.GetFocalPoint())))
    return dist * float(np.tan(np.radians(cam.GetViewAngle() / 2)))


def _to_display(renderer, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """World points (N, 3) -> display pixels (N, 2), origin at the bottom left."""
    w, h = size
    cam = renderer.GetActiveCamera()
    m = cam.GetCompositeProjectionTransformMatrix(w / h, -1, 1)
    M = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
    hom = np.c_[points, np.ones(len(points))] @ M.T
    ndc = hom[:, :2] / np.where(np.abs(hom[:, 3:4]) < 1e-300, 1e-300, hom[:, 3:4])
    return np.c_[(ndc[:, 0] + 1) * w / 2, (ndc[:, 1] + 1) * h / 2]
