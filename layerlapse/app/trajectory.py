"""Export every frame's vertex positions for people who render elsewhere (Blender, matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from layerlapse._files import atomic_output, check_output, output_path
from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_TRAJECTORY_BYTES
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.knn import KnnHead
from layerlapse.scenes.base import Scene

FIELD = "save_trajectory"


def check_trajectory_path(path: str | Path) -> Path:
    """Before any work: ``path`` ends in ``.npz`` and can be written (see ``check_output``)."""
    path = output_path(path, FIELD)
    if path.suffix != ".npz":
        raise LayerlapseError(f"{FIELD}: {path.name!r} must end in .npz")
    check_output(path, FIELD)
    return path


def check_trajectory_size(n_frames: int, n_points: int) -> None:
    """Refuse a trajectory whose positions would not fit :data:`~layerlapse.limits.MAX_TRAJECTORY_BYTES`
    (they are held in memory, then written)."""
    size = n_frames * n_points * 3 * 4
    if size > MAX_TRAJECTORY_BYTES:
        raise LayerlapseError(
            f"{FIELD}: {n_frames:,} frames of {n_points:,} points would make a {size / 1e9:.1f} GB file, "
            f"more than {MAX_TRAJECTORY_BYTES / 1e9:.0f} GB; lower --seconds-per-stage or --fps, or the scene's resolution"
        )


def save_trajectory(path: str | Path, scene: Scene, deformation: Deformation, *, batch: int = 32) -> Path:
    """Write an ``.npz`` with the whole motion; see the README for its arrays.

    Parameters
    ----------
    path
        The ``.npz`` to write (atomically).
    scene
        The scene whose stacked points (``Scene.points``) were deformed.
    deformation
        Its motion (:func:`layerlapse.deform`).
    batch
        Frames computed at once.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    ``positions`` (F, V, 3) float32: every frame's display positions of the stacked
    points (``Scene.points``); ``frame_layer`` (F,), ``frame_stage`` (F,) index into
    ``stage_names`` and ``stage_kinds`` (``input``, ``linear``, ``translate``, ``activation``,
    ``flow``, ..., ``output``: each stage's kind), ``frame_t`` (F,); ``part_kind``/``part_start``/``part_stop``/
    ``part_label`` describe the stacked parts; ``faces_<i>`` the triangles of part i
    (indices local to the part); ``W<k>``, ``b<k>``, ``activation<k>`` for each hidden
    layer k = 1..L as animated (after any neuron swap), and ``W_head``, ``b_head`` (a k-NN
    head instead: ``knn_Z``, ``knn_labels``, ``knn_k``, the memory's final representations); a flow
    layer k has ``flow<k>.field.<j>.weight``/``.bias`` and ``activation<k>`` = ``flow``.
    """
    path = check_trajectory_path(path)
    check_trajectory_size(deformation.n_frames, deformation.n_points)
    tl = deformation.timeline
    positions = np.zeros((deformation.n_frames, deformation.n_points, 3), dtype=np.float32)
    for idx, pos in deformation.iter_display(batch):
        positions[idx] = pos
    arrays: dict[str, Any] = {
        "positions": positions,
        "frame_layer": tl.layer,
        "frame_stage": tl.name,
        "frame_t": tl.t.astype(np.float32),
        "stage_names": np.array(tl.stage_names),
        "stage_kinds": np.array(["input", *(st.kind for st in deformation.stages), "output"]),
        "fps": np.array(tl.fps),
        "class_names": np.array(scene.class_names),
        **_part_arrays(scene),
        **_network_arrays(deformation),
    }
    with atomic_output(path, FIELD) as tmp:  # a full disk: one line naming the file (WriteError)
        np.savez_compressed(tmp, **arrays)
    return path


def _part_arrays(scene: Scene) -> dict[str, np.ndarray]:
    """The stacked parts: their kinds, labels, point ranges, and each surface's faces."""
    arrays: dict[str, np.ndarray] = {}
    kinds, labels = [], []
    _, slices = scene.points()
    for i, (kind, _) in enumerate(scene.parts()):
        kinds.append(kind)
        if kind == "surface":
            surface = scene.surfaces[i]
            arrays[f"faces_{i}"] = surface.faces
            labels.append(surface.label)
        elif kind == "curve":
            labels.append(scene.curves[i - len(scene.surfaces)].label)
        elif kind == "cloud":
            labels.append(scene.clouds[i - len(scene.surfaces) - len(scene.curves)].label)
        else:
            labels.append(-1)
    arrays.update(
        part_kind=np.array(kinds), part_label=np.array(labels),
        part_start=np.array([s.start for s in slices]), part_stop=np.array([s.stop for s in slices]),
    )
    return arrays


def _network_arrays(deformation: Deformation) -> dict[str, np.ndarray]:
    """Each hidden layer as animated (a flow's field), and the head."""
    arrays: dict[str, np.ndarray] = {}
    for k, layer in enumerate(deformation.plan.hidden, start=1):
        if hasattr(layer, "export"):  # a flow: its field's arrays, see FlowLayer.export
            arrays.update(layer.export(k))
            continue
        arrays[f"W{k}"], arrays[f"b{k}"], arrays[f"activation{k}"] = layer.W, layer.b, np.array(layer.activation)
    head = deformation.plan.head
    if isinstance(head, KnnHead):  # the final representations it votes with
        arrays["knn_Z"], arrays["knn_labels"], arrays["knn_k"] = head.Z, head.labels, np.array(head.k)
    elif head is not None:
        arrays["W_head"], arrays["b_head"] = head.W, head.b
    return arrays
