"""One self-contained HTML page of a deformation: three.js, the data and the player inlined.

The page needs no server and no network (it opens from ``file://``): three.js (vendored
in ``vendor/``, see its README) is gzipped and base64-encoded into ``<script
type="application/octet-stream">`` blocks; the page inflates them with the browser's
``DecompressionStream``, turns each into a ``blob:`` URL (its import specifiers rewritten
to the other blobs) and imports it. The data (keyframes from :mod:`layerlapse.web.data`)
rides the same way, beside a JSON header. A Content-Security-Policy forbids every
request that does not come from the page itself, so nothing can leave it.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
import re
import warnings
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from layerlapse.draw.camera import CameraPath
from layerlapse.draw.colour import hex_rgb
from layerlapse.draw.geometry import BOX_OPACITY, MAX_BOX_DIM, box_corners, cube_edges, decision_geometry
from layerlapse.draw.heat import class_ramp, ratio_text, ticks
from layerlapse.draw.model import PLANE_OPACITY, DrawModel, Kind, curve_width
from layerlapse.draw.room import card_room
from layerlapse.draw.source import activation_box
from layerlapse.draw.style import Style
from layerlapse.draw.words import Cards, view_caption
from layerlapse.networks.deformation import Deformation
from layerlapse.scenes.base import Scene
from layerlapse.web import data as webdata
from layerlapse.web.clouds import MAX_IMAGE_BYTES, halos_meta, points_entry, regions_meta

#: the vendored three.js release (layerlapse/web/vendor/README.md says how to update it)
THREE_VERSION = "0.187.0"
#: interpolation further off than this (a fraction of the scene's extent) gets a warning
ERROR_BOUND = 0.005
#: a page larger than this gets a warning that suggests fewer keyframes
WARN_BYTES = 50_000_000
#: the camera path is fitted for this width / height (the page refits nothing)
ASPECT = 1.6
#: the template's slots: ``{{NAME}}``, filled in one pass (a value is never searched for slots)
SLOT = re.compile(r"\{\{([A-Z]+)\}\}")


@dataclass(frozen=True)
class Page:
    """A built page: its ``html`` text, the ``keyframes`` it carries and their measured
    interpolation ``error`` (a fraction of the scene's extent)."""

    html: str
    keyframes: webdata.Keyframes

    @property
    def size(self) -> int:
        return len(self.html.encode("utf-8"))


def _gz64(raw: bytes) -> str:
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


@functools.cache
def _vendor_blocks() -> str:
    """The three.js modules as inline gzip/base64 script blocks (built once per process)."""
    vendor = resources.files("layerlapse.web") / "vendor"
    blocks = []
    for ident, name in (("three-core", "three.core.js"), ("three-module", "three.module.js"),
                        ("three-orbit", "OrbitControls.js")):
        text = (vendor / name).read_bytes()
        blocks.append(f'<script type="application/octet-stream" id="{ident}">{_gz64(text)}</script>')
    return "\n".join(blocks)


def _template() -> str:
    return (resources.files("layerlapse.web") / "template.html").read_text(encoding="utf-8")


class _Blob:
    """Typed arrays packed one after another, each at a multiple of 4 bytes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, array: np.ndarray) -> list:
        raw = np.ascontiguousarray(array).tobytes()
        entry = [self.size, int(array.size)]
        pad = (-len(raw)) % 4
        self.chunks.append(raw + b"\0" * pad)
        self.size += len(raw) + pad
        return entry

    def bytes(self) -> bytes:
        return b"".join(self.chunks)


def _r(x: np.ndarray, digits: int = 5) -> list:
    """Floats for JSON, rounded to ``digits`` significant digits."""
    a = np.asarray(x, dtype=np.float64).ravel()
    return [float(f"{v:.{digits}g}") for v in a]


class _Stored:
    """The points a page stores, part after part (``bounds``: where each part's run starts)."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []
        self.bounds = [0]

    def add(self, idx: np.ndarray) -> dict:
        """Store the stacked points ``idx``: -> the part's ``start``, ``count`` and ``q`` (its quantisation)."""
        self.runs.append(idx)
        self.bounds.append(self.bounds[-1] + len(idx))
        return {"start": self.bounds[-2], "count": len(idx), "q": len(self.bounds) - 2}

    def indices(self) -> np.ndarray:
        return np.concatenate(self.runs) if self.runs else np.zeros(0, np.int64)


def _parts(model: DrawModel, stored: _Stored, blob: _Blob) -> list[dict]:
    """The page's parts, from the drawing model: every class part's points, and the grid
    lines that are drawn (an outline rides on its surface's stored points)."""
    parts: list[dict] = []
    run: dict = {}
    clouds, budget = iter(model.scene.clouds), [MAX_IMAGE_BYTES]  # the image bytes left
    for part in model.parts:
        sl = part.sl
        if part.kind is Kind.OUTLINE:
            parts.append({"kind": "outline", "label": part.label, **run,
                          "segments": blob.add(np.asarray(part.edges, np.uint32)), "width": part.width})
            continue
        run = stored.add(np.arange(sl.start, sl.stop) if part.rows is None else sl.start + part.rows)
        kind = "curve" if part.kind in (Kind.LINE, Kind.TUBE) else part.kind.value  # the page picks line or tube
        entry = {"kind": kind, "label": part.label, **run}
        if part.kind is Kind.SURFACE:
            entry["faces"] = blob.add(np.asarray(part.faces, np.uint32))
        elif part.kind is Kind.GRID:
            entry.update(lines=int(part.lines), per=int(part.per), colour=hex_rgb(part.colour))
        elif part.kind is Kind.POINTS:
            entry.update(points_entry(part, next(clouds), blob, budget))
        else:
            entry.update(closed=bool(part.closed), width=curve_width(part.label))
        parts.append(entry)
    return parts


def _stretch(deformation: Deformation, scene: Scene, style: Style, frames: np.ndarray, idx: np.ndarray,
             blob: _Blob) -> dict:
    """The heat map at the keyframes ``frames`` of the stored points ``idx``, its ramps (one
    per class, by label, and the grid's under -1: the movie's tables) and ticks."""
    from layerlapse.networks.stretch import Stretch

    st = Stretch(deformation, scene)
    limit = st.limits()
    values = st.log_ratio(frames)[:, idx]
    return {"values": blob.add(webdata.quantise_unit(values, limit)), "limit": limit, "title": "stretch",
            "ramps": _ramps(scene, style),
            "ticks": [[float(np.log(r) / limit), ratio_text(r)] for r in ticks(limit)]}


def _ramps(scene: Scene, style: Style) -> dict[str, str]:
    """The class ramps by label, and the grid's under -1 (the movie's tables), base64."""
    colours = {label: style.colour(label) for label in range(len(scene.class_names))} | {-1: style.grid_color}
    return {str(label): base64.b64encode(class_ramp(c).tobytes()).decode("ascii") for label, c in colours.items()}


def _fourth(deformation: Deformation, model: DrawModel, frames: np.ndarray, idx: np.ndarray, blob: _Blob) -> dict | None:
    """An R^4 scene's hidden coordinate at the keyframes, drawn as the movie draws it (the
    class ramps, a colour bar titled ``4th coordinate``); None where the movie does not show it
    (3-D scenes, a k-NN head's vote)."""
    from layerlapse.draw.fourth import HiddenCoordinate

    if deformation.dim != 4 or deformation.knn_head is not None:  # wider: no one hidden axis to colour by
        return None
    hidden = HiddenCoordinate(deformation, model.class_points)
    values = hidden.at_frames(frames)[:, idx]
    return {"values": blob.add(webdata.quantise_unit(values, hidden.limit)), "limit": hidden.limit,
            "title": "4th coordinate", "ramps": _ramps(model.scene, model.style),
            "ticks": [[value / hidden.limit, text] for value, text in hidden.ticks()]}


def _decision(model: DrawModel, deformation: Deformation, flat: bool) -> dict | None:
    """The decision at the last frame, rounded for JSON; None without one."""
    last = deformation.timeline.n_frames - 1
    if len(model.scene.class_names) != 2:
        return None
    final = deformation.display(np.array([last]), model.class_points)[0]
    geometry = decision_geometry(deformation.display_head(last), final, flat=flat)
    if geometry is None:
        return None
    return {key: (_r(value) if isinstance(value, np.ndarray) else [_r(v) for v in value])
            for key, value in geometry.items()}


def _misclassified(model: DrawModel) -> dict | None:
    """The misclassified samples where the output puts them, and their marks' size (pixels at
    720p: a ring's radius in a flat view, a dot's diameter in 3-D), as the movie draws them."""
    wrong = model.misclassified
    if wrong is None:
        return None
    return {"points": _r(wrong.points), "size": wrong.size}


def _activation_boxes(model: DrawModel, deformation: Deformation) -> dict | None:
    """The activation's box at every frame that shows it, as the movie shows it (with the
    axes): its corners in display space and opacity per frame (None where it is hidden) and
    the cube's ``edges`` (E, 2) flattened; None if no frame shows one."""
    layers, tl = model.layers, deformation.timeline
    if layers is None or not model.style.axes:
        return None
    corners, edges = cube_edges(min(layers.dim, MAX_BOX_DIM))
    frames: list[dict | None] = []
    for f in range(tl.n_frames):
        box = activation_box(layers, int(tl.stage[f]), float(tl.t[f]), output=tl.stage_names[tl.name[f]] == "output")
        if box is None or box[3] <= 0 or box[2] > MAX_BOX_DIM:
            frames.append(None)
            continue
        projection = layers.projection(np.array([f]))[0] if layers.dim > 3 else None
        frames.append({"points": _r(box_corners(box[:3], corners, layers.dim, projection)),
                       "opacity": float(np.clip(box[3], 0, 1)) * BOX_OPACITY})
    return {"edges": edges.ravel().tolist(), "frames": frames} if any(frames) else None


def _timeline(deformation: Deformation) -> dict:
    tl = deformation.timeline
    names = np.asarray(tl.name)
    moving = ~np.asarray(tl.hold) if tl.hold is not None else np.zeros(tl.n_frames, bool)
    out = {"fps": tl.fps, "nFrames": tl.n_frames, "labels": list(tl.captions or tl.stage_labels),
           "labelOf": names.tolist(), "tOf": [round(float(t), 2) if m else None for t, m in zip(tl.t, moving)],
           "stageStarts": [int(np.argmax(names == k)) for k in range(len(tl.stage_names)) if (names == k).any()],
           "outputStart": int(tl.output_start)}
    if deformation.dim > 3:  # what the view of wider data holds, after the caption, as the movie says it
        texts = [view_caption(deformation.shown_width(f), float(share))
                 for f, share in enumerate(deformation.view_share(np.arange(tl.n_frames)))]
        index = {text: k for k, text in enumerate(dict.fromkeys(texts))}
        out["views"], out["viewOf"] = list(index), [index[text] for text in texts]
    return out


def _cards(cards: Cards | None, tl: Any) -> list[dict] | None:
    """Each card that stands: its frames ``[start, stop)`` and its lines (the first the headline)."""
    if cards is None:
        return None
    out = []
    for which in ("title", "verdict"):
        span = tl.card_span(which)
        if span is not None:
            out.append({"start": span[0], "stop": span[1], "kind": which,
                        "lines": [cards.title] if which == "title" else list(cards.verdict)})
    return out or None


def _camera(deformation: Deformation, scene: Scene, style: Style, flat: bool) -> dict:
    """The movie's camera path, fitted for :data:`ASPECT`, without the orbit (the page's viewer turns)."""
    camera = CameraPath.for_movie(deformation, fps=deformation.timeline.fps, aspect=ASPECT,
                                  subset=scene.framed_points(),
                                  style=style.model_copy(update={"orbit_degrees_per_second": 0.0}))
    azimuth, elevation = style.direction()
    # how far the camera has made room below a card, per frame; the page measures the card's height
    room = card_room(deformation.timeline, {"title": 0.0, "verdict": 0.0}, deformation.timeline.fps)
    return {"centre": _r(camera.centre), "radius": _r(camera.radius), "depth": _r(camera.depth),
            "azimuth": azimuth, "elevation": elevation, "top": bool(camera.top), "parallel": bool(flat),
            "room": None if room is None else _r(room[:, 1], 3)}


def _colours(model: DrawModel) -> dict:
    style = model.style
    return {"background": hex_rgb(style.background), "text": hex_rgb(style.text_color),
            "classes": [hex_rgb(c) for c in style.class_colors], "specular": style.specular,
            "ambient": style.ambient, "decisionLine": hex_rgb(model.decision_line_colour),
            "decisionPlane": hex_rgb(model.decision_plane_colour), "planeOpacity": PLANE_OPACITY,
            "axes": hex_rgb(model.axes_colour), "tube": style.tube_radius}


def build_page(scene: Scene, deformation: Deformation, *, style: Style, title: str, accuracy: float | None,
               keyframes: int = webdata.DEFAULT_KEYFRAMES, cards: Cards | None = None) -> Page:
    """The page of ``deformation`` of ``scene``, drawn in ``style``; ``keyframes``: the most
    keyframe intervals per stage (see :func:`~layerlapse.web.data.select_keyframes`); ``cards``
    stand over the frames the timeline gives them, as in the movie."""
    flat = deformation.planar
    model = DrawModel(scene, deformation, style, flat=flat)
    blob, stored = _Blob(), _Stored()
    parts = _parts(model, stored, blob)
    idx, bounds = stored.indices(), stored.bounds
    keys = webdata.select_keyframes(deformation, idx, max_per_stage=keyframes)
    quant = webdata.quantise(keys.positions, np.asarray(bounds))
    positions = blob.add(webdata.delta_encode(quant.q))
    stretch = _stretch(deformation, scene, style, keys.frames, idx, blob) if style.color_by == "stretch" \
        else _fourth(deformation, model, keys.frames, idx, blob)
    camera = _camera(deformation, scene, style, flat)
    decision = _decision(model, deformation, flat)
    reach = None
    if style.axes and len(idx):
        reach = 1.25 * max(1.0, float(np.abs(keys.positions[0][: bounds[-1]]).max()))
    timeline = _timeline(deformation)
    meta = {
        "title": title, "three": THREE_VERSION, "flat": bool(flat), "fps": timeline["fps"],
        "nFrames": timeline["nFrames"], "keyFrames": keys.frames.tolist(), "nPoints": int(len(idx)),
        **{k: timeline[k] for k in ("labels", "labelOf", "tOf", "stageStarts", "outputStart", "views", "viewOf")
           if k in timeline},
        "cards": _cards(cards, deformation.timeline),
        "result": model.result_text(accuracy), "style": _colours(model), "camera": camera,
        "parts": parts, "quant": {"offset": _r(quant.offset, 8), "scale": _r(quant.scale, 8),
                                  "bounds": [int(b) for b in bounds]},
        "positions": positions, "decision": decision, "stretch": stretch, "axes": reach,
        "misclassified": _misclassified(model), "box": _activation_boxes(model, deformation),
        "classNames": list(scene.class_names),
    }
    # many classes: the argmax regions or halos, added only where there are (the two-class page stays as it was)
    meta.update({key: value for key, value in (("regions", regions_meta(model, blob)), ("halos", halos_meta(model, blob)))
                 if value is not None})
    slots = {"TITLE": html.escape(title), "BACKGROUND": meta["style"]["background"], "TEXT": meta["style"]["text"],
             "META": json.dumps(meta, separators=(",", ":")).replace("</", "<\\/"), "DATA": _gz64(blob.bytes()),
             "THREE": _vendor_blocks()}
    built = Page(SLOT.sub(lambda m: slots[m.group(1)], _template()), keys)
    _warn(built, keyframes)
    return built


def _warn(built: Page, keyframes: int) -> None:
    """Say so (at :func:`build_page`'s caller) when the motion is coarse or the page large."""
    keys = built.keyframes
    if keys.error > ERROR_BOUND:
        warnings.warn(f"web: with at most {keyframes} keyframes a stage, the page's motion is off by up to "
                      f"{100 * keys.error:.2f}% of the scene's size between keyframes (more than "
                      f"{100 * ERROR_BOUND:.1f}%); more --keyframes make it exact", stacklevel=3)
    if built.size > WARN_BYTES:
        warnings.warn(f"web: the page is {built.size / 1e6:.0f} MB ({len(keys.frames)} keyframes of "
                      f"{keys.positions.shape[1]:,} points); a browser may be slow to open it: a coarser scene "
                      f"(--set resolution=...) makes it smaller, as do fewer keyframes per stage "
                      f"(--keyframes {max(1, keyframes // 2)}, at the cost of a less exact motion)",
                      stacklevel=3)
