"""The timeline: frame index -> (stage, local t).

The stages, in order: ``input`` (a hold on the undeformed data), then for each hidden
layer k ``layerk.linear``, ``layerk.translate``, ``layerk.<activation>`` and a pause,
and last ``output`` (a hold on the final representation, where the decision boundary
appears). Inside a stage, time runs linearly and is eased (smoothstep by default).

The cards lengthen the two holds: the title card stands over the first ``title_card``
seconds of the input hold, the verdict card over the last ``verdict_card`` seconds of the
output hold (``card``, per frame), so the data stays in view behind them and everything
that reads the timeline (``--at``, figures, subtitles) knows when they stand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from layerlapse.limits import MAX_STAGE_SECONDS

if TYPE_CHECKING:
    from layerlapse.networks.stages import Stage

EASINGS = ("smoothstep", "smootherstep", "linear")
#: the captions of the two holds (the output's gets the result after it)
INPUT_CAPTION = "input: the data, before any layer"
OUTPUT_CAPTION = "output: the decision boundary"
#: the output's caption where no decision is drawn (no data, or not two classes)
PLAIN_OUTPUT_CAPTION = "output: everything after the last layer"


def ease(s: np.ndarray, easing: str) -> np.ndarray:
    """Easing of local time s in [0, 1]; keeps 0 -> 0 and 1 -> 1 exactly."""
    s = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
    if easing == "linear":
        return s
    if easing == "smoothstep":
        return s * s * (3.0 - 2.0 * s)
    if easing == "smootherstep":
        return s * s * s * (s * (6.0 * s - 15.0) + 10.0)
    raise ValueError(easing)


class TimelineConfig(BaseModel):
    """Durations in seconds; validated where they enter (CLI, scene file, Python)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seconds_per_stage: float = Field(2.0, gt=0, le=MAX_STAGE_SECONDS)
    pause: float = Field(0.5, ge=0, le=MAX_STAGE_SECONDS, description="hold after each layer")
    hold_start: float = Field(1.0, ge=0, le=MAX_STAGE_SECONDS, description="hold on the input")
    hold_end: float = Field(2.5, ge=0, le=MAX_STAGE_SECONDS, description="hold on the output")
    easing: Literal["smoothstep", "smootherstep", "linear"] = "smoothstep"
    # None: as long as the card's words take to read (:func:`layerlapse.draw.words.card_timeline`),
    # or TITLE_SECONDS / VERDICT_SECONDS where the words are not known yet
    title_card: float | None = Field(None, ge=0, le=MAX_STAGE_SECONDS, description="the title card, over the input hold")
    verdict_card: float | None = Field(None, ge=0, le=MAX_STAGE_SECONDS,
                                       description="the verdict card, over the output hold")

    def without_cards(self) -> TimelineConfig:
        """The same timeline with neither card (and none of their frames)."""
        return self.model_copy(update={"title_card": 0.0, "verdict_card": 0.0})


#: the cards' seconds where their words are not known (a movie's length checked before training)
TITLE_SECONDS, VERDICT_SECONDS = 1.5, 3.0
#: what ``Timeline.card`` holds per frame
NO_CARD, TITLE, VERDICT = 0, 1, 2
CARDS = {TITLE: "title", VERDICT: "verdict"}


