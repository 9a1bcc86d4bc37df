"""Optimizers with PyTorch's API, each a thin loop over one pure update rule (`optim.rules`)."""

from __future__ import annotations

import importlib
from typing import Any

from steepest.optim import rules
from steepest.optim.adaptive import Adadelta, Adagrad, Adam, AdamW, NAdam, RMSprop
from steepest.optim.optimizer import Optimizer
from steepest.optim.registry import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler
from steepest.optim.search import RandomSearch
from steepest.optim.sgd import SGD

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "NAdam",
    "Optimizer", "RMSprop", "RandomSearch", "lr_scheduler", "make_optimizer", "make_scheduler",
    "rules",
]


def __getattr__(name: str) -> Any:
    # `steepest.optim.lr_scheduler` as an attribute (PyTorch style) without importing the
    # schedulers, and their dependencies, every time the optimizers are imported.
    if name == "lr_scheduler":
        return importlib.import_module("steepest.optim.lr_scheduler")
    raise AttributeError(f"module 'steepest.optim' has no attribute {name!r}")
