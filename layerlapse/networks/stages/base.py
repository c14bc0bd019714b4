"""What a stage is: one continuous map from the identity (t = 0) to a piece of a layer (t = 1).

Every stage kind is a subclass of :class:`Stage` in a module of its own; defining the
subclass registers it under its ``kind`` (:data:`KINDS`). The timeline, the labels, the
figures, the window and the trajectory file all ask the stage objects for their name,
label, widths and box; nothing re-derives a stage from its name.

All stages act on points embedded in the ambient space ``R^D`` (D the network's largest
width); coordinates a stage does not use are left as they are. Pure numpy: no files,
no drawing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

#: kind -> Stage subclass, filled in as the stage modules are imported.
KINDS: dict[str, type[Stage]] = {}


class Stage(ABC):
    """One animated stage of layer ``layer`` (0-based), which maps width ``n_in`` to
    ``n_out``, acting in ``R^dim``.

    Subclasses set ``kind`` and implement :meth:`positions` and :meth:`jacobian`; they
    may override :meth:`apply` (t = 1) and :attr:`tag` (the word after ``layerK.``).
    """

    kind: ClassVar[str]
    #: whether the map is one-to-one for every t (False: it folds space, flagged on screen)
    injective: ClassVar[bool] = True
    #: whether the positions are ``(1 - t) x + t apply(x)`` (a shift, a drop, an activation):
    #: then a frame's view and spread follow from the stage's two ends, with no positions formed
    blend: ClassVar[bool] = False
    #: whether the camera zooms with the data during this stage instead of holding still
    #: (a flow may spread the data several times over, with no box to hold still against)
    camera_zooms: ClassVar[bool] = False

    layer: int
    n_in: int
    n_out: int
    dim: int

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            KINDS[cls.kind] = cls

    @property
    def tag(self) -> str:
        """The word after ``layerK.`` in the stage's name (the kind, or the activation)."""
        return self.kind

    @property
    def name(self) -> str:
        """``layer2.tanh``: what ``--at`` and ``--stages`` accept."""
        return f"layer{self.layer + 1}.{self.tag}"

    def label(self, n_layers: int) -> str:
        """The on-screen text, e.g. ``layer 2 of 3 · tanh``."""
        return f"layer {self.layer + 1} of {n_layers} \u00b7 {self.tag}"

    @property
    def words(self) -> str:
        """What the stage does, in plain words (``rotate and stretch``)."""
        return self.kind

    @property
    def formula(self) -> str:
        """The stage's map in symbols the movie's font has (``x -> p(t) x, p(1) = W``)."""
        return ""

    def caption(self, n_layers: int) -> str:
        """The stage's caption: its place, its map in words and in symbols, e.g.
        ``layer 2 of 3 · linear (rotate and stretch): x -> p(t) x, p(1) = W``."""
        head = f"layer {self.layer + 1} of {n_layers} \u00b7 {self.tag} ({self.words})"
        return f"{head}: {self.formula}" if self.formula else head

    @property
    def box(self) -> tuple[float, float] | None:
        """The box ``[lo, hi]^n_out`` this stage squashes everything into, if any."""
        return None

    @abstractmethod
    def positions(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The points X (V, dim) at local times t (F,) of the stage; -> (F, V, dim).

        Exact: t = 0 gives X, t = 1 gives :meth:`apply`.
        """

    @abstractmethod
    def jacobian(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The derivative of :meth:`positions` with respect to X at every point and time;
        (V, dim), (F,) -> (F, V, dim, dim), ``J[f, v, i, j] = d y_i / d x_j``."""

    def apply(self, X: np.ndarray) -> np.ndarray:
        """The stage at t = 1; (V, dim) -> (V, dim)."""
        return self.positions(X, np.ones(1))[0]

    def shown(self, X: np.ndarray, t: np.ndarray, P: np.ndarray) -> np.ndarray:
        """The points X (V, dim) at local times t (F,) seen through the display rows P
        (F, 3, dim): ``P_f y`` for every position y; -> (F, V, 3). Subclasses whose map is
        linear in t or in X compute it from X without the (F, V, dim) positions."""
        if self.blend:  # (1 - t) P x + t P x1: two products for the whole stage
            t = times(t)[:, None, None]
            with np.errstate(over="ignore", invalid="ignore"):  # NaN/Inf are refused by the caller
                return (1.0 - t) * seen(P, X) + t * seen(P, self.apply(X))
        return np.einsum("fij,fvj->fvi", P, self.positions(X, t))

    def spread(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The total variance (the trace of the covariance) of the points X (V, dim) at
        local times t (F,); -> (F,). For a blend, the quadratic in t of the two ends' traces."""
        t, n = times(t), max(len(X), 1)
        if self.blend:
            A, B = X - X.mean(0), self.apply(X)
            B = B - B.mean(0)
            a, b, c = np.sum(A * A) / n, np.sum(A * B) / n, np.sum(B * B) / n
            return (1.0 - t) ** 2 * a + 2.0 * t * (1.0 - t) * b + t ** 2 * c
        Y = self.positions(X, t)
        return np.sum((Y - Y.mean(1, keepdims=True)) ** 2, axis=(1, 2)) / n


def box_text(lo: float, hi: float, n: int) -> str:
    """The one notation of an activation's box in every output: ``(-1, 1)^3`` (``(-1, 1)``
    for n = 1), the open box, which is what tanh and sigmoid reach.

    Plain ASCII on purpose: a superscript digit past 3 is missing from most fonts, and the
    face VTK draws its text in has no square bracket (``[`` comes out as ``(``), so a closed
    box would read differently in a movie than in the PDF or the page."""
    return f"({lo:g}, {hi:g})" + (f"^{n}" if n > 1 else "")


def times(t: np.ndarray | float) -> np.ndarray:
    """Local times as a flat float array (F,)."""
    return np.asarray(t, dtype=float).reshape(-1)


def seen(P: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Points X (V, dim) through the rows P (F, r, dim) of each frame; -> (F, V, r): one BLAS
    product for all frames (a stacked matmul against a broadcast X runs no BLAS at all)."""
    P = np.asarray(P, dtype=float)
    return np.swapaxes(rows_at(P, np.asarray(X, dtype=float).T), 1, 2)


def rows_at(P: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``P_f M`` for row blocks P (F, r, n) and one matrix M (n, k); -> (F, r, k), as one
    (F r, n) x (n, k) BLAS product."""
    F, r, n = P.shape
    return (np.ascontiguousarray(P).reshape(F * r, n) @ M).reshape(F, r, M.shape[1])


def identity_jacobian(F: int, V: int, dim: int) -> np.ndarray:
    """(F, V, dim, dim) identity matrices (a writable copy)."""
    return np.broadcast_to(np.eye(dim), (F, V, dim, dim)).copy()
