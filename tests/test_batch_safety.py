"""``layerlapse batch`` and the files it may touch: manifest paths confined to OUT, and one
driver per OUT (``OUT/.lock``). The fast tests run no cluster (a held lock stops the driver
before one starts); the two drivers racing on one OUT are in the slow lane."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import layerlapse as ll
from layerlapse.batch import MANIFEST, plan, read_manifest, read_sweep
from layerlapse.batch.driver import receive, record_of
from layerlapse.batch.gallery import write_gallery
from layerlapse.batch.job import JobResult
from layerlapse.batch.lock import BUSY_EXIT, LOCK, Busy, locked
from layerlapse.batch.manifest import OutputKind, Status, sha256
from layerlapse.cli import app
from layerlapse.errors import LayerlapseError

SWEEP = """
scenes = ["two-curves"]
outputs = ["sheet"]
size = "96x64"

[params]
points_per_curve = 24
samples_per_class = 40
grid_lines = 3

[training]
epochs = 2
restarts = 1

[grid]
seed = [0, 1]
hidden = [[2], [3]]
"""


def sweep(folder: Path) -> Path:
    path = folder / "sweep.toml"
    path.write_text(SWEEP)
    return path


def done_record(job_id: str, path: str, file: Path) -> str:
    """A manifest line saying ``job_id`` is done, its sheet at ``path`` with ``file``'s size and hash."""
    return json.dumps({"id": job_id, "status": "done", "accuracy": 1.0, "outputs": [
        {"kind": "sheet", "path": path, "size": file.stat().st_size, "sha256": sha256(file)}]}) + "\n"


# --- case 5: every path a manifest names stays in OUT --------------------------------------
@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path, str]:
    """OUT with a sweep's first job, and a file outside OUT that a record could point to."""
    out = tmp_path / "deep" / "er" / "out"
    out.mkdir(parents=True)
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"\x89PNG not ours")
    return out, outside, read_sweep(sweep(tmp_path))[0].id


@pytest.mark.parametrize("how", ["dotdot", "deep-dotdot", "absolute", "backslash", "symlinked-file",
                                 "symlinked-folder"])
def test_a_done_record_naming_a_file_outside_out_is_ignored(planted, how):
    out, outside, job_id = planted
    path = {"dotdot": "../../../outside.png", "deep-dotdot": "../" * 40 + str(outside).lstrip("/"),
            "absolute": str(outside), "backslash": f"{job_id}/..\\..\\..\\..\\outside.png"}.get(how, f"{job_id}/s.png")
    if how == "backslash":  # a real file of that name in OUT/JOBID; a browser reads the \ as /
        (out / job_id).mkdir()
        (out / path).write_bytes(outside.read_bytes())
    elif how == "symlinked-file":
        (out / job_id).mkdir()
        (out / path).symlink_to(outside)
    elif how == "symlinked-folder":
        (out / job_id).symlink_to(outside.parent, target_is_directory=True)
        (outside.parent / "s.png").write_bytes(outside.read_bytes())
    (out / MANIFEST).write_text(done_record(job_id, path, outside if how != "backslash" else out / path))
    jobs = read_sweep(out.parents[2] / "sweep.toml")
    todo, skipped = plan(jobs, out)
    assert job_id in {job.id for job in todo} and not skipped  # redone, not skipped as done
    assert job_id not in read_manifest(out)
    page = write_gallery(out, jobs).read_text()
    assert "outside" not in page and "s.png" not in page and "..\\" not in page


