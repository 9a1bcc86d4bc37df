"""Reductions with PyTorch's arguments: sum, mean, var/std, prod, cumsum, logsumexp, norms,
max/min (values and indices), top-k and sorting, all/any.

`dim` is an int, a tuple of ints or None (all axes); a 0-d tensor accepts dim 0 or -1, as in
PyTorch. `max(dim)`, `min(dim)`, `sort`, `topk` return named tuples (values, indices); the
values are gathered at the indices, so the gradient goes to the element each index names.
`amax`/`amin` and `max()` over everything share the gradient equally among ties (PyTorch's).
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from steepest.autograd import ops
from steepest.functional.pointwise import _float, _tensor, maximum, minimum, with_out, write_out
from steepest.tensor import Tensor, _data, _dim

# PyTorch's torch.return_types: tuples whose fields are also named.
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])
sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])
aminmax_result = namedtuple("aminmax", ["min", "max"])


def reduce_axes(ndim: int, dim: Any) -> int | tuple | None:
    """dim as NumPy's axis: None for all, ints made non-negative; a 0-d tensor's dim 0 or -1
    (its only axis, in PyTorch's view) is all of it."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        axes = tuple(_dim(int(d), ndim) for d in dim)
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"dim {axes} appears multiple times in the list of dims")
        return None if ndim == 0 else axes
    axis = _dim(int(dim), ndim)
    return None if ndim == 0 else axis


def _cast_for(x: Tensor, dtype: Any) -> Tensor:
    return x if dtype is None else x.astype(dtype)


@with_out
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A001
        dtype: Any = None) -> Tensor:
    """Σ over dim (all if None). Integers and bools sum to int64, as PyTorch."""
    x = _cast_for(_tensor(input), dtype)
    if dtype is None and x.data.dtype.kind in "biu" and x.data.dtype != np.int64:
        x = x.astype(np.int64)
    return ops.Sum.apply(x, axis=reduce_axes(x.ndim, dim), keepdims=bool(keepdim))


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Σ over dim treating NaN as 0."""
    x = _tensor(input)
    return sum(ops.Where.apply(np.isnan(x.data), 0.0, x), dim, keepdim, dtype=dtype)


def _floating(x: Tensor, what: str) -> Tensor:
    """x itself if it is float or complex; PyTorch refuses integers in mean, var, std, norm."""
    if x.data.dtype.kind not in "fc":
        raise RuntimeError(f"{what}: input dtype must be a floating point or complex dtype, "
                           f"got {x.data.dtype} (use .float() first)")
    return x


@with_out
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Σ / n over dim. Only float tensors (or a float `dtype`), as PyTorch."""
    x = _floating(_cast_for(_tensor(input), dtype), "mean()")
    return ops.Mean.apply(x, axis=reduce_axes(x.ndim, dim), keepdims=bool(keepdim))


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *,
            dtype: Any = None) -> Tensor:
    x = _tensor(input)
    valid = ~np.isnan(x.data)
    return nansum(x, dim, keepdim, dtype=dtype) / Tensor._wrap(
        np.asarray(valid.sum(axis=reduce_axes(x.ndim, dim), keepdims=keepdim)))


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None and unbiased is not None:
        raise RuntimeError("var/std: give either unbiased or correction, not both")
    if correction is not None:
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


def _count(shape: tuple, axes: Any) -> int:
    if axes is None:
        return int(np.prod(shape))
    axes = (axes,) if isinstance(axes, int) else axes
    return int(np.prod([shape[a] for a in axes]))


