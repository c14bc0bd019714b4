"""The options several commands share, each defined once and gathered into groups, and
the parsers that turn their strings into the API's values."""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from layerlapse.errors import LayerlapseError

# Options shared by several commands: one definition each, gathered into groups below.
#: the panels a command's --help groups its options in
PANEL_SCENE = "Scene"
PANEL_NETWORK = "Network"
PANEL_TRAINING = "Training"
PANEL_TIMELINE = "Timeline"
PANEL_STYLE = "Style"
PANEL_OUTPUT = "Output"
PANEL_SPLIT = "Split across workers"

SceneArg = Annotated[str, typer.Argument(help="a scene name (see `layerlapse scenes`), a .toml scene file, file.py[:NAME], or a data file (.npz, .csv, .npy with --labels)")]
LabelsOpt = Annotated[Path | None, typer.Option(help="the labels (.npy) of a SCENE that is a .npy of features", rich_help_panel=PANEL_SCENE)]


SetOpt = Annotated[list[str] | None, typer.Option("--set", help="scene parameter KEY=VALUE (repeatable)", rich_help_panel=PANEL_SCENE, metavar="KEY=VALUE")]
CheckpointOpt = Annotated[Path | None, typer.Option(help="network checkpoint: loaded if it exists, else trained and saved there", rich_help_panel=PANEL_NETWORK)]
EpochsOpt = Annotated[int | None, typer.Option(help="training epochs (default: the scene's)", rich_help_panel=PANEL_TRAINING)]
SeedOpt = Annotated[int | None, typer.Option(help="training seed", rich_help_panel=PANEL_TRAINING)]
ProgressOpt = Annotated[bool, typer.Option(help="show progress bars", rich_help_panel=PANEL_OUTPUT)]
CameraOpt = Annotated[str | None, typer.Option(help="camera: a direction iso (default), front or top (2-D scenes always look from the top), and/or follow (refit every frame) or still (default: still within each layer), e.g. front,follow", rich_help_panel=PANEL_STYLE, metavar="iso|front|top[,still|follow]")]
GridOpt = Annotated[str | None, typer.Option(help="grid: full (2-D default), box (3-D default: the box's edges and a few faint lines) or none", rich_help_panel=PANEL_STYLE, metavar="full|box|none")]
BackgroundOpt = Annotated[str | None, typer.Option(help="white (papers; default), dark (talks) or any colour", rich_help_panel=PANEL_STYLE, metavar="white|dark|COLOUR")]
ColorByOpt = Annotated[str | None, typer.Option(help="class (default: each class in its colour) or stretch (a heat map of how much the layers so far stretch space: area on surfaces, length on lines; log scale, 1 = unchanged)", rich_help_panel=PANEL_STYLE, metavar="class|stretch")]
BoundaryOpt = Annotated[str | None, typer.Option(help="plane (default: the decision boundary at the output) or pulled-back (the set where the logits tie, carried from the input through every stage)", rich_help_panel=PANEL_STYLE, metavar="plane|pulled-back")]
HudOpt = Annotated[bool | None, typer.Option("--hud/--no-hud", help="a small readout of det W(t), the linking number and the accuracy", rich_help_panel=PANEL_STYLE)]
ColorsOpt = Annotated[str | None, typer.Option(help="class colours, comma-separated (default: Okabe-Ito, colour-blind safe)", rich_help_panel=PANEL_STYLE, metavar="C1,C2,...")]
PreviewOpt = Annotated[bool, typer.Option("--preview", "-p", help="open the result in the system's viewer when done (where a display exists)", rich_help_panel=PANEL_OUTPUT)]
SizeOpt = Annotated[str | None, typer.Option(help="WIDTHxHEIGHT in pixels", rich_help_panel=PANEL_OUTPUT, metavar="WxH")]
HiddenOpt = Annotated[str | None, typer.Option(help="hidden layer widths, e.g. 4,4 (or none: no hidden layer); default: the scene's", rich_help_panel=PANEL_NETWORK, metavar="W1,W2,...")]
ActivationOpt = Annotated[str | None, typer.Option(help="tanh, sigmoid, softplus, relu, leaky_relu, elu, silu, gelu, gelu_tanh or identity, e.g. leaky_relu(0.2); one for all layers or one per layer, comma-separated (default: the scene's)", rich_help_panel=PANEL_NETWORK)]
HeadOpt = Annotated[str | None, typer.Option(help="the classifier: linear (a hyperplane) or knn (a k-nearest-neighbour vote on the last representation)", rich_help_panel=PANEL_NETWORK, metavar="linear|knn")]
KOpt = Annotated[int | None, typer.Option("--k", help="neighbours for --head knn", rich_help_panel=PANEL_NETWORK)]
ModelOpt = Annotated[Path | None, typer.Option(help="your own trained model, read without running anything in it: a TorchScript file (torch.jit.save) of an nn.Sequential of Linear layers and element-wise activations, or a state_dict (.pt) or .safetensors file of one with --arch and --activation", rich_help_panel=PANEL_NETWORK)]
ArchOpt = Annotated[str | None, typer.Option(help="with a state_dict or .safetensors --model: its layer widths, inputs to classes, e.g. 64-16-8-10 (--activation gives the hidden layers' activation)", rich_help_panel=PANEL_NETWORK, metavar="IN-W1-...-CLASSES")]
RestartsOpt = Annotated[int | None, typer.Option(help="train this many times from different seeds and keep the best (default: the scene's); training takes epochs x restarts", rich_help_panel=PANEL_TRAINING)]
RetrainOpt = Annotated[bool, typer.Option(help="train afresh (into the cache, or --checkpoint), even if a shipped or cached network exists", rich_help_panel=PANEL_NETWORK)]


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
    """The command line's look options, parsed, over the scene file's style (if any)."""
    from layerlapse.app.request import themed_style

    overrides: dict = {}
    if camera:
        overrides.update(camera_overrides(camera))
    if colors:
        overrides["class_colors"] = tuple(c.strip() for c in colors.split(","))
    if orbit is not None:
        overrides["orbit_degrees_per_second"] = orbit
    if grid:
        overrides["grid"] = grid
    if anti_aliasing:
        overrides["anti_aliasing"] = anti_aliasing
    for key, value in (("color_by", color_by), ("boundary", boundary), ("hud", hud)):
        if value is not None:
            overrides[key] = value
    return themed_style(scene, background, overrides)


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


