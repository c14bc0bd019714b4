"""Training threads: torch's intra-op threads for these tiny networks, quiet and busy.

Trains the same preset network (same seed, fewer epochs) in a fresh process with torch at 1
thread (what layerlapse uses, :data:`layerlapse.networks.reproducible.THREADS`) and at the
machine's cores (torch's default), once on a quiet machine and once while a busy-loop process
per core competes (as when another render runs beside it). Prints the seconds and whether the
trained weights are the same bits, last ``ratio: X``: the default threads' time over 1
thread's on the busy machine (above 1: one thread is faster).

    python benchmarks/training_threads.py [--scene spirals] [--epochs 40]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time

TRAIN = """
import hashlib, json, sys, time
import layerlapse.networks.reproducible as r
r.THREADS = int(sys.argv[1])
from layerlapse.app import api
scene = api.load_scene(sys.argv[2])
t = time.perf_counter()
net = api.train_network(scene, training={"epochs": int(sys.argv[3]), "restarts": 1}, progress=False)
seconds = time.perf_counter() - t
hidden, head = net.layers()
digest = hashlib.sha256(b"".join(l.W.tobytes() + l.b.tobytes() for l in [*hidden, head])).hexdigest()[:12]
print(json.dumps({"seconds": seconds, "digest": digest, "accuracy": net.accuracy}))
"""


def spin() -> None:
    while True:
        pass


def train(threads: int, scene: str, epochs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    r = subprocess.run([sys.executable, "-c", TRAIN, str(threads), scene, str(epochs)], capture_output=True,
                       text=True, timeout=1800, env=env)
    if r.returncode:
        sys.exit(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scene", default="spirals")
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    for load in ("quiet", "busy"):
        spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(cores if load == "busy" else 0)]
        for p in spinners:
            p.start()
        try:
            for threads in (1, cores):
                t = time.perf_counter()
                result = train(threads, args.scene, args.epochs)
                rows.append((load, threads, result["seconds"], time.perf_counter() - t, result["digest"]))
        finally:
            for p in spinners:
                p.terminate()
    print(f"{args.scene}, {args.epochs} epochs, {cores} cores")
    print(f"{'machine':8s} {'threads':>7s} {'train s':>8s} {'process s':>9s}  weights")
    for load, threads, seconds, whole, digest in rows:
        print(f"{load:8s} {threads:7d} {seconds:8.2f} {whole:9.2f}  {digest}")
    same = len({r[4] for r in rows}) == 1
    print(f"the same weights at every thread count and load: {'yes' if same else 'no'}")
    busy = {threads: seconds for load, threads, seconds, _, _ in rows if load == "busy"}
    print(json.dumps({"busy_default_over_one": busy[cores] / busy[1]}))
    print(f"ratio: {busy[cores] / busy[1]:.2f}")


if __name__ == "__main__":
    main()
