"""Batch normalisation: `BatchNorm1d`, `BatchNorm2d` (running statistics, momentum, eval mode)."""

from __future__ import annotations

from steepest.nn.module import Module


class BatchNorm1d(Module):
    pass


class BatchNorm2d(Module):
    pass
