"""Reproduce the published MNIST-1D baselines with `steepest train` (3 models x 3 seeds).

    python examples/mnist1d_baselines.py [--seeds 0,1,2] [--db runs/baselines.db]

The reference recipe of the MNIST-1D paper: Adam at lr 1e-2, batch 100, 8000 steps, on the
default dataset (4000 train / 1000 test). Each run is one `steepest train` command, printed as it
starts, recorded in the run store; the table gives the final test accuracy, mean ± std over the
seeds, beside the figures published in the MNIST-1D README (logistic regression 32%, MLP 68%,
CNN 94%).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

import numpy as np

MODELS = [("logreg", "logistic regression", 32), ("mlp", "MLP", 68), ("cnn", "CNN", 94)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--db", default="runs/baselines.db")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    from steepest.store import RunStore

    results: dict[str, list[tuple[float, float]]] = {}
    for model, _, _ in MODELS:
        for seed in seeds:
            command = ["steepest", "train", "--model", model, "--seed", str(seed),
                       "--db", args.db, "--name", f"baseline {model} seed {seed}",
                       "--no-checkpoint", "--no-progress"]
            print("$", shlex.join(command), flush=True)
            subprocess.run([sys.executable, "-m", "steepest", *command[1:]], check=True,
                           stdout=subprocess.DEVNULL)
            run = RunStore(args.db).runs()[-1]
            results.setdefault(model, []).append(
                (run.results["test_accuracy"], run.results["train_seconds"]))
    print("\n| model | steepest test accuracy (mean ± sample std) | published | seconds per run |")
    print("|---|---:|---:|---:|")
    for model, label, published in MODELS:
        accuracy = 100 * np.array([a for a, _ in results[model]])
        seconds = np.array([s for _, s in results[model]])
        spread = accuracy.std(ddof=1) if len(accuracy) > 1 else 0.0
        print(f"| {label} (`--model {model}`) | {accuracy.mean():.1f}% ± {spread:.1f} "
              f"| {published}% | {seconds.mean():.0f} |")


if __name__ == "__main__":
    main()
