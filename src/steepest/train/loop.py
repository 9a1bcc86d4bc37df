"""The training loop's step, in three seams: forward_backward -> reduce_gradients -> apply_update.

Every training in steepest takes its optimizer steps here: the `Trainer` (and so `fit` and
`steepest train`), the lectures' `train_classifier`, and the lab's studies (LR range test and
sweep, gradient flow, the loss-landscape path). One step:

    loop.zero_grad()
    for x, y in micro_batches:                   # one batch, or grad_accumulation of them
        loop.forward_backward(x, y, scale=1 / k)  # forward, task loss (checked finite), backward
    loop.reduce_gradients()                      # combine gradients across workers
    loop.apply_update()                          # clip, then update the weights

or `loop.step(x, y)` for a step on one batch. What is learnt and reported comes from a `Task`
(`train.tasks`: a loss and its metrics); the forward and the backward are steepest's engine.

The seams
---------
`forward_backward`, `reduce_gradients` and `apply_update` are where training leaves one
process. All are plain callables given to `TrainingLoop` (and to `Trainer` and `fit`, which
pass them on):

    forward_backward(model, task, x, y, scale) -> (loss: float, outputs: Tensor)
        Called for every micro-batch: the batch's mean task loss and the model's outputs for
        the whole batch (the metrics are computed from them), with the gradients of
        loss * scale added to `p.grad` (or held back for reduce_gradients). The loop raises
        NonFiniteLoss for a NaN or infinite loss. Default: forward, loss and backward here.
        A synchronous data-parallel runner computes the shards on its workers here.

    reduce_gradients(params: list[Tensor]) -> None
        Called once per optimizer step, after the backward of every micro-batch, with the
        parameters that have a gradient (in model order, the same list on every worker).
        Change each `p.grad` in place. Default `local_gradients`: nothing to combine.
        A synchronous data-parallel runner all-reduces here: p.grad[...] = mean over workers.

    apply_update(optimizer, params: list[Tensor]) -> None
        Called once per optimizer step, after the gradients were reduced and clipped. Update
        the weights in place. Default `optimizer_step`: optimizer.step(). A parameter-server
        worker sends the gradients here and copies the weights it gets back into p.data.

Between the last two the Trainer runs its `on_after_backward` callbacks (gradients already
reduced) and clips; after them it steps the schedule, updates the EMA and writes checkpoints, so
a distributed runner keeps all of that by passing its callables to the one loop.

An optimizer that needs a closure (its `needs_closure`: LBFGS from its spec, RandomSearch; or
a `step(self, closure)` without a default, as PyTorch's LBFGS) is given one: it zeroes the
gradients, runs forward_backward again on the step's micro-batches, reduces and clips, and
returns the loss as a 0-d Tensor. (The optimizer calls it, so each step evaluates the batches
once more than with other optimizers; the custom apply_update is not used then: the optimizer
itself is the update.) Called with gradients disabled, as a search by loss values calls it, the
closure only evaluates: no backward.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from steepest.autograd.grad_mode import is_grad_enabled, no_grad
from steepest.nn.module import Module
from steepest.nn.utils import clip_grad_norm_, clip_grad_value_
from steepest.tensor import Tensor
from steepest.train.tasks import Task, get_task

__all__ = ["BatchResult", "NonFiniteLoss", "TrainingLoop", "evaluate", "local_gradients",
           "optimizer_step"]

ForwardBackward = Callable[[Module, Any, Any, Any, float], tuple[float, Tensor]]
ReduceGradients = Callable[[list[Tensor]], None]
ApplyUpdate = Callable[[Any, list[Tensor]], None]


class NonFiniteLoss(ArithmeticError):
    """The loss of a batch was NaN or infinite; raised before its backward. `.loss` holds it."""

    def __init__(self, loss: float) -> None:
        super().__init__(f"the loss is {loss}")
        self.loss = loss


class BatchResult(NamedTuple):
    """What forward_backward gives back: the batch's loss as a float and the model's outputs."""

    loss: float
    outputs: Tensor


def local_gradients(params: list[Tensor]) -> None:
    """The default reduce step: one process saw the whole batch, its gradients are complete."""


def optimizer_step(optimizer: Any, params: list[Tensor]) -> None:
    """The default apply step: the optimizer updates the weights here."""
    optimizer.step()


def _needs_closure(optimizer: Any) -> bool:
    """steepest's optimizers say so (`needs_closure`, from their spec); others (PyTorch's LBFGS,
    a subclass's own step) by a `step` whose closure has no default."""
    if getattr(optimizer, "needs_closure", False) is True:
        return True
    try:
        closure = inspect.signature(optimizer.step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return closure is not None and closure.default is inspect.Parameter.empty


class TrainingLoop:
    """The steps of one optimizer step on `model` (see the module docstring).

    optimizer: any object with `step()` and `param_groups` (None only to measure gradients).
    task: a Task or its name (default classification with `loss_fn`, default cross-entropy).
    The model's parameters are listed when the loop is built (as an optimizer lists them):
    build a new loop after replacing layers.
    clip_grad_norm / clip_grad_value: clip in apply_update, before the update
      (`nn.utils.clip_grad_norm_` / `clip_grad_value_`).
    reduce_gradients / apply_update: the seams; None is the single-process default.
    """

    def __init__(self, model: Module, optimizer: Any = None, task: Any = None, *,
                 loss_fn: Callable[[Tensor, Any], Tensor] | None = None,
                 clip_grad_norm: float | None = None, clip_grad_value: float | None = None,
                 reduce_gradients: ReduceGradients | None = None,
                 apply_update: ApplyUpdate | None = None,
                 forward_backward: ForwardBackward | None = None) -> None:
        for name, value in (("clip_grad_norm", clip_grad_norm),
                            ("clip_grad_value", clip_grad_value)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number or None, got {value!r}")
        for name, function in (("reduce_gradients", reduce_gradients),
                               ("apply_update", apply_update),
                               ("forward_backward", forward_backward)):
            if function is not None and not callable(function):
                raise TypeError(f"{name} must be a function, got {type(function).__name__}")
        self.model, self.optimizer = model, optimizer
        self.task: Task = get_task(task, loss_fn)
        self.clip_grad_norm, self.clip_grad_value = clip_grad_norm, clip_grad_value
        self._reduce = reduce_gradients or local_gradients
        self._apply = apply_update or optimizer_step
        self._forward_backward = forward_backward
        self._closure_batches: list[tuple[Any, Any, float]] | None = \
            [] if optimizer is not None and _needs_closure(optimizer) else None
        # Listed once, as an optimizer lists them: walking the module tree every step would
        # cost as much as a small model's update.
        self._parameters = list(model.parameters())
        self._params: list[Tensor] = []

    # ---- the three steps ---------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Forget the gradients of the last step (set them to None)."""
        for param in self._parameters:
            param.grad = None
        if self._closure_batches is not None:
            self._closure_batches.clear()

    def forward_backward(self, x: Any, y: Any, scale: float = 1.0) -> BatchResult:
        """Forward `x`, the task's loss against `y`, and its backward scaled by `scale`
        (1/k for one of k accumulated batches); gradients add up in each `p.grad`.

        Raises NonFiniteLoss (before the backward) if the loss is NaN or infinite.
        """
        if self._forward_backward is not None:  # the seam: computed elsewhere
            value, outputs = self._forward_backward(self.model, self.task, x, y, scale)
            if not math.isfinite(value):
                raise NonFiniteLoss(value)
            if self._closure_batches is not None:
                self._closure_batches.append((x, y, scale))
            return BatchResult(value, outputs)
        outputs = self.model(x if isinstance(x, Tensor) else Tensor(x))
        loss = self.task.loss(outputs, y)
        value = float(loss.item())
        if not math.isfinite(value):
            raise NonFiniteLoss(value)
        if is_grad_enabled():  # else a closure evaluated by a search: the loss is all it wants
            (loss if scale == 1.0 else loss * scale).backward()
        if self._closure_batches is not None:
            self._closure_batches.append((x, y, scale))
        return BatchResult(value, outputs)

    def reduce_gradients(self) -> None:
        """Combine the gradients of this step (the `reduce_gradients` seam)."""
        self._params = [p for p in self._parameters if p.grad is not None]
        self._reduce(self._params)

    def apply_update(self) -> None:
        """Clip the gradients if asked, then update the weights (the `apply_update` seam)."""
        if self.optimizer is None:
            raise ValueError("TrainingLoop: no optimizer to apply the update with")
        if self._closure_batches is not None:
            self._step_with_closure()
            return
        self._clip()
        self._apply(self.optimizer, self._params)

    def _clip(self) -> None:
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self._params, self.clip_grad_norm)
        if self.clip_grad_value is not None:
            clip_grad_value_(self._params, self.clip_grad_value)

    def step(self, x: Any, y: Any) -> float:
        """One optimizer step on one batch: all three steps; returns the batch's loss."""
        self.zero_grad()
        value = self.forward_backward(x, y).loss
        self.reduce_gradients()
        self.apply_update()
        return value

    # ---- closures (LBFGS) --------------------------------------------------------------------
    def _step_with_closure(self) -> None:
        batches = list(self._closure_batches)

        def closure() -> Tensor:
            self.zero_grad()
            total = 0.0
            for x, y, scale in batches:
                try:
                    total += scale * self.forward_backward(x, y, scale).loss
                except NonFiniteLoss as error:  # a line search may try a point this bad:
                    total += error.loss         # it is told the loss, and backs off
            self.reduce_gradients()
            self._clip()
            return Tensor(np.array(total))

        self.optimizer.step(closure)


# ---- evaluation ---------------------------------------------------------------------------
def evaluate(model: Module, task: Any, data: Any, batch_size: int = 1000) -> dict[str, float]:
    """Mean loss and the task's metrics over `data`, in eval mode, without a graph.

    data: (x, y) arrays (batched by `batch_size`), a DataLoader (its epoch 0), or an iterable of
    (x, y) batches. Returns {"loss": ..., **task metrics}; ValueError if there are no examples.
    """
    task = get_task(task)
    was_training = model.training
    model.eval()
    total_loss, count = 0.0, 0
    sums = task.zero_sums()
    try:
        with no_grad():
            for x, y in _eval_batches(data, batch_size):
                outputs = model(x)
                n = len(outputs.data)
                total_loss += float(task.loss(outputs, y).item()) * n
                task.update_sums(sums, outputs.data, y)
                count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the data is empty")
    return {"loss": total_loss / count, **task.metrics(sums)}


def _eval_batches(data: Any, batch_size: int) -> Iterable[tuple[Tensor, Any]]:
    if isinstance(data, Sequence) and len(data) == 2 and isinstance(data[0], np.ndarray):
        x, y = data
        for start in range(0, len(x), batch_size):
            yield Tensor(x[start:start + batch_size]), y[start:start + batch_size]
        return
    if hasattr(data, "epoch_batches"):
        yield from data.epoch_batches(0)
        return
    yield from data
