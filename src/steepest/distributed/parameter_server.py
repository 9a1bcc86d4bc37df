"""The parameter server and its workers as plain Python objects, with no Ray in sight.

`ParameterServer` holds the central variable θ (a model), the server's optimizer (for the
strategies that push gradients), the strategy's server state and the log of every commit
(worker, staleness τ, and for GEM the mean π and the clamped fraction). `AsyncWorker` holds a
copy of the model, its own batches and the strategy's worker state, and takes one step at a time
against any object with the server's methods.

The single-process simulator calls them directly; the Ray path puts each one in an actor and
hands the workers a proxy of the server. So the two paths run the very same code.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from steepest.distributed.strategies import (
    Commit,
    ElasticAveraging,
    GradientEnergyMatching,
    Strategy,
    elastic_difference,
)
from steepest.optim.executors import Executor

Params = dict[str, np.ndarray]

#: The checkpoint header entry that marks a parameter server's checkpoint.
SERVER_KEY = "parameter_server"

#: The columns of one commit in `ParameterServer.log`.
LOG_FIELDS = ("version", "worker", "staleness", "mean_pi", "clamped_fraction")


def named_arrays(model: Any) -> Params:
    """The model's trainable parameters as {name: array} (the arrays themselves, not copies)."""
    return {name: p.data for name, p in model.named_parameters() if p.requires_grad}


def load_arrays(model: Any, arrays: Params) -> None:
    """Copy `arrays` into the model's parameters of the same names (in place, so optimizers
    keep their references; read-only arrays from Ray are fine)."""
    params = dict(model.named_parameters())
    for name, value in arrays.items():
        np.copyto(params[name].data, value)


class DeltaExecutor(Executor):
    """An optimizer executor that runs the rule but keeps each delta, by parameter name, instead
    of adding it: a GEM worker rescales its update Δθ before it reaches anyone's weights.

    After `optimizer.step()`, `deltas` holds {name: Δθ} (the rule's own output, exact). Give
    the optimizer named parameters (a Module, or (name, Tensor) pairs)."""

    def __init__(self) -> None:
        self.deltas: Params = {}

    def run(self, spec: Any, updates: Any) -> None:
        deltas = {}
        for update in updates:
            if update.name is None:
                raise ValueError("DeltaExecutor: the optimizer's parameters have no names; "
                                 "build it from a Module or (name, Tensor) pairs")
            delta, update.state = spec.update(update.grad, update.state, update.param,
                                              out=update.out, **update.options)
            deltas[update.name] = delta
        self.deltas = deltas


