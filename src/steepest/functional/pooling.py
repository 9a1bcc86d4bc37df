"""Pooling as fused primitives over strided windows: max, average and fractional max pooling.

For each kernel offset (i, j), the (i, j)-th elements of all windows form one strided slice of
the (padded) input. Forward reduces over those kH·kW slices (a running sum, or a running max
that records which offset won); backward sends each output's gradient back with one strided
slice-add per offset, so overlapping windows accumulate. No Python loop runs over the batch or
over pixels. Output sizes and padding rules are PyTorch's.
"""

from __future__ import annotations

import numpy as np

from steepest.autograd import ops
from steepest.autograd.function import Function
from steepest.functional.conv import _as_tensor, _is_int, _ntuple, _padded
from steepest.random import get_generator
from steepest.tensor import Tensor


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int,
                     ceil_mode: bool) -> int:
    """PyTorch's pooling output size.

    floor (or ceil) of (size + 2·pad − dilation·(kernel − 1) − 1) / stride, plus 1; in ceil mode
    the last window is dropped when it would start in the right padding.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _pool_geometry(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode, where: str):
    """Checked (kernel, stride, padding, dilation, output size) pairs for a 2-D pool."""
    kernel = _ntuple(kernel_size, 2, "kernel_size", where)
    stride = kernel if stride is None or stride == [] else _ntuple(stride, 2, "stride", where)
    padding = _ntuple(padding, 2, "padding", where, minimum=0)
    dilation = _ntuple(dilation, 2, "dilation", where)
    if any(p > k // 2 for p, k in zip(padding, kernel, strict=True)):
        raise ValueError(f"{where}: padding should be at most half of the kernel size, got "
                         f"padding={padding} for kernel_size={kernel}")
    out = tuple(pool_output_size(s, k, st, p, d, ceil_mode)
                for s, k, st, p, d in zip(x.shape[-2:], kernel, stride, padding, dilation,
                                          strict=True))
    if min(out) < 1:
        raise ValueError(f"{where}: input of shape {tuple(x.shape)} is too small for "
                         f"kernel_size={kernel}, padding={padding}, dilation={dilation}: "
                         f"the output size would be {out}")
    return kernel, stride, padding, dilation, out


def _window_pads(shape, kernel, stride, padding, dilation, out):
    """(before, after) pads so that every window lies inside: ceil mode may need extra after."""
    pads = []
    for size, k, s, p, d, o in zip(shape[-2:], kernel, stride, padding, dilation, out,
                                   strict=True):
        needed = (o - 1) * s + d * (k - 1) + 1
        pads.append((p, max(0, needed - size - p)))
    return tuple(pads)


def _offset_slices(kernel, stride, dilation, out) -> list[tuple[slice, slice]]:
    """For each kernel offset (i, j), row-major: the (rows, cols) slices of the padded input
    holding that element of every window, so xp[:, :, rows, cols] is (N, C, H', W')."""
    slices = []
    for i in range(kernel[0]):
        top = i * dilation[0]
        rows = slice(top, top + stride[0] * (out[0] - 1) + 1, stride[0])
        for j in range(kernel[1]):
            left = j * dilation[1]
            slices.append((rows, slice(left, left + stride[1] * (out[1] - 1) + 1, stride[1])))
    return slices


def _first_max(candidates) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise max over a sequence of same-shaped arrays, and which one gave it.

    The first maximum wins ties (a later candidate must be strictly greater), and a NaN always
    takes over, as in PyTorch's max-pool loop `if (val > maxval || isnan(val))`. One pass per
    candidate over the output instead of copying every window: far faster for small kernels.
    """
    candidates = iter(candidates)
    best = np.array(next(candidates))
    index = np.zeros(best.shape, dtype=np.int16)
    winner = np.empty_like(index)
    # Branch-free updates: masked copies (copyto where=) mispredict on random data and are
    # about ten times slower. np.maximum keeps NaN, and since k grows, max(index, take·k)
    # sets index to k exactly where the candidate takes over.
    for k, values in enumerate(candidates, start=1):
        take = values > best
        take |= values != values
        np.maximum(best, values, out=best)
        np.multiply(take, k, out=winner)
        np.maximum(index, winner, out=index)
    return best, index


