"""``layerlapse reproduce``: train the networks the essay's claims are about, several seeds
each, and write a table (Markdown and JSON) plus one key frame per claim.

The "essay" column says what the essay says about that row's network (or, for an
extension, that it is not in the essay); the "measured" column is worded from the per-seed
accuracies by :func:`measured`, never written by hand."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from layerlapse._files import atomic_output, check_folder_writable, commit, temporary_sibling
from layerlapse.batch.driver import batch
from layerlapse.batch.manifest import JobOutput, OutputKind, Record, Status, read_manifest
from layerlapse.batch.manifold import SCENES as MANIFOLD_SCENES
from layerlapse.batch.manifold import measure_all
from layerlapse.batch.sweep import read_sweep, sweep_toml
from layerlapse.errors import LayerlapseError


@dataclass(frozen=True)
class Claim:
    """One row: a scene trained with a network of ``hidden`` widths, and what the essay says
    about that network (``essay`` does not restate the network; the network column does).

    ``extension``: the row is not in the essay (its claim text says so).
    ``figure``: the key frame's file stem; the scene's name unless two rows share a scene.
    ``network``: overrides of the preset's network used instead of ``{"hidden": hidden}``;
    ``{}`` trains the preset's own network (e.g. one with a flow layer)."""

    claim: str
    scene: str
    hidden: tuple[int, ...]
    essay: str
    extension: bool = False
    figure: str = ""
    network: dict | None = field(default=None, hash=False)

    @property
    def label(self) -> str:
        """The key frame's stem, which also labels the row's group in the sweep."""
        return self.figure or self.scene

    @property
    def figure_name(self) -> str:
        return f"{self.label}.png"


BALL_IN_SHELL = "ball in shell (extension: the essay's disk-and-annulus argument in 3-D)"

CLAIMS = (
    Claim("disk in annulus", "disk-annulus", (2,),
          "cannot separate: ~80% in its figure", figure="disk-annulus-2-2-2"),
    Claim("disk in annulus", "disk-annulus", (2, 2, 2),
          "cannot separate at any depth: never 100% (no figure)"),
    Claim("disk in annulus, k-NN head", "disk-annulus", (2, 2, 2),
          "a k-NN head asks less than linear separability, only that \"points of the same manifold [are] "
          "closer than points of others\" (no figure)",
          figure="disk-annulus-knn", network={"hidden": (2, 2, 2), "head": "knn"}),
    Claim("disk in annulus", "disk-annulus-lift", (3,), "separates: \"the problem becomes trivial\""),
    Claim("linked tori", "linked-tori", (3, 3, 3), "cannot be separated without a 4th dimension"),
    Claim("linked tori", "linked-tori-4d", (4, 4), "4 dimensions suffice to unlink them (no trained network shown)"),
    Claim("linked tori, vector-field layer", "linked-tori-flow", (),
          "a flow is a homeomorphism isotopic to the identity: it cannot unlink them", network={}),
    Claim("linked tori, vector-field layer", "linked-tori-flow-4d", (),
          "a 4th dimension suffices; a flow there unlinks them (augmented neural ODEs, Dupont et al. 2019)",
          network={}),
    Claim(BALL_IN_SHELL, "sphere-shell", (3, 3, 3), "not in the essay; its argument: cannot separate",
          extension=True),
    Claim(BALL_IN_SHELL, "sphere-shell-4d", (4, 4), "not in the essay; its argument: separable in 4-D",
          extension=True),
    Claim("spirals, slightly entangled", "spirals", (2, 2, 2, 2), "separates them"),
    Claim("spirals, more entangled", "spirals-tangled", (2, 2, 2, 2),
          "its multi-layer network fails; \"technically possible\""),
)

#: Every figure of the essay (its image files, by section) and the presets that show it; an
#: empty tuple where there is none, with the reason. Keep this in step with the essay: a test
#: checks that every preset named here exists and that every non-extension claim is among them.
ESSAY_FIGURES = (
    ("A Simple Example", "simple2_data.png, simple2_linear.png, simple2_0.png, simple2_1.png", ("two-curves",)),
    ("Continuous Visualization of Layers", "1layer.gif", ("grid-only",)),
    ("Continuous Visualization of Layers", "spiral.1-2.2-2-2-2-2-2.gif", ("spirals",)),
    ("Continuous Visualization of Layers", "spiral.2.2-2-2-2-2-2-2.gif", ("spirals-tangled",)),
    ("Topology and Classification", "topology_base.png, topology_2D-2D_train.gif", ("disk-annulus",)),
    ("Topology and Classification", "topology_3d.png", ("disk-annulus-lift",)),
    ("Topology and Classification", "topology_1d.png, topology_1D-2D_train.gif", ("line-segments",)),
    ("Links And Homotopy", "link.png (width 3 cannot separate; a 4th dimension can)", ("linked-tori", "linked-tori-4d")),
    ("Links And Homotopy", "unlink-2spiral.png", ("unlink",)),
    ("The Easy Way Out", "tangle.png", ("easy-way-out",)),
    ("Better Layers for Manipulating Manifolds?", "grid_vec.png, grid_bubble.png (a vector-field layer, not a tanh network)",
     ("linked-tori-flow", "linked-tori-flow-4d")),
)


