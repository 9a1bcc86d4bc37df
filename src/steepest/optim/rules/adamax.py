"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import (
    MAXIMIZE,
    buffer,
    effective_grad,
    eps_option,
    lerp_,
    lr_option,
    weight_decay_option,
)
from steepest.optim.spec import OptimizerSpec, Option, betas

__all__ = ["ADAMAX_SPEC", "AdamaxState", "adamax_init", "adamax_update"]


class AdamaxState(NamedTuple):
    """Adamax's state: t, the first moment m and the exponentially weighted infinity norm u."""

    step: int
    exp_avg: np.ndarray
    exp_inf: np.ndarray


def adamax_init(param: np.ndarray) -> AdamaxState:
    """t = 0, m = u = 0 (arrays shaped like param)."""
    return AdamaxState(0, np.zeros_like(param), np.zeros_like(param))


def adamax_update(grad: np.ndarray, state: AdamaxState, param: np.ndarray, *, lr: float,
                  betas: tuple[float, float], eps: float, weight_decay: float, maximize: bool,
                  out: np.ndarray | None = None) -> tuple[np.ndarray, AdamaxState]:
    """Adamax (Kingma & Ba 2015, Algorithm 2), as PyTorch computes it.  Arrays: shape S.

        t ← t + 1
        m ← β₁ m + (1 − β₁) g
        u ← max(β₂ u, |g| + ε)          (the infinity norm: no square root, no bias in u)
        w ← w − lr/(1 − β₁ᵗ) · m / u

    ε sits inside the max, as in PyTorch (the paper has none; optax adds it to u afterwards).
    g = grad (+ weight_decay·w, L2; negated when maximize). Returns (delta, new_state).
    """
    beta1, beta2 = float(betas[0]), float(betas[1])
    step = state.step + 1
    delta = buffer(out, param)
    g = effective_grad(grad, param, float(weight_decay), maximize)
    exp_avg, exp_inf = state.exp_avg, state.exp_inf
    lerp_(exp_avg, g, 1.0 - beta1, delta)
    exp_inf *= beta2
    np.abs(g, out=delta)
    delta += float(eps)
    np.maximum(exp_inf, delta, out=exp_inf)
    # −lr/(1 − β₁ᵗ)·m first, then / u: PyTorch's addcdiv rounds in this order.
    np.multiply(exp_avg, -float(lr) / (1.0 - beta1**step), out=delta)
    delta /= exp_inf
    return delta, AdamaxState(step, exp_avg, exp_inf)


ADAMAX_SPEC = OptimizerSpec(
    name="Adamax",
    summary="Adamax: Adam with the infinity norm of past gradients",
    formula="m = β₁m + (1−β₁)g;  u = max(β₂u, |g| + ε);  w −= lr/(1−β₁ᵗ)·m/u",
    paper="Kingma & Ba 2015, Adam: A Method for Stochastic Optimization, §7.1, ICLR, "
          "arXiv:1412.6980",
    year=2015,
    state=AdamaxState,
    init=adamax_init,
    update=adamax_update,
    options=(
        lr_option(2e-3),
        Option("betas", (0.9, 0.999), betas(), "(β₁, β₂): decay of m and of u"),
        eps_option(1e-8, "added to |g| inside the max"),
        weight_decay_option(),
        MAXIMIZE,
    ),
    elementwise=True,
    study_lr=0.01,
    conventions="PyTorch's: ε inside the max with |g|.",
)