def _scatter_windows(grad_windows, dtype, xp_shape, x_shape, pads, slices):
    """Add per-window-offset gradients back onto the input; overlapping windows accumulate.

    grad_windows(k) -> (N, C, H', W'): the gradient each window sends to its k-th element
    (row-major offset, `slices[k]`). Returns (N, C, H, W) with the padding cropped away.
    """
    grad_xp = np.zeros(xp_shape, dtype=dtype)
    for k, (rows, cols) in enumerate(slices):
        grad_xp[:, :, rows, cols] += grad_windows(k)
    (top, _), (left, _) = pads
    h, w = x_shape[-2:]
    if grad_xp.shape[-2:] == (h, w):
        return grad_xp
    return np.ascontiguousarray(grad_xp[:, :, top:top + h, left:left + w])


def _tile(slices) -> tuple[int, int]:
    """The window size (kH, kW) of tiling windows, from their per-offset slices."""
    return slices[-1][0].start + 1, slices[-1][1].start + 1


def _tiled_max_backward(x, best, slices, grad_out):
    """Gradient of max over windows that tile x: each window's first maximum (row-major) gets
    its gradient. Each element belongs to at most one window, so every slice is written once."""
    covered = all(o * k == n for o, k, n in zip(best.shape[-2:], _tile(slices), x.shape[-2:],
                                                strict=True))
    # When the windows cover x, every element is written below: no need to zero first.
    grad = (np.empty if covered else np.zeros)(x.shape, dtype=grad_out.dtype)
    unclaimed = None
    for rows, cols in slices:
        hit = x[:, :, rows, cols] == best
        if unclaimed is None:
            unclaimed = ~hit
        else:
            hit &= unclaimed
            unclaimed &= ~hit
        np.multiply(grad_out, hit, out=grad[:, :, rows, cols])
    return grad


class MaxPool2dOp(Function):
    """Max over each window. x: (N, C, H, W) -> (N, C, H', W'); padding is −∞.

    Ties: the whole gradient goes to one element per window, the first maximum in row-major
    order within the window (PyTorch's rule); windows that overlap accumulate.
    """

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, dilation, out):
        pads = _window_pads(x.shape, kernel, stride, padding, dilation, out)
        slices = _offset_slices(kernel, stride, dilation, out)
        tiled = (tuple(stride) == tuple(kernel) and tuple(dilation) == (1, 1)
                 and not any(side for pair in pads for side in pair) and x.dtype.kind == "f")
        if tiled:
            # Windows tile the input (the usual 2x2, stride 2): the max alone is three times
            # cheaper than tracking the winner, which backward recovers from x and the max.
            best = np.array(x[:, :, slices[0][0], slices[0][1]])
            for rows, cols in slices[1:]:
                np.maximum(best, x[:, :, rows, cols], out=best)
            if not np.isnan(best).any():  # NaN windows need the general tie rule
                ctx.x, ctx.best, ctx.slices = x, best, slices
                return best
        ctx.x = None
        fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
        xp = _padded(x, pads, fill)
        best, ctx.winner = _first_max(xp[:, :, rows, cols] for rows, cols in slices)
        ctx.geometry = (xp.shape, x.shape, pads, slices)
        return best

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.x is not None:
            return _tiled_max_backward(ctx.x, ctx.best, ctx.slices, grad_out)
        xp_shape, x_shape, pads, slices = ctx.geometry
        winner, zero = ctx.winner, np.zeros((), dtype=grad_out.dtype)
        return _scatter_windows(lambda k: np.where(winner == k, grad_out, zero), grad_out.dtype,
                                xp_shape, x_shape, pads, slices)


class AvgPool2dOp(Function):
    """Mean over each window. x: (N, C, H, W) -> (N, C, H', W'); padding is 0.

    divisor: (H', W') per output, PyTorch's: the window clipped to the padded input when
    count_include_pad, else the number of real input elements in it (or a fixed override).
    """

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, out, divisor):
        pads = _window_pads(x.shape, kernel, stride, padding, (1, 1), out)
        xp = _padded(x, pads, 0)
        slices = _offset_slices(kernel, stride, (1, 1), out)
        # One strided slice-add per kernel offset: much faster than reducing a 6-D window view.
        total = np.array(xp[:, :, slices[0][0], slices[0][1]])
        for rows, cols in slices[1:]:
            total += xp[:, :, rows, cols]
        ctx.divisor = divisor
        ctx.geometry = (xp.shape, x.shape, pads, slices)
        return np.divide(total, divisor, out=total)

    @staticmethod
    def backward(ctx, grad_out):
        xp_shape, x_shape, pads, slices = ctx.geometry
        share = grad_out / ctx.divisor
        return _scatter_windows(lambda k: share, share.dtype, xp_shape, x_shape, pads, slices)


