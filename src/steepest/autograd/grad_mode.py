"""Whether operations record the graph: `no_grad`, `enable_grad`, `set_grad_enabled`.

The switch is per thread, as in PyTorch: `no_grad()` in one thread (an evaluation loop, a data
worker) leaves training in another thread recording its graph.
"""

from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    # Read on every op. A class attribute is each new thread's starting value, so a thread
    # that never touches the switch records graphs (PyTorch's default in a new thread).
    enabled: bool = True


_grad_state = _GradState()


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph in this thread (False inside `no_grad`)."""
    return _grad_state.enabled


class set_grad_enabled:
    """Turn graph recording on or off; usable as a function, context manager or decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = _grad_state.enabled
        self.mode = bool(mode)
        _grad_state.enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _grad_state.enabled = self.prev

    def __call__(self, fn):
        # As a decorator the mode applies inside fn only, so undo the switch made by __init__.
        _grad_state.enabled = self.prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self) -> set_grad_enabled:
        return self.__class__(self.mode)


class _GradModeContext:
    mode: bool

    def __new__(cls, fn=None):
        # `@no_grad` without parentheses decorates fn directly (as PyTorch allows).
        self = super().__new__(cls)
        return self if fn is None else self(fn)

    def __enter__(self) -> None:
        self.prev = _grad_state.enabled
        _grad_state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        _grad_state.enabled = self.prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Operations inside record no graph: for evaluation and for updating parameters."""

    mode = False


class enable_grad(_GradModeContext):
    """Record the graph again inside a `no_grad` block."""

    mode = True


class inference_mode:
    """PyTorch's `inference_mode(mode=True)`: here the same as `no_grad` (a no-op if False)."""

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode) and not isinstance(mode, bool):
            self.on = True  # `@inference_mode` without parentheses
            return self(mode)
        self.on = bool(mode)
        return self

    def __enter__(self) -> None:
        self.prev = _grad_state.enabled
        _grad_state.enabled = self.prev and not self.on

    def __exit__(self, *exc) -> None:
        _grad_state.enabled = self.prev

    def __call__(self, fn):
        on = self.on

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(on):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self) -> inference_mode:
        return inference_mode(self.on)


def is_inference_mode_enabled() -> bool:
    """Always False: `inference_mode` is `no_grad` here, with no separate state."""
    return False
