"""``layerlapse batch``: sweeps on a real Dask cluster (spawned worker processes, no mocks).

Tiny jobs (two-curves, 96x64, a few frames, 2 epochs) keep the file under a minute on two
cores; one cluster is shared by the tests that need no cluster of their own. Two tests start
``dask scheduler`` and ``dask worker`` as the README shows, one with the worker in a mount
namespace of its own that hides OUT (a machine without the shared mount).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import kill_first_busy_worker, spawned_cluster
from typer.testing import CliRunner

import layerlapse as ll
from layerlapse._files import TEMP_NAME
from layerlapse.batch import MANIFEST, OutputKind, plan, read_manifest, read_sweep
from layerlapse.batch import cluster as cluster_module
from layerlapse.batch.driver import receive, record_of
from layerlapse.batch.job import run_job
from layerlapse.batch.manifest import Record, Status, append_record, sha256
from layerlapse.cli import app
from layerlapse.errors import LayerlapseError

pytestmark = pytest.mark.slow  # real Dask clusters, spawned workers

TINY = """
scenes = ["two-curves"]
outputs = {outputs}
size = "96x64"
seconds_per_stage = 0.1

[params]
points_per_curve = 24
samples_per_class = 40
grid_lines = 3

[training]
epochs = {epochs}
restarts = 1

[grid]
{grid}
"""


def sweep(folder: Path, grid: str = "seed = [0, 1]\nhidden = [[2], [3]]", *, outputs: str = '["movie", "sheet"]',
          epochs: int = 2, name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(TINY.format(grid=grid, outputs=outputs, epochs=epochs))
    return path


@pytest.fixture(scope="module")
def cluster():
    """Two spawned worker processes, each under a nanny that restarts it."""
    with spawned_cluster() as running:
        yield running


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The 4-job sweep, run on the cluster batch makes itself (2 workers, each restarted after 2 jobs)."""
    folder = tmp_path_factory.mktemp("batch")
    path = sweep(folder)
    result = ll.batch(path, folder / "out", workers=2, jobs_per_worker=2, progress=False)
    return path, folder / "out", result


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


def test_sweep_runs_on_a_local_cluster(finished):
    path, out, result = finished
    assert (result.done, result.failed, result.skipped) == (4, 0, 0)
    jobs = read_sweep(path)
    lines = records(out)
    assert sorted(r["id"] for r in lines) == sorted(job.id for job in jobs)
    for record in lines:
        assert record["status"] == "done" and record["error"] is None and 0 <= record["accuracy"] <= 1
        assert {o["kind"] for o in record["outputs"]} == {"network", "network-npz", "movie", "sheet"}
        for item in record["outputs"]:
            file = out / item["path"]
            assert file.stat().st_size == item["size"] and sha256(file) == item["sha256"]
    assert sorted(json.dumps([job.training["seed"], job.network["hidden"]]) for job in jobs) == [
        "[0, [2]]", "[0, [3]]", "[1, [2]]", "[1, [3]]"]
    workers = [record["worker"] for record in lines]
    assert max(workers.count(w) for w in workers) <= 2  # --jobs-per-worker 2: a fresh process after two
    assert len({job.id for job in jobs}) == 4 and all(re.fullmatch(r"[0-9a-f]{12}", job.id) for job in jobs)


def test_rerun_runs_nothing_and_redoes_a_damaged_job(finished, cluster):
    path, out, _ = finished
    address, _ = cluster
    again = ll.batch(path, out, scheduler=address, progress=False)
    assert (again.done, again.skipped) == (0, 4)
    lines = records(out)
    deleted, truncated = lines[0], lines[1]
    (out / next(o["path"] for o in deleted["outputs"] if o["kind"] == "movie")).unlink()
    sheet = out / next(o["path"] for o in truncated["outputs"] if o["kind"] == "sheet")
    sheet.write_bytes(sheet.read_bytes()[:100])
    redo = ll.batch(path, out, scheduler=address, progress=False)
    assert (redo.done, redo.failed, redo.skipped) == (2, 0, 2)
    assert sorted(r["id"] for r in records(out)[len(lines):]) == sorted([deleted["id"], truncated["id"]])
    latest = read_manifest(out)
    assert sha256(sheet) == next(o.sha256 for o in latest[truncated["id"]].outputs if o.kind is OutputKind.SHEET)
    forced = ll.batch(path, out, scheduler=address, force=True, progress=False)
    assert (forced.done, forced.skipped) == (4, 0)


