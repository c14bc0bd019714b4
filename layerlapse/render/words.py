"""The words on a VTK frame (their text comes from :mod:`layerlapse.draw.words`): the class
legend in the bottom band, and the title and verdict cards, large text on a translucent
panel in the top band with the data in view below and through it; on the verdict card the
zoom inset looks at where the misclassified samples are.

Everything is built once; a frame only switches the cards on and off.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from layerlapse.draw.style import Style
from layerlapse.draw.words import BODY_FONT, HEADLINE_FONT, LEGEND_FONT, TITLE_FONT, Cards, legend, wrap

#: the card panel: its share of the width, its top edge (a share of the height), its opacity
#: (the data behind it stays readable, the text on it stands out)
PANEL_WIDTH, PANEL_TOP, PANEL_OPACITY = 0.94, 0.975, 0.86
#: the legend's baseline and right margin (shares of the height): inside the bottom 12% band
LEGEND_BOTTOM, MARGIN = 0.03, 0.03
#: the share of the width one legend row may take (the title stands at the left); two rows:
#: the lower one's baseline (a share of the height) and the distance between the rows (a share
#: of the legend's font), so that both stay under the zoom inset's lower corners (8% up)
LEGEND_SHARE, TWO_ROWS_BOTTOM, LEGEND_PITCH = 0.62, 0.012, 1.3
#: the layers the cards draw on: above the markers (1) and the inset (2); the text on a
#: layer above its panel's (within one renderer VTK may draw a translucent panel over it)
CARD_LAYER = 3


def legend_rows(widths: list[float], budget: float) -> list[list[int]]:
    """The legend's classes (each ``widths[i]`` pixels with its swatch and spacing) in rows:
    one if they fit in ``budget``, else two, the first holding the first half (rounded up);
    -> the rows' class indices, top row first."""
    if sum(widths) <= budget or len(widths) < 2:
        return [list(range(len(widths)))]
    half = (len(widths) + 1) // 2
    return [list(range(half)), list(range(half, len(widths)))]


def _viewport_coordinate():
    from layerlapse.render import _vtk as vtk

    coordinate = vtk.vtkCoordinate()
    coordinate.SetCoordinateSystemToNormalizedViewport()
    return coordinate


def _rectangle(x0: float, y0: float, x1: float, y1: float, colour, opacity: float, *, outline: bool = False):
    """A filled (or outlined) rectangle in normalised viewport coordinates, as a 2-D actor."""

    poly = pv.PolyData(np.array([[x0, y0, 0], [x1, y0, 0], [x1, y1, 0], [x0, y1, 0]], np.float32),
                       lines=np.array([5, 0, 1, 2, 3, 0]) if outline else None,
                       faces=None if outline else np.array([4, 0, 1, 2, 3]))
    actor = _actor_2d(poly, colour)
    actor.GetProperty().SetOpacity(opacity)
    return actor


def _actor_2d(poly: pv.PolyData, colour):
    """A 2-D actor drawing ``poly`` (normalised viewport coordinates) in ``colour``."""
    from layerlapse.render import _vtk as vtk

    mapper = vtk.vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    mapper.SetTransformCoordinate(_viewport_coordinate())
    actor = vtk.vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(pv.Color(colour).float_rgb)
    return actor


def _ring(x: float, y: float, radius_px: float, size: tuple[int, int], colour, width: float):
    """A circle of ``radius_px`` pixels around (x, y) in normalised viewport coordinates, as
    a 2-D actor: the misclassified markers' look in the legend."""

    phi = np.linspace(0, 2 * np.pi, 17)
    pts = np.stack([x + radius_px * np.cos(phi) / size[0], y + radius_px * np.sin(phi) / size[1], 0 * phi], 1)
    poly = pv.PolyData(pts.astype(np.float32), lines=np.r_[len(phi), np.arange(len(phi))])
    actor = _actor_2d(poly, colour)
    actor.GetProperty().SetLineWidth(width)
    return actor


def _text(colour, size: float, *, bold: bool = False, centred: bool = False):
    from layerlapse.render import _vtk as vtk

    actor = vtk.vtkTextActor()
    actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    prop = actor.GetTextProperty()
    prop.SetFontSize(max(7, int(round(size))))
    prop.SetColor(pv.Color(colour).float_rgb)
    prop.SetBold(bold)
    prop.SetVerticalJustificationToTop()
    if centred:
        prop.SetJustificationToCentered()
    return actor


def _fit(actor, renderer, width_px: float) -> tuple[float, float]:
    """Shrink ``actor``'s font until its text is at most ``width_px`` wide; -> its (width, height) in pixels."""
    prop = actor.GetTextProperty()
    for _ in range(4):
        box = [0.0] * 4
        actor.GetBoundingBox(renderer, box)
        w, h = box[1] - box[0], box[3] - box[2]
        if w <= width_px or prop.GetFontSize() <= 7:
            return w, h
        prop.SetFontSize(max(7, int(prop.GetFontSize() * width_px / w)))
    return w, h


