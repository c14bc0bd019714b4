"""One Plotter drawing a scene whose points move: built once, updated in place.

The parts and overlays come from the drawing model (:class:`~layerlapse.draw.model.DrawModel`);
every actor (class meshes, curve tubes, grid, decision boundary, labels) is created when
the view is made (:mod:`layerlapse.render.actors`); :meth:`SceneView.set_state` only
writes new point and normal arrays into the existing meshes and sets texts. Nothing is
rebuilt per frame.
"""

from __future__ import annotations

import os
import sys
from typing import Any

if not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
    # No X server: go straight to EGL instead of failing over from X with a warning.
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

from layerlapse.draw.camera import CameraPath
from layerlapse.draw.fourth import HiddenCoordinate
from layerlapse.draw.model import DrawModel, Kind
from layerlapse.draw.room import card_room, with_room
from layerlapse.draw.source import activation_box
from layerlapse.draw.style import Style
from layerlapse.draw.words import Cards, frame_caption, view_caption
from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import Deformation, FrameSource
from layerlapse.networks.stretch import Stretch
from layerlapse.render.actors import PartBuilder
from layerlapse.render.captions import backing, fit_caption
from layerlapse.render.colouring import fourth_map, heat_map, vote_view
from layerlapse.render.heat import HeatMap, bar_span
from layerlapse.render.lens import CAPTION_FONT, Inset
from layerlapse.render.overlays import DecisionView, Markers, ReferenceFrame
from layerlapse.render.sight import MAX_WIDEN, Widen, cutaways, drawn_sets, face_cutaways, pose_inset
from layerlapse.render.ticks import keep_out, tick_points
from layerlapse.render.words import Words, pose_error_inset
from layerlapse.scenes.base import Scene


