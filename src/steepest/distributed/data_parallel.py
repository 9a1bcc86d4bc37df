"""Synchronous data-parallel training on Ray: N actors each compute the gradient of their shard of
every global batch; the gradients are combined into the exact mean over the global batch.

    dp = DataParallel(model, workers=4)
    loss, outputs = dp.forward_backward(x, y)    # the global batch, split over the workers
    dp.reduce_gradients()                        # p.grad = Σ (k_i / B) g_i: the batch mean
    optimizer.step()                             # one update, in this process
    dp.close()

or, with everything the Trainer does (schedules, clipping, EMA, callbacks, checkpoints, the run
store), through the training loop's seams: `fit(model, data, ..., **dp.seams())`.

The driver (this process) keeps the model, the optimizer, the schedule and everything else the
training loop does; each step it puts the current weights (and buffers) into Ray's object store
once, and every worker reads them before its forward, so all workers hold identical weights at
every step. The combination is the exact mean, so in float64 N workers reproduce one process to
rounding (a test checks 1e-12 over 100 steps for N = 1, 2, 4).

Two differences from one process, as with PyTorch's DistributedDataParallel: batch norm
normalises each shard with its own statistics (the running statistics kept are worker 0's,
as DDP broadcasts rank 0's buffers), and dropout masks come from each worker's own generator.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from steepest.distributed.cluster import ACTOR_CPUS, connect

__all__ = ["DataParallel", "shard_bounds"]


def shard_bounds(batch: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) ranges splitting `batch` examples over `workers` (the first
    batch % workers shards one larger, as `numpy.array_split`); empty shards are left out."""
    base, extra = divmod(batch, workers)
    bounds, start = [], 0
    for w in range(workers):
        stop = start + base + (1 if w < extra else 0)
        if stop > start:
            bounds.append((start, stop))
        start = stop
    return bounds


