"""Functions over tensors with PyTorch's names: math, reductions, indexing and shapes,
activations, normalisation, linear, dropout, convolution, pooling and losses.

Also importable as `steepest.nn.functional` (so `import torch.nn.functional as F` ports), and
the general ones at the top level (`steepest.gather`, `steepest.einsum`). Composite functions
are built from primitives; fused primitives (cross-entropy, convolution, pooling, batch norm)
carry their own backward because a benchmark showed it pays.

Every public function of the modules below is exported: the module a name lives in says where
to read it.
"""

import importlib
from types import ModuleType
from typing import Any

from steepest.functional import (
    activation,
    basic,
    methods,
    normalization,
    pointwise,
    reduction,
    shape,
)

# The tensor functions load with `import steepest`; the layers' functions (distances,
# convolution, pooling, resizing, losses) on first use, which keeps the import fast. No name is
# defined in both groups.
_EAGER = (pointwise, reduction, shape, activation, basic, normalization)
_ON_FIRST_USE = ("distance", "conv", "pooling", "resize", "loss")


def _public(module: ModuleType) -> dict:
    """The functions a module defines (aliases included), not what it imports."""
    return {name: value for name, value in vars(module).items()
            if not name.startswith("_") and callable(value) and not isinstance(value, type)
            and getattr(value, "__module__", None) == module.__name__}


_names: dict = {}
for _module in _EAGER:
    _names.update(_public(_module))
globals().update(_names)
del _module


def _load_layers() -> None:
    for name in _ON_FIRST_USE:
        _names.update(_public(importlib.import_module(f"steepest.functional.{name}")))
    globals().update(_names)
    globals()["__all__"] = sorted(_names)


def __getattr__(name: str) -> Any:
    if name.startswith("__") and name != "__all__":
        raise AttributeError(name)
    if "__all__" not in globals():
        _load_layers()
        if name in globals():
            return globals()[name]
    raise AttributeError(f"module 'steepest.functional' has no attribute {name!r}")


def __dir__() -> list:
    if "__all__" not in globals():
        _load_layers()
    return sorted(globals())


from steepest.tensor import Tensor as _Tensor  # noqa: E402

methods.bind(_Tensor)
