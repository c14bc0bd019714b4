"""Byte-for-byte check of every output kind, for refactors that must change no pixel.

    python tools/golden.py record DIR    # render everything below, store hashes in DIR/hashes.json
    python tools/golden.py check DIR     # render again (same checkpoints), compare, exit 1 on any change

Networks are trained once by ``record`` into DIR/ckpt and loaded by ``check``, so training
noise cannot hide (or fake) a drawing change. Movies are compared by their decoded frames,
PNGs by their pixels, everything else by its bytes.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np

# (name, argv after `layerlapse`); {ck} is the checkpoint folder, {out} the run's output folder
CASES: list[tuple[str, list[str]]] = [
    ("two-curves-movie", ["render", "two-curves", "--quality", "low", "--epochs", "40",
                          "--checkpoint", "{ck}/two-curves.pt", "-o", "{out}/movie.mp4",
                          "--save-trajectory", "{out}/traj.npz"]),
    ("tori-movie", ["render", "linked-tori", "--quality", "low", "--epochs", "30",
                    "--checkpoint", "{ck}/linked-tori.pt", "-o", "{out}/movie.mp4"]),
    ("tori-frames", ["render", "linked-tori", "--quality", "low", "--epochs", "30", "--seconds-per-stage", "0.4",
                     "--checkpoint", "{ck}/linked-tori.pt", "--color-by", "stretch", "-o", "{out}/frames"]),
    ("tori-figure", ["figure", "linked-tori", "--at", "output", "--epochs", "30",
                     "--checkpoint", "{ck}/linked-tori.pt", "-o", "{out}/fig.png"]),
    ("tori-sheet", ["figure", "linked-tori", "--sheet", "--epochs", "30",
                    "--checkpoint", "{ck}/linked-tori.pt", "-o", "{out}/sheet.png"]),
    ("tori-web", ["web", "linked-tori", "--epochs", "30", "--checkpoint", "{ck}/linked-tori.pt",
                  "-o", "{out}/page.html"]),
    ("tori-web-stretch", ["web", "linked-tori", "--epochs", "30", "--checkpoint", "{ck}/linked-tori.pt",
                          "--color-by", "stretch", "-o", "{out}/page.html"]),
    ("tori-export", ["export", "linked-tori", "--at", "output", "--epochs", "30",
                     "--checkpoint", "{ck}/linked-tori.pt", "-o", "{out}/tori.glb"]),
    ("tori-inspect", ["inspect", "linked-tori", "--epochs", "30", "--checkpoint", "{ck}/linked-tori.pt",
                      "--every", "20", "-o", "{out}/cert"]),
    ("disk-pulled-back", ["figure", "disk-annulus", "--at", "input", "--epochs", "40", "--boundary", "pulled-back",
                          "--checkpoint", "{ck}/disk-annulus.pt", "-o", "{out}/fig.png"]),
    ("disk-sheet", ["figure", "disk-annulus", "--sheet", "--epochs", "40", "--hud",
                    "--checkpoint", "{ck}/disk-annulus.pt", "-o", "{out}/sheet.png"]),
    ("disk-web", ["web", "disk-annulus", "--epochs", "40", "--checkpoint", "{ck}/disk-annulus.pt",
                  "-o", "{out}/page.html"]),
    ("spirals-stretch", ["figure", "spirals", "--sheet", "--epochs", "40", "--color-by", "stretch",
                         "--checkpoint", "{ck}/spirals.pt", "-o", "{out}/sheet.png"]),
    ("shell-sheet", ["figure", "sphere-shell", "--sheet", "--epochs", "20",
                     "--checkpoint", "{ck}/sphere-shell.pt", "-o", "{out}/sheet.png"]),
    ("tori4d-sheet", ["figure", "linked-tori-4d", "--sheet", "--epochs", "20",
                      "--checkpoint", "{ck}/linked-tori-4d.pt", "-o", "{out}/sheet.png"]),
    ("flow-movie", ["render", "linked-tori-flow", "--quality", "low", "--epochs", "10", "--seconds-per-stage", "1",
                    "--checkpoint", "{ck}/linked-tori-flow.pt", "-o", "{out}/movie.mp4"]),
    ("line-web", ["web", "line-segments", "--epochs", "40", "--checkpoint", "{ck}/line-segments.pt",
                  "-o", "{out}/page.html"]),
    ("line-sheet", ["figure", "line-segments", "--sheet", "--epochs", "40",
                    "--checkpoint", "{ck}/line-segments.pt", "-o", "{out}/sheet.png"]),
    ("grid-only-movie", ["render", "grid-only", "--quality", "low", "--seconds-per-stage", "0.5",
                         "-o", "{out}/movie.gif"]),
    ("knn-sheet", ["figure", "disk-annulus", "--sheet", "--head", "knn", "--epochs", "40",
                   "--checkpoint", "{ck}/disk-knn.pt", "-o", "{out}/sheet.png"]),
    ("meshes-figure", ["figure", "examples/my-meshes.toml", "--at", "output", "--epochs", "20",
                       "--checkpoint", "{ck}/meshes.pt", "-o", "{out}/fig.png"]),
]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def hash_file(path: Path) -> dict:
    suffix = path.suffix.lower()
    if suffix in (".mp4", ".webm", ".gif"):
        frames = [digest(np.ascontiguousarray(f).tobytes()) for f in iio.imiter(path)]
        return {"frames": len(frames), "hash": digest("".join(frames).encode()), "each": frames}
    if suffix == ".png":
        return {"pixels": digest(np.ascontiguousarray(iio.imread(path)).tobytes())}
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: digest(np.ascontiguousarray(z[k]).tobytes()) for k in sorted(z.files)}
    return {"bytes": digest(path.read_bytes())}


def run_all(root: Path, runs: Path, only: set[str] | None) -> dict:
    ck = root / "ckpt"
    ck.mkdir(parents=True, exist_ok=True)
    result = {}
    for name, argv in CASES:
        if only and name not in only:
            continue
        out = runs / name
        subprocess.run(["rm", "-rf", str(out)], check=True)
        out.mkdir(parents=True)
        args = [a.format(ck=ck, out=out) for a in argv]
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "layerlapse", *args, "--no-progress"], capture_output=True, text=True)
        took = time.perf_counter() - t0
        files = {str(p.relative_to(out)): hash_file(p) for p in sorted(out.rglob("*")) if p.is_file()}
        result[name] = {"rc": proc.returncode, "files": files}
        print(f"{name}: rc {proc.returncode}, {len(files)} files, {took:.1f} s", flush=True)
        if proc.returncode:
            print(proc.stderr[-2000:], flush=True)
    return result


def main() -> int:
    mode, root = sys.argv[1], Path(sys.argv[2]).resolve()
    only = set(sys.argv[3:]) or None
    # check renders into a folder of its own, so several checkouts can check against one record
    runs = root / "runs" if mode == "record" else Path(tempfile.mkdtemp(prefix="golden-"))
    now = run_all(root, runs, only)
    if mode == "record":
        (root / "hashes.json").write_text(json.dumps(now, indent=1, sort_keys=True))
        return 0
    before = json.loads((root / "hashes.json").read_text())
    bad = 0
    for name, got in now.items():
        want = before.get(name)
        if got == want:
            print(f"same: {name}")
            continue
        bad += 1
        print(f"CHANGED: {name}")
        for f in sorted(set(got["files"]) | set((want or {}).get("files", {}))):
            a, b = (want or {}).get("files", {}).get(f), got["files"].get(f)
            if a != b:
                if a and b and "each" in a and "each" in b:
                    diff = [i for i, (x, y) in enumerate(zip(a["each"], b["each"])) if x != y]
                    print(f"   {f}: frames {a['frames']} -> {b['frames']}, differing frames {diff[:10]}...")
                else:
                    print(f"   {f}: {a} -> {b}")
    print(f"{len(now) - bad} same, {bad} changed (this run's files: {runs})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
