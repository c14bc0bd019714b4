"""The ``layerlapse`` command: a thin layer over :mod:`layerlapse.api`."""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from layerlapse.errors import LayerlapseError


class Commands(TyperGroup):
    """The command group: a user error becomes one red line and exit code 2, wherever the
    app runs (the ``layerlapse`` script, ``python -m layerlapse`` or typer's CliRunner)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        """As typer's, but a usage error (an unknown option or command, a missing argument, a
        value of the wrong type) is one ``error:`` line naming the help to read, not a box."""
        from typer._click import exceptions as click_errors

        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
        except click_errors.NoArgsIsHelpError as exc:  # a bare command: its help, as before
            exc.show()
            code = exc.exit_code
        except click_errors.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "layerlapse"
            typer.secho(f"error: {' '.join(exc.format_message().split())} (see '{where} --help')", err=True,
                        fg=typer.colors.RED)
            code = exc.exit_code
        except click_errors.ClickException as exc:
            typer.secho(f"error: {' '.join(exc.format_message().split())}", err=True, fg=typer.colors.RED)
            code = exc.exit_code
        except typer.Abort:
            typer.secho("Aborted!", err=True)
            code = 1
        else:  # a command's normal end (None) or its Exit code
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        if not standalone_mode:
            return code
        sys.exit(code)

    def invoke(self, ctx: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = _notice  # restored when the command ends
            try:
                return super().invoke(ctx)
            except LayerlapseError as exc:
                typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
                raise typer.Exit(2) from None
            except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM; what it stopped cleaned up on its way here
                typer.secho(interrupt_line(exc, ctx.invoked_subcommand), err=True)
                raise typer.Exit(interrupt_code(exc)) from None


app = typer.Typer(
    cls=Commands,
    name="layerlapse",
    help="Watch a neural network's layers stretch and squish the manifolds its data lives on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Options shared by several commands: one definition each, gathered into groups below.
SceneArg = Annotated[str, typer.Argument(help="a scene name (see `layerlapse scenes`), a .toml scene file, or file.py[:NAME]")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="scene parameter KEY=VALUE (repeatable)")]
CheckpointOpt = Annotated[Path | None, typer.Option(help="network checkpoint: loaded if it exists, else trained and saved there")]
EpochsOpt = Annotated[int | None, typer.Option(help="training epochs (default: the scene's)")]
SeedOpt = Annotated[int | None, typer.Option(help="training seed")]
ProgressOpt = Annotated[bool, typer.Option(help="show progress bars")]
CameraOpt = Annotated[str | None, typer.Option(help="camera: a direction iso (default), front or top (2-D scenes always look from the top), and/or follow (refit every frame) or still (default: still within each layer), e.g. front,follow")]
GridOpt = Annotated[str | None, typer.Option(help="grid: full (2-D default), box (3-D default: the box's edges and a few faint lines) or none")]
BackgroundOpt = Annotated[str | None, typer.Option(help="white (papers; default), dark (talks) or any colour")]
ColorByOpt = Annotated[str | None, typer.Option(help="class (default: each class in its colour) or stretch (a heat map of how much the layers so far stretch space: area on surfaces, length on lines; log scale, 1 = unchanged)")]
BoundaryOpt = Annotated[str | None, typer.Option(help="plane (default: the decision boundary at the output) or pulled-back (the set where the logits tie, carried from the input through every stage)")]
HudOpt = Annotated[bool | None, typer.Option("--hud/--no-hud", help="a small readout of det W(t), the linking number and the accuracy")]
ColorsOpt = Annotated[str | None, typer.Option(help="class colours, comma-separated (default: Okabe-Ito, colour-blind safe)")]
SizeOpt = Annotated[str | None, typer.Option(help="WIDTHxHEIGHT in pixels")]
HiddenOpt = Annotated[str | None, typer.Option(help="hidden layer widths, e.g. 4,4 (or none: no hidden layer); default: the scene's")]
ActivationOpt = Annotated[str | None, typer.Option(help="tanh, sigmoid, softplus, relu, leaky_relu, elu, silu, gelu, gelu_tanh or identity, e.g. leaky_relu(0.2); one for all layers or one per layer, comma-separated (default: the scene's)")]
HeadOpt = Annotated[str | None, typer.Option(help="the classifier: linear (a hyperplane) or knn (a k-nearest-neighbour vote on the last representation)")]
KOpt = Annotated[int | None, typer.Option("--k", help="neighbours for --head knn")]
ModelOpt = Annotated[Path | None, typer.Option(help="your own trained model: a TorchScript file (torch.jit.save) of an nn.Sequential of Linear layers and element-wise activations")]
RetrainOpt = Annotated[bool, typer.Option(help="train even if a checkpoint exists")]


def parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    from layerlapse.render.movie import pixel_size

    return pixel_size(value)


def parse_params(items: list[str] | None) -> dict:
    """``["radius=0.2", "seed=3"]`` -> ``{"radius": 0.2, "seed": 3}`` (JSON values, else strings)."""
    params = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise LayerlapseError(f"set: {item!r} is not KEY=VALUE (e.g. --set seed=3)")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


CAMERA_WORDS = {"iso": ("camera", "iso"), "front": ("camera", "front"), "top": ("camera", "top"),
                "follow": ("framing", "follow"), "still": ("framing", "layer")}


def camera_overrides(value: str) -> dict:
    """``"front,follow"`` -> ``{"camera": "front", "framing": "follow"}``."""
    out: dict = {}
    for word in (w.strip().lower() for w in value.split(",") if w.strip()):
        if word not in CAMERA_WORDS:
            raise LayerlapseError(f"camera: unknown value {word!r}; allowed: {', '.join(CAMERA_WORDS)} "
                                  "(a direction and/or a framing, comma-separated)")
        key, setting = CAMERA_WORDS[word]
        if key in out and out[key] != setting:
            raise LayerlapseError(f"camera: {value!r} names two {'directions' if key == 'camera' else 'framings'}")
        out[key] = setting
    return out


def make_style(scene: Any, camera: str | None = None, background: str | None = None,
               colors: str | None = None, orbit: float | None = None, grid: str | None = None,
               anti_aliasing: str | None = None, color_by: str | None = None, boundary: str | None = None,
               hud: bool | None = None) -> Any:
    """The scene file's style (if any) with the command line's overrides on top."""
    from pydantic import ValidationError

    from layerlapse.draw.style import Style
    from layerlapse.scenes.registry import validation_message

    overrides: dict = dict(scene.style or {})
    background = background or overrides.get("background", "white")
    overrides.pop("background", None)  # the command line's wins
    if camera:
        overrides.update(camera_overrides(camera))
    if grid:
        overrides["grid"] = grid
    if anti_aliasing:
        overrides["anti_aliasing"] = anti_aliasing
    if colors:
        overrides["class_colors"] = tuple(c.strip() for c in colors.split(","))
    if orbit is not None:
        overrides["orbit_degrees_per_second"] = orbit
    for key, value in (("color_by", color_by), ("boundary", boundary), ("hud", hud)):
        if value is not None:
            overrides[key] = value
    try:
        return Style.themed(background, **overrides)
    except ValidationError as exc:
        raise LayerlapseError(validation_message("style", exc)) from None


def network_overrides(hidden: str | None, activation: str | None, head: str | None = None,
                      k: int | None = None) -> dict | None:
    out: dict = {}
    if hidden is not None:
        text = hidden.strip().lower()
        try:
            out["hidden"] = () if text in ("none", "") else tuple(int(w) for w in text.split(","))
        except ValueError:
            raise LayerlapseError(f"hidden: {hidden!r} is not a list of widths like 4,4 (or none)") from None
    if activation is not None:
        specs = [a.strip() for a in re.split(r",(?![^(]*\))", activation) if a.strip()]
        if len(specs) > 1:
            out["activations"] = tuple(specs)
        else:
            out["activation"] = activation.strip()
    if head is not None:
        out["head"] = head
    if k is not None:
        out["k"] = k
    return out or None


def training_overrides(epochs: int | None, seed: int | None) -> dict | None:
    training = {k: v for k, v in {"epochs": epochs, "seed": seed}.items() if v is not None}
    return training or None


def load(scene: str, set_: list[str] | None):
    from layerlapse.scenefile import resolve_scene

    return resolve_scene(scene, **parse_params(set_))


def accuracy_text(net) -> str:
    return "fixed weights, not trained" if net.accuracy is None else f"accuracy {100 * net.accuracy:.1f}%"


def fail(message: str) -> None:
    """Print one error line and exit 2 (outside typer's own error handling)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    sys.exit(2)


def _notice(message, category, filename, lineno, file=None, line=None) -> None:
    typer.secho(f"notice: {message}", err=True, fg=typer.colors.YELLOW)


@app.command("scenes")
def scenes_command() -> None:
    """List the scenes, one line each."""
    from layerlapse.presets import SCENES

    width = max(map(len, SCENES))
    for name in sorted(SCENES):
        typer.echo(f"{name:<{width}}  {SCENES[name].description}")


def training_options(
    epochs: EpochsOpt = None,
    seed: SeedOpt = None,
    hidden: HiddenOpt = None,
    activation: ActivationOpt = None,
    head: HeadOpt = None,
    k: KOpt = None,
) -> dict:
    """The network and training overrides: ``{"network_config": ..., "training": ...}``."""
    return {"network_config": network_overrides(hidden, activation, head, k),
            "training": training_overrides(epochs, seed)}


def look_options(
    camera: CameraOpt = None,
    grid: GridOpt = None,
    background: BackgroundOpt = None,
    colors: ColorsOpt = None,
    color_by: ColorByOpt = None,
    boundary: BoundaryOpt = None,
    hud: HudOpt = None,
) -> dict:
    """Style options every drawing command takes (combined with the scene file's style)."""
    return {"camera": camera, "grid": grid, "background": background, "colors": colors,
            "color_by": color_by, "boundary": boundary, "hud": hud}


def with_options(**groups: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the options of each group: ``@with_options(net=network_options)`` adds
    the group function's parameters to the command's signature (so typer shows them) and
    passes the group's result as the command's ``net`` argument."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        group_params = {name: list(inspect.signature(group, eval_str=True).parameters.values())
                        for name, group in groups.items()}
        params = [p for p in signature.parameters.values() if p.name not in groups]
        for extra in group_params.values():
            params += [p for p in extra if p.name not in {q.name for q in params}]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            for name, group in groups.items():
                kwargs[name] = group(**{p.name: kwargs[p.name] for p in group_params[name]})
            own = {p.name for p in signature.parameters.values()}
            return command(**{key: value for key, value in kwargs.items() if key in own})

        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper

    return decorate


@with_options(fit=training_options)
def network_options(
    fit: dict,
    checkpoint: CheckpointOpt = None,
    model: ModelOpt = None,
    retrain: RetrainOpt = False,
    progress: ProgressOpt = True,
) -> dict:
    """Where the network comes from (the training group, and a checkpoint or your own model):
    keywords for :class:`layerlapse.api.NetworkOptions`."""
    options: dict = {"progress": progress, "model": model, "checkpoint": checkpoint, **fit}
    if retrain:
        options["retrain"] = True
    return {key: value for key, value in options.items() if value is not None}


def report(result: Any) -> None:
    """Print a render's notes, network and output."""
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"network {result.network.config.describe()}: {accuracy_text(result.network)}")
    typer.echo(f"wrote {result.path} ({result.deformation.n_frames} frames{replaced(result.path, ', ')})")
    if result.trajectory is not None:
        typer.echo(f"wrote {result.trajectory}{replaced(result.trajectory)}")


