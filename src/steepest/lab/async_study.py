"""The GEM study: asynchronous strategies against the number of workers (Hermans & Louppe 2018,
Fig. 1d), in the deterministic simulator (`steepest.distributed.simulate`).

    result = run_async_study()                    # the reference experiment
    result.table()                                # median final loss per strategy × workers
    result.criteria()                             # Fig. 1d's findings, each checked
    plot_final_loss(result); plot_loss_curves(result); plot_mean_pi(result)

The reference experiment (the defaults): scikit-learn's digits (the 1438 training images of
`data.load_digits`, pixels in [0, 1]); an MLP 64-128-10 with ReLU and He initialisation;
batch 64 per worker; plain SGD steps of lr 0.2 (the server's for downpour and staleness, each
worker's Δθ for GEM); GEM's momentum 0.9 and κ = 1; 200 steps per worker, round-robin; the
final loss is the training loss of the central variable. The initialisation is the study's
choice (the issue leaves it open): PyTorch's default uniform init trains plain SGD slower, so
DOWNPOUR on one worker ends at 0.204, just above the 0.2 the findings ask for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["AsyncStudyResult", "CSV_COLUMNS", "DEFAULTS", "plot_final_loss", "plot_loss_curves",
           "plot_mean_pi", "run_async_study"]

#: The reference experiment.
DEFAULTS: dict[str, Any] = dict(
    strategies=("downpour", "staleness", "gem"), workers=(1, 2, 4, 8, 16, 32), seeds=3,
    lr=0.2, momentum=0.9, kappa=(1.0,), schedule="round-robin", steps=200, batch_size=64,
    width=128, init="he",
)

#: The columns of results.csv, one row per run.
CSV_COLUMNS = ("strategy", "workers", "seed", "final_loss", "mean_staleness", "mean_pi",
               "clamped_fraction")


@dataclass
class AsyncStudyResult:
    """Every run of the study: `runs` (one dict per strategy × workers × seed with the CSV
    columns plus `kappa` and `diverged`), and `curves[(label, workers, seed)] = (worker_steps,
    loss)`. `labels` are the strategies as shown ("gem", or "gem κ=2" when κ varies)."""

    config: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    curves: dict[tuple[str, int, int], tuple[list[float], list[float]]] = field(
        default_factory=dict)
    labels: list[str] = field(default_factory=list)
    workers: list[int] = field(default_factory=list)

    def csv_rows(self) -> list[dict[str, Any]]:
        return [{name: run[name] for name in CSV_COLUMNS} for run in self.runs]

    def median(self, label: str, workers: int, key: str = "final_loss") -> float:
        values = [run[key] for run in self.runs
                  if run["strategy"] == label and run["workers"] == workers]
        return float(np.median(values)) if values else math.nan

    def table(self) -> list[dict[str, Any]]:
        """One row per strategy × workers: the median final loss over the seeds, the mean
        staleness, and for GEM the mean π and the fraction of coordinates clamped to 0."""
        rows = []
        for label in self.labels:
            for n in self.workers:
                row = {"strategy": label, "workers": n,
                       "median final loss": self.median(label, n),
                       "mean staleness": self.median(label, n, "mean_staleness")}
                if label.startswith("gem"):
                    row["mean π"] = self.median(label, n, "mean_pi")
                    row["clamped to 0"] = self.median(label, n, "clamped_fraction")
                diverged = sum(1 for run in self.runs if run["strategy"] == label
                               and run["workers"] == n and run["diverged"])
                row["diverged"] = f"{diverged}/{self.config['seeds']}" if diverged else ""
                rows.append(row)
        return rows

    def criteria(self) -> list[dict[str, Any]]:
        """The findings of the paper's Fig. 1d, each checked on the medians (those the study's
        axes cover). Rows: finding, holds (True/False), detail."""
        checks: list[dict[str, Any]] = []

        def check(finding: str, holds: bool, detail: str) -> None:
            checks.append({"finding": finding, "holds": bool(holds), "detail": detail})

        ns = self.workers
        loss = self.median
        if "downpour" in self.labels:
            small = [n for n in ns if n <= 8]
            large = [n for n in ns if n >= 16]
            if small:
                worst = max(loss("downpour", n) for n in small)
                check("DOWNPOUR's final loss is at most 0.2 for n ≤ 8", worst <= 0.2,
                      f"largest {worst:.4g}")
            if large:
                best = min(loss("downpour", n) for n in large)
                check("DOWNPOUR's final loss is at least 1.0 for n ≥ 16", best >= 1.0,
                      f"smallest {best:.4g}")
        if "gem" in self.labels:
            gem = [loss("gem", n) for n in ns]
            check("GEM stays finite and at most 0.1 for every n",
                  all(math.isfinite(v) and v <= 0.1 for v in gem),
                  f"largest {max(gem):.4g}")
            ratios = [b / a for a, b in zip(gem, gem[1:], strict=False) if a > 0]
            if ratios:
                check("GEM is never more than 1.1× its value at the previous n",
                      max(ratios) <= 1.1, f"largest ratio {max(ratios):.3g}")
            if "downpour" in self.labels and 32 in ns:
                factor = loss("downpour", 32) / loss("gem", 32)
                check("GEM at n = 32 is at least 100× below DOWNPOUR", factor >= 100,
                      f"DOWNPOUR / GEM = {factor:.4g}")
            pis = [loss("gem", n, "mean_pi") for n in ns]
            if len(pis) > 1:
                check("GEM's mean π strictly decreases with n",
                      all(b < a for a, b in zip(pis, pis[1:], strict=False)),
                      ", ".join(f"{p:.3g}" for p in pis))
            if "staleness" in self.labels:
                rest = [n for n in ns if n >= 4]
                stale = [loss("staleness", n) for n in ns]
                if rest:
                    factor = min(loss("staleness", n) / loss("gem", n) for n in rest)
                    check("The staleness rule stays stable, but its loss is at least 3× GEM's "
                          "for n ≥ 4", all(math.isfinite(v) and v < 1.0 for v in stale)
                          and factor >= 3, f"smallest ratio {factor:.3g}")
        return checks


def _data(train_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    from steepest.data import load_digits

    split = load_digits()
    x = split.x.reshape(len(split.x), -1)
    y = split.y
    if train_size is not None:
        x, y = x[:train_size], y[:train_size]
    return x, y


def run_async_study(strategies: Sequence[str] = DEFAULTS["strategies"],
                    workers: Sequence[int] = DEFAULTS["workers"], *,
                    seeds: int = DEFAULTS["seeds"], lr: float = DEFAULTS["lr"],
                    momentum: float = DEFAULTS["momentum"],
                    kappa: Sequence[float] = DEFAULTS["kappa"],
                    schedule: str = DEFAULTS["schedule"], steps: int = DEFAULTS["steps"],
                    batch_size: int = DEFAULTS["batch_size"], width: int = DEFAULTS["width"],
                    init: str = DEFAULTS["init"], train_size: int | None = None,
                    data: tuple[np.ndarray, np.ndarray] | None = None,
                    progress: Callable[[str], None] | None = None) -> AsyncStudyResult:
    """Simulate every strategy × workers × seed (and κ for GEM) and collect the results.

    strategies: names from `distributed.STRATEGIES`. kappa: GEM's κ values (one run set each).
    seed s seeds the model's initialisation and the workers' batches. train_size: use only the
    first examples (quick runs). data: (x, y) instead of digits. progress: called with one line
    per strategy × workers.
    """
    from steepest import models
    from steepest.distributed.simulate import simulate
    from steepest.random import manual_seed

    x, y = data if data is not None else _data(train_size)
    kappas = [float(k) for k in kappa]
    config = dict(strategies=list(strategies), workers=list(workers), seeds=seeds, lr=lr,
                  momentum=momentum, kappa=kappas, schedule=schedule, steps=steps,
                  batch_size=batch_size, width=width, init=init, train_examples=len(x))
    result = AsyncStudyResult(config, workers=[int(n) for n in workers])
    variants: list[tuple[str, str, dict[str, Any]]] = []
    for name in strategies:
        if name == "gem":
            for k in kappas:
                label = "gem" if kappas == [1.0] else f"gem κ={k:g}"
                variants.append((label, name, {"momentum": momentum, "kappa": k}))
        else:
            variants.append((name, name, {}))
    result.labels = [label for label, _, _ in variants]
    classes = int(y.max()) + 1
    for label, name, options in variants:
        for n in result.workers:
            finals = []
            for seed in range(seeds):
                manual_seed(seed)
                model = models.mlp(x.shape[1], classes, depth=1, width=width, init=init)
                run = simulate(name, model, (x, y), workers=n, steps=steps,
                               batch_size=batch_size, optimizer="sgd", lr=lr,
                               schedule=schedule, seed=seed, **options)
                result.runs.append({
                    "strategy": label, "workers": n, "seed": seed,
                    "final_loss": run.final_loss, "mean_staleness": run.mean_staleness,
                    "mean_pi": run.mean_pi, "clamped_fraction": run.clamped_fraction,
                    "kappa": options.get("kappa"), "diverged": run.diverged})
                result.curves[(label, n, seed)] = (run.worker_steps, run.loss)
                finals.append(run.final_loss)
            if progress is not None:
                progress(f"{label:>12} n={n:<3d} median final loss {np.median(finals):.4g}")
    return result


# ---------------------------------------------------------------------------- figures
def plot_final_loss(result: AsyncStudyResult) -> Any:
    """Fig. 1d: the median final training loss against the number of workers (log scales).
    A median that diverged is drawn at the top edge, marked ×."""
    from steepest.figures import log_axis, new_figure

    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    finite = [run["final_loss"] for run in result.runs if math.isfinite(run["final_loss"])]
    ceiling = max(finite) * 3 if finite else 10.0
    for label in result.labels:
        medians = [result.median(label, n) for n in result.workers]
        shown = [m if math.isfinite(m) else ceiling for m in medians]
        line, = ax.plot(result.workers, shown, marker="o", label=label)
        for n, m in zip(result.workers, medians, strict=True):
            if not math.isfinite(m):
                ax.plot([n], [ceiling], marker="x", color=line.get_color(), markersize=10)
    ax.set_xscale("log", base=2)
    log_axis(ax, "y")
    ax.set_xticks(result.workers, [str(n) for n in result.workers])
    ax.set_xlabel("asynchronous workers n")
    ax.set_ylabel("final training loss (median over seeds)")
    ax.set_title("Final loss against the number of workers")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def plot_loss_curves(result: AsyncStudyResult) -> Any:
    """Training loss of θ against worker steps, one panel per strategy, one line per n
    (seed 0), as the paper's Fig. 1a-c."""
    from matplotlib import colormaps

    from steepest.figures import log_axis, new_figure

    count = len(result.labels)
    fig = new_figure(4.2 * count, 3.6)
    axes = fig.subplots(1, count, sharey=True, squeeze=False)
    colours = colormaps["viridis"](np.linspace(0, 0.9, len(result.workers)))
    for ax, label in zip(axes[0], result.labels, strict=True):
        for colour, n in zip(colours, result.workers, strict=True):
            steps, loss = result.curves.get((label, n, 0), ([], []))
            values = np.asarray(loss, dtype=float)
            values[~np.isfinite(values)] = np.nan
            ax.plot(steps, values, color=colour, label=f"{n} workers")
        log_axis(ax, "y")
        ax.set_title(label)
        ax.set_xlabel("worker steps")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("training loss of θ")
    axes[0][-1].legend(fontsize="small")
    return fig


def plot_mean_pi(result: AsyncStudyResult) -> Any:
    """GEM's mean scaling factor π (median over seeds) against n: the more workers, the
    smaller each one's share of the proxy's energy."""
    from steepest.figures import new_figure

    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    for label in result.labels:
        if label.startswith("gem"):
            pis = [result.median(label, n, "mean_pi") for n in result.workers]
            ax.plot(result.workers, pis, marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(result.workers, [str(n) for n in result.workers])
    ax.set_xlabel("asynchronous workers n")
    ax.set_ylabel("mean π over coordinates and commits")
    ax.set_title("GEM's scaling factor π against the number of workers")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig
