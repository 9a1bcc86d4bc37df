"""The graph node (`Function`) and the backward pass that walks the graph in reverse.

Every primitive op subclasses `Function` and writes its `forward` and `backward` side by side.
The engine here does the rest once for all ops: it records parents, undoes broadcasting, orders
the nodes, accumulates gradients, and frees each node's saved arrays after use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from steepest.autograd.grad_mode import _grad_state

if TYPE_CHECKING:
    from steepest.tensor import Tensor


class _InPlace:
    # How many in-place writes the process has made (see autograd/inplace.py). A node records
    # the count when it is created; backward looks closer only at nodes older than a write.
    epoch: int = 0


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
    _epoch: int

    # ---------------------------------------------------------------- PyTorch's ctx API
    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or arrays) for backward; read them back as `ctx.saved_tensors`.

        Tensors are checked when read: one written in place since is an error, as in PyTorch.
        """
        from steepest.autograd.inplace import owner

        self.to_save = tensors
        self._saved_versions = tuple(
            owner(t)._writes if isinstance(t, Tensor) else None for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if "to_save" not in self.__dict__:
            return ()
        from steepest.autograd.inplace import modified_message, owner

        for i, (t, version) in enumerate(zip(self.to_save, self._saved_versions, strict=True)):
            if version is not None and owner(t)._writes != version:
                raise RuntimeError(modified_message(
                    self, f"saved tensor {i} (now at version {owner(t)._writes}; expected "
                          f"version {version})"))
        return self.to_save

    saved = saved_tensors

    @property
    def next_functions(self) -> tuple:
        """((node, 0), ...) for each input, as PyTorch's grad_fn.next_functions: the input's
        grad_fn, an AccumulateGrad for a leaf that requires grad, None for a constant."""
        links = []
        for parent, needed in zip(self.parents, self.needs_input_grad, strict=False):
            fn = getattr(parent, "grad_fn", None)
            if fn is None and needed:
                fn = AccumulateGrad(parent)
            links.append((fn, 0))
        return tuple(links)

    @property
    def name(self) -> str:
        return f"{type(self).__name__}Backward"

    def mark_dirty(self, *tensors: Any) -> None:
        """Accepted for PyTorch compatibility: `Tensor.<op>_` methods already bump versions."""

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self.non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

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
                if x._base is not None and x._view_epoch < x._base._written_at:
                    refresh_view(x)  # a view whose base was written in place since
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
        record = any_needs and _grad_state.enabled
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        out = cls.forward(ctx, *arrays, **params)
        if not record:
            return Tensor._wrap(out)
        ctx.parents = inputs
        ctx._epoch = _InPlace.epoch
        return Tensor._from_op(out, ctx)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


class AccumulateGrad:
    """Where a leaf's gradient lands (what next_functions shows for a leaf)."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.next_functions = ()

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


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


def _topological_order(roots: list, epoch: int) -> list:
    """Nodes reachable from `roots`, each after every node that consumes its output.

    Iterative depth-first search (a recursive one overflows on deep graphs); a node is marked when
    it is expanded, not when it is pushed, so that the post-order is a true topological order.
    """
    order = []
    visited = set()
    for root in roots:
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
            # A node older than the latest in-place write may hold a parent whose grad_fn has
            # changed since; parents_of gives the history it saw.
            for parent in (node.parents if node._epoch == epoch else parents_of(node)):
                fn = getattr(parent, "grad_fn", None)  # constants (floats, arrays) have none
                if fn is not None and fn not in visited:
                    stack.append((fn, False))
    order.reverse()
    return order


def run_backward(roots: list, grads: list, retain_graph: bool = False,
                 inputs: list | None = None) -> list | None:
    """Send each grad (d output / d root) back through the graph.

    Without `inputs`, gradients accumulate into every leaf's `.grad` (`Tensor.backward`). With
    `inputs`, nothing is accumulated: d output / d input is returned for each, None where the
    input is not reached (`autograd.grad`).
    """
    captured = None if inputs is None else {id(t): None for t in inputs}
    # Non-leaf inputs are read where their node receives its gradient.
    capture_at = {} if inputs is None else {
        t.grad_fn: t for t in inputs if t.grad_fn is not None}
    pending = {}
    shared = set()
    for root, grad in zip(roots, grads, strict=True):
        if root.grad_fn is None:
            _deliver(root, grad, shared, captured)
        elif root.grad_fn in pending:
            pending[root.grad_fn] = pending[root.grad_fn] + grad
        else:
            pending[root.grad_fn] = grad
    epoch = _InPlace.epoch
    order = _topological_order(list(pending), epoch)
    # `shared` holds ids of arrays that a node or leaf may still hold: a leaf copies such an
    # array before it owns it, or a later in-place `+=` would change a gradient that is still in
    # use. Each node's grad_out joins the set, because passing it on unchanged (Add hands it to
    # both inputs) is how one array reaches two places; anything else a backward returns is
    # fresh.
    for node in order:
        grad_out = pending.pop(node, None)
        if grad_out is None:
            continue
        parents = node.parents
        if node._epoch != epoch:  # something was written in place after this node was made
            check_saved_unmodified(node)
            parents = parents_of(node)
        shared.add(id(grad_out))
        extras = node.__dict__
        if "hooks" in extras:
            grad_out = _run_hooks(extras["hooks"], grad_out)
        if capture_at and node in capture_at:
            captured[id(capture_at[node])] = grad_out
        retained = extras.get("retained_output")
        if retained is not None and retained() is not None and captured is None:
            _accumulate_leaf(retained(), grad_out, shared)
        grads = node.backward(node, grad_out)
        if grads.__class__ is not tuple:
            grads = (grads,)
        for parent, needed, g in zip(parents, node.needs_input_grad, grads, strict=False):
            if not needed or g is None:
                continue
            if g.shape != parent.data.shape:
                g = unbroadcast(g, parent.data.shape)
            fn = parent.grad_fn
            if fn is None:
                if captured is None:
                    _accumulate_leaf(parent, g, shared)
                else:
                    _deliver(parent, g, shared, captured)
            elif fn in pending:
                pending[fn] = pending[fn] + g
            else:
                pending[fn] = g
        if not retain_graph:
            # Free the saved arrays now: memory stays flat however many steps are taken.
            extras.clear()
    if captured is not None:
        return [captured[id(t)] for t in inputs]
    return None


def _run_hooks(hooks: list, grad: np.ndarray) -> np.ndarray:
    """Tensor.register_hook: each hook sees the gradient as a Tensor and may replace it."""
    for hook in hooks:
        result = hook(Tensor._wrap(grad))
        if result is not None:
            grad = result.data if isinstance(result, Tensor) else np.asarray(result)
    return grad


def _deliver(leaf: Tensor, g: np.ndarray, shared: set, captured: dict | None) -> None:
    if captured is not None:
        key = id(leaf)
        if key in captured:
            previous = captured[key]
            captured[key] = g if previous is None else previous + g
        return
    _accumulate_leaf(leaf, g, shared)


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, shared: set) -> None:
    hooks = leaf._hooks
    if hooks:
        g = _run_hooks(hooks, g)
    if g.dtype != leaf.data.dtype:
        g = g.astype(leaf.data.dtype)
    grad = leaf._grad
    if grad is None:
        owned = g.base is None and g.flags.writeable and id(g) not in shared
        array = g if owned else g.copy()
        leaf._grad = Tensor._wrap(array)
        shared.add(id(array))
    else:
        grad.data += g


from steepest.autograd.inplace import (  # noqa: E402
    check_saved_unmodified,
    parents_of,
    refresh_view,
)
from steepest.tensor import Tensor  # noqa: E402  (Tensor imports this module's users)
