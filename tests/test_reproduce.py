"""`layerlapse reproduce`: the measured wording, the table's rows and columns, the claim list
against the essay's figures, and a tiny run."""

import json
import re

import numpy as np
import pytest

from layerlapse.app.presets import scene_names
from layerlapse.batch import OutputKind, read_manifest
from layerlapse.batch.reproduce import (
    CLAIMS,
    ESSAY_FIGURES,
    Claim,
    Result,
    markdown,
    measured,
    percent,
    run,
)
from layerlapse.batch.sweep import read_sweep
from layerlapse.errors import LayerlapseError

TINY_DISK = {"resolution": 16, "samples_per_class": 60}


@pytest.mark.parametrize("accuracies, words", [
    ((1.0, 0.951, 0.923), "1 of 3 seeds reaches 100%"),
    ((1.0, 1.0, 0.97), "2 of 3 seeds reach 100%"),
    ((1.0, 1.0, 1.0), "all 3 seeds reach 100%"),
    ((0.794, 0.757, 0.721), "not separated in 3 seeds (best 79.4%)"),
    ((0.9996, 0.99, 0.98), "not separated in 3 seeds (best 99.9%)"),  # never rounded up to 100%
    ((0.999, 1.0), "1 of 2 seeds reaches 100%"),  # no tolerance: 0.999 does not separate
    ((1.0,), "the 1 seed reaches 100%"),
    ((0.879,), "not separated in 1 seed (87.9%)"),
])
def test_measured_words(accuracies, words):
    assert measured(accuracies) == words


def test_measured_needs_accuracies():
    with pytest.raises(LayerlapseError, match="no accuracies"):
        measured(())


def test_percent_never_rounds_up_to_100():
    assert [percent(a) for a in (1.0, 0.99996, 0.9994, 0.879, 0.0)] == ["100.0%", "99.9%", "99.9%", "87.9%", "0.0%"]


def test_markdown_has_the_one_layer_disk_row_and_the_measured_column():
    rows = [
        Result("disk in annulus", "disk-annulus", "2-2-2 tanh", "cannot separate: ~80% in its figure",
               "not separated in 3 seeds (best 87.9%)", (0.879, 0.85, 0.8), 0, 0.879, 0.843, "disk-annulus-2-2-2.png"),
        Result("linked tori", "linked-tori-4d", "3-4-4-2 tanh", "x", "1 of 3 seeds reaches 100%",
               (1.0, 0.951, 0.923), 1, 1.0, 0.958, "linked-tori-4d.png"),
    ]
    table = markdown(rows, 3)
    lines = table.splitlines()
    assert lines[0] == ("| claim | scene | network | the essay | measured (training samples) | best of 3 seeds | mean "
                        "| the preset's default (shipped) | key frame |")
    assert all(line.count("|") == 10 for line in lines)
    assert lines[2] == ("| disk in annulus | `disk-annulus` | 2-2-2 tanh | cannot separate: ~80% in its figure | "
                        "not separated in 3 seeds (best 87.9%) | 87.9% | 84.3% | another network | "
                        "[disk-annulus-2-2-2.png](disk-annulus-2-2-2.png) |")
    assert "| 1 of 3 seeds reaches 100% | 100.0% | 95.8% | seed 0: 100.0% |" in lines[3]


def test_the_documented_table_agrees_with_the_presets_defaults():
    """docs/reproduce/results.md names, beside each row, the seed and restarts of the preset's
    default network and its accuracy; a single-run default must be the row's own seed."""
    import json
    from pathlib import Path

    from layerlapse.app.presets import get_spec
    from layerlapse.app.shipped import read_index

    docs = Path(__file__).resolve().parent.parent / "docs" / "reproduce"
    results = [Result(**{**r, "accuracies": tuple(r["accuracies"])})
               for r in json.loads((docs / "results.json").read_text())]
    assert (docs / "results.md").read_text() == markdown(results, 3)
    shipped = read_index()
    for r in results:
        training = get_spec(r.scene).training
        if get_spec(r.scene).network.describe() == r.network and training.restarts == 1:
            assert r.accuracies[training.seed] == pytest.approx(shipped[r.scene]["accuracy"], abs=1e-6), r.scene


def test_claims_match_the_essay():
    one_layer = [c for c in CLAIMS if c.scene == "disk-annulus" and c.hidden == (2,)]
    assert len(one_layer) == 1 and "~80%" in one_layer[0].essay  # the essay's figure: one hidden layer of 2
    assert [c for c in CLAIMS if "80%" in c.essay] == one_layer  # the essay's number is for its own network only
    assert any(c.scene == "disk-annulus" and c.hidden == (2, 2, 2) for c in CLAIMS)
    for c in CLAIMS:
        # the essay column never restates a network (the network column does)
        assert not re.search(r"\d-\d|width|units?\b", c.essay), c
        assert c.extension == ("extension" in c.claim), c
    names = [c.figure_name for c in CLAIMS]
    assert len(set(names)) == len(names)
    figures = [scene for _, _, scenes in ESSAY_FIGURES for scene in scenes]
    assert set(figures) <= set(scene_names())
    assert {c.scene for c in CLAIMS if not c.extension} <= set(figures)
    assert {c.scene for c in CLAIMS if c.extension} == {"sphere-shell", "sphere-shell-4d"}