def replaced(path: Any, sep: str = " (") -> str:
    """``" (replaced)"`` when writing ``path`` replaced an existing file, else nothing;
    ``sep=", "`` to join a parenthesis already open."""
    from layerlapse._files import was_replaced

    if not was_replaced(path):
        return ""
    return ", replaced" if sep == ", " else " (replaced)"


@app.command("train")
@with_options(fit=training_options)
def train_command(
    scene: SceneArg,
    fit: dict,
    checkpoint: Annotated[Path | None, typer.Option(help="where to save (default: outputs/SCENE/network-HASH.pt)")] = None,
    set_: SetOpt = None,
    progress: ProgressOpt = True,
) -> None:
    """Train (or retrain) the scene's network and save a checkpoint."""
    from layerlapse import api

    net = api.get_network(load(scene, set_), checkpoint=checkpoint, training=fit["training"],
                          network=fit["network_config"], retrain=True, progress=progress)
    typer.echo(f"{net.config.describe()} on {scene}: {accuracy_text(net)}")


@app.command("render")
@with_options(net=network_options, look=look_options)
def render_command(
    scene: SceneArg,
    net: dict,
    look: dict,
    out: Annotated[str | None, typer.Option("--out", "-o", help="output: .mp4 (H.264), .webm (VP9), .gif, or a folder for PNG frames (default: outputs/SCENE/SCENE.mp4)")] = None,
    quality: Annotated[str, typer.Option(help="low (854x480, 15 fps), medium (1280x720, 30 fps) or high (1920x1080, 30 fps, SSAA)")] = "medium",
    size: SizeOpt = None,
    fps: Annotated[float | None, typer.Option(help="frames per second, overrides the quality's")] = None,
    seconds_per_stage: Annotated[float | None, typer.Option(help="seconds for each stage of each layer")] = None,
    linear_path: Annotated[str, typer.Option(help="path from I to W: polar (stays invertible) or straight")] = "polar",
    save_trajectory: Annotated[str | None, typer.Option(help="also write every frame's vertex positions to this .npz")] = None,
    over: Annotated[str, typer.Option(help="the clock: depth (through the layers of a trained network) or training (the last representation as a network trains)")] = "depth",
    seconds: Annotated[float, typer.Option(help="length of a --over training movie, in seconds")] = 12.0,
    anti_aliasing: Annotated[str | None, typer.Option(help="none, supersample (render 1.5x larger, scaled down by the encoder), fxaa or ssaa (default: the quality's)")] = None,
    orbit: Annotated[float | None, typer.Option(help="camera orbit speed in degrees per second (3D scenes; default 6)")] = None,
    set_: SetOpt = None,
) -> None:
    """Render SCENE's deformation through every layer of a trained network to a movie."""
    from layerlapse import api

    scene_obj = load(scene, set_)
    result = api.render(
        scene_obj, out, quality=quality, size=parse_size(size), fps=fps, seconds_per_stage=seconds_per_stage,
        linear_path=linear_path, style=make_style(scene_obj, **look, orbit=orbit, anti_aliasing=anti_aliasing),
        save_trajectory=save_trajectory, over=over, seconds=seconds, **net,
    )
    report(result)


