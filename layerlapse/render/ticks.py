"""The reference frame's numbered ticks in VTK: tick marks on the axes through the origin
(a fixed pool of line segments written in place) and their numbers (a fixed pool of 2-D
text actors, placed where the ticks project). The rule (1-2-5 steps, how many, the label
bands kept free) is the drawing model's: :mod:`layerlapse.draw.ticks`."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from layerlapse.draw.colour import ColourLike
from layerlapse.draw.ticks import (
    CHAR_WIDTH,
    CLEAR,
    LABEL_OFFSET,
    MAX_TICKS,
    TICK_SIZE,
    place_labels,
    tick_label,
    tick_step,
    tick_values,
)

#: class points (at most) the labels keep clear of, an even stride over them
TICK_DATA = 3000
#: the opacity of the backing behind each number
HALO_OPACITY = 0.5


class Ticks:
    """Numbered ticks on ``shown`` axes (2 or 3), at depth ``z`` in a flat view."""

    def __init__(self, plotter: pv.Plotter, *, shown: int, colour: ColourLike, label_colour: ColourLike,
                 width: float, font_size: int, z: float, planar: bool, halo: ColourLike = "white") -> None:
        from layerlapse.render import _vtk as vtk
        from layerlapse.render.overlays import line_mesh

        self.shown, self.z, self.planar, self.font_px = shown, z, planar, float(font_size)
        self.boxes: list[np.ndarray] = []  # the shown labels' pixel boxes (x0, y0, x1, y1)
        n = shown * 2 * MAX_TICKS
        self.mesh = line_mesh(np.zeros((2 * n, 3)), np.arange(2 * n).reshape(-1, 2))
        self.actor = plotter.add_mesh(self.mesh, color=colour, line_width=width, lighting=False, render=False,
                                      reset_camera=False)
        self.labels = []
        for _ in range(n):
            text = vtk.vtkTextActor()
            prop = text.GetTextProperty()
            prop.SetFontSize(font_size)
            prop.SetFontFamilyToArial()
            prop.SetColor(pv.Color(label_colour).float_rgb)
            # a backing in the background's colour: no line crosses a number
            prop.SetBackgroundColor(pv.Color(halo).float_rgb)
            prop.SetBackgroundOpacity(HALO_OPACITY)
            prop.SetJustificationToCentered()
            prop.SetVerticalJustificationToCentered()
            text.SetVisibility(False)
            plotter.renderer.AddViewProp(text)
            self.labels.append(text)
        self.step = 0.0

    def pose(self, renderer, size: tuple[int, int], reach: float, half: float, *,
             outline: np.ndarray | None = None, keep_out: list[np.ndarray] | None = None,
             data: np.ndarray | None = None) -> None:
        """Place the ticks for the current camera of ``renderer`` on axes ``reach`` long, in a
        view ``half`` world units high (at the focal point); their labels clear the box's
        ``outline`` (pixel segments (S, 2, 2)), the ``keep_out`` pixel rectangles and the
        classes' world points ``data`` (N, 3)."""
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
        pixels = None if data is None or not len(data) else _to_display(renderer, np.asarray(data, float), size)
        self._label(renderer, size, anchors, values, step, np.zeros((0, 2, 2)) if outline is None else outline,
                    keep_out or [], pixels)

    def _label(self, renderer, size: tuple[int, int], anchors: np.ndarray, values: np.ndarray, step: float,
               outline: np.ndarray, keep_out: list[np.ndarray], data: np.ndarray | None) -> None:
        """Number the ticks: each label beside its tick, off the axis (below a horizontal
        axis, left of a vertical one), else slid along the axis or to its other side, and
        dropped where no place clears the box's outline, the ``keep_out`` rectangles, the
        bands and the labels nearer the origin (:func:`~layerlapse.draw.ticks.place_labels`)."""
        h = size[1]
        xy = _to_display(renderer, anchors.reshape(-1, 3), size).reshape(self.shown, -1, 2)
        origin = _to_display(renderer, np.zeros((1, 3)), size)[0]
        k = len(values)
        order, spots, texts = [], [], []
        for a in range(self.shown):
            tip = xy[a, k - 1] if k else origin
            d = tip - origin
            d = d / max(float(np.linalg.norm(d)), 1e-9)
            side = np.array([d[1], -d[0]])  # perpendicular on screen, pointing down or left
            if side[1] > 1e-6 or (abs(side[1]) <= 1e-6 and side[0] > 0):
                side = -side
            labels = [tick_label(v, step) for v in values]
            base = xy[a, :k] + LABEL_OFFSET * h * side
            reach = 0.5 * CHAR_WIDTH * self.font_px * np.array([len(t) for t in labels]) + CLEAR * h + 2
            inward = -np.sign(values)[:, None] * reach[:, None] * d
            # beside its tick, then slid along the axis (inwards first, a little, then more),
            # then on the axis's other side
            cands = np.stack([base, base + inward, base - inward, base + 1.8 * inward, base - 1.8 * inward,
                              xy[a, :k] - LABEL_OFFSET * h * side], 1)
            order += [(abs(float(v)), a, i) for i, v in enumerate(values)]
            spots += [[tuple(c) for c in row] for row in cands.tolist()]
            texts += labels
        rank = sorted(range(len(order)), key=lambda j: order[j])
        boxes = place_labels([spots[j] for j in rank], [texts[j] for j in rank], self.font_px, size,
                             outline=outline, keep_out=keep_out, data=data)
        shown = set()
        for j, box in zip(rank, boxes):
            if box is None:
                continue
            _, a, i = order[j]
            shown.add(a * 2 * MAX_TICKS + i)
            text = self.labels[a * 2 * MAX_TICKS + i]
            if text.GetInput() != texts[j]:
                text.SetInput(texts[j])
            text.SetPosition(float(0.5 * (box[0] + box[2])), float(0.5 * (box[1] + box[3])))
        for n, text in enumerate(self.labels):
            if bool(text.GetVisibility()) != (n in shown):
                text.SetVisibility(n in shown)
        self.boxes = [b for b in boxes if b is not None]

    def set_visible(self, visible: bool) -> None:
        self.actor.SetVisibility(visible)
        if not visible:
            for text in self.labels:
                text.SetVisibility(False)


