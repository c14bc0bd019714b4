"""The same seed trains the same network whatever the machine's threads or CPU kernels
(simulated here: another machine is another CPU, whose kernels are forced by environment),
and checkpoints say what a network was trained under."""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from layerlapse.errors import LayerlapseError
from layerlapse.networks.checkpoint import load_network, save_network, sidecar_path
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.reproducible import KERNELS, THREADS
from layerlapse.networks.stages.flow import FlowConfig
from layerlapse.networks.train import TrainConfig, train

# trains linked-tori-flow-4d's preset network for 3 epochs (the network the issue saw differ
# between machines; 3 epochs are enough for a changed kernel to change its weights) and prints
# the SHA-256 of its weights; LL_THREADS: torch's intra-op threads set before (0 or unset: its default)
TRAIN = """
import hashlib, os
import torch
from layerlapse.app.network import network_settings
from layerlapse.app.presets import load_scene
from layerlapse.networks.train import train
if int(os.environ.get("LL_THREADS", "0")):
    torch.set_num_threads(int(os.environ["LL_THREADS"]))
preset = load_scene("linked-tori-flow-4d")
config, training = network_settings(preset, None, {"epochs": 3, "restarts": 1, "seed": 0})
net = train(preset.samples, preset.labels, config, training)
print(hashlib.sha256(b"".join(a.tobytes() for _, a in sorted(net.weights().arrays.items()))).hexdigest())
"""


def _trained(**env: str) -> str:
    """The weights' hash from a fresh process whose environment has none of layerlapse's
    pins (this test process's import of train set them) but ``env``."""
    base = {k: v for k, v in os.environ.items() if k not in KERNELS and not k.startswith(("OMP_", "MKL_"))}
    result = subprocess.run([sys.executable, "-c", TRAIN], env={**base, **env},
                            capture_output=True,
                            text=True, timeout=300, check=True)
    return result.stdout.strip()


@pytest.fixture(scope="module")
def plain() -> str:
    return _trained()


@pytest.mark.slow  # trains in fresh processes under other kernels: 13 s; the fast lane stays under 4 min on a busy 2-core machine
def test_same_weights_under_another_cpus_kernels(plain):
    # a CPU without AVX2 (torch's DEFAULT kernels) and one on which MKL takes its compatible
    # path: before the kernels were pinned, each changed these weights (from d88238 to 092186
    # and 72c2dd here)
    assert _trained(ATEN_CPU_CAPABILITY="default", MKL_CBWR="COMPATIBLE") == plain


@pytest.mark.slow
@pytest.mark.parametrize("env", [
    {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},  # an older CPU's MKL
    {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "LL_THREADS": "2"},  # a plain process on 2 cores
    {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LL_THREADS": "1"},  # a Dask worker's environment
], ids=["old-mkl", "threads-2", "threads-1"])
def test_same_weights_under_other_threads(plain, env):
    assert _trained(**env) == plain


def _tiny(epochs: int = 2):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return train(X, y, NetworkConfig(input_dim=2, hidden=(3,)), TrainConfig(epochs=epochs), scene_key={"name": "t"})


def test_training_runs_on_one_deterministic_thread_and_restores_the_callers():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    seen = []
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 2)).astype(np.float32), rng.integers(0, 2, 50)
    train(X, y, NetworkConfig(input_dim=2, hidden=(2,)), TrainConfig(epochs=1),
          on_step=lambda step, model: seen.append((torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())))
    assert set(seen) == {(THREADS, True)}
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == (threads, deterministic)


def test_knn_and_flow_heads_train_under_deterministic_algorithms():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 3)).astype(np.float32), rng.integers(0, 2, 80)
    for config in (NetworkConfig(input_dim=3, hidden=(3,), head="knn"),
                   NetworkConfig(input_dim=3, hidden=(), flow=FlowConfig(augment=1, width=8))):
        assert train(X, y, config, TrainConfig(epochs=1)).trained_under["deterministic"] is True


@pytest.mark.parametrize("name", ["net.pt", "net.npz"])
def test_checkpoints_record_what_the_network_was_trained_under(tmp_path, name):
    net = _tiny()
    under = net.trained_under
    assert under["threads"] == THREADS and under["deterministic"] is True
    assert under["torch"] == torch.__version__ and under["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert {"platform", "machine", "numpy", "python", "mkl_cbwr"} <= set(under)
    path = save_network(net, tmp_path / name)
    assert load_network(path).trained_under == under
    if name.endswith(".pt"):  # both the torch file and its numpy sidecar
        assert torch.load(path, weights_only=True)["trained_under"] == under
        with np.load(sidecar_path(path)) as npz:
            assert json.loads(str(npz["meta"][()]))["trained_under"] == under


def _rewrite_meta(path, change) -> None:
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays.pop("meta")[()]))
    change(meta)
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def test_a_checkpoint_without_trained_under_still_loads(tmp_path):
    path = save_network(_tiny(), tmp_path / "net.npz")
    _rewrite_meta(path, lambda meta: meta.pop("trained_under"))
    assert load_network(path).trained_under is None


def test_a_malformed_trained_under_is_one_line(tmp_path):
    path = save_network(_tiny(), tmp_path / "net.npz")
    _rewrite_meta(path, lambda meta: meta.update(trained_under=["torch"]))
    with pytest.raises(LayerlapseError, match=r"^checkpoint: .* has a bad header: 'trained_under' is a list, not a dict"):
        load_network(path)
    assert zipfile.is_zipfile(path)


@pytest.mark.slow
def test_same_weights_in_a_dask_worker(plain):
    import dask
    from distributed import Client, LocalCluster

    from layerlapse.batch.cluster import worker_environ

    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn",
                          "distributed.nanny.pre-spawn-environ": worker_environ(1)}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        found = client.submit(_in_worker, pure=False).result(timeout=300)
    assert found == plain


def _in_worker() -> str:
    """TRAIN's output, run inside the worker process."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(TRAIN, "<train>", "exec"), {})
    return out.getvalue().strip()
