"""The package as users install it: ``python -m build`` makes a wheel that passes ``twine
check``, holds the vendored three.js, the shipped networks and both licences, and, installed
into a clean virtual environment, renders a preset in a fresh folder without training."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import layerlapse

ROOT = Path(__file__).resolve().parents[1]


def run(args: list, **kwargs) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, **kwargs)
    assert r.returncode == 0, f"{args}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_venv_and_renders_a_preset(tmp_path):
    dist = tmp_path / "dist"
    # no build isolation: the test environment's setuptools (>= 77, as pyproject asks) builds it offline
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, ROOT])
    (wheel,) = dist.glob("layerlapse-*.whl")
    assert wheel.name.startswith(f"layerlapse-{layerlapse.__version__}-py3-none-any")
    run([sys.executable, "-m", "twine", "check", "--strict", wheel])
    names = set(zipfile.ZipFile(wheel).namelist())
    info = f"layerlapse-{layerlapse.__version__}.dist-info"
    for needed in ("layerlapse/web/vendor/three.module.js", "layerlapse/web/vendor/LICENSE",
                   "layerlapse/web/template.html", "layerlapse/pretrained/index.json",
                   "layerlapse/pretrained/two-curves.pt", "layerlapse/pretrained/two-curves.pt.npz",
                   f"{info}/licenses/LICENSE"):
        assert needed in names, needed
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    pip, exe = venv / "bin" / "pip", venv / "bin" / "layerlapse"
    run([pip, "install", "-q", "torch==2.13.0"])  # the CPU wheel first, as the README says
    run([pip, "install", "-q", wheel])
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["LAYERLAPSE_CACHE"] = str(tmp_path / "cache")
    assert run([exe, "--version"], cwd=fresh, env=env).stdout.strip() == f"layerlapse {layerlapse.__version__}"
    r = run([exe, "render", "two-curves", "--quality", "low", "--no-progress"], cwd=fresh, env=env)
    movie = fresh / "outputs" / "two-curves" / "two-curves.mp4"
    assert movie.stat().st_size > 10_000, r.stdout
    assert not (tmp_path / "cache").exists()  # the shipped network: nothing trained or cached
    where = run([venv / "bin" / "python", "-c", "import layerlapse; print(layerlapse.__file__)"], cwd=fresh, env=env)
    assert where.stdout.strip().startswith(str(venv))  # the installed package, not this checkout