def _avg_divisor(shape, kernel, stride, padding, out, count_include_pad, divisor_override,
                 dtype) -> np.ndarray:
    """(H', W') divisors, as PyTorch's avg_pool2d kernel computes them."""
    if divisor_override is not None:
        return np.full(out, divisor_override, dtype=dtype)
    counts = []
    for size, k, s, p, o in zip(shape[-2:], kernel, stride, padding, out, strict=True):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, size) - np.maximum(start, 0))
    # A window with no input element outputs 0 (its sum is 0), as PyTorch; avoid 0/0.
    return np.maximum(np.outer(counts[0], counts[1]), 1).astype(dtype)


def _pool_input(x, where: str, dims: int = 2) -> tuple[Tensor, bool]:
    """x as a batched Tensor (N, C, ...), and whether it came unbatched."""
    x = _as_tensor(x)
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{where}: input must have {dims + 2} dimensions (N, C, ...) or "
                         f"{dims + 1} (unbatched), got shape {tuple(x.shape)}")
    unbatched = x.ndim == dims + 1
    return (x.reshape(1, *x.shape) if unbatched else x), unbatched


def max_pool1d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """1-D max pooling, as `torch.nn.functional.max_pool1d`.

    x: (N, C, L) or (C, L) -> (N, C, L'), L' = floor((L + 2·padding − dilation·(K − 1) − 1)
    / stride) + 1 (ceil in ceil_mode); stride defaults to kernel_size; padding is −∞ and at
    most kernel_size / 2. Ties: the gradient goes to the first maximum of each window.
    """
    where = "max_pool1d"
    if return_indices:
        raise NotImplementedError(f"{where}(return_indices=True) is not supported")
    x, unbatched = _pool_input(x, where, dims=1)
    kernel = _ntuple(kernel_size, 1, "kernel_size", where)
    stride = kernel if stride is None or stride == [] else _ntuple(stride, 1, "stride", where)
    padding = _ntuple(padding, 1, "padding", where, minimum=0)
    dilation = _ntuple(dilation, 1, "dilation", where)
    x4 = x.reshape(*x.shape[:2], 1, x.shape[2])
    out = _max_pool(x4, (1, *kernel), (1, *stride), (0, *padding), (1, *dilation), ceil_mode,
                    where)
    out = out.reshape(*out.shape[:2], out.shape[3])
    return out.reshape(*out.shape[1:]) if unbatched else out


