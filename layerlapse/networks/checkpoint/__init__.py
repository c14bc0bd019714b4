"""Checkpoints: the weights beside the config and the scene they were trained on.

Two containers hold the same content:

* ``.pt`` (the default): a ``torch.save`` dict, loaded with ``torch.load(weights_only=True)``:
  plain containers and tensors only, no pickled code.
* ``.npz``: the weights as float32 arrays named as in the torch ``state_dict`` and a JSON
  ``meta`` string, loaded with ``np.load(allow_pickle=False)``: no pickles at all.

Saving a ``.pt`` also writes ``<name>.pt.npz`` beside it, a numpy sidecar that records the
SHA-256 of the ``.pt`` it mirrors. Loading a ``.pt`` whose sidecar matches reads the
sidecar, so a render with a cached network never imports torch (about a second of start-up).
A missing or stale sidecar is ignored: the ``.pt`` is loaded with torch and the sidecar
(re)written, best effort. A checkpoint for another scene or architecture is refused.

A network with a k-NN head also stores its memory, the training samples it votes with:
``memory.samples`` (N, input_dim) float32 and ``memory.labels`` (N,) int64 arrays in the
``.npz``, a ``memory`` dict of two tensors in the ``.pt``.

Trust. Both containers (and the sidecar) record ``content_sha256``, :func:`content_sha256` of
the weights and memory, checked on every load: a flipped bit in a weight is found, not
rendered. Given the scene's samples, :func:`load_network` also recomputes the accuracy with
numpy and refuses a checkpoint whose stored accuracy disagrees. Whatever makes a file
unusable (unreadable, malformed, corrupt) raises :class:`BadCheckpoint`, one line naming the
file and the fault; a checkpoint made for another scene or architecture is a plain
:class:`~layerlapse.errors.LayerlapseErro

The package: :mod:`.content` says what a checkpoint holds (its header, its tensors' hash,
the sidecar's name), :mod:`.store` writes and reads the two containers and the sidecar,
:mod:`.verify` checks what was read against itself and the caller's expectations.
"""

from layerlapse.networks.checkpoint.content import VERSION, BadCheckpoint, content_sha256, fingerprint, sidecar_path
from layerlapse.networks.checkpoint.store import load_network, save_network
from layerlapse.networks.checkpoint.verify import accuracy_bounds

__all__ = [
    "VERSION",
    "BadCheckpoint",
    "accuracy_bounds",
    "content_sha256",
    "fingerprint",
    "load_network",
    "save_network",
    "sidecar_path",
]
