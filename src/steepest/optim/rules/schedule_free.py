"""Schedule-free SGD and AdamW: no learning-rate schedule, gradients at an interpolation y of
the SGD iterate z and its running average x, which is what gets evaluated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from steepest.optim.rules._common import buffer, check_grad, ema_square_, lerp_, lr_option
from steepest.optim.spec import OptimizerSpec, Option, Preset, Swap, betas, integer, number

__all__ = [
    "ADAMW_SCHEDULE_FREE_SPEC", "AdamWScheduleFreeState", "SGD_SCHEDULE_FREE_SPEC",
    "SGDScheduleFreeState", "adamw_schedule_free_init", "adamw_schedule_free_update",
    "sgd_schedule_free_init", "sgd_schedule_free_update",
]


class SGDScheduleFreeState(NamedTuple):
    """t, the largest (warmed-up) learning rate so far, the sum of the averaging weights,
    and z, the plain SGD iterate (the parameter itself holds y while training)."""

    step: int
    lr_max: float
    weight_sum: float
    z: np.ndarray


class AdamWScheduleFreeState(NamedTuple):
    """As SGD's, and Adam's second moment v."""

    step: int
    lr_max: float
    weight_sum: float
    z: np.ndarray
    exp_avg_sq: np.ndarray


def sgd_schedule_free_init(param: np.ndarray) -> SGDScheduleFreeState:
    """z = x = y = the parameter; no weight yet."""
    return SGDScheduleFreeState(0, -1.0, 0.0, param.copy())


def adamw_schedule_free_init(param: np.ndarray) -> AdamWScheduleFreeState:
    """z = x = y = the parameter, v = 0; no weight yet."""
    return AdamWScheduleFreeState(0, -1.0, 0.0, param.copy(), np.zeros_like(param))


def _schedule(step: int, lr: float, lr_max: float, weight_sum: float, warmup_steps: int,
              r: float, weight_lr_power: float) -> tuple[float, float, float, float]:
    """(lr_t, lr_max, weight_sum, c): the warmed-up rate and the averaging weight
    c = w_t / Σw,  w_t = (t+1)^r · lr_max^weight_lr_power."""
    lr_t = lr * ((step + 1) / warmup_steps if step < warmup_steps else 1.0)
    lr_max = max(lr_t, lr_max)
    weight = (step + 1) ** r * lr_max**weight_lr_power
    weight_sum += weight
    c = weight / weight_sum if weight_sum != 0.0 else 0.0
    return lr_t, lr_max, weight_sum, c


def _step_y_and_z(direction: np.ndarray, param: np.ndarray, z: np.ndarray, lr_t: float,
                  c: float, beta: float, weight_decay: float, delta: np.ndarray) -> None:
    """delta = c·(z − y) + lr_t·(β(1 − c) − 1)·d, then z ← z − lr_t·d, with d = direction + λ·y
    (the parameter holds y). Moving y this way keeps y = (1 − β)z + βx without storing x."""
    if weight_decay != 0.0:
        direction += weight_decay * param
    np.subtract(z, param, out=delta)
    delta *= c
    delta += (lr_t * (beta * (1.0 - c) - 1.0)) * direction
    z -= lr_t * direction


def sgd_schedule_free_update(grad: np.ndarray, state: SGDScheduleFreeState, param: np.ndarray,
                             *, lr: float, momentum: float, weight_decay: float,
                             warmup_steps: int, r: float, weight_lr_power: float,
                             out: np.ndarray | None = None
                             ) -> tuple[np.ndarray, SGDScheduleFreeState]:
    """Schedule-free SGD (Defazio et al. 2024, Algorithm 1), as the authors' code computes it.

        y = (1 − β) z + β x                    (the parameter while training; β = momentum)
        z ← z − γ_t ∇f(y)                      (plain SGD; γ_t: lr warmed up linearly)
        x ← (1 − c) x + c z,   c = w_t/Σw,  w_t = (t+1)^r·max_{s≤t} γ_s^weight_lr_power

    The average x is what to evaluate (`optimizer.eval()` moves the parameter there); no
    learning-rate decay is needed. g = grad + λ·y. Arrays: shape S. Returns (delta, state).
    """
    check_grad(grad, param)
    delta = buffer(out, param)
    lr_t, lr_max, weight_sum, c = _schedule(state.step, float(lr), state.lr_max,
                                            state.weight_sum, int(warmup_steps), float(r),
                                            float(weight_lr_power))
    direction = grad.copy() if weight_decay != 0.0 else grad
    _step_y_and_z(direction, param, state.z, lr_t, c, float(momentum), float(weight_decay),
                  delta)
    return delta, SGDScheduleFreeState(state.step + 1, lr_max, weight_sum, state.z)


def adamw_schedule_free_update(grad: np.ndarray, state: AdamWScheduleFreeState,
                               param: np.ndarray, *, lr: float, betas: tuple[float, float],
                               eps: float, weight_decay: float, warmup_steps: int, r: float,
                               weight_lr_power: float, out: np.ndarray | None = None
                               ) -> tuple[np.ndarray, AdamWScheduleFreeState]:
    """Schedule-free AdamW (Defazio et al. 2024, Algorithm 1 with Adam's preconditioner), as
    the authors' code computes it: schedule-free SGD on the direction

        v ← β₂ v + (1 − β₂) g²;   d = g / (√(v / (1 − β₂ᵗ)) + ε) + λ·y

    with β = β₁ for the interpolation y = (1 − β₁) z + β₁ x (no first moment: the averaging
    plays its part). Arrays: shape S. Returns (delta, new_state).
    """
    check_grad(grad, param)
    beta1, beta2 = float(betas[0]), float(betas[1])
    delta = buffer(out, param)
    lr_t, lr_max, weight_sum, c = _schedule(state.step, float(lr), state.lr_max,
                                            state.weight_sum, int(warmup_steps), float(r),
                                            float(weight_lr_power))
    exp_avg_sq = state.exp_avg_sq
    ema_square_(exp_avg_sq, grad, beta2, delta)
    direction = np.divide(exp_avg_sq, 1.0 - beta2 ** (state.step + 1),
                          out=np.empty_like(exp_avg_sq))
    np.sqrt(direction, out=direction)
    direction += float(eps)
    np.divide(grad, direction, out=direction)
    _step_y_and_z(direction, param, state.z, lr_t, c, beta1, float(weight_decay), delta)
    return delta, AdamWScheduleFreeState(state.step + 1, lr_max, weight_sum, state.z,
                                         exp_avg_sq)


# ---------------------------------------------------------------------------- train / eval
def _to_eval(beta: float, param: np.ndarray, z: np.ndarray) -> None:
    """y -> x = y + (1 − 1/β)(z − y)."""
    lerp_(param, z, 1.0 - 1.0 / beta, np.empty_like(param))


def _to_train(beta: float, param: np.ndarray, z: np.ndarray) -> None:
    """x -> y = x + (1 − β)(z − x)."""
    lerp_(param, z, 1.0 - beta, np.empty_like(param))


SGD_SWAP = Swap(
    to_eval=lambda param, state, *, momentum, **_: _to_eval(momentum, param, state.z),
    to_train=lambda param, state, *, momentum, **_: _to_train(momentum, param, state.z))
ADAMW_SWAP = Swap(
    to_eval=lambda param, state, *, betas, **_: _to_eval(betas[0], param, state.z),
    to_train=lambda param, state, *, betas, **_: _to_train(betas[0], param, state.z))


def _check_sgd(options: Mapping[str, Any]) -> None:
    if not 0.0 < options["momentum"] < 1.0:
        raise ValueError(f"Momentum must be between 0 and 1 exclusive: {options['momentum']}")


def _check_adamw(options: Mapping[str, Any]) -> None:
    if options["betas"][0] == 0.0:
        raise ValueError("Invalid beta parameter at index 0: 0.0 (must be > 0: x = y/β₁ − ...)")


def _options(lr: float, *first: Option) -> tuple[Option, ...]:
    return (
        lr_option(lr, "learning rate γ (peak, after the warm-up)"),
        *first,
        Option("weight_decay", 0.0, number("weight_decay value"),
               "λ, added to the direction at y"),
        Option("warmup_steps", 0, integer("warmup_steps"), "steps of linear warm-up"),
        Option("r", 0.0, number("r value"), "polynomial weighting (t+1)^r of the average"),
        Option("weight_lr_power", 2.0, number("weight_lr_power value"),
               "average weights ∝ lr_max^power (during warm-up)"),
    )


_PAPER = ("Defazio et al. 2024, The Road Less Scheduled, NeurIPS, arXiv:2405.15682")
_CONVENTIONS = ("The authors' code (facebookresearch/schedule_free): weight decay at y, "
                "warm-up and averaging weights as there; the step count, lr_max and the "
                "weight sum are kept per parameter (the same for every parameter stepped "
                "together) instead of per group, and the optimizer starts in train mode "
                "(there, .train() must be called first). Call optimizer.eval() before "
                "evaluating or saving the weights (the Trainer does) and optimizer.train() "
                "before stepping again.")

SGD_SCHEDULE_FREE_SPEC = OptimizerSpec(
    name="SGDScheduleFree",
    summary="Schedule-free SGD: no lr decay, the average of the iterates evaluated",
    formula="y = (1−β)z + βx;  z −= γ∇f(y);  x = (1−c)x + cz, c = w_t/Σw",
    paper=_PAPER,
    year=2024,
    state=SGDScheduleFreeState,
    init=sgd_schedule_free_init,
    update=sgd_schedule_free_update,
    options=_options(1.0, Option("momentum", 0.9, number("momentum value"),
                                 "β of the interpolation y = (1 − β)z + βx, in (0, 1)")),
    elementwise=True,
    study_lr=1.0,
    family="gd",
    presets=(Preset("sgd-schedulefree"),),
    check_group=_check_sgd,
    swap=SGD_SWAP,
    conventions=_CONVENTIONS,
)

ADAMW_SCHEDULE_FREE_SPEC = OptimizerSpec(
    name="AdamWScheduleFree",
    summary="Schedule-free AdamW: schedule-free SGD on Adam's preconditioned gradient",
    formula="d = g/(√v̂ + ε) + λy;  y = (1−β₁)z + β₁x;  z −= γd;  x = (1−c)x + cz",
    paper=_PAPER,
    year=2024,
    state=AdamWScheduleFreeState,
    init=adamw_schedule_free_init,
    update=adamw_schedule_free_update,
    options=_options(2.5e-3,
                     Option("betas", (0.9, 0.999), betas(),
                            "(β₁, β₂): the interpolation's β and the decay of v"),
                     Option("eps", 1e-8, number("epsilon value"), "added to √v̂")),
    elementwise=True,
    study_lr=0.01,
    presets=(Preset("adamw-schedulefree"),),
    check_group=_check_adamw,
    swap=ADAMW_SWAP,
    conventions=_CONVENTIONS,
)
