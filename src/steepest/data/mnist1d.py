"""MNIST-1D (Greydanus, 2020), generated locally by the `mnist1d` package's own generator."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_mnist1d(seed: int | None = None, dtype=np.float32) -> Split:
    """The MNIST-1D dataset with the generator's default arguments: 4000 train / 1000 test.

    x: (4000, 40), y: (4000,) int64 labels in 0..9; x_test: (1000, 40), y_test: (1000,).
    Needs the `mnist1d` package (`pip install steepest[data]`); nothing is downloaded.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:
        raise ImportError(
            "MNIST-1D needs the 'mnist1d' package: pip install 'steepest[data]' (or mnist1d)"
        ) from error
    args = get_dataset_args()
    if seed is not None:
        args.seed = seed
    data = make_dataset(args)
    return Split(
        data["x"].astype(dtype), data["y"].astype(np.int64),
        data["x_test"].astype(dtype), data["y_test"].astype(np.int64),
    )
