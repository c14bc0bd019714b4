"""What a scene is: class manifolds to draw, the ambient grid, and labelled samples.

All coordinates live in data space R^n (n = ``Scene.dim``: 1 to 3 for geometry, up to
:data:`~layerlapse.limits.MAX_INPUT_DIM` for a point cloud); the renderer pads 1-D and 2-D
to 3D and shows wider data through a projection. Nothing here draws or touches files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Surface:
    """A triangle mesh of class ``label``; vertices (V, n) float, faces (T, 3) int."""

    label: int
    vertices: np.ndarray
    faces: np.ndarray


@dataclass(frozen=True)
class Curve:
    """A polyline of class ``label``, drawn as a tube; points (N, n)."""

    label: int
    points: np.ndarray
    closed: bool = False


@dataclass(frozen=True)
class Cloud:
    """Points of class ``label`` drawn as points (a user's data, a preset's image samples);
    points (N, n). ``images``: optional (N, h, w) grey levels in [0, 1], one per point (the
    picture a digit came from), shown where a back-end can show them (the page, on hover)."""

    label: int
    points: np.ndarray
    images: np.ndarray | None = None


@dataclass(frozen=True)
class Grid:
    """The ambient grid: straight lines through the bounding box; lines (L, P, n)."""

    lines: np.ndarray


@dataclass(frozen=True)
class Scene:
    """A built scene: geometry to deform and draw, and samples to train on.

    ``samples``: (N, n) float; ``labels``: (N,) int in 0 .. len(class_names) - 1;
    ``key``: the scene name and its geometry parameters (what a checkpoint records, and
    what the network cache key covers); ``cores``: hidden geometry, never drawn: one closed
    polyline (N, n) per class, the class's core curve (a torus's centre circle, a closed
    curve itself), for the linking number of ``layerlapse inspect``; empty when the classes
    have none (open curves, surfaces without a core). ``held_out``: (samples (M, n), labels (M,))
    kept out of training, for an accuracy on unseen data (the digits' held-out images); None when
    the scene has none. What network it gets by default is not the scene's business: see
    :mod:`layerlapse.app.presets`.
    """

    name: str
    description: str
    dim: int
    class_names: tuple[str, ...]
    surfaces: tuple[Surface, ...]
    curves: tuple[Curve, ...]
    grid: Grid | None
    samples: np.ndarray
    labels: np.ndarray
    key: dict = field(default_factory=dict)
    cores: tuple[np.ndarray, ...] = ()
    clouds: tuple[Cloud, ...] = ()
    held_out: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_points(cls, X: Any, y: Any, names: Sequence[str] | None = None, *, meshes: Sequence[Any] = (),
                    curves: Sequence[Any] = (), name: str = "data", grid: bool = True) -> Scene:
        """A scene of your own labelled points: one :class:`Cloud` per class.

        >>> scene = Scene.from_points(X, y)               # then ll.render(scene, model=my_model)

        Parameters
        ----------
        X
            (N, n) floats: N points (1 to :data:`~layerlapse.limits.MAX_POINTS`) of n
            coordinates (1 to :data:`~layerlapse.limits.MAX_INPUT_DIM`), all finite.
        y
            (N,) labels, 2 to :data:`~layerlapse.limits.MAX_CLASSES` classes: integers, or
            strings (the classes in sorted order, unless ``names`` gives it); floats only when
            every one is a whole number (``1.0``), never rounded.
        names
            The class names: for integer labels one a class, the smallest label's first
            (default ``class 0``, ``class 1``, ...); for strings, each label once, in the
            order the classes should take.
        meshes, curves
            Drawn beside the points, in the data's coordinates: :class:`Surface` and
            :class:`Curve` objects (their labels: a class, or -1 for a guide), or
            (vertices (V, n), faces (T, 3)) pairs and (P, n) polylines, drawn as guides.
        name
            The scene's name: its folder under ``outputs/``.
        grid
            Build the ambient grid around the data (a line in 1-D, lines through the padded
            bounding box in 2-D and 3-D, a box of lines in the span of the three main principal
            directions for wider data).

        Returns
        -------
        Scene
            ``samples`` X, ``labels`` 0 .. C - 1; its ``key`` holds a SHA-256 of the data, so a
            network trained on it is cached for exactly this data.

        Raises
        ------
        LayerlapseError
            One line naming the field (``X``, ``y``, ``names``, ``meshes[i]``, ...), the value
            and what is allowed: wrong shapes, NaN or Inf (with the row and column), one class
            or more than ten, labels that are not whole numbers, counts that disagree, no points.
        """
        from layerlapse.scenes.points import points_scene

        return points_scene(X, y, names, meshes=meshes, curves=curves, name=name, grid=grid)

    def parts(self) -> list[tuple[str, np.ndarray]]:
        """(kind, points) for every drawable part, in the order :meth:`points` stacks them."""
        out = [("surface", s.vertices) for s in self.surfaces]
        out += [("curve", c.points) for c in self.curves]
        out += [("cloud", c.points) for c in self.clouds]
        if self.grid is not None:
            out.append(("grid", self.grid.lines.reshape(-1, self.dim)))
        return out

    def framed_points(self) -> np.ndarray:
        """Indices (K,) into :meth:`points` of the surfaces, curves and clouds (classes, and
        guides such as a border), not the grid: what a camera frames. All points if there are none."""
        n = (sum(len(s.vertices) for s in self.surfaces) + sum(len(c.points) for c in self.curves)
             + sum(len(c.points) for c in self.clouds))
        return np.arange(n if n else len(self.points()[0]))

    def class_points(self) -> np.ndarray:
        """Indices (K,) into :meth:`points` of the class parts (label >= 0) only."""
        parts = ([(s.label, len(s.vertices)) for s in self.surfaces] + [(c.label, len(c.points)) for c in self.curves]
                 + [(c.label, len(c.points)) for c in self.clouds])
        ends = np.cumsum([n for _, n in parts], dtype=np.int64)
        keep = [np.arange(e - n, e) for (label, n), e in zip(parts, ends) if label >= 0]
        return np.concatenate(keep) if keep else np.zeros(0, np.int64)

    def points(self) -> tuple[np.ndarray, list[slice]]:
        """All drawable points stacked, (V, n), and each part's slice into them."""
        arrays = [p for _, p in self.parts()]
        slices, start = [], 0
        for a in arrays:
            slices.append(slice(start, start + len(a)))
            start += len(a)
        return np.concatenate(arrays).astype(float), slices
