"""VTK overlays of a many-class head's decision (:mod:`layerlapse.draw.argmax`): the tinted
argmax regions of a flat view and the points' halos elsewhere, each built once and faded
in with the decision."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from layerlapse.draw.argmax import Halos, Regions
from layerlapse.draw.colour import float_rgb
from layerlapse.draw.model import point_pixels
from layerlapse.render.overlays import VoteView


def region_view(plotter: pv.Plotter, regions: Regions) -> VoteView:
    """The tinted argmax image behind the data, drawn as a k-NN vote's image is."""
    image = (regions.xs, regions.ys, regions.classes, regions.z)
    return VoteView(plotter, [], image, colours=list(regions.colours), opacity=regions.opacity)


class HaloView:
    """A ring around every cloud point at the output in its predicted class's colour: one
    point actor (a sprite of the halo's size, its middle discarded so the point shows)."""

    def __init__(self, plotter: pv.Plotter, halos: Halos, *, scale: float) -> None:
        mesh = pv.PolyData(np.asarray(halos.points, np.float32))
        palette = np.round(255 * np.array([float_rgb(c) for c in halos.colours])).astype(np.uint8)
        mesh.point_data["halo"] = palette[halos.classes]
        across = halos.across * point_pixels(scale)
        self.actor = plotter.add_mesh(mesh, scalars="halo", rgb=True, style="points", point_size=across,
                                      render_points_as_spheres=True, lighting=False, opacity=halos.opacity,
                                      show_scalar_bar=False, render=False, reset_camera=False)
        self.actor.GetShaderProperty().AddFragmentShaderReplacement(
            "//VTK::Light::Impl", True,
            "//VTK::Light::Impl\n  { vec2 hole = 2.0 * gl_PointCoord - 1.0;"
            f" if (dot(hole, hole) < {halos.hole ** 2:.4f}) {{ discard; }} }}\n", False)
        self.opacity = halos.opacity
        self.fade = -1.0
        self.set_fade(0.0)

    @property
    def actors(self) -> list:
        return [self.actor]

    def set_fade(self, fade: float) -> None:
        """Show the halos at ``fade`` in [0, 1] (0: hidden)."""
        fade = float(np.clip(fade, 0.0, 1.0))
        if fade == self.fade:
            return
        self.fade = fade
        self.actor.SetVisibility(fade > 0)
        self.actor.prop.opacity = self.opacity * fade
