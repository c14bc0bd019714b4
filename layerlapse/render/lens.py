"""The zoom inset: an opaque lens in the emptiest corner of the frame, with a caption that
states its true magnification against the main view's pixels and a locator rectangle in
the main view around where it looks.

The lens is a renderer of its own (layer 2) that clears its viewport, so nothing of the
main view shows through it. Its camera is parallel: ``half`` world units fill its height
whatever the depth, so the magnification it states is exact at the point it looks at.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

#: where the lens may stand (normalised viewport x0, y0, x1, y1), in order of preference:
#: the lower corners, then halfway up (the top band is the cards')
CORNERS = ((0.665, 0.08, 0.985, 0.46), (0.015, 0.08, 0.335, 0.46),
           (0.665, 0.36, 0.985, 0.74), (0.015, 0.36, 0.335, 0.74))
#: the lens's height, a share of the frame's
LENS_HEIGHT = CORNERS[0][3] - CORNERS[0][1]
#: the caption's font, pixels at 720p (10-11 pixels at 480p: legible)
CAPTION_FONT = 16.0
#: how many data points the placement projects, at most
PLACE_POINTS = 4000


def _polyline(points: np.ndarray, colour, width: float):
    """A closed 2-D polyline in normalised viewport coordinates: (actor, its vtkPoints)."""
    from layerlapse.render import _vtk as vtk

    pts = vtk.vtkPoints()
    for x, y in points:
        pts.InsertNextPoint(x, y, 0)
    line = vtk.vtkPolyLine()
    line.GetPointIds().SetNumberOfIds(len(points) + 1)
    for i in range(len(points) + 1):
        line.GetPointIds().SetId(i, i % len(points))
    cells = vtk.vtkCellArray()
    cells.InsertNextCell(line)
    poly = vtk.vtkPolyData()
    poly.SetPoints(pts)
    poly.SetLines(cells)
    coordinate = vtk.vtkCoordinate()
    coordinate.SetCoordinateSystemToNormalizedViewport()
    mapper = vtk.vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    mapper.SetTransformCoordinate(coordinate)
    actor = vtk.vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(pv.Color(colour).float_rgb)
    actor.GetProperty().SetLineWidth(width)
    return actor, pts


def project(camera, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """World points (N, 3) -> their (N, 2) positions in normalised viewport coordinates of a
    ``size`` (width, height) view through ``camera``."""
    m = camera.GetCompositeProjectionTransformMatrix(size[0] / size[1], -1, 1)
    mat = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
    h = np.c_[np.asarray(points, float).reshape(-1, 3), np.ones(len(points))] @ mat.T
    w = np.where(np.abs(h[:, 3]) < 1e-30, 1e-30, h[:, 3])
    return 0.5 * (h[:, :2] / w[:, None] + 1.0)


def half_at(camera, point: np.ndarray) -> float:
    """The main view's half-height in world units at the depth of ``point``."""
    if camera.GetParallelProjection():
        return float(camera.GetParallelScale())
    position, focal = np.array(camera.GetPosition()), np.array(camera.GetFocalPoint())
    forward = (focal - position) / max(float(np.linalg.norm(focal - position)), 1e-30)
    depth = max(float(np.dot(np.asarray(point, float) - position, forward)), 1e-9)
    return depth * float(np.tan(np.radians(camera.GetViewAngle() / 2)))


def choose_corner(locator: tuple[float, float, float, float], points: np.ndarray | None) -> tuple[float, ...]:
    """The corner (of :data:`CORNERS`) that covers the fewest of ``points`` ((N, 2) in
    normalised viewport coordinates) and not the ``locator`` rectangle (the data the lens
    magnifies); the first such on a tie."""
    lx0, ly0, lx1, ly1 = locator
    best, best_score = CORNERS[0], None
    for corner in CORNERS:
        x0, y0, x1, y1 = corner
        overlaps = lx0 < x1 and lx1 > x0 and ly0 < y1 and ly1 > y0
        covered = 0 if points is None else int(((points[:, 0] > x0) & (points[:, 0] < x1)
                                                 & (points[:, 1] > y0) & (points[:, 1] < y1)).sum())
        score = (overlaps, covered)
        if best_score is None or score < best_score:
            best, best_score = corner, score
    return best


class Inset:
    """A zoom lens on part of the frame, drawn above everything but the cards: opaque, with
    a border, a caption on a backing (``disk A, zoomed ×40``) and a locator rectangle in
    the main view; ``markers`` (:class:`~layerlapse.render.overlays.Markers`) keep their
    pixel size in it."""

    def __init__(self, plotter: pv.Plotter, actors: list, *, background: str, colour: str, font_size: int,
                 markers=None, viewport: tuple[float, float, float, float] = CORNERS[0]) -> None:
        from layerlapse.render import _vtk as vtk

        self.size = tuple(plotter.render_window.GetSize())
        self.renderer = vtk.vtkRenderer()
        self.renderer.SetLayer(2)
        self.renderer.SetPreserveColorBuffer(False)  # opaque: it clears its own viewport
        self.renderer.SetPreserveDepthBuffer(False)
        self.renderer.SetViewport(*viewport)
        self.renderer.SetBackground(pv.Color(background).float_rgb)
        self.renderer.InteractiveOff()
        window = plotter.render_window
        window.SetNumberOfLayers(max(3, window.GetNumberOfLayers()))
        window.AddRenderer(self.renderer)
        self.markers = markers
        for actor in actors:
            self.renderer.AddActor(actor)
        if markers is not None:
            self.renderer.AddActor(markers.lens_actor)
        unit = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], float)
        self.border, _ = _polyline(unit, colour, 2)
        self.renderer.AddViewProp(self.border)
        self.locator, self.locator_points = _polyline(unit, colour, 1.5)
        plotter.renderer.AddViewProp(self.locator)
        self.caption = vtk.vtkTextActor()
        self.caption.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        self.caption.SetPosition(0.02, 0.975)
        text = self.caption.GetTextProperty()
        text.SetFontSize(max(font_size, 9))
        text.SetColor(pv.Color(colour).float_rgb)
        text.SetBackgroundColor(pv.Color(background).float_rgb)
        text.SetBackgroundOpacity(1.0)  # the caption stands on a backing, over the lens's data
        text.SetVerticalJustificationToTop()
        self.renderer.AddViewProp(self.caption)
        self.zoom = 1.0
        self.locator_box = (0.0, 0.0, 0.0, 0.0)
        self.shown = False
        self.set_visible(False)

    def pose(self, main_camera, centre: np.ndarray, half: float, what: str,
             avoid: np.ndarray | None = None, corner: tuple[float, ...] | None = None) -> float:
        """Look at ``centre`` from the main camera's direction, ``half`` world units filling
        half the lens's height; stand it in the corner covering the fewest of the points
        ``avoid`` (M, 3), or in viewport ``corner`` if given; caption it ``what, zoomed ×N``.
        -> N, the magnification against the main view's pixels at ``centre``."""
        centre = np.asarray(centre, float)
        size = self.size
        main_half = half_at(main_camera, centre)
        x0, y0, x1, y1 = self.renderer.GetViewport()
        aspect = (x1 - x0) * size[0] / ((y1 - y0) * size[1])
        # the locator: the lens's field (half high, half * aspect wide) in the main view
        cx, cy = project(main_camera, centre[None], size)[0]
        dy = half / (2 * main_half)
        dx = dy * aspect * size[1] / size[0]
        self.locator_box = (cx - dx, cy - dy, cx + dx, cy + dy)
        if corner is not None:
            self.renderer.SetViewport(*corner)
        else:
            seen = None
            if avoid is not None and len(avoid):
                pts = np.asarray(avoid, float)
                seen = project(main_camera, pts[:: max(1, len(pts) // PLACE_POINTS)], size)
            self.renderer.SetViewport(*choose_corner(self.locator_box, seen))
        x0, y0, x1, y1 = self.renderer.GetViewport()
        self.zoom = (y1 - y0) * main_half / half
        for i, (x, y) in enumerate(((-dx, -dy), (dx, -dy), (dx, dy), (-dx, dy))):
            self.locator_points.SetPoint(i, cx + x, cy + y, 0)
        self.locator_points.Modified()
        self._camera(main_camera, centre, half)
        if self.markers is not None:
            self.markers.pose_lens(self.zoom)
        self.caption.SetInput(f"{what}, zoomed \u00d7{self.zoom:.0f}" if self.zoom >= 1.5
                              else f"{what}, zoomed \u00d7{self.zoom:.1f}")
        self.set_visible(True)
        return self.zoom

    def _camera(self, main_camera, centre: np.ndarray, half: float) -> None:
        """A parallel camera on ``centre`` from the main camera's side, ``half`` high."""
        cam = self.renderer.GetActiveCamera()
        direction = np.subtract(main_camera.GetPosition(), main_camera.GetFocalPoint())
        direction /= max(float(np.linalg.norm(direction)), 1e-30)
        dist = max(float(np.linalg.norm(np.subtract(main_camera.GetPosition(), centre))), 8 * half)
        cam.SetParallelProjection(True)
        cam.SetParallelScale(half)
        cam.SetFocalPoint(*centre)
        cam.SetPosition(*(centre + dist * direction))
        cam.SetViewUp(*main_camera.GetViewUp())
        cam.SetClippingRange(dist * 1e-3, 3 * dist + 1e3 * half)

    def set_visible(self, visible: bool) -> None:
        self.shown = visible
        self.renderer.SetDraw(visible)
        self.locator.SetVisibility(visible)
