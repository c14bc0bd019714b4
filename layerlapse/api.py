"""The public workflow: scene -> network -> deformation -> movie, each step one call.

The CLI is a thin layer over these functions.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Union

import numpy as np
from pydantic import ValidationError
from tqdm import tqdm

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover
    from typing_extensions import Unpack

from layerlapse._files import check_folder_writable, check_output, check_replaceable, output_path
from layerlapse.errors import LayerlapseError, choice_error
from layerlapse.networks.checkpoint import BadCheckpoint, fingerprint, load_network, save_network
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import LayerPlan, orient_layers
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.stages import LINEAR_PATHS, Stage
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.networks.train import Network, TrainConfig, train
from layerlapse.presets import Preset, load_scene, preset_for
from layerlapse.scenes.base import Scene
from layerlapse.scenes.registry import validation_message

if TYPE_CHECKING:
    from layerlapse.draw.style import Style

__all__ = [
    "NetworkOptions",
    "Prepared",
    "RenderResult",
    "deform",
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

OUTPUTS = Path("outputs")
#: what every function takes as its scene
SceneLike = Union[str, Preset, Scene, "Prepared"]


class NetworkOptions(TypedDict, total=False):
    """Where a function's network comes from; every function of this module takes these
    keywords (declared once, here).

    network
        A trained :class:`~layerlapse.networks.train.Network` to use as it is.
    model
        Your own PyTorch model: an ``nn.Sequential`` of ``nn.Linear`` and element-wise
        activations, or the path of a TorchScript file (``torch.jit.save``).
    checkpoint
        A checkpoint path: loaded if it exists, else trained and saved there (default:
        ``outputs/<scene>/network-<hash>.pt``).
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
    checkpoint: str | Path | None
    network_config: dict | None
    training: dict | None
    retrain: bool
    progress: bool


def _preset(scene: SceneLike) -> Preset:
    """A preset name, scene file or ``file.py[:NAME]``, a Preset, a bare Scene or a Prepared."""
    if isinstance(scene, Prepared):
        return scene.preset
    if isinstance(scene, Preset):
        return scene
    if isinstance(scene, Scene):
        return preset_for(scene)
    if isinstance(scene, str):
        from layerlapse.scenefile import resolve_scene

        return resolve_scene(scene)
    raise LayerlapseError(f"scene: expected a scene name, file, Preset or Scene, got {type(scene).__name__}")


def _update(model: Any, overrides: dict | None, where: str) -> Any:
    if not overrides:
        return model
    try:
        return type(model).model_validate({**model.model_dump(), **overrides})
    except ValidationError as exc:
        raise LayerlapseError(validation_message(where, exc)) from None


def network_settings(scene: SceneLike, network: dict | None = None,
                     training: dict | None = None) -> tuple[NetworkConfig, TrainConfig]:
    """The scene's default network and training configs with ``network``/``training`` overrides."""
    preset = _preset(scene)
    config = _update(preset.network, network, "network")
    if network and "k" in network and config.head != "knn":
        raise LayerlapseError(f"k: {network['k']} is read by a k-NN head only; add --head knn "
                              "(network_config={'head': 'knn', ...})")
    return config, _update(preset.training, training, "training")


def default_checkpoint(scene: SceneLike, config: NetworkConfig, training: TrainConfig) -> Path:
    """``outputs/<scene>/network-<hash>.pt``: one file per geometry, architecture and training."""
    preset = _preset(scene)
    return OUTPUTS / preset.name / f"network-{fingerprint(preset.key, config, training)}.pt"


def train_network(
    scene: SceneLike, *, network: dict | None = None, training: dict | None = None, progress: bool = True
) -> Network:
    """Train the scene's network (its defaults, with overrides) on its samples.

    Parameters
    ----------
    scene
        A preset name, scene file, :class:`~layerlapse.presets.Preset` or Scene.
    network, training
        Overrides of the scene's default network and training settings.
    progress
        Show a progress bar.

    Returns
    -------
    Network
    """
    preset = _preset(scene)
    config, train_config = network_settings(preset, network, training)
    _check_scale(preset)
    bar = tqdm(total=train_config.epochs * train_config.restarts, unit="epoch", desc="train",
               disable=not progress, file=sys.stderr)

    clock = TrainingEstimate(train_config.epochs * train_config.restarts)

    def report(epoch: int, loss: float) -> None:
        clock.tick(bar)
        if epoch % 10 == 0 or epoch == train_config.epochs:
            bar.set_postfix(loss=f"{loss:.4f}")

    try:
        return train(preset.samples, preset.labels, config, train_config, scene_key=preset.key, progress=report)
    finally:
        bar.close()


