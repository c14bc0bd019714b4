"""Regenerate the example meshes in examples/meshes/ (a torus and a torus knot tube that links it)."""

from pathlib import Path

import numpy as np
import trimesh

here = Path(__file__).parent / "meshes"
here.mkdir(exist_ok=True)
ring = trimesh.creation.torus(major_radius=1.0, minor_radius=0.3, major_sections=48, minor_sections=16)
ring.export(here / "ring.ply")
# a ring through the first one's hole, as an OBJ
other = trimesh.creation.torus(major_radius=1.0, minor_radius=0.3, major_sections=48, minor_sections=16)
other.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
other.apply_translation([1.0, 0.0, 0.0])
other.export(here / "link.obj")
