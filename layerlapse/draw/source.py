"""What a frame source can show beyond moving points, asked in one place.

A :class:`~layerlapse.networks.deformation.FrameSource` is either a network's
:class:`~layerlapse.networks.deformation.Deformation` (its layers: stages and their boxes,
the ambient width, a projection, the misclassified samples, a k-NN head, the stretch) or a
motion without layers (the training clock's movie). Back-ends ask :func:`layers_of` once
instead of probing the source for each feature.
"""

from __future__ import annotations

from layerlapse.networks.deformation import Deformation, FrameSource


def layers_of(source: FrameSource) -> Deformation | None:
    """The network's layers behind ``source``, or None for a motion without layers."""
    return source if isinstance(source, Deformation) else None


def activation_box(layers: Deformation | None, stage: int, t: float, *,
                   output: bool) -> tuple[float, float, int, float] | None:
    """The box an animated stage squashes into, to show at ``stage`` (t in [0, 1]): (lo, hi,
    width, opacity), or None. It fades in during an activation stage and stays through the
    pause after it; at the output the decision takes its place."""
    if layers is None or not layers.stages or stage < 0 or output:
        return None
    st = layers.stages[stage]
    box = st.box
    return None if box is None else (box[0], box[1], st.n_out, float(min(1.0, 4.0 * t)))
