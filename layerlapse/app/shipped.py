"""The presets' default networks, trained once and shipped with the package
(``layerlapse/pretrained/``), so that ``layerlapse render PRESET`` trains nothing.

``index.json`` lists each shipped network by preset: its file, the fingerprint of what it was
trained under (:func:`~layerlapse.networks.checkpoint.fingerprint` of the scene's key, the
network and the training), the SHA-256 of the scene's samples, of the file itself, its accuracy
and how long it took to train (``tools/ship_networks.py`` writes it). A request uses the
shipped file only when all of these equal its own: another seed, width, epoch count or scene
parameter trains into the cache as before. A shipped file that fails its hash is an error
naming the file (a damaged installation), never silently retrained.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from layerlapse.app.presets import Preset
from layerlapse.errors import LayerlapseError
from layerlapse.networks.checkpoint import BadCheckpoint, fingerprint, load_network
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.train import Network, TrainConfig

#: the folder of shipped checkpoints and their index
FOLDER = Path(__file__).resolve().parent.parent / "pretrained"
INDEX = "index.json"


def samples_sha256(preset: Preset) -> str:
    """The SHA-256 of the scene's samples (float32) and labels (int64): a Python scene that
    reuses a preset's name and parameters with other data does not match."""
    h = hashlib.sha256(np.ascontiguousarray(preset.samples, dtype="<f4").tobytes())
    h.update(np.ascontiguousarray(preset.labels, dtype="<i8").tobytes())
    return h.hexdigest()


def read_index(folder: Path | None = None) -> dict[str, dict]:
    """The shipped networks by preset name (empty when none ship); ``folder``: default :data:`FOLDER`."""
    path = (folder or FOLDER) / INDEX
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LayerlapseError(f"network: the shipped index {str(path)!r} cannot be read ({exc}); "
                              "reinstall layerlapse") from None
    return data if isinstance(data, dict) else {}


def entry_for(preset: Preset, config: NetworkConfig, training: TrainConfig,
              folder: Path | None = None) -> dict | None:
    """The index entry shipped for exactly this preset, network and training, or None."""
    entry = read_index(folder).get(preset.name)
    if not isinstance(entry, dict) or preset.fixed is not None:
        return None
    if entry.get("fingerprint") != fingerprint(preset.key, config, training):
        return None
    if entry.get("samples_sha256") != samples_sha256(preset):
        return None
    return entry


def shipped_network(preset: Preset, config: NetworkConfig, training: TrainConfig,
                    folder: Path | None = None) -> Network | None:
    """The shipped network for this request, or None when none ships for it.

    Raises
    ------
    LayerlapseError
        The shipped file is missing, fails its SHA-256 or does not load (one line naming the file).
    """
    entry = entry_for(preset, config, training, folder)
    if entry is None:
        return None
    path = (folder or FOLDER) / str(entry.get("file"))
    fix = "the installation is damaged: reinstall layerlapse, or --retrain (retrain=True) trains one into the cache"
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise LayerlapseError(f"network: shipped checkpoint {str(path)!r} cannot be read "
                              f"({exc.strerror or exc}); {fix}") from None
    if digest != entry.get("sha256"):
        raise LayerlapseError(f"network: shipped checkpoint {str(path)!r} fails its SHA-256 (it is {digest[:12]}, "
                              f"the index says {str(entry.get('sha256'))[:12]}); {fix}")
    try:  # the file's bytes and the scene's samples are the ones shipped: the accuracy recheck
        # (up to seconds for a flow) would only repeat what tools/ship_networks.py measured
        return load_network(path, scene_key=preset.key, config=config)
    except BadCheckpoint as exc:
        raise LayerlapseError(f"network: shipped {exc}; {fix}") from None
