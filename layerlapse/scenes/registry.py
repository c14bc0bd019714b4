"""The scene registry: names -> (parameter model, builder, default network and timeline)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from layerlapse.errors import LayerlapseError
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.timeline import TimelineConfig
from layerlapse.networks.train import TrainConfig
from layerlapse.scenes.base import Scene
from layerlapse.scenes.spirals import SpiralsParams, build_spirals
from layerlapse.scenes.tori import LinkedToriParams, build_linked_tori


@dataclass(frozen=True)
class SceneSpec:
    """How to build a named scene and what network to train on it by default."""

    name: str
    description: str
    params: type[BaseModel]
    build: Callable[[Any], Scene]
    network: NetworkConfig
    training: TrainConfig = field(default_factory=TrainConfig)
    timeline: TimelineConfig = field(default_factory=TimelineConfig)


SCENES: dict[str, SceneSpec] = {}


def register_scene(spec: SceneSpec, *, replace_existing: bool = False) -> SceneSpec:
    """Add a scene to the registry under ``spec.name`` (the CLI's choices come from here)."""
    if spec.name in SCENES and not replace_existing:
        raise LayerlapseError(f"scene: {spec.name!r} is already registered")
    SCENES[spec.name] = spec
    return spec


def scene_names() -> list[str]:
    return sorted(SCENES)


def get_spec(name: str) -> SceneSpec:
    if name not in SCENES:
        raise LayerlapseError(f"scene: unknown scene {name!r}; known scenes: {', '.join(scene_names())}")
    return SCENES[name]


def validation_message(where: str, exc: ValidationError) -> str:
    """One line per error: ``where.field: message (got value)``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        field_name = f"{where}.{loc}" if loc else where
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field_name}: {msg} (got {err.get('input')!r})")
    return "; ".join(parts)


def load_scene(name: str, **params: Any) -> Scene:
    """Build the named scene; ``params`` override its defaults and are validated.

    >>> scene = load_scene("linked-tori", minor_radius=0.15, seed=3)
    """
    spec = get_spec(name)
    try:
        p = spec.params(**params)
    except ValidationError as exc:
        raise LayerlapseError(validation_message(f"scene {name!r}", exc)) from None
    scene = spec.build(p)
    return replace(scene, name=name, description=spec.description, key={"name": name, "params": p.model_dump(mode="json")})


register_scene(
    SceneSpec(
        name="linked-tori",
        description="two solid tori linked like chain links, in 3D; width-3 tanh layers",
        params=LinkedToriParams,
        build=build_linked_tori,
        network=NetworkConfig(input_dim=3, hidden=(3, 3, 3), activation="tanh"),
        training=TrainConfig(epochs=150, lr=0.02, batch_size=128),
    )
)
register_scene(
    SceneSpec(
        name="spirals",
        description="two interleaved spirals in the plane; four width-2 tanh layers",
        params=SpiralsParams,
        build=build_spirals,
        network=NetworkConfig(input_dim=2, hidden=(2, 2, 2, 2), activation="tanh"),
        training=TrainConfig(epochs=300, lr=0.03, batch_size=128),
    )
)
