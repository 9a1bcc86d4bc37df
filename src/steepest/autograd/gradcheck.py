"""Gradients two ways: analytic (backprop) and numerical (central differences), and their check.

The lectures contrast them: the numerical gradient is slow (two evaluations per input element)
and approximate (truncation and rounding error), the analytic one is exact and fast but easy to
get wrong; so in practice one uses the analytic gradient and checks it against the numerical one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from steepest.tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree."""


def _scalar_of(fn: Callable, inputs: Sequence[Tensor], projection: np.ndarray | None):
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: the function must return a Tensor, got {type(out).__name__}")
    if projection is None:
        return out
    return (out * Tensor(projection)).sum()


def numerical_grad(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
                   projection: np.ndarray | None = None) -> list[np.ndarray]:
    """d(scalar)/d(input) by central differences, (f(x + ε) − f(x − ε)) / 2ε, one element at a time.

    fn(*inputs) must return a scalar tensor, or any tensor when `projection` (same shape as the
    output) is given: then the scalar is Σ output·projection.
    """
    grads = []
    for x in inputs:
        grad = np.zeros_like(x.data, dtype=np.float64)
        if not x.requires_grad:
            grads.append(grad)
            continue
        # Index the array itself: reshape(-1) of a non-contiguous array is a copy, and nudging
        # the copy would leave fn's input unchanged (a silent zero gradient).
        for index in np.ndindex(x.data.shape):
            original = x.data[index]
            x.data[index] = original + eps
            plus = _scalar_of(fn, inputs, projection).item()
            x.data[index] = original - eps
            minus = _scalar_of(fn, inputs, projection).item()
            x.data[index] = original
            grad[index] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


def analytic_grad(fn: Callable[..., Tensor], inputs: Sequence[Tensor],
                  projection: np.ndarray | None = None) -> list[np.ndarray]:
    """d(scalar)/d(input) by backpropagation (zeros for inputs that get no gradient)."""
    for x in inputs:
        x.grad = None
    _scalar_of(fn, inputs, projection).backward()
    return [
        np.zeros_like(x.data) if x.grad is None else np.array(x.grad, dtype=np.float64)
        for x in inputs
    ]


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor] | Tensor, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check fn's analytic gradients against central differences, in float64.

    inputs: tensors (converted to float64 copies; those with requires_grad are checked).
    A non-scalar output is reduced to Σ output·v with a random v, which checks vᵀJ.
    Returns True, or raises GradcheckError naming the input and the worst element.
    """
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    inputs = [
        Tensor(np.array(x.data, dtype=np.float64), requires_grad=x.requires_grad)
        if isinstance(x, Tensor) and np.issubdtype(x.dtype, np.floating)
        else x
        for x in inputs
    ]
    if not any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    out = fn(*inputs)
    projection = None
    if out.data.size != 1:
        projection = np.random.default_rng(seed).standard_normal(out.shape)
    checked = [x for x in inputs if isinstance(x, Tensor)]
    analytic = analytic_grad(lambda *xs: fn(*inputs), checked, projection)
    numerical = numerical_grad(lambda *xs: fn(*inputs), checked, eps, projection)
    for k, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
        if not checked[k].requires_grad:
            continue
        error = np.abs(a - n)
        allowed = atol + rtol * np.abs(n)
        if np.any(error > allowed) or not np.all(np.isfinite(a)):
            worst = np.unravel_index(np.argmax(error - allowed), error.shape)
            raise GradcheckError(
                f"gradcheck: gradient of input {k} (shape {a.shape}) disagrees at index "
                f"{tuple(int(i) for i in worst)}: analytic {a[worst]:.10g}, numerical "
                f"{n[worst]:.10g} (|difference| {error[worst]:.3g} > atol {atol} + rtol {rtol}"
                f" x |numerical|)"
            )
    return True
