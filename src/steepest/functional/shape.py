"""Indexing, joining and reshaping with PyTorch's names: gather, index_select, masked_fill,
repeat, split/chunk, tril/triu, einsum, mm/bmm/outer, flip, roll, and the module-level forms
of the Tensor shape methods.

All are composites of the primitives (GetItem, TakeAlongAxis, Where, Einsum, MatMul, ...), so
their gradients come from those.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from steepest.autograd import ops
from steepest.functional.pointwise import _tensor, with_out, write_out
from steepest.tensor import Tensor, _data, _dim


def _index_array(index: Any, where: str) -> np.ndarray:
    array = np.asarray(_data(index))
    if array.dtype.kind not in "iu":
        raise TypeError(f"{where}: index must be an integer tensor (int64), got dtype "
                        f"{array.dtype}")
    return array


@with_out
def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    """The entries of input at `index` (1-D, or 0-d) along dim; repeated indices accumulate
    their gradients."""
    x = _tensor(input)
    index = _index_array(index, "index_select")
    if index.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got "
                         f"{index.ndim}-D")
    if x.ndim == 0:
        if index.size != 1:
            raise IndexError(f"index_select(): Index to scalar can have only 1 value, got "
                             f"{index.size} value(s)")
        return x.reshape(1)[index.reshape(-1)].reshape(index.shape if index.ndim else ())
    axis = _dim(int(dim), x.ndim)
    _check_range(index, x.shape[axis], "index_select", axis)
    return x[(slice(None),) * axis + (index.reshape(-1),)]


def _check_range(index: np.ndarray, size: int, where: str, axis: int) -> None:
    if index.size and (index.min() < -size or index.max() >= size):
        bad = index[(index < -size) | (index >= size)].reshape(-1)[0]
        raise IndexError(f"{where}(): index {bad} is out of bounds for dimension {axis} with "
                         f"size {size}")


@with_out
def gather(input: Tensor, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] for dim = 1 (and likewise for other dims).

    index has input's number of dims and may be smaller in every dim but `dim`.
    """
    x = _tensor(input)
    index = _index_array(index, "gather")
    if x.ndim == 0:
        x = x.reshape(1)
        out = gather(x, 0, index.reshape(-1) if index.ndim else index.reshape(1))
        return out.reshape(index.shape)
    if index.ndim != x.ndim:
        raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions "
                           f"as input tensor (index {index.ndim}, input {x.ndim})")
    axis = _dim(int(dim), x.ndim)
    for d, (n_index, n_input) in enumerate(zip(index.shape, x.shape, strict=True)):
        if d != axis and n_index > n_input:
            raise RuntimeError(f"gather(): Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be no larger than self "
                               f"{list(x.shape)} apart from dimension {axis}")
    _check_range(index, x.shape[axis], "gather", axis)
    if any(n_index < n_input for d, (n_index, n_input) in
           enumerate(zip(index.shape, x.shape, strict=True)) if d != axis):
        x = x[tuple(slice(None) if d == axis else slice(0, n) for d, n in
                    enumerate(index.shape))]
    return ops.TakeAlongAxis.apply(x, index=np.where(index < 0, index + x.shape[axis], index),
                                   axis=axis)


def _scatter(input: Tensor, dim: int, index: Any, src: Any, add: bool, where: str) -> Tensor:
    x = _tensor(input)
    index = _index_array(index, where)
    axis = _dim(int(dim), x.ndim)
    if index.ndim == 0 and x.ndim <= 1:  # a 0-d index into a vector (one-hot by scatter_)
        index = index.reshape(1)
    if index.ndim != x.ndim:
        raise RuntimeError(f"{where}(): Index tensor must have the same number of dimensions "
                           f"as self tensor")
    _check_range(index, x.shape[axis], where, axis)
    index = np.where(index < 0, index + x.shape[axis], index)
    if isinstance(src, Tensor):
        if src.data.dtype != x.data.dtype:
            src = src.astype(x.data.dtype)
    else:
        src = np.asarray(src, dtype=x.data.dtype)
    return ops.ScatterAlongAxis.apply(x, src, index=index, axis=axis, add=add)


