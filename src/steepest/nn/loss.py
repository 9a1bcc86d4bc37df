"""Losses as modules, each with `reduction` ('mean', 'sum' or 'none')."""

from __future__ import annotations

from steepest.nn.module import Module


class MSELoss(Module):
    pass


class CrossEntropyLoss(Module):
    pass


class NLLLoss(Module):
    pass


class BCEWithLogitsLoss(Module):
    pass


class MultiMarginLoss(Module):
    pass


class MulticlassSVMLoss(Module):
    pass
