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
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_CLASSES, MAX_HIDDEN_LAYERS, MAX_INPUT_DIM, MAX_K, MAX_WIDTH
from layerlapse.networks.knn import K_DEFAULT
from layerlapse.networks.layers import Layer
from layerlapse.networks.stages.activation import ACTIVATIONS, Activation
from layerlapse.networks.stages.flow import FlowConfig, FlowLayer, flow_block


class NetworkConfig(BaseModel):
    """Architecture: ``input_dim -> hidden[0] -> ... -> hidden[-1] -> classes``.

    Every hidden layer applies ``activation`` (or ``activations[k]``, one per layer, when
    given); the last (head) layer is affine and its outputs are the class logits.
    Activations are specs such as ``tanh`` or ``leaky_relu(0.2)``; see
    :class:`~layerlapse.networks.stages.Activation`.

    ``head="knn"``: no affine head; the last hidden representation is classified by a vote of
    its ``k`` nearest training samples (the essay's k-NN layer, :mod:`layerlapse.networks.knn`);
    ``k`` is read only then.

    ``flow``: a flow layer first (:mod:`layerlapse.networks.stages.flow`): ``flow.augment``
    zeros appended, then the time-1 map of a vector field; the hidden layers (possibly none)
    start from its width, :attr:`flow_dim`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_dim: int = Field(ge=1, le=MAX_INPUT_DIM, description=f"input coordinates, 1 to {MAX_INPUT_DIM} "
                           "(wider than 3 is shown through a projection, see layerlapse.networks.projection)")
    hidden: tuple[Annotated[int, Field(ge=1, le=MAX_WIDTH)], ...] = Field(
        default=(2, 2), max_length=MAX_HIDDEN_LAYERS, description=f"hidden layer widths, 1 to {MAX_WIDTH} (see layerlapse.limits)")
    classes: int = Field(2, ge=2, le=MAX_CLASSES)
    activation: str = Field("tanh", description=f"one of {', '.join(ACTIVATIONS)}")
    activations: tuple[str, ...] | None = Field(None, exclude_if=lambda acts: acts is None,  # keeps old cache keys
                                               description="one activation per hidden layer")
    head: Literal["linear", "knn"] = Field("linear", description="linear (logits) or knn (a vote of the k nearest "
                                           "training samples in the last representation)")
    k: int = Field(K_DEFAULT, ge=1, le=MAX_K, description="neighbours per vote of a knn head")
    flow: FlowConfig | None = Field(None, exclude_if=lambda flow: flow is None,  # plain networks dump as before
                                    description="a flow layer (an ODE vector field) before the hidden layers")

    @field_validator("activation")
    @classmethod
    def _activation(cls, value: str) -> str:
        return _activation_spec(value)

    @field_validator("activations")
    @classmethod
    def _activations(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(_activation_spec(v) for v in value)

    @model_validator(mode="after")
    def _activation_count(self) -> NetworkConfig:
        if self.activations is not None and len(self.activations) != len(self.hidden):
            raise ValueError(f"{len(self.activations)} activations for {len(self.hidden)} hidden layers; "
                             "give one for all layers or one per layer")
        return self

    @model_validator(mode="after")
    def _knn_needs_layers(self) -> NetworkConfig:
        if self.head == "knn" and not self.hidden and self.flow is None:
            raise ValueError("a k-NN head needs a hidden layer or a flow to train (with none it would "
                             "vote on the raw input); give hidden widths, e.g. --hidden 2,2")
        return self

    def layer_activations(self) -> tuple[str, ...]:
        """The activation of each hidden layer."""
        if self.activations is not None:
            if len(self.activations) != len(self.hidden):
                raise LayerlapseError(f"network.activations: {len(self.activations)} activations for "
                                      f"{len(self.hidden)} hidden layers")
            return self.activations
        return (self.activation,) * len(self.hidden)

    def describe(self) -> str:
        """E.g. ``3-3-3-3-2 tanh`` (or ``2-4-4-2 tanh,relu`` with per-layer activations, or
        ``2-2-2-2-2 tanh · 8-NN head`` with a k-NN head)."""
        flow = () if self.flow is None else (self.flow.describe(self.input_dim),)
        widths = (self.input_dim, *flow, *self.hidden, self.classes)
        acts = self.layer_activations()
        word = acts[0] if acts and len(set(acts)) == 1 else ",".join(acts) if acts else "" if flow else "affine"
        knn = f" \u00b7 {self.k}-NN head" if self.head == "knn" else ""
        return "-".join(map(str, widths)) + (f" {word}" if word else "") + knn

    @property
    def flow_dim(self) -> int:
        """The width the hidden layers start from: ``input_dim``, plus the zeros a flow appends."""
        return self.input_dim if self.flow is None else self.flow.dim(self.input_dim)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The MLP's ``state_dict`` names and shapes, in its order (a k-NN head has no
        parameters: it votes with the training samples, see ``Network.memory``)."""
        widths = (self.flow_dim, *self.hidden)
        shapes: dict[str, tuple[int, ...]] = {} if self.flow is None else self.flow.parameter_shapes(self.input_dim)
        for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            shapes[f"hidden.{k}.weight"] = (b, a)
            shapes[f"hidden.{k}.bias"] = (b,)
        if self.head == "linear":
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
        cls, config: NetworkConfig, hidden: Iterable[tuple[np.ndarray, np.ndarray]],
        head: tuple[np.ndarray, np.ndarray] | None,
    ) -> MLPWeights:
        """From ((W, b), ...) of the hidden layers and the head's (W, b) (ignored for a k-NN
        head, which has no parameters)."""
        arrays = {}
        for k, (W, b) in enumerate(hidden):
            arrays[f"hidden.{k}.weight"], arrays[f"hidden.{k}.bias"] = W, b
        if config.head == "linear":
            if head is None:
                raise LayerlapseError("network: a linear head needs its (W, b)")
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

    def layers(self) -> tuple[list[Layer | FlowLayer], Layer | None]:
        """The weights as float64 numpy layers: (hidden layers, head); as ``MLP.layers()``.
        The head is None for a k-NN head (``Network.layers()`` builds it from its memory)."""
        a = self.arrays

        def pair(prefix: str) -> tuple[np.ndarray, np.ndarray]:
            return a[f"{prefix}.weight"].astype(np.float64), a[f"{prefix}.bias"].astype(np.float64)

        acts = self.config.layer_activations()
        hidden: list[Layer | FlowLayer] = [Layer(*pair(f"hidden.{k}"), acts[k]) for k in range(len(self.config.hidden))]
        if self.config.flow is not None:  # a flow comes first (a FlowLayer, no W)
            hidden.insert(0, FlowLayer.from_arrays(self.config.flow, self.config.input_dim, a))
        return hidden, Layer(*pair("head"), None) if self.config.head == "linear" else None

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
    a = float(act.param or 0.0)  # set for softplus, leaky_relu and elu (their defaults otherwise)
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
        """``x -> head(sigma(W_L ... sigma(W_1 x + b_1) ... + b_L))``; a k-NN head has no
        module (``head`` is None) and is trained on :meth:`representation`."""

        def __init__(self, config: NetworkConfig) -> None:
            super().__init__()
            self.config = config
            if config.flow is not None:  # first, so its parameters come first in the state_dict
                self.flow = flow_block(config.flow, config.input_dim)
            widths = (config.flow_dim, *config.hidden)
            self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
            self.head = nn.Linear(widths[-1], config.classes) if config.head == "linear" else None
            self.acts = nn.ModuleList(torch_activation(spec) for spec in config.layer_activations())

        def representation(self, x):
            """The last hidden representation; (N, input_dim) -> (N, hidden[-1])."""
            if self.config.flow is not None:
                x = self.flow(x)
            for layer, act in zip(self.hidden, self.acts):
                x = act(layer(x))
            return x

        def forward(self, x):
            """Class logits; (N, input_dim) -> (N, classes)."""
            if self.head is None:
                raise LayerlapseError("network: a k-NN head has no logits of its own; it votes with the "
                                      "training samples (use Network.predict)")
            return self.head(self.representation(x))

        def layers(self) -> tuple[list[Layer | FlowLayer], Layer | None]:
            """The weights as float64 numpy layers: (hidden layers, head; None for a k-NN head)."""

            def arrays(lin: Any) -> tuple[np.ndarray, np.ndarray]:  # an nn.Linear
                return (
                    lin.weight.detach().cpu().double().numpy().copy(),
                    lin.bias.detach().cpu().double().numpy().copy(),
                )

            acts = self.config.layer_activations()
            hidden: list[Layer | FlowLayer] = [Layer(*arrays(lin), act) for lin, act in zip(self.hidden, acts)]
            if self.config.flow is not None:
                hidden.insert(0, FlowLayer.from_arrays(self.config.flow, self.config.input_dim, self.state_dict()))
            return hidden, Layer(*arrays(self.head), None) if self.head is not None else None

    MLP.__module__ = __name__  # pickles and reprs name layerlapse.networks.model.MLP
    MLP.__qualname__ = "MLP"
    return MLP
