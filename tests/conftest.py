import os

import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--regen-references",
        action="store_true",
        default=False,
        help="rewrite the stored reference images in tests/reference/ instead of comparing",
    )


@pytest.fixture
def regen_references(request):
    return request.config.getoption("--regen-references")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Every test runs in its own folder, so default outputs/ never touches the repo."""
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


TINY_TORI = dict(resolution=16, samples_per_class=150, grid_lines=3)
TINY_SPIRALS = dict(points_per_curve=40, samples_per_class=100, grid_lines=5)
TINY_TRAINING = dict(epochs=3)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY"))
