"""ASGD: stochastic gradient descent with a decaying step and a running average of the iterates."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import (
    MAXIMIZE,
    buffer,
    effective_grad,
    lr_option,
    weight_decay_option,
)
from steepest.optim.spec import OptimizerSpec, Option, number

__all__ = ["ASGD_SPEC", "ASGDState", "asgd_init", "asgd_update"]


class ASGDState(NamedTuple):
    """ASGD's state: t, the current step η, the averaging weight μ, and the average x̄ (ax)."""

    step: int
    eta: float
    mu: float
    ax: np.ndarray


def asgd_init(param: np.ndarray, lr: float) -> ASGDState:
    """t = 0, η = lr, μ = 1, x̄ = 0."""
    return ASGDState(0, float(lr), 1.0, np.zeros_like(param))


def asgd_update(grad: np.ndarray, state: ASGDState, param: np.ndarray, *, lr: float,
                lambd: float, alpha: float, t0: float, weight_decay: float, maximize: bool,
                out: np.ndarray | None = None) -> tuple[np.ndarray, ASGDState]:
    """Averaged SGD (Polyak & Juditsky 1992) with Xu's step schedule, as PyTorch computes it.

        t ← t + 1
        w ← w·(1 − λη) − η·g                     (the step with the current η; λ: lambd)
        x̄ ← x̄ + μ·(w − x̄)   (x̄ ← w while μ = 1)
        η ← lr / (1 + λ·lr·t)^α,   μ ← 1 / max(1, t − t0)

    The average x̄ (state "ax") starts once t passes t0; the parameters themselves are the
    plain iterates, as in PyTorch (evaluate with `optimizer.state[p].ax` for the average).
    g = grad (+ weight_decay·w; negated when maximize). Returns (delta, new_state).
    """
    lambd = float(lambd)
    step = state.step + 1
    delta = buffer(out, param)
    g = effective_grad(grad, param, float(weight_decay), maximize)
    eta = float(state.eta)
    np.multiply(param, -lambd * eta, out=delta)
    delta -= eta * g
    ax = state.ax
    if state.mu != 1.0:
        new_param = param + delta  # the value the caller's param += delta will give
        new_param -= ax
        new_param *= float(state.mu)
        ax += new_param
    else:
        np.add(param, delta, out=ax)
    eta = float(lr) / (1.0 + lambd * float(lr) * step) ** float(alpha)
    mu = 1.0 / max(1.0, step - float(t0))
    return delta, ASGDState(step, eta, mu, ax)


ASGD_SPEC = OptimizerSpec(
    name="ASGD",
    summary="Averaged SGD: decaying steps and a running average of the iterates",
    formula="w ← w(1 − λη) − ηg;  x̄ ← x̄ + μ(w − x̄);  η = lr/(1 + λ·lr·t)^α, "
            "μ = 1/max(1, t − t0)",
    paper="Polyak & Juditsky 1992, Acceleration of Stochastic Approximation by Averaging, "
          "SIAM J. Control Optim. 30(4); schedule: Xu 2011, arXiv:1107.2490",
    year=1992,
    state=ASGDState,
    init=asgd_init,
    update=asgd_update,
    options=(
        lr_option(1e-2),
        Option("lambd", 1e-4, number("lambd value"), "decay term λ"),
        Option("alpha", 0.75, number("alpha value"), "power α of the step's decay"),
        Option("t0", 1e6, number("t0 value"), "the step at which averaging starts"),
        weight_decay_option(),
        MAXIMIZE,
    ),
    elementwise=True,
    study_lr=0.1,
    family="gd",
    conventions="PyTorch's: η and μ are updated after the step, so a changed lr takes effect "
                "one step later.",
)