class ParameterServer:
    """The central variable θ and the server-side half of a strategy.

    model: holds θ (its parameters are updated in place). optimizer: steps θ with pushed
    gradients (downpour, staleness, dcasgd); None for strategies that push deltas (gem, easgd).
    workers: how many workers will commit (ids 0..workers-1).

    Methods (each one is one message in the Ray path, so one runs at a time):
    - `pull(worker)`: θ, and `worker` is now in sync (its next commit's staleness counts from
      here). A worker calls it when it starts or restarts.
    - `read()`: θ, with no bookkeeping (GEM and EASGD read θ just before they commit).
    - `commit(worker, message, stats)`: apply one push; returns θ after it.
    Both return the live arrays: in-process callers copy what they keep.
    """

    def __init__(self, model: Any, optimizer: Any, strategy: Strategy, workers: int) -> None:
        if strategy.pushes == "gradient" and optimizer is None:
            raise ValueError(f"ParameterServer: strategy {strategy.name!r} pushes gradients, "
                             f"so the server needs an optimizer")
        self.model, self.optimizer, self.strategy = model, optimizer, strategy
        self.workers = int(workers)
        self.params = {name: p for name, p in model.named_parameters() if p.requires_grad}
        self.version = 0
        self.synced = [0] * self.workers
        self.state = strategy.server_init(self.central(), self.workers)
        self.log: dict[str, list[float]] = {name: [] for name in LOG_FIELDS}

    def central(self) -> Params:
        return {name: p.data for name, p in self.params.items()}

    def pull(self, worker: int) -> tuple[Params, int]:
        self._check_worker(worker)
        self.synced[worker] = self.version
        self.state = self.strategy.server_after_pull(self.central(), self.state, worker)
        return self.central(), self.version

    def read(self) -> tuple[Params, int]:
        return self.central(), self.version

    def commit(self, worker: int, message: Params, stats: dict[str, float] | None = None
               ) -> tuple[Params, int]:
        self._check_worker(worker)
        staleness = self.version - self.synced[worker]
        if self.strategy.pushes == "gradient":
            commit, self.state = self.strategy.server_commit(
                message, self.central(), self.state, worker=worker, staleness=staleness)
        else:
            commit = Commit(delta=message)
        self._apply(commit)
        self.version += 1
        stats = stats or {}
        for name, value in (("version", self.version), ("worker", worker),
                            ("staleness", staleness),
                            ("mean_pi", stats.get("mean_pi", math.nan)),
                            ("clamped_fraction", stats.get("clamped_fraction", math.nan))):
            self.log[name].append(value)
        return self.pull(worker)

    def _apply(self, commit: Commit) -> None:
        if commit.delta is not None:
            for name, delta in commit.delta.items():
                data = self.params[name].data
                np.add(data, delta, out=data)
            return
        for name, param in self.params.items():
            param.grad = commit.gradient.get(name)
        groups = self.optimizer.param_groups
        saved = [group["lr"] for group in groups]
        try:
            if commit.lr_scale != 1.0:
                for group in groups:
                    group["lr"] = group["lr"] * commit.lr_scale
            self.optimizer.step()
        finally:
            for group, lr in zip(groups, saved, strict=True):
                group["lr"] = lr
            for param in self.params.values():
                param.grad = None

    def _check_worker(self, worker: int) -> None:
        if not 0 <= worker < self.workers:
            raise ValueError(f"parameter server: worker {worker} is not one of "
                             f"0..{self.workers - 1}")

    # ---- records and checkpoints -------------------------------------------------------
    def summary(self) -> dict[str, float]:
        """commits, mean and max staleness, and for GEM the mean π and clamped fraction."""
        staleness = np.asarray(self.log["staleness"], dtype=np.float64)
        result = {"commits": int(staleness.size),
                  "mean_staleness": float(staleness.mean()) if staleness.size else 0.0,
                  "max_staleness": int(staleness.max()) if staleness.size else 0}
        pi = np.asarray(self.log["mean_pi"], dtype=np.float64)
        if pi.size and not np.isnan(pi).all():
            result["mean_pi"] = float(np.nanmean(pi))
            result["clamped_fraction"] = float(np.nanmean(self.log["clamped_fraction"]))
        return result

    def save(self, path: str | Path, *, config: dict[str, Any] | None = None,
             extra: dict[str, Any] | None = None, epoch: int = 0) -> Path:
        """θ, the server optimizer's state, the strategy's server arrays, the version (the
        checkpoint's step) and the commit log, as one steepest checkpoint (safetensors, written
        atomically). extra: more header entries (a trainer's kind and run identity)."""
        from steepest.io import save_checkpoint

        arrays = {f"log.{name}": np.asarray(values, dtype=np.float64)
                  for name, values in self.log.items()}
        if isinstance(self.state, dict):  # dcasgd: each worker's backup copy of θ
            for worker, backup in self.state.items():
                for name, value in backup.items():
                    arrays[f"backup.{worker}.{name}"] = value
        header = {"kind": "last", **(extra or {}),
                  SERVER_KEY: {"strategy": self.strategy.name,
                               "strategy_options": self.strategy.options(),
                               "workers": self.workers, "synced": list(self.synced)}}
        return save_checkpoint(path, model=self.model, optimizer=self.optimizer, epoch=epoch,
                               step=self.version, config=config, extra=header, arrays=arrays)

    def restore(self, path: str | Path) -> None:
        """Continue from a checkpoint written by `save` for the same strategy and workers."""
        from steepest.io import CheckpointError, load_checkpoint

        checkpoint = load_checkpoint(path)
        saved = checkpoint.extra.get(SERVER_KEY)
        if not isinstance(saved, dict):
            raise CheckpointError(f"{path}: not a parameter-server checkpoint (it was written "
                                  f"by one process; resume it without --workers/--strategy)")
        if saved.get("strategy") != self.strategy.name or saved.get("workers") != self.workers:
            raise CheckpointError(
                f"{path}: written by strategy {saved.get('strategy')!r} with "
                f"{saved.get('workers')} workers, not {self.strategy.name!r} with "
                f"{self.workers}")
        checkpoint.restore(self.model, self.optimizer)
        self.version = checkpoint.step
        self.synced = [int(v) for v in saved["synced"]]
        self.log = {name: checkpoint.arrays[f"log.{name}"].tolist() for name in LOG_FIELDS}
        for name in ("version", "worker", "staleness"):
            self.log[name] = [int(v) for v in self.log[name]]
        if isinstance(self.state, dict):
            for worker, backup in self.state.items():
                for name in backup:
                    np.copyto(backup[name], checkpoint.arrays[f"backup.{worker}.{name}"])