@dataclass(frozen=True)
class Timeline:
    """Per-frame stage table.

    ``stage_names``: (S + 2,) names, ``input`` first and ``output`` last, the S animated
    stages between (each stage's ``name``); ``stage_labels``: their on-screen texts; ``stage``: (F,) index of the animated stage (0 .. S - 1) whose map the
    frame samples, -1 for the undeformed input; ``t``: (F,) eased local time in [0, 1];
    ``name``: (F,) index into ``stage_names`` for the label; ``layer``: (F,) 1-based
    layer, 0 for the input; ``hold``: (F,) True where nothing moves (the input hold, the
    pause after each layer, the output hold): the camera moves only there; ``captions``: each
    stage's caption in words and symbols (:meth:`Stage.caption`), ``card``: (F,) which card
    stands over the frame (:data:`TITLE`, :data:`VERDICT`, or :data:`NO_CARD`).
    """

    stage_names: tuple[str, ...]
    stage_labels: tuple[str, ...]
    stage: np.ndarray
    t: np.ndarray
    name: np.ndarray
    layer: np.ndarray
    fps: float
    n_layers: int
    hold: np.ndarray | None = None
    captions: tuple[str, ...] = ()
    card: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.t.size)

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def stage_label(self, name: str) -> str:
        """The label of the stage named ``name`` (``layer2.tanh`` -> ``layer 2 of 3 · tanh``)."""
        return self.stage_labels[self.stage_names.index(name)]

    def label(self, frame: int) -> str:
        """A short on-screen text for a frame, e.g. ``layer 2 of 3 · tanh``."""
        return self.stage_labels[self.name[frame]]

    def caption(self, frame: int) -> str:
        """A frame's caption: its stage's map in words and symbols, with the local time while
        the stage moves (``layer 2 of 3 · linear (rotate and stretch): x -> p(t) x, p(1) = W ·
        t = 0.42``)."""
        name = int(self.name[frame])
        text = self.captions[name] if self.captions else self.stage_labels[name]
        moving = self.hold is not None and not self.hold[frame]
        return f"{text} \u00b7 t = {float(self.t[frame]):.2f}" if moving else text

    def card_at(self, frame: int) -> str | None:
        """``"title"`` or ``"verdict"`` where that card stands over ``frame``, else None."""
        return None if self.card is None else CARDS.get(int(self.card[frame]))

    def card_span(self, which: str) -> tuple[int, int] | None:
        """The frames ``[start, stop)`` the card ``which`` stands over, or None without it."""
        code = {v: k for k, v in CARDS.items()}[which]
        hits = np.flatnonzero(self.card == code) if self.card is not None else np.zeros(0, np.int64)
        return (int(hits[0]), int(hits[-1]) + 1) if hits.size else None

    def stage_spans(self) -> list[tuple[int, int, int]]:
        """Each stage's frames, in order: ``(index into stage_names, start, stop)``, stop exclusive."""
        change = np.flatnonzero(np.diff(self.name)) + 1
        starts = np.r_[0, change]
        stops = np.r_[change, self.n_frames]
        return [(int(self.name[a]), int(a), int(b)) for a, b in zip(starts, stops)]

    def layer_ends(self) -> list[str]:
        """The name of the last stage of each layer, in order."""
        output = len(self.stage_names) - 1
        ends = [self.name[(self.layer == k) & (self.name != output)] for k in range(1, self.n_layers + 1)]
        return [self.stage_names[int(e.max())] for e in ends if e.size]

    def boundary_opacity(self, frame: int) -> float:
        """The decision boundary fades in over half a second once the output is reached."""
        names = self.name
        if self.stage_names[names[frame]] != "output":
            return 0.0
        return float(min(1.0, (frame - self.output_start + 1) / max(0.5 * self.fps, 1.0)))

    @cached_property
    def output_start(self) -> int:
        """The first frame of the output hold."""
        return int(np.argmax(self.name == len(self.stage_names) - 1))

    @classmethod
    def build(cls, stages: Sequence[Stage], config: TimelineConfig, fps: float, *, decision: bool = True) -> Timeline:
        """Lay out animated ``stages`` (:class:`~layerlapse.networks.stages.Stage`, in order)
        at ``fps`` frames per second, with a pause after each layer; ``decision``: whether
        the output shows a decision boundary (its caption says so only then)."""
        names = ["input"]
        n_layers = (stages[-1].layer + 1) if stages else 0
        labels = ["input", *(st.label(n_layers) for st in stages), "output"]
        captions = [INPUT_CAPTION, *(st.caption(n_layers) for st in stages),
                    OUTPUT_CAPTION if decision else PLAIN_OUTPUT_CAPTION]
        stage, t, name, layer, hold, card = [], [], [], [], [], []

        def segment(stage_index: int, local: np.ndarray, label: int, lay: int, still: bool = True,
                    which: int = NO_CARD) -> None:
            card.append(np.full(local.size, which))
            hold.append(np.full(local.size, still))
            stage.append(np.full(local.size, stage_index))
            t.append(local)
            name.append(np.full(local.size, label))
            layer.append(np.full(local.size, lay))

        def frames(seconds: float) -> int:
            return int(round(seconds * fps))

        title_card = TITLE_SECONDS if config.title_card is None else config.title_card
        verdict_card = VERDICT_SECONDS if config.verdict_card is None else config.verdict_card
        segment(-1, np.zeros(frames(title_card)), 0, 0, which=TITLE)
        segment(-1, np.zeros(frames(config.hold_start)), 0, 0)
        for i, st in enumerate(stages):
            names.append(st.name)
            n = max(frames(config.seconds_per_stage), 2)
            segment(i, ease(np.linspace(0.0, 1.0, n), config.easing), len(names) - 1, st.layer + 1, still=False)
            last_of_layer = i + 1 == len(stages) or stages[i + 1].layer != st.layer
            if last_of_layer:
                segment(i, np.ones(frames(config.pause)), len(names) - 1, st.layer + 1)
        names.append("output")
        segment(len(stages) - 1, np.ones(max(frames(config.hold_end), 1)), len(names) - 1, n_layers)
        segment(len(stages) - 1, np.ones(frames(verdict_card)), len(names) - 1, n_layers, which=VERDICT)
        return cls(
            stage_names=tuple(names),
            stage_labels=tuple(labels),
            stage=np.concatenate(stage).astype(np.int64),
            t=np.concatenate(t),
            name=np.concatenate(name).astype(np.int64),
            layer=np.concatenate(layer).astype(np.int64),
            fps=float(fps),
            n_layers=n_layers,
            hold=np.concatenate(hold).astype(bool),
            captions=tuple(captions),
            card=np.concatenate(card).astype(np.int8),
        )