@with_out
def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Σ (x − mean)² / (n − correction) over dim; correction 1 (Bessel's) by default,
    `unbiased=False` or `correction=0` for the population variance. n <= correction gives
    inf or NaN, as PyTorch."""
    if isinstance(dim, bool):  # the legacy var(unbiased) form
        dim, unbiased = None, dim
    x = _floating(_tensor(input), "std and var")
    axes = reduce_axes(x.ndim, dim)
    centred = x - ops.Mean.apply(x, axis=axes, keepdims=True)
    squares = ops.Sum.apply(centred * centred, axis=axes, keepdims=bool(keepdim))
    divisor = builtins_max(_count(x.shape, axes) - _correction(unbiased, correction), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return squares / float(divisor)


@with_out
def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """√var (see `var`). Where the variance is 0 the gradient is 0, as PyTorch's (√ has an
    infinite slope there): √(var + [var = 0]) · [var ≠ 0] has the same values and that slope."""
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = var(input, dim, unbiased, keepdim, correction=correction)
        zero = variance.data == 0
        if not zero.any():
            return ops.Sqrt.apply(variance)
        dtype = variance.data.dtype
        return ops.Sqrt.apply(variance + zero.astype(dtype)) * (~zero).astype(dtype)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


@with_out
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """Π over one dim (or all); the gradient is exact when some elements are 0."""
    x = _cast_for(_tensor(input), dtype)
    if dtype is None and x.data.dtype.kind in "biu" and x.data.dtype != np.int64:
        x = x.astype(np.int64)
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod(): dim must be a single int (PyTorch has no tuple form)")
    return ops.Prod.apply(x, axis=reduce_axes(x.ndim, dim), keepdims=bool(keepdim))


@with_out
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sums along dim (z_i = Σ_{j<=i} x_j). Integers sum to int64."""
    x = _cast_for(_tensor(input), dtype)
    if dtype is None and x.data.dtype.kind in "biu" and x.data.dtype != np.int64:
        x = x.astype(np.int64)
    axis = _dim(int(dim), x.ndim)
    if x.ndim == 0:
        return ops.Cumsum.apply(x.reshape(1), axis=0).reshape(())
    return ops.Cumsum.apply(x, axis=axis)


@with_out
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running products along dim, as exp-free composite: z_i = Π_{j<=i} x_j."""
    x = _cast_for(_tensor(input), dtype)
    axis = _dim(int(dim), x.ndim)
    if x.ndim == 0:
        return x.clone()
    n = x.shape[axis]
    index = [slice(None)] * x.ndim
    parts = []
    running = None
    for i in range(n):
        index[axis] = slice(i, i + 1)
        item = x[tuple(index)]
        running = item if running is None else running * item
        parts.append(running)
    if not parts:
        return x.clone()
    return ops.Concatenate.apply(*parts, axis=axis)


@with_out
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log Σ exp(x) over dim, computed stably (shifted by the max, which gets no gradient:
    the result does not depend on the shift)."""
    x = _float(input)
    axes = reduce_axes(x.ndim, dim)
    if x.data.size == 0:
        return ops.Log.apply(ops.Sum.apply(ops.Exp.apply(x), axis=axes, keepdims=bool(keepdim)))
    shift = np.max(x.data, axis=axes, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0).astype(x.data.dtype)
    total = ops.Sum.apply(ops.Exp.apply(x - shift), axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        out = ops.Log.apply(total) + shift
    if keepdim:
        return out
    return out.reshape(()) if axes is None else out.squeeze(axes)


def _norm_order(p: Any) -> float:
    if isinstance(p, str):
        if p == "fro":
            return 2.0
        if p in ("inf", "Inf"):
            return math.inf
        raise RuntimeError(f"norm: p={p!r} is not supported (use a number, 'fro', inf)")
    return float(p)


@with_out
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """The p-norm of the elements over dim (all if None): (Σ|x|^p)^(1/p); 'fro' is p = 2,
    inf the largest |x|. Gradient 0 where the norm is 0 (PyTorch's subgradient)."""
    x = _cast_for(_floating(_tensor(input), "norm"), dtype)
    if p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("norm(p='nuc') (the nuclear norm) is not supported")
    return ops.VectorNorm.apply(x, p=_norm_order(p), axis=reduce_axes(x.ndim, dim),
                                keepdims=bool(keepdim))


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None, out: Any = None) -> Tensor:
    """`torch.linalg.vector_norm`."""
    return norm(x, ord, dim, keepdim, dtype=dtype, out=out)


