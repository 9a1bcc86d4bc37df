"""Augmented samples, drawn: what each `--augment` name does to an image and to a signal.

    python examples/augmentation_gallery.py [--out DIR] [--seed 0]

Writes two pictures into DIR (default: gallery):
- `augment_digits.png`: sklearn's 8x8 digits, one row per augmentation (flip, crop, affine,
  erase, cutout, jitter, noise, mixup), the originals on top;
- `augment_mnist1d.png`: MNIST-1D signals (the data of the regularisation study) with the
  augmentations that make sense for signals (flip, crop, cutout, noise, mixup), each drawn over
  the original in grey.
Each row is `steepest.data.build_augmentation(NAME, ...)`, the same transform that
`steepest train --augment NAME` applies to every training batch, with its default strength
(mixup with alpha 1 here, and a batch whose lambda ~ Beta(1, 1), drawn once per batch, lies
between 0.3 and 0.7, so that the blends are visible). Mixup's soft targets are printed over its
samples.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

IMAGE_AUGMENTATIONS = ["flip", "crop", "affine", "erase", "cutout", "jitter", "noise",
                       "mixup:1.0"]
SIGNAL_AUGMENTATIONS = ["flip", "crop", "cutout", "noise", "mixup:1.0"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Draw augmented digits and MNIST-1D signals.")
    parser.add_argument("--out", default="gallery", help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=8,
                        help="samples per row of the digits (default: %(default)s)")
    return parser


def _soft_label(row: np.ndarray) -> str:
    top = np.argsort(row)[::-1][:2]
    if row[top[1]] < 0.005:
        return f"{top[0]}"
    return f"{row[top[0]]:.2f}·{top[0]} + {row[top[1]]:.2f}·{top[1]}"


def _augmented(spec: str, x: np.ndarray, y: np.ndarray, seed: int, row: int):
    from steepest.data import build_augmentation

    transform = build_augmentation(spec, sample_shape=x.shape[1:], num_classes=10)
    for attempt in range(100):
        xa, ya = transform(x, y, np.random.default_rng([seed, row, attempt]))
        # Mixup draws one lambda per batch; show a batch where the blend is visible.
        if ya.ndim == 1 or 0.3 <= ya.max(axis=1).min() <= 0.7:
            break
    return xa, ya


def draw_digits(out: Path, seed: int, samples: int) -> Path:
    from matplotlib.figure import Figure

    from steepest.data import load_digits

    data = load_digits(seed=seed)
    pick = np.random.default_rng(seed).choice(len(data.x), samples, replace=False)
    x, y = data.x[pick], data.y[pick]
    rows = [("original", x, y)]
    for index, spec in enumerate(IMAGE_AUGMENTATIONS):
        xa, ya = _augmented(spec, x, y, seed, index)
        rows.append((spec.split(":")[0], xa, ya))
    figure = Figure(figsize=(1.0 * samples + 0.9, 1.05 * len(rows)), dpi=90,
                    layout="constrained")
    axes = figure.subplots(len(rows), samples)
    for r, (name, xs, ys) in enumerate(rows):
        for c in range(samples):
            ax = axes[r, c]
            ax.imshow(xs[c, 0], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if ys.ndim == 2:
                ax.set_title(_soft_label(ys[c]), fontsize=7)
            if c == 0:
                ax.set_ylabel(name, fontsize=10)
    figure.suptitle("steepest.data.augment on 8x8 digits (top: originals)")
    path = out / "augment_digits.png"
    figure.savefig(path)
    return path


def draw_signals(out: Path, seed: int, samples: int = 4) -> Path:
    from matplotlib.figure import Figure

    from steepest.data import load_mnist1d

    data = load_mnist1d()
    pick = np.random.default_rng(seed).choice(len(data.x), samples, replace=False)
    x, y = data.x[pick], data.y[pick]
    figure = Figure(figsize=(2.3 * samples + 0.6, 1.45 * len(SIGNAL_AUGMENTATIONS)), dpi=90,
                    layout="constrained")
    axes = figure.subplots(len(SIGNAL_AUGMENTATIONS), samples, sharex=True)
    t = np.arange(x.shape[1])
    for r, spec in enumerate(SIGNAL_AUGMENTATIONS):
        xa, ya = _augmented(spec, x, y, seed, r)
        for c in range(samples):
            ax = axes[r, c]
            ax.plot(t, x[c], color="0.7", linewidth=1.5)
            ax.plot(t, xa[c], color="tab:blue", linewidth=1.1)
            ax.set_yticks([])
            label = _soft_label(ya[c]) if ya.ndim == 2 else f"digit {y[c]}"
            ax.set_title(label, fontsize=8)
            if c == 0:
                ax.set_ylabel(spec.split(":")[0], fontsize=10)
    figure.suptitle("steepest.data.augment on MNIST-1D signals (grey: original)")
    path = out / "augment_mnist1d.png"
    figure.savefig(path)
    return path


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in (draw_digits(out, args.seed, args.samples), draw_signals(out, args.seed)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
