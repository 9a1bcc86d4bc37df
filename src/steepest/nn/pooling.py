"""Pooling layers: `MaxPool1d`, `MaxPool2d`, `AvgPool2d`, `FractionalMaxPool2d`."""

from __future__ import annotations

from steepest.nn.module import Module


class MaxPool1d(Module):
    pass


class MaxPool2d(Module):
    pass


class AvgPool2d(Module):
    pass


class FractionalMaxPool2d(Module):
    pass
