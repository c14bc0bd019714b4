"""The flow stage: points follow a vector field, ``x' = v(x)``, from t = 0 to t = 1.

The essay ("Neural Networks, Manifolds, and Topology", last section) proposes layers that
move points along a vector field instead of ``sigma(W x + b)``; neural ODEs (Chen et al.
2018) made them trainable, and augmented neural ODEs (Dupont et al. 2019) showed that
appending zero coordinates lets a flow separate what it cannot separate in place.

A flow layer appends ``augment`` zeros to its input (``n_in`` -> ``dim = n_in + augment``)
and moves every point by the time-1 map of the autonomous field
``v(x) = W_D tanh(... tanh(W_0 x + b_0) ...) + b_D``. Its stage is the ODE solution itself:
the frame at local time t shows ``phi_t(x)``, so the animation *is* the layer. Every
``phi_t`` is a diffeomorphism isotopic to the identity (``injective`` is always True): a
flow in R^3 cannot unlink two linked tori, a flow in R^4 can.

The kind is a package:

* :mod:`.config`: :class:`FlowConfig`, the architecture and solver settings (part of
  ``NetworkConfig``).
* :mod:`.ode`: the field ``v`` and the numpy solver (dopri5) the stage draws with.
* :mod:`.layer`: :class:`FlowLayer`, the trained field as numpy arrays (a block of a
  network's hidden list), and :class:`FlowStage`, the animated stage (numpy only; defining
  it registers the kind).
* :mod:`.block`: :func:`flow_block`, the ``torch.nn.Module`` that trains (torchdiffeq's
  dopri5). Torch is imported only when it is called; drawing a loaded flow never imports torch.
"""

from layerlapse.networks.stages.flow.block import flow_block
from layerlapse.networks.stages.flow.config import PREFIX, FlowConfig
from layerlapse.networks.stages.flow.layer import FlowLayer, FlowStage
from layerlapse.networks.stages.flow.ode import velocity

__all__ = ["PREFIX", "FlowConfig", "FlowLayer", "FlowStage", "flow_block", "velocity"]