class Words:
    """The legend (in ``plotter``'s own renderer) and the cards (two renderers of their own, on top)."""

    def __init__(self, plotter: pv.Plotter, *, size: tuple[int, int], style: Style, class_names: tuple[str, ...],
                 cards: Cards | None, markers: str | None = None) -> None:
        from layerlapse.render import _vtk as vtk

        self.plotter, self.size, self.style = plotter, size, style
        self.scale = size[1] / 720
        self.legend_actors = self._legend(class_names, markers)
        window = plotter.render_window
        window.SetNumberOfLayers(max(CARD_LAYER + 2, window.GetNumberOfLayers()))
        self.back, self.renderer = vtk.vtkRenderer(), vtk.vtkRenderer()  # the panels, the text over them
        for layer, renderer in enumerate((self.back, self.renderer), CARD_LAYER):
            renderer.SetLayer(layer)
            renderer.InteractiveOff()
            window.AddRenderer(renderer)
        self.cards = cards
        self.panels: dict[str, list] = {}
        #: the share of the frame's height each card's panel takes from the top (the camera frames the data below)
        self.tops: dict[str, float] = {}
        if cards is not None:
            self.panels["title"], self.tops["title"] = self._title(cards.title), self._top
            self.panels["verdict"], self.tops["verdict"] = self._verdict(cards.verdict), self._top
        self.shown: str | None = "none"
        self.show(None)

    def _legend(self, class_names: tuple[str, ...], markers: str | None) -> list:
        """Swatch and name of every class, right-aligned along the bottom edge, and to their
        left the misclassified markers' ring (in their colour ``markers``). Classes that do
        not fit in :data:`LEGEND_SHARE` of the width take two rows (the first half above),
        in a smaller font if even those run over."""
        renderer, (w, h) = self.plotter.renderer, self.size
        font = LEGEND_FONT * self.scale
        entries = legend(class_names, self.style, markers=markers)
        texts = []
        for name, _, _ in entries:
            text = _text(self.style.text_color, font)
            text.SetInput(name)
            text.GetTextProperty().SetVerticalJustificationToBottom()
            texts.append(text)
        widths = [_fit(text, renderer, 0.3 * w)[0] for text in texts]
        n = len(class_names)
        rows = legend_rows([tw + 2.75 * font for tw in widths[:n]], LEGEND_SHARE * w)
        if len(rows) > 1:  # two rows: as large as they fit, never larger than one row's font
            widest = max(sum(widths[i] + 2.75 * font for i in row) for row in rows)
            shrink = min(1.0, LEGEND_SHARE * w / widest)
            if shrink < 1.0:
                font *= shrink
                for text in texts:
                    text.GetTextProperty().SetFontSize(max(7, int(font)))
                widths = [_fit(text, renderer, 0.3 * w)[0] for text in texts]
        actors: list = []
        self.marker_actors: list = []
        for r, row in enumerate(reversed(rows)):  # from the bottom row up
            bottom = (LEGEND_BOTTOM if len(rows) == 1 else TWO_ROWS_BOTTOM) + r * LEGEND_PITCH * font / h
            # right to left: the classes where they stand without markers, the markers' entry
            # to their left on the bottom row (it shows only at the output, and nothing moves when it does)
            order = [*reversed(row), *(range(n, len(entries)) if r == 0 else ())]
            x = w * (1 - MARGIN * h / w)
            for i in order:
                x = self._entry(entries[i], texts[i], widths[i], x, bottom, font, actors)
        return actors

    def _entry(self, entry: tuple[str, str, str], text, width: float, x: float, bottom: float, font: float,
               actors: list) -> float:
        """One legend entry ending at ``x`` pixels on the row at ``bottom``; -> where the next one ends."""
        renderer, (w, h) = self.plotter.renderer, self.size
        _, colour, look = entry
        side, gap = 0.75 * font, 0.4 * font
        renderer.AddViewProp(text)
        x -= width
        text.SetPosition(x / w, bottom)
        x -= gap + side
        y0 = bottom + 0.12 * font / h
        swatch = (_rectangle(x / w, y0, (x + side) / w, y0 + side / h, colour, 1.0) if look == "swatch"
                  else _ring((x + side / 2) / w, (y0 * h + side / 2) / h, side / 2, self.size, colour,
                             max(1.5, 2.5 * self.scale)))
        renderer.AddViewProp(swatch)
        actors += [swatch, text]
        if look != "swatch":
            self.marker_actors = [swatch, text]
        return x - 1.6 * font

    def _panel(self, height_px: float) -> list:
        """The card's panel and its outline, ``height_px`` tall from the top band down."""
        h = self.size[1]
        x0, x1 = 0.5 - PANEL_WIDTH / 2, 0.5 + PANEL_WIDTH / 2
        y0 = PANEL_TOP - height_px / h
        self._top = 1.0 - y0
        fill = _rectangle(x0, y0, x1, PANEL_TOP, self.style.background, PANEL_OPACITY)
        edge = _rectangle(x0, y0, x1, PANEL_TOP, self.style.text_color, 0.5, outline=True)
        edge.GetProperty().SetLineWidth(max(1.0, 1.5 * self.scale))
        for actor in (fill, edge):
            self.back.AddViewProp(actor)
        return [fill, edge]

    def _title(self, title: str) -> list:
        """The question, large and centred on a panel in the top band."""
        w, h = self.size
        font = TITLE_FONT * self.scale
        text = _text(self.style.text_color, font, bold=True, centred=True)
        text.SetInput(wrap(title, width_px=0.86 * w, font_px=font))
        self.renderer.AddViewProp(text)
        _, th = _fit(text, self.renderer, 0.88 * w)
        pad = 0.6 * font
        panel = self._panel(th + 2 * pad)
        text.SetPosition(0.5, PANEL_TOP - pad / h)
        return [*panel, text]

    def _verdict(self, lines: tuple[str, ...]) -> list:
        """The answer in bold, then the lines that say why, on a panel in the top band."""
        w, h = self.size
        head_font, body_font = HEADLINE_FONT * self.scale, BODY_FONT * self.scale
        left = 0.5 - PANEL_WIDTH / 2 + 0.02
        room = (PANEL_WIDTH - 0.04) * w
        head = _text(self.style.text_color, head_font, bold=True)
        head.SetInput(wrap(lines[0] if lines else "", width_px=room, font_px=head_font))
        self.renderer.AddViewProp(head)
        _, hh = _fit(head, self.renderer, room)
        actors = [head]
        bh = 0.0
        if len(lines) > 1:
            body = _text(self.style.text_color, body_font)
            body.SetInput(wrap("\n".join(lines[1:]), width_px=room, font_px=body_font))
            self.renderer.AddViewProp(body)
            _, bh = _fit(body, self.renderer, room)
            actors.append(body)
        pad = 0.55 * head_font
        panel = self._panel(hh + bh + 2 * pad + (0.4 * body_font if bh else 0))
        head.SetPosition(left, PANEL_TOP - pad / h)
        if bh:
            actors[1].SetPosition(left, PANEL_TOP - (pad + hh + 0.4 * body_font) / h)
        return [*panel, *actors]

    def show_markers(self, visible: bool) -> None:
        """Show the legend's misclassified entry while the markers are."""
        for actor in self.marker_actors:
            actor.SetVisibility(visible)

    def show(self, which: str | None) -> None:
        """Show the card ``which`` (``title``, ``verdict``) alone, or none."""
        which = which if which in self.panels else None
        if which == self.shown:
            return
        self.shown = which
        for name, actors in self.panels.items():
            for actor in actors:
                actor.SetVisibility(name == which)
        self.renderer.SetDraw(which is not None)
        self.back.SetDraw(which is not None)


