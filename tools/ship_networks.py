"""Train every preset's default network and ship it with the package (layerlapse/pretrained/).

    python tools/ship_networks.py                 # every preset (one after another)
    python tools/ship_networks.py spirals trefoil # only these; the others' entries are kept

Each preset is trained with its own defaults (seed, restarts, epochs) under the pinned kernels
of layerlapse.networks.reproducible, its accuracy checked against its claim ("separates" must
reach 100%, "cannot" must not), and written as ``<preset>.pt`` (with its numpy sidecar) in the
existing checkpoint format, listed in ``index.json`` with its fingerprint and SHA-256 (and, for a
scene with held-out samples, the accuracy on them; a "pulls-apart" claim must then pull them
apart: a higher 5-NN accuracy after the last layer than in the input, in a 3-D view). A preset
whose network contradicts its claim is not shipped (exit status 1). Prints a table: preset /
claim / accuracy / seconds.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

from layerlapse.app.claims import pulled_verdict
from layerlapse.app.held_out import held_out_score, held_out_separation
from layerlapse.app.network import train_network
from layerlapse.app.presets import load_scene, scene_names
from layerlapse.app.shipped import FOLDER, INDEX, read_index, samples_sha256
from layerlapse.networks.checkpoint import fingerprint, save_network, sidecar_path


def holds(kind: str, misclassified: int) -> bool:
    """Whether a network with this many misclassified samples agrees with a claim of ``kind``."""
    return {"separates": misclassified == 0, "cannot": misclassified > 0}.get(kind, True)


def ship(name: str) -> dict | None:
    """Train ``name``'s default network; -> its index entry (None: no data to train on)."""
    preset = load_scene(name)
    if preset.fixed is not None or preset.claim is None:
        return None
    start = time.perf_counter()
    net = train_network(preset, progress=False)
    seconds = time.perf_counter() - start
    accuracy = float(net.accuracy or 0.0)
    wrong = int((net.predict(preset.samples) != preset.labels).sum())
    entry = {"file": f"{name}.pt", "fingerprint": fingerprint(preset.key, preset.network, preset.training),
             "samples_sha256": samples_sha256(preset), "claim": preset.claim.kind, "accuracy": accuracy,
             "misclassified": wrong, "samples": len(preset.labels), "seconds": round(seconds, 1),
             "training": preset.training.model_dump(mode="json")}
    held = held_out_score(preset, net)
    if held is not None:  # the digits: what the movie shows is on the held-out images
        entry.update(held_out_accuracy=held.accuracy, held_out_misclassified=held.misclassified,
                     held_out=held.count)
    if preset.claim.kind == "pulls-apart":  # the layers must pull the held-out classes apart
        lines = pulled_verdict(preset.claim, held.accuracy, held.misclassified, held.count,
                               held_out_separation(preset, net) or []) if held is not None else ("",)
        if not lines[0].startswith("Yes"):
            print(f"{name}: {lines[0] or 'no held-out samples'}; not shipped", file=sys.stderr)
            return {**entry, "contradicts": True}
    if not holds(preset.claim.kind, wrong):
        print(f"{name}: {accuracy:.4%} contradicts its claim {preset.claim.kind!r}; not shipped", file=sys.stderr)
        return {**entry, "contradicts": True}
    path = save_network(net, FOLDER / entry["file"])
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entry


def main(names: list[str]) -> int:
    FOLDER.mkdir(exist_ok=True)
    index = read_index()
    failed = False
    print(f"{'preset':22} {'claim':12} {'accuracy':>9} {'wrong':>6} {'seconds':>8}  training")
    for name in names or scene_names():
        entry = ship(name)
        if entry is None:
            print(f"{name:22} {'-':12} {'-':>9} {'-':>6} {'-':>8}  (no data: not trained)")
            continue
        t = entry["training"]
        print(f"{name:22} {entry['claim']:12} {entry['accuracy']:9.2%} {entry['misclassified']:6d} "
              f"{entry['seconds']:8.1f}  seed {t['seed']}, restarts {t['restarts']}, epochs {t['epochs']}"
              + ("  CONTRADICTS ITS CLAIM" if entry.get("contradicts") else ""), flush=True)
        if entry.pop("contradicts", False):
            failed = True
            continue
        index[name] = entry
        (FOLDER / INDEX).write_text(json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    files = [p for p in FOLDER.iterdir() if p.is_file()]
    print(f"shipped: {len(index)} networks, {sum(p.stat().st_size for p in files) / 1024:.1f} KB in {len(files)} files "
          f"({', '.join(sorted({p.suffix for p in files}))}; sidecars {sidecar_path('x.pt').name[1:]})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
