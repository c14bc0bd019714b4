"""Deformed meshes for other tools: PLY, OBJ or GLB (trimesh), coloured by class.

Surfaces keep their triangles; curves become the same tubes the renderer draws. PLY
and OBJ hold one mesh with per-vertex colours; GLB holds one named object per part, so
each class stays a separate object in Blender.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from layerlapse._files import atomic_output, check_output
from layerlapse.draw.camera import CameraPath
from layerlapse.draw.colour import rgba
from layerlapse.draw.meshes import Tube
from layerlapse.draw.style import Style
from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import Deformation
from layerlapse.render.figure import parse_at
from layerlapse.scenes.base import Scene

MESH_FORMATS = (".ply", ".obj", ".glb")


def _rgba(colour: str) -> np.ndarray:
    return np.array(rgba(colour), dtype=np.uint8)


def _class_name(scene: Scene, label: int) -> str:
    return scene.class_names[label] if 0 <= label < len(scene.class_names) else "guide"


def deformed_parts(scene: Scene, deformation: Deformation, at: str, *, style: Style) -> list[tuple[str, trimesh.Trimesh]]:
    """(name, mesh) for every surface and curve of ``scene`` at moment ``at`` (see :func:`parse_at`)."""
    moment = parse_at(at, deformation.timeline)
    positions = deformation.display_at(moment.stage, moment.t)
    _, slices = scene.points()
    radius = style.tube_radius * float(CameraPath.still(positions, style=style, planar=deformation.planar, aspect=1.0).radius[0])
    parts = []
    for i, surface in enumerate(scene.surfaces):
        vertices, faces = positions[slices[i]], surface.faces
        parts.append((f"{_class_name(scene, surface.label)} surface {i + 1}", vertices, faces, surface.label))
    for j, curve in enumerate(scene.curves):
        tube = Tube(len(curve.points), closed=curve.closed)
        vertices, _ = tube(positions[slices[len(scene.surfaces) + j]], radius)
        parts.append((f"{_class_name(scene, curve.label)} curve {j + 1}", vertices, tube.faces, curve.label))
    heat = None
    if style.color_by == "stretch":  # each vertex in the heat map's colour at this moment
        from layerlapse.networks.stretch import Stretch
        from layerlapse.render.heat import colours

        stretch = Stretch(deformation, scene)
        limit = stretch.limits()
        heat = stretch.at(moment.stage, np.array([moment.t]))[0]
    out = []
    for k, (name, vertices, faces, label) in enumerate(parts):
        if heat is None:
            vertex_colours = np.broadcast_to(_rgba(style.colour(label)), (len(vertices), 4)).copy()
        else:
            part_heat = colours(heat[slices[k]], limit, style.colour(label))  # its class's ramp
            if k >= len(scene.surfaces):  # a tube: each ring takes its centre point's colour
                tube = Tube(len(part_heat), closed=scene.curves[k - len(scene.surfaces)].closed)
                ring = np.repeat(part_heat, tube.sides, axis=0)
                part_heat = ring if tube.closed else np.concatenate([ring, part_heat[[0, -1]]])
            vertex_colours = part_heat
        mesh = trimesh.Trimesh(vertices=np.asarray(vertices, dtype=np.float64), faces=faces, process=False,
                               vertex_colors=vertex_colours)
        out.append((name.replace(" ", "_"), mesh))
    return out


def export_targets(path: Path, at: list[str] | tuple[str, ...]) -> list[Path]:
    """The file each moment is written to: ``path`` for one, ``<stem>-<moment>.<ext>`` for several."""
    if len(at) == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{spec.replace(':', '_')}{path.suffix}") for spec in at]


def export_meshes(path: str | Path, scene: Scene, deformation: Deformation, at: list[str] | tuple[str, ...] = ("output",),
                  *, style: Style = Style()) -> list[Path]:
    """Write the deformed meshes at each moment in ``at``; returns the files written.

    One moment writes ``path``; several write ``<stem>-<moment>.<ext>`` beside it.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in MESH_FORMATS:
        raise LayerlapseError(f"out: unknown mesh format {ext or '(none)'!r} of {path.name!r}; allowed: {', '.join(MESH_FORMATS)}")
    if not at:
        raise LayerlapseError("at: give at least one stage")
    for spec in at:
        parse_at(spec, deformation.timeline)  # every name checked before anything is written
    targets = export_targets(path, at)
    for target in targets:
        check_output(target)
    written = []
    for spec, target in zip(at, targets):
        parts = deformed_parts(scene, deformation, spec, style=style)
        with atomic_output(target) as tmp:
            if ext == ".glb":
                trimesh.Scene({name: mesh for name, mesh in parts}).export(tmp, file_type="glb")
            else:
                trimesh.util.concatenate([m for _, m in parts]).export(tmp, file_type=ext[1:])
        written.append(target)
    return written
