"""The MLP: a frozen config builds it; the checkpoint stores the config beside the weights."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from layerlapse.networks.layers import Layer

_TORCH_ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus, "relu": nn.ReLU}


class NetworkConfig(BaseModel):
    """Architecture: ``input_dim -> hidden[0] -> ... -> hidden[-1] -> classes``.

    Every hidden layer applies ``activation``; the last (head) layer is affine and its
    outputs are the class logits.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_dim: int = Field(ge=1, le=3)
    hidden: tuple[int, ...] = Field(default=(2, 2), max_length=32)
    classes: int = Field(2, ge=2, le=16)
    activation: Literal["tanh", "sigmoid", "softplus", "relu"] = "tanh"

    def describe(self) -> str:
        """E.g. ``3-3-3-3-2 tanh``."""
        widths = (self.input_dim, *self.hidden, self.classes)
        return "-".join(map(str, widths)) + f" {self.activation}"


class MLP(nn.Module):
    """``x -> head(sigma(W_L ... sigma(W_1 x + b_1) ... + b_L))``."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        widths = (config.input_dim, *config.hidden)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.head = nn.Linear(widths[-1], config.classes)
        self.act = _TORCH_ACTIVATIONS[config.activation]()

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden representation; (N, input_dim) -> (N, hidden[-1])."""
        for layer in self.hidden:
            x = self.act(layer(x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits; (N, input_dim) -> (N, classes)."""
        return self.head(self.representation(x))

    def layers(self) -> tuple[list[Layer], Layer]:
        """The weights as float64 numpy layers: (hidden layers, head)."""

        def arrays(lin: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
            return (
                lin.weight.detach().cpu().double().numpy().copy(),
                lin.bias.detach().cpu().double().numpy().copy(),
            )

        hidden = [Layer(*arrays(lin), self.config.activation) for lin in self.hidden]
        return hidden, Layer(*arrays(self.head), None)
