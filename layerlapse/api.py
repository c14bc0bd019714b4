"""The public workflow: scene -> network -> deformation -> movie, each step one call.

The CLI is a thin layer over these functions.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from layerlapse.errors import LayerlapseError, choice_error
from layerlapse.networks.checkpoint import fingerprint, load_network, save_network
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import LayerPlan, orient_layers, stage_list
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.stages import LINEAR_PATHS
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.networks.train import Network, TrainConfig, train
from layerlapse.scenes.base import Scene
from layerlapse.scenes.registry import load_scene, validation_message

__all__ = ["load_scene", "train_network", "get_network", "deform", "render", "figure", "export_meshes", "show", "notebook", "inline_movie", "RenderResult"]

OUTPUTS = Path("outputs")


def _scene(scene: Scene | str) -> Scene:
    if isinstance(scene, str):
        from layerlapse.scenefile import resolve_scene

        return resolve_scene(scene)
    return scene


def _update(model, overrides: dict | None, where: str):
    if not overrides:
        return model
    try:
        return type(model).model_validate({**model.model_dump(), **overrides})
    except ValidationError as exc:
        raise LayerlapseError(validation_message(where, exc)) from None


def network_settings(scene: Scene, network: dict | None = None, training: dict | None = None) -> tuple[NetworkConfig, TrainConfig]:
    """The scene's default network and training configs with ``network``/``training`` overrides."""
    base_network = scene.network or NetworkConfig(input_dim=scene.dim, hidden=(scene.dim,) * 3)
    return _update(base_network, network, "network"), _update(scene.training or TrainConfig(), training, "training")


def default_checkpoint(scene: Scene, config: NetworkConfig, training: TrainConfig) -> Path:
    """``outputs/<scene>/network-<hash>.pt``: one file per scene, architecture and training."""
    return OUTPUTS / scene.name / f"network-{fingerprint(scene.key, config, training)}.pt"


def train_network(
    scene: Scene | str, *, network: dict | None = None, training: dict | None = None, progress: bool = True
) -> Network:
    """Train the scene's network (its defaults, with overrides) on its samples."""
    scene = _scene(scene)
    config, train_config = network_settings(scene, network, training)
    bar = tqdm(total=train_config.epochs, unit="epoch", desc="train", disable=not progress, file=sys.stderr)

    def report(epoch: int, loss: float) -> None:
        bar.update(1)
        if epoch % 10 == 0 or epoch == train_config.epochs:
            bar.set_postfix(loss=f"{loss:.4f}")

    try:
        return train(scene.samples, scene.labels, config, train_config, scene_key=scene.key, progress=report)
    finally:
        bar.close()


def get_network(
    scene: Scene | str,
    *,
    checkpoint: str | Path | None = None,
    network: dict | None = None,
    training: dict | None = None,
    retrain: bool = False,
    progress: bool = True,
) -> Network:
    """Load the checkpoint if it exists (refusing one made for another scene or
    architecture), otherwise train and save it there. ``checkpoint=None`` uses
    :func:`default_checkpoint`."""
    scene = _scene(scene)
    config, train_config = network_settings(scene, network, training)
    if scene.fixed is not None and not network:
        return fixed_network(scene, config)
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(scene, config, train_config)
    if path.exists() and not retrain:
        return load_network(path, scene_key=scene.key, config=config)
    net = train_network(scene, network=network, training=training, progress=progress)
    save_network(net, path)
    return net


def fixed_network(scene: Scene, config: NetworkConfig) -> Network:
    """The scene's hand-set layers as a Network (no training, no accuracy)."""
    import numpy as np

    width = config.hidden[-1] if config.hidden else config.input_dim
    head = (np.eye(config.classes, width), np.zeros(config.classes))
    return Network(MLPWeights.from_layers(config, scene.fixed, head), config, TrainConfig(), None, scene.key)


def timeline_settings(scene: Scene, overrides: dict | None = None) -> TimelineConfig:
    return _update(scene.timeline or TimelineConfig(), overrides, "timeline")


