"""In-place ops with PyTorch's rules: writes into a tensor's memory, version counters, checks.

An in-place op (`x.add_(y)`, `x -= y`, `x[i] = v`) always writes into `x.data` itself, so the
same Tensor object changes and every view of its memory sees the change. What else happens
depends on the graph:

- Nothing to record (under `no_grad`, or nothing involved requires grad): the write only.
- `x` is a leaf that requires grad, or a view of one: PyTorch's error, because the gradient
  would have to flow into a tensor whose old value no longer exists.
- Otherwise the op is recorded: it runs out of place on x's old identity (same array, same
  `grad_fn`), and x takes the new node as its `grad_fn`. If x is a view, its base's history is
  rewritten too (the base = the old base with the view's elements replaced), as PyTorch's
  CopySlices does.

Version counters. Each write increments the version of the memory's owner (`x._base` for a
view) and stamps it with a process-wide write count, the *epoch*. Every recorded node carries
the epoch of its creation (set in `Function.apply`, one store), so backward can tell cheaply
whether anything was written after a node was made: only then does it look whether an array the
node saved shares memory with a tensor written since, and raise PyTorch's error if so. A write
into a tensor whose producing node saved its output (exp, sigmoid, relu) marks that node stale.
Tensor-level custom Functions check their `save_for_backward` tensors' versions exactly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from steepest.autograd.function import Function, _InPlace
from steepest.autograd.grad_mode import _grad_state
from steepest.autograd.ops import GetItem

if TYPE_CHECKING:
    from steepest.tensor import Tensor

LEAF_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF_MESSAGE = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)
OVERLAP_MESSAGE = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation."
)


def _dtype_name(dtype: np.dtype) -> str:
    names = {"f": "Float", "i": "Long", "u": "Byte", "b": "Bool", "c": "ComplexFloat"}
    return names.get(np.dtype(dtype).kind, str(dtype))


def check_castable(result_dtype, target: Tensor) -> None:
    """PyTorch refuses an in-place result that would change category (float into an int)."""
    if not np.can_cast(result_dtype, target.data.dtype, casting="same_kind"):
        raise RuntimeError(
            f"result type {_dtype_name(result_dtype)} can't be cast to the desired output type "
            f"{_dtype_name(target.data.dtype)} (in-place op on a tensor of dtype "
            f"{target.data.dtype})"
        )


def check_shape(result_shape: tuple, target: Tensor) -> None:
    if tuple(result_shape) != target.data.shape:
        raise RuntimeError(
            f"output with shape {list(target.data.shape)} doesn't match the broadcast shape "
            f"{list(result_shape)} (an in-place op cannot change the tensor's shape)"
        )


def owner(t: Tensor) -> Tensor:
    """The tensor that owns t's memory: t itself, or the base t is a view of."""
    base = t._base
    return t if base is None else base


def bump_version(t: Tensor) -> None:
    """Record a write into t's memory: its owner's version and the epoch of the write.

    The node that produced the written memory (t's, and its base's) is marked stale if it
    saved that memory for backward (exp, tanh, sigmoid and relu keep their output).
    """
    _InPlace.epoch += 1
    root = owner(t)
    root._writes += 1
    root._written_at = _InPlace.epoch
    for node in (t.grad_fn, root.grad_fn):
        if node is not None and saves_memory_of(node, t.data):
            node._stale = True


def saves_memory_of(node: Function, array: np.ndarray) -> bool:
    """Whether anything `node` keeps for backward shares memory with `array`."""
    for value in node.__dict__.values():
        if isinstance(value, np.ndarray):
            if np.may_share_memory(value, array):
                return True
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, np.ndarray) and np.may_share_memory(item, array):
                    return True
    return False


def modified_message(node: Function, what: str) -> str:
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {what} of {node!r} was written in place after {type(node).__name__} "
        "saved it for backward. Hint: do the in-place op on a clone(), or use the out-of-place "
        "form (x = x + y rather than x += y)."
    )


