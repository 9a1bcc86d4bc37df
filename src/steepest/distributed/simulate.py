"""A deterministic single-process simulator of asynchronous training, for teaching and research.

`simulate("gem", model, (x, y), workers=8, steps=200)` runs n workers against one parameter
server in one process, the workers taking turns by a seeded schedule: "round-robin" (worker
t mod n commits t-th, so every commit after the first round has staleness τ = n − 1 exactly) or
"random" (the order of all n × steps commits is a seeded permutation). It uses the very
`ParameterServer`, `AsyncWorker` and strategy objects that the Ray path runs in actors, so what
it shows is what the strategies do, without the noise of a real scheduler.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.distributed.parameter_server import (
    AsyncWorker,
    ParameterServer,
    batch_stream,
)
from steepest.distributed.strategies import Strategy, make_strategy

__all__ = ["SCHEDULES", "SimulationResult", "simulate"]

SCHEDULES = ("round-robin", "random")


@dataclass
class SimulationResult:
    """What `simulate` returns.

    worker_steps: the x-axis of `loss` (commits / n at each evaluation); loss: the central
    variable's training loss there; final_loss: after the last commit (inf if it diverged).
    log: the server's per-commit log (version, worker, staleness, mean_pi, clamped_fraction).
    summary: commits, mean/max staleness, and for GEM mean_pi and clamped_fraction.
    diverged: None, or where the loss became NaN or infinite.
    """

    strategy: str
    workers: int
    seed: int
    worker_steps: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    final_loss: float = math.nan
    log: dict[str, list[float]] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    diverged: str | None = None

    @property
    def mean_staleness(self) -> float:
        return float(self.summary.get("mean_staleness", math.nan))

    @property
    def mean_pi(self) -> float:
        return float(self.summary.get("mean_pi", math.nan))

    @property
    def clamped_fraction(self) -> float:
        return float(self.summary.get("clamped_fraction", math.nan))


def _training_loss(model: Any, x: np.ndarray, y: np.ndarray, loss_fn: Callable | None
                   ) -> float:
    from steepest.train.loop import evaluate
    from steepest.train.tasks import get_task

    with np.errstate(over="ignore", invalid="ignore"):
        return evaluate(model, get_task(None, loss_fn), (x, y), batch_size=4096)["loss"]


def commit_order(schedule: str, workers: int, steps: int, seed: int) -> np.ndarray:
    """Which worker commits at each of the workers × steps commits."""
    if schedule == "round-robin":
        return np.tile(np.arange(workers), steps)
    if schedule == "random":
        rng = np.random.default_rng([seed, 7])
        return rng.permutation(np.repeat(np.arange(workers), steps))
    raise ValueError(f"simulate: unknown schedule {schedule!r}; choose from {SCHEDULES}")


def simulate(strategy: str | Strategy, model: Any, data: tuple[np.ndarray, np.ndarray], *,
             workers: int, steps: int, batch_size: int = 64, optimizer: str = "sgd",
             lr: float = 0.2, schedule: str = "round-robin", seed: int = 0,
             eval_every: int | None = None, loss_fn: Callable | None = None,
             **strategy_options: Any) -> SimulationResult:
    """Train `model` asynchronously with `workers` simulated workers, each taking `steps`
    steps on its own batches of `batch_size` from `data` (x, y); return a SimulationResult.

    strategy: a name ("downpour", "staleness", "dcasgd", "easgd", "gem") or a Strategy object;
    strategy_options: its hyperparameters (gem: momentum, kappa, ...). optimizer, lr: the
    server's optimizer (gradient strategies) or each worker's (gem, easgd), by name as in
    `optim.make_optimizer`. The model's weights are θ's start (the caller seeds them); worker w
    draws its batches from `DataLoader(seed=[seed, w])`-style seeds, so a run is repeatable.
    eval_every: commits between evaluations of the training loss (default: about 50 a run).
    The run stops early, with final_loss inf, if any loss becomes NaN or infinite.
    """
    from steepest.data import DataLoader
    from steepest.optim.registry import make_optimizer

    strategy = make_strategy(strategy, **strategy_options)
    for name, value in (("workers", workers), ("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"simulate: {name} must be a positive integer, got {value!r}")
    order = commit_order(schedule, workers, steps, seed)
    x, y = data
    if eval_every is None:  # about 50 points on the curve
        eval_every = workers * max(1, steps // 50)
    central_model = model
    server_optimizer = (make_optimizer(optimizer, central_model, lr=lr)
                        if strategy.pushes == "gradient" else None)
    server = ParameterServer(central_model, server_optimizer, strategy, workers)
    pool = []
    for w in range(workers):
        local = copy.deepcopy(model)
        loader = DataLoader((x, y), batch_size=batch_size, shuffle=True,
                            seed=int(np.random.default_rng([seed, w]).integers(2**31)))
        local_optimizer = (make_optimizer(optimizer, local, lr=lr)
                           if strategy.pushes == "delta" else None)
        worker = AsyncWorker(w, local, strategy, batch_stream(loader), optimizer=local_optimizer,
                             loss_fn=loss_fn, lr=lr, workers=workers)
        worker.start(server)
        pool.append(worker)
    result = SimulationResult(strategy.name, workers, seed)
    result.worker_steps.append(0.0)
    result.loss.append(_training_loss(central_model, x, y, loss_fn))
    with np.errstate(over="ignore", invalid="ignore"):
        for t, w in enumerate(order, start=1):
            batch_loss = pool[w].step(server)
            if not math.isfinite(batch_loss):
                result.diverged = f"worker {w}'s loss became {batch_loss} at commit {t}"
                break
            if t % eval_every == 0 or t == len(order):
                loss = _training_loss(central_model, x, y, loss_fn)
                result.worker_steps.append(t / workers)
                result.loss.append(loss)
                if not math.isfinite(loss):
                    result.diverged = f"the training loss became {loss} at commit {t}"
                    break
    result.final_loss = math.inf if result.diverged else result.loss[-1]
    result.log = {name: list(values) for name, values in server.log.items()}
    result.summary = server.summary()
    return result
