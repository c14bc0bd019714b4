"""Claims, questions and verdicts: exact words for every kind of claim and every contradiction."""

import math
import subprocess
import sys

import pytest

from layerlapse.app.claims import Claim, describe_network, percent, question, verdict
from layerlapse.app.presets import PRESETS, load_scene
from layerlapse.errors import LayerlapseError
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.stages.flow import FlowConfig

TORI = Claim("cannot", "Can {net} unlink two linked tori?", "a homeomorphism cannot unlink them",
             "the network pulls one torus thin through the other")
TORI_4D = Claim("separates", "Can {net} unlink two linked tori?", "in R^4 there is room to lift one torus free")
SPIRALS = Claim("usually-not", "Can {net} separate two tangled spirals?", "narrow layers can, but training rarely finds it",
                "the layers leave them crossed")


def test_every_preset_but_the_grid_has_a_claim_of_a_known_kind():
    for name in PRESETS:
        claim = load_scene(name).claim
        if name == "grid-only":  # no data: nothing to classify, no verdict
            assert claim is None
        else:
            assert claim is not None and claim.kind in ("separates", "cannot", "usually-not", "pulls-apart"), name


@pytest.mark.parametrize("name, kind", [
    ("disk-annulus", "cannot"), ("linked-tori", "cannot"), ("sphere-shell", "cannot"), ("linked-tori-flow", "cannot"),
    ("disk-annulus-lift", "separates"), ("linked-tori-4d", "separates"), ("sphere-shell-4d", "separates"),
    ("linked-tori-flow-4d", "separates"), ("two-curves", "separates"), ("spirals", "separates"),
    ("line-segments", "separates"), ("spirals-tangled", "usually-not"), ("digits", "pulls-apart"),
])
def test_the_essays_claims(name, kind):
    assert load_scene(name).claim.kind == kind


def test_the_question_names_the_network_actually_used():
    tori = load_scene("linked-tori")
    assert question(tori, tori.network) == "Can three width-3 tanh layers unlink two linked tori?"
    wider = NetworkConfig(input_dim=3, hidden=(4, 4))
    assert question(tori, wider) == "Can two width-4 tanh layers unlink two linked tori?"
    assert question(load_scene("disk-annulus-lift"), NetworkConfig(input_dim=2, hidden=(3,))) == \
        "Can a width-3 tanh layer separate a disk from the ring around it?"
    flow = load_scene("linked-tori-flow-4d")
    assert question(flow, flow.network) == "Can a flow in R^4 unlink two linked tori?"


def test_network_words():
    assert describe_network(NetworkConfig(input_dim=2, hidden=(2, 3), activation="relu")) == "relu layers of widths 2, 3"
    assert describe_network(NetworkConfig(input_dim=2, hidden=())) == "no hidden layer"
    assert describe_network(NetworkConfig(input_dim=3, hidden=(3,), flow=FlowConfig())) == \
        "a flow in R^3 and a width-3 tanh layer"
    assert describe_network(NetworkConfig(input_dim=2, hidden=(2, 2), head="knn", k=8)) == \
        "two width-2 tanh layers with a 8-NN head"


def test_a_scene_without_a_claim_asks_its_description():
    grid = load_scene("grid-only")
    assert question(grid, grid.network).startswith("One fixed tanh layer on the grid alone")
    assert verdict(None, accuracy=0.9, misclassified=10, n_samples=100) == ("90.0%: 10 samples misclassified.",)
    assert verdict(None, accuracy=1.0, misclassified=0, n_samples=100) == ("100%: every sample classified correctly.",)


def test_percent_never_rounds_up_to_100():
    assert percent(1.0, 0) == "100%"
    assert percent(2999 / 3000, 1) == "99.9%"
    assert percent(0.9236666, 229) == "92.4%"


# --- "cannot" ---------------------------------------------------------------------------------

def test_cannot_below_100_says_no_with_the_reason_and_the_numbers():
    assert verdict(TORI, accuracy=0.924, misclassified=228, n_samples=3000) == (
        "No. A homeomorphism cannot unlink them.",
        "92.4%: the network pulls one torus thin through the other; 228 samples misclassified.")


def test_cannot_with_linking_1_in_every_frame_says_so():
    assert verdict(TORI, accuracy=0.924, misclassified=228, n_samples=3000, linking=[1.0] * 241) == (
        "No. A homeomorphism cannot unlink them: linking number 1 in every frame.",
        "92.4%: the network pulls one torus thin through the other; 228 samples misclassified.")


def test_cannot_with_a_linking_number_that_is_not_1_in_every_frame_does_not_claim_it():
    first, _ = verdict(TORI, accuracy=0.924, misclassified=228, n_samples=3000, linking=[1.0, 1.0, math.nan, 0.0])
    assert first == ("No. A homeomorphism cannot unlink them. The frames show linking number 1 in 2 of 4 frames, "
                     "0 in 1, undefined in 1.")
    assert "every frame" not in first
    first, _ = verdict(TORI, accuracy=0.9, misclassified=300, n_samples=3000, linking=[math.nan] * 3)
    assert first == "No. A homeomorphism cannot unlink them."  # no cores in R^3: nothing to say


def test_cannot_contradicted_by_a_network_that_separates_every_sample():
    assert verdict(TORI, accuracy=1.0, misclassified=0, n_samples=3000) == (
        "Yes, on these samples: all 3,000 classified correctly, although the scene claims that a homeomorphism "
        "cannot unlink them.",
        "100%: the claim is about the whole shapes; finitely many samples, or another network, can slip past it.")