def test_the_etc_hostname_probe_is_redone(tmp_path):
    """The issue's probe: a done record pointing at ../../../../etc/hostname with its size and hash."""
    hostname = Path("/etc/hostname")
    if not hostname.is_file():
        pytest.skip("no /etc/hostname here")
    out = tmp_path / "out"
    out.mkdir()
    jobs = read_sweep(sweep(tmp_path))
    (out / MANIFEST).write_text(done_record(jobs[0].id, "../" * 40 + "etc/hostname", hostname))
    result = CliRunner().invoke(app, ["batch", str(tmp_path / "sweep.toml"), "-o", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "4 jobs: 4 to run, 0 done"


def test_a_record_inside_out_still_counts_as_done(planted):
    out, _, job_id = planted
    (out / job_id).mkdir()
    (out / job_id / "s.png").write_bytes(b"a sheet")
    (out / MANIFEST).write_text(done_record(job_id, f"{job_id}/s.png", out / job_id / "s.png"))
    todo, skipped = plan(read_sweep(out.parents[2] / "sweep.toml"), out)
    assert [job.id for job in skipped] == [job_id] and len(todo) == 3
    assert f'href="{job_id}/s.png"' in write_gallery(out, skipped).read_text()


@pytest.mark.parametrize("how", ["dotdot", "backslash", "absolute", "hidden"])
def test_a_worker_cannot_name_a_file_outside_its_jobs_folder(planted, how):
    out, outside, job_id = planted
    job = read_sweep(out.parents[2] / "sweep.toml")[0]
    (out / job_id).mkdir()
    name = {"dotdot": "../escape.png", "backslash": "..\\escape.png", "absolute": str(outside),
            "hidden": ".hidden"}[how]
    if how != "absolute":  # a file there, so only the name can be what fails the job
        (out / job_id / name).write_bytes(b"x")
    record = record_of(job, out, JobResult(Status.DONE, outputs={OutputKind.SHEET: name}))
    assert record.status is Status.FAILED and record.outputs == [] and "is not a file in" in (record.error or "")
    before = sorted(p.name for p in (out / job_id).iterdir())
    with pytest.raises(LayerlapseError, match="not written outside"):
        receive(out / job_id, {name: b"y"})
    assert sorted(p.name for p in (out / job_id).iterdir()) == before and outside.read_bytes() != b"y"


# --- case 6: one driver per OUT ---------------------------------------------------------------
@contextlib.contextmanager
def held_by_another_process(out: Path, seconds: float = 60.0) -> Iterator[subprocess.Popen]:
    """A child process holding ``out``'s lock as a driver does (for ``seconds`` at most)."""
    code = ("import sys, time; from pathlib import Path; from layerlapse.batch.lock import locked\n"
            f"with locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep({seconds})\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(ll.__file__).parents[1])})
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        yield child
    finally:
        child.kill()
        child.wait()


def test_a_second_driver_names_the_holder_and_exits_75(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with held_by_another_process(out) as child:
        result = CliRunner().invoke(app, ["batch", str(sweep(tmp_path)), "-o", str(out), "--no-progress"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == BUSY_EXIT == 75 and len(lines) == 1, result.output
    assert lines[0].startswith(f"error: out: {str(out.resolve())!r} is in use by another batch (pid {child.pid} on "
                               f"{socket.gethostname()!r} since 20")
    assert not (out / MANIFEST).exists() and not (out / "index.html").exists()


def test_the_lock_goes_with_its_process(tmp_path):
    """No stale lock: a holder killed outright leaves the folder free at once."""
    with held_by_another_process(tmp_path, seconds=600):
        with pytest.raises(Busy), locked(tmp_path):
            pass
    with locked(tmp_path):  # the child was killed (SIGKILL) on leaving the block
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()


def test_wait_waits_for_the_holder_and_no_longer(tmp_path):
    with held_by_another_process(tmp_path, seconds=1.0):
        start = time.monotonic()
        with locked(tmp_path, wait=30):  # the file the holder removed is not the one held now
            assert 0.3 < time.monotonic() - start < 20
            assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK).exists()  # gone with the batch that held it
    with held_by_another_process(tmp_path), pytest.raises(Busy, match=r"; waited 0\.5 s; "):
        start = time.monotonic()
        with locked(tmp_path, wait=0.5):
            pass
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(("value", "says"), [("-1", "wait: -1 is out of range; allowed: 0 to 86400 seconds"),
                                             ("nan", "wait: nan is not a number; allowed: 0 to 86400 seconds"),
                                             ("1e9", "wait: 1e+09 is out of range; allowed: 0 to 86400 seconds")])
def test_a_bad_wait_is_one_line(tmp_path, value, says):
    result = CliRunner().invoke(app, ["batch", str(sweep(tmp_path)), "-o", str(tmp_path / "out"), "--wait", value])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {says}", result.output
    assert not (tmp_path / "out").exists()


def test_a_dry_run_takes_no_lock(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with held_by_another_process(out):
        result = CliRunner().invoke(app, ["batch", str(sweep(tmp_path)), "-o", str(out), "--dry-run"])
    assert result.exit_code == 0 and result.stdout.splitlines()[-1] == "4 jobs: 4 to run, 0 done", result.output
    fresh = tmp_path / "fresh"
    assert CliRunner().invoke(app, ["batch", str(tmp_path / "sweep.toml"), "-o", str(fresh), "--dry-run"]).exit_code == 0
    assert not fresh.exists()  # nothing written, not even the lock file


def test_reproduce_is_held_off_as_batch_is(tmp_path):
    out = tmp_path / "repro"
    out.mkdir()
    with held_by_another_process(out) as child:
        result = CliRunner().invoke(app, ["reproduce", "-o", str(out), "--seeds", "1", "--epochs", "1",
                                          "--no-progress"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == BUSY_EXIT and len(lines) == 1 and f"(pid {child.pid} on " in lines[0], result.output
    assert sorted(p.name for p in out.iterdir()) == [LOCK]  # no sweep, table or key frame left


def test_a_symlink_planted_as_the_lock_is_not_followed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(LayerlapseError, match=r"^out: cannot open the lock file .*\.lock'"):
        ll.batch(sweep(tmp_path), out, progress=False)
    assert not (tmp_path / "elsewhere").exists()


# --- the real thing: two drivers at once on one OUT (real Dask clusters) -------------------------
def driver(sweep_file: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "layerlapse", "batch", str(sweep_file), "-o", str(out),
                             "--workers", "1", "--no-progress", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(ll.__file__).parents[1])})


def holds(out: Path, pid: int) -> bool:
    """Whether process ``pid`` wrote itself into ``out``'s lock file (read, not locked: taking the
    lock to test it could make the driver's own attempt fail)."""
    try:
        return json.loads((out / LOCK).read_text())["pid"] == pid
    except (OSError, ValueError, KeyError):
        return False


@pytest.mark.slow
def test_two_drivers_on_one_out_run_each_job_once(tmp_path):
    """The issue's probe: two drivers at once made 8 records for 4 jobs."""
    path, out = sweep(tmp_path), tmp_path / "out"
    out.mkdir()
    first = driver(path, out)
    deadline = time.monotonic() + 120
    while not holds(out, first.pid):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = driver(path, out)  # no --wait: refused at once
    waiter = driver(path, out, "--wait", "600")  # waits, then finds every job done
    _, refused = second.communicate(timeout=120)
    assert second.returncode == 75 and refused.count("\n") == 1 and f"(pid {first.pid} on " in refused, refused
    ran, _ = first.communicate(timeout=600)
    waited, _ = waiter.communicate(timeout=600)
    assert first.returncode == 0 and "4 done, 0 failed, 0 skipped" in ran, ran
    assert waiter.returncode == 0 and "0 done, 0 failed, 4 skipped" in waited, waited
    assert len((out / MANIFEST).read_text().splitlines()) == 4


@pytest.mark.slow
def test_a_job_folder_that_is_a_symlink_out_of_out_is_failed_unrun(tmp_path):
    path, out, elsewhere = sweep(tmp_path), tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    jobs = read_sweep(path)
    (out / jobs[0].id).symlink_to(elsewhere, target_is_directory=True)
    result = ll.batch(path, out, workers=1, progress=False)
    assert (result.done, result.failed) == (3, 1) and "leads outside" in result.failures[0][1]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("option", ["--wait-for-workers", "--job-timeout"])
def test_a_nan_time_limit_is_not_a_number_in_one_line(tmp_path, option):
    sweep = Path(__file__).resolve().parents[1] / "examples" / "small-sweep.toml"
    result = CliRunner().invoke(app, ["batch", str(sweep), "-o", str(tmp_path / "out"), option, "nan", "--no-progress"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not a number; allowed: 1 to" in lines[0], result.output
    assert not (tmp_path / "out" / MANIFEST).exists()
