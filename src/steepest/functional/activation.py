"""Activation functions and other elementwise sugar over the primitives.

Each maps x: (*) -> (*). `inplace=True` (PyTorch's flag) writes the result into x with the
in-place rules of `autograd/inplace.py`. Kinks follow PyTorch: relu and relu6/hardtanh give 0
at their corners, softplus is exact in both regimes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from steepest.autograd import ops
from steepest.functional.pointwise import _float, _tensor, inplace_result
from steepest.tensor import Tensor


def _maybe_inplace(x: Tensor, inplace: bool, compute) -> Tensor:
    return inplace_result(x, compute) if inplace else compute(x)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x), elementwise; gradient 0 at x = 0."""
    return _maybe_inplace(input, inplace, ops.ReLU.apply)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope·x otherwise (slope at 0)."""
    return _maybe_inplace(input, inplace, lambda x: ops.LeakyReLU.apply(
        x, negative_slope=float(negative_slope)))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α(eˣ − 1) otherwise."""
    return _maybe_inplace(input, inplace, lambda x: ops.ELU.apply(x, alpha=float(alpha)))


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, α(e^(x/α) − 1))."""
    return _maybe_inplace(input, inplace, lambda x: ops.ELU.apply(x / alpha, alpha=1.0) * alpha
                          if alpha != 1.0 else ops.ELU.apply(x, alpha=1.0))


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """λ·elu(x, α) with Klambauer et al.'s λ, α."""
    return _maybe_inplace(input, inplace, ops.SELU.apply)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e⁻ˣ), without overflow."""
    return ops.Sigmoid.apply(_float(input))


def tanh(input: Tensor) -> Tensor:
    """tanh x."""
    return ops.Tanh.apply(_float(input))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; gradient 1 strictly inside, 0 at and beyond the bounds
    (PyTorch's hardtanh, unlike clamp which passes the gradient at the bounds)."""
    if max_val < min_val:
        raise ValueError("max_val cannot be less than min_val")
    return _maybe_inplace(input, inplace, lambda x: ops.Clip.apply(
        x, float(min_val), float(max_val), strict=True))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6): hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below −3, 1 above 3, linear between."""
    return _maybe_inplace(input, inplace, lambda x: relu6(x + 3.0) * (1.0 / 6.0))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · relu6(x + 3) / 6."""
    return _maybe_inplace(input, inplace, lambda x: x * hardsigmoid(x))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βx)) / β, and x itself where βx > threshold (PyTorch's switch).

    Written as (max(βx, 0) + log1p(e^(−|βx|))) / β, which never overflows; at 0 the two halves
    of max's tie give the exact slope 1/2.
    """
    x = _float(input)
    scaled = x * beta if beta != 1 else x
    soft = _log1p_exp(scaled)
    if beta != 1:
        soft = soft / beta
    return ops.Where.apply((scaled.data > threshold), x, soft)


def _log1p_exp(x: Tensor) -> Tensor:
    """log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)): no overflow, exact far out on both sides."""
    return ops.Maximum.apply(x, 0.0) + ops.Log1p.apply(ops.Exp.apply(-ops.Abs.apply(x)))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x · σ(x) (the swish)."""
    return _maybe_inplace(input, inplace, lambda x: x * ops.Sigmoid.apply(x))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · tanh(softplus(x))."""
    return _maybe_inplace(input, inplace, lambda x: x * ops.Tanh.apply(softplus(x)))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x · Φ(x) = x/2 · (1 + erf(x/√2)); approximate='tanh' uses
    x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))), as PyTorch."""
    x = _float(input)
    if approximate == "none":
        return x * 0.5 * (1.0 + ops.Erf.apply(x * (1 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = (x + 0.044715 * x * x * x) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (1.0 + ops.Tanh.apply(inner))
    raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = −log(1 + e⁻ˣ), stable for large |x|."""
    return -_log1p_exp(-_float(input))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = _float(input)
    return x / (1.0 + ops.Abs.apply(x))


def tanhshrink(input: Tensor) -> Tensor:
    x = _float(input)
    return x - ops.Tanh.apply(x)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return _maybe_inplace(input, inplace, lambda x: ops.Where.apply(
        x.data > threshold, x, np.asarray(value, dtype=x.data.dtype)))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    x = _tensor(input)
    return ops.Where.apply(np.abs(x.data) > lambd, x, np.zeros((), dtype=x.data.dtype))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    x = _tensor(input)
    zero = np.zeros((), dtype=x.data.dtype)
    return ops.Where.apply(x.data > lambd, x - lambd,
                           ops.Where.apply(x.data < -lambd, x + lambd, zero))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, a·x otherwise, a learned per channel (dim 1) or shared."""
    x = _tensor(input)
    a = weight
    if a.numel() > 1 and x.ndim >= 2:
        a = a.reshape((1, -1) + (1,) * (x.ndim - 2))
    return ops.Where.apply(x.data > 0, x, x * a)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a · σ(b) for input split in halves (a, b) along dim."""
    from steepest.functional.shape import chunk

    a, b = chunk(input, 2, dim)
    return a * ops.Sigmoid.apply(b)


def _implicit_dim(ndim: int) -> int:
    # PyTorch's legacy choice when dim is not given (it warns): 0 for 0-, 1- and 3-D inputs.
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_input(input: Any, dim: Any, dtype: Any) -> tuple[Tensor, int | None]:
    x = _float(input) if dtype is None else _tensor(input).astype(dtype)
    if dim is None:
        dim = _implicit_dim(x.ndim)
    from steepest.tensor import _dim

    return x, (None if x.ndim == 0 else _dim(int(dim), x.ndim))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """eˣ / Σ eˣ along `dim`; each slice along dim sums to 1. An empty dim gives an empty
    result."""
    x, axis = _softmax_input(input, dim, dtype)
    if axis is None:
        return ops.Softmax.apply(x.reshape(1), axis=0).reshape(())
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """x − log Σ eˣ along `dim`, computed stably."""
    x, axis = _softmax_input(input, dim, dtype)
    if axis is None:
        return ops.LogSoftmax.apply(x.reshape(1), axis=0).reshape(())
    return ops.LogSoftmax.apply(x, axis=axis)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """softmax(−x)."""
    x, _ = _softmax_input(input, dim, dtype)
    return softmax(-x, dim, dtype=dtype)