@pytest.mark.slow  # a sweep on a real Dask cluster
def test_run_tiny(tmp_path):
    """Through batch: 3 claims x 2 seeds = 6 jobs; the table, the key frames (each the best
    seed's still), the same accuracies as training in this process, and a rerun that trains nothing."""
    import layerlapse as ll
    from layerlapse.batch import MANIFEST

    claims = tuple(c for c in CLAIMS if c.scene == "disk-annulus")
    kwargs = dict(seeds=2, epochs=2, scene_params={"disk-annulus": TINY_DISK}, figure_size=(160, 120), claims=claims,
                  progress=False)
    results = run(tmp_path / "r", **kwargs)
    assert [r.network for r in results] == ["2-2-2 tanh", "2-2-2-2-2 tanh", "2-2-2-2-2 tanh \u00b7 8-NN head"]
    table = (tmp_path / "r" / "results.md").read_text()
    assert table.count("\n") == len(claims) + 2
    assert "| disk in annulus | `disk-annulus` | 2-2-2 tanh | cannot separate: ~80% in its figure |" in table
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    jobs = read_sweep(tmp_path / "r" / "sweep.toml")
    assert [job.label for job in jobs] == [c.label for c in claims for _ in range(2)]
    latest = read_manifest(tmp_path / "r")
    scene = ll.load_scene("disk-annulus", **TINY_DISK)
    for d, r, claim in zip(data, results, claims):
        assert len(d["accuracies"]) == 2 and d["best"] == max(d["accuracies"])
        assert d["measured"] == measured(d["accuracies"]) and f"| {d['measured']} |" in table
        assert d["separated"] == sum(a >= 1.0 for a in d["accuracies"])
        network = {"hidden": claim.hidden} if claim.network is None else claim.network
        here = [ll.train_network(scene, network=network, training={"seed": s, "restarts": 1, "epochs": 2},
                                 progress=False).accuracy for s in range(2)]
        assert d["accuracies"] == pytest.approx(here, abs=1e-12)  # the workers train what this process does
        mine = [job for job in jobs if job.label == claim.label]
        best = latest[mine[int(np.argmax(d["accuracies"]))].id]
        still = next(o.path for o in best.outputs if o.kind is OutputKind.FIGURE)
        assert (tmp_path / "r" / r.figure).read_bytes() == (tmp_path / "r" / still).read_bytes()
        assert (tmp_path / "r" / r.figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "r").glob("*.png")) == ["disk-annulus-2-2-2.png", "disk-annulus-knn.png",
                                                                      "disk-annulus.png"]
    assert (tmp_path / "r" / "index.html").is_file()
    # the digits' per-layer separation, trained here (2 seeds of 2 epochs): input and three layers
    table = (tmp_path / "r" / "manifold.md").read_text()
    assert table.count("\n") == 2 + 2 and "| `digits` | 64-32-16-3-10 tanh | 1 |" in table
    assert [len(d["layers"]) for d in json.loads((tmp_path / "r" / "manifold.json").read_text())] == [4, 4]
    lines = (tmp_path / "r" / MANIFEST).read_text().count("\n")
    assert lines == 6
    again = run(tmp_path / "r", **kwargs)
    assert again == results and (tmp_path / "r" / MANIFEST).read_text().count("\n") == lines  # nothing ran
    # a run with a failing row changes nothing: the last good sweep, table and key frames stay together
    before = {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir() if p.is_file() and p.name != MANIFEST
              and p.name != "index.html"}
    broken = Claim("broken", "disk-annulus", (2,), "x", figure="broken", network={"hidden": (2,), "head": "knn",
                                                                                 "k": 10_000})
    with pytest.raises(LayerlapseError, match=r"^reproduce: disk-annulus \(broken\): a job failed: .*k"):
        run(tmp_path / "r", **{**kwargs, "epochs": 3, "claims": (*claims, broken)})
    after = {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir() if p.is_file() and p.name != MANIFEST
             and p.name != "index.html"}
    assert after == before


def test_run_refuses_two_rows_with_one_key_frame(tmp_path):
    twice = (Claim("a", "disk-annulus", (2,), "x"), Claim("b", "disk-annulus", (2, 2), "y"))
    with pytest.raises(LayerlapseError, match="same key frame"):
        run(tmp_path / "r", claims=twice, seeds=1, epochs=1, progress=False)
    assert not (tmp_path / "r").exists()