def test_cannot_contradicted_while_the_cores_stay_linked():
    first, second = verdict(TORI, accuracy=1.0, misclassified=0, n_samples=3000, linking=[1.0] * 5)
    assert first.startswith("Yes, on these samples") and first.endswith("The frames show linking number 1 in every frame.")
    assert second == "100%: the samples are separated; the shapes they come from stay linked."


# --- "separates" ------------------------------------------------------------------------------

def test_separates_at_100_says_yes():
    assert verdict(TORI_4D, accuracy=1.0, misclassified=0, n_samples=3000) == (
        "Yes. In R^4 there is room to lift one torus free.", "100%: all 3,000 samples classified correctly.")


def test_separates_below_100_never_says_it_separated():
    first, second = verdict(TORI_4D, accuracy=0.9706666, misclassified=88, n_samples=3000)
    assert first == ("Not with this network: it leaves 88 of 3,000 samples on the wrong side, although in R^4 "
                     "there is room to lift one torus free.")
    assert second == "97.1%: 88 samples misclassified."
    assert not first.startswith("Yes") and "100%" not in second


def test_separates_at_100_with_linked_cores_states_them():
    first, _ = verdict(TORI_4D, accuracy=1.0, misclassified=0, n_samples=3000, linking=[1.0, 1.0])
    assert first == "Yes. In R^4 there is room to lift one torus free. The frames show linking number 1 in every frame."
    # in R^4 the cores' linking number is undefined after the first layer: nothing to add
    first, _ = verdict(TORI_4D, accuracy=1.0, misclassified=0, n_samples=3000, linking=[1.0] * 6 + [math.nan] * 68)
    assert first == "Yes. In R^4 there is room to lift one torus free."


# --- "usually-not" ----------------------------------------------------------------------------

def test_usually_not_below_100():
    assert verdict(SPIRALS, accuracy=0.7925, misclassified=249, n_samples=1200) == (
        "Not this time. Narrow layers can, but training rarely finds it.",
        "79.2%: the layers leave them crossed; 249 samples misclassified.")


def test_usually_not_contradicted_by_a_network_that_separates():
    assert verdict(SPIRALS, accuracy=1.0, misclassified=0, n_samples=1200) == (
        "Yes, this time. Narrow layers can, but training rarely finds it.",
        "100%: all 1,200 samples classified correctly.")


# --- bad input ----------------------------------------------------------------------------------

def test_numbers_that_disagree_are_refused():
    with pytest.raises(LayerlapseError, match="does not agree"):
        verdict(TORI, accuracy=1.0, misclassified=5, n_samples=3000)
    with pytest.raises(LayerlapseError, match="does not agree"):
        verdict(TORI, accuracy=0.5, misclassified=0, n_samples=10)


def test_a_claim_is_checked_where_it_is_made():
    with pytest.raises(LayerlapseError, match=r"claim\.kind: unknown value 'maybe'; allowed: separates, cannot"):
        Claim("maybe", "Can {net} do it?", "why")  # type: ignore[arg-type]
    with pytest.raises(LayerlapseError, match=r"claim\.question"):
        Claim("cannot", "Can it do it?", "why")


# --- scene files ----------------------------------------------------------------------------------

def _scene_file(tmp_path, claim: str):
    path = tmp_path / "mine.toml"
    path.write_text(f'family = "linked-tori"\nparams = {{ resolution = 16 }}\n{claim}')
    return path


def test_a_scene_file_states_its_own_claim(tmp_path):
    from layerlapse.app.scenefile import load_scene_file

    path = _scene_file(tmp_path, '[claim]\nkind = "separates"\nquestion = "Can {net} do it?"\nreason = "it can"\n')
    preset = load_scene_file(path)
    assert preset.claim == Claim("separates", "Can {net} do it?", "it can")
    assert question(preset, preset.network) == "Can three width-3 tanh layers do it?"
    assert load_scene_file(_scene_file(tmp_path, "")).claim == load_scene("linked-tori").claim  # its family's


@pytest.mark.parametrize("table, message", [
    ('kind = "maybe"\nquestion = "Can {net} do it?"\nreason = "x"',
     "claim.kind: Input should be 'separates', 'cannot' or 'usually-not' (got 'maybe')"),
    ('kind = "cannot"\nquestion = "Can it do it?"\nreason = "x"', "claim.question: a question holding {net}"),
    ('kind = "cannot"\nquestion = "Can {net} do it?"\nreason = "x"\ncolour = 1', "claim.colour: Extra inputs"),
    ('kind = "cannot"\nquestion = "Can {net} do it?"', "claim.reason: Field required"),
])
def test_a_bad_claim_table_is_one_line_naming_field_and_value(tmp_path, table, message):
    from layerlapse.app.scenefile import load_scene_file

    with pytest.raises(LayerlapseError) as info:
        load_scene_file(_scene_file(tmp_path, f"[claim]\n{table}\n"))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_bad_claim_table_exits_2_before_training(tmp_path):
    path = _scene_file(tmp_path, '[claim]\nkind = "maybe"\nquestion = "Can {net} do it?"\nreason = "x"\n')
    done = subprocess.run([sys.executable, "-m", "layerlapse", "train", str(path), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "claim.kind" in done.stderr and "'maybe'" in done.stderr and "usually-not" in done.stderr
    assert not list(tmp_path.rglob("*.pt"))
