"""Ops on several tensors (cat, stack, where, maximum), linear layers and dropout."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from steepest.autograd import ops
from steepest.autograd.function import Function
from steepest.random import get_generator
from steepest.tensor import Tensor


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing axis (`torch.cat`)."""
    if len(tensors) == 0:
        raise ValueError("cat() needs at least one tensor")
    return ops.Concatenate.apply(*tensors, axis=dim)


concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis (`torch.stack`)."""
    if len(tensors) == 0:
        raise ValueError("stack() needs at least one tensor")
    shapes = {tuple(np.shape(t.data if isinstance(t, Tensor) else t)) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack() needs tensors of one shape, got shapes {sorted(shapes)}")
    return ops.Stack.apply(*tensors, axis=dim)


def where(condition, x, y) -> Tensor:
    """x where condition is true, else y (broadcasting); the condition gets no gradient."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return ops.Where.apply(cond, x, y)


def maximum(x, y) -> Tensor:
    """Elementwise max with broadcasting; at ties each input gets half the gradient."""
    return ops.Maximum.apply(x, y)


def minimum(x, y) -> Tensor:
    """Elementwise min with broadcasting; at ties each input gets half the gradient."""
    return ops.Minimum.apply(x, y)


def exp(x: Tensor) -> Tensor:
    """eˣ, elementwise.  x: (*) -> (*)."""
    return ops.Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm, elementwise.  x: (*) -> (*)."""
    return ops.Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """√x, elementwise.  x: (*) -> (*)."""
    return ops.Sqrt.apply(x)


def sin(x: Tensor) -> Tensor:
    """sin x, elementwise."""
    return ops.Sin.apply(x)


def cos(x: Tensor) -> Tensor:
    """cos x, elementwise."""
    return ops.Cos.apply(x)


def clip(x: Tensor, min=None, max=None) -> Tensor:
    """x limited to [min, max] (either may be None); the gradient passes at the bounds."""
    return ops.Clip.apply(x, min=min, max=max)


clamp = clip


def matmul(x, y) -> Tensor:
    """x @ y with NumPy/PyTorch rules: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D promoted."""
    return ops.matmul(x, y)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes start_dim..end_dim: (2, 3, 4) with (1, 2) -> (2, 12)."""
    return ops.flatten(x, start_dim, end_dim)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weightᵀ + bias.  x: (..., in), weight: (out, in), bias: (out,) -> (..., out)."""
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} does not fit weight of shape "
            f"{tuple(weight.shape)} (in_features {weight.shape[-1]}, input's last axis "
            f"{x.shape[-1]})"
        )
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)


class _MaskMultiply(Function):
    """z = x * mask for a fixed mask (dropout's kept units, already scaled by 1/(1−p))."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ctx.mask, None


def dropout_mask(shape: tuple, p: float, dtype, generator: np.random.Generator | None = None):
    """Inverted-dropout mask: 0 with probability p, else 1/(1−p), so the expectation is 1."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
    dtype = np.dtype(dtype)  # accept np.float32 as well as np.dtype("float32")
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)
    keep = get_generator(generator).random(shape) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            generator: np.random.Generator | None = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1−p) (identity in eval)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    return _MaskMultiply.apply(x, dropout_mask(x.shape, p, x.dtype, generator))