@app.command("figure")
@with_options(net=network_options, look=look_options)
def figure_command(
    scene: SceneArg,
    net: dict,
    look: dict,
    at: Annotated[str, typer.Option(help="moment: a stage (input, layer2.tanh, output, ...) with optional :FRACTION (layer2.tanh:0.5), or a time like 3.2s")] = "output",
    sheet: Annotated[bool, typer.Option(help="a contact sheet of several stages instead of one frame")] = False,
    stages: Annotated[str | None, typer.Option(help="sheet panels, comma-separated (default: input, then the end of each layer)")] = None,
    columns: Annotated[int | None, typer.Option(help="sheet columns (default: one row)")] = None,
    out: Annotated[str | None, typer.Option("--out", "-o", help=".png, or .pdf/.svg/.eps for single frames (default: outputs/SCENE/SCENE-AT.png)")] = None,
    size: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT in pixels (per panel for sheets; default 1600x1200, sheets 800x600)")] = None,
    inches: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT in inches, at --dpi (e.g. 6x4)")] = None,
    dpi: Annotated[float, typer.Option(help="dots per inch, for --inches and the PNG's metadata")] = 300.0,
    supersample: Annotated[int, typer.Option(help="render N times larger and average down (anti-aliasing), 1-8")] = 2,
    transparent: Annotated[bool, typer.Option(help="transparent PNG background")] = False,
    set_: SetOpt = None,
) -> None:
    """Publication stills: one moment of the timeline, or a contact sheet of stages."""
    from layerlapse import api

    inch_size = None
    if inches is not None:
        m = re.fullmatch(r"\s*([\d.]+)\s*[xX]\s*([\d.]+)\s*", inches)
        if not m:
            raise LayerlapseError(f"inches: {inches!r} is not WIDTHxHEIGHT (e.g. 6x4)")
        inch_size = (float(m.group(1)), float(m.group(2)))
    scene_obj = load(scene, set_)
    path = api.figure(
        scene_obj, out, at=at, sheet=sheet,
        stages=[s.strip() for s in stages.split(",")] if stages else None, columns=columns,
        size=parse_size(size), inches=inch_size, dpi=dpi, supersample=supersample, transparent=transparent,
        style=make_style(scene_obj, **look), **net,
    )
    typer.echo(f"wrote {path}{replaced(path)}")


