"""Normalisation layers: `BatchNorm1d`, `BatchNorm2d` (running statistics, momentum, eval mode),
`LayerNorm`, `GroupNorm`, `RMSNorm`. The formulas live in `steepest.functional.normalization`.
"""

from __future__ import annotations

import numpy as np

from steepest.functional.normalization import (  # noqa: F401  (BatchNormFunction re-exported)
    BatchNormFunction,
    batch_norm,
    group_norm,
    layer_norm,
    rms_norm,
)
from steepest.nn.module import Module
from steepest.nn.parameter import Parameter
from steepest.tensor import Tensor, _check_device, get_default_dtype


def _affine_parameters(module: Module, shape, affine: bool, bias: bool, dtype) -> None:
    """γ = 1 (weight) and β = 0 (bias) of `shape`, or None where PyTorch has none."""
    if affine:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


class _BatchNorm(Module):
    """Shared code of BatchNorm1d/2d; subclasses say which input ranks they accept."""

    _ranks: tuple = ()
    _layout: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        _check_device(device)
        dtype = get_default_dtype() if dtype is None else dtype
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
        _affine_parameters(self, self.num_features, affine, bias, dtype)
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

    def forward(self, input: Tensor) -> Tensor:
        """x: (N, C, *) -> (N, C, *), normalised per channel."""
        x = input
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


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) input, per channel C."""

    _ranks = (5,)
    _layout = "(N, C, D, H, W)"


def _shape_tuple(shape) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)


class LayerNorm(Module):
    """Normalise each sample over its last dims (normalized_shape), then scale and shift
    elementwise (Ba et al., 2016).  x: (*, *normalized_shape) -> same.

    weight = 1, bias = 0 of shape normalized_shape (elementwise_affine; bias=False drops β).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        _check_device(device)
        dtype = get_default_dtype() if dtype is None else dtype
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class RMSNorm(Module):
    """x / √(mean(x²) + ε) · weight over the last dims (Zhang & Sennrich, 2019)."""

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        _check_device(device)
        dtype = get_default_dtype() if dtype is None else dtype
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, input: Tensor) -> Tensor:
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Normalise groups of channels of each sample (Wu & He, 2018), then scale and shift per
    channel.  x: (N, C, *) -> (N, C, *); weight = 1, bias = 0 of shape (C,)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        _check_device(device)
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        dtype = get_default_dtype() if dtype is None else dtype
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _affine_parameters(self, num_channels, affine, bias, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_BatchNorm):
    """Normalise each channel of each sample over its positions (Ulyanov et al., 2016);
    PyTorch's defaults: no affine parameters, no running statistics."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        unbatched = input.ndim == self._ranks[0] - 1
        x = input.unsqueeze(0) if unbatched else input
        self._check_input(x)
        use_input_stats = self.training or not self.track_running_stats
        if use_input_stats and self.track_running_stats:
            from steepest.autograd.grad_mode import no_grad

            with no_grad():  # the running statistics follow the per-instance ones, averaged
                axes = tuple(range(2, x.ndim))
                mean = x.data.mean(axis=axes).mean(axis=0)
                count = int(np.prod(x.shape[2:]))
                var = x.data.var(axis=axes, ddof=1 if count > 1 else 0).mean(axis=0)
                m = self.momentum
                self.running_mean.data[...] = (1 - m) * self.running_mean.data + m * mean
                self.running_var.data[...] = (1 - m) * self.running_var.data + m * var
        from steepest.functional.normalization import instance_norm

        out = instance_norm(x, None if use_input_stats else self.running_mean,
                            None if use_input_stats else self.running_var, self.weight,
                            self.bias, use_input_stats, self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """x: (N, C, L) or (C, L)."""

    _ranks = (3,)
    _layout = "(N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """x: (N, C, H, W) or (C, H, W)."""

    _ranks = (4,)
    _layout = "(N, C, H, W)"
