"""The command group: one red ``error:`` line and exit code 2 for a user error, one line
for an interrupt (Ctrl-C, SIGTERM), the ``layerlapse`` entry point."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

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


def fail(message: str) -> None:
    """Print one error line and exit 2 (outside typer's own error handling)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    sys.exit(2)


def _notice(message, category, filename, lineno, file=None, line=None) -> None:
    typer.secho(f"notice: {message}", err=True, fg=typer.colors.YELLOW)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one red line and exit code 2, never a traceback.
    ``argv``: the arguments (default: the process's), so tests can run it in-process.
    SIGTERM stops a command as Ctrl-C does: cleaned up, one line, exit 143 (Ctrl-C: 130)."""
    import atexit

    atexit.unregister(_skip_last_collection)  # once, however often tests call main()
    atexit.register(_skip_last_collection)
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


def _skip_last_collection() -> None:
    """Freeze the heap at exit, so the interpreter's last garbage collection has nothing to walk:
    with torch, VTK and pydantic loaded that walk took 2 s on a busy 2-core machine, after the
    command had finished and printed its last line (an interrupted ``show`` seemed to hang).
    Registered as the command starts, so the exit hooks of what it loads (Dask, torch) run first."""
    import gc

    gc.freeze()


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
