"""Executors: how one optimizer step's updates are carried out, given the rule and the updates.

`Optimizer.step()` gathers, for every parameter with a gradient, an `Update` (the parameter's
data, gradient, state, the rule's options, a scratch buffer, the parameter's name) and hands the
whole list to its executor, which runs the spec's rule and leaves each new state in
`update.state`. The rule is the same whatever the executor; the executor decides where and how
it runs:

    SerialExecutor()       on the calling thread (the default); no thread is ever started
    ThreadedExecutor(n)    large parameters cut into chunks updated on n threads; only for
                           elementwise rules (the numbers are then the same bit for bit)

A fused-kernel executor (one kernel over many parameters) or a parameter-server executor (send
the gradients, receive the parameters) plugs in at the same place: subclass `Executor`, refuse
in `check(spec)` what it cannot run, and implement `run(spec, updates)`. Set it with
`Optimizer(..., executor=...)` or `optimizer.executor = ...`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["Executor", "SerialExecutor", "ThreadedExecutor", "Update"]


class Update:
    """One parameter's part of a step: what an executor needs to apply the rule to it.

    param: the parameter's array, updated in place. grad: its gradient (never written).
    state: the rule's state; `run` replaces it with the new state. options: the rule's keyword
    arguments (the group's options and the spec's fixed values). out: a scratch array shaped
    like param, reused every step (receives delta). name: the parameter's name, or None when
    the optimizer was given unnamed parameters. group: the index of its param group.
    """

    __slots__ = ("param", "grad", "state", "options", "out", "name", "group")

    def __init__(self, param: np.ndarray, grad: np.ndarray, state: Any,
                 options: dict[str, Any], out: np.ndarray, name: str | None = None,
                 group: int = 0) -> None:
        self.param = param
        self.grad = grad
        self.state = state
        self.options = options
        self.out = out
        self.name = name
        self.group = group


class Executor:
    """Carries out a step's updates. Subclasses implement `run` and may refuse specs in `check`."""

    def check(self, spec: Any) -> None:
        """Raise ValueError if this executor cannot run `spec`'s rule (called when an optimizer
        is given this executor, so a mismatch shows at once, not at the first step)."""
        if spec.needs_closure:
            raise ValueError(
                f"{type(self).__name__} cannot run {spec.name}: its step evaluates the closure "
                f"itself (a line search over all parameters); it runs on the calling thread only"
            )

    def run(self, spec: Any, updates: Sequence[Update]) -> None:
        """Apply the rule to every update: param += delta, update.state = the new state."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _apply(spec: Any, update: Update) -> None:
    delta, update.state = spec.update(update.grad, update.state, update.param, out=update.out,
                                      **update.options)
    np.add(update.param, delta, out=update.param)


class SerialExecutor(Executor):
    """Every update in turn, on the calling thread (the default executor).

    chunk_size: for an elementwise rule, a parameter with more elements than this is updated
    chunk by chunk. The step is memory-bound and a rule makes several passes over its arrays;
    chunk by chunk those passes hit the cache, so memory is read and written about once. The
    numbers are the same bit for bit. None: each parameter whole.
    """

    def __init__(self, chunk_size: int | None = 1 << 18) -> None:
        _check_chunk_size(chunk_size)
        self.chunk_size = chunk_size

    def check(self, spec: Any) -> None:
        return None  # it runs anything, closure-driven steps included

    def run(self, spec: Any, updates: Sequence[Update]) -> None:
        for update in updates:
            if spec.elementwise and _chunkable(update, self.chunk_size):
                _run_chunked(spec, update, self.chunk_size, None)
            else:
                _apply(spec, update)

    def __repr__(self) -> str:
        return f"SerialExecutor(chunk_size={self.chunk_size})"


class ThreadedExecutor(Executor):
    """Large parameters in chunks on a thread pool (NumPy releases the GIL inside ufuncs).

    threads: threads in the pool (default: the cores, at most 8). chunk_size: elements per
    chunk. Only elementwise rules: a chunk of a tensor must not need the rest of it, so LAMB's
    and LARS's norms, Adafactor's factored moments or Muon's orthogonalisation are refused. The
    pool starts at the first step that needs it, and is shared by executors of one size.
    """

    def __init__(self, threads: int | None = None, chunk_size: int = 1 << 18) -> None:
        if threads is None:
            threads = min(os.cpu_count() or 1, 8)
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"ThreadedExecutor: threads must be an integer >= 1, got {threads!r}")
        _check_chunk_size(chunk_size)
        if chunk_size is None:
            raise ValueError("ThreadedExecutor: chunk_size must be an integer >= 1, got None")
        self.threads = threads
        self.chunk_size = chunk_size

    def check(self, spec: Any) -> None:
        super().check(spec)
        if not spec.elementwise:
            raise ValueError(
                f"ThreadedExecutor cannot run {spec.name}: it updates chunks of a tensor "
                f"independently, and {spec.name}'s rule is not elementwise (it needs the whole "
                f"tensor: {spec.summary}); use SerialExecutor()"
            )

    def run(self, spec: Any, updates: Sequence[Update]) -> None:
        for update in updates:
            if _chunkable(update, self.chunk_size):
                _run_chunked(spec, update, self.chunk_size, self)
            else:
                _apply(spec, update)

    def map(self, function: Any, items: Sequence[Any]) -> list[Any]:
        """function(item) for every item, on the pool (started now if it is not yet)."""
        if self.threads == 1 or len(items) == 1:
            return [function(item) for item in items]
        return list(_thread_pool(self.threads).map(function, items))

    def __repr__(self) -> str:
        return f"ThreadedExecutor(threads={self.threads}, chunk_size={self.chunk_size})"


def _check_chunk_size(chunk_size: Any) -> None:
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be an integer >= 1 or None, got {chunk_size!r}")


# ---------------------------------------------------------------------------- chunking
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _thread_pool(threads: int) -> ThreadPoolExecutor:
    """One shared pool per thread count, started on first use (never at import)."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="steepest-optim")
        return _POOLS[threads]


