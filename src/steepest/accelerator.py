"""`torch.accelerator` (PyTorch 2.6+): no accelerator here, so programs choose the CPU."""

from __future__ import annotations

from typing import Any


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> Any:
    return None


def device_count() -> int:
    return 0


def synchronize(device: Any = None) -> None:
    """Nothing to wait for."""
