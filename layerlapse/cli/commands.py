"""The drawing commands: scenes, train, render, figure, export, show, web, inspect. Each
parses its options and calls one function of :mod:`layerlapse.app.api`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from layerlapse.cli.group import app
from layerlapse.cli.options import (
    PANEL_NETWORK,
    PANEL_OUTPUT,
    PANEL_SPLIT,
    PANEL_STYLE,
    PANEL_TIMELINE,
    BackgroundOpt,
    ColorByOpt,
    ColorsOpt,
    GridOpt,
    LabelsOpt,
    PreviewOpt,
    ProgressOpt,
    SceneArg,
    SetOpt,
    SizeOpt,
    accuracy_text,
    load,
    look_options,
    make_style,
    network_options,
    open_preview,
    parse_size,
    replaced,
    report,
    training_options,
    with_options,
)
from layerlapse.errors import LayerlapseError


@app.command("scenes")
def scenes_command() -> None:
    """List the scenes, one line each."""
    from layerlapse.app.presets import SCENES

    width = max(map(len, SCENES))
    for name in sorted(SCENES):
        typer.echo(f"{name:<{width}}  {SCENES[name].description}")


@app.command("train")
@with_options(fit=training_options)
def train_command(
    scene: SceneArg,
    fit: dict,
    checkpoint: Annotated[Path | None, typer.Option(help="where to save (default: the user cache, see `layerlapse cache list`)", rich_help_panel=PANEL_NETWORK)] = None,
    set_: SetOpt = None,
    labels: LabelsOpt = None,
    progress: ProgressOpt = True,
) -> None:
    """Train (or retrain) the scene's network and save a checkpoint."""
    from layerlapse.app import api

    preset = load(scene, set_, labels)
    net = api.get_network(preset, checkpoint=checkpoint, training=fit["training"],
                          network=fit["network_config"], retrain=True, progress=progress)
    typer.echo(f"{net.config.describe()} on {scene}: {accuracy_text(net, preset)}")


