"""Scenes: class manifolds, the ambient grid and labelled samples, by name."""

from layerlapse.scenes.base import Curve, Grid, Scene, Surface
from layerlapse.scenes.registry import SCENES, SceneSpec, get_spec, load_scene, register_scene, scene, scene_names

__all__ = [
    "Curve",
    "Grid",
    "SCENES",
    "Scene",
    "SceneSpec",
    "Surface",
    "get_spec",
    "load_scene",
    "register_scene",
    "scene",
    "scene_names",
]
