"""steepest: gradient descent, from the chain rule up, on NumPy.

PyTorch's names work from here: `import steepest as torch` gives tensors and their functions,
the dtypes, `torch.nn`, `torch.optim`, `torch.utils.data`, `torch.autograd`. The subpackages
other than the engine are imported on first use, so `import steepest` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from steepest._allocator import keep_freed_memory
from steepest.autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from steepest.autograd.gradcheck import GradcheckError, analytic_grad, gradcheck, numerical_grad
from steepest.dtypes import (  # noqa: A004  (PyTorch's names shadow builtins on purpose)
    bool,
    can_cast,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float16,
    float32,
    float64,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    is_complex,
    is_floating_point,
    long,
    promote_types,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from steepest.functional import activation as _activation
from steepest.functional import basic as _basic
from steepest.functional import pointwise as _pointwise
from steepest.functional import reduction as _reduction
from steepest.functional import shape as _shape
from steepest.random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from steepest.tensor import (
    DEFAULT_DTYPE,
    Tensor,
    arange,
    as_tensor,
    device,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    linspace,
    logspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    result_type,
    set_default_dtype,
    tensor,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

# The tensor functions of steepest.functional, at the top level as in PyTorch (torch.gather,
# torch.einsum, torch.max, ...). Activations and layers stay in nn.functional, except the few
# PyTorch also has here.
_TOP_LEVEL_ACTIVATIONS = ("relu", "relu_", "sigmoid", "tanh", "softmax", "log_softmax", "selu",
                          "celu", "prelu", "threshold", "hardshrink", "rrelu")
_names = {}
for _module in (_pointwise, _reduction, _shape):
    _names.update({k: v for k, v in vars(_module).items() if k in _module.__dict__
                   and not k.startswith("_") and callable(v) and not isinstance(v, type)
                   and getattr(v, "__module__", None) == _module.__name__})
_names.update({k: getattr(_activation, k) for k in _TOP_LEVEL_ACTIVATIONS
               if hasattr(_activation, k)})
_names.update(matmul=_basic.matmul, dropout=_basic.dropout, bilinear=_basic.bilinear)
globals().update(_names)
del _module

__all__ = [
    "DEFAULT_DTYPE", "keep_freed_memory", "Generator", "GradcheckError", "accelerator",
    "analytic_grad", "arange",
    "as_tensor", "backends", "can_cast", "cdouble", "cfloat", "complex128", "complex64", "cuda",
    "default_generator", "double", "dtype", "empty", "empty_like", "enable_grad", "eye", "finfo",
    "float", "float16", "float32", "float64", "from_numpy", "full", "full_like",
    "get_default_dtype", "get_rng_state", "gradcheck", "half", "iinfo", "inference_mode",
    "initial_seed", "int16", "int32", "int64", "int8", "is_complex", "is_floating_point",
    "is_grad_enabled", "is_inference_mode_enabled", "linspace", "logspace", "long", "manual_seed",
    "no_grad", "normal", "numerical_grad", "ones", "ones_like", "promote_types", "rand",
    "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm", "result_type",
    "seed", "set_default_dtype", "set_grad_enabled", "set_rng_state", "short", "tensor", "uint16",
    "uint32", "uint64", "uint8", "zeros", "zeros_like", "Size", "compile", "get_default_device",
    "get_num_threads", "is_nonzero", "is_tensor", "numel", "set_default_device",
    "set_num_threads", "set_printoptions", "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled", "__version__", "save", "load",
] + sorted(_names)

Size = tuple  # shapes are plain tuples: `x.shape == torch.Size([2, 3])` holds


def is_tensor(obj: Any) -> bool:
    """Whether obj is a steepest Tensor (torch.is_tensor)."""
    return isinstance(obj, Tensor)


def is_nonzero(input: Tensor) -> bool:
    return builtins_bool(input.item())


def numel(input: Tensor) -> int:
    return input.numel()


def get_default_device() -> device:
    return device("cpu")


def set_default_device(device_name: Any) -> None:
    """Only the CPU exists here: 'cpu' (or None) is accepted, anything else is an error."""
    from steepest.tensor import _check_device

    _check_device(device_name)


_threads = {"count": None}


def set_num_threads(count: int) -> None:
    """Recorded for get_num_threads; NumPy's BLAS threads are set by its environment
    variables (OMP_NUM_THREADS) before it loads."""
    _threads["count"] = builtins_int(count)


def get_num_threads() -> int:
    import os

    return _threads["count"] or os.cpu_count() or 1


def set_printoptions(precision: int | None = None, threshold: int | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Tensors print through NumPy: these go to numpy.set_printoptions."""
    import numpy as np

    options = {k: v for k, v in dict(precision=precision, threshold=threshold,
                                     edgeitems=edgeitems, linewidth=linewidth).items()
               if v is not None}
    if sci_mode is not None:
        options["suppress"] = not sci_mode
    np.set_printoptions(**options)


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Always deterministic: every op here gives the same numbers on every run."""


def are_deterministic_algorithms_enabled() -> bool:
    return True


def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
    """Write a state dict (or nested dicts/lists of tensors and numbers) without pickle; see
    `steepest.serialization`."""
    from steepest.serialization import save as _save

    _save(obj, f, *args, **kwargs)


def load(f: Any, *args: Any, **kwargs: Any) -> Any:
    """Read what `save` wrote (never runs code from the file); see `steepest.serialization`."""
    from steepest.serialization import load as _load

    return _load(f, *args, **kwargs)


def compile(model: Any = None, **kwargs: Any) -> Any:  # noqa: A001
    """`torch.compile`: nothing to compile on NumPy; returns the model (or a decorator)."""
    if model is None:
        return lambda fn: fn
    return model


# Subpackages imported on first use (PEP 562): `torch.nn`, `torch.optim`, `torch.utils.data`,
# `torch.cuda`, ...
_LAZY = ("nn", "optim", "utils", "data", "linalg", "special", "testing", "models", "train", "lab",
         "io", "store", "return_types", "cuda", "backends", "accelerator")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"steepest.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'steepest' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))


import builtins as _builtins  # noqa: E402

builtins_bool = _builtins.bool
builtins_int = _builtins.int
