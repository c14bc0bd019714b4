"""The ``layerlapse`` command: a thin layer over :mod:`layerlapse.api`."""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from layerlapse.errors import LayerlapseError

app = typer.Typer(
    name="layerlapse",
    help="Watch a neural network's layers stretch and squish the manifolds its data lives on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def parse_size(value: Optional[str]) -> Optional[tuple[int, int]]:
    if value is None:
        return None
    m = re.fullmatch(r"\s*(-?\d+)\s*[xX]\s*(-?\d+)\s*", value)
    if not m:
        raise LayerlapseError(f"size: {value!r} is not WIDTHxHEIGHT (e.g. 1280x720)")
    return int(m.group(1)), int(m.group(2))


def parse_params(items: Optional[list[str]]) -> dict:
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


def fail(message: str) -> None:
    """Print one error line and exit 2 (outside typer's own error handling)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    sys.exit(2)


def _notice(message, category, filename, lineno, file=None, line=None) -> None:
    typer.secho(f"notice: {message}", err=True, fg=typer.colors.YELLOW)


@app.command("scenes")
def scenes_command() -> None:
    """List the scenes, one line each."""
    from layerlapse.scenes import SCENES

    width = max(map(len, SCENES))
    for name in sorted(SCENES):
        typer.echo(f"{name:<{width}}  {SCENES[name].description}")


@app.command("train")
def train_command(
    scene: Annotated[str, typer.Argument(help="scene name (see `layerlapse scenes`)")],
    checkpoint: Annotated[Optional[Path], typer.Option(help="where to save (default: outputs/SCENE/network-HASH.pt)")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="training epochs (default: the scene's)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="training seed")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="scene parameter KEY=VALUE (repeatable)")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Train (or retrain) the scene's network and save a checkpoint."""
    from layerlapse import api

    training = {k: v for k, v in {"epochs": epochs, "seed": seed}.items() if v is not None}
    net = api.get_network(api.load_scene(scene, **parse_params(set_)), checkpoint=checkpoint, training=training, retrain=True, progress=progress)
    typer.echo(f"trained {net.config.describe()} on {scene}: accuracy {100 * net.accuracy:.1f}%")


@app.command("render")
def render_command(
    scene: Annotated[str, typer.Argument(help="scene name (see `layerlapse scenes`)")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="output file (default: outputs/SCENE/SCENE.mp4)")] = None,
    quality: Annotated[str, typer.Option(help="low (854x480, 15 fps), medium (1280x720, 30 fps) or high (1920x1080, 30 fps, SSAA)")] = "medium",
    size: Annotated[Optional[str], typer.Option(help="WIDTHxHEIGHT, overrides the quality's size")] = None,
    fps: Annotated[Optional[float], typer.Option(help="frames per second, overrides the quality's")] = None,
    seconds_per_stage: Annotated[Optional[float], typer.Option(help="seconds for each stage of each layer")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="network checkpoint: loaded if it exists, else trained and saved there")] = None,
    retrain: Annotated[bool, typer.Option(help="train even if a checkpoint exists")] = False,
    epochs: Annotated[Optional[int], typer.Option(help="training epochs (default: the scene's)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="training seed")] = None,
    linear_path: Annotated[str, typer.Option(help="path from I to W: polar (stays invertible) or straight")] = "polar",
    save_trajectory: Annotated[Optional[Path], typer.Option(help="also write every frame's vertex positions to this .npz")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="scene parameter KEY=VALUE (repeatable)")] = None,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Render SCENE's deformation through every layer of a trained network to a movie."""
    from layerlapse import api

    training = {k: v for k, v in {"epochs": epochs, "seed": seed}.items() if v is not None}
    result = api.render(
        api.load_scene(scene, **parse_params(set_)),
        out,
        quality=quality,
        size=parse_size(size),
        fps=fps,
        seconds_per_stage=seconds_per_stage,
        checkpoint=checkpoint,
        training=training or None,
        retrain=retrain,
        linear_path=linear_path,
        save_trajectory=save_trajectory,
        progress=progress,
    )
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"network {result.network.config.describe()}: accuracy {100 * result.network.accuracy:.1f}%")
    typer.echo(f"wrote {result.path} ({result.deformation.n_frames} frames)")
    if result.trajectory is not None:
        typer.echo(f"wrote {result.trajectory}")


def main() -> None:
    """Entry point: user errors become one red line and exit code 2, never a traceback."""
    warnings.showwarning = _notice
    try:
        app()
    except LayerlapseError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
