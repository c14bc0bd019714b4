"""Reading one mesh file of a scene file: a triangle mesh, or one line saying why not.

trimesh reads every format we take; what it cannot read it reports in its own words,
and a face that indexes past the vertices either stops its loader (OBJ: an ``IndexError``;
OFF: a ``ValueError``) or loads and breaks later (PLY, GLB). The loaders' failures are
explained here in the file's own numbering (line, face, index, vertex count); the faces
of a mesh that loaded are checked by :func:`layerlapse.scenes.meshes.check_mesh`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from layerlapse.errors import LayerlapseError


def read_mesh(file: Path, shown: str, field: str) -> Any:
    """The unprocessed ``trimesh.Trimesh`` in ``file`` (``shown``: its path as the user wrote
    it; ``field``: what to name in an error). Raises LayerlapseError on any failure."""
    import trimesh

    try:
        mesh = trimesh.load(file, force="mesh", process=False)  # unprocessed, so NaN rows survive to be refused
    except Exception as exc:  # trimesh raises many types for unreadable files
        fault = _face_fault(file) if isinstance(exc, (IndexError, ValueError)) else None
        if fault:
            raise LayerlapseError(f"{field} {shown!r}: {fault}") from None
        raise LayerlapseError(f"{field}: cannot read {shown!r} ({type(exc).__name__}: {exc})") from None
    if not isinstance(mesh, trimesh.Trimesh):
        raise LayerlapseError(f"{field}: {shown!r} holds no triangle mesh")
    if file.suffix.lower() == ".obj":  # trimesh reads index 0 as -1, the last vertex: a wrong triangle
        text = file.read_text(encoding="utf-8", errors="replace")
        fault = _obj_fault(text) if _OBJ_ZERO.search(text) else None
        if fault:
            raise LayerlapseError(f"{field} {shown!r}: {fault}")
    return mesh


#: a face line of an OBJ file with a vertex index 0 (OBJ counts from 1)
_OBJ_ZERO = re.compile(r"^[ \t]*f[ \t](?:[^\n]*?[ \t])?[+-]?0+(?=[/ \t\r]|$)", re.MULTILINE)


def _face_fault(file: Path) -> str | None:
    """The first face of a text OBJ or OFF file that indexes past its vertices, in the
    file's own numbering; None when there is none (or the file is not such text)."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    suffix = file.suffix.lower()
    return _obj_fault(text) if suffix == ".obj" else _off_fault(text) if suffix == ".off" else None


def _obj_fault(text: str) -> str | None:
    """OBJ counts vertices from 1 over the whole file; a negative index counts back from the
    last vertex read so far."""
    lines = [(number, line.split()) for number, line in enumerate(text.splitlines(), 1)]
    total = sum(1 for _, words in lines if words[:1] == ["v"])
    seen = 0
    for number, words in lines:
        if words[:1] == ["v"]:
            seen += 1
        elif words[:1] == ["f"]:
            for word in words[1:]:
                try:
                    index = int(word.split("/")[0])
                except ValueError:
                    return None  # not ours to parse: trimesh's own message stands
                face = f"line {number}: face {' '.join(words)!r} refers to vertex {index}"
                if index == 0:
                    return f"{face}, but OBJ counts vertices from 1"
                if index > total:
                    return f"{face}, but the file has {total} vertices (1 to {total})"
                if index < 0 and -index > seen:
                    return f"{face} ({-index} back), but only {seen} vertices come before it"
    return None


def _off_fault(text: str) -> str | None:
    """OFF: a header ``OFF``, the counts ``vertices faces edges``, one vertex a line, then
    one face a line (``n i1 .. in``, counting vertices from 0)."""
    lines = [(number, line.split("#")[0].split()) for number, line in enumerate(text.splitlines(), 1)]
    lines = [(number, words) for number, words in lines if words]
    if not lines or not lines[0][1][0].upper().endswith("OFF"):
        return None
    counts, rest = lines[0][1][1:], lines[1:]
    if not counts and rest:
        counts, rest = rest[0][1], rest[1:]
    try:
        vertices, faces = int(counts[0]), int(counts[1])
        for number, words in rest[vertices:vertices + faces]:
            for index in map(int, words[1:1 + int(words[0])]):
                if not 0 <= index < vertices:
                    return (f"line {number}: face {' '.join(words)!r} refers to vertex {index}, "
                            f"but the file has {vertices} vertices (0 to {vertices - 1})")
    except (ValueError, IndexError):
        return None
    return None
