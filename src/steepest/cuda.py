"""`torch.cuda` as seen from a NumPy library: no GPU, so `is_available()` is False and the
calls programs make before choosing a device (seeding, synchronising) do nothing."""

from __future__ import annotations

from typing import Any


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Nothing to seed: there is no GPU (the CPU generator is `steepest.manual_seed`)."""


manual_seed_all = manual_seed


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: everything runs synchronously on the CPU."""


def empty_cache() -> None:
    """No GPU memory to release."""


def _unavailable(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("steepest has no CUDA (it computes with NumPy on the CPU); "
                       "torch.cuda.is_available() is False here")


current_device = _unavailable
get_device_name = _unavailable
set_device = _unavailable
memory_allocated = _unavailable
max_memory_allocated = _unavailable