@app.command("render")
@with_options(net=network_options, look=look_options)
def render_command(
    scene: SceneArg,
    net: dict,
    look: dict,
    out: Annotated[str | None, typer.Option("--out", "-o", help="output: .mp4 (H.264), .webm (VP9), .gif, or a folder for PNG frames (default: outputs/SCENE/SCENE.mp4)", rich_help_panel=PANEL_OUTPUT, metavar="PATH")] = None,
    quality: Annotated[str, typer.Option("--quality", "-q", help="low (854x480, 15 fps), medium (1280x720, 30 fps) or high (1920x1080, 30 fps, SSAA); -q l, m or h for short", rich_help_panel=PANEL_OUTPUT, metavar="low|medium|high")] = "medium",
    size: SizeOpt = None,
    fps: Annotated[float | None, typer.Option(help="frames per second, overrides the quality's", rich_help_panel=PANEL_OUTPUT)] = None,
    seconds_per_stage: Annotated[float | None, typer.Option(help="seconds for each stage of each layer", rich_help_panel=PANEL_TIMELINE)] = None,
    linear_path: Annotated[str, typer.Option(help="path from I to W: polar (stays invertible) or straight", rich_help_panel=PANEL_TIMELINE, metavar="polar|straight")] = "polar",
    save_trajectory: Annotated[str | None, typer.Option(help="also write every frame's vertex positions to this .npz", rich_help_panel=PANEL_OUTPUT, metavar="PATH.npz")] = None,
    over: Annotated[str, typer.Option(help="the clock: depth (through the layers of a trained network) or training (the last representation as a network trains)", rich_help_panel=PANEL_TIMELINE, metavar="depth|training")] = "depth",
    seconds: Annotated[float, typer.Option(help="length of a --over training movie, in seconds", rich_help_panel=PANEL_TIMELINE)] = 12.0,
    anti_aliasing: Annotated[str | None, typer.Option(help="none, supersample (render 1.5x larger, scaled down by the encoder), fxaa or ssaa (default: the quality's)", rich_help_panel=PANEL_STYLE, metavar="none|supersample|fxaa|ssaa")] = None,
    orbit: Annotated[float | None, typer.Option(help="camera orbit speed in degrees per second (3D scenes; default 6)", rich_help_panel=PANEL_STYLE)] = None,
    cards: Annotated[bool, typer.Option("--cards/--no-cards", help="open with a title card (the question) and end with a verdict card", rich_help_panel=PANEL_STYLE)] = True,
    captions: Annotated[str, typer.Option(help="each stage's caption: burn (on the frames), file (MOVIE.vtt and MOVIE.srt beside the movie) or none", rich_help_panel=PANEL_STYLE, metavar="burn|file|none")] = "burn",
    workers: Annotated[int | None, typer.Option(help="split the movie across N local worker processes (Dask): each renders pieces of about 4 s, joined without re-encoding into the file one process makes (.mp4, .webm or PNG frames)", rich_help_panel=PANEL_SPLIT)] = None,
    scheduler: Annotated[str | None, typer.Option(help="split the movie across the workers of a running `dask scheduler` (tcp://HOST:PORT)", rich_help_panel=PANEL_SPLIT, metavar="tcp://HOST:PORT")] = None,
    retries: Annotated[int, typer.Option(help="with --workers: render a dead worker's frames again this many times", rich_help_panel=PANEL_SPLIT)] = 2,
    set_: SetOpt = None,
    labels: LabelsOpt = None,
    preview: PreviewOpt = False,
) -> None:
    """Render SCENE's deformation through every layer of a trained network to a movie."""
    from layerlapse.app import api

    writer = None
    if workers is not None or scheduler is not None:  # checked before the scene is even read
        from layerlapse.batch.split import SplitRender

        writer = SplitRender(workers=workers, scheduler=scheduler, retries=retries)
        writer.check(out)
    scene_obj = load(scene, set_, labels)
    result = api.render(
        scene_obj, out, quality=quality, size=parse_size(size), fps=fps, seconds_per_stage=seconds_per_stage,
        linear_path=linear_path, style=make_style(scene_obj, **look, orbit=orbit, anti_aliasing=anti_aliasing),
        save_trajectory=save_trajectory, over=over, seconds=seconds, cards=cards, captions=captions,
        movie_writer=writer, **net,
    )
    report(result, scene_obj)
    if preview:
        open_preview(result.path)


@app.command("figure")
@with_options(net=network_options, look=look_options)
def figure_command(
    scene: SceneArg,
    net: dict,
    look: dict,
    at: Annotated[str, typer.Option(help="moment: a stage (input, layer2.tanh, output, ...) with optional :FRACTION (layer2.tanh:0.5), or a time like 3.2s", rich_help_panel=PANEL_OUTPUT)] = "output",
    sheet: Annotated[bool, typer.Option(help="a contact sheet of several stages instead of one frame", rich_help_panel=PANEL_OUTPUT)] = False,
    stages: Annotated[str | None, typer.Option(help="sheet panels, comma-separated (default: input, then the end of each layer)", rich_help_panel=PANEL_OUTPUT)] = None,
    columns: Annotated[int | None, typer.Option(help="sheet columns (default: one row)", rich_help_panel=PANEL_OUTPUT)] = None,
    out: Annotated[str | None, typer.Option("--out", "-o", help=".png, or .pdf/.svg/.eps for single frames (default: outputs/SCENE/SCENE-AT.png)", rich_help_panel=PANEL_OUTPUT, metavar="PATH")] = None,
    size: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT in pixels (per panel for sheets; default 1600x1200, sheets 800x600)", rich_help_panel=PANEL_OUTPUT)] = None,
    inches: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT in inches, at --dpi (e.g. 6x4)", rich_help_panel=PANEL_OUTPUT, metavar="WxH")] = None,
    dpi: Annotated[float, typer.Option(help="dots per inch, for --inches and the PNG's metadata", rich_help_panel=PANEL_OUTPUT)] = 300.0,
    supersample: Annotated[int, typer.Option(help="render N times larger and average down (anti-aliasing), 1-8", rich_help_panel=PANEL_OUTPUT)] = 2,
    transparent: Annotated[bool, typer.Option(help="transparent PNG background", rich_help_panel=PANEL_OUTPUT)] = False,
    cards: Annotated[bool, typer.Option("--cards/--no-cards", help="the movie's title and verdict cards over a sheet's input and output panels", rich_help_panel=PANEL_STYLE)] = True,
    set_: SetOpt = None,
    labels: LabelsOpt = None,
    preview: PreviewOpt = False,
) -> None:
    """Publication stills: one moment of the timeline, or a contact sheet of stages."""
    from layerlapse.app import api

    inch_size = None
    if inches is not None:
        m = re.fullmatch(r"\s*([\d.]+)\s*[xX]\s*([\d.]+)\s*", inches)
        if not m:
            raise LayerlapseError(f"inches: {inches!r} is not WIDTHxHEIGHT (e.g. 6x4)")
        inch_size = (float(m.group(1)), float(m.group(2)))
    scene_obj = load(scene, set_, labels)
    path = api.figure(
        scene_obj, out, at=at, sheet=sheet,
        stages=[s.strip() for s in stages.split(",")] if stages else None, columns=columns,
        size=parse_size(size), inches=inch_size, dpi=dpi, supersample=supersample, transparent=transparent,
        style=make_style(scene_obj, **look), cards=cards, **net,
    )
    typer.echo(f"wrote {path}{replaced(path)}")
    if preview:
        open_preview(path)


