"""Training: `fit` and the `Trainer` behind it, callbacks, EMA of the weights, transfer learning,
and the lectures' plain loop (`train_classifier`)."""

from steepest.train.basic import evaluate_classifier, train_classifier
from steepest.train.callbacks import (
    Callback,
    EarlyStopping,
    GradNormLogger,
    LambdaCallback,
    LearningRateLogger,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from steepest.train.ema import ExponentialMovingAverage
from steepest.train.fit import fit
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
    "Callback", "EarlyStopping", "ExponentialMovingAverage", "GradNormLogger", "History",
    "LambdaCallback", "LearningRateLogger", "LoadReport", "ModelCheckpoint", "ReduceLROnPlateau",
    "Trainer", "TrainingDiverged", "evaluate_classifier", "fine_tune_last", "fit", "freeze",
    "load_pretrained", "param_groups_by_lr", "replace_head", "train_classifier", "unfreeze",
]
