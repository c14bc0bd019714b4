"""The decision of a head with three classes or more: the class its logits' argmax picks.

A two-class head's decision is one line or plane (:class:`~layerlapse.draw.model.Decision`).
With more classes the boundaries meet in corners, so the picture shows the argmax itself:

* :class:`Regions`: where the display *is* the final representation (a flat view of a
  representation at most 2 wide), the view's plane tinted by the class the head picks at
  each cell of a grid over the data's padded box, as a k-NN head's vote is tinted;
* :class:`Halos`: elsewhere (3-D, or a wider representation seen through a projection, where
  a region of the plane on screen is no region of the head's input), a tinted ring around
  every point of the scene's clouds in the colour of the class the head gives it at the
  output: inside a class's cluster the rings take its colour, and a point the head gives
  to another class is ringed in that class's colour (and marked as misclassified).

Both are built once from the last frame and fade in with the decision. Pure: no drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from layerlapse.draw.colour import ColourLike
from layerlapse.networks.layers import Layer

if TYPE_CHECKING:
    from layerlapse.draw.model import DrawModel

#: cells along the longer side of the tinted regions (as the k-NN vote's image)
REGION_CELLS = 200
#: the regions' opacity: the two-class half-planes' tint
REGION_OPACITY = 0.16
#: a halo's outer diameter and its open middle, as shares of a point's diameter, and its opacity
HALO_ACROSS, HALO_HOLE, HALO_OPACITY = 2.4, 0.42, 0.55


@dataclass(frozen=True)
class Regions:
    """The argmax over a grid of the view's plane: cell centres ``xs`` (nx,), ``ys`` (ny,),
    the class of each (ny, nx) uint8, drawn in ``colours`` (by class) at ``opacity``, depth ``z``."""

    xs: np.ndarray
    ys: np.ndarray
    classes: np.ndarray
    colours: tuple[ColourLike, ...]
    opacity: float
    z: float


@dataclass(frozen=True)
class Halos:
    """Rings around the clouds' points at the output: ``points`` (P, 3) float32 in display
    space, the class the head gives each (P,) int, drawn in ``colours``; ``across``: a ring's
    outer diameter as a share of a point's, ``hole`` its open middle (a share of the ring's)."""

    points: np.ndarray
    classes: np.ndarray
    colours: tuple[ColourLike, ...]
    across: float
    hole: float
    opacity: float


def _affine_head(model: DrawModel) -> Layer | None:
    """The network's affine head, if it has three classes or more and the scene as many."""
    layers = model.layers
    head = None if layers is None else layers.plan.head
    classes = len(model.scene.class_names)
    if not isinstance(head, Layer) or classes < 3 or head.W.shape[0] != classes:
        return None
    return head


def predicted(head: Layer, representation: np.ndarray) -> np.ndarray:
    """The class (N,) the affine ``head`` gives final representations (N, D) (its argmax)."""
    return (representation[:, : head.W.shape[1]] @ head.W.T + head.b).argmax(1)


def padded_grid(points: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Square cells over the padded box of ``points`` (N, >= 2) in the plane of their first
    two coordinates, ``cells`` along its longer side: -> (xs (nx,), ys (ny,), the cell
    centres (ny * nx, 2), row by row). The many-class regions and a k-NN vote's image share it."""
    lo, hi = points.min(0)[:2], points.max(0)[:2]
    pad = 0.04 * float((hi - lo).max()) + 1e-9
    lo, hi = lo - pad, hi + pad
    step = float((hi - lo).max()) / cells
    xs, ys = (np.linspace(lo[i], hi[i], max(2, int(np.ceil((hi[i] - lo[i]) / step)) + 1)) for i in range(2))
    X, Y = np.meshgrid(xs, ys)
    return xs, ys, np.stack([X.ravel(), Y.ravel()], 1)


def regions(model: DrawModel) -> Regions | None:
    """The tinted argmax regions, where the view is flat and the display the final
    representation (at most 2 wide); None otherwise."""
    head, layers = _affine_head(model), model.layers
    if head is None or layers is None or not (model.flat and layers.planar) or head.W.shape[1] > 2:
        return None
    last = np.array([layers.n_frames - 1])
    final = layers.display(last, model.class_points)[0].astype(float)
    if not len(final):
        return None
    xs, ys, cells = padded_grid(final, REGION_CELLS)
    classes = predicted(head, cells).reshape(len(ys), len(xs)).astype(np.uint8)
    colours = tuple(model.style.colour(c) for c in range(len(model.scene.class_names)))
    return Regions(xs, ys, classes, colours, REGION_OPACITY, -2 * model.eps)


def halos(model: DrawModel) -> Halos | None:
    """The clouds' points ringed in the class the head gives them at the output; None
    without clouds, an affine head of three classes or more, or where :func:`regions` shows it."""
    head, layers = _affine_head(model), model.layers
    if head is None or layers is None or not model.scene.clouds:
        return None
    n_before = len(model.scene.surfaces) + len(model.scene.curves)
    idx = np.concatenate([np.arange(sl.start, sl.stop) for sl in model.slices[n_before:n_before + len(model.scene.clouds)]])
    last = np.array([layers.n_frames - 1])
    points = layers.display(last, idx)[0]
    classes = predicted(head, np.asarray(layers.keyframes[-1])[idx])
    colours = tuple(model.style.colour(c) for c in range(len(model.scene.class_names)))
    return Halos(points, classes, colours, HALO_ACROSS, HALO_HOLE, HALO_OPACITY)
