"""What each preset claims, the question a movie opens with and the verdict it ends with.

A :class:`Claim` is one of five kinds: the network ``separates`` the classes; it
``cannot`` (and ``reason`` says why, e.g. a homeomorphism cannot unlink two linked tori); it
``usually-not``: it can, but training rarely finds the way; on real data judged on held-out
samples (the digits), its layers ``pulls-apart`` the classes (:func:`pulled_verdict`); or it
only ``asks`` (a user's data, about which nothing is known beforehand: the verdict states how
far the network got). :func:`question` turns the
claim's template into the question for the network actually used (its width, depth and
activation), and :func:`verdict` words the ending from the numbers: it never contradicts them.
A "cannot" claim that a user's network beats says so plainly; a "separates" claim that a
network falls short of does not say it separated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from layerlapse.errors import LayerlapseError, choice_error

if TYPE_CHECKING:
    from layerlapse.networks.model import NetworkConfig

__all__ = ["KINDS", "Claim", "describe_network", "percent", "question", "verdict", "verdict_for"]

Kind = Literal["separates", "cannot", "usually-not", "pulls-apart", "asks"]
#: "pulls-apart": real data (the digits), where no shape forbids a separation and none is
#: promised on images the network never saw: the claim is that the layers pull the classes
#: apart, read off each layer's k-NN accuracy on held-out samples (:func:`pulled_verdict`)
KINDS: tuple[str, ...] = ("separates", "cannot", "usually-not", "pulls-apart", "asks")
#: the placeholder of a question template that names the network
NET = "{net}"
NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class Claim:
    """A preset's claim about its network.

    ``kind``: one of :data:`KINDS`. ``question``: a template holding ``{net}``, which
    :func:`question` fills with the network used ("Can {net} unlink two linked tori?").
    ``reason``: why, in plain words, one sentence without its full stop ("a homeomorphism
    of R^3 cannot unlink them"). ``how``: what a network that falls short does instead
    ("the network pulls one torus thin through the other"); empty for none.
    """

    kind: Kind
    question: str
    reason: str
    how: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise choice_error("claim.kind", self.kind, KINDS)
        if NET not in self.question or not self.question.endswith("?"):
            raise LayerlapseError(f"claim.question: {self.question!r} must hold {NET} (the network) and end with '?'")
        if not self.reason.strip():
            raise LayerlapseError("claim.reason: empty; say why, in plain words")


def describe_network(config: NetworkConfig) -> str:
    """The network in words, for a question: ``three width-3 tanh layers``, ``a width-2 tanh
    layer``, ``tanh layers of widths 2, 3``, ``a flow in R^4``, ``no hidden layer``."""
    words = []
    if config.flow is not None:
        words.append(f"a flow in R^{config.flow_dim}")
    hidden = config.hidden
    acts = config.layer_activations()
    act = acts[0] if acts and len(set(acts)) == 1 else "/".join(dict.fromkeys(acts))
    if len(set(hidden)) == 1:
        count = "a" if len(hidden) == 1 else NUMBERS[len(hidden)] if len(hidden) < len(NUMBERS) else str(len(hidden))
        words.append(f"{count} width-{hidden[0]} {act} layer{'s' if len(hidden) > 1 else ''}")
    elif hidden:
        words.append(f"{act} layers of widths {', '.join(map(str, hidden))}")
    if not words:
        words.append("no hidden layer")
    text = " and ".join(words)
    return text + (f" with a {config.k}-NN head" if config.head == "knn" else "")


def question(preset: object, network_config: NetworkConfig) -> str:
    """The question a movie opens with, for the network actually used.

    >>> question(load_scene("linked-tori"), NetworkConfig(input_dim=3, hidden=(3, 3, 3)))
    'Can three width-3 tanh layers unlink two linked tori?'

    Parameters
    ----------
    preset
        A :class:`~layerlapse.app.presets.Preset` (its ``claim``; without one, its description
        ends in a question mark).
    network_config
        The network used (a user's ``--hidden`` changes the question).

    Returns
    -------
    str
    """
    claim: Claim | None = getattr(preset, "claim", None)
    if claim is None:
        description = str(getattr(preset, "description", "") or getattr(preset, "name", "this scene"))
        return description[:1].upper() + description[1:].rstrip(".")
    text = claim.question.replace(NET, describe_network(network_config))
    return text[:1].upper() + text[1:]


def percent(accuracy: float, misclassified: int) -> str:
    """``100%`` only when no sample is misclassified; otherwise to 0.1%, and at most
    ``99.9%`` (99.97% reads ``99.9%``, never ``100.0%``)."""
    if misclassified == 0:
        return "100%"
    return f"{min(round(accuracy * 100, 1), 99.9):.1f}%"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _samples(n: int) -> str:
    return f"{n:,} sample{'s' if n != 1 else ''}"


def linking_words(linking: Sequence[float] | None) -> str | None:
    """What the linking numbers of the classes' core curves show over the frames: ``linking
    number 1 in every frame`` only when it is 1 in every one; None without any numbers."""
    if linking is None:
        return None
    values = [float(v) for v in linking]
    if not values:
        return None
    known = [round(v) for v in values if math.isfinite(v)]
    if not known:  # no cores, or cores in R^4 throughout: nothing to say
        return None
    if len(known) == len(values) and len(set(known)) == 1:
        return f"linking number {known[0]} in every frame"
    common = max(set(known), key=known.count)
    parts = [f"linking number {common} in {known.count(common)} of {len(values)} frames"]
    others = sorted(set(known) - {common})
    if others:
        parts.append(f"{', '.join(map(str, others))} in {len(known) - known.count(common)}")
    if len(known) < len(values):
        parts.append(f"undefined in {len(values) - len(known)}")
    return ", ".join(parts)


def verdict(claim: Claim | None, *, accuracy: float, misclassified: int, n_samples: int,
            linking: Sequence[float] | None = None) -> tuple[str, ...]:
    """The verdict a movie ends with, worded from the numbers it is given.

    Parameters
    ----------
    claim
        The preset's claim; None (a scene without one) states the numbers only.
    accuracy
        The fraction of samples classified correctly, 0 to 1.
    misclassified
        How many samples are not; it must agree with ``accuracy`` and ``n_samples``.
    n_samples
        The samples classified.
    linking
        The linking number of the classes' core curves per frame (NaN where undefined), from
        the certificate; None when not computed.

    Returns
    -------
    tuple of str
        Two lines: the answer, and the numbers with what the network did.
    """
    if not 0 <= misclassified <= n_samples or not 0.0 <= accuracy <= 1.0 or \
            abs((1.0 - accuracy) * n_samples - misclassified) > 0.5 + 1e-9 * n_samples:
        raise LayerlapseError(f"verdict: accuracy {accuracy!r} does not agree with {misclassified} of {n_samples} "
                              "samples misclassified")
    pct = percent(accuracy, misclassified)
    wrong = f"{_samples(misclassified)} misclassified"
    links = linking_words(linking)
    if claim is None:
        return (f"{pct}: {'every sample classified correctly' if misclassified == 0 else wrong}.",)
    separated = misclassified == 0
    steady = links is not None and links.endswith("in every frame")
    # the linking numbers back a "cannot" only when they hold in every frame; otherwise a
    # "cannot" states the frames' own numbers after the answer. Beside a separation only a
    # steady linking number says something (the samples are apart, the cores still linked).
    backs = steady and claim.kind == "cannot" and not separated
    tells = claim.kind == "cannot" or steady
    shown = f" The frames show {links}." if links is not None and tells and not backs else ""
    first = _answer(claim, misclassified, n_samples, links if steady else None)
    return (first + shown, _numbers(claim, pct, wrong, n_samples, separated=separated, steady=steady))


def _answer(claim: Claim, misclassified: int, n_samples: int, steady_links: str | None) -> str:
    """The verdict's first line: the answer and the claim's reason (with the linking number
    when it backs a "cannot" in every frame)."""
    reason = claim.reason.strip().rstrip(".")
    if claim.kind == "asks":  # no claim to answer: how far the network got, in numbers
        if not misclassified:
            return f"All the way. {_sentence(reason)}"
        return f"Part of the way: {misclassified:,} of {_samples(n_samples)} end in another class's region."
    if claim.kind == "cannot" and misclassified:
        return f"No. {_sentence(reason + (': ' + steady_links if steady_links else ''))}"
    if claim.kind == "cannot":
        return f"Yes, on these samples: all {n_samples:,} classified correctly, although the scene claims that {reason}."
    if not misclassified:
        return f"{'Yes.' if claim.kind in ('separates', 'pulls-apart') else 'Yes, this time.'} {_sentence(reason)}"
    if claim.kind in ("separates", "pulls-apart"):
        return (f"Not with this network: it leaves {misclassified:,} of {_samples(n_samples)} on the wrong side, "
                f"although {reason}.")
    return f"Not this time. {_sentence(reason)}"


def _numbers(claim: Claim, pct: str, wrong: str, n_samples: int, *, separated: bool, steady: bool) -> str:
    """The verdict's second line: the accuracy and what the network did."""
    if not separated:
        return f"{pct}: {claim.how}; {wrong}." if claim.how else f"{pct}: {wrong}."
    if claim.kind != "cannot":
        return f"{pct}: all {_samples(n_samples)} classified correctly."
    if steady:
        return f"{pct}: the samples are separated; the shapes they come from stay linked."
    return f"{pct}: the claim is about the whole shapes; finitely many samples, or another network, can slip past it."


def verdict_for(preset: object, network: object, *, linking: Sequence[float] | None = None) -> tuple[str, ...]:
    """:func:`verdict` for a preset and its network: the accuracy the network records on the
    scene's samples (``network.accuracy``) and the count it stands for; () for a scene without
    samples or a network without an accuracy (hand-set layers).

    Parameters
    ----------
    preset
        A :class:`~layerlapse.app.presets.Preset` (its ``claim`` and ``labels``).
    network
        A :class:`~layerlapse.networks.train.Network`.
    linking
        The certificate's linking numbers per frame, if computed.
    """
    from layerlapse.app.held_out import held_out_score, held_out_separation

    held = held_out_score(preset, network)
    if held is not None:
        return pulled_verdict(getattr(preset, "claim", None), held.accuracy, held.misclassified, held.count,
                              held_out_separation(preset, network) or [])
    accuracy = getattr(network, "accuracy", None)
    n = len(getattr(preset, "labels", ()))
    if accuracy is None or n == 0 or not math.isfinite(accuracy):
        return ()
    misclassified = round((1.0 - float(accuracy)) * n)
    return verdict(getattr(preset, "claim", None), accuracy=float(accuracy), misclassified=misclassified,
                   n_samples=n, linking=linking)


def pulled_verdict(claim: Claim | None, accuracy: float, misclassified: int, n_samples: int,
                   separation: Sequence) -> tuple[str, ...]:
    """The verdict on held-out samples: whether the layers pull the classes apart, read off
    the k-NN accuracy of the input and of the last hidden layer in the directions a 3-D view
    holds (``separation``: :class:`~layerlapse.networks.separation.Separation` rows, input
    first), then the held-out accuracy and the input's k-NN accuracy in all its coordinates.
    Without rows, the accuracy alone."""
    pct = percent(accuracy, misclassified)
    numbers = f"{pct} of {n_samples:,} held-out images classified correctly ({misclassified:,} misclassified)"
    if len(separation) < 2:
        return (numbers + ".",)
    first, last = separation[0], separation[-1]
    seen = (f"in a 3-D view, the 5 nearest neighbours tell apart {100 * first.view:.0f}% of the held-out "
            f"images in the input and {100 * last.view:.0f}% after the last layer")
    answer = "Yes" if last.view > first.view and (claim is None or claim.kind != "cannot") else "Not with this network"
    return (f"{answer}: {seen}.",
            f"{numbers}; in all {first.width} input coordinates, 5-NN tells apart {100 * first.full:.0f}%.")
