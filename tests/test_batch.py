"""``layerlapse batch``: sweeps on a real Dask cluster (spawned worker processes, no mocks).

Tiny jobs (two-curves, 96x64, a few frames, 2 epochs) keep the file near half a minute on
two cores; one cluster is shared by the tests that need no cluster of their own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import layerlapse as ll
from layerlapse._files import TEMP_NAME
from layerlapse.batch import MANIFEST, read_manifest, sha256
from layerlapse.cli import app
from layerlapse.sweep import read_sweep

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
    """Two spawned worker processes (VTK is not fork-safe), each under a nanny that restarts it."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(local)
        yield local.scheduler_address, client
        client.close()
        local.close()


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
        assert {o["kind"] for o in record["outputs"]} == {"network", "movie", "sheet"}
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
    (out / deleted["outputs"][1]["path"]).unlink()
    sheet = out / truncated["outputs"][2]["path"]
    sheet.write_bytes(sheet.read_bytes()[:100])
    redo = ll.batch(path, out, scheduler=address, progress=False)
    assert (redo.done, redo.failed, redo.skipped) == (2, 0, 2)
    assert sorted(r["id"] for r in records(out)[len(lines):]) == sorted([deleted["id"], truncated["id"]])
    latest = read_manifest(out)
    assert sha256(sheet) == next(o["sha256"] for o in latest[truncated["id"]]["outputs"] if o["kind"] == "sheet")
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
    # a failed job is run again next time (it may have been a bad day); the done one is not
    again = ll.batch(path, tmp_path / "out", scheduler=address, progress=False)
    assert (again.done, again.failed, again.skipped) == (0, 1, 1)


def test_a_killed_worker_is_retried(cluster, tmp_path):
    address, client = cluster
    path = sweep(tmp_path, "seed = [7]", epochs=2000)  # trains for a second or two: long enough to be killed in
    killed: list[int] = []

    def kill_once_started() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the scheduler says which worker runs the job
            busy = [w for w, keys in client.processing().items() if any(str(k).startswith("job-") for k in keys)]
            if busy:
                pid = client.run(os.getpid, workers=busy)[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_once_started)
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


def test_dry_run_lists_the_jobs(tmp_path):
    path = sweep(tmp_path)
    result = CliRunner().invoke(app, ["batch", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and all(re.match(r"[0-9a-f]{12}  run ", line) for line in lines[:4])
    assert lines[-1] == "4 jobs: 4 to run, 0 done" and not (tmp_path / "outputs").exists()
