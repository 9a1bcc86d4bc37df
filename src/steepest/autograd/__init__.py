"""The autograd engine: primitive ops, the backward pass, gradient modes and gradient checks,
with PyTorch's entry points: `Function` (custom ops on Tensors), `backward`, `grad`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from steepest.autograd import function
from steepest.autograd.function import unbroadcast
from steepest.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "Function", "backward", "enable_grad", "grad", "gradcheck", "inference_mode",
    "is_grad_enabled", "is_inference_mode_enabled", "no_grad", "set_grad_enabled",
    "unbroadcast",
]


def _as_list(values: Any) -> list:
    if values is None:
        return []
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _seed_gradients(outputs: list, grad_outputs: Any) -> list:
    """One upstream gradient array per output: given ones are checked, scalars get 1."""
    from steepest.tensor import Tensor, _as_array

    given = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    if len(given) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs; got "
                           f"{len(given)} gradients for {len(outputs)} outputs")
    seeds = []
    for out, g in zip(outputs, given, strict=True):
        if not isinstance(out, Tensor):
            raise TypeError(f"backward: expected Tensors, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(
                "backward() was called on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran under no_grad()). PyTorch says: "
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs: backward() "
                    f"without a gradient needs a scalar output, this one has shape "
                    f"{out.shape}; reduce it first (e.g. .sum() or .mean()) or pass "
                    f"backward(grad) with that shape"
                )
            seeds.append(np.ones_like(out.data))
            continue
        g = np.array(_as_array(g), dtype=out.data.dtype)
        if g.shape != out.data.shape:
            raise ValueError(
                f"backward(grad): grad has shape {g.shape} but the tensor has shape "
                f"{out.data.shape}"
            )
        seeds.append(g)
    return seeds


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None, inputs: Any = None) -> None:
    """Accumulate the gradients of `tensors` into the `.grad` of every leaf they depend on
    (`torch.autograd.backward`). With `inputs`, only those leaves get gradients."""
    if create_graph:
        raise NotImplementedError(
            "create_graph=True (gradients of gradients) is not supported: steepest's backward "
            "computes with NumPy arrays, outside the graph")
    outputs = _as_list(tensors)
    seeds = _seed_gradients(outputs, grad_tensors if grad_tensors is not None
                            else grad_variables)
    if inputs is not None:
        targets = _as_list(inputs)
        grads = function.run_backward(outputs, seeds, retain_graph=bool(retain_graph),
                                      inputs=targets)
        from steepest.autograd.function import _accumulate_leaf

        for t, g in zip(targets, grads, strict=True):
            if g is not None:
                _accumulate_leaf(t, g, set())
        return
    function.run_backward(outputs, seeds, retain_graph=bool(retain_graph))


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """d(outputs)/d(inputs) without touching any `.grad` (`torch.autograd.grad`): a tuple with
    one Tensor per input (None for an unused input when allow_unused=True)."""
    from steepest.tensor import Tensor

    if create_graph:
        raise NotImplementedError(
            "create_graph=True (gradients of gradients) is not supported: steepest's backward "
            "computes with NumPy arrays, outside the graph")
    outs = _as_list(outputs)
    targets = _as_list(inputs)
    for t in targets:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    seeds = _seed_gradients(outs, grad_outputs)
    grads = function.run_backward(outs, seeds, retain_graph=bool(retain_graph), inputs=targets)
    result = []
    for t, g in zip(targets, grads, strict=True):
        if g is None:
            if materialize_grads:
                g = np.zeros_like(t.data)
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            else:
                result.append(None)
                continue
        result.append(Tensor._wrap(np.array(g, dtype=t.data.dtype)))
    return tuple(result)


def gradcheck(func: Any, inputs: Sequence | Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **kwargs: Any) -> bool:
    """`torch.autograd.gradcheck`: analytic against numerical gradients in float64."""
    from steepest.autograd.gradcheck import GradcheckError
    from steepest.autograd.gradcheck import gradcheck as _check

    try:
        return _check(func, inputs, eps=eps, atol=atol, rtol=rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False


from steepest.autograd.custom import Function, FunctionCtx  # noqa: E402, F401