@app.command("export")
@with_options(net=network_options)
def export_command(
    scene: SceneArg,
    net: dict,
    at: Annotated[str, typer.Option(help="stages to export, comma-separated (e.g. input,layer1.tanh,output)")] = "input,output",
    out: Annotated[str | None, typer.Option("--out", "-o", help=".ply, .obj or .glb; several stages add -STAGE to the name (default: outputs/SCENE/SCENE.glb)")] = None,
    colors: ColorsOpt = None,
    color_by: ColorByOpt = None,
    set_: SetOpt = None,
) -> None:
    """Export the deformed meshes at chosen stages (PLY/OBJ/GLB, coloured by class) for Blender or MeshLab."""
    from layerlapse import api

    scene_obj = load(scene, set_)
    paths = api.export_meshes(scene_obj, out, at=[s.strip() for s in at.split(",") if s.strip()],
                              style=make_style(scene_obj, None, None, colors, color_by=color_by), **net)
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
) -> None:
    """Open an interactive window with a time slider over the whole deformation.

    Keys: Space play/pause, Left/Right previous/next stage, g grid, 1-9 classes,
    b decision boundary (with --boundary pulled-back: cycles both, plane only, none),
    f camera follows the data, r fit camera; the mouse orbits and zooms.
    """
    from layerlapse import api

    scene_obj = load(scene, set_)
    api.show(scene_obj, size=parse_size(size), style=make_style(scene_obj, **look), **net)