@dataclass(frozen=True)
class Result:
    claim: str
    scene: str
    network: str
    essay: str
    measured: str
    accuracies: tuple[float, ...]
    separated: int
    best: float
    mean: float
    figure: str


def separates(accuracy: float) -> bool:
    """A seed separates the classes when it classifies every training sample correctly.

    No tolerance: 99.9% of 3000 samples is 3 points snagged on the other class, which is the
    essay's "easy way out", not a separation."""
    return accuracy >= 1.0


def percent(accuracy: float) -> str:
    """``0.879 -> '87.9%'``; never rounds a non-separating accuracy up to ``'100.0%'``."""
    value = round(100 * accuracy, 1)
    if accuracy < 1.0:
        value = min(value, 99.9)
    return f"{value:.1f}%"


def measured(accuracies: tuple[float, ...] | list[float]) -> str:
    """The per-seed training accuracies in words, e.g. ``'1 of 3 seeds reaches 100%'``,
    ``'all 3 seeds reach 100%'``, ``'not separated in 3 seeds (best 79.4%)'``."""
    n = len(accuracies)
    if n == 0:
        raise LayerlapseError("measured: no accuracies")
    k = sum(separates(a) for a in accuracies)
    seeds = "1 seed" if n == 1 else f"{n} seeds"
    if k == 0:
        return f"not separated in {seeds} ({'' if n == 1 else 'best '}{percent(max(accuracies))})"
    if k == n:
        return "the 1 seed reaches 100%" if n == 1 else f"all {n} seeds reach 100%"
    return f"{k} of {n} seeds {'reaches' if k == 1 else 'reach'} 100%"


SWEEP = "sweep.toml"


def sweep_text(claims: tuple[Claim, ...] = CLAIMS, *, seeds: int = 3, epochs: int | None = None,
               scene_params: dict | None = None, figure_size: tuple[int, int] = (800, 600)) -> str:
    """The sweep file :func:`run` hands to ``layerlapse batch``: one ``[[group]]`` per claim
    (labelled with its key frame's stem), each trained with ``seeds`` seeds and making the
    output still."""
    training: dict = {"restarts": 1, **({"epochs": epochs} if epochs else {})}
    top = {"outputs": [JobOutput.FIGURE], "size": f"{figure_size[0]}x{figure_size[1]}", "supersample": 2,
           "training": training, "grid": {"seed": list(range(seeds))}}
    groups = []
    for claim in claims:
        group: dict = {"#": f"{claim.claim}: {claim.essay}".replace("\n", " "), "label": claim.label,
                       "scenes": [claim.scene]}
        network = {"hidden": list(claim.hidden)} if claim.network is None else claim.network
        if network:
            group["network"] = {k: list(v) if isinstance(v, tuple) else v for k, v in network.items()}
        if (scene_params or {}).get(claim.scene):
            group["params"] = scene_params[claim.scene]  # type: ignore[index]
        groups.append(group)
    return sweep_toml(top, groups, comment="layerlapse reproduce: the essay's claims, one [[group]] per row of "
                      "results.md.\nRerun it alone with: layerlapse batch THIS_FILE -o THIS_FOLDER")


