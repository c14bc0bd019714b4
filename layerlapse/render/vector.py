"""Vector figures (PDF, SVG, EPS): the view as one image, its labels as text in an embedded font.

VTK's GL2PS export (``Plotter.save_graphic``) wrote each label's UTF-8 bytes into a standard
font it did not embed (Helvetica, MacRoman-encoded in PDF), so ``·``, ``²``, ``×`` and every
other non-ASCII character came out garbled, in print and when the text was copied; and its
OpenGL2 backend rasterises the 3D geometry anyway. So matplotlib (already a dependency)
composes the file: the view rendered without its text actors, then each text actor written
where VTK drew it, as text in DejaVu Sans, which covers Latin, Greek, Cyrillic and the math
symbols the labels use. PDF and EPS embed the font (TrueType, subset), SVG keeps UTF-8 text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from layerlapse._files import atomic_output

#: VTK's three font families and the DejaVu face drawn for each
FAMILIES = {"Arial": "DejaVu Sans", "Courier": "DejaVu Sans Mono", "Times": "DejaVu Serif"}
#: no dates (nor, with ``svg.hashsalt``, random ids): the same figure makes the same file
METADATA = {".pdf": {"Creator": "layerlapse", "CreationDate": None}, ".svg": {"Date": None}, ".eps": None}


@dataclass(frozen=True)
class Label:
    """One text actor as VTK draws it: its string, box in window pixels (x0, y0, x1, y1, from
    the lower left), font size in pixels, colour and opacity, face and alignment."""

    actor: Any
    text: str
    box: tuple[float, float, float, float]
    size: float
    colour: tuple[float, float, float]
    opacity: float
    family: str
    weight: str
    style: str
    align: str


def labels(render_window: Any) -> list[Label]:
    """The visible, non-empty text actors of every drawn renderer of ``render_window``
    (rendered once before, so their boxes are laid out). Only ``vtkTextActor``: the one kind
    of text the views draw; any other would stay in the image, drawn right by VTK."""
    found = []
    renderers = render_window.GetRenderers()
    width, height = render_window.GetSize()
    # opaque renderers above the first (the zoom inset) hide the text under them
    covers = [(r.GetLayer(), np.multiply(r.GetViewport(), [width, height, width, height]))
              for r in (renderers.GetItemAsObject(i) for i in range(renderers.GetNumberOfItems()))
              if r.GetDraw() and r.GetLayer() > 0 and not r.GetPreserveColorBuffer()]
    renderers.InitTraversal()
    for _ in range(renderers.GetNumberOfItems()):
        renderer = renderers.GetNextItem()
        if not renderer.GetDraw():
            continue
        above = [box for layer, box in covers if layer > renderer.GetLayer()]
        props = renderer.GetViewProps()
        props.InitTraversal()
        for _ in range(props.GetNumberOfItems()):
            actor = props.GetNextProp()
            if actor.IsA("vtkTextActor") and actor.GetVisibility() and actor.GetInput():
                label = _label(actor, renderer)
                if not any(_inside(label.box, box) for box in above):
                    found.append(label)
    return found


def _inside(box: tuple[float, float, float, float], cover: np.ndarray) -> bool:
    """Whether the pixel box (x0, y0, x1, y1) lies wholly in ``cover`` (x0, y0, x1, y1)."""
    return bool(box[0] >= cover[0] and box[1] >= cover[1] and box[2] <= cover[2] and box[3] <= cover[3])


def _label(actor: Any, renderer: Any) -> Label:
    box = [0.0] * 4  # xmin, xmax, ymin, ymax around the actor's anchor
    actor.GetBoundingBox(renderer, box)
    x, y = actor.GetActualPositionCoordinate().GetComputedDisplayValue(renderer)
    prop = actor.GetTextProperty()
    return Label(actor, actor.GetInput(), (x + box[0], y + box[2], x + box[1], y + box[3]),
                 float(prop.GetFontSize()), tuple(prop.GetColor()), float(prop.GetOpacity()),
                 FAMILIES.get(prop.GetFontFamilyAsString(), "DejaVu Sans"),
                 "bold" if prop.GetBold() else "normal", "italic" if prop.GetItalic() else "normal",
                 {"Centered": "center", "Right": "right"}.get(prop.GetJustificationAsString(), "left"))


def save_vector(path: Path, image: np.ndarray, texts: list[Label], *, dpi: float) -> Path:
    """Write ``image`` ((H, W, 3) uint8, the view without its labels) as a ``path.suffix``
    (.pdf, .svg, .eps) page of W/dpi x H/dpi inches, with ``texts`` over it as real text.

    Each label is drawn at VTK's font size, then scaled to fit the box VTK gave it: DejaVu
    Sans runs about 7% wider than VTK's face, and the layout (a label shrunk to fit the
    width, a tick beside the colour bar) was made for VTK's boxes.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, w = image.shape[:2]
    # fonts embedded as TrueType (Type 42: text that extracts), not Type 3; SVG text kept as text
    with matplotlib.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
                                "svg.hashsalt": "layerlapse"}):
        fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
        renderer = FigureCanvasAgg(fig).get_renderer()  # measures the text as it will be laid out
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.imshow(image, extent=(0, w, 0, h), interpolation="none", aspect="auto")
        ax.set_xlim(0, w)
        ax.set_ylim(0, h)
        for label in texts:
            x0, y0, x1, y1 = label.box
            points = label.size * 72.0 / dpi  # VTK's size is in pixels
            text = fig.text(x0 / w, y0 / h, label.text, fontsize=points, color=label.colour, alpha=label.opacity,
                            family=label.family, weight=label.weight, style=label.style, ha="left", va="bottom",
                            multialignment=label.align)
            drawn = text.get_window_extent(renderer)
            if drawn.width > 0 and drawn.height > 0:
                text.set_fontsize(points * min((x1 - x0) / drawn.width, (y1 - y0) / drawn.height))
        kind = path.suffix.lower()
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=kind[1:], dpi=dpi, metadata=METADATA[kind])
    return path
