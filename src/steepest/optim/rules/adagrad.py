"""Adagrad: a learning rate per coordinate, divided by the root of the summed squared gradients."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import (
    MAXIMIZE,
    buffer,
    effective_grad,
    eps_option,
    lr_option,
    weight_decay_option,
)
from steepest.optim.spec import OptimizerSpec, Option, flag, number

__all__ = ["ADAGRAD_SPEC", "AdagradState", "adagrad_init", "adagrad_update"]


class AdagradState(NamedTuple):
    """Adagrad's state: step count t and the running sum of squared gradients Σ g²."""

    step: int
    sum: np.ndarray


def adagrad_init(param: np.ndarray, initial_accumulator_value: float) -> AdagradState:
    """t = 0, Σg² = initial_accumulator_value (PyTorch 0; Keras and optax start at 0.1)."""
    return AdagradState(0, np.full_like(param, float(initial_accumulator_value)))


def adagrad_update(grad: np.ndarray, state: AdagradState, param: np.ndarray, *, lr: float,
                   lr_decay: float, weight_decay: float, eps: float, maximize: bool,
                   eps_inside_sqrt: bool, out: np.ndarray | None = None
                   ) -> tuple[np.ndarray, AdagradState]:
    """AdaGrad (Duchi et al. 2011; lecture 004's `grad_squared += dx*dx`).  Arrays: shape S.

        t ← t + 1;   η_t = lr / (1 + (t − 1)·lr_decay)
        s ← s + g²
        w ← w − η_t · g / (√s + ε)          PyTorch, and the lecture (with ε = 1e-7)
        w ← w − η_t · g / √(s + ε)          eps_inside_sqrt=True: Keras and optax

    g = grad (+ weight_decay·w; negated when maximize). Keras's Adagrad is lr=0.001,
    initial_accumulator_value=0.1, eps=1e-7, eps_inside_sqrt=True. Returns (delta, new_state).
    """
    step = state.step + 1
    delta = buffer(out, param)
    g = effective_grad(grad, param, float(weight_decay), maximize)
    clr = float(lr) / (1.0 + (step - 1) * float(lr_decay))
    sum_sq = state.sum
    np.multiply(g, g, out=delta)
    sum_sq += delta
    if eps_inside_sqrt:
        np.add(sum_sq, float(eps), out=delta)
        np.sqrt(delta, out=delta)
    else:
        np.sqrt(sum_sq, out=delta)
        delta += float(eps)
    np.divide(g, delta, out=delta)
    delta *= -clr
    return delta, AdagradState(step, sum_sq)


ADAGRAD_SPEC = OptimizerSpec(
    name="Adagrad",
    summary="AdaGrad: per-coordinate steps shrinking with the summed squared gradients",
    formula="s += g²;  w −= lr/(1 + (t−1)·lr_decay) · g/(√s + ε)",
    paper="Duchi, Hazan & Singer 2011, Adaptive Subgradient Methods for Online Learning and "
          "Stochastic Optimization, JMLR 12",
    year=2011,
    state=AdagradState,
    init=adagrad_init,
    update=adagrad_update,
    options=(
        lr_option(1e-2),
        Option("lr_decay", 0.0, number("lr_decay value"),
               "η_t = lr / (1 + (t − 1)·lr_decay)"),
        weight_decay_option(),
        Option("initial_accumulator_value", 0.0, number("initial_accumulator_value value"),
               "start of Σg² (PyTorch 0; Keras and optax 0.1); each group's own is honoured, "
               "unlike PyTorch, which always uses the constructor's"),
        eps_option(1e-10, "added to √s"),
        MAXIMIZE,
        Option("eps_inside_sqrt", False, flag("eps_inside_sqrt"),
               "√(s + ε) instead of √s + ε (Keras, optax)", keyword_only=True),
    ),
    elementwise=True,
    study_lr=0.1,
    family="adagrad",
)