def batch_stream(loader: Any, start_epoch: int = 0) -> Iterator[tuple[Any, Any]]:
    """A loader's batches, epoch after epoch, without end."""
    for epoch in itertools.count(start_epoch):
        yield from loader.epoch_batches(epoch)


class _ServerSteps:
    """The optimizer of a worker whose server steps (gradient strategies): never stepped here."""

    param_groups: list = []

    def step(self) -> None:
        raise RuntimeError("the parameter server steps θ; a gradient-pushing worker does not")


class AsyncWorker:
    """One asynchronous worker: computes gradients on its copy of θ and pushes them.

    Each step goes through the training loop (`train.loop.TrainingLoop`): forward_backward on
    the worker's batch, then its `apply_update` seam, which here is the exchange with the
    server: push the gradient (or GEM's π ⊙ Δθ, or EASGD's elastic difference) and take θ back.

    worker: its id. model: its own copy of the model. batches: an iterator of (x, y) batches.
    optimizer: its local optimizer (gem: computes Δθ, through a `DeltaExecutor` set here;
    easgd: its local steps); None for gradient-pushing strategies. task / loss_fn: as the
    loop's (default classification, cross-entropy). lr: the learning rate (easgd's
    α = lr·ρ). workers: how many.
    """

    def __init__(self, worker: int, model: Any, strategy: Strategy, batches: Iterator,
                 *, optimizer: Any = None, task: Any = None, loss_fn: Callable | None = None,
                 lr: float = 0.0, workers: int = 1) -> None:
        from steepest.train.loop import TrainingLoop

        if strategy.pushes == "delta" and optimizer is None:
            raise ValueError(f"AsyncWorker: strategy {strategy.name!r} steps locally, so the "
                             f"worker needs an optimizer")
        self.id, self.model, self.strategy = int(worker), model, strategy
        self.batches, self.optimizer = batches, optimizer
        self.state: Any = None
        self.steps = 0
        self.server: Any = None
        self.alpha = (strategy.alpha(lr, workers) if isinstance(strategy, ElasticAveraging)
                      else None)
        if isinstance(strategy, GradientEnergyMatching):
            optimizer.executor = DeltaExecutor()
        self.loop = TrainingLoop(model, optimizer or _ServerSteps(), task, loss_fn=loss_fn,
                                 apply_update=self._exchange)

    def start(self, server: Any) -> None:
        """Join (or rejoin after a restart) with a fresh pull."""
        self.server = server
        central, _ = server.pull(self.id)
        load_arrays(self.model, central)
        self.state = self.strategy.worker_init(central)

    def step(self, server: Any) -> float:
        """One batch: gradient on the local copy, one exchange with `server` (an object with
        the `ParameterServer` methods). Returns the batch's loss (NaN or inf is returned as it
        is, with nothing pushed: the caller decides the run diverged)."""
        from steepest.train.loop import NonFiniteLoss

        self.server = server
        x, y = next(self.batches)
        self.model.train()
        self.steps += 1
        self.loop.zero_grad()
        try:
            loss = self.loop.forward_backward(x, y).loss
        except NonFiniteLoss as error:
            return error.loss
        self.loop.reduce_gradients()
        self.loop.apply_update()
        return loss

    def _exchange(self, optimizer: Any, params: list) -> None:
        """The loop's apply_update seam: this step's exchange with the server."""
        server = self.server
        if isinstance(self.strategy, GradientEnergyMatching):
            optimizer.step()  # Δθ by the optimizer's rule, kept by the DeltaExecutor
            central, _ = server.read()
            commit, self.state, stats = self.strategy.worker_commit(
                optimizer.executor.deltas, self.state, central)
            central, _ = server.commit(self.id, commit, stats)
            load_arrays(self.model, central)
        elif isinstance(self.strategy, ElasticAveraging):
            local = named_arrays(self.model)
            difference = None
            if (self.steps - 1) % self.strategy.period == 0:
                centre, _ = server.read()
                difference = {name: elastic_difference(local[name], centre[name], self.alpha)
                              for name in local}
            optimizer.step()  # the gradient was taken at x before the elastic move
            if difference is not None:
                for name, value in difference.items():
                    local[name] -= value
                server.commit(self.id, difference)
        else:
            grads = {name: p.grad for name, p in self.model.named_parameters()
                     if p.requires_grad and p.grad is not None}
            central, _ = server.commit(self.id, grads)
            load_arrays(self.model, central)
