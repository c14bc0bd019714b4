"""Keeping every class in sight: cutaways that open a class enclosing another, the zoom
inset on a class that covers only a few pixels, and :class:`Visibility`, which warns when
a class is lost from sight anyway."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from layerlapse.draw.area import AREA_SHARE, AREA_SHARE_3D, screen_area
from layerlapse.draw.model import OUTLINE_WIDTH, line_pixels

if TYPE_CHECKING:  # Visibility is pure: the size checks of a batch load it without VTK
    from layerlapse.render.lens import Inset

#: a class whose picture is smaller than this (pixels at 720p) gets a zoomed inset
INSET_PIXELS = 40.0
#: the inset magnifies at most this much (a class squashed to a point stays a point)
MAX_ZOOM = 2000.0
#: and at least this much, in pixels (a long class squashed thin is seen in part, larger)
MIN_MAGNIFY = 2.0
#: a squashed class's lines are widened at most this much (:class:`Widen`)
MAX_WIDEN = 5.0
#: and a squashed cloud's dots at most this much (a dot 5 times wider would hide its neighbours)
MAX_POINT_WIDEN = 2.0
#: the label :attr:`~layerlapse.render.view.SceneView.visible_pixels` gives the grid of a scene without classes
GRID = -1
#: a class spanning fewer pixels than this (at 720p, the inset's zoom included) is lost from sight
VISIBLE_PIXELS = 3.0


def cutaways(class_sets: dict[int, np.ndarray], class_actors: dict[int, list], start: np.ndarray, *,
             solids: set[int]) -> list:
    """3-D scenes where one class encloses another (a ball in a shell): clipping planes
    that open the enclosing class's surfaces on the camera's side, through the middle of
    the enclosed class, every frame, so it is never hidden. -> [(plane, enclosed indices,
    enclosing label)].

    Only a class with surfaces (``solids``: their labels) can enclose: a curve hides nothing
    its bounding box holds, and cutting it (the trefoil around its ring) breaks the knot open."""
    from layerlapse.render import _vtk as vtk

    boxes = {label: (start[idx].min(0), start[idx].max(0)) for label, idx in class_sets.items() if len(idx)}
    out = []
    for outer, (lo, hi) in boxes.items():
        if outer not in solids:
            continue
        inner = [label for label, (a, b) in boxes.items()
                 if label != outer and (a > lo + 1e-6).all() and (b < hi - 1e-6).all()]
        if not inner:
            continue
        plane = vtk.vtkPlane()
        for actor in class_actors[outer]:  # its surfaces and their outlines
            actor.mapper.AddClippingPlane(plane)
        out.append((plane, np.concatenate([class_sets[label] for label in inner]), outer))
    return out


def face_cutaways(camera, planes: list, positions: np.ndarray) -> None:
    """Face each cutaway plane away from ``camera``, through the enclosed class's middle."""
    if not planes:
        return
    towards = np.subtract(camera.GetPosition(), camera.GetFocalPoint())
    towards /= max(float(np.linalg.norm(towards)), 1e-30)
    for plane, inner, _ in planes:
        pts = positions[inner]
        plane.SetOrigin(*(0.5 * (pts.min(0) + pts.max(0))))
        plane.SetNormal(*(-towards))


