"""Functions over tensors with PyTorch's names: math, reductions, indexing and shapes,
activations, normalisation, linear, dropout, convolution, pooling and losses.

Also importable as `steepest.nn.functional` (so `import torch.nn.functional as F` ports), and
the general ones at the top level (`steepest.gather`, `steepest.einsum`). Composite functions
are built from primitives; fused primitives (cross-entropy, convolution, pooling, batch norm)
carry their own backward because a benchmark showed it pays.

Every public function of the modules below is exported: the module a name lives in says where
to read it.
"""

from types import ModuleType

from steepest.functional import (
    activation,
    basic,
    conv,
    distance,
    loss,
    methods,
    normalization,
    pointwise,
    pooling,
    reduction,
    resize,
    shape,
)

_MODULES = (pointwise, reduction, shape, activation, basic, normalization, distance, conv, pooling,
            resize, loss)


def _public(module: ModuleType) -> dict:
    """The functions a module defines (aliases included), not what it imports."""
    return {name: value for name, value in vars(module).items()
            if not name.startswith("_") and callable(value) and not isinstance(value, type)
            and getattr(value, "__module__", None) == module.__name__}


_names: dict = {}
for _module in _MODULES:
    _names.update(_public(_module))
globals().update(_names)
__all__ = sorted(_names)
del _module, _names

from steepest.tensor import Tensor as _Tensor  # noqa: E402

methods.bind(_Tensor)
