"""What a verb was asked for, resolved once.

A :class:`Request` turns a scene-like argument (a preset name, scene file or
``file.py[:NAME]``, a :class:`~layerlapse.app.presets.Preset`, a bare Scene, or a
:class:`Prepared`), a style and the network keywords (:class:`NetworkOptions`) into the
resolved preset and style, runs the checks that must come before any training (the frame
cap, stage names, looks the network cannot show), and then prepares the network once.
Every public verb of :mod:`layerlapse.app.api` is a short function over it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover
    from typing_extensions import Unpack

from layerlapse.app import network as source
from layerlapse.app.presets import Preset, preset_for
from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.networks.train import Network
from layerlapse.scenes.base import Scene

if TYPE_CHECKING:
    from layerlapse.draw.style import Style

__all__ = ["NetworkOptions", "Prepared", "Request", "SceneLike", "Unpack", "as_preset", "scene_style"]


class NetworkOptions(TypedDict, total=False):
    """Where a function's network comes from; every verb takes these keywords (declared
    once, here).

    network
        A trained :class:`~layerlapse.networks.train.Network` to use as it is.
    model
        Your own PyTorch model: an ``nn.Sequential`` of ``nn.Linear`` and element-wise
        activations, or the path of a model file: a TorchScript file of one
        (``torch.jit.save``), or a ``state_dict`` (``torch.save(model.state_dict())``) or
        ``.safetensors`` file with ``arch`` and ``activation``. Nothing in a file is run.
    arch
        With a state_dict or safetensors ``model``: its layer widths, inputs to classes,
        e.g. ``"64-16-8-10"`` or ``(64, 16, 8, 10)``.
    activation
        With ``arch``: the hidden layers' activation, one for all or one per layer, e.g.
        ``"tanh"`` or ``"relu,tanh"``.
    checkpoint
        A checkpoint path: loaded if it exists, else trained and saved there (default:
        the user cache folder, :mod:`layerlapse.app.cache`).
    network_config
        Overrides of the scene's default network, e.g. ``{"hidden": (4, 4)}``.
    training
        Overrides of the scene's training settings, e.g. ``{"epochs": 300, "seed": 1}``.
    retrain
        Train even if the checkpoint exists.
    progress
        Show progress bars (default True).
    """

    network: Network | None
    model: Any
    arch: str | tuple[int, ...] | None
    activation: Any
    checkpoint: str | Path | None
    network_config: dict | None
    training: dict | None
    retrain: bool
    progress: bool


@dataclass(frozen=True)
class Prepared:
    """A scene and the network it is shown with: what :func:`~layerlapse.prepare` returns
    and every verb accepts in place of a scene (then it needs no network keywords).

    ``notes``: what converting a user's model said (dropped layers, folding activations).
    """

    preset: Preset
    network: Network
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """``linked-tori · 3-3-3-3-2 tanh``."""
        return f"{self.preset.name} \u00b7 {self.network.config.describe()}"

    @property
    def accuracy(self) -> float | None:
        """The accuracy a picture shows: on the scene's held-out samples when it has them (the
        digits' unseen images), else the network's own (:mod:`layerlapse.app.held_out`)."""
        from layerlapse.app.held_out import shown_accuracy

        return shown_accuracy(self.preset, self.network)

    def deform(self, *, fps: float = 30.0, timeline: dict | TimelineConfig | None = None,
               linear_path: str = "polar") -> Deformation:
        """Every frame's positions of the scene's points; see :func:`~layerlapse.deform`."""
        return source.deform(self.preset, self.network, fps=fps, timeline=timeline, linear_path=linear_path)


#: what every verb takes as its scene
SceneLike = str | Preset | Scene | Prepared


def as_preset(scene: SceneLike) -> Preset:
    """A preset name, scene file or ``file.py[:NAME]``, a Preset, a bare Scene or a Prepared."""
    if isinstance(scene, Prepared):
        return scene.preset
    if isinstance(scene, Preset):
        return scene
    if isinstance(scene, Scene):
        return preset_for(scene)
    if isinstance(scene, str):
        from layerlapse.app.scenefile import resolve_scene

        return resolve_scene(scene)
    raise LayerlapseError(f"scene: expected a scene name, file, Preset or Scene, got {type(scene).__name__}")


def scene_style(preset: Preset) -> Style:
    """The style a scene file asked for, else the default."""
    from layerlapse.draw.style import Style

    return Style.themed(**preset.style) if preset.style else Style()


def themed_style(preset: Preset, background: str | None, overrides: dict) -> Style:
    """The scene file's style with ``overrides`` on top, on the ``background`` theme (given,
    else the scene file's, else white); a bad value is one line naming the field."""
    from pydantic import ValidationError

    from layerlapse.draw.style import Style
    from layerlapse.scenes.registry import validation_message

    looks = dict(preset.style or {})
    background = background or looks.get("background", "white")
    looks.pop("background", None)  # the given one wins
    if "camera" in overrides:  # so does a camera asked for by name, over a preset's view
        looks.pop("view", None)
    try:
        return Style.themed(background, **{**looks, **overrides})
    except ValidationError as exc:
        raise LayerlapseError(validation_message("style", exc, Style)) from None


