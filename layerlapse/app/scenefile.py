"""Scene files (TOML) and Python scene files: the edge where user files become scenes.

A TOML file names a preset family and its parameters, or lists mesh files, and may set
the network, training, timeline and style. Everything is validated on load: an unknown
key, a wrong type or a value out of range gives one error naming the file, the field,
the value and what is allowed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from layerlapse.app.claims import NET, Claim
from layerlapse.app.presets import PRESETS, Preset, get_spec, load_scene, preset_params, scene_names
from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_CLASSES, MAX_MESH_COORDINATE, MAX_MESH_SAMPLES_PER_CLASS, SEED_MAX
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.timeline import TimelineConfig
from layerlapse.networks.train import TrainConfig
from layerlapse.scenes.base import Scene
from layerlapse.scenes.registry import validation_message

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: an offset's coordinate: finite and within the bound on a mesh file's own (MAX_MESH_COORDINATE)
Coordinate = Annotated[float, Field(ge=-MAX_MESH_COORDINATE, le=MAX_MESH_COORDINATE, allow_inf_nan=False)]

MESH_EXTENSIONS = (".ply", ".obj", ".stl", ".glb", ".gltf", ".off")
#: what ``--set`` (and a sweep's grid) may change in a mesh scene file: its sampling
MESH_FILE_PARAMS = ("samples_per_class", "normalize", "grid_lines", "seed")


class MeshEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="mesh file, relative to the scene file")
    label: str = Field(min_length=1, description="the class name")
    scale: float = Field(1.0, gt=0, le=1e6, description="scale factor, applied after normalising")
    offset: tuple[Coordinate, Coordinate, Coordinate] = Field((0.0, 0.0, 0.0), description="moved by this, after scaling")

    def transform(self) -> tuple[float, tuple[float, float, float]] | None:
        """(scale, offset), or None when the mesh is placed as normalised."""
        if self.scale == 1.0 and self.offset == (0.0, 0.0, 0.0):
            return None
        return self.scale, self.offset


class ClaimTable(BaseModel):
    """A scene file's ``[claim]`` table: what its network shows (:class:`~layerlapse.app.claims.Claim`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["separates", "cannot", "usually-not"]
    question: str = Field(min_length=3, max_length=200, description="holds {net}, the network in words; ends with '?'")
    reason: str = Field(min_length=1, max_length=300, description="why, in plain words")
    how: str = Field("", max_length=300, description="what a network that falls short does instead")

    @field_validator("question")
    @classmethod
    def _a_question(cls, text: str) -> str:
        if NET not in text or not text.rstrip().endswith("?"):
            raise ValueError(f"a question holding {NET} (the network, e.g. 'three width-3 tanh layers') "
                             "and ending with '?'")
        return text.strip()

    def claim(self) -> Claim:
        return Claim(self.kind, self.question, self.reason, self.how)


