"""Batch normalisation: `BatchNorm1d`, `BatchNorm2d` (running statistics, momentum, eval mode).

Ioffe & Szegedy (2015): each channel c is normalised by statistics over every axis but the
channel axis (1), then scaled and shifted by learned γ (weight) and β (bias):

    x̂ = (x − μ_c) / √(σ²_c + ε),   y = γ_c · x̂ + β_c

In training μ and σ² are the batch's (σ² biased, divided by n); the running estimates are updated
with the *unbiased* variance (n / (n − 1) · σ²), as PyTorch does. In eval the running estimates
are used, so the layer is a fixed per-channel affine map.
"""

from __future__ import annotations

import numpy as np

from steepest.autograd.function import Function
from steepest.nn.module import Module
from steepest.nn.parameter import Parameter
from steepest.tensor import DEFAULT_DTYPE, Tensor


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
            return x_hat
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


class _BatchNorm(Module):
    """Shared code of BatchNorm1d/2d; subclasses say which input ranks they accept."""

    _ranks: tuple = ()
    _layout: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype=DEFAULT_DTYPE, *, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features <= 0:
            raise ValueError(f"{name}: num_features must be a positive integer, got "
                             f"{num_features!r}")
        if not eps > 0:
            raise ValueError(f"{name}: eps must be positive, got {eps!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        """Running statistics reset; γ = 1, β = 0."""
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            if self.bias is not None:
                self.bias.data[...] = 0

    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} expects a Tensor, got {type(x).__name__}")
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}) expects input of shape {self._layout} with "
                f"C = {self.num_features}, got shape {tuple(x.shape)}"
            )

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, *) -> (N, C, *), normalised per channel."""
        self._check_input(x)
        use_batch_stats = self.training or not self.track_running_stats
        update = self.training and self.track_running_stats
        if use_batch_stats and x.data.size // self.num_features <= 1:
            raise ValueError(
                f"{type(self).__name__}: expected more than 1 value per channel when training, "
                f"got input of shape {tuple(x.shape)}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if update:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                # Cumulative moving average: the k-th batch gets weight 1/k.
                factor = 1.0 / float(self.num_batches_tracked.data)
        return batch_norm(
            x,
            self.running_mean if update or not use_batch_stats else None,
            self.running_var if update or not use_batch_stats else None,
            self.weight, self.bias, training=use_batch_stats, momentum=factor, eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input, per channel C (statistics over N and L).

    x: (N, C) -> (N, C) or (N, C, L) -> (N, C, L). weight, bias: (C,) Parameters (γ = 1, β = 0);
    buffers running_mean (C,) = 0, running_var (C,) = 1, num_batches_tracked () int64 = 0.
    momentum=None uses the cumulative average of all batches seen; affine=False has no γ, β;
    bias=False (keyword, as PyTorch 2.13) keeps γ but no β; track_running_stats=False keeps no
    buffers and uses batch statistics in eval too.
    """

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, per channel C (statistics over N, H and W).

    x: (N, C, H, W) -> (N, C, H, W). Parameters, buffers and options as `BatchNorm1d`.
    """

    _ranks = (4,)
    _layout = "(N, C, H, W)"
