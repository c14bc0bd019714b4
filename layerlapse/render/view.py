"""One Plotter drawing a scene whose points move: built once, updated in place.

Every actor (class meshes, curve tubes, grid, decision boundary, labels) is created
when the view is made; :meth:`SceneView.set_state` only writes new point and normal
arrays into the existing meshes and sets texts. Nothing is rebuilt per frame.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

if not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
    # No X server: go straight to EGL instead of failing over from X with a warning.
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import Deformation, FrameSource
from layerlapse.networks.stretch import Stretch
from layerlapse.render.camera import FIT, CameraPath
from layerlapse.render.heat import HeatMap
from layerlapse.render.meshes import Tube, VertexNormals
from layerlapse.render.overlays import (
    DecisionView,
    Inset,
    Markers,
    ReferenceFrame,
    VoteView,
    boundary_edges,
    hull,
    line_mesh,
    polyline_cells,
    triangle_mesh,
)
from layerlapse.render.style import Style
from layerlapse.scenes.base import Scene

#: line widths at 720p, in pixels
CURVE_WIDTH = 4.0
BORDER_WIDTH = 2.5
OUTLINE_WIDTH = 2.5
DECISION_WIDTH = 2.5
MARKER_SIZE = 4.0  # radius of a ring in flat views, diameter of a dot in 3-D
#: a class whose picture is smaller than this (pixels at 720p) gets a zoomed inset
INSET_PIXELS = 14.0
#: the inset magnifies at most this much (a class squashed to a point stays a point)
MAX_ZOOM = 2000.0
#: the label :attr:`SceneView.visible_pixels` gives the grid of a scene without classes
GRID = -1
#: a class spanning fewer pixels than this (at 720p, the inset's zoom included) is lost from sight
VISIBLE_PIXELS = 3.0
#: grid lines coloured by a k-NN vote take this share of the class colour (the rest stays the grid's)
GRID_VOTE_SHARE = 0.8
#: cells along the longer side of a flat view's tinted k-NN vote image
VOTE_IMAGE_CELLS = 200


#: class cues (outlines, tube rims, the edges of 2-D lines) under the stretch heat map: near
#: black, bluish green, yellow, reddish purple; none on the cool-to-warm map's blue-grey-red axis
HEAT_CUES = ("#1a1a1a", "#009E73", "#F0E442", "#CC79A7")
KNN_STRETCH = ("color_by: 'stretch' would hide the k-NN head's vote (the colours that show its decision); "
               "use --color-by class with --head knn")


def heat_cue(label: int) -> str:
    """The class cue of class ``label`` under the stretch heat map."""
    return HEAT_CUES[label % len(HEAT_CUES)]


def _mix(colour: str, other: str, share: float) -> tuple[float, float, float]:
    a, b = np.array(pv.Color(colour).float_rgb), np.array(pv.Color(other).float_rgb)
    return tuple((1 - share) * a + share * b)


class Part:
    """One drawn part of the stacked points: its mesh, which of the part's points it shows
    (``rows``, or all), a depth offset ``dz`` (flat views) and a helper (vertex normals, or
    the tube and its rim). ``points``/``normals`` are numpy views of the VTK arrays, made
    once, so a frame writes into them without wrapping a new array."""

    def __init__(self, kind: str, sl: slice, mesh: pv.PolyData, rows: np.ndarray | None, dz: float,
                 helper=None) -> None:
        self.kind, self.sl, self.mesh, self.rows, self.dz, self.helper = kind, sl, mesh, rows, dz, helper
        self.points = vtk_to_numpy(mesh.GetPoints().GetData())
        vtk_normals = mesh.GetPointData().GetNormals()
        self.normals = vtk_to_numpy(vtk_normals) if vtk_normals is not None else None

    def modified(self) -> None:
        self.mesh.GetPoints().Modified()
        if self.normals is not None:
            self.mesh.GetPointData().GetNormals().Modified()


def grid_selection(lines: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Which grid lines (L, P, n) to draw: -> (strong line indices, faint line indices).

    ``full``: every line; ``box``: the box's edges, and faintly the lines through the
    middle of its faces; ``none``: nothing.
    """
    L = len(lines)
    if mode == "full":
        return np.arange(L), np.zeros(0, np.int64)
    if mode == "none" or L == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = lines.min((0, 1)), lines.max((0, 1))
    span = np.maximum(hi - lo, 1e-12)
    fixed = lines[:, 0]
    varying = np.abs(lines[:, -1] - lines[:, 0]) > 1e-9 * span
    values = [np.unique(fixed[:, j]) for j in range(lines.shape[2])]
    mid = np.array([u[np.argmin(np.abs(u - 0.5 * (lo[j] + hi[j])))] for j, u in enumerate(values)])
    on_edge = (np.abs(fixed - lo) < 1e-9 * span) | (np.abs(fixed - hi) < 1e-9 * span)
    at_edge = on_edge | varying
    at_mid = (np.abs(fixed - mid) < 1e-9 * span) | at_edge
    edge = at_edge.all(1)
    # through the middle of the box's faces (in 2-D: the square's two middle lines)
    faint = at_mid.all(1) & ~edge & ((on_edge & ~varying).sum(1) >= lines.shape[2] - 2)
    return np.flatnonzero(edge), np.flatnonzero(faint)


