"""Seeded randomness: one default `numpy.random.Generator`, reset by `manual_seed`.

Every random choice in steepest (initialisation, dropout masks, shuffling) takes an explicit
`generator=` argument and falls back to this default, so `manual_seed(n)` makes a run repeatable.
"""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng(0)
_initial = 0


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the default generator to `seed` and return it."""
    global _default, _initial
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an integer seed, got {seed!r}")
    _default = np.random.default_rng(int(seed))
    _initial = int(seed)
    return _default


def default_generator() -> np.random.Generator:
    """The generator that random functions use when none is given."""
    return _default


def get_generator(generator: np.random.Generator | None) -> np.random.Generator:
    return _default if generator is None else generator


class Generator(np.random.Generator):
    """`torch.Generator`: a NumPy generator with PyTorch's seeding methods.

    Pass it as `generator=` anywhere steepest takes one (rand, randperm, DataLoader,
    random_split); `Generator().manual_seed(42)` chains as in PyTorch.
    """

    def __init__(self, device: object = "cpu") -> None:
        self._initial_seed = 67280421310721  # PyTorch's default seed of a new Generator
        super().__init__(np.random.PCG64(self._initial_seed))

    def manual_seed(self, seed: int) -> Generator:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed expects an integer seed, got {seed!r}")
        self._initial_seed = int(seed)
        self.bit_generator.state = np.random.PCG64(int(seed)).state
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; return the new seed."""
        seed = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._initial_seed

    def get_state(self) -> dict:
        return self.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self.bit_generator.state = state
        return self


def seed() -> int:
    """Reseed the default generator from the operating system; return the seed."""
    value = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(value)
    return value


def initial_seed() -> int:
    return _initial


def get_rng_state() -> dict:
    return _default.bit_generator.state


def set_rng_state(state: dict) -> None:
    _default.bit_generator.state = state
