"""The ``layerlapse`` command: a thin layer over :mod:`layerlapse.app.api`.

``group`` holds the command group (one error line, exit codes, signals) and the entry point
:func:`main`; ``options`` the options shared by several commands and their parsers;
``commands`` the drawing commands; ``sweeps`` ``batch`` and ``reproduce``; ``cache`` the
network cache's ``list`` and ``clear``.
"""

from layerlapse.cli import cache, commands, sweeps  # noqa: F401  (registers the commands on app)
from layerlapse.cli.group import app, main
from layerlapse.cli.options import make_style

__all__ = ["app", "main", "make_style"]
