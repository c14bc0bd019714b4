"""layerlapse: watch a neural network's layers stretch and squish the manifolds its data lives on.

>>> import layerlapse as ll
>>> scene = ll.load_scene("linked-tori")
>>> net = ll.get_network(scene)                 # trains, or loads the cached network (layerlapse cache list)
>>> ll.render(scene, "outputs/tori.mp4", network=net, quality="low")
>>> ll.figure(scene, "outputs/tori-sheet.png", network=net, sheet=True)
>>> ll.render(scene, "outputs/mine.mp4", model=my_torch_sequential)   # your own PyTorch model
>>> ll.render(ll.Scene.from_points(X, y), model="model.pt")            # your own data, too
>>> ll.batch("examples/small-sweep.toml", "outputs/batch")             # a sweep of jobs on Dask
"""

import importlib
import sys
import types
from typing import TYPE_CHECKING

from layerlapse._version import __version__

if TYPE_CHECKING:
    from layerlapse.app.api import (
        NetworkOptions,
        Prepared,
        RenderResult,
        deform,
        export_animation,
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

#: where each public name lives: imported at its first use, so `import layerlapse` (and the
#: command line's --help) does not load torch, scipy or VTK before a name needs them
_HOMES = {
    "NetworkOptions": "layerlapse.app.api",
    "Prepared": "layerlapse.app.api",
    "RenderResult": "layerlapse.app.api",
    "deform": "layerlapse.app.api",
    "export_animation": "layerlapse.app.api",
    "export_meshes": "layerlapse.app.api",
    "figure": "layerlapse.app.api",
    "get_network": "layerlapse.app.api",
    "inline_movie": "layerlapse.app.api",
    "inspect": "layerlapse.app.api",
    "notebook": "layerlapse.app.api",
    "prepare": "layerlapse.app.api",
    "render": "layerlapse.app.api",
    "show": "layerlapse.app.api",
    "train_network": "layerlapse.app.api",
    "web": "layerlapse.app.api",
    "load_data": "layerlapse.app.datafile",
    "Preset": "layerlapse.app.presets",
    "SCENES": "layerlapse.app.presets",
    "SceneSpec": "layerlapse.app.presets",
    "load_scene": "layerlapse.app.presets",
    "register_scene": "layerlapse.app.presets",
    "scene": "layerlapse.app.presets",
    "scene_names": "layerlapse.app.presets",
    "load_scene_file": "layerlapse.app.scenefile",
    "save_trajectory": "layerlapse.app.trajectory",
    "BatchResult": "layerlapse.batch",
    "batch": "layerlapse.batch",
    "LayerlapseError": "layerlapse.errors",
    "Deformation": "layerlapse.networks",
    "Network": "layerlapse.networks",
    "NetworkConfig": "layerlapse.networks",
    "Timeline": "layerlapse.networks",
    "TimelineConfig": "layerlapse.networks",
    "TrainConfig": "layerlapse.networks",
    "load_network": "layerlapse.networks",
    "save_network": "layerlapse.networks",
    "Curve": "layerlapse.scenes",
    "Grid": "layerlapse.scenes",
    "Scene": "layerlapse.scenes",
    "Surface": "layerlapse.scenes",
}

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
    "__version__",
    "batch",
    "deform",
    "export_animation",
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

    def __getattr__(self, name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'layerlapse' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        types.ModuleType.__setattr__(self, name, value)  # past the guard: a function, not the subpackage
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(__all__))


sys.modules[__name__].__class__ = _Package
