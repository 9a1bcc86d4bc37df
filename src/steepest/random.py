"""Seeded randomness: one default `numpy.random.Generator`, reset by `manual_seed`.

Every random choice in steepest (initialisation, dropout masks, shuffling) takes an explicit
`generator=` argument and falls back to this default, so `manual_seed(n)` makes a run repeatable.
"""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the default generator to `seed` and return it."""
    global _default
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an integer seed, got {seed!r}")
    _default = np.random.default_rng(int(seed))
    return _default


def default_generator() -> np.random.Generator:
    """The generator that random functions use when none is given."""
    return _default


def get_generator(generator: np.random.Generator | None) -> np.random.Generator:
    return _default if generator is None else generator
