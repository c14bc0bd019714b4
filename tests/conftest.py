import contextlib
import os

import numpy as np
import pytest

#: the slow lane (`make test-slow`, run by .ci/run after `make test`): real Dask clusters,
#: signals sent to real processes, headless Chromium
SLOW_FIXTURES = {"chromium"}


def pytest_collection_modifyitems(config, items):
    """A test that opens Chromium is slow wherever it is (the chromium fixture starts it)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
    """Every test runs in its own folder, so default outputs/ never touches the repo, with its
    own network cache (LAYERLAPSE_CACHE, inherited by the processes it starts)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAYERLAPSE_CACHE", str(tmp_path / "cache"))
    yield


def cached_networks(tmp_path, scene: str) -> list:
    """The networks cached for ``scene`` in a test's own cache (see :func:`_in_tmp`)."""
    return sorted((tmp_path / "cache" / "networks" / scene).glob("network-*.pt"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


TINY_TORI = dict(resolution=16, samples_per_class=150, grid_lines=3)
TINY_SPIRALS = dict(points_per_curve=40, samples_per_class=100, grid_lines=5)
TINY_TRAINING = dict(epochs=3)


def train_two_curves(folder, *, timeout: float = 180):
    """``folder/two-curves.pt``: the two-curves network at 3 epochs, trained by a real
    ``layerlapse train``, for tests that then start real processes on it without training."""
    import subprocess
    import sys

    path = folder / "two-curves.pt"
    subprocess.run([sys.executable, "-m", "layerlapse", "train", "two-curves", "--epochs", "3", "--no-progress",
                    "--checkpoint", str(path)], check=True, capture_output=True, timeout=timeout)
    return path


@pytest.fixture(scope="session")
def tiny_tori():
    """A small linked-tori scene and a 3-epoch network, shared by the rendering tests."""
    from layerlapse.app import api

    scene = api.load_scene("linked-tori", **TINY_TORI)
    return scene, api.train_network(scene, training=TINY_TRAINING, progress=False)


@pytest.fixture(scope="session")
def xvfb():
    """A virtual X display for window tests (Xvfb, installed by .ci/run)."""
    import shutil
    import subprocess
    import time

    exe = shutil.which("Xvfb")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is not installed; .ci/run installs it with apt-get")
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    number = 90 + os.getpid() % 400
    proc = subprocess.Popen([exe, f":{number}", "-screen", "0", "1600x1200x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = f"/tmp/.X11-unix/X{number}"
    for _ in range(100):
        if os.path.exists(socket):
            break
        time.sleep(0.05)
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    yield f":{number}"
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium for the offline pages (the web page, the batch gallery); .ci/run installs it."""
    import shutil

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return exe


@contextlib.contextmanager
def spawned_cluster(workers: int = 2):
    """A local Dask cluster of ``workers`` spawned processes (VTK is not fork-safe), each under
    a nanny that restarts it: ``(scheduler address, client)``, closed after."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
        local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(local)
        try:
            yield local.scheduler_address, client
        finally:
            client.close()
            local.close()


def wait_until(proc, ready, *, timeout: float, what: str) -> None:
    """Poll ``ready()`` until it is true while the process ``proc`` runs; kill it and fail the
    test (naming ``what`` did not happen) if it ends first or ``timeout`` seconds pass."""
    import time

    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{what} (rc {proc.poll()}): {proc.communicate()}")
        time.sleep(0.02)


def kill_first_busy_worker(client, prefix: str, killed: list, timeout: float = 60) -> None:
    """SIGKILL the first Dask worker the scheduler says runs a task whose key starts with
    ``prefix`` (its pid appended to ``killed``); gives up after ``timeout`` seconds. Run it on a
    thread beside the work."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if any(str(k).startswith(prefix) for k in keys)]
        if busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.02)
