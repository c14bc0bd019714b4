"""Atomic output: write under a temporary name beside the target, rename when complete.

Temporaries are named ``.{stem}.layerlapse-{pid}-{random}.part{suffix}`` (:data:`TEMP_NAME`):
the writer's process id in the name lets a later run remove what a killed one left
(:func:`remove_stale_temporaries`), and the real extension comes last, so ffmpeg still
picks the container from it.

An output that cannot be stored (the disk is full, over quota, failing) is a
:class:`WriteError`, one line naming the file, whatever library was writing it: an
``OSError`` of :data:`STORAGE_ERRNOS`, any other error of a writer on a disk that is now
full (torch raises ``RuntimeError``), and a file that ends early (:data:`TRAILERS`: VTK's
GL2PS export ignores failed writes). The CLI exits 74 for it, not 2.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layerlapse._activity import note
from layerlapse.errors import LayerlapseError

#: the name of a temporary this tool writes; nothing else is ever removed as stale
TEMP_NAME = re.compile(r"\.(?P<stem>.*)\.layerlapse-(?P<pid>[1-9][0-9]{0,9})-[0-9a-f]{8}\.part(?P<suffix>\.[^.]+)?")
#: /proc's start times are rounded to whole seconds (boot time) and clock ticks: a file
#: counts as older than a process only if it is older by more than this
START_SLACK_S = 2.0
#: errno values that say the storage failed, not the request: full, over quota, a file too
#: large for the filesystem, the device failing
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
#: while writing (its folder was proven writable before any work), a filesystem that turned
#: read-only is a failure of the storage too: Linux remounts a failing disk read-only
WRITE_ERRNOS = STORAGE_ERRNOS | {errno.EROFS}
#: a disk with less free space than this (or than 1% of its size, if less) is full: a
#: writer that failed there filled it
FULL_BELOW = 1 << 20


class WriteError(LayerlapseError):
    """An output could not be stored: the disk is full, over quota, failing or went read-only.
    The message names the file and says that no partial file was left; the CLI exits 74
    (``EX_IOERR``), not 2: the input was fine, the storage was not."""


def write_error(path: Path, reason: str, field: str = "out", *, existed: bool = False) -> WriteError:
    """The one line of a failed write of ``path`` (its temporary is, or is about to be, removed)."""
    kept = f"; the existing {path.name} is unchanged" if existed else ""
    return WriteError(f"{field}: could not write {str(path)!r} ({reason}); no partial file was left{kept}")


def disk_full(folder: Path) -> bool:
    """Whether the filesystem of ``folder`` has (next to) no space left for this process."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # gone, or not POSIX
        return False
    if st.f_blocks == 0:  # a pseudo filesystem that reports no sizes
        return False
    free = st.f_bfree if os.geteuid() == 0 else st.f_bavail  # root may fill the reserved blocks
    return free * st.f_frsize < min(FULL_BELOW, st.f_blocks * st.f_frsize // 100)


def as_write_error(cause: BaseException | str, path: Path, field: str = "out", *,
                   existed: bool = False) -> WriteError | None:
    """``cause``, met while writing ``path``, as a :class:`WriteError` if it is a failure of
    the storage; else None (bad input, a bug, an interrupt: those keep their own kind).

    ``cause`` is an exception, or the words of a writer in another process (ffmpeg's
    stderr): a storage failure when they hold the system's text for one of
    :data:`WRITE_ERRNOS`, or when ``path``'s disk is now full.
    """
    if isinstance(cause, WriteError):
        return cause
    if isinstance(cause, OSError) and cause.errno in WRITE_ERRNOS:
        return write_error(path, cause.strerror or str(cause), field, existed=existed)
    if isinstance(cause, str):
        said = next((os.strerror(code) for code in sorted(WRITE_ERRNOS) if os.strerror(code) in cause), None)
        if said is not None:
            return write_error(path, said, field, existed=existed)
    elif not isinstance(cause, Exception) or isinstance(cause, LayerlapseError):
        return None
    if disk_full(path.parent):
        return write_error(path, os.strerror(errno.ENOSPC), field, existed=existed)
    return None


def temporary_sibling(path: Path, *, folder: bool = False, field: str = "out") -> Path:
    """An empty temporary file (``folder``: folder) beside ``path``, named by :data:`TEMP_NAME`.

    Starting to write into a folder first removes the temporaries that killed runs left
    there (:func:`remove_stale_temporaries`). A disk too full to hold even an empty file
    (no inodes left) is a :class:`WriteError`.
    """
    remove_stale_temporaries(path.parent)
    while True:
        tmp = path.parent / f".{path.stem}.layerlapse-{os.getpid()}-{secrets.token_hex(4)}.part{path.suffix}"
        try:
            if folder:
                os.mkdir(tmp, 0o700)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:  # 1 in 4 billion per live temporary: draw again
            continue
        except OSError as exc:
            failure = as_write_error(exc, path, field, existed=os.path.lexists(path))
            if failure is None:
                raise
            raise failure from exc
        return tmp


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporaries (:data:`TEMP_NAME`) in ``folder`` whose writer is gone; best effort.

    A temporary is stale when the process id in its name runs no process (or a zombie), or
    runs one that started after the file was last written (the id was reused). Other names,
    links, and temporaries of live writers are never touched. Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = TEMP_NAME.fullmatch(entry.name)
        if match is None:
            continue
        try:
            if entry.is_symlink() or not _writer_gone(int(match["pid"]), entry.stat(follow_symlinks=False).st_mtime):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _writer_gone(pid: int, written: float) -> bool:
    """Whether process ``pid`` cannot be the writer of a file last modified at ``written`` (epoch s)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return True
    except OSError:
        pass  # EPERM: it runs, as another user
    status = _process_status(pid)
    if status is None:  # runs, and nothing more is known (no /proc): keep its files
        return False
    state, started = status
    return state in "ZX" or written < started - START_SLACK_S


def _process_status(pid: int) -> tuple[str, float] | None:
    """(state letter, start time in epoch seconds) of a process, from Linux's /proc; else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": comm may hold spaces
        return fields[0], _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@functools.cache
def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise ValueError("/proc/stat has no btime")


def commit(tmp: Path, path: Path, field: str = "out") -> Path:
    """Give ``tmp`` the usual permissions (temporaries are made 0600) and rename it to ``path``.

    A failed rename (``path`` became a folder meanwhile, the disk went read-only) is one
    line naming the target (a :class:`WriteError` when the storage failed); the caller
    removes ``tmp``. An existing ``path`` that was replaced is remembered for
    :func:`was_replaced`, and every output for :func:`written`.
    """
    umask = os.umask(0)
    os.umask(umask)
    existed = os.path.lexists(path)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        kind = WriteError if exc.errno in WRITE_ERRNOS else LayerlapseError
        raise kind(f"{field}: could not move the finished output to {str(path)!r} "
                   f"({exc.strerror or exc}); nothing was written") from None
    if existed:
        remember_replaced(path)
    remember_written(path)
    return path


#: absolute paths of files that :func:`commit` replaced in this process (for "wrote ... (replaced)")
_REPLACED: set[str] = set()


def remember_replaced(path: str | Path) -> None:
    """Record that an output replaced an existing file (or PNG-frame folder) of that name."""
    _REPLACED.add(os.path.abspath(path))


def was_replaced(path: str | Path) -> bool:
    """Whether an output written in this process replaced an existing file of that name."""
    return os.path.abspath(path) in _REPLACED


#: the outputs completed (renamed into place) since :func:`forget_written`, as named, in order
_WRITTEN: dict[str, None] = {}


def remember_written(path: str | Path) -> None:
    """Record that an output (a file or a PNG-frame folder) is complete under its name."""
    _WRITTEN[os.fspath(path)] = None


def written() -> list[str]:
    """The outputs completed since :func:`forget_written` (what an error or an interrupt
    after them leaves in place), oldest first."""
    return list(_WRITTEN)


def forget_written() -> None:
    """Start a new command's list of :func:`written` outputs."""
    _WRITTEN.clear()


@contextmanager
def atomic_output(path: str | Path, field: str = "out") -> Iterator[Path]:
    """Yield a temporary path to write; it becomes ``path`` only if the block succeeds
    and the file is whole (:data:`TRAILERS`). A failed rename is one line naming ``field``;
    a failure of the storage, whoever wrote, is a :class:`WriteError` (:func:`as_write_error`).
    The temporary is removed in every case."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = os.path.lexists(path)
    tmp = temporary_sibling(path, field=field)
    try:
        yield tmp
        check_complete(tmp, path, field, existed=existed)
        commit(tmp, path, field)
    except Exception as exc:
        failure = as_write_error(exc, path, field, existed=existed)
        if failure is None or failure is exc:
            raise
        raise failure from exc
    except BaseException as exc:
        note(exc, "writing", path)
        raise
    finally:
        tmp.unlink(missing_ok=True)


#: extension -> the bytes a whole file of that kind ends with (within its last KiB), for the
#: writers that do not report a failed write: VTK's GL2PS export (PDF, EPS, SVG) leaves a
#: file cut short on a full disk and says nothing (an EPS ends its page with ``showpage``;
#: GL2PS adds ``%%EOF`` after it, matplotlib does not)
TRAILERS = {".pdf": b"%%EOF", ".eps": b"showpage", ".svg": b"</svg>"}


def check_complete(tmp: Path, path: Path, field: str = "out", *, existed: bool = False) -> None:
    """Refuse (:class:`WriteError`) a finished temporary ``tmp`` of ``path`` that ends early."""
    trailer = TRAILERS.get(path.suffix.lower())
    if trailer is None:
        return
    with open(tmp, "rb") as f:
        f.seek(max(0, os.fstat(f.fileno()).st_size - 1024))
        tail = f.read()
    if trailer not in tail:
        reason = os.strerror(errno.ENOSPC) if disk_full(path.parent) else \
            f"the file ends early, without {trailer.decode()!r}"
        raise write_error(path, reason, field, existed=existed)


def _zip(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def _text(head: bytes) -> bool:
    return b"\0" not in head


#: extension -> a test of a file's first bytes: is it a file of the kind this tool writes
#: there? An existing file that fails it is never replaced (it may be someone's data under
#: a wrong name); an empty file always may be.
SIGNATURES = {
    ".mp4": lambda head: head[4:8] == b"ftyp",
    ".webm": lambda head: head.startswith(b"\x1a\x45\xdf\xa3"),
    ".gif": lambda head: head.startswith((b"GIF87a", b"GIF89a")),
    ".png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    ".pdf": lambda head: head.startswith(b"%PDF"),
    ".svg": lambda head: _text(head) and b"<svg" in head,
    ".eps": lambda head: head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")),
    ".npz": _zip,
    ".pt": _zip,
    ".ply": lambda head: head.startswith(b"ply"),
    ".obj": _text,
    ".glb": lambda head: head.startswith(b"glTF"),
    ".json": _text,
    ".csv": _text,
    ".md": _text,
    ".vtt": lambda head: head.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT"),
    ".srt": _text,
    ".html": lambda head: b'<meta name="generator" content="layerlapse">' in head,
    ".htm": lambda head: b'<meta name="generator" content="layerlapse">' in head,
}


def check_output(path: str | Path, field: str = "out") -> bool:
    """Before any work: ``path`` can become a file this tool writes. Its folder is created and
    proven writable; a folder at ``path`` itself, or an existing file that is not of the kind
    its extension names (:data:`SIGNATURES`), is refused with one line naming ``field``.

    Returns whether an existing file will be replaced (users re-render; the CLI says so).
    """
    path = Path(path)
    if path.is_dir():
        raise LayerlapseError(f"{field}: {str(path)!r} is a folder; give a file path (or remove the folder)")
    check_folder_writable(path, field)
    if not path.exists():
        return False
    if not path.is_file():
        raise LayerlapseError(f"{field}: {str(path)!r} exists and is not a regular file; not replaced")
    check_replaceable(path, field)
    return True


def check_replaceable(path: Path, field: str = "out") -> None:
    """Refuse to replace an existing file that is not of the kind its extension names."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise LayerlapseError(f"{field}: cannot read the existing {str(path)!r} ({exc.strerror or exc})") from None
    test = SIGNATURES.get(path.suffix.lower())
    if head and test is not None and not test(head):
        raise LayerlapseError(f"{field}: {str(path)!r} exists and is not a {path.suffix.lower().lstrip('.').upper()} "
                              "file this tool wrote; not replaced (remove it or choose another name)")


def check_folder_writable(path: Path, field: str = "out") -> None:
    """Create ``path``'s folder and prove a file can be written there, before any work; and
    remove what killed runs left in it (:func:`remove_stale_temporaries`)."""
    folder = path.parent
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise LayerlapseError(f"{field}: cannot write to folder {str(folder)!r} ({str(blocker)!r} is a file)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # named like a temporary, so even a kill at this instant leaves nothing for good
        probe = folder / f".probe.layerlapse-{os.getpid()}-{secrets.token_hex(4)}.part"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as exc:  # a full disk is the storage's fault; a read-only or foreign folder, the choice's
        kind = WriteError if exc.errno in STORAGE_ERRNOS else LayerlapseError
        raise kind(f"{field}: cannot write to folder {str(folder)!r} ({exc.strerror or exc})") from None
    remove_stale_temporaries(folder)


def output_path(out: str | Path, field: str = "out", *, frames_folder: bool = False) -> Path:
    """``out`` as a Path, keeping what ``Path`` forgets: a trailing slash names a folder.

    ``frames_folder``: the output may be a folder (a movie's PNG frames, named without an
    extension). A slash after a name with an extension (``movie.mp4/``) is refused rather
    than read as a file (``Path`` drops the slash) or as an oddly named folder.
    """
    text = os.fspath(out)
    path = Path(text)
    if text.endswith(("/", os.sep)) and path.suffix:
        hint = ("drop the slash for a file, or name the folder of PNG frames without an extension"
                if frames_folder else "drop the slash: this output is a file")
        raise LayerlapseError(f"{field}: {text!r} ends in a slash, which names a folder, but {path.suffix!r} "
                              f"names a file; {hint}")
    if text.endswith(("/", os.sep)) and not frames_folder:
        raise LayerlapseError(f"{field}: {text!r} names a folder; this output is a file (give its name)")
    return path
