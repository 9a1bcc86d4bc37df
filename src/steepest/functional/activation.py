"""Activation functions and other elementwise sugar over the primitives."""

from __future__ import annotations

from steepest.autograd import ops
from steepest.tensor import Tensor


def relu(x: Tensor) -> Tensor:
    """max(0, x), elementwise; gradient 0 at x = 0.  x: (*) -> (*)."""
    return ops.ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, negative_slope·x otherwise (slope at 0).  x: (*) -> (*)."""
    return ops.LeakyReLU.apply(x, negative_slope=float(negative_slope))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, α(eˣ − 1) otherwise.  x: (*) -> (*)."""
    return ops.ELU.apply(x, alpha=float(alpha))


def selu(x: Tensor) -> Tensor:
    """λ·elu(x, α) with Klambauer et al.'s λ, α.  x: (*) -> (*)."""
    return ops.SELU.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e⁻ˣ), without overflow.  x: (*) -> (*)."""
    return ops.Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """tanh x.  x: (*) -> (*)."""
    return ops.Tanh.apply(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """eˣ / Σ eˣ along `dim`.  x: (*) -> (*), each slice along dim sums to 1."""
    return ops.Softmax.apply(x, axis=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """x − log Σ eˣ along `dim`, computed stably.  x: (*) -> (*)."""
    return ops.LogSoftmax.apply(x, axis=dim)
