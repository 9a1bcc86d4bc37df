"""The primitive ops: this is where the forward and backward passes live, side by side.

Each backward returns d(loss)/d(input) for every positional input, given d(loss)/d(output);
broadcasting is undone by the engine. Conventions at kinks are stated next to each op.
Backward functions never write into `grad_out`: it may be shared with other nodes.
"""

from __future__ import annotations

import numpy as np

from steepest.autograd.function import Function

# ----------------------------------------------------------------------------- arithmetic


class Add(Function):
    """z = x + y, elementwise with broadcasting."""

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out


class Sub(Function):
    """z = x - y."""

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, (-grad_out if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = x * y."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.x, ctx.y = x, y
        return x * y

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_y = ctx.needs_input_grad
        return (grad_out * ctx.y if need_x else None), (grad_out * ctx.x if need_y else None)


class Div(Function):
    """z = x / y;  dz/dy = -x / y²."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.x, ctx.y = x, y
        return x / y

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad_out / ctx.y if need_x else None
        grad_y = -grad_out * ctx.x / (ctx.y * ctx.y) if need_y else None
        return grad_x, grad_y


class Neg(Function):
    """z = -x."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out


class Pow(Function):
    """z = x ** p;  dz/dx = p x^(p-1) (0 when p = 0);  dz/dp = z log x (0 where x = 0, p >= 0)."""

    @staticmethod
    def forward(ctx, x, p):
        out = np.power(x, p)
        ctx.x, ctx.p, ctx.out = x, p, out
        return out

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_p = ctx.needs_input_grad
        x, p = ctx.x, ctx.p
        grad_x = grad_p = None
        if need_x:
            if np.ndim(p) == 0 and p == 0:
                grad_x = np.zeros_like(grad_out)
            else:
                grad_x = grad_out * p * np.power(x, p - 1)
        if need_p:
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_p = grad_out * ctx.out * np.log(x)
            grad_p = np.where((x == 0) & (np.asarray(p) >= 0), 0, grad_p).astype(grad_out.dtype)
        return grad_x, grad_p


class MatMul(Function):
    """z = x @ y with NumPy's rules: batched over leading axes, 1-D operands promoted."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.x, ctx.y = x, y
        return x @ y

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.x, ctx.y
        need_x, need_y = ctx.needs_input_grad
        if x.ndim == 1 and y.ndim == 1:
            return (grad_out * y if need_x else None), (grad_out * x if need_y else None)
        # Promote 1-D operands to matrices, as forward did, then drop the added axis.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g = grad_out
        if x.ndim == 1:
            g = g[..., None, :]
        if y.ndim == 1:
            g = g[..., None]
        grad_x = grad_y = None
        if need_x:
            grad_x = g @ np.swapaxes(y2, -1, -2)
            if x.ndim == 1:
                grad_x = grad_x[..., 0, :]
        if need_y:
            grad_y = np.swapaxes(x2, -1, -2) @ g
            if y.ndim == 1:
                grad_y = grad_y[..., 0]
        return grad_x, grad_y


class Linear(Function):
    """z = x @ wᵀ + b, fused (as PyTorch's addmm): x (..., in), w (out, in), b (out,) or None."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.x, ctx.weight = x, weight
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_w, need_b = (ctx.needs_input_grad + (False,))[:3]
        x, weight = ctx.x, ctx.weight
        g2 = grad_out.reshape(-1, grad_out.shape[-1])
        grad_x = grad_out @ weight if need_x else None
        grad_w = g2.T @ x.reshape(-1, x.shape[-1]) if need_w else None
        grad_b = g2.sum(axis=0) if need_b else None
        return grad_x, grad_w, grad_b


# ----------------------------------------------------------------------------- reductions


def _expand_reduced(grad_out, shape, axis, keepdims):
    """Give a reduced gradient back its reduced axes (size 1) so it broadcasts to `shape`."""
    if axis is None:
        return grad_out.reshape((1,) * len(shape))
    if not keepdims:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        grad_out = np.expand_dims(grad_out, axes)
    return grad_out


def _filled(shape, values):
    """A fresh array of `shape` holding `values` broadcast: several times cheaper than
    np.broadcast_to for small arrays, and a leaf can own it without a copy."""
    out = np.empty(shape, dtype=values.dtype)
    out[...] = values
    return out


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))


class Sum(Function):
    """z = Σ x over `axis` (all axes if None)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad_out):
        g = _expand_reduced(grad_out, ctx.shape, ctx.axis, ctx.keepdims)
        return _filled(ctx.shape, g)


class Mean(Function):
    """z = Σ x / n over `axis`."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.asarray(x.mean(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad_out):
        g = _expand_reduced(grad_out, ctx.shape, ctx.axis, ctx.keepdims)
        return _filled(ctx.shape, g / _count(ctx.shape, ctx.axis))


