"""`CosineSimilarity` and `PairwiseDistance` as modules."""

from __future__ import annotations

from steepest import functional as F
from steepest.nn.module import Module
from steepest.tensor import Tensor


class CosineSimilarity(Module):
    """⟨x1, x2⟩ / (max(‖x1‖, ε)·max(‖x2‖, ε)) along dim: (.., D, ..) twice -> (.., ..)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """‖x1 − x2 + ε‖_p along the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
