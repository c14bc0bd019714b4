"""The trainable flow: a ``torch.nn.Module`` that integrates the field with torchdiffeq.

Torch and torchdiffeq are imported only when :func:`flow_block` is first called.
"""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING

from layerlapse.errors import LayerlapseError
from layerlapse.networks.stages.flow.config import FlowConfig
from layerlapse.networks.stages.flow.layer import FlowLayer

if TYPE_CHECKING:
    from torch import nn


def flow_block(config: FlowConfig, n_in: int) -> nn.Module:
    """The trainable flow: a ``torch.nn.Module`` (imports torch and torchdiffeq).

    Parameters
    ----------
    config
        Augmentation, field and solver settings.
    n_in
        The width of its input.

    Returns
    -------
    torch.nn.Module
        ``FlowBlock``: (N, n_in) -> (N, n_in + augment), the time-1 map of its field
        (``field.k`` the linear maps), trained by backpropagating through dopri5.
    """
    return _flow_block_class()(config, n_in)


@functools.cache
def _flow_block_class():
    """Define the torch module class (importing torch) on first use."""
    import torch
    import torchdiffeq
    from torch import nn

    class FlowBlock(nn.Module):
        """Append ``augment`` zeros, then flow along ``v`` from t = 0 to 1 (torchdiffeq, dopri5)."""

        def __init__(self, config: FlowConfig, n_in: int) -> None:
            super().__init__()
            self.config, self.n_in = config, n_in
            sizes = config.sizes(n_in)
            self.field = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))

        def velocity(self, t, x):
            """The autonomous field v(x) (``t`` is ignored)."""
            for lin in self.field[:-1]:
                x = torch.tanh(lin(x))
            return self.field[-1](x)

        def forward(self, x):
            """(N, n_in) -> (N, n_in + augment)."""
            c = self.config
            if c.augment:
                x = torch.cat([x, x.new_zeros(x.shape[0], c.augment)], dim=1)
            span = torch.tensor([0.0, 1.0], dtype=x.dtype, device=x.device)
            try:
                return torchdiffeq.odeint(self.velocity, x, span, method="dopri5", rtol=c.rtol, atol=c.atol,
                                          options={"max_num_steps": c.max_steps})[-1]
            except AssertionError as exc:  # torchdiffeq reports max_num_steps and dt underflow so
                raise LayerlapseError(f"flow: the ODE solver failed ({exc}); lower training.lr "
                                      "or raise flow.max_steps") from None

        def layer(self) -> FlowLayer:
            """The current field as a numpy :class:`FlowLayer`."""
            return FlowLayer.from_arrays(self.config, self.n_in, self.state_dict(), prefix="")

    FlowBlock.__module__ = __name__
    FlowBlock.__qualname__ = "FlowBlock"
    return FlowBlock


def __getattr__(name: str):
    if name == "FlowBlock":
        return _flow_block_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
