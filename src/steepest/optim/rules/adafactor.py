"""Adafactor: Adam's second moment stored as row and column factors, relative step sizes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from steepest.optim.rules._common import MAXIMIZE, buffer, effective_grad, lerp_
from steepest.optim.spec import OptimizerSpec, Option, number

__all__ = ["ADAFACTOR_SPEC", "AdafactorState", "adafactor_init", "adafactor_update"]


class AdafactorState(NamedTuple):
    """Adafactor's state: t and, for a parameter of 2 or more dimensions, the row and column
    factors of the second moment (shapes (..., m, 1) and (..., 1, n)); for a vector or a
    scalar, the full second moment (its own shape)."""

    step: int
    row_var: np.ndarray | None = None
    col_var: np.ndarray | None = None
    variance: np.ndarray | None = None


def adafactor_init(param: np.ndarray) -> AdafactorState:
    """t = 0 and zero factors (matrix or higher) or a zero second moment (vector, scalar)."""
    if param.ndim > 1:
        return AdafactorState(0, row_var=np.zeros((*param.shape[:-1], 1), param.dtype),
                              col_var=np.zeros((*param.shape[:-2], 1, param.shape[-1]),
                                               param.dtype))
    return AdafactorState(0, variance=np.zeros_like(param))


def adafactor_update(grad: np.ndarray, state: AdafactorState, param: np.ndarray, *, lr: float,
                     beta2_decay: float, eps: tuple[float | None, float], d: float,
                     weight_decay: float, maximize: bool, out: np.ndarray | None = None
                     ) -> tuple[np.ndarray, AdafactorState]:
    """Adafactor (Shazeer & Stern 2018), as PyTorch's `torch.optim.Adafactor` computes it.

        t ← t + 1;   β̂₂ = 1 − t^τ  (τ = beta2_decay);   ρ = min(lr, 1/√t)
        α = max(ε₂, RMS(w)) · ρ                        (relative step: scale of the weights)
        matrix (..., m, n):  R ← β̂₂ R + (1 − β̂₂) mean_n(g²),  C ← β̂₂ C + (1 − β̂₂) mean_m(g²)
                             V̂ = R·C / max(mean_m(R), ε₁)    (rank-1 estimate of E[g²])
        vector or scalar:    V̂ ← β̂₂ V̂ + (1 − β̂₂) g²
        U = g / √max(V̂, ε₁²);   Û = U / max(1, RMS(U)/d)    (update clipping)
        w ← w − lr·λ·w − α·Û

    Not elementwise: the factors average over rows and columns and RMS(w), RMS(U) cover the
    whole tensor. No first moment (PyTorch's and the paper's default β₁ = 0). ε₁ = None is
    the dtype's machine epsilon. g = grad (negated when maximize). Returns (delta, new_state).
    """
    eps1, eps2 = eps
    if eps1 is None:
        eps1 = float(np.finfo(param.dtype).eps)
    step = state.step + 1
    delta = buffer(out, param)
    g = effective_grad(grad, param, 0.0, maximize)
    beta2_t = float(step) ** float(beta2_decay)  # 1 − β̂₂: the weight of the new g²
    rho = min(float(lr), 1.0 / math.sqrt(step))
    alpha = max(float(eps2), float(np.linalg.norm(param.reshape(-1))) / math.sqrt(param.size))
    alpha *= rho
    square = np.multiply(g, g, out=np.empty_like(g))
    if param.ndim > 1:
        row_var, col_var = state.row_var, state.col_var
        row_mean = square.sum(axis=-1, keepdims=True) / g.shape[-1]
        lerp_(row_var, row_mean, beta2_t, np.empty_like(row_var))
        col_mean = square.sum(axis=-2, keepdims=True) / g.shape[-2]
        lerp_(col_var, col_mean, beta2_t, np.empty_like(col_var))
        estimate = np.matmul(row_var, col_var)
        estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        lerp_(state.variance, square, beta2_t, delta)
        estimate = state.variance.copy()
    np.maximum(estimate, eps1 * eps1, out=estimate)
    np.sqrt(estimate, out=estimate)
    np.divide(1.0, estimate, out=estimate)  # PyTorch's rsqrt, then times g
    np.multiply(estimate, g, out=delta)
    clip = max(1.0, float(np.linalg.norm(delta.reshape(-1))) / (math.sqrt(delta.size) * float(d)))
    delta *= -alpha / clip
    if weight_decay != 0.0:
        delta -= (float(lr) * float(weight_decay)) * param
    return delta, state._replace(step=step)


def _check(options: Mapping[str, Any]) -> None:
    eps = options["eps"]
    if not isinstance(eps, (tuple, list)) or len(eps) != 2:
        raise ValueError(f"Invalid eps: {eps!r} (must be a pair (epsilon1 or None, epsilon2))")
    if eps[0] is not None:
        number("epsilon1", message="epsilon1 should be >= 0 but is: {value}")(eps[0])
    number("epsilon2", message="epsilon2 should be >= 0 but is: {value}")(eps[1])


ADAFACTOR_SPEC = OptimizerSpec(
    name="Adafactor",
    summary="Adafactor: factored second moments and steps relative to the weights' scale",
    formula="R, C ← row and column means of g² (decay 1 − t^τ);  V̂ = RC/mean(R);  "
            "U = g/√V̂ clipped to RMS ≤ d;  w −= max(ε₂, RMS(w))·min(lr, 1/√t)·U",
    paper="Shazeer & Stern 2018, Adafactor: Adaptive Learning Rates with Sublinear Memory "
          "Cost, ICML, arXiv:1804.04235",
    year=2018,
    state=AdafactorState,
    init=adafactor_init,
    update=adafactor_update,
    options=(
        Option("lr", 1e-2, number("learning rate",
                                  message="Learning rate should be >= 0 but is: {value}"),
               "upper bound of the relative step ρ = min(lr, 1/√t); also scales weight decay"),
        Option("beta2_decay", -0.8, number("beta2_decay", low=None, high=0.0,
                                           message="beta2_decay should be <= 0 but is: "
                                                   "{value}"),
               "τ: the second moment's decay is 1 − t^τ"),
        Option("eps", (None, 1e-3), lambda value: None,  # checked in _check, with ε₁ optional
               "(ε₁, ε₂): floor of V̂ (None: the dtype's machine epsilon) and of RMS(w)"),
        Option("d", 1.0, number("d", low=1.0, message="Clipping threshold d should be >= 1 but "
                                                     "is: {value}"),
               "clipping threshold of RMS(U)"),
        Option("weight_decay", 0.0, number("weight_decay", message="weight_decay should be >= 0 "
                                                                   "but is: {value}"),
               "decoupled: w −= lr·λ·w"),
        MAXIMIZE,
    ),
    elementwise=False,
    study_lr=0.01,
    check_group=_check,
    conventions="PyTorch's variant: no first moment, ε₁ floors V̂ (squared) instead of being "
                "added, and the relative step uses the weights before decay.",
)
