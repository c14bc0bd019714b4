"""One movie split across workers (``render --workers N``): the file one process makes, a
killed worker's frames rendered again, nothing left by Ctrl-C, bad input refused first.

The blocks run in this process in the fast lane (everything a worker does, without Dask);
real clusters and real signals are in the slow lane."""

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import av
import numpy as np
import psutil
import pytest
from conftest import kill_first_busy_worker, spawned_cluster, wait_until
from test_cli import run

from layerlapse.app import api
from layerlapse.app.movie import cards_for
from layerlapse.batch.split import (
    MARKER,
    Block,
    MovieSpec,
    SplitRender,
    _receive,
    make_blocks,
    render_block,
)
from layerlapse.draw.words import card_timeline
from layerlapse.errors import LayerlapseError
from layerlapse.networks.timeline import TimelineConfig
from layerlapse.render import Style, resolve_settings
from layerlapse.render.movie import movie_camera, write_movie
from layerlapse.render.pieces import join_pieces, piece_name, piece_ranges

FPS = 8
#: a shipped network (no training), 137 frames at 8 fps: five pieces of 32 frames
RENDER = ["render", "two-curves", "--quality", "low", "--size", "160x90", "--fps", str(FPS),
          "--seconds-per-stage", "0.5", "--no-progress"]


@pytest.fixture(scope="module")
def movie():
    """disk-annulus with its cards at 160x90, 168 frames: six pieces (the last short), and the
    file one process writes of it."""
    prepared = api.prepare("disk-annulus", progress=False)
    words = cards_for(prepared)
    timeline = TimelineConfig(seconds_per_stage=0.5, pause=0, hold_start=0.25, hold_end=0.5)
    deformation = prepared.deform(fps=FPS, timeline=card_timeline(timeline, words))
    settings = resolve_settings("low", (160, 90), FPS).for_view(planar=deformation.planar)
    scene, style = prepared.preset.scene, Style()
    spec = MovieSpec(scene, deformation, settings, style, prepared.title, prepared.accuracy, words, "burn",
                     movie_camera(scene, deformation, settings, style=style))
    return spec


def one_process(spec, path):
    return write_movie(path, spec.scene, spec.deformation, spec.settings, style=spec.style, title=spec.title,
                       accuracy=spec.accuracy, progress=False, cards=spec.cards, captions=spec.captions)


def decoded(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_blocks_are_contiguous_and_even():
    ranges = piece_ranges(1000, 8)  # 32 pieces of 32 frames (the last 8)
    blocks = make_blocks(ranges, 3)
    assert [len(b) for b in blocks] == [11, 11, 10]
    assert [k for b in blocks for k, _ in b] == list(range(len(ranges)))
    assert len(make_blocks(ranges[:2], 8)) == 2  # no more blocks than pieces
    assert max(len(b) for b in make_blocks(piece_ranges(10_000, 8), 1)) <= 16  # what one block returns stays small


@pytest.mark.parametrize("shared", [True, False], ids=["shared-folder", "bytes"])
def test_blocks_rendered_apart_join_into_the_one_process_file(movie, tmp_path, shared):
    """Each block rendered on its own from its first frame (as a worker does: a fresh view,
    the camera made once), into the pieces' folder or returned as bytes: the joined movie is
    the one-process file, byte for byte."""
    single = one_process(movie, tmp_path / "single.mp4")
    folder = tmp_path / "pieces"
    folder.mkdir()
    if shared:
        (folder / MARKER).write_text("x")
    ranges = piece_ranges(movie.deformation.n_frames, FPS)
    lost = 0
    for pieces in make_blocks(ranges, 2):
        result = render_block(movie, Block(pieces, ".mp4", str(folder), str(folder / MARKER)))
        assert (result.files is None) == shared and result.frames == sum(len(r) for _, r in pieces)
        if not shared:
            assert sorted(result.files) == [piece_name(k, ".mp4") for k, _ in pieces]
            _receive(folder, result.files)
        lost += result.frames
    joined = join_pieces([folder / piece_name(k, ".mp4") for k in range(len(ranges))], tmp_path / "split.mp4")
    assert lost == movie.deformation.n_frames
    assert joined.read_bytes() == single.read_bytes()


def test_png_blocks_number_their_frames_as_the_whole_movie(movie, tmp_path):
    folder = tmp_path / "pieces"
    folder.mkdir()
    ranges = piece_ranges(movie.deformation.n_frames, FPS)
    block = tuple((k, ranges[k]) for k in (2, 3))
    result = render_block(movie, Block(block, "folder", str(folder), str(folder / "no-marker")))
    assert sorted(result.files) == [f"{piece_name(k, 'folder')}/frame_{i:05d}.png" for k, r in block for i in r]
    _receive(folder, result.files)
    assert sorted(p.name for p in (folder / "piece_00003").iterdir())[0] == "frame_00096.png"


def test_bad_settings_are_one_line_before_anything_runs(tmp_path):
    cases = [(SplitRender(workers=0), "workers: 0 is out of range; allowed: 1 to 1024"),
             (SplitRender(workers=2, scheduler="tcp://127.0.0.1:9"), "workers: a running scheduler has its own"),
             (SplitRender(workers=2, retries=-1), "retries: -1 is out of range; allowed: 0 to 100"),
             (SplitRender(), "workers: give a number of local workers or a --scheduler")]
    for split, message in cases:
        with pytest.raises(LayerlapseError, match=re.escape(message)):
            split.check(tmp_path / "x.mp4")
    with pytest.raises(LayerlapseError, match=r"workers: --workers 2 with 'x.gif': a GIF is one palette .* "
                                              r"allowed with --workers or --scheduler: \.mp4, \.webm or a folder"):
        SplitRender(workers=2).check(tmp_path / "x.gif")


@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "0"], "error: workers: 0 is out of range; allowed: 1 to 1024"),
    (["--workers", "2", "-o", "x.gif"], "error: workers: --workers 2 with 'x.gif': a GIF is one palette"),
    pytest.param(["--scheduler", "tcp://127.0.0.1:9"], "error: scheduler: 'tcp://127.0.0.1:9': no Dask scheduler "
                 "answered", marks=pytest.mark.slow),  # the probe waits its 5 s out
])
def test_the_command_refuses_bad_input_with_one_line(args, message):
    r = run(*RENDER, *args)
    assert r.returncode == 2 and r.stderr.startswith(message) and len(r.stderr.splitlines()) == 1, r.stderr
    assert not os.listdir(".")  # nothing trained, nothing written


