"""The optimizer study: the same model on the same data with each optimizer, over seeds, each at
the learning rate a small grid chose on a validation split (`compare_optimizers`).

    result = compare_optimizers(("sgd", "momentum", "adam"), seeds=(0, 1, 2), epochs=20)
    print(markdown_table(result.table()))
    plot_compare(result).savefig("compare.png")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab._common import ShortRepr, check_optimizer, smooth_losses
from steepest.lab.compare import harness, stats
from steepest.lab.compare.harness import RunResult
from steepest.optim.spec import preset_names, study_lr

__all__ = ["DEFAULT_LR", "CompareResult", "compare_optimizers", "default_lr_grid"]

#: The centre of each optimizer's default learning-rate grid (`default_lr_grid`): its spec's
#: study_lr (`steepest.optim.spec.study_lr`), where the measurement behind each rate is stated.
DEFAULT_LR: dict[str, float] = {name: study_lr(name) for name in preset_names()}


def default_lr_grid(optimizer: str, points: int = 3) -> tuple[float, ...]:
    """`points` consecutive rates of the ladder ..., 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, ...
    (steps of about 3×) centred on `DEFAULT_LR[optimizer]`: for adam 0.001, 0.003, 0.01; with
    points=5, 0.0003 ... 0.03. An even count puts the extra rate above the centre."""
    from steepest.optim.registry import OPTIMIZERS

    if optimizer not in DEFAULT_LR:
        raise ValueError(f"default_lr_grid: unknown optimizer {optimizer!r}; choose from "
                         f"{', '.join(OPTIMIZERS)}")
    points = harness.positive_int(points, "default_lr_grid", "points")
    # Rung 2k is 10^k, rung 2k + 1 is 3·10^k.
    centre = round(2 * math.log10(DEFAULT_LR[optimizer]) + (1 - 2 * math.log10(3)))
    first = centre - (points - 1) // 2

    def rung(index: int) -> float:
        decade, half = divmod(index, 2)
        return float(f"{(3.0 if half else 1.0) * 10.0 ** decade:.3g}")

    return tuple(rung(first + k) for k in range(points))


@dataclass(repr=False)
class CompareResult(ShortRepr):
    """What `compare_optimizers` found.

    optimizers, seeds: as run. lr_grid[name]: the rates tried (empty if the rate was given);
    chosen_lr[name]: the rate every seed then ran with. grid[name]: the grid's runs (seed
    seeds[0], one per rate, in grid order); runs[name]: one run per seed at the chosen rate (the
    seeds[0] run is the grid's run at that rate, not repeated). target_loss: the smoothed
    training loss that `steps_to_target` counts steps to.
    """

    optimizers: list[str]
    seeds: list[int]
    lr_grid: dict[str, tuple[float, ...]]
    chosen_lr: dict[str, float]
    grid: dict[str, list[RunResult]]
    runs: dict[str, list[RunResult]]
    target_loss: float
    smoothing: float
    config: dict[str, Any] = field(default_factory=dict)

    def band(self, optimizer: str, key: str = "val_loss"
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, mean, std) over the seeds of one optimizer's curve: key is val_loss,
        val_accuracy, test_loss, test_accuracy, train_loss, train_accuracy (x = epochs 1..E),
        step_loss or smoothed_step_loss (x = steps 1..S). std is the sample standard deviation
        over the seeds (ddof=1; 0 with one seed); NaN (a diverged run's missing epochs or
        steps) is left out of both."""
        return stats.band(self.runs[optimizer], key, self.smoothing)

    def steps_to_target(self, optimizer: str) -> list[int | None]:
        """Per seed, the steps until the smoothed training loss reached `target_loss`."""
        return [stats.steps_to_target(r.step_loss, self.target_loss, self.smoothing)
                for r in self.runs[optimizer]]

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per optimizer the numbers behind `table()`: (mean, sample std (ddof=1)) over the
        seeds."""
        out = {}
        for name in self.optimizers:
            runs = self.runs[name]
            best_val = [r.best_val_accuracy for r in runs]
            final_val = [r.final_val_accuracy for r in runs]
            test = [r.final_test_accuracy for r in runs]
            reached = [s for s in self.steps_to_target(name) if s is not None]
            out[name] = {
                "lr": self.chosen_lr[name],
                "best_val_accuracy": stats.mean_std(best_val),
                "final_val_accuracy": stats.mean_std(final_val),
                "test_accuracy": stats.mean_std(test),
                "steps_to_target": stats.mean_std(reached) if reached else None,
                "reached": len(reached),
                "seconds": stats.mean_std([r.seconds for r in runs]),
                "diverged": sum(r.diverged for r in runs),
            }
        return out

    def table(self) -> list[dict[str, Any]]:
        """One row per optimizer: its rate, best validation accuracy, final test accuracy (mean
        ± sample std over seeds, ddof=1), steps to the target loss, and wall time per run."""
        rows = []
        n = len(self.seeds)
        for name, numbers_ in self.summary().items():
            runs = self.runs[name]
            steps = numbers_["steps_to_target"]
            if steps is None:
                steps_cell: Any = "never"
            else:
                steps_cell = round(steps[0]) if numbers_["reached"] == n and n == 1 else (
                    f"{steps[0]:.0f} ± {steps[1]:.0f}" if numbers_["reached"] == n
                    else f"{steps[0]:.0f} ({numbers_['reached']}/{n} runs)")
            row = {
                "optimizer": name,
                "lr": numbers_["lr"],
                "best val acc": stats.plus_minus([r.best_val_accuracy for r in runs]),
                "test acc": stats.plus_minus([r.final_test_accuracy for r in runs]),
                f"steps to loss ≤ {self.target_loss:.3g}": steps_cell,
                "wall time (s)": stats.plus_minus([r.seconds for r in runs], 2),
            }
            if numbers_["diverged"]:
                row["diverged"] = f"{numbers_['diverged']}/{n}"
            rows.append(row)
        return rows

    def grid_table(self) -> list[dict[str, Any]]:
        """One row per grid run: optimizer, rate, final validation accuracy and loss, and
        whether it was chosen."""
        rows = []
        for name in self.optimizers:
            for run in self.grid[name]:
                rows.append({
                    "optimizer": name, "lr": run.lr,
                    "val acc": "diverged" if run.diverged else run.final_val_accuracy,
                    "val loss": "diverged" if run.diverged else run.final_val_loss,
                    "chosen": "✓" if run.lr == self.chosen_lr[name] else "",
                })
        return rows


def compare_optimizers(optimizers: Sequence[str] = ("sgd", "momentum", "adam"), *,
                       data: Any = None, model: Any = "mlp",
                       model_options: Mapping[str, Any] | None = None,
                       seeds: Sequence[int] = (0, 1, 2),
                       lrs: Mapping[str, float] | None = None,
                       lr_grid: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
                       grid_points: int = 3, epochs: int | None = None,
                       steps: int | None = None, batch_size: int | None = 100,
                       val_fraction: float = 0.2, train_size: int | None = None,
                       target_loss: float | None = None, smoothing: float = 0.05,
                       split_seed: int = 0, store: Any = None, command: str | None = None,
                       data_name: str | None = None, progress: bool = False,
                       log: Callable[[str], None] | None = None) -> CompareResult:
    """Train the same model on the same data with each optimizer over several seeds, each at
    a learning rate chosen on a validation split.

    optimizers: names from `optim.OPTIMIZERS`. data: None (MNIST-1D), a Split or a tuple (see
    `_prepare`); `val_fraction` of its training part is held out (drawn once with split_seed)
    for validation, and its test part is evaluated every epoch. model: a name from
    `models.MODELS` (with model_options, e.g. {"width": 256}) or a function rng -> Module.
    Learning rate: `lrs[name]` if given; else each rate of the grid (`lr_grid[name]`, or
    `lr_grid` itself if it is one list for all, or `default_lr_grid(name, grid_points)`: c/3,
    c, 3c around `DEFAULT_LR[name]`) is trained with seed seeds[0], and the one with the best
    final validation accuracy wins (ties: lower validation loss, then the smaller rate; a
    diverged run never wins unless all did). Then each seed trains at the chosen rate (the
    seeds[0] run is the grid's, not repeated). epochs / steps: the length of every run
    (default 20 epochs). target_loss: the smoothed training loss (see `smooth_losses`) whose
    first crossing `steps_to_target` reports; None picks the highest final smoothed loss of
    any run, so every run reaches it and the count says how much sooner the others got there.
    store: a RunStore, its path, or True (default path): every run (grid runs too, config
    "stage": "grid") is recorded there with kind "compare" and a name like
    "compare adam lr=0.003 seed=1". log: called with one line per finished run.
    """
    where = "compare_optimizers"
    optimizers = harness.distinct(optimizers, where, "optimizers",
                                  lambda name: check_optimizer(name, where))
    seeds = harness.check_seeds(seeds, where)
    length = harness.run_length(epochs, steps, 20, where)
    if batch_size is not None:
        batch_size = harness.positive_int(batch_size, where, "batch_size")
    smoothing = float(smoothing)
    lrs = dict(lrs or {})
    for name, value in lrs.items():
        if name not in optimizers:
            raise ValueError(f"{where}: lrs names {name!r}, which is not among the optimizers "
                             f"{optimizers}")
        lrs[name] = harness.positive_float(value, where, f"lrs[{name!r}]")
    grids: dict[str, tuple[float, ...]] = {}
    for name in optimizers:
        if name in lrs:
            grids[name] = ()
        elif isinstance(lr_grid, Mapping) and name in lr_grid:
            grids[name] = harness.check_grid(lr_grid[name], where, name)
        elif lr_grid is not None and not isinstance(lr_grid, Mapping):
            grids[name] = harness.check_grid(lr_grid, where, name)
        else:
            grids[name] = default_lr_grid(name, grid_points)
    if isinstance(lr_grid, Mapping):
        unknown = sorted(set(lr_grid) - set(optimizers))
        if unknown:
            raise ValueError(f"{where}: lr_grid names {unknown}, not among the optimizers "
                             f"{optimizers}")
    prepared = harness.prepare_data(data, val_fraction, train_size, split_seed, where)
    if prepared.x_val is None:
        raise ValueError(f"{where}: choosing learning rates needs a validation split; give "
                         f"val_fraction > 0 (e.g. 0.2)")
    make_model = harness.model_builder(model, model_options, prepared, where)
    store = harness.as_store(store)
    base = {
        "study": "optimizers", "model": model if isinstance(model, str) else "custom",
        "model_options": dict(model_options or {}), "batch_size": batch_size, **length,
        "val_fraction": val_fraction, "train_size": len(prepared.x), "split_seed": split_seed,
        "data": data_name or ("mnist1d" if data is None else "custom"),
    }

    def train(name: str, lr: float, seed: int, stage: str) -> RunResult:
        config = {**base, "stage": stage, "optimizer": name, "lr": lr, "seed": seed}
        result = harness.train_run(
            make_model, prepared, label=name, optimizer=name, lr=lr, seed=seed, stage=stage,
            length=length, batch_size=batch_size, store=store,
            run_name=f"compare {name} lr={lr:g} seed={seed}", config=config, command=command,
            progress=progress)
        if log is not None:
            state = "diverged" if result.diverged else \
                f"val acc {result.final_val_accuracy:.3f}"
            log(f"{name:>9s} lr={lr:<8g} seed={seed} ({stage}): {state} "
                f"({result.seconds:.1f} s)")
        return result

    harness.warm_up(make_model, prepared, batch_size)
    grid_runs: dict[str, list[RunResult]] = {}
    chosen: dict[str, float] = {}
    runs: dict[str, list[RunResult]] = {}
    for name in optimizers:
        grid_runs[name] = [train(name, lr, seeds[0], "grid") for lr in grids[name]]
        if grid_runs[name]:
            best = stats.choose_best(grid_runs[name])
            chosen[name] = best.lr
        else:
            best = None
            chosen[name] = lrs[name]
        runs[name] = [best if best is not None and seed == seeds[0]
                      else train(name, chosen[name], seed, "seeds") for seed in seeds]
    if target_loss is None:
        finals = [smooth_losses(r.step_loss, smoothing)[-1] for rs in runs.values() for r in rs
                  if not r.diverged and len(r.step_loss)]
        finals = [f for f in finals if math.isfinite(f)]
        target_loss = float(max(finals)) if finals else math.nan
    else:
        target_loss = harness.positive_float(target_loss, where, "target_loss")
    config = {**base, "optimizers": optimizers, "seeds": seeds,
              "lr_grid": {k: list(v) for k, v in grids.items()}, "lrs": lrs,
              "chosen_lr": chosen, "target_loss": target_loss, "smoothing": smoothing}
    return CompareResult(optimizers, seeds, grids, chosen, grid_runs, runs, target_loss,
                         smoothing, config)
