"""Convolutions as fused primitives: im2col through strided views, then one BLAS matmul.

Forward copies the strided im2col view of the (padded) input once, into a contiguous matrix
cols: (C_in·kH·kW, H'·W'·N), and multiplies it by the weight matrix (C_out, C_in·kH·kW) in one
GEMM (one per group, in a single batched `np.matmul` call). Backward reuses cols for the weight
gradient (one GEMM) and turns the column gradient back into an image (col2im) with one strided
slice-add per kernel position, so no Python loop ever runs over the batch or over pixels.
conv1d is conv2d with H = 1: the same arrays, viewed with a unit axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from steepest.autograd.function import Function
from steepest.tensor import Tensor

_INT_TYPES = (int, np.integer)


def _is_int(value) -> bool:
    return isinstance(value, _INT_TYPES) and not isinstance(value, bool)


def _ntuple(value, n: int, name: str, where: str, minimum: int = 1) -> tuple[int, ...]:
    """`value` (an int, or a sequence of n ints) as a tuple of n ints, each >= `minimum`."""
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, Sequence) and len(value) == n and all(_is_int(v) for v in value):
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{where}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value!r}")
    return values


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _conv_padding(padding, n: int, kernel: tuple, dilation: tuple, stride: tuple,
                  where: str) -> tuple[tuple[int, int], ...]:
    """Padding as (before, after) pairs per spatial axis; 'valid' is 0, 'same' keeps the size.

    'same' pads d·(k−1) in total, the odd element after (on the right/bottom), as PyTorch does.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    f"{where}: padding='same' is not supported for strided convolutions, "
                    f"got stride={stride}"
                )
            totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{where}: padding must be 'valid', 'same', an int or a tuple of {n} "
                         f"ints, got {padding!r}")
    pads = _ntuple(padding, n, "padding", where, minimum=0)
    return tuple((p, p) for p in pads)


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """floor((size + pad_total − dilation·(kernel − 1) − 1) / stride) + 1, PyTorch's formula."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def _padded(x: np.ndarray, pads: Sequence[tuple[int, int]], fill: float) -> np.ndarray:
    """x: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right), the border set to `fill`.

    Returns x itself when there is nothing to pad (one copy fewer in the common case).
    """
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + top + bottom, w + left + right), fill, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _batch_last(x: np.ndarray, pads: Sequence[tuple[int, int]]) -> np.ndarray:
    """x: (N, C, H, W) -> zero-padded copy (C, H + top + bottom, W + left + right, N).

    With the batch axis last, every window row of the im2col view and every slice of col2im is
    one long contiguous run (W'·N elements at stride 1), which NumPy copies and adds far faster
    than the W'-element runs of NCHW; the copy also does the padding.
    """
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    shape = (c, h + top + bottom, w + left + right, n)
    out = np.empty(shape, x.dtype) if top == bottom == left == right == 0 else np.zeros(shape,
                                                                                        x.dtype)
    out[:, top:top + h, left:left + w, :] = x.transpose(1, 2, 3, 0)
    return out


class Conv2dOp(Function):
    """Cross-correlation, as PyTorch's conv2d; fused im2col + GEMM, with col2im in backward.

    x: (N, C_in, H, W), weight: (C_out, C_in/groups, kH, kW), bias: (C_out,) or None
    -> (N, C_out, H', W'). 3-D inputs (N, C_in, L) with a 3-D weight are conv1d (H = 1).
    padding holds (before, after) pairs for the two spatial axes.
    Internally the arrays are batch-last: cols is (C_in·kH·kW, H'·W'·N).
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding, dilation, groups):
        ctx.one_d = x.ndim == 3
        if ctx.one_d:
            x, weight = x[:, :, None, :], weight[:, :, None, :]
        n, c_in, h, w = x.shape
        c_out, c_group, k_h, k_w = weight.shape
        (s_h, s_w), (d_h, d_w) = stride, dilation
        xp = _batch_last(x, padding)
        h_out = conv_output_size(xp.shape[1], k_h, s_h, 0, d_h)
        w_out = conv_output_size(xp.shape[2], k_w, s_w, 0, d_w)
        st_c, st_h, st_w, st_n = xp.strides
        # Channels and kernel offsets index the rows, output pixels and batch the columns: one
        # GEMM per group gives (C_out, H'·W'·N), and the weight gradient is one GEMM too.
        view = as_strided(
            xp, (c_in, k_h, k_w, h_out, w_out, n),
            (st_c, d_h * st_h, d_w * st_w, s_h * st_h, s_w * st_w, st_n), writeable=False,
        )
        cols = np.ascontiguousarray(view).reshape(groups, c_group * k_h * k_w, -1)
        w_mat = weight.reshape(groups, c_out // groups, c_group * k_h * k_w)
        prod = np.matmul(w_mat, cols).reshape(c_out, h_out, w_out, n).transpose(3, 0, 1, 2)
        out = np.empty((n, c_out, h_out, w_out), dtype=prod.dtype)
        if bias is None:
            np.copyto(out, prod)
        else:
            # The bias is added during the copy to NCHW order: one pass instead of two.
            np.add(prod, bias.reshape(1, c_out, 1, 1), out=out)
        need_x, need_w = ctx.needs_input_grad[:2]
        ctx.cols = cols if need_w else None
        ctx.w_mat = w_mat if need_x else None
        ctx.geometry = (x.shape, xp.shape, weight.shape, padding, stride, dilation, groups)
        return out[:, :, 0, :] if ctx.one_d else out

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_w, need_b = (ctx.needs_input_grad + (False,))[:3]
        x_shape, xp_shape, w_shape, padding, stride, dilation, groups = ctx.geometry
        if ctx.one_d:
            grad_out = grad_out[:, :, None, :]
        n, c_out, h_out, w_out = grad_out.shape
        # Batch-last, as cols: (groups, C_out/groups, H'·W'·N) (the reshape copies).
        go = grad_out.transpose(1, 2, 3, 0).reshape(groups, c_out // groups, -1)
        grad_x = grad_w = grad_b = None
        if need_b:
            grad_b = grad_out.sum(axis=(0, 2, 3))
        if need_w:
            # cols · goᵀ, then a transpose of the small result: faster than go · colsᵀ here.
            product = np.matmul(ctx.cols, go.transpose(0, 2, 1)).transpose(0, 2, 1)
            # Copied once into a fresh array, which the weight's .grad can then own as it is.
            grad_w = np.empty(w_shape, dtype=product.dtype)
            grad_w.reshape(product.shape)[...] = product
            if ctx.one_d:
                grad_w = grad_w[:, :, 0, :]
        if need_x:
            grad_x = _col2im(np.matmul(ctx.w_mat.transpose(0, 2, 1), go), x_shape, xp_shape,
                             w_shape, padding, stride, dilation, (h_out, w_out))
            if ctx.one_d:
                grad_x = grad_x[:, :, 0, :]
        return grad_x, grad_w, grad_b


def _col2im(grad_cols, x_shape, xp_shape, w_shape, padding, stride, dilation, out_hw):
    """Sum column gradients (C_in·kH·kW, H'·W'·N) back onto the image: (N, C_in, H, W).

    One strided slice-add per kernel position: each adds the contribution of every output pixel
    to the input pixel at that offset of its window (overlapping windows accumulate).
    """
    n, c_in, h, w = x_shape
    _, _, k_h, k_w = w_shape
    (s_h, s_w), (d_h, d_w) = stride, dilation
    h_out, w_out = out_hw
    grad_cols = grad_cols.reshape(c_in, k_h, k_w, h_out, w_out, n)
    grad_xp = np.zeros(xp_shape, dtype=grad_cols.dtype)          # (C_in, Hp, Wp, N)
    for i in range(k_h):
        rows = slice(i * d_h, i * d_h + s_h * (h_out - 1) + 1, s_h)
        for j in range(k_w):
            grad_xp[:, rows, j * d_w:j * d_w + s_w * (w_out - 1) + 1:s_w] += grad_cols[:, i, j]
    (top, _), (left, _) = padding
    return np.ascontiguousarray(grad_xp[:, top:top + h, left:left + w].transpose(3, 0, 1, 2))


def _check_conv(x: Tensor, weight: Tensor, bias, groups, dims: int, where: str) -> None:
    if not isinstance(weight, Tensor) and not isinstance(weight, np.ndarray):
        raise TypeError(f"{where}: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != dims + 2:
        raise ValueError(f"{where}: weight must have {dims + 2} dimensions "
                         f"(C_out, C_in/groups, kernel...), got shape {tuple(weight.shape)}")
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"{where}: groups must be a positive int, got {groups!r}")
    c_out, c_group = weight.shape[:2]
    if c_out % groups:
        raise ValueError(f"{where}: out channels {c_out} (weight shape {tuple(weight.shape)}) "
                         f"must be divisible by groups={groups}")
    if x.shape[1] != c_group * groups:
        raise ValueError(
            f"{where}: input of shape {tuple(x.shape)} has {x.shape[1]} channels, but weight of "
            f"shape {tuple(weight.shape)} with groups={groups} expects {c_group * groups}"
        )
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"{where}: bias must have shape ({c_out},) to match weight of shape "
                         f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    dtypes = {np.dtype(t.dtype) for t in (x, weight, bias) if t is not None}
    if len(dtypes) > 1 or not np.issubdtype(next(iter(dtypes)), np.floating):
        raise TypeError(f"{where}: input, weight and bias must share one floating dtype, got "
                        f"{x.dtype}, {weight.dtype}"
                        + ("" if bias is None else f", {bias.dtype}"))


def _conv(x, weight, bias, stride, padding, dilation, groups, dims: int) -> Tensor:
    where = f"conv{dims}d"
    x = _as_tensor(x)
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{where}: input must have {dims + 2} dimensions (N, C, ...) or "
                         f"{dims + 1} (unbatched), got shape {tuple(x.shape)}")
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x.reshape(1, *x.shape)
    _check_conv(x, weight, bias, groups, dims, where)
    kernel = tuple(weight.shape[2:])
    stride = _ntuple(stride, dims, "stride", where)
    dilation = _ntuple(dilation, dims, "dilation", where)
    pads = _conv_padding(padding, dims, kernel, dilation, stride, where)
    sizes = [conv_output_size(s, k, st, sum(p), d)
             for s, k, st, p, d in zip(x.shape[2:], kernel, stride, pads, dilation, strict=True)]
    if min(sizes) < 1:
        raise ValueError(
            f"{where}: input of shape {tuple(x.shape)} with padding {pads} is smaller than the "
            f"dilated kernel {kernel} (dilation {dilation}): output size would be {tuple(sizes)}"
        )
    if dims == 1:
        pads, stride, dilation = ((0, 0), *pads), (1, *stride), (1, *dilation)
    out = Conv2dOp.apply(x, weight, bias, stride=stride, padding=pads, dilation=dilation,
                         groups=int(groups))
    return out.reshape(*out.shape[1:]) if unbatched else out


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation, as `torch.nn.functional.conv1d`.

    x: (N, C_in, L) or (C_in, L), weight: (C_out, C_in/groups, K), bias: (C_out,) or None
    -> (N, C_out, L') with L' = floor((L + 2·padding − dilation·(K − 1) − 1) / stride) + 1.
    stride, padding, dilation: int or 1-tuple; padding may also be 'valid' or 'same'.
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, dims=1)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, as `torch.nn.functional.conv2d`.

    x: (N, C_in, H, W) or (C_in, H, W), weight: (C_out, C_in/groups, kH, kW),
    bias: (C_out,) or None -> (N, C_out, H', W'), with
    H' = floor((H + 2·padding_h − dilation_h·(kH − 1) − 1) / stride_h) + 1 (W' likewise).
    stride, padding, dilation: int or (h, w); padding may also be 'valid' or 'same'.
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, dims=2)


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation,
                    dims: int) -> Tensor:
    """The transpose (gradient) of a convolution, composed from primitives: spread the input
    out by the stride (zeros between), pad it by dilation·(k − 1) − padding (+ output_padding
    at the end), and cross-correlate with the kernel flipped and its in/out channels swapped.
    """
    from steepest.autograd.inplace import SetItem
    from steepest.functional.resize import pad as pad_fn

    where = f"conv_transpose{dims}d"
    x = _as_tensor(x)
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{where}: input must have {dims + 2} dimensions (N, C, ...) or "
                         f"{dims + 1} (unbatched), got shape {tuple(x.shape)}")
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x.reshape(1, *x.shape)
    if weight.ndim != dims + 2:
        raise ValueError(f"{where}: weight must have {dims + 2} dimensions (C_in, "
                         f"C_out/groups, kernel...), got shape {tuple(weight.shape)}")
    c_in, c_group = weight.shape[:2]
    if x.shape[1] != c_in or c_in % groups:
        raise ValueError(f"{where}: input of shape {tuple(x.shape)} has {x.shape[1]} channels, "
                         f"but weight of shape {tuple(weight.shape)} expects {c_in} (divisible "
                         f"by groups={groups})")
    kernel = tuple(weight.shape[2:])
    stride = _ntuple(stride, dims, "stride", where)
    padding = _ntuple(padding, dims, "padding", where, minimum=0)
    output_padding = _ntuple(output_padding, dims, "output_padding", where, minimum=0)
    dilation = _ntuple(dilation, dims, "dilation", where)
    for op, s, d in zip(output_padding, stride, dilation, strict=True):
        if op >= max(s, d):
            raise ValueError(f"{where}: output padding must be smaller than either stride or "
                             f"dilation, got output_padding={output_padding}")
    spatial = x.shape[2:]
    if any(s > 1 for s in stride):
        spread = tuple((n - 1) * s + 1 for n, s in zip(spatial, stride, strict=True))
        zeros = np.zeros(x.shape[:2] + spread, dtype=x.dtype)
        index = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
        x = SetItem.apply(zeros, x, steps=(index,))
    pads = []
    for k, p, op, d in reversed(list(zip(kernel, padding, output_padding, dilation,
                                         strict=True))):
        pads += [d * (k - 1) - p, d * (k - 1) - p + op]
    x = pad_fn(x, pads)
    # (C_in, C_out/g, k...) -> (C_out, C_in/g, k...) with the kernel flipped.
    w = weight.reshape(groups, c_in // groups, c_group, *kernel).transpose(1, 2)
    w = w.reshape(groups * c_group, c_in // groups, *kernel)
    w = w[(slice(None), slice(None)) + (slice(None, None, -1),) * dims]
    out = _conv(x, w, bias, 1, 0, dilation, groups, dims)
    return out.reshape(*out.shape[1:]) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution ("deconvolution"), as `torch.nn.functional.conv_transpose1d`.

    x: (N, C_in, L), weight: (C_in, C_out/groups, K) -> (N, C_out, L'),
    L' = (L − 1)·stride − 2·padding + dilation·(K − 1) + output_padding + 1.
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, dims=1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution, as `torch.nn.functional.conv_transpose2d`.

    x: (N, C_in, H, W), weight: (C_in, C_out/groups, kH, kW) -> (N, C_out, H', W'),
    H' = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1 (W' likewise).
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, dims=2)