def _max_pool(x: Tensor, kernel, stride, padding, dilation, ceil_mode, where) -> Tensor:
    kernel, stride, padding, dilation, out = _pool_geometry(x, kernel, stride, padding, dilation,
                                                            ceil_mode, where)
    return MaxPool2dOp.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                             out=out)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """2-D max pooling, as `torch.nn.functional.max_pool2d`.

    x: (N, C, H, W) or (C, H, W) -> (N, C, H', W'), with
    H' = floor((H + 2·padding − dilation·(kH − 1) − 1) / stride) + 1 (ceil in ceil_mode, the
    last window dropped if it would start in the padding); W' likewise. kernel_size, stride,
    padding, dilation: int or (h, w); stride defaults to kernel_size; padding is −∞ and at most
    half the kernel. Ties: the whole gradient goes to ONE element per window, the first maximum
    in row-major order within the window (as PyTorch); overlapping windows accumulate.
    """
    where = "max_pool2d"
    if return_indices:
        raise NotImplementedError(f"{where}(return_indices=True) is not supported")
    x, unbatched = _pool_input(x, where)
    out = _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, where)
    return out.reshape(*out.shape[1:]) if unbatched else out


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling, as `torch.nn.functional.avg_pool2d`.

    x: (N, C, H, W) or (C, H, W) -> (N, C, H', W') (sizes as max_pool2d with dilation 1).
    Padding is zeros. The divisor of each window is its size clipped to the padded input when
    count_include_pad, else the number of real input elements it covers; divisor_override, if
    given, replaces both.
    """
    where = "avg_pool2d"
    x, unbatched = _pool_input(x, where)
    kernel, stride, padding, _, out = _pool_geometry(x, kernel_size, stride, padding, 1,
                                                     ceil_mode, where)
    if divisor_override is not None and (not _is_int(divisor_override) or divisor_override < 1):
        raise ValueError(f"{where}: divisor_override must be a positive int, got "
                         f"{divisor_override!r}")
    divisor = _avg_divisor(x.shape, kernel, stride, padding, out, count_include_pad,
                           divisor_override, x.dtype)
    result = AvgPool2dOp.apply(x, kernel=kernel, stride=stride, padding=padding, out=out,
                               divisor=divisor)
    return result.reshape(*result.shape[1:]) if unbatched else result


def fractional_intervals(sample: np.ndarray, input_size: int, output_size: int,
                         pool_size: int) -> np.ndarray:
    """Window starts of fractional max pooling, PyTorch's `generate_intervals`.

    sample: (...) in [0, 1) -> (..., output_size) ints. With α = (input − pool) / (output − 1),
    start i = int((i + u)·α) − int(u·α), and the last start is input − pool, so the windows
    cover the input edge to edge. Computed in the sample's dtype, as PyTorch's CPU kernel.
    """
    dtype = sample.dtype.type
    starts = np.empty((*sample.shape, output_size), dtype=np.int64)
    if output_size > 1:
        alpha = dtype(input_size - pool_size) / dtype(output_size - 1)
        steps = np.arange(output_size - 1, dtype=sample.dtype)
        first = (sample * alpha).astype(np.int64)
        starts[..., :-1] = ((steps + sample[..., None]) * alpha).astype(np.int64) - first[..., None]
    starts[..., -1] = input_size - pool_size
    return starts


class FractionalMaxPool2dOp(Function):
    """Max over pseudo-random kH×kW windows (Graham, 2014). x: (N, C, H, W) -> (N, C, oH, oW).

    starts_h: (N, C, oH), starts_w: (N, C, oW) window corners. Ties: the first maximum of each
    window in row-major order gets the gradient; overlapping windows accumulate.
    """

    @staticmethod
    def forward(ctx, x, starts_h, starts_w, *, kernel):
        n, c, h, w = x.shape
        k_h, k_w = kernel
        out_h, out_w = starts_h.shape[-1], starts_w.shape[-1]
        plane = np.arange(n * c).reshape(n, c, 1, 1)
        rows = (starts_h[..., None] + np.arange(k_h)).reshape(n, c, -1, 1)   # (N, C, oH·kH, 1)
        cols = (starts_w[..., None] + np.arange(k_w)).reshape(n, c, 1, -1)   # (N, C, 1, oW·kW)
        # One np.take with flat indices: several times faster than take_along_axis here.
        windows = np.take(x.reshape(-1), (plane * h + rows) * w + cols)
        windows = windows.reshape(n, c, out_h, k_h, out_w, k_w)
        best, offset = _first_max(windows[:, :, :, i, :, j]
                                  for i in range(k_h) for j in range(k_w))
        row = starts_h[..., :, None] + offset // k_w
        col = starts_w[..., None, :] + offset % k_w
        ctx.winner = (plane * h + row) * w + col      # flat index into x of each output's max
        ctx.shape = x.shape
        return best

    @staticmethod
    def backward(ctx, grad_out):
        # Windows of one plane may overlap, so indices repeat: bincount sums them in one pass.
        total = np.bincount(ctx.winner.reshape(-1), weights=grad_out.reshape(-1),
                            minlength=int(np.prod(ctx.shape)))
        return total.astype(grad_out.dtype, copy=False).reshape(ctx.shape), None, None


def fractional_max_pool2d(x: Tensor, kernel_size, output_size=None, output_ratio=None,
                          generator=None, _random_samples=None) -> Tensor:
    """Fractional max pooling (Graham, 2014), as `torch.nn.functional.fractional_max_pool2d`.

    x: (N, C, H, W) or (C, H, W) -> (N, C, oH, oW). Windows of kernel_size (int or (kH, kW))
    start at pseudo-random increasing positions (see `fractional_intervals`), so the output can
    be any size up to H − kH + 1: give output_size (int or (oH, oW)) or output_ratio (float or
    pair in (0, 1); oH = int(H·ratio)). _random_samples: (N, C, 2) in [0, 1), the offsets u
    for W (index 0) and H (index 1) per plane; drawn from `generator` when None.
    Ties: the first maximum of each window in row-major order gets the gradient.
    """
    where = "fractional_max_pool2d"
    x, unbatched = _pool_input(x, where)
    n, c, h, w = x.shape
    kernel = _ntuple(kernel_size, 2, "kernel_size", where)
    if output_size is None and output_ratio is None:
        raise ValueError(f"{where} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = _ratio_pair(output_ratio, where)
        output_size = (int(h * ratio[0]), int(w * ratio[1]))
    out = _ntuple(output_size, 2, "output_size", where)
    for name, size, k, o in (("height", h, kernel[0], out[0]), ("width", w, kernel[1], out[1])):
        if o + k - 1 > size:
            raise ValueError(f"{where}: output {name} {o} with pool size {k} needs an input "
                             f"{name} of at least {o + k - 1}, got input shape {tuple(x.shape)}")
    if _random_samples is None:
        samples = get_generator(generator).random((n, c, 2)).astype(x.dtype)
    else:
        samples = np.asarray(getattr(_random_samples, "data", _random_samples), dtype=x.dtype)
        if samples.ndim != 3 or samples.shape[0] < n or samples.shape[1:] != (c, 2):
            raise ValueError(f"{where}: _random_samples must have shape ({n}, {c}, 2) for input "
                             f"of shape {tuple(x.shape)}, got {samples.shape}")
        samples = samples[:n]
    starts_w = fractional_intervals(samples[..., 0], w, out[1], kernel[1])
    starts_h = fractional_intervals(samples[..., 1], h, out[0], kernel[0])
    result = FractionalMaxPool2dOp.apply(x, starts_h, starts_w, kernel=kernel)
    return result.reshape(*result.shape[1:]) if unbatched else result


def _ratio_pair(output_ratio, where: str) -> tuple[float, float]:
    ratio = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * 2
    if len(ratio) != 2 or not all(isinstance(r, (int, float)) and 0 < r < 1 for r in ratio):
        raise ValueError(f"{where}: output_ratio must be a number or a pair of numbers in (0, 1), "
                         f"got {output_ratio!r}")
    return float(ratio[0]), float(ratio[1])


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling, as `torch.nn.functional.avg_pool1d`: avg_pool2d with H = 1.

    x: (N, C, L) or (C, L) -> (N, C, L'), L' = floor((L + 2·padding − K) / stride) + 1.
    """
    where = "avg_pool1d"
    x, unbatched = _pool_input(input, where, dims=1)
    kernel = _ntuple(kernel_size, 1, "kernel_size", where)
    stride = kernel if stride is None or stride == [] else _ntuple(stride, 1, "stride", where)
    padding = _ntuple(padding, 1, "padding", where, minimum=0)
    out = avg_pool2d(x.unsqueeze(2), (1, *kernel), (1, *stride), (0, *padding), ceil_mode,
                     count_include_pad)
    out = out.squeeze(2)
    return out.reshape(*out.shape[1:]) if unbatched else out


