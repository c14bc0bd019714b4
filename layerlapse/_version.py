"""The version, in one place: pyproject.toml reads it from here (setuptools' dynamic version),
``layerlapse.__version__`` and ``layerlapse --version`` print it."""

__version__ = "0.2.0"
