"""Adadelta: AdaGrad's decaying cousin whose steps carry the units of the parameter."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import (
    MAXIMIZE,
    buffer,
    effective_grad,
    ema_square_,
    eps_option,
    lr_option,
    weight_decay_option,
)
from steepest.optim.spec import OptimizerSpec, Option, number

__all__ = ["ADADELTA_SPEC", "AdadeltaState", "adadelta_init", "adadelta_update"]


class AdadeltaState(NamedTuple):
    """Adadelta's state: t, the running average of g² and of the squared updates."""

    step: int
    square_avg: np.ndarray
    acc_delta: np.ndarray


def adadelta_init(param: np.ndarray) -> AdadeltaState:
    """t = 0, E[g²] = E[Δ²] = 0 (arrays shaped like param)."""
    return AdadeltaState(0, np.zeros_like(param), np.zeros_like(param))


def adadelta_update(grad: np.ndarray, state: AdadeltaState, param: np.ndarray, *, lr: float,
                    rho: float, eps: float, weight_decay: float, maximize: bool,
                    out: np.ndarray | None = None) -> tuple[np.ndarray, AdadeltaState]:
    """Adadelta (Zeiler 2012, Algorithm 1), as PyTorch computes it.  Arrays: shape S.

        E[g²]  ← ρ E[g²] + (1 − ρ) g²
        Δ      = √(E[Δ²] + ε) / √(E[g²] + ε) · g
        E[Δ²]  ← ρ E[Δ²] + (1 − ρ) Δ²
        w      ← w − lr · Δ                 (the paper has lr = 1; ε inside both roots everywhere)

    g = grad (+ weight_decay·w; negated when maximize). Needs one temporary (Δ beside √(E[g²]+ε)).
    Returns (delta, new_state).
    """
    rho = float(rho)
    eps = float(eps)
    delta = buffer(out, param)
    g = effective_grad(grad, param, float(weight_decay), maximize)
    square_avg, acc_delta = state.square_avg, state.acc_delta
    ema_square_(square_avg, g, rho, delta)
    np.add(square_avg, eps, out=delta)
    np.sqrt(delta, out=delta)  # √(E[g²] + ε)
    update = np.add(acc_delta, eps, out=np.empty_like(acc_delta))
    np.sqrt(update, out=update)
    update /= delta
    update *= g
    ema_square_(acc_delta, update, rho, delta)
    np.multiply(update, -float(lr), out=delta)
    return delta, AdadeltaState(state.step + 1, square_avg, acc_delta)


ADADELTA_SPEC = OptimizerSpec(
    name="Adadelta",
    summary="Adadelta: RMS of past updates over RMS of gradients, no learning rate needed",
    formula="E[g²] ← ρE[g²] + (1−ρ)g²;  Δ = √(E[Δ²]+ε)/√(E[g²]+ε)·g;  E[Δ²] ← ρE[Δ²] + "
            "(1−ρ)Δ²;  w −= lr·Δ",
    paper="Zeiler 2012, ADADELTA: An Adaptive Learning Rate Method, arXiv:1212.5701",
    year=2012,
    state=AdadeltaState,
    init=adadelta_init,
    update=adadelta_update,
    options=(
        lr_option(1.0, "scales the update (the paper's is 1)"),
        Option("rho", 0.9, number("rho value", high=1.0), "decay of both running averages"),
        eps_option(1e-6, "inside both square roots"),
        weight_decay_option(),
        MAXIMIZE,
    ),
    elementwise=True,
    study_lr=3.0,
    family="adadelta",
)
