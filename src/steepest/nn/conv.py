"""Convolution layers: `Conv1d`, `Conv2d` (weights and default init as PyTorch)."""

from __future__ import annotations

import math

import numpy as np

from steepest import functional as F
from steepest.functional.conv import _is_int, _ntuple
from steepest.nn import init
from steepest.nn.module import Module
from steepest.nn.parameter import Parameter
from steepest.tensor import DEFAULT_DTYPE, Tensor


class _ConvNd(Module):
    """Shared parameters, init, checks and repr of Conv1d and Conv2d."""

    dims = 0
    functional = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, dtype=DEFAULT_DTYPE,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        for what, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if not _is_int(value) or value <= 0:
                raise ValueError(f"{name}: {what} must be a positive int, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ntuple(kernel_size, self.dims, "kernel_size", name)
        self.stride = _ntuple(stride, self.dims, "stride", name)
        self.dilation = _ntuple(dilation, self.dims, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'valid', 'same' or ints, got "
                                 f"{padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions, got stride={self.stride}")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, self.dims, "padding", name, minimum=0)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """PyTorch's default: weight and bias both U(−1/√fan_in, 1/√fan_in).

        fan_in = in_channels / groups × kernel elements; kaiming_uniform_(a=√5) gives the
        weight bound gain·√(3 / fan_in) = √(2 / 6)·√(3 / fan_in) = 1/√fan_in.
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.weight.shape[1] * int(np.prod(self.kernel_size))
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (self.dims + 1, self.dims + 2) or x.shape[-self.dims - 1] != \
                self.in_channels:
            spatial = ("L",) if self.dims == 1 else ("H", "W")
            expected = ", ".join(("N", str(self.in_channels), *spatial))
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}) expects input of shape "
                             f"({expected}), got {tuple(x.shape)}")
        return type(self).functional(x, self.weight, self.bias, self.stride, self.padding,
                                     self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """x: (N, C_in, L) or (C_in, L) -> (N, C_out, L'). weight: (C_out, C_in/groups, K).

    L' = floor((L + 2·padding − dilation·(K − 1) − 1) / stride) + 1. bias: (C_out,).
    Init as PyTorch: weight and bias U(−1/√fan_in, 1/√fan_in), fan_in = C_in/groups · K.
    """

    dims = 1
    functional = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """x: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H', W').

    weight: (C_out, C_in/groups, kH, kW), bias: (C_out,);
    H' = floor((H + 2·padding_h − dilation_h·(kH − 1) − 1) / stride_h) + 1, W' likewise.
    Init as PyTorch: weight and bias U(−1/√fan_in, 1/√fan_in),
    fan_in = C_in/groups · kH · kW.
    """

    dims = 2
    functional = staticmethod(F.conv2d)
