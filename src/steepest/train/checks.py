"""Checks that keep a run's files trustworthy: the training state a checkpoint would restore is
checked before anything is set, and a checkpoint never saves non-finite weights or buffers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from steepest.io import CheckpointError


def _count(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _total(value: Any) -> bool:
    """A running sum: a number, or a float array of them (one per output)."""
    return _number(value) or (isinstance(value, np.ndarray) and value.dtype.kind == "f")


def check_training_state(checkpoint: Any, extra: Mapping[str, Any], batches_per_epoch: int,
                         task_sums: Mapping[str, Any]) -> None:
    """Raise CheckpointError naming the field if the trainer's part of `checkpoint` (a
    `steepest.io.Checkpoint` written by `Trainer.save_checkpoint`, its extras `extra` in
    today's layout) is malformed: where the epoch stands, the running sums (those of the
    task, `task_sums` as `Task.zero_sums()` gives them), the history, the per-step losses and
    the RNG state."""
    where = str(checkpoint.path) if checkpoint.path is not None else "checkpoint"

    def bad(field: str, problem: str) -> CheckpointError:
        return CheckpointError(f"{where}: malformed training state: {field} {problem}")

    if "batch" not in extra or "epoch_sums" not in extra or "history" not in extra:
        raise CheckpointError(f"{where}: not a training checkpoint (no batch, epoch_sums or "
                              f"history: written by save_checkpoint, not by a Trainer?)")
    batch = extra["batch"]
    if not _count(batch) or batch > batches_per_epoch:
        raise bad("batch", f"must be a batch index in 0..{batches_per_epoch}, got {batch!r}")
    sums = extra["epoch_sums"]
    expected = {"loss", "batches", *task_sums}
    if not isinstance(sums, Mapping) or set(sums) != expected:
        got = sorted(sums) if isinstance(sums, Mapping) else type(sums).__name__
        raise bad("epoch_sums", f"must hold {', '.join(sorted(expected))} (the sums of this "
                                f"run's task), got {got}")
    counts = ["batches", *(k for k, v in task_sums.items() if isinstance(v, int))]
    totals = ["loss", *(k for k, v in task_sums.items() if not isinstance(v, int))]
    if not all(_count(sums[k]) for k in counts) or not all(_total(sums[k]) for k in totals):
        raise bad("epoch_sums", f"must be numbers, got {dict(sums)!r}")
    history = extra["history"]
    if not isinstance(history, Mapping) or not isinstance(history.get("history"), Mapping) \
            or not isinstance(history.get("epoch"), list):
        raise bad("history", "must hold a history dict and a list of epochs")
    if not all(_count(e) for e in history["epoch"]):
        raise bad("history", "epochs must be counts")
    for name, values in history["history"].items():
        if not isinstance(values, list) or not all(_number(v) for v in values):
            raise bad("history", f"{name!r} must be a list of numbers")
    losses = history.get("step_loss")
    if not isinstance(losses, np.ndarray) or losses.ndim != 1 or losses.dtype.kind != "f":
        raise bad("history.step_loss", "must be a 1-D float array")
    state = checkpoint.rng_states.get("default")
    if not isinstance(state, Mapping):
        raise bad("rng_states.default", "is missing")
    from steepest.random import default_generator

    scratch = type(default_generator().bit_generator)()
    try:
        scratch.state = dict(state)
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise bad("rng_states.default", f"cannot be restored ({error})") from None
    for key in ("callbacks", "ema"):
        if extra.get(key) is not None and not isinstance(extra[key], Mapping):
            raise bad(key, "must be an object")


def first_non_finite(states: Mapping[str, Mapping[str, np.ndarray]]) -> str | None:
    """"<name> (<count> of <size> values are nan/inf)" for the first array that is not all
    finite among `states` ({"": model state, "ema.": EMA weights, ...}), or None."""
    for prefix, state in states.items():
        for key, array in state.items():
            array = np.asarray(array)
            if array.dtype.kind in "fc" and not np.isfinite(array).all():
                count = int(array.size - np.count_nonzero(np.isfinite(array)))
                return f"{prefix}{key} ({count} of {array.size} values are nan or inf)"
    return None
