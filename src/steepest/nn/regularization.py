"""Regularising layers from the lectures: `DropConnect`, `Maxout`, `StochasticDepth`."""

from __future__ import annotations

from steepest.nn.module import Module


class DropConnect(Module):
    pass


class Maxout(Module):
    pass


class StochasticDepth(Module):
    pass
