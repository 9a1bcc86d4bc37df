"""LARS: SGD with momentum, each layer's step scaled by the ratio of its weight and gradient
norms."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.rules._common import buffer, check_grad, lr_option
from steepest.optim.rules.lamb import trust_ratio
from steepest.optim.spec import OptimizerSpec, Option, flag, number

__all__ = ["LARS_SPEC", "LARSState", "lars_init", "lars_update"]


class LARSState(NamedTuple):
    """LARS's state: the momentum buffer v (the learning rate already inside it)."""

    momentum_buffer: np.ndarray


def lars_init(param: np.ndarray) -> LARSState:
    """v = 0."""
    return LARSState(np.zeros_like(param))


def lars_update(grad: np.ndarray, state: LARSState, param: np.ndarray, *, lr: float,
                momentum: float, weight_decay: float, trust_coefficient: float, eps: float,
                nesterov: bool, out: np.ndarray | None = None) -> tuple[np.ndarray, LARSState]:
    """LARS (You, Gitman & Ginsburg 2017, Algorithm 1), as optax's `lars` computes it.

        g' = g + λ·w                                     (weight decay, L2)
        u = lr · η·‖w‖/(‖g'‖ + ε) · g'                    (η: trust_coefficient; ratio 1 if a
                                                          norm is 0)
        v ← u + μ v;   w ← w − v        (Nesterov: w ← w − (u + μ v))

    The local learning rate η‖w‖/‖g'‖ makes every layer move by about lr·η of its own norm.
    Not elementwise: the norms are over the whole tensor. Arrays: shape S.
    Returns (delta, new_state).
    """
    check_grad(grad, param)
    delta = buffer(out, param)
    if weight_decay != 0.0:
        np.multiply(param, float(weight_decay), out=delta)
        delta += grad
    else:
        np.copyto(delta, grad)
    delta *= float(lr) * trust_ratio(param, delta, float(trust_coefficient), float(eps))
    velocity = state.momentum_buffer
    velocity *= float(momentum)
    velocity += delta
    if nesterov:
        delta += float(momentum) * velocity
        np.negative(delta, out=delta)
    else:
        np.negative(velocity, out=delta)
    return delta, LARSState(velocity)


LARS_SPEC = OptimizerSpec(
    name="LARS",
    summary="LARS: momentum SGD with a per-layer learning rate η‖w‖/‖g‖",
    formula="u = lr·η‖w‖/(‖g + λw‖ + ε)·(g + λw);  v = u + μv;  w −= v",
    paper="You, Gitman & Ginsburg 2017, Large Batch Training of Convolutional Networks, "
          "arXiv:1708.03888",
    year=2017,
    state=LARSState,
    init=lars_init,
    update=lars_update,
    options=(
        lr_option(1.0, "global learning rate (each layer then moves about lr·η of its norm)"),
        Option("momentum", 0.9, number("momentum value"), "μ"),
        Option("weight_decay", 0.0, number("weight_decay value"), "L2: g' = g + λ·w"),
        Option("trust_coefficient", 1e-3, number("trust_coefficient value"),
               "η of the local learning rate"),
        Option("eps", 0.0, number("epsilon value"), "added to ‖g'‖"),
        Option("nesterov", False, flag("nesterov"), "Nesterov momentum"),
    ),
    elementwise=False,
    study_lr=1.0,
    family="trust-ratio",
    conventions="optax's lars: weight decay before the trust ratio, the learning rate inside "
                "the momentum buffer (v = lr·u + μv), trust_coefficient 0.001.",
)
