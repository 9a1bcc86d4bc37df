"""LAMB: Adam's update rescaled, layer by layer, to a fixed fraction of the weights' norm."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import buffer, check_grad, ema_, ema_square_, lr_option
from steepest.optim.spec import OptimizerSpec, Option, betas, number

__all__ = ["LAMB_SPEC", "LAMBState", "lamb_init", "lamb_update", "trust_ratio"]


class LAMBState(NamedTuple):
    """LAMB's state: t and Adam's moments m, v."""

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def lamb_init(param: np.ndarray) -> LAMBState:
    """t = 0, m = v = 0."""
    return LAMBState(0, np.zeros_like(param), np.zeros_like(param))


def trust_ratio(param: np.ndarray, update: np.ndarray, coefficient: float = 1.0,
                eps: float = 0.0) -> float:
    """coefficient·‖w‖ / (‖u‖ + ε), or 1 when either norm is 0 (a new or a still layer),
    as optax's scale_by_trust_ratio."""
    param_norm = float(np.linalg.norm(param.reshape(-1)))
    update_norm = float(np.linalg.norm(update.reshape(-1)))
    if param_norm == 0.0 or update_norm == 0.0:
        return 1.0
    return coefficient * param_norm / (update_norm + eps)


def lamb_update(grad: np.ndarray, state: LAMBState, param: np.ndarray, *, lr: float,
                betas: tuple[float, float], eps: float, weight_decay: float,
                out: np.ndarray | None = None) -> tuple[np.ndarray, LAMBState]:
    """LAMB (You et al. 2020, Algorithm 2), as optax's `lamb` computes it.  Arrays: shape S.

        m ← β₁ m + (1 − β₁) g;   v ← β₂ v + (1 − β₂) g²;   m̂, v̂ bias-corrected
        u = m̂ / (√v̂ + ε) + λ·w                 (Adam's direction, decoupled weight decay)
        w ← w − lr · (‖w‖ / ‖u‖) · u            (the trust ratio; 1 if a norm is 0)

    Not elementwise: the trust ratio takes the norms of the whole tensor (one "layer").
    Returns (delta, new_state).
    """
    check_grad(grad, param)
    beta1, beta2 = float(betas[0]), float(betas[1])
    step = state.step + 1
    delta = buffer(out, param)
    exp_avg, exp_avg_sq = state.exp_avg, state.exp_avg_sq
    ema_(exp_avg, grad, beta1, delta)
    ema_square_(exp_avg_sq, grad, beta2, delta)
    np.divide(exp_avg_sq, 1.0 - beta2**step, out=delta)
    np.sqrt(delta, out=delta)
    delta += float(eps)
    np.divide(exp_avg / (1.0 - beta1**step), delta, out=delta)
    if weight_decay != 0.0:
        delta += float(weight_decay) * param
    delta *= -float(lr) * trust_ratio(param, delta)
    return delta, LAMBState(step, exp_avg, exp_avg_sq)


LAMB_SPEC = OptimizerSpec(
    name="LAMB",
    summary="LAMB: Adam's step scaled per layer by the trust ratio ‖w‖/‖u‖",
    formula="u = m̂/(√v̂ + ε) + λw;  w −= lr·(‖w‖/‖u‖)·u",
    paper="You et al. 2020, Large Batch Optimization for Deep Learning: Training BERT in 76 "
          "minutes, ICLR, arXiv:1904.00962",
    year=2020,
    state=LAMBState,
    init=lamb_init,
    update=lamb_update,
    options=(
        lr_option(1e-3),
        Option("betas", (0.9, 0.999), betas(), "(β₁, β₂): decay of m and of v"),
        Option("eps", 1e-6, number("epsilon value"), "added to √v̂"),
        Option("weight_decay", 0.0, number("weight_decay value"),
               "decoupled, inside the trust-ratio scaling: u += λ·w"),
    ),
    elementwise=False,
    study_lr=0.01,
    conventions="optax's lamb: bias-corrected moments, ε outside the root, no clipping of the "
                "trust ratio (the paper's φ is the identity).",
)
