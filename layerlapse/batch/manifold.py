"""``layerlapse reproduce``'s second table: the essay's manifold hypothesis on real image data.

The essay asks whether its picture holds for real data such as images: if each class lies
near a low-dimensional manifold of its own, a network's layers should pull the classes apart
layer by layer, until the last hidden representation is close to linearly separable. Each row
trains a scene's default network with one seed (the digits: 64-32-16-3-10 tanh) and measures,
on the images held out of training, the 5-NN accuracy of the input and of each hidden layer's
representation (:mod:`layerlapse.networks.separation`), in a 3-D view of it and in all its
coordinates, and the accuracy of the network's linear head on the last one. The "measured"
words are made from those numbers by :func:`measured_words`, never written by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from layerlapse.errors import LayerlapseError
from layerlapse.networks.separation import Separation

#: the scenes with held-out samples the table covers
SCENES = ("digits",)
#: what the essay's manifold hypothesis predicts for each row
PREDICTS = ("the classes are pulled apart layer by layer; the last hidden representation is close to "
            "linearly separable")


@dataclass(frozen=True)
class ManifoldRow:
    """One seed of one scene: the network, its training and held-out accuracy, and the 5-NN
    separation of each representation (input first) on the held-out samples."""

    scene: str
    network: str
    seed: int
    training_accuracy: float
    held_out_accuracy: float
    held_out: int
    layers: tuple[Separation, ...]


def measure(scene: str, seed: int, epochs: int | None = None) -> ManifoldRow:
    """Train ``scene``'s default network with ``seed`` (``epochs``: fewer, for tests) and
    measure it on the scene's held-out samples."""
    from layerlapse.app.held_out import held_out_score, held_out_separation
    from layerlapse.app.network import train_network
    from layerlapse.app.presets import load_scene

    preset = load_scene(scene)
    training = {"seed": seed, "restarts": 1, **({"epochs": epochs} if epochs else {})}
    network = train_network(preset, training=training, progress=False)
    score, layers = held_out_score(preset, network), held_out_separation(preset, network)
    if score is None or layers is None:
        raise LayerlapseError(f"reproduce: scene {scene!r} holds no samples out of training")
    return ManifoldRow(scene, network.config.describe(), seed, float(network.accuracy or 0.0), score.accuracy,
                       score.count, tuple(layers))


def measure_all(seeds: int = 3, epochs: int | None = None, scenes: tuple[str, ...] = SCENES) -> list[ManifoldRow]:
    """:func:`measure` for every scene and seeds 0 .. ``seeds`` - 1."""
    return [measure(scene, seed, epochs) for scene in scenes for seed in range(seeds)]


def _chain(values: list[float]) -> str:
    return " → ".join(f"{100 * v:.1f}%" for v in values)


def measured_words(row: ManifoldRow) -> str:
    """What the numbers say about the prediction: whether the 3-D view's separation grows at
    every layer, from what to what, and the linear head's held-out accuracy on the last layer."""
    view = [s.view for s in row.layers]
    steps = [b > a for a, b in zip(view, view[1:])]
    if all(steps):
        grows = f"grows at every layer in a 3-D view ({100 * view[0]:.0f}% to {100 * view[-1]:.0f}%)"
    elif view[-1] > view[0]:
        grows = (f"grows in a 3-D view from {100 * view[0]:.0f}% to {100 * view[-1]:.0f}%, but not at every "
                 f"layer ({sum(steps)} of {len(steps)})")
    else:
        grows = f"does not grow in a 3-D view ({100 * view[0]:.0f}% to {100 * view[-1]:.0f}%)"
    full = [s.full for s in row.layers]
    kept = (f"in all coordinates the input is already {100 * full[0]:.0f}% told apart and the last layer "
            f"{100 * full[-1]:.0f}% in {row.layers[-1].width}")
    return f"separation {grows}; {kept}; the linear head: {100 * row.held_out_accuracy:.1f}% held out"


def markdown(rows: list[ManifoldRow]) -> str:
    """The rows as a Markdown table."""
    if not rows:
        return ""
    names = " → ".join(s.name for s in rows[0].layers)
    lines = [f"| scene | network | seed | training | held out | 5-NN in a 3-D view ({names}) | "
             f"5-NN in all coordinates | the manifold hypothesis predicts | measured |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r.scene}` | {r.network} | {r.seed} | {100 * r.training_accuracy:.1f}% | "
                     f"{100 * r.held_out_accuracy:.1f}% of {r.held_out:,} | {_chain([s.view for s in r.layers])} | "
                     f"{_chain([s.full for s in r.layers])} | {PREDICTS} | {measured_words(r)} |")
    return "\n".join(lines) + "\n"


def as_json(rows: list[ManifoldRow]) -> list[dict]:
    """The rows as plain data (what ``manifold.json`` holds)."""
    return [asdict(r) for r in rows]