@app.command("web")
@with_options(net=network_options)
def web_command(
    scene: SceneArg,
    net: dict,
    out: Annotated[str | None, typer.Option("--out", "-o", help="the .html page (default: outputs/SCENE/SCENE.html)")] = None,
    seconds_per_stage: Annotated[float | None, typer.Option(help="seconds for each stage of each layer")] = None,
    keyframes: Annotated[int | None, typer.Option(help="the most keyframe intervals per stage (default 24; each stage gets the fewest that keep the motion within 0.4% of the scene's size): fewer make a smaller page")] = None,
    background: BackgroundOpt = None,
    colors: ColorsOpt = None,
    color_by: ColorByOpt = None,
    camera: Annotated[str | None, typer.Option(help="the first view: iso (default), front or top (2-D scenes always look from the top)")] = None,
    grid: GridOpt = None,
    set_: SetOpt = None,
) -> None:
    """One self-contained HTML page (three.js inlined) that plays the deformation in any browser, offline.

    In the page: drag to orbit, wheel to zoom, Space play/pause, Left/Right previous/next
    stage, g grid, 1-9 classes, b boundary; PAGE.html#t=0.5 opens halfway (#t=3.2s at 3.2 s).
    """
    from layerlapse import api

    if keyframes is not None and not 1 <= keyframes <= 256:
        raise LayerlapseError(f"keyframes: {keyframes} is out of range; allowed: 1 to 256 per stage")
    scene_obj = load(scene, set_)
    style = make_style(scene_obj, camera=camera, background=background, colors=colors, grid=grid, color_by=color_by)
    result = api.web(scene_obj, out, seconds_per_stage=seconds_per_stage, style=style, keyframes=keyframes, **net)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"network {result.network.config.describe()}: {accuracy_text(result.network)}")
    typer.echo(f"wrote {result.path} ({result.size / 1e6:.1f} MB, {len(result.keyframes)} keyframes, "
               f"interpolation within {100 * result.error:.2f}% of the scene's size{replaced(result.path, ', ')})")


