"""Similarities and distances between vectors: `cosine_similarity`, `pairwise_distance`."""

from __future__ import annotations

import numpy as np

from steepest.autograd.grad_mode import no_grad
from steepest.functional.pointwise import _float
from steepest.functional.reduction import norm
from steepest.functional.shape import broadcast_tensors
from steepest.tensor import Tensor, _dim


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """⟨x1 / max(‖x1‖, ε), x2 / max(‖x2‖, ε)⟩ along dim (inputs broadcast), as PyTorch 2.x.

    The clamp is applied to the norms' values only: the gradient flows as if the norms were
    not clamped (PyTorch clamps them in place under no_grad), which this reproduces.
    """
    a, b = broadcast_tensors(_float(x1), _float(x2))
    axis = _dim(int(dim), a.ndim)
    norms = []
    for x in (a, b):
        length = norm(x, 2, axis, keepdim=True).clone()
        with no_grad():
            length.clamp_min_(eps)
        norms.append(length)
    return ((a / norms[0]) * (b / norms[1])).sum(axis)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """‖x1 − x2 + ε‖_p along the last dim (PyTorch adds ε to the difference)."""
    a, b = _float(x1), _float(x2)
    dim = -1 if max(a.ndim, b.ndim) else 0
    return norm(a - b + eps, p, dim, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between all pairs of rows i < j: (N, M) -> (N·(N−1)/2,)."""
    x = _float(input)
    rows, cols = np.triu_indices(x.shape[0], k=1)
    return norm(x[rows] - x[cols], p, dim=-1)