def _plotter(style: Style, size: tuple[int, int], anti_aliasing: str, off_screen: bool) -> pv.Plotter:
    theme = pv.themes.Theme()
    theme.multi_samples = 0  # 5x a frame on llvmpipe; see Quality
    theme.background = style.background
    theme.font.color = style.text_color
    plotter = pv.Plotter(off_screen=off_screen, window_size=list(size), theme=theme, lighting="light kit")
    if anti_aliasing == "ssaa":
        plotter.enable_anti_aliasing("ssaa")
    elif anti_aliasing == "fxaa":  # on the renderer itself: PyVista's FXAA under EGL becomes SSAA
        plotter.renderer.UseFXAAOn()
    return plotter


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
        cards: Cards | None = None,
        captions: str = "burn",
    ) -> None:
        self.scene, self.deformation, self.camera, self.style = scene, deformation, camera, style
        self.size, self.accuracy, self.captions = size, accuracy, captions
        self.flat = bool(camera.parallel)
        self.plotter = _plotter(style, size, anti_aliasing, off_screen)
        scale = size[1] / 720
        start = deformation.display(np.array([0]))[0]
        self.model = model = DrawModel(scene, deformation, style, flat=self.flat, camera=camera, start=start)
        self.layers, self.slices, self.class_points = model.layers, model.slices, model.class_points
        self.eps = model.eps
        built = PartBuilder(self.plotter, style, flat=self.flat, scale=scale,
                            tube_radius=style.tube_radius * float(camera.radius[0]))
        self.parts = [built.build(part, start) for part in model.parts]
        self.class_actors, self.grid_actors = built.class_actors, built.grid_actors
        self._overlays(scale)
        self._colourings(built, scale)
        self.pulled_back = None  # the tie set carried through the layers (render/pulled_back.py)
        if style.boundary == "pulled-back":
            from layerlapse.render.pulled_back import PulledBack

            self.pulled_back = PulledBack.build(self.plotter, scene, deformation, colour=style.boundary_color,
                                                flat=self.flat, z=2.5 * self.eps, scale=scale, ambient=style.ambient)
        self.class_sets = model.class_sets
        #: the verdict lens's group of errors and corner, chosen at its first frame and kept
        self._error_lens: dict = {}
        #: the classes drawn only as dots, whose size on screen is their spread (see sight.cloud_pixels)
        self.cloud_labels = frozenset(c.label for c in model.scene.clouds) - frozenset(
            part.label for part in model.parts if part.kind is not Kind.POINTS)
        self.cutaways = [] if self.flat or scene.dim < 3 else cutaways(
            self.class_sets, self.class_actors, start, solids={s.label for s in scene.surfaces})
        self.inset = self._inset(scale)
        self.widen = Widen(self.class_actors, size) if self.flat and len(self.class_sets) > 1 else None
        self._tick_points = tick_points(model)
        #: pixels (at 720p) each class spans in the current frame, the inset's zoom included
        self.visible_pixels: dict[int, float] = {}
        self._shown_points: np.ndarray | None = None
        self._texts(title, scale)
        wrong = model.misclassified
        self.words = Words(self.plotter, size=size, style=style, class_names=scene.class_names, cards=cards,
                           markers=None if wrong is None else pv.Color(wrong.colour).hex_rgb)
        if self.heat is not None:  # the colour bar where no card, inset or band covers it
            self.heat.place_bars(*bar_span(size, self.heat.font_size, self.inset, self.words))
        # while a card stands the camera frames the data below its panel (draw/room.py)
        self.camera = with_room(camera, card_room(deformation.timeline, self.words.tops, deformation.timeline.fps)
                                if getattr(camera, "room", None) is None and len(camera.radius) > 1 else None)
        # Translucent overlays (the decision's tint, the markers, the activation box) are few
        # and flat: plain alpha blending draws them the same as VTK's order-independent
        # translucency pass, which costs 10-20 ms a frame on llvmpipe.
        renderers = self.plotter.render_window.GetRenderers()
        for i in range(renderers.GetNumberOfItems()):
            renderers.GetItemAsObject(i).SetUseOIT(False)
        self._pixels = vtkUnsignedCharArray()
        if off_screen:
            # what show() does offscreen, less its screenshot (kept as last_image, which
            # nothing reads: 0.1 s at a still's 3200x2400) and its render (grab() renders)
            self.plotter._on_first_render_request()

    def _colourings(self, built: PartBuilder, scale: float) -> None:
        """One colouring at a time: the stretch heat map (asked for), else a k-NN head's vote,
        else in an R^4 scene its 4th coordinate; the training clock has none of them."""
        model = self.model
        self.stretch: Stretch | None = None
        self.heat: HeatMap | None = None
        self.hidden: HiddenCoordinate | None = None
        self._heat_frames: dict[int, np.ndarray] = {}
        if self.style.color_by == "stretch":
            layers = self._needs_layers("color_by: 'stretch' needs a network's layers; the training clock has none "
                                        "(use --over depth)")
            self.stretch, self.heat = heat_map(self.plotter, layers, model, self.parts, built, scale)
        self.vote = vote_view(self.plotter, self.layers, model, self.parts) if self.heat is None and self.layers else None
        if self.heat is None and self.vote is None and self.layers is not None and self.layers.dim == 4:  # one hidden axis
            self.hidden, self.heat = fourth_map(self.plotter, self.layers, model, self.parts, scale)

    def _needs_layers(self, message: str) -> Deformation:
        """The network's layers, or ``message`` as an error (the training clock's movie has none)."""
        if self.layers is None:
            raise LayerlapseError(message)
        return self.layers

    def _overlays(self, scale: float) -> None:
        """The reference axes and box, the decision and the misclassified markers, as the model has them."""
        model, plotter = self.model, self.plotter
        axes = model.axes
        self.reference = None if axes is None else ReferenceFrame(
            plotter, dim=axes.dim, ambient=axes.ambient, reach=axes.reach, colour=axes.colour,
            box_colour=axes.box_colour, width=axes.width * scale, z=axes.z, label_colour=axes.label_colour,
            font_size=max(7, int(round(axes.font_size * scale))) if axes.font_size else 0, halo=self.style.background)
        decision = model.decision
        self.decision = None if decision is None else DecisionView(
            plotter, width=decision.width_in, planar=self.flat, colours=decision.colours,
            line_colour=decision.line_colour, line_width=decision.width * scale, z=decision.z,
            plane_colour=decision.plane_colour)
        self.boundary_actor = self.decision.line_actor if self.decision is not None else None
        self.argmax = None  # three classes or more: the argmax regions, or the points' halos
        if model.regions is not None or model.halos is not None:
            from layerlapse.render.argmax import HaloView, region_view

            self.argmax = region_view(plotter, model.regions) if model.regions is not None else \
                HaloView(plotter, model.halos, scale=scale)  # type: ignore[arg-type]
        wrong = model.misclassified
        self.misclassified = 0 if wrong is None else len(wrong.points)
        self.markers = None  # an overlay layer only when there is something to mark
        if wrong is not None:
            self.markers = Markers(plotter, wrong.points, colour=wrong.colour, size=wrong.size * scale,
                                   ring=model.marker_ring(self.camera, self.size))

    def _inset(self, scale: float) -> Inset | None:
        """The zoom lens (two classes or more), showing every actor but the overlays' text."""
        if len(self.class_sets) < 2:
            return None
        lens = [a for actors in self.class_actors.values() for a in actors] + self.grid_actors
        if self.decision is not None:
            lens += self.decision.actors
        if self.vote is not None:
            lens += self.vote.actors
        if self.argmax is not None:
            lens += self.argmax.actors
        return Inset(self.plotter, lens, background=self.style.background, colour=self.style.text_color,
                     font_size=max(7, int(round(CAPTION_FONT * scale))), markers=self.markers)

    def _texts(self, title: str, scale: float) -> None:
        margin = 0.022 * self.size[1] / self.size[0]
        self.label_actor = self._text("", (margin, 0.965), 20 * scale, top=True)
        self._label_size = self.label_actor.GetTextProperty().GetFontSize()
        self.title_actor = self._text(title, (margin, 0.03), 13 * scale, top=False)
        self.hud = self._hud(scale) if self.style.hud else None

    def heat_batch(self, frames: np.ndarray) -> None:
        """Compute the heat map of a batch of frames at once (vectorised); :meth:`show_frame`
        then uses them."""
        frames = np.asarray(frames, dtype=np.int64)
        if self.stretch is not None:
            self._heat_frames = dict(zip(frames.tolist(), self.stretch.log_ratio(frames)))
        elif self.hidden is not None:
            self._heat_frames = dict(zip(frames.tolist(), self.hidden.at_frames(frames)))

    def update_heat(self, *, frame: int | None = None, stage: int = -1, t: float = 0.0) -> None:
        """Colour the parts by their stretch (or an R^4 scene's 4th coordinate) at timeline
        ``frame``, or at (``stage``, ``t``)."""
        if self.heat is None:
            return
        if frame is not None and frame in self._heat_frames:
            values = self._heat_frames.pop(frame)
        elif self.stretch is not None:
            values = self.stretch.log_ratio(np.array([frame]))[0] if frame is not None \
                else self.stretch.at(stage, np.array([t]))[0]
        elif self.hidden is not None:
            values = self.hidden.at_frames(np.array([frame]))[0] if frame is not None else self.hidden.at(stage, t)
        else:
            return
        self.heat.update(values)

    def update_cutaways(self, positions: np.ndarray) -> None:
        """Face each cutaway plane away from the camera, through the enclosed class's middle."""
        face_cutaways(self.plotter.camera, self.cutaways, positions)

    def update_inset(self, positions: np.ndarray) -> None:
        """Zoom the inset on the class that covers the fewest pixels (if it covers only a
        few) and measure :attr:`visible_pixels`, which :class:`~layerlapse.render.sight.Visibility`
        watches, and number the reference axes' ticks. Call after the camera is set."""
        areas: dict[int, float] | None = None if self.widen is None else {}
        sets = drawn_sets(self.class_sets, self.cutaways, positions)
        self.visible_pixels = pose_inset(self.plotter.camera, self.size, sets, self.scene.class_names,
                                         positions, self.inset, areas, MAX_WIDEN if self.widen else 1.0,
                                         self.cloud_labels)
        if self.widen is not None and areas is not None:
            self.widen.update(areas)
        self._tick_data = positions[self._tick_points]
        self._pose_ticks()

    def _pose_ticks(self) -> None:
        """Number the axes, the labels kept off the data, the inset, a card's panel and the colour bar."""
        if self.reference is not None:
            self.reference.pose_ticks(self.plotter.renderer, self.size, keep_out(self), getattr(self, "_tick_data", None))

    def _text(self, text: str, position: tuple[float, float], size: float, *, top: bool):
        """A text actor at a viewport position (fractions of width, height), inset from the edges."""
        actor = self.plotter.add_text(text, position=position, viewport=True, font_size=max(7, int(round(size))),
                                      color=self.style.text_color, render=False)
        prop = actor.GetTextProperty()
        if top:
            prop.SetVerticalJustificationToTop()
        else:
            prop.SetVerticalJustificationToBottom()
        backing(prop, self.style.background)
        return actor

    @property
    def label_text(self) -> str:
        """The caption shown, unwrapped."""
        return getattr(self, "_label", "")

    def _set_label(self, label: str) -> None:
        """Show ``label`` within the margins: in a smaller font (down to 75%) if it would run
        past the right margin, and on two balanced lines if even that is too wide."""
        self._label = label  # the actor may hold it wrapped
        fit_caption(self.label_actor, self.plotter.renderer, label, self._label_size, self.size)

    def set_state(self, positions: np.ndarray, *, label: str, tube_radius: float, boundary: float = 0.0,
                  head: tuple[np.ndarray, np.ndarray] | None = None,
                  box: tuple[float, float, int, float] | None = None, projection: np.ndarray | None = None) -> None:
        """Put every part at ``positions`` (V, 3) float32 and show ``label``. ``boundary`` in
        [0, 1] is the visibility of the decision of ``head`` (W, b) in display space (and of
        the misclassified markers); ``box`` (lo, hi, width, opacity) the activation's box,
        seen through ``projection`` (3, D) when D > 3."""
        for drawn in self.parts:
            drawn.update(positions[drawn.sl], tube_radius=tube_radius, flat=self.flat)
        if label != getattr(self, "_label", None):
            self._set_label(label)
        if self.reference is not None:
            self.reference.pose_box(box[:3] if box else None, box[3] if box else 0.0, projection)
        shown = boundary > 0
        posed = False
        if self.decision is not None:
            posed = shown and head is not None and self.decision.pose(*head, positions[self.class_points])
            self.decision.set_visible(bool(posed), boundary)
        if self.pulled_back is not None:  # the decision replaces it at the output
            self.pulled_back.set_fade(boundary if posed else 0.0)
        if self.markers is not None:
            self.markers.set_visible(shown, boundary)
            self.words.show_markers(shown)
        if self.vote is not None:
            self.vote.set_fade(boundary)
        if self.argmax is not None:
            self.argmax.set_fade(boundary)

    def _hud(self, scale: float) -> tuple[Any, dict[str, np.ndarray]] | None:
        """``style.hud``: a one-line readout in the lower left corner (above the title) of the
        current linear map's det and smallest singular value, the linking number of the
        classes' core curves (scenes that have them) and the accuracy: (text actor, per-frame
        values from :func:`~layerlapse.networks.certificate.frame_values`)."""
        from layerlapse.networks.certificate import frame_values

        layers = self._needs_layers("hud: the readout follows a network's layers; the training clock has none "
                                    "(use --over depth)")
        values = frame_values(layers, self.scene)
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
        """The on-screen text for ``frame``: its stage's caption in words and symbols (the
        training clock's line), the accuracy at the end; nothing unless captions are burnt in."""
        timeline = self.deformation.timeline
        if self.captions != "burn":
            return ""
        if not hasattr(timeline, "caption"):  # the training clock's timeline: one line per frame
            return timeline.label(frame)
        text = frame_caption(timeline, frame, self.result_text())
        layers = self.layers
        if layers is not None and layers.dim > 3:  # wider data: say how much of it the view holds
            text += view_caption(layers.shown_width(frame), float(layers.view_share(np.array([frame]))[0]))
        return text

    def result_text(self) -> str:
        """`` · accuracy 92.4% · 57 misclassified (dots)``, or nothing without an accuracy; a k-NN
        head says so first (`` · 8-NN vote · accuracy ...``)."""
        return self.model.result_text(self.accuracy)

    def show_frame(self, frame: int, positions: np.ndarray, *, move_camera: bool = True) -> None:
        """Show timeline frame ``frame`` at ``positions`` (V, 3), with its label and camera."""
        timeline = self.deformation.timeline
        camera_frame = min(frame, len(self.camera.radius) - 1)
        output = timeline.stage_names[timeline.name[frame]] == "output"
        box = projection = None
        if self.layers is not None:  # the training clock's movie has no stages, so no box
            box = activation_box(self.layers, int(timeline.stage[frame]), float(timeline.t[frame]), output=output)
            if box is not None and self.layers.dim > 3:
                projection = self.layers.projection(np.array([frame]))[0]
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
        self._shown_points = positions[self.class_points]  # what the verdict's inset keeps clear of
        self.show_card(getattr(timeline, "card_at", lambda _: None)(frame))

    def frame_key(self, frame: int, positions: np.ndarray) -> tuple:
        """Everything :meth:`show_frame` draws timeline ``frame`` from: two frames with equal
        keys render the same pixels, so a movie's holds and cards render once (see
        :func:`~layerlapse.render.movie.render_frames`). The stage and its time stand for what
        follows from them (the heat map, the readout, the activation's box, the carried
        boundary); the camera's pose, the caption, the card and the decision's fade are read
        directly."""
        timeline, camera, layers = self.deformation.timeline, self.camera, self.layers
        at = min(frame, len(camera.radius) - 1)
        pose = (camera.centre[at].tobytes(), float(camera.radius[at]), float(camera.depth[at]),
                float(camera.azimuth[at]), None if camera.room is None else camera.room[at].tobytes())
        stage = getattr(timeline, "stage", None)
        moment = None if stage is None else (int(stage[frame]), float(timeline.t[frame]), int(timeline.name[frame]))
        head = self.deformation.display_head(frame)
        projection = layers.projection(np.array([frame]))[0].tobytes() if layers is not None and layers.dim > 3 \
            else None
        return (positions.tobytes(), self.frame_label(frame), timeline.boundary_opacity(frame),
                getattr(timeline, "card_at", lambda _: None)(frame), moment, pose, projection,
                None if head is None else (head[0].tobytes(), head[1].tobytes()))

    def show_card(self, which: str | None) -> None:
        """Stand the card ``which`` (``title``, ``verdict``, None) over the frame: the stage
        label gives way to it, and on the verdict the inset looks at the misclassified samples."""
        self.words.show(which)
        if self.words.shown is None:
            return
        self._set_label("")
        wrong = self.model.misclassified
        if which == "verdict" and wrong is not None:
            pose_error_inset(self.plotter.camera, self.size, wrong.points, self.inset, avoid=self._shown_points,
                             chosen=self._error_lens)
        self._pose_ticks()  # clear of the card's panel and where the inset now is

    def grab(self) -> np.ndarray:
        """Render and read back the frame; -> (H, W, 3) uint8 (a new array)."""
        window = self.plotter.render_window
        window.Render()
        w, h = self.size
        window.GetPixelData(0, 0, w - 1, h - 1, 0, self._pixels, 0)
        return vtk_to_numpy(self._pixels).reshape(h, w, 3)[::-1].copy()

    def close(self) -> None:
        self.plotter.close()


