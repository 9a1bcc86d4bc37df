"""Learning curves from the run store (matplotlib, imported only when a picture is drawn)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from steepest.store.runstore import RunRecord, RunStore, printable

# The metric of the middle panel: the first of these any of the runs logged (accuracy for
# classification, r2 for regression); the left panel is the loss, the right one the learning
# rate when some run logged it.
HEADLINE_METRICS = ("accuracy", "r2", "rmse", "mae")
SPLITS = {"-": "training", "--": "validation", ":": "test"}


def _panel(metric: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A panel's title and its metric names with line styles (train solid, validation dashed,
    test dotted)."""
    return metric, ((metric, "-"), (f"val_{metric}", "--"), (f"test_{metric}", ":"))


def _literal(text: str) -> str:
    """A run's name as matplotlib shows it literally: control characters escaped, and `$`
    escaped too (it would start mathtext, and an unbalanced one fails the whole picture)."""
    return printable(text).replace("$", r"\$")


def run_label(record: RunRecord) -> str:
    """A run as a legend names it: "run #3: cosine", or for an unnamed run what it trained,
    "run #3: adam, lr 0.01" (never "#3 train", which reads like the training split); shown
    literally (`_literal`)."""
    if record.name:
        return _literal(f"run #{record.id}: {record.name}")
    config = record.config or {}
    what = [config[key] for key in ("model", "optimizer") if isinstance(config.get(key), str)]
    if isinstance(config.get("lr"), (int, float)):
        what.append(f"lr {config['lr']:g}")
    label = f"run #{record.id}: {', '.join(what)}" if what else f"run #{record.id} ({record.kind})"
    return _literal(label)


def plot_runs(store: RunStore, run_ids: Sequence[int],
              out: str | os.PathLike | None = None) -> Any:
    """Loss, accuracy (r2 for regression runs) and (when logged) learning rate against epoch:
    one colour per run, training solid, validation dashed, test dotted. The legend, beside the
    panels so that it covers no curve, names each run once ("run #3: cosine") and then the
    line styles.

    Uses the epoch metrics (`Run.log_epoch`). Raises ValueError naming a run that has no loss
    or accuracy. Returns the matplotlib Figure (Agg canvas, no pyplot) and writes it to `out`
    if given (PNG, SVG or PDF).
    """
    from matplotlib.lines import Line2D

    from steepest.figures import integer_ticks, new_figure

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
    panels = [_panel("loss"), _panel(headline)]
    if "lr" in logged:
        panels.append(("learning rate", (("lr", "-"),)))
    figure = new_figure(4.6 * len(panels) + 2.4, 4.4)
    axes = figure.subplots(1, len(panels))
    colors = [f"C{i % 10}" for i in range(len(curves))]
    styles: set[str] = set()
    for ax, (title, lines) in zip(axes, panels, strict=True):
        drawn = False
        for (_, metrics), color in zip(curves, colors, strict=True):
            for name, style in lines:
                if name not in metrics:
                    continue
                epochs, values = metrics[name]
                ax.plot(epochs, values, style, color=color, linewidth=1.8,
                        marker="." if len(epochs) < 30 else None)
                styles.add(style)
                drawn = True
        ax.set_title(title)
        ax.set_xlabel("epoch")
        integer_ticks(ax.xaxis)
        ax.set_ylabel(title)
        ax.grid(True, alpha=0.3)
        if not drawn:
            ax.text(0.5, 0.5, f"no {title} logged", ha="center", va="center",
                    transform=ax.transAxes, color="0.5")
    handles = [Line2D([], [], color=color, linewidth=2.5, label=run_label(record))
               for (record, _), color in zip(curves, colors, strict=True)]
    if len(styles) > 1:
        handles += [Line2D([], [], color="0.2", linestyle=style, linewidth=1.8,
                           label=SPLITS[style]) for style in SPLITS if style in styles]
    figure.legend(handles=handles, loc="outside right center", fontsize="small",
                  frameon=False)
    if out is not None:
        figure.savefig(out)
    return figure
