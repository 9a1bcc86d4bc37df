"""The autograd engine: primitive ops, the backward pass, gradient modes and gradient checks."""

from steepest.autograd.function import Function, unbroadcast
from steepest.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "Function",
    "unbroadcast",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
