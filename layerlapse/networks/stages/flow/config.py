"""The flow layer's settings: its field's architecture and its solver's tolerances."""

from __future__ import annotations

import itertools

from pydantic import BaseModel, ConfigDict, Field

from layerlapse.limits import MAX_FLOW_DEPTH, MAX_FLOW_STEPS, MAX_FLOW_WIDTH

#: the state_dict prefix of a network's flow block (``flow.field.0.weight``, ...)
PREFIX = "flow."


class FlowConfig(BaseModel):
    """A flow layer: ``augment`` zeros appended, then the time-1 map of a tanh MLP field.

    Tolerances. ``rtol=1e-5``, ``atol=1e-6`` keep every point within about 1e-5 of the
    exact flow for data of unit size: far below a pixel of any frame, and close enough
    that the solver used for training (torchdiffeq, RMS error norm) and the one used for
    drawing (numpy, max norm) send the same points to the same side of the boundary. The
    presets' trained fields take 25 to 60 steps over all of a scene's vertices at these
    settings (torchdiffeq's RMS norm takes 15 to 25 on a batch); dopri5's steps grow as
    ``tol^(-1/5)``, so each tenfold tightening costs about 1.6x the steps, in every training
    step too. ``max_steps`` bounds both solvers so that a stiff field fails with a message
    instead of hanging.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    augment: int = Field(0, ge=0, le=3, description="zeros appended: the flow runs in R^(input + augment)")
    width: int = Field(32, ge=4, le=MAX_FLOW_WIDTH, description="hidden width of the vector field's MLP")
    depth: int = Field(2, ge=1, le=MAX_FLOW_DEPTH, description="hidden tanh layers of the vector field's MLP")
    rtol: float = Field(1e-5, ge=1e-12, le=1e-2, description="relative tolerance of the ODE solver")
    atol: float = Field(1e-6, ge=1e-12, le=1e-2, description="absolute tolerance of the ODE solver")
    max_steps: int = Field(1000, ge=10, le=MAX_FLOW_STEPS, description="the solver gives up after this many steps")

    def dim(self, n_in: int) -> int:
        """The width the flow runs in: ``n_in + augment``."""
        return n_in + self.augment

    def sizes(self, n_in: int) -> tuple[int, ...]:
        """Widths through the field's MLP: ``(dim, width, ..., width, dim)``."""
        dim = self.dim(n_in)
        return (dim, *(self.width,) * self.depth, dim)

    def parameter_shapes(self, n_in: int, prefix: str = PREFIX) -> dict[str, tuple[int, ...]]:
        """The flow block's ``state_dict`` names and shapes, in its order.

        Parameters
        ----------
        n_in
            The width of the flow's input (before the zeros are appended).
        prefix
            Prepended to every name (the network's attribute holding the block).

        Returns
        -------
        dict
            ``{"flow.field.0.weight": (width, dim), "flow.field.0.bias": (width,), ...}``.
        """
        sizes = self.sizes(n_in)
        shapes: dict[str, tuple[int, ...]] = {}
        for k, (a, b) in enumerate(itertools.pairwise(sizes)):
            shapes[f"{prefix}field.{k}.weight"] = (b, a)
            shapes[f"{prefix}field.{k}.bias"] = (b,)
        return shapes

    def describe(self, n_in: int) -> str:
        """``flow(4)``: the word for a network's description."""
        return f"flow({self.dim(n_in)})"