def box_outline(renderer, size: tuple[int, int], points: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The pixel segments (S, 2, 2) of a box's edges (S, 2) between world points (P, 3)."""
    return _to_display(renderer, np.asarray(points, float), size)[np.asarray(edges)]


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


def keep_out(view) -> list[np.ndarray]:
    """The pixel rectangles (x0, y0, x1, y1) of a :class:`~layerlapse.render.view.SceneView`
    that no tick label may cover: the inset while drawn, the shown card's panel, the colour bar."""
    w, h = view.size
    rects = []
    inset = getattr(view, "inset", None)
    if inset is not None and inset.renderer.GetDraw():
        x0, y0, x1, y1 = inset.renderer.GetViewport()
        rects.append(np.array([x0 * w, y0 * h, x1 * w, y1 * h]))
    words = getattr(view, "words", None)
    if words is not None and words.shown in words.panels:
        x0, x1, y0, y1 = words.panels[words.shown][0].GetMapper().GetInput().GetBounds()[:4]
        rects.append(np.array([x0 * w, y0 * h, x1 * w, y1 * h]))
    bar = getattr(getattr(view, "heat", None), "rect", None)
    if bar is not None:
        rects.append(np.array([bar[0] * w, bar[1] * h, bar[2] * w, bar[3] * h]))
    return rects


def tick_points(model) -> np.ndarray:
    """The stacked points a :class:`~layerlapse.draw.model.DrawModel`'s tick labels keep
    clear of: the classes' and the borders' (the input's outline drawn thick), not the grid's;
    at most about :data:`TICK_DATA`, an even stride."""
    from layerlapse.draw.model import Kind

    parts = [np.asarray(model.class_points, dtype=np.int64).reshape(-1)]
    parts += [np.arange(p.sl.start or 0, p.sl.stop) for p in model.parts if p.label < 0 and p.kind is not Kind.GRID
              and p.sl.stop is not None]
    idx = np.unique(np.concatenate(parts))
    return idx[:: max(1, len(idx) // TICK_DATA)]
