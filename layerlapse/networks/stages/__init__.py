"""The animated stages of a network, one module per kind (see :mod:`.base`).

=========== ================================ ==========================================
linear      ``x -> p(t) x``                  ``p(0) = I``, ``p(1) = W``, ``det p(t) > 0``
project     ``x -> (x_:m, (1 - t) x_m:n)``   a narrowing layer drops its extra coordinates
translate   ``x -> x + t b``
activation  ``x -> (1 - t) x + t sigma(x)``  a homeomorphism for increasing sigma
flow        ``x -> phi_t(x)``                the ODE ``x' = v(x)`` solved to time t
=========== ================================ ==========================================
"""

from layerlapse.networks.stages.activation import ACTIVATIONS, Activation, ActivationStage, activate
from layerlapse.networks.stages.base import KINDS, Stage
from layerlapse.networks.stages.flow import FlowConfig, FlowLayer, FlowStage
from layerlapse.networks.stages.linear import (
    LINEAR_PATHS,
    SINGULAR_RTOL,
    LinearPath,
    LinearStage,
    RotationLog,
    linear_stage,
    polar,
    rotation_log,
)
from layerlapse.networks.stages.project import ProjectStage
from layerlapse.networks.stages.translate import TranslateStage

__all__ = [
    "ACTIVATIONS",
    "KINDS",
    "LINEAR_PATHS",
    "SINGULAR_RTOL",
    "Activation",
    "ActivationStage",
    "FlowConfig",
    "FlowLayer",
    "FlowStage",
    "LinearPath",
    "LinearStage",
    "ProjectStage",
    "RotationLog",
    "Stage",
    "TranslateStage",
    "activate",
    "linear_stage",
    "polar",
    "rotation_log",
]
