"""NAdam: Adam with Nesterov momentum and Dozat's momentum warm-up schedule."""

from __future__ import annotations

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
from steepest.optim.spec import OptimizerSpec, Option, betas, flag, number

__all__ = ["NADAM_SPEC", "NAdamState", "nadam_init", "nadam_update"]


class NAdamState(NamedTuple):
    """NAdam's state: t, the product of the momentum schedule Π μ_i, and Adam's m and v."""

    step: int
    mu_product: float
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def nadam_init(param: np.ndarray) -> NAdamState:
    """t = 0, Π μ = 1, m = v = 0 (arrays shaped like param)."""
    return NAdamState(0, 1.0, np.zeros_like(param), np.zeros_like(param))


def nadam_update(grad: np.ndarray, state: NAdamState, param: np.ndarray, *, lr: float,
                 betas: tuple[float, float], eps: float, weight_decay: float,
                 momentum_decay: float, decoupled_weight_decay: bool, maximize: bool,
                 out: np.ndarray | None = None) -> tuple[np.ndarray, NAdamState]:
    """NAdam (Dozat 2016: Adam with Nesterov momentum), as PyTorch computes it.  Arrays: shape S.

        t ← t + 1;   μ_t = β₁ (1 − ½·0.96^(t·ψ)),  μ_{t+1} = β₁ (1 − ½·0.96^((t+1)·ψ))  (ψ: decay)
        Π ← Π · μ_t
        m ← β₁ m + (1 − β₁) g;   v ← β₂ v + (1 − β₂) g²;   d = √(v / (1 − β₂ᵗ)) + ε
        w ← w − lr·(1 − μ_t)/(1 − Π) · g / d − lr·μ_{t+1}/(1 − Π·μ_{t+1}) · m / d

    Weight decay: L2 (g ← g + λw) or, with decoupled_weight_decay, w ← w − lr·λ·w (NAdamW).
    g = grad (negated when maximize). Returns (delta, new_state).
    """
    beta1, beta2 = float(betas[0]), float(betas[1])
    lr = float(lr)
    eps = float(eps)
    weight_decay = float(weight_decay)
    momentum_decay = float(momentum_decay)
    step = state.step + 1
    delta = buffer(out, param)
    g = effective_grad(grad, param, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    correction2 = 1.0 - beta2**step
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product = float(state.mu_product) * mu
    mu_product_next = mu_product * mu_next
    exp_avg, exp_avg_sq = state.exp_avg, state.exp_avg_sq
    lerp_(exp_avg, g, 1.0 - beta1, delta)
    ema_square_(exp_avg_sq, g, beta2, delta)
    # numerator = c_g·g + c_m·m, then one division by d.
    numerator = np.multiply(exp_avg, -lr * mu_next / (1.0 - mu_product_next),
                            out=np.empty_like(exp_avg))
    np.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product), out=delta)
    numerator += delta
    np.divide(exp_avg_sq, correction2, out=delta)
    np.sqrt(delta, out=delta)
    delta += eps
    np.divide(numerator, delta, out=delta)
    if decoupled_weight_decay and weight_decay != 0.0:
        delta -= (lr * weight_decay) * param
    return delta, NAdamState(step, mu_product, exp_avg, exp_avg_sq)


NADAM_SPEC = OptimizerSpec(
    name="NAdam",
    summary="NAdam: Adam with Nesterov momentum",
    formula="μ_t = β₁(1 − ½·0.96^(tψ));  w −= lr·(1−μ_t)/(1−Πμ)·g/d + lr·μ_{t+1}/(1−Πμ·μ_{t+1})"
            "·m/d,  d = √v̂ + ε",
    paper="Dozat 2016, Incorporating Nesterov Momentum into Adam, ICLR workshop",
    year=2016,
    state=NAdamState,
    init=nadam_init,
    update=nadam_update,
    options=(
        lr_option(2e-3),
        Option("betas", (0.9, 0.999), betas(), "(β₁, β₂): decay of m and of v"),
        eps_option(1e-8, "added to √v̂"),
        weight_decay_option(doc="L2 penalty g += λw, or decoupled with "
                                "decoupled_weight_decay (NAdamW)"),
        Option("momentum_decay", 4e-3, number("momentum_decay value"),
               "ψ of the momentum schedule μ_t = β₁(1 − ½·0.96^(tψ))"),
        Option("decoupled_weight_decay", False, flag("decoupled_weight_decay"),
               "weight decay as AdamW: w −= lr·λ·w"),
        MAXIMIZE,
    ),
    elementwise=True,
    study_lr=0.01,
    conventions="PyTorch's: ε outside the root; the momentum schedule's product kept in the "
                "state (mu_product).",
)