#: samples spanning less (or more) than this many units are far from what a network's
#: initial weights expect (inputs about 1 across): training then tends to stay at chance
SCALE_RANGE = (1e-2, 1e3)


def _check_scale(preset: Preset) -> None:
    """Warn before training on samples of a scale a network cannot be expected to learn from."""
    span = float(np.ptp(preset.samples, axis=0).max()) if len(preset.samples) else 0.0
    if not SCALE_RANGE[0] <= span <= SCALE_RANGE[1]:
        warnings.warn(f"scene: its samples span {span:.2g} units; a network starts out expecting inputs about 1 "
                      "across, so it may not separate them (accuracy near chance) and the picture may collapse; "
                      "scale the scene's geometry to about 1", stacklevel=3)


class TrainingEstimate:
    """Times the first epochs and warns once (no question asked) when training will run for
    more than a few minutes (:data:`~layerlapse.limits.WARN_SECONDS`), with the estimate.
    The clock starts at the end of the first epoch, which also pays for setting up."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.done = 0
        self.start = 0.0
        self.judged = False

    def tick(self, bar: Any = None) -> None:
        """One epoch done (``bar``: a progress bar to advance)."""
        if bar is not None:
            bar.update(1)
        self.done += 1
        if self.done == 1:
            self.start = time.perf_counter()
            return
        elapsed = time.perf_counter() - self.start
        if self.judged or (elapsed < 1.0 and self.done < 6):
            return
        self.judged = True
        from layerlapse.limits import WARN_SECONDS

        total = elapsed / (self.done - 1) * self.epochs
        if total > WARN_SECONDS:
            warnings.warn(f"train: {self.epochs:,} epochs will take about {total / 60:.0f} min here "
                          f"({elapsed / (self.done - 1):.2f} s each); fewer --epochs or samples_per_class train quicker",
                          stacklevel=2)


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
    warning; a given one is refused, with the hint to retrain it.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset or Scene.
    checkpoint
        Where the network is cached; None: :func:`default_checkpoint`.
    network, training
        Overrides of the scene's defaults.
    retrain
        Train even if the checkpoint exists.
    progress
        Show a progress bar while training.

    Returns
    -------
    Network
    """
    preset = _preset(scene)
    config, train_config = network_settings(preset, network, training)
    if preset.fixed is not None and not network:
        return fixed_network(preset, config)
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(preset, config, train_config)
    if path.is_dir():  # never ours to delete, even in the cache
        raise LayerlapseError(f"checkpoint: {str(path)!r} is a directory, not a checkpoint file; "
                              f"{'give a file path' if checkpoint is not None else 'move it away'}")
    if path.exists() and not retrain:
        try:
            return load_network(path, scene_key=preset.key, config=config, samples=(preset.samples, preset.labels))
        except BadCheckpoint as exc:
            if checkpoint is not None:
                raise LayerlapseError(f"{exc}; retrain it with --retrain (retrain=True)") from None
            warnings.warn(f"{exc}; retraining the cached network", stacklevel=2)
    check_folder_writable(path, "checkpoint")  # before training, not after
    if checkpoint is not None and path.is_file():  # --retrain into a user's file: only one of ours
        check_replaceable(path, "checkpoint")      # (the cache is ours to rebuild, whatever is in it)
    net = train_network(preset, network=network, training=training, progress=progress)
    save_network(net, path)
    return net


def fixed_network(scene: SceneLike, config: NetworkConfig) -> Network:
    """The scene's hand-set layers as a Network (no training, no accuracy)."""
    preset = _preset(scene)
    width = config.hidden[-1] if config.hidden else config.input_dim
    head = (np.eye(config.classes, width), np.zeros(config.classes))
    return Network(MLPWeights.from_layers(config, preset.fixed or (), head), config, TrainConfig(), None, preset.key)


def timeline_settings(scene: SceneLike, overrides: dict | None = None) -> TimelineConfig:
    return _update(_preset(scene).timeline, overrides, "timeline")


def _model_network(preset: Preset, model: Any) -> tuple[Network, tuple[str, ...]]:
    """Your own model (a module, or a TorchScript file) as a Network; -> (network, notes)."""
    from layerlapse.networks.torch_import import load_model_file, network_from_module

    if isinstance(model, (str, Path)):
        model = load_model_file(model)
    network, notes = network_from_module(model, input_dim=preset.dim, samples=preset.samples,
                                         labels=preset.labels, scene_key=preset.key)
    return network, tuple(notes)