def _adaptive_sizes(output_size, spatial: tuple, where: str) -> tuple:
    sizes = (output_size,) * len(spatial) if _is_int(output_size) or output_size is None \
        else tuple(output_size)
    if len(sizes) != len(spatial):
        raise ValueError(f"{where}: output_size must be an int or a tuple of {len(spatial)}, "
                         f"got {output_size!r}")
    return tuple(n if s is None else int(s) for s, n in zip(sizes, spatial, strict=True))


def _adaptive_avg(input: Tensor, output_size, dims: int, where: str) -> Tensor:
    """Average over PyTorch's adaptive windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉) per axis: one
    matrix product per spatial axis (the windows of one axis do not depend on the other)."""
    from steepest.functional.resize import adaptive_weights, resample_axis

    x, unbatched = _pool_input(input, where, dims=dims)
    sizes = _adaptive_sizes(output_size, x.shape[2:], where)
    for k, (n_in, n_out) in enumerate(zip(x.shape[2:], sizes, strict=True)):
        if n_in != n_out:
            x = resample_axis(x, adaptive_weights(n_in, n_out), 2 + k)
    return x.reshape(*x.shape[1:]) if unbatched else x


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """x: (N, C, L) -> (N, C, output_size), averaging PyTorch's adaptive windows."""
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """x: (N, C, H, W) -> (N, C, oH, oW); output_size an int, a pair, None keeps a size."""
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def _adaptive_max(input: Tensor, output_size, dims: int, return_indices: bool,
                  where: str) -> Tensor:
    """Max over adaptive windows, one axis at a time (a max over a box is a max of maxes)."""
    if return_indices:
        raise NotImplementedError(f"{where}(return_indices=True) is not supported")
    x, unbatched = _pool_input(input, where, dims=dims)
    sizes = _adaptive_sizes(output_size, x.shape[2:], where)
    for k, (n_in, n_out) in enumerate(zip(x.shape[2:], sizes, strict=True)):
        axis = 2 + k
        pieces = []
        for i in range(n_out):
            start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
            window = x[(slice(None),) * axis + (slice(start, end),)]
            pieces.append(window.amax(dim=axis, keepdim=True))
        x = ops.Concatenate.apply(*pieces, axis=axis)
    return x.reshape(*x.shape[1:]) if unbatched else x


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False) -> Tensor:
    """Max over PyTorch's adaptive windows (ties share the gradient)."""
    return _adaptive_max(input, output_size, 1, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False) -> Tensor:
    """Max over PyTorch's adaptive windows (ties share the gradient)."""
    return _adaptive_max(input, output_size, 2, return_indices, "adaptive_max_pool2d")
