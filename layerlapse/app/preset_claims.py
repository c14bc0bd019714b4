"""Each preset's claim (:class:`~layerlapse.app.claims.Claim`), from the essay.

"cannot": the narrow networks whose layers are homeomorphisms of the plane or of R^3 (the
disk in its annulus, the ball in its shell, the linked tori, a flow of R^3). "separates":
their twins with room to spare (a 3-unit lift, width 4, a flow in R^4) and the essay's
separable examples. "usually-not": possible, but training rarely finds it. ``grid-only``
has no data and no claim: its cards (:data:`NO_DATA_CARDS`) ask what the layer does and say
what its frames show. The shipped default network of every preset agrees with its claim
(``tools/ship_networks.py`` checks it, ``tests/test_shipped.py`` too).
"""

from __future__ import annotations

from layerlapse.app.claims import Claim

HOMEOMORPHISM_PLANE = "width-2 tanh layers are homeomorphisms of the plane, so the ring always encloses the disk"
TORI = "Can {net} unlink two linked tori?"
DISK = "Can {net} separate a disk from the ring around it?"
BALL = "Can {net} separate a ball from the shell around it?"

CLAIMS: dict[str, Claim] = {
    "two-curves": Claim("separates", "Can {net} make two curves in the square separable?",
                        "the layer bends the plane until a straight line runs between the curves"),
    "spirals": Claim("separates", "Can {net} separate two slightly entangled spirals?",
                     "the layers unwind the spirals until a straight line runs between them",
                     "the layers unwind the spirals but leave a few points crossed"),
    "spirals-tangled": Claim("usually-not", "Can {net} separate two tangled spirals?",
                             "narrow layers can in principle, but training rarely finds the way",
                             "the layers twist the spirals but leave them crossed"),
    "disk-annulus": Claim("cannot", DISK, HOMEOMORPHISM_PLANE,
                          "the network pinches the ring thin where the disk pushes through"),
    # "part in height", not "rises above": the sign of the lift is the training's choice
    "disk-annulus-lift": Claim("separates", DISK, "lifted into 3-D, the disk and the ring part in height and a "
                               "plane runs between them", "the lift leaves part of the ring level with the disk"),
    "line-segments": Claim("separates", "Can {net} cut the middle segment of a line from the two outer ones?",
                           "bent into a curve in the plane, the line's middle segment can be cut off by a straight line"),
    "linked-tori": Claim("cannot", TORI, "width-3 tanh layers are homeomorphisms of R^3, and a homeomorphism "
                         "cannot unlink them", "the network pulls one torus thin through the other"),
    "linked-tori-4d": Claim("separates", TORI, "in R^4 there is room to lift one torus free of the other",
                            "the network pulls one torus thin but leaves it linked"),
    # unlink: seeds 0-7 end between 83.5% and 95.9%, 800 epochs at 96.3%: never 100%
    "unlink": Claim("usually-not", "Can {net} pull a loop free of a curve spiralling twice around it?",
                    "they are not linked, so the layers could slide the spiral off the loop, but training "
                    "rarely finds the way", "the layers loosen the spiral but leave it around the loop"),
    # easy-way-out: seeds 0-17 end between 66% and 90.5%, deeper or longer training no higher
    "easy-way-out": Claim("usually-not", "Can {net} pull two tangled helices apart?",
                          "the helices are not linked, so they could be pulled apart, but training rarely finds "
                          "the way", "the layers stretch the tangle thin but leave part of it wound together"),
    "sphere-shell": Claim("cannot", BALL, "width-3 tanh layers are homeomorphisms of R^3, so the shell always "
                          "encloses the ball", "the network pinches the shell thin where the ball pushes through"),
    "sphere-shell-4d": Claim("separates", BALL, "in R^4 the ball can leave the shell through the fourth dimension",
                             "the network squeezes the shell but leaves the ball inside"),
    "trefoil": Claim("cannot", "Can {net} pull an unknotted ring off a trefoil knot it is linked with?",
                     "width-3 tanh layers are homeomorphisms of R^3, and a homeomorphism cannot unlink them",
                     "the network pulls the ring thin through the knot"),
    "linked-tori-flow": Claim("cannot", TORI, "a flow is a homeomorphism isotopic to the identity, and it cannot "
                              "unlink them", "the flow pulls one torus thin through the other"),
    "linked-tori-flow-4d": Claim("separates", TORI, "in R^4 the flow can carry one torus free through the "
                                 "fourth dimension", "the flow pulls one torus thin but leaves it linked"),
    # digits: the essay's manifold hypothesis on real images, judged on held-out images
    "digits": Claim("pulls-apart", "Can {net} pull ten handwritten digits apart?",
                    "each digit's images lie near a low-dimensional manifold of their own, which the layers "
                    "pull away from the others", "the layers pull most digits apart but leave some mixed"),
}

#: the title and verdict of the presets without data (and so without a claim or an accuracy)
NO_DATA_CARDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "grid-only": ("What does one tanh layer do to the plane's grid?",
                  ("It bends every line toward the box's edges, inside (-1, 1)^2.",
                   "W shears and turns the grid, b shifts it, tanh squashes it into the box.")),
}
