"""Normalisation as functions: batch norm (a fused primitive), layer norm, group norm,
RMS norm and `normalize` (composites).

Batch norm (Ioffe & Szegedy, 2015): each channel c is normalised by statistics over every axis
but the channel axis (1), then scaled and shifted by learned γ (weight) and β (bias):

    x̂ = (x − μ_c) / √(σ²_c + ε),   y = γ_c · x̂ + β_c

In training μ and σ² are the batch's (σ² biased, divided by n); the running estimates are updated
with the *unbiased* variance (n / (n − 1) · σ²), as PyTorch does. In eval the running estimates
are used, so the layer is a fixed per-channel affine map. Layer norm and group norm use the same
formula over other axes (the last dims of each sample; groups of channels) and never keep
running statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from steepest.autograd import ops
from steepest.autograd.function import Function
from steepest.functional.pointwise import _float
from steepest.functional.reduction import norm
from steepest.tensor import Tensor


def _channel_shape(ndim: int, channels: int) -> tuple:
    """(1, C, 1, ...): the shape that broadcasts a per-channel vector over (N, C, ...)."""
    return (1, channels) + (1,) * (ndim - 2)


class BatchNormFunction(Function):
    """Fused batch norm over the channel axis 1.  x: (N, C, *), weight, bias: (C,) or None.

    With `mean` and `var` given (arrays of shape (C,)), they are constants (eval mode): the op
    is the affine map y = γ (x − mean) / √(var + ε) + β and dx = g γ / √(var + ε).
    Without them the batch statistics are computed here and are part of the function, so
    (with x̂ normalised, n = N·∏*, sums over every axis but 1, and g = dL/dy):

        dx = γ / √(σ² + ε) · (g − Σg / n − x̂ · Σ(g x̂) / n),   dγ = Σ g x̂,   dβ = Σ g

    If `running_mean` / `running_var` arrays are given in that mode they are updated in place
    (no graph: they are buffers) with `momentum`: r = (1 − m) r + m · stat, var unbiased.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, eps, mean=None, var=None, running_mean=None,
                running_var=None, momentum=0.1):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = _channel_shape(x.ndim, x.shape[1])
        ctx.axes, ctx.batch_stats = axes, mean is None
        if mean is None:
            count = x.size // x.shape[1]
            batch_mean = x.mean(axis=axes, keepdims=True)
            centred = x - batch_mean
            # One pass without a temporary: Σ (x − μ)² per channel.
            all_axes = list(range(x.ndim))
            batch_var = np.einsum(centred, all_axes, centred, all_axes, [1]).reshape(shape)
            batch_var /= count
            inv_std = 1.0 / np.sqrt(batch_var + x.dtype.type(eps))
            x_hat = np.multiply(centred, inv_std, out=centred)
            if running_mean is not None:
                running_mean *= 1.0 - momentum
                running_mean += momentum * batch_mean.reshape(-1)
            if running_var is not None:
                unbiased = batch_var.reshape(-1) * (count / (count - 1))
                running_var *= 1.0 - momentum
                running_var += momentum * unbiased
            ctx.count = count
        else:
            inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False).reshape(shape)
            x_hat = (x - np.asarray(mean, dtype=x.dtype).reshape(shape)) * inv_std
        ctx.x_hat, ctx.inv_std, ctx.weight = x_hat, inv_std, weight
        if weight is None and bias is None:
            return x_hat.copy()  # x_hat is kept for backward: in-place ops on y must not reach it
        out = x_hat.copy() if weight is None else x_hat * weight.reshape(shape)
        if bias is not None:
            out += bias.reshape(shape)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_w, need_b = ctx.needs_input_grad
        x_hat, axes = ctx.x_hat, ctx.axes
        shape = _channel_shape(x_hat.ndim, x_hat.shape[1])
        sum_g = grad_out.sum(axis=axes, keepdims=True) if (need_b or need_x) else None
        sum_g_xhat = None
        if need_w or (need_x and ctx.batch_stats):
            axes_all = list(range(x_hat.ndim))
            sum_g_xhat = np.einsum(
                grad_out, axes_all, x_hat, axes_all, [1]
            ).reshape(shape)
        grad_x = grad_w = grad_b = None
        if need_x:
            scale = ctx.inv_std if ctx.weight is None else ctx.inv_std * ctx.weight.reshape(shape)
            if ctx.batch_stats:
                inv_count = 1.0 / ctx.count
                grad_x = x_hat * (sum_g_xhat * -inv_count)
                grad_x += grad_out
                grad_x -= sum_g * inv_count
                grad_x *= scale
            else:
                grad_x = grad_out * scale
        if need_w:
            grad_w = sum_g_xhat.reshape(-1)
        if need_b:
            grad_b = sum_g.reshape(-1)
        return grad_x, grad_w, grad_b


