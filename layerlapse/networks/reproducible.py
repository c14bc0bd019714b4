"""Training that gives the same network on any machine, as far as torch allows.

The same code and seed trained ``linked-tori-flow-4d`` to 100% on one 2-core machine and to
97.97% on another. Training is chaotic: a last-bit difference in one step grows over the
thousands of steps into another network. Measured here (AMD EPYC, torch 2.13 CPU wheel),
what changes the bits of a trained network, seed and data fixed:

* **the CPU's kernels.** torch picks its vectorised kernels by the CPU at run time
  (``ATEN_CPU_CAPABILITY``: DEFAULT, AVX2, AVX512) and MKL picks its matrix-product code
  path by the CPU too (Intel AVX-512, AVX2, AMD ...; ``MKL_CBWR`` pins it). Forcing either to
  another path here changed the weights (spirals, 60 epochs: DEFAULT differs from AVX2 and
  AVX512; a flow, 3 epochs: ``MKL_CBWR=COMPATIBLE`` differs from this machine's own path).
  Another machine is another CPU: this is the cause. :func:`pin_kernels` pins both to the
  branch every x86 CPU has (``default``, ``COMPATIBLE``) before torch's first operation.
* **not** the thread count on this machine (1 and 2 threads, ``OMP_NUM_THREADS``, a Dask
  worker or a plain process gave the same bits), since these networks' reductions are below
  torch's grain for splitting them; but a larger batch would be split, and two threads made a
  busy machine's training about 10x slower. Training runs on :data:`THREADS` thread, always.

Still not the same across: torch (and MKL) versions, non-x86 CPUs (ARM has no MKL), or a
process where torch ran an operation before layerlapse was imported (the kernels were chosen
then; :func:`trained_under` records what was in effect). Between those, the accuracy of a
seed is not promised; it is the sweep over seeds (``layerlapse reproduce``) that is.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: the kernel branches training asks for (a value already in the environment wins)
KERNELS = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
#: intra-op threads while training: these networks are too small for threads to pay
THREADS = 1

_before_torch: bool | None = None


def pin_kernels() -> None:
    """Ask torch and MKL for the kernel branches of :data:`KERNELS` (unless the environment
    names others). They are read at torch's first operation and MKL's first call, so this
    runs when :mod:`layerlapse.networks.train` is imported, which every layerlapse path to
    torch goes through first."""
    global _before_torch
    if _before_torch is None:
        _before_torch = "torch" not in sys.modules
    for name, value in KERNELS.items():
        os.environ.setdefault(name, value)


@contextmanager
def reproducible() -> Iterator[dict]:
    """Train inside this: :data:`THREADS` intra-op thread and torch's deterministic
    algorithms (both restored after).

    Yields
    ------
    dict
        :func:`trained_under`, for the checkpoint.
    """
    import torch

    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    try:
        yield trained_under()
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.set_num_threads(threads)


def trained_under() -> dict:
    """What the network is being trained under (JSON): versions, threads, deterministic
    algorithms, the kernel branches in effect and the platform.

    ``mkl_cbwr`` is the ``MKL_CBWR`` of the environment when torch was first imported after
    layerlapse (None when torch came first: MKL's branch is then unknown).
    """
    import numpy as np
    import torch

    return {
        "torch": str(torch.__version__),  # a TorchVersion, which torch.load(weights_only) refuses
        "numpy": str(np.__version__),
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
        "mkl_cbwr": os.environ.get("MKL_CBWR") if _before_torch else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
