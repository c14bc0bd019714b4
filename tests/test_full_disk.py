"""A disk that cannot take an output: one line naming the file, exit 74, nothing partial left.

The fast tests make the write fail (an ``OSError`` of errno 28, a writer that stops early);
the slow ones write onto a real full disk, a 64 KiB tmpfs mounted in a private mount
namespace (``unshare -m``: root, as CI runs; skipped where that is not permitted), and send
real signals to a process whose output is already complete.
"""

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from layerlapse import _files
from layerlapse._activity import Interrupted
from layerlapse._files import WriteError, as_write_error, atomic_output, forget_written, remember_written
from layerlapse.cli import app
from layerlapse.cli.group import EXIT_WRITE, error_report, interrupt_line
from layerlapse.errors import LayerlapseError

TINY = ["--set", "points_per_curve=40", "--set", "samples_per_class=100", "--set", "grid_lines=3", "--epochs", "2"]
SMALL_MOVIE = ["--size", "96x64", "--fps", "4", "--seconds-per-stage", "0.25", "--no-progress"]
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def leftovers(folder="."):
    return sorted(p.name for p in Path(folder).iterdir() if ".layerlapse-" in p.name)


@pytest.fixture(autouse=True)
def _fresh_written():
    forget_written()
    yield
    forget_written()


def test_a_full_disk_under_the_trajectory_is_one_line_and_keeps_the_movie(monkeypatch):
    def full(file, **arrays):
        Path(file).write_bytes(b"PK\x03\x04 half a zip")
        raise ENOSPC

    monkeypatch.setattr(np, "savez_compressed", full)
    r = CliRunner().invoke(app, ["render", "two-curves", *TINY, *SMALL_MOVIE, "-o", "x.mp4", "--save-trajectory", "t.npz"])
    assert not isinstance(r.exception, OSError), r.exception  # today: the traceback of np.savez_compressed
    assert r.exit_code == EXIT_WRITE == 74
    assert re.fullmatch(r"error: save_trajectory: could not write 't\.npz' \(No space left on device\); no partial "
                        r"file was left; \S+/cache/networks/two-curves/network-\w+\.pt, x\.mp4 were written complete and "
                        r"kept\n",
                        r.stderr), r.stderr  # the network trained for it is cached (its numpy sidecar not named)
    assert Path("x.mp4").is_file() and not Path("t.npz").exists() and leftovers() == []


def test_a_full_disk_under_the_gallery_says_what_the_manifest_keeps(monkeypatch):
    from layerlapse.batch.gallery import write_gallery
    from layerlapse.batch.sweep import read_sweep

    Path("sweep.toml").write_text('scenes = ["two-curves"]\noutputs = ["movie"]\n[grid]\nseed = [0, 1]\n')
    out = Path("out").resolve()
    out.mkdir()
    Path("old").write_text("")

    def full(self, *args, **kwargs):
        raise ENOSPC

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(WriteError) as caught:
        write_gallery(out, read_sweep("sweep.toml"))
    assert str(caught.value) == (
        f"gallery: could not write '{out}/index.html' (No space left on device); no partial file was left; the "
        f"manifest '{out}/manifest.jsonl' keeps every job's record (0 done, 0 failed): make room, then run the "
        "batch again (done jobs are skipped)")
    assert os.listdir(out) == []


@pytest.mark.parametrize("suffix", [".pdf", ".eps", ".svg"])
def test_a_vector_figure_cut_short_is_refused(suffix):
    """VTK's GL2PS export says nothing when the disk fills: the file's missing end tells."""
    Path(f"f{suffix}").write_bytes(b"%PDF-1.4 whole %%EOF\n" if suffix == ".pdf" else b"%!PS </svg> %%EOF")
    with pytest.raises(WriteError, match=r"could not write 'f\.\w+' \(the file ends early, without '.*'\); no "
                                         r"partial file was left; the existing f\.\w+ is unchanged"):
        with atomic_output(f"f{suffix}") as tmp:
            tmp.write_bytes(b"%PDF-1.4\n" + b"x" * 4000 if suffix == ".pdf" else b"<svg" + b"x" * 4000)
    assert leftovers() == [] and Path(f"f{suffix}").read_bytes().endswith((b"%%EOF\n", b"%%EOF"))
    with atomic_output(f"g{suffix}") as tmp:  # a whole one passes
        tmp.write_bytes({".pdf": b"%PDF-1.4\n%%EOF\n", ".eps": b"%!PS\nshowpage\n", ".svg": b"<svg></svg>\n"}[suffix])
    assert Path(f"g{suffix}").exists()


