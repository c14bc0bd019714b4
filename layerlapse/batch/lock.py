"""``OUT/.lock``: one batch driver per output folder at a time.

Two drivers on one ``OUT`` would both run every job and append every record twice. The
driver holds an exclusive ``flock`` on ``OUT/.lock`` while it plans, runs and writes the
gallery. The kernel releases it when the process ends however it ends (a kill, a crash), so
a lock is never stale. The holder writes its pid, host and start time into it, which a
driver that finds the folder taken names in its one line, and removes the file as it
finishes; a driver that then holds the lock of a removed file lets go and locks the file
there now, so two drivers never hold two different files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layerlapse.errors import LayerlapseError

LOCK = ".lock"
#: the exit code of ``batch`` and ``reproduce`` when another driver holds ``OUT`` (BSD
#: sysexits' EX_TEMPFAIL: not bad input, and worth trying again later)
BUSY_EXIT = 75
#: the longest ``--wait``, in seconds (a day)
MAX_WAIT_S = 86_400.0
#: how often a waiting driver tries the lock again (seconds)
POLL_S = 0.25


class Busy(LayerlapseError):
    """Another batch driver holds ``OUT`` (the CLI exits :data:`BUSY_EXIT`)."""


def check_wait(wait: float) -> None:
    """One line if ``wait`` is not a number of seconds from 0 to :data:`MAX_WAIT_S`."""
    if math.isnan(wait):
        raise LayerlapseError(f"wait: nan is not a number; allowed: 0 to {MAX_WAIT_S:.0f} seconds")
    if not 0 <= wait <= MAX_WAIT_S:
        raise LayerlapseError(f"wait: {wait:g} is out of range; allowed: 0 to {MAX_WAIT_S:.0f} seconds")


@contextmanager
def locked(out: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold ``out``'s lock for the block; :class:`Busy` (one line naming the holder) if another
    process holds it for longer than ``wait`` seconds (0: do not wait). The lock file is
    removed when the block ends (a killed holder leaves it, unlocked: harmless)."""
    check_wait(wait)
    path = out / LOCK
    fd = _acquire(path, out, time.monotonic() + wait, wait)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(_holder()) + "\n").encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):  # removed while still held, so no one holds a file about to go
            path.unlink()
        os.close(fd)  # releases the lock


def _acquire(path: Path, out: Path, deadline: float, wait: float) -> int:
    """An open descriptor of ``path`` holding its exclusive lock, tried until ``deadline``."""
    while True:
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                waited = f"; waited {wait:g} s" if wait else ""
                message = (f"out: {str(out)!r} is in use by another batch ({holder(fd)}){waited}; let it finish, "
                           "or give another --out (batch --wait SECONDS waits for it)")
                os.close(fd)
                raise Busy(message) from None
        except OSError as exc:  # a file system without locks
            os.close(fd)
            raise LayerlapseError(f"out: cannot lock {str(path)!r} ({exc.strerror or exc}); two batches on one "
                                  "folder would run every job twice") from None
        else:
            if _still_there(fd, path):
                return fd
            os.close(fd)  # locked a file its holder removed on finishing: lock the one there now
            continue
        os.close(fd)
        time.sleep(POLL_S)


def _open(path: Path) -> int:
    try:
        # O_NOFOLLOW: a symlink planted as OUT/.lock must not make us create or write a file elsewhere
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise LayerlapseError(f"out: cannot open the lock file {str(path)!r} ({exc.strerror or exc}); it should "
                              "be a plain file layerlapse batch makes") from None


def _still_there(fd: int, path: Path) -> bool:
    """Whether ``fd`` is the file at ``path`` now (not one removed since it was opened)."""
    try:
        here, now = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (now.st_dev, now.st_ino)


def _holder() -> dict[str, object]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def holder(fd: int) -> str:
    """``pid 123 on HOST since 2026-12-02T00:50:01+0000``, from the lock file (best effort:
    the holder may not have written it yet)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        since = " ".join(str(info["since"]).split())[:40]  # a hand-edited file cannot break the line
        return f"pid {int(info['pid'])} on {str(info['host'])!r} since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its pid and host not yet written"
