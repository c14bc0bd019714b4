"""Watch your own PyTorch model: train it in plain PyTorch, save it, render it.

    python examples/own_model.py              # train, save, render outputs/own-model.mp4
    python examples/own_model.py --no-render  # train and save outputs/own-model.pt only

The training below is ordinary PyTorch; layerlapse only supplies the scene's samples
and draws the result. The model is saved as TorchScript, the file format layerlapse
reads without unpickling anything. The command-line equivalent of the render step is

    layerlapse render disk-annulus-lift --model outputs/own-model.pt

Any ``nn.Sequential`` of ``nn.Linear`` layers and element-wise activations (Tanh,
Sigmoid, Softplus, ReLU, LeakyReLU, ELU, SiLU, GELU) works, whose first Linear takes
the scene's dimension (2 here).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch
from torch import nn

import layerlapse as ll

SCENE = "disk-annulus-lift"
OUT = Path("outputs")


def train_model(samples, labels, *, steps: int = 300, seed: int = 0) -> nn.Sequential:
    """A 2-3-3-2 tanh classifier trained full batch with Adam (plain PyTorch)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2))
    X = torch.as_tensor(samples, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.long)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
    return model.eval()


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-render", action="store_true", help="train and save the model only")
    args = parser.parse_args(argv)

    scene = ll.load_scene(SCENE)
    model = train_model(scene.samples, scene.labels)
    with torch.no_grad():
        predicted = model(torch.as_tensor(scene.samples, dtype=torch.float32)).argmax(1).numpy()
    print(f"accuracy: {(predicted == scene.labels).mean():.3f}")

    OUT.mkdir(exist_ok=True)
    path = OUT / "own-model.pt"
    with warnings.catch_warnings():  # recent torch marks TorchScript deprecated; it still works
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(model), path)
    print(f"saved {path}")

    if not args.no_render:
        ll.render(scene, OUT / "own-model.mp4", model=model, quality="low")
    return path


if __name__ == "__main__":
    main()
