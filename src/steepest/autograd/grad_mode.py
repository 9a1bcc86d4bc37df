"""Whether operations record the graph: `no_grad`, `enable_grad`, `set_grad_enabled`."""

from __future__ import annotations

import functools


class _GradMode:
    # One process-wide switch, read on every op; a class attribute is the cheapest lookup.
    enabled: bool = True


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph (False inside `no_grad`)."""
    return _GradMode.enabled


class set_grad_enabled:
    """Turn graph recording on or off; usable as a function, context manager or decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = _GradMode.enabled
        self.mode = bool(mode)
        _GradMode.enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _GradMode.enabled = self.prev

    def __call__(self, fn):
        # As a decorator the mode applies inside fn only, so undo the switch made by __init__.
        _GradMode.enabled = self.prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class _GradModeContext:
    mode: bool

    def __new__(cls, fn=None):
        # `@no_grad` without parentheses decorates fn directly (as PyTorch allows).
        self = super().__new__(cls)
        return self if fn is None else self(fn)

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