class Max(Function):
    """z = max x over `axis`. Ties share the gradient equally (as `torch.amax`)."""

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        out = cls.reduce(x, axis=axis, keepdims=True)
        ctx.x, ctx.out_kept, ctx.axis, ctx.keepdims = x, out, axis, keepdims
        return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))

    @staticmethod
    def backward(ctx, grad_out):
        g = _expand_reduced(grad_out, ctx.x.shape, ctx.axis, ctx.keepdims)
        winners = ctx.x == ctx.out_kept
        count = winners.sum(axis=ctx.axis, keepdims=True)
        return np.where(winners, g / count, 0).astype(grad_out.dtype)


class Min(Max):
    """z = min x over `axis`. Ties share the gradient equally (as `torch.amin`)."""

    reduce = staticmethod(np.min)


# ----------------------------------------------------------------------------- shape


class Reshape(Function):
    """z = x with a new shape (same elements, C order)."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.shape)


class Transpose(Function):
    """z = x with its axes permuted (`axes=None` reverses them)."""

    @staticmethod
    def forward(ctx, x, axes=None):
        # Negative axes normalised: argsort of (-1, 0, 1) is not the inverse permutation.
        ctx.axes = None if axes is None else tuple(a % x.ndim for a in axes)
        return np.transpose(x, ctx.axes)

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.axes is None:
            return np.transpose(grad_out)
        return np.transpose(grad_out, np.argsort(ctx.axes))


class BroadcastTo(Function):
    """z = x repeated along broadcast axes to `shape` (PyTorch's `expand`)."""

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out  # the engine sums it back to x's shape


def _is_basic_index(index) -> bool:
    """True for slices, integers, None and Ellipsis: indexing that never repeats an element."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items
    )


class GetItem(Function):
    """z = x[index]. Repeated indices (fancy indexing) accumulate their gradients."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    @staticmethod
    def backward(ctx, grad_out):
        grad = np.zeros(ctx.shape, dtype=grad_out.dtype)
        if _is_basic_index(ctx.index):
            grad[ctx.index] = grad_out
        else:
            np.add.at(grad, ctx.index, grad_out)
        return grad


class Concatenate(Function):
    """z = the inputs joined along an existing axis."""

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(np.split(grad_out, ctx.splits, axis=ctx.axis))


class Stack(Function):
    """z = the inputs joined along a new axis."""

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis, ctx.count = axis, len(arrays)
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(np.take(grad_out, i, axis=ctx.axis) for i in range(ctx.count))


class Copy(Function):
    """z = a copy of x."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out


class Cast(Function):
    """z = x converted to `dtype`; the gradient goes back in x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.astype(ctx.dtype)


# ----------------------------------------------------------------------------- elementwise


class Exp(Function):
    """z = eˣ;  dz/dx = z."""

    @staticmethod
    def forward(ctx, x):
        ctx.out = np.exp(x)
        return ctx.out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ctx.out


class Log(Function):
    """z = ln x;  dz/dx = 1/x."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.log(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out / ctx.x


class Sqrt(Function):
    """z = √x;  dz/dx = 1 / (2z)."""

    @staticmethod
    def forward(ctx, x):
        ctx.out = np.sqrt(x)
        return ctx.out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out / (2 * ctx.out)


class Sin(Function):
    """z = sin x;  dz/dx = cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * np.cos(ctx.x)


class Cos(Function):
    """z = cos x;  dz/dx = −sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out * np.sin(ctx.x)


class Abs(Function):
    """z = |x|;  dz/dx = sign(x), 0 at x = 0 (as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * np.sign(ctx.x)


class Clip(Function):
    """z = min(max(x, lo), hi);  the gradient passes where lo <= x <= hi, bounds included."""

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        ctx.x, ctx.lo, ctx.hi = x, min, max
        return np.clip(x, min, max)

    @staticmethod
    def backward(ctx, grad_out):
        inside = np.ones(ctx.x.shape, dtype=bool)
        if ctx.lo is not None:
            inside &= ctx.x >= ctx.lo
        if ctx.hi is not None:
            inside &= ctx.x <= ctx.hi
        return np.where(inside, grad_out, 0).astype(grad_out.dtype)


class Where(Function):
    """z = x where cond else y (cond gets no gradient)."""

    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.cond = np.asarray(cond, dtype=bool)
        return np.where(ctx.cond, x, y)

    @staticmethod
    def backward(ctx, grad_out):
        _, need_x, need_y = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad_out.dtype)
        grad_x = np.where(ctx.cond, grad_out, zero) if need_x else None
        grad_y = np.where(ctx.cond, zero, grad_out) if need_y else None
        return None, grad_x, grad_y


class Maximum(Function):
    """z = max(x, y) elementwise; at ties each input gets half the gradient (as PyTorch)."""

    pick = staticmethod(np.greater)

    @classmethod
    def forward(cls, ctx, x, y):
        ctx.x, ctx.y = x, y
        return np.maximum(x, y) if cls.pick is np.greater else np.minimum(x, y)

    @classmethod
    def backward(cls, ctx, grad_out):
        x_wins = cls.pick(ctx.x, ctx.y)
        tie = ctx.x == ctx.y
        share_x = np.where(tie, 0.5, x_wins.astype(grad_out.dtype)).astype(grad_out.dtype)
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad_out * share_x if need_x else None
        grad_y = grad_out * (1 - share_x) if need_y else None
        return grad_x, grad_y


class Minimum(Maximum):
    """z = min(x, y) elementwise; ties share the gradient equally."""

    pick = staticmethod(np.less)


# ----------------------------------------------------------------------------- activations


class Sigmoid(Function):
    """z = 1 / (1 + e⁻ˣ);  dz/dx = z (1 − z). Computed without overflow for large |x|."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ctx.out * (1 - ctx.out)


class Tanh(Function):
    """z = tanh x;  dz/dx = 1 − z²."""

    @staticmethod
    def forward(ctx, x):
        ctx.out = np.tanh(x)
        return ctx.out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * (1 - ctx.out * ctx.out)


class ReLU(Function):
    """z = max(0, x);  dz/dx = 1 for x > 0 and 0 for x <= 0 (0 at the kink, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * (ctx.out > 0)


class LeakyReLU(Function):
    """z = x for x > 0, slope·x otherwise;  the gradient at 0 is the slope (as PyTorch)."""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.positive = x > 0
        ctx.slope = negative_slope
        return np.where(ctx.positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad_out):
        return np.where(ctx.positive, grad_out, grad_out * ctx.slope)


class ELU(Function):
    """z = x for x > 0, α(eˣ − 1) otherwise;  dz/dx = z + α for x <= 0."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.positive = x > 0
        ctx.alpha = alpha
        ctx.out = np.where(ctx.positive, x, alpha * np.expm1(np.minimum(x, 0)))
        return ctx.out

    @staticmethod
    def backward(ctx, grad_out):
        return np.where(ctx.positive, grad_out, grad_out * (ctx.out + ctx.alpha))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class SELU(Function):
    """z = λ·x for x > 0, λα(eˣ − 1) otherwise, with Klambauer et al.'s λ and α."""

    @staticmethod
    def forward(ctx, x):
        ctx.positive = x > 0
        negative = (SELU_SCALE * SELU_ALPHA) * np.expm1(np.minimum(x, 0))
        ctx.out = np.where(ctx.positive, SELU_SCALE * x, negative)
        return ctx.out

    @staticmethod
    def backward(ctx, grad_out):
        slope = np.where(ctx.positive, SELU_SCALE, ctx.out + SELU_SCALE * SELU_ALPHA)
        return grad_out * slope.astype(grad_out.dtype)


class Softmax(Function):
    """z = eˣ / Σ eˣ along `axis`, shifted by the max for stability;  dz = z (g − Σ g z)."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.out, ctx.axis = out, axis
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out = ctx.out
        return out * (grad_out - (grad_out * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """z = x − log Σ eˣ along `axis` (log-sum-exp shifted by the max);  dz = g − eᶻ Σ g."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.out, ctx.axis = out, axis
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out - np.exp(ctx.out) * grad_out.sum(axis=ctx.axis, keepdims=True)


# ----------------------------------------------------------------------------- helpers


def matmul(x, y):
    """x @ y; shape errors name both shapes."""
    from steepest.tensor import Tensor

    xs = x.shape if isinstance(x, Tensor) else np.shape(x)
    ys = y.shape if isinstance(y, Tensor) else np.shape(y)
    if len(xs) == 0 or len(ys) == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got {xs} and {ys}")
    inner_x = xs[-1]
    inner_y = ys[0] if len(ys) == 1 else ys[-2]
    if inner_x != inner_y:
        raise ValueError(
            f"matmul: shapes {xs} and {ys} do not match: {inner_x} (last axis of the first) "
            f"!= {inner_y} ({'only' if len(ys) == 1 else 'second-to-last'} axis of the second)"
        )
    return MatMul.apply(x, y)


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge axes start_dim..end_dim into one (PyTorch's `flatten`)."""
    ndim = x.ndim
    if ndim == 0:
        return x.reshape(1)
    start, end = start_dim % ndim, end_dim % ndim
    shape = x.shape
    merged = int(np.prod(shape[start : end + 1]))
    return x.reshape(shape[:start] + (merged,) + shape[end + 1 :])
