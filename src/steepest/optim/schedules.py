"""Learning-rate schedules: pure closed-form functions of the step number, one per schedule.

Each function returns the learning rate (a Python float) at step `t` (0 for the first step) from the
base learning rate and the schedule's hyperparameters; nothing is remembered between calls. The
scheduler objects in `steepest.optim.lr_scheduler` call these and write the value into an
optimizer's param groups. The forms and their PyTorch counterparts:

    step_lr            η0 · γ^⌊t / step_size⌋                      StepLR (the lectures' step decay)
    multi_step_lr      η0 · γ^(number of milestones <= t)           MultiStepLR
    exponential_lr     η0 · γ^t                                     ExponentialLR
    exponential_decay  α0 · e^(−k t)                                lectures' exponential decay
    inverse_time_decay α0 / (1 + k t)                               lectures' 1/t decay
    constant_lr        η0 · factor for t < total_iters, then η0     ConstantLR
    linear_lr          η0 · (s + (e − s) · min(t, T) / T)           LinearLR (warm-up)
    polynomial_lr      η0 · (1 − min(t, T) / T)^power               PolynomialLR
    cosine_annealing   η_min + (η0 − η_min) · (1 + cos(π t / T_max)) / 2      CosineAnnealingLR
    cosine_annealing_warm_restarts   the same within each SGDR cycle     CosineAnnealingWarmRestarts
    one_cycle          start → peak → end, cosine or linear pieces  OneCycleLR (lr and momentum)
    cyclic_lr          triangle waves between base and max          CyclicLR

The arithmetic follows PyTorch's closed forms term by term, so the values agree with
`torch.optim.lr_scheduler` to the last bits or within rounding of its recursive forms.
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "constant_lr",
    "cosine_annealing",
    "cosine_annealing_warm_restarts",
    "cyclic_lr",
    "cyclic_position",
    "cyclic_scale",
    "exponential_decay",
    "exponential_lr",
    "inverse_time_decay",
    "linear_lr",
    "multi_step_lr",
    "one_cycle",
    "one_cycle_phase_ends",
    "polynomial_lr",
    "step_lr",
    "warm_restart_cycle",
]

CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


# ---------------------------------------------------------------------------- validation helpers
# The scheduler classes call these too, with their own name as `owner`, so that a bad value is
# reported once, in the same words, whichever API received it.
def check_real(owner: str, name: str, value: Any, *, low: float | None = None,
               low_inclusive: bool = True, high: float | None = None,
               high_inclusive: bool = True) -> None:
    """Raise TypeError unless `value` is a real number, ValueError unless it lies in the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    ok = math.isfinite(value)
    if low is not None:
        ok = ok and (value >= low if low_inclusive else value > low)
    if high is not None:
        ok = ok and (value <= high if high_inclusive else value < high)
    if not ok:  # NaN fails every comparison, so it lands here too
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{owner}: {name} must be in {left}{lo}, {hi}{right}, got {value!r}")


def check_int(owner: str, name: str, value: Any, *, low: int = 1) -> None:
    """Raise TypeError unless `value` is an int (not a bool), ValueError unless it is >= low."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}, got {value!r}")


def check_milestones(owner: str, milestones: Any, *, low: int = 0) -> list[int]:
    """Return `milestones` as a list after checking it is strictly increasing integers >= low."""
    try:
        values = list(milestones)
    except TypeError:
        raise TypeError(
            f"{owner}: milestones must be a list of integers, got {milestones!r}"
        ) from None
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(
                f"{owner}: milestones must be integers >= {low}, got {value!r} in {values}"
            )
    for before, after in zip(values, values[1:], strict=False):
        if after <= before:
            raise ValueError(
                f"{owner}: milestones must be strictly increasing, got {values} "
                f"({after} follows {before})"
            )
    return [int(value) for value in values]


def check_choice(owner: str, name: str, value: Any, choices: Sequence[str]) -> None:
    """Raise ValueError unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {list(choices)}, got {value!r}")


def _check_step(owner: str, step: Any, *, integer: bool = True) -> None:
    if integer:
        check_int(owner, "step", step, low=0)
    else:
        check_real(owner, "step", step, low=0.0)


