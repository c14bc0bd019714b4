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
#: hidden layers of a network (a config's or an imported model's): each adds its stages (a
#: linear map, a shift, an activation) to every movie, about 2 s each at the default pace, and
#: a pass of every vertex through each to every frame: at 32 a movie already runs over three
#: minutes, and a reader can no longer follow which layer did what
MAX_HIDDEN_LAYERS = 32
#: classes of a network (a config's or an imported model's head) and of a user's data: each
#: class is drawn in a colour of its own and is a row of the legend; the colour-blind-safe
#: palette has ten colours, and past ten they are no longer told apart
MAX_CLASSES = 10
#: input coordinates of a user's data or model (the 8x8 digits are 64): every input coordinate
#: is carried through the first layer's n x n path and every frame's view is a 3 x n projection;
#: 1,024 is a 32x32 image
MAX_INPUT_DIM = 1024
#: points of a user's data (a point cloud, a data file): each is a vertex carried through every
#: layer in every frame (a frame costs points x width^2 per layer) and a training sample (about
#: 8 µs each an epoch on two cores); 10^5 points already make a frame cost as much as a
#: preset's whole mesh scene many times over, and a data file of them at 1,024 coordinates is 0.8 GB
MAX_POINTS = 100_000
#: bytes of a data file (.npz uncompressed, .csv, .npy): 10^5 points of 1,024 float64
#: coordinates are 0.8 GB, as CSV text some 2 GB; a larger file cannot hold data within the
#: bounds above, and reading it would take minutes and gigabytes before refusing it
MAX_DATA_FILE_BYTES = 2 * 1024**3
#: neighbours per vote of a k-NN head: every vertex of every frame looks up its k nearest
#: memory samples, and the soft loss weighs k neighbours of every sample of a batch (at most
#: 512); past 64 a vote averages a large part of the training set instead of a neighbourhood
MAX_K = 64

#: training epochs: each is a pass over the samples (about 8 µs a sample on two cores, see
#: MAX_SAMPLES_PER_CLASS), so 100,000 epochs of a preset's 2,000 samples take half an hour
MAX_EPOCHS = 100_000
#: training restarts: each trains the network again from another seed, so a run's training
#: time is restarts x epochs; 100 restarts of the default 300 epochs on 2,000 samples are some 8 minutes
MAX_RESTARTS = 100

#: a flow layer's vector field is evaluated six times a solver step on every vertex (25 to 60
#: steps over a scene at the default tolerances), each (vertices x width^2) per hidden layer of
#: the field: a field as wide as a hidden layer may be, and at most 4 layers deep
MAX_FLOW_WIDTH = MAX_WIDTH
MAX_FLOW_DEPTH = 4
#: the ODE solver's step bound (flow.max_steps) may be raised this far: a field that needs
#: more steps is too stiff to train or draw in reasonable time
MAX_FLOW_STEPS = 100_000

#: training samples per class: they only drive training (the picture draws the meshes), and
#: an epoch costs about 8 µs per sample on two cores, so 100,000 per class is about
#: 1.5 s per epoch, 8 minutes for 300 epochs
MAX_SAMPLES_PER_CLASS = 100_000
#: the same for a user's mesh: a sample inside a mesh costs a ray test, about 0.4 ms on two
#: cores for a mesh of 1,500 triangles, so 20,000 per class is some 8 s of sampling per mesh
MAX_MESH_SAMPLES_PER_CLASS = 20_000
#: the largest coordinate magnitude a mesh file may hold, in its own units (and a mesh's
#: offset in a scene file). Merging duplicate vertices (trimesh's ``merge_vertices``) rounds
#: coordinates to 1e-8 in 64-bit integers, which overflow past 9.2e10 and silently merge
#: distinct vertices; the network trains and VTK draws in float32, whose squares overflow past
#: 1.8e19 and whose largest value (3.4e38) a vertex at 3e38 all but reaches. 1e10 keeps clear
#: of all three, and of every real model: it is 10,000 km in millimetres.
MAX_MESH_COORDINATE = 1e10

#: frames in one movie: 100,000 frames is 55 minutes at 30 fps, hours to render
MAX_FRAMES = 100_000
#: seconds of one stage, pause or hold of a movie's timeline: ten minutes of one stage is a
#: slip (milliseconds meant?), not a pace anyone watches; the whole movie is held to MAX_FRAMES
MAX_STAGE_SECONDS = 600

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
    "points": "every point is carried through every layer in every frame and is a training sample: more take "
              "minutes a frame to draw and to train on; draw a random subset of points and their labels alike (keep = rng.choice(len(X), 100_000, "
              "replace=False); X[keep], y[keep])",
}

#: a trajectory file's positions (frames x points x 3 float32) are held in memory while written
MAX_TRAJECTORY_BYTES = 4e9
