"""The back-end-free drawing model: colours parsed as PyVista parses them (to the same
floats, so no pixel moves), and the parts a scene is drawn as."""

from __future__ import annotations

import numpy as np
import pytest

from layerlapse.app import api
from layerlapse.draw import colour
from layerlapse.draw.model import DrawModel, Kind
from layerlapse.draw.style import Style


def test_every_colour_parses_as_pyvista_does(rng):
    pv = pytest.importorskip("pyvista")
    from pyvista.plotting.colors import color_synonyms, hex_colors

    names = [*hex_colors, *color_synonyms, "Tab:Blue", "dark grey", "#0072B2", "0x0072b2", "#0072B280", "#1c1c21"]
    channels = [tuple(rng.random(3)) for _ in range(2000)] + [(0, 0, 255), (255, 255, 255, 0), (1.0, 0.5, 0.25)]
    channels += [colour.mix(a, b, s) for a in ("white", "#b4b4b4", "#222222") for b in ("white", "#1c1c21", "black")
                 for s in (0.2, 0.35, 0.55)]
    for value in names + channels:
        ref = pv.Color(value)
        assert colour.rgba(value) == ref.int_rgba, value
        assert colour.float_rgb(value) == ref.float_rgb and colour.hex_rgb(value) == ref.hex_rgb, value
    for bad in ("nope", "#12", "#gg0000", "", (2.0, 0.0, 0.0), (1, 2)):
        with pytest.raises(ValueError):
            pv.Color(bad)
        with pytest.raises(ValueError):
            colour.rgba(bad)


def test_a_scene_becomes_typed_parts():
    scene = api.load_scene("disk-annulus", resolution=12, samples_per_class=50, grid_lines=3)
    network = api.train_network(scene, training={"epochs": 2, "restarts": 1}, progress=False)
    deformation = api.deform(scene, network)
    style = Style()
    flat = DrawModel(scene, deformation, style, flat=True)
    kinds = [p.kind for p in flat.parts]
    assert kinds.count(Kind.SURFACE) == len(scene.surfaces) and Kind.TUBE not in kinds
    assert kinds[-1] is Kind.GRID and all(p.width is not None for p in flat.parts if p.kind is not Kind.SURFACE)
    assert [p.heated for p in flat.parts] == [k is not Kind.OUTLINE for k in kinds]
    outline = next(p for p in flat.parts if p.kind is Kind.OUTLINE)
    assert outline.edges is not None and outline.edges.max() < outline.sl.stop - outline.sl.start
    assert flat.decision is not None and flat.decision.colours == (style.colour(0), style.colour(1))
    grid = [p for p in flat.parts if p.kind is Kind.GRID]
    assert len(grid) == 1 and grid[0].colour == style.grid_color  # a planar motion: every grid line, strong
    assert np.array_equal(grid[0].rows, np.arange(grid[0].lines * grid[0].per))


def test_the_heat_maps_colours_are_vtks(rng):
    """The page's class ramps, computed without VTK, are VTK's lookup tables byte for byte,
    and VTK maps the ramp's own ratios onto its own entries, as the page does."""
    vtk = pytest.importorskip("vtk")
    from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy

    from layerlapse.draw.heat import class_ramp, ramp_index
    from layerlapse.render.heat import colours, lookup_table

    for ramp_of in ("#0072B2", "#D55E00", "#b4b4b4"):
        for limit in [*rng.uniform(0.01, 12.0, 10), np.log(2.0), 1.0, 3.0]:
            lut = lookup_table(limit, ramp_of)
            table = np.array([np.round(255 * np.array(lut.GetTableValue(i)[:3])) for i in range(256)])
            assert np.array_equal(table, class_ramp(ramp_of)), (ramp_of, limit)
            xs = np.linspace(-limit, limit, 256)
            mapped = vtk_to_numpy(lut.MapScalars(numpy_to_vtk(xs, deep=True), vtk.VTK_COLOR_MODE_MAP_SCALARS, -1))
            assert np.array_equal(mapped.reshape(-1, 4)[:, :3], colours(xs, limit, ramp_of)[:, :3]), (ramp_of, limit)
            assert np.array_equal(ramp_index(xs, limit), np.arange(256))