@app.command("export")
@with_options(net=network_options)
def export_command(
    scene: SceneArg,
    net: dict,
    at: Annotated[str, typer.Option(help="stages to export, comma-separated (e.g. input,layer1.tanh,output)", rich_help_panel=PANEL_OUTPUT)] = "input,output",
    out: Annotated[str | None, typer.Option("--out", "-o", help=".ply, .obj or .glb; several stages add -STAGE to the name (default: outputs/SCENE/SCENE.glb)", rich_help_panel=PANEL_OUTPUT, metavar="PATH")] = None,
    colors: ColorsOpt = None,
    color_by: ColorByOpt = None,
    animate: Annotated[bool, typer.Option(help="one .glb whose meshes carry the whole deformation as morph targets, played by an animation over the movie's timeline (Blender, three.js); --at is not used", rich_help_panel=PANEL_OUTPUT)] = False,
    keyframes: Annotated[int, typer.Option(help="with --animate: the most keyframe intervals per stage (fewer: a smaller file)", rich_help_panel=PANEL_OUTPUT)] = 24,
    grid: Annotated[bool, typer.Option("--grid/--no-grid", help="with --animate: the grid as a node of line segments", rich_help_panel=PANEL_OUTPUT)] = True,
    set_: SetOpt = None,
    labels: LabelsOpt = None,
) -> None:
    """Export the deformed meshes at chosen stages (PLY/OBJ/GLB, coloured by class) for Blender or
    MeshLab, or with --animate the whole deformation as one animated .glb."""
    from layerlapse.app import api

    scene_obj = load(scene, set_, labels)
    style = make_style(scene_obj, None, None, colors, color_by=color_by)
    if animate:
        made = api.export_animation(scene_obj, out, keyframes=keyframes, grid=grid, style=style, **net)
        typer.echo(f"wrote {made.path} ({made.size / 1e6:.1f} MB, {len(made.frames)} keyframes over "
                   f"{float(made.times[-1]):.1f} s, meshes {', '.join(made.nodes)}{replaced(made.path, ', ')})")
        return
    paths = api.export_meshes(scene_obj, out, at=[s.strip() for s in at.split(",") if s.strip()], style=style, **net)
    for p in paths:
        typer.echo(f"wrote {p}{replaced(p)}")


@app.command("show")
@with_options(net=network_options, look=look_options)
def show_command(
    scene: SceneArg,
    net: dict,
    look: dict,
    size: SizeOpt = "1280x800",
    set_: SetOpt = None,
    labels: LabelsOpt = None,
) -> None:
    """Open an interactive window with a time slider over the whole deformation.

    Keys: Space play/pause, Left/Right previous/next stage, g grid, 1-9 classes,
    b decision boundary (with --boundary pulled-back: cycles both, plane only, none),
    f camera follows the data, r fit camera; the mouse orbits and zooms.
    """
    from layerlapse.app import api

    scene_obj = load(scene, set_, labels)
    api.show(scene_obj, size=parse_size(size), style=make_style(scene_obj, **look), **net)


