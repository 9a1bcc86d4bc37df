"""Datasets that work offline."""

from steepest.data.mnist1d import load_mnist1d

__all__ = ["load_mnist1d"]
