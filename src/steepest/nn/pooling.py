"""Pooling layers: `MaxPool1d`, `MaxPool2d`, `AvgPool1d`, `AvgPool2d`, the adaptive pools and
`FractionalMaxPool2d`."""

from __future__ import annotations

import numpy as np

from steepest import functional as F
from steepest.functional.pooling import _ratio_pair
from steepest.nn.module import Module
from steepest.tensor import Tensor


class _MaxPoolNd(Module):
    functional = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, bool(ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, input: Tensor) -> Tensor:
        return type(self).functional(input, self.kernel_size, self.stride, self.padding,
                                     self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over windows of `kernel_size`. x: (N, C, L) or (C, L) -> (N, C, L').

    L' = floor((L + 2·padding − dilation·(K − 1) − 1) / stride) + 1 (ceil in ceil_mode);
    stride defaults to kernel_size. Ties: the first maximum of a window gets the gradient.
    """

    functional = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max over kH×kW windows. x: (N, C, H, W) or (C, H, W) -> (N, C, H', W').

    Sizes as `F.max_pool2d`; stride defaults to kernel_size; padding is −∞. Ties: the whole
    gradient goes to the first maximum of a window in row-major order (as PyTorch).
    """

    functional = staticmethod(F.max_pool2d)


class AvgPool2d(Module):
    """Mean over kH×kW windows. x: (N, C, H, W) or (C, H, W) -> (N, C, H', W').

    Padding is zeros; count_include_pad decides whether padded zeros count in the divisor;
    divisor_override replaces the divisor.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, bool(ceil_mode)
        self.count_include_pad, self.divisor_override = bool(count_include_pad), divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class FractionalMaxPool2d(Module):
    """Fractional max pooling (Graham, 2014). x: (N, C, H, W) or (C, H, W) -> (N, C, oH, oW).

    Each forward draws new window offsets (N, C, 2) from `generator` (default: the one
    `steepest.manual_seed` resets), as PyTorch draws new ones per call. Give output_size
    (int or (oH, oW)) or output_ratio (in (0, 1); oH = int(H·ratio)).
    """

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if output_size is None and output_ratio is None:
            raise ValueError("FractionalMaxPool2d requires specifying either an output size, "
                             "or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("FractionalMaxPool2d: give only one of output_size and "
                             f"output_ratio, got {output_size!r} and {output_ratio!r}")
        if output_ratio is not None:
            _ratio_pair(output_ratio, "FractionalMaxPool2d")
        self.kernel_size, self.output_size, self.output_ratio = (kernel_size, output_size,
                                                                 output_ratio)
        self.generator = generator

    def forward(self, input: Tensor) -> Tensor:
        return F.fractional_max_pool2d(input, self.kernel_size, self.output_size, self.output_ratio,
                                       generator=self.generator)

    def extra_repr(self) -> str:
        size = (f"output_size={self.output_size}" if self.output_size is not None
                else f"output_ratio={self.output_ratio}")
        return f"kernel_size={self.kernel_size}, {size}"


class AvgPool1d(Module):
    """Mean over windows of kernel_size. x: (N, C, L) or (C, L) -> (N, C, L')."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    functional = None

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = bool(return_indices)

    def forward(self, input: Tensor) -> Tensor:
        if self.return_indices:
            return type(self).functional(input, self.output_size, True)
        return type(self).functional(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average to a fixed length. x: (N, C, L) -> (N, C, output_size); window i covers
    [⌊i·L/out⌋, ⌈(i+1)·L/out⌉)."""

    functional = staticmethod(F.adaptive_avg_pool1d)

    def __init__(self, output_size) -> None:
        super().__init__(output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average to a fixed size. x: (N, C, H, W) -> (N, C, oH, oW); output_size an int, a
    pair, or None in a pair to keep that size."""

    functional = staticmethod(F.adaptive_avg_pool2d)

    def __init__(self, output_size) -> None:
        super().__init__(output_size)


class AdaptiveMaxPool1d(_AdaptivePool):
    """Max to a fixed length. x: (N, C, L) -> (N, C, output_size)."""

    functional = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptivePool):
    """Max to a fixed size. x: (N, C, H, W) -> (N, C, oH, oW)."""

    functional = staticmethod(F.adaptive_max_pool2d)
