"""Changing spatial sizes: `pad` (constant, reflect, replicate, circular) and `interpolate`
(nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area), with PyTorch's rules.

Both are composites. Padding is a concatenation (constant) or an index gather (the other
modes). Resampling along one axis is linear in the input, so each axis is one matrix product
with an (out, in) weight matrix built from PyTorch's source-index formulas; separable modes
(bilinear, bicubic) apply one matrix per spatial axis. Adaptive average pooling uses the same
machinery (`resample_axis`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from steepest.autograd import ops
from steepest.functional.pointwise import _tensor
from steepest.tensor import Tensor

_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 dims: pad = (left, right) for the last dim, then (top,
    bottom) for the one before, and so on. Negative amounts crop. Modes: 'constant' (value,
    default 0), 'reflect' (mirror without repeating the edge), 'replicate' (repeat the edge),
    'circular' (wrap around)."""
    x = _tensor(input)
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"Padding length must be divisible by 2 and at most twice the number "
                         f"of dimensions of the input, got {len(pad)} for a {x.ndim}-D input")
    if mode == "constant":
        return _constant_pad(x, pad, 0.0 if value is None else value)
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value not in (None, 0, 0.0):
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument")
    dims = len(pad) // 2
    # PyTorch pads the last 1, 2 or 3 dims of a batched (N, C, ...) or unbatched (C, ...) input.
    if dims not in (x.ndim - 2, x.ndim - 1) or not 1 <= dims <= 3:
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {x.ndim}D "
                                  f"input tensor (mode {mode!r} pads 1 to 3 trailing dims of "
                                  f"(N, C, ...) or (C, ...) input)")
    for k in range(dims):
        axis = x.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        n = x.shape[axis]
        if mode == "reflect" and (before >= n or after >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({before}, {after}) at "
                               f"dimension {axis} of input {list(x.shape)}")
        if mode == "circular" and (before > n or after > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        index = np.arange(n)
        index = index[max(-before, 0):n - max(-after, 0)]
        index = np.pad(index, (max(before, 0), max(after, 0)), mode=_PAD_MODES[mode]) \
            if n else index
        x = x[(slice(None),) * axis + (index,)]
    return x


def _constant_pad(x: Tensor, pad: list[int], value: Any) -> Tensor:
    for k in range(len(pad) // 2):
        axis = x.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        if before < 0 or after < 0:
            n = x.shape[axis]
            x = x[(slice(None),) * axis + (slice(max(-before, 0), n - max(-after, 0)),)]
        parts = []
        for amount in (before, after):
            shape = list(x.shape)
            shape[axis] = max(amount, 0)
            parts.append(np.full(shape, value, dtype=x.data.dtype))
        if before > 0 or after > 0:
            x = ops.Concatenate.apply(parts[0], x, parts[1], axis=axis)
    return x


def resample_axis(x: Tensor, weights: np.ndarray, axis: int) -> Tensor:
    """y = the weights (out, in) applied along axis: y[..., o, ...] = Σ_i w[o, i] x[..., i, ...]."""
    moved = x.transpose(axis, -1) if axis != x.ndim - 1 else x
    out = ops.matmul(moved, weights.T.astype(x.data.dtype))
    return out.transpose(axis, -1) if axis != x.ndim - 1 else out


def _source_coordinates(n_in: int, n_out: int, scale: float | None, align_corners: bool,
                        clamp: bool) -> np.ndarray:
    """Where each output sample lies on the input axis (PyTorch's area_pixel_compute_source_
    index): corners aligned, or centres with the step in/out (1/scale_factor if one was given);
    linear modes clamp negative positions to 0, cubic does not."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        return dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    step = n_in / n_out if scale is None else 1.0 / scale
    src = (dst + 0.5) * step - 0.5
    return np.maximum(src, 0.0) if clamp else src


def _linear_weights(n_in: int, n_out: int, scale: float | None, align_corners: bool) -> np.ndarray:
    """PyTorch's linear interpolation weights (out, in) along one axis."""
    weights = np.zeros((n_out, n_in))
    src = _source_coordinates(n_in, n_out, scale, align_corners, clamp=True)
    low = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    frac = src - low
    rows = np.arange(n_out)
    np.add.at(weights, (rows, low), 1.0 - frac)
    np.add.at(weights, (rows, high), frac)
    return weights


def _cubic_weights(n_in: int, n_out: int, scale: float | None, align_corners: bool) -> np.ndarray:
    """PyTorch's bicubic weights (cubic convolution, A = −0.75), borders clamped."""
    a = -0.75
    weights = np.zeros((n_out, n_in))
    src = _source_coordinates(n_in, n_out, scale, align_corners, clamp=False)
    base = np.floor(src).astype(np.int64)
    t = src - base
    near = lambda d: ((a + 2) * d - (a + 3)) * d * d + 1  # noqa: E731  |d| <= 1
    far = lambda d: ((a * d - 5 * a) * d + 8 * a) * d - 4 * a  # noqa: E731  1 < |d| < 2
    coefficients = (far(t + 1), near(t), near(1 - t), far(2 - t))
    rows = np.arange(n_out)
    for offset, coefficient in zip((-1, 0, 1, 2), coefficients, strict=True):
        np.add.at(weights, (rows, np.clip(base + offset, 0, n_in - 1)), coefficient)
    return weights


def _nearest_index(n_in: int, n_out: int, scale: float | None, exact: bool) -> np.ndarray:
    step = n_in / n_out if scale is None else 1.0 / scale
    dst = np.arange(n_out, dtype=np.float64)
    src = np.floor((dst + 0.5) * step) if exact else np.floor(dst * step)
    return np.minimum(src.astype(np.int64), n_in - 1)


def adaptive_weights(n_in: int, n_out: int) -> np.ndarray:
    """Adaptive average pooling along one axis: window i is [⌊i·in/out⌋, ⌈(i+1)·in/out⌉)."""
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        start = (i * n_in) // n_out
        end = -((-(i + 1) * n_in) // n_out)
        weights[i, start:end] = 1.0 / (end - start)
    return weights


_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims (all but N and C) to `size` or by `scale_factor`.

    x: (N, C, L), (N, C, H, W) or (N, C, D, H, W). Modes as PyTorch: 'nearest' (source index
    ⌊dst·in/out⌋), 'nearest-exact' (⌊(dst + ½)·in/out⌋), 'linear' / 'bilinear' / 'trilinear'
    and 'bicubic' (align_corners chooses whether the corner pixels' centres or edges line up),
    'area' (adaptive average pooling).
    """
    x = _tensor(input)
    spatial = x.ndim - 2
    if spatial < 1:
        raise ValueError(f"interpolate: input must be (N, C, ...) with spatial dims, got shape "
                         f"{tuple(x.shape)}")
    if mode in _MODE_DIMS and _MODE_DIMS[mode] != spatial:
        raise NotImplementedError(
            f"Got {x.ndim}D input, but {mode} mode needs {_MODE_DIMS[mode] + 2}D input")
    if align_corners is not None and mode not in _MODE_DIMS:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not supported")
    sizes, scales = _output_sizes(x.shape[2:], size, scale_factor, recompute_scale_factor)
    for k, (n_in, n_out, scale) in enumerate(zip(x.shape[2:], sizes, scales, strict=True)):
        axis = 2 + k
        if mode in ("nearest", "nearest-exact"):
            index = _nearest_index(n_in, n_out, scale, exact=mode == "nearest-exact")
            x = x[(slice(None),) * axis + (index,)]
        elif mode == "area":
            x = resample_axis(x, adaptive_weights(n_in, n_out), axis)
        elif mode == "bicubic":
            x = resample_axis(x, _cubic_weights(n_in, n_out, scale, bool(align_corners)), axis)
        elif mode in _MODE_DIMS:
            x = resample_axis(x, _linear_weights(n_in, n_out, scale, bool(align_corners)), axis)
        else:
            raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (nearest, "
                                      f"nearest-exact, linear, bilinear, bicubic, trilinear, "
                                      f"area)")
    return x


def _output_sizes(shape: tuple, size: Any, scale_factor: Any,
                  recompute_scale_factor: bool | None) -> tuple[list[int], list]:
    dims = len(shape)
    if (size is None) == (scale_factor is None):
        raise ValueError("either size or scale_factor should be defined, not both")
    if size is not None:
        sizes = [int(size)] * dims if isinstance(size, (int, np.integer)) else \
            [int(s) for s in size]
        if len(sizes) != dims:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(shape)} and output size of {sizes}.")
        return sizes, [None] * dims
    factors = [float(scale_factor)] * dims if not isinstance(scale_factor, (tuple, list)) \
        else [float(f) for f in scale_factor]
    sizes = [int(math.floor(n * f)) for n, f in zip(shape, factors, strict=True)]
    # PyTorch uses the given factor for the source index unless told to recompute it.
    return sizes, [None if recompute_scale_factor else f for f in factors]


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)
