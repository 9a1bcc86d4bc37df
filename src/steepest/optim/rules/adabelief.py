"""AdaBelief: Adam dividing by the spread of the gradient around its prediction m."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import buffer, check_grad, ema_, lr_option
from steepest.optim.spec import OptimizerSpec, Option, betas, flag, number

__all__ = ["ADABELIEF_SPEC", "AdaBeliefState", "adabelief_init", "adabelief_update"]


class AdaBeliefState(NamedTuple):
    """AdaBelief's state: t, the first moment m and the "belief" s = E[(g − m)²]."""

    step: int
    exp_avg: np.ndarray
    exp_avg_var: np.ndarray


def adabelief_init(param: np.ndarray) -> AdaBeliefState:
    """t = 0, m = s = 0."""
    return AdaBeliefState(0, np.zeros_like(param), np.zeros_like(param))


def adabelief_update(grad: np.ndarray, state: AdaBeliefState, param: np.ndarray, *, lr: float,
                     betas: tuple[float, float], eps: float, eps_root: float,
                     weight_decay: float, nesterov: bool, out: np.ndarray | None = None
                     ) -> tuple[np.ndarray, AdaBeliefState]:
    """AdaBelief (Zhuang et al. 2020, Algorithm 2), as optax's `adabelief` computes it.

        m ← β₁ m + (1 − β₁) g
        s ← β₂ s + (1 − β₂)(g − m)² + ε_root           (m: the new one)
        m̂ = m/(1 − β₁ᵗ)  (Nesterov: β₁ m/(1 − β₁ᵗ⁺¹) + (1 − β₁) g/(1 − β₁ᵗ)),  ŝ = s/(1 − β₂ᵗ)
        w ← w − lr·(m̂ / (√ŝ + ε) + λ·w)

    Where the gradient agrees with its prediction m, s is small and the step large; where it
    is noisy, the step shrinks. Arrays: shape S. Returns (delta, new_state).
    """
    check_grad(grad, param)
    beta1, beta2 = float(betas[0]), float(betas[1])
    step = state.step + 1
    delta = buffer(out, param)
    exp_avg, exp_avg_var = state.exp_avg, state.exp_avg_var
    ema_(exp_avg, grad, beta1, delta)
    np.subtract(grad, exp_avg, out=delta)
    np.square(delta, out=delta)
    exp_avg_var *= beta2
    exp_avg_var += (1.0 - beta2) * delta
    exp_avg_var += float(eps_root)
    np.divide(exp_avg_var, 1.0 - beta2**step, out=delta)
    np.sqrt(delta, out=delta)
    delta += float(eps)
    if nesterov:
        first = (beta1 / (1.0 - beta1 ** (step + 1))) * exp_avg
        first += ((1.0 - beta1) / (1.0 - beta1**step)) * grad
    else:
        first = exp_avg / (1.0 - beta1**step)
    np.divide(first, delta, out=delta)
    if weight_decay != 0.0:
        delta += float(weight_decay) * param
    delta *= -float(lr)
    return delta, AdaBeliefState(step, exp_avg, exp_avg_var)


ADABELIEF_SPEC = OptimizerSpec(
    name="AdaBelief",
    summary="AdaBelief: Adam with the variance of g around its prediction m in place of v",
    formula="s = β₂s + (1−β₂)(g − m)² + ε_root;  w −= lr·(m̂/(√ŝ + ε) + λw)",
    paper="Zhuang et al. 2020, AdaBelief Optimizer: Adapting Stepsizes by the Belief in "
          "Observed Gradients, NeurIPS, arXiv:2010.07468",
    year=2020,
    state=AdaBeliefState,
    init=adabelief_init,
    update=adabelief_update,
    options=(
        lr_option(1e-3),
        Option("betas", (0.9, 0.999), betas(), "(β₁, β₂): decay of m and of s"),
        Option("eps", 1e-16, number("epsilon value"), "added to √ŝ"),
        Option("eps_root", 1e-16, number("eps_root value"), "added to s every step"),
        Option("weight_decay", 0.0, number("weight_decay value"), "decoupled: w −= lr·λ·w"),
        Option("nesterov", False, flag("nesterov"), "Nesterov momentum (optax's form)"),
    ),
    elementwise=True,
    study_lr=0.01,
    conventions="optax's adabelief: ε = ε_root = 1e-16 (the paper's code: ε = 1e-16 "
                "added to s), weight decay decoupled and multiplied by lr, no rectification.",
)
