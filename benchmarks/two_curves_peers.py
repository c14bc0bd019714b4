"""The same 2-D movie from layerlapse and from its peers, whole processes, one paired run.

Content: the ``two-curves`` scene's default movie (300 frames, 1280x720, 30 fps, H.264):
the two class curves, the square's border and the grid lines as each layer stage moves them.

  * layerlapse: ``layerlapse render two-curves --no-progress -o OUT.mp4`` (quality medium).
    Its process does everything: imports, loads the cached network, computes the
    deformation, draws, encodes. This is its fair whole-process number.
  * matplotlib: ``benchmarks/peers/two_curves_matplotlib.py`` (``Line2D.set_data`` +
    ``FFMpegWriter``, the same x264 settings). It reads every frame's vertex positions from
    a trajectory file that layerlapse exported before timing; computing the motion is NOT
    in its time (the ``motion export`` row shows what that costs as a process of its own).
  * manim Community: ``benchmarks/peers/two_curves_manim.py`` (a ``VMobject`` per curve,
    ``set_points_as_corners`` every frame, Cairo renderer), from the same trajectory file.
    Skipped with a message when manim is not importable (by this interpreter or by
    ``--manim-python``).

Before timing, one untimed run of each: layerlapse's trains and caches the network under
outputs/two-curves/ if it is not cached yet (training is never timed) and exports the
trajectory; the peers' build their font caches. Then ``--repeats`` rounds, each running every
peer once as a fresh Python process, in an order that alternates between rounds; the wall
clock of each process is measured. Prints median wall seconds, CPU seconds (user + sys of the
process and its children, e.g. ffmpeg), frames, frames/s and the ratio peer / layerlapse,
then, last, ``ratio: X`` = the plain matplotlib loop's time / layerlapse's time (above 1:
layerlapse is faster; the goal is 2). ``matplotlib plain`` is the same peer script with
``--plain``: every grid line in one NaN-separated ``Line2D``, no text.

    python benchmarks/two_curves_peers.py [--repeats 3] [--skip-manim] [--manim-python PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(__file__).resolve().parent / "peers"
SCENE = "two-curves"


def layerlapse_command() -> list[str]:
    exe = Path(sys.executable).parent / "layerlapse"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "layerlapse"]


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) of one fresh process; raises on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n  " + "\n  ".join(tail))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu


def importable(python: str, module: str) -> str | None:
    """None if ``python`` can import ``module``, else the reason it cannot."""
    try:
        r = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python}: {exc}"
    if r.returncode == 0:
        return None
    lines = r.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {r.returncode}"


def count_frames(path: Path) -> int:
    import imageio_ffmpeg

    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--skip-manim", action="store_true")
    parser.add_argument("--manim-python", default=os.environ.get("MANIM_PYTHON", sys.executable),
                        help="an interpreter that can import manim (default: $MANIM_PYTHON or this one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (trajectory, warm-up movie)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    tmp = Path(tempfile.mkdtemp(prefix="two-curves-peers-"))
    traj = tmp / "traj.npz"
    peers: dict[str, tuple[list[str], Path]] = {
        "layerlapse": (layerlapse_command() + ["render", SCENE, "--no-progress", "-o", str(tmp / "ll.mp4")],
                       tmp / "ll.mp4"),
    }
    skipped: list[str] = []
    reason = importable(sys.executable, "matplotlib")
    if reason is None:
        peers["matplotlib"] = ([sys.executable, str(PEERS / "two_curves_matplotlib.py"), str(traj),
                                str(tmp / "mpl.mp4")], tmp / "mpl.mp4")
        # the plainest loop a matplotlib user writes: one Line2D per curve, every grid line in
        # one NaN-separated Line2D, no text; the speed goal is measured against it
        peers["matplotlib plain"] = ([sys.executable, str(PEERS / "two_curves_matplotlib.py"), str(traj),
                                      str(tmp / "mplp.mp4"), "--plain"], tmp / "mplp.mp4")
    else:
        skipped.append(f"matplotlib: skipped (not installed: {reason})")
    if args.skip_manim:
        skipped.append("manim: skipped (--skip-manim)")
    else:
        reason = importable(args.manim_python, "manim")
        if reason is None:
            peers["manim"] = ([args.manim_python, str(PEERS / "two_curves_manim.py"), str(traj),
                               str(tmp / "manim.mp4")], tmp / "manim.mp4")
        else:
            skipped.append(f"manim: skipped (not installed: {reason})")
    for line in skipped:
        print(line, flush=True)

    # untimed: cache the network (trains only if not cached) and export the motion
    print(f"warm-up: layerlapse render {SCENE} (caches the network under outputs/{SCENE}/, "
          f"exports the trajectory; not timed)", flush=True)
    warm = tmp / "warm.mp4"
    timed(layerlapse_command() + ["render", SCENE, "--no-progress", "-o", str(warm), "--save-trajectory", str(traj)],
          ROOT)
    frames_expected = count_frames(warm)
    export_code = ("import layerlapse as ll, sys; s = ll.load_scene(sys.argv[1]); "
                   "d = ll.deform(s, ll.get_network(s, progress=False)); ll.save_trajectory(sys.argv[2], s, d)")
    # -P: import layerlapse as the `layerlapse` command does, not from the current folder
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    export = [sys.executable, *safe_path, "-c", export_code, SCENE, str(tmp / "export.npz")]
    peers["motion export"] = (export, None)
    for name, (cmd, _) in list(peers.items()):
        if name == "layerlapse":
            continue
        try:
            timed(cmd, ROOT)  # font caches, bytecode: not timed
        except RuntimeError as exc:
            print(f"{name}: skipped (failed: {exc})", flush=True)
            del peers[name]

    names = list(peers)
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    frames: dict[str, int] = {}
    for r in range(args.repeats):
        order = names if r % 2 == 0 else names[::-1]  # paired, alternating order
        for name in order:
            cmd, out = peers[name]
            wall, cpu = timed(cmd, ROOT)
            walls[name].append(wall)
            cpus[name].append(cpu)
            if out is not None:
                frames[name] = count_frames(out)
                out.unlink()
        print(f"round {r + 1}/{args.repeats}: " + ", ".join(f"{n} {walls[n][-1]:.2f} s" for n in names), flush=True)

    med = {n: statistics.median(walls[n]) for n in names}
    base = med["layerlapse"]
    print()
    print(f"{SCENE}: {frames_expected} frames, 1280x720, 30 fps, H.264; {os.cpu_count()} CPUs; "
          f"median of {args.repeats} fresh processes each")
    print(f"{'peer':<15} {'wall s':>8} {'cpu s':>8} {'frames':>7} {'frames/s':>9} {'ratio':>7}")
    for n in names:
        f = frames.get(n)
        fps = f"{f / med[n]:9.1f}" if f else f"{'-':>9}"
        print(f"{n:<15} {med[n]:8.2f} {statistics.median(cpus[n]):8.2f} {f if f else '-':>7} {fps} "
              f"{med[n] / base:7.2f}")
    print("ratio = peer wall time / layerlapse wall time (above 1: layerlapse is faster)")
    print("layerlapse's time includes loading the cached network and computing the deformation;")
    print("matplotlib's and manim's include reading the precomputed trajectory but not computing it")
    print("(that is the 'motion export' row: import layerlapse, load the network, deform, save).")
    for name, f in frames.items():
        if f != frames_expected:
            print(f"warning: {name} wrote {f} frames, expected {frames_expected}")
    if "matplotlib" in med:
        print(f"goal: faster than matplotlib: {'yes' if base < med['matplotlib'] else 'no'}")
    if "matplotlib plain" in med:
        print(f"goal: at most half of the plain matplotlib loop: {'yes' if base <= med['matplotlib plain'] / 2 else 'no'} "
              f"(plain / layerlapse = {med['matplotlib plain'] / base:.2f}, goal 2)")
    if "manim" in med:
        print(f"goal: at most a third of manim: {'yes' if base <= med['manim'] / 3 else 'no'} "
              f"(manim / layerlapse = {med['manim'] / base:.2f}, goal 3)")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if "matplotlib plain" in med:  # the goal's peer
        print(f"ratio: {med['matplotlib plain'] / base:.2f}")
    elif "matplotlib" in med:
        print(f"ratio: {med['matplotlib'] / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
