"""Optional dependencies: each feature that needs one says so in one line, before any work.

Rendering movies and stills needs only the core dependencies; ``layerlapse batch``,
``reproduce`` and ``render --workers`` need Dask (``[batch]``), ``inspect``'s Betti numbers
need ripser (``[inspect]``), training a flow layer needs torchdiffeq (``[flow]``), and
``export --animate`` needs pygltflib (``[gltf]``).
"""

from __future__ import annotations

import importlib.util

from layerlapse.errors import LayerlapseError

#: module -> (the extra that installs it, the package's name on PyPI)
EXTRAS = {
    "distributed": ("batch", "dask[distributed]"),
    "ripser": ("inspect", "ripser"),
    "torchdiffeq": ("flow", "torchdiffeq"),
    "pygltflib": ("gltf", "pygltflib"),
}


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (found, not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing; a module set to None in sys.modules
        return False


def require(module: str, what: str) -> None:
    """Raise one line naming ``what`` needs, and how to install it, unless ``module`` is installed."""
    if installed(module):
        return
    extra, package = EXTRAS[module]
    raise LayerlapseError(f"{what} needs {package}, which is not installed; "
                          f"pip install 'layerlapse[{extra}]' (or pip install '{package}')")