def _values_at(x: Tensor, indices: np.ndarray, axis: int) -> Tensor:
    """x gathered along axis at indices (same ndim): values whose gradient goes to them."""
    return ops.TakeAlongAxis.apply(x, index=indices, axis=axis)


def _selecting_reduction(x: Tensor, dim: int, keepdim: bool, pick, result):
    """(values, indices) of an argmax-like choice along dim (PyTorch's max(dim), min(dim))."""
    if x.ndim == 0:
        _dim(int(dim), 0)
        return result(x * 1 if x.requires_grad else x.clone(), Tensor._wrap(
            np.zeros((), dtype=np.int64)))
    axis = _dim(int(dim), x.ndim)
    if x.shape[axis] == 0:
        raise IndexError(f"max(): Expected reduction dim {axis} to have non-zero size.")
    indices = np.expand_dims(pick(x.data, axis=axis), axis)
    values = _values_at(x, indices, axis)
    if not keepdim:
        values = values.squeeze(axis)
        indices = np.squeeze(indices, axis)
    return result(values, Tensor._wrap(indices.astype(np.int64)))


def _check_tuple_dim(dim: Any, name: str) -> None:
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}(): dim must be one int (it returns values and indices); "
                        f"for several dims use a{name}(dim={tuple(dim)})")


def max(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A001
        out: Any = None) -> Any:
    """max(x): the largest value (ties share the gradient); max(x, dim, keepdim): named tuple
    (values, indices), the gradient to the first largest; max(x, other): elementwise."""
    return _max_or_min("max", input, dim, keepdim, out)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A001
        out: Any = None) -> Any:
    """min(x), min(x, dim, keepdim) -> (values, indices), or min(x, other): see `max`."""
    return _max_or_min("min", input, dim, keepdim, out)


_MAX_MIN = {"max": (maximum, ops.Max, np.argmax, max_result),
            "min": (minimum, ops.Min, np.argmin, min_result)}


def _max_or_min(name: str, input: Tensor, dim: Any, keepdim: bool, out: Any) -> Any:
    elementwise, reduction, pick, result_type = _MAX_MIN[name]
    if isinstance(dim, Tensor):
        return elementwise(input, dim, out=out)
    x = _tensor(input)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}(): keepdim needs a dim")
        result = reduction.apply(x, axis=None, keepdims=False)
    else:
        _check_tuple_dim(dim, name)
        result = _selecting_reduction(x, dim, keepdim, pick, result_type)
    return result if out is None else write_out(out, result)


@with_out
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Largest values over dim (all for () or None); ties share the gradient equally."""
    x = _tensor(input)
    return ops.Max.apply(x, axis=reduce_axes(x.ndim, dim), keepdims=bool(keepdim))


@with_out
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Smallest values over dim (all for () or None); ties share the gradient equally."""
    x = _tensor(input)
    return ops.Min.apply(x, axis=reduce_axes(x.ndim, dim), keepdims=bool(keepdim))


def aminmax(input: Tensor, *, dim: Any = None, keepdim: bool = False) -> tuple:
    return aminmax_result(amin(input, dim, keepdim), amax(input, dim, keepdim))


