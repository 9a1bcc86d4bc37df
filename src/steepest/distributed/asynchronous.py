"""Asynchronous training on Ray: a parameter-server actor and n worker actors.

    result = train_async(model, (x, y), strategy="gem", workers=4, epochs=5, lr=0.2)

The server actor wraps `ParameterServer`, each worker actor an `AsyncWorker` (the same objects the
simulator runs in one process); the workers pull θ, compute on their stale copy and push, each at
its own pace. The driver (this process) waits for every worker to finish an epoch's share of
steps, then evaluates θ, prints the epoch's line with the staleness of its commits, and asks the
server to write its checkpoint.

Faults. A worker actor that dies is restarted by Ray (`max_restarts=-1`) and rejoins with a fresh
pull; the driver hands it the steps it still owes, which the server's log counts, so at most the
update it was computing is lost. The server actor is restarted too, and starts from its last
checkpoint; a worker whose call reaches a dead server waits for the new one and pulls afresh.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from steepest.distributed.cluster import ACTOR_CPUS, connect
from steepest.distributed.parameter_server import (
    AsyncWorker,
    ParameterServer,
    batch_stream,
    load_arrays,
)
from steepest.distributed.strategies import Strategy, make_strategy

__all__ = ["AsyncResult", "train_async"]

#: A worker that keeps failing without a commit for this many seconds stops the run (a
#: restart under load takes seconds; a worker whose start itself fails never commits).
MAX_STALL_SECONDS = 120.0


# ---------------------------------------------------------------------------- the actors
class _ServerActor:
    """The parameter server in an actor. checkpoint: where `save` writes; if the file exists
    when the actor starts (a restart, or a resumed run), θ and the log come from it."""

    def __init__(self, model: Any, strategy: Strategy, workers: int, optimizer: str,
                 lr: float, checkpoint: str | None, config: dict | None,
                 extra: dict | None) -> None:
        from steepest.optim.registry import make_optimizer

        model = copy.deepcopy(model)  # Ray hands over read-only arrays
        opt = make_optimizer(optimizer, model, lr=lr) if strategy.pushes == "gradient" else None
        self.server = ParameterServer(model, opt, strategy, workers)
        self.checkpoint, self.config, self.extra = checkpoint, config, extra
        if checkpoint is not None and Path(checkpoint).is_file():
            self.server.restore(checkpoint)

    def pull(self, worker: int) -> tuple[dict, int]:
        return self.server.pull(worker)

    def read(self) -> tuple[dict, int]:
        return self.server.read()

    def commit(self, worker: int, message: dict, stats: dict | None = None) -> tuple[dict, int]:
        return self.server.commit(worker, message, stats)

    def version(self) -> int:
        return self.server.version

    def commits_by(self) -> list[int]:
        return np.bincount(np.asarray(self.server.log["worker"], dtype=np.int64),
                           minlength=self.server.workers).tolist()

    def log_since(self, version: int) -> dict[str, list[float]]:
        """The log's rows for commits after `version`."""
        versions = self.server.log["version"]
        start = int(np.searchsorted(np.asarray(versions), version, side="right"))
        return {name: values[start:] for name, values in self.server.log.items()}

    def summary(self) -> dict[str, float]:
        return self.server.summary()

    def save(self, epoch: int) -> str | None:
        if self.checkpoint is None:
            return None
        return str(self.server.save(self.checkpoint, config=self.config, extra=self.extra,
                                    epoch=epoch))


class _ServerProxy:
    """The server's methods for an `AsyncWorker` in another actor: one Ray call each."""

    def __init__(self, handle: Any) -> None:
        import ray

        self._ray, self.handle = ray, handle

    def pull(self, worker: int) -> tuple[dict, int]:
        return self._ray.get(self.handle.pull.remote(worker))

    def read(self) -> tuple[dict, int]:
        return self._ray.get(self.handle.read.remote())

    def commit(self, worker: int, message: dict, stats: dict | None = None) -> tuple[dict, int]:
        return self._ray.get(self.handle.commit.remote(worker, message, stats))


