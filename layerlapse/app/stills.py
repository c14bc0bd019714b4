"""``figure``, ``export_meshes`` and ``export_animation``: publication stills, contact sheets,
the deformed meshes at chosen stages, and the whole deformation as one animated glTF, for
Blender, MeshLab or three.js."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerlapse._files import check_output, output_path
from layerlapse.app.request import NetworkOptions, Request, SceneLike, Unpack
from layerlapse.errors import LayerlapseError

if TYPE_CHECKING:
    from layerlapse.draw.style import Style
    from layerlapse.web.gltf import AnimatedGlb


def figure(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    at: str = "output",
    sheet: bool = False,
    stages: list[str] | None = None,
    columns: int | None = None,
    size: tuple[int, int] | str | None = None,
    inches: tuple[float, float] | None = None,
    dpi: float = 300.0,
    supersample: int = 2,
    transparent: bool = False,
    style: Style | None = None,
    cards: bool = True,
    **options: Unpack[NetworkOptions],
) -> Path:
    """A publication still of one moment, or a contact sheet of several.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        ``.png``, or ``.pdf``/``.svg``/``.eps`` for single frames; default
        ``outputs/<scene>/<scene>-<at>.png`` or ``<scene>-sheet.png``.
    at
        ``'layer2.tanh:0.5'`` (a stage, optionally a fraction of it), ``'output'``, or a
        time such as ``'3.2s'``.
    sheet
        A contact sheet of ``stages`` (default: the input, then the end of each layer).
    stages, columns
        The sheet's panels and columns.
    size, inches, dpi
        Pixels (per panel for sheets), or inches at ``dpi``.
    supersample
        Render this many times larger and average down (1-8).
    transparent
        Transparent PNG background.
    style
        A Style; default: the scene file's, else the default.
    cards
        The movie's title and verdict cards: over a sheet's first panel (the input) and last
        (the output), and over a single figure ``at`` a time the movie shows one.
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    Path
        The file written.
    """
    from layerlapse.render.figure import figure_kind, save_contact_sheet, save_figure

    req = Request.of(scene, style, options)
    fsize = _figure_size(size, inches, dpi, sheet=sheet)
    if out is None:
        tag = "sheet" if sheet else re.sub(r"[^A-Za-z0-9.]+", "-", at).strip("-")
        out = req.default_out(f"-{tag}.png")
    out = output_path(out)
    figure_kind(out)
    fsize.check(supersample)
    req.check_moments((stages or []) if sheet else [at])
    req.check_look()
    check_output(out)
    prepared = req.prepare()
    from layerlapse.app.movie import cards_for
    from layerlapse.draw.words import card_timeline

    words = cards_for(prepared) if cards else None
    # the cards stand as long as in the movie, so ``--at 4s`` is the movie's frame at 4 s
    deformation = prepared.deform(timeline=card_timeline(prepared.preset.timeline, words))
    accuracy = prepared.accuracy
    if sheet:
        return save_contact_sheet(out, req.preset.scene, deformation, stages=stages, columns=columns, panel=fsize,
                                  supersample=supersample, transparent=transparent, style=req.style,
                                  accuracy=accuracy, cards=words)
    return save_figure(out, req.preset.scene, deformation, at=at, size=fsize, supersample=supersample,
                       transparent=transparent, style=req.style, accuracy=accuracy, title=prepared.title,
                       cards=words)



def _figure_size(size: tuple[int, int] | str | None, inches: tuple[float, float] | None, dpi: float, *,
                 sheet: bool) -> Any:
    """Pixels (per panel for sheets), or inches at ``dpi``; default 1600x1200 (sheets 800x600)."""
    from layerlapse.render.figure import FigureSize
    from layerlapse.render.movie import pixel_size

    if inches is not None:
        return FigureSize.inches(*inches, dpi)
    if size is not None:
        width, height = pixel_size(size)
        return FigureSize(width, height, dpi if dpi else 100.0)
    return FigureSize(800, 600, dpi) if sheet else FigureSize(1600, 1200, dpi)



def export_meshes(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    at: list[str] | tuple[str, ...] = ("input", "output"),
    style: Style | None = None,
    **options: Unpack[NetworkOptions],
) -> list[Path]:
    """The deformed meshes at each stage in ``at`` as PLY/OBJ/GLB, coloured by class.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        ``.ply``, ``.obj`` or ``.glb``; several stages add ``-STAGE`` to the name. Default
        ``outputs/<scene>/<scene>.glb``.
    at
        Stage names (``input``, ``layer1.tanh``, ``output``...).
    style
        For the class colours.
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    list of Path
        The files written.
    """
    from layerlapse.render.export import MESH_FORMATS, export_targets
    from layerlapse.render.export import export_meshes as write

    req = Request.of(scene, style, options)
    out = output_path(out) if out is not None else req.default_out(".glb")
    if out.suffix.lower() not in MESH_FORMATS:
        raise LayerlapseError(f"out: unknown mesh format {out.suffix or '(none)'!r} of {out.name!r}; allowed: {', '.join(MESH_FORMATS)}")
    req.check_moments(list(at))
    req.check_look()
    if not req.preset.scene.surfaces and not req.preset.scene.curves:  # a point cloud alone: no mesh to write
        raise LayerlapseError(f"scene: {req.name!r} has points only, no meshes or curves to export; render, figure "
                              "and web draw its points")
    for target in export_targets(out, list(at)):
        check_output(target)
    return write(out, req.preset.scene, req.prepare().deform(), at, style=req.style)


def export_animation(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    keyframes: int = 24,
    grid: bool = True,
    style: Style | None = None,
    cards: bool = True,
    **options: Unpack[NetworkOptions],
) -> AnimatedGlb:
    """The whole deformation as one animated ``.glb``: morph targets at the web page's keyframes,
    one animation over the movie's timeline, materials in the class colours.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        A ``.glb``; default ``outputs/<scene>/<scene>-animated.glb``.
    keyframes
        The most keyframe intervals per stage (1-256; fewer make a smaller file).
    grid
        The grid as a node of line segments, deformed with the data.
    style
        For the class colours.
    cards
        Time the animation as the movie with its title and verdict cards (their holds).
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    AnimatedGlb
        The file, its keyframes' frames and times, its mesh nodes and its size.

    Examples
    --------
    >>> made = ll.export_animation("linked-tori", "tori.glb")   # then File > Import > glTF in Blender
    """
    from layerlapse._extras import require
    from layerlapse.app.movie import cards_for
    from layerlapse.draw.words import card_timeline
    from layerlapse.web.gltf import write_animated_glb

    require("pygltflib", "export --animate: an animated glTF")  # before any work
    req = Request.of(scene, style, options)
    out = output_path(out) if out is not None else req.default_out("-animated.glb")
    if out.suffix.lower() != ".glb":
        raise LayerlapseError(f"out: an animated export is one .glb; {out.name!r} is not")
    if not (isinstance(keyframes, int) and 1 <= keyframes <= 256):
        raise LayerlapseError(f"keyframes: {keyframes!r} is out of range; allowed: 1 to 256 per stage")
    req.check_look()
    if not req.preset.scene.surfaces and not req.preset.scene.curves:
        raise LayerlapseError(f"scene: {req.name!r} has points only, no meshes or curves to export; render, figure "
                              "and web draw its points")
    check_output(out)
    prepared = req.prepare()
    words = cards_for(prepared) if cards else None
    deformation = prepared.deform(timeline=card_timeline(prepared.preset.timeline, words))
    return write_animated_glb(out, req.preset.scene, deformation, style=req.style, keyframes=keyframes, grid=grid)
