"""The command group: one red ``error:`` line and exit code 2 for a user error (74 for an
output the storage could not take), one line for an interrupt (Ctrl-C, SIGTERM), the
``layerlapse`` entry point."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from layerlapse.errors import LayerlapseError

#: bad input (typer's own code for a usage error too)
EXIT_BAD_INPUT = 2
#: an output could not be stored: a full disk, a quota, a failing or read-only-turned disk.
#: sysexits.h's EX_IOERR ("an error occurred while doing I/O on some file"): not 1 (a bug's
#: traceback, failed batch jobs), not 2 (the input was fine), not 128 + n (a signal), so a
#: script can tell "make room and run again" from "fix the command"
EXIT_WRITE = 74


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
        from layerlapse._files import forget_written

        forget_written()  # what this command completes, for the lines below
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = _notice  # restored when the command ends
            try:
                return super().invoke(ctx)
            except (LayerlapseError, OSError) as exc:  # an OSError only if the storage failed
                reported = error_report(exc)
                if reported is None:
                    raise
                typer.secho(reported[0], err=True, fg=typer.colors.RED)
                raise typer.Exit(reported[1]) from None
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


def _print_version(value: bool) -> None:
    if value:
        from layerlapse._version import __version__

        typer.echo(f"layerlapse {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Watch a neural network's layers stretch and squish the manifolds its data lives on."""


def fail(message: str) -> None:
    """Print one error line and exit 2 (outside typer's own error handling)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    sys.exit(EXIT_BAD_INPUT)


def error_report(exc: BaseException) -> tuple[str, int] | None:
    """(the ``error:`` line, the exit code) of a user error or of a failure of the storage
    (:data:`EXIT_WRITE`, the line saying which complete outputs were kept); None for
    anything else (a bug keeps its traceback)."""
    from layerlapse._files import STORAGE_ERRNOS, WriteError

    if isinstance(exc, OSError):
        if exc.errno not in STORAGE_ERRNOS:
            return None
        where = f"writing {str(exc.filename)!r}" if exc.filename is not None else "a write"  # file.write() names none
        return f"error: {where} failed ({exc.strerror or exc}){kept_clause()}", EXIT_WRITE
    if not isinstance(exc, LayerlapseError):
        return None
    # a LayerlapseError raised while handling a storage OSError (the manifest's append) is one too
    cause = exc.__context__
    if isinstance(exc, WriteError) or (isinstance(cause, OSError) and cause.errno in STORAGE_ERRNOS):
        return f"error: {exc}{kept_clause()}", EXIT_WRITE
    return f"error: {exc}", EXIT_BAD_INPUT


def kept_clause() -> str:
    """``"; x.mp4 was written complete and kept"``: the outputs this command completed, or ""."""
    from layerlapse._files import written

    done = written()
    done = [path for path in done if not (path.endswith(".npz") and path[:-4] in done)]  # a checkpoint's sidecar
    if not done:
        return ""
    names = ", ".join(done[:KEPT_SHOWN]) + (f" and {len(done) - KEPT_SHOWN} more" if len(done) > KEPT_SHOWN else "")
    return f"; {names} {'was' if len(done) == 1 else 'were'} written complete and kept"


def _was_written(path: Any) -> bool:
    import os

    from layerlapse._files import written

    return os.path.abspath(path) in {os.path.abspath(done) for done in written()}


#: how many complete outputs an error or interrupt line names
KEPT_SHOWN = 3


def _notice(message, category, filename, lineno, file=None, line=None) -> None:
    typer.secho(f"notice: {message}", err=True, fg=typer.colors.YELLOW)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one red line and exit code 2, never a traceback.
    SIGTERM stops a command as Ctrl-C does: cleaned up, one line, exit 143 (Ctrl-C: 130).

    ``argv``: the arguments, so tests can run it in-process (it then ends with
    ``SystemExit``). Without it this is the program, on the process's arguments, and it
    ends the process itself once the command is over (:func:`finish`)."""
    import atexit

    atexit.unregister(_skip_last_collection)  # once, however often tests call main()
    atexit.register(_skip_last_collection)
    restore = raise_on_signals()
    command = next((arg for arg in (sys.argv[1:] if argv is None else argv) if not arg.startswith("-")), None)
    try:
        code = app(args=argv, prog_name="layerlapse", standalone_mode=False)
    except LayerlapseError as exc:  # outside a command
        line, code = error_report(exc) or (f"error: {exc}", EXIT_BAD_INPUT)
        typer.secho(line, err=True, fg=typer.colors.RED)
    except KeyboardInterrupt as exc:  # outside a command, e.g. while importing
        typer.secho(interrupt_line(exc, command), err=True)
        code = interrupt_code(exc)
    except BaseException:
        restore()
        raise
    if argv is None:
        finish(code, command)
    restore()
    sys.exit(code)