def run(out: str | Path = "outputs/reproduce", *, seeds: int = 3, epochs: int | None = None,
        scene_params: dict | None = None, figure_size: tuple[int, int] = (800, 600),
        claims: tuple[Claim, ...] = CLAIMS, progress: bool = True, workers: int | None = None,
        scheduler: str | None = None, force: bool = False, manifold: tuple[str, ...] = MANIFOLD_SCENES) -> list[Result]:
    """Train every claim's network with ``seeds`` seeds, as a sweep run through
    :func:`layerlapse.batch.batch`; write ``sweep.toml``, the batch's jobs, manifest and
    gallery, then ``results.md``, ``results.json`` and one key frame per claim (the best
    seed's output) into ``out``. A rerun reuses the jobs the manifest says are done.
    ``epochs`` and ``scene_params`` (per scene name) shrink the run, e.g. for tests.
    ``manifold``: the scenes with held-out images (the digits) whose per-layer separation goes
    into ``manifold.md`` and ``manifold.json`` (:mod:`layerlapse.batch.manifold`), each
    seed trained in this process (about 5 s each)."""
    if not 1 <= seeds <= 50:
        raise LayerlapseError(f"seeds: {seeds} is out of range; allowed: 1 to 50")
    names = [c.figure_name for c in claims]
    if len(set(names)) != len(names):
        raise LayerlapseError(f"claims: two rows would write the same key frame ({', '.join(names)})")
    out = Path(out)
    check_folder_writable(out / "results.md")
    text = sweep_text(claims, seeds=seeds, epochs=epochs, scene_params=scene_params, figure_size=figure_size)
    # the sweep becomes OUT/sweep.toml with the table it made: a run that fails leaves the last
    # good sweep, table and key frames together
    sweep = temporary_sibling(out / SWEEP)  # not atomic_output: a stop here is the sweep's, not a write's
    try:
        sweep.write_text(text, encoding="utf-8")
        outcome = batch(sweep, out, workers=workers, scheduler=scheduler, force=force, progress=progress)
        jobs, latest = read_sweep(sweep), read_manifest(out.resolve())
        rows = []
        for claim in claims:  # every row checked before anything is replaced
            found = [latest.get(job.id) for job in jobs if job.label == claim.label]
            failed = [r for r in found if r is None or r.status is not Status.DONE]
            if failed:
                raise LayerlapseError(f"reproduce: {claim.scene} ({claim.claim}): a job failed: "
                                      f"{(failed[0] and failed[0].error) or 'not run'}; see {outcome.gallery}")
            rows.append((claim, [r for r in found if r is not None]))
        results = []
        for claim, records in rows:
            accs = [_accuracy(r) for r in records]
            best = records[int(np.argmax(accs))]
            still = next(item.path for item in best.outputs if item.kind is OutputKind.FIGURE)
            with atomic_output(out / claim.figure_name) as tmp:
                shutil.copyfile(out / still, tmp)
            results.append(Result(claim.claim, claim.scene, best.network or "", claim.essay, measured(accs),
                                  tuple(accs), sum(separates(a) for a in accs), max(accs), float(np.mean(accs)),
                                  claim.figure_name))
        commit(sweep, out / SWEEP)
    finally:
        sweep.unlink(missing_ok=True)
    with atomic_output(out / "results.json") as tmp:
        tmp.write_text(json.dumps([asdict(r) for r in results], indent=2))
    with atomic_output(out / "results.md") as tmp:
        tmp.write_text(markdown(results, seeds))
    if manifold:
        write_manifold(out, measure_all(seeds, epochs, manifold))
    return results


def write_manifold(out: Path, rows: list) -> None:
    """``manifold.md`` and ``manifold.json``: the per-layer separation table."""
    from layerlapse.batch.manifold import as_json
    from layerlapse.batch.manifold import markdown as manifold_markdown

    with atomic_output(out / "manifold.json") as tmp:
        tmp.write_text(json.dumps(as_json(rows), indent=2))
    with atomic_output(out / "manifold.md") as tmp:
        tmp.write_text(manifold_markdown(rows))


def _accuracy(record: Record) -> float:
    """A done job's training accuracy (which every record the batch writes has)."""
    if record.accuracy is None:
        raise LayerlapseError(f"reproduce: the manifest's record of job {record.id} has no accuracy; run again with "
                              "--force")
    return float(record.accuracy)


def markdown(results: list[Result], seeds: int) -> str:
    """The results as a Markdown table, with the preset's own default network beside each row."""
    lines = [
        f"| claim | scene | network | the essay | measured (training samples) | best of {seeds} seeds | mean | "
        "the preset's default (shipped) | key frame |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.claim} | `{r.scene}` | {r.network} | {r.essay} | {r.measured} | {percent(r.best)} | "
                     f"{percent(r.mean)} | {preset_default(r.scene, r.network)} | [{r.figure}]({r.figure}) |")
    return "\n".join(lines) + "\n"


def preset_default(scene: str, network: str) -> str:
    """What ``layerlapse render SCENE`` shows: the seed, restarts and accuracy of the preset's
    default network shipped with the package, when the row's network is that one (a row of
    another width says so). The sweep trains each seed once; a preset may keep the best of
    several restarts, or use another seed, so that its movie shows its claim."""
    from layerlapse.app.presets import get_spec
    from layerlapse.app.shipped import read_index

    if get_spec(scene).network.describe() != network:
        return "another network"
    entry = read_index().get(scene)
    if entry is None:
        return "not shipped"
    training = entry["training"]
    restarts = f", best of {training['restarts']} restarts" if training["restarts"] > 1 else ""
    return f"seed {training['seed']}{restarts}: {percent(entry['accuracy'])}"
