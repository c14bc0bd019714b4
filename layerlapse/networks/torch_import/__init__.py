"""Bring your own PyTorch model: a trained ``nn.Sequential`` becomes a :class:`Network`.

What converts (see :func:`network_from_module`): an ``nn.Sequential`` (nested ones are
flattened) of ``nn.Linear`` layers, each followed by at most one element-wise activation
(Tanh, Sigmoid, Softplus, ReLU, LeakyReLU, ELU, SiLU, GELU, Identity). The last Linear is
the classifier head. ``nn.Identity`` and ``nn.Dropout`` in eval mode are skipped; after
the head, strictly increasing activations and Softmax/LogSoftmax are left out because
they do not change which class wins. Everything else is refused with one line that
names the module.

What loads from a file (see :func:`load_model_file`): TorchScript archives only
(``torch.jit.save(torch.jit.script(model), "model.pt")`` or ``torch.jit.trace``). They
hold TorchScript, not pickled Python, so loading one does not run arbitrary code. A
plain ``torch.save(model)`` pickle, a ``state_dict``, a legacy pickle and a
``torch.export`` program (``.pt2``, which ``torch.export.load`` unpickles) are refused
*before* anything in them is unpickled: the file is only listed as a zip archive and its
pickle disassembled (:mod:`pickletools`), never executed.

The package: :mod:`.identify` recognises the modules and splits the model into layers,
:mod:`.convert` turns them into a network and checks it against the module's outputs,
:mod:`.load` reads (or refuses) model files.

torch is imported inside the functions: importing this package does not import it.
"""

from layerlapse.networks.torch_import.convert import network_from_module
from layerlapse.networks.torch_import.load import load_model_file

__all__ = ["load_model_file", "network_from_module"]
