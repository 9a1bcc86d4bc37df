"""Loss functions; cross-entropy is a fused primitive (stable log-softmax + NLL in one op)."""

from __future__ import annotations

from steepest.tensor import Tensor


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    raise NotImplementedError


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    raise NotImplementedError


def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    raise NotImplementedError


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    raise NotImplementedError


def multi_margin_loss(input: Tensor, target, p: int = 1, margin: float = 1.0, weight=None,
                      reduction: str = "mean") -> Tensor:
    raise NotImplementedError


def multiclass_svm_loss(scores: Tensor, target, margin: float = 1.0,
                        reduction: str = "mean") -> Tensor:
    """The lectures' hinge loss L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + margin), as written there."""
    raise NotImplementedError


def l2_penalty(parameters, weight_decay: float) -> Tensor:
    """λ Σ w² over the given tensors: add it to the data loss for L = mean(L_i) + λ Σ w²."""
    raise NotImplementedError
