"""Seeded training with Adam; the same seed gives the same weights (on any x86 machine with the
same torch: :mod:`layerlapse.networks.reproducible`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from layerlapse._activity import doing
from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_EPOCHS, MAX_RESTARTS, SEED_MAX
from layerlapse.networks.knn import (
    MAX_BATCH,
    KnnHead,
    KnnMemory,
    knn_head,
    soft_knn_loss,
)
from layerlapse.networks.layers import Layer, forward
from layerlapse.networks.model import MLPWeights, NetworkConfig
from layerlapse.networks.reproducible import pin_kernels, reproducible

pin_kernels()  # before torch's first operation, which chooses its kernels for the CPU

if TYPE_CHECKING:
    from layerlapse.networks.model import MLP
    from layerlapse.networks.stages.flow import FlowLayer


class TrainConfig(BaseModel):
    """Optimisation settings; ``batch_size=0`` means full batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int = Field(300, ge=1, le=MAX_EPOCHS)
    lr: float = Field(0.02, gt=0, le=10)
    batch_size: int = Field(256, ge=0, le=1_000_000)
    weight_decay: float = Field(0.0, ge=0, le=1)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    restarts: int = Field(1, ge=1, le=MAX_RESTARTS, description="train this many seeds derived from seed, keep the best")


