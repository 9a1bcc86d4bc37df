"""`torch.linalg` (the part training code uses): vector and matrix norms, and a few solvers
on NumPy's LAPACK, without gradients for the solvers."""

from __future__ import annotations

from typing import Any

import numpy as np

from steepest.functional.reduction import norm as _norm
from steepest.functional.reduction import vector_norm
from steepest.tensor import Tensor

__all__ = ["det", "inv", "matrix_norm", "norm", "solve", "vector_norm"]


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The Frobenius norm of each matrix (other orders are not supported)."""
    if ord != "fro":
        raise NotImplementedError(f"matrix_norm(ord={ord!r}): only 'fro' is supported")
    return _norm(A, 2, dim, keepdim, dtype)


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """The 2-norm of all elements (ord None), a vector norm over dim, or 'fro'."""
    if ord in (None, "fro") or dim is None or isinstance(dim, int):
        return _norm(A, 2 if ord in (None, "fro") else ord, dim, keepdim, dtype)
    return matrix_norm(A, ord, dim, keepdim, dtype=dtype)


def _constant(fn, *tensors: Any) -> Tensor:
    arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
    if any(isinstance(t, Tensor) and t.requires_grad for t in tensors):
        raise NotImplementedError("gradients through linalg solvers are not supported")
    return Tensor(np.asarray(fn(*arrays)))


def inv(A: Tensor) -> Tensor:
    return _constant(np.linalg.inv, A)


def det(A: Tensor) -> Tensor:
    return _constant(np.linalg.det, A)


def solve(A: Tensor, B: Tensor) -> Tensor:
    return _constant(np.linalg.solve, A, B)
