"""MNIST-1D (Greydanus, 2020): kept as an import path; the loader lives in `datasets.py`."""

from steepest.data.datasets import Split, load_mnist1d, mnist1d_cache_path

__all__ = ["Split", "load_mnist1d", "mnist1d_cache_path"]