class Network:
    """A trained (or loaded) network and what it was trained for.

    ``Network(model, config, training, accuracy, scene_key)``: ``model`` is a torch ``MLP``
    or its :class:`~layerlapse.networks.model.MLPWeights` (what a checkpoint loads). With
    weights, ``network.model`` builds the torch module the first time it is asked for, so
    drawing a loaded network (:meth:`layers`) never imports torch.

    ``scene_key``: the scene name and parameters it was trained on (a dict), so a
    checkpoint can refuse to be used for another scene. ``training`` is None for a network
    trained elsewhere (a user's own PyTorch model).

    ``trained_under``: what it was trained under (versions, threads, kernels, platform:
    :func:`~layerlapse.networks.reproducible.trained_under`), None when not known.

    ``memory``: for a k-NN head (``config.head == "knn"``), the training samples and labels it
    votes with (:class:`~layerlapse.networks.knn.KnnMemory`); a k-NN classifier is its
    training set, so checkpoints store them too. ``accuracy`` is then the leave-one-out k-NN
    accuracy on them.
    """

    __slots__ = ("_model", "_weights", "accuracy", "config", "memory", "scene_key", "trained_under", "training")
    _model: MLP | None
    _weights: MLPWeights | None
    accuracy: float | None
    config: NetworkConfig
    memory: KnnMemory | None
    scene_key: dict
    trained_under: dict | None
    training: TrainConfig | None

    def __init__(self, model: MLP | MLPWeights, config: NetworkConfig, training: TrainConfig | None,
                 accuracy: float | None, scene_key: dict, memory: KnnMemory | None = None, *,
                 trained_under: dict | None = None) -> None:
        weights = model if isinstance(model, MLPWeights) else None
        if weights is not None and weights.config != config:
            raise LayerlapseError(f"network: weights of a {weights.config.describe()} network, "
                                  f"config {config.describe()}")
        set_ = object.__setattr__
        set_(self, "_weights", weights)
        set_(self, "_model", None if weights is not None else model)
        set_(self, "config", config)
        set_(self, "training", training)
        set_(self, "accuracy", accuracy)
        set_(self, "scene_key", scene_key)
        set_(self, "memory", memory if config.head == "knn" else None)
        set_(self, "trained_under", trained_under)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Network is immutable; cannot set {name!r}")

    def __reduce__(self):
        model = self._weights if self._model is None else self._model
        state = (model, self.config, self.training, self.accuracy, self.scene_key, self.memory)
        return (_network, (*state, self.trained_under))

    def __repr__(self) -> str:
        return (f"Network({self.config.describe()}, accuracy={self.accuracy}, "
                f"scene={self.scene_key.get('name') if isinstance(self.scene_key, dict) else None!r})")

    @property
    def model(self) -> MLP:
        """The torch module (built from the loaded weights on first use; imports torch)."""
        if self._model is None:
            assert self._weights is not None  # one of the two is always set
            object.__setattr__(self, "_model", self._weights.to_module())
        return self._model

    def weights(self) -> MLPWeights:
        """The parameters as float32 numpy arrays (the torch module's current ones once built)."""
        if self._model is not None:
            return MLPWeights.from_module(self._model)
        assert self._weights is not None
        return self._weights

    def layers(self) -> tuple[list[Layer | FlowLayer], Layer | KnnHead | None]:
        """The weights as float64 numpy layers, (hidden layers, head); no torch needed for a
        loaded network whose ``model`` was never asked for. A k-NN head is a
        :class:`~layerlapse.networks.knn.KnnHead` of the memory's final representations (None
        without a memory)."""
        hidden, head = self._model.layers() if self._model is not None else self.weights().layers()
        if self.config.head == "knn" and self.memory is not None:
            head = knn_head(lambda X: forward(hidden, X), self.memory, self.config.k, self.config.classes)
        return hidden, head

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices; (N, input_dim) -> (N,). A k-NN head votes with its memory (a
        query that is a memory sample counts itself among its neighbours)."""
        if self.config.head == "knn":
            hidden, head = self.layers()
            if not isinstance(head, KnnHead):
                raise LayerlapseError("network: this k-NN network has no memory (training samples) to vote with")
            return head.predict(forward(hidden, np.asarray(X, dtype=np.float64)))
        import torch

        with torch.no_grad():
            return self.model(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()


def _network(*state) -> Network:
    """Unpickle a :class:`Network` (``trained_under`` is keyword-only)."""
    *args, trained_under = state
    return Network(*args, trained_under=trained_under)


def accuracy(model: MLP, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of samples classified correctly. For a k-NN head, X and y are its memory
    too: each sample is classified by the others (leave-one-out)."""
    import torch

    if model.config.head == "knn":
        return knn_accuracy(model, X, y)
    with torch.no_grad():
        pred = model(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()
    return float((pred == y).mean())


@doing("training")
def train(
    X: np.ndarray,
    y: np.ndarray,
    config: NetworkConfig,
    training: TrainConfig,
    *,
    scene_key: dict | None = None,
    progress: Callable[[int, float], None] | None = None,
    on_step: Callable[[int, MLP], None] | None = None,
) -> Network:
    """Train an MLP on samples X (N, input_dim) with labels y (N,) in 0 .. classes - 1.

    ``progress(epoch, loss)`` is called after every epoch (of every restart);
    ``on_step(step, model)`` after every optimisation step (before the first, with step 0). With
    ``training.restarts > 1`` the network with the best training accuracy is kept (the
    first among equals), so the result is still determined by ``training.seed``.

    A k-NN head (``config.head == "knn"``) trains on the essay's soft k-NN loss
    (:func:`~layerlapse.networks.knn.soft_knn_loss`: each sample of a batch classified by the
    others), with batches of at most :data:`~layerlapse.networks.knn.MAX_BATCH` samples (the
    loss compares every pair); its accuracy is the leave-one-out k-NN accuracy on the samples,
    and the network keeps them as its memory.
    """
    X = np.asarray(X, dtype=np.float32)
    raw = np.asarray(y)
    if raw.dtype.kind == "f" and not np.array_equal(raw, np.round(raw)):  # int64 would truncate 0.5 to class 0
        row = int(np.flatnonzero(raw != np.round(raw))[0])
        raise LayerlapseError(f"labels: row {row} is {raw[row].item()!r}, not a class; allowed: integers 0 to "
                              f"{config.classes - 1}")
    y = raw.astype(np.int64)
    if X.ndim != 2 or X.shape[1] != config.input_dim:
        raise LayerlapseError(
            f"network.input_dim: {config.input_dim} does not match the samples' dimension "
            f"{X.shape[1] if X.ndim == 2 else X.shape}"
        )
    if y.size and (y.min() < 0 or y.max() >= config.classes):
        raise LayerlapseError(f"network.classes: {config.classes} is too few for labels up to {y.max()}")
    best: tuple[float, MLP] | None = None
    # one thread, deterministic algorithms: see layerlapse.networks.reproducible
    with reproducible() as under:
        for restart in range(training.restarts):
            model = _train_once(X, y, config, training, restart_seed(training.seed, restart), restart, progress,
                                on_step)
            acc = accuracy(model, X, y)
            if best is None or acc > best[0]:
                best = (acc, model)
    assert best is not None  # restarts >= 1
    memory = KnnMemory(X, y) if config.head == "knn" and len(X) else None
    return Network(best[1].eval(), config, training, best[0], dict(scene_key or {}), memory, trained_under=under)


#: the estimate's steps: untimed (setting up), then timed up to a count or a time (at least 3)
_WARM_STEPS, _TIMED_STEPS, _TIMED_SECONDS = 3, 40, 0.15


def estimate_seconds(X: np.ndarray, y: np.ndarray, config: NetworkConfig, training: TrainConfig) -> float:
    """About how long :func:`train` will take here: the mean time of optimisation steps of
    this network at this batch size, timed on this machine (one thread, as training runs,
    after untimed steps that pay for setting up; :data:`_TIMED_STEPS` of them or
    :data:`_TIMED_SECONDS`, whichever comes first, so a busy machine's preemptions count as
    they will in training), times the steps of every epoch of every restart. A flow layer's
    steps grow as its field bends, so its estimate is a lower bound."""
    import time

    import torch

    from layerlapse.networks.model import MLP

    n = len(X)
    if n == 0:
        return 0.0
    batch = n if training.batch_size == 0 else min(training.batch_size, n)
    if config.head == "knn":
        batch = min(batch, MAX_BATCH)
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64)).clamp(0, config.classes - 1)
    with reproducible(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = MLP(config)
        optimiser = torch.optim.Adam(model.parameters(), lr=training.lr)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step(idx: torch.Tensor) -> float:
            optimiser.zero_grad()
            if config.head == "knn":
                loss = soft_knn_loss(model.representation(Xt[idx]), yt[idx], config.k, config.classes)
            else:
                loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            optimiser.step()
            return loss.item()

        order = torch.randperm(n)
        for k in range(_WARM_STEPS):
            step(order[(k * batch) % n:][:batch])
        start, timed = time.perf_counter(), 0
        while timed < _TIMED_STEPS and (timed < 3 or time.perf_counter() - start < _TIMED_SECONDS):
            step(order[(timed * batch) % n:][:batch])
            timed += 1
        per_step = (time.perf_counter() - start) / timed
    return per_step * -(-n // batch) * training.epochs * training.restarts


def knn_accuracy(model: MLP, X: np.ndarray, y: np.ndarray) -> float:
    """The leave-one-out k-NN accuracy of a k-NN network on its samples X (N, n), y (N,)."""
    if len(X) == 0:
        return float("nan")
    hidden, _ = model.layers()
    head = knn_head(lambda Z: forward(hidden, Z), KnnMemory(X, y), model.config.k, model.config.classes)
    return head.loo_accuracy()


def restart_seed(seed: int, restart: int) -> int:
    """Restart 0 uses ``seed`` itself; later restarts get independent seeds derived from
    (seed, restart), so the restarts of neighbouring seeds never coincide."""
    if restart == 0:
        return seed
    return int(np.random.SeedSequence([seed, restart]).generate_state(1)[0])


def _train_once(X, y, config: NetworkConfig, training: TrainConfig, seed: int, restart: int, progress,
                on_step=None) -> MLP:
    import torch

    from layerlapse.networks.model import MLP

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MLP(config)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    optimiser = torch.optim.Adam(model.parameters(), lr=training.lr, weight_decay=training.weight_decay)
    knn = config.head == "knn"
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(Xt)
    batch = n if training.batch_size == 0 else min(training.batch_size, n)
    if knn:
        batch = min(batch, MAX_BATCH)
    step = 0
    if on_step is not None:
        on_step(0, model)
    for epoch in range(training.epochs):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            optimiser.zero_grad()
            if knn:
                loss = soft_knn_loss(model.representation(Xt[idx]), yt[idx], config.k, config.classes)
            else:
                loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
            step += 1
            if on_step is not None:
                on_step(step, model)
        if not np.isfinite(total):
            raise LayerlapseError(
                f"training: the loss became NaN/Inf at epoch {epoch + 1}; lower training.lr "
                f"(now {training.lr})"
            )
        if progress is not None:
            progress(restart * training.epochs + epoch + 1, total / n)
    return model
