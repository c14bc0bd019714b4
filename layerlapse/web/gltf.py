"""One animated ``.glb`` for Blender and three.js: the deformation as morph targets.

Each class part (a surface, or a curve as the tube the movie draws) is one mesh node whose
base shape is the first keyframe and whose morph targets are the other keyframes (the same
keyframes as the web page: :func:`~layerlapse.web.data.select_keyframes`), as offsets from
the base, positions and normals. One animation plays them over the movie's timeline: at the
time of keyframe k the weights are 1 on target k and 0 elsewhere, and glTF's linear
interpolation of the weights between keyframes is the page's linear interpolation of the
positions. Each class has a material in its colour (``baseColorFactor``, linear RGB), so Blender
shows it coloured without wiring nodes. The grid is an optional node of line segments, deformed
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layerlapse._extras import require
from layerlapse._files import atomic_output
from layerlapse.draw.camera import CameraPath
from layerlapse.draw.colour import float_rgb
from layerlapse.draw.meshes import Tube, VertexNormals
from layerlapse.draw.style import Style
from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import Deformation
from layerlapse.scenes.base import Scene
from layerlapse.web import data as webdata

#: morph targets a mesh may carry (Blender's shape keys and three.js handle more, but files grow)
MAX_TARGETS = 512
#: a file larger than this warns and suggests fewer keyframes
WARN_BYTES = 200e6


@dataclass(frozen=True)
class AnimatedGlb:
    """What :func:`write_animated_glb` wrote: the file, its keyframes' timeline frames and
    times (s), the mesh nodes' names and the file's size."""

    path: Path
    frames: np.ndarray
    times: np.ndarray
    nodes: tuple[str, ...]
    size: int


def _linear(colour) -> list[float]:
    """sRGB in [0, 1] -> linear RGBA, as glTF's baseColorFactor wants."""
    c = np.asarray(float_rgb(colour), dtype=float)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return [*map(float, lin), 1.0]


class _Blob:
    """The binary chunk: buffer views and accessors appended as arrays arrive."""

    def __init__(self, gltf) -> None:
        self.gltf, self.data = gltf, bytearray()

    def accessor(self, array: np.ndarray, kind: str, *, target: int | None = None, bounds: bool = False) -> int:
        import pygltflib as g

        array = np.ascontiguousarray(array)
        component = {np.dtype(np.float32): g.FLOAT, np.dtype(np.uint32): g.UNSIGNED_INT}[array.dtype]
        while len(self.data) % 4:
            self.data.append(0)
        view = g.BufferView(buffer=0, byteOffset=len(self.data), byteLength=array.nbytes, target=target)
        self.data.extend(array.tobytes())
        self.gltf.bufferViews.append(view)
        count = array.shape[0] if kind != "SCALAR" or array.ndim > 0 else 1
        acc = g.Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=component, count=int(count), type=kind)
        if bounds:
            flat = array.reshape(count, -1)
            acc.min, acc.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1


def _parts(scene: Scene, keys: np.ndarray, radius: float, grid: bool):
    """(name, label, mode, faces or segments, vertices (K, n, 3), normals (K, n, 3) or None)."""
    _, slices = scene.points()
    names = scene.class_names
    out: list[tuple[str, int, int, np.ndarray, np.ndarray, np.ndarray | None]] = []
    for i, surface in enumerate(scene.surfaces):
        normals = VertexNormals(surface.faces, len(surface.vertices))
        verts = keys[:, slices[i]]
        label = f"{names[surface.label] if 0 <= surface.label < len(names) else 'guide'} surface {i + 1}"
        out.append((label, surface.label, 4, surface.faces, verts, np.stack([normals(v) for v in verts])))
    for j, curve in enumerate(scene.curves):
        tube = Tube(len(curve.points), closed=curve.closed)
        made = [tube(keys[k, slices[len(scene.surfaces) + j]], radius) for k in range(len(keys))]
        label = f"{names[curve.label] if 0 <= curve.label < len(names) else 'guide'} curve {j + 1}"
        out.append((label, curve.label, 4, tube.faces, np.stack([m[0] for m in made]), np.stack([m[1] for m in made])))
    if grid and scene.grid is not None:
        lines = scene.grid.lines
        n_lines, per_line = lines.shape[:2]
        start = slices[-1].start
        idx = np.arange(n_lines * per_line).reshape(n_lines, per_line)
        segments = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1)
        out.append(("grid", -1, 1, segments, keys[:, start:start + n_lines * per_line], None))
    return out


