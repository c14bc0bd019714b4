"""The geometry registry: scene names -> (parameter model, builder). Geometry only: what a
scene's network, training, timeline and style default to lives one level up, in
:mod:`layerlapse.app.presets`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from layerlapse.errors import LayerlapseError, range_error
from layerlapse.limits import REASONS
from layerlapse.scenes.base import Scene


@dataclass(frozen=True)
class Geometry:
    """How to build a named scene: its validated parameters and the builder."""

    name: str
    description: str
    params: type[BaseModel]
    build: Callable[[Any], Scene]


GEOMETRIES: dict[str, Geometry] = {}


class NoParams(BaseModel):
    """For scenes without parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def register_geometry(geometry: Geometry) -> Geometry:
    """Add (or replace) a named geometry."""
    GEOMETRIES[geometry.name] = geometry
    return geometry


def validation_message(where: str, exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One line per error: ``where.field: message (got value)``; a NaN or an infinity refused
    by a bound reads ``where.field: nan is not a number; allowed: 0 < field <= 600`` (the
    whole range when ``model``, the model validated, is given; else the bound that refused it)."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        # "network.hidden.0", but "scene file 'x.toml': meshes.0.label" after a quoted name
        field_name = (f"{where}: {loc}" if where.endswith("'") else f"{where}.{loc}") if loc else where
        value = err.get("input")
        number = _non_finite(value)
        if number is not None and err["type"] in _BOUND_ERRORS:
            parts.append(str(range_error(field_name, number, _allowed(model, err))))
            continue
        msg = err["msg"].removeprefix("Value error, ")
        why = next((REASONS[str(x)] for x in err["loc"] if str(x) in REASONS), None)
        if why and err["type"] in ("less_than_equal", "less_than"):
            msg += f" ({why})"
        parts.append(f"{field_name}: {msg} (got {value!r})")
    return "; ".join(parts)


#: pydantic's error types for a number refused by a bound (or for not being finite)
_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"}


def _non_finite(value: object) -> float | None:
    """``value`` as a float when it is NaN or infinite (``--set`` passes the text ``'nan'``)."""
    if not isinstance(value, (float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isfinite(number) else number


def _allowed(model: type[BaseModel] | None, err: Any) -> str:
    """The range a field allows, ``0 < name <= 600``: its bounds in ``model`` for a top-level
    field, else the one bound in the error."""
    name = str(err["loc"][-1]) if err["loc"] else "value"
    field = model.model_fields.get(str(err["loc"][0])) if model is not None and len(err["loc"]) == 1 else None
    bounds = {key: value for meta in (field.metadata if field else ()) for key in _BOUND_KEYS
              if (value := getattr(meta, key, None)) is not None}
    bounds = bounds or {key: value for key, value in (err.get("ctx") or {}).items() if key in _BOUND_KEYS}
    lower = next((f"{bounds[k]:g} {op} " for k, op in (("gt", "<"), ("ge", "<=")) if k in bounds), "")
    upper = next((f" {op} {bounds[k]:g}" for k, op in (("lt", "<"), ("le", "<=")) if k in bounds), "")
    return f"{lower}{name}{upper}" if lower or upper else "a finite number"


_BOUND_KEYS = ("gt", "ge", "lt", "le")


def build_scene(name: str, **params: Any) -> Scene:
    """Build the named geometry; ``params`` override its defaults and are validated.

    Parameters
    ----------
    name
        A registered geometry (every preset registers one under its name).
    **params
        Parameters of the geometry's model, e.g. ``minor_radius=0.15``.

    Returns
    -------
    Scene
        The built scene; its ``key`` records the name and the validated parameters.
    """
    if name not in GEOMETRIES:
        raise LayerlapseError(f"scene: unknown scene {name!r}; known scenes: {', '.join(sorted(GEOMETRIES))}")
    geometry = GEOMETRIES[name]
    try:
        p = geometry.params(**params)
    except ValidationError as exc:
        raise LayerlapseError(validation_message(f"scene {name!r}", exc, geometry.params)) from None
    scene = geometry.build(p)
    return replace(scene, name=name, description=geometry.description,
                   key={"name": name, "params": p.model_dump(mode="json")})


def _register_geometries() -> None:
    from layerlapse.scenes import digits, planar, solids, spirals, tori

    geometries: list[tuple[str, str, type[BaseModel], Callable[[Any], Scene]]] = [
        ("two-curves", "two curves in the square", planar.TwoCurvesParams, planar.build_two_curves),
        ("grid-only", "the grid alone", planar.GridOnlyParams, planar.build_grid_only),
        ("spirals", "two slightly entangled spirals", spirals.SpiralsParams, spirals.build_spirals),
        ("spirals-tangled", "two more entangled spirals", spirals.TangledSpiralsParams, spirals.build_spirals),
        ("disk-annulus", "disk A inside annulus B", planar.DiskAnnulusParams, planar.build_disk_annulus),
        ("line-segments", "the 1-D example: three segments", planar.LineSegmentsParams, planar.build_line_segments),
        ("linked-tori", "two solid tori linked like chain links", tori.LinkedToriParams, tori.build_linked_tori),
        ("unlink", "a loop and a curve spiralling twice around it", solids.CurvePairParams, solids.build_unlink),
        ("easy-way-out", "two tangled helices", solids.CurvePairParams, solids.build_easy_way_out),
        ("sphere-shell", "a ball inside a spherical shell", solids.SphereShellParams, solids.build_sphere_shell),
        ("trefoil", "a trefoil knot tube and a ring around one strand", solids.CurvePairParams, solids.build_trefoil),
        ("digits", "the 8x8 handwritten digits (scikit-learn's), 64 pixels each", digits.DigitsParams,
         digits.build_digits),
    ]
    for name, description, params, build in geometries:
        register_geometry(Geometry(name, description, params, build))


_register_geometries()
