"""Yogi: Adam whose second moment changes additively, so it cannot shrink too fast."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import buffer, check_grad, ema_, lr_option
from steepest.optim.spec import OptimizerSpec, Option, betas, number

__all__ = ["YOGI_SPEC", "YogiState", "yogi_init", "yogi_update"]


class YogiState(NamedTuple):
    """Yogi's state: t and the moments m, v (both start at initial_accumulator_value)."""

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def yogi_init(param: np.ndarray, initial_accumulator_value: float) -> YogiState:
    """t = 0, m = v = initial_accumulator_value (optax's start)."""
    return YogiState(0, np.full_like(param, float(initial_accumulator_value)),
                     np.full_like(param, float(initial_accumulator_value)))


def yogi_update(grad: np.ndarray, state: YogiState, param: np.ndarray, *, lr: float,
                betas: tuple[float, float], eps: float, out: np.ndarray | None = None
                ) -> tuple[np.ndarray, YogiState]:
    """Yogi (Zaheer et al. 2018, Algorithm 2), as optax's `yogi` computes it.  Arrays: shape S.

        m ← β₁ m + (1 − β₁) g
        v ← v − (1 − β₂)·sign(v − g²)·g²      (Adam: v ← v − (1 − β₂)(v − g²))
        w ← w − lr · m̂ / (√v̂ + ε),   m̂, v̂ bias-corrected

    v moves by at most (1 − β₂)g² per step whatever its size, so the effective learning rate
    does not jump when gradients suddenly shrink. Returns (delta, new_state).
    """
    check_grad(grad, param)
    beta1, beta2 = float(betas[0]), float(betas[1])
    step = state.step + 1
    delta = buffer(out, param)
    exp_avg, exp_avg_sq = state.exp_avg, state.exp_avg_sq
    ema_(exp_avg, grad, beta1, delta)
    square = np.square(grad)
    np.subtract(exp_avg_sq, square, out=delta)
    np.sign(delta, out=delta)
    delta *= square
    delta *= 1.0 - beta2
    exp_avg_sq -= delta
    np.divide(exp_avg_sq, 1.0 - beta2**step, out=delta)
    np.sqrt(delta, out=delta)
    delta += float(eps)
    np.divide(exp_avg / (1.0 - beta1**step), delta, out=delta)
    delta *= -float(lr)
    return delta, YogiState(step, exp_avg, exp_avg_sq)


YOGI_SPEC = OptimizerSpec(
    name="Yogi",
    summary="Yogi: Adam with an additive, sign-controlled update of v",
    formula="v = v − (1−β₂)·sign(v − g²)·g²;  w −= lr·m̂/(√v̂ + ε)",
    paper="Zaheer et al. 2018, Adaptive Methods for Nonconvex Optimization, NeurIPS",
    year=2018,
    state=YogiState,
    init=yogi_init,
    update=yogi_update,
    options=(
        lr_option(1e-2),
        Option("betas", (0.9, 0.999), betas(), "(β₁, β₂): decay of m and of v's steps"),
        Option("eps", 1e-3, number("epsilon value"), "added to √v̂ (the paper's 1e-3)"),
        Option("initial_accumulator_value", 1e-6, number("initial_accumulator_value value"),
               "start of m and v"),
    ),
    elementwise=True,
    study_lr=0.01,
    conventions="optax's yogi: m and v start at initial_accumulator_value = 1e-6, both "
                "bias-corrected; the paper's lr = 1e-2 and ε = 1e-3.",
)
