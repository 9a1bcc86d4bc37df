"""Learning rate: the LR range test (Smith 2017, "Cyclical learning rates", section 3.3; the
fastai `lr_find`) and a sweep of fixed learning rates (too small, right, too large).

Range test: one short run whose learning rate grows exponentially from `start_lr` to `end_lr`,
lr_i = start_lr · (end_lr / start_lr)^(i / (steps − 1)), one mini-batch per step. The loss
stays flat while the rate is too small to move, falls once it is useful, and blows up once it
is too large. The raw loss is noisy, so it is smoothed as fastai does, with bias correction:
avg_i = (1 − smooth)·avg_{i−1} + smooth·loss_i,  smoothed_i = avg_i / (1 − (1 − smooth)^(i+1)).
The run stops once the smoothed loss exceeds `diverge_factor` × its minimum (or is not finite).
Suggested rate: where the smoothed loss falls fastest against log(lr), i.e. the minimum of
d smoothed / d log10(lr) (np.gradient) over the steps from `skip_start` up to the lowest
smoothed loss (so before divergence, and not on a fall back after a spike), fastai's "steep"
point. (Exponential
smoothing lags, so this point sits a little to the right of the raw curve's steepest fall.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab._common import (
    ShortRepr,
    as_arrays,
    batches,
    build,
    check_optimizer,
    make_optimizer,
    smooth_losses,
)
from steepest.nn.module import Module
from steepest.train.loop import NonFiniteLoss, TrainingLoop

__all__ = ["LRRangeResult", "LRSweepResult", "lr_range_test", "lr_sweep", "plot_lr_range",
           "plot_lr_sweep"]


@dataclass(repr=False)
class LRRangeResult(ShortRepr):
    """lrs, losses, smoothed: (k,) per step actually run (k ≤ steps: the run stops at
    divergence). suggestion: the suggested learning rate (None if the loss never fell).
    diverged_at: the lr of the step that diverged, or None. moving_at: the lr from which on the
    smoothed loss stays 5% below the loss of the first steps, until its lowest point (below
    it, the rate barely moves the weights); None if it never gets there."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float | None
    diverged_at: float | None
    moving_at: float | None
    suggestion_index: int | None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def min_loss_lr(self) -> float:
        """The lr where the smoothed loss was lowest (Smith: a rate 10× below is a safe max)."""
        return float(self.lrs[int(np.nanargmin(self.smoothed))])

    def table(self) -> list[dict[str, Any]]:
        def show(value: float | None) -> Any:
            return "-" if value is None else float(value)

        return [
            {"quantity": "starts moving (smoothed loss 5% down)", "learning rate": show(
                self.moving_at)},
            {"quantity": "suggested (steepest fall of the loss)", "learning rate": show(
                self.suggestion)},
            {"quantity": "at the lowest smoothed loss", "learning rate": self.min_loss_lr},
            {"quantity": "diverged", "learning rate": show(self.diverged_at)},
        ]


def _forward_backward(loop: TrainingLoop, x: np.ndarray, y: np.ndarray) -> float:
    """The batch's loss, with its gradients when it is finite (a NaN or infinite one is a
    value these studies record: it marks where the rate diverged)."""
    try:
        return loop.forward_backward(x, y).loss
    except NonFiniteLoss as error:
        return error.loss


def _check_common(where: str, batch_size: int, steps: int) -> None:
    if batch_size < 1:
        raise ValueError(f"{where}: batch_size must be positive, got {batch_size}")
    if steps < 2:
        raise ValueError(f"{where}: steps must be at least 2, got {steps}")


