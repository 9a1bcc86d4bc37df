"""Small pieces the lab's studies share: data as arrays, seeded mini-batches, optimizers by name,
loss smoothing, state snapshots and evaluation (private: the studies' public API lives in their
own modules)."""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from steepest._suggest import did_you_mean
from steepest.nn.module import Module
from steepest.tensor import Tensor


def load_default_data(seed: int | None = None) -> Any:
    """MNIST-1D (x (4000, 40), 10 classes), through steepest.data's cache when it has one."""
    from steepest.data import load_mnist1d

    return load_mnist1d(seed=seed)


def as_arrays(data: Any, where: str, *, flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The training part of `data` as (x (N, D) float, y (N,) int64), inputs flattened (or,
    with flatten=False, in their own shape (N, ...)).

    data: None (MNIST-1D), a Split-like object with .x and .y, or a tuple (x, y, ...).
    """
    if data is None:
        data = load_default_data()
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) >= 2:
        x, y = data[0], data[1]
    else:
        raise TypeError(
            f"{where}: data must be None (MNIST-1D), a Split (with .x and .y) or a tuple (x, y), "
            f"got {type(data).__name__}"
        )
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim < 2 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"{where}: data needs x (N, ...) and integer labels y (N,), got x {x.shape} and "
            f"y {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{where}: labels y must be integers (class indices), got {y.dtype}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return (x.reshape(len(x), -1) if flatten else x), y.astype(np.int64, copy=False)


def batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless mini-batch indices: each epoch a fresh permutation of range(n) from `rng`, cut
    into batches of `batch_size` (the last, shorter batch of an epoch is kept)."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


def check_optimizer(name: Any, where: str) -> str:
    """`name` if it is one of `optim.OPTIMIZERS` (the studies take the same names as
    `steepest train`), else a ValueError listing them."""
    from steepest.optim.registry import OPTIMIZERS

    if name not in OPTIMIZERS:
        raise ValueError(f"{where}: unknown optimizer {name!r}"
                         f"{did_you_mean(str(name), OPTIMIZERS)}; choose from "
                         f"{', '.join(OPTIMIZERS)}")
    return str(name)


def make_optimizer(name: str, params: Any, lr: float, where: str) -> Any:
    """The optimizer `optim.make_optimizer` builds for `name`, with its default options."""
    from steepest.optim.registry import make_optimizer as make

    return make(check_optimizer(name, where), list(params), lr=lr)


def smooth_losses(losses: Any, smoothing: float = 0.05) -> np.ndarray:
    """Bias-corrected exponential moving average of a loss curve (losses (S,) -> (S,)).

    s_t = (1 − smoothing) s_{t−1} + smoothing · loss_t with s_0 = 0, reported as
    s_t / (1 − (1 − smoothing)^t) so the first values are not pulled towards 0 (Adam's bias
    correction). A non-finite loss ends the curve: it and everything after it are NaN.
    """
    if not 0.0 < smoothing <= 1.0:
        raise ValueError(f"smooth_losses: smoothing must be in (0, 1], got {smoothing!r}")
    values = np.asarray(losses, dtype=np.float64).reshape(-1)
    out = np.full(len(values), np.nan)
    average = 0.0
    keep = 1.0 - smoothing
    for index, value in enumerate(values):
        if not math.isfinite(value):
            break
        average = keep * average + smoothing * value
        out[index] = average / (1.0 - keep ** (index + 1))
    return out


def build(model_fn: Callable[..., Module], rng: np.random.Generator) -> Module:
    """Call `model_fn(rng)` if it takes an argument, else `model_fn()`."""
    try:
        parameters = inspect.signature(model_fn).parameters.values()
        takes_one = any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
            for p in parameters
        )
    except (TypeError, ValueError):  # no signature to read (some builtins): try with rng
        takes_one = True
    model = model_fn(rng) if takes_one else model_fn()
    if not isinstance(model, Module):
        raise TypeError(f"model_fn must return an nn.Module, got {type(model).__name__}")
    return model


def snapshot(model: Module) -> dict[str, np.ndarray]:
    """A copy of the model's state dict (the module's own arrays are shared, so copy them)."""
    return {name: np.array(value, copy=True) for name, value in model.state_dict().items()}


def check_state(model: Module, state: Mapping[str, Any], what: str) -> dict[str, np.ndarray]:
    """`state` as arrays, with the model's keys and shapes (ValueError naming the mismatch)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        raise ValueError(f"{what}: keys do not match the model: missing {missing}, extra {extra}")
    arrays = {}
    for key, target in own.items():
        value = state[key]
        value = np.asarray(value.data if isinstance(value, Tensor) else value)
        if value.shape != target.shape:
            raise ValueError(
                f"{what}: {key!r} has shape {value.shape}, the model's is {target.shape}"
            )
        arrays[key] = value
    return arrays


def evaluate(model: Module, x: np.ndarray, y: np.ndarray,
             batch_size: int = 2000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` on (x, y), in eval mode, without a graph
    (`train.loop.evaluate`, the one evaluation)."""
    from steepest.train.loop import evaluate as evaluate_task

    metrics = evaluate_task(model, "classification", (x, y), batch_size)
    return float(metrics["loss"]), float(metrics["accuracy"])


def fmt(value: Any) -> str:
    """A number for tables: 4 significant digits, or as is."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def _summary(value: Any, nested: bool = False) -> str:
    """A value in a few characters: arrays by shape and dtype, long containers by length."""
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return np.array2string(value, precision=4, separator=", ")
        return f"array{value.shape} {value.dtype}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, Mapping):
        if not nested and len(value) <= 6:
            items = ", ".join(f"{key!r}: {_summary(item, True)}" for key, item in value.items())
            if len(items) <= 160:
                return "{" + items + "}"
        keys = ", ".join(repr(key) for key in list(value)[:3])
        return f"{{{len(value)} items: {keys}{', ...' if len(value) > 3 else ''}}}"
    if isinstance(value, (list, tuple)):
        if len(value) <= 6 and not any(isinstance(item, (np.ndarray, Mapping, list, tuple))
                                       for item in value):
            text = repr(type(value)(_Shown(_summary(item, True)) for item in value))
            if len(text) <= 100:
                return text
        return f"[{len(value)} items]"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Shown(str):
    def __repr__(self) -> str:
        return str(self)


class ShortRepr:
    """A repr of a few lines for a result dataclass full of arrays (typing `path` must not
    print 800 lines): every field, arrays by their shape, long containers by their length."""

    def __repr__(self) -> str:
        fields = [f"{f.name}={_summary(getattr(self, f.name))}"
                  for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        one_line = f"{type(self).__name__}({', '.join(fields)})"
        if len(one_line) <= 100:
            return one_line
        return f"{type(self).__name__}(\n" + "".join(f"    {field},\n" for field in fields) + ")"
