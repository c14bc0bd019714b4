"""Where a scene's network comes from, and the deformation it makes: trained here, loaded
from a checkpoint, the scene's hand-set layers, or a user's own PyTorch model.

Every function takes a resolved :class:`~layerlapse.app.presets.Preset`; the public verbs
of :mod:`layerlapse.app.api` accept anything scene-like and resolve it once
(:mod:`layerlapse.app.request`).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from tqdm import tqdm

from layerlapse._extras import require
from layerlapse._files import check_folder_writable, check_replaceable
from layerlapse.app.presets import Preset
from layerlapse.app.shipped import shipped_network
from layerlapse.errors import LayerlapseError, choice_error
from layerlapse.networks.checkpoint import BadCheckpoint, fingerprint, load_network, save_network
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.layers import LayerPlan, orient_layers, stage_list
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.stages import LINEAR_PATHS, Stage
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.networks.train import Network, TrainConfig, train
from layerlapse.scenes.registry import validation_message

#: where renders go by default (relative to the working folder); networks are cached in the
#: user's cache folder (:mod:`layerlapse.app.cache`)
OUTPUTS = Path("outputs")

#: samples spanning less (or more) than this many units are far from what a network's
#: initial weights expect (inputs about 1 across): training then tends to stay at chance
SCALE_RANGE = (1e-2, 1e3)


def updated(model: Any, overrides: dict | None, where: str) -> Any:
    """A pydantic settings model with ``overrides`` applied and validated (errors name ``where``)."""
    if not overrides:
        return model
    try:
        return type(model).model_validate({**model.model_dump(), **overrides})
    except ValidationError as exc:
        raise LayerlapseError(validation_message(where, exc, type(model))) from None


def network_settings(preset: Preset, network: dict | None = None,
                     training: dict | None = None) -> tuple[NetworkConfig, TrainConfig]:
    """The scene's default network and training configs with ``network``/``training`` overrides."""
    config = updated(preset.network, network, "network")
    if network and "k" in network and config.head != "knn":
        raise LayerlapseError(f"k: {network['k']} is read by a k-NN head only; add --head knn "
                              "(network_config={'head': 'knn', ...})")
    return config, updated(preset.training, training, "training")


def timeline_settings(preset: Preset, overrides: dict | None = None) -> TimelineConfig:
    """The scene's timeline with overrides, e.g. ``{"seconds_per_stage": 1.5}``."""
    return updated(preset.timeline, overrides, "timeline")


def default_checkpoint(preset: Preset, config: NetworkConfig, training: TrainConfig) -> Path:
    """``<cache>/networks/<scene>/network-<hash>.pt`` (:mod:`layerlapse.app.cache`): one file
    per geometry, architecture and training, shared by every working folder."""
    from layerlapse.app.cache import network_folder

    return network_folder(preset.name) / f"network-{fingerprint(preset.key, config, training)}.pt"


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


def training_line(samples: np.ndarray, labels: np.ndarray, config: NetworkConfig, training: TrainConfig) -> str:
    """``training: 300 epochs x 6 restarts on 2,000 samples, about 40 s here``: what training
    will cost, from a few of its steps timed here (:func:`~layerlapse.networks.train.estimate_seconds`)."""
    from layerlapse.networks.train import estimate_seconds

    seconds = estimate_seconds(samples, labels, config, training)
    if seconds < 90:
        took = f"{max(seconds, 0.1):.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    elif seconds < 90 * 60:
        took = f"{seconds / 60:.0f} min"
    else:
        took = f"{seconds / 3600:.1f} h"
    restarts = f"{training.restarts} restart{'s' if training.restarts != 1 else ''}"
    return (f"training: {training.epochs:,} epochs x {restarts} on {len(samples):,} samples, about {took} here "
            "(--epochs, --restarts)")


@contextmanager
def training_progress(training: TrainConfig, *, progress: bool, samples: np.ndarray | None = None,
                      labels: np.ndarray | None = None,
                      config: NetworkConfig | None = None) -> Iterator[Callable[[int, float], None]]:
    """A progress bar over every epoch of every restart, and the estimate of
    :class:`TrainingEstimate`: yields the ``progress(epoch, loss)`` callback training takes.
    With the samples, labels and config, and ``progress``, :func:`training_line` comes first."""
    if progress and samples is not None and labels is not None and config is not None:
        sys.stderr.write(training_line(samples, labels, config, training) + "\n")
        sys.stderr.flush()
    total = training.epochs * training.restarts
    bar = tqdm(total=total, unit="epoch", desc="train", disable=not progress, file=sys.stderr)
    clock = TrainingEstimate(total)

    def report(epoch: int, loss: float) -> None:
        clock.tick(bar)
        if epoch % 10 == 0 or epoch == training.epochs:
            bar.set_postfix(loss=f"{loss:.4f}")

    try:
        yield report
    finally:
        bar.close()


def check_scale(preset: Preset) -> None:
    """Warn before training on samples of a scale a network cannot be expected to learn from."""
    span = float(np.ptp(preset.samples, axis=0).max()) if len(preset.samples) else 0.0
    if not SCALE_RANGE[0] <= span <= SCALE_RANGE[1]:
        warnings.warn(f"scene: its samples span {span:.2g} units; a network starts out expecting inputs about 1 "
                      "across, so it may not separate them (accuracy near chance) and the picture may collapse; "
                      "scale the scene's geometry to about 1", stacklevel=4)


def train_network(preset: Preset, *, network: dict | None = None, training: dict | None = None,
                  progress: bool = True) -> Network:
    """Train the scene's network (its defaults, with overrides) on its samples."""
    config, train_config = network_settings(preset, network, training)
    check_scale(preset)
    if config.flow is not None:
        require("torchdiffeq", "training a flow layer")
    with training_progress(train_config, progress=progress, samples=preset.samples, labels=preset.labels,
                           config=config) as report:
        return train(preset.samples, preset.labels, config, train_config, scene_key=preset.key, progress=report)


