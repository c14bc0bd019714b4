"""Drawing with VTK: the in-place scene view, movies, figures, windows, exports.

Nothing is imported until it is used: the pure style and camera models live in
:mod:`layerlapse.draw`, so ``from layerlapse.render import Style`` (PEP 562, below) loads
neither pyvista nor VTK; :class:`SceneView` and the movie writers load them when asked for.
"""

from __future__ import annotations

import importlib

#: public name -> the module that defines it
_WHERE = {
    "MOVIE_FORMATS": "layerlapse.render.encoder",
    "FrameWriter": "layerlapse.render.encoder",
    "RenderSettings": "layerlapse.render.movie",
    "render_frames": "layerlapse.render.movie",
    "resolve_settings": "layerlapse.render.movie",
    "write_movie": "layerlapse.render.movie",
    "SceneView": "layerlapse.render.view",
    "CameraPath": "layerlapse.draw.camera",
    "QUALITIES": "layerlapse.draw.style",
    "Quality": "layerlapse.draw.style",
    "Style": "layerlapse.draw.style",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
