"""Sweep files without a cluster: ``[[group]]`` over the top level, labels, ids, errors, and
the TOML that ``sweep_toml`` writes (read back to the same values)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
from hypothesis import given
from hypothesis import strategies as st

from layerlapse.batch.reproduce import CLAIMS, sweep_text
from layerlapse.batch.sweep import read_sweep, sweep_toml
from layerlapse.errors import LayerlapseError

GROUPS = """
outputs = ["figure"]
size = "96x64"

[training]
epochs = 5
restarts = 1

[grid]
seed = [0, 1]

[[group]]
label = "narrow"
scenes = ["two-curves"]
network = { hidden = [2] }

[[group]]
label = "wide, longer"
scenes = ["two-curves", "spirals"]
outputs = ["movie"]
network = { hidden = [4, 4] }
training = { epochs = 9 }
grid = { lr = [0.01, 0.02] }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def test_groups_lay_their_settings_over_the_top_level(tmp_path):
    jobs = read_sweep(write(tmp_path, GROUPS))
    assert len(jobs) == 2 + 2 * 2 * 2  # narrow: 2 seeds; wide: 2 scenes x 2 seeds x 2 rates
    narrow, wide = jobs[:2], jobs[2:]
    assert {j.label for j in narrow} == {"narrow"} and {j.label for j in wide} == {"wide, longer"}
    assert all(j.network == {"hidden": [2]} and j.training == {"epochs": 5, "restarts": 1, "seed": s}
               for j, s in zip(narrow, (0, 1)))
    assert all(j.outputs == ("figure",) and j.size == "96x64" for j in narrow)
    assert [j.scene for j in wide] == ["two-curves"] * 4 + ["spirals"] * 4
    assert all(j.outputs == ("movie",) and j.size == "96x64" and j.network == {"hidden": [4, 4]} for j in wide)
    assert all(j.training["epochs"] == 9 and j.training["restarts"] == 1 for j in wide)  # merged key by key
    assert {(j.training["seed"], j.training["lr"]) for j in wide[:4]} == {(0, 0.01), (0, 0.02), (1, 0.01), (1, 0.02)}
    assert len({j.id for j in jobs}) == len(jobs)
    assert wide[0].describe().startswith("[wide, longer] two-curves ")


def test_a_label_does_not_change_a_jobs_id(tmp_path):
    before = read_sweep(write(tmp_path, GROUPS))
    after = read_sweep(write(tmp_path, GROUPS.replace('"narrow"', '"renamed"')))
    assert [j.id for j in before] == [j.id for j in after]
    assert read_sweep(write(tmp_path, GROUPS.replace("epochs = 5", "epochs = 6")))[0].id != before[0].id


@pytest.mark.parametrize("text, message", [
    ('[[group]]\nlabel = "x"', "group.0.scenes: none given"),
    ('scenes = ["two-curves"]\n[[group]]\nquality = "ultra"', "group.0.quality: Input should be"),
    ('scenes = ["two-curves"]\n[[group]]\ngrid = { nope = [1] }', "group.0.grid.nope: unknown key 'nope'"),
    ('scenes = ["two-curves"]\n[[group]]\nscenes = ["spirals", "nope"]', "group.0.scenes[1]: unknown scene 'nope'"),
    ('scenes = ["two-curves"]\n[[group]]\ngroup = []', "group.0.group: Extra inputs are not permitted"),
    ('scenes = ["two-curves"]\n[[group]]\nsupersample = 9', "group.0.supersample: Input should be less than"),
])
def test_bad_groups_name_their_field(tmp_path, text, message):
    with pytest.raises(LayerlapseError, match="sweep file .*: " + message.replace("[", r"\[").replace("(", r"\(")):
        read_sweep(write(tmp_path, text))


def test_reproduces_sweep_has_one_labelled_group_per_claim(tmp_path):
    path = write(tmp_path, sweep_text(seeds=3))
    jobs = read_sweep(path)
    assert len(jobs) == 3 * len(CLAIMS)
    assert [j.label for j in jobs[::3]] == [c.label for c in CLAIMS]
    knn = next(j for j in jobs if j.label == "disk-annulus-knn")
    assert knn.network == {"hidden": [2, 2, 2], "head": "knn"} and knn.supersample == 2
    flow = next(j for j in jobs if j.label == "linked-tori-flow")
    assert flow.network == {}  # the preset's own network (its flow layer)
    assert all(j.training["restarts"] == 1 and j.outputs == ("figure",) and j.size == "800x600" for j in jobs)


SCALARS = st.one_of(st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12))
KEYS = st.text(min_size=1, max_size=8)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=8)


@given(top=st.dictionaries(KEYS, VALUES, max_size=4), groups=st.lists(st.dictionaries(KEYS, VALUES, max_size=3),
                                                                    max_size=3))
def test_sweep_toml_reads_back_as_written(top, groups):
    groups = [{k: v for k, v in g.items() if k != "#"} for g in groups]
    top = {k: v for k, v in top.items() if k != "group"}
    back = tomllib.loads(sweep_toml(top, groups, comment="a\nb"))
    assert back == {**top, **({"group": groups} if groups else {})}


