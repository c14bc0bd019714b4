"""Checkpoints: the state_dict beside the config and the scene it was trained on.

Loaded with ``torch.load(weights_only=True)``: plain containers and tensors only, no
pickled code. A checkpoint for another scene or architecture is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from layerlapse._files import atomic_output
from layerlapse.errors import LayerlapseError
from layerlapse.networks.model import MLP, NetworkConfig
from layerlapse.networks.train import Network, TrainConfig

FORMAT = "layerlapse-checkpoint"
VERSION = 1


def fingerprint(scene_key: dict, config: NetworkConfig, training: TrainConfig) -> str:
    """A short stable hash of what determines a trained network."""
    blob = json.dumps(
        {"scene": scene_key, "network": config.model_dump(mode="json"), "training": training.model_dump(mode="json")},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def save_network(network: Network, path: str | Path) -> Path:
    """Write ``network`` to ``path`` atomically (a temporary file renamed into place)."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "network": network.config.model_dump(mode="json"),
        "training": network.training.model_dump(mode="json"),
        "scene": json.loads(json.dumps(network.scene_key)),
        "accuracy": None if network.accuracy is None else float(network.accuracy),
        "state_dict": network.model.state_dict(),
    }
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_network(
    path: str | Path, *, scene_key: dict | None = None, config: NetworkConfig | None = None
) -> Network:
    """Load a checkpoint; refuse it if it was made for another scene or architecture.

    ``scene_key``/``config``: what the caller expects; ``None`` skips that check.
    """
    path = Path(path)
    if not path.is_file():
        raise LayerlapseError(f"checkpoint: {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        raise LayerlapseError(
            f"checkpoint: {str(path)!r} is not a loadable layerlapse checkpoint ({type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise LayerlapseError(f"checkpoint: {str(path)!r} is not a layerlapse checkpoint")
    saved_config = NetworkConfig.model_validate(payload["network"])
    saved_scene = payload["scene"]
    if scene_key is not None and saved_scene != json.loads(json.dumps(scene_key)):
        raise LayerlapseError(
            f"checkpoint: {str(path)!r} was trained on scene {saved_scene.get('name')!r} "
            f"with parameters {saved_scene.get('params')}, not on {scene_key.get('name')!r} "
            f"with {scene_key.get('params')}; retrain or pass another checkpoint"
        )
    if config is not None and saved_config != config:
        raise LayerlapseError(
            f"checkpoint: {str(path)!r} holds a {saved_config.describe()} network, "
            f"expected {config.describe()}"
        )
    model = MLP(saved_config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError:
        raise LayerlapseError(f"checkpoint: {str(path)!r}: weights do not match its config") from None
    for name, tensor in model.state_dict().items():
        if not torch.isfinite(tensor).all():
            raise LayerlapseError(f"checkpoint: {str(path)!r}: {name} holds NaN or Inf")
    return Network(
        model.eval(),
        saved_config,
        TrainConfig.model_validate(payload["training"]),
        None if payload["accuracy"] is None else float(payload["accuracy"]),
        saved_scene,
    )
