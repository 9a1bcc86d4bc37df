"""Elementwise math with PyTorch's names, arguments and type promotion, and in-place writes.

Each function is composed from the primitives in `autograd/ops.py` (those with a kink or no
NumPy counterpart are primitives there: erf, log1p, expm1, the piecewise-constant rounding
family). The in-place forms (`add_`, `x -= y`) write into the tensor with PyTorch's rules,
which live in `autograd/inplace.py`; when nothing is recorded they run as one NumPy ufunc with
`out=`, so an update loop under `no_grad` allocates nothing.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from steepest.autograd import inplace, ops
from steepest.tensor import (
    Tensor,
    _cast_to,
    _data,
    _Defaults,
    _division_operands,
    _promoted,
    result_type,
)


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x) if isinstance(x, np.ndarray) else \
        Tensor(np.asarray(x, dtype=result_type(x)))


def with_out(fn):
    """Accept PyTorch's `out=` keyword: the result is written into `out` (which is returned)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if out is None:
            return result
        return write_out(out, result)

    return wrapper


def write_out(out: Any, result: Any) -> Any:
    """Copy result(s) into out (a Tensor, or a tuple of them for (values, indices))."""
    if isinstance(out, (tuple, list)):
        for target, value in zip(out, result, strict=True):
            write_out(target, value)
        return out
    if not isinstance(out, Tensor):
        raise TypeError(f"out= must be a Tensor, got {type(out).__name__}")
    if out.requires_grad and (result.requires_grad or out.grad_fn is None):
        raise RuntimeError("functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if out.data.shape != result.data.shape:
        out.data = np.array(result.data, dtype=out.data.dtype)  # resized, as PyTorch does
        inplace.bump_version(out)
        return out
    inplace.check_castable(result.data.dtype, out)
    inplace.bump_version(out)
    np.copyto(out.data, result.data, casting="same_kind")
    return out


# ----------------------------------------------------------------------------- arithmetic
def _scaled(other: Any, alpha: Any) -> Any:
    if alpha == 1:
        return other
    if isinstance(other, Tensor):
        return other * alpha
    return np.multiply(other, alpha) if isinstance(other, np.ndarray) else other * alpha


@with_out
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input + alpha·other, with broadcasting and PyTorch's type promotion."""
    return ops.Add.apply(*_promoted(input, _scaled(other, alpha)))


@with_out
def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input − alpha·other."""
    if isinstance(input, Tensor) and input.data.dtype.kind == "b" and isinstance(
            other, Tensor) and other.data.dtype.kind == "b":
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    return ops.Sub.apply(*_promoted(input, _scaled(other, alpha)))


subtract = sub


@with_out
def mul(input: Any, other: Any) -> Tensor:
    return ops.Mul.apply(*_promoted(input, other))


multiply = mul


@with_out
def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """input / other: true division (integers give the default float dtype), or rounded
    'trunc' / 'floor' (integers stay integers), as PyTorch."""
    if rounding_mode is None:
        return ops.Div.apply(*_division_operands(input, other))
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")
    a, b = _promoted(input, other)
    dtype = result_type(a, b)
    if dtype.kind in "biu":
        fn = np.floor_divide if rounding_mode == "floor" else _trunc_divide
        return Tensor._wrap(np.asarray(fn(_data(a), _data(b))).astype(dtype, copy=False))
    quotient = ops.Div.apply(a, b)
    return ops.Flat.apply(quotient, fn=np.floor if rounding_mode == "floor" else np.trunc)


divide = div
true_divide = div


def _trunc_divide(a, b):
    return np.trunc(np.true_divide(a, b))


@with_out
def floor_divide(input: Any, other: Any) -> Tensor:
    """⌊input / other⌋ (PyTorch's floor_divide rounds down since 1.13)."""
    return div(input, other, rounding_mode="floor")


@with_out
def remainder(input: Any, other: Any) -> Tensor:
    """input − ⌊input / other⌋·other: the sign of the divisor (Python's %)."""
    a, b = _promoted(input, other)
    if result_type(a, b).kind in "biu":
        return Tensor._wrap(np.asarray(np.remainder(_data(a), _data(b))))
    return a - floor_divide(a, b).detach() * b


@with_out
def fmod(input: Any, other: Any) -> Tensor:
    """input − trunc(input / other)·other: the sign of the dividend (C's fmod)."""
    a, b = _promoted(input, other)
    if result_type(a, b).kind in "biu":
        return Tensor._wrap(np.asarray(np.fmod(_data(a), _data(b))))
    return a - div(a, b, rounding_mode="trunc").detach() * b


@with_out
def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent; either may be a number (torch.pow(2, x))."""
    return ops.Pow.apply(*_promoted(input, exponent))


@with_out
def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent computed in float64, as PyTorch's float_power."""
    return ops.Pow.apply(*_cast_to(np.dtype(np.float64), _tensor(input), exponent))


@with_out
def neg(input: Tensor) -> Tensor:
    return -_tensor(input)


negative = neg


@with_out
def abs(input: Tensor) -> Tensor:
    return ops.Abs.apply(input)


absolute = abs


# ----------------------------------------------------------------------------- math
def _float(x: Any) -> Tensor:
    """x as a float tensor: integers become the default float dtype (exp, log, sqrt, ...)."""
    x = _tensor(x)
    return x if x.data.dtype.kind in "fc" else x.astype(_Defaults.dtype)


@with_out
def exp(input: Tensor) -> Tensor:
    """eˣ, elementwise.  x: (*) -> (*)."""
    return ops.Exp.apply(_float(input))


@with_out
def exp2(input: Tensor) -> Tensor:
    """2ˣ."""
    return ops.Exp.apply(_float(input) * math.log(2.0))


@with_out
def log(input: Tensor) -> Tensor:
    """Natural logarithm, elementwise.  x: (*) -> (*)."""
    return ops.Log.apply(_float(input))


@with_out
def log2(input: Tensor) -> Tensor:
    return ops.Log.apply(_float(input)) * (1 / math.log(2.0))


@with_out
def log10(input: Tensor) -> Tensor:
    return ops.Log.apply(_float(input)) * (1 / math.log(10.0))


@with_out
def log1p(input: Tensor) -> Tensor:
    """ln(1 + x), accurate near 0."""
    return ops.Log1p.apply(_float(input))


@with_out
def expm1(input: Tensor) -> Tensor:
    """eˣ − 1, accurate near 0."""
    return ops.Expm1.apply(_float(input))


@with_out
def sqrt(input: Tensor) -> Tensor:
    """√x, elementwise.  x: (*) -> (*)."""
    return ops.Sqrt.apply(_float(input))


@with_out
def rsqrt(input: Tensor) -> Tensor:
    """1 / √x."""
    return ops.Pow.apply(_float(input), -0.5)


@with_out
def square(input: Tensor) -> Tensor:
    """x², as x·x (so integers stay integers, as PyTorch)."""
    x = _tensor(input)
    return ops.Pow.apply(x, 2) if x.data.dtype.kind != "b" else x.astype(np.int64)


@with_out
def reciprocal(input: Tensor) -> Tensor:
    """1 / x (integers give the default float dtype)."""
    return ops.Div.apply(1.0, _float(input))


@with_out
def sin(input: Tensor) -> Tensor:
    return ops.Sin.apply(_float(input))


@with_out
def cos(input: Tensor) -> Tensor:
    return ops.Cos.apply(_float(input))


@with_out
def tan(input: Tensor) -> Tensor:
    x = _float(input)
    return ops.Sin.apply(x) / ops.Cos.apply(x)


@with_out
def sinh(input: Tensor) -> Tensor:
    x = _float(input)
    return (ops.Exp.apply(x) - ops.Exp.apply(-x)) * 0.5


@with_out
def cosh(input: Tensor) -> Tensor:
    x = _float(input)
    return (ops.Exp.apply(x) + ops.Exp.apply(-x)) * 0.5


@with_out
def erf(input: Tensor) -> Tensor:
    """The error function (2/√π) ∫₀ˣ e^(−t²) dt."""
    return ops.Erf.apply(_float(input))


@with_out
def erfc(input: Tensor) -> Tensor:
    """1 − erf x."""
    return 1.0 - ops.Erf.apply(_float(input))


# Piecewise constant: the gradient is 0 everywhere (PyTorch's convention at the jumps too).
def _flat(input: Any, fn, decimals: int = 0) -> Tensor:
    x = _tensor(input)
    if x.data.dtype.kind in "biu" and fn is not np.sign:
        return x.clone()  # integers are already whole numbers
    return ops.Flat.apply(x, fn=fn, decimals=decimals)


@with_out
def sign(input: Tensor) -> Tensor:
    """−1, 0 or 1 (0 at 0); gradient 0."""
    x = _tensor(input)
    if x.data.dtype.kind == "b":
        return x.clone()
    return _flat(x, np.sign)


sgn = sign


@with_out
def floor(input: Tensor) -> Tensor:
    return _flat(input, np.floor)


@with_out
def ceil(input: Tensor) -> Tensor:
    return _flat(input, np.ceil)


@with_out
def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even (as PyTorch and NumPy), to `decimals` places."""
    return _flat(input, np.round, int(decimals))


@with_out
def trunc(input: Tensor) -> Tensor:
    return _flat(input, np.trunc)


fix = trunc


@with_out
def frac(input: Tensor) -> Tensor:
    """x − trunc(x); gradient 1."""
    x = _tensor(input)
    return x - trunc(x)


def _bound(value: Any, reference: Tensor) -> Any:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray) and value.ndim:
        return Tensor(value)
    return value


@with_out
def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """x limited to [min, max]; min and max may be numbers or tensors (broadcast), either None.

    The gradient passes where min <= x <= max (bounds included); a tensor bound gets the
    gradient where it binds. Where min > max the result is max, as PyTorch.
    """
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    x = _tensor(input)
    lo, hi = _bound(min, x), _bound(max, x)
    dtype = result_type(*(v for v in (x, lo, hi) if v is not None))
    x, lo, hi = (None if v is None else _cast_to(dtype, v)[0] for v in (x, lo, hi))
    return ops.Clip.apply(x, lo, hi)


clip = clamp


@with_out
def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


@with_out
def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


@with_out
def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise max with broadcasting; at ties each input gets half the gradient."""
    return ops.Maximum.apply(*_promoted(input, other))


@with_out
def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise min with broadcasting; at ties each input gets half the gradient."""
    return ops.Minimum.apply(*_promoted(input, other))


fmax = maximum
fmin = minimum


@with_out
def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """input + weight·(end − input)."""
    return input + weight * (end - input)


@with_out
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """input + value·tensor1·tensor2."""
    return input + value * (tensor1 * tensor2)


@with_out
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """input + value·tensor1/tensor2."""
    return input + value * (tensor1 / tensor2)


# ----------------------------------------------------------------------------- comparisons
def _compare(ufunc):
    def compare(input: Any, other: Any, *, out: Any = None) -> Tensor:
        result = Tensor._wrap(np.asarray(ufunc(_data(input), _data(other))))
        return result if out is None else write_out(out, result)

    compare.__name__ = ufunc.__name__
    compare.__doc__ = f"Elementwise {ufunc.__name__} (a bool tensor, no gradient)."
    return compare


eq = _compare(np.equal)
ne = not_equal = _compare(np.not_equal)
lt = less = _compare(np.less)
le = less_equal = _compare(np.less_equal)
gt = greater = _compare(np.greater)
ge = greater_equal = _compare(np.greater_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)
logical_xor = _compare(np.logical_xor)
bitwise_and = _compare(np.bitwise_and)
bitwise_or = _compare(np.bitwise_or)
bitwise_xor = _compare(np.bitwise_xor)


def logical_not(input: Any, *, out: Any = None) -> Tensor:
    result = Tensor._wrap(np.asarray(np.logical_not(_data(input))))
    return result if out is None else write_out(out, result)


def bitwise_not(input: Any, *, out: Any = None) -> Tensor:
    result = Tensor._wrap(np.asarray(np.invert(_data(input))))
    return result if out is None else write_out(out, result)


def isnan(input: Any) -> Tensor:
    return Tensor._wrap(np.asarray(np.isnan(_data(input))))


def isinf(input: Any) -> Tensor:
    return Tensor._wrap(np.asarray(np.isinf(_data(input))))


def isfinite(input: Any) -> Tensor:
    return Tensor._wrap(np.asarray(np.isfinite(_data(input))))


def isposinf(input: Any) -> Tensor:
    return Tensor._wrap(np.asarray(np.isposinf(_data(input))))


def isneginf(input: Any) -> Tensor:
    return Tensor._wrap(np.asarray(np.isneginf(_data(input))))


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    return Tensor._wrap(np.asarray(np.isclose(_data(input), _data(other), rtol=rtol,
                                              atol=atol, equal_nan=equal_nan)))


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """|input − other| <= atol + rtol·|other| everywhere (a Python bool)."""
    return bool(np.allclose(_data(input), _data(other), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


def equal(input: Any, other: Any) -> bool:
    """Same shape and the same values (a Python bool)."""
    a, b = np.asarray(_data(input)), np.asarray(_data(other))
    return a.shape == b.shape and bool(np.array_equal(a, b))


@with_out
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN, +inf and −inf replaced (by 0 and the dtype's largest and smallest values)."""
    x = _tensor(input)
    array = np.nan_to_num(x.data, nan=nan, posinf=posinf, neginf=neginf)
    return ops.Where.apply(np.isfinite(x.data), x, array)


# ----------------------------------------------------------------------------- in place
def inplace_result(t: Tensor, compute, *others: Any) -> Tensor:
    """Write compute(t) into t (PyTorch's in-place rules, see autograd/inplace.py)."""
    return inplace.write(t, compute, others)


def _ufunc_inplace(t: Tensor, ufunc, other: Any, compute, alpha: Any = 1) -> Tensor:
    """t = ufunc(t, alpha·other) in place: one NumPy call when nothing is recorded (the update
    of an optimizer step written by hand), else recorded by `inplace.write`."""
    if inplace.needs_recording(t, (other,)):
        return inplace.write(t, compute, (other,))
    value = other.data if isinstance(other, Tensor) else other
    if alpha != 1:
        value = value * alpha
    shape = np.shape(value)
    if shape != t.data.shape and shape:
        try:
            broadcast = np.broadcast_shapes(t.data.shape, shape)
        except ValueError:
            broadcast = shape
        inplace.check_shape(broadcast, t)
    inplace.bump_version(t)
    try:
        ufunc(t.data, value, out=t.data, casting="same_kind")
    except TypeError:
        inplace.check_castable(np.result_type(t.data, value), t)
        raise
    return t


def add_(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _ufunc_inplace(input, np.add, other, lambda a: add(a, other, alpha=alpha), alpha)


def sub_(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _ufunc_inplace(input, np.subtract, other, lambda a: sub(a, other, alpha=alpha),
                          alpha)


def mul_(input: Tensor, other: Any) -> Tensor:
    return _ufunc_inplace(input, np.multiply, other, lambda a: mul(a, other))


def div_(input: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is not None:
        return inplace.write(input, lambda a: div(a, other, rounding_mode=rounding_mode),
                             (other,))
    return _ufunc_inplace(input, np.true_divide, other, lambda a: div(a, other))


def pow_(input: Tensor, exponent: Any) -> Tensor:
    return _ufunc_inplace(input, np.power, exponent, lambda a: pow(a, exponent))


def zero_(input: Tensor) -> Tensor:
    """Fill with zeros, in place."""
    return fill_(input, 0)


def fill_(input: Tensor, value: Any) -> Tensor:
    """Fill with `value` (a number or a 0-d tensor), in place."""
    if isinstance(value, Tensor) and value.data.ndim:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.data.ndim} dimensions.")
    if not inplace.needs_recording(input, (value,)):
        inplace.bump_version(input)
        input.data[...] = _data(value)
        return input
    return inplace.write(input, lambda a: ops.Where.apply(
        np.ones(a.shape, dtype=bool), _fill_value(value, a), a), (value,))


def _fill_value(value: Any, like: Tensor) -> Any:
    if isinstance(value, Tensor):
        return value.astype(like.data.dtype) if value.data.dtype != like.data.dtype else value
    return np.asarray(value, dtype=like.data.dtype)


def copy_(input: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Copy src's values (broadcast, cast to input's dtype) into input, in place; the
    gradient flows to src."""
    if not inplace.needs_recording(input, (src,)):
        inplace.bump_version(input)
        np.copyto(input.data, np.broadcast_to(_data(src), input.data.shape), casting="unsafe")
        return input
    source = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
    return inplace.write(input, lambda a: ops.Where.apply(
        np.ones(a.shape, dtype=bool), source.astype(a.data.dtype) if source.data.dtype !=
        a.data.dtype else source, a), (source,))


def setitem_(input: Tensor, steps: tuple, value: Any) -> Tensor:
    """input[index] = value (steps: see `Tensor.__setitem__`)."""
    if not inplace.needs_recording(input, (value,)):
        inplace.bump_version(input)
        array = inplace.read_steps(input.data, steps[:-1])
        array[steps[-1]] = _data(value)
        return input
    if isinstance(value, Tensor) and value.data.dtype != input.data.dtype:
        value = value.astype(input.data.dtype)
    return inplace.write(input, lambda a: inplace.SetItem.apply(a, value, steps=steps),
                         (value,))


def _random_fill(input: Tensor, sample) -> Tensor:
    """Replace the values by samples (no graph: PyTorch's random fills are not differentiable)."""
    if input.requires_grad and input.grad_fn is None and inplace.needs_recording(input, ()):
        raise RuntimeError(inplace.LEAF_MESSAGE)
    inplace.bump_version(input)
    input.data[...] = sample(input.data.shape).astype(input.data.dtype, copy=False)
    return input


def normal_(input: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: Any = None) -> Tensor:
    """Fill with samples of N(mean, std²), in place."""
    from steepest.random import get_generator

    rng = get_generator(generator)
    return _random_fill(input, lambda shape: mean + std * rng.standard_normal(shape))


def uniform_(input: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples of U(a, b), in place."""
    from steepest.random import get_generator

    rng = get_generator(generator)
    return _random_fill(input, lambda shape: rng.uniform(a, b, shape))


def bernoulli_(input: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Fill with 1 with probability p, else 0, in place."""
    from steepest.random import get_generator

    rng = get_generator(generator)
    return _random_fill(input, lambda shape: rng.random(shape) < _data(p))


def exponential_(input: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    from steepest.random import get_generator

    rng = get_generator(generator)
    return _random_fill(input, lambda shape: rng.exponential(1.0 / lambd, shape))


def random_(input: Tensor, start: int = 0, to: int | None = None, *,
            generator: Any = None) -> Tensor:
    """Fill with integers in [start, to) (to defaults to 2**24 for float tensors)."""
    from steepest.random import get_generator

    rng = get_generator(generator)
    if to is None:
        start, to = 0, (start if start else 2 ** 24)
    return _random_fill(input, lambda shape: rng.integers(start, to, shape))