def check_saved_unmodified(node: Function) -> None:
    """Raise PyTorch's error if `node` saved memory that was written in place after it ran.

    Called by backward only for nodes created before the latest in-place write.
    """
    if node.__dict__.get("_stale"):
        raise RuntimeError(modified_message(node, "its output"))
    from steepest.tensor import Tensor

    for i, parent in enumerate(node.parents):
        if isinstance(parent, Tensor) and owner(parent)._written_at > node._epoch \
                and saves_memory_of(node, parent.data):
            what = f"input {i} ([{parent.data.dtype} tensor of shape {parent.data.shape}])"
            raise RuntimeError(modified_message(node, what))


def _detach_saved(node: Function, array: np.ndarray) -> None:
    """Give `node` its own copies of saved arrays that share memory with `array`.

    The op recorded for an in-place write ran on the old values, which the write is about to
    overwrite; the node needs them for backward.
    """
    for name, value in list(node.__dict__.items()):
        if isinstance(value, np.ndarray) and np.may_share_memory(value, array):
            node.__dict__[name] = value.copy()
        elif isinstance(value, tuple) and any(
                isinstance(v, np.ndarray) and np.may_share_memory(v, array) for v in value):
            node.__dict__[name] = tuple(
                v.copy() if isinstance(v, np.ndarray) and np.may_share_memory(v, array) else v
                for v in value)


def alias(t: Tensor) -> Tensor:
    """A second Tensor object for t as it is now: same array and memory owner (so the same
    version counter), same graph position."""
    from steepest.tensor import Tensor

    twin = Tensor._wrap(t.data)
    twin.requires_grad = t.requires_grad
    twin.grad_fn = t.grad_fn
    twin._base = owner(t)
    twin._view_epoch = math.inf  # it stands for the past: never regenerated
    return twin


def _remember(t: Tensor, before: Tensor) -> None:
    """Keep t's identity before a write that changes its grad_fn: nodes made earlier hold t
    itself as a parent, and backward must still find the history they saw (`parents_of`)."""
    if before.grad_fn is not None:
        if t._history is None:
            t._history = []
        t._history.append((_InPlace.epoch, before))


def parents_of(node: Function) -> tuple:
    """node's parents as they were when node was made: a tensor written in place since (its
    grad_fn replaced) is swapped for its alias from before that write. Backward calls this only
    for nodes older than the latest write."""
    resolved = []
    for parent in node.parents:
        history = getattr(parent, "_history", None)
        if history:
            for written_at, before in history:
                if written_at > node._epoch:
                    parent = before
                    break
        resolved.append(parent)
    return tuple(resolved)


def needs_recording(t: Tensor, others: tuple) -> bool:
    if not _grad_state.enabled:
        return False
    if t.requires_grad:
        return True
    from steepest.tensor import Tensor

    return any(isinstance(o, Tensor) and o.requires_grad for o in others)


def check_leaf(t: Tensor) -> None:
    """PyTorch's errors for an in-place op recorded on a leaf that requires grad (or its view)."""
    if t.requires_grad and t.grad_fn is None:
        raise RuntimeError(LEAF_MESSAGE)
    base = t._base
    if base is not None and base.requires_grad and base.grad_fn is None:
        raise RuntimeError(VIEW_OF_LEAF_MESSAGE)


def write(t: Tensor, compute, others: tuple = ()) -> Tensor:
    """Write compute(t) into t, with PyTorch's in-place rules (see the module docstring).

    compute: builds the out-of-place result from a tensor with t's values, e.g.
    `lambda a: a + y`. others: the other tensors involved (they decide whether to record).
    Returns t.
    """
    if not needs_recording(t, others):
        from steepest.autograd.grad_mode import no_grad

        with no_grad():
            result = compute(t)
        _store(t, result)
        return t
    check_leaf(t)
    before = alias(t)
    result = compute(before)
    node = result.grad_fn
    if node is not None:
        _detach_saved(node, t.data)
    _store(t, result)
    if node is None:  # nothing required grad after all (compute dropped the graph)
        return t
    _remember(t, before)
    if t._base is None:
        t.grad_fn = node
        t.requires_grad = True
    else:
        _rewrite_base_history(t, result)
    return t


