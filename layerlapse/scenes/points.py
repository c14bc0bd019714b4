"""A scene from labelled points: a user's data as one :class:`~layerlapse.scenes.base.Cloud`
per class, optional meshes and curves beside them, and an ambient grid built around them.

Everything is checked where it enters: each refusal is one line naming the field (``X``,
``y``, ``names``, ``meshes[i]``, ``curves[i]``, ``name``), the value and what is allowed.
Labels are integers or strings; floats are taken only when every one is a whole number
(``1.0``: what a CSV column or ``np.savez(y=y.astype(float))`` holds), so that ``0.5``,
a regression target or a probability, is refused rather than rounded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_CLASSES, MAX_INPUT_DIM, MAX_POINTS, REASONS
from layerlapse.scenes.base import Cloud, Curve, Grid, Scene, Surface
from layerlapse.scenes.geometry import grid_lines, padded_box, principal_axes

#: grid lines per axis and points per line: a 2-D grid as dense as the planar presets', a
#: box of lines as sparse as a mesh scene's (3-D, and the principal box of wider data)
GRID_LINES = {1: 1, 2: 11, 3: 4}
GRID_POINTS = 48
#: the grid's margin around the data, a share of the data's largest side
GRID_PAD = 0.08


def points_scene(X: Any, y: Any, names: Sequence[str] | None = None, *, meshes: Sequence[Any] = (),
                 curves: Sequence[Any] = (), name: str = "data", grid: bool = True) -> Scene:
    """The scene of labelled points X (N, n), y (N,); see :meth:`Scene.from_points`."""
    name = _name(name)
    points = _points(X)
    labels, class_names = _labels(y, len(points), names)
    n = points.shape[1]
    surfaces = tuple(_surface(m, i, n, len(class_names)) for i, m in enumerate(meshes))
    lines = tuple(_curve(c, i, n, len(class_names)) for i, c in enumerate(curves))
    clouds = tuple(Cloud(c, points[labels == c]) for c in range(len(class_names)))
    extent = np.vstack([points, *(s.vertices for s in surfaces), *(c.points for c in lines)])
    ambient = Grid(ambient_grid(extent)) if grid else None
    key = {"name": name, "data": _digest(points, labels, class_names, surfaces, lines), "grid": bool(grid)}
    n_classes = len(class_names)
    description = f"{len(points):,} points in {n}-D, {n_classes} classes"
    return Scene(name, description, n, class_names, surfaces, lines, ambient, points, labels, key=key, clouds=clouds)


def ambient_grid(X: np.ndarray) -> np.ndarray:
    """Grid lines (L, P, n) around points X (N, n): a line through the padded range (n = 1),
    lines through the padded bounding box (n = 2, 3), or for wider data a box of lines in the
    span of the three main principal directions through the mean, as far as the data spreads
    along them (what the first frame's view shows: the input's principal directions)."""
    n = X.shape[1]
    if n <= 3:
        lo, hi = padded_box(X, GRID_PAD)
        return grid_lines(lo, hi, GRID_LINES[n], GRID_POINTS if n > 1 else 2 * GRID_POINTS)
    mean, axes = principal_axes(X, 3)  # (3, n) orthonormal: the main principal directions
    coords = (X - mean) @ axes.T
    lo, hi = padded_box(coords, GRID_PAD)
    # a direction the data barely spreads along still gets a box a tenth as deep as the widest
    floor = 0.05 * float((hi - lo).max())
    mid, half = 0.5 * (lo + hi), np.maximum(0.5 * (hi - lo), floor)
    local = grid_lines(mid - half, mid + half, GRID_LINES[3], GRID_POINTS)  # (L, P, 3)
    return mean + local @ axes


def _name(name: Any) -> str:
    # the name chooses outputs/<name>/ and the network cache: one file name, never a path
    if not isinstance(name, str) or not name or name in (".", "..") or any(c in name for c in "/\\") \
            or not name.isprintable() or len(name) > 100:
        raise LayerlapseError(f"name: {name!r} names the scene's folder under outputs/; allowed: one file name of "
                              "1 to 100 characters, without '/', '\\', control characters, or '.' or '..' alone")
    return name


def _points(X: Any) -> np.ndarray:
    """X as (N, n) float64, refused with the first bad row and column."""
    if np.iscomplexobj(X):  # float64 of it would drop the imaginary parts with only a warning
        raise LayerlapseError(f"X: complex numbers ({np.asarray(X).dtype}); allowed: real numbers, an (N, n) array "
                              "of floats (np.real(X), or the real and imaginary parts as columns of their own)")
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LayerlapseError(f"X: cannot be read as numbers ({str(exc).splitlines()[0]}); "
                              "allowed: an (N, n) array of floats") from None
    if A.ndim != 2:
        hint = "; for 1-D data give X[:, None]" if A.ndim == 1 else ""
        raise LayerlapseError(f"X: shape {A.shape}; allowed: (N, n), one row a point{hint}")
    N, n = A.shape
    if N == 0:
        raise LayerlapseError(f"X: shape {A.shape} holds no points; allowed: 1 to {MAX_POINTS:,} rows")
    if not 1 <= n <= MAX_INPUT_DIM:
        raise LayerlapseError(f"X: {n} coordinates a point; allowed: 1 to {MAX_INPUT_DIM:,}")
    if N > MAX_POINTS:
        raise LayerlapseError(f"X: {N:,} points; allowed: at most {MAX_POINTS:,} ({REASONS['points']})")
    bad = ~np.isfinite(A)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise LayerlapseError(f"X: row {row}, column {col} is {A[row, col]}; allowed: finite numbers "
                              f"(counting from 0; {int(bad.any(axis=1).sum()):,} of {N:,} rows hold NaN or Inf)")
    return np.ascontiguousarray(A)


def _labels(y: Any, count: int, names: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels y (N,) as int64 in 0 .. C - 1 and the C class names."""
    values = _label_values(y, count)
    classes = np.unique(values)
    shown = ", ".join(repr(v.item()) for v in classes[:12]) + (", ..." if len(classes) > 12 else "")
    if len(classes) < 2:
        raise LayerlapseError(f"y: every label is {classes[0].item()!r}; allowed: 2 to {MAX_CLASSES} classes")
    if len(classes) > MAX_CLASSES:
        raise LayerlapseError(f"y: {len(classes)} classes ({shown}); allowed: 2 to {MAX_CLASSES} (each class "
                              "has a colour of its own; the colour-blind-safe palette has ten)")
    text = values.dtype.kind == "U"
    if names is None:
        class_names = tuple(str(v) if text else f"class {v}" for v in classes.tolist())
        return np.searchsorted(classes, values).astype(np.int64), class_names
    given = _names(names)
    if text:  # the names give the classes' order, and must be exactly the labels
        missing = sorted(set(classes.tolist()) - set(given))
        extra = [g for g in given if g not in set(classes.tolist())]
        if missing or extra:
            what = f"label {missing[0]!r} is not among them" if missing else f"{extra[0]!r} labels no point"
            raise LayerlapseError(f"names: {list(given)!r}: {what}; allowed: each of the labels ({shown}) once")
        order = {g: i for i, g in enumerate(given)}
        return np.array([order[v] for v in values.tolist()], dtype=np.int64), given
    if len(given) != len(classes):
        raise LayerlapseError(f"names: {len(given)} names for {len(classes)} classes ({shown}); allowed: one name a "
                              "class, the smallest label's first")
    return np.searchsorted(classes, values).astype(np.int64), given


