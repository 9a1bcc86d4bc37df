"""PyTorch's dtype names (`steepest.float32`, `steepest.long`, ...) as NumPy dtypes.

`x.dtype == steepest.float32` and `x.dtype is steepest.float32` both hold for a float32 tensor,
and `dtype=steepest.float` works wherever a dtype is taken. NumPy has no bfloat16, so there is
none here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

float32 = float = np.dtype(np.float32)  # noqa: A001  (PyTorch's names, on purpose)
float64 = double = np.dtype(np.float64)
float16 = half = np.dtype(np.float16)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)  # noqa: A001
int16 = short = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
uint16 = np.dtype(np.uint16)
uint32 = np.dtype(np.uint32)
uint64 = np.dtype(np.uint64)
bool = np.dtype(np.bool_)  # noqa: A001
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)

dtype = np.dtype  # `isinstance(x.dtype, steepest.dtype)` holds

NAMES = ("float32", "float", "float64", "double", "float16", "half", "int64", "long", "int32",
         "int", "int16", "short", "int8", "uint8", "uint16", "uint32", "uint64", "bool",
         "complex64", "cfloat", "complex128", "cdouble", "dtype")


def finfo(type: Any = None) -> np.finfo:  # noqa: A002
    """Machine limits of a float dtype (eps, tiny, max, ...); the default dtype's if None."""
    from steepest.tensor import get_default_dtype

    return np.finfo(get_default_dtype() if type is None else type)


def iinfo(type: Any) -> np.iinfo:  # noqa: A002
    return np.iinfo(type)


def is_floating_point(input: Any) -> builtins_bool:
    return np.dtype(input.dtype).kind == "f"


def is_complex(input: Any) -> builtins_bool:
    return np.dtype(input.dtype).kind == "c"


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """PyTorch's promotion of two dtypes (an integer with a float gives that float)."""
    from steepest.tensor import _torch_promote

    return _torch_promote(np.dtype(type1), np.dtype(type2))


def can_cast(from_: Any, to: Any) -> builtins_bool:
    """Whether PyTorch's in-place ops may write `from_` values into `to` (same kind or wider)."""
    return builtins_bool(np.can_cast(from_, to, casting="same_kind"))


import builtins  # noqa: E402

builtins_bool = builtins.bool
