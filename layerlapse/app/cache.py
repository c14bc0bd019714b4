"""Where trained networks are cached: the user's cache folder, shared by every working folder.

``$LAYERLAPSE_CACHE`` if set, else the platform's user cache folder (platformdirs:
``~/.cache/layerlapse`` on Linux, ``~/Library/Caches/layerlapse`` on macOS). Networks go to
``networks/<scene>/network-<hash>.pt`` (with their numpy copy ``.pt.npz``) under it; the hash
names the scene's geometry, the architecture and the training, so a change trains afresh and
an unchanged request in any folder loads what was trained once. :func:`entries` and
:func:`clear` are ``layerlapse cache list`` and ``layerlapse cache clear``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from layerlapse.errors import LayerlapseError

#: the environment variable that moves the cache (tests, CI, a shared disk)
ENV = "LAYERLAPSE_CACHE"
NETWORKS = "networks"


def root() -> Path:
    """The cache folder (not created here)."""
    where = os.environ.get(ENV, "").strip()
    if where:
        return Path(where).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("layerlapse", appauthor=False)


def network_folder(scene: str) -> Path:
    """``<root>/networks/<scene>``: a scene's cached networks."""
    return root() / NETWORKS / scene


@dataclass(frozen=True)
class Entry:
    """One cached network: its scene, checkpoint and bytes on disk (the numpy copy included)."""

    scene: str
    path: Path
    size: int
    modified: float


def entries(scene: str | None = None) -> list[Entry]:
    """The cached networks (of ``scene`` only, if given), by scene then file name."""
    base = root() / NETWORKS
    if not base.is_dir():
        return []
    folders = [base / scene] if scene is not None else sorted(p for p in base.iterdir() if p.is_dir())
    found = []
    for folder in folders:
        for pt in sorted(folder.glob("network-*.pt")) if folder.is_dir() else []:
            sidecar = pt.with_name(pt.name + ".npz")
            size = pt.stat().st_size + (sidecar.stat().st_size if sidecar.is_file() else 0)
            found.append(Entry(folder.name, pt, size, pt.stat().st_mtime))
    return found


def clear(scene: str | None = None) -> list[Entry]:
    """Remove the cached networks (of ``scene`` only, if given) and their numpy copies; -> what
    was removed. Only ``network-*.pt`` files and their ``.npz`` are touched, never other files."""
    if scene is not None and (not scene or "/" in scene or "\\" in scene or scene in (".", "..")):
        raise LayerlapseError(f"scene: {scene!r} is not a scene name; see `layerlapse cache list`")
    removed = entries(scene)
    for entry in removed:
        for path in (entry.path.with_name(entry.path.name + ".npz"), entry.path):
            path.unlink(missing_ok=True)
        try:
            entry.path.parent.rmdir()  # only if nothing else is left in the scene's folder
        except OSError:
            pass
    return removed
