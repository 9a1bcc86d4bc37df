"""The batch-size study: full-batch, stochastic and mini-batch gradient descent with one optimizer
for the same number of epochs, against epochs and against wall time (`compare_batch_sizes`)."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab._common import ShortRepr, check_optimizer
from steepest.lab.compare import harness, stats
from steepest.lab.compare.harness import RunResult
from steepest.optim.spec import study_lr

__all__ = ["BATCH_SIZE_LR", "BatchSizeResult", "compare_batch_sizes"]

#: Learning rates of plain SGD per batch size in `compare_batch_sizes` when none are given
#: (None = full batch): the best of the grid 0.01, 0.03, 0.1, 0.3, 1, 3 by validation accuracy
#: after 10 epochs of the default MLP on MNIST-1D, seeds 0 and 1 (for batch 32, 1 won on seed
#: 0 and 0.3 on seed 1: the safer 0.3 is kept). Stochastic steps are noisy and need a small
#: rate; a full-batch step follows the exact gradient and takes a large one. The measurements
#: follow the linear-scaling rule lr = 0.01 · b (Goyal et al., 2017), which other batch sizes
#: get, capped at 1.
BATCH_SIZE_LR: dict[int | None, float] = {None: 1.0, 1: 0.01, 32: 0.3, 128: 1.0}


@dataclass(repr=False)
class BatchSizeResult(ShortRepr):
    """What `compare_batch_sizes` found. batch_sizes: as run (None = full batch); lrs[b]: the
    rate batch size b ran with; runs[b]: one run per seed, each with full_train_loss (E + 1,)
    (the loss on the whole training set before training and after every epoch) and
    train_seconds (E + 1,) (cumulative time in training steps); grid[b]: the grid's runs if the
    rate was chosen by a grid."""

    batch_sizes: list[int | None]
    optimizer: str
    seeds: list[int]
    lrs: dict[int | None, float]
    runs: dict[int | None, list[RunResult]]
    grid: dict[int | None, list[RunResult]]
    n_train: int
    config: dict[str, Any] = field(default_factory=dict)

    def label(self, batch_size: int | None) -> str:
        return harness.batch_label(batch_size, self.n_train)

    def band(self, batch_size: int | None, key: str = "full_train_loss"
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, mean, std) over seeds (std: the sample std, ddof=1; 0 with one seed):
        full_train_loss and train_seconds have x = epochs 0..E, the per-epoch curves
        (val_accuracy, ...) x = 1..E."""
        if key == "train_seconds":
            curves = np.stack([r.train_seconds for r in self.runs[batch_size]])
            return (np.arange(curves.shape[1]), *stats.nan_mean_std(curves))
        return stats.band(self.runs[batch_size], key, 0.05)

    def table(self) -> list[dict[str, Any]]:
        """One row per batch size: rate, steps per epoch, training loss after the first and the
        last epoch, validation and test accuracy, training seconds per epoch and in all."""
        rows = []
        for b in self.batch_sizes:
            runs = self.runs[b]
            epochs = len(runs[0].epochs)
            rows.append({
                "batch size": self.label(b),
                "lr": self.lrs[b],
                "steps/epoch": runs[0].steps_per_epoch,
                "loss after 1 epoch": stats.plus_minus([r.full_train_loss[1] for r in runs]),
                f"loss after {epochs} epochs": stats.plus_minus(
                    [r.full_train_loss[-1] for r in runs]),
                "val acc": stats.plus_minus([r.final_val_accuracy for r in runs]),
                "test acc": stats.plus_minus([r.final_test_accuracy for r in runs]),
                "s/epoch": stats.plus_minus([r.train_seconds[-1] / epochs for r in runs], 4),
                "train time (s)": stats.plus_minus([r.train_seconds[-1] for r in runs], 2),
            })
        return rows


def _batch_lr(batch_size: int | None) -> float:
    if batch_size in BATCH_SIZE_LR:
        return BATCH_SIZE_LR[batch_size]
    return float(min(1.0, 0.01 * batch_size))


def _parse_batch_size(value: Any, where: str) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "full"):
        return None
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ValueError(f"{where}: batch size {value!r} must be 'full' or a positive "
                             f"integer") from None
    return harness.positive_int(value, where, "a batch size")


