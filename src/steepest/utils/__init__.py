"""`steepest.utils`: PyTorch's `torch.utils` names (`utils.data` for datasets and loaders)."""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "data":
        module = importlib.import_module("steepest.utils.data")
        globals()["data"] = module
        return module
    raise AttributeError(f"module 'steepest.utils' has no attribute {name!r}")