def write_animated_glb(path: str | Path, scene: Scene, deformation: Deformation, *, style: Style,
                       keyframes: int = webdata.DEFAULT_KEYFRAMES, grid: bool = True) -> AnimatedGlb:
    """Write the whole deformation of ``scene`` to one animated ``.glb`` at ``path`` (written to
    a temporary name, renamed when complete); ``keyframes``: the most keyframe intervals per
    stage (as the web page's); ``grid``: the grid as a node of line segments."""
    require("pygltflib", "export --animate: an animated glTF")
    import pygltflib as g

    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise LayerlapseError(f"out: an animated export is one .glb; {path.name!r} is not (use --animate with .glb)")
    if not scene.surfaces and not scene.curves:
        raise LayerlapseError(f"scene: {scene.name!r} has points only, no meshes or curves to animate")
    keys = webdata.select_keyframes(deformation, max_per_stage=keyframes)
    if len(keys.frames) - 1 > MAX_TARGETS:
        raise LayerlapseError(f"keyframes: {len(keys.frames)} keyframes would make {len(keys.frames) - 1} morph "
                              f"targets a mesh; allowed: at most {MAX_TARGETS} (lower --keyframes)")
    positions = keys.positions.astype(np.float32)
    if not np.isfinite(positions).all():
        raise LayerlapseError("export: the deformation has NaN or Inf positions; nothing was written")
    radius = style.tube_radius * float(CameraPath.still(positions[0, scene.framed_points()], style=style,
                                                        planar=deformation.planar, aspect=1.0).radius[0])
    times = (keys.frames / deformation.timeline.fps).astype(np.float32)
    K = len(keys.frames)

    gltf = g.GLTF2(asset=g.Asset(generator="layerlapse", version="2.0"), scene=0, scenes=[g.Scene(nodes=[])],
                   buffers=[], bufferViews=[], accessors=[], meshes=[], nodes=[], materials=[], animations=[])
    blob = _Blob(gltf)
    materials: dict[int, int] = {}

    def material(label: int) -> int:
        if label not in materials:
            colour = style.grid_color if label < 0 else style.colour(label)
            name = "grid" if label < 0 else (scene.class_names[label] if label < len(scene.class_names) else "guide")
            gltf.materials.append(g.Material(
                name=name, doubleSided=True,
                pbrMetallicRoughness=g.PbrMetallicRoughness(baseColorFactor=_linear(colour), metallicFactor=0.0,
                                                            roughnessFactor=0.6)))
            materials[label] = len(gltf.materials) - 1
        return materials[label]

    time_acc = blob.accessor(times, "SCALAR", bounds=True)
    # weights at keyframe k: one-hot on target k (keyframe k + 1 is target k; the base has none)
    weights = np.zeros((K, K - 1), dtype=np.float32)
    if K > 1:
        weights[np.arange(1, K), np.arange(K - 1)] = 1.0
    animation = g.Animation(name="deformation", channels=[], samplers=[])
    names = []
    for name, label, mode, cells, verts, normals in _parts(scene, positions, radius, grid):
        base = verts[0].astype(np.float32)
        attributes = g.Attributes(POSITION=blob.accessor(base, "VEC3", target=g.ARRAY_BUFFER, bounds=True))
        if normals is not None:
            attributes.NORMAL = blob.accessor(normals[0].astype(np.float32), "VEC3", target=g.ARRAY_BUFFER)
        targets = []
        for k in range(1, K):
            target = {"POSITION": blob.accessor((verts[k] - base).astype(np.float32), "VEC3", target=g.ARRAY_BUFFER,
                                                bounds=True)}
            if normals is not None:
                target["NORMAL"] = blob.accessor((normals[k] - normals[0]).astype(np.float32), "VEC3",
                                                 target=g.ARRAY_BUFFER)
            targets.append(target)
        indices = blob.accessor(np.asarray(cells, dtype=np.uint32).ravel(), "SCALAR", target=g.ELEMENT_ARRAY_BUFFER)
        primitive = g.Primitive(attributes=attributes, indices=indices, mode=mode, material=material(label),
                                targets=targets or None)
        gltf.meshes.append(g.Mesh(name=name, primitives=[primitive], weights=[0.0] * (K - 1) if K > 1 else None))
        node_name = name.replace(" ", "_")
        gltf.nodes.append(g.Node(name=node_name, mesh=len(gltf.meshes) - 1))
        gltf.scenes[0].nodes.append(len(gltf.nodes) - 1)
        names.append(node_name)
        if K > 1:
            output = blob.accessor(weights.ravel(), "SCALAR")
            animation.samplers.append(g.AnimationSampler(input=time_acc, output=output, interpolation="LINEAR"))
            animation.channels.append(g.AnimationChannel(sampler=len(animation.samplers) - 1,
                                                         target=g.AnimationChannelTarget(node=len(gltf.nodes) - 1,
                                                                                         path="weights")))
    if K > 1:
        gltf.animations.append(animation)
    gltf.buffers.append(g.Buffer(byteLength=len(blob.data)))
    gltf.set_binary_blob(bytes(blob.data))
    size = len(blob.data)
    if size > WARN_BYTES:
        import warnings

        warnings.warn(f"out: the animated .glb is {size / 1e6:.0f} MB ({K} keyframes); lower --keyframes for a "
                      "smaller file", stacklevel=2)
    with atomic_output(path) as tmp:
        gltf.save_binary(str(tmp))
    return AnimatedGlb(path, keys.frames, times, tuple(names), Path(path).stat().st_size)