def _store(t: Tensor, result: Tensor) -> None:
    check_shape(result.data.shape, t)
    check_castable(result.data.dtype, t)
    bump_version(t)
    if result.data is not t.data:
        np.copyto(t.data, result.data, casting="same_kind")


def _rewrite_base_history(view: Tensor, result: Tensor) -> None:
    """After a recorded write into `view`, make its base = old base with the view's elements
    replaced by `result`, and the view = those elements of the new base (PyTorch's CopySlices)."""
    base = view._base
    where = _elements_of(base, view)
    old_base = alias(base)
    _remember(base, old_base)
    new_base = SetItem.apply(old_base, result, steps=(where,))
    base.grad_fn = new_base.grad_fn
    base.requires_grad = True
    view.grad_fn = GetItem.apply(base, index=where).grad_fn
    view.requires_grad = True
    view._view_epoch = _InPlace.epoch


def _elements_of(base: Tensor, view: Tensor) -> tuple:
    """The index (one array per axis of base) of view's elements in base: base[index] has
    view's values in view's shape, whatever view's strides."""
    return np.unravel_index(view_positions(base.data, view.data), base.data.shape)


def refresh_view(view: Tensor) -> None:
    """A view whose base was written in place after the view's grad_fn was made: make its
    grad_fn read the base's current history (PyTorch regenerates such views the same way).
    Called by Function.apply when the stale view is used."""
    base = view._base
    view._view_epoch = _InPlace.epoch
    if not (base.requires_grad and _grad_state.enabled) or view.data.dtype != base.data.dtype:
        return
    before = alias(view)
    view.grad_fn = GetItem.apply(base, index=_elements_of(base, view)).grad_fn
    view.requires_grad = True
    _remember(view, before)


def view_positions(base: np.ndarray, view: np.ndarray) -> np.ndarray:
    """For each element of `view` (an array sharing `base`'s memory), its flat index in `base`
    (C order): an int64 array of view's shape. Works for any strides, even negative."""
    from numpy.lib.array_utils import byte_bounds

    if view.dtype != base.dtype:
        raise RuntimeError(
            f"in-place write through a view of dtype {view.dtype} into memory of dtype "
            f"{base.dtype} is not supported"
        )
    itemsize = base.itemsize
    low, high = byte_bounds(base)
    slots = np.full(max((high - low) // itemsize, 1), -1, dtype=np.int64)

    def over_slots(array: np.ndarray) -> np.ndarray:
        start = (array.__array_interface__["data"][0] - low) // itemsize
        strides = tuple(s // itemsize * slots.itemsize for s in array.strides)
        return np.lib.stride_tricks.as_strided(slots[start:], array.shape, strides)

    over_slots(base)[...] = np.arange(base.size).reshape(base.shape)
    positions = np.array(over_slots(view))
    if (positions < 0).any():
        raise RuntimeError("internal error: a view reaches outside its base's memory")
    if np.unique(positions).size != positions.size:
        raise RuntimeError(OVERLAP_MESSAGE)
    return positions


class SetItem(Function):
    """z = x with z[index] = value (PyTorch's index_put / copy into a slice).

    `index` is a tuple of steps applied one after another (see `Tensor.__setitem__`), so that
    PyTorch's axis placement for mixed integer and array indices is kept.
    dz/dx passes everywhere but at the written elements; dz/dvalue is grad_out[index], summed
    back to value's shape by the engine.
    """

    @staticmethod
    def forward(ctx, x, value, steps):
        ctx.steps = steps
        out = x.copy()
        _region(out, steps, value)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_v = ctx.needs_input_grad
        grad_x = grad_v = None
        if need_x:
            grad_x = np.array(grad_out)
            _region(grad_x, ctx.steps, 0)
        if need_v:
            grad_v = np.array(read_steps(grad_out, ctx.steps))
        return grad_x, grad_v


def read_steps(array: np.ndarray, steps: tuple) -> np.ndarray:
    for step in steps:
        array = array[step]
    return array


def _region(array: np.ndarray, steps: tuple, value: Any) -> None:
    """array[steps...] = value, writing through the views of all but the last step."""
    for step in steps[:-1]:
        array = array[step]
    array[steps[-1]] = value
