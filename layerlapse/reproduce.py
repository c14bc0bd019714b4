"""``layerlapse reproduce``: train the networks the essay's claims are about, several seeds
each, and write a table (Markdown and JSON) plus one key frame per claim."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from layerlapse._files import atomic_output
from layerlapse.errors import LayerlapseError


@dataclass(frozen=True)
class Claim:
    """One row: a scene trained with a network of ``hidden`` widths, and what the essay says."""

    claim: str
    scene: str
    hidden: tuple[int, ...]
    essay: str


CLAIMS = (
    Claim("disk in annulus", "disk-annulus", (2, 2, 2), "width 2 cannot separate (~80% in the essay)"),
    Claim("disk in annulus", "disk-annulus-lift", (3,), "a 3-unit layer separates (~100%)"),
    Claim("linked tori", "linked-tori", (3, 3, 3), "width 3 keeps them linked: not 100%"),
    Claim("linked tori", "linked-tori-4d", (4, 4), "width 4 can unlink them: ~100%"),
    Claim("ball in shell", "sphere-shell", (3, 3, 3), "width 3 cannot separate: not 100%"),
    Claim("ball in shell", "sphere-shell-4d", (4, 4), "width 4 can: ~100%"),
    Claim("spirals", "spirals", (2, 2, 2, 2), "slightly entangled: 2-2-2-2-2 separates"),
    Claim("spirals", "spirals-tangled", (2, 2, 2, 2), "more entangled: the same net fails"),
)


@dataclass(frozen=True)
class Result:
    claim: str
    scene: str
    network: str
    essay: str
    accuracies: tuple[float, ...]
    best: float
    mean: float
    figure: str


def run(out: str | Path = "outputs/reproduce", *, seeds: int = 3, epochs: int | None = None,
        scene_params: dict | None = None, figure_size: tuple[int, int] = (800, 600),
        claims: tuple[Claim, ...] = CLAIMS, progress: bool = True) -> list[Result]:
    """Train every claim's network with ``seeds`` seeds; write ``results.md``, ``results.json``
    and ``<scene>.png`` (the best seed's output) into ``out``. ``epochs`` and
    ``scene_params`` (per scene name) shrink the run, e.g. for tests."""
    from layerlapse import api
    from layerlapse.render.encoder import check_writable

    if not 1 <= seeds <= 50:
        raise LayerlapseError(f"seeds: {seeds} is out of range; allowed: 1 to 50")
    out = Path(out)
    check_writable(out / "results.md")
    results = []
    for i, claim in enumerate(claims, start=1):
        scene = api.load_scene(claim.scene, **(scene_params or {}).get(claim.scene, {}))
        accs, nets = [], []
        for seed in range(seeds):
            training = {"seed": seed, "restarts": 1, **({"epochs": epochs} if epochs else {})}
            net = api.train_network(scene, network={"hidden": claim.hidden}, training=training, progress=False)
            accs.append(float(net.accuracy))
            nets.append(net)
            if progress:
                print(f"[{i}/{len(claims)}] {claim.scene} {net.config.describe()} seed {seed}: "
                      f"{100 * net.accuracy:.1f}%", file=sys.stderr, flush=True)
        best = int(np.argmax(accs))
        figure = out / f"{claim.scene}.png"
        api.figure(scene, figure, at="output", size=figure_size, network=nets[best], progress=False)
        results.append(Result(claim.claim, claim.scene, nets[best].config.describe(), claim.essay, tuple(accs),
                              accs[best], float(np.mean(accs)), figure.name))
    with atomic_output(out / "results.json") as tmp:
        tmp.write_text(json.dumps([asdict(r) for r in results], indent=2))
    with atomic_output(out / "results.md") as tmp:
        tmp.write_text(markdown(results, seeds))
    return results


def markdown(results: list[Result], seeds: int) -> str:
    """The results as a Markdown table."""
    lines = [
        f"| claim | scene | network | the essay | best of {seeds} seeds | mean | key frame |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.claim} | `{r.scene}` | {r.network} | {r.essay} | {100 * r.best:.1f}% | "
                     f"{100 * r.mean:.1f}% | [{r.figure}]({r.figure}) |")
    return "\n".join(lines) + "\n"