def finish(code: int, command: str | None) -> NoReturn:
    """End the program once its command is over, without the interpreter's teardown.

    Freeing VTK's and torch's objects takes about 0.5 s after the last line, and Python puts
    the default signal handlers back during it, so a SIGTERM there killed the process
    without a word (exit 143) though every output was complete. So: from here a signal
    prints one line (what was written and kept) and exits 128 + n; the standard streams are
    flushed (a full disk under stdout is one line, exit 74), the ``atexit`` functions run
    (Dask's, multiprocessing's, logging's), and the process ends with ``os._exit``. While a
    thread that is not a daemon still runs, the usual exit (which waits for it) is taken.
    """
    import atexit
    import os
    import signal
    import threading

    def late(signum: int, frame: Any) -> None:
        word = "terminated" if signum == signal.SIGTERM else "interrupted"
        line = f"{word}: {command or 'layerlapse'} had ended; no partial file was left{kept_clause()}"
        try:
            os.write(2, (line + "\n").encode())
        finally:
            os._exit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is _raise_interrupted:
            signal.signal(signum, late)
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    code = _flush(code)
    atexit._run_exitfuncs()
    os._exit(_flush(code))


def _flush(code: int) -> int:
    """Flush stdout and stderr; a stdout that cannot take the last lines is one line on
    stderr and the exit code says why (74 for a full disk, 120 as Python's own exit)."""
    from layerlapse._files import STORAGE_ERRNOS

    try:
        sys.stdout.flush()
    except (OSError, ValueError) as exc:  # ValueError: closed
        typer.secho(f"error: standard output: {getattr(exc, 'strerror', None) or exc}", err=True, fg=typer.colors.RED)
        code = EXIT_WRITE if getattr(exc, "errno", None) in STORAGE_ERRNOS else 120
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code


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

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = {}
    for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(signum) is default:
            before[signum] = signal.signal(signum, _raise_interrupted)

    def restore() -> None:
        for signum, old in before.items():
            signal.signal(signum, old)

    return restore


def _raise_interrupted(signum: int, frame: Any) -> None:
    from layerlapse._activity import Interrupted

    raise Interrupted(signum)


def interrupt_code(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM (128 + the signal's number)."""
    from layerlapse._activity import Interrupted

    return exc.exit_code if isinstance(exc, Interrupted) else 130


def interrupt_line(exc: KeyboardInterrupt, command: str | None) -> str:
    """``interrupted: render stopped while rendering frames; no partial file was left (x.mp4 was not written)``;
    outputs completed before it are named as kept (``...; x.mp4 was written complete and kept``)."""
    import signal

    from layerlapse._activity import Interrupted

    activity, target, word = None, None, "interrupted"
    if isinstance(exc, Interrupted):
        activity, target = exc.activity, exc.target
        word = "terminated" if exc.signum == signal.SIGTERM else word
    stopped = f"{command or 'layerlapse'} stopped" + (f" while {activity}" if activity else "")
    if target is not None and _was_written(target):  # it landed just after the rename
        target = None
    return (f"{word}: {stopped}; no partial file was left" + (f" ({target} was not written)" if target else "")
            + kept_clause())