@app.command("inspect")
@with_options(net=network_options)
def inspect_command(
    scene: SceneArg,
    net: dict,
    out: Annotated[str | None, typer.Option("--out", "-o", help="folder for certificate.csv, .json and .png (default: outputs/SCENE/inspect/)")] = None,
    every: Annotated[int | None, typer.Option(help="compute every K-th frame (each stage's first and last frame always; default: about 240 frames)")] = None,
    fps: Annotated[float, typer.Option(help="frames per second of the timeline (as the movie's)")] = 30.0,
    seconds_per_stage: Annotated[float | None, typer.Option(help="seconds for each stage of each layer")] = None,
    linear_path: Annotated[str, typer.Option(help="path from I to W: polar (stays invertible) or straight")] = "polar",
    set_: SetOpt = None,
) -> None:
    """A certificate for every frame: det of the linear map, distance between the classes, linking number, Betti numbers per layer."""
    from layerlapse import api

    result = api.inspect(load(scene, set_), out, every=every, fps=fps, seconds_per_stage=seconds_per_stage,
                         linear_path=linear_path, **net)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(result.summary)
    for path in result.paths:
        typer.echo(f"wrote {path}{replaced(path)}")


@app.command("batch")
def batch_command(
    sweep: Annotated[Path, typer.Argument(help="a .toml sweep file: scenes, a [grid] of settings, what each job makes (see examples/small-sweep.toml)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for JOBID/..., manifest.jsonl and index.html")] = Path("outputs/batch"),
    scheduler: Annotated[str | None, typer.Option(help="tcp://HOST:PORT of a running `dask scheduler` (default: a local cluster)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes of the local cluster (default: min(cores, jobs))")] = None,
    retries: Annotated[int, typer.Option(help="run a job again this many times when its worker dies")] = 1,
    jobs_per_worker: Annotated[int | None, typer.Option(help="restart a worker (a fresh process) after this many jobs")] = None,
    force: Annotated[bool, typer.Option(help="run every job, even those the manifest says are done")] = False,
    dry_run: Annotated[bool, typer.Option(help="list the jobs (id, scene, settings, run or skip) and run nothing")] = False,
    wait_for_workers: Annotated[float, typer.Option(help="give up when the cluster has had no workers this many seconds")] = 120.0,
    job_timeout: Annotated[float | None, typer.Option(help="stop a job that runs longer than this many seconds (recorded as failed, its worker restarted)")] = None,
    progress: ProgressOpt = True,
) -> None:
    """Run a sweep of jobs (scenes x a grid of settings) on Dask; resumable, with a gallery."""
    from layerlapse.batch import batch, check_out, plan, unique_jobs
    from layerlapse.sweep import read_sweep

    if dry_run:
        jobs = read_sweep(sweep)
        todo, done = plan(jobs, check_out(out), force=force)
        ids = {job.id for job in todo}
        for job in unique_jobs(jobs):
            typer.echo(f"{job.id}  {'run ' if job.id in ids else 'skip'}  {job.describe()}")
        repeated = len(jobs) - len(todo) - len(done)
        typer.echo(f"{len(todo) + len(done)} jobs: {len(todo)} to run, {len(done)} done"
                   + (f" ({repeated} repeated in the sweep, listed once)" if repeated else ""))
        return
    result = batch(sweep, out, scheduler=scheduler, workers=workers, retries=retries,
                   jobs_per_worker=jobs_per_worker, force=force, progress=progress, wait_for_workers=wait_for_workers,
                   job_timeout=job_timeout)
    for what, error in result.failures[:FAILURES_SHOWN]:
        typer.secho(f"failed: {what}: {error}", err=True)
    if len(result.failures) > FAILURES_SHOWN:
        typer.secho(f"failed: {len(result.failures) - FAILURES_SHOWN} more; every error is in {result.manifest} "
                    f"and {result.gallery}", err=True)
    typer.echo(f"{result.done} done, {result.failed} failed, {result.skipped} skipped; "
               f"wrote {result.manifest} and {result.gallery}")
    if result.failed:
        raise typer.Exit(1)