def test_a_bad_parameter_fails_its_job_only(cluster, tmp_path):
    address, _ = cluster
    path = sweep(tmp_path, "gap = [0.35, -0.2]", outputs='["sheet"]')
    result = ll.batch(path, tmp_path / "out", scheduler=address, progress=False)
    assert (result.done, result.failed) == (1, 1)
    failed = next(r for r in records(tmp_path / "out") if r["status"] == "failed")
    assert failed["inputs"]["params"]["gap"] == -0.2 and failed["outputs"] == []
    assert "gap" in failed["error"] and "greater than 0" in failed["error"] and "\n" not in failed["error"]
    # a failed job is run again next time (it may have been a bad day); the done one is not; the
    # command names it with its error on the terminal, and exits 1
    cli = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "out"), "--scheduler", address,
                                   "--no-progress"])
    assert cli.exit_code == 1, cli.output
    assert cli.stderr.splitlines() == [f"failed: {failed['id']} two-curves points_per_curve=24 samples_per_class=40 "
                                       f"grid_lines=3 gap=-0.2 epochs=2 restarts=1: "
                                       f"{failed['error']}"]
    assert cli.stdout.startswith("0 done, 1 failed, 1 skipped; wrote ")


def _warm() -> None:
    import torch  # noqa: F401

    import layerlapse.app.api
    import layerlapse.networks.train
    import layerlapse.render.figure  # noqa: F401


def test_a_job_over_its_time_limit_is_stopped_and_the_others_go_on(cluster, tmp_path):
    address, client = cluster
    path = tmp_path / "sweep.toml"
    path.write_text(TINY.format(outputs='["sheet"]', epochs=2, grid="seed = [0]")
                    + '[[group]]\nlabel = "slow"\ntraining = { epochs = 100000 }\n[[group]]\nlabel = "quick"\n')
    client.run(_warm)  # the workers have imported what a job needs, so the quick job takes about a second
    start = time.monotonic()  # the slow job would train for minutes
    result = ll.batch(path, tmp_path / "out", scheduler=address, job_timeout=6, progress=False)
    assert time.monotonic() - start < 30
    assert (result.done, result.failed) == (1, 1), result.failures
    (slow,) = [r for r in records(tmp_path / "out") if r["status"] == "failed"]
    assert slow["error"] == "ran longer than --job-timeout 6 s; stopped, and its worker restarted"
    assert slow["inputs"]["training"]["epochs"] == 100000 and slow["outputs"] == []
    client.wait_for_workers(2, timeout=60)  # the restarted worker is back for the next tests


def test_a_killed_worker_is_retried(cluster, tmp_path):
    address, client = cluster
    path = sweep(tmp_path, "seed = [7]", epochs=2000)  # trains for a second or two: long enough to be killed in
    killed: list[int] = []

    killer = threading.Thread(target=kill_first_busy_worker, args=(client, "job-", killed))
    killer.start()
    result = ll.batch(path, tmp_path / "out", scheduler=address, retries=2, progress=False)
    killer.join()
    assert killed, "no job was seen running"
    assert (result.done, result.failed) == (1, 0)
    (record,) = records(tmp_path / "out")
    assert record["status"] == "done" and not record["worker"].endswith(f":{killed[0]}")
    job_folder = tmp_path / "out" / record["id"]
    assert not [p.name for p in job_folder.iterdir() if TEMP_NAME.fullmatch(p.name)]
    assert sorted(p.name for p in job_folder.iterdir()) == ["movie.mp4", "network.pt", "network.pt.npz", "sheet.png"]


