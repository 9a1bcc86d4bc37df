"""Learning curves from the run store (matplotlib, imported only when a picture is drawn)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from steepest.store.runstore import RunStore, printable

# The metric of the right panel: the first of these any of the runs logged (accuracy for
# classification, r2 for regression); the left panel is the loss.
HEADLINE_METRICS = ("accuracy", "r2", "rmse", "mae")


def _panel(metric: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A panel's title and its metric names with line styles (train solid, validation dashed,
    test dotted)."""
    return metric, ((metric, "-"), (f"val_{metric}", "--"), (f"test_{metric}", ":"))



def _literal(text: str) -> str:
    """A run's name as matplotlib shows it literally: control characters escaped, and `$`
    escaped too (it would start mathtext, and an unbalanced one fails the whole picture)."""
    return printable(text).replace("$", r"\$")


def plot_runs(store: RunStore, run_ids: Sequence[int],
              out: str | os.PathLike | None = None) -> Any:
    """Loss (left) and accuracy (right; r2 for regression runs) against epoch, one colour per
    run, legend "#id name".

    Uses the epoch metrics (`Run.log_epoch`): loss/accuracy solid, val_* dashed, test_*
    dotted. Raises ValueError naming a run that has none of them. Returns the matplotlib
    Figure (Agg canvas, no pyplot) and writes it to `out` if given (PNG, SVG or PDF).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if not run_ids:
        raise ValueError("plot_runs: give at least one run id")
    wanted = {name for metric in ("loss", *HEADLINE_METRICS)
              for name, _ in _panel(metric)[1]}
    curves = []
    for run_id in run_ids:
        record = store.run(run_id)
        metrics = store.metrics(record.id, "epoch")
        if not wanted & set(metrics):
            logged = ", ".join(metrics) if metrics else "none"
            raise ValueError(f"run #{record.id} has no epoch loss or accuracy to plot (epoch "
                             f"metrics logged: {logged})")
        curves.append((record, metrics))
    logged = set().union(*(metrics for _, metrics in curves))
    headline = next((m for m in HEADLINE_METRICS
                     if logged & {name for name, _ in _panel(m)[1]}), "accuracy")
    panels = (_panel("loss"), _panel(headline))
    figure = Figure(figsize=(11, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2)
    colors = [f"C{i % 10}" for i in range(len(curves))]
    for ax, (title, lines) in zip(axes, panels, strict=True):
        drawn = False
        for (record, metrics), color in zip(curves, colors, strict=True):
            for name, style in lines:
                if name not in metrics:
                    continue
                epochs, values = metrics[name]
                suffix = "" if style == "-" else f" ({name.split('_')[0]})"
                ax.plot(epochs, values, style, color=color, marker="." if len(epochs) < 30
                        else None, label=_literal(f"{record.label}{suffix}"))
                drawn = True
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(title)
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, f"no {title} logged", ha="center", va="center",
                    transform=ax.transAxes, color="0.5")
    if out is not None:
        figure.savefig(out)
    return figure