def _lens(cam, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The main camera's screen axes: (towards, up, right, view half-height, pixels per unit)."""
    towards = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
    dist = float(np.linalg.norm(towards))
    up = np.array(cam.GetViewUp())
    right = np.cross(up, towards / max(dist, 1e-30))
    half = cam.GetParallelScale() if cam.GetParallelProjection() else dist * np.tan(np.radians(cam.GetViewAngle() / 2))
    return towards, up, right, half, size[1] / (2 * half)


def class_pixels(uv: np.ndarray, size: tuple[int, int], px_per_unit: float, enough: float) -> float:
    """The estimated pixels a class at screen coordinates ``uv`` (N, 2, world units from the
    view's centre) covers in a frame of ``size``: only what falls inside the frame counts."""
    xy = uv * px_per_unit
    inside = (np.abs(xy[:, 0]) <= size[0] / 2) & (np.abs(xy[:, 1]) <= size[1] / 2)
    return screen_area(xy[inside], line_pixels(OUTLINE_WIDTH, size[1] / 720), enough=enough)


def cloud_pixels(uv: np.ndarray, px_per_unit: float) -> float:
    """The pixels a class drawn as dots (a cloud) reads as covering: the box of its middle
    96% along each screen axis. A sparse cloud's dots cover a few pixels each, however wide
    it spreads (one digit of ten: 0.1% of the frame across half of it), so the rasterised
    estimate would zoom on every cloud in every frame; a cloud collapses when its spread does."""
    lo, hi = np.percentile(uv, [2.0, 98.0], axis=0)
    return float(np.prod(np.maximum(hi - lo, 0.0))) * px_per_unit**2


def pose_inset(cam, size: tuple[int, int], class_sets: dict[int, np.ndarray], class_names: tuple[str, ...],
               positions: np.ndarray, inset: Inset | None, areas: dict[int, float] | None = None,
               widened: float = 1.0, clouds: frozenset[int] = frozenset()) -> dict[int, float]:
    """Zoom ``inset`` on the class that covers the fewest pixels, if it spans fewer than
    :data:`INSET_PIXELS` or covers less than :data:`~layerlapse.draw.area.AREA_SHARE` of the
    frame (a short line squashed into a corner); else hide it. Call after the camera ``cam`` is set.

    -> how many pixels (at 720p) each class spans in the frame, the inset's zoom included
    (:data:`GRID` for a scene without classes), which :class:`Visibility` watches. ``areas``
    (if given) is filled with each class's estimated pixels (the large ones at least the share);
    ``widened``: how much wider a squashed class's lines may be drawn (:class:`Widen`), so the
    inset is called only for a class that even so would cover less than the share. A class
    in ``clouds`` (drawn only as dots) is zoomed only when its extent is under
    :data:`INSET_PIXELS` (each dot stays a dot of its own size, and a cloud of dots reads as
    one wherever it spreads); its area (:func:`cloud_pixels`) is its spread's."""
    visible: dict[int, float] = {}
    _, up, right, half, px_per_unit = _lens(cam, size)
    to_720p = 720 / size[1]
    if not class_sets:  # a scene without classes (the grid alone): watch all of it
        pts = positions.astype(float)
        visible[GRID] = max(np.ptp(pts @ up), np.ptp(pts @ right)) * px_per_unit * to_720p
    enough = (AREA_SHARE if cam.GetParallelProjection() else AREA_SHARE_3D) * size[0] * size[1]
    centre3, axes = np.array(cam.GetFocalPoint()), np.stack([right, up], 1)
    best = None
    for label, idx in class_sets.items():
        if not len(idx):
            continue
        pts = positions[idx].astype(float)
        ru = axes.T @ (pts - centre3).T  # (2, N): numpy reduces rows fast, an (N, 2) array's columns slowly
        extent = float((ru.max(1) - ru.min(1)).max())
        visible[label] = extent * px_per_unit * to_720p
        if inset is None and areas is None:
            continue
        area = cloud_pixels(ru.T, px_per_unit) if label in clouds else class_pixels(ru.T, size, px_per_unit, enough)
        if areas is not None:
            areas[label] = area
        if extent * px_per_unit < INSET_PIXELS * size[1] / 720:
            area = 0.0
        elif label in clouds:  # a cloud's dots read wherever they spread: zoomed only when it collapses
            continue
        if area * widened < enough and (best is None or area < best[1]):
            best = (label, area, pts, extent)
    if inset is None:
        return visible
    if best is None:
        inset.set_visible(False)
        return visible
    label, _, pts, extent = best
    _zoom(cam, size, inset, pts, extent, half, class_names[label], class_sets, positions, visible)
    return visible


def _zoom(cam, size, inset: Inset, pts: np.ndarray, extent: float, half: float, name: str,
          class_sets: dict[int, np.ndarray], positions: np.ndarray, visible: dict[int, float]) -> None:
    """Pose ``inset`` on a class (its points ``pts``, spanning ``extent``): centred on its
    point nearest its median, at least :data:`MIN_MAGNIFY` times larger than in the frame,
    and raise ``visible`` by what the inset shows of every class."""
    _, up, right, _, px_per_unit = _lens(cam, size)
    x0, y0, x1, y1 = inset.renderer.GetViewport()
    inset_px = (y1 - y0) * size[1]
    lens_half = min(0.7 * extent, inset_px / (2 * MIN_MAGNIFY * px_per_unit))
    lens_half = max(lens_half, half / MAX_ZOOM)
    centre = pts[np.argmin(np.abs(pts - np.median(pts, 0)).sum(1))]
    # what the inset (its viewport, 2 lens_half high in world units) shows of
    # every class, the zoomed one and any other inside the lens
    aspect = (x1 - x0) * size[0] / inset_px
    inset_px_per_unit = inset_px / (2 * lens_half) * 720 / size[1]
    for other, idx in class_sets.items():
        if not len(idx):
            continue
        rel = positions[idx].astype(float) - centre
        u, r = rel @ up, rel @ right
        inside = (np.abs(u) <= lens_half) & (np.abs(r) <= lens_half * aspect)
        if inside.any():
            seen = max(np.ptp(u[inside]), np.ptp(r[inside])) * inset_px_per_unit
            visible[other] = max(visible[other], seen)
    drawn = np.concatenate([idx for idx in class_sets.values() if len(idx)]) if class_sets else np.zeros(0, int)
    inset.pose(cam, centre, lens_half, name, avoid=positions[drawn[:: max(1, len(drawn) // 2000)]])


def drawn_sets(class_sets: dict[int, np.ndarray], planes: list, positions: np.ndarray) -> dict[int, np.ndarray]:
    """``class_sets`` without the points the cutaways ``planes`` (faced this frame) open: what
    the inset and the area estimate see of an enclosing class is what is drawn of it."""
    if not planes:
        return class_sets
    out = dict(class_sets)
    for plane, _, outer in planes:
        idx = out[outer]
        kept = (positions[idx] - np.array(plane.GetOrigin())) @ np.array(plane.GetNormal()) >= 0
        out[outer] = idx[kept]
    return out


class Widen:
    """Flat views: a class's lines (curves, outlines) drawn wider while the class covers less
    than :data:`~layerlapse.draw.area.AREA_SHARE` of the frame, up to :data:`MAX_WIDEN` times,
    in proportion to what it lacks: a class squashed into a corner stays a visible stroke;
    a cloud's dots grow the same way, up to :data:`MAX_POINT_WIDEN` times."""

    def __init__(self, class_actors: dict[int, list], size: tuple[int, int]) -> None:
        self.lines = {label: [(a, a.GetProperty().GetLineWidth()) for a in actors
                              if a.GetProperty().GetLineWidth() > 1 and a.GetMapper().GetInput().GetNumberOfLines()]
                      for label, actors in class_actors.items()}
        self.points = {label: [(a, a.GetProperty().GetPointSize()) for a in actors if _is_cloud(a)]
                       for label, actors in class_actors.items()}
        self.enough = AREA_SHARE * size[0] * size[1]

    def update(self, areas: dict[int, float]) -> None:
        for label, actors in self.lines.items():
            area = areas.get(label, self.enough)
            k = float(np.clip(self.enough / max(area, 1.0), 1.0, MAX_WIDEN))
            for actor, width in actors:
                actor.GetProperty().SetLineWidth(round(width * k))
        for label, actors in self.points.items():
            area = areas.get(label, self.enough)
            k = float(np.clip(self.enough / max(area, 1.0), 1.0, MAX_POINT_WIDEN))
            for actor, size in actors:
                actor.GetProperty().SetPointSize(size * k)


def _is_cloud(actor) -> bool:
    """Whether ``actor`` draws a cloud's points (vertices only, no lines or faces)."""
    data = actor.GetMapper().GetInput()
    return bool(data.GetNumberOfVerts() and not data.GetNumberOfLines() and not data.GetNumberOfPolys())


class Visibility:
    """Which frames lose a class from sight: it spans fewer than :data:`VISIBLE_PIXELS` (at
    720p, the inset's zoom included: squashed to a point, or a speck beside the other
    classes). :meth:`warn` says so once per class, so a blank picture never passes silently."""

    def __init__(self, class_names: tuple[str, ...]) -> None:
        self.class_names = class_names
        self.lost: dict[int, list[int]] = {}
        self.frames = 0

    def record(self, frame: int, visible_pixels: dict[int, float]) -> None:
        self.frames += 1
        for label, pixels in visible_pixels.items():
            if pixels < VISIBLE_PIXELS:
                self.lost.setdefault(label, []).append(frame)

    def add(self, lost: dict[int, list[int]], frames: int) -> None:
        """What another view recorded over other frames of the same movie (a split render's
        worker): ``lost`` as :attr:`lost` holds it, over ``frames`` frames."""
        self.frames += frames
        for label, which in lost.items():
            self.lost[label] = sorted([*self.lost.get(label, []), *which])

    def warn(self, *, fps: float | None = None, what: str = "frames") -> None:
        for label, frames in sorted(self.lost.items()):
            name = "the grid" if label == GRID else f"class {self.class_names[label]!r}"
            when = f", from {frames[0] / fps:.1f} s" if fps else ""
            count = f"{len(frames)} of {self.frames} {what}" if self.frames > 1 else "this picture"
            why = ("the layers squash it to a point, or the scene is too small to draw" if label == GRID else
                   "the network squashes it to a point, or its geometry is tiny beside the rest: "
                   "mesh scenes can set normalize = \"each\"")
            warnings.warn(f"visibility: {name} spans fewer than {VISIBLE_PIXELS:.0f} pixels in {count}{when}, "
                          f"even zoomed: it is out of sight there ({why})", stacklevel=2)
