"""The statistics of the comparison studies: mean ± sample standard deviation over seeds (as
numbers, table cells and bands of curves), the learning-rate choice, and steps to a target
loss. Pure functions of the runs (`harness.RunResult`), so tables and figures agree."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from steepest.lab._common import smooth_losses

if TYPE_CHECKING:  # pragma: no cover
    from steepest.lab.compare.harness import RunResult


def steps_to_target(losses: Sequence[float] | np.ndarray, target: float,
                    smoothing: float = 0.05) -> int | None:
    """The number of optimizer steps after which the smoothed training loss (see
    `smooth_losses`) first is at or below `target`; None if it never gets there.

    losses: (S,) the loss of every step, losses[0] being the first step's. A return of k means
    the smoothed loss after the k-th step (index k − 1) was the first to reach the target.
    """
    smoothed = smooth_losses(losses, smoothing)
    reached = np.nonzero(smoothed <= target)[0]
    return int(reached[0]) + 1 if reached.size else None


def choose_best(runs: Sequence[RunResult]) -> RunResult:
    """The run with the best final validation accuracy, ties to the lower validation loss, then
    to the smaller learning rate (every run diverged: the smallest rate)."""
    return max(runs, key=lambda r: (*r.selection_key(), -r.lr))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) over the seeds; one value: std 0."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 1:
        return float(array[0]), 0.0
    return float(np.mean(array)), float(np.std(array, ddof=1))


def plus_minus(values: Sequence[float], digits: int = 3) -> float | str:
    """One seed: the number; several: "mean ± std" (the sample std over seeds, ddof=1)."""
    if len(values) == 1:
        return float(values[0])
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def nan_mean_std(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of `curves` (seeds, T): the mean and the sample std (ddof=1) of the values
    that are not NaN (a run that diverged has NaN from then on, so it does not blank the band);
    a column with one value has std 0, one with none NaN for both."""
    curves = np.asarray(curves, dtype=np.float64)
    with warnings.catch_warnings():  # all-NaN columns and single values: handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, axis=0)
        std = np.nanstd(curves, axis=0, ddof=1)
    count = np.sum(~np.isnan(curves), axis=0)
    return mean, np.where(count == 1, 0.0, std)


def stack_curves(runs: Sequence[RunResult], key: str, smoothing: float) -> np.ndarray:
    """(seeds, T) the curve `key` of each run, shorter ones padded with NaN."""
    if key == "smoothed_step_loss":
        curves = [smooth_losses(r.step_loss, smoothing) for r in runs]
    else:
        curves = [getattr(r, key) for r in runs]
    if any(c is None for c in curves):
        raise ValueError(f"band: the runs have no {key!r} curve (no validation split?)")
    lengths = {len(c) for c in curves}
    if len(lengths) > 1:  # a run that diverged stopped early: pad it with NaN
        size = max(lengths)
        curves = [np.concatenate([c, np.full(size - len(c), np.nan)]) for c in curves]
    return np.stack(curves)


def band(runs: Sequence[RunResult], key: str, smoothing: float
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, mean, std) of a curve over the runs (seeds): x is the step number (1..S) for
    step_loss / smoothed_step_loss, 0..E for full_train_loss, else the epoch (1..E). mean and
    std (the sample std, ddof=1; 0 for one seed) skip NaN: a run that diverged counts until it
    diverged, and a step curve that ended early is padded with NaN."""
    curves = stack_curves(runs, key, smoothing)
    if key in ("step_loss", "smoothed_step_loss"):
        x = np.arange(1, curves.shape[1] + 1)
    elif key == "full_train_loss":
        x = np.arange(curves.shape[1])
    else:
        x = np.arange(1, curves.shape[1] + 1)
    return (x, *nan_mean_std(curves))
