"""`Tensor`: a NumPy array that remembers how it was computed, and its creation functions."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from steepest.random import get_generator

DEFAULT_DTYPE = np.float32


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Like PyTorch: Python floats become float32; NumPy arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    array = np.array(data)
    if array.dtype == np.float64 and not isinstance(data, np.generic):
        array = array.astype(DEFAULT_DTYPE)
    return array


def _axis_arg(axis, dim):
    return dim if axis is None else axis


def _keep_arg(keepdims, keepdim):
    return bool(keepdims or keepdim)


class Tensor:
    """An n-dimensional array with an optional gradient.

    data: the values (`numpy.ndarray`); grad: d(loss)/d(data) after `backward()`, same shape;
    requires_grad: whether operations on it are recorded; grad_fn: the op that made it (None for
    leaves, which are the tensors you create: inputs and parameters).
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "__weakref__", "__dict__")
    # Make `ndarray + Tensor` call Tensor.__radd__ instead of NumPy broadcasting over objects.
    __array_priority__ = 1000

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        array = _as_array(data, dtype)
        if requires_grad and not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {array.dtype}"
            )
        self.data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None

    @classmethod
    def _wrap(cls, data: np.ndarray) -> Tensor:
        t = Tensor.__new__(Tensor)
        t.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        t.grad = None
        t.requires_grad = False
        t.grad_fn = None
        return t

    @classmethod
    def _from_op(cls, data: np.ndarray, node) -> Tensor:
        t = Tensor.__new__(Tensor)
        t.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        t.grad = None
        t.requires_grad = True
        t.grad_fn = node
        return t

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), as `torch.Tensor.numpy()`."""
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._wrap(self.data)

    def clone(self) -> Tensor:
        return _ops.Copy.apply(self)

    def astype(self, dtype: Any) -> Tensor:
        return _ops.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf:
            if requires_grad:
                return self  # a computed tensor already requires grad (PyTorch allows this)
            raise RuntimeError(
                "requires_grad_() can only change leaf tensors; use detach() on a computed one"
            )
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is not None:
            self.grad_fn.retained_output = weakref.ref(self)

    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    # ----------------------------------------------------------------- autograd
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires a gradient.

        grad: d(loss)/d(self), needed unless self has one element (then it is 1).
        retain_graph: keep the graph's buffers to call backward through it again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() was called on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output, this one has shape "
                    f"{self.shape}; reduce it first (e.g. .sum() or .mean()) or pass "
                    f"backward(grad) with that shape"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.array(_as_array(grad), dtype=self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad): grad has shape {grad.shape} but the tensor has shape "
                    f"{self.shape}"
                )
        run_backward(self, grad, retain_graph=retain_graph)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _ops.Add.apply(self, other)

    def __radd__(self, other):
        return _ops.Add.apply(other, self)

    def __sub__(self, other):
        return _ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return _ops.Sub.apply(other, self)

    def __mul__(self, other):
        return _ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return _ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return _ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return _ops.Div.apply(other, self)

    def __neg__(self):
        return _ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        return _ops.Pow.apply(self, exponent)

    def __rpow__(self, base):
        return _ops.Pow.apply(base, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __abs__(self):
        return _ops.Abs.apply(self)

    # Comparisons give plain boolean tensors: they have no gradient.
    def __lt__(self, other):
        return Tensor._wrap(self.data < _data(other))

    def __le__(self, other):
        return Tensor._wrap(self.data <= _data(other))

    def __gt__(self, other):
        return Tensor._wrap(self.data > _data(other))

    def __ge__(self, other):
        return Tensor._wrap(self.data >= _data(other))

    def __eq__(self, other):  # type: ignore[override]
        return Tensor._wrap(self.data == _data(other))

    def __ne__(self, other):  # type: ignore[override]
        return Tensor._wrap(self.data != _data(other))

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __getitem__(self, index):
        return _ops.GetItem.apply(self, index=_index_data(index))

    def __setitem__(self, index, value) -> None:
        if self.requires_grad:
            raise RuntimeError(
                "in-place assignment into a tensor that requires grad would break its gradient; "
                "assign into .data, or build a new tensor with where()/cat()"
            )
        self.data[_index_data(index)] = _data(value)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ----------------------------------------------------------------- math
    def pow(self, exponent):
        return _ops.Pow.apply(self, exponent)

    def exp(self):
        return _ops.Exp.apply(self)

    def log(self):
        return _ops.Log.apply(self)

    def sqrt(self):
        return _ops.Sqrt.apply(self)

    def sin(self):
        return _ops.Sin.apply(self)

    def cos(self):
        return _ops.Cos.apply(self)

    def abs(self):
        return _ops.Abs.apply(self)

    def clip(self, min=None, max=None):
        return _ops.Clip.apply(self, min=min, max=max)

    clamp = clip

    def sigmoid(self):
        return _ops.Sigmoid.apply(self)

    def tanh(self):
        return _ops.Tanh.apply(self)

    def relu(self):
        return _ops.ReLU.apply(self)

    def maximum(self, other):
        return _ops.Maximum.apply(self, other)

    def minimum(self, other):
        return _ops.Minimum.apply(self, other)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def softmax(self, axis: int = -1, *, dim: int | None = None):
        return _ops.Softmax.apply(self, axis=dim if dim is not None else axis)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None):
        return _ops.LogSoftmax.apply(self, axis=dim if dim is not None else axis)

    # ----------------------------------------------------------------- reductions
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return _ops.Sum.apply(
            self, axis=_axis_arg(axis, dim), keepdims=_keep_arg(keepdims, keepdim)
        )

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return _ops.Mean.apply(
            self, axis=_axis_arg(axis, dim), keepdims=_keep_arg(keepdims, keepdim)
        )

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """Largest values (like `torch.amax`: values only); ties share the gradient equally."""
        return _ops.Max.apply(
            self, axis=_axis_arg(axis, dim), keepdims=_keep_arg(keepdims, keepdim)
        )

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """Smallest values (like `torch.amin`); ties share the gradient equally."""
        return _ops.Min.apply(
            self, axis=_axis_arg(axis, dim), keepdims=_keep_arg(keepdims, keepdim)
        )

    def var(self, axis=None, keepdims=False, *, dim=None, keepdim=False, correction: int = 1):
        axis = _axis_arg(axis, dim)
        keep = _keep_arg(keepdims, keepdim)
        centred = self - self.mean(axis=axis, keepdims=True)
        count = self.data.size if axis is None else int(np.prod(
            [self.shape[a] for a in ((axis,) if isinstance(axis, int) else axis)]
        ))
        return (centred * centred).sum(axis=axis, keepdims=keep) / max(count - correction, 0)

    def argmax(self, axis=None, *, dim=None):
        return Tensor._wrap(np.argmax(self.data, axis=_axis_arg(axis, dim)))

    def argmin(self, axis=None, *, dim=None):
        return Tensor._wrap(np.argmin(self.data, axis=_axis_arg(axis, dim)))

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        return _ops.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, *axes):
        """No arguments: reverse the axes (NumPy). Two axes: swap them (PyTorch)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2:
            a, b = (ax % self.ndim for ax in axes)
            order = list(range(self.ndim))
            order[a], order[b] = order[b], order[a]
            axes = tuple(order)
        return _ops.Transpose.apply(self, axes=axes or None)

    def permute(self, *axes):
        axes = _shape_arg(axes)
        return _ops.Transpose.apply(self, axes=axes)

    def unsqueeze(self, dim: int):
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim: int | None = None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dim = dim % self.ndim
        if self.shape[dim] != 1:
            return self
        return self.reshape(self.shape[:dim] + self.shape[dim + 1 :])

    def expand(self, *shape):
        """Repeat size-1 axes to `shape` without copying; -1 keeps that axis's size (PyTorch)."""
        shape = _shape_arg(shape)
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: shape {shape} has fewer axes than the tensor {self.shape}")
        shape = tuple(
            self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape)
        )
        return _ops.BroadcastTo.apply(self, shape=shape)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != DEFAULT_DTYPE:
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _index_data(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


# --------------------------------------------------------------------- creation
def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new leaf tensor. Python floats become float32; NumPy arrays keep their dtype (copied)."""
    array = _as_array(data, dtype)
    if array is _data(data):
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array`."""
    return Tensor(np.asarray(array))


def zeros(*shape, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape: Sequence[int], value: float, dtype: Any = DEFAULT_DTYPE,
         requires_grad: bool = False) -> Tensor:
    return Tensor(np.full(tuple(shape), value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros_like(_data(x)), requires_grad=requires_grad)


def ones_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones_like(_data(x)), requires_grad=requires_grad)


def arange(*args, dtype: Any = None) -> Tensor:
    return Tensor(np.arange(*args, dtype=dtype))


def randn(*shape, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples from `generator` (default: the one `manual_seed` resets)."""
    data = get_generator(generator).standard_normal(_shape_arg(shape), dtype=np.float64)
    return Tensor(data.astype(dtype), requires_grad=requires_grad)


def rand(*shape, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1)."""
    data = get_generator(generator).random(_shape_arg(shape))
    return Tensor(data.astype(dtype), requires_grad=requires_grad)


from steepest.autograd import ops as _ops  # noqa: E402  (ops build Tensors)
from steepest.autograd.function import run_backward  # noqa: E402
