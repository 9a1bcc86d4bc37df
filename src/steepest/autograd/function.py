"""The graph node (`Function`) and the backward pass that walks the graph in reverse.

Every primitive op subclasses `Function` and writes its `forward` and `backward` side by side.
The engine here does the rest once for all ops: it records parents, undoes broadcasting, orders
the nodes, accumulates gradients, and frees each node's saved arrays after use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from steepest.autograd.grad_mode import _GradMode

if TYPE_CHECKING:
    from steepest.tensor import Tensor


class Function:
    """A node of the graph: the op that produced one tensor.

    Subclasses define two static methods; `ctx` is the node itself, so anything needed by
    backward is stored on it (`ctx.x = x`):

        forward(ctx, *arrays, **params) -> ndarray
        backward(ctx, grad_out) -> one gradient per positional input (None where not needed)

    Gradients may have the broadcast shape; the engine sums them back to each input's shape.
    A backward may return `grad_out` itself or a view of it: the engine copies before it lets
    anyone write into such an array. Anything else it returns must be fresh, one array per
    input: not an array saved on ctx, and not the same new array for two inputs.
    `ctx.needs_input_grad` says which inputs want gradients, so a backward can skip work (the
    first layer's input never needs one).
    """

    parents: tuple
    needs_input_grad: tuple

    @staticmethod
    def forward(ctx: Function, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run forward on the inputs' arrays and, if any input needs a gradient, record the node."""
        arrays = []
        needs = []
        any_needs = False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.data)
                needs.append(x.requires_grad)
                any_needs = any_needs or x.requires_grad
            else:
                if isinstance(x, np.generic) or (isinstance(x, np.ndarray) and x.ndim == 0):
                    # A NumPy float64 scalar would silently promote float32 arrays (NEP 50).
                    x = x.item()
                arrays.append(x)
                needs.append(False)
        for name, value in params.items():
            if isinstance(value, np.generic):
                params[name] = value.item()
        ctx = cls.__new__(cls)
        record = any_needs and _GradMode.enabled
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        out = cls.forward(ctx, *arrays, **params)
        if not record:
            return Tensor._wrap(out)
        ctx.parents = inputs
        return Tensor._from_op(out, ctx)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient of a broadcast result back to the shape of the input that was broadcast."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = list(range(extra))
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[extra + i] != 1:
            axes.append(extra + i)
    if axes:
        grad = grad.sum(axis=tuple(axes), keepdims=True)
    if extra < 0 or grad.shape[extra:] != tuple(shape):
        raise RuntimeError(
            f"internal error: a backward returned a gradient of shape {grad.shape} for an input "
            f"of shape {shape}; it cannot be summed back (please report this)"
        )
    return grad.reshape(shape)


_RELEASED_MESSAGE = (
    "Trying to backward through the graph a second time (or to use values computed in a graph "
    "that was already backpropagated). The graph's buffers are freed by backward(); call "
    "backward(retain_graph=True) the first time if you need to go through it again."
)


def _topological_order(root: Function) -> list:
    """Nodes reachable from `root`, each after every node that consumes its output.

    Iterative depth-first search (a recursive one overflows on deep graphs); a node is marked when
    it is expanded, not when it is pushed, so that the post-order is a true topological order.
    """
    order = []
    visited = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        if not hasattr(node, "parents"):
            raise RuntimeError(_RELEASED_MESSAGE)
        stack.append((node, True))
        for parent in node.parents:
            fn = getattr(parent, "grad_fn", None)  # constants (floats, arrays) have none
            if fn is not None and fn not in visited:
                stack.append((fn, False))
    order.reverse()
    return order


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Send `grad` (d output / d root) back through the graph into every leaf's `.grad`."""
    if root.grad_fn is None:
        _accumulate_leaf(root, grad, shared=set())
        return
    order = _topological_order(root.grad_fn)
    pending = {root.grad_fn: grad}
    # Ids of arrays that a node or leaf may still hold: a leaf copies such an array before it
    # owns it, or a later in-place `+=` would change a gradient that is still in use. Each
    # node's grad_out joins the set, because passing it on unchanged (Add hands it to both
    # inputs) is how one array reaches two places; anything else a backward returns is fresh.
    shared = set()
    for node in order:
        grad_out = pending.pop(node, None)
        if grad_out is None:
            continue
        shared.add(id(grad_out))
        retained = node.__dict__.get("retained_output")
        if retained is not None and retained() is not None:
            _accumulate_leaf(retained(), grad_out, shared)
        grads = node.backward(node, grad_out)
        if grads.__class__ is not tuple:
            grads = (grads,)
        for parent, needed, g in zip(node.parents, node.needs_input_grad, grads, strict=False):
            if not needed or g is None:
                continue
            if g.shape != parent.data.shape:
                g = unbroadcast(g, parent.data.shape)
            fn = parent.grad_fn
            if fn is None:
                _accumulate_leaf(parent, g, shared)
            elif fn in pending:
                pending[fn] = pending[fn] + g
            else:
                pending[fn] = g
        if not retain_graph:
            # Free the saved arrays now: memory stays flat however many steps are taken.
            node.__dict__.clear()


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, shared: set) -> None:
    if g.dtype != leaf.data.dtype:
        g = g.astype(leaf.data.dtype)
    if leaf.grad is None:
        owned = g.base is None and g.flags.writeable and id(g) not in shared
        leaf.grad = g if owned else g.copy()
        shared.add(id(leaf.grad))
    else:
        leaf.grad += g


from steepest.tensor import Tensor  # noqa: E402  (Tensor imports this module's users)