def _arg(pick, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    x = _data(input)
    x = np.asarray(x)
    if dim is None:
        index = np.asarray(pick(x))
        return Tensor._wrap(index.reshape((1,) * x.ndim) if keepdim else index)
    axis = _dim(int(dim), x.ndim)
    if x.ndim == 0:
        return Tensor._wrap(np.zeros((), dtype=np.int64))
    return Tensor._wrap(np.asarray(pick(x, axis=axis, keepdims=bool(keepdim))))


@with_out
def argmax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (the first one; over the flattened tensor if dim is None)."""
    return _arg(np.argmax, input, dim, keepdim)


@with_out
def argmin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _arg(np.argmin, input, dim, keepdim)


def _logical(reducer, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    x = np.asarray(_data(input))
    axes = reduce_axes(x.ndim, dim)
    out = np.asarray(reducer(x, axis=axes, keepdims=bool(keepdim)))
    if x.dtype == np.uint8:
        out = out.astype(np.uint8)  # PyTorch keeps uint8 for all/any of uint8
    return Tensor._wrap(out)


@with_out
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every element (over dim) is non-zero: a bool tensor."""
    return _logical(np.all, input, dim, keepdim)


@with_out
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether some element (over dim) is non-zero: a bool tensor."""
    return _logical(np.any, input, dim, keepdim)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    x = np.asarray(_data(input))
    return Tensor._wrap(np.asarray(np.count_nonzero(x, axis=reduce_axes(x.ndim, dim)),
                                   dtype=np.int64))


def _stable_order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Sorting indices along axis; equal values keep their order (descending too). NaN counts
    as the largest value, as in PyTorch."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    reversed_order = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return np.flip(n - 1 - reversed_order, axis)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *,
         out: Any = None) -> tuple:
    """Named tuple (values, indices) sorted along dim; ties keep their order."""
    x = _tensor(input)
    if x.ndim == 0:
        result = sort_result(x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64)))
    else:
        axis = _dim(int(dim), x.ndim)
        order = _stable_order(x.data, axis, bool(descending))
        result = sort_result(_values_at(x, order, axis), Tensor._wrap(order.astype(np.int64)))
    if out is not None:
        return write_out(out, result)
    return result


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    x = np.asarray(_data(input))
    if x.ndim == 0:
        return Tensor._wrap(np.zeros((), dtype=np.int64))
    axis = _dim(int(dim), x.ndim)
    return Tensor._wrap(_stable_order(x, axis, bool(descending)).astype(np.int64))


def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         out: Any = None) -> tuple:
    """Named tuple (values, indices) of the k largest (or smallest) along dim, in order."""
    x = _tensor(input)
    k = int(k)
    size = 1 if x.ndim == 0 else x.shape[_dim(int(dim), x.ndim)]
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range (k={k}, dimension size {size})")
    if x.ndim == 0:
        result = topk_result(x.clone() if k else x.reshape(1)[:0],
                             Tensor._wrap(np.zeros((), dtype=np.int64) if k
                                          else np.zeros(0, dtype=np.int64)))
    else:
        axis = _dim(int(dim), x.ndim)
        order = np.take(_stable_order(x.data, axis, bool(largest)), np.arange(k), axis=axis)
        result = topk_result(_values_at(x, order, axis), Tensor._wrap(order.astype(np.int64)))
    if out is not None:
        return write_out(out, result)
    return result


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> tuple:
    """Named tuple (values, indices) of the k-th smallest along dim (k counts from 1)."""
    x = _tensor(input)
    if x.ndim == 0:
        if k != 1:
            raise IndexError("kthvalue(): selected number k out of range for dimension 0")
        return kthvalue_result(x.clone(), Tensor._wrap(np.zeros((), dtype=np.int64)))
    axis = _dim(int(dim), x.ndim)
    if not 1 <= k <= x.shape[axis]:
        raise IndexError(f"kthvalue(): selected number k out of range for dimension {axis}")
    order = np.take(_stable_order(x.data, axis, False), [k - 1], axis=axis)
    values, indices = _values_at(x, order, axis), order.astype(np.int64)
    if not keepdim:
        values, indices = values.squeeze(axis), np.squeeze(indices, axis)
    return kthvalue_result(values, Tensor._wrap(indices))


def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median (PyTorch's: no averaging of the two middle values); with dim a named
    tuple (values, indices)."""
    x = _tensor(input)
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            return Tensor._wrap(np.asarray(np.nan, dtype=x.data.dtype))
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    axis = _dim(int(dim), x.ndim)
    n = 1 if x.ndim == 0 else x.shape[axis]
    values, indices = kthvalue(x, (n + 1) // 2, axis, keepdim)
    return median_result(values, indices)


# `max`, `min`, `sum`, `all`, `any` above shadow the builtins in this module.
import builtins  # noqa: E402

builtins_max = builtins.max
