"""SGD: plain gradient descent, PyTorch's momentum and Nesterov momentum, the lecture's form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from steepest.optim.rules._common import (
    MAXIMIZE,
    buffer,
    effective_grad,
    lr_option,
    weight_decay_option,
    zeros_if_none,
)
from steepest.optim.spec import OptimizerSpec, Option, Preset, choice, flag, number

__all__ = ["MOMENTUM_FORMS", "SGD_SPEC", "SGDState", "sgd_init", "sgd_update"]

MOMENTUM_FORMS = ("pytorch", "lecture")


class SGDState(NamedTuple):
    """SGD's state: the velocity (None until the first step, and always with momentum 0)."""

    momentum_buffer: np.ndarray | None = None


def sgd_init(param: np.ndarray) -> SGDState:
    """Empty state: PyTorch creates the momentum buffer at the first step (from the gradient)."""
    return SGDState(None)


def sgd_update(grad: np.ndarray, state: SGDState, param: np.ndarray, *, lr: float,
               momentum: float, dampening: float, weight_decay: float, nesterov: bool,
               maximize: bool, momentum_form: str, out: np.ndarray | None = None
               ) -> tuple[np.ndarray, SGDState]:
    """Gradient descent with optional momentum / Nesterov momentum.  All arrays: shape S.

    Plain (lecture 000/004):  w ← w − α ∇f(w),  i.e. delta = −lr·g.

    `momentum_form="pytorch"` (default; lecture 004's "SGD+Momentum" v = ρv + ∇f, x −= αv):
        v ← μ v + (1 − dampening) g      (v starts at the first g itself, undampened)
        w ← w − lr·v                     (Nesterov: w ← w − lr·(g + μ v))

    `momentum_form="lecture"` (lecture 001: v_t = γ v_{t−1} + η ∇L(w), w ← w − v_t; this is
    Sutskever et al. 2013 and Keras's form):
        v ← γ v + η g                    (v starts at 0, so the first v is η g)
        w ← w − v                        (Nesterov: w ← w − (γ v + η g), Keras's form)

    The two agree step for step while the learning rate is constant (the lecture's v is η times
    PyTorch's). They differ when lr changes: the lecture's v holds past gradients already scaled
    by the learning rates in force when they arrived, so a lr drop damps only new gradients and the
    velocity keeps its speed for a while; PyTorch multiplies the whole velocity by the new lr, so
    the step shrinks at once. `dampening` belongs to the PyTorch form only.

    g = grad (+ weight_decay·w, L2; negated first when maximize). Returns (delta, new_state).
    """
    lr = float(lr)
    momentum = float(momentum)
    delta = buffer(out, param)
    g = effective_grad(grad, param, float(weight_decay), maximize)
    velocity = state.momentum_buffer
    if momentum_form == "pytorch":
        if momentum == 0.0:
            np.multiply(g, -lr, out=delta)
            return delta, state
        if velocity is None:
            velocity = g.copy()
        else:
            velocity *= momentum
            if dampening == 0.0:
                velocity += g
            else:
                np.multiply(g, 1.0 - float(dampening), out=delta)
                velocity += delta
        if nesterov:
            np.multiply(velocity, momentum, out=delta)
            delta += g
            delta *= -lr
        else:
            np.multiply(velocity, -lr, out=delta)
        return delta, SGDState(velocity)
    if momentum_form == "lecture":
        if dampening != 0.0:
            raise ValueError(
                f"sgd_update: dampening={dampening} has no meaning in momentum_form='lecture' "
                f"(v = γv + ηg); use momentum_form='pytorch'"
            )
        velocity = zeros_if_none(velocity, param)
        np.multiply(g, lr, out=delta)  # η g, needed again for Nesterov
        velocity *= momentum
        velocity += delta
        if nesterov:
            delta += momentum * velocity
            np.negative(delta, out=delta)
        else:
            np.negative(velocity, out=delta)
        return delta, SGDState(velocity)
    raise ValueError(
        f"sgd_update: invalid momentum_form {momentum_form!r}; use one of {MOMENTUM_FORMS}"
    )


def _check(options: Mapping[str, Any]) -> None:
    if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
        raise ValueError(
            "Nesterov momentum requires a momentum and zero dampening "
            f"(got momentum={options['momentum']}, dampening={options['dampening']})"
        )
    if options["momentum_form"] == "lecture" and options["dampening"] != 0:
        raise ValueError(
            f"Invalid dampening value: {options['dampening']} (momentum_form='lecture' "
            f"has no dampening; use momentum_form='pytorch')"
        )


SGD_SPEC = OptimizerSpec(
    name="SGD",
    summary="Stochastic gradient descent, with heavy-ball or Nesterov momentum",
    formula="v = μv + g;  w −= lr·v  (Nesterov: w −= lr·(g + μv))",
    paper="Robbins & Monro 1951; momentum: Polyak 1964; Nesterov 1983, Sutskever et al. 2013",
    year=1951,
    state=SGDState,
    init=sgd_init,
    update=sgd_update,
    options=(
        lr_option(1e-3, "learning rate α"),
        Option("momentum", 0.0, number("momentum value"),
               "μ (PyTorch form) or γ (lecture form); 0: plain gradient descent"),
        Option("dampening", 0.0, number("dampening value", high=1.0),
               "new gradients enter the velocity times (1 − dampening) (PyTorch form)"),
        weight_decay_option(),
        Option("nesterov", False, flag("nesterov"),
               "Nesterov momentum (needs momentum > 0 and dampening 0)"),
        MAXIMIZE,
        Option("momentum_form", "pytorch", choice("momentum_form", MOMENTUM_FORMS),
               "'pytorch' (v = μv + g, w −= lr·v) or 'lecture' (v = γv + ηg, w −= v; "
               "Sutskever et al., Keras): the same path until lr changes", keyword_only=True),
    ),
    elementwise=True,
    study_lr=1.0,
    family="gd",
    presets=(
        Preset("sgd", {}, description="gradient descent: w -= lr·∇f"),
        Preset("momentum", {"momentum": 0.9}, study_lr=0.1, family="momentum",
               description="heavy ball: v = 0.9 v + ∇f, w -= lr·v"),
        Preset("nesterov", {"momentum": 0.9, "nesterov": True}, study_lr=0.1,
               family="momentum", description="Nesterov momentum 0.9 (PyTorch's form)"),
    ),
    check_group=_check,
    conventions="PyTorch's momentum: the buffer starts at the first gradient, and lr multiplies "
                "the whole velocity; momentum_form='lecture' keeps η inside it instead.",
)