def test_any_error_of_a_writer_on_a_full_disk_is_a_write_error(monkeypatch):
    """torch.save raises RuntimeError when its writes fail; on a disk with no room that is the disk."""
    def torch_on_a_full_disk(tmp):
        tmp.write_bytes(b"PK")
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    with pytest.raises(RuntimeError, match="PytorchStreamWriter"):  # room left: a bug, as it was
        with atomic_output("n.pt", "checkpoint") as tmp:
            torch_on_a_full_disk(tmp)
    monkeypatch.setattr(_files, "disk_full", lambda folder: True)
    with pytest.raises(WriteError, match=r"^checkpoint: could not write 'n\.pt' \(No space left on device\)"):
        with atomic_output("n.pt", "checkpoint") as tmp:
            torch_on_a_full_disk(tmp)
    with pytest.raises(LayerlapseError, match=r"^bad") as caught:  # bad input stays bad input
        with atomic_output("n.pt") as tmp:
            raise LayerlapseError("bad")
    assert not isinstance(caught.value, WriteError) and leftovers() == []


@pytest.mark.parametrize(("cause", "storage"), [
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
    (OSError(errno.EIO, "Input/output error"), True),
    (OSError(errno.EROFS, "Read-only file system"), True),  # turned read-only while writing
    (OSError(errno.EACCES, "Permission denied"), False),
    ("[out#0/mp4] Error writing trailer: No space left on device", True),  # ffmpeg's words
    ("Invalid argument", False),
    (KeyboardInterrupt(), False),
])
def test_what_counts_as_the_storage_failing(cause, storage):
    got = as_write_error(cause, Path("x.mp4"))
    assert (got is not None) == storage
    if storage:
        assert str(got).startswith("out: could not write 'x.mp4' (") and "no partial file was left" in str(got)


def test_exit_codes_tell_a_full_disk_from_bad_input():
    assert error_report(LayerlapseError("at: unknown stage")) == ("error: at: unknown stage", 2)
    assert error_report(WriteError("out: could not write 'x'"))[1] == 74
    try:  # the manifest's append: a LayerlapseError raised while handling ENOSPC
        try:
            raise ENOSPC
        except OSError:
            raise LayerlapseError("out: cannot append to 'manifest.jsonl' (No space left on device)") from None
    except LayerlapseError as exc:
        assert error_report(exc)[1] == 74
    remember_written("a.mp4")
    assert error_report(OSError(errno.ENOSPC, "No space left on device", "log.txt")) == (
        "error: writing 'log.txt' failed (No space left on device); a.mp4 was written complete and kept", 74)
    assert error_report(OSError(errno.ENOENT, "No such file")) is None  # a bug keeps its traceback
    assert error_report(ValueError("x")) is None


def test_a_failed_frame_folder_write_is_a_write_error(monkeypatch):
    import imageio.v3 as iio

    from layerlapse.render.encoder import FrameWriter

    def full(*args, **kwargs):
        raise ENOSPC

    monkeypatch.setattr(iio, "imwrite", full)
    with pytest.raises(WriteError, match=r"^out: could not write 'frames' \(No space left on device\)"):
        with FrameWriter("frames", (16, 16), 4) as writer:
            for _ in range(20):
                writer.write(np.zeros((16, 16, 3), np.uint8))
                time.sleep(0.01)
    assert os.listdir(".") == []


def test_an_interrupt_after_the_output_is_complete_says_it_was_kept():
    """The signal lands after the rename (the output line, the visibility notices, exit)."""
    remember_written("out/x.mp4")
    late = Interrupted(signal.SIGTERM)
    assert interrupt_line(late, "render") == ("terminated: render stopped; no partial file was left; "
                                              "out/x.mp4 was written complete and kept")
    during = Interrupted(signal.SIGTERM)  # in the commit itself, just after the rename
    during.activity, during.target = "writing", Path("out/x.mp4")
    assert interrupt_line(during, "render") == ("terminated: render stopped while writing; no partial file was left; "
                                                "out/x.mp4 was written complete and kept")
    cut = Interrupted(signal.SIGINT)  # the movie kept, the trajectory after it not written
    cut.activity, cut.target = "writing", Path("t.npz")
    assert interrupt_line(cut, "render") == ("interrupted: render stopped while writing; no partial file was left "
                                             "(t.npz was not written); out/x.mp4 was written complete and kept")


# --- real processes ------------------------------------------------------------------------

