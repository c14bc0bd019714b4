"""Bring your own PyTorch model: a trained ``nn.Sequential`` becomes a :class:`Network`.

What converts (see :func:`network_from_module`): an ``nn.Sequential`` (nested ones are
flattened) of ``nn.Linear`` layers, each followed by at most one element-wise activation
(Tanh, Sigmoid, Softplus, ReLU, LeakyReLU, ELU, SiLU, GELU, Identity). The last Linear is
the classifier head. ``nn.Identity`` and ``nn.Dropout`` in eval mode are skipped; after
the head, strictly increasing activations and Softmax/LogSoftmax are left out because
they do not change which class wins. Everything else is refused with one line that
names the module.

What loads from a file (see :func:`load_model_file`), with nothing in it run: a
TorchScript archive of such a Sequential (``torch.jit.save(torch.jit.script(model),
"model.pt")`` or ``torch.jit.trace``) is read as data (:mod:`.archive`: its pickle with a
restricted unpickler, its code text parsed, never compiled) and rebuilt from torch's own
modules (:mod:`.script`); a class of your own in it is refused (its forward is its own
code). A ``state_dict`` (``torch.load(weights_only=True)``) or ``.safetensors`` file is read
with the layer widths and activations given beside it (``--arch 64-16-8-10 --activation
tanh``, :mod:`.weights`). A plain ``torch.save(model)`` pickle, a legacy pickle of one and
a ``torch.export`` program (``.pt2``, which ``torch.export.load`` unpickles) are refused
*before* anything in them is unpickled: the file is only listed as a zip archive and its
pickle disassembled (:mod:`pickletools`), never executed. Every read is bounded in size.

The package: :mod:`.identify` recognises the modules and splits the model into layers,
:mod:`.convert` turns them into a network and checks it against the module's outputs
(for a file, the rebuilt torch modules), :mod:`.load` reads (or refuses) model files.

torch is imported inside the functions: importing this package does not import it.
"""

from layerlapse.networks.torch_import.convert import network_from_module
from layerlapse.networks.torch_import.load import load_model_file

__all__ = ["load_model_file", "network_from_module"]