class _WorkerActor:
    """An asynchronous worker in an actor; Ray runs `__init__` again after a crash, which is
    the rejoin: a fresh pull from the server."""

    def __init__(self, worker: int, model: Any, strategy: Strategy, server: Any, data: Any,
                 batch_size: int, seed: int, optimizer: str, lr: float, workers: int,
                 loss_fn: Callable | None) -> None:
        from steepest.data import DataLoader
        from steepest.optim.registry import make_optimizer

        x, y = data
        model = copy.deepcopy(model)  # Ray hands over read-only arrays
        loader = DataLoader((x, y), batch_size=batch_size, shuffle=True,
                            seed=_worker_seed(seed, worker))
        local = make_optimizer(optimizer, model, lr=lr) if strategy.pushes == "delta" else None
        self.server = _ServerProxy(server)
        self.worker = AsyncWorker(worker, model, strategy, batch_stream(loader),
                                  optimizer=local, loss_fn=loss_fn, lr=lr, workers=workers)
        self._join()

    def _join(self) -> None:
        import ray

        while True:
            try:
                self.worker.start(self.server)
                return
            except ray.exceptions.RayActorError:  # the server is restarting: wait for it
                time.sleep(0.2)

    def run(self, steps: int) -> dict[str, float]:
        """Take `steps` steps; returns {"loss": mean batch loss, "steps", "diverged"}."""
        import ray

        total, done = 0.0, 0
        with np.errstate(over="ignore", invalid="ignore"):
            while done < steps:
                try:
                    loss = self.worker.step(self.server)
                except ray.exceptions.RayActorError:
                    self._join()  # the server died mid-call: that update is lost
                    continue
                if not math.isfinite(loss):
                    return {"loss": loss, "steps": done, "diverged": True}
                total += loss
                done += 1
        return {"loss": total / max(done, 1), "steps": done, "diverged": False}

    def pid(self) -> int:
        import os

        return os.getpid()


def _worker_seed(seed: int, worker: int) -> int:
    return int(np.random.default_rng([seed, worker]).integers(2**31))


# ---------------------------------------------------------------------------- the driver
@dataclass
class AsyncResult:
    """What `train_async` returns: per-epoch metrics (`history[name]` one value per epoch:
    loss, accuracy of θ on the training data, mean_staleness, max_staleness, commits (the
    server's version), and val_/test_ metrics when given), the server's summary, and the
    worker restarts the driver saw."""

    history: dict[str, list[float]] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    restarts: int = 0
    diverged: str | None = None
    checkpoint: str | None = None


def _evaluate(model: Any, data: tuple[np.ndarray, np.ndarray], loss_fn: Callable | None
              ) -> dict[str, float]:
    from steepest.train.loop import evaluate
    from steepest.train.tasks import get_task

    with np.errstate(over="ignore", invalid="ignore"):
        return evaluate(model, get_task(None, loss_fn), data)


def train_async(model: Any, data: tuple[np.ndarray, np.ndarray], *, strategy: str | Strategy,
                workers: int, epochs: int | None = None, steps: int | None = None,
                batch_size: int = 64, optimizer: str = "sgd",
                lr: float = 0.01, seed: int = 0, validation: Any = None, test: Any = None,
                checkpoint: str | Path | None = None, address: str | None = None,
                loss_fn: Callable | None = None, log: Callable[[str], None] | None = print,
                on_epoch: Callable[[int, dict[str, float]], None] | None = None,
                steps_per_epoch: int | None = None, config: dict[str, Any] | None = None,
                extra: dict[str, Any] | None = None,
                on_start: Callable[[Any, list[Any]], None] | None = None,
                **strategy_options: Any) -> AsyncResult:
    """Train `model` asynchronously on Ray with `workers` worker actors and one server actor.

    data: the training (x, y); each worker shuffles it with its own seed. epochs: each worker
    takes ceil(len(x) / batch_size) steps per epoch (or `steps_per_epoch`), so an epoch is n
    passes over the data in all; or steps: steps per worker (the last epoch may be short).
    config, extra: the run's config and more header entries for the server's checkpoint.
    optimizer, lr: the server's (gradient strategies) or each
    worker's (gem, easgd). checkpoint: the server's checkpoint file, written after every epoch;
    if it exists, the run continues from it (a server that dies restarts from it; without one
    it restarts from the initial weights and the workers owe their steps again). The model
    ends holding θ. address: a Ray cluster to join (None starts a local one).
    on_start(server, workers): called with the actor handles once they exist (tests kill
    them).
    """
    strategy = make_strategy(strategy, **strategy_options)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"train_async: workers must be a positive integer, got {workers!r}")
    ray = connect(address)
    x, y = data
    per_epoch = steps_per_epoch or math.ceil(len(x) / batch_size)
    if (epochs is None) == (steps is None):
        raise ValueError("train_async: give exactly one of epochs or steps")
    total = steps if steps is not None else epochs * per_epoch
    epochs = math.ceil(total / per_epoch)
    checkpoint = None if checkpoint is None else str(Path(checkpoint).resolve())
    if config is None:
        config = {"strategy": strategy.name, "workers": workers, "optimizer": optimizer,
                  "lr": lr, "batch_size": batch_size, "seed": seed, **strategy.options()}
    server_cls = ray.remote(num_cpus=ACTOR_CPUS, max_restarts=-1)(_ServerActor)
    worker_cls = ray.remote(num_cpus=ACTOR_CPUS, max_restarts=-1)(_WorkerActor)
    server = server_cls.remote(copy.deepcopy(model), strategy, workers, optimizer, lr,
                               checkpoint, config, extra)
    data_ref = ray.put((np.ascontiguousarray(x), np.ascontiguousarray(y)))
    pool = [worker_cls.remote(w, copy.deepcopy(model), strategy, server, data_ref, batch_size,
                              seed, optimizer, lr, workers, loss_fn) for w in range(workers)]
    result = AsyncResult(checkpoint=checkpoint)
    if on_start is not None:
        on_start(server, pool)
    first_epoch = min(ray.get(server.commits_by.remote())) // per_epoch
    try:
        for epoch in range(first_epoch, epochs):
            version = ray.get(server.version.remote())
            diverged = _run_epoch(ray, pool, server, min(total, (epoch + 1) * per_epoch),
                                  result)
            central, _ = ray.get(server.read.remote())
            load_arrays(model, central)
            rows = ray.get(server.log_since.remote(version))
            staleness = np.asarray(rows["staleness"], dtype=np.float64)
            logs = _evaluate(model, (x, y), loss_fn)
            logs["mean_staleness"] = float(staleness.mean()) if staleness.size else 0.0
            logs["max_staleness"] = float(staleness.max()) if staleness.size else 0.0
            logs["commits"] = float(ray.get(server.version.remote()))
            pis = np.asarray(rows["mean_pi"], dtype=np.float64)
            if pis.size and not np.isnan(pis).all():
                logs["mean_pi"] = float(np.nanmean(pis))
            for prefix, split in (("val", validation), ("test", test)):
                if split is not None:
                    logs.update({f"{prefix}_{k}": v
                                 for k, v in _evaluate(model, split, loss_fn).items()})
            for name, value in logs.items():
                result.history.setdefault(name, []).append(value)
            ray.get(server.save.remote(epoch + 1))
            if log is not None:
                log(_epoch_line(epoch + 1, logs))
            if on_epoch is not None:
                on_epoch(epoch + 1, logs)
            if diverged or not math.isfinite(logs["loss"]):
                result.diverged = diverged or f"the training loss became {logs['loss']}"
                break
        result.summary = ray.get(server.summary.remote())
    finally:
        for actor in [*pool, server]:
            ray.kill(actor, no_restart=True)
    return result