def compare_batch_sizes(batch_sizes: Sequence[int | str | None] = (None, 1, 32, 128), *,
                        optimizer: str = "sgd", lrs: Mapping[Any, float] | None = None,
                        lr_grid: Sequence[float] | None = None, epochs: int | None = None,
                        seeds: Sequence[int] = (0,), data: Any = None, model: Any = "mlp",
                        model_options: Mapping[str, Any] | None = None,
                        val_fraction: float = 0.2, train_size: int | None = None,
                        split_seed: int = 0, store: Any = None, command: str | None = None,
                        data_name: str | None = None, progress: bool = False,
                        log: Callable[[str], None] | None = None) -> BatchSizeResult:
    """Full-batch (None or "full"), stochastic (1) and mini-batch (b) gradient descent with one
    optimizer, for the same number of epochs, so each has seen every example equally often.

    The lectures' trade-off shows in `full_train_loss` against epochs and against
    `train_seconds`: a stochastic epoch takes n small steps and makes the most progress, but
    costs the most time; a full-batch epoch is one exact, cheap step and needs many epochs;
    mini-batches sit between (and use the vectorised hardware best).
    Learning rates: `lrs[b]` where given (keys as batch_sizes, "full" or None for full batch);
    else, with `lr_grid`, the rate of the grid with the best final validation accuracy on seed
    seeds[0] (runs of the full length); else for SGD `BATCH_SIZE_LR` (measured on MNIST-1D,
    linear scaling for other sizes), and for other optimizers their spec's `study_lr`.
    epochs: default 10.
    Every run is recorded in `store` (kind "compare", name "compare batch=32 lr=0.1 seed=0").
    """
    where = "compare_batch_sizes"
    sizes = harness.distinct(batch_sizes, where, "batch_sizes",
                             lambda b: _parse_batch_size(b, where), (str, numbers.Integral))
    optimizer = check_optimizer(optimizer, where)
    seeds = harness.check_seeds(seeds, where)
    length = harness.run_length(epochs, None, 10, where)
    given: dict[int | None, float] = {}
    for key, value in (lrs or {}).items():
        size = _parse_batch_size(key, where)
        if size not in sizes:
            raise ValueError(f"{where}: lrs names batch size {key!r}, which is not among "
                             f"{[harness.batch_label(b) for b in sizes]}")
        given[size] = harness.positive_float(value, where, f"lrs[{key!r}]")
    grid = harness.check_grid(lr_grid, where, "the batch sizes") if lr_grid is not None else ()
    prepared = harness.prepare_data(data, val_fraction, train_size, split_seed, where)
    if grid and prepared.x_val is None:
        raise ValueError(f"{where}: choosing learning rates by lr_grid needs val_fraction > 0")
    make_model = harness.model_builder(model, model_options, prepared, where)
    store = harness.as_store(store)
    n = len(prepared.x)
    base = {
        "study": "batch-sizes", "optimizer": optimizer,
        "model": model if isinstance(model, str) else "custom",
        "model_options": dict(model_options or {}), **length, "val_fraction": val_fraction,
        "train_size": n, "split_seed": split_seed,
        "data": data_name or ("mnist1d" if data is None else "custom"),
    }

    def train(b: int | None, lr: float, seed: int, stage: str) -> RunResult:
        label = harness.batch_label(b)
        config = {**base, "stage": stage, "batch_size": b, "lr": lr, "seed": seed}
        result = harness.train_run(
            make_model, prepared, label=label, optimizer=optimizer, lr=lr, seed=seed,
            stage=stage, length=length, batch_size=b, store=store,
            run_name=f"compare batch={label} lr={lr:g} seed={seed}", config=config,
            command=command, progress=progress, measure_train_loss=True)
        if log is not None:
            state = "diverged" if result.diverged else \
                f"train loss {result.full_train_loss[-1]:.3f}"
            log(f"batch {harness.batch_label(b, n):>14s} lr={lr:<6g} seed={seed} ({stage}): "
                f"{state} ({result.train_seconds[-1]:.1f} s training)")
        return result

    harness.warm_up(make_model, prepared, sizes[0])
    chosen: dict[int | None, float] = {}
    grids: dict[int | None, list[RunResult]] = {}
    runs: dict[int | None, list[RunResult]] = {}
    for b in sizes:
        grids[b] = []
        best = None
        if b in given:
            chosen[b] = given[b]
        elif grid:
            grids[b] = [train(b, lr, seeds[0], "grid") for lr in grid]
            best = stats.choose_best(grids[b])
            chosen[b] = best.lr
        else:
            chosen[b] = _batch_lr(b) if optimizer == "sgd" else study_lr(optimizer)
        runs[b] = [best if best is not None and seed == seeds[0]
                   else train(b, chosen[b], seed, "seeds") for seed in seeds]
    config = {**base, "batch_sizes": [harness.batch_label(b) for b in sizes], "seeds": seeds,
              "lrs": {harness.batch_label(b): v for b, v in chosen.items()},
              "lr_grid": list(grid) or None}
    return BatchSizeResult(sizes, optimizer, seeds, chosen, runs, grids, n, config)
