"""Your data, your model: make a labelled point cloud, train a tanh MLP on it in plain
PyTorch, save both as a researcher would (an .npz; a TorchScript file and a state_dict), and render how
the network's layers move the points.

    python examples/train_your_own.py                  # about 20 s here: outputs/helices/
    python examples/train_your_own.py --quality medium

The data: three noisy helices wound around one axis, a third of a turn apart (1,200 points
in 3-D, three classes). Nothing here is layerlapse but the last lines: any model that is an
``nn.Sequential`` of ``nn.Linear`` layers and element-wise activations will do.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import layerlapse as ll


def helices(points_per_class: int = 400, noise: float = 0.08, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three helices of radius 1 around the z axis, phases 0, 120 and 240 degrees, one turn
    each, from z = -1 to 1; -> X (N, 3) float32, y (N,) int64."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in range(3):
        t = rng.uniform(0, 2 * np.pi, points_per_class)
        phase = 2 * np.pi * label / 3
        curve = np.stack([np.cos(t + phase), np.sin(t + phase), t / np.pi - 1], axis=1)
        X.append(curve + rng.normal(0, noise, curve.shape))
        y.append(np.full(points_per_class, label))
    return np.concatenate(X).astype(np.float32), np.concatenate(y)


def train(X: np.ndarray, y: np.ndarray, *, steps: int = 1500, seed: int = 0) -> torch.nn.Sequential:
    """A 3-3-3-3-3 tanh network (three width-3 hidden layers), full-batch Adam."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # a network this small only waits on a thread pool (3x slower on 2 cores)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 3), torch.nn.Tanh(),
        torch.nn.Linear(3, 3), torch.nn.Tanh(),
        torch.nn.Linear(3, 3), torch.nn.Tanh(),
        torch.nn.Linear(3, 3),
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/helices"), help="folder for the files")
    parser.add_argument("--quality", default="low", help="low, medium or high")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    X, y = helices()
    model = train(X, y)
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(X)).argmax(1).numpy() == y).mean())
    print(f"trained 3-3-3-3-3 tanh in plain PyTorch: accuracy {100 * accuracy:.1f}% "
          f"({time.perf_counter() - start:.1f} s)")

    # what most people keep: the data as .npz, the model as TorchScript or as its weights alone
    np.savez(args.out / "helices.npz", X=X, y=y, names=np.array(["helix A", "helix B", "helix C"]))
    torch.jit.save(torch.jit.script(model), str(args.out / "model.pt"))
    torch.save(model.state_dict(), args.out / "weights.pt")  # tensors only: give --arch beside it

    scene = ll.Scene.from_points(X, y, names=["helix A", "helix B", "helix C"], name="helices")
    result = ll.render(scene, args.out / "helices.mp4", model=model, quality=args.quality, progress=False)
    print(f"wrote {result.path} ({result.deformation.n_frames} frames, {time.perf_counter() - start:.0f} s in all)")
    print("the same from the command line:")
    print(f"  layerlapse render {args.out / 'helices.npz'} --model {args.out / 'model.pt'} --quality {args.quality}")
    print(f"  layerlapse render {args.out / 'helices.npz'} --model {args.out / 'weights.pt'} --arch 3-3-3-3-3 "
          f"--activation tanh --quality {args.quality}")


if __name__ == "__main__":
    main()