def prepare(scene: SceneLike, options: NetworkOptions) -> Prepared:
    """The scene and its network, trained, loaded or converted once (see :func:`layerlapse.prepare`)."""
    choosing = [key for key, value in options.items() if key != "progress" and value not in (None, False)]
    if isinstance(scene, Prepared) and not choosing:
        return scene  # its network stands (progress= alone changes nothing)
    preset = as_preset(scene)
    network, model = options.get("network"), options.get("model")
    given = [name for name in ("network", "model") if options.get(name) is not None]
    if len(given) > 1:
        raise LayerlapseError("model: give either network= or model=, not both")
    if given and (options.get("network_config") or options.get("training") or options.get("retrain")):
        raise LayerlapseError(f"{given[0]}: a given network is used as it is; drop the network and training "
                              "settings (hidden, activation, epochs, seed, retrain)")
    if given and options.get("checkpoint") is not None:
        raise LayerlapseError(f"checkpoint: a given {given[0]} is neither loaded from nor saved to a checkpoint; "
                              "drop --checkpoint (save a network with ll.save_network)")
    arch, activation = options.get("arch"), options.get("activation")
    if model is None and (arch is not None or activation is not None):
        name = "arch" if arch is not None else "activation"
        raise LayerlapseError(f"{name}: describes the tensors of a model file (--model weights.pt or "
                              "weights.safetensors; model=); to train a network here, use --hidden and "
                              "--activation (network_config=)")
    if model is not None:
        network, notes = source.model_network(preset, model, arch=arch, activation=activation)
        return Prepared(preset, network, notes)
    if network is None:
        network = source.get_network(preset, checkpoint=options.get("checkpoint"),
                                     network=options.get("network_config"), training=options.get("training"),
                                     retrain=options.get("retrain", False), progress=options.get("progress", True))
    return Prepared(preset, network)


@dataclass(frozen=True)
class Request:
    """One verb's scene, style and network keywords, resolved once.

    ``scene`` is what the caller passed (kept: a :class:`Prepared` carries its network),
    ``preset`` the scene it resolves to, ``style`` the given style or the scene file's.
    """

    scene: SceneLike
    preset: Preset
    style: Style
    options: NetworkOptions = field(default_factory=lambda: NetworkOptions())

    @classmethod
    def of(cls, scene: SceneLike, style: Style | None = None, options: NetworkOptions | None = None) -> Request:
        preset = as_preset(scene)
        return cls(scene, preset, style or scene_style(preset), options if options is not None else NetworkOptions())

    @property
    def name(self) -> str:
        return self.preset.name

    def default_out(self, suffix: str) -> Path:
        """``outputs/<scene>/<scene><suffix>``."""
        return source.OUTPUTS / self.name / f"{self.name}{suffix}"

    @property
    def network_given(self) -> bool:
        """True when no training lies ahead: a Prepared scene, ``network=`` or ``model=``."""
        return isinstance(self.scene, Prepared) or any(self.options.get(k) is not None for k in ("network", "model"))

    def planned_config(self) -> NetworkConfig | None:
        """The architecture this request will draw, known before any training; None for a user's model."""
        if isinstance(self.scene, Prepared):
            return self.scene.network.config
        network = self.options.get("network")
        if network is not None:
            return network.config
        if self.options.get("model") is not None:
            return None
        return source.network_settings(self.preset, self.options.get("network_config"),
                                       self.options.get("training"))[0]

    def timeline(self, seconds_per_stage: float | None = None) -> TimelineConfig:
        """The scene's timeline, with ``seconds_per_stage`` if given."""
        return source.timeline_settings(self.preset, {"seconds_per_stage": seconds_per_stage}
                                        if seconds_per_stage is not None else None)

    def planned_timeline(self, timeline: TimelineConfig, fps: float) -> Timeline | None:
        """The timeline the planned network will have (its stage names and frame count), or
        None when the architecture is not known before the model is read."""
        config = self.planned_config()
        return None if config is None else Timeline.build(source.planned_stages(config), timeline, fps)

    def check_frame_cap(self, timeline: TimelineConfig, fps: float, *, field: str, lower: str) -> None:
        """Refuse, before any training, a timeline of more frames than :data:`~layerlapse.limits.MAX_FRAMES`."""
        from layerlapse.limits import MAX_FRAMES

        planned = self.planned_timeline(timeline, fps)
        if planned is not None and planned.n_frames > MAX_FRAMES:
            raise LayerlapseError(f"{field}: {planned.n_frames:,} frames is more than the {MAX_FRAMES:,} allowed; "
                                  f"lower {lower}")

    def check_moments(self, specs: list[str]) -> None:
        """Validate stage names against the network the scene will get, before any training
        (a given network's real stages are checked when the figure is made)."""
        from layerlapse.render.figure import parse_at

        if self.network_given:
            return
        timeline = self.planned_timeline(self.timeline(), 30.0)
        if timeline is not None:
            for spec in specs:
                parse_at(spec, timeline)

    def check_look(self) -> None:
        """Style choices the network cannot show, refused before any training."""
        if self.style.color_by != "stretch":
            return
        from layerlapse.draw.heat import KNN_STRETCH

        config = self.planned_config()
        if config is not None and config.head == "knn":
            raise LayerlapseError(KNN_STRETCH)
        if config is not None:  # before training: the Jacobians of a very wide network do not fit
            from layerlapse.networks.stretch import check_stretch_size

            check_stretch_size(self.preset.scene, max((config.input_dim, *config.hidden)))

    def prepare(self, **extra: Unpack[NetworkOptions]) -> Prepared:
        """The scene and its network, trained, loaded or converted once."""
        return prepare(self.scene if isinstance(self.scene, Prepared) else self.preset,
                       NetworkOptions(**{**self.options, **extra}))