def test_gallery_shows_a_thumbnail_per_job(finished, chromium, tmp_path):
    from PIL import Image
    from test_web import browse

    _, out, result = finished
    page = result.gallery.read_text()
    assert "http://" not in page and "https://" not in page
    dom = browse(chromium, result.gallery.resolve().as_uri(), tmp_path / "profile", "--dump-dom")
    images = re.findall(r'<img src="([^"]+)"', dom)
    assert len(images) == 4 and all((out / src).is_file() for src in images)
    png = tmp_path / "gallery.png"
    browse(chromium, result.gallery.resolve().as_uri(), tmp_path / "profile", f"--screenshot={png}")
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(float)
    assert pixels.std() > 10 and (pixels.reshape(-1, 3) != 255).any(axis=1).mean() > 0.05


@pytest.mark.parametrize(("text", "field"), [
    ("scenes = []", "scenes"),
    ('scenes = ["no-such-scene"]', "scenes[0]"),
    ('scenes = ["two-curves"]\ncolour = 1', "colour"),
    ('scenes = ["two-curves"]\noutputs = ["movie", "poster"]', "outputs"),
    ('scenes = ["two-curves"]\nsize = "big"', "size"),
    ('scenes = ["two-curves"]\n[grid]\nradius = [0.1]', "grid.radius"),
    ('scenes = ["two-curves"]\n[grid]\nseed = 3', "grid.seed"),
    ('scenes = ["two-curves"]\n[grid]\nseed = []', "grid"),
    ('scenes = ["missing.toml"]', "scenes[0]"),
    ("scenes = [", "not valid TOML"),
])
def test_bad_sweep_files_give_one_error_line(tmp_path, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for args in ([str(path), "--dry-run"], [str(path), "--no-progress"]):
        result = CliRunner().invoke(app, ["batch", *args])
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert field in lines[0], lines[0]
    assert not (tmp_path / "outputs").exists()


def test_a_repeated_job_is_listed_and_run_once(tmp_path):
    path = sweep(tmp_path, "seed = [0, 0, 0.0]")
    result = CliRunner().invoke(app, ["batch", str(path), "--dry-run"])
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[-1] == "1 jobs: 1 to run, 0 done (2 repeated in the sweep, listed once)"


@pytest.mark.parametrize("out", ["/proc/layerlapse-test/out", "/dev/null/out"])
def test_an_output_folder_that_cannot_be_written_is_one_line_before_any_cluster(tmp_path, out):
    start = time.monotonic()
    result = CliRunner().invoke(app, ["batch", str(sweep(tmp_path)), "-o", out, "--no-progress"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: out: ")
    assert time.monotonic() - start < 2  # no cluster was started


def test_a_manifest_that_cannot_be_appended_to_is_one_line(tmp_path):
    with pytest.raises(LayerlapseError, match=r"^out: cannot append to '/proc/manifest.jsonl' \(.*run the batch again"):
        append_record(Path("/proc"), Record(id="x", status=Status.FAILED, outputs=[]))


def test_a_manifest_that_is_not_a_file_is_one_line(tmp_path):
    (tmp_path / "out" / MANIFEST).mkdir(parents=True)
    (tmp_path / "afile").write_text("x")
    for out in (tmp_path / "out", tmp_path / "afile" / "out"):
        for extra in (["--dry-run"], ["--no-progress"]):
            result = CliRunner().invoke(app, ["batch", str(sweep(tmp_path)), "-o", str(out), *extra])
            lines = result.stderr.strip().splitlines()
            assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: out: "), result.stderr


def test_manifest_lines_of_the_wrong_shape_are_ignored(tmp_path):
    good = {"id": "a" * 12, "status": "done", "outputs": [{"kind": "sheet", "path": "x/s.png", "size": 1,
                                                             "sha256": "0" * 64}], "accuracy": 0.5, "wall_s": 1.0}
    bad = [{"id": "b" * 12, "status": "done", "outputs": [{"path": "x"}]}, {"id": "c" * 12, "status": "done",
           "accuracy": "high"}, {"id": 3, "status": "done"}, ["not", "a", "record"], {"id": "d" * 12},
           {"id": "e" * 12, "status": "done"}, {"id": "f" * 12, "status": "done", "outputs": []}]
    (tmp_path / MANIFEST).write_bytes(("\n".join(json.dumps(r) for r in [good, *bad]) + "\n").encode() + b"\xff\xfe\n")
    assert list(read_manifest(tmp_path)) == [good["id"]]


def test_dry_run_lists_the_jobs(tmp_path):
    path = sweep(tmp_path)
    result = CliRunner().invoke(app, ["batch", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and all(re.match(r"[0-9a-f]{12}  run ", line) for line in lines[:4])
    assert lines[-1] == "4 jobs: 4 to run, 0 done" and not (tmp_path / "outputs").exists()


# --- a cluster started by hand, as the README shows -------------------------------------------
@contextlib.contextmanager
def started_by_hand(folder: Path, *, wrap: tuple[str, ...] = (), workers: int = 1) -> Iterator[str]:
    """``dask scheduler`` and ``workers`` (0 or 1) ``dask worker`` as real processes (``wrap``: a
    command the worker runs under); -> the scheduler's address, once the worker has joined."""
    from distributed import Client

    root = str(Path(ll.__file__).resolve().parents[1])  # the workers import this layerlapse
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]),
           "DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD": "spawn"}
    file = folder / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs: list[subprocess.Popen] = []

    def start(*args: str, log: str) -> None:
        with (folder / log).open("w") as f:
            procs.append(subprocess.Popen(args, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True))

    def logs() -> str:
        return "\n".join((folder / name).read_text()[-2000:] for name in ("scheduler.log", "worker.log")
                         if (folder / name).exists())

    try:
        try:
            start(*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                  str(file), log="scheduler.log")
            deadline = time.monotonic() + 60
            address = None
            while address is None and procs[0].poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(OSError, ValueError, KeyError):  # not yet written, or half
                    address = json.loads(file.read_text())["address"]
                time.sleep(0.05)
            assert address, "no scheduler file within 60 s"
            if workers:
                start(*wrap, *dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                      log="worker.log")
                with Client(address, timeout=30) as client:
                    client.wait_for_workers(1, timeout=60)
        except Exception as exc:
            raise AssertionError(f"the cluster did not start ({exc})\n{logs()}") from exc
        yield address
    finally:
        for proc in procs:  # the worker's spawned processes are in its group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_a_cluster_started_by_hand(tmp_path):
    path = sweep(tmp_path, "seed = [0, 1]", outputs='["sheet"]')
    out = tmp_path / "out"
    with started_by_hand(tmp_path) as address:
        result = ll.batch(path, out, scheduler=address, progress=False)
    assert (result.done, result.failed, result.skipped) == (2, 0, 0)
    lines = records(out)
    assert sorted(r["id"] for r in lines) == sorted(job.id for job in read_sweep(path))
    for record in lines:
        assert record["status"] == "done" and not record["worker"].endswith(f":{os.getpid()}")
        for item in record["outputs"]:
            file = out / item["path"]
            assert file.stat().st_size == item["size"] and sha256(file) == item["sha256"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*(r["id"] for r in lines), MANIFEST, "index.html"])


def test_a_scheduler_without_workers_is_given_up_on(tmp_path, capsys):
    with started_by_hand(tmp_path, workers=0) as address:
        start = time.monotonic()
        with pytest.raises(LayerlapseError) as caught:
            ll.batch(sweep(tmp_path, "seed = [0]"), tmp_path / "out", scheduler=address, wait_for_workers=2,
                     job_timeout=1, progress=False)
    assert time.monotonic() - start < 2 + 6  # the wait, a poll, the client's start and close
    assert str(caught.value) == (f"scheduler: {address} has had no workers for 2 s; start `dask worker {address}` "
                                 "(or give --wait-for-workers more seconds), then run the batch again")
    assert capsys.readouterr().err.count(f"notice: batch: {address} has no workers") == 1
    assert not (tmp_path / "out" / MANIFEST).exists()  # a job that never ran is not timed out


def test_a_scheduler_that_dies_mid_sweep_is_one_line_and_the_rerun_resumes(cluster, tmp_path):
    import psutil

    path = sweep(tmp_path, "seed = [0, 1, 2, 3, 4, 5]", outputs='["movie"]')
    out = tmp_path / "out"

    def kill_the_scheduler_after_one_job() -> None:
        deadline = time.monotonic() + 60
        while not ((out / MANIFEST).exists() and (out / MANIFEST).read_text().count("\n") >= 1):
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        for proc in psutil.process_iter(["cmdline"]):
            if "scheduler" in (proc.info["cmdline"] or []) and str(tmp_path) in " ".join(proc.info["cmdline"]):
                with contextlib.suppress(psutil.Error):
                    proc.kill()
                    killed.append(proc.pid)

    killed: list[int] = []

    with started_by_hand(tmp_path) as address:
        killer = threading.Thread(target=kill_the_scheduler_after_one_job)
        killer.start()
        with pytest.raises(LayerlapseError) as caught:
            ll.batch(path, out, scheduler=address, progress=False)
        killer.join()
    assert killed, "the scheduler was not found to kill"
    message = str(caught.value)
    assert message.startswith(f"scheduler: lost the connection to {address}") and "run the batch again" in message
    done = [r["id"] for r in records(out)]
    assert 1 <= len(done) < 6 and (out / "index.html").is_file()
    result = ll.batch(path, out, scheduler=cluster[0], progress=False)  # resumed on another cluster
    assert (result.done, result.skipped, result.failed) == (6 - len(done), len(done), 0)


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_within_seconds(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT_S", 1.5)  # the real 5 s, shortened
    address = f"tcp://127.0.0.1:{unused_port()}"
    start = time.monotonic()
    with pytest.raises(LayerlapseError) as caught:
        ll.batch(sweep(tmp_path), tmp_path / "out", scheduler=address, progress=False)
    assert time.monotonic() - start < cluster_module.CONNECT_TIMEOUT_S + 3
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"scheduler: {address!r}: no Dask scheduler answered")
    assert not (tmp_path / "out").exists()


@contextlib.contextmanager
def answering(answer: bytes | None) -> Iterator[str]:
    """A TCP server that accepts and then sends ``answer`` (None: says nothing); -> its address."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):  # the server is closed at the end
            while True:
                conn, _ = server.accept()
                accepted.append(conn)
                if answer is not None:
                    conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        for conn in [server, *accepted]:
            conn.close()


@pytest.mark.parametrize(("answer", "scheme", "says"), [
    (None, "tcp", "no Dask scheduler answered within 1 s"),  # e.g. the dashboard's port: accepts, never answers
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "tcp", "what answered is not a Dask scheduler"),
    (None, "http", "is not a scheduler address"),
], ids=["silent", "http-server", "bad-scheme"])
def test_a_wrong_scheduler_address_is_one_error_line(tmp_path, monkeypatch, answer, scheme, says):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT_S", 1.0)
    with answering(answer) as address:
        address = address.replace("tcp", scheme, 1)
        start = time.monotonic()
        result = CliRunner().invoke(app, ["batch", str(sweep(tmp_path)), "-o", str(tmp_path / "out"),
                                          "--scheduler", address, "--no-progress"])
    assert time.monotonic() - start < 5
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: scheduler: {address!r}") and says in lines[0], lines[0]


# --- workers that cannot see the driver's folder ---------------------------------------------
def test_a_worker_without_the_folder_returns_its_files(tmp_path):
    (job,) = read_sweep(sweep(tmp_path, "seed = [0]", outputs='["trajectory"]'))  # no drawing: fast, in-process
    out = tmp_path / "out"
    marker = tmp_path / "marker"
    # another machine: the driver's marker is not there, so nothing is written at the driver's path
    shipped = run_job(job, str(out / job.id), str(marker))
    assert shipped.status is Status.DONE and shipped.address is None, shipped.error
    assert not out.exists()
    files = shipped.files
    assert files is not None and sorted(files) == ["network.pt", "network.pt.npz", "trajectory.npz"]
    record = record_of(job, out, shipped)  # the driver writes them, then hashes what it wrote
    assert sorted(p.name for p in (out / job.id).iterdir()) == sorted(files)  # no temporaries left
    assert [o.kind for o in record.outputs] == [OutputKind.NETWORK, OutputKind.NETWORK_NPZ, OutputKind.TRAJECTORY]
    for item in record.outputs:
        data = files[Path(item.path).name]
        assert (out / item.path).read_bytes() == data and item.sha256 == hashlib.sha256(data).hexdigest()
    # the same machine (or a shared mount): the marker is there, the files are written in place, no bytes return
    marker.touch()
    shared = run_job(job, str(tmp_path / "shared" / job.id), str(marker))
    assert shared.status is Status.DONE and shared.files is None
    assert sorted(p.name for p in (tmp_path / "shared" / job.id).iterdir()) == sorted(files)
    with np.load(tmp_path / "shared" / job.id / "trajectory.npz") as a, np.load(out / job.id / "trajectory.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)
    with pytest.raises(LayerlapseError, match="outside"):
        receive(out / job.id, {"../escape.png": b""})
    # a worker wrote in place but the driver cannot see the file (a stale NFS cache): that job fails, in one line
    lost = record_of(job, tmp_path / "elsewhere", shared)
    assert lost.status is Status.FAILED and lost.outputs == [] and lost.error and "\n" not in lost.error
    assert lost.error.startswith(str(tmp_path / "elsewhere" / job.id / "network.pt")) and "cannot read" in lost.error


def can_hide_a_folder() -> bool:
    """Whether a process can get a mount namespace of its own (to play a machine without OUT)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not can_hide_a_folder(), reason="needs unshare with user and mount namespaces")
