"""Convolutions as fused primitives: im2col through strided views, then one BLAS matmul."""

from __future__ import annotations

from steepest.tensor import Tensor


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """x: (N, C_in, L), weight: (C_out, C_in/groups, K), bias: (C_out,) -> (N, C_out, L')."""
    raise NotImplementedError


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """x: (N, C_in, H, W), weight: (C_out, C_in/groups, kH, kW) -> (N, C_out, H', W')."""
    raise NotImplementedError