def scatter(input: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """input with src (a tensor, or a number `value`) written at index along dim: for dim 1,
    out[i][index[i][j]] = src[i][j]. With a repeated index the last write wins here (PyTorch
    leaves it unspecified)."""
    if reduce == "add":
        return scatter_add(input, dim, index, src if src is not None else value)
    if reduce is not None:
        raise NotImplementedError(f"scatter(reduce={reduce!r}) is not supported")
    return _scatter(input, dim, index, value if src is None else src, False, "scatter")


def scatter_add(input: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """input with src added at index along dim (repeated indices add up)."""
    return _scatter(input, dim, index, src, True, "scatter_add")


def take_along_dim(input: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    x = _tensor(input)
    if dim is None:
        return gather(x.reshape(-1), 0, np.asarray(_data(indices)).reshape(-1))
    index = np.asarray(_data(indices))
    axis = _dim(int(dim), x.ndim)
    shape = np.broadcast_shapes(
        tuple(1 if d == axis else n for d, n in enumerate(x.shape)),
        tuple(1 if d == axis else n for d, n in enumerate(index.shape)))
    x = x.expand(tuple(n if d != axis else x.shape[axis] for d, n in enumerate(shape)))
    index = np.broadcast_to(index, tuple(n if d != axis else index.shape[axis]
                                         for d, n in enumerate(shape)))
    return gather(x, axis, index)


def take(input: Tensor, index: Any) -> Tensor:
    """input treated as 1-D, at `index` (any shape)."""
    return _tensor(input).reshape(-1)[np.asarray(_data(index))]


@with_out
def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """input with `value` where mask (bool, broadcast to input) is true; value may be a 0-d
    tensor (it then gets the gradient of the filled places)."""
    x = _tensor(input)
    condition = np.asarray(_data(mask))
    if condition.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{condition.dtype}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        fill = value if value.data.dtype == x.data.dtype else value.astype(x.data.dtype)
    else:
        fill = np.asarray(value, dtype=x.data.dtype)
    out = ops.Where.apply(condition, fill, x)
    if out.shape != x.shape:
        raise RuntimeError(f"masked_fill: mask of shape {condition.shape} does not broadcast "
                           f"to the input's shape {x.shape}")
    return out


def masked_select(input: Tensor, mask: Any) -> Tensor:
    """The elements where mask is true, as a 1-D tensor."""
    x = _tensor(input)
    condition = np.asarray(_data(mask))
    shape = np.broadcast_shapes(x.shape, condition.shape)
    return x.expand(shape)[np.broadcast_to(condition, shape)]


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """Tile input `sizes` times along each dim (more sizes than dims add leading dims):
    (2, 3).repeat(2, 1, 2) -> (2, 2, 6). A composite of reshape and expand."""
    x = _tensor(input)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    # (a, b) repeated (r, s): view as (1, a, 1, b), expand to (r, a, s, b), merge pairs.
    interleaved = tuple(n for pair in ((1, d) for d in shape) for n in pair)
    expanded = tuple(n for r, d in zip(sizes, shape, strict=True) for n in (r, d))
    out = x.reshape(interleaved).expand(expanded)
    return out.reshape(tuple(r * d for r, d in zip(sizes, shape, strict=True)))


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    x = _tensor(input)
    dims = tuple(dims)
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element repeated `repeats` times (an int or one count per element) along dim
    (flattened if None)."""
    x = _tensor(input)
    if dim is None:
        x, axis = x.reshape(-1), 0
    else:
        axis = _dim(int(dim), x.ndim)
    counts = np.asarray(_data(repeats))
    index = np.repeat(np.arange(x.shape[axis]), counts)
    return x[(slice(None),) * axis + (index,)]


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Pieces along dim: of size split_size (the last one smaller), or of the listed sizes."""
    x = _tensor(tensor)
    axis = _dim(int(dim), x.ndim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={size}")
        # An empty dim still gives one (empty) piece, as PyTorch.
        sizes = [builtins.min(size, n - start) for start in range(0, n, size)] if size and n \
            else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {axis}), but got "
                               f"split_sizes={sizes}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * axis + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    x = _tensor(input)
    axis = _dim(int(dim), x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        base, extra = divmod(n, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
    else:
        bounds = [0] + [builtins.min(int(i), n) for i in indices_or_sections] + [n]
        sizes = [builtins.max(b - a, 0) for a, b in zip(bounds, bounds[1:], strict=False)]
    return split(x, sizes, axis)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` pieces of ⌈n / chunks⌉ along dim (PyTorch's rule: fewer if they run
    out)."""
    x = _tensor(input)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    axis = _dim(int(dim), x.ndim)
    n = x.shape[axis]
    size = -(-n // chunks) if n else 0
    if size == 0:
        return tuple(x[(slice(None),) * axis + (slice(0, 0),)] for _ in range(
            chunks if n == 0 else 1))
    return split(x, size, axis)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along dim, each without that dim."""
    x = _tensor(input)
    axis = _dim(int(dim), x.ndim)
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    x = _tensor(input)
    axis = _dim(int(dim), x.ndim)
    start = int(_data(start)) % builtins.max(x.shape[axis], 1) if int(_data(start)) < 0 \
        else int(_data(start))
    if start + length > x.shape[axis]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({x.shape[axis]}).")
    return x[(slice(None),) * axis + (slice(start, start + length),)]


def select(input: Tensor, dim: int, index: int) -> Tensor:
    x = _tensor(input)
    axis = _dim(int(dim), x.ndim)
    return x[(slice(None),) * axis + (int(index),)]


def _triangle(input: Tensor, diagonal: int, upper: bool) -> Tensor:
    x = _tensor(input)
    if x.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
                           f"dimensions")
    rows, cols = x.shape[-2:]
    keep = (np.triu if upper else np.tril)(np.ones((rows, cols), dtype=bool), k=int(diagonal))
    return ops.Where.apply(keep, x, np.zeros((), dtype=x.data.dtype))


@with_out
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (below and on `diagonal`), zeros elsewhere."""
    return _triangle(input, diagonal, upper=False)


@with_out
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (above and on `diagonal`), zeros elsewhere."""
    return _triangle(input, diagonal, upper=True)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = np.int64,
                 device: Any = None) -> Tensor:
    return Tensor._wrap(np.stack(np.tril_indices(row, offset, col)).astype(dtype))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = np.int64,
                 device: Any = None) -> Tensor:
    return Tensor._wrap(np.stack(np.triu_indices(row, offset, col)).astype(dtype))


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as torch.einsum: 'ij,jk->ik', implicit outputs, '...' broadcast
    dims, repeated letters (diagonals); operands may also be given as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [_tensor(o) for o in operands]
    inputs, output = _parse_einsum(equation.replace(" ", ""), [t.ndim for t in tensors])
    dtype = np.result_type(*[t.data.dtype for t in tensors])
    tensors = [t if t.data.dtype == dtype else t.astype(dtype) for t in tensors]
    return ops.Einsum.apply(*tensors, inputs=tuple(inputs), output=output)


def _parse_einsum(equation: str, ndims: list[int]) -> tuple[list[str], str]:
    """Explicit subscripts: '...' replaced by letters unused elsewhere, the output written."""
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum(): {len(terms)} operand subscripts for {len(ndims)} operands")
    used = set(equation) - set(".,->")
    spare = [c for c in _LETTERS if c not in used]
    ellipsis_dims = 0
    for term, ndim in zip(terms, ndims, strict=True):
        if "..." in term:
            ellipsis_dims = builtins.max(ellipsis_dims, ndim - len(term.replace("...", "")))
    broadcast = "".join(spare[:ellipsis_dims])
    inputs = []
    for term, ndim in zip(terms, ndims, strict=True):
        if "..." in term:
            count = ndim - len(term.replace("...", ""))
            term = term.replace("...", broadcast[ellipsis_dims - count:])
        if len(term) != ndim:
            raise ValueError(f"einsum(): the number of subscripts in the equation ({len(term)}) "
                             f"does not match the number of dimensions ({ndim}) for an operand")
        inputs.append(term)
    if arrow:
        output = rhs.replace("...", broadcast)
    else:
        counts = {}
        for term in inputs:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        output = broadcast + "".join(sorted(c for c, n in counts.items()
                                            if n == 1 and c not in broadcast))
    return inputs, output


@with_out
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two vectors: (n,), (m,) -> (n, m)."""
    a, b = _tensor(input), _tensor(vec2)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D vectors, got shapes {a.shape} and {b.shape}")
    return a.reshape(-1, 1) * b.reshape(1, -1)


ger = outer


@with_out
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors (no broadcasting): (n, k) @ (k, m) -> (n, m)."""
    a, b = _tensor(input), _tensor(mat2)
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: self must be a matrix (got {a.ndim}-D) and mat2 must be a "
                           f"matrix (got {b.ndim}-D)")
    _same_dtype(a, b, "mm")
    return ops.matmul(a, b)


@with_out
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of 3-D tensors: (b, n, k) @ (b, k, m) -> (b, n, m)."""
    a, b = _tensor(input), _tensor(mat2)
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"bmm: batch1 must be a 3D tensor (got {a.ndim}-D) and batch2 must "
                           f"be a 3D tensor (got {b.ndim}-D)")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {a.shape} and {b.shape}")
    _same_dtype(a, b, "bmm")
    return ops.matmul(a, b)


@with_out
def mv(input: Tensor, vec: Tensor) -> Tensor:
    a, b = _tensor(input), _tensor(vec)
    if a.ndim != 2 or b.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {a.shape}, {b.shape}")
    return ops.matmul(a, b)


@with_out
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    a, b = _tensor(input), _tensor(tensor)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return ops.matmul(a, b)


inner = dot


def _same_dtype(a: Tensor, b: Tensor, where: str) -> None:
    if a.data.dtype != b.data.dtype:
        raise RuntimeError(f"{where}: expected m1 and m2 to have the same dtype, but got: "
                           f"{a.data.dtype} != {b.data.dtype}")


def flip(input: Tensor, dims: Any) -> Tensor:
    """Reverse the order along dims (a new tensor)."""
    x = _tensor(input)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    axes = {_dim(int(d), x.ndim) for d in dims}
    if not axes or x.ndim == 0:
        return x.clone()
    # A copy, as PyTorch's flip (a view would let in-place writes reach the input).
    return x[tuple(slice(None, None, -1) if d in axes else slice(None)
                   for d in range(x.ndim))].clone()


def fliplr(input: Tensor) -> Tensor:
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    return flip(input, (0,))


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements along dims, wrapping around (the flattened tensor if dims is None)."""
    x = _tensor(input)
    if dims is None:
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = x
    for shift, dim in zip(shifts, dims, strict=True):
        axis = _dim(int(dim), x.ndim)
        n = x.shape[axis]
        if n:
            index = (np.arange(n) - int(shift)) % n
            out = out[(slice(None),) * axis + (index,)]
    return out


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    x = _tensor(input)
    a, b = (_dim(int(d), x.ndim) for d in dims)
    k %= 4
    if k == 1:
        return flip(x, (b,)).transpose(a, b)
    if k == 2:
        return flip(x, (a, b))
    if k == 3:
        return flip(x, (a,)).transpose(a, b)
    return x.clone()


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    x = _tensor(input)
    a, b = _dim(int(dim1), x.ndim), _dim(int(dim2), x.ndim)
    rows = np.arange(builtins.max(0, -offset), x.shape[a])
    cols = rows + offset
    keep = (cols >= 0) & (cols < x.shape[b])
    rows, cols = rows[keep], cols[keep]
    moved = x.permute([d for d in range(x.ndim) if d not in (a, b)] + [a, b])
    return moved[..., rows, cols]


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input becomes a diagonal matrix; a 2-D input gives its diagonal."""
    x = _tensor(input)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    if x.ndim != 1:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{x.ndim}D")
    n = x.shape[0] + builtins.abs(diagonal)
    rows = np.arange(x.shape[0]) + builtins.max(0, -diagonal)
    cols = np.arange(x.shape[0]) + builtins.max(0, diagonal)
    positions = np.zeros((n, n), dtype=np.int64) - 1
    positions[rows, cols] = np.arange(x.shape[0])
    padded = ops.Concatenate.apply(x, np.zeros(1, dtype=x.data.dtype), axis=0)
    return padded[np.where(positions < 0, x.shape[0], positions)]


def diag_embed(input: Tensor) -> Tensor:
    """Each vector of the last dim becomes a diagonal matrix: (.., n) -> (.., n, n)."""
    x = _tensor(input)
    return x.unsqueeze(-1) * np.eye(x.shape[-1], dtype=x.data.dtype)


def trace(input: Tensor) -> Tensor:
    return diagonal(input).sum()


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Any = None) -> Tensor:
    """Join tensors along an existing dim (`torch.cat`). Empty (0,) tensors are skipped, as in
    PyTorch; dtypes are promoted."""
    from steepest.tensor import result_type

    tensors = list(tensors)
    if len(tensors) == 0:
        raise ValueError("cat() needs at least one tensor")
    kept = [t for t in tensors if not (np.shape(_data(t)) == (0,))] or tensors[:1]
    dtype = result_type(*[_tensor(t) for t in kept])
    kept = [t if isinstance(t, Tensor) and t.data.dtype == dtype else _tensor(t).astype(dtype)
            for t in kept]
    if kept[0].ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    axis = _dim(int(dim), kept[0].ndim)
    result = ops.Concatenate.apply(*kept, axis=axis)
    if out is not None:
        return write_out(out, result)
    return result


concat = cat
concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Any = None) -> Tensor:
    """Join same-shaped tensors along a new dim (`torch.stack`)."""
    from steepest.tensor import result_type

    tensors = list(tensors)
    if len(tensors) == 0:
        raise ValueError("stack() needs at least one tensor")
    shapes = {tuple(np.shape(_data(t))) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack() needs tensors of one shape, got shapes {sorted(shapes)}")
    dtype = result_type(*[_tensor(t) for t in tensors])
    tensors = [t if isinstance(t, Tensor) and t.data.dtype == dtype else
               _tensor(t).astype(dtype) for t in tensors]
    axis = _dim(int(dim), tensors[0].ndim + 1)
    result = ops.Stack.apply(*tensors, axis=axis)
    if out is not None:
        return write_out(out, result)
    return result


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = [_tensor(t) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in map(_tensor, tensors)], 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = [_tensor(t) for t in tensors]
    tensors = [t.reshape(1, -1, 1) if t.ndim == 1 else t.unsqueeze(-1) if t.ndim == 2 else t
               for t in tensors]
    return cat(tensors, 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in map(_tensor, tensors)], 1)


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    return _tensor(input).reshape(tuple(shape))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim: (2, 3, 4) with (1, 2) -> (2, 12)."""
    return ops.flatten(_tensor(input), start_dim, end_dim)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim into `sizes` (one may be -1)."""
    x = _tensor(input)
    axis = _dim(int(dim), x.ndim)
    return x.reshape(x.shape[:axis] + tuple(sizes) + x.shape[axis + 1:])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    return _tensor(input).squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    return _tensor(input).unsqueeze(dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return _tensor(input).transpose(dim0, dim1)


swapaxes = transpose
swapdims = transpose


def t(input: Tensor) -> Tensor:
    return _tensor(input).t()


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    return _tensor(input).permute(tuple(dims))


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    x = _tensor(input)
    source = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    destination = (destination,) if isinstance(destination, (int, np.integer)) \
        else tuple(destination)
    source = [_dim(int(s), x.ndim) for s in source]
    destination = [_dim(int(d), x.ndim) for d in destination]
    order = [d for d in range(x.ndim) if d not in source]
    for dst, src in sorted(zip(destination, source, strict=True)):
        order.insert(dst, src)
    return x.permute(tuple(order))


moveaxis = movedim


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    return _tensor(input).expand(tuple(size))


def broadcast_tensors(*tensors: Tensor) -> tuple:
    tensors = [_tensor(t) for t in tensors]
    shape = np.broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(shape) for t in tensors)


def broadcast_shapes(*shapes: Any) -> tuple:
    return np.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,) for s in shapes])


def meshgrid(*tensors: Tensor, indexing: str = "ij") -> tuple:
    """Coordinate grids; PyTorch's default indexing is 'ij' (NumPy's is 'xy')."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensors = [_tensor(t).reshape(-1) for t in tensors]
    shape = tuple(t.shape[0] for t in tensors)
    if indexing == "xy" and len(tensors) >= 2:
        shape = (shape[1], shape[0]) + shape[2:]
    grids = []
    for i, t in enumerate(tensors):
        position = i
        if indexing == "xy" and len(tensors) >= 2 and i < 2:
            position = 1 - i
        view = [1] * len(shape)
        view[position] = t.shape[0]
        grids.append(t.reshape(tuple(view)).expand(shape))
    return tuple(grids)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the non-zero elements: (n, ndim) int64, or a tuple of n-vectors."""
    x = np.asarray(_data(input))
    found = np.nonzero(x) if x.ndim else np.nonzero(x.reshape(1))
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in found)
    return Tensor._wrap(np.stack(found, axis=-1).astype(np.int64) if found else
                        np.zeros((int(bool(x)), 0), dtype=np.int64))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """input where condition else other (broadcast, dtypes promoted); the condition gets no
    gradient. where(condition) alone is nonzero(condition, as_tuple=True)."""
    from steepest.tensor import _cast_to, result_type

    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    cond = np.asarray(_data(condition))
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    dtype = result_type(input, other)
    input, other = _cast_to(dtype, input, other)
    return ops.Where.apply(cond, _scalar_as(input, dtype), _scalar_as(other, dtype))


def _scalar_as(value: Any, dtype: np.dtype) -> Any:
    if isinstance(value, (Tensor, np.ndarray)):
        return value
    return np.asarray(value, dtype=dtype)


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    return _tensor(input).clone()


def detach(input: Tensor) -> Tensor:
    return _tensor(input).detach()


def numel(input: Tensor) -> int:
    return int(np.size(_data(input)))


def searchsorted(sorted_sequence: Tensor, values: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None) -> Tensor:
    seq = np.asarray(_data(sorted_sequence))
    side = side or ("right" if right else "left")
    vals = np.asarray(_data(values))
    if seq.ndim == 1:
        out = np.searchsorted(seq, vals, side=side)
    else:
        out = np.stack([np.searchsorted(s, v, side=side) for s, v in
                        zip(seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1]),
                            strict=True)]).reshape(vals.shape)
    return Tensor._wrap(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    out = np.searchsorted(np.asarray(_data(boundaries)), np.asarray(_data(input)),
                          side="right" if right else "left")
    return Tensor._wrap(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None) -> Any:
    x = np.asarray(_data(input))
    result = np.unique(x, return_inverse=return_inverse, return_counts=return_counts,
                       axis=dim)
    if not isinstance(result, tuple):
        return Tensor._wrap(result)
    values, *rest = result
    rest = [r.reshape(x.shape) if return_inverse and i == 0 and dim is None else r
            for i, r in enumerate(rest)]
    return (Tensor._wrap(values), *[Tensor._wrap(r.astype(np.int64)) for r in rest])


def bincount(input: Tensor, weights: Any = None, minlength: int = 0) -> Tensor:
    w = None if weights is None else np.asarray(_data(weights))
    return Tensor._wrap(np.bincount(np.asarray(_data(input)), w, minlength))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """Pairwise p-norm distances: (.., P, M), (.., R, M) -> (.., P, R)."""
    from steepest.functional.reduction import norm

    a, b = _tensor(x1), _tensor(x2)
    return norm(a.unsqueeze(-2) - b.unsqueeze(-3), p, dim=-1)
