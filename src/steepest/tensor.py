"""`Tensor`: a NumPy array that remembers how it was computed, and its creation functions.

The methods follow PyTorch's names, arguments and semantics (`x.add(y, alpha=2)`, `x.max(dim)`
returning (values, indices), in-place `x.add_(y)`); each is a thin call to an op or to the
function of the same name in `steepest.functional`, where the rule lives once.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from steepest.random import get_generator

DEFAULT_DTYPE = np.float32  # the dtype of float tensors made from Python numbers (PyTorch's)


class _Defaults:
    # `set_default_dtype` changes this; layers and factories read it when they run.
    dtype = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats, `zeros(...)` and new layers get: float32 unless changed."""
    return _Defaults.dtype


def set_default_dtype(dtype: Any) -> None:
    """Make float tensors and layers default to `dtype` (float32 or float64), as PyTorch."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got "
                        f"{dtype}")
    _Defaults.dtype = dtype


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Like PyTorch: Python floats become the default float dtype; NumPy arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, (list, tuple)) and data and any(isinstance(d, Tensor) for d in data):
        data = [d.data if isinstance(d, Tensor) else d for d in data]
    array = np.array(data)
    if array.dtype == np.float64 and not isinstance(data, np.generic) and not (
            isinstance(data, (list, tuple)) and _holds_float64_arrays(data)):
        array = array.astype(_Defaults.dtype)
    elif array.dtype.kind == "c" and array.dtype == np.complex128 and not isinstance(
            data, np.generic):
        array = array.astype(np.complex64 if _Defaults.dtype == np.float32 else np.complex128)
    elif array.dtype.kind in "USO" and array.size:
        raise TypeError(f"can't convert {type(data).__name__} of {array.dtype} values to a "
                        f"tensor: only numbers and booleans are supported")
    return array


def _holds_float64_arrays(data) -> bool:
    """A list of float64 arrays keeps float64 (PyTorch keeps a NumPy array's dtype)."""
    return any(isinstance(d, np.ndarray) and d.dtype == np.float64 for d in data)


def _axis_arg(axis, dim):
    return dim if axis is None else axis


def _keep_arg(keepdims, keepdim):
    return bool(keepdims or keepdim)


class Tensor:
    """An n-dimensional array with an optional gradient.

    data: the values (`numpy.ndarray`); grad: d(loss)/d(data) after `backward()`, a Tensor of
    the same shape; requires_grad: whether operations on it are recorded; grad_fn: the op that
    made it (None for leaves, which are the tensors you create: inputs and parameters).

    `Tensor(data)` keeps a NumPy array's dtype and makes Python numbers float32 (PyTorch's
    `torch.Tensor` makes everything float32); `Tensor(2, 3)` is a (2, 3) tensor of zeros.
    """

    __slots__ = ("data", "_grad", "requires_grad", "grad_fn", "__weakref__", "__dict__")
    __array_priority__ = 1000  # NumPy's binary operators defer to Tensor (__array_ufunc__)
    # Defaults read through the class, so creating a tensor costs nothing for them; an instance
    # gets its own value only when it is a view or is written in place (autograd/inplace.py).
    _base = None  # the tensor whose memory this one is a view of (the memory's owner)
    _writes = 0  # in-place writes into this memory (kept on the owner): PyTorch's _version
    _written_at = 0  # the in-place epoch of the last write
    _history = None  # (epoch, alias) of writes that replaced grad_fn (autograd/inplace.py)
    _view_epoch = 0  # the in-place epoch when this view's grad_fn was made (inplace.py)
    _hooks = None  # register_hook's hooks on a leaf

    def __init__(self, *args: Any, requires_grad: bool = False, dtype: Any = None,
                 device: Any = None) -> None:
        _check_device(device)
        if len(args) == 1 and not _is_size(args[0]):
            array = _as_array(args[0], dtype)
            if dtype is None and array.dtype.kind in "biu" and not isinstance(
                    args[0], (np.ndarray, np.generic, Tensor)):
                array = array.astype(_Defaults.dtype)  # torch.Tensor([1, 2]) is float
        else:  # Tensor(), Tensor(2, 3), Tensor((2, 3))? no: a tuple is data, as PyTorch
            array = np.zeros(_shape_arg(args), dtype=dtype or _Defaults.dtype)
        if requires_grad and not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {array.dtype}"
            )
        self.data = array
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None

    @classmethod
    def _wrap(cls, data: np.ndarray) -> Tensor:
        t = Tensor.__new__(Tensor)
        t.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        t._grad = None
        t.requires_grad = False
        t.grad_fn = None
        return t

    @classmethod
    def _from_op(cls, data: np.ndarray, node) -> Tensor:
        t = Tensor.__new__(Tensor)
        t.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        t._grad = None
        t.requires_grad = True
        t.grad_fn = node
        return t

    # ----------------------------------------------------------------- gradient
    @property
    def grad(self) -> Tensor | None:
        """d(loss)/d(self) accumulated by backward(), a Tensor like self (None before)."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor._wrap(np.asarray(value))
            if value.data.shape != self.data.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: grad shape "
                    f"{value.data.shape}, tensor shape {self.data.shape}")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

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
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of "
                               f"matrices. Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    H = T
    mH = mT

    @property
    def device(self) -> device:
        return _CPU

    is_cuda = False
    is_sparse = False
    is_quantized = False
    is_meta = False
    layout = "strided"

    @property
    def itemsize(self) -> int:
        return self.data.itemsize

    @property
    def nbytes(self) -> int:
        return self.data.nbytes

    @property
    def _version(self) -> int:
        """How many times this tensor's memory was written in place (PyTorch's counter)."""
        base = self._base
        return (self if base is None else base)._writes

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[_dim(dim, self.ndim)]

    def dim(self) -> int:
        return self.data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self.data.size)

    nelement = numel

    def element_size(self) -> int:
        return self.data.itemsize

    def stride(self, dim: int | None = None):
        """Strides in elements (PyTorch's), not bytes (NumPy's)."""
        strides = tuple(s // self.data.itemsize for s in self.data.strides)
        return strides if dim is None else strides[_dim(dim, self.ndim)]

    def data_ptr(self) -> int:
        return self.data.__array_interface__["data"][0]

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return bool(self.data.flags.c_contiguous)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        return self if self.data.flags.c_contiguous else _ops.Copy.apply(self)

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self.data.dtype.kind == "c"

    def is_signed(self) -> bool:
        return self.data.dtype.kind in "ifc"

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    # ----------------------------------------------------------------- conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared, not copied), as `torch.Tensor.numpy()`."""
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy ufuncs with a Tensor operand. `array + tensor` (and the other operators) is
        the Tensor op, recorded in the graph; a write into an array (`p.data -= lr * p.grad`,
        any `out=`) and every other ufunc (np.exp(t)) work on the arrays, outside the graph."""
        dunder = _REFLECTED.get(ufunc.__name__)
        if method == "__call__" and "out" not in kwargs and dunder is not None \
                and len(inputs) == 2:
            left, right = inputs
            if isinstance(left, Tensor):
                return getattr(Tensor, dunder[0])(left, right)
            return getattr(Tensor, dunder[1])(right, left)
        if "out" in kwargs:
            kwargs["out"] = tuple(o.data if isinstance(o, Tensor) else o for o in kwargs["out"])
        return getattr(ufunc, method)(*_arrays_in(inputs), **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        # NumPy functions (np.sum, np.linalg.norm, np.concatenate, ...) see the arrays: their
        # results are NumPy values, outside the graph.
        return func(*_arrays_in(args), **dict(zip(kwargs, _arrays_in(kwargs.values()),
                                                  strict=True)))

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory and version, like PyTorch)."""
        out = Tensor._wrap(self.data)
        out._base = self if self._base is None else self._base
        out._view_epoch = math.inf  # cut from the graph: never regenerated from its base
        return out

    def detach_(self) -> Tensor:
        if self._base is not None and self.requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self, *, memory_format: Any = None) -> Tensor:
        return _ops.Copy.apply(self)

    def astype(self, dtype: Any) -> Tensor:
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        return _ops.Cast.apply(self, dtype=dtype)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """to(dtype), to(device), to(device, dtype), to(other): a cast, or self if nothing
        changes (PyTorch's rule); `copy=True` always copies. Only the CPU exists here."""
        copy = kwargs.pop("copy", False)
        dtype = to_arguments(args, kwargs)
        out = self if dtype is None else self.astype(dtype)
        return out.clone() if copy and out is self else out

    def cpu(self, memory_format: Any = None) -> Tensor:
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        _check_device("cuda")
        return self  # not reached

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        if dtype is None:
            return _TYPE_NAMES.get(self.data.dtype.name, f"torch.{self.data.dtype.name}")
        if isinstance(dtype, str):
            dtype = _DTYPE_OF_TYPE_NAME.get(dtype, dtype)
        return self.astype(dtype)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
        """A new tensor of `data`, with this one's dtype unless given."""
        return tensor(data, dtype=self.data.dtype if dtype is None else dtype, device=device,
                      requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
        return zeros(*size, dtype=dtype or self.data.dtype, device=device,
                     requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return ones(*size, dtype=dtype or self.data.dtype, device=device,
                    requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
        return zeros(*size, dtype=dtype or self.data.dtype, device=device,
                     requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return full(size, fill_value, dtype=dtype or self.data.dtype, device=device,
                    requires_grad=requires_grad)

    def type_as(self, other: Tensor) -> Tensor:
        return self.astype(other.data.dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def half(self) -> Tensor:
        return self.astype(np.float16)

    def long(self) -> Tensor:
        return self.astype(np.int64)

    def int(self) -> Tensor:
        return self.astype(np.int32)

    def short(self) -> Tensor:
        return self.astype(np.int16)

    def char(self) -> Tensor:
        return self.astype(np.int8)

    def byte(self) -> Tensor:
        return self.astype(np.uint8)

    def bool(self) -> Tensor:
        return self.astype(np.bool_)

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

    @property
    def retains_grad(self) -> bool:
        ref = None if self.grad_fn is None else self.grad_fn.__dict__.get("retained_output")
        return ref is not None and ref() is self

    def register_hook(self, hook) -> _RemovableHook:
        """Call hook(grad) when backward computes this tensor's gradient; a returned Tensor
        replaces the gradient. Returns a handle with `.remove()`."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            hooks = self.grad_fn.__dict__.setdefault("hooks", [])
        hooks.append(hook)
        return _RemovableHook(hooks, hook)

    # ----------------------------------------------------------------- autograd
    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires a gradient.

        gradient: d(loss)/d(self), needed unless self has one element (then it is 1).
        retain_graph: keep the graph's buffers to call backward through it again.
        """
        if gradient is None and inputs is None and not create_graph and self.requires_grad \
                and self.data.size == 1:
            # The training loop's call, loss.backward(): straight to the engine.
            run_backward([self], [np.ones_like(self.data)], retain_graph=bool(retain_graph))
            return
        from steepest.autograd import backward as _backward

        _backward([self], None if gradient is None else [gradient],
                  retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _ops.Add.apply(*_promoted(self, other))

    def __radd__(self, other):
        return _ops.Add.apply(*_promoted(other, self))

    def __sub__(self, other):
        return _ops.Sub.apply(*_promoted(self, other))

    def __rsub__(self, other):
        return _ops.Sub.apply(*_promoted(other, self))

    def __mul__(self, other):
        return _ops.Mul.apply(*_promoted(self, other))

    def __rmul__(self, other):
        return _ops.Mul.apply(*_promoted(other, self))

    def __truediv__(self, other):
        return _ops.Div.apply(*_division_operands(self, other))

    def __rtruediv__(self, other):
        return _ops.Div.apply(*_division_operands(other, self))

    def __floordiv__(self, other):
        return _F.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _F.floor_divide(other, self)

    def __mod__(self, other):
        return _F.remainder(self, other)

    def __rmod__(self, other):
        return _F.remainder(other, self)

    def __neg__(self):
        if self.data.dtype.kind == "b":
            raise TypeError("Negation, the `-` operator, on a bool tensor is not supported. "
                            "If you are trying to invert a mask, use the `~` or "
                            "`logical_not()` operator instead.")
        return _ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        return _ops.Pow.apply(*_promoted(self, exponent))

    def __rpow__(self, base):
        return _ops.Pow.apply(*_promoted(base, self))

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __abs__(self):
        return _ops.Abs.apply(self)

    # In place: `x += y` writes into x (see autograd/inplace.py for the rules).
    def __iadd__(self, other):
        return _F.add_(self, other)

    def __isub__(self, other):
        return _F.sub_(self, other)

    def __imul__(self, other):
        return _F.mul_(self, other)

    def __itruediv__(self, other):
        return _F.div_(self, other)

    def __ipow__(self, other):
        return _F.pow_(self, other)

    def __ifloordiv__(self, other):
        return _F.inplace_result(self, lambda a: _F.floor_divide(a, other), other)

    def __imod__(self, other):
        return _F.inplace_result(self, lambda a: _F.remainder(a, other), other)

    def __iand__(self, other):
        return _F.inplace_result(self, lambda a: a & other, other)

    def __ior__(self, other):
        return _F.inplace_result(self, lambda a: a | other, other)

    def __ixor__(self, other):
        return _F.inplace_result(self, lambda a: a ^ other, other)

    # Comparisons and logic give plain tensors: they have no gradient.
    def __lt__(self, other):
        return Tensor._wrap(self.data < _data(other))

    def __le__(self, other):
        return Tensor._wrap(self.data <= _data(other))

    def __gt__(self, other):
        return Tensor._wrap(self.data > _data(other))

    def __ge__(self, other):
        return Tensor._wrap(self.data >= _data(other))

    def __eq__(self, other):  # type: ignore[override]
        return Tensor._wrap(np.asarray(self.data == _data(other)))

    def __ne__(self, other):  # type: ignore[override]
        return Tensor._wrap(np.asarray(self.data != _data(other)))

    def __and__(self, other):
        return Tensor._wrap(np.asarray(self.data & _data(other)))

    __rand__ = __and__

    def __or__(self, other):
        return Tensor._wrap(np.asarray(self.data | _data(other)))

    __ror__ = __or__

    def __xor__(self, other):
        return Tensor._wrap(np.asarray(self.data ^ _data(other)))

    __rxor__ = __xor__

    def __invert__(self):
        return Tensor._wrap(np.asarray(~self.data))

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is "
                               f"ambiguous (shape {self.data.shape})")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.data.item())

    def __format__(self, spec: str) -> str:
        if self.data.ndim == 0:
            return format(self.data.item(), spec)
        return format(repr(self), spec)

    def __getitem__(self, index):
        steps = _index_steps(self.data.ndim, index)
        out = self
        for step in steps:
            if _is_view_index(step):
                # x[0] of a vector is a NumPy scalar, not a view: x[0, ...] is a 0-d view, so
                # writes through it reach x, as in PyTorch.
                if not isinstance(step, tuple):
                    step = (step, Ellipsis)
                elif Ellipsis not in step:
                    step = step + (Ellipsis,)
                out = _ops.GetItem.apply(out, index=step)
                if out.data.base is not None:
                    out._base = self if self._base is None else self._base
                    out._view_epoch = _InPlace.epoch
            else:
                out = _ops.GetItem.apply(out, index=step)
        return out

    def __setitem__(self, index, value) -> None:
        steps = _index_steps(self.data.ndim, index)
        _F.setitem_(self, steps, value)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __contains__(self, element) -> bool:
        return bool((self.data == _data(element)).any())

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        out = type(self).__new__(type(self))
        memo[id(self)] = out
        out.data = self.data.copy()
        out._grad = None if self._grad is None else Tensor._wrap(self._grad.data.copy())
        out.requires_grad = self.requires_grad
        out.grad_fn = None
        for name, value in self.__dict__.items():
            if name not in ("_base", "_writes", "_written_at", "_hooks"):
                import copy

                out.__dict__[name] = copy.deepcopy(value, memo)
        return out

    def __reduce_ex__(self, protocol: int):
        return (_rebuild, (type(self), self.data, self.requires_grad))

    # ----------------------------------------------------------------- math
    def add(self, other, *, alpha=1):
        return _F.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return _F.sub(self, other, alpha=alpha)

    subtract = sub

    def mul(self, other):
        return _F.mul(self, other)

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        return _F.div(self, other, rounding_mode=rounding_mode)

    divide = div
    true_divide = div

    def floor_divide(self, other):
        return _F.floor_divide(self, other)

    def remainder(self, other):
        return _F.remainder(self, other)

    def fmod(self, other):
        return _F.fmod(self, other)

    def pow(self, exponent):
        return _F.pow(self, exponent)

    def neg(self):
        return -self

    negative = neg

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

    absolute = abs

    def sigmoid(self):
        return _ops.Sigmoid.apply(self)

    def tanh(self):
        return _ops.Tanh.apply(self)

    def relu(self):
        return _ops.ReLU.apply(self)

    def clamp(self, min=None, max=None):
        return _F.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, min):
        return _F.clamp(self, min=min)

    def clamp_max(self, max):
        return _F.clamp(self, max=max)

    def maximum(self, other):
        return _F.maximum(self, other)

    def minimum(self, other):
        return _F.minimum(self, other)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def softmax(self, dim: int = -1, dtype: Any = None, *, axis: int | None = None):
        return _F.softmax(self, _axis_arg(axis, dim), dtype=dtype)

    def log_softmax(self, dim: int = -1, dtype: Any = None, *, axis: int | None = None):
        return _F.log_softmax(self, _axis_arg(axis, dim), dtype=dtype)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        if dim is None and axis is None and dtype is None and self.data.dtype.kind == "f":
            return _ops.Sum.apply(self, axis=None, keepdims=bool(keepdim or keepdims))  # a loss
        return _F.sum(self, _axis_arg(axis, dim), _keep_arg(keepdims, keepdim), dtype=dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        if dim is None and axis is None and dtype is None and self.data.dtype.kind == "f":
            return _ops.Mean.apply(self, axis=None, keepdims=bool(keepdim or keepdims))
        return _F.mean(self, _axis_arg(axis, dim), _keep_arg(keepdims, keepdim), dtype=dtype)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """max() -> the largest value; max(dim) -> (values, indices), as PyTorch;
        max(other_tensor) -> elementwise maximum."""
        return _F.max(self, _axis_arg(axis, dim), _keep_arg(keepdims, keepdim))

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """min() -> the smallest value; min(dim) -> (values, indices), as PyTorch."""
        return _F.min(self, _axis_arg(axis, dim), _keep_arg(keepdims, keepdim))

    def amax(self, dim=(), keepdim=False, *, axis=None, keepdims=False):
        """Largest values over dims (all for ()); ties share the gradient equally."""
        return _F.amax(self, _axis_arg(axis, dim), _keep_arg(keepdims, keepdim))

    def amin(self, dim=(), keepdim=False, *, axis=None, keepdims=False):
        return _F.amin(self, _axis_arg(axis, dim), _keep_arg(keepdims, keepdim))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=False):
        return _F.var(self, _axis_arg(axis, dim), unbiased, _keep_arg(keepdims, keepdim),
                      correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=False):
        return _F.std(self, _axis_arg(axis, dim), unbiased, _keep_arg(keepdims, keepdim),
                      correction=correction)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return _F.argmax(self, _axis_arg(axis, dim), keepdim)

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return _F.argmin(self, _axis_arg(axis, dim), keepdim)

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape):
        return _view(_ops.Reshape.apply(self, shape=_shape_arg(shape)), self)

    def view(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
            raise NotImplementedError("view(dtype) is not supported; use .to(dtype)")
        return _view(_ops.Reshape.apply(self, shape=_shape_arg(shape)), self)

    def view_as(self, other: Tensor):
        return self.view(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _ops.flatten(self, start_dim, end_dim)

    def ravel(self):
        return self.reshape(-1)

    def transpose(self, *dims):
        """transpose(dim0, dim1) swaps two axes (PyTorch); no arguments reverses them all."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) == 2:
            a, b = (_dim(d, self.ndim) for d in dims)
            order = list(range(self.ndim))
            order[a], order[b] = order[b], order[a]
            return self.permute(tuple(order))
        if dims:
            return self.permute(dims)
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    swapaxes = transpose
    swapdims = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def permute(self, *dims):
        dims = tuple(_dim(d, self.ndim) for d in _shape_arg(dims))
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                               f"does not match the length of the desired ordering of "
                               f"dimensions i.e. input.dim() = {self.ndim} is not equal to "
                               f"len(dims) = {len(dims)}" if len(dims) != self.ndim else
                               f"permute(): dims {dims} must be a permutation of "
                               f"0..{self.ndim - 1}")
        return _view(_ops.Transpose.apply(self, axes=dims), self)

    def unsqueeze(self, dim: int):
        dim = _dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        """Drop axes of size 1: all of them, one (dim) or several (a tuple of dims)."""
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        drop = {_dim(d, self.ndim) for d in dims if self.ndim}
        drop = {d for d in drop if self.shape[d] == 1}
        if not drop:
            return self.reshape(self.shape)
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in drop))

    def expand(self, *shape):
        """Repeat size-1 axes to `shape` without copying; -1 keeps that axis's size (PyTorch)."""
        shape = _shape_arg(shape)
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: shape {shape} has fewer axes than the tensor {self.shape}")
        shape = tuple(
            self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape)
        )
        return _view(_ops.BroadcastTo.apply(self, shape=shape), self)

    def expand_as(self, other: Tensor):
        return self.expand(other.shape)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != _Defaults.dtype and not (
                self.data.dtype.kind in "ib" and self.data.dtype in (np.int64, np.bool_)
                and self.data.size):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


# NumPy ufunc name -> the Tensor operator for (tensor, other) and for (other, tensor).
_REFLECTED = {
    "add": ("__add__", "__radd__"), "subtract": ("__sub__", "__rsub__"),
    "multiply": ("__mul__", "__rmul__"), "divide": ("__truediv__", "__rtruediv__"),
    "true_divide": ("__truediv__", "__rtruediv__"),
    "floor_divide": ("__floordiv__", "__rfloordiv__"), "remainder": ("__mod__", "__rmod__"),
    "power": ("__pow__", "__rpow__"), "matmul": ("__matmul__", "__rmatmul__"),
    "less": ("__lt__", "__gt__"), "less_equal": ("__le__", "__ge__"),
    "greater": ("__gt__", "__lt__"), "greater_equal": ("__ge__", "__le__"),
    "equal": ("__eq__", "__eq__"), "not_equal": ("__ne__", "__ne__"),
    "bitwise_and": ("__and__", "__and__"), "bitwise_or": ("__or__", "__or__"),
    "bitwise_xor": ("__xor__", "__xor__"),
}


def _arrays_in(values) -> list:
    """Tensors replaced by their arrays, inside lists and tuples too."""
    out = []
    for v in values:
        if isinstance(v, Tensor):
            v = v.data
        elif isinstance(v, (list, tuple)):
            v = type(v)(_arrays_in(v)) if not hasattr(v, "_fields") else v
        out.append(v)
    return out


def _rebuild(cls, data, requires_grad):
    t = cls.__new__(cls)
    Tensor.__init__(t, data, requires_grad=requires_grad)
    return t


class _RemovableHook:
    def __init__(self, hooks: list, hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _view(out: Tensor, source: Tensor) -> Tensor:
    """Mark `out` as a view of `source`'s memory when NumPy made it one (shared versions)."""
    if out.data.base is not None and np.may_share_memory(out.data, source.data):
        out._base = source if source._base is None else source._base
        out._view_epoch = _InPlace.epoch
    return out


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _dim(dim, ndim: int) -> int:
    """A dim in range for ndim axes (negative counts from the end; 0-d tensors take 0 and -1)."""
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-size}, {size - 1}], but got {dim})")
    return dim % size


def _is_size(arg) -> bool:
    return isinstance(arg, (int, np.integer)) and not isinstance(arg, (bool, np.bool_))


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(int(n) for n in shape[0])
    return tuple(int(n) for n in shape)


# --------------------------------------------------------------------- indexing
def _index_item(i):
    if isinstance(i, Tensor):
        return i.data
    if isinstance(i, list):
        return np.asarray([_index_item(j) for j in i]) if any(
            isinstance(j, Tensor) for j in i) else np.asarray(i)
    return i


def _is_advanced(i) -> bool:
    return isinstance(i, np.ndarray) and (i.ndim > 0 or i.dtype.kind == "b")


def _is_integer(i) -> bool:
    if isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
        return True
    return isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype.kind in "iu"


def _index_steps(ndim: int, index) -> tuple:
    """PyTorch's indexing as one or two NumPy index steps.

    PyTorch applies integers first (selecting, so their axes vanish) and only then places the
    axes of array indices, while NumPy counts integers as array indices. They differ when an
    integer and an array index are separated by a slice: x[0, :, [1, 2]] on (3, 4, 5) is (4, 2)
    in PyTorch and (2, 4) in NumPy. Such an index becomes two steps: the integers, then the rest.
    """
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(_index_item(i) for i in items)
    if not (any(_is_advanced(i) for i in items) and any(_is_integer(i) for i in items)):
        return (items if isinstance(index, tuple) else items[0],)
    first, rest = [], []
    for i in items:
        if _is_integer(i):
            first.append(int(i))
        elif i is None:
            rest.append(None)
        elif _is_advanced(i) and i.dtype.kind == "b":
            first.extend([slice(None)] * i.ndim)
            rest.append(i)
        elif i is Ellipsis:
            first.append(Ellipsis)
            rest.append(Ellipsis)
        else:
            first.append(slice(None))
            rest.append(i)
    return tuple(first), tuple(rest)


def _is_view_index(index) -> bool:
    """Basic indexing (slices, integers, None, ...): NumPy returns a view of the memory."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))
               for i in items)


# --------------------------------------------------------------------- type promotion
_WRAPPED_KINDS = {bool: "b", int: "i", float: "f", complex: "c"}


def _torch_promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promote_types: like NumPy's, except that an integer (or bool) with a float
    gives that float (NumPy gives int32 + float32 = float64)."""
    if a.kind in "biu" and b.kind in "fc":
        return b
    if b.kind in "biu" and a.kind in "fc":
        return a
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's combine_categories: the lower class counts only in a higher category."""
    if higher is None:
        return lower
    if lower is None or higher.kind in "fc":
        return higher
    if higher.kind == "b" or lower.kind in "fc":
        return _torch_promote(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """PyTorch's result dtype of an elementwise op.

    Operands fall in three classes: tensors with dimensions, 0-d tensors, Python numbers. The
    category (bool < integer < float < complex) of a lower class counts only when it is higher
    than every category above it; then its dtype joins (a Python float brings the default
    dtype). So float32 with an int64 tensor is float32, and float32 with a float64 0-d tensor or
    a Python float stays float32.
    """
    classes: list[np.dtype | None] = [None, None, None]
    for x in operands:
        if isinstance(x, Tensor):
            dtype, cls = x.data.dtype, 0 if x.data.ndim else 1
        elif isinstance(x, np.ndarray) and x.ndim:
            dtype, cls = x.dtype, 0
        elif isinstance(x, (np.ndarray, np.generic)):
            dtype, cls = _wrapped_dtype(_WRAPPED_KINDS.get(type(x.item()), "f")), 2
        else:
            dtype, cls = _wrapped_dtype(_WRAPPED_KINDS.get(type(x), "f")), 2
        previous = classes[cls]
        classes[cls] = dtype if previous is None else _torch_promote(previous, dtype)
    return _combine(classes[0], _combine(classes[1], classes[2]))


def _wrapped_dtype(kind: str) -> np.dtype:
    if kind == "b":
        return np.dtype(np.bool_)
    if kind == "i":
        return np.dtype(np.int64)
    if kind == "c":
        return np.dtype(np.complex64 if _Defaults.dtype == np.float32 else np.complex128)
    return _Defaults.dtype


def _promoted(a, b):
    """(a, b) cast so that NumPy computes PyTorch's result dtype.

    The common cases need no cast and are decided first: two tensors of one dtype, and a
    float tensor with a Python number.
    """
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a.data.dtype is b.data.dtype:
                return a, b
        elif b.__class__ is float or b.__class__ is int:
            if a.data.dtype.kind == "f" or (b.__class__ is int and a.data.dtype.kind in "iu"):
                return a, b
    elif isinstance(b, Tensor):
        if a.__class__ is float or a.__class__ is int:
            if b.data.dtype.kind == "f" or (a.__class__ is int and b.data.dtype.kind in "iu"):
                return a, b
    return _cast_to(result_type(a, b), a, b)


def _cast_to(dtype: np.dtype, *operands) -> tuple:
    out = []
    for x in operands:
        if isinstance(x, Tensor):
            if x.data.dtype != dtype:
                x = x.astype(dtype)
        elif isinstance(x, np.ndarray) and x.ndim and x.dtype != dtype:
            x = x.astype(dtype)
        out.append(x)
    return tuple(out)


def _division_operands(a, b):
    """True division: integers and bools divide as the default float dtype (PyTorch)."""
    a, b = _promoted(a, b)
    for x in (a, b):
        if isinstance(x, Tensor) and x.data.dtype.kind in "biu":
            return _cast_to(_Defaults.dtype, a, b)
    return a, b


# --------------------------------------------------------------------- devices
class device:
    """`torch.device`: steepest computes on the CPU only, so "cpu" is the only usable one."""

    __slots__ = ("type", "index")

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, (int, np.integer)):
            type, index = "cuda", int(type)
        elif isinstance(type, str) and ":" in type:
            type, _, number = type.partition(":")
            index = int(number)
        if type not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start "
                               f"of device string: {type}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __enter__(self) -> device:
        _check_device(self)
        return self

    def __exit__(self, *exc) -> None:
        return None


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "xla", "hpu", "mtia", "privateuseone")
_CPU = device("cpu")