@dataclass(frozen=True)
class Prepared:
    """A scene and the network it is shown with: what :func:`prepare` returns and every
    function here accepts in place of a scene (then it needs no network keywords).

    ``notes``: what converting a user's model said (dropped layers, folding activations).
    """

    preset: Preset
    network: Network
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """``linked-tori · 3-3-3-3-2 tanh``."""
        return f"{self.preset.name} \u00b7 {self.network.config.describe()}"

    def deform(self, *, fps: float = 30.0, timeline: dict | TimelineConfig | None = None,
               linear_path: str = "polar") -> Deformation:
        """Every frame's positions of the scene's points; see :func:`deform`."""
        return deform(self.preset, self.network, fps=fps, timeline=timeline, linear_path=linear_path)


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
    choosing = [key for key, value in options.items() if key != "progress" and value not in (None, False)]
    if isinstance(scene, Prepared) and not choosing:
        return scene  # its network stands (progress= alone changes nothing)
    preset = _preset(scene)
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
    if model is not None:
        network, notes = _model_network(preset, model)
        return Prepared(preset, network, notes)
    if network is None:
        network = get_network(preset, checkpoint=options.get("checkpoint"), network=options.get("network_config"),
                              training=options.get("training"), retrain=options.get("retrain", False),
                              progress=options.get("progress", True))
    return Prepared(preset, network)


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
    preset = _preset(scene)
    if linear_path not in LINEAR_PATHS:
        raise choice_error("linear_path", linear_path, LINEAR_PATHS)
    if network.config.input_dim != preset.dim:
        raise LayerlapseError(
            f"network.input_dim: {network.config.input_dim} does not match scene {preset.name!r} (dim {preset.dim})"
        )
    config = timeline if isinstance(timeline, TimelineConfig) else timeline_settings(preset, timeline)
    hidden, head = network.layers()
    plan: LayerPlan = orient_layers(hidden, head, linear_path=linear_path, input_dim=network.config.input_dim)
    tl = Timeline.build(plan.stages(), config, fps)
    points, _ = preset.scene.points()
    return Deformation(plan, tl, points)


