"""Nothing hangs, nothing is left half-written: real renders stopped by real signals.

Each render runs in its own process; the signal is sent once the hidden temporary movie
has bytes in it (frames are being written), never after a guessed sleep.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import psutil
import pytest
from conftest import train_two_curves, wait_until

from layerlapse._files import remove_stale_temporaries, temporary_sibling
from layerlapse.errors import LayerlapseError
from layerlapse.render.encoder import FrameWriter

pytestmark = [pytest.mark.skipif(sys.platform != "linux", reason="signals, /proc and PR_SET_PDEATHSIG are Linux's"),
              pytest.mark.slow]  # real processes, signalled

EPOCHS = ["--epochs", "3"]
#: 241 frames: about a second of rendering after the first frame, time enough to land a signal
RENDER = ["render", "two-curves", "--quality", "low", "--size", "160x120", "--seconds-per-stage", "4",
          "--no-progress", *EPOCHS]
TEMP_GLOB = ".x.layerlapse-*-*.part.mp4"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The network, trained once, so each render below goes straight to its frames."""
    return train_two_curves(tmp_path_factory.mktemp("network"), timeout=120)


def start_render(checkpoint, out="out/x.mp4"):
    return subprocess.Popen([sys.executable, "-m", "layerlapse", *RENDER, "--checkpoint", str(checkpoint), "-o", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_frames(proc, folder, timeout=60.0):
    """The temporary movie, once ffmpeg has written into it; fails if the render ends first.
    A movie longer than a piece is a temporary folder of pieces (render/pieces.py): once a
    piece's own temporary has bytes in it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for tmp in folder.glob(TEMP_GLOB):
            try:
                written = tmp.glob(".piece_*.part.mp4") if tmp.is_dir() else [tmp]
                if any(part.stat().st_size > 0 for part in written):
                    return tmp
            except FileNotFoundError:
                pass
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the render ended (rc {proc.returncode}) before frames were written: {out} {err}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("no temporary movie appeared")


def ffmpeg_children(proc):
    kids = [p for p in psutil.Process(proc.pid).children(recursive=True) if "ffmpeg" in p.name()]
    assert len(kids) == 1, kids
    return kids[0]


def assert_dies(process, grace=5.0):
    """``process`` (a psutil.Process) ends within ``grace`` seconds; a zombie has ended (its
    new parent, the container's init, may be slow to reap it)."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"ffmpeg (pid {process.pid}) outlived its parent by more than {grace} s")


def decoded_frames(path):
    with av.open(str(path)) as movie:
        return sum(1 for _ in movie.decode(video=0))


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                      (signal.SIGTERM, 143, "terminated")])
def test_interrupt_cleans_up_and_says_so(checkpoint, signum, code, word):
    out = Path("out")
    out.mkdir()
    proc = start_render(checkpoint)
    wait_for_frames(proc, out)
    ffmpeg = ffmpeg_children(proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.splitlines() == [f"{word}: render stopped while rendering frames; "
                                "no partial file was left (out/x.mp4 was not written)"]
    assert_dies(ffmpeg, grace=0.5)  # the parent killed and reaped it before exiting
    assert sorted(os.listdir(out)) == []  # neither the movie nor its temporary


@pytest.mark.slow
def test_kill_9_takes_ffmpeg_along_and_the_next_run_removes_the_partial(checkpoint):
    out = Path("out")
    out.mkdir()
    (out / ".x.1234abcd.mp4").write_bytes(b"someone's")  # like ours, not ours: never touched
    proc = start_render(checkpoint)
    tmp = wait_for_frames(proc, out)
    ffmpeg = ffmpeg_children(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert_dies(ffmpeg)  # PR_SET_PDEATHSIG: killed with its parent
    assert not (out / "x.mp4").exists()
    # the kernel closes the dead parent's end of the pipe a moment before it delivers the
    # parent-death signal, so ffmpeg may still close the partial file in that moment: it
    # stays under its temporary name, never the target's, until the next run removes it
    assert tmp.exists()

    again = start_render(checkpoint)
    stdout, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    frames = int(re.search(r"\((\d+) frames", stdout).group(1))
    assert decoded_frames(out / "x.mp4") == frames
    assert sorted(os.listdir(out)) == [".x.1234abcd.mp4", "x.mp4"]  # the killed run's temporary is gone


def peak_rss_mb(checkpoint, fps):
    """Frames written and peak resident memory (MB) of a whole render at 320x240 in a fresh process."""
    code = ("import resource, sys\nfrom layerlapse.cli import main\ntry:\n    main(sys.argv[1:])\nfinally:\n"
            "    print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    args = ["render", "two-curves", "--quality", "low", "--size", "320x240", "--seconds-per-stage", "1",
            "--fps", str(fps), "--no-progress", "--no-cards", *EPOCHS, "--checkpoint", str(checkpoint), "-o", f"m{fps}.mp4"]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frames = int(re.search(r"\((\d+) frames", done.stdout).group(1))
    return frames, int(done.stdout.split()[-1]) / 1024  # ru_maxrss: KiB on Linux


@pytest.mark.slow
def test_memory_stays_flat_with_the_number_of_frames(checkpoint):
    # 540 more frames of 320x240 are 124 MB: kept anywhere, they would show (no cards: their
    # word-timed holds would make the counts depend on the wording)
    few, few_mb = peak_rss_mb(checkpoint, 8.5)
    many, many_mb = peak_rss_mb(checkpoint, 85)
    assert 55 <= few <= 65 and 550 <= many <= 650, (few, many)
    assert many_mb - few_mb < 50, (few_mb, many_mb)


def test_ffmpeg_error_is_one_line_and_nothing_is_left():
    # libx264 with yuv420p refuses odd widths: ffmpeg exits, the pipe breaks
    with pytest.raises(LayerlapseError, match=r"writer: ffmpeg .*width not divisible by 2 \(63x48\)") as info:
        with FrameWriter("odd.mp4", (63, 48), 10) as writer:
            for _ in range(100):
                writer.write(np.zeros((48, 63, 3), np.uint8))
    assert "\n" not in str(info.value)
    assert os.listdir(".") == []
    assert [p for p in psutil.Process().children() if "ffmpeg" in p.name()] == []


def test_a_cancelled_write_kills_ffmpeg_at_once():
    writer = FrameWriter("x.mp4", (64, 48), 10)
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    ffmpeg = writer._encoder
    assert writer.close(success=False) is None
    assert ffmpeg.returncode == -signal.SIGKILL  # killed and reaped, not left to finish the file
    assert os.listdir(".") == []


def test_temporaries_are_named_ours():
    pid = os.getpid()
    tmp = temporary_sibling(Path("movie.mp4"))
    folder = temporary_sibling(Path("frames"), folder=True)
    assert re.fullmatch(rf"\.movie\.layerlapse-{pid}-[0-9a-f]{{8}}\.part\.mp4", tmp.name)
    assert re.fullmatch(rf"\.frames\.layerlapse-{pid}-[0-9a-f]{{8}}\.part", folder.name)
    assert tmp.is_file() and tmp.stat().st_size == 0 and folder.is_dir()


def dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()  # reaped: nothing runs under this id (until it is reused)
    return proc.pid


def test_stale_cleanup_removes_only_dead_writers_temporaries():
    dead, parent = dead_pid(), os.getppid()
    names = {
        "dead": f".x.layerlapse-{dead}-0123abcd.part.mp4",
        "dead_folder": f".frames.layerlapse-{dead}-0123abcd.part",
        "reused": ".x.layerlapse-1-0123abcd.part.gif",  # pid 1 runs, but started after 1970
        "live_self": f".x.layerlapse-{os.getpid()}-0123abcd.part.mp4",
        "live_parent": f".x.layerlapse-{parent}-0123abcd.part.mp4",
        "live_init": ".x.layerlapse-1-4567abcd.part.mp4",
        "short_token": f".x.layerlapse-{dead}-0123abc.part.mp4",
        "no_dot": f"x.layerlapse-{dead}-0123abcd.part.mp4",
        "no_part": f".x.layerlapse-{dead}-0123abcd.mp4",
        "mkstemp_style": ".x.0123abcd.mp4",
        "plain": "x.mp4",
    }
    for key, name in names.items():
        if key == "dead_folder":
            Path(name).mkdir()
            (Path(name) / "frame_00000.png").write_bytes(b"png")
        else:
            Path(name).write_bytes(b"data")
    os.utime(names["reused"], (1.0, 1.0))
    os.symlink("x.mp4", f".y.layerlapse-{dead}-0123abcd.part.mp4")  # a link is never ours

    removed = remove_stale_temporaries(Path("."))

    gone = {"dead", "dead_folder", "reused"}
    assert sorted(p.name for p in removed) == sorted(names[k] for k in gone)
    assert sorted(os.listdir(".")) == sorted([names[k] for k in names if k not in gone]
                                             + [f".y.layerlapse-{dead}-0123abcd.part.mp4"])


def test_starting_an_output_removes_stale_temporaries():
    stale = Path(f".x.layerlapse-{dead_pid()}-0123abcd.part.mp4")
    stale.write_bytes(b"half a movie")
    tmp = temporary_sibling(Path("y.png"))
    assert sorted(os.listdir(".")) == [tmp.name]


@pytest.mark.slow
def test_ctrl_c_stops_a_batch_and_the_next_run_resumes(tmp_path):
    """A batch stopped once its first job is in the manifest: exit 130 and one line, every
    manifest line whole, the workers gone; the next run does only the jobs not done."""
    import json

    import layerlapse as ll

    sweep = tmp_path / "sweep.toml"
    sweep.write_text('scenes = ["two-curves"]\noutputs = ["movie"]\nsize = "96x64"\nseconds_per_stage = 0.6\n'
                     "[params]\npoints_per_curve = 24\nsamples_per_class = 40\ngrid_lines = 3\n"
                     "[training]\nepochs = 2\nrestarts = 1\n[grid]\nseed = [0, 1, 2, 3]\n")
    manifest = tmp_path / "out" / "manifest.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "layerlapse", "batch", str(sweep), "-o", str(tmp_path / "out"),
                             "--workers", "1", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    wait_until(proc, lambda: manifest.exists() and manifest.read_text().count("\n") >= 1, timeout=90,
               what="no job finished")
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    # the gallery, rewritten on the way out, shows the jobs done so far
    assert err.splitlines() == [f"interrupted: batch stopped; no partial file was left; {tmp_path}/out/index.html "
                                "was written complete and kept"]
    for child in children:  # the nanny, its worker, the worker's ffmpeg
        assert_dies(child, grace=10.0)
    done = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert 1 <= len(done) < 4 and all(r["status"] == "done" for r in done)
    result = ll.batch(sweep, tmp_path / "out", workers=1, progress=False)
    assert (result.done, result.skipped, result.failed) == (4 - len(done), len(done), 0)
    assert not list((tmp_path / "out").rglob("*.part*"))  # what the stopped job left, the rerun removed