def _submit(method: Any, *args: Any, wait: float = 60.0) -> Any:
    """`method.remote(*args)`, retried while Ray restarts the actor (submitting to an actor
    between its death and its restart raises a bare Exception: "Can't find actor")."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return method.remote(*args)
        except Exception:  # noqa: BLE001 - Ray raises a bare Exception here
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _run_epoch(ray: Any, pool: list[Any], server: Any, target: int, result: AsyncResult
               ) -> str | None:
    """Run workers until each has `target` commits on the server.

    Commits are counted by the server, so steps lost to a crash are made up: a worker that dies
    is restarted by Ray and handed what it still owes; a server restarted from its checkpoint
    has forgotten the commits after it, and the workers owe them again."""
    stalled_since: dict[int, float] = {}  # worker -> when it failed with nothing committed since
    diverged = None
    while True:
        done = ray.get(server.commits_by.remote())
        owed = [max(0, target - d) for d in done]
        if not any(owed):
            return diverged
        pending = {_submit(pool[w].run, n): w for w, n in enumerate(owed) if n > 0}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            w = pending.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except ray.exceptions.RayActorError as error:
                # Died, or restarting (ActorUnavailableError): hand it what it still owes.
                left = target - ray.get(server.commits_by.remote())[w]
                now = time.monotonic()
                if left < owed[w] or w not in stalled_since:
                    result.restarts += 1  # a new incident (retries while it restarts are not)
                    stalled_since[w] = now
                elif now - stalled_since[w] > MAX_STALL_SECONDS:
                    raise RuntimeError(f"worker {w} keeps failing without committing "
                                       f"anything; the last error: {error}") from None
                owed[w] = left
                if left > 0:
                    time.sleep(0.1)
                    pending[_submit(pool[w].run, left)] = w
                continue
            if outcome["diverged"]:
                diverged = f"worker {w}'s loss became {outcome['loss']}"
        if diverged:
            return diverged


def _epoch_line(epoch: int, logs: dict[str, float]) -> str:
    parts = [f"epoch {epoch:4d}", f"loss {logs['loss']:.4f}",
             f"acc {100 * logs['accuracy']:5.1f}%"]
    for prefix in ("val", "test"):
        if f"{prefix}_loss" in logs:
            parts.append(f"{prefix} loss {logs[f'{prefix}_loss']:.4f}")
            parts.append(f"{prefix} acc {100 * logs[f'{prefix}_accuracy']:5.1f}%")
    parts.append(f"staleness mean {logs['mean_staleness']:.2f} max "
                 f"{logs['max_staleness']:.0f}")
    if "mean_pi" in logs:
        parts.append(f"mean π {logs['mean_pi']:.3f}")
    return "  ".join(parts)
