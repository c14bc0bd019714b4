"""``layerlapse cache``: the trained networks cached in the user's cache folder."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from layerlapse.cli.group import app

cache_app = typer.Typer(name="cache", help="The trained networks cached for reuse in every folder: list or clear them.",
                        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
app.add_typer(cache_app)

SceneArg = Annotated[str | None, typer.Argument(help="only this scene's networks (default: every scene's)",
                                                show_default=False)]


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


@cache_app.command("list")
def list_command(scene: SceneArg = None) -> None:
    """One line per cached network (scene, file, size, when it was trained), then the folder."""
    from layerlapse.app import cache

    found = cache.entries(scene)
    for entry in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.modified))
        typer.echo(f"{entry.scene:22s} {entry.path.name:28s} {_size(entry.size):>9s}  {when}")
    total = sum(e.size for e in found)
    typer.echo(f"{len(found)} network{'' if len(found) == 1 else 's'}, {_size(total)}, in {cache.root()}"
               " (LAYERLAPSE_CACHE moves it)")


@cache_app.command("clear")
def clear_command(scene: SceneArg = None) -> None:
    """Remove the cached networks (and their numpy copies); they are trained again when next
    needed. The networks shipped with layerlapse are not in the cache and stay."""
    from layerlapse.app import cache

    removed = cache.clear(scene)
    total = sum(e.size for e in removed)
    typer.echo(f"removed {len(removed)} network{'' if len(removed) == 1 else 's'} ({_size(total)}) from {cache.root()}")
