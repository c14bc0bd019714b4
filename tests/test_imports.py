"""What stays light: the web page, scene files and the batch's dry run load neither VTK nor
pyvista (only :mod:`layerlapse.render` draws with them). Each check runs in a fresh
interpreter and reports, at exit, which of the two it had loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pyvista", "vtkmodules", "vtk")
#: prints the heavy modules loaded, at exit (after the CLI's own sys.exit)
PROBE = ("import atexit, sys\n"
         f"atexit.register(lambda: print('LOADED', [m for m in {HEAVY!r} if m in sys.modules]))\n")


def loaded(code: str, cwd: Path) -> list[str]:
    """The heavy modules a fresh interpreter has loaded after running ``code`` in ``cwd``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", PROBE + code], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("LOADED ")]
    assert lines, result.stdout + result.stderr
    return eval(lines[-1].removeprefix("LOADED "))  # a list literal of names


def cli(*args: str) -> str:
    return f"import runpy\nsys.argv = ['layerlapse', *{list(args)!r}]\nrunpy.run_module('layerlapse', run_name='__main__')\n"


@pytest.mark.slow
@pytest.mark.parametrize("colour_by", ["class", "stretch"])
def test_the_web_page_loads_no_vtk(tmp_path, colour_by):
    args = ("web", "two-curves", "--epochs", "2", "--color-by", colour_by, "--no-progress", "-o", "X.html")
    assert loaded(cli(*args), tmp_path) == []
    assert (tmp_path / "X.html").stat().st_size > 100_000


def test_a_scene_file_loads_no_vtk(tmp_path):
    code = f"from layerlapse.app.scenefile import load_scene_file\nload_scene_file({str(ROOT / 'examples/my-meshes.toml')!r})\n"
    assert loaded(code, tmp_path) == []


def test_a_batch_dry_run_loads_no_vtk(tmp_path):
    assert loaded(cli("batch", str(ROOT / "examples/small-sweep.toml"), "--dry-run"), tmp_path) == []


def test_the_style_loads_no_vtk(tmp_path):
    code = "from layerlapse.render import Style\nStyle.themed('dark', grid_color='tab:blue')\n"
    assert loaded(code, tmp_path) == []


def modules_loaded(code: str, cwd: Path, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a fresh interpreter has loaded after running ``code`` in ``cwd``."""
    probe = f"import atexit, sys\natexit.register(lambda: print('LOADED', [m for m in {names!r} if m in sys.modules]))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", probe + code], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("LOADED ")]
    assert lines, result.stdout + result.stderr
    return eval(lines[-1].removeprefix("LOADED "))


#: what `--help` and `import layerlapse` must not wait for (0.3-2 s each on a 2-core machine)
START_UP = ("torch", "scipy", "pyvista", "vtkmodules", "matplotlib", "distributed")


@pytest.mark.parametrize("code", ["import layerlapse\n", cli("--help"), cli("render", "--help")],
                         ids=["import", "help", "render-help"])
def test_import_and_help_load_nothing_heavy(tmp_path, code):
    assert modules_loaded(code, tmp_path, START_UP) == []


def test_the_package_names_resolve_when_used(tmp_path):
    code = ("import layerlapse as ll\nimport layerlapse.render\n"
            "assert callable(ll.render) and callable(ll.batch) and callable(ll.web), (ll.render, ll.batch, ll.web)\n"
            "assert ll.Scene.__name__ == 'Scene' and issubclass(ll.LayerlapseError, Exception)\n"
            "assert set(ll.__all__) <= set(dir(ll))\n"
            "try:\n    ll.no_such_name\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit('no error')\n")
    assert modules_loaded(code, tmp_path, ()) == []


def test_a_still_of_a_tanh_network_loads_neither_torch_nor_all_of_vtk(tmp_path):
    """The full ``vtk`` module (0.6 s), scipy.special (0.25 s), scipy.ndimage and scipy.spatial
    are not needed for a still of a shipped tanh network (pyvista itself loads scipy.linalg)."""
    heavy = ("torch", "vtk", "scipy.special", "scipy.ndimage", "scipy.spatial")
    code = cli("figure", "two-curves", "--at", "output", "--size", "320x180", "-o", "still.png")
    assert modules_loaded(code, tmp_path, heavy) == []
    assert (tmp_path / "still.png").stat().st_size > 1000