def lr_range_test(model_fn: Callable[..., Module], data: Any = None, *, start_lr: float = 1e-7,
                  end_lr: float = 10.0, steps: int = 100, batch_size: int = 64,
                  optimizer: str = "sgd", smooth: float = 0.05, diverge_factor: float = 4.0,
                  skip_start: int = 10, seed: int = 0) -> LRRangeResult:
    """The LR range test (see the module docstring for the formulas).

    model_fn: builds a fresh model, called as model_fn(rng) with a seeded numpy Generator (or
    model_fn() if it takes no argument); the model maps x (N, D) to logits (N, classes).
    data: None (MNIST-1D), a Split or (x, y); trained on with cross-entropy.
    optimizer: "sgd", "momentum", "adam", ... (steepest.optim). seed: model and batch order.
    skip_start: the first steps are left out of the suggestion (as fastai v1 does): there the
    bias-corrected average is still mostly one batch's noise, and its slope with it.
    """
    _check_common("lr_range_test", batch_size, steps)
    check_optimizer(optimizer, "lr_range_test")
    if not (0 < start_lr < end_lr) or not math.isfinite(end_lr):
        raise ValueError(
            f"lr_range_test: need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}"
        )
    if not 0 < smooth <= 1:
        raise ValueError(f"lr_range_test: smooth must be in (0, 1], got {smooth}")
    if diverge_factor <= 1:
        raise ValueError(f"lr_range_test: diverge_factor must be > 1, got {diverge_factor}")
    if skip_start < 0:
        raise ValueError(f"lr_range_test: skip_start must be >= 0, got {skip_start}")
    x, y = as_arrays(data, "lr_range_test")
    model = build(model_fn, np.random.default_rng([seed, 1]))
    model.train()
    opt = make_optimizer(optimizer, model.parameters(), start_lr, "lr_range_test")
    loop = TrainingLoop(model, opt)
    schedule = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))
    stream = batches(len(x), batch_size, np.random.default_rng([seed, 2]))
    losses: list[float] = []
    smoothed: list[float] = []
    avg, best = 0.0, math.inf
    diverged_at = None
    for i, lr in enumerate(schedule):
        for group in opt.param_groups:
            group["lr"] = float(lr)
        batch = next(stream)
        loop.zero_grad()
        with np.errstate(all="ignore"):
            value = _forward_backward(loop, x[batch], y[batch])
            losses.append(value)
            avg = (1 - smooth) * avg + smooth * value
            current = avg / (1 - (1 - smooth) ** (i + 1))
        smoothed.append(current)
        if not math.isfinite(current) or current > diverge_factor * best:
            diverged_at = float(lr)
            break
        best = min(best, current)
        with np.errstate(all="ignore"):
            loop.reduce_gradients()
            loop.apply_update()
    lrs = schedule[:len(losses)]
    losses_arr, smoothed_arr = np.array(losses), np.array(smoothed)
    # The suggestion and the "moving" point only look at steps before the divergence.
    usable = len(lrs) - (1 if diverged_at is not None else 0)
    suggestion = index = moving_at = None
    if usable >= 3:
        curve = smoothed_arr[:usable]
        slopes = np.gradient(curve, np.log10(lrs[:usable]))
        # Only the descent counts: after its lowest point the loss may spike and fall back,
        # and such a fall is no rate to train at.
        lowest = int(np.argmin(curve))
        first = min(max(0, skip_start), lowest)
        index = first + int(np.argmin(slopes[first:lowest + 1]))
        if slopes[index] < 0:
            suggestion = float(lrs[index])
        else:
            index = None
        # "Moving": from here on the smoothed loss stays 5% below the raw loss of the first
        # steps (5%, not less: the smoothed loss still carries some mini-batch noise).
        start = float(np.mean(losses_arr[:max(3, usable // 10)]))
        above = np.nonzero(curve[:lowest + 1] >= 0.95 * start)[0]
        moving = 0 if above.size == 0 else int(above[-1]) + 1
        if moving <= lowest and curve[lowest] < 0.95 * start:
            moving_at = float(lrs[moving])
    config = dict(start_lr=start_lr, end_lr=end_lr, steps=steps, batch_size=batch_size,
                  optimizer=optimizer, smooth=smooth, diverge_factor=diverge_factor,
                  skip_start=skip_start, seed=seed, samples=int(len(x)))
    return LRRangeResult(lrs, losses_arr, smoothed_arr, suggestion, diverged_at, moving_at,
                         index, config)


@dataclass(repr=False)
class LRSweepResult(ShortRepr):
    """Fixed-rate runs from the same initial weights and batches, one per learning rate.

    lrs: (R,) in increasing order. losses: (R, steps + 1) mini-batch loss before each step and
    after the last (NaN after a divergence). diverged: (R,) bool. final: (R,) mean loss over the
    last 10% of steps (inf if diverged). verdicts: "too small", "right", "too large" or
    "diverged"."""

    lrs: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    final: np.ndarray
    verdicts: list[str]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def best_lr(self) -> float:
        return float(self.lrs[int(np.argmin(self.final))])

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for lr, losses, final, verdict in zip(self.lrs, self.losses, self.final, self.verdicts,
                                              strict=True):
            rows.append({"lr": float(lr), "loss @ 0": float(losses[0]),
                         "final loss": float(final), "verdict": verdict})
        return rows


def lr_sweep(model_fn: Callable[..., Module], data: Any = None,
             lrs: Sequence[float] = (1e-4, 1e-2, 1.0, 10.0), *, steps: int = 200,
             batch_size: int = 64, optimizer: str = "sgd", diverge_factor: float = 4.0,
             seed: int = 0) -> LRSweepResult:
    """Train a fresh model (the same initial weights and batch order for every rate) for
    `steps` mini-batch steps at each fixed learning rate in `lrs`.

    A run diverges when its loss is not finite or exceeds `diverge_factor` × its first loss
    (and is stopped there). The verdict of each rate, against the best final loss among the
    runs that did not diverge: "right" (the best), "too small" (a smaller rate), "too large"
    (a larger one) or "diverged". Arguments as for `lr_range_test`.
    """
    _check_common("lr_sweep", batch_size, steps)
    check_optimizer(optimizer, "lr_sweep")
    lrs = np.array(sorted(float(lr) for lr in lrs))
    if lrs.size == 0 or not np.all(lrs > 0) or not np.all(np.isfinite(lrs)):
        raise ValueError(f"lr_sweep: learning rates must be positive numbers, got {list(lrs)}")
    x, y = as_arrays(data, "lr_sweep")
    curves = np.full((len(lrs), steps + 1), np.nan)
    diverged = np.zeros(len(lrs), dtype=bool)
    for row, lr in enumerate(lrs):
        model = build(model_fn, np.random.default_rng([seed, 1]))
        model.train()
        loop = TrainingLoop(model, make_optimizer(optimizer, model.parameters(), float(lr),
                                                  "lr_sweep"))
        stream = batches(len(x), batch_size, np.random.default_rng([seed, 2]))
        for step in range(steps + 1):
            batch = next(stream)
            loop.zero_grad()
            with np.errstate(all="ignore"):
                value = _forward_backward(loop, x[batch], y[batch])
            if not math.isfinite(value) or value > diverge_factor * curves[row, 0]:
                diverged[row] = True
                curves[row, step] = value if math.isfinite(value) else np.nan
                break
            curves[row, step] = value
            if step < steps:
                with np.errstate(all="ignore"):
                    loop.reduce_gradients()
                    loop.apply_update()
    tail = max(1, (steps + 1) // 10)
    final = np.full(len(lrs), np.inf)
    final[~diverged] = np.mean(curves[~diverged, -tail:], axis=1)
    verdicts = []
    best = int(np.argmin(final)) if not diverged.all() else None
    for row in range(len(lrs)):
        if diverged[row]:
            verdicts.append("diverged")
        elif row == best:
            verdicts.append("right")
        else:
            verdicts.append("too small" if best is not None and row < best else "too large")
    config = dict(lrs=lrs.tolist(), steps=steps, batch_size=batch_size, optimizer=optimizer,
                  diverge_factor=diverge_factor, seed=seed, samples=int(len(x)))
    return LRSweepResult(lrs, curves, diverged, final, verdicts, config)


def plot_lr_range(result: LRRangeResult, out: Any = None, *, title: str | None = None) -> Any:
    """Loss against learning rate (log x): raw mini-batch loss, the smoothed loss, the
    suggested rate and the divergence marked. Returns the Figure; out: PNG to write."""
    from steepest.figures import log_axis
    from steepest.lab.plots import _figure, _save

    figure = _figure(7.5, 4.6)
    ax = figure.add_subplot()
    ax.plot(result.lrs, result.losses, color="0.7", linewidth=0.9, label="mini-batch loss")
    ax.plot(result.lrs, result.smoothed, color="tab:blue", linewidth=1.8,
            label=f"smoothed (smooth = {result.config.get('smooth', '')})")
    if result.suggestion is not None:
        value = result.smoothed[result.suggestion_index]
        ax.axvline(result.suggestion, color="tab:green", linestyle="--", linewidth=1)
        ax.plot(result.suggestion, value, marker="o", markersize=9, color="tab:green",
                markeredgecolor="black", linestyle="none",
                label=f"suggested lr = {result.suggestion:.2g} (steepest fall)")
    if result.moving_at is not None:
        ax.axvline(result.moving_at, color="0.4", linestyle=":", linewidth=1,
                   label=f"starts to move: {result.moving_at:.2g}")
    if result.diverged_at is not None:
        ax.axvline(result.diverged_at, color="tab:red", linestyle="--", linewidth=1,
                   label=f"diverged at {result.diverged_at:.2g}")
    finite = result.smoothed[np.isfinite(result.smoothed)]
    if finite.size:
        low, start = float(finite.min()), float(finite[0])
        top = max(start, low) * 1.5
        ax.set_ylim(low - 0.05 * (top - low), top)
    log_axis(ax, "x")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.grid(True, which="major", alpha=0.3)
    optimizer = result.config.get("optimizer", "")
    ax.set_title(title or f"LR range test ({optimizer}, {len(result.lrs)} steps)")
    ax.legend(loc="upper left", fontsize="small")
    _save(figure, out)
    return figure


def plot_lr_sweep(result: LRSweepResult, out: Any = None, *, title: str | None = None) -> Any:
    """Loss against step for each fixed learning rate (log y; raw mini-batch losses faint, their
    moving average bold), labelled too small / right / too large / diverged (an X marks where a
    run blew up). Returns the Figure; out: PNG to write."""
    from matplotlib import colormaps

    from steepest.figures import log_axis
    from steepest.lab.plots import _figure, _save

    figure = _figure(7.5, 4.6)
    ax = figure.add_subplot()
    cmap = colormaps["plasma"]
    count = len(result.lrs)
    for row, (lr, verdict) in enumerate(zip(result.lrs, result.verdicts, strict=True)):
        colour = cmap(0.85 * row / max(count - 1, 1))
        curve = result.losses[row]
        steps = np.arange(len(curve))
        width = 2.4 if verdict == "right" else 1.4
        # The raw mini-batch losses faintly, an exponential moving average on top.
        ax.plot(steps, curve, color=colour, linewidth=0.6, alpha=0.35)
        ax.plot(steps, smooth_losses(curve, 0.1), color=colour, linewidth=width,
                label=f"lr = {lr:.3g}: {verdict}")
        if result.diverged[row]:
            last = np.nonzero(np.isfinite(curve))[0]
            if last.size:
                ax.plot(steps[last[-1]], curve[last[-1]], marker="X", markersize=10,
                        color=colour, markeredgecolor="black", linestyle="none")
    log_axis(ax, "y")
    ax.set_xlabel("step")
    ax.set_ylabel("mini-batch loss")
    ax.grid(True, which="both", alpha=0.25)
    optimizer = result.config.get("optimizer", "")
    ax.set_title(title or f"Fixed learning rates ({optimizer}): too small, right, too large")
    ax.legend(loc="best", fontsize="small")
    _save(figure, out)
    return figure