def deform(
    scene: Scene | str,
    network: Network,
    *,
    fps: float = 30.0,
    timeline: dict | TimelineConfig | None = None,
    linear_path: str = "polar",
) -> Deformation:
    """Every frame's positions of the scene's points under ``network``'s layer stages."""
    scene = _scene(scene)
    if network.config.input_dim != scene.dim:
        raise LayerlapseError(
            f"network.input_dim: {network.config.input_dim} does not match scene {scene.name!r} (dim {scene.dim})"
        )
    config = timeline if isinstance(timeline, TimelineConfig) else timeline_settings(scene, timeline)
    hidden, head = network.layers()
    plan: LayerPlan = orient_layers(hidden, head, linear_path=linear_path, input_dim=network.config.input_dim)
    tl = Timeline.build(plan.stages(), config, fps)
    points, _ = scene.points()
    return Deformation(plan, tl, points)


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render` made: the movie, the network, the animated plan's notes."""

    path: Path
    network: Network
    deformation: Deformation
    trajectory: Path | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        plan = getattr(self.deformation, "plan", None)  # a training-clock movie has no layer plan
        return plan.notes if plan is not None else ()


def render(
    scene: Scene | str,
    out: str | Path | None = None,
    *,
    quality: str = "medium",
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    seconds_per_stage: float | None = None,
    network: Network | None = None,
    checkpoint: str | Path | None = None,
    network_config: dict | None = None,
    training: dict | None = None,
    retrain: bool = False,
    linear_path: str = "polar",
    style=None,
    save_trajectory: str | Path | None = None,
    over: str = "depth",
    seconds: float = 12.0,
    progress: bool = True,
) -> RenderResult:
    """Render ``scene`` (a name or a Scene) to a movie; ``out`` defaults to
    ``outputs/<scene>/<scene>.mp4``. Trains the network unless ``network`` is given
    or a checkpoint exists. Returns a :class:`RenderResult`.

    ``over="training"`` animates the other clock: the last hidden representation and its
    decision boundary as a fresh network trains, over ``seconds`` seconds (default
    ``outputs/<scene>/<scene>-training.mp4``).
    """
    from layerlapse.render.encoder import FOLDER, check_frame_folder, check_writable, output_kind
    from layerlapse.render.movie import resolve_settings, write_movie
    from layerlapse.trajectory import save_trajectory as write_trajectory

    if linear_path not in LINEAR_PATHS:
        raise choice_error("linear_path", linear_path, LINEAR_PATHS)
    if over not in CLOCKS:
        raise choice_error("over", over, CLOCKS)
    if over == "training" and save_trajectory:
        raise LayerlapseError("save_trajectory: trajectories are written for --over depth only")
    if not 0 < seconds <= 3600:
        raise LayerlapseError(f"seconds: {seconds} is out of range; allowed: 0 < seconds <= 3600")
    scene = _scene(scene)
    style = style or _scene_style(scene)
    suffix = "-training" if over == "training" else ""
    out = Path(out) if out is not None else OUTPUTS / scene.name / f"{scene.name}{suffix}.mp4"
    kind = output_kind(out)
    settings = resolve_settings(quality, size, fps, kind=kind, style=style)
    check_writable(out)  # before any work
    if kind == FOLDER:
        check_frame_folder(out)
    timeline = {"seconds_per_stage": seconds_per_stage} if seconds_per_stage is not None else None
    timeline_config = timeline_settings(scene, timeline)
    if over == "training":
        return _render_training(scene, out, settings, style, network_config, training, seconds, progress)
    if network is None:
        network = get_network(scene, checkpoint=checkpoint, network=network_config, training=training,
                              retrain=retrain, progress=progress)
    deformation = deform(scene, network, fps=settings.fps, timeline=timeline_config, linear_path=linear_path)
    title = f"{scene.name} \u00b7 {network.config.describe()}" if scene.class_names else scene.name
    write_movie(out, scene, deformation, settings, style=style, title=title,
                accuracy=network.accuracy, progress=progress)
    trajectory = write_trajectory(save_trajectory, scene, deformation) if save_trajectory else None
    return RenderResult(out, network, deformation, trajectory)


CLOCKS = ("depth", "training")


def _render_training(scene: Scene, out: Path, settings, style, network_config: dict | None, training: dict | None,
                     seconds: float, progress: bool) -> RenderResult:
    from layerlapse.networks.training_clock import record_training
    from layerlapse.render.movie import write_movie

    config, train_config = network_settings(scene, network_config, training)
    points, _ = scene.points()
    bar = tqdm(total=train_config.epochs, unit="epoch", desc="train", disable=not progress, file=sys.stderr)
    try:
        movie, network = record_training(points, scene.samples, scene.labels, config, train_config,
                                         frames=max(2, int(round(seconds * settings.fps))), fps=settings.fps,
                                         scene_key=scene.key, progress=lambda epoch, loss: bar.update(1))
    finally:
        bar.close()
    title = f"{scene.name} \u00b7 {config.describe()} \u00b7 training"
    write_movie(out, scene, movie, settings, style=style, title=title, accuracy=None, progress=progress)
    return RenderResult(out, network, movie, None)


def _check_moments(scene: Scene, specs: list[str], training: dict | None, network_config: dict | None = None) -> None:
    """Validate stage names against the network the scene will get, before any training."""
    from layerlapse.render.figure import parse_at

    config, _ = network_settings(scene, network_config, training)
    stages = stage_list((config.input_dim, *config.hidden), config.layer_activations())
    timeline = Timeline.build(stages, timeline_settings(scene), 30.0)
    for spec in specs:
        parse_at(spec, timeline)


def _scene_style(scene: Scene | str):
    """The style a scene file asked for, else the default."""
    from layerlapse.render.style import Style

    scene = _scene(scene)
    return Style.themed(**scene.style) if scene.style else Style()


def _prepared(scene: Scene | str, network: Network | None, checkpoint, progress: bool,
              fps: float = 30.0, training: dict | None = None,
              network_config: dict | None = None) -> tuple[Scene, Network, Deformation]:
    scene = _scene(scene)
    if network is None:
        network = get_network(scene, checkpoint=checkpoint, network=network_config, training=training,
                              progress=progress)
    return scene, network, deform(scene, network, fps=fps)


def figure(
    scene: Scene | str,
    out: str | Path | None = None,
    *,
    at: str = "output",
    sheet: bool = False,
    stages: list[str] | None = None,
    columns: int | None = None,
    size: tuple[int, int] | None = None,
    inches: tuple[float, float] | None = None,
    dpi: float = 300.0,
    supersample: int = 2,
    transparent: bool = False,
    style=None,
    network: Network | None = None,
    checkpoint: str | Path | None = None,
    network_config: dict | None = None,
    training: dict | None = None,
    progress: bool = True,
) -> Path:
    """A publication still (``at``: ``'layer2.tanh:0.5'``, ``'output'``, ``'3.2s'``...) or,
    with ``sheet=True``, a contact sheet of ``stages``. ``size`` in pixels (per panel for
    sheets) or ``inches`` at ``dpi``. PNG, or PDF/SVG/EPS for single frames.
    Default ``out``: ``outputs/<scene>/<scene>-<at>.png`` or ``<scene>-sheet.png``."""
    from layerlapse.render.encoder import check_writable
    from layerlapse.render.figure import FigureSize, figure_kind, save_contact_sheet, save_figure

    style = style or _scene_style(scene)
    scene = _scene(scene)
    if inches is not None:
        fsize = FigureSize.inches(*inches, dpi)
    elif size is not None:
        fsize = FigureSize(int(size[0]), int(size[1]), dpi if dpi else 100.0)
    else:
        fsize = FigureSize(800, 600, dpi) if sheet else FigureSize(1600, 1200, dpi)
    if out is None:
        tag = "sheet" if sheet else re.sub(r"[^A-Za-z0-9.]+", "-", at).strip("-")
        out = OUTPUTS / scene.name / f"{scene.name}-{tag}.png"
    out = Path(out)
    figure_kind(out)
    fsize.check(supersample)
    if network is None:
        _check_moments(scene, (stages or []) if sheet else [at], training, network_config)
    check_writable(out)
    scene, network, deformation = _prepared(scene, network, checkpoint, progress, training=training,
                                            network_config=network_config)
    if sheet:
        return save_contact_sheet(out, scene, deformation, stages=stages, columns=columns, panel=fsize,
                                  supersample=supersample, transparent=transparent, style=style,
                                  accuracy=network.accuracy)
    return save_figure(out, scene, deformation, at=at, size=fsize, supersample=supersample,
                       transparent=transparent, style=style, accuracy=network.accuracy,
                       title=f"{scene.name} \u00b7 {network.config.describe()}")


def export_meshes(
    scene: Scene | str,
    out: str | Path | None = None,
    *,
    at: list[str] | tuple[str, ...] = ("input", "output"),
    style=None,
    network: Network | None = None,
    checkpoint: str | Path | None = None,
    network_config: dict | None = None,
    training: dict | None = None,
    progress: bool = True,
) -> list[Path]:
    """The deformed meshes at each stage in ``at`` as PLY/OBJ/GLB (by ``out``'s extension),
    coloured by class. Default ``out``: ``outputs/<scene>/<scene>.glb``."""
    from layerlapse.render.export import MESH_FORMATS
    from layerlapse.render.export import export_meshes as write

    scene = _scene(scene)
    out = Path(out) if out is not None else OUTPUTS / scene.name / f"{scene.name}.glb"
    if out.suffix.lower() not in MESH_FORMATS:
        raise LayerlapseError(f"out: unknown mesh format {out.suffix or '(none)'!r} of {out.name!r}; allowed: {', '.join(MESH_FORMATS)}")
    if network is None:
        _check_moments(scene, list(at), training, network_config)
    scene, network, deformation = _prepared(scene, network, checkpoint, progress, training=training,
                                            network_config=network_config)
    return write(out, scene, deformation, at, style=style or _scene_style(scene))


def show(
    scene: Scene | str,
    *,
    size: tuple[int, int] | None = None,
    style=None,
    network: Network | None = None,
    checkpoint: str | Path | None = None,
    network_config: dict | None = None,
    training: dict | None = None,
    progress: bool = True,
    block: bool = True,
):
    """Open an interactive window (a time slider, Space to play, Left/Right to step
    stages). Needs a display; without one it raises a clear error. Returns the
    :class:`~layerlapse.render.window.Viewer` (after the window closes when ``block``)."""
    from layerlapse.render.window import Viewer, check_display

    check_display()  # before any training
    scene, network, deformation = _prepared(scene, network, checkpoint, progress, fps=60.0, training=training,
                                            network_config=network_config)
    viewer = Viewer(scene, deformation, style=style or _scene_style(scene), size=size or (1280, 800),
                    accuracy=network.accuracy, title=f"{scene.name} \u00b7 {network.config.describe()}")
    viewer.show(block=block)
    return viewer


def notebook(
    scene: Scene | str,
    *,
    backend: str = "auto",
    frames: int = 48,
    size: tuple[int, int] = (640, 400),
    style=None,
    network: Network | None = None,
    checkpoint: str | Path | None = None,
    network_config: dict | None = None,
    training: dict | None = None,
    progress: bool = False,
):
    """Show a scene inline in Jupyter with a time slider: a live trame view when PyVista's
    trame backend is installed (``backend='auto'`` or ``'trame'``), else (or with
    ``'static'``) ``frames`` pre-rendered frames under an HTML slider."""
    from layerlapse.render.notebook import BACKENDS, frame_slider, live_view, trame_available

    if backend not in BACKENDS:
        raise choice_error("backend", backend, BACKENDS)
    if backend == "trame" and not trame_available():
        raise LayerlapseError("backend: 'trame' needs PyVista's trame backend: pip install 'pyvista[jupyter]'")
    style = style or _scene_style(scene)
    live = backend == "trame" or (backend == "auto" and trame_available())
    scene, network, deformation = _prepared(scene, network, checkpoint, progress, fps=30.0 if live else 15.0,
                                            training=training, network_config=network_config)
    if live:
        return live_view(scene, deformation, size=size, style=style, accuracy=network.accuracy)
    return frame_slider(scene, deformation, frames=frames, size=size, style=style, accuracy=network.accuracy)


def inline_movie(path: str | Path):
    """A rendered movie (MP4, WebM or GIF) that a notebook displays inline."""
    from layerlapse.render.notebook import InlineMovie

    return InlineMovie(path)
