"""Networks: the MLP, its training, checkpoints, and the continuous layer stages.

Importing this package does not import torch: ``MLP`` (the torch module) is defined on
first access, and a loaded checkpoint draws from numpy arrays (``MLPWeights``).
"""

from layerlapse.networks.checkpoint import fingerprint, load_network, save_network
from layerlapse.networks.deformation import Deformation
from layerlapse.networks.knn import KnnHead, KnnMemory
from layerlapse.networks.layers import Layer, LayerPlan, orient_layers, swap_neurons
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.stages import ACTIVATIONS, KINDS, LinearPath, Stage, polar, rotation_log
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.networks.train import Network, TrainConfig, accuracy, train

__all__ = [
    "ACTIVATIONS",
    "KINDS",
    "MLP",
    "Deformation",
    "KnnHead",
    "KnnMemory",
    "Layer",
    "LayerPlan",
    "LinearPath",
    "MLPWeights",
    "Network",
    "NetworkConfig",
    "Stage",
    "Timeline",
    "TimelineConfig",
    "TrainConfig",
    "accuracy",
    "fingerprint",
    "load_network",
    "orient_layers",
    "polar",
    "rotation_log",
    "save_network",
    "swap_neurons",
    "train",
]


def __getattr__(name: str):
    if name == "MLP":  # the torch module class; importing it imports torch
        from layerlapse.networks import model

        return model.MLP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
