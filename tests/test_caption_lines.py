"""A caption too long for one line breaks where it reads best: between its parts (layer,
map, time, view), else never inside a formula's parentheses such as ``(1 - t)``."""

from layerlapse.render.captions import two_lines

PROJECT = ("layer 1 of 3 · project (drop coordinates 33-64: not one-to-one): x_k -> (1 - t) x_k for k > 32 · "
           "t = 0.68 · view: 3 of 64 directions, 24% of the variance")
LINEAR = "layer 1 of 3 · linear (rotate and stretch): x -> p(t) x, p(1) = W · t = 0.37 · view: 3 of 64 directions, 31%"


def test_a_wide_layers_caption_breaks_between_its_parts_first():
    # the digits movie showed "x_k -> (1 -" / "t) x_k for k > 32" and "p(1)" / "= W · t = 0.37"
    assert two_lines(LINEAR)[0] == ["layer 1 of 3 · linear (rotate and stretch): x -> p(t) x, p(1) = W",
                                    "t = 0.37 · view: 3 of 64 directions, 31%"]
    first, then = two_lines(PROJECT)
    assert first == ["layer 1 of 3 · project (drop coordinates 33-64: not one-to-one): x_k -> (1 - t) x_k for k > 32",
                     "t = 0.68 · view: 3 of 64 directions, 24% of the variance"]
    # the fallback, where the first is too wide for the frame: no break inside (1 - t)
    assert " ".join(then) == PROJECT and all(line.count("(") == line.count(")") for line in then), then


def test_without_separators_no_break_falls_inside_parentheses():
    text = "a long formula (1 - t) x + t tanh(x) with more words after (it - here) and then some more"
    (lines,) = two_lines(text)
    assert len(lines) == 2 and " ".join(lines) == text
    assert all(line.count("(") == line.count(")") for line in lines), lines