def _chunkable(update: Update, chunk_size: int | None) -> bool:
    data, grad = update.param, update.grad
    if chunk_size is None or data.size <= chunk_size or not data.flags.c_contiguous:
        return False
    if not grad.flags.c_contiguous or grad.shape != data.shape:
        return False
    return all(a.flags.c_contiguous and a.shape == data.shape for a in _arrays(update.state))


def _arrays(state: Any) -> list[np.ndarray]:
    return [value for value in state if isinstance(value, np.ndarray)]


def _run_chunked(spec: Any, update: Update, chunk: int, pool: ThreadedExecutor | None) -> None:
    """Run an elementwise rule on consecutive chunks of one parameter (on the pool, if given).

    Arrays are updated in place through the chunk views; an array the rule created (a buffer
    that starts on first use) is put together from its chunks. Scalars (the step count) are the
    same in every chunk.
    """
    state, data = update.state, update.param
    arrays = {name: value for name, value in state._asdict().items()
              if isinstance(value, np.ndarray)}
    flat = (data.reshape(-1), update.grad.reshape(-1), update.out.reshape(-1))
    flat_arrays = {name: a.reshape(-1) for name, a in arrays.items()}

    def update_chunk(start: int) -> Any:
        part = slice(start, start + chunk)
        param_part, grad_part, out_part = (a[part] for a in flat)
        state_part = state._replace(**{n: a[part] for n, a in flat_arrays.items()})
        delta_part, new_state = spec.update(grad_part, state_part, param_part, out=out_part,
                                            **update.options)
        np.add(param_part, delta_part, out=param_part)
        return new_state

    starts = range(0, data.size, chunk)
    if pool is None:
        parts = [update_chunk(start) for start in starts]
    else:
        parts = pool.map(update_chunk, list(starts))
    merged = {}
    for name, value in parts[0]._asdict().items():
        if name in flat_arrays:
            merged[name] = arrays[name]
        elif isinstance(value, np.ndarray):
            merged[name] = np.concatenate([p._asdict()[name] for p in parts]).reshape(data.shape)
        else:
            merged[name] = value
    update.state = state._replace(**merged)
