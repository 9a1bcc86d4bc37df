"""Rprop: a step size per coordinate that grows while the gradient keeps its sign."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from steepest.optim.rules._common import MAXIMIZE, buffer, effective_grad, lr_option
from steepest.optim.spec import OptimizerSpec, Option, pair

__all__ = ["RPROP_SPEC", "RpropState", "rprop_init", "rprop_update"]


class RpropState(NamedTuple):
    """Rprop's state: t, the previous (kept) gradient and the step size of every coordinate."""

    step: int
    prev: np.ndarray
    step_size: np.ndarray


def rprop_init(param: np.ndarray, lr: float) -> RpropState:
    """t = 0, previous gradient 0, every step size = lr (lr is used only here)."""
    return RpropState(0, np.zeros_like(param), np.full_like(param, float(lr)))


def rprop_update(grad: np.ndarray, state: RpropState, param: np.ndarray, *,
                 etas: tuple[float, float], step_sizes: tuple[float, float], maximize: bool,
                 out: np.ndarray | None = None) -> tuple[np.ndarray, RpropState]:
    """Rprop (Riedmiller & Braun 1993), as PyTorch computes it (Rprop without backtracking,
    the "Rprop−" of Igel & Hüsken).  Arrays: shape S.

        s = sign(g · g_prev)
        Δ ← clamp(Δ · (η₊ if s > 0, η₋ if s < 0, 1 if s = 0), Δ_min, Δ_max)
        where s < 0: g ← 0        (the sign flipped: no step, and no comparison next time)
        w ← w − sign(g) · Δ;   g_prev ← g

    Only the gradient's sign is used, so the step does not depend on its size. It suits
    full-batch training (mini-batch noise flips signs). g = grad (negated when maximize).
    Returns (delta, new_state).
    """
    eta_minus, eta_plus = float(etas[0]), float(etas[1])
    delta = buffer(out, param)
    g = effective_grad(grad, param, 0.0, maximize)
    prev, step_size = state.prev, state.step_size
    np.multiply(g, prev, out=delta)
    flipped = delta < 0
    factor = np.where(delta > 0, eta_plus, np.where(flipped, eta_minus, 1.0)).astype(
        param.dtype, copy=False)
    step_size *= factor
    np.clip(step_size, float(step_sizes[0]), float(step_sizes[1]), out=step_size)
    np.copyto(prev, g)
    prev[flipped] = 0
    np.sign(prev, out=delta)
    delta *= step_size
    np.negative(delta, out=delta)
    return delta, RpropState(state.step + 1, prev, step_size)


def _check(options: Mapping[str, Any]) -> None:
    eta_minus, eta_plus = options["etas"]
    if not 0.0 < eta_minus < 1.0 < eta_plus:
        raise ValueError(f"Invalid eta values: {eta_minus}, {eta_plus} (must be "
                         f"0 < etaminus < 1 < etaplus)")
    low, high = options["step_sizes"]
    if not 0.0 <= low <= high:
        raise ValueError(f"Invalid step_sizes: {low}, {high} (must be 0 <= min <= max)")


RPROP_SPEC = OptimizerSpec(
    name="Rprop",
    summary="Rprop: sign-based steps whose size adapts per coordinate",
    formula="Δ ← clamp(Δ·(η₊ if g·g_prev > 0, η₋ if < 0, 1), Δ_min, Δ_max);  w −= sign(g)·Δ",
    paper="Riedmiller & Braun 1993, A Direct Adaptive Method for Faster Backpropagation "
          "Learning: the RPROP Algorithm, IEEE ICNN",
    year=1993,
    state=RpropState,
    init=rprop_init,
    update=rprop_update,
    options=(
        lr_option(1e-2, "the initial step size of every coordinate"),
        Option("etas", (0.5, 1.2), pair("etas"), "(η₋, η₊): step-size factors on a sign "
               "change and on the same sign"),
        Option("step_sizes", (1e-6, 50.0), pair("step_sizes"), "(Δ_min, Δ_max): bounds of the "
               "step sizes"),
        MAXIMIZE,
    ),
    elementwise=True,
    study_lr=0.01,
    check_group=_check,
    conventions="PyTorch's: a coordinate whose gradient changed sign takes no step and "
                "forgets its gradient (no backtracking).",
)
