"""Pooling as fused primitives over strided windows."""

from __future__ import annotations

from steepest.tensor import Tensor


def max_pool1d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    raise NotImplementedError


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    raise NotImplementedError


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    raise NotImplementedError


def fractional_max_pool2d(x: Tensor, kernel_size, output_size=None, output_ratio=None,
                          generator=None, _random_samples=None) -> Tensor:
    raise NotImplementedError
