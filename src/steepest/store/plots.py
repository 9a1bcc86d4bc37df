"""Learning curves from the run store (matplotlib, imported only when a picture is drawn)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from steepest.store.runstore import RunRecord, RunStore, printable


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
    one colour per run, training solid, validation dashed, test dotted
    (`steepest.figures.plot_curves`). The legend, below the panels so that it covers no
    curve, names each run once ("run #3: cosine") and then the line styles.

    Uses the epoch metrics (`Run.log_epoch`). Raises ValueError naming a run that has no loss
    or accuracy. Returns the matplotlib Figure (Agg canvas, no pyplot) and writes it to `out`
    if given (PNG, SVG or PDF).
    """
    from steepest.figures import HEADLINE_METRICS, curve_panel, plot_curves

    if not run_ids:
        raise ValueError("plot_runs: give at least one run id")
    wanted = {name for metric in ("loss", *HEADLINE_METRICS)
              for name, _ in curve_panel(metric)[1]}
    runs = []
    for run_id in run_ids:
        record = store.run(run_id)
        metrics = store.metrics(record.id, "epoch")
        if not wanted & set(metrics):
            logged = ", ".join(metrics) if metrics else "none"
            raise ValueError(f"run #{record.id} has no epoch loss or accuracy to plot (epoch "
                             f"metrics logged: {logged})")
        runs.append((run_label(record), metrics))
    return plot_curves(runs, out)
