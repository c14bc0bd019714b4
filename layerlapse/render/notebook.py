"""Jupyter: a scene inline with a time slider, and movies inline.

With PyVista's trame backend installed (``pip install 'pyvista[jupyter]'``) the scene is
a live, server-rendered 3D view with the same time slider as ``layerlapse show``.
Without it, :class:`InlinePage` shows the offline web page (:func:`layerlapse.app.api.web`)
in an iframe; :class:`FrameSlider` is a static fallback: frames rendered offscreen and
embedded in the notebook with an HTML range slider (no extra packages, works in
exported HTML too).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from layerlapse._files import atomic_output
from layerlapse.draw.camera import CameraPath
from layerlapse.draw.style import Style
from layerlapse.errors import LayerlapseError, choice_error
from layerlapse.networks.deformation import Deformation
from layerlapse.scenes.base import Scene

BACKENDS = ("auto", "trame", "web", "static")
_MIME = {".mp4": "video/mp4", ".webm": "video/webm"}


def trame_available() -> bool:
    try:
        import trame  # noqa: F401
        import trame_vtk  # noqa: F401
    except ImportError:
        return False
    return True


class FrameSlider:
    """Frames (H, W, 3) uint8 with labels, shown in a notebook as an image and a slider."""

    def __init__(self, frames: list[np.ndarray], labels: list[str], times: list[float]) -> None:
        if not frames:
            raise LayerlapseError("frames: at least one frame is needed")
        self.frames, self.labels, self.times = frames, labels, times

    def _png(self, frame: np.ndarray) -> str:
        buf = io.BytesIO()
        iio.imwrite(buf, frame, extension=".png")
        return base64.b64encode(buf.getvalue()).decode()

    def to_html(self) -> str:
        """A self-contained HTML fragment (images as data URIs, a few lines of JavaScript)."""
        uid = f"ll{id(self):x}"
        images = "".join(
            f'<img src="data:image/png;base64,{self._png(f)}" data-label="{html.escape(lab)}" '
            f'style="display:{"block" if i == 0 else "none"};max-width:100%">'
            for i, (f, lab) in enumerate(zip(self.frames, self.labels))
        )
        times = ",".join(f"{t:.3f}" for t in self.times)
        return f"""<div id="{uid}" class="layerlapse-slider" style="font-family:sans-serif">
<div class="frames">{images}</div>
<input type="range" min="0" max="{len(self.frames) - 1}" value="0" step="1" style="width:100%">
<div class="label">{html.escape(self.labels[0])} &middot; 0.00 s</div>
<script>(function(){{
  var root = document.getElementById("{uid}"), imgs = root.querySelectorAll(".frames img"),
      slider = root.querySelector("input"), label = root.querySelector(".label"), times = [{times}];
  slider.addEventListener("input", function(){{
    var k = parseInt(slider.value);
    imgs.forEach(function(img, i){{ img.style.display = i === k ? "block" : "none"; }});
    label.textContent = imgs[k].dataset.label + " \\u00b7 " + times[k].toFixed(2) + " s";
  }});
}})();</script></div>"""

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, path: str | Path) -> Path:
        """Write a standalone HTML page."""
        with atomic_output(Path(path)) as tmp:
            tmp.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>layerlapse</title></head>"
                           f"<body>{self.to_html()}</body></html>", encoding="utf-8")
        return Path(path)


def frame_slider(scene: Scene, deformation: Deformation, *, frames: int = 48, size: tuple[int, int] = (640, 400),
                 style: Style = Style(), accuracy: float | None = None) -> FrameSlider:
    """Render ``frames`` frames evenly over the timeline (always including both ends) offscreen."""
    from layerlapse.render.view import SceneView

    if not 2 <= frames <= 2000:
        raise LayerlapseError(f"frames: {frames} is out of range; allowed: 2 to 2000")
    tl = deformation.timeline
    picks = np.unique(np.linspace(0, tl.n_frames - 1, frames).round().astype(int))
    camera = CameraPath.for_movie(deformation, fps=tl.fps, style=style, aspect=size[0] / size[1],
                                  subset=scene.framed_points())
    view = SceneView(scene, deformation, camera, style=style, size=size, accuracy=accuracy)
    images, labels = [], []
    try:
        for k in picks:
            view.show_frame(int(k), deformation.display(np.array([k]))[0])
            images.append(view.grab())
            labels.append(view.frame_label(int(k)))
    finally:
        view.close()
    return FrameSlider(images, labels, list(picks / tl.fps))


class InlinePage:
    """A whole HTML page (:func:`layerlapse.app.api.web`) shown inline in an iframe's ``srcdoc``."""

    def __init__(self, page: str, *, height: int = 460) -> None:
        self.page, self.height = page, height

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.page, quote=True)}" style="width:100%;height:{self.height}px;'
                f'border:0" sandbox="allow-scripts" title="layerlapse"></iframe>')


class InlineMovie:
    """A rendered movie shown inline: ``<video>`` for MP4/WebM, ``<img>`` for GIF."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise LayerlapseError(f"movie: {str(self.path)!r} does not exist")

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.path.read_bytes()).decode()
        ext = self.path.suffix.lower()
        if ext == ".gif":
            return f'<img src="data:image/gif;base64,{data}" style="max-width:100%">'
        if ext not in _MIME:
            raise choice_error("movie", self.path.name, (".mp4", ".webm", ".gif"))
        return (f'<video controls loop autoplay muted playsinline style="max-width:100%">'
                f'<source src="data:{_MIME[ext]};base64,{data}" type="{_MIME[ext]}"></video>')


def live_view(scene: Scene, deformation: Deformation, *, size: tuple[int, int], style: Style, accuracy: float | None):
    """The trame-backed widget: the interactive window's plotter, rendered by the kernel."""
    from layerlapse.render.view import SceneView

    camera = CameraPath.for_movie(deformation, fps=deformation.timeline.fps,
                                  style=style.model_copy(update={"orbit_degrees_per_second": 0.0}),
                                  aspect=size[0] / size[1], subset=scene.framed_points())
    view = SceneView(scene, deformation, camera, style=style, size=size, accuracy=accuracy, off_screen=True)

    def on_slider(seconds: float) -> None:
        frame = int(np.clip(round(seconds * deformation.timeline.fps), 0, deformation.timeline.n_frames - 1))
        view.show_frame(frame, deformation.display(np.array([frame]))[0], move_camera=False)

    view.plotter.add_slider_widget(on_slider, rng=[0.0, deformation.timeline.duration], value=0.0,
                                   title="time (s)", pointa=(0.3, 0.07), pointb=(0.95, 0.07), style="modern",
                                   interaction_event="always", fmt="%.2f")
    return view.plotter.show(jupyter_backend="trame", return_viewer=True)
