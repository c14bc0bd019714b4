"""The MLP: a frozen config builds it; the checkpoint stores the config beside the weights.

Two forms of the same network:

* :class:`MLPWeights`: the parameters as float32 numpy arrays. Everything that draws a
  trained network (its layers as :class:`~layerlapse.networks.layers.Layer`) needs only
  these, so rendering with a cached checkpoint never imports torch.
* ``MLP``: the ``torch.nn.Module`` that trains. It is defined the first time it is asked
  for (``from layerlapse.networks.model import MLP``), which is when torch is imported.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from layerlapse.errors import LayerlapseError
from layerlapse.networks.layers import Layer
from layerlapse.networks.stages.activation import ACTIVATIONS, Activation


class NetworkConfig(BaseModel):
    """Architecture: ``input_dim -> hidden[0] -> ... -> hidden[-1] -> classes``.

    Every hidden layer applies ``activation`` (or ``activations[k]``, one per layer, when
    given); the last (head) layer is affine and its outputs are the class logits.
    Activations are specs such as ``tanh`` or ``leaky_relu(0.2)``; see
    :class:`~layerlapse.networks.stages.Activation`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_dim: int = Field(ge=1, le=3)
    hidden: tuple[int, ...] = Field(default=(2, 2), max_length=32)
    classes: int = Field(2, ge=2, le=16)
    activation: str = Field("tanh", description=f"one of {', '.join(ACTIVATIONS)}")
    activations: tuple[str, ...] | None = Field(None, description="one activation per hidden layer")

    @field_validator("activation")
    @classmethod
    def _activation(cls, value: str) -> str:
        return _activation_spec(value)

    @field_validator("activations")
    @classmethod
    def _activations(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(_activation_spec(v) for v in value)

    def layer_activations(self) -> tuple[str, ...]:
        """The activation of each hidden layer."""
        if self.activations is not None:
            if len(self.activations) != len(self.hidden):
                raise LayerlapseError(f"network.activations: {len(self.activations)} activations for "
                                      f"{len(self.hidden)} hidden layers")
            return self.activations
        return (self.activation,) * len(self.hidden)

    def describe(self) -> str:
        """E.g. ``3-3-3-3-2 tanh`` (or ``2-4-4-2 tanh,relu`` with per-layer activations)."""
        widths = (self.input_dim, *self.hidden, self.classes)
        acts = self.layer_activations()
        word = acts[0] if acts and len(set(acts)) == 1 else ",".join(acts) if acts else "affine"
        return "-".join(map(str, widths)) + f" {word}"

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The MLP's ``state_dict`` names and shapes, in its order."""
        widths = (self.input_dim, *self.hidden)
        shapes: dict[str, tuple[int, ...]] = {}
        for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            shapes[f"hidden.{k}.weight"] = (b, a)
            shapes[f"hidden.{k}.bias"] = (b,)
        shapes["head.weight"] = (self.classes, widths[-1])
        shapes["head.bias"] = (self.classes,)
        return shapes


@dataclass(frozen=True, eq=False)
class MLPWeights:
    """An MLP's parameters as float32 numpy arrays, keyed by the torch ``state_dict`` names
    (``hidden.0.weight``, ..., ``head.bias``); no torch needed."""

    config: NetworkConfig
    arrays: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        shapes = self.config.parameter_shapes()
        if set(self.arrays) != set(shapes) or any(
            np.shape(self.arrays[name]) != shape for name, shape in shapes.items()
        ):
            raise LayerlapseError(f"network: weights do not match a {self.config.describe()} network")
        arrays = {}
        for name in shapes:  # state_dict order
            a = np.asarray(self.arrays[name])
            if a.dtype.kind not in "fiu":
                raise LayerlapseError(f"network: {name} is not numeric ({a.dtype})")
            a = a.astype(np.float32)  # a copy: later changes to the caller's arrays don't leak in
            a.setflags(write=False)
            arrays[name] = a
        object.__setattr__(self, "arrays", arrays)

    @classmethod
    def from_layers(
        cls, config: NetworkConfig, hidden: Iterable[tuple[np.ndarray, np.ndarray]], head: tuple[np.ndarray, np.ndarray]
    ) -> MLPWeights:
        """From ((W, b), ...) of the hidden layers and the head's (W, b)."""
        arrays = {}
        for k, (W, b) in enumerate(hidden):
            arrays[f"hidden.{k}.weight"], arrays[f"hidden.{k}.bias"] = W, b
        arrays["head.weight"], arrays["head.bias"] = head
        return cls(config, arrays)

    @classmethod
    def from_module(cls, model) -> MLPWeights:
        """The current parameters of a torch ``MLP``."""
        state = model.state_dict()
        return cls(model.config, {name: t.detach().cpu().float().numpy() for name, t in state.items()})

    def nonfinite(self) -> str | None:
        """The name of the first array holding NaN or Inf, else None."""
        return next((name for name, a in self.arrays.items() if not np.isfinite(a).all()), None)

    def layers(self) -> tuple[list[Layer], Layer]:
        """The weights as float64 numpy layers: (hidden layers, head); as ``MLP.layers()``."""
        a = self.arrays

        def pair(prefix: str) -> tuple[np.ndarray, np.ndarray]:
            return a[f"{prefix}.weight"].astype(np.float64), a[f"{prefix}.bias"].astype(np.float64)

        acts = self.config.layer_activations()
        hidden = [Layer(*pair(f"hidden.{k}"), acts[k]) for k in range(len(self.config.hidden))]
        return hidden, Layer(*pair("head"), None)

    def to_module(self):
        """A torch ``MLP`` (in eval mode) holding exactly these weights."""
        import torch

        with torch.random.fork_rng(devices=[]):  # the throwaway initialisation leaves the global RNG alone
            model = _mlp_class()(self.config)
        model.load_state_dict({name: torch.from_numpy(a.copy()) for name, a in self.arrays.items()})
        return model.eval()


def _activation_spec(value: str) -> str:
    try:
        return Activation.parse(value).spec
    except LayerlapseError as exc:  # pydantic reports it with the field's name
        raise ValueError(str(exc).partition(": ")[2]) from None


def torch_activation(spec: str):
    """The ``torch.nn`` module of an activation spec (imports torch)."""
    from torch import nn

    act = Activation.parse(spec)
    a = act.param
    modules = {
        "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU,
        "identity": nn.Identity,
    }
    if act.name in modules:
        return modules[act.name]()
    if act.name == "softplus":
        return nn.Softplus(beta=a)
    if act.name == "leaky_relu":
        return nn.LeakyReLU(a)
    if act.name == "elu":
        return nn.ELU(a)
    return nn.GELU(approximate="tanh")  # gelu_tanh


def __getattr__(name: str):
    if name == "MLP":
        return _mlp_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _mlp_class():
    """Define the torch module class (importing torch) on first use."""
    from torch import nn

    class MLP(nn.Module):
        """``x -> head(sigma(W_L ... sigma(W_1 x + b_1) ... + b_L))``."""

        def __init__(self, config: NetworkConfig) -> None:
            super().__init__()
            self.config = config
            widths = (config.input_dim, *config.hidden)
            self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
            self.head = nn.Linear(widths[-1], config.classes)
            self.acts = nn.ModuleList(torch_activation(spec) for spec in config.layer_activations())

        def representation(self, x):
            """The last hidden representation; (N, input_dim) -> (N, hidden[-1])."""
            for layer, act in zip(self.hidden, self.acts):
                x = act(layer(x))
            return x

        def forward(self, x):
            """Class logits; (N, input_dim) -> (N, classes)."""
            return self.head(self.representation(x))

        def layers(self) -> tuple[list[Layer], Layer]:
            """The weights as float64 numpy layers: (hidden layers, head)."""

            def arrays(lin: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
                return (
                    lin.weight.detach().cpu().double().numpy().copy(),
                    lin.bias.detach().cpu().double().numpy().copy(),
                )

            acts = self.config.layer_activations()
            hidden = [Layer(*arrays(lin), act) for lin, act in zip(self.hidden, acts)]
            return hidden, Layer(*arrays(self.head), None)

    MLP.__module__ = __name__  # pickles and reprs name layerlapse.networks.model.MLP
    MLP.__qualname__ = "MLP"
    return MLP