def _array_or_none(value):
    return value.data if isinstance(value, Tensor) else value


def batch_norm(x: Tensor, running_mean: Tensor | np.ndarray | None,
               running_var: Tensor | np.ndarray | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch norm as `torch.nn.functional.batch_norm`.  x: (N, C, *) -> (N, C, *).

    running_mean, running_var: (C,) or None; weight, bias: (C,) or None.
    training=True normalises by the batch statistics and updates the running ones in place
    (if given) with factor `momentum`; training=False normalises by the running statistics.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C, *), got shape {x.shape}")
    channels = x.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and tuple(np.shape(_array_or_none(value))) != (channels,):
            raise ValueError(
                f"batch_norm: {name} has shape {tuple(np.shape(_array_or_none(value)))}, "
                f"expected ({channels},) for input of shape {x.shape}"
            )
    running_mean = _array_or_none(running_mean)
    running_var = _array_or_none(running_var)
    if training:
        if x.data.size // channels <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {x.shape}"
            )
        return BatchNormFunction.apply(x, weight, bias, eps=float(eps), running_mean=running_mean,
                                       running_var=running_var, momentum=float(momentum))
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    return BatchNormFunction.apply(x, weight, bias, eps=float(eps), mean=running_mean,
                                   var=running_var)


def _affine_shape(weight: Any, bias: Any, shape: tuple, where: str) -> None:
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != tuple(shape):
            raise RuntimeError(f"{where}: {name} should have shape {tuple(shape)}, got "
                               f"{tuple(value.shape)}")


def layer_norm(input: Tensor, normalized_shape: Sequence[int] | int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x − mean) / √(var + ε) · weight + bias over the last len(normalized_shape) dims of each
    sample (var biased).  x: (*, *normalized_shape) -> same; weight, bias: normalized_shape."""
    x = _float(input)
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(n) for n in normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape or len(shape) > x.ndim:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size "
                           f"{list(x.shape)}")
    _affine_shape(weight, bias, shape, "layer_norm")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    out = _standardise(x, axes, eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _standardise(x: Tensor, axes: tuple, eps: float) -> Tensor:
    """(x − mean) / √(var + ε) over axes (biased variance), composed from primitives."""
    if not axes:
        return x * 0.0
    centred = x - ops.Mean.apply(x, axis=axes, keepdims=True)
    variance = ops.Mean.apply(centred * centred, axis=axes, keepdims=True)
    return centred * ops.Pow.apply(variance + eps, -0.5)


def rms_norm(input: Tensor, normalized_shape: Sequence[int] | int, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / √(mean(x²) + ε) · weight over the last dims (ε defaults to the dtype's eps)."""
    x = _float(input)
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(n) for n in normalized_shape)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    if eps is None:
        eps = float(np.finfo(x.data.dtype).eps)
    out = x * ops.Pow.apply(ops.Mean.apply(x * x, axis=axes, keepdims=True) + eps, -0.5)
    return out if weight is None else out * weight


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each group of C/num_groups channels of each sample over its channels and
    positions, then scale and shift per channel.  x: (N, C, *) -> (N, C, *)."""
    x = _float(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(x.shape)} and "
                           f"num_groups={num_groups}")
    n, channels = x.shape[:2]
    grouped = x.reshape(n, num_groups, int(np.prod(x.shape[1:])) // num_groups)
    out = _standardise(grouped, (2,), eps).reshape(x.shape)
    _affine_shape(weight, bias, (channels,), "group_norm")
    per_channel = (1, channels) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def instance_norm(input: Tensor, running_mean: Any = None, running_var: Any = None,
                  weight: Tensor | None = None, bias: Tensor | None = None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample over its positions.  x: (N, C, *)."""
    x = _float(input)
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    out = _standardise(x, tuple(range(2, x.ndim)), eps)
    per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Any = None) -> Tensor:
    """x / max(‖x‖_p, ε) along dim: unit vectors (zero vectors stay zero)."""
    x = _float(input)
    length = norm(x, p, dim, keepdim=True)
    result = x / ops.Clip.apply(length, eps, None)
    if out is not None:
        from steepest.functional.pointwise import write_out

        return write_out(out, result)
    return result
