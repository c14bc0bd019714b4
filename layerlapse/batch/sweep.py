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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from layerlapse.app.scenefile import _section, read_toml, scene_file_digest, scene_file_params
from layerlapse.batch.manifest import JobOutput
from layerlapse.errors import LayerlapseError
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.train import TrainConfig

#: what a job makes when the sweep does not say
DEFAULT_OUTPUTS = (JobOutput.MOVIE, JobOutput.SHEET)
NETWORK_KEYS = tuple(k for k in NetworkConfig.model_fields if k not in ("input_dim", "classes", "flow"))
TRAINING_KEYS = tuple(TrainConfig.model_fields)
MAX_JOBS = 10_000


def canonical(key: str) -> str:
    """``table.name`` for a sweep key: ``seed`` -> ``training.seed``, ``params.seed`` stays."""
    if "." in key:
        return key
    table = "network" if key in NETWORK_KEYS else "training" if key in TRAINING_KEYS else "params"
    return f"{table}.{key}"


class _Settings(BaseModel):
    """What a sweep's top level and each ``[[group]]`` may set; None: not set here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenes: list[str] | None = Field(None, min_length=1, description="presets or .toml scene files (relative to the sweep file)")
    outputs: list[JobOutput] | None = Field(None, min_length=1)
    quality: Literal["low", "medium", "high"] | None = None
    size: str | None = Field(None, description="WIDTHxHEIGHT of the movie and of each sheet panel")
    format: Literal["mp4", "webm", "gif"] | None = None
    seconds_per_stage: float | None = Field(None, gt=0, le=60)
    supersample: int | None = Field(None, ge=1, le=4, description="render stills at this many times the size, then shrink")
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
            from layerlapse.render.movie import MAX_SIDE, pixel_size  # no drawing: parses "160x120"

            try:
                w, h = pixel_size(size)
            except LayerlapseError as exc:
                raise ValueError(str(exc)) from None
            if not (2 <= w <= MAX_SIDE and 2 <= h <= MAX_SIDE):  # every job would fail, after training
                raise ValueError(f"{w}x{h} is out of range; allowed: 2 to {MAX_SIDE} pixels a side")
        return size

    def over(self, base: _Settings) -> _Settings:
        """These settings on top of ``base``: set fields replace, tables are merged key by key,
        and a setting these fix or sweep is dropped from ``base``'s grid (however spelled:
        ``seed`` and ``training.seed`` are one setting), so the group's own value wins."""
        merged = {**base.model_dump(exclude={"group", "label"}, exclude_none=True),
                  **self.model_dump(exclude={"group", "label"}, exclude_none=True)}
        for table in ("params", "network", "training"):
            merged[table] = {**getattr(base, table), **getattr(self, table)}
        own = {canonical(key) for key in [*self.fixed(), *self.grid]}
        merged["grid"] = {**{k: v for k, v in base.grid.items() if canonical(k) not in own}, **self.grid}
        return _Settings.model_validate(merged)

    def fixed(self) -> dict[str, Any]:
        """The fixed settings as ``table.name``: value."""
        return {f"{table}.{key}": value for table in ("params", "network", "training")
                for key, value in getattr(self, table).items()}

    def clashes(self) -> str | None:
        """The first setting given twice at this level (in a table and the grid, or in the grid
        under two spellings), as ``grid.KEY``; None if there is none."""
        seen = {canonical(key) for key in self.fixed()}
        for key in self.grid:
            if canonical(key) in seen:
                return key
            seen.add(canonical(key))
        return None


class SweepGroup(_Settings):
    """One ``[[group]]``: its own scenes or settings over the top level's (tables merged)."""

    label: str = Field("", max_length=200, description="a name for the group's jobs, one line of printable "
                       "characters (shown; not part of their ids)")

    @field_validator("label")
    @classmethod
    def _one_line(cls, label: str) -> str:
        if not label.isprintable():
            raise ValueError("must be one line of printable characters (no line breaks, tabs or control codes)")
        return label


