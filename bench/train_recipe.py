"""Time the MNIST-1D CNN recipe end to end in steepest and in PyTorch, in one process.

    python bench/train_recipe.py [--steps 8000] [--repeats 2] [--threads 2] [--cli]

The recipe (the MNIST-1D paper's): the ConvBase CNN, Adam at lr 1e-2, batch 100, 8000 steps,
a reshuffle every epoch (40 steps) and the 1000 test examples evaluated after every epoch.
Both sides do the same work per step: forward, cross-entropy, backward, Adam, the loss as a
Python float and the batch accuracy (what a training loop logs). steepest runs `train.fit`;
PyTorch runs the plain loop people write. Runs alternate (steepest, PyTorch, steepest, ...) so a
slow spell of this shared machine falls on both; the table gives the median wall time of each.
`--cli` also times the whole `steepest train --model cnn` command (start-up, data from the
cache, run store and a checkpoint every epoch) in a subprocess.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each library")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--cli", action="store_true", help="also time `steepest train`")
    return parser.parse_args()


ARGS = _parse()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import steepest as st  # noqa: E402
from steepest import models  # noqa: E402
from steepest.data import load_mnist1d  # noqa: E402
from steepest.train import fit  # noqa: E402

torch.set_num_threads(ARGS.threads)
DATA = load_mnist1d()


def run_steepest(seed: int) -> tuple[float, float]:
    st.manual_seed(seed)
    model = models.mnist1d_cnn()
    start = time.perf_counter()
    history = fit(model, DATA, optimizer="adam", lr=1e-2, steps=ARGS.steps, batch_size=100,
                  seed=seed, progress=False, log=None)
    return time.perf_counter() - start, history.test["test_accuracy"]


class TorchConvBase(torch.nn.Module):
    """The MNIST-1D paper's ConvBase, as in its repository."""

    def __init__(self, channels: int = 25) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = torch.nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = torch.nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = torch.nn.Linear(channels * 5, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 1, x.shape[-1])
        h = self.conv3(self.conv2(self.conv1(x).relu()).relu()).relu()
        return self.linear(h.view(h.shape[0], -1))


def run_torch(seed: int) -> tuple[float, float]:
    torch.manual_seed(seed)
    x, y = torch.from_numpy(DATA.x), torch.from_numpy(DATA.y)
    x_test, y_test = torch.from_numpy(DATA.x_test), torch.from_numpy(DATA.y_test)
    model = TorchConvBase()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    start = time.perf_counter()
    step, accuracy = 0, 0.0
    while step < ARGS.steps:
        model.train()
        order = torch.randperm(len(x))
        for begin in range(0, len(x), 100):
            batch = order[begin:begin + 100]
            optimizer.zero_grad()
            logits = model(x[batch])
            loss = torch.nn.functional.cross_entropy(logits, y[batch])
            loss.backward()
            optimizer.step()
            loss.item()
            int((logits.argmax(1) == y[batch]).sum())
            step += 1
            if step == ARGS.steps:
                break
        model.eval()
        with torch.no_grad():
            logits = model(x_test)
            torch.nn.functional.cross_entropy(logits, y_test).item()
            accuracy = float((logits.argmax(1) == y_test).float().mean())
    return time.perf_counter() - start, accuracy


def run_cli(seed: int, folder: str) -> float:
    command = [sys.executable, "-m", "steepest", "train", "--model", "cnn", "--steps",
               str(ARGS.steps), "--seed", str(seed), "--db", os.path.join(folder, "runs.db"),
               "--no-progress"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    import tempfile

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{ARGS.threads} threads; Python {platform.python_version()}, NumPy {np.__version__}, "
          f"PyTorch {torch.__version__}")
    print(f"recipe: MNIST-1D ConvBase, Adam lr 1e-2, batch 100, {ARGS.steps} steps, "
          f"test set evaluated every epoch")
    times: dict[str, list[float]] = {"steepest fit": [], "PyTorch loop": []}
    accuracies: dict[str, list[float]] = {"steepest fit": [], "PyTorch loop": []}
    if ARGS.cli:
        times["steepest train (command)"] = []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(ARGS.repeats):
            seconds, accuracy = run_steepest(repeat)
            times["steepest fit"].append(seconds)
            accuracies["steepest fit"].append(accuracy)
            seconds, accuracy = run_torch(repeat)
            times["PyTorch loop"].append(seconds)
            accuracies["PyTorch loop"].append(accuracy)
            if ARGS.cli:
                times["steepest train (command)"].append(run_cli(repeat, folder))
    reference = float(np.median(times["PyTorch loop"]))
    print("\n| run | median wall time (s) | / PyTorch | test accuracy |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = float(np.median(values))
        accuracy = accuracies.get(name)
        shown = f"{100 * np.mean(accuracy):.1f}%" if accuracy else "-"
        print(f"| {name} | {median:.1f} | {median / reference:.2f}x | {shown} |")


if __name__ == "__main__":
    main()
