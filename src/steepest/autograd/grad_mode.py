"""Whether operations record the graph: `no_grad`, `enable_grad`, `set_grad_enabled`."""

from __future__ import annotations

import functools


class _GradMode:
    # One process-wide switch, read on every op; a class attribute is the cheapest lookup.
    enabled: bool = True


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class set_grad_enabled:
    """Turn graph recording on or off; usable as a function, context manager or decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = _GradMode.enabled
        _GradMode.enabled = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _GradMode.enabled = self.prev


class _GradModeContext:
    mode: bool

    def __enter__(self) -> None:
        self.prev = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __exit__(self, *exc) -> None:
        _GradMode.enabled = self.prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Operations inside record no graph: for evaluation and for updating parameters."""

    mode = False


class enable_grad(_GradModeContext):
    """Record the graph again inside a `no_grad` block."""

    mode = True
