"""Convolution layers: `Conv1d`, `Conv2d`, `ConvTranspose1d`, `ConvTranspose2d` (weights,
padding modes and default init as PyTorch)."""

from __future__ import annotations

import math

import numpy as np

from steepest import functional as F
from steepest.functional.conv import _is_int, _ntuple
from steepest.nn import init
from steepest.nn.module import Module
from steepest.nn.parameter import Parameter
from steepest.tensor import Tensor, _check_device, get_default_dtype

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared parameters, init, checks and repr of Conv1d and Conv2d."""

    dims = 0
    functional = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, *,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        _check_device(device)
        dtype = get_default_dtype() if dtype is None else dtype
        name = type(self).__name__
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.padding_mode = padding_mode
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
        shape = self._weight_shape(in_channels, out_channels, groups)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def _weight_shape(self, in_channels: int, out_channels: int, groups: int) -> tuple:
        return (out_channels, in_channels // groups, *self.kernel_size)

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

    def forward(self, input: Tensor) -> Tensor:
        x = input
        if x.ndim not in (self.dims + 1, self.dims + 2) or x.shape[-self.dims - 1] != \
                self.in_channels:
            spatial = ("L",) if self.dims == 1 else ("H", "W")
            expected = ", ".join(("N", str(self.in_channels), *spatial))
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}) expects input of shape "
                             f"({expected}), got {tuple(x.shape)}")
        if self.padding_mode != "zeros":
            pads = self._padding_pairs(x.shape)
            x = F.pad(x, [p for pair in reversed(pads) for p in pair], mode=self.padding_mode)
            return type(self).functional(x, self.weight, self.bias, self.stride, 0,
                                         self.dilation, self.groups)
        return type(self).functional(x, self.weight, self.bias, self.stride, self.padding,
                                     self.dilation, self.groups)

    def _padding_pairs(self, shape: tuple) -> list[tuple[int, int]]:
        """(before, after) per spatial axis, for the non-zero padding modes."""
        if self.padding == "valid":
            return [(0, 0)] * self.dims
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation, strict=True)]
            return [(t // 2, t - t // 2) for t in totals]
        return [(p, p) for p in self.padding]

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


class _ConvTransposeNd(_ConvNd):
    """Shared code of ConvTranspose1d/2d: weight (C_in, C_out/groups, kernel...)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None, *,
                 generator: np.random.Generator | None = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, generator=generator)
        self.output_padding = _ntuple(output_padding, self.dims, "output_padding",
                                      type(self).__name__, minimum=0)

    def _weight_shape(self, in_channels: int, out_channels: int, groups: int) -> tuple:
        return (in_channels, out_channels // groups, *self.kernel_size)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input.shape, output_size)
        return type(self).transposed(input, self.weight, self.bias, self.stride, self.padding,
                                     output_padding, self.groups, self.dilation)

    def _output_padding_for(self, shape: tuple, output_size) -> tuple:
        wanted = tuple(output_size)[-self.dims:]
        spatial = shape[-self.dims:]
        padding = []
        for n, want, s, p, k, d in zip(spatial, wanted, self.stride, self.padding,
                                       self.kernel_size, self.dilation, strict=True):
            smallest = (n - 1) * s - 2 * p + d * (k - 1) + 1
            if not smallest <= want < smallest + s:
                raise ValueError(f"requested an output size of {tuple(wanted)}, but valid sizes "
                                 f"range from {smallest} to {smallest + s - 1}")
            padding.append(want - smallest)
        return tuple(padding)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        return text


class ConvTranspose1d(_ConvTransposeNd):
    """x: (N, C_in, L) -> (N, C_out, L'), L' = (L − 1)·stride − 2·padding +
    dilation·(K − 1) + output_padding + 1. weight: (C_in, C_out/groups, K)."""

    dims = 1
    transposed = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """x: (N, C_in, H, W) -> (N, C_out, H', W'), H' = (H − 1)·stride − 2·padding +
    dilation·(kH − 1) + output_padding + 1 (W' likewise). weight: (C_in, C_out/groups, kH, kW)."""

    dims = 2
    transposed = staticmethod(F.conv_transpose2d)