def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def on_a_full_disk(tmp_path: Path, free_kb: int, command: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``command`` with ``tmp_path/full`` a 64 KiB tmpfs of which ``free_kb`` are free; it
    prints the exit code, then what is left on the disk."""
    full = tmp_path / "full"
    full.mkdir(exist_ok=True)
    script = (f"mount -t tmpfs -o size=64k tmpfs {full} || exit 99; "
              f"dd if=/dev/zero of={full}/filler bs=1k count={64 - free_kb} 2>/dev/null; "
              f"{' '.join(command)}; echo \"rc=$?\"; ls -A {full}")
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})


@pytest.fixture(scope="module")
def mountable(tmp_path_factory):
    """Whether this process may mount a tmpfs in a mount namespace of its own (root)."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        pytest.skip("needs Linux's unshare")
    probe = on_a_full_disk(tmp_path_factory.mktemp("probe"), 60, ["true"], timeout=30)
    if "rc=0" not in probe.stdout:
        pytest.skip(f"cannot mount a tmpfs here (not root?): {probe.stderr.strip()[:200]}")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("network") / "two-curves.pt"
    subprocess.run(python("-m", "layerlapse", "train", "two-curves", *TINY, "--no-progress", "--checkpoint", str(path)),
                   check=True, capture_output=True, timeout=180)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("output", ["x.mp4", "frames", "f.pdf", "f.png", "t.npz", "e.ply"])
def test_a_real_full_disk_is_one_line_exit_74_and_nothing_left(mountable, checkpoint, tmp_path, output):
    full = tmp_path / "full"
    base = ["--checkpoint", str(checkpoint), *TINY[:-2]]
    if output in ("x.mp4", "frames"):
        args = ["render", "two-curves", *base, *SMALL_MOVIE, "-o", f"{full}/{output}"]
    elif output == "t.npz":
        args = ["render", "two-curves", *base, *SMALL_MOVIE, "-o", f"{tmp_path}/x.mp4", "--save-trajectory",
                f"{full}/t.npz"]
    elif output == "e.ply":
        args = ["export", "two-curves", *base, "--no-progress", "-o", f"{full}/e.ply"]
    else:
        args = ["figure", "two-curves", *base, "--no-progress", "--size", "320x240", "-o", f"{full}/{output}"]
    done = on_a_full_disk(tmp_path, 4, python("-m", "layerlapse", *args))
    named = "e-input.ply" if output == "e.ply" else output  # export names a file per stage
    lines = done.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("rc="))
    rc, left = lines[at], lines[at + 1:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert rc == "rc=74", done
    assert len(errors) == 1 and errors[0].startswith(f"error: {'save_trajectory' if output == 't.npz' else 'out'}: "
                                                     f"could not write '{full}/{named}' (No space left on device); "
                                                     "no partial file was left"), done.stderr
    assert left == ["filler"], done.stdout  # neither the output nor a temporary
    if output == "t.npz":
        assert errors[0].endswith(f"; {tmp_path}/x.mp4 was written complete and kept")


@pytest.mark.slow
def test_a_batch_onto_a_full_disk_ends_in_one_line_about_the_gallery(mountable, tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('scenes = ["two-curves"]\noutputs = ["movie"]\nsize = "96x64"\nseconds_per_stage = 0.6\n'
                     "[params]\npoints_per_curve = 24\nsamples_per_class = 40\ngrid_lines = 3\n"
                     "[training]\nepochs = 2\nrestarts = 1\n[grid]\nseed = [0, 1]\n")
    out = tmp_path / "full" / "out"
    done = on_a_full_disk(tmp_path, 12, python("-m", "layerlapse", "batch", str(sweep), "-o", str(out),
                                               "--workers", "1", "--no-progress"), timeout=300)
    assert "rc=74" in done.stdout, done
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"error: gallery: could not write '{out}/index.html' (No space left on device); no partial file was left; "
        f"the manifest '{out}/manifest.jsonl' keeps every job's record (0 done, 2 failed): make room, then run the "
        "batch again (done jobs are skipped)"), done.stderr


LATE = textwrap.dedent("""\
    import atexit, sys, time
    from pathlib import Path
    # runs as the program ends, after the command: where Python's teardown used to be
    marker = Path(sys.argv.pop(1))
    atexit.register(lambda: (marker.write_text("ending"), time.sleep(30)))
    from layerlapse.cli import main
    main()
""")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="signals to a real process")
def test_sigterm_after_the_command_ended_says_what_was_kept(checkpoint, tmp_path):
    """Before, the default handler was back by then: exit 143 and not a word."""
    marker = tmp_path / "ending"
    proc = subprocess.Popen(python("-c", LATE, str(marker), "figure", "two-curves", "--checkpoint", str(checkpoint),
                                   *TINY[:-2], "--no-progress", "--size", "64x48", "-o", "f.png"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 143, err
    assert out.splitlines()[-1] == "wrote f.png"
    assert err.splitlines() == ["terminated: figure had ended; no partial file was left; f.png was written complete and kept"]
    assert Path("f.png").stat().st_size > 0
