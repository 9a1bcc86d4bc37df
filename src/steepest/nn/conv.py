"""Convolution layers: `Conv1d`, `Conv2d` (weights and default init as PyTorch)."""

from __future__ import annotations

from steepest.nn.module import Module


class Conv1d(Module):
    """x: (N, C_in, L) -> (N, C_out, L'). weight: (C_out, C_in/groups, K)."""


class Conv2d(Module):
    """x: (N, C_in, H, W) -> (N, C_out, H', W'). weight: (C_out, C_in/groups, kH, kW)."""
