"""Training: `fit` and the `Trainer` behind it, the one training loop they and the lab run
(`TrainingLoop`: forward_backward -> reduce_gradients -> apply_update) with its tasks (a loss and
its metrics), callbacks, EMA of the weights, transfer learning, and the lectures' plain loop
(`train_classifier`)."""

from steepest.train.basic import evaluate_classifier, train_classifier
from steepest.train.callbacks import (
    Callback,
    EarlyStopping,
    GradNormLogger,
    LambdaCallback,
    LearningRateLogger,
    LivePlot,
    ModelCheckpoint,
)
from steepest.train.ema import ExponentialMovingAverage
from steepest.train.fit import fit
from steepest.train.loop import (
    BatchResult,
    NonFiniteLoss,
    TrainingLoop,
    evaluate,
    local_gradients,
    optimizer_step,
)
from steepest.train.tasks import TASKS, Classification, Regression, Task, get_task, infer_task
from steepest.train.trainer import History, Trainer, TrainingDiverged
from steepest.train.transfer import (
    LoadReport,
    fine_tune_last,
    freeze,
    load_pretrained,
    param_groups_by_lr,
    replace_head,
    unfreeze,
)

__all__ = [
    "TASKS", "BatchResult", "Callback", "Classification", "EarlyStopping",
    "ExponentialMovingAverage", "GradNormLogger", "History", "LambdaCallback",
    "LearningRateLogger", "LivePlot", "LoadReport", "ModelCheckpoint", "NonFiniteLoss",
    "Regression", "Task",
    "Trainer", "TrainingDiverged", "TrainingLoop", "evaluate", "evaluate_classifier",
    "fine_tune_last", "fit", "freeze", "get_task", "infer_task", "load_pretrained",
    "local_gradients", "optimizer_step", "param_groups_by_lr", "replace_head", "train_classifier",
    "unfreeze",
]
