"""Transfer learning on MNIST-1D, the lectures' recipe on a small scale.

    python examples/transfer_learning.py [--out DIR] [--per-class 50] [--seeds 0,1,2]

1. Pretrain the MNIST-1D CNN on digits 0-4 (about 2000 signals); `fit` writes the checkpoint
   (`DIR/pretrained/last.safetensors`, safetensors with a JSON header).
2. Learn digits 5-9 from only `--per-class` examples per class, four ways, each for the same
   number of steps:
   - from scratch (random initialisation, every layer trains);
   - pretrained body frozen, new head (`load_pretrained`, `replace_head`, `freeze`): a linear
     classifier on the pretrained features, the lectures' advice for very little data;
   - fine-tune the last two layers (`fine_tune_last(model, 2)`);
   - fine-tune everything, the pretrained layers at a tenth of the head's learning rate
     (`param_groups_by_lr`).
   Each is repeated for several draws of the small training set (`--seeds`); the table gives the
   test accuracy on all test signals of digits 5-9, mean ± std over the draws, and a reference
   row trained from scratch on all the training signals of digits 5-9.
3. Prints the Markdown table and writes `DIR/transfer_learning.png` (a bar chart).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

PRETRAIN_EPOCHS = 30
LR = 1e-2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Transfer learning on MNIST-1D: pretrain on digits 0-4, learn 5-9 from a "
                    "few examples four ways; a Markdown table and a bar chart.")
    parser.add_argument("--out", default="transfer", help="output folder (default: %(default)s)")
    parser.add_argument("--per-class", type=int, default=50,
                        help="training examples per class of digits 5-9 (default: %(default)s)")
    parser.add_argument("--seeds", default="0,1,2",
                        help="draws of the small training set (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=300,
                        help="optimizer steps of each way of learning 5-9 (default: %(default)s)")
    return parser


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    import steepest as st

    model.eval()
    with st.no_grad():
        logits = model(st.Tensor(x)).data
    model.train()
    return float(np.mean(logits.argmax(axis=1) == y))


def pretrain(data, out: Path) -> tuple[Path, float]:
    """The CNN trained on digits 0-4; returns the checkpoint and its test accuracy on 0-4."""
    import steepest as st
    from steepest import models
    from steepest.train import fit

    source = data.y < 5
    source_test = data.y_test < 5
    # A new run never writes over another run's checkpoints: this example's own, from an
    # earlier run, are removed first (on purpose, and only those).
    for name in ("last.safetensors", "best.safetensors"):
        (out / "pretrained" / name).unlink(missing_ok=True)
    st.manual_seed(0)
    model = models.mnist1d_cnn(num_classes=5)
    fit(model, (data.x[source], data.y[source]), optimizer="adam", lr=LR,
        epochs=PRETRAIN_EPOCHS, batch_size=100, checkpoint_dir=out / "pretrained",
        progress=False, log=None, seed=0)
    score = accuracy(model, data.x_test[source_test], data.y_test[source_test])
    return out / "pretrained" / "last.safetensors", score


def learn(way: str, checkpoint: Path, x: np.ndarray, y: np.ndarray, steps: int,
          seed: int) -> tuple[object, int]:
    """Train one way on (x, y) (labels 0-4 for digits 5-9); returns (model, trained params)."""
    import steepest as st
    from steepest import models
    from steepest.optim import make_optimizer
    from steepest.train import fit
    from steepest.train.transfer import (
        fine_tune_last,
        freeze,
        load_pretrained,
        param_groups_by_lr,
        replace_head,
    )

    st.manual_seed(1000 + seed)
    model = models.mnist1d_cnn(num_classes=5)
    params: object = model
    if way != "scratch":
        report = load_pretrained(model, checkpoint)
        assert not report.missing, report
        replace_head(model, 5, generator=np.random.default_rng(seed))
    if way == "frozen":
        freeze(model, ["conv1", "conv2", "conv3"])
    elif way == "last2":
        fine_tune_last(model, 2)
    elif way == "lower-lr":
        params = param_groups_by_lr(model, {"linear": LR}, default_lr=LR / 10)
    optimizer = make_optimizer("adam", params, lr=LR)
    fit(model, (x, y), optimizer=optimizer, steps=steps, batch_size=50, progress=False,
        log=None, seed=seed)
    trained = sum(p.data.size for p in model.parameters() if p.requires_grad)
    return model, trained


WAYS = [
    ("scratch", "from scratch (random init, all layers)"),
    ("frozen", "pretrained body frozen, new head"),
    ("last2", "fine-tune the last 2 layers (conv3 + head)"),
    ("lower-lr", "fine-tune all, body at lr/10"),
]


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    from steepest.data import load_mnist1d

    data = load_mnist1d()
    checkpoint, source_score = pretrain(data, out)
    print(f"pretrained on digits 0-4 ({int(np.sum(data.y < 5))} signals, {PRETRAIN_EPOCHS} "
          f"epochs): test accuracy {100 * source_score:.1f}%; checkpoint {checkpoint}")

    target = np.flatnonzero(data.y >= 5)
    test = data.y_test >= 5
    x_test, y_test = data.x_test[test], data.y_test[test] - 5
    scores: dict[str, list[float]] = {way: [] for way, _ in WAYS}
    trained: dict[str, int] = {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        # per_class examples of each digit 5-9, drawn without replacement
        chosen = np.concatenate([
            rng.choice(target[data.y[target] == digit], args.per_class, replace=False)
            for digit in range(5, 10)])
        x, y = data.x[chosen], data.y[chosen] - 5
        for way, _ in WAYS:
            model, trained[way] = learn(way, checkpoint, x, y, args.steps, seed)
            scores[way].append(accuracy(model, x_test, y_test))
    model, _ = learn("scratch", checkpoint, data.x[target], data.y[target] - 5,
                     args.steps * 4, seed=0)
    full_score = accuracy(model, x_test, y_test)

    n = 5 * args.per_class
    print(f"\nDigits 5-9 from {args.per_class} examples per class ({n} signals), "
          f"{args.steps} steps of Adam (batch 50) each; test accuracy on the {len(y_test)} test "
          f"signals of digits 5-9, mean ± std over {len(seeds)} draws\n")
    print("| way | trained parameters | test accuracy |")
    print("|---|---:|---:|")
    for way, label in WAYS:
        acc = 100 * np.array(scores[way])
        print(f"| {label} | {trained[way]} | {acc.mean():.1f}% ± {acc.std():.1f} |")
    print(f"| reference: from scratch on all {len(target)} training signals of 5-9 "
          f"({args.steps * 4} steps) | {trained['scratch']} | {100 * full_score:.1f}% |")

    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 3.4), dpi=100, layout="constrained")
    ax = figure.subplots()
    means = [100 * np.mean(scores[way]) for way, _ in WAYS]
    stds = [100 * np.std(scores[way]) for way, _ in WAYS]
    labels = ["scratch", "frozen body\n+ new head", "fine-tune\nlast 2",
              "fine-tune all\nbody lr/10"]
    bars = ax.bar(labels, means, yerr=stds, capsize=4,
                  color=["0.6", "tab:blue", "tab:orange", "tab:green"])
    for bar, mean in zip(bars, means, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, mean + 2, f"{mean:.1f}%", ha="center",
                va="bottom", fontsize=9)
    ax.axhline(100 * full_score, color="black", linestyle="--", linewidth=1,
               label=f"scratch, all {len(target)} signals")
    ax.axhline(20, color="0.5", linestyle=":", linewidth=1, label="chance")
    ax.set_ylabel("test accuracy on digits 5-9 (%)")
    ax.set_ylim(0, 118)
    ax.set_title(f"Digits 5-9 from {args.per_class} examples per class, CNN pretrained on 0-4")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    figure.savefig(out / "transfer_learning.png")
    print(f"\nwrote {out / 'transfer_learning.png'} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
