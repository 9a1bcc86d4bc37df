"""Lion: the sign of an interpolated momentum, found by program search."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import buffer, check_grad, ema_, lr_option
from steepest.optim.spec import OptimizerSpec, Option, betas, number

__all__ = ["LION_SPEC", "LionState", "lion_init", "lion_update"]


class LionState(NamedTuple):
    """Lion's state: the momentum m (the authors' name: exp_avg)."""

    exp_avg: np.ndarray


def lion_init(param: np.ndarray) -> LionState:
    """m = 0."""
    return LionState(np.zeros_like(param))


def lion_update(grad: np.ndarray, state: LionState, param: np.ndarray, *, lr: float,
                betas: tuple[float, float], weight_decay: float,
                out: np.ndarray | None = None) -> tuple[np.ndarray, LionState]:
    """Lion (Chen et al. 2023, Program 1), as the authors' PyTorch code computes it.

        c = β₁ m + (1 − β₁) g              (the interpolation the step follows)
        w ← w − lr·(sign(c) + λ·w)         (decoupled weight decay, scaled by lr)
        m ← β₂ m + (1 − β₂) g              (the momentum, with its own, slower β₂)

    Every coordinate moves by exactly lr (or 0 where c = 0), so Lion wants a learning rate
    3-10x smaller than AdamW's and a weight decay 3-10x larger. Arrays: shape S.
    Returns (delta, new_state).
    """
    check_grad(grad, param)
    beta1, beta2 = float(betas[0]), float(betas[1])
    delta = buffer(out, param)
    exp_avg = state.exp_avg
    np.multiply(grad, 1.0 - beta1, out=delta)
    delta += beta1 * exp_avg
    np.sign(delta, out=delta)
    if weight_decay != 0.0:
        delta += float(weight_decay) * param
    delta *= -float(lr)
    ema_(exp_avg, grad, beta2, np.empty_like(exp_avg))  # delta is taken: a scratch of its own
    return delta, LionState(exp_avg)


LION_SPEC = OptimizerSpec(
    name="Lion",
    summary="Lion: steps of the same size in every coordinate, along an interpolated momentum",
    formula="c = β₁m + (1−β₁)g;  w −= lr·(sign(c) + λw);  m = β₂m + (1−β₂)g",
    paper="Chen et al. 2023, Symbolic Discovery of Optimization Algorithms, NeurIPS, "
          "arXiv:2302.06675",
    year=2023,
    state=LionState,
    init=lion_init,
    update=lion_update,
    options=(
        lr_option(1e-4),
        Option("betas", (0.9, 0.99), betas(), "(β₁, β₂): the interpolation for the step and "
               "the momentum's decay"),
        Option("weight_decay", 0.0, number("weight_decay value"), "decoupled: w −= lr·λ·w"),
    ),
    elementwise=True,
    study_lr=1e-3,
    conventions="The authors' code (google/automl, lion_pytorch.py): defaults lr=1e-4, "
                "betas=(0.9, 0.99), weight decay decoupled and multiplied by lr (as optax).",
)