def _label_values(y: Any, count: int) -> np.ndarray:
    """y as (N,) integers or strings, refusing floats that are not whole numbers."""
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:  # a column, as sklearn and CSV readers give
        values = values[:, 0]
    if values.ndim != 1:
        raise LayerlapseError(f"y: shape {values.shape}; allowed: (N,), one label a point")
    if len(values) != count:
        raise LayerlapseError(f"y: {len(values):,} labels for {count:,} points in X; allowed: one label a point")
    kind = values.dtype.kind
    if kind == "O":  # Python objects (a pandas column): all strings, or all numbers
        items = values.tolist()
        texts = [isinstance(v, str) for v in items]
        numbers = [isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in items]
        if not all(texts) and not all(numbers):
            row = next(i for i, (t, f) in enumerate(zip(texts, numbers)) if not t and not (f and not any(texts)))
            odd = items[row]
            raise LayerlapseError(f"y: row {row} is {type(odd).__name__} {odd!r}"
                                  f"{' among strings' if any(texts) else ''}; allowed: integers or strings")
        values = np.array(items, dtype=str if all(texts) else float)
        kind = values.dtype.kind
    if kind == "S":
        values, kind = np.char.decode(values, "utf-8", "replace"), "U"
    if kind == "b":
        return values.astype(np.int64)
    if kind == "f":
        return _whole(values)
    if kind not in "iuU":
        raise LayerlapseError(f"y: {values.dtype} labels; allowed: integers or strings")
    if kind == "U":
        return values.astype(str)
    return values.astype(np.int64)