class SweepFile(_Settings):
    """The schema of a sweep file; see ``examples/small-sweep.toml``. Without ``[[group]]``
    the top level is the one group; with them, each group is the top level plus its own."""

    group: list[SweepGroup] = Field(default_factory=list, max_length=MAX_JOBS)


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
    outputs: tuple[JobOutput, ...] = DEFAULT_OUTPUTS
    quality: str = "low"
    size: str | None = None
    format: str = "mp4"
    seconds_per_stage: float | None = None
    scene_hash: str = ""
    supersample: int = 1
    label: str = field(default="", compare=False)

    def inputs(self) -> dict[str, Any]:
        """Everything that decides what the job makes (JSON-ready); not its label."""
        return {"scene": self.scene, "scene_hash": self.scene_hash, "params": self.params,
                "network": self.network, "training": self.training, "outputs": list(self.outputs),
                "quality": self.quality, "size": self.size, "format": self.format,
                "seconds_per_stage": self.seconds_per_stage, "supersample": self.supersample}

    def identity(self) -> dict[str, Any]:
        """What the id is made of: :meth:`inputs`, less what does not change the outputs (a
        scene file's folder, beside its content hash; the movie's quality and format without a
        movie; the stills' supersampling without stills) and with ``1.0`` read as ``1``."""
        made = set(self.outputs)
        identity = {**self.inputs(), "params": _plain(self.params), "network": _plain(self.network),
                    "training": _plain(self.training)}
        if self.scene_hash:
            identity["scene"] = Path(self.scene).name
        if JobOutput.MOVIE not in made:
            identity.update(quality=None, format=None)
        if not {JobOutput.SHEET, JobOutput.FIGURE} & made:
            identity["supersample"] = None
        return identity

    @property
    def id(self) -> str:
        """12 hex characters of the SHA-256 of :meth:`identity` and the layerlapse version."""
        text = json.dumps({**self.identity(), "version": version()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def settings(self) -> dict[str, Any]:
        """The job's parameters, network and training settings in one table, a name that two
        of them share written with its table (``params.seed``, ``training.seed``)."""
        tables = {"params": self.params, "network": self.network, "training": self.training}
        return {(f"{table}.{key}" if any(key in other for name, other in tables.items() if name != table) else key):
                value for table, values in tables.items() for key, value in values.items()}

    def describe(self) -> str:
        """``two-curves seed=0 hidden=[2]``: the scene and what the grid set (after its label, if any)."""
        name = Path(self.scene).name if self.scene.endswith(".toml") else self.scene
        label = [f"[{self.label}]"] if self.label else []
        return " ".join([*label, name, *(f"{k}={json.dumps(v)}" for k, v in self.settings().items())])


def _plain(value: Any) -> Any:
    """``value`` with whole floats as ints (``0.0`` -> ``0``), in lists and tables too: a
    setting means the same either way, so its job's id should too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


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
        One per group, scene and combination of grid values, in the file's order.
    """
    path = Path(path)
    where = f"sweep file {str(path)!r}"
    sweep = _section(where, SweepFile, read_toml(path, where))
    for prefix, level in [("", sweep), *((f"group.{i}.", g) for i, g in enumerate(sweep.group))]:
        clash = level.clashes()
        if clash is not None:
            raise LayerlapseError(f"{where}: {prefix}grid.{clash}: {canonical(clash)} is set twice here (in a table "
                                  "and the grid, or under two names); set it in one place")
    groups = [(f"group.{i}.", g.label, g.over(sweep)) for i, g in enumerate(sweep.group)] or [("", "", sweep)]
    planned = []
    for prefix, label, settings in groups:
        if not settings.scenes:
            raise LayerlapseError(f"{where}: {prefix}scenes: none given; name scenes at the top level or in "
                                  "every [[group]]")
        scenes = [_scene_ref(path, ref, f"{where}: {prefix}scenes[{i}]") for i, ref in enumerate(settings.scenes)]
        fixed = {**{f"params.{k}": v for k, v in settings.params.items()},
                 **{f"network.{k}": v for k, v in settings.network.items()},
                 **{f"training.{k}": v for k, v in settings.training.items()}}
        for key in [*fixed, *settings.grid]:
            for ref, _ in scenes:
                _route(key, ref, f"{where}: {prefix}{'grid.' + key if key in settings.grid else key}")
        planned.append((label, settings, scenes, fixed))
    n_jobs = sum(len(scenes) * _product_size(settings.grid) for _, settings, scenes, _ in planned)
    if n_jobs > MAX_JOBS:
        raise LayerlapseError(f"{where}: grid: {n_jobs} jobs; at most {MAX_JOBS} in one sweep")
    jobs = []
    for label, settings, scenes, fixed in planned:
        for ref, digest in scenes:
            for values in itertools.product(*settings.grid.values()):
                routed: dict[str, dict[str, Any]] = {"params": {}, "network": {}, "training": {}}
                for key, value in [*fixed.items(), *zip(settings.grid, values)]:
                    group, name = _route(key, ref, where)
                    routed[group][name] = value
                jobs.append(Job(ref, routed["params"], routed["network"], routed["training"],
                                tuple(o for o in JobOutput if o in (settings.outputs or DEFAULT_OUTPUTS)),
                                settings.quality or "low",
                                settings.size, settings.format or "mp4", settings.seconds_per_stage, digest,
                                settings.supersample or 1, label))
    return jobs


def _product_size(grid: dict[str, list[Any]]) -> int:
    n = 1
    for values in grid.values():
        n *= len(values)
    return n


def _scene_ref(sweep_path: Path, ref: str, field_name: str) -> tuple[str, str]:
    """(a preset name or an absolute scene file path, the SHA-256 of the file and its meshes, or '')."""
    from layerlapse.app.presets import PRESETS, scene_names

    if ref.endswith(".toml"):
        file = (sweep_path.parent / ref).resolve()
        if not file.is_file():
            raise LayerlapseError(f"{field_name}: {ref!r} does not exist (looked in {str(file.parent)!r})")
        return str(file), scene_file_digest(file)
    if ref not in PRESETS:
        raise LayerlapseError(f"{field_name}: unknown scene {ref!r}; allowed: {', '.join(scene_names())} "
                              "or a .toml scene file")
    return ref, ""


def _scene_params(ref: str) -> tuple[str, ...]:
    """The parameter names of a preset's geometry, or what a scene file lets ``--set`` change."""
    from layerlapse.app.presets import preset_params

    if ref.endswith(".toml"):
        return scene_file_params(Path(ref))
    return preset_params(ref)


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
            f"{', '.join(scene_keys) if scene_keys else '(none)'}")
    return group, name


def sweep_toml(top: dict[str, Any], groups: Sequence[dict[str, Any]] = (), *, comment: str = "") -> str:
    """A sweep file's text: ``top``'s settings, then one ``[[group]]`` per dict of ``groups``
    (each may hold a ``"#"`` comment line). Values are str, int, float, bool, lists and tables."""
    lines = [f"# {line}" for line in comment.splitlines()]
    lines += _toml_table(top)
    for group in groups:
        note = group.get("#")
        lines += ["", *([f"# {note}"] if note else []), "[[group]]",
                  *_toml_table({k: v for k, v in group.items() if k != "#"})]
    return "\n".join(lines) + "\n"


def _toml_table(table: dict[str, Any]) -> list[str]:
    return [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]


def _toml_key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key) else _toml_string(key)


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes, but characters beyond the BMP as themselves
    (JSON's surrogate pairs are not TOML) and DEL escaped (TOML forbids it bare)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} has no TOML form here")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"{type(value).__name__} has no TOML form here")