class SceneFile(BaseModel):
    """The schema of a ``.toml`` scene file; see ``examples/``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100,
                             description="default: the file's stem; it names outputs/NAME/, so it is one file name")
    description: str = ""
    family: str | None = Field(None, description="a preset (layerlapse scenes) to take geometry from")
    params: dict[str, Any] = Field(default_factory=dict)
    meshes: list[MeshEntry] | None = Field(None, min_length=2, max_length=MAX_CLASSES)
    samples_per_class: int = Field(1000, ge=10, le=MAX_MESH_SAMPLES_PER_CLASS)
    normalize: bool | Literal["each"] = Field(
        True, description="true: fit all meshes together into [-1, 1]^3; \"each\": fit each on its own "
        "(then place them with scale and offset); false: keep the files' coordinates")
    grid_lines: int = Field(4, ge=0, le=50)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    network: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    timeline: dict[str, Any] = Field(default_factory=dict)
    style: dict[str, Any] = Field(default_factory=dict)
    claim: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _a_file_name(cls, name: str | None) -> str | None:
        # the name chooses where default outputs and the network cache are written: a file's
        # content must not send them out of outputs/ (``../..``, ``/etc``) or into a hidden name
        if name is not None and (name in (".", "..") or any(c in name for c in "/\\") or
                                 not name.isprintable()):
            raise ValueError("a scene's name names its folder under outputs/: one file name, without '/', '\\', "
                             "control characters, or '.' or '..' alone")
        return name

    @model_validator(mode="after")
    def _one_source(self) -> SceneFile:
        if (self.family is None) == (self.meshes is None):
            raise ValueError("give either family = \"<preset>\" or [[meshes]] entries, not both or neither")
        if self.family is not None and self.family not in PRESETS:
            raise ValueError(f"unknown family {self.family!r}; allowed: {', '.join(scene_names())}")
        return self


M = TypeVar("M", bound=BaseModel)


def _section(where: str, model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LayerlapseError(validation_message(where, exc, model)) from None


def read_text_file(path: Path, where: str) -> str:
    """A UTF-8 text file's content, or one line saying why it is not one (missing, a folder,
    unreadable, binary, UTF-16)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LayerlapseError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise LayerlapseError(f"{where}: {str(path)!r} is a folder; give a .toml scene file") from None
    except OSError as exc:
        raise LayerlapseError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LayerlapseError(f"{where}: the file is UTF-16; TOML scene files must be UTF-8 (save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        kind = "a binary file" if b"\0" in data[:4096] else "not UTF-8 text"
        raise LayerlapseError(f"{where}: {kind} (byte {exc.start} is 0x{data[exc.start]:02x}); "
                              "TOML scene files must be UTF-8 text") from None


def read_toml(path: Path, where: str) -> dict[str, Any]:
    """A TOML file's tables, or one line naming ``where`` and what is wrong with the file."""
    try:
        return tomllib.loads(read_text_file(path, where))
    except tomllib.TOMLDecodeError as exc:
        raise LayerlapseError(f"{where}: not valid TOML ({exc})") from None


def load_scene_file(path: str | Path, **params: Any) -> Preset:
    """Build the scene a ``.toml`` file describes (validated; errors name file and field).

    Parameters
    ----------
    path
        The scene file.
    **params
        Over the file's own: its family's ``[params]`` (``minor_radius=0.2``), or for a mesh
        file its sampling (:data:`MESH_FILE_PARAMS`).

    Returns
    -------
    Preset
        The scene with the file's network, training, timeline and style. Its ``key`` (what
        the network cache covers) holds the geometry only: the family and its parameters,
        or each mesh's label and content hash with the sampling settings. Editing the
        file's ``[style]`` or ``[timeline]`` keeps the cached network.
    """
    path = Path(path)
    where = f"scene file {str(path)!r}"
    raw = read_toml(path, where)
    if params and isinstance(raw.get("family"), str):
        raw = {**raw, "params": {**raw.get("params", {}), **params}}
    elif params:
        unknown = sorted(set(params) - set(MESH_FILE_PARAMS))
        if unknown:
            raise LayerlapseError(f"set: {unknown[0]!r} is not a setting of mesh scene file {str(path)!r}; allowed: "
                                  f"{', '.join(MESH_FILE_PARAMS)}")
        raw = {**raw, **params}
    spec_file = _section(where, SceneFile, raw)
    name = spec_file.name or path.stem
    if spec_file.family is not None:
        spec = get_spec(spec_file.family)
        validated = _section(f"{where}: params", spec.params, spec_file.params)
        base = load_scene(spec_file.family, **validated.model_dump())
        geometry: dict[str, Any] = {"family": spec_file.family, "params": validated.model_dump(mode="json")}
    else:
        scene, geometry = _mesh_scene(path, spec_file, name, where)
        base = Preset(scene, NetworkConfig(input_dim=3, hidden=(3, 3, 3), classes=len(scene.class_names)))
    scene = base.scene
    net_data = {**base.network.model_dump(), **spec_file.network, "input_dim": scene.dim}
    network = _section(f"{where}: network", NetworkConfig, net_data)
    training = _section(f"{where}: training", TrainConfig, {**base.training.model_dump(), **spec_file.training})
    timeline = _section(f"{where}: timeline", TimelineConfig, {**base.timeline.model_dump(), **spec_file.timeline})
    if spec_file.style:
        from layerlapse.draw.style import Style

        try:
            Style.themed(**spec_file.style)
        except (ValidationError, TypeError) as exc:
            message = validation_message(f"{where}: style", exc, Style) if isinstance(exc, ValidationError) else str(exc)
            raise LayerlapseError(message) from None
    # a family's claim carries over unless the file states its own; a mesh scene has none
    claim = base.claim if spec_file.claim is None else _section(f"{where}: claim", ClaimTable, spec_file.claim).claim()
    key = {"name": name, "geometry": geometry}
    scene = replace(scene, name=name, description=spec_file.description or scene.description, key=key)
    return Preset(scene, network, training, timeline, dict(spec_file.style) or None, base.fixed, claim)


def _mesh_scene(path: Path, spec: SceneFile, name: str, where: str) -> tuple[Scene, dict[str, Any]]:
    """The scene of a file's ``[[meshes]]`` and its geometry key (labels, content hashes,
    sampling settings)."""
    from layerlapse.app.meshfile import read_mesh
    from layerlapse.scenes.meshes import build_mesh_scene, check_mesh

    meshes = []
    hashes = []
    for i, entry in enumerate(spec.meshes or []):
        file = (path.parent / entry.path).resolve()
        field = f"{where}: meshes[{i}].path"
        if file.suffix.lower() not in MESH_EXTENSIONS:
            raise LayerlapseError(f"{field}: {entry.path!r} is not a mesh file; allowed: {', '.join(MESH_EXTENSIONS)}")
        if not file.is_file():
            raise LayerlapseError(f"{field}: {entry.path!r} does not exist (looked in {str(file.parent)!r})")
        mesh = read_mesh(file, entry.path, field)
        check_mesh(mesh, f"{field} {entry.path!r}")  # before process(), which trusts faces and coordinates
        meshes.append((entry.label, mesh.process()))  # merge duplicate vertices (STL keeps one set per face)
        placed = entry.transform()
        hashes.append([entry.label, hashlib.sha256(file.read_bytes()).hexdigest(), *([placed] if placed else [])])
    scene = build_mesh_scene(name, meshes, samples_per_class=spec.samples_per_class, normalize=spec.normalize,
                             grid_lines_per_axis=spec.grid_lines, seed=spec.seed,
                             placements=[entry.transform() for entry in spec.meshes or []])
    key = {"meshes": hashes, "samples_per_class": spec.samples_per_class, "normalize": spec.normalize,
           "grid_lines": spec.grid_lines, "seed": spec.seed}
    return scene, key


#: resolved path -> (modification time, the scenes it registered): a file runs once
_LOADED: dict[Path, tuple[int, list[str]]] = {}


def load_python_scenes(path: str | Path) -> list[str]:
    """Run a Python file that registers scenes (``register_scene`` or ``@scene``); -> their
    names. A file already run (and unchanged since) is not run again."""
    path = Path(path)
    if path.is_dir():
        raise LayerlapseError(f"scene: {str(path)!r} is a folder; give a Python file that registers scenes")
    if not path.is_file():
        raise LayerlapseError(f"scene: {str(path)!r} does not exist")
    resolved = path.resolve()
    mtime = resolved.stat().st_mtime_ns
    if resolved in _LOADED and _LOADED[resolved][0] == mtime:
        return _LOADED[resolved][1]
    before = {name: PRESETS[name] for name in PRESETS}
    spec = importlib.util.spec_from_file_location(f"layerlapse_user_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise LayerlapseError(f"scene: {str(path)!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    added = sorted(name for name in PRESETS if before.get(name) is not PRESETS[name])
    _LOADED[resolved] = (mtime, added)
    return added


def resolve_scene(ref: str, *, labels: str | Path | None = None, **params: Any) -> Preset:
    """A preset name, a ``.toml`` scene file, ``file.py[:name]`` registering Python scenes,
    or a data file (``.npz``, ``.csv``, ``.npy``: :func:`layerlapse.app.datafile.load_data`).

    Parameters
    ----------
    ref
        What the command line's SCENE argument takes.
    labels
        The labels' ``.npy`` of a ``.npy`` of features (``--labels``).
    **params
        Geometry parameters (``--set``); for a scene file, over the file's own.

    Returns
    -------
    Preset
    """
    from layerlapse.app.datafile import data_preset, is_data_file, load_data

    if is_data_file(ref):
        if params:
            raise LayerlapseError(f"set: {sorted(params)[0]!r}: a data file has no parameters to set; edit the data")
        return data_preset(load_data(ref, labels))
    if labels is not None:
        raise LayerlapseError(f"labels: {str(labels)!r} goes with a .npy of features; {ref!r} is not a data file")
    if ref.endswith(".toml"):
        return load_scene_file(ref, **params)
    file, _, name = ref.partition(":")
    if file.endswith(".py"):
        added = load_python_scenes(file)
        if not name:
            if len(added) != 1:
                raise LayerlapseError(f"scene: {file!r} registers {added or 'no scenes'}; pick one with {file}:NAME")
            name = added[0]
        return load_scene(name, **params)
    if ref not in PRESETS and Path(ref).exists():  # a path that is neither a preset nor a scene file
        what = "a folder" if Path(ref).is_dir() else "not a scene file"
        raise LayerlapseError(f"scene: {ref!r} is {what}; give a scene name (layerlapse scenes), "
                              "a .toml scene file or file.py[:NAME]")
    return load_scene(ref, **params)


def scene_file_params(path: Path) -> tuple[str, ...]:
    """What ``--set`` may change in a scene file: its family's parameters, or a mesh file's
    sampling settings; none for a file that is not a valid scene file (loading it says why)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ()
    family = raw.get("family")
    if isinstance(family, str) and family in PRESETS:
        return preset_params(family)
    return MESH_FILE_PARAMS if isinstance(raw.get("meshes"), list) else ()


def scene_file_digest(path: Path) -> str:
    """The SHA-256 of a scene file's bytes and of each mesh file it lists, so that editing
    either changes it (a file that does not parse: its bytes alone). Raises OSError when the
    scene file cannot be read."""
    data = path.read_bytes()
    digest = hashlib.sha256(data)
    try:
        meshes = tomllib.loads(data.decode("utf-8")).get("meshes")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return digest.hexdigest()
    for entry in meshes if isinstance(meshes, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            digest.update(b"\0" + entry["path"].encode())
            mesh = path.parent / entry["path"]
            try:  # a regular file only: a FIFO or a device (/dev/zero) would be read for ever
                digest.update(hashlib.sha256(mesh.read_bytes()).digest() if mesh.is_file() else b"\0missing")
            except OSError:
                digest.update(b"\0missing")
    return digest.hexdigest()