def training_overrides(epochs: int | None, seed: int | None, restarts: int | None = None) -> dict | None:
    training = {k: v for k, v in {"epochs": epochs, "seed": seed, "restarts": restarts}.items() if v is not None}
    return training or None


def load(scene: str, set_: list[str] | None, labels: Path | None = None):
    from layerlapse.app.scenefile import resolve_scene

    return resolve_scene(scene, labels=labels, **parse_params(set_))


def accuracy_text(net, scene: Any = None) -> str:
    """``accuracy 92.4%``, and for a scene with held-out samples (the digits) the accuracy on
    them too: ``accuracy 100.0% on the training samples, 96.7% on 449 held out``."""
    if net.accuracy is None:
        return "fixed weights, not trained"
    from layerlapse.app.held_out import held_out_score

    held = held_out_score(scene, net) if scene is not None else None
    if held is None:
        return f"accuracy {100 * net.accuracy:.1f}%"
    return f"accuracy {100 * net.accuracy:.1f}% on the training samples, {100 * held.accuracy:.1f}% on {held.count:,} held out"


def training_options(
    epochs: EpochsOpt = None,
    restarts: RestartsOpt = None,
    seed: SeedOpt = None,
    hidden: HiddenOpt = None,
    activation: ActivationOpt = None,
    head: HeadOpt = None,
    k: KOpt = None,
) -> dict:
    """The network and training overrides: ``{"network_config": ..., "training": ...}``, and the
    ``activation`` text as given (a model file's tensors take it with --arch)."""
    return {"network_config": network_overrides(hidden, activation, head, k),
            "training": training_overrides(epochs, seed, restarts), "activation": activation}


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
    arch: ArchOpt = None,
    retrain: RetrainOpt = False,
    progress: ProgressOpt = True,
) -> dict:
    """Where the network comes from (the training group, and a checkpoint or your own model):
    keywords for :class:`layerlapse.app.api.NetworkOptions`. With --arch, --activation
    describes the model file's tensors instead of a network to train."""
    activation = fit.pop("activation")
    if arch is not None:
        config = {k: v for k, v in (fit["network_config"] or {}).items() if k not in ("activation", "activations")}
        fit = {**fit, "network_config": config or None}
    options: dict = {"progress": progress, "model": model, "checkpoint": checkpoint, **fit,
                     "arch": arch, "activation": activation if arch is not None else None}
    if retrain:
        options["retrain"] = True
    return {key: value for key, value in options.items() if value is not None}


def report(result: Any, scene: Any = None) -> None:
    """Print a render's notes, network (with ``scene``'s held-out accuracy, if any) and output."""
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"network {result.network.config.describe()}: {accuracy_text(result.network, scene)}")
    typer.echo(f"wrote {result.path} ({result.deformation.n_frames} frames{replaced(result.path, ', ')})")
    if result.trajectory is not None:
        typer.echo(f"wrote {result.trajectory}{replaced(result.trajectory)}")
    for path in getattr(result, "subtitles", ()):
        typer.echo(f"wrote {path}{replaced(path)}")


def replaced(path: Any, sep: str = " (") -> str:
    """``" (replaced)"`` when writing ``path`` replaced an existing file, else nothing;
    ``sep=", "`` to join a parenthesis already open."""
    from layerlapse._files import was_replaced

    if not was_replaced(path):
        return ""
    return ", replaced" if sep == ", " else " (replaced)"


def open_preview(path: Any) -> None:
    """Open ``path`` in the system's viewer (``xdg-open``, ``open``, the Windows shell), without
    waiting for it; without a display, one notice line says where the file is instead."""
    import os
    import shutil
    import subprocess
    import sys

    target = os.fspath(path)
    if sys.platform == "win32":
        os.startfile(target)  # type: ignore[attr-defined]
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    display = sys.platform == "darwin" or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if not display or shutil.which(opener) is None:
        why = "no display" if not display else f"no {opener}"
        typer.echo(f"notice: preview: {why} to open {target!r} with; it is written", err=True)
        return
    subprocess.Popen([opener, target], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