def test_a_mesh_files_bytes_are_in_its_jobs_id(tmp_path):
    import shutil

    examples = Path(__file__).parents[1] / "examples"
    shutil.copytree(examples / "meshes", tmp_path / "meshes")
    shutil.copy(examples / "my-meshes.toml", tmp_path / "rings.toml")
    sweep = write(tmp_path, 'scenes = ["rings.toml"]\n[grid]\nsamples_per_class = [100, 200]\n')
    first = read_sweep(sweep)
    assert [j.params for j in first] == [{"samples_per_class": 100}, {"samples_per_class": 200}]
    with (tmp_path / "meshes" / "link.obj").open("a") as f:
        f.write("# edited\n")
    assert [j.id for j in read_sweep(sweep)] != [j.id for j in first]  # a mesh edited: the jobs are new


def test_set_changes_a_scene_files_parameters(tmp_path):
    from layerlapse.app.scenefile import load_scene_file

    examples = Path(__file__).parents[1] / "examples"
    own = load_scene_file(examples / "linked-tori-4d-dark.toml")
    thinner = load_scene_file(examples / "linked-tori-4d-dark.toml", minor_radius=0.1, resolution=24)
    assert thinner.key != own.key and thinner.network == own.network  # the file's network is kept
    with pytest.raises(LayerlapseError, match=r"params.*minor_radiu"):
        load_scene_file(examples / "linked-tori-4d-dark.toml", minor_radiu=0.1)
    with pytest.raises(LayerlapseError, match=r"'resolution' is not a setting of mesh scene file .*allowed: "
                                              r"samples_per_class"):
        load_scene_file(examples / "my-meshes.toml", resolution=10)


def test_the_readmes_copy_of_reproduces_sweep_is_current():
    copy = Path(__file__).parents[1] / "docs" / "reproduce" / "sweep.toml"
    assert copy.read_text(encoding="utf-8") == sweep_text(), "regenerate it: layerlapse reproduce, then copy"


def test_a_groups_own_setting_wins_over_the_top_levels_grid(tmp_path):
    jobs = read_sweep(write(tmp_path, 'scenes = ["two-curves"]\n[grid]\nseed = [0, 1]\nlr = [0.01, 0.02]\n'
                                      '[[group]]\ntraining = { seed = 7 }\n'
                                      '[[group]]\ngrid = { "training.seed" = [5, 6] }\n'))
    assert sorted((j.training["seed"], j.training["lr"]) for j in jobs[:2]) == [(7, 0.01), (7, 0.02)]
    assert sorted(j.training["seed"] for j in jobs[2:]) == [5, 5, 6, 6] and len({j.id for j in jobs}) == 6


@pytest.mark.parametrize("text, message", [
    ('scenes = ["two-curves"]\n[training]\nseed = 3\n[grid]\nseed = [0, 1]', "grid.seed: training.seed is set twice"),
    ('scenes = ["two-curves"]\n[grid]\nseed = [0]\n"training.seed" = [1]', "grid.training.seed: training.seed is set"),
    ('scenes = ["two-curves"]\n[[group]]\ntraining = { seed = 3 }\ngrid = { seed = [0] }', "group.0.grid.seed: "),
    ('scenes = ["two-curves"]\n[[group]]\nlabel = "a\\nb"', "group.0.label: must be one line"),
    ('scenes = ["two-curves"]\n[[group]]\nlabel = "a\\u2028b\\u0085c"', "group.0.label: must be one line"),
])
def test_a_setting_given_twice_at_one_level_is_refused(tmp_path, text, message):
    with pytest.raises(LayerlapseError, match=re.escape(message)):
        read_sweep(write(tmp_path, text))


def test_what_does_not_change_a_jobs_files_does_not_change_its_id(tmp_path):
    def ids(text: str, name: str = "sweep.toml") -> list[str]:
        (tmp_path / name).write_text(text)
        return [j.id for j in read_sweep(tmp_path / name)]

    base = ids('scenes = ["two-curves"]\noutputs = ["sheet", "movie"]\n[grid]\nseed = [0, 1]\nlr = [1.0]')
    assert ids('scenes = ["two-curves"]\noutputs = ["movie", "sheet", "movie"]\n[grid]\nseed = [0.0, 1]\nlr = [1]') \
        == base
    sheet = 'scenes = ["two-curves"]\noutputs = ["sheet"]\n'
    assert ids(sheet + 'quality = "high"\nformat = "gif"') == ids(sheet)  # no movie: its settings are moot
    assert ids(sheet + "supersample = 2") != ids(sheet)
    for folder in ("a", "b"):  # one scene file in two folders: one job
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "curves.toml").write_text('family = "two-curves"\n')
    assert ids('scenes = ["a/curves.toml"]') == ids('scenes = ["b/curves.toml"]')


def test_describe_keeps_a_name_two_tables_share_apart(tmp_path):
    (job,) = read_sweep(write(tmp_path, 'scenes = ["two-curves"]\nparams = { seed = 3 }\ntraining = { seed = 0 }\n'))
    assert job.describe() == "two-curves params.seed=3 training.seed=0"
