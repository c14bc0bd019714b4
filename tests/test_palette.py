"""The ten class colours: every pair tells apart (CIEDE2000, with normal vision and as a
deuteranope sees them), none near a background theme or the text and markers' colour, and
the colours the presets always had kept."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from layerlapse.draw.palette import OKABE_ITO, PALETTE, ciede2000, difference
from layerlapse.draw.style import BACKGROUNDS, Style
from layerlapse.limits import MAX_CLASSES

#: the least CIEDE2000 between two class colours (about 2 is a just-noticeable difference;
#: 20 tells two small dots apart at a glance), and as a deuteranope sees them (Okabe & Ito's
#: own orange and yellow: 11.6)
APART, APART_DEUTERANOPE = 20.0, 10.0


def test_ciede2000_matches_sharma_wu_dalal():
    """Pairs from the CIEDE2000 paper's table (Sharma, Wu & Dalal 2005), to 4 decimals."""
    for a, b, expected in (((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
                           ((50, -1.3802, -84.2814), (50, 0, -82.7485), 1.0000),
                           ((50, 2.5, 0), (73, 25, -18), 27.1492),
                           ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644)):
        assert ciede2000(np.array(a), np.array(b)) == pytest.approx(expected, abs=1e-4)


def test_ten_colours_by_default_and_the_presets_keep_theirs():
    style = Style()
    assert len(style.class_colors) == MAX_CLASSES == len(PALETTE)
    assert style.class_colors[:7] == OKABE_ITO[:7]  # two-class (and up to seven-class) scenes unchanged
    assert "#000000" not in style.class_colors  # black is the text's and the markers' colour


@pytest.mark.parametrize("deuteranope", [False, True])
def test_every_pair_of_the_ten_tells_apart(deuteranope):
    bound = APART_DEUTERANOPE if deuteranope else APART
    worst = min((difference(a, b, deuteranope=deuteranope), a, b) for a, b in itertools.combinations(PALETTE, 2))
    assert worst[0] >= bound, worst


@pytest.mark.parametrize("theme", sorted(BACKGROUNDS))
def test_no_class_colour_near_a_theme(theme):
    """Against the background, the text (and the misclassified markers, drawn in it) and the grid."""
    style = Style.themed(theme)
    for colour in PALETTE:
        for other in (style.background, style.text_color):
            assert difference(colour, other) >= APART, (colour, other)
            assert difference(colour, other, deuteranope=True) >= APART_DEUTERANOPE, (colour, other)
        assert difference(colour, style.grid_color) >= APART_DEUTERANOPE, (colour, style.grid_color)