def pose_error_inset(cam, size: tuple[int, int], points: np.ndarray, inset, avoid: np.ndarray | None = None,
                     chosen: dict | None = None) -> bool:
    """Zoom ``inset`` on where the misclassified samples (M, 3) lie thickest: the lens around
    the sample with the most others near it, wide enough for them, magnifying 3 to 16
    times, in the corner covering the fewest of ``avoid`` (the drawn data). Call after the
    camera is set; -> False (the inset untouched) without samples.

    ``chosen``: kept by the caller across a verdict's frames. The first call stores the group
    and the corner there, and later calls keep them: judged afresh in every frame of an
    orbiting camera, the densest group and the emptiest corner changed mid-verdict (the lens
    jumped from "6 of 31" at the top right to "9 of 31" at the bottom left)."""
    from layerlapse.render.lens import LENS_HEIGHT, half_at

    if inset is None or not len(points):
        return False
    towards = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
    dist = float(np.linalg.norm(towards))
    up = np.array(cam.GetViewUp())
    right = np.cross(up, towards / max(dist, 1e-30))
    half = cam.GetParallelScale() if cam.GetParallelProjection() else dist * np.tan(np.radians(cam.GetViewAngle() / 2))
    pts = np.asarray(points, float)
    screen = np.stack([pts @ right, pts @ up], 1)
    if chosen is not None and "close" in chosen and len(chosen["close"]) == len(pts):
        close = chosen["close"]
    else:
        sample = screen[:: max(1, len(screen) // 400)]  # the densest spot, judged on at most 400 of them
        radius = 0.12 * half
        near = (np.abs(sample[:, None] - screen[None]).max(2) <= radius).sum(1)
        centre_2d = sample[int(np.argmax(near))]
        close = np.abs(screen - centre_2d).max(1) <= 2 * radius
    spread = np.ptp(screen[close], 0).max() if close.sum() > 1 else 0.0
    centre = pts[close].mean(0) if close.any() else pts.mean(0)
    # the magnification LENS_HEIGHT * half / lens_half, against the pixels at the centre's depth
    there = half_at(cam, centre)
    lens_half = float(np.clip(0.6 * spread, LENS_HEIGHT * there / 16, LENS_HEIGHT * there / 3))
    count = int(close.sum())
    what = f"{count} of {len(pts)} misclassified" if count < len(pts) else f"{len(pts)} misclassified"
    corner = chosen.get("corner") if chosen is not None else None
    inset.pose(cam, centre, lens_half, what, avoid, corner=corner)
    if chosen is not None:
        chosen["close"], chosen["corner"] = close, inset.renderer.GetViewport()
    return True
