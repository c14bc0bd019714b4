"""The public workflow: scene -> network -> deformation -> movie, each step one call.

Every verb resolves what it was asked for once (:class:`~layerlapse.app.request.Request`),
checks what must be checked before any training, prepares the network, and hands the
deformation to a back-end. The CLI is a thin layer over these functions.
"""

from __future__ import annotations

from pathlib import Path

from layerlapse.app import network as source
from layerlapse.app.certify import inspect
from layerlapse.app.movie import RenderResult, render
from layerlapse.app.presets import load_scene
from layerlapse.app.request import NetworkOptions, Prepared, SceneLike, Unpack, as_preset
from layerlapse.app.request import prepare as prepare_request
from layerlapse.app.stills import export_animation, export_meshes, figure
from layerlapse.app.views import inline_movie, notebook, show, web
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.timeline import TimelineConfig
from layerlapse.networks.train import Network

__all__ = [
    "NetworkOptions",
    "Prepared",
    "RenderResult",
    "deform",
    "export_animation",
    "export_meshes",
    "figure",
    "get_network",
    "inline_movie",
    "inspect",
    "load_scene",
    "notebook",
    "prepare",
    "render",
    "show",
    "train_network",
    "web",
]


def train_network(
    scene: SceneLike, *, network: dict | None = None, training: dict | None = None, progress: bool = True
) -> Network:
    """Train the scene's network (its defaults, with overrides) on its samples.

    Parameters
    ----------
    scene
        A preset name, scene file, :class:`~layerlapse.app.presets.Preset` or Scene.
    network, training
        Overrides of the scene's default network and training settings.
    progress
        Show a progress bar.

    Returns
    -------
    Network
    """
    return source.train_network(as_preset(scene), network=network, training=training, progress=progress)



def get_network(
    scene: SceneLike,
    *,
    checkpoint: str | Path | None = None,
    network: dict | None = None,
    training: dict | None = None,
    retrain: bool = False,
    progress: bool = True,
) -> Network:
    """Load the checkpoint if it exists (refusing one made for another scene or
    architecture), otherwise train and save it there.

    A loaded checkpoint is verified (:func:`~layerlapse.networks.checkpoint.load_network`:
    its tensors' SHA-256, and its accuracy recomputed from the scene's samples). A cached one
    (no ``checkpoint`` given) that is unreadable, malformed or corrupt is retrained, with a
    warning; a given one is refused, with the hint to retrain it. Without a ``checkpoint``, a
    preset's default network shipped with the package is used first when the request is
    exactly its defaults (:mod:`layerlapse.app.shipped`): nothing is trained or cached.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset or Scene.
    checkpoint
        Where the network is cached; None: :func:`default_checkpoint`.
    network, training
        Overrides of the scene's defaults.
    retrain
        Train afresh even if a shipped network or the checkpoint exists.
    progress
        Show a progress bar while training.

    Returns
    -------
    Network
    """
    return source.get_network(as_preset(scene), checkpoint=checkpoint, network=network, training=training,
                              retrain=retrain, progress=progress)



def prepare(scene: SceneLike, **options: Unpack[NetworkOptions]) -> Prepared:
    """The scene and its network, trained, loaded or converted once.

    Parameters
    ----------
    scene
        A preset name, scene file or ``file.py[:NAME]``, a Preset, a Scene, or a Prepared
        (returned as it is when no options are given).
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    Prepared

    Examples
    --------
    >>> tori = ll.prepare("linked-tori")                 # trains, or loads the cached network
    >>> ll.render(tori, "outputs/tori.mp4"); ll.figure(tori, at="layer2.tanh:0.5")
    """
    return prepare_request(scene, options)



def deform(
    scene: SceneLike,
    network: Network,
    *,
    fps: float = 30.0,
    timeline: dict | TimelineConfig | None = None,
    linear_path: str = "polar",
) -> Deformation:
    """Every frame's positions of the scene's points under ``network``'s layer stages.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset or Scene.
    network
        The network whose stages move the points.
    fps
        Frames per second of the timeline.
    timeline
        Timeline settings (or overrides of the scene's), e.g. ``{"seconds_per_stage": 1.5}``.
    linear_path
        ``polar`` (stays invertible) or ``straight``.

    Returns
    -------
    Deformation
    """
    return source.deform(as_preset(scene), network, fps=fps, timeline=timeline, linear_path=linear_path)
