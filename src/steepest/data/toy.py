"""Two-dimensional toy data sets, as TensorFlow Playground has them: points in the plane whose
classes no straight line separates (circles, XOR, spirals), and Gaussian blobs.

`make_toy(name, n, noise, seed)` returns float32 points (n, 2), roughly inside [-1.5, 1.5]², and
int64 class indices (n,). The same seed gives the same points.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["TOY_CLASSES", "TOY_DATASETS", "make_toy"]

#: The data sets `make_toy` knows, each with its number of classes.
TOY_CLASSES: dict[str, int] = {"circles": 2, "xor": 2, "spirals": 2, "blobs": 3}
TOY_DATASETS = tuple(TOY_CLASSES)


def _circles(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # A disc of radius 0.5 (class 0) inside a ring from 0.7 to 1 (class 1).
    y = np.arange(n) % 2
    radius = np.where(y == 0, 0.5 * np.sqrt(rng.uniform(0, 1, n)), rng.uniform(0.7, 1.0, n))
    angle = rng.uniform(0, 2 * math.pi, n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1), y


def _xor(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Uniform in the square, kept 0.05 off the axes; class 1 where x and y share a sign.
    y = np.arange(n) % 2
    x_sign = rng.choice([-1.0, 1.0], n)
    signs = np.stack([x_sign, np.where(y == 1, x_sign, -x_sign)], axis=1)
    return rng.uniform(0.05, 1.0, (n, 2)) * signs, y


def _spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Two arms r = t, angle = 1.75·2π·t + π·class, for t in [0.1, 1].
    y = np.arange(n) % 2
    t = rng.uniform(0.1, 1.0, n)
    angle = 1.75 * 2 * math.pi * t + math.pi * y
    return np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1), y


def _blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Three Gaussian blobs (std 0.25) centred on a triangle of radius 0.8.
    y = np.arange(n) % 3
    angle = math.pi / 2 + 2 * math.pi * y / 3
    centres = 0.8 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return centres + 0.25 * rng.standard_normal((n, 2)), y


_MAKERS = {"circles": _circles, "xor": _xor, "spirals": _spirals, "blobs": _blobs}


def make_toy(name: str, n: int = 200, *, noise: float = 0.0, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray]:
    """`n` points of the toy data set `name` (see `TOY_CLASSES`) with Gaussian noise of std
    `noise` added to every coordinate: x (n, 2) float32, y (n,) int64 class indices, the
    classes in turn (balanced). ValueError naming the valid choices for a bad argument."""
    if name not in _MAKERS:
        raise ValueError(f"unknown toy data set {name!r}; choose from {', '.join(_MAKERS)}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= 100_000:
        raise ValueError(f"make_toy: n must be an integer from 1 to 100000, got {n!r}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise <= 1:
        raise ValueError(f"make_toy: noise must be a number from 0 to 1, got {noise!r}")
    rng = np.random.default_rng(_seed(seed))
    x, y = _MAKERS[name](int(n), rng)
    if noise:
        x = x + float(noise) * rng.standard_normal(x.shape)
    return x.astype(np.float32), y.astype(np.int64)


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"make_toy: seed must be a non-negative integer, got {seed!r}")
    return int(seed)