def test_a_worker_that_cannot_see_out_ships_its_files_back(tmp_path):
    path = sweep(tmp_path, "seed = [0, 1]", outputs='["sheet"]')
    out = tmp_path / "out"
    out.mkdir()
    # the worker sees an empty tmpfs at OUT, as a machine without the shared mount sees its own disk
    hide = ("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", 'mount -t tmpfs tmpfs "$0" && exec "$@"',
            str(out))
    with started_by_hand(tmp_path, wrap=hide) as address:
        result = ll.batch(path, out, scheduler=address, progress=False)
    assert (result.done, result.failed) == (2, 0), [r["error"] for r in records(out)]
    for record in records(out):
        assert {p.name for p in (out / record["id"]).iterdir()} == {"network.pt", "network.pt.npz", "sheet.png"}
        for item in record["outputs"]:
            assert sha256(out / item["path"]) == item["sha256"]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # the marker is gone


# --- scene files in sweeps --------------------------------------------------------------------
SCENE_FILE = """
family = "two-curves"
[params]
points_per_curve = {points}
samples_per_class = 40
grid_lines = 3
"""


def test_a_sweep_of_a_scene_file(cluster, tmp_path):
    address, _ = cluster
    (tmp_path / "scenes").mkdir()
    scene = tmp_path / "scenes" / "curves.toml"
    scene.write_text(SCENE_FILE.format(points=24))
    path = tmp_path / "sweep.toml"
    path.write_text('scenes = ["scenes/curves.toml"]\noutputs = ["sheet"]\nsize = "96x64"\n'
                    "[training]\nepochs = 2\nrestarts = 1\n[grid]\nseed = [0]\n")
    out = tmp_path / "out"
    result = ll.batch(path, out, scheduler=address, progress=False)
    assert (result.done, result.failed) == (1, 0), [r["error"] for r in records(out)]
    (record,) = records(out)
    assert record["inputs"]["scene"] == str(scene.resolve()) and record["inputs"]["scene_hash"] == sha256(scene)
    assert "curves.toml" in result.gallery.read_text()
    # editing the scene file makes another job: the next run redoes it
    (job,) = read_sweep(path)
    scene.write_text(SCENE_FILE.format(points=32))
    (edited,) = read_sweep(path)
    assert edited.id != record["id"] and plan([edited], out) == ([edited], [])
    # a job whose scene file changed after the sweep was read fails, rather than be filed under the old id
    stale = run_job(job, str(tmp_path / "stale" / job.id))
    assert stale.status is Status.FAILED and "not the file the sweep was read with" in (stale.error or "")
    again = ll.batch(path, out, scheduler=address, progress=False)
    assert (again.done, again.skipped) == (1, 0) and records(out)[-1]["id"] == edited.id
    # a grid sweeps a scene file's family parameters over the file's own; other keys are refused, naming the field
    path.write_text('scenes = ["scenes/curves.toml"]\n[grid]\npoints_per_curve = [24, 32]\n')
    swept = read_sweep(path)
    assert [j.params for j in swept] == [{"points_per_curve": 24}, {"points_per_curve": 32}]
    assert len({j.id for j in swept}) == 2
    path.write_text('scenes = ["scenes/curves.toml"]\n[grid]\nminor_radius = [0.1]\n')
    cli = CliRunner().invoke(app, ["batch", str(path), "--dry-run"])
    lines = cli.stderr.strip().splitlines()
    assert cli.exit_code == 2 and len(lines) == 1, cli.stderr
    assert "grid.minor_radius: unknown key 'minor_radius' for curves.toml" in lines[0] and "points_per_curve" in lines[0]