def _whole(values: np.ndarray) -> np.ndarray:
    """Float labels as int64 when every one is a whole number; else the first that is not."""
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise LayerlapseError(f"y: row {row} is {values[row].item()!r}, not a class; allowed: integers or strings "
                              "(floats only when all are whole numbers, such as 1.0)")
    if np.abs(values).max() > 2**53:
        raise LayerlapseError(f"y: {np.abs(values).max():g} is too large to be a class number; allowed: integers")
    return values.astype(np.int64)


def _names(names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str) or not all(isinstance(v, str) and v.strip() for v in names):
        raise LayerlapseError(f"names: {names!r}; allowed: a list of non-empty strings, one a class")
    given = tuple(str(v) for v in names)
    if len(set(given)) != len(given):
        twice = next(v for v in given if given.count(v) > 1)
        raise LayerlapseError(f"names: {twice!r} is given twice; allowed: one name a class")
    return given


def _label(label: Any, field: str, classes: int) -> int:
    if not isinstance(label, (int, np.integer)) or not -1 <= int(label) < classes:
        raise LayerlapseError(f"{field}: label {label!r}; allowed: a class 0 to {classes - 1}, or -1 for a guide")
    return int(label)


def _surface(mesh: Any, i: int, n: int, classes: int) -> Surface:
    """A Surface, or a (vertices, faces) pair drawn as a guide (label -1)."""
    field = f"meshes[{i}]"
    if isinstance(mesh, Surface):
        label, vertices, faces = _label(mesh.label, field, classes), mesh.vertices, mesh.faces
    elif isinstance(mesh, (tuple, list)) and len(mesh) == 2:
        label, (vertices, faces) = -1, mesh
    else:
        raise LayerlapseError(f"{field}: a {type(mesh).__name__}; allowed: a Surface or a (vertices, faces) pair")
    V = _coordinates(vertices, f"{field} vertices", n)
    F = np.asarray(faces)
    if F.ndim != 2 or F.shape[1] != 3 or F.dtype.kind not in "iu" or len(F) == 0:
        raise LayerlapseError(f"{field}: faces of shape {F.shape} ({F.dtype}); allowed: (T, 3) integers, T >= 1")
    if F.min() < 0 or F.max() >= len(V):
        raise LayerlapseError(f"{field}: a face refers to vertex {int(F.max() if F.max() >= len(V) else F.min())}; "
                              f"allowed: 0 to {len(V) - 1}")
    return Surface(label, V, F.astype(np.int64))


def _curve(curve: Any, i: int, n: int, classes: int) -> Curve:
    """A Curve, or a polyline (P, n) drawn as a guide (label -1)."""
    field = f"curves[{i}]"
    if isinstance(curve, Curve):
        return Curve(_label(curve.label, field, classes), _coordinates(curve.points, field, n, least=2), curve.closed)
    return Curve(-1, _coordinates(curve, field, n, least=2))


def _coordinates(points: Any, field: str, n: int, *, least: int = 1) -> np.ndarray:
    """Points (P, n) float64 in the data's coordinates."""
    try:
        P = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise LayerlapseError(f"{field}: cannot be read as numbers; allowed: a (P, {n}) array") from None
    if P.ndim != 2 or P.shape[1] != n or len(P) < least:
        raise LayerlapseError(f"{field}: shape {P.shape}; allowed: ({'P' if least == 1 else 'P >= 2'}, {n}), "
                              f"in the data's {n} coordinates")
    if not np.isfinite(P).all():
        raise LayerlapseError(f"{field}: row {int(np.flatnonzero(~np.isfinite(P).all(1))[0])} holds NaN or Inf; "
                              "allowed: finite numbers")
    return P


def _digest(X: np.ndarray, labels: np.ndarray, names: tuple[str, ...], surfaces: tuple[Surface, ...],
            curves: tuple[Curve, ...]) -> str:
    """The SHA-256 of everything the network trains on or the scene draws (the cache key)."""
    h = hashlib.sha256()
    for array in (X, labels, *(a for s in surfaces for a in (s.vertices, s.faces)), *(c.points for c in curves)):
        h.update(str(array.shape).encode() + np.ascontiguousarray(array).tobytes())
    h.update("\0".join(names).encode())
    h.update(repr([(s.label,) for s in surfaces] + [(c.label, c.closed) for c in curves]).encode())
    return h.hexdigest()
