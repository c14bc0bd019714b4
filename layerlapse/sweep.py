"""Sweep files (TOML): scenes times a grid of parameters, expanded into jobs with content ids.

A sweep file is validated as a whole before anything runs: unknown keys, a grid value that
is not a list, a grid key that no scene, network or training setting takes, an unknown
output or quality give one error naming the file and the field. The *values* of a job are
checked where they are used, by the job itself, so one bad combination fails that job
alone and the other jobs of the sweep still finish.

Grid (and fixed) keys go, in this order, to the network (``hidden``, ``activation``,
``activations``, ``head``, ``k``), to training (``seed``, ``epochs``, ``lr``, ``batch_size``,
``weight_decay``, ``restarts``) or to the scene's parameters (``minor_radius``, ...).
A prefix picks one explicitly: ``params.seed`` is the scene's seed, ``seed`` the training's.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from layerlapse.errors import LayerlapseError
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.train import TrainConfig
from layerlapse.scenefile import _section, read_toml
from layerlapse.scenes.registry import GEOMETRIES

#: what a job can make: the movie, a contact sheet, a still of the output, the motion as .npz
OUTPUTS = ("movie", "sheet", "figure", "trajectory")
NETWORK_KEYS = tuple(k for k in NetworkConfig.model_fields if k not in ("input_dim", "classes", "flow"))
TRAINING_KEYS = tuple(TrainConfig.model_fields)
MAX_JOBS = 10_000


class SweepFile(BaseModel):
    """The schema of a sweep file; see ``examples/small-sweep.toml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenes: list[str] = Field(min_length=1, description="presets or .toml scene files (relative to the sweep file)")
    outputs: list[Literal["movie", "sheet", "figure", "trajectory"]] = Field(["movie", "sheet"], min_length=1)
    quality: Literal["low", "medium", "high"] = "low"
    size: str | None = Field(None, description="WIDTHxHEIGHT of the movie and of each sheet panel")
    format: Literal["mp4", "webm", "gif"] = "mp4"
    seconds_per_stage: float | None = Field(None, gt=0, le=60)
    params: dict[str, Any] = Field(default_factory=dict, description="scene parameters for every job")
    network: dict[str, Any] = Field(default_factory=dict, description="network settings for every job")
    training: dict[str, Any] = Field(default_factory=dict, description="training settings for every job")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="KEY = [values]: one job per combination")

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"{key} has no values; give at least one")
        return grid

    @field_validator("size")
    @classmethod
    def _size(cls, size: str | None) -> str | None:
        if size is not None:
            from layerlapse.render.movie import pixel_size  # no drawing: parses "160x120"

            try:
                pixel_size(size)
            except LayerlapseError as exc:
                raise ValueError(str(exc)) from None
        return size