# --- the package itself -------------------------------------------------------------------------
def test_the_batch_package_has_no_import_cycle():
    """Each module of layerlapse.batch imports (at the top or in a function) only modules below it."""
    folder = Path(ll.__file__).parent / "batch"
    graph: dict[str, set[str]] = {}
    for file in folder.glob("*.py"):
        name = "layerlapse.batch" + ("" if file.stem == "__init__" else f".{file.stem}")
        imported = set()
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        graph[name] = {m for m in imported if m.startswith("layerlapse.batch")} - {name}
    assert set(graph) >= {f"layerlapse.batch.{m}" for m in ("manifest", "sweep", "job", "driver", "gallery",
                                                            "reproduce")}
    graph = {name: {m for m in deps if m in graph} for name, deps in graph.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(m == goal or (m not in seen and reaches(m, goal, seen | {m})) for m in graph[start])

    assert [name for name in graph if reaches(name, name, set())] == []


def test_a_dry_run_imports_neither_vtk_nor_dask(tmp_path):
    """``layerlapse batch SWEEP --dry-run`` reads the sweep and the manifest: no drawing, no cluster."""
    root = Path(ll.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "layerlapse", "batch",
                          str(root / "examples" / "small-sweep.toml"), "--dry-run"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines()[-1] == "4 jobs: 4 to run, 0 done"
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "layerlapse.batch.sweep" in imported  # what -X importtime lists is what the run imported
    top = {name.split(".")[0] for name in imported}
    assert not top & {"vtkmodules", "pyvista", "dask", "distributed"}, sorted(top & {"vtkmodules", "pyvista", "dask",
                                                                                     "distributed"})


def test_ctrl_c_while_the_local_cluster_starts_is_one_line_and_leaves_no_process(tmp_path):
    """An interrupt inside the local cluster's constructor (its workers still starting, here held
    in a preload that sleeps): the cluster is closed there, so Python's exit finds nothing
    half-started for Dask's exit hook to fail on (a traceback), and no worker is left behind."""
    import psutil

    slow = tmp_path / "slow_start.py"
    slow.write_text("import time\n\ntime.sleep(120)  # the worker process never gets to join\n")
    root = Path(ll.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "DASK_DISTRIBUTED__WORKER__PRELOAD": json.dumps([str(slow)])}
    proc = subprocess.Popen([sys.executable, "-m", "layerlapse", "batch", str(sweep(tmp_path, "seed = [0]")), "-o",
                             str(tmp_path / "out"), "--workers", "1", "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (children := psutil.Process(proc.pid).children(recursive=True)):  # the spawned worker
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no worker process started (rc {proc.poll()}): {proc.communicate()}")
        time.sleep(0.05)
    time.sleep(1.0)  # it is importing its preload now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    # the gallery is written on the way out (an empty table), and the line says it was kept
    gallery = tmp_path / "out" / "index.html"
    assert err.splitlines() == [f"interrupted: batch stopped; no partial file was left; {gallery} was written "
                                "complete and kept"], err
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive
    assert not (tmp_path / "out" / MANIFEST).exists()