def _check_device(value: Any) -> None:
    """Accept None, "cpu" and device("cpu"); anything else is a clear error."""
    if value is None:
        return
    dev = value if isinstance(value, device) else device(value)
    if dev.type != "cpu":
        raise RuntimeError(
            f"steepest runs on the CPU only (NumPy), so device {str(dev)!r} is not available; "
            f"use device='cpu' (torch.cuda.is_available() is False here)")


def to_arguments(args: tuple, kwargs: dict) -> Any:
    """The dtype asked for by `.to(...)` arguments (None if none), after checking that any
    device named is the CPU: PyTorch's to(dtype), to(device, dtype), to(tensor), keywords."""
    dtype = kwargs.pop("dtype", None)
    _check_device(kwargs.pop("device", None))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.data.dtype
        elif isinstance(arg, (str, device)) and not _is_dtype_name(arg):
            _check_device(arg)
        elif isinstance(arg, bool) or arg is None:
            continue
        else:
            dtype = arg
    return dtype


def _is_dtype_name(value: Any) -> bool:
    return isinstance(value, str) and value in _DTYPE_OF_TYPE_NAME


_TYPE_NAMES = {
    "float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
    "float16": "torch.HalfTensor", "int64": "torch.LongTensor", "int32": "torch.IntTensor",
    "int16": "torch.ShortTensor", "int8": "torch.CharTensor", "uint8": "torch.ByteTensor",
    "bool": "torch.BoolTensor",
}
_DTYPE_OF_TYPE_NAME = {name: np.dtype(dtype) for dtype, name in _TYPE_NAMES.items()}


