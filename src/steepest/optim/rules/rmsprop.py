"""RMSprop: AdaGrad with a leaky average of the squared gradients, optionally centred."""

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
    zeros_if_none,
)
from steepest.optim.spec import OptimizerSpec, Option, flag, number

__all__ = ["RMSPROP_SPEC", "RMSpropState", "rmsprop_init", "rmsprop_update"]


class RMSpropState(NamedTuple):
    """RMSprop's state: t, E[g²], and (only when used) the momentum buffer and E[g]."""

    step: int
    square_avg: np.ndarray
    momentum_buffer: np.ndarray | None = None
    grad_avg: np.ndarray | None = None


def rmsprop_init(param: np.ndarray, momentum: float, centered: bool) -> RMSpropState:
    """t = 0, E[g²] = 0; the momentum buffer and E[g] (zeros) only when momentum / centered."""
    return RMSpropState(
        0,
        np.zeros_like(param),
        np.zeros_like(param) if momentum > 0 else None,
        np.zeros_like(param) if centered else None,
    )


def rmsprop_update(grad: np.ndarray, state: RMSpropState, param: np.ndarray, *, lr: float,
                   alpha: float, eps: float, weight_decay: float, momentum: float,
                   centered: bool, maximize: bool, eps_inside_sqrt: bool,
                   out: np.ndarray | None = None) -> tuple[np.ndarray, RMSpropState]:
    """RMSProp (Hinton's lecture 6e; lecture 004's "leaky AdaGrad").  Arrays: shape S.

        E[g²] ← α E[g²] + (1 − α) g²
        centered:  E[g] ← α E[g] + (1 − α) g,   s = E[g²] − E[g]²   (else s = E[g²])
        d = √s + ε                       PyTorch, and the lecture (decay_rate = α, ε = 1e-7)
        d = √(s + ε)                     eps_inside_sqrt=True: Keras and optax
        momentum > 0:  b ← μ b + g / d,  w ← w − lr·b       (PyTorch's form: lr outside b)
        else:          w ← w − lr · g / d

    g = grad (+ weight_decay·w; negated when maximize). Keras's RMSprop is rho=α=0.9, eps=1e-7,
    eps_inside_sqrt=True. Buffers a state lacks (momentum or centered switched on later) start at
    zero. Returns (delta, new_state).
    """
    alpha = float(alpha)
    eps = float(eps)
    momentum = float(momentum)
    delta = buffer(out, param)
    g = effective_grad(grad, param, float(weight_decay), maximize)
    square_avg = state.square_avg
    ema_square_(square_avg, g, alpha, delta)
    grad_avg = state.grad_avg
    if centered:
        grad_avg = zeros_if_none(grad_avg, param)
        lerp_(grad_avg, g, 1.0 - alpha, delta)
        np.multiply(grad_avg, grad_avg, out=delta)
        np.subtract(square_avg, delta, out=delta)
        source = delta
    else:
        source = square_avg
    if eps_inside_sqrt:
        np.add(source, eps, out=delta)
        np.sqrt(delta, out=delta)
    else:
        np.sqrt(source, out=delta)
        delta += eps
    np.divide(g, delta, out=delta)
    buf = state.momentum_buffer
    if momentum > 0.0:
        buf = zeros_if_none(buf, param)
        buf *= momentum
        buf += delta
        np.multiply(buf, -float(lr), out=delta)
    else:
        delta *= -float(lr)
    return delta, RMSpropState(state.step + 1, square_avg, buf, grad_avg)


RMSPROP_SPEC = OptimizerSpec(
    name="RMSprop",
    summary="RMSProp: leaky AdaGrad, optionally centred and with momentum",
    formula="E[g²] ← αE[g²] + (1−α)g²;  w −= lr·g/(√E[g²] + ε)",
    paper="Hinton, Srivastava & Swersky 2012, Neural Networks for Machine Learning, "
          "lecture 6e",
    year=2012,
    state=RMSpropState,
    init=rmsprop_init,
    update=rmsprop_update,
    options=(
        lr_option(1e-2),
        Option("alpha", 0.99, number("alpha value"), "decay of E[g²]"),
        eps_option(1e-8, "added to the root"),
        weight_decay_option(),
        Option("momentum", 0.0, number("momentum value"),
               "buffer b = μb + g/d, w −= lr·b (PyTorch's form)"),
        Option("centered", False, flag("centered"),
               "divide by the estimated variance E[g²] − E[g]²"),
        MAXIMIZE,
        Option("eps_inside_sqrt", False, flag("eps_inside_sqrt"),
               "√(s + ε) instead of √s + ε (Keras, optax)", keyword_only=True),
    ),
    elementwise=True,
    study_lr=0.03,
    family="adaptive",
    conventions="PyTorch's ε outside the root and lr outside the momentum buffer.",
)