#: how many failed jobs ``batch`` names on the terminal (all are in the manifest)
FAILURES_SHOWN = 5


@app.command("reproduce")
def reproduce_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for results.md, results.json, key frames, and the sweep's jobs, manifest and gallery")] = Path("outputs/reproduce"),
    seeds: Annotated[int, typer.Option(help="training seeds per network")] = 3,
    epochs: EpochsOpt = None,
    scheduler: Annotated[str | None, typer.Option(help="tcp://HOST:PORT of a running `dask scheduler` (default: a local cluster)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes of the local cluster (default: min(cores, jobs))")] = None,
    force: Annotated[bool, typer.Option(help="train every network again, even those a previous run finished")] = False,
    progress: ProgressOpt = True,
) -> None:
    """Train the networks the essay's claims are about (several seeds each, as a batch sweep) and write a table and key frames."""
    from layerlapse.reproduce import SWEEP, markdown, run

    results = run(out, seeds=seeds, epochs=epochs, scheduler=scheduler, workers=workers, force=force,
                  progress=progress)
    typer.echo(markdown(results, seeds))
    typer.echo(f"wrote {out / 'results.md'}, {out / 'results.json'} and {len(results)} key frames "
               f"(the sweep: {out / SWEEP}, its gallery: {out / 'index.html'})")


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one red line and exit code 2, never a traceback.
    ``argv``: the arguments (default: the process's), so tests can run it in-process.
    SIGTERM stops a command as Ctrl-C does: cleaned up, one line, exit 143 (Ctrl-C: 130)."""
    restore = raise_on_signals()
    try:
        app(args=argv, prog_name="layerlapse")
    except LayerlapseError as exc:
        fail(str(exc))
    except KeyboardInterrupt as exc:  # outside a command, e.g. while importing
        typer.secho(interrupt_line(exc, None), err=True)
        sys.exit(interrupt_code(exc))
    finally:
        restore()


def raise_on_signals() -> Callable[[], None]:
    """Make SIGINT and SIGTERM raise :class:`~layerlapse._activity.Interrupted` (a
    KeyboardInterrupt) on the main thread, so every ``finally`` runs for both; returns the
    undo. Signals that were ignored (``nohup``, ``&`` in a script) stay ignored."""
    import signal
    import threading

    from layerlapse._activity import Interrupted

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    before = {}
    for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(signum) is default:
            before[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, old in before.items():
            signal.signal(signum, old)

    return restore


def interrupt_code(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM (128 + the signal's number)."""
    from layerlapse._activity import Interrupted

    return exc.exit_code if isinstance(exc, Interrupted) else 130


def interrupt_line(exc: KeyboardInterrupt, command: str | None) -> str:
    """``interrupted: render stopped while rendering frames; no partial file was left (x.mp4 was not written)``."""
    import signal

    from layerlapse._activity import Interrupted

    activity, target, word = None, None, "interrupted"
    if isinstance(exc, Interrupted):
        activity, target = exc.activity, exc.target
        word = "terminated" if exc.signum == signal.SIGTERM else word
    stopped = f"{command or 'layerlapse'} stopped" + (f" while {activity}" if activity else "")
    return f"{word}: {stopped}; no partial file was left" + (f" ({target} was not written)" if target else "")
