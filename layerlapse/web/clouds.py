"""What the page adds for point clouds and many classes: a cloud's entry (its points' size
and the images its points came from, shown on hover), and a many-class head's argmax
regions or halos (:mod:`layerlapse.draw.argmax`), packed into the page's data blob."""

from __future__ import annotations

import warnings

import numpy as np

from layerlapse.draw.colour import hex_rgb
from layerlapse.draw.model import MIN_POINT_PIXELS, DrawModel, Part
from layerlapse.scenes.base import Cloud

#: the largest hover image the page carries (pixels a side), and all images' total bytes
MAX_IMAGE_SIDE, MAX_IMAGE_BYTES = 32, 2_000_000


def points_entry(part: Part, cloud: Cloud, blob, budget: list[int]) -> dict:
    """A cloud part's extra fields: its points' diameter (pixels at 720p, and the least),
    and its images as uint8 grey levels (N * h * w) while they fit ``budget`` (a one-item
    list of the bytes left, shared by the page's clouds); images too large are dropped
    with a warning."""
    entry: dict = {"size": part.size, "minSize": MIN_POINT_PIXELS}
    images = cloud.images
    if images is None:
        return entry
    images = np.asarray(images)
    n, h, w = images.shape
    if max(h, w) > MAX_IMAGE_SIDE or images.size > budget[0]:
        why = (f"{h}x{w} pixels, more than {MAX_IMAGE_SIDE} a side" if max(h, w) > MAX_IMAGE_SIDE else
               f"{images.size / 1e6:.1f} MB, past the page's {MAX_IMAGE_BYTES / 1e6:.0f} MB for images")
        warnings.warn(f"web: class {cloud.label}'s {n:,} images are {why}; the page shows no image on hover "
                      "for them", stacklevel=4)
        return entry
    budget[0] -= images.size
    grey = np.round(255 * np.clip(np.nan_to_num(images.astype(float)), 0, 1)).astype(np.uint8)
    entry.update(images=blob.add(grey), imageShape=[int(h), int(w)])
    return entry


def regions_meta(model: DrawModel, blob) -> dict | None:
    """The argmax regions of a flat view: the cells' centres (first, last, count on each
    axis), the class of each (uint8, row after row), their colours and opacity; None without."""
    r = model.regions
    if r is None:
        return None
    return {"xs": [float(r.xs[0]), float(r.xs[-1]), len(r.xs)], "ys": [float(r.ys[0]), float(r.ys[-1]), len(r.ys)],
            "classes": blob.add(np.ascontiguousarray(r.classes, np.uint8)),
            "colours": [hex_rgb(c) for c in r.colours], "opacity": r.opacity}


def halos_meta(model: DrawModel, blob) -> dict | None:
    """The clouds' halos at the output: positions (float32, P * 3), predicted classes
    (uint8), colours, a ring's size (a share of a point's) and open middle, opacity; None without."""
    halo = model.halos
    if halo is None:
        return None
    return {"points": blob.add(np.asarray(halo.points, np.float32)),
            "classes": blob.add(np.asarray(halo.classes, np.uint8)), "colours": [hex_rgb(c) for c in halo.colours],
            "across": halo.across, "hole": halo.hole, "opacity": halo.opacity}
