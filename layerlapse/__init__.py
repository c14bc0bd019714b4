"""layerlapse: watch a neural network's layers stretch and squish the manifolds its data lives on.

>>> import layerlapse as ll
>>> scene = ll.load_scene("linked-tori")
>>> net = ll.get_network(scene)                 # trains, or loads outputs/linked-tori/network-*.pt
>>> ll.render(scene, "outputs/tori.mp4", network=net, quality="low")
>>> ll.figure(scene, "outputs/tori-sheet.png", network=net, sheet=True)
>>> ll.render(scene, "outputs/mine.mp4", model=my_torch_sequential)   # your own PyTorch model
>>> ll.render(ll.Scene.from_points(X, y), model="model.pt")            # your own data, too
>>> ll.batch("examples/small-sweep.toml", "outputs/batch")             # a sweep of jobs on Dask
"""

import sys
import types

from layerlapse.app.api import (
    NetworkOptions,
    Prepared,
    RenderResult,
    deform,
    export_meshes,
    figure,
    get_network,
    inline_movie,
    inspect,
    notebook,
    prepare,
    render,
    show,
    train_network,
    web,
)
from layerlapse.app.datafile import load_data
from layerlapse.app.presets import SCENES, Preset, SceneSpec, load_scene, register_scene, scene, scene_names
from layerlapse.app.scenefile import load_scene_file
from layerlapse.app.trajectory import save_trajectory
from layerlapse.batch import BatchResult, batch
from layerlapse.errors import LayerlapseError
from layerlapse.networks import (
    Deformation,
    Network,
    NetworkConfig,
    Timeline,
    TimelineConfig,
    TrainConfig,
    load_network,
    save_network,
)
from layerlapse.scenes import Curve, Grid, Scene, Surface

__all__ = [
    "SCENES",
    "BatchResult",
    "Curve",
    "Deformation",
    "Grid",
    "LayerlapseError",
    "Network",
    "NetworkConfig",
    "NetworkOptions",
    "Prepared",
    "Preset",
    "RenderResult",
    "Scene",
    "SceneSpec",
    "Surface",
    "Timeline",
    "TimelineConfig",
    "TrainConfig",
    "batch",
    "deform",
    "export_meshes",
    "figure",
    "get_network",
    "inline_movie",
    "inspect",
    "load_data",
    "load_network",
    "load_scene",
    "load_scene_file",
    "notebook",
    "prepare",
    "register_scene",
    "render",
    "save_network",
    "save_trajectory",
    "scene",
    "scene_names",
    "show",
    "train_network",
    "web",
]


class _Package(types.ModuleType):
    """``layerlapse`` itself. Importing the subpackage ``layerlapse.render`` (which any render
    does) would set the attribute ``render`` to that module and hide :func:`render` (and
    ``layerlapse.web`` would hide :func:`web`, ``layerlapse.batch`` :func:`batch`); the function stays (the subpackage is still imported by name: ``from layerlapse.render import
    Style``)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in ("render", "web", "batch") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