@dataclass(frozen=True)
class Job:
    """One scene with one combination of settings: what a worker runs.

    ``scene`` is a preset name or an absolute scene file path; ``scene_hash`` the file's
    SHA-256 (empty for presets), so editing a scene file changes the job's id.
    """

    scene: str
    params: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ("movie", "sheet")
    quality: str = "low"
    size: str | None = None
    format: str = "mp4"
    seconds_per_stage: float | None = None
    scene_hash: str = ""

    def inputs(self) -> dict[str, Any]:
        """Everything that decides what the job makes (JSON-ready)."""
        return {"scene": self.scene, "scene_hash": self.scene_hash, "params": self.params,
                "network": self.network, "training": self.training, "outputs": list(self.outputs),
                "quality": self.quality, "size": self.size, "format": self.format,
                "seconds_per_stage": self.seconds_per_stage}

    @property
    def id(self) -> str:
        """12 hex characters of the SHA-256 of :meth:`inputs` and the layerlapse version."""
        text = json.dumps({**self.inputs(), "version": version()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def describe(self) -> str:
        """``two-curves seed=0 hidden=[2]``: the scene and what the grid set."""
        name = Path(self.scene).name if self.scene.endswith(".toml") else self.scene
        settings = {**self.params, **self.network, **self.training}
        return " ".join([name, *(f"{k}={json.dumps(v)}" for k, v in settings.items())])


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("layerlapse")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0+unknown"


def read_sweep(path: str | Path) -> list[Job]:
    """The jobs of a sweep file, validated (errors name the file and the field).

    Parameters
    ----------
    path
        The ``.toml`` sweep file.

    Returns
    -------
    list[Job]
        One per scene and combination of grid values, in the file's order.
    """
    path = Path(path)
    where = f"sweep file {str(path)!r}"
    raw = read_toml(path, where)
    sweep = _section(where, SweepFile, raw)
    scenes = [_scene_ref(path, ref, f"{where}: scenes[{i}]") for i, ref in enumerate(sweep.scenes)]
    fixed = {**{f"params.{k}": v for k, v in sweep.params.items()},
             **{f"network.{k}": v for k, v in sweep.network.items()},
             **{f"training.{k}": v for k, v in sweep.training.items()}}
    for key in [*fixed, *sweep.grid]:
        for ref, _ in scenes:
            _route(key, ref, f"{where}: {'grid.' + key if key in sweep.grid else key}")
    n_jobs = len(scenes) * _product_size(sweep.grid)
    if n_jobs > MAX_JOBS:
        raise LayerlapseError(f"{where}: grid: {n_jobs} jobs; at most {MAX_JOBS} in one sweep")
    jobs = []
    for ref, digest in scenes:
        for values in itertools.product(*sweep.grid.values()):
            groups: dict[str, dict[str, Any]] = {"params": {}, "network": {}, "training": {}}
            for key, value in [*fixed.items(), *zip(sweep.grid, values)]:
                group, name = _route(key, ref, where)
                groups[group][name] = value
            jobs.append(Job(ref, groups["params"], groups["network"], groups["training"], tuple(sweep.outputs),
                            sweep.quality, sweep.size, sweep.format, sweep.seconds_per_stage, digest))
    return jobs


def _product_size(grid: dict[str, list[Any]]) -> int:
    n = 1
    for values in grid.values():
        n *= len(values)
    return n


def _scene_ref(sweep_path: Path, ref: str, field_name: str) -> tuple[str, str]:
    """(a preset name or an absolute scene file path, the file's SHA-256 or '')."""
    from layerlapse.presets import PRESETS, scene_names

    if ref.endswith(".toml"):
        file = (sweep_path.parent / ref).resolve()
        if not file.is_file():
            raise LayerlapseError(f"{field_name}: {ref!r} does not exist (looked in {str(file.parent)!r})")
        return str(file), hashlib.sha256(file.read_bytes()).hexdigest()
    if ref not in PRESETS:
        raise LayerlapseError(f"{field_name}: unknown scene {ref!r}; allowed: {', '.join(scene_names())} "
                              "or a .toml scene file")
    return ref, ""


def _scene_params(ref: str) -> tuple[str, ...]:
    """The parameter names of a preset's geometry; none for scene files (theirs are in the file)."""
    from layerlapse.presets import get_spec

    if ref.endswith(".toml"):
        return ()
    spec = get_spec(ref)
    return tuple(GEOMETRIES[spec.geometry or spec.name].params.model_fields)


def _route(key: str, ref: str, field_name: str) -> tuple[str, str]:
    """Where a sweep key goes: ('params' | 'network' | 'training', its name there)."""
    group, _, name = key.rpartition(".")
    scene_keys = _scene_params(ref)
    if not group:
        group = ("network" if key in NETWORK_KEYS else "training" if key in TRAINING_KEYS
                 else "params" if key in scene_keys else "")
    allowed = {"network": NETWORK_KEYS, "training": TRAINING_KEYS, "params": scene_keys}.get(group)
    if allowed is None or name not in allowed:
        scene_name = Path(ref).name
        raise LayerlapseError(
            f"{field_name}: unknown key {key!r} for {scene_name}; allowed: network {', '.join(NETWORK_KEYS)}; "
            f"training {', '.join(TRAINING_KEYS)}; scene "
            f"{', '.join(scene_keys) if scene_keys else '(none: a scene file takes its parameters from the file)'}")
    return group, name