def get_network(preset: Preset, *, checkpoint: str | Path | None = None, network: dict | None = None,
                training: dict | None = None, retrain: bool = False, progress: bool = True) -> Network:
    """Load the checkpoint if it exists (refusing one made for another scene or
    architecture), otherwise train and save it there; see :func:`layerlapse.get_network`.
    Without a ``checkpoint``, a preset's default network shipped with the package
    (:mod:`layerlapse.app.shipped`) comes first, when the request is exactly what it was
    trained under; ``retrain`` trains afresh into the cache instead.
    A cache folder that cannot be written (read-only, full) only costs the cache: the network
    is trained for this run, with a notice; a ``checkpoint`` the user named must be written."""
    config, train_config = network_settings(preset, network, training)
    if preset.fixed is not None and not network:
        return fixed_network(preset, config)
    if checkpoint is None and not retrain:
        shipped = shipped_network(preset, config, train_config)
        if shipped is not None:
            return shipped
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
            warnings.warn(f"{exc}; retraining the cached network", stacklevel=3)
    if config.flow is not None:
        require("torchdiffeq", "training a flow layer")  # before a folder is made for it
    if checkpoint is not None:
        check_folder_writable(path, "checkpoint")  # before training, not after
        if path.is_file():                         # --retrain into a user's file: only one of ours
            check_replaceable(path, "checkpoint")  # (the cache is ours to rebuild, whatever is in it)
    cache = checkpoint is None and _cache_writable(path)
    net = train_network(preset, network=network, training=training, progress=progress)
    if checkpoint is not None:
        save_network(net, path)
    elif cache:
        try:
            save_network(net, path)
        except (OSError, LayerlapseError) as exc:  # the trained network still serves this run
            _not_cached(path, str(exc) if isinstance(exc, LayerlapseError) else exc.strerror or str(exc))
    return net


def _cache_writable(path: Path) -> bool:
    """Whether the cache file ``path`` can be written; if not, a notice says why (before training)."""
    try:
        check_folder_writable(path, "checkpoint")
    except LayerlapseError as exc:  # "checkpoint: cannot write to folder 'x' (why)"
        _not_cached(path, str(exc).rpartition(" (")[2].removesuffix(")") or str(exc))
        return False
    return True


def _not_cached(path: Path, why: str) -> None:
    warnings.warn(f"network: could not be cached in {str(path.parent)!r} ({why}); it serves this run only and "
                  "is trained again next time (--checkpoint FILE keeps it elsewhere)", stacklevel=4)


def fixed_network(preset: Preset, config: NetworkConfig) -> Network:
    """The scene's hand-set layers as a Network (no training, no accuracy)."""
    width = config.hidden[-1] if config.hidden else config.input_dim
    head = (np.eye(config.classes, width), np.zeros(config.classes))
    return Network(MLPWeights.from_layers(config, preset.fixed or (), head), config, TrainConfig(), None, preset.key)


def model_network(preset: Preset, model: Any, *, arch: Any = None,
                  activation: Any = None) -> tuple[Network, tuple[str, ...]]:
    """Your own model (a module, or a model file: TorchScript, or a state_dict/safetensors
    file with ``arch`` and ``activation``) as a Network; -> (network, notes)."""
    from layerlapse.networks.torch_import import load_model_file, network_from_module

    if isinstance(model, (str, Path)):
        model = load_model_file(model, arch=arch, activation=activation)
    elif arch is not None or activation is not None:
        raise LayerlapseError(f"arch: a {type(model).__name__} given in Python holds its own layers; drop arch= "
                              "and activation= (they describe the tensors of a state_dict or safetensors file)")
    network, notes = network_from_module(model, input_dim=preset.dim, samples=preset.samples,
                                         labels=preset.labels, scene_key=preset.key)
    return network, tuple(notes)


def deform(preset: Preset, network: Network, *, fps: float = 30.0, timeline: dict | TimelineConfig | None = None,
           linear_path: str = "polar") -> Deformation:
    """Every frame's positions of the scene's points under ``network``'s layer stages."""
    if linear_path not in LINEAR_PATHS:
        raise choice_error("linear_path", linear_path, LINEAR_PATHS)
    if network.config.input_dim != preset.dim:
        raise LayerlapseError(
            f"network.input_dim: {network.config.input_dim} does not match scene {preset.name!r} (dim {preset.dim})"
        )
    config = timeline if isinstance(timeline, TimelineConfig) else timeline_settings(preset, timeline)
    hidden, head = network.layers()
    plan: LayerPlan = orient_layers(hidden, head, linear_path=linear_path, input_dim=network.config.input_dim)
    # the output is captioned "the decision boundary" only where one is drawn: two classes
    tl = Timeline.build(plan.stages(), config, fps, decision=len(preset.scene.class_names) == 2)
    points, _ = preset.scene.points()
    return Deformation(plan, tl, points, view=preset.scene.class_points())  # the view of D > 3 follows the classes


def planned_stages(config: NetworkConfig) -> list[Stage]:
    """The stages a network of this architecture will have, before it is trained (their
    names do not depend on the weights): placeholder layers, with no decomposition of a
    1,024-wide matrix made only to name its stages; a flow's from random weights."""
    if config.flow is None:
        return stage_list((config.input_dim, *config.hidden), config.layer_activations())
    rng = np.random.default_rng(0)
    arrays = {name: rng.normal(size=shape) for name, shape in config.parameter_shapes().items()}
    hidden, head = MLPWeights(config, arrays).layers()
    return orient_layers(hidden, head, input_dim=config.input_dim).stages()
