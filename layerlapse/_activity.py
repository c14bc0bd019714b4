"""What an interrupt stopped: the phase and the file, for the CLI's one line.

The CLI (and only the CLI, on the main thread) turns SIGINT and SIGTERM into
:class:`Interrupted`. On its way out the exception passes through the code it stopped;
the innermost :func:`doing` block (or a :func:`note` call) writes down what that was. No
module state: the record travels with the exception.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM. A KeyboardInterrupt, so every ``finally`` and context manager that
    cleans up after Ctrl-C cleans up after SIGTERM too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        #: what it stopped ("training", "rendering frames", "writing"), innermost first
        self.activity: str | None = None
        #: the file that was being written, if any (it was not: its temporary was removed)
        self.target: Path | None = None

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


def note(exc: BaseException, activity: str, target: Path | None = None) -> None:
    """Record on an interrupt what it stopped, unless code nearer to where it landed already did."""
    if isinstance(exc, Interrupted) and exc.activity is None:
        exc.activity = activity
        exc.target = target


@contextmanager
def doing(activity: str, target: Path | None = None) -> Iterator[None]:
    """Name what the block does, for an interrupt that lands in it (also a decorator)."""
    try:
        yield
    except Interrupted as exc:
        note(exc, activity, target)
        raise
