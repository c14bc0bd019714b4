"""The two ways a view recolours its parts: the stretch heat map and a k-NN head's vote,
each built over the drawn parts (:mod:`layerlapse.render.actors`) by the rules the drawing
model gives (:attr:`~layerlapse.draw.model.Part.heated`, :attr:`~layerlapse.draw.model.Part.vote_share`)."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from layerlapse.draw.argmax import padded_grid
from layerlapse.draw.colour import mix
from layerlapse.draw.fourth import HiddenCoordinate
from layerlapse.draw.heat import KNN_STRETCH
from layerlapse.draw.model import RIM_SHADE, DrawModel, Kind
from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.stretch import Stretch
from layerlapse.render.actors import Drawn, PartBuilder
from layerlapse.render.heat import HeatMap
from layerlapse.render.overlays import VoteView

#: cells along the longer side of a flat view's tinted k-NN vote image
VOTE_IMAGE_CELLS = 200


def heat_map(plotter: pv.Plotter, layers: Deformation, model: DrawModel, parts: list[Drawn], built: PartBuilder,
             scale: float) -> tuple[Stretch, HeatMap]:
    """The stretch heat map: every heated part coloured by :class:`~layerlapse.networks.stretch.Stretch`
    (limits fixed from the classes over the whole timeline) on its class's own ramp (the grid
    on the grid's), so the classes never share a colour; outlines and tube rims keep their
    class colours, and a flat view's class lines keep a dark edge of their class."""
    if layers.knn_head is not None:
        raise LayerlapseError(KNN_STRETCH)
    stretch = Stretch(layers, model.scene)
    limit = stretch.limits()
    targets = _targets(parts)
    for drawn in parts:
        part, actor = drawn.part, drawn.actor
        if part.heated and part.kind is Kind.LINE and part.label >= 0:  # a class's line keeps a dark class edge
            actor.prop.line_width = 1.5 * actor.prop.line_width
            under = plotter.add_mesh(drawn.mesh, color=mix(part.colour, "black", RIM_SHADE), lighting=False,
                                     line_width=actor.prop.line_width + 3.0 * scale, render=False, reset_camera=False)
            under.mapper.SetResolveCoincidentTopologyToPolygonOffset()
            under.mapper.SetRelativeCoincidentTopologyLineOffsetParameters(0.0, 4.0)
            built.class_actors[part.label].append(under)
    heat = HeatMap(plotter, targets, limit=limit, text_colour=model.style.text_color,
                   font_size=max(8, int(round(15 * scale))), bars=_bars(model))
    for actor in heat.actors:  # colours, not highlights: a glossy heat map reads as paler
        actor.prop.specular = min(actor.prop.specular, 0.1)
    return stretch, heat


def fourth_map(plotter: pv.Plotter, layers: Deformation, model: DrawModel, parts: list[Drawn],
               scale: float) -> tuple[HiddenCoordinate, HeatMap]:
    """An R^4 scene's hidden coordinate (:class:`~layerlapse.draw.fourth.HiddenCoordinate`)
    shown on every class's ramp, as the stretch is (darker below 0, paler above: the class
    colour itself while the 4th dimension is unused), with a colour bar per class."""
    hidden = HiddenCoordinate(layers, model.class_points)
    heat = HeatMap(plotter, _targets(parts), limit=hidden.limit, text_colour=model.style.text_color,
                   font_size=max(8, int(round(15 * scale))), bars=_bars(model), title="4th coordinate",
                   ticks=hidden.ticks())
    return hidden, heat


def _targets(parts: list[Drawn]) -> list[tuple]:
    """What a :class:`~layerlapse.render.heat.HeatMap` colours: every heated part, on its colour's ramp."""
    return [(d.mesh, d.actor, d.part.sl, d.rows, d.helper[0].sides if d.kind is Kind.TUBE else 0, d.part.colour)
            for d in parts if d.part.heated]


def _bars(model: DrawModel) -> list:
    """The class colours the colour bar shows, one ramp each."""
    return [model.style.colour(label) for label in sorted({p.label for p in model.parts if p.label >= 0 and p.heated})]


def vote_view(plotter: pv.Plotter, layers: Deformation, model: DrawModel, parts: list[Drawn]) -> VoteView | None:
    """A k-NN head's decision region (:class:`~layerlapse.render.overlays.VoteView`): every
    part coloured by the vote at its final position, the grid lines mostly so, and in a
    flat view whose display is the final representation a tinted image of the vote over
    the data's padded box; None for an affine head."""
    votes = layers.final_votes()
    if votes is None:
        return None
    coloured = []
    for drawn in parts:
        vote = votes[drawn.sl] if drawn.rows is None else votes[drawn.sl][drawn.rows]
        if drawn.kind is Kind.TUBE:
            tube, _ = drawn.helper
            vote = np.repeat(vote, tube.sides) if tube.closed else np.r_[np.repeat(vote, tube.sides), vote[[0, -1]]]
        coloured.append((drawn.mesh, drawn.actor, vote, drawn.part.vote_share))
    classes = layers.knn_head.classes if layers.knn_head is not None else len(model.scene.class_names)
    colours = [model.style.colour(c) for c in range(classes)]
    image = _vote_image(layers, model) if model.flat else None
    return VoteView(plotter, coloured, image, colours=colours)


def _vote_image(layers: Deformation, model: DrawModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """The vote over the final class points' padded box, (xs, ys, vote (ny, nx), depth)."""
    final = layers.display(np.array([layers.n_frames - 1]))[0][model.class_points].astype(float)
    if not len(final):
        return None
    xs, ys, cells = padded_grid(final, VOTE_IMAGE_CELLS)
    vote = layers.vote_plane(np.c_[cells, np.zeros(len(cells))])
    return None if vote is None else (xs, ys, vote.reshape(len(ys), len(xs)), -2 * model.eps)
