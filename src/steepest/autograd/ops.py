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
    """z = x * y. Each input is kept only if the other's gradient needs it (as PyTorch), so
    changing an input in place afterwards is an error only where it would matter."""

    @staticmethod
    def forward(ctx, x, y):
        need_x, need_y = ctx.needs_input_grad
        ctx.x = x if need_y else None
        ctx.y = y if need_x else None
        return x * y

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_y = ctx.needs_input_grad
        return (grad_out * ctx.y if need_x else None), (grad_out * ctx.x if need_y else None)


class Div(Function):
    """z = x / y;  dz/dy = -x / y²."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.x = x if ctx.needs_input_grad[1] else None
        ctx.y = y
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
        if np.ndim(p) and np.asarray(p).dtype.kind in "iu" and np.asarray(x).dtype.kind in "iu" \
                and (np.asarray(p) < 0).any():
            out = _integer_power(x, p)
        else:
            out = np.power(x, p)
        ctx.x, ctx.p = x, p
        ctx.out = out if ctx.needs_input_grad[1] else None  # only dz/dp needs z
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


def _integer_power(x, p):
    """Integer x ** p with negative exponents as PyTorch (C's integer power): 1 for x = 1,
    ±1 for x = −1, 0 otherwise."""
    dtype = np.result_type(x, p)  # before broadcasting: a Python int base stays weak
    x, p = np.broadcast_arrays(np.asarray(x), np.asarray(p))
    out = np.power(x, np.maximum(p, 0))
    negative = p < 0
    odd = (p % 2).astype(bool)
    out = np.where(negative, np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0)),
                   out)
    return out.astype(dtype)


class MatMul(Function):
    """z = x @ y with NumPy's rules: batched over leading axes, 1-D operands promoted."""

    @staticmethod
    def forward(ctx, x, y):
        need_x, need_y = ctx.needs_input_grad
        ctx.x = x if need_y else None
        ctx.y = y if need_x else None
        ctx.ndims = (x.ndim, y.ndim)
        return x @ y

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.x, ctx.y
        x_ndim, y_ndim = ctx.ndims
        need_x, need_y = ctx.needs_input_grad
        if x_ndim == 1 and y_ndim == 1:
            return (grad_out * y if need_x else None), (grad_out * x if need_y else None)
        # Promote 1-D operands to matrices, as forward did, then drop the added axis.
        g = grad_out
        if x_ndim == 1:
            g = g[..., None, :]
        if y_ndim == 1:
            g = g[..., None]
        grad_x = grad_y = None
        if need_x:
            y2 = y[:, None] if y_ndim == 1 else y
            grad_x = g @ np.swapaxes(y2, -1, -2)
            if x_ndim == 1:
                grad_x = grad_x[..., 0, :]
        if need_y:
            x2 = x[None, :] if x_ndim == 1 else x
            grad_y = np.swapaxes(x2, -1, -2) @ g
            if y_ndim == 1:
                grad_y = grad_y[..., 0]
        return grad_x, grad_y


class Linear(Function):
    """z = x @ wᵀ + b, fused (as PyTorch's addmm): x (..., in), w (out, in), b (out,) or None."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        need_x, need_w = ctx.needs_input_grad[:2]
        # As addmm: x is kept for the weight's gradient, the weight for x's.
        ctx.x = x if need_w else None
        ctx.weight = weight if need_x else None
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
    """z = min(max(x, lo), hi), lo and hi scalars, arrays (broadcast) or None.

    dz/dx = 1 where lo <= x <= hi, bounds included (PyTorch's clamp); with `strict` the bounds
    themselves get 0 (PyTorch's hardtanh). Array bounds get the gradient where they bind:
    dz/dlo = 1 where x < lo, dz/dhi = 1 where x > hi (and lo <= hi; where lo > hi the result is
    hi, as in PyTorch).
    """

    @staticmethod
    def forward(ctx, x, lo=None, hi=None, strict=False):
        ctx.x, ctx.lo, ctx.hi, ctx.strict = x, lo, hi, strict
        out = x
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return out if out is not x else x.copy()

    @staticmethod
    def backward(ctx, grad_out):
        x, lo, hi = ctx.x, ctx.lo, ctx.hi
        need = ctx.needs_input_grad + (False, False)
        inside = np.ones(np.broadcast_shapes(x.shape, grad_out.shape), dtype=bool)
        above_lo = below_hi = None
        if lo is not None:
            above_lo = (x > lo) if ctx.strict else (x >= lo)
            inside = inside & above_lo
        if hi is not None:
            below_hi = (x < hi) if ctx.strict else (x <= hi)
            inside = inside & below_hi
        zero = np.zeros((), dtype=grad_out.dtype)
        grad_x = np.where(inside, grad_out, zero) if need[0] else None
        grad_lo = grad_hi = None
        if need[1]:
            binds = ~above_lo if hi is None else ~above_lo & (np.asarray(lo) <= hi)
            grad_lo = np.where(binds, grad_out, zero)
        if need[2]:
            binds = ~below_hi if lo is None else (~below_hi) | (np.asarray(lo) > hi)
            grad_hi = np.where(binds, grad_out, zero)
        return grad_x, grad_lo, grad_hi


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
        if x.size == 0:  # an empty axis (or batch): nothing to normalise, as PyTorch
            ctx.out, ctx.axis = x.copy(), axis
            return ctx.out
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
        if x.size == 0:
            ctx.out, ctx.axis = x.copy(), axis
            return ctx.out
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.out, ctx.axis = out, axis
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out - np.exp(ctx.out) * grad_out.sum(axis=ctx.axis, keepdims=True)



# ----------------------------------------------------------------------------- more math


class Log1p(Function):
    """z = ln(1 + x), accurate for small x;  dz/dx = 1 / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out / (1 + ctx.x)


class Expm1(Function):
    """z = eˣ − 1, accurate for small x;  dz/dx = z + 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.out = np.expm1(x)
        return ctx.out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * (ctx.out + 1)


class Erf(Function):
    """z = erf x = (2/√π) ∫₀ˣ e^(−t²) dt;  dz/dx = (2/√π) e^(−x²).

    NumPy has no erf: W. J. Cody's rational approximations (Math. Comp. 1969), accurate to
    double precision, evaluated in float64.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return erf_array(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ((2 / np.sqrt(np.pi)) * np.exp(-ctx.x * ctx.x))


_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf of every element (Cody's three ranges: |x| <= 0.46875, <= 4, > 4), x's dtype."""
    v = np.asarray(x, dtype=np.float64)
    y = np.abs(v)
    out = np.empty_like(v)
    small = y <= 0.46875
    if small.any():
        z = v[small]
        zsq = z * z
        num, den = _ERF_A[4] * zsq, zsq
        for a, b in zip(_ERF_A[:3], _ERF_B[:3], strict=True):
            num, den = (num + a) * zsq, (den + b) * zsq
        out[small] = z * (num + _ERF_A[3]) / (den + _ERF_B[3])
    middle = ~small & (y <= 4.0)
    if middle.any():
        z = y[middle]
        num, den = _ERF_C[8] * z, z
        for c, d in zip(_ERF_C[:7], _ERF_D[:7], strict=True):
            num, den = (num + c) * z, (den + d) * z
        out[middle] = _erfc_scaled_to_erf(z, (num + _ERF_C[7]) / (den + _ERF_D[7]))
    large = ~small & ~middle
    if large.any():
        z = y[large]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            zsq = 1.0 / (z * z)
            num, den = _ERF_P[5] * zsq, zsq
            for p, q in zip(_ERF_P[:4], _ERF_Q[:4], strict=True):
                num, den = (num + p) * zsq, (den + q) * zsq
            tail = zsq * (num + _ERF_P[4]) / (den + _ERF_Q[4])
            tail = (0.56418958354775628695 - tail) / z
            result = _erfc_scaled_to_erf(z, tail)
        out[large] = np.where(np.isnan(z), np.nan, np.where(np.isinf(z), 1.0, result))
    out = np.where(small | (v >= 0) | np.isnan(v), out, -out)
    return out.astype(np.result_type(x, np.float32) if np.asarray(x).dtype.kind != "f"
                      else np.asarray(x).dtype, copy=False)


def _erfc_scaled_to_erf(z: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """erf(z) for z > 0 from erfc(z)·e^(z²): e^(−z²) split in two factors for accuracy."""
    z16 = np.trunc(z * 16) / 16
    delta = (z - z16) * (z + z16)
    erfc = np.exp(-z16 * z16) * np.exp(-delta) * scaled
    return (0.5 - erfc) + 0.5


class Flat(Function):
    """A piecewise-constant function (floor, ceil, round, trunc, sign): dz/dx = 0, as PyTorch."""

    @staticmethod
    def forward(ctx, x, fn, decimals=0):
        if fn is np.round and decimals:
            return np.round(x, decimals)
        return fn(x)

    @staticmethod
    def backward(ctx, grad_out):
        return np.zeros_like(grad_out)


class Prod(Function):
    """z = Π x over `axis` (all if None);  dz/dx_i = Π_{j≠i} x_j, exact when some x are 0."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.x, ctx.axis, ctx.keepdims = x, axis, keepdims
        return np.asarray(np.prod(x, axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad_out):
        x, axis = ctx.x, ctx.axis
        g = _expand_reduced(grad_out, x.shape, axis, ctx.keepdims)
        if axis is None:
            flat = x.reshape(-1)
            return (g * _products_of_others(flat, 0).reshape(x.shape)).astype(grad_out.dtype)
        return (g * _products_of_others(x, axis % max(x.ndim, 1))).astype(grad_out.dtype)


def _products_of_others(x: np.ndarray, axis: int) -> np.ndarray:
    """Π_{j≠i} x_j along axis for every i, without dividing (so zeros are exact): the product
    of the exclusive cumulative products from the left and from the right."""
    if x.shape[axis] == 0:
        return np.ones_like(x)
    ones = np.ones_like(np.take(x, [0], axis=axis))
    left = np.cumprod(np.concatenate([ones, np.take(x, range(x.shape[axis] - 1), axis=axis)],
                                     axis=axis), axis=axis)
    flipped = np.flip(x, axis=axis)
    right = np.cumprod(np.concatenate(
        [ones, np.take(flipped, range(x.shape[axis] - 1), axis=axis)], axis=axis), axis=axis)
    return left * np.flip(right, axis=axis)


class Cumsum(Function):
    """z_i = Σ_{j<=i} x_j along `axis`;  dL/dx_j = Σ_{i>=j} g_i (a reversed cumulative sum)."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        axis = ctx.axis
        return np.flip(np.cumsum(np.flip(grad_out, axis), axis=axis), axis).copy()


class TakeAlongAxis(Function):
    """z = x gathered along `axis` at `index` (PyTorch's gather); repeated indices accumulate."""

    @staticmethod
    def forward(ctx, x, index, axis):
        ctx.shape, ctx.index, ctx.axis = x.shape, index, axis
        return np.take_along_axis(x, index, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        grad = np.zeros(ctx.shape, dtype=grad_out.dtype)
        index, axis = ctx.index, ctx.axis
        # np.add.at with the full index tuple: the index array on `axis`, aranges elsewhere.
        grids = list(np.ix_(*[np.arange(n) for n in index.shape])) if index.ndim else []
        grids[axis] = index
        np.add.at(grad, tuple(grids), grad_out)
        return grad, None


class ScatterAlongAxis(Function):
    """z = x with src written (or added, `add`) at index along axis (PyTorch's scatter and
    scatter_add): z[i][index[i][j]] = src[i][j] for axis 1. Gradients: x gets grad_out except
    at overwritten places (everywhere for add); src gets grad_out gathered at index."""

    @staticmethod
    def forward(ctx, x, src, index, axis, add):
        ctx.index, ctx.axis, ctx.add = index, axis, add
        grids = list(np.ix_(*[np.arange(n) for n in index.shape]))
        grids[axis] = index
        ctx.grids = tuple(grids)
        out = x.copy()
        values = np.broadcast_to(src, index.shape) if np.ndim(src) == 0 else \
            src[tuple(slice(0, n) for n in index.shape)]
        if add:
            np.add.at(out, ctx.grids, values)
        else:
            out[ctx.grids] = values
        ctx.src_shape = np.shape(src)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_src = ctx.needs_input_grad
        grad_x = grad_src = None
        if need_x:
            grad_x = np.array(grad_out)
            if not ctx.add:
                grad_x[ctx.grids] = 0
        if need_src:
            grad_src = np.zeros(ctx.src_shape, dtype=grad_out.dtype)
            grad_src[tuple(slice(0, n) for n in ctx.index.shape)] = grad_out[ctx.grids]
        return grad_x, grad_src


class Einsum(Function):
    """z = einsum(subscripts, *operands) (explicit form 'ab,bc->ac', ellipsis allowed).

    The gradient of operand k is an einsum of grad_out with the other operands, written to k's
    subscripts; letters of k summed nowhere else are broadcast back, and a letter repeated in k
    (a diagonal) is written back onto that diagonal.
    """

    @staticmethod
    def forward(ctx, *operands, inputs, output):
        ctx.operands, ctx.inputs, ctx.output = operands, inputs, output
        return np.asarray(np.einsum(",".join(inputs) + "->" + output, *operands))

    @staticmethod
    def backward(ctx, grad_out):
        grads = []
        for k, (operand, letters) in enumerate(zip(ctx.operands, ctx.inputs, strict=True)):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(o, s) for j, (o, s) in enumerate(zip(ctx.operands, ctx.inputs,
                                                                strict=True)) if j != k]
            available = set(ctx.output).union(*[set(s) for _, s in others])
            unique = "".join(dict.fromkeys(letters))
            reachable = "".join(c for c in unique if c in available)
            spec = ",".join([ctx.output] + [s for _, s in others]) + "->" + reachable
            partial = np.einsum(spec, grad_out, *[o for o, _ in others])
            sizes = dict(zip(letters, operand.shape, strict=True))
            # Letters of size 1 in operand k broadcast against the others ('...' dims).
            widened = tuple(i for i, c in enumerate(reachable) if partial.shape[i] != sizes[c])
            if widened:
                partial = partial.sum(axis=widened, keepdims=True)
            # Letters summed inside operand k only: the gradient is constant along them.
            full = np.broadcast_to(
                np.expand_dims(partial, tuple(i for i, c in enumerate(unique) if c not in
                                              available)),
                tuple(sizes[c] for c in unique))
            if len(unique) == len(letters):
                grads.append(np.array(np.transpose(full, [unique.index(c) for c in letters])))
            else:  # repeated letters: place the values on the diagonal
                grad = np.zeros(operand.shape, dtype=grad_out.dtype)
                grids = np.indices(full.shape, sparse=True)
                index = tuple(grids[unique.index(c)] for c in letters)
                np.add.at(grad, index, full)
                grads.append(grad)
        return tuple(grads)


class VectorNorm(Function):
    """z = ‖x‖_p over `axis` (all if None): (Σ|x|^p)^(1/p), max |x| for p = inf, min for −inf,
    the count of non-zeros for p = 0. Gradients are PyTorch's: 0 where the norm is 0 (p >= 1),
    x·|x|^(p−2)·g / z^(p−1) otherwise; max/min norms share the gradient among ties."""

    @staticmethod
    def forward(ctx, x, p, axis=None, keepdims=False):
        ctx.x, ctx.p, ctx.axis, ctx.keepdims = x, p, axis, keepdims
        a = np.abs(x)
        if p == np.inf:
            out = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros_like(
                np.sum(a, axis=axis, keepdims=True))
        elif p == -np.inf:
            out = np.min(a, axis=axis, keepdims=True)
        elif p == 0:
            out = np.sum(a != 0, axis=axis, keepdims=True).astype(x.dtype)
        elif p == 1:
            out = np.sum(a, axis=axis, keepdims=True)
        elif p == 2:
            out = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
        else:
            out = np.sum(a ** p, axis=axis, keepdims=True) ** (1.0 / p)
        ctx.out_kept = out
        if keepdims:
            return out
        return out.reshape(()) if axis is None else np.squeeze(out, axis)

    @staticmethod
    def backward(ctx, grad_out):
        x, p, norm = ctx.x, ctx.p, ctx.out_kept
        g = _expand_reduced(grad_out, x.shape, ctx.axis, ctx.keepdims)
        if p == 0:
            return np.zeros(x.shape, dtype=grad_out.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p in (np.inf, -np.inf):
                winners = np.abs(x) == norm
                count = winners.sum(axis=ctx.axis, keepdims=True)
                grad = np.where(winners, np.sign(x) * g / count, 0)
            elif p == 1:
                grad = np.sign(x) * g
            elif p == 2:
                grad = np.where(norm == 0, 0, x * (g / norm))
            else:
                a = np.abs(x)
                scale = np.where(norm == 0, 0, g / norm ** (p - 1))
                grad = x * a ** (p - 2) * scale if p >= 2 else np.where(
                    x == 0, 0, np.sign(x) * a ** (p - 1) * scale)
        return np.asarray(grad, dtype=grad_out.dtype)


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
