"""Every registered stage kind keeps the Stage contract: identity at t = 0, ``apply`` at
t = 1, batched positions equal to one-at-a-time ones, and a Jacobian that matches finite
differences. A new kind gets these checks by adding an example to ``EXAMPLES``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerlapse.networks.stages import (
    KINDS,
    ActivationStage,
    FlowConfig,
    FlowLayer,
    LinearPath,
    LinearStage,
    ProjectStage,
    Stage,
    TranslateStage,
)
from layerlapse.networks.stages.activation import ACTIVATIONS, Activation


def _linear(rng: np.random.Generator, dim: int) -> Stage:
    W = rng.normal(size=(dim, dim)) + 2 * np.eye(dim)
    if np.linalg.det(W) < 0:
        W[[0, 1]] = W[[1, 0]]
    return LinearStage(0, dim, dim, dim, LinearPath(W))


def _activation(rng: np.random.Generator, dim: int) -> Stage:
    spec = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
    return ActivationStage(1, dim, dim - 1, dim, Activation.parse(spec))


def _flow(rng: np.random.Generator, dim: int) -> Stage:
    """A small random field; tight tolerances, so finite differences see the flow, not the
    solver's step-size choices. Sometimes augmented, sometimes narrower than the ambient space."""
    augment, narrower = int(rng.integers(0, 2)), int(rng.integers(0, 2))
    n_in = dim - augment - narrower if dim - augment - narrower >= 1 else dim - augment
    config = FlowConfig(augment=augment, width=8, rtol=1e-10, atol=1e-10)
    shapes = list(config.parameter_shapes(n_in, prefix="").values())
    arrays = [rng.normal(size=s) / np.sqrt(s[-1]) for s in shapes]
    layer = FlowLayer(tuple(zip(arrays[0::2], arrays[1::2])), n_in, config)
    return layer.stages(0, None, dim)[0]


EXAMPLES = {
    "flow": _flow,
    "linear": _linear,
    "project": lambda rng, dim: ProjectStage(0, dim, dim - 1, dim),
    "translate": lambda rng, dim: TranslateStage(0, dim, dim, dim, rng.normal(size=dim)),
    "activation": _activation,
}


def test_every_kind_has_an_example():
    assert set(KINDS) <= set(EXAMPLES), f"add an example for {set(KINDS) - set(EXAMPLES)}"


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), dim=st.integers(2, 4))
def test_stage_contract(kind, seed, dim):
    rng = np.random.default_rng(seed)
    stage = EXAMPLES[kind](rng, dim)
    assert stage.kind == kind and KINDS[kind] is type(stage)
    X = rng.normal(size=(7, dim))
    t = np.array([0.0, 0.3, 0.7, 1.0])
    P = stage.positions(X, t)
    assert P.shape == (4, 7, dim)
    np.testing.assert_allclose(P[0], X, atol=1e-12)
    np.testing.assert_allclose(P[-1], stage.apply(X), rtol=1e-9, atol=1e-9)
    for i, ti in enumerate(t):  # batching over frames changes nothing
        np.testing.assert_allclose(stage.positions(X, np.array([ti]))[0], P[i], rtol=1e-12, atol=1e-12)
    # the Jacobian against central differences (away from kinks: points moved off 0)
    X = X + np.sign(X) * 0.05
    J = stage.jacobian(X, t)
    assert J.shape == (4, 7, dim, dim)
    h = 1e-6
    for j in range(dim):
        e = np.zeros(dim)
        e[j] = h
        fd = (stage.positions(X + e, t) - stage.positions(X - e, t)) / (2 * h)
        np.testing.assert_allclose(J[..., :, j], fd, rtol=1e-5, atol=1e-6)


def test_labels_come_from_the_stage():
    tanh = ActivationStage(1, 2, 2, 2, Activation.parse("tanh"))
    assert tanh.name == "layer2.tanh"
    assert tanh.label(3) == "layer 2 of 3 \u00b7 tanh squashes into (-1, 1)^2"
    relu = ActivationStage(0, 3, 3, 3, Activation.parse("relu"))
    assert "not one-to-one" in relu.label(1) and not relu.injective
    leaky = ActivationStage(0, 3, 3, 3, Activation.parse("leaky_relu(0.2)"))
    assert leaky.name == "layer1.leaky_relu(0.2)" and leaky.injective