class _GradientActor:
    """One data-parallel worker: a copy of the model that loads the driver's state each step."""

    def __init__(self, model: Any, task: Any, seed: int) -> None:
        from steepest.random import manual_seed

        manual_seed(seed)  # this worker's dropout masks
        self.model = copy.deepcopy(model)  # Ray hands over read-only arrays
        self.set_task(task)

    def compute(self, state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                training: bool, return_buffers: bool) -> dict[str, Any]:
        from steepest.train.loop import NonFiniteLoss

        self.model.load_state_dict(state)
        self.model.train(training)
        self.loop.zero_grad()
        grads = {}
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                loss, outputs = self.loop.forward_backward(x, y)
                grads = {name: p.grad.data for name, p in self.model.named_parameters()
                         if p.grad is not None}
            except NonFiniteLoss as error:  # no backward: the driver stops the run
                loss, outputs = error.loss, self.model(x)
        result = {"loss": loss, "grads": grads, "outputs": outputs.data}
        if return_buffers:
            result["buffers"] = {name: b.data for name, b in self.model.named_buffers()}
        return result

    def state(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def set_task(self, task: Any) -> None:
        """The task whose loss the shards are trained on; the forward and backward are the
        training loop's own."""
        from steepest.train.loop import TrainingLoop

        self.loop = TrainingLoop(self.model, None, task)


class DataParallel:
    """Gradients of a model over N Ray worker actors (see the module docstring).

    model: the driver's model (its weights are sent each step; its `.grad`s receive the mean).
    workers: N. task / loss_fn: as the training loop's (default classification with
    cross-entropy; through `seams()`, the loop's own task replaces it). address: a
    Ray cluster to join (None starts a local one). seed: the workers' dropout generators are
    seeded seed + rank.
    """

    def __init__(self, model: Any, workers: int, *, task: Any = None,
                 loss_fn: Callable | None = None, address: str | None = None,
                 seed: int = 0) -> None:
        from steepest.train.tasks import get_task

        self._task = get_task(task, loss_fn)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"DataParallel: workers must be a positive integer, got "
                             f"{workers!r}")
        self.ray = connect(address)
        self.model, self.workers = model, workers
        actor = self.ray.remote(num_cpus=ACTOR_CPUS)(_GradientActor)
        self.actors = [actor.remote(model, self._task, seed + rank) for rank in range(workers)]
        self._pending: list[tuple[float, dict[str, np.ndarray]]] = []
        self._named = dict(model.named_parameters())

    def forward_backward(self, x: Any, y: Any, scale: float = 1.0) -> tuple[float, Any]:
        """The global batch's mean loss and outputs, its shards computed by the workers.

        Each shard's gradient is weighted by k_i / B · scale (scale = 1/k for one of k
        accumulated batches): the first one is added to p.grad now, the others by
        `reduce_gradients`. A NaN or infinite loss is returned with no gradient."""
        from steepest.tensor import Tensor

        ray = self.ray
        x = x.data if isinstance(x, Tensor) else np.asarray(x)
        y = y.data if isinstance(y, Tensor) else np.asarray(y)
        batch = len(x)
        state = ray.put({k: np.ascontiguousarray(v) for k, v in
                         self.model.state_dict().items()})
        bounds = shard_bounds(batch, self.workers)
        training = self.model.training
        refs = [self.actors[rank].compute.remote(state, x[a:b], y[a:b], training, rank == 0)
                for rank, (a, b) in enumerate(bounds)]
        results = ray.get(refs)
        loss = 0.0
        for (a, b), result in zip(bounds, results, strict=True):
            loss += (b - a) / batch * result["loss"]
        buffers = results[0].get("buffers")
        if buffers:
            own = dict(self.model.named_buffers())
            for name, value in buffers.items():
                np.copyto(own[name].data, value)
        outputs = Tensor(np.concatenate([result["outputs"] for result in results]))
        if not np.isfinite(loss):
            return loss, outputs  # no gradient to combine: the caller stops the run
        # As a rank of DistributedDataParallel: the first shard's gradient lands in p.grad now
        # (added, as backward accumulates); reduce_gradients adds the others'.
        (a, b), first = bounds[0], results[0]
        self._add((b - a) / batch * scale, first["grads"])
        for (a, b), result in zip(bounds[1:], results[1:], strict=True):
            self._pending.append(((b - a) / batch * scale, result["grads"]))
        return loss, outputs

    def seams(self) -> dict[str, Callable]:
        """The training loop's seams (`train.loop`) for `fit`, `Trainer` or `TrainingLoop`:
        forward_backward on the workers, reduce_gradients here."""
        return {"forward_backward": self._loop_forward_backward,
                "reduce_gradients": self.reduce_gradients}

    def _loop_forward_backward(self, model: Any, task: Any, x: Any, y: Any,
                               scale: float) -> tuple[float, Any]:
        if model is not self.model:
            raise ValueError("DataParallel: the loop trains another model than the one the "
                             "workers were given")
        if task is not None and task is not self._task:
            # The loop's task decides the loss; the workers learn it once.
            self._task = task
            self.ray.get([actor.set_task.remote(task) for actor in self.actors])
        return self.forward_backward(x, y, scale)

    def reduce_gradients(self, params: Any = None) -> None:
        """Add the other shards' gradients: p.grad = Σ_i (k_i / B) g_i over the shards of the
        batches since the last call, the exact mean over the global batch."""
        for weight, grads in self._pending:
            self._add(weight, grads)
        self._pending = []

    def _add(self, weight: float, grads: dict[str, np.ndarray]) -> None:
        named = self._named
        for name, grad in grads.items():
            param = named[name]
            contribution = np.multiply(grad, weight) if weight != 1.0 else np.array(grad)
            if param.grad is None:
                param.grad = contribution
            else:
                param.grad += contribution

    def worker_states(self) -> list[dict[str, np.ndarray]]:
        """Each worker's model state as it stands (for tests: identical weights everywhere)."""
        return self.ray.get([actor.state.remote() for actor in self.actors])

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []

    def __enter__(self) -> DataParallel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