# ---- the slow lane: real clusters, real signals ----------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    """Two spawned worker processes, each under a nanny that restarts it."""
    with spawned_cluster() as running:
        yield running


@pytest.mark.slow
def test_two_workers_write_the_one_process_file(tmp_path):
    """``--workers 2`` (a local cluster made by the command) against one process: the same
    decoded frames, the same bytes."""
    one = subprocess.run([sys.executable, "-m", "layerlapse", *RENDER, "-o", "one.mp4"], capture_output=True,
                         text=True, timeout=120)
    two = subprocess.run([sys.executable, "-m", "layerlapse", *RENDER, "-o", "two.mp4", "--workers", "2"],
                         capture_output=True, text=True, timeout=180)
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    assert "wrote two.mp4 (137 frames)" in two.stdout
    a, b = decoded("one.mp4"), decoded("two.mp4")
    assert len(a) == len(b) == 137 and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert Path("one.mp4").read_bytes() == Path("two.mp4").read_bytes()
    assert sorted(os.listdir(".")) == ["one.mp4", "two.mp4"]  # no pieces left


@pytest.mark.slow
def test_a_killed_workers_frames_are_rendered_again(movie, cluster, tmp_path):
    """A worker killed (SIGKILL) while it renders a block: the scheduler runs the block again
    on another worker, and the movie is still the one-process file."""
    address, client = cluster
    killed: list[int] = []

    killer = threading.Thread(target=kill_first_busy_worker, args=(client, "frames-", killed))
    killer.start()
    split = SplitRender(scheduler=address, progress=False)
    out = split(tmp_path / "split.mp4", movie.scene, movie.deformation, movie.settings, style=movie.style,
                title=movie.title, accuracy=movie.accuracy, progress=False, cards=movie.cards,
                captions=movie.captions)
    killer.join()
    assert killed, "no block was seen rendering"
    assert out.read_bytes() == one_process(movie, tmp_path / "single.mp4").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["single.mp4", "split.mp4"]
    client.wait_for_workers(2, timeout=60)


@pytest.mark.slow
def test_ctrl_c_leaves_no_partial_file_and_no_workers(tmp_path):
    """SIGINT once the first piece is complete: exit 130 and one line, neither the movie nor
    its pieces left, the workers (and their ffmpeg) gone."""
    out = Path("out")
    out.mkdir()
    args = ["render", "two-curves", "--quality", "low", "--size", "160x120", "--seconds-per-stage", "4",
            "--no-progress", "--workers", "2", "-o", "out/x.mp4"]
    proc = subprocess.Popen([sys.executable, "-m", "layerlapse", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_until(proc, lambda: list(out.glob(".x.layerlapse-*.part.mp4/piece_*.mp4")), timeout=120,
               what="no piece was made")
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.splitlines() == ["interrupted: render stopped while rendering frames; no partial file was left "
                                "(out/x.mp4 was not written)"], err
    assert os.listdir(out) == []
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive


def peak_mb(fps):
    """Frames written, and the peak resident memory (MB) of this process and of its largest
    child (a worker), of a split render at 320x240 in a fresh process."""
    code = ("import resource, sys\nfrom layerlapse.cli import main\ntry:\n    main(sys.argv[1:])\nfinally:\n"
            "    print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    args = ["render", "two-curves", "--quality", "low", "--size", "320x240", "--seconds-per-stage", "1", "--fps",
            str(fps), "--no-progress", "--no-cards", "--workers", "2", "-o", f"m{fps}.mp4"]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    frames = int(re.search(r"\((\d+) frames", done.stdout).group(1))
    here, child = done.stdout.split()[-2:]
    return frames, int(here) / 1024, int(child) / 1024  # ru_maxrss: KiB on Linux


@pytest.mark.slow
def test_split_memory_stays_flat_with_the_number_of_frames():
    """Ten times the frames (540 more of 320x240: 124 MB kept anywhere would show), neither
    this process nor a worker grows (as tests/test_signals.py checks one process)."""
    few, few_here, few_worker = peak_mb(8.5)
    many, many_here, many_worker = peak_mb(85)
    assert 55 <= few <= 65 and 550 <= many <= 650, (few, many)
    assert many_here - few_here < 50 and many_worker - few_worker < 50, (few_here, many_here, few_worker,
                                                                         many_worker)