def planned_stages(config: NetworkConfig) -> list[Stage]:
    """The stages a network of this architecture will have, before it is trained (their
    names do not depend on the weights)."""
    rng = np.random.default_rng(0)
    arrays = {name: rng.normal(size=shape) for name, shape in config.parameter_shapes().items()}
    hidden, head = MLPWeights(config, arrays).layers()
    return orient_layers(hidden, head, input_dim=config.input_dim).stages()


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render` made: the movie, the network, the animated plan's notes."""

    path: Path
    network: Network
    deformation: Any
    trajectory: Path | None = None
    model_notes: tuple[str, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        plan = getattr(self.deformation, "plan", None)  # a training-clock movie has no layer plan
        notes = self.model_notes + (plan.notes if plan is not None else ())
        return tuple(dict.fromkeys(notes))  # a user's model and the plan may say the same thing


def render(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    quality: str = "medium",
    size: tuple[int, int] | str | None = None,
    fps: float | None = None,
    seconds_per_stage: float | None = None,
    linear_path: str = "polar",
    style: Style | None = None,
    save_trajectory: str | Path | None = None,
    over: str = "depth",
    seconds: float = 12.0,
    **options: Unpack[NetworkOptions],
) -> RenderResult:
    """Render a scene's deformation through every layer of its network to a movie.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        ``.mp4`` (H.264), ``.webm`` (VP9), ``.gif``, or a folder for PNG frames; default
        ``outputs/<scene>/<scene>.mp4`` (``-training.mp4`` for ``over="training"``).
    quality
        ``low``, ``medium`` or ``high`` (size, frame rate, anti-aliasing).
    size, fps
        Override the quality's size (width, height) and frame rate.
    seconds_per_stage
        Seconds for each stage of each layer.
    linear_path
        ``polar`` (stays invertible) or ``straight``.
    style
        A :class:`~layerlapse.draw.style.Style`; default: the scene file's, else the default.
    save_trajectory
        Also write every frame's vertex positions to this ``.npz``.
    over
        ``depth`` (through the layers of a trained network) or ``training`` (the last
        representation as a fresh network trains, over ``seconds`` seconds).
    seconds
        Length of an ``over="training"`` movie.
    **options
        Where the network comes from (``network=``, ``model=``, ``checkpoint=``,
        ``network_config=``, ``training=``, ``retrain=``, ``progress=``): see
        :class:`NetworkOptions`.

    Returns
    -------
    RenderResult
    """
    from layerlapse.render.encoder import FOLDER, check_frame_folder, output_kind
    from layerlapse.render.movie import check_movie_length, resolve_settings, write_movie
    from layerlapse.trajectory import check_trajectory_path
    from layerlapse.trajectory import save_trajectory as write_trajectory

    if linear_path not in LINEAR_PATHS:
        raise choice_error("linear_path", linear_path, LINEAR_PATHS)
    if over not in CLOCKS:
        raise choice_error("over", over, CLOCKS)
    if over == "training" and save_trajectory:
        raise LayerlapseError("save_trajectory: trajectories are written for --over depth only")
    if over == "training" and (options.get("model") is not None or options.get("network") is not None
                               or isinstance(scene, Prepared)):
        raise LayerlapseError("over: the training clock trains its own network; it takes no model or network")
    if not 0 < seconds <= 3600:
        raise LayerlapseError(f"seconds: {seconds} is out of range; allowed: 0 < seconds <= 3600")
    preset = _preset(scene)
    style = style or _scene_style(preset)
    suffix = "-training" if over == "training" else ""
    out = output_path(out, frames_folder=True) if out is not None else OUTPUTS / preset.name / f"{preset.name}{suffix}.mp4"
    kind = output_kind(out)
    settings = resolve_settings(quality, size, fps, kind=kind, style=style)
    timeline = {"seconds_per_stage": seconds_per_stage} if seconds_per_stage is not None else None
    timeline_config = timeline_settings(preset, timeline)
    progress = options.get("progress", True)
    # sizes first (nothing touched yet), then every output: the movie, and the trajectory beside it
    trajectory_path = output_path(save_trajectory, "save_trajectory") if save_trajectory else None
    if over == "training":
        if style.color_by == "stretch" or style.hud or style.boundary == "pulled-back":
            raise LayerlapseError("over: the training clock has no layers to measure stretch in, to pull the "
                                  "boundary back through or to read det from; drop --color-by stretch, "
                                  "--boundary pulled-back and --hud (they follow --over depth)")
        check_movie_length(max(2, int(round(seconds * settings.fps))), settings, planar=preset.dim < 3)
    else:
        _check_look(style, scene, preset, options)
    n_points = len(preset.scene.points()[0])
    points = n_points if trajectory_path is not None else None
    planned = _planned_config(scene, preset, options) if over == "depth" else None
    if planned is not None:  # before any training; a user's model is checked once it is read
        _check_length(planned, timeline_config, settings, n_points, points)
    if kind == FOLDER:
        check_folder_writable(out)
        check_frame_folder(out)
    else:
        check_output(out)
    if trajectory_path is not None:
        check_trajectory_path(trajectory_path)
    if over == "training":
        return _render_training(preset, out, settings, style, options.get("network_config"),
                                options.get("training"), seconds, progress)
    prepared = prepare(scene if isinstance(scene, Prepared) else preset, **options)
    if planned is None:
        _check_length(prepared.network.config, timeline_config, settings, n_points, points)
    deformation = prepared.deform(fps=settings.fps, timeline=timeline_config, linear_path=linear_path)
    title = prepared.title if preset.class_names else preset.name
    write_movie(out, preset.scene, deformation, settings, style=style, title=title,
                accuracy=prepared.network.accuracy, progress=progress)
    trajectory = write_trajectory(trajectory_path, preset.scene, deformation) if trajectory_path else None
    return RenderResult(out, prepared.network, deformation, trajectory, prepared.notes)


CLOCKS = ("depth", "training")


def _check_look(style: Style | None, scene: SceneLike, preset: Preset, options: NetworkOptions) -> None:
    """Style choices the network cannot show, refused before any training."""
    if style is None or style.color_by != "stretch":
        return
    from layerlapse.draw.heat import KNN_STRETCH

    config = _planned_config(scene, preset, options)
    if config is not None and config.head == "knn":
        raise LayerlapseError(KNN_STRETCH)


def _planned_config(scene: SceneLike, preset: Preset, options: NetworkOptions) -> NetworkConfig | None:
    """The architecture a call will draw, known before any training; None for a user's model."""
    if isinstance(scene, Prepared):
        return scene.network.config
    if options.get("network") is not None:
        return options["network"].config  # type: ignore[union-attr]
    if options.get("model") is not None:
        return None
    return network_settings(preset, options.get("network_config"), options.get("training"))[0]


def _check_length(config: NetworkConfig, timeline: TimelineConfig, settings: Any, n_points: int,
                  trajectory_points: int | None = None) -> None:
    """Refuse a movie of more frames than allowed, or a trajectory file larger than allowed;
    warn when the movie will render for minutes."""
    from layerlapse.render.movie import check_movie_length
    from layerlapse.trajectory import check_trajectory_size

    n_frames = Timeline.build(planned_stages(config), timeline, settings.fps).n_frames
    planar = max((config.flow_dim, *config.hidden)) < 3
    work = n_points * sum(w * w for w in config.hidden)
    check_movie_length(n_frames, settings, planar=planar, work=work)
    if trajectory_points is not None:
        check_trajectory_size(n_frames, trajectory_points)


def _render_training(preset: Preset, out: Path, settings: Any, style: Style, network_config: dict | None,
                     training: dict | None, seconds: float, progress: bool) -> RenderResult:
    from layerlapse.networks.training_clock import record_training
    from layerlapse.render.movie import write_movie

    config, train_config = network_settings(preset, network_config, training)
    points, _ = preset.scene.points()
    bar = tqdm(total=train_config.epochs * train_config.restarts, unit="epoch", desc="train",
               disable=not progress, file=sys.stderr)
    clock = TrainingEstimate(train_config.epochs * train_config.restarts)
    try:
        movie, network = record_training(points, preset.samples, preset.labels, config, train_config,
                                         frames=max(2, int(round(seconds * settings.fps))), fps=settings.fps,
                                         scene_key=preset.key, progress=lambda epoch, loss: clock.tick(bar))
    finally:
        bar.close()
    title = f"{preset.name} \u00b7 {config.describe()} \u00b7 training"
    write_movie(out, preset.scene, movie, settings, style=style, title=title, accuracy=None, progress=progress)
    return RenderResult(out, network, movie, None)


def _check_moments(scene: SceneLike, specs: list[str], options: NetworkOptions) -> None:
    """Validate stage names against the network the scene will get, before any training."""
    from layerlapse.render.figure import parse_at

    if isinstance(scene, Prepared) or options.get("network") is not None or options.get("model") is not None:
        return  # no training ahead: the real stages are checked when the figure is made
    preset = _preset(scene)
    config, _ = network_settings(preset, options.get("network_config"), options.get("training"))
    timeline = Timeline.build(planned_stages(config), timeline_settings(preset), 30.0)
    for spec in specs:
        parse_at(spec, timeline)


def _scene_style(scene: SceneLike) -> Style:
    """The style a scene file asked for, else the default."""
    from layerlapse.draw.style import Style

    preset = _preset(scene)
    return Style.themed(**preset.style) if preset.style else Style()


def figure(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    at: str = "output",
    sheet: bool = False,
    stages: list[str] | None = None,
    columns: int | None = None,
    size: tuple[int, int] | str | None = None,
    inches: tuple[float, float] | None = None,
    dpi: float = 300.0,
    supersample: int = 2,
    transparent: bool = False,
    style: Style | None = None,
    **options: Unpack[NetworkOptions],
) -> Path:
    """A publication still of one moment, or a contact sheet of several.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        ``.png``, or ``.pdf``/``.svg``/``.eps`` for single frames; default
        ``outputs/<scene>/<scene>-<at>.png`` or ``<scene>-sheet.png``.
    at
        ``'layer2.tanh:0.5'`` (a stage, optionally a fraction of it), ``'output'``, or a
        time such as ``'3.2s'``.
    sheet
        A contact sheet of ``stages`` (default: the input, then the end of each layer).
    stages, columns
        The sheet's panels and columns.
    size, inches, dpi
        Pixels (per panel for sheets), or inches at ``dpi``.
    supersample
        Render this many times larger and average down (1-8).
    transparent
        Transparent PNG background.
    style
        A Style; default: the scene file's, else the default.
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    Path
        The file written.
    """
    from layerlapse.render.figure import FigureSize, figure_kind, save_contact_sheet, save_figure

    preset = _preset(scene)
    style = style or _scene_style(preset)
    if inches is not None:
        fsize = FigureSize.inches(*inches, dpi)
    elif size is not None:
        from layerlapse.render.movie import pixel_size

        width, height = pixel_size(size)
        fsize = FigureSize(width, height, dpi if dpi else 100.0)
    else:
        fsize = FigureSize(800, 600, dpi) if sheet else FigureSize(1600, 1200, dpi)
    if out is None:
        tag = "sheet" if sheet else re.sub(r"[^A-Za-z0-9.]+", "-", at).strip("-")
        out = OUTPUTS / preset.name / f"{preset.name}-{tag}.png"
    out = output_path(out)
    figure_kind(out)
    fsize.check(supersample)
    _check_moments(scene if isinstance(scene, Prepared) else preset, (stages or []) if sheet else [at], options)
    _check_look(style, scene, preset, options)
    check_output(out)
    prepared = prepare(scene if isinstance(scene, Prepared) else preset, **options)
    deformation = prepared.deform()
    accuracy = prepared.network.accuracy
    if sheet:
        return save_contact_sheet(out, preset.scene, deformation, stages=stages, columns=columns, panel=fsize,
                                  supersample=supersample, transparent=transparent, style=style, accuracy=accuracy)
    return save_figure(out, preset.scene, deformation, at=at, size=fsize, supersample=supersample,
                       transparent=transparent, style=style, accuracy=accuracy, title=prepared.title)


def export_meshes(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    at: list[str] | tuple[str, ...] = ("input", "output"),
    style: Style | None = None,
    **options: Unpack[NetworkOptions],
) -> list[Path]:
    """The deformed meshes at each stage in ``at`` as PLY/OBJ/GLB, coloured by class.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        ``.ply``, ``.obj`` or ``.glb``; several stages add ``-STAGE`` to the name. Default
        ``outputs/<scene>/<scene>.glb``.
    at
        Stage names (``input``, ``layer1.tanh``, ``output``...).
    style
        For the class colours.
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    list of Path
        The files written.
    """
    from layerlapse.render.export import MESH_FORMATS, export_targets
    from layerlapse.render.export import export_meshes as write

    preset = _preset(scene)
    out = output_path(out) if out is not None else OUTPUTS / preset.name / f"{preset.name}.glb"
    if out.suffix.lower() not in MESH_FORMATS:
        raise LayerlapseError(f"out: unknown mesh format {out.suffix or '(none)'!r} of {out.name!r}; allowed: {', '.join(MESH_FORMATS)}")
    _check_moments(scene if isinstance(scene, Prepared) else preset, list(at), options)
    _check_look(style, scene, preset, options)
    for target in export_targets(out, list(at)):
        check_output(target)
    prepared = prepare(scene if isinstance(scene, Prepared) else preset, **options)
    return write(out, preset.scene, prepared.deform(), at, style=style or _scene_style(preset))


def show(
    scene: SceneLike,
    *,
    size: tuple[int, int] | str | None = None,
    style: Style | None = None,
    block: bool = True,
    **options: Unpack[NetworkOptions],
) -> Any:
    """Open an interactive window: a time slider, Space to play, Left/Right to step stages.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    size
        Window size in pixels (default 1280x800).
    style
        A Style; default: the scene file's, else the default.
    block
        Wait until the window is closed.
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    Viewer
        The :class:`~layerlapse.render.window.Viewer` (after the window closes when ``block``).
    """
    from layerlapse.render.movie import pixel_size
    from layerlapse.render.window import Viewer, check_display

    check_display()  # before any training
    preset = _preset(scene)
    _check_look(style or _scene_style(preset), scene, preset, options)
    prepared = prepare(scene if isinstance(scene, Prepared) else preset, **options)
    viewer = Viewer(preset.scene, prepared.deform(fps=60.0), style=style or _scene_style(preset),
                    size=pixel_size(size) if size else (1280, 800), accuracy=prepared.network.accuracy, title=prepared.title)
    viewer.show(block=block)
    return viewer


@dataclass(frozen=True)
class WebResult:
    """What :func:`web` made: the page, its size in bytes, its keyframes (timeline frames)
    and their measured interpolation error (a fraction of the scene's extent)."""

    path: Path
    network: Network
    size: int
    keyframes: np.ndarray
    error: float
    notes: tuple[str, ...] = ()


def web_page(scene: SceneLike, *, seconds_per_stage: float | None = None, style: Style | None = None,
             keyframes: int | None = None, **options: Unpack[NetworkOptions]) -> tuple[Any, Prepared]:
    """The page of :func:`web`, built in memory: -> (:class:`~layerlapse.web.page.Page`, Prepared)."""
    from layerlapse.web.data import DEFAULT_KEYFRAMES
    from layerlapse.web.page import build_page

    count = DEFAULT_KEYFRAMES if keyframes is None else keyframes
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 256:
        raise LayerlapseError(f"keyframes: {keyframes!r} is out of range; allowed: a whole number from 1 to 256 "
                              "(the most keyframe intervals per stage)")
    preset = _preset(scene)
    style = style or _scene_style(preset)
    timeline = timeline_settings(preset, {"seconds_per_stage": seconds_per_stage}
                                 if seconds_per_stage is not None else None)
    planned = _planned_config(scene, preset, options)
    if planned is not None:  # the frame cap, before any training
        from layerlapse.limits import MAX_FRAMES

        n = Timeline.build(planned_stages(planned), timeline, 30.0).n_frames
        if n > MAX_FRAMES:
            raise LayerlapseError(f"seconds_per_stage: {n:,} frames is more than the {MAX_FRAMES:,} allowed; "
                                  "lower --seconds-per-stage")
    prepared = prepare(scene if isinstance(scene, Prepared) else preset, **options)
    deformation = prepared.deform(fps=30.0, timeline=timeline)
    title = prepared.title if preset.class_names else preset.name
    page = build_page(preset.scene, deformation, style=style, title=title, accuracy=prepared.network.accuracy,
                      keyframes=count)
    return page, prepared


def web(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    seconds_per_stage: float | None = None,
    style: Style | None = None,
    keyframes: int | None = None,
    **options: Unpack[NetworkOptions],
) -> WebResult:
    """One self-contained HTML page that plays the deformation in any browser, offline.

    The page carries three.js, keyframes of every part's positions and a player (orbit
    and zoom with the mouse, a time slider, Space to play, Left/Right to step stages,
    toggles for the grid, the classes and the boundary); it opens from ``file://`` with
    the network off. ``page.html#t=0.5`` opens halfway (``#t=3.2s``: at 3.2 s).

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        An ``.html`` file; default ``outputs/<scene>/<scene>.html``.
    seconds_per_stage
        Seconds for each stage of each layer.
    style
        A Style (background, class colours, ``color_by="stretch"``); default: the scene
        file's, else the default.
    keyframes
        The most keyframe intervals per stage (default 24; each stage gets the fewest that
        keep interpolation within 0.4% of the scene's extent): fewer make a smaller page.
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    WebResult

    Examples
    --------
    >>> ll.web("linked-tori")                 # outputs/linked-tori/linked-tori.html
    """
    from layerlapse._files import atomic_output

    preset = _preset(scene)
    path = output_path(out) if out is not None else OUTPUTS / preset.name / f"{preset.name}.html"
    if path.suffix.lower() not in (".html", ".htm"):
        raise LayerlapseError(f"out: {path.name!r} is not an .html file; the page is one HTML file")
    check_output(path)
    page, prepared = web_page(scene, seconds_per_stage=seconds_per_stage, style=style, keyframes=keyframes, **options)
    with atomic_output(path) as tmp:
        tmp.write_text(page.html, encoding="utf-8")
    return WebResult(path, prepared.network, page.size, page.keyframes.frames, page.keyframes.error, prepared.notes)


def notebook(
    scene: SceneLike,
    *,
    backend: str = "auto",
    frames: int = 48,
    size: tuple[int, int] = (640, 400),
    style: Style | None = None,
    **options: Unpack[NetworkOptions],
) -> Any:
    """Show a scene inline in Jupyter with a time slider.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    backend
        ``auto`` or ``trame``: a live view when PyVista's trame backend is installed;
        ``web`` (or ``auto`` without trame): the page of :func:`web`, inline (an iframe);
        ``static``: ``frames`` pre-rendered frames under a slider.
    frames, size
        The static slider's frame count and size (``web``: the inline page's size).
    style
        A Style; default: the scene file's, else the default.
    **options
        Where the network comes from: see :class:`NetworkOptions` (progress defaults to off).

    Returns
    -------
    object
        Something Jupyter displays.
    """
    from layerlapse.render.notebook import BACKENDS, frame_slider, live_view, trame_available

    if backend not in BACKENDS:
        raise choice_error("backend", backend, BACKENDS)
    if backend == "trame" and not trame_available():
        raise LayerlapseError("backend: 'trame' needs PyVista's trame backend: pip install 'pyvista[jupyter]'")
    preset = _preset(scene)
    style = style or _scene_style(preset)
    live = backend == "trame" or (backend == "auto" and trame_available())
    options.setdefault("progress", False)
    if backend == "web" or (backend == "auto" and not live):
        from layerlapse.render.notebook import InlinePage

        page, _ = web_page(scene if isinstance(scene, Prepared) else preset, style=style, **options)
        return InlinePage(page.html, height=size[1] + 60)
    prepared = prepare(scene if isinstance(scene, Prepared) else preset, **options)
    deformation = prepared.deform(fps=30.0 if live else 15.0)
    accuracy = prepared.network.accuracy
    if live:
        return live_view(preset.scene, deformation, size=size, style=style, accuracy=accuracy)
    return frame_slider(preset.scene, deformation, frames=frames, size=size, style=style, accuracy=accuracy)


@dataclass(frozen=True)
class InspectResult:
    """What :func:`inspect` made: the three files, the certificate's arrays
    (:class:`~layerlapse.networks.certificate.Certificate`) and its one-paragraph summary."""

    paths: tuple[Path, ...]
    certificate: Any
    summary: str
    network: Network
    notes: tuple[str, ...] = ()


def inspect(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    every: int | None = None,
    fps: float = 30.0,
    seconds_per_stage: float | None = None,
    linear_path: str = "polar",
    **options: Unpack[NetworkOptions],
) -> InspectResult:
    """A certificate for every frame: det and sigma_min of the linear map, the distance
    between the classes and whether they touch, the linking number of their core curves,
    Betti numbers per layer, and the accuracy (see :mod:`layerlapse.networks.certificate`).

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        The folder for ``certificate.csv``, ``certificate.json`` and ``certificate.png``
        (default ``outputs/<scene>/inspect/``).
    every
        Compute every ``every``-th frame (each stage's first and last frame always); default:
        about 240 frames (:func:`~layerlapse.networks.certificate.default_every`).
    fps, seconds_per_stage
        The timeline, as for :func:`render` (frame numbers and times match the movie's).
    linear_path
        ``polar`` or ``straight`` (shows where the straight path collapses space).
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    InspectResult

    Examples
    --------
    >>> result = ll.inspect("linked-tori")
    >>> print(result.summary); result.certificate.linking
    """
    from layerlapse.networks import certificate as cert_module
    from layerlapse.report import FILES, summary_text, write_all

    if linear_path not in LINEAR_PATHS:
        raise choice_error("linear_path", linear_path, LINEAR_PATHS)
    if every is not None and not (isinstance(every, int) and 1 <= every <= 100_000):
        raise LayerlapseError(f"every: {every!r} is out of range; allowed: a whole number of frames, 1 to 100000")
    if not (isinstance(fps, (int, float)) and 0 < fps <= 240):
        raise LayerlapseError(f"fps: {fps!r} is out of range; allowed: 0 < fps <= 240")
    preset = _preset(scene)
    folder = output_path(out, frames_folder=True) if out is not None else OUTPUTS / preset.name / "inspect"
    if folder.exists() and not folder.is_dir():
        raise LayerlapseError(f"out: {str(folder)!r} is a file; give a folder for the three certificate files")
    for name in FILES:
        check_output(folder / name)
    timeline_config = timeline_settings(preset, {"seconds_per_stage": seconds_per_stage}
                                        if seconds_per_stage is not None else None)
    planned = _planned_config(scene, preset, options)
    if planned is not None:  # the frame cap, before any training
        from layerlapse.limits import MAX_FRAMES

        n = Timeline.build(planned_stages(planned), timeline_config, fps).n_frames
        if n > MAX_FRAMES:
            raise LayerlapseError(f"fps: {n:,} frames is more than the {MAX_FRAMES:,} allowed; lower --fps or --seconds-per-stage")
    prepared = prepare(scene if isinstance(scene, Prepared) else preset, **options)
    deformation = prepared.deform(fps=fps, timeline=timeline_config, linear_path=linear_path)
    tl = deformation.timeline
    step = every if every is not None else cert_module.default_every(tl.n_frames)
    frames = cert_module.frame_selection(tl, step)
    cert = cert_module.certify(deformation, preset.scene, frames=frames, accuracy=prepared.network.accuracy)
    starts = [(0, "input")] + [(int(np.argmax(tl.name == k)), tl.stage_names[k]) for k in range(1, len(tl.stage_names))]
    meta = {"scene": preset.name, "network": prepared.network.config.describe(), "accuracy": prepared.network.accuracy,
            "fps": fps, "every": step, "linear_path": linear_path, "n_frames": tl.n_frames,
            "notes": list(prepared.notes + deformation.plan.notes)}
    paths = write_all(folder, cert, meta=meta, title=prepared.title, fps=fps, stage_starts=starts)
    return InspectResult(tuple(paths), cert, summary_text(cert), prepared.network,
                         tuple(dict.fromkeys(prepared.notes + deformation.plan.notes)))


def inline_movie(path: str | Path) -> Any:
    """A rendered movie (MP4, WebM or GIF) that a notebook displays inline."""
    from layerlapse.render.notebook import InlineMovie

    return InlineMovie(path)
