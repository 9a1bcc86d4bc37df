"""`steepest.autograd.Function`: PyTorch's way to write an op by hand, on Tensors.

    class LegendreP3(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    y = LegendreP3.apply(x)

forward runs without recording a graph and sees Tensors (so `.clamp`, `.clone`, indexing
with masks work as in PyTorch); backward sees Tensors and returns one gradient per forward
input (None for non-tensors). A tuple of outputs is supported: the node's output is their
concatenation, and each returned tensor is a slice of it. steepest's own primitives subclass
the array-level `steepest.autograd.function.Function` instead, for speed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from steepest.autograd import function
from steepest.autograd.grad_mode import _grad_state, no_grad
from steepest.tensor import Tensor


class Function(function.Function):
    """Subclass with static `forward(ctx, *args, **kwargs)` and `backward(ctx, *grads)`;
    call `.apply(*args)`."""

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = cls.__new__(cls)
        tensors = [a for a in args if isinstance(a, Tensor)]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = _grad_state.enabled and any(needs)
        ctx.needs_input_grad = needs if record else (False,) * len(args)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        outputs = tuple(_as_tensor(o) for o in outputs)
        if not record:
            return outputs[0] if single else outputs
        skip = {id(t) for t in ctx.__dict__.get("non_differentiable", ())}
        differentiable = [i for i, o in enumerate(outputs)
                          if isinstance(o, Tensor) and o.data.dtype.kind in "fc"
                          and id(o) not in skip]
        if not differentiable:
            return outputs[0] if single else outputs
        node = _CustomNode.__new__(_CustomNode)
        node.function, node.ctx = cls, ctx
        node.shapes = [outputs[i].data.shape for i in differentiable]
        node.positions, node.count = differentiable, len(outputs)
        node.dtypes = [outputs[i].data.dtype for i in differentiable]
        node.needs_input_grad = tuple(a.requires_grad if isinstance(a, Tensor) else False
                                      for a in tensors)
        node.arg_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        node.parents = tuple(tensors)
        node._epoch = function._InPlace.epoch
        packed_dtype = np.result_type(*node.dtypes)
        packed = np.concatenate([outputs[i].data.reshape(-1).astype(packed_dtype, copy=False)
                                 for i in differentiable]) if len(differentiable) > 1 \
            else outputs[differentiable[0]].data
        joined = Tensor._from_op(packed, node)
        results = list(outputs)
        if len(differentiable) == 1 and packed is outputs[differentiable[0]].data:
            results[differentiable[0]] = joined
        else:
            start = 0
            for i, shape in zip(differentiable, node.shapes, strict=True):
                size = int(np.prod(shape))
                piece = joined[start:start + size].reshape(shape)
                if piece.data.dtype != outputs[i].data.dtype:
                    piece = piece.astype(outputs[i].data.dtype)
                results[i] = piece
                start += size
        return results[0] if single else tuple(results)

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a custom Function must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a custom Function must define backward(ctx, *grads) to be "
                                  "differentiated")

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("forward-mode differentiation (jvp) is not supported")


def _as_tensor(value: Any) -> Any:
    if isinstance(value, Tensor) or value is None:
        return value
    if isinstance(value, np.ndarray):
        return Tensor(value)
    return value


class _CustomNode(function.Function):
    """The graph node of one call of a custom Function: calls the user's backward on
    Tensors and maps its results back to the tensor inputs."""

    @staticmethod
    def backward(node: _CustomNode, grad_out: np.ndarray):
        grads_out = []
        start = 0
        for position, shape, dtype in zip(node.positions, node.shapes, node.dtypes,
                                          strict=True):
            size = int(np.prod(shape))
            piece = grad_out if len(node.positions) == 1 else \
                grad_out[start:start + size].reshape(shape)
            grads_out.append((position, Tensor._wrap(piece.astype(dtype, copy=False))))
            start += size
        full = [None] * node.count
        for position, grad in grads_out:
            full[position] = grad
        materialize = node.ctx.__dict__.get("materialize_grads", True)
        if materialize:
            full = [Tensor._wrap(np.zeros((), np.float32)) if g is None else g for g in full]
        with no_grad():
            result = node.function.backward(node.ctx, *full)
        result = result if isinstance(result, tuple) else (result,)
        grads = []
        for position in node.arg_positions:
            g = result[position] if position < len(result) else None
            grads.append(None if g is None else g.data if isinstance(g, Tensor)
                         else np.asarray(g))
        return tuple(grads)

    def __repr__(self) -> str:
        return f"<{self.__dict__.get('function', type(self)).__name__}Backward>"


class FunctionCtx:
    """The type of `ctx` (PyTorch's torch.autograd.function.FunctionCtx), for annotations."""