# --------------------------------------------------------------------- creation
def _factory_dtype(dtype: Any) -> np.dtype:
    return _Defaults.dtype if dtype is None else np.dtype(dtype)


def _new(array: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(array, requires_grad=requires_grad)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new leaf tensor (a copy). Python floats become float32; NumPy arrays keep their dtype."""
    _check_device(device)
    array = _as_array(data, dtype)
    if array is _data(data) or (isinstance(data, np.ndarray) and np.may_share_memory(array,
                                                                                    data)):
        array = array.copy()
    return _new(array, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor sharing memory with `data` when it already is one (or an array of the dtype)."""
    _check_device(device)
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor(data)
    return Tensor(_as_array(data, dtype))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array`."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)


def zeros(*size, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          out: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_device(device)
    return _new(np.zeros(_shape_arg(size), dtype=_factory_dtype(dtype)), requires_grad)


def ones(*size, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         out: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_device(device)
    return _new(np.ones(_shape_arg(size), dtype=_factory_dtype(dtype)), requires_grad)


def empty(*size, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          out: Any = None, layout: Any = None, pin_memory: bool = False,
          memory_format: Any = None) -> Tensor:
    """Like PyTorch's, values unspecified; here they are zeros (NumPy's empty is not cheaper
    enough to be worth garbage that breaks reruns)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, out: Any = None, layout: Any = None,
         pin_memory: bool = False) -> Tensor:
    """A tensor of `size` filled with fill_value; its dtype follows the value (bool, int64, or
    the default float) unless given, as PyTorch."""
    _check_device(device)
    value = _data(fill_value)
    if dtype is None:
        dtype = _fill_dtype(value)
    shape = (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)
    return _new(np.full(shape, value, dtype=dtype), requires_grad)


def _fill_dtype(value: Any) -> np.dtype:
    if isinstance(value, np.ndarray):
        return value.dtype
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(value, complex):
        return _wrapped_dtype("c")
    return _Defaults.dtype


def _like(x: Any, dtype: Any) -> tuple[tuple, np.dtype]:
    array = _data(x)
    shape = np.shape(array)
    return shape, np.dtype(dtype) if dtype is not None else np.asarray(array).dtype


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, layout: Any = None,
               memory_format: Any = None) -> Tensor:
    _check_device(device)
    shape, dtype = _like(input, dtype)
    return _new(np.zeros(shape, dtype=dtype), requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, layout: Any = None,
              memory_format: Any = None) -> Tensor:
    _check_device(device)
    shape, dtype = _like(input, dtype)
    return _new(np.ones(shape, dtype=dtype), requires_grad)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, layout: Any = None,
               memory_format: Any = None) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, layout: Any = None,
              memory_format: Any = None) -> Tensor:
    _check_device(device)
    shape, dtype = _like(input, dtype)
    return _new(np.full(shape, _data(fill_value), dtype=dtype), requires_grad)


def arange(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = None, requires_grad: bool = False, out: Any = None,
           layout: Any = None) -> Tensor:
    """Values from start up to (not including) end; int64 for integer arguments, else the
    default float dtype, as PyTorch."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    values = [_data(v) for v in (start, end, step)]
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) or (
            isinstance(v, np.ndarray) and v.dtype.kind in "iu") for v in values)
        dtype = np.int64 if is_int else _Defaults.dtype
    if dtype is not None and np.dtype(dtype).kind == "f":
        # Count in float64 as PyTorch does, then cast: arange(0, 1, 0.1) has 10 elements.
        array = np.arange(*[float(v) for v in values], dtype=np.float64).astype(dtype)
    else:
        array = np.arange(*values, dtype=dtype)
    return _new(array, requires_grad)


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, out: Any = None, layout: Any = None) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    _check_device(device)
    steps = _int_arg(steps, "linspace", "steps")
    array = np.linspace(float(_data(start)), float(_data(end)), steps, dtype=np.float64)
    return _new(array.astype(_factory_dtype(dtype)), requires_grad)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False, out: Any = None,
             layout: Any = None) -> Tensor:
    """base ** linspace(start, end, steps)."""
    _check_device(device)
    steps = _int_arg(steps, "logspace", "steps")
    array = np.logspace(float(_data(start)), float(_data(end)), steps, base=float(base),
                        dtype=np.float64)
    return _new(array.astype(_factory_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False, out: Any = None, layout: Any = None) -> Tensor:
    """The (n, m) identity matrix (m = n by default)."""
    _check_device(device)
    n = _int_arg(n, "eye", "n")
    m = n if m is None else _int_arg(m, "eye", "m")
    return _new(np.eye(n, m, dtype=_factory_dtype(dtype)), requires_grad)


def _int_arg(value: Any, where: str, name: str) -> int:
    value = _data(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or \
            value < 0:
        raise ValueError(f"{where}: {name} must be a non-negative integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------- random
def randn(*size, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, out: Any = None, layout: Any = None) -> Tensor:
    """Standard normal samples from `generator` (default: the one `manual_seed` resets)."""
    _check_device(device)
    data = get_generator(generator).standard_normal(_shape_arg(size), dtype=np.float64)
    return _new(data.astype(_factory_dtype(dtype)), requires_grad)


def rand(*size, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, out: Any = None, layout: Any = None) -> Tensor:
    """Uniform samples in [0, 1)."""
    _check_device(device)
    data = get_generator(generator).random(_shape_arg(size))
    return _new(data.astype(_factory_dtype(dtype)), requires_grad)


def randint(*args, size: Any = None, generator: Any = None, dtype: Any = None,
            device: Any = None, requires_grad: bool = False, out: Any = None,
            layout: Any = None) -> Tensor:
    """randint(high, size) or randint(low, high, size): integers in [low, high), int64."""
    _check_device(device)
    args = list(args)
    if size is None:
        if not args or not isinstance(args[-1], (tuple, list)):
            raise TypeError("randint() missing required argument 'size' (a tuple of ints)")
        size = args.pop()
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError("randint() takes randint(high, size) or randint(low, high, size)")
    low, high = int(_data(low)), int(_data(high))
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    data = get_generator(generator).integers(low, high, tuple(size))
    return _new(data.astype(np.int64 if dtype is None else dtype), requires_grad)


def randperm(n: int, *, generator: Any = None, dtype: Any = np.int64, device: Any = None,
             requires_grad: bool = False, out: Any = None, layout: Any = None) -> Tensor:
    """A random permutation of 0..n-1."""
    _check_device(device)
    n = _int_arg(n, "randperm", "n")
    return _new(get_generator(generator).permutation(n).astype(dtype), requires_grad)


def randn_like(input: Tensor, *, generator: Any = None, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, layout: Any = None,
               memory_format: Any = None) -> Tensor:
    shape, dtype = _like(input, dtype)
    return randn(*shape, generator=generator, dtype=dtype, device=device,
                 requires_grad=requires_grad)


def rand_like(input: Tensor, *, generator: Any = None, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, layout: Any = None,
              memory_format: Any = None) -> Tensor:
    shape, dtype = _like(input, dtype)
    return rand(*shape, generator=generator, dtype=dtype, device=device,
                requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, generator: Any = None,
                 dtype: Any = None, device: Any = None, requires_grad: bool = False,
                 layout: Any = None, memory_format: Any = None) -> Tensor:
    if high is None:
        low, high = 0, low
    shape, dtype = _like(input, dtype)
    return randint(low, high, shape, generator=generator, dtype=dtype, device=device)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False,
           out: Any = None) -> Tensor:
    """Samples of N(mean, std²): tensors mean and std broadcast, or floats with a size."""
    _check_device(device)
    mean_array, std_array = np.asarray(_data(mean)), np.asarray(_data(std))
    shape = tuple(size) if size is not None else np.broadcast_shapes(mean_array.shape,
                                                                     std_array.shape)
    if dtype is None:
        tensors = [a.dtype for a in (mean_array, std_array) if a.ndim and a.dtype.kind == "f"]
        dtype = tensors[0] if tensors else _Defaults.dtype
    noise = get_generator(generator).standard_normal(shape)
    return _new((mean_array + std_array * noise).astype(dtype), requires_grad)


from steepest import functional as _F  # noqa: E402  (functions of tensors, on top of ops)
from steepest.autograd import ops as _ops  # noqa: E402  (ops build Tensors)
from steepest.autograd.function import _InPlace, run_backward  # noqa: E402
