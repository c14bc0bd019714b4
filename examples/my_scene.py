"""A scene written in Python: a builder function registered under a name.

    layerlapse render examples/my_scene.py --quality low
    layerlapse render examples/my_scene.py:nested-squares --set gap=0.2
"""

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

import layerlapse as ll


class SquaresParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    gap: float = Field(0.3, gt=0, lt=0.9, description="distance between the two outlines")
    samples_per_class: int = Field(500, ge=10)
    seed: int = 0


def square(half: float, n: int = 200) -> np.ndarray:
    t = np.linspace(0, 4, n, endpoint=False)
    side, f = np.divmod(t, 1.0)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float) * half
    side = side.astype(int)
    return corners[side] + f[:, None] * (corners[side + 1] - corners[side])


@ll.scene("nested-squares", description="a square outline inside another", params=SquaresParams,
          network=ll.NetworkConfig(input_dim=2, hidden=(3, 3)))
def build(p: SquaresParams) -> ll.Scene:
    rng = np.random.default_rng(p.seed)
    inner, outer = square(0.9 - p.gap), square(0.9)
    samples = [c[rng.integers(0, len(c), p.samples_per_class)] + rng.normal(0, 0.02, (p.samples_per_class, 2))
               for c in (inner, outer)]
    grid = ll.Grid(np.stack([np.stack([np.linspace(-1, 1, 40), np.full(40, y)], 1) for y in np.linspace(-1, 1, 9)]))
    return ll.Scene(
        name="nested-squares", description="", dim=2, class_names=("inner", "outer"), surfaces=(),
        curves=(ll.Curve(0, inner, closed=True), ll.Curve(1, outer, closed=True)), grid=grid,
        samples=np.vstack(samples), labels=np.repeat([0, 1], p.samples_per_class),
    )
