"""Tasks: what a training optimises and what it reports, as one object (a loss and its metrics).

The training loop (`train.loop`) asks the task for three things and knows nothing else about
the problem:

    loss = task.loss(outputs, y)                    # a scalar Tensor to differentiate
    task.update_sums(sums, outputs.data, y)         # add one batch to the running sums
    task.metrics(sums)                              # {"accuracy": ...} from the sums

Metrics are computed from additive sums, not averaged per batch, so an epoch's (or a whole test
set's) metric is exact whatever the batch sizes, a checkpoint can hold the sums of an epoch cut
short, and sums from several workers can be added. `task.zero_sums()` starts them.

    Classification   loss: cross-entropy on logits (N, C) against class indices (N,) or class
                     probabilities (N, C) (mixup); metric: accuracy (argmax of the logits,
                     against the class with the largest target weight for probabilities).
    Regression       loss: mean squared error on outputs (N, K) against real targets (N, K),
                     or (N,) when K = 1; metrics: mae, rmse and r2 (the coefficient of
                     determination, averaged over the K outputs as Keras's R2Score and
                     scikit-learn's r2_score do by default).

`get_task("classification" | "regression" | a Task)` gives one by name; `infer_task(y)` picks
regression for real-valued targets and classification for integer labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from steepest.data.datasets import TARGET_KINDS
from steepest.tensor import Tensor

__all__ = ["TASKS", "Classification", "Regression", "Task", "get_task", "infer_task"]

#: Task names `get_task` accepts (what a data file's targets can be, "auto" aside).
TASKS = TARGET_KINDS[1:]


class Task:
    """A loss and the metrics reported beside it (see the module docstring).

    Subclasses set `name` and `metric_names` and implement the four methods. `higher_is_better`
    names the metrics to maximise (monitors in "auto" mode read it).
    """

    name = "task"
    metric_names: tuple[str, ...] = ()
    higher_is_better: frozenset[str] = frozenset()

    def loss(self, outputs: Tensor, targets: Any) -> Tensor:
        """The mean loss of one batch, a scalar Tensor."""
        raise NotImplementedError

    def zero_sums(self) -> dict[str, Any]:
        """Running sums before any batch."""
        raise NotImplementedError

    def update_sums(self, sums: dict[str, Any], outputs: np.ndarray, targets: Any) -> None:
        """Add one batch (outputs as an array, targets as given to `loss`) to `sums`, in place."""
        raise NotImplementedError

    def metrics(self, sums: dict[str, Any]) -> dict[str, float]:
        """The metrics of everything added to `sums` (NaN for none)."""
        raise NotImplementedError

    def format_metric(self, name: str, value: float) -> str:
        """How the epoch line shows a metric: "r2 0.913"."""
        return f"{name} {value:.4g}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _array(y: Any) -> np.ndarray:
    return y.data if isinstance(y, Tensor) else np.asarray(y)


class Classification(Task):
    """Classes from logits. loss_fn(logits, targets) -> scalar Tensor (default cross-entropy);
    targets reach it as an integer array (N,) (cross-entropy's lean path) or as probabilities."""

    name = "classification"
    metric_names = ("accuracy",)
    higher_is_better = frozenset({"accuracy"})

    def __init__(self, loss_fn: Callable[[Tensor, Any], Tensor] | None = None) -> None:
        if loss_fn is None:
            import steepest.nn.functional as F

            loss_fn = F.cross_entropy
        self.loss_fn = loss_fn

    def loss(self, outputs: Tensor, targets: Any) -> Tensor:
        # Class indices go to the loss as a NumPy array: cross-entropy's lean path takes arrays.
        if isinstance(targets, Tensor) and not targets.requires_grad \
                and targets.data.dtype.kind in "iu":
            targets = targets.data
        return self.loss_fn(outputs, targets)

    def zero_sums(self) -> dict[str, Any]:
        return {"correct": 0, "count": 0}

    def update_sums(self, sums: dict[str, Any], outputs: np.ndarray, targets: Any) -> None:
        labels = _array(targets)
        if labels.ndim == 2:  # soft targets (mixup): the class with the largest weight
            labels = labels.argmax(axis=1)
        sums["correct"] += int((outputs.argmax(axis=1) == labels).sum())
        sums["count"] += len(outputs)

    def metrics(self, sums: dict[str, Any]) -> dict[str, float]:
        return {"accuracy": sums["correct"] / max(sums["count"], 1)}

    def format_metric(self, name: str, value: float) -> str:
        if name == "accuracy":
            return f"acc {100 * value:5.1f}%"
        return super().format_metric(name, value)


class Regression(Task):
    """Real-valued targets. loss_fn(outputs, targets) -> scalar Tensor (default mean squared
    error). Targets (N,) meet outputs (N, 1) as (N, 1), and take the outputs' dtype.

    Metrics over K outputs: mae = mean |error|, rmse = sqrt(mean error²) (both over all N·K
    values), r2 = mean over outputs of 1 − SSE_k / SST_k, where SST_k is the sum of squared
    deviations of target k from its mean (an output whose targets are constant scores 1 if it
    is predicted exactly, else 0, as scikit-learn's force_finite). The target means and SST are
    merged batch by batch with Chan et al.'s pairwise formula, which stays accurate for targets
    far from zero.
    """

    name = "regression"
    metric_names = ("mae", "rmse", "r2")
    higher_is_better = frozenset({"r2"})

    def __init__(self, loss_fn: Callable[[Tensor, Any], Tensor] | None = None) -> None:
        if loss_fn is None:
            import steepest.nn.functional as F

            loss_fn = F.mse_loss
        self.loss_fn = loss_fn

    @staticmethod
    def _targets(outputs_shape: tuple[int, ...], dtype: Any, targets: Any) -> np.ndarray:
        array = _array(targets)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"regression targets must be numbers, got dtype {array.dtype}")
        if array.shape != outputs_shape and array.shape + (1,) == outputs_shape:
            array = array.reshape(outputs_shape)
        if array.shape != outputs_shape:
            raise ValueError(f"regression: the model gives outputs of shape {outputs_shape} but "
                             f"the targets have shape {array.shape}; give the model one output "
                             f"per target column")
        return array if array.dtype == dtype else array.astype(dtype)

    def loss(self, outputs: Tensor, targets: Any) -> Tensor:
        if isinstance(targets, Tensor) and targets.requires_grad:
            return self.loss_fn(outputs, targets)
        return self.loss_fn(outputs, self._targets(outputs.shape, outputs.data.dtype, targets))

    def zero_sums(self) -> dict[str, Any]:
        return {"count": 0, "abs_error": 0.0, "squared_error": 0.0, "target_mean": 0.0,
                "target_m2": 0.0}

    def update_sums(self, sums: dict[str, Any], outputs: np.ndarray, targets: Any) -> None:
        y = self._targets(outputs.shape, np.float64, targets).reshape(len(outputs), -1)
        error = outputs.reshape(len(outputs), -1).astype(np.float64) - y
        n_batch, n_before = len(y), sums["count"]
        if n_batch == 0:
            return
        total = n_before + n_batch
        batch_mean = y.mean(axis=0)
        delta = batch_mean - sums["target_mean"]
        sums["count"] = total
        sums["abs_error"] = sums["abs_error"] + np.abs(error).sum(axis=0)
        sums["squared_error"] = sums["squared_error"] + np.square(error).sum(axis=0)
        sums["target_m2"] = (sums["target_m2"] + np.square(y - batch_mean).sum(axis=0)
                             + np.square(delta) * (n_before * n_batch / total))
        sums["target_mean"] = sums["target_mean"] + delta * (n_batch / total)

    def metrics(self, sums: dict[str, Any]) -> dict[str, float]:
        n = sums["count"]
        if n == 0:
            return {name: float("nan") for name in self.metric_names}
        sse = np.atleast_1d(np.asarray(sums["squared_error"], dtype=np.float64))
        sst = np.atleast_1d(np.asarray(sums["target_m2"], dtype=np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0),
                          np.where(sse == 0, 1.0, 0.0))
        values = n * sse.size
        return {"mae": float(np.sum(sums["abs_error"]) / values),
                "rmse": float(np.sqrt(np.sum(sse) / values)),
                "r2": float(np.mean(r2))}


def get_task(task: Any = None, loss_fn: Callable[[Tensor, Any], Tensor] | None = None) -> Task:
    """A Task: the object itself, or one by name (`TASKS`) with `loss_fn` as its loss (None:
    classification, as every trainer did before tasks)."""
    if isinstance(task, Task):
        if loss_fn is not None:
            raise ValueError("give the loss with the task (Classification(loss_fn)), not both")
        return task
    if task is None or task == "classification":
        return Classification(loss_fn)
    if task == "regression":
        return Regression(loss_fn)
    raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)} or pass a Task")


def infer_task(y: Any) -> str:
    """"classification" for integer labels (N,), "regression" for anything real-valued."""
    array = _array(y)
    return "classification" if array.ndim == 1 and array.dtype.kind in "iub" else "regression"