# ---------------------------------------------------------------------------- decays
def step_lr(step: int, base_lr: float, step_size: int, gamma: float = 0.1) -> float:
    """Step decay: η_t = η0 · γ^⌊t / step_size⌋ (the lectures' "halve it every few epochs").

    step: t >= 0; base_lr: η0; step_size: epochs between decays (int >= 1); gamma: factor > 0.
    """
    _check_step("step_lr", step)
    check_int("step_lr", "step_size", step_size)
    check_real("step_lr", "gamma", gamma, low=0.0, low_inclusive=False)
    return base_lr * gamma ** (step // step_size)


def multi_step_lr(step: int, base_lr: float, milestones: Sequence[int],
                  gamma: float = 0.1) -> float:
    """η_t = η0 · γ^k, k = how many milestones are <= t (e.g. ×0.1 at epochs 30, 60 and 90).

    milestones: strictly increasing integers >= 0; gamma: factor > 0.
    """
    _check_step("multi_step_lr", step)
    milestones = check_milestones("multi_step_lr", milestones)
    check_real("multi_step_lr", "gamma", gamma, low=0.0, low_inclusive=False)
    return base_lr * gamma ** bisect_right(milestones, step)


def exponential_lr(step: int, base_lr: float, gamma: float) -> float:
    """Discrete exponential decay η_t = η0 · γ^t (PyTorch's ExponentialLR); gamma > 0."""
    _check_step("exponential_lr", step)
    check_real("exponential_lr", "gamma", gamma, low=0.0, low_inclusive=False)
    return base_lr * gamma**step


def exponential_decay(t: float, lr0: float, k: float) -> float:
    """The lectures' exponential decay α = α0 · e^(−k t); t >= 0 may be fractional, k >= 0.

    Equal to `exponential_lr` with γ = e^(−k); k is the decay rate per step.
    """
    _check_step("exponential_decay", t, integer=False)
    check_real("exponential_decay", "k", k, low=0.0)
    return lr0 * math.exp(-k * t)


def inverse_time_decay(t: float, lr0: float, k: float) -> float:
    """The lectures' 1/t decay α = α0 / (1 + k t); t >= 0 may be fractional, k >= 0."""
    _check_step("inverse_time_decay", t, integer=False)
    check_real("inverse_time_decay", "k", k, low=0.0)
    return lr0 / (1.0 + k * t)


def constant_lr(step: int, base_lr: float, factor: float = 1.0 / 3,
                total_iters: int = 5) -> float:
    """η0 · factor for the first `total_iters` steps (t < total_iters), then η0.

    factor in (0, 1]; total_iters: int >= 1.
    """
    _check_step("constant_lr", step)
    check_real("constant_lr", "factor", factor, low=0.0, low_inclusive=False, high=1.0)
    check_int("constant_lr", "total_iters", total_iters)
    return base_lr * (factor + (step >= total_iters) * (1 - factor))


def linear_lr(step: int, base_lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
              total_iters: int = 5) -> float:
    """Linear warm-up (or decay): η0 · (s + (e − s) · min(t, T) / T), s=start, e=end, T=total_iters.

    start_factor in (0, 1]; end_factor in [0, 1]; total_iters: int >= 1.
    """
    _check_step("linear_lr", step)
    check_real("linear_lr", "start_factor", start_factor, low=0.0, low_inclusive=False, high=1.0)
    check_real("linear_lr", "end_factor", end_factor, low=0.0, high=1.0)
    check_int("linear_lr", "total_iters", total_iters)
    return base_lr * (
        start_factor + (end_factor - start_factor) * min(total_iters, step) / total_iters
    )


def polynomial_lr(step: int, base_lr: float, total_iters: int = 5, power: float = 1.0) -> float:
    """Polynomial decay to zero: η0 · (1 − min(t, T) / T)^power; total_iters T >= 1, power >= 0."""
    _check_step("polynomial_lr", step)
    check_int("polynomial_lr", "total_iters", total_iters)
    check_real("polynomial_lr", "power", power, low=0.0)
    return base_lr * (1.0 - min(total_iters, step) / total_iters) ** power


# ---------------------------------------------------------------------------- cosine schedules
def cosine_annealing(step: float, base_lr: float, T_max: float, eta_min: float = 0.0) -> float:
    """SGDR's cosine (Loshchilov & Hutter, 2017) without restarts:

        η_t = η_min + (η0 − η_min) · (1 + cos(π t / T_max)) / 2

    Past T_max the curve continues as the cosine does: back up to η0 at 2·T_max, and so on
    (PyTorch's recursive CosineAnnealingLR does the same). T_max > 0; eta_min >= 0.
    """
    _check_step("cosine_annealing", step, integer=False)
    check_real("cosine_annealing", "T_max", T_max, low=0.0, low_inclusive=False)
    check_real("cosine_annealing", "eta_min", eta_min, low=0.0)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2


def warm_restart_cycle(epoch: float, T_0: int, T_mult: int = 1) -> tuple[float, int]:
    """Where `epoch` lies in SGDR's cycles: returns (T_cur, T_i).

    Cycle i (from 0) lasts T_i = T_0 · T_mult^i epochs; T_cur is the (possibly fractional) number
    of epochs since the last restart. Cycle starts are found with integer arithmetic; PyTorch
    uses a floating-point logarithm, which can misplace an epoch that falls exactly on a restart
    when T_mult > 1 (e.g. T_mult=10, epoch=111·T_0 gives log10(1000) = 2.9999999999999996).
    """
    _check_step("warm_restart_cycle", epoch, integer=False)
    check_int("warm_restart_cycle", "T_0", T_0)
    check_int("warm_restart_cycle", "T_mult", T_mult)
    if T_mult == 1:
        return epoch % T_0, T_0
    start, length = 0, T_0
    while epoch >= start + length:  # the cycles grow geometrically: a few dozen passes at most
        start += length
        length *= T_mult
    return epoch - start, length


def cosine_annealing_warm_restarts(epoch: float, base_lr: float, T_0: int, T_mult: int = 1,
                                   eta_min: float = 0.0) -> float:
    """SGDR (Loshchilov & Hutter, 2017): η = η_min + (η0 − η_min) · (1 + cos(π T_cur / T_i)) / 2.

    (T_cur, T_i) = warm_restart_cycle(epoch, T_0, T_mult); the rate jumps back to η0 at every
    restart. epoch >= 0 may be fractional (e.g. epoch + batch / batches_per_epoch).
    """
    check_real("cosine_annealing_warm_restarts", "eta_min", eta_min, low=0.0)
    T_cur, T_i = warm_restart_cycle(epoch, T_0, T_mult)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


# ---------------------------------------------------------------------------- one cycle
def one_cycle_phase_ends(total_steps: int, pct_start: float = 0.3,
                         three_phase: bool = False) -> list[float]:
    """The last step of each phase of the 1cycle policy, as PyTorch's OneCycleLR places them.

    Two phases: [pct·N − 1, N − 1]; three phases: [pct·N − 1, 2·pct·N − 2, N − 1].
    """
    ends = [float(pct_start * total_steps) - 1]
    if three_phase:
        ends.append(float(2 * pct_start * total_steps) - 2)
    ends.append(float(total_steps - 1))
    return ends


def _anneal(start: float, end: float, pct: float, anneal_strategy: str) -> float:
    if anneal_strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def one_cycle(step: int, total_steps: int, start: float, peak: float, end: float,
              pct_start: float = 0.3, anneal_strategy: str = "cos",
              three_phase: bool = False) -> float:
    """The 1cycle policy (Smith & Topin, 2018) at `step`, as PyTorch's OneCycleLR computes it.

    Two phases (fastai's form): start → peak over the first pct_start of the steps, then
    peak → end. Three phases (the paper's form): start → peak → start symmetrically, then
    start → end. Each piece is a half cosine ("cos") or a straight line ("linear").
    For the learning rate: start = max_lr / div_factor, peak = max_lr,
    end = start / final_div_factor. For momentum: start = max_momentum, peak = base_momentum,
    end = max_momentum (momentum moves opposite to the learning rate).
    step: 0 <= step <= total_steps (PyTorch allows one step past the last one; the last piece
    is then extrapolated).
    """
    owner = "one_cycle"
    check_int(owner, "total_steps", total_steps)
    check_int(owner, "step", step, low=0)
    if step > total_steps:
        raise ValueError(
            f"{owner}: step {step} is past the end of the cycle (total_steps={total_steps})"
        )
    check_real(owner, "pct_start", pct_start, low=0.0, high=1.0)
    check_choice(owner, "anneal_strategy", anneal_strategy, ("cos", "linear"))
    ends = one_cycle_phase_ends(total_steps, pct_start, three_phase)
    # the value each phase starts from and goes to: start→peak, [peak→start,] then →end
    if three_phase:
        targets = [(start, peak), (peak, start), (start, end)]
    else:
        targets = [(start, peak), (peak, end)]
    phase_start = 0.0
    for index, (phase_end, (value_from, value_to)) in enumerate(zip(ends, targets, strict=True)):
        if step <= phase_end or index == len(ends) - 1:
            if phase_end == phase_start:
                raise ValueError(
                    f"{owner}: phase {index + 1} of the cycle has no steps with "
                    f"total_steps={total_steps}, pct_start={pct_start}; change either"
                )
            pct = (step - phase_start) / (phase_end - phase_start)
            return _anneal(value_from, value_to, pct, anneal_strategy)
        phase_start = phase_end
    raise AssertionError("unreachable: the last phase always matches")


# ---------------------------------------------------------------------------- cyclic
def cyclic_position(step: int, step_size_up: float,
                    step_size_down: float | None = None) -> tuple[int, float]:
    """Where `step` lies on CLR's triangle wave (Smith, 2017): returns (cycle, height).

    cycle counts from 1; height rises linearly 0 → 1 over step_size_up steps and falls back to 0
    over step_size_down steps (default: step_size_up).
    """
    owner = "cyclic_position"
    check_int(owner, "step", step, low=0)
    check_real(owner, "step_size_up", step_size_up, low=0.0, low_inclusive=False)
    if step_size_down is not None:
        check_real(owner, "step_size_down", step_size_down, low=0.0, low_inclusive=False)
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    total_size = up + down
    step_ratio = up / total_size
    cycle = math.floor(1 + step / total_size)
    x = 1.0 + step / total_size - cycle
    if x <= step_ratio:
        return cycle, x / step_ratio
    return cycle, (x - 1) / (step_ratio - 1)


def cyclic_scale(step: int, cycle: int, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None,
                 scale_mode: str = "cycle") -> float:
    """How much of the amplitude a cycle keeps: 1 ("triangular"), 1/2^(cycle−1) ("triangular2"),
    γ^step ("exp_range"), or scale_fn(cycle) / scale_fn(step) by scale_mode when scale_fn is given.
    """
    if scale_fn is not None:
        return scale_fn(cycle if scale_mode == "cycle" else step)
    if mode == "triangular":
        return 1.0
    if mode == "triangular2":
        return 1 / (2.0 ** (cycle - 1))
    if mode == "exp_range":
        return gamma**step
    raise ValueError(f"cyclic_scale: mode must be one of {list(CYCLIC_MODES)}, got {mode!r}")


def cyclic_lr(step: int, base_lr: float, max_lr: float, step_size_up: float = 2000,
              step_size_down: float | None = None, mode: str = "triangular", gamma: float = 1.0,
              scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle") -> float:
    """Cyclical learning rate: base_lr + (max_lr − base_lr) · height · scale (PyTorch's CyclicLR).

    (cycle, height) = cyclic_position(step, ...); scale = cyclic_scale(step, cycle, ...).
    """
    check_choice("cyclic_lr", "scale_mode", scale_mode, ("cycle", "iterations"))
    cycle, height = cyclic_position(step, step_size_up, step_size_down)
    scale = cyclic_scale(step, cycle, mode, gamma, scale_fn, scale_mode)
    return base_lr + (max_lr - base_lr) * height * scale
