"""Optimizers with PyTorch's API, each made from one spec: a pure update rule and its options.

Every algorithm lives in one module of `steepest.optim.rules` (its state, rule, formula and
`OptimizerSpec`); its class here (`steepest.optim.Adam`, ...) is derived from the spec, as are
the names `make_optimizer` and `--optimizer` take (`OPTIMIZERS`). `get_spec("adam")` gives the
spec: its options and defaults, whether the rule is elementwise, its learning rate for studies.
How updates run is the executor's business (`steepest.optim.executors`).
"""

from __future__ import annotations

import importlib
from typing import Any

from steepest.optim import rules
from steepest.optim.executors import Executor, SerialExecutor, ThreadedExecutor, Update
from steepest.optim.multi import MultiOptimizer
from steepest.optim.optimizer import Optimizer
from steepest.optim.registry import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler
from steepest.optim.search import RandomSearch
from steepest.optim.spec import OptimizerSpec, all_specs, get_spec, optimizer_table

# One class per spec, named as PyTorch names it (SGD, Adam, AdamW, LBFGS, ...).
for _spec in all_specs():
    globals()[_spec.name] = _spec.optimizer_class
del _spec

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "Executor", "MultiOptimizer", "Optimizer", "OptimizerSpec",
    "RandomSearch",
    "SerialExecutor", "ThreadedExecutor", "Update", "all_specs", "get_spec", "lr_scheduler",
    "make_optimizer", "make_scheduler", "optimizer_table", "rules",
    *(spec.name for spec in all_specs()),
]


def __getattr__(name: str) -> Any:
    # `steepest.optim.lr_scheduler` as an attribute (PyTorch style) without importing the
    # schedulers, and their dependencies, every time the optimizers are imported.
    if name == "lr_scheduler":
        return importlib.import_module("steepest.optim.lr_scheduler")
    raise AttributeError(f"module 'steepest.optim' has no attribute {name!r}")