@app.command("web")
@with_options(net=network_options)
def web_command(
    scene: SceneArg,
    net: dict,
    out: Annotated[str | None, typer.Option("--out", "-o", help="the .html page (default: outputs/SCENE/SCENE.html)", rich_help_panel=PANEL_OUTPUT, metavar="PATH")] = None,
    seconds_per_stage: Annotated[float | None, typer.Option(help="seconds for each stage of each layer", rich_help_panel=PANEL_TIMELINE)] = None,
    keyframes: Annotated[int | None, typer.Option(help="the most keyframe intervals per stage (default 24; each stage gets the fewest that keep the motion within 0.4% of the scene's size): fewer make a smaller page", rich_help_panel=PANEL_OUTPUT)] = None,
    background: BackgroundOpt = None,
    colors: ColorsOpt = None,
    color_by: ColorByOpt = None,
    camera: Annotated[str | None, typer.Option(help="the first view: iso (default), front or top (2-D scenes always look from the top)", rich_help_panel=PANEL_STYLE)] = None,
    grid: GridOpt = None,
    set_: SetOpt = None,
    labels: LabelsOpt = None,
    preview: PreviewOpt = False,
) -> None:
    """One self-contained HTML page (three.js inlined) that plays the deformation in any browser, offline.

    In the page: drag to orbit, wheel to zoom, Space play/pause, Left/Right previous/next
    stage, g grid, 1-9 classes, b boundary; PAGE.html#t=0.5 opens halfway (#t=3.2s at 3.2 s).
    """
    from layerlapse.app import api

    scene_obj = load(scene, set_, labels)
    style = make_style(scene_obj, camera=camera, background=background, colors=colors, grid=grid, color_by=color_by)
    result = api.web(scene_obj, out, seconds_per_stage=seconds_per_stage, style=style, keyframes=keyframes, **net)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"network {result.network.config.describe()}: {accuracy_text(result.network, scene_obj)}")
    typer.echo(f"wrote {result.path} ({result.size / 1e6:.1f} MB, {len(result.keyframes)} keyframes, "
               f"interpolation within {100 * result.error:.2f}% of the scene's size{replaced(result.path, ', ')})")
    if preview:
        open_preview(result.path)


@app.command("inspect")
@with_options(net=network_options)
def inspect_command(
    scene: SceneArg,
    net: dict,
    out: Annotated[str | None, typer.Option("--out", "-o", help="folder for certificate.csv, .json and .png (default: outputs/SCENE/inspect/)", rich_help_panel=PANEL_OUTPUT, metavar="PATH")] = None,
    every: Annotated[int | None, typer.Option(help="compute every K-th frame (each stage's first and last frame always; default: about 240 frames)", rich_help_panel=PANEL_OUTPUT)] = None,
    fps: Annotated[float, typer.Option(help="frames per second of the timeline (as the movie's)", rich_help_panel=PANEL_OUTPUT)] = 30.0,
    seconds_per_stage: Annotated[float | None, typer.Option(help="seconds for each stage of each layer", rich_help_panel=PANEL_TIMELINE)] = None,
    linear_path: Annotated[str, typer.Option(help="path from I to W: polar (stays invertible) or straight", rich_help_panel=PANEL_TIMELINE, metavar="polar|straight")] = "polar",
    set_: SetOpt = None,
    labels: LabelsOpt = None,
) -> None:
    """A certificate for every frame: det of the linear map, distance between the classes, linking number, Betti numbers per layer."""
    from layerlapse.app import api

    result = api.inspect(load(scene, set_, labels), out, every=every, fps=fps, seconds_per_stage=seconds_per_stage,
                         linear_path=linear_path, **net)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(result.summary)
    for path in result.paths:
        typer.echo(f"wrote {path}{replaced(path)}")
