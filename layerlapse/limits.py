"""Upper bounds on what a run may ask for, and why. Each keeps a run from hanging or from
allocating far more than a picture needs; each is checked where the value is validated
(before any work), and the error names the field, the value and the bound."""

from __future__ import annotations

#: seeds are unsigned 32-bit integers: numpy's and torch's generators take them all, while
#: torch overflows beyond 64 bits; a seed is a label, not a quantity, so 2**32 of them is plenty
SEED_MAX = 2**32 - 1

#: hidden layer width. Every vertex of every part is carried through every layer in every
#: frame: a frame costs (vertices x width^2) per layer and holds (vertices x width) floats
#: per frame of a batch, and a width-w linear stage is animated through a w x w polar
#: decomposition. Measured: a low-quality linked-tori movie at --hidden 256,256 renders in
#: 60 s (1.9 GB), against 7 s at its own width 3; at 3000 it would take hours and gigabytes,
#: and the picture (three directions of the layer) would show nothing more.
MAX_WIDTH = 256

#: training samples per class: they only drive training (the picture draws the meshes), and
#: an epoch costs about 8 µs per sample on two cores, so 100,000 per class is about
#: 1.5 s per epoch, 8 minutes for 300 epochs
MAX_SAMPLES_PER_CLASS = 100_000
#: the same for a user's mesh: a sample inside a mesh costs a ray test, about 0.4 ms on two
#: cores for a mesh of 1,500 triangles, so 20,000 per class is some 8 s of sampling per mesh
MAX_MESH_SAMPLES_PER_CLASS = 20_000

#: frames in one movie: 100,000 frames is 55 minutes at 30 fps, hours to render
MAX_FRAMES = 100_000

#: random points a rejection sampler may draw before it gives up: the region it samples is
#: then too small a part of its bounding box (a torus tube of radius 1e-9)
MAX_SAMPLING_DRAWS = 20_000_000

#: a run whose estimate exceeds this many seconds prints the estimate first (no question asked)
WARN_SECONDS = 180.0

#: why a bound exists, by field name: added to the error when a value passes it
REASONS = {
    "hidden": "every frame carries every vertex through each layer's width x width matrix: "
              f"wider than {MAX_WIDTH} takes hours and gigabytes to draw",
    "samples_per_class": "samples only drive training, whose epochs grow with them, and drawing them inside "
                         "a mesh takes a ray test each: more would take minutes before training starts",
    "seed": "seeds are unsigned 32-bit integers",
}

#: a trajectory file's positions (frames x points x 3 float32) are held in memory while written
MAX_TRAJECTORY_BYTES = 4e9
