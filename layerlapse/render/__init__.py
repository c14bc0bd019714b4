"""Drawing: styles, the in-place scene view, movie writing. Imports pyvista (scenes and networks never do)."""

from layerlapse.render.camera import CameraPath
from layerlapse.render.encoder import MOVIE_FORMATS, FrameWriter
from layerlapse.render.movie import RenderSettings, render_frames, resolve_settings, write_movie
from layerlapse.render.style import QUALITIES, Quality, Style
from layerlapse.render.view import SceneView

__all__ = [
    "MOVIE_FORMATS",
    "QUALITIES",
    "CameraPath",
    "FrameWriter",
    "Quality",
    "RenderSettings",
    "SceneView",
    "Style",
    "render_frames",
    "resolve_settings",
    "write_movie",
]
