"""RAdam: Adam whose adaptive step is switched on gradually, as the variance of v̂ allows."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import (
    MAXIMIZE,
    buffer,
    effective_grad,
    ema_square_,
    eps_option,
    lerp_,
    lr_option,
    weight_decay_option,
)
from steepest.optim.spec import OptimizerSpec, Option, betas, flag

__all__ = ["RADAM_SPEC", "RAdamState", "radam_init", "radam_update"]


class RAdamState(NamedTuple):
    """RAdam's state: t and Adam's moments m, v."""

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def radam_init(param: np.ndarray) -> RAdamState:
    """t = 0, m = v = 0 (arrays shaped like param)."""
    return RAdamState(0, np.zeros_like(param), np.zeros_like(param))


def radam_update(grad: np.ndarray, state: RAdamState, param: np.ndarray, *, lr: float,
                 betas: tuple[float, float], eps: float, weight_decay: float,
                 decoupled_weight_decay: bool, maximize: bool,
                 out: np.ndarray | None = None) -> tuple[np.ndarray, RAdamState]:
    """RAdam (Liu et al. 2020, Algorithm 2), as PyTorch computes it.  Arrays: shape S.

        t ← t + 1;  m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;  m̂ = m / (1 − β₁ᵗ)
        ρ∞ = 2/(1 − β₂) − 1;   ρ_t = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)     (length of the approximated SMA)
        ρ_t > 5:  r = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)),
                  w ← w − lr·r·m̂·√(1 − β₂ᵗ)/(√v + ε)        (rectified adaptive step)
        else:     w ← w − lr·m̂                             (momentum SGD while v̂ is unreliable)

    Weight decay: L2 (g ← g + λw) or, with decoupled_weight_decay, w ← w − lr·λ·w (as AdamW).
    g = grad (negated when maximize). Returns (delta, new_state).
    """
    beta1, beta2 = float(betas[0]), float(betas[1])
    lr = float(lr)
    weight_decay = float(weight_decay)
    step = state.step + 1
    delta = buffer(out, param)
    g = effective_grad(grad, param, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    exp_avg, exp_avg_sq = state.exp_avg, state.exp_avg_sq
    lerp_(exp_avg, g, 1.0 - beta1, delta)
    ema_square_(exp_avg_sq, g, beta2, delta)
    correction1 = 1.0 - beta1**step
    correction2 = 1.0 - beta2**step
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * step * beta2**step / correction2
    # In PyTorch's order of rounding: ((m / (1 − β₁ᵗ))·lr)·adaptive·r.
    if rho_t > 5.0:
        rect = math.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                         / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        adaptive = np.sqrt(exp_avg_sq, out=np.empty_like(exp_avg_sq))
        adaptive += float(eps)
        np.divide(math.sqrt(correction2), adaptive, out=adaptive)
        np.divide(exp_avg, correction1, out=delta)
        delta *= lr
        delta *= adaptive
        delta *= -rect
    else:
        np.divide(exp_avg, correction1, out=delta)
        delta *= -lr
    if decoupled_weight_decay and weight_decay != 0.0:
        delta -= (lr * weight_decay) * param
    return delta, RAdamState(step, exp_avg, exp_avg_sq)


RADAM_SPEC = OptimizerSpec(
    name="RAdam",
    summary="RAdam: Adam with the variance of its adaptive step rectified",
    formula="ρ_t = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ);  ρ_t > 5: w −= lr·r_t·m̂/(√v̂ + ε), else w −= lr·m̂",
    paper="Liu et al. 2020, On the Variance of the Adaptive Learning Rate and Beyond, ICLR, "
          "arXiv:1908.03265",
    year=2020,
    state=RAdamState,
    init=radam_init,
    update=radam_update,
    options=(
        lr_option(1e-3),
        Option("betas", (0.9, 0.999), betas(), "(β₁, β₂): decay of m and of v"),
        eps_option(1e-8, "added to √v"),
        weight_decay_option(doc="L2 penalty g += λw, or decoupled with decoupled_weight_decay"),
        Option("decoupled_weight_decay", False, flag("decoupled_weight_decay"),
               "weight decay as AdamW: w −= lr·λ·w"),
        MAXIMIZE,
    ),
    elementwise=True,
    study_lr=0.01,
    conventions="PyTorch's: ε added to √v before the bias correction √(1 − β₂ᵗ) multiplies.",
)
