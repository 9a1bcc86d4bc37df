"""Matrix products, linear layers and dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from steepest.autograd import ops
from steepest.autograd.function import Function
from steepest.functional.pointwise import _tensor, inplace_result, with_out
from steepest.random import get_generator
from steepest.tensor import Tensor


@with_out
def matmul(input: Any, other: Any) -> Tensor:
    """x @ y with NumPy/PyTorch rules: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D promoted."""
    return ops.matmul(input, other)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weightᵀ + bias.  x: (..., in), weight: (out, in), bias: (out,) -> (..., out)."""
    x = _tensor(input)
    if x.shape[-1:] != weight.shape[-1:]:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} does not fit weight of shape "
            f"{tuple(weight.shape)} (in_features {weight.shape[-1]}, input's last axis "
            f"{x.shape[-1] if x.ndim else None})"
        )
    if weight.ndim == 1:  # PyTorch allows a vector weight: a dot product per row
        out = ops.matmul(x, weight)
        return out if bias is None else out + bias
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1ᵀ W_k x2 + b_k.  x1: (..., in1), x2: (..., in2), W: (out, in1, in2)."""
    from steepest.functional.shape import einsum

    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias


class _MaskMultiply(Function):
    """z = x * mask for a fixed mask (dropout's kept units, already scaled by 1/(1−p))."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ctx.mask, None


def dropout_mask(shape: tuple, p: float, dtype, generator: np.random.Generator | None = None):
    """Inverted-dropout mask: 0 with probability p, else 1/(1−p), so the expectation is 1."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
    dtype = np.dtype(dtype)  # accept np.float32 as well as np.dtype("float32")
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)
    keep = get_generator(generator).random(shape) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            generator: np.random.Generator | None = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1−p) (identity in eval)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return input
    mask = dropout_mask(input.shape, p, input.dtype, generator)
    if inplace:
        return inplace_result(input, lambda x: _MaskMultiply.apply(x, mask))
    return _MaskMultiply.apply(input, mask)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """SELU's dropout: dropped units take the negative saturation value, then an affine map
    keeps mean and variance (Klambauer et al., 2017)."""
    if not training or p == 0.0:
        return input
    alpha = -ops.SELU_SCALE * ops.SELU_ALPHA
    keep = (get_generator(None).random(input.shape) >= p).astype(input.dtype)
    a = (1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p)))
    b = -a * alpha * p
    return (input * keep + alpha * (1 - keep)) * a + b


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of weight at the indices: input (*) ints, weight (num, dim) -> (*, dim).

    padding_idx: that row gets no gradient. max_norm: rows looked up are first rescaled in
    place to norm <= max_norm (PyTorch's embedding_renorm_). scale_grad_by_freq: each row's
    gradient is divided by how often its index occurs in input. Gradients are dense (sparse
    is accepted and ignored).
    """
    from steepest.autograd import inplace

    index = np.asarray(input.data if isinstance(input, Tensor) else input)
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {index.dtype} instead "
                           f"(while checking arguments for embedding)")
    num = weight.shape[0]
    if index.size and (index.min() < 0 or index.max() >= num):
        raise IndexError(f"index out of range in self: embedding indices must lie in "
                         f"0..{num - 1}, got {int(index.min())}..{int(index.max())}")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        rows = np.unique(index)
        norms = np.linalg.norm(weight.data[rows], ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        inplace.bump_version(weight)
        weight.data[rows] *= scale[:, None].astype(weight.data.dtype)
    out = weight[index]
    if scale_grad_by_freq:
        counts = np.bincount(index.reshape(-1), minlength=num)[index]
        scale = (1.0 / counts).astype(weight.data.dtype)[..., None]
        frozen = out.detach()
        out = frozen + (out - frozen) * scale  # the same values; the gradient divided by count
    if padding_idx is not None:
        out = ops.Where.apply((index == padding_idx)[..., None], out.detach(), out)
    return out


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Class indices (*) -> (*, num_classes) int64 with a 1 at each index (num_classes -1:
    one more than the largest index)."""
    index = np.asarray(tensor.data if isinstance(tensor, Tensor) else tensor)
    if index.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(index.max()) + 1 if index.size else 0
    if index.size and (index.min() < 0 or index.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._wrap((index[..., None] == np.arange(num_classes)).astype(np.int64))
