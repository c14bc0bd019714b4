"""Time to first frame: whole processes, as a user starts them.

Times, each as a fresh process (the median of ``--repeats``):
  * ``layerlapse --help``;
  * ``python -c "import layerlapse"``;
  * one still from a shipped network, ``layerlapse figure two-curves --at output`` (the default
    1600x1200, supersampled 2x) and the same at ``--size 640x360``;
  * the bare floor under any still: a Python that imports pyvista's plotting, opens an
    offscreen window and renders one empty frame of the same size.
Then, per import, where the still's start-up goes (``python -X importtime``, top-level
packages by self time).

Prints the goal lines (``--help`` under 0.5 s, a still under 1.5 s) and last
``ratio: X``, 1.5 s over the still's time (1 or more: the goal is met).

    python benchmarks/startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = str(Path(sys.executable).with_name("layerlapse"))
FLOOR = """
import os
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
import pyvista as pv
p = pv.Plotter(off_screen=True, window_size=[{w}, {h}])
p.render_window.Render()
"""


def wall(cmd: list[str], cwd: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, timeout=300)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def import_shares(cwd: Path) -> list[tuple[str, float]]:
    """Top-level packages by the self time of their modules' imports, for the default still."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "layerlapse", "figure", "two-curves", "--at",
                        "output", "-o", "still.png"], cwd=cwd, capture_output=True, text=True, timeout=300)
    shares: dict[str, float] = {}
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split(":", 1)[1].split("|")
        try:
            own = int(parts[0])
        except ValueError:  # the header line
            continue
        top = parts[2].strip().split(".")[0]
        shares[top] = shares.get(top, 0.0) + own / 1e6
    return sorted(shares.items(), key=lambda kv: -kv[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if not Path(EXE).exists():
        sys.exit(f"no layerlapse script beside {sys.executable}; run `make setup`")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        still = [EXE, "figure", "two-curves", "--at", "output", "-o", "still.png"]
        subprocess.run(still, cwd=cwd, check=True, capture_output=True, timeout=300)  # warm the disk cache
        rows = [
            ("layerlapse --help", wall([EXE, "--help"], cwd, args.repeats)),
            ("import layerlapse", wall([sys.executable, "-c", "import layerlapse"], cwd, args.repeats)),
            ("still 1600x1200 (x2 supersampled)", wall(still, cwd, args.repeats)),
            ("still 640x360 (x2 supersampled)", wall([*still, "--size", "640x360"], cwd, args.repeats)),
            ("floor: pyvista + one 3200x2400 render", wall([sys.executable, "-c", FLOOR.format(w=3200, h=2400)], cwd,
                                                          args.repeats)),
        ]
        shares = import_shares(cwd)
    print(f"{'process':40s} {'wall s':>7s}")
    for name, seconds in rows:
        print(f"{name:40s} {seconds:7.2f}")
    print("\nthe default still's imports by package (self time, s; -X importtime adds its own overhead):")
    print("  " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in shares[:8]))
    help_s, still_s = rows[0][1], rows[2][1]
    print(f"goal: --help under 0.5 s: {'yes' if help_s < 0.5 else 'no'} ({help_s:.2f} s)")
    print(f"goal: a still under 1.5 s: {'yes' if still_s < 1.5 else 'no'} ({still_s:.2f} s; "
          f"the pyvista floor alone {rows[4][1]:.2f} s)")
    print(f"ratio: {1.5 / still_s:.2f}")


if __name__ == "__main__":
    main()