def activation_box(deformation, stage: int, t: float, *, output: bool) -> tuple[float, float, int, float] | None:
    """The box an animated stage squashes into, to show at ``stage`` (t in [0, 1]): (lo, hi,
    width, opacity), or None. It fades in during an activation stage and stays through the
    pause after it; at the output the decision takes its place."""
    stages = getattr(deformation, "stages", None)
    if not stages or stage < 0 or output:
        return None
    st = stages[stage]
    box = st.box
    return None if box is None else (box[0], box[1], st.n_out, float(min(1.0, 4.0 * t)))


class SceneView:
    """A scene drawn in one Plotter: :meth:`set_state` or :meth:`show_frame`, then :meth:`grab`.

    ``deformation`` holds the scene's stacked points (``Scene.points``) deformed over its
    timeline; ``camera`` its per-frame camera (or a still one). A ``camera.parallel`` view
    is drawn as the essay draws 2-D figures: flat colours, curves and outlines as lines of
    a fixed on-screen width, the grid behind the classes.
    """

    def __init__(
        self,
        scene: Scene,
        deformation: FrameSource,
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
        self.flat = flat = bool(camera.parallel)
        theme = pv.themes.Theme()
        theme.multi_samples = 0  # 5x a frame on llvmpipe; see Quality
        theme.background = style.background
        theme.font.color = style.text_color
        self.plotter = pv.Plotter(off_screen=off_screen, window_size=list(size), theme=theme, lighting="light kit")
        if anti_aliasing == "ssaa":
            self.plotter.enable_anti_aliasing("ssaa")
        elif anti_aliasing == "fxaa":  # on the renderer itself: PyVista's FXAA under EGL becomes SSAA
            self.plotter.renderer.UseFXAAOn()
        scale = size[1] / 720
        _, self.slices = scene.points()
        start = deformation.display(np.array([0]))[0]
        # depth layers of a flat view, from the back: grid, decision regions, axes and box,
        # classes (z = 0), outlines and curves, decision line
        self.eps = eps = 2e-3 * float(np.min(camera.radius))
        self.parts: list[Part] = []
        self.class_actors: dict[int, list] = {}
        self.class_points = scene.class_points()
        radius0 = style.tube_radius * float(camera.radius[0])
        self.depth = self._class_depths(start) if flat else {}
        slices = iter(self.slices)
        for surface in scene.surfaces:
            sl = next(slices)
            normals = VertexNormals(surface.faces, len(surface.vertices))
            mesh = triangle_mesh(start[sl], surface.faces, normals(start[sl]))
            self._add_class_mesh(mesh, surface.label)
            self.parts.append(Part("surface", sl, mesh, None, self._dz(surface.label), normals))
            edges = boundary_edges(surface.faces)
            if len(edges):  # a border keeps a squashed surface visible: a line of fixed width
                ids, segments = np.unique(edges, return_inverse=True)
                outline = line_mesh(start[sl][ids], segments.reshape(-1, 2))
                self._add_class_mesh(outline, surface.label, line_width=OUTLINE_WIDTH * scale)
                self.parts.append(Part("outline", sl, outline, ids, self._dz(surface.label, above=True)))
        for curve in scene.curves:
            sl = next(slices)
            if flat:
                n = len(curve.points)
                cells = np.r_[n + curve.closed, np.arange(n), [0] * curve.closed].astype(np.int64)
                mesh = pv.PolyData(start[sl].astype(np.float32), lines=cells)
                width = (CURVE_WIDTH if curve.label >= 0 else BORDER_WIDTH) * scale
                self._add_class_mesh(mesh, curve.label, line_width=width)
                self.parts.append(Part("line", sl, mesh, None, self._dz(curve.label, above=True)))
                continue
            tube = Tube(len(curve.points), closed=curve.closed)
            tube_points, tube_normals = tube(start[sl], radius0)
            mesh = triangle_mesh(tube_points, tube.faces, tube_normals)
            rim = triangle_mesh(hull(tube_points, tube_normals, radius0), tube.faces)
            rim_actor = self.plotter.add_mesh(rim, color=_mix(style.colour(curve.label), "black", 0.55), lighting=False,
                                              render=False, reset_camera=False)
            rim_actor.prop.culling = "front"
            self._add_class_mesh(mesh, curve.label)
            self.class_actors[curve.label].append(rim_actor)
            self.parts.append(Part("curve", sl, mesh, None, 0.0, (tube, rim)))
        self.grid_actors: list = []
        if scene.grid is not None:
            sl = next(slices)
            P = scene.grid.lines.shape[1]
            mode = style.grid if style.grid != "auto" else ("full" if deformation.planar else "box")
            for lines, colour in zip(grid_selection(scene.grid.lines, mode),
                                     (style.grid_color, _mix(style.grid_color, style.background, 0.55))):
                if not len(lines):
                    continue
                ids = (lines[:, None] * P + np.arange(P)).ravel()
                mesh = pv.PolyData(start[sl][ids].astype(np.float32), lines=polyline_cells(len(lines), P))
                actor = self.plotter.add_mesh(mesh, color=colour, line_width=style.grid_width * scale,
                                              lighting=False, render=False, reset_camera=False)
                if not flat:  # lines lying in a surface must not z-fight with it: push them back
                    actor.mapper.SetResolveCoincidentTopologyToPolygonOffset()
                    actor.mapper.SetRelativeCoincidentTopologyLineOffsetParameters(2.0, 8.0)
                self.grid_actors.append(actor)
                self.parts.append(Part("grid", sl, mesh, ids, -3 * eps if flat else 0.0))
        self.reference = None
        if style.axes:
            if deformation.planar:  # across every view of the movie
                reach = float(np.max(np.linalg.norm(camera.centre, axis=1) + 3 * FIT * camera.radius))
            else:  # in 3-D long axes are clutter: just past the data and the tanh box
                reach = 1.25 * max(1.0, float(np.abs(start[scene.framed_points()]).max()))
            self.reference = ReferenceFrame(
                self.plotter, dim=3 if not deformation.planar else 2, ambient=getattr(deformation, "dim", 3),
                reach=reach, colour=_mix(style.grid_color, style.background, 0.35), box_colour=style.text_color,
                width=1.2 * scale, z=-1.5 * eps)
        head = deformation.display_head(deformation.n_frames - 1)
        self.decision = None
        if head is not None and head[0].shape[0] == 2 and len(scene.class_names) == 2:
            self.decision = DecisionView(self.plotter, width=head[0].shape[1], planar=flat,
                                         colours=(style.colour(0), style.colour(1)),
                                         line_colour=_mix(style.text_color, style.background, 0.2),
                                         line_width=DECISION_WIDTH * scale, z=eps)
        self.boundary_actor = self.decision.line_actor if self.decision is not None else None
        self.markers = None
        self.misclassified = 0
        if hasattr(deformation, "misclassified") and len(scene.class_names) == 2 and len(scene.samples):
            wrong, where = deformation.misclassified(scene.samples, scene.labels)
            self.misclassified = len(wrong)
        if self.misclassified:  # an overlay layer only when there is something to mark
            ring = max(MARKER_SIZE * scale, 3.0) * FIT * float(camera.radius[-1]) / size[1] if flat else None
            self.markers = Markers(self.plotter, where, colour=style.text_color, size=MARKER_SIZE * scale, ring=ring)
        self.stretch: Stretch | None = None
        self.heat: HeatMap | None = None
        if style.color_by == "stretch":
            self.stretch, self.heat = self._heat_map(scale)
        self._heat_frames: dict[int, np.ndarray] = {}
        self.vote = self._vote_view() if self.heat is None else None  # one colouring at a time
        self.pulled_back = None  # the tie set carried through the layers (render/pulled_back.py)
        if style.boundary == "pulled-back":
            from layerlapse.render.pulled_back import PulledBack

            self.pulled_back = PulledBack.build(self.plotter, scene, deformation, colour=style.boundary_color,
                                                flat=flat, z=2.5 * eps, scale=scale, ambient=style.ambient)
        self.class_sets = {label: self._class_indices(label) for label in range(len(scene.class_names))}
        self.cutaways = [] if flat or scene.dim < 3 else self._cutaways(start)
        self.inset = None
        #: pixels (at 720p) each class spans in the current frame, the inset's zoom included
        self.visible_pixels: dict[int, float] = {}
        if len(self.class_sets) >= 2:
            lens = [a for actors in self.class_actors.values() for a in actors] + self.grid_actors
            if self.decision is not None:
                lens += self.decision.actors
            if self.vote is not None:
                lens += self.vote.actors
            if self.markers is not None:
                lens.append(self.markers.actor)
            self.inset = Inset(self.plotter, lens, background=style.background, colour=style.text_color,
                               font_size=max(7, int(round(13 * scale))))
        margin = 0.022 * size[1] / size[0]
        self.label_actor = self._text("", (margin, 0.965), 20 * scale, top=True)
        self._label_size = self.label_actor.GetTextProperty().GetFontSize()
        self.title_actor = self._text(title, (margin, 0.03), 13 * scale, top=False)
        self.hud = self._hud(scale) if style.hud else None
        # Translucent overlays (the decision's tint, the markers, the activation box) are few
        # and flat: plain alpha blending draws them the same as VTK's order-independent
        # translucency pass, which costs 10-20 ms a frame on llvmpipe.
        renderers = self.plotter.render_window.GetRenderers()
        for i in range(renderers.GetNumberOfItems()):
            renderers.GetItemAsObject(i).SetUseOIT(False)
        self._pixels = vtkUnsignedCharArray()
        if off_screen:
            self.plotter.show(auto_close=False, interactive=False)

    def _heat_map(self, scale: float) -> tuple[Stretch, HeatMap]:
        """The stretch heat map (``style.color_by == "stretch"``): every part but the class
        outlines coloured by :class:`~layerlapse.networks.stretch.Stretch`, limits fixed from
        the classes over the whole timeline."""
        deformation = self.deformation
        if not isinstance(deformation, Deformation):
            raise LayerlapseError("color_by: 'stretch' needs a network's layers; the training clock has none "
                                  "(use --over depth)")
        if deformation.knn_head is not None:
            raise LayerlapseError(KNN_STRETCH)
        stretch = Stretch(deformation, self.scene)
        limit = stretch.limits()
        by_mesh = {id(a.GetMapper().GetInput()): a
                   for a in [a for actors in self.class_actors.values() for a in actors] + self.grid_actors}
        targets = []
        for part in self.parts:
            actor = by_mesh.get(id(part.mesh))
            if actor is None or part.kind == "outline":
                continue
            tube = part.helper[0].sides if part.kind == "curve" else 0
            targets.append((part.mesh, actor, part.sl, part.rows, tube))
            label = next((lb for lb, actors in self.class_actors.items() if actor in actors), -1)
            if part.kind == "line" and label >= 0:  # a class's line keeps a class cue at its edges
                actor.prop.line_width = 1.5 * actor.prop.line_width
                under = self.plotter.add_mesh(part.mesh, color=heat_cue(label), lighting=False,
                                              line_width=actor.prop.line_width + 3.0 * scale, render=False,
                                              reset_camera=False)
                under.mapper.SetResolveCoincidentTopologyToPolygonOffset()
                under.mapper.SetRelativeCoincidentTopologyLineOffsetParameters(0.0, 4.0)
                self.class_actors[label].append(under)
        heat = HeatMap(self.plotter, targets, limit=limit, text_colour=self.style.text_color,
                       font_size=max(8, int(round(15 * scale))))
        # outlines and tube rims tell the classes apart, in colours the heat map does not use
        # (the default class colours, blue and orange, would read as squeezed and stretched)
        coloured = {id(t[1]) for t in targets}
        for label, actors in self.class_actors.items():
            for actor in actors:
                if id(actor) not in coloured and label >= 0:
                    actor.prop.color = heat_cue(label)
        for actor in heat.actors:  # colours, not highlights: a glossy heat map reads as paler
            actor.prop.specular = min(actor.prop.specular, 0.1)
        return stretch, heat

    def heat_batch(self, frames: np.ndarray) -> None:
        """Compute the heat map of a batch of frames at once (vectorised); :meth:`show_frame`
        then uses them."""
        if self.stretch is not None:
            frames = np.asarray(frames, dtype=np.int64)
            self._heat_frames = dict(zip(frames.tolist(), self.stretch.log_ratio(frames)))

    def update_heat(self, *, frame: int | None = None, stage: int = -1, t: float = 0.0) -> None:
        """Colour the parts by their stretch at timeline ``frame``, or at (``stage``, ``t``)."""
        if self.heat is None or self.stretch is None:
            return
        if frame is not None:
            values = self._heat_frames.pop(frame, None)
            if values is None:
                values = self.stretch.log_ratio(np.array([frame]))[0]
        else:
            values = self.stretch.at(stage, np.array([t]))[0]
        self.heat.update(values)

    def _vote_view(self) -> VoteView | None:
        """A k-NN head's decision region (:class:`~layerlapse.render.overlays.VoteView`): every
        part coloured by the vote at its final position, the grid lines mostly so, and in a
        flat view whose display is the final representation a tinted image of the vote over
        the data's padded box; None for an affine head."""
        deformation = self.deformation
        if not isinstance(deformation, Deformation):  # the training clock has no k-NN head
            return None
        votes = deformation.final_votes()
        if votes is None:
            return None
        by_mesh = {id(a.GetMapper().GetInput()): a
                   for a in [a for actors in self.class_actors.values() for a in actors] + self.grid_actors}
        parts = []
        for part in self.parts:
            actor = by_mesh.get(id(part.mesh))
            if actor is None:
                continue
            vote = votes[part.sl] if part.rows is None else votes[part.sl][part.rows]
            if part.kind == "curve":
                tube, _ = part.helper
                vote = np.repeat(vote, tube.sides) if tube.closed else np.r_[np.repeat(vote, tube.sides), vote[[0, -1]]]
            parts.append((part.mesh, actor, vote, GRID_VOTE_SHARE if part.kind == "grid" else 1.0))
        classes = deformation.knn_head.classes if deformation.knn_head is not None else len(self.scene.class_names)
        colours = [self.style.colour(c) for c in range(classes)]
        image = None
        if self.flat:
            final = deformation.display(np.array([deformation.n_frames - 1]))[0][self.class_points].astype(float)
            if len(final):
                lo, hi = final.min(0), final.max(0)
                pad = 0.04 * float((hi - lo)[:2].max()) + 1e-9
                lo, hi = lo - pad, hi + pad
                step = float((hi - lo)[:2].max()) / VOTE_IMAGE_CELLS
                xs = np.linspace(lo[0], hi[0], max(2, int(np.ceil((hi[0] - lo[0]) / step)) + 1))
                ys = np.linspace(lo[1], hi[1], max(2, int(np.ceil((hi[1] - lo[1]) / step)) + 1))
                X, Y = np.meshgrid(xs, ys)
                vote = deformation.vote_plane(np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], 1))
                if vote is not None:
                    image = (xs, ys, vote.reshape(X.shape), -2 * self.eps)
        return VoteView(self.plotter, parts, image, colours=colours)

    def _cutaways(self, start: np.ndarray) -> list:
        """3-D scenes where one class encloses another (a ball in a shell): clipping planes
        that open the enclosing class's surfaces on the camera's side, through the middle of
        the enclosed class, every frame, so it is never hidden. -> [(plane, enclosed indices)]."""
        import vtk

        boxes = {label: (start[idx].min(0), start[idx].max(0)) for label, idx in self.class_sets.items() if len(idx)}
        out = []
        for outer, (lo, hi) in boxes.items():
            inner = [label for label, (a, b) in boxes.items()
                     if label != outer and (a > lo + 1e-6).all() and (b < hi - 1e-6).all()]
            if not inner:
                continue
            plane = vtk.vtkPlane()
            for actor in self.class_actors[outer]:  # its surfaces and their outlines
                actor.mapper.AddClippingPlane(plane)
            out.append((plane, np.concatenate([self.class_sets[label] for label in inner])))
        return out

    def update_cutaways(self, positions: np.ndarray) -> None:
        """Face each cutaway plane away from the camera, through the enclosed class's middle."""
        if not self.cutaways:
            return
        cam = self.plotter.camera
        towards = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
        towards /= max(float(np.linalg.norm(towards)), 1e-30)
        for plane, inner in self.cutaways:
            pts = positions[inner]
            plane.SetOrigin(*(0.5 * (pts.min(0) + pts.max(0))))
            plane.SetNormal(*(-towards))

    def _dz(self, label: int, *, above: bool = False) -> float:
        """The depth offset of a class part in a flat view (0 in 3-D); lines ``above`` the fills."""
        if not self.flat:
            return 0.0
        return self.depth.get(label, 0.0) + (self.eps if above else 0.0)

    def _class_depths(self, start: np.ndarray) -> dict[int, float]:
        """Flat views: a small depth offset per class, the smallest class (by the area of its
        input bounding box) on top, so a class squashed onto another stays in sight."""
        labels = sorted({s.label for s in self.scene.surfaces} | {c.label for c in self.scene.curves})
        sizes = []
        for label in labels:
            pts = start[self._class_indices(label)]
            sizes.append(float(np.prod(np.ptp(pts[:, :2], 0) + 1e-12)) if len(pts) else 0.0)
        order = np.argsort(sizes)[::-1]  # largest first, lowest
        return {labels[i]: 0.8 * self.eps * rank / max(len(labels), 1) for rank, i in enumerate(order)}

    def _class_indices(self, label: int) -> np.ndarray:
        """Indices into the stacked points of class ``label``'s surfaces and curves."""
        parts = [s.label for s in self.scene.surfaces] + [c.label for c in self.scene.curves]
        sets = [np.arange(sl.start, sl.stop) for sl, part in zip(self.slices, parts) if part == label]
        return np.concatenate(sets) if sets else np.zeros(0, np.int64)

    def update_inset(self, positions: np.ndarray) -> None:
        """Zoom the inset on the class that covers the fewest pixels, if it covers fewer than
        :data:`INSET_PIXELS`; else hide it. Call after the camera is set.

        Also measures how many pixels (at 720p) each class spans in the frame, the inset's
        zoom included: :attr:`visible_pixels`, which :class:`Visibility` watches."""
        self.visible_pixels = {}
        cam = self.plotter.camera
        towards = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
        dist = float(np.linalg.norm(towards))
        up = np.array(cam.GetViewUp())
        right = np.cross(up, towards / max(dist, 1e-30))
        half = cam.GetParallelScale() if cam.GetParallelProjection() else dist * np.tan(np.radians(cam.GetViewAngle() / 2))
        px_per_unit = self.size[1] / (2 * half)
        best = None
        to_720p = 720 / self.size[1]
        if not self.class_sets:  # a scene without classes (the grid alone): watch all of it
            pts = positions.astype(float)
            self.visible_pixels[GRID] = max(np.ptp(pts @ up), np.ptp(pts @ right)) * px_per_unit * to_720p
        for label, idx in self.class_sets.items():
            if not len(idx):
                continue
            pts = positions[idx].astype(float)
            extent = max(np.ptp(pts @ up), np.ptp(pts @ right))
            self.visible_pixels[label] = extent * px_per_unit * to_720p
            if best is None or extent < best[1]:
                best = (label, extent, pts)
        if self.inset is None:
            return
        threshold = INSET_PIXELS * self.size[1] / 720
        if best is None or best[1] * px_per_unit >= threshold:
            self.inset.set_visible(False)
            return
        label, extent, pts = best
        lens_half = max(0.7 * extent, half / MAX_ZOOM)
        centre = 0.5 * (pts.min(0) + pts.max(0))
        # what the inset (its viewport, 2 lens_half high in world units) shows of
        # every class, the zoomed one and any other inside the lens
        x0, y0, x1, y1 = self.inset.renderer.GetViewport()
        aspect = (x1 - x0) * self.size[0] / ((y1 - y0) * self.size[1])
        inset_px_per_unit = (y1 - y0) * self.size[1] / (2 * lens_half) * to_720p
        for other, idx in self.class_sets.items():
            if not len(idx):
                continue
            rel = positions[idx].astype(float) - centre
            u, r = rel @ up, rel @ right
            inside = (np.abs(u) <= lens_half) & (np.abs(r) <= lens_half * aspect)
            if inside.any():
                seen = max(np.ptp(u[inside]), np.ptp(r[inside])) * inset_px_per_unit
                self.visible_pixels[other] = max(self.visible_pixels[other], seen)
        self.inset.pose(cam, centre, lens_half,
                        f"{self.scene.class_names[label]}, zoomed \u00d7{half / lens_half:.0f}")

    def _set_label(self, label: str) -> None:
        """Show ``label``, in a smaller font (down to 60%) if it would run past the right edge."""
        actor, prop = self.label_actor, self.label_actor.GetTextProperty()
        actor.SetInput(label)
        prop.SetFontSize(self._label_size)
        box = [0.0] * 4
        actor.GetBoundingBox(self.plotter.renderer, box)
        room = 0.96 * self.size[0] - box[0]
        if box[1] > box[0] + room > 0:
            prop.SetFontSize(max(int(self._label_size * 0.6), int(self._label_size * room / (box[1] - box[0]))))

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

    def _add_class_mesh(self, mesh: pv.PolyData, label: int, *, line_width: float | None = None) -> None:
        colour = self.style.colour(label)
        if line_width is not None:
            actor = self.plotter.add_mesh(mesh, color=colour, line_width=line_width, lighting=False,
                                          render=False, reset_camera=False)
        elif self.flat:
            actor = self.plotter.add_mesh(mesh, color=colour, lighting=False, render=False, reset_camera=False)
        else:
            ambient = self.style.ambient
            actor = self.plotter.add_mesh(mesh, color=colour, smooth_shading=False, ambient=ambient,
                                          diffuse=1.0 - 0.5 * ambient, specular=self.style.specular,
                                          specular_power=25.0, render=False, reset_camera=False)
            actor.prop.interpolation = "gouraud"
        self.class_actors.setdefault(label, []).append(actor)

    def set_state(self, positions: np.ndarray, *, label: str, tube_radius: float, boundary: float = 0.0,
                  head: tuple[np.ndarray, np.ndarray] | None = None,
                  box: tuple[float, float, int, float] | None = None, projection: np.ndarray | None = None) -> None:
        """Put every part at ``positions`` (V, 3) float32 and show ``label``. ``boundary`` in
        [0, 1] is the visibility of the decision of ``head`` (W, b) in display space (and of
        the misclassified markers); ``box`` (lo, hi, width, opacity) the activation's box,
        seen through ``projection`` (3, D) when D > 3."""
        for part in self.parts:
            pts = positions[part.sl]
            if part.kind == "curve":
                tube, rim = part.helper
                verts, normals = tube(pts, tube_radius)
                assert part.normals is not None  # tubes are lit
                part.points[:] = verts
                part.normals[:] = normals
                rim.points[:] = hull(verts, normals, tube_radius)
                rim.GetPoints().Modified()
            else:
                part.points[:] = pts if part.rows is None else pts[part.rows]
                if part.dz:
                    part.points[:, 2] += part.dz
                if part.kind == "surface" and not self.flat:
                    assert part.normals is not None
                    part.normals[:] = part.helper(pts)
            part.modified()
        if label != self.label_actor.GetInput():
            self._set_label(label)
        if self.reference is not None:
            self.reference.pose_box(box[:3] if box else None, box[3] if box else 0.0, projection)
        shown = boundary > 0
        if self.decision is not None:
            posed = shown and head is not None and self.decision.pose(*head, positions[self.class_points])
            self.decision.set_visible(bool(posed), boundary)
        if self.markers is not None:
            self.markers.set_visible(shown, boundary)
        if self.vote is not None:
            self.vote.set_fade(boundary)

    def _hud(self, scale: float) -> tuple[Any, dict[str, np.ndarray]] | None:
        """``style.hud``: a one-line readout in the lower left corner (above the title) of the
        current linear map's det and smallest singular value, the linking number of the
        classes' core curves (scenes that have them) and the accuracy: (text actor, per-frame
        values from :func:`~layerlapse.networks.certificate.frame_values`)."""
        from layerlapse.networks.certificate import frame_values

        if not isinstance(self.deformation, Deformation):
            raise LayerlapseError("hud: the readout follows a network's layers; the training clock has none "
                                  "(use --over depth)")
        values = frame_values(self.deformation, self.scene)
        margin = 0.022 * self.size[1] / self.size[0]
        actor = self._text("", (margin, 0.03 + 0.045), 13 * scale, top=False)  # a line above the title
        return actor, values

    def update_hud(self, frame: int) -> None:
        """Show the readout of timeline ``frame``."""
        if self.hud is None:
            return
        actor, values = self.hud
        det, smin, link = (float(values[k][frame]) for k in ("det", "sigma_min", "linking"))
        parts = [f"det W(t) {det:+.2f}", f"min singular value {smin:.2f}"]  # the font has no sigma
        if not np.all(np.isnan(values["linking"])):
            parts.append("linking n/a" if np.isnan(link) else f"linking {link:+.0f}"
                         if abs(link - round(link)) < 0.05 else f"linking {link:+.2f}")
        if self.accuracy is not None:
            parts.append(f"accuracy {100 * self.accuracy:.1f}%")
        text = " \u00b7 ".join(parts)
        if text != actor.GetInput():
            actor.SetInput(text)

    def frame_label(self, frame: int) -> str:
        """The on-screen text for ``frame``: layer and stage, and the accuracy at the end."""
        timeline = self.deformation.timeline
        text = timeline.label(frame)
        output = timeline.stage_names[timeline.name[frame]] == "output"
        if output:
            text += self.result_text()
        return text

    def result_text(self) -> str:
        """`` · accuracy 92.4% · 57 misclassified (dots)``, or nothing without an accuracy; a k-NN
        head says so first (`` · 8-NN vote · accuracy ...``)."""
        if self.accuracy is None:
            return ""
        knn = getattr(self.deformation, "knn_head", None)
        text = (f" \u00b7 {knn.describe()}" if knn is not None else "") + f" · accuracy {100 * self.accuracy:.1f}%"
        if self.misclassified:
            text += f" \u00b7 {self.misclassified} misclassified ({'rings' if self.flat else 'dots'})"
        return text

    def show_frame(self, frame: int, positions: np.ndarray, *, move_camera: bool = True) -> None:
        """Show timeline frame ``frame`` at ``positions`` (V, 3), with its label and camera."""
        timeline = self.deformation.timeline
        camera_frame = min(frame, len(self.camera.radius) - 1)
        stage = getattr(timeline, "stage", None)
        output = timeline.stage_names[timeline.name[frame]] == "output"
        box = None if stage is None else activation_box(self.deformation, int(stage[frame]), float(timeline.t[frame]),
                                                          output=output)
        projection = None
        if box is not None and isinstance(self.deformation, Deformation) and self.deformation.dim > 3:
            projection = self.deformation.projection(np.array([frame]))[0]
        self.set_state(positions, label=self.frame_label(frame),
                       tube_radius=self.style.tube_radius * float(self.camera.radius[camera_frame]),
                       boundary=timeline.boundary_opacity(frame), head=self.deformation.display_head(frame),
                       box=box, projection=projection)
        self.update_heat(frame=frame)
        self.update_hud(frame)
        if self.pulled_back is not None:
            self.pulled_back.show_frame(frame)
        if move_camera:
            self.camera.apply(self.plotter.camera, camera_frame)
        self.update_cutaways(positions)
        self.update_inset(positions)

    def grab(self) -> np.ndarray:
        """Render and read back the frame; -> (H, W, 3) uint8 (a new array)."""
        window = self.plotter.render_window
        window.Render()
        w, h = self.size
        window.GetPixelData(0, 0, w - 1, h - 1, 0, self._pixels, 0)
        return vtk_to_numpy(self._pixels).reshape(h, w, 3)[::-1].copy()

    def close(self) -> None:
        self.plotter.close()


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
