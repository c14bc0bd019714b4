"""Scenes: class manifolds, the ambient grid and labelled samples. Geometry only: this
package never imports :mod:`layerlapse.networks` or :mod:`layerlapse.render`."""

from layerlapse.scenes.base import Curve, Grid, Scene, Surface
from layerlapse.scenes.registry import GEOMETRIES, Geometry, NoParams, build_scene, register_geometry

__all__ = [
    "GEOMETRIES",
    "Curve",
    "Geometry",
    "Grid",
    "NoParams",
    "Scene",
    "Surface",
    "build_scene",
    "register_geometry",
]
