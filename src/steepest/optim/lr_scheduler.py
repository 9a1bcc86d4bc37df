"""Learning-rate schedulers: objects that write a schedule's value into an optimizer's param groups.

The API is PyTorch's `torch.optim.lr_scheduler`: build a scheduler on an optimizer, call `step()`
once per epoch (per batch for OneCycleLR and CyclicLR) after `optimizer.step()`, read
`get_last_lr()`, checkpoint with `state_dict()` / `load_state_dict()`. The trainer owns the order
of `optimizer.step()` and `scheduler.step()`; nothing here wraps or watches `optimizer.step`.
A scheduler touches only `optimizer.param_groups`, a list of dicts with "lr" (and "momentum" or
"betas" for the momentum that OneCycleLR and CyclicLR cycle), so any object shaped like that works.
As in PyTorch, the first scheduler built on an optimizer records each group's "initial_lr", the
base learning rate every schedule starts from, and building a scheduler applies its step-0 value.

Closed form, and where PyTorch's recursive form shows
-----------------------------------------------------
Every value comes from a closed-form function of the step in `steepest.optim.schedules`.
PyTorch computes most schedules recursively instead (new lr = current lr × the schedule's ratio
between this step and the last), which makes them "chainable". For a scheduler on its own the two
agree up to rounding (about 1e-14 relative after thousands of steps; the closed form does not
accumulate it). They differ when something else changes a group's lr between steps: another
scheduler in a ChainedScheduler, or a person setting group["lr"] by hand. To behave as PyTorch
does there, each chainable scheduler (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR,
ExponentialDecayLR, InverseTimeDecayLR, PolynomialLR, CosineAnnealingLR) checks, group by group,
whether the lr is still the value it wrote last: if so it writes the closed form; once it finds
another value, that group follows PyTorch's recursive rule from then on (rescaling whatever lr
it finds) until the scheduler is restarted by `step(epoch)` or by a SequentialLR milestone.
MultiplicativeLR is recursive by definition; LambdaLR, CosineAnnealingWarmRestarts, OneCycleLR and
CyclicLR always write their closed form, as PyTorch's do.

Deliberate differences from PyTorch 2.13
----------------------------------------
- Only last_epoch=-1 is accepted; resume with `load_state_dict` (PyTorch's last_epoch=k start is
  a step off for several schedulers).
- Arguments PyTorch accepts but that break the schedule raise ValueError: gamma <= 0, milestones
  not strictly increasing, total_iters < 1, ConstantLR factor 0 (PyTorch divides by it later),
  T_max <= 0, negative eta_min, OneCycleLR phases without steps (a ZeroDivisionError mid-run in
  PyTorch), and SequentialLR or ChainedScheduler inside a SequentialLR (PyTorch fails at the
  milestone). A OneCycleLR stepped past total_steps raises before advancing.
- `load_state_dict` also writes the restored learning rates (and cycled momentum) into the param
  groups, so resuming is right even when the optimizer's own state is not loaded.
- CosineAnnealingWarmRestarts finds restarts with integer arithmetic (`warm_restart_cycle`).
- CyclicLR's step 0 uses base_lr even when the groups already hold another "initial_lr".
- State dicts hold plain Python values (lists, numbers, strings), ready for JSON.
"""

from __future__ import annotations

import copy
import math
import numbers
import types
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from steepest.optim import schedules
from steepest.optim.schedules import check_choice, check_int, check_milestones, check_real

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialDecayLR",
    "ExponentialLR",
    "InverseTimeDecayLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


# ---------------------------------------------------------------------------- helpers
def _check_optimizer(owner: str, optimizer: Any) -> None:
    groups = getattr(optimizer, "param_groups", None)
    if (not isinstance(groups, list) or not groups
            or not all(isinstance(group, dict) and "lr" in group for group in groups)):
        raise TypeError(
            f"{owner}: expected an optimizer whose param_groups is a non-empty list of dicts "
            f"each holding an 'lr', got {type(optimizer).__name__}"
        )


def _check_last_epoch(owner: str, last_epoch: Any) -> None:
    if last_epoch != -1:
        raise ValueError(
            f"{owner}: last_epoch={last_epoch!r} is not supported; build the scheduler with "
            f"last_epoch=-1 and resume with scheduler.load_state_dict(state)"
        )


def _per_group(owner: str, name: str, value: Any, optimizer: Any) -> list[Any]:
    """One value per param group: a list/tuple of that length, or one value repeated."""
    count = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(
                f"{owner}: {name} must have one value per param group ({count}), "
                f"got {len(value)}: {value!r}"
            )
        return list(value)
    return [value] * count


def _lambdas(owner: str, lr_lambda: Any, optimizer: Any) -> list[Callable[[int], float]]:
    functions = _per_group(owner, "lr_lambda", lr_lambda, optimizer)
    for function in functions:
        if not callable(function):
            raise TypeError(f"{owner}: lr_lambda must be callable, got {function!r}")
    return functions


def _callable_state(function: Callable[..., Any] | None) -> dict[str, Any] | None:
    """What is saved of a user function: the attributes of a callable object, as PyTorch does
    (plain functions and lambdas have no state worth saving and may not be picklable)."""
    if function is None or isinstance(function, types.FunctionType):
        return None
    attributes = getattr(function, "__dict__", None)
    return copy.deepcopy(attributes) if isinstance(attributes, dict) else None


def _restore_callable(function: Callable[..., Any] | None, state: dict[str, Any] | None) -> None:
    if state is not None and function is not None:
        function.__dict__.update(copy.deepcopy(state))


def _momentum_key(owner: str, optimizer: Any) -> str:
    """'betas' (Adam-like: cycle beta1) or 'momentum' (SGD-like), as found in every group."""
    groups = optimizer.param_groups
    if all("betas" in group for group in groups):
        return "betas"
    if all("momentum" in group for group in groups):
        return "momentum"
    raise ValueError(
        f"{owner}: cycle_momentum=True needs 'momentum' or 'betas' in every param group of the "
        f"optimizer; pass cycle_momentum=False for this optimizer"
    )


def _write_momentum(optimizer: Any, key: str, values: Sequence[float]) -> None:
    for group, value in zip(optimizer.param_groups, values, strict=True):
        if key == "betas":
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value


def _metric_value(owner: str, metrics: Any) -> float:
    """A float from a number, a NumPy scalar/array of one element, or a one-element tensor."""
    if isinstance(metrics, numbers.Real):
        return float(metrics)
    # a steepest Tensor keeps its array in .data (a PyTorch tensor converts through NumPy)
    value = metrics.data if hasattr(metrics, "data") and not isinstance(metrics, np.ndarray) \
        else metrics
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(
            f"{owner}: metrics must be a single number, got an array of shape {array.shape}"
        )
    return float(array.reshape(()))


# ---------------------------------------------------------------------------- base classes
class LRScheduler:
    """Base of the schedulers: base learning rates, the step counter, writing lrs, state dicts.

    optimizer: an object whose `param_groups` is a list of dicts, each with "lr".
    Attributes: `base_lrs` (list of floats, one per param group: the groups' "initial_lr"),
    `last_epoch` (int, the index of the last step; 0 right after construction, which already
    applies the step-0 value). Subclasses give the closed form in `lr_at`.
    """

    # attributes that are not part of the saved state
    _NOT_STATE: tuple[str, ...] = ("optimizer",)

    # How a trainer drives a scheduler (the one protocol `train.Trainer` follows, for any
    # object with `step()`): call `step()` after every optimizer step (interval "step") or at
    # the end of every epoch ("epoch"), and, when `monitor` names a logged metric, pass its
    # value: `step(logs[monitor])`.
    interval = "step"
    monitor: str | None = None

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        owner = type(self).__name__
        _check_optimizer(owner, optimizer)
        _check_last_epoch(owner, last_epoch)
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = self._initial_base_lrs()
        self.last_epoch = -1
        self._last_lr = list(self.base_lrs)
        self._initial_step()

    def _initial_base_lrs(self) -> list[float]:
        return [group["initial_lr"] for group in self.optimizer.param_groups]

    def _initial_step(self) -> None:
        """Take step 0: construction does it, and SequentialLR again when it starts this one."""
        self.step()

    def lr_at(self, step: int) -> list[float]:
        """The learning rate of each param group at `step` (list of floats), in closed form."""
        raise TypeError(f"{type(self).__name__} has no closed form of the step")

    def step(self, epoch: int | None = None) -> None:
        """Advance one step and write the new learning rates into the param groups.

        Call it after `optimizer.step()`. epoch: jump to this step instead and write the
        closed-form value there (PyTorch's deprecated `step(epoch)`).
        """
        if epoch is None:
            self.last_epoch += 1
            lrs = self._next_lrs()
        else:
            check_int(type(self).__name__, "epoch", epoch, low=0)
            self.last_epoch = int(epoch)
            lrs = self._jump_lrs()
        self._apply(lrs)

    def _next_lrs(self) -> list[float]:
        return self.lr_at(self.last_epoch)

    def _jump_lrs(self) -> list[float]:
        return self.lr_at(self.last_epoch)

    def _apply(self, lrs: Sequence[float]) -> None:
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            raise ValueError(
                f"{type(self).__name__}: the optimizer has {len(groups)} param groups but the "
                f"scheduler was built for {len(lrs)}; build a new scheduler after "
                f"add_param_group"
            )
        for group, lr in zip(groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last step wrote, one float per param group (a copy)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, as plain Python values (the optimizer excluded)."""
        return {
            key: copy.deepcopy(value)
            for key, value in vars(self).items()
            if key not in self._NOT_STATE
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict()`, then write its learning rates into the param groups."""
        self._check_state_keys(state_dict)
        for key, value in state_dict.items():
            setattr(self, key, copy.deepcopy(value))
        self._restore_groups()

    def _check_state_keys(self, state_dict: Any) -> None:
        owner = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"{owner}.load_state_dict: expected a dict, got {state_dict!r}")
        expected, given = set(self.state_dict()), set(state_dict)
        if given != expected:
            raise ValueError(
                f"{owner}.load_state_dict: missing keys {sorted(expected - given)}, unexpected "
                f"keys {sorted(given - expected)}; is it the state of another scheduler?"
            )

    def _restore_groups(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self._last_lr,
                             strict=False):  # extra groups keep their lr
            group["lr"] = lr


class _ChainableLR(LRScheduler):
    """A schedule PyTorch computes recursively: closed form while the scheduler owns the lr,
    PyTorch's recursive rule on a group once something else has changed its lr (module doc)."""

    def _schedule(self, step: int, base_lr: float) -> float:
        raise NotImplementedError

    def lr_at(self, step: int) -> list[float]:
        return [self._schedule(step, base_lr) for base_lr in self.base_lrs]

    def _rescale(self, lr: float, base_lr: float, step: int) -> float:
        """PyTorch's recursive rule lr × m(t) / m(t−1), m being the schedule for a base lr of 1
        and m(−1) = 1 (step 0 scales whatever lr the group holds by m(0))."""
        previous = 1.0 if step == 0 else self._schedule(step - 1, 1.0)
        current = self._schedule(step, 1.0)
        if current == previous:
            return lr
        if previous == 0:
            raise ValueError(
                f"{type(self).__name__}: cannot rescale lr {lr} at step {step}: the schedule "
                f"was 0 at the step before"
            )
        return lr * (current / previous)

    def _initial_step(self) -> None:
        self._last_lr = list(self.base_lrs)  # before step 0 the lr is the base lr (m(−1) = 1)
        self._owned = [True] * len(self.base_lrs)
        super()._initial_step()

    def _next_lrs(self) -> list[float]:
        step = self.last_epoch
        lrs = []
        # strict=False: a group added since construction is reported by _apply
        pairs = zip(self.optimizer.param_groups, self.base_lrs, strict=False)
        for index, (group, base_lr) in enumerate(pairs):
            lr = group["lr"]
            if self._owned[index] and lr == self._last_lr[index]:
                lrs.append(self._schedule(step, base_lr))
            else:
                self._owned[index] = False
                lrs.append(self._rescale(lr, base_lr, step))
        return lrs

    def _jump_lrs(self) -> list[float]:
        self._owned = [True] * len(self.base_lrs)
        return self.lr_at(self.last_epoch)


class _LambdaStateMixin:
    """State dicts for schedulers holding user functions: functions are not saved, only the
    attributes of callable objects (PyTorch's rule)."""

    _NOT_STATE = ("optimizer", "lr_lambdas")
    lr_lambdas: list[Callable[[int], float]]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()  # type: ignore[misc]
        state["lr_lambdas"] = [_callable_state(function) for function in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._check_state_keys(state_dict)  # type: ignore[attr-defined]
        saved = state_dict["lr_lambdas"]
        if len(saved) != len(self.lr_lambdas):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: {len(saved)} saved lr_lambdas for "
                f"{len(self.lr_lambdas)} param groups"
            )
        for function, attributes in zip(self.lr_lambdas, saved, strict=True):
            _restore_callable(function, attributes)
        for key, value in state_dict.items():
            if key != "lr_lambdas":
                setattr(self, key, copy.deepcopy(value))
        self._restore_groups()  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- user functions
class LambdaLR(_LambdaStateMixin, LRScheduler):
    """lr_t = base_lr · lr_lambda(t) for each param group.

    lr_lambda: a function of the step (int) returning a factor, or a list of such functions, one
    per param group. Only callable objects' attributes are saved in state_dict.
    """

    def __init__(self, optimizer: Any, lr_lambda: Callable[[int], float] | Sequence[Callable],
                 last_epoch: int = -1) -> None:
        _check_optimizer("LambdaLR", optimizer)
        self.lr_lambdas = _lambdas("LambdaLR", lr_lambda, optimizer)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int) -> list[float]:
        pairs = zip(self.lr_lambdas, self.base_lrs, strict=True)
        return [base_lr * function(step) for function, base_lr in pairs]


class MultiplicativeLR(_LambdaStateMixin, LRScheduler):
    """lr_t = lr_{t−1} · lr_lambda(t) for t >= 1 (step 0 leaves the lr as it is).

    Recursive by definition: it multiplies whatever lr the group holds. lr_lambda: a function of
    the step (int) returning a factor, or one such function per param group.
    """

    def __init__(self, optimizer: Any, lr_lambda: Callable[[int], float] | Sequence[Callable],
                 last_epoch: int = -1) -> None:
        _check_optimizer("MultiplicativeLR", optimizer)
        self.lr_lambdas = _lambdas("MultiplicativeLR", lr_lambda, optimizer)
        super().__init__(optimizer, last_epoch)

    def _initial_step(self) -> None:
        self.last_epoch += 1
        self._apply([group["lr"] for group in self.optimizer.param_groups])

    def _next_lrs(self) -> list[float]:
        # strict=False: a group added since construction is reported by _apply
        pairs = zip(self.lr_lambdas, self.optimizer.param_groups, strict=False)
        return [group["lr"] * function(self.last_epoch) for function, group in pairs]

    _jump_lrs = _next_lrs


# ---------------------------------------------------------------------------- decays
class StepLR(_ChainableLR):
    """Step decay: lr_t = base_lr · gamma^⌊t / step_size⌋ (`schedules.step_lr`).

    step_size: steps between decays (int >= 1); gamma: factor > 0 (0.5 halves the lr).
    """

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        check_int("StepLR", "step_size", step_size)
        check_real("StepLR", "gamma", gamma, low=0.0, low_inclusive=False)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.step_lr(step, base_lr, self.step_size, self.gamma)


class MultiStepLR(_ChainableLR):
    """lr_t = base_lr · gamma^(number of milestones <= t) (`schedules.multi_step_lr`).

    milestones: strictly increasing steps >= 0 (e.g. [30, 60, 90]); gamma: factor > 0.
    """

    def __init__(self, optimizer: Any, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = check_milestones("MultiStepLR", milestones)
        check_real("MultiStepLR", "gamma", gamma, low=0.0, low_inclusive=False)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.multi_step_lr(step, base_lr, self.milestones, self.gamma)


class ConstantLR(_ChainableLR):
    """lr = base_lr · factor for the first total_iters steps, then base_lr (`constant_lr`).

    factor in (0, 1]; total_iters: int >= 1.
    """

    def __init__(self, optimizer: Any, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        check_real("ConstantLR", "factor", factor, low=0.0, low_inclusive=False, high=1.0)
        check_int("ConstantLR", "total_iters", total_iters)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.constant_lr(step, base_lr, self.factor, self.total_iters)


class LinearLR(_ChainableLR):
    """Linear warm-up: the factor on base_lr goes from start_factor to end_factor over
    total_iters steps, then stays (`schedules.linear_lr`).

    start_factor in (0, 1]; end_factor in [0, 1]; total_iters: int >= 1.
    """

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        check_real("LinearLR", "start_factor", start_factor, low=0.0, low_inclusive=False,
                   high=1.0)
        check_real("LinearLR", "end_factor", end_factor, low=0.0, high=1.0)
        check_int("LinearLR", "total_iters", total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.linear_lr(step, base_lr, self.start_factor, self.end_factor,
                                   self.total_iters)


class ExponentialLR(_ChainableLR):
    """lr_t = base_lr · gamma^t (`schedules.exponential_lr`); gamma > 0."""

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        check_real("ExponentialLR", "gamma", gamma, low=0.0, low_inclusive=False)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.exponential_lr(step, base_lr, self.gamma)


class ExponentialDecayLR(_ChainableLR):
    """The lectures' exponential decay α_t = α0 · e^(−k t) (`schedules.exponential_decay`).

    k >= 0: decay rate per step. The same schedule as ExponentialLR(gamma=e^(−k)); PyTorch has
    no scheduler taking k. Chainable like ExponentialLR (ratio e^(−k) per step).
    """

    def __init__(self, optimizer: Any, k: float, last_epoch: int = -1) -> None:
        check_real("ExponentialDecayLR", "k", k, low=0.0)
        self.k = k
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.exponential_decay(step, base_lr, self.k)


class InverseTimeDecayLR(_ChainableLR):
    """The lectures' 1/t decay α_t = α0 / (1 + k t) (`schedules.inverse_time_decay`); k >= 0.

    PyTorch has no such scheduler (LambdaLR(lambda t: 1 / (1 + k * t)) gives the same values
    alone); chainable with ratio (1 + k(t−1)) / (1 + k t) per step.
    """

    def __init__(self, optimizer: Any, k: float, last_epoch: int = -1) -> None:
        check_real("InverseTimeDecayLR", "k", k, low=0.0)
        self.k = k
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.inverse_time_decay(step, base_lr, self.k)


class PolynomialLR(_ChainableLR):
    """lr_t = base_lr · (1 − min(t, T) / T)^power, T = total_iters (`schedules.polynomial_lr`).

    total_iters: int >= 1; power >= 0.
    """

    def __init__(self, optimizer: Any, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        check_int("PolynomialLR", "total_iters", total_iters)
        check_real("PolynomialLR", "power", power, low=0.0)
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.polynomial_lr(step, base_lr, self.total_iters, self.power)


# ---------------------------------------------------------------------------- cosine
class CosineAnnealingLR(_ChainableLR):
    """lr_t = eta_min + (base_lr − eta_min) · (1 + cos(π t / T_max)) / 2 (SGDR without restarts).

    Past T_max it follows the cosine back up (period 2·T_max), as PyTorch's does. T_max > 0;
    eta_min >= 0. Chained after another change of the lr it follows PyTorch's recursion
    lr ← eta_min + (lr − eta_min) · (1 + cos(π t/T)) / (1 + cos(π (t−1)/T)).
    """

    def __init__(self, optimizer: Any, T_max: float, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        check_real("CosineAnnealingLR", "T_max", T_max, low=0.0, low_inclusive=False)
        check_real("CosineAnnealingLR", "eta_min", eta_min, low=0.0)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def _schedule(self, step: int, base_lr: float) -> float:
        return schedules.cosine_annealing(step, base_lr, self.T_max, self.eta_min)

    def _rescale(self, lr: float, base_lr: float, step: int) -> float:
        T_max, eta_min = self.T_max, self.eta_min
        if step == 0:
            return lr
        if (step - 1 - T_max) % (2 * T_max) == 0:
            # the step after a trough, where the ratio below would divide by 1 + cos(π) = 0
            return lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
        return ((1 + math.cos(math.pi * step / T_max))
                / (1 + math.cos(math.pi * (step - 1) / T_max)) * (lr - eta_min) + eta_min)


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017): cosine from base_lr to eta_min over T_i epochs, then a
    restart at base_lr; T_0 = first cycle length, T_i = T_0 · T_mult^i.

    `step()` advances one epoch; `step(epoch)` jumps to a real epoch >= 0, so that a training loop
    can call `step(epoch + batch / batches_per_epoch)` each batch; a later `step()` moves on one
    epoch from there. Attributes as PyTorch's: T_cur (epochs since the restart), T_i, last_epoch
    (⌊epoch⌋). T_0: int >= 1; T_mult: int >= 1; eta_min >= 0.
    """

    def __init__(self, optimizer: Any, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        owner = "CosineAnnealingWarmRestarts"
        check_int(owner, "T_0", T_0)
        check_int(owner, "T_mult", T_mult)
        check_real(owner, "eta_min", eta_min, low=0.0)
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur: float = -1
        self._epoch: float = -1
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: float) -> list[float]:
        return [
            schedules.cosine_annealing_warm_restarts(epoch, base_lr, self.T_0, self.T_mult,
                                                     self.eta_min)
            for base_lr in self.base_lrs
        ]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or jump to `epoch` (real, >= 0), and write the learning rates."""
        if epoch is None:
            epoch = 0 if self.last_epoch < 0 else self._epoch + 1
        else:
            check_real(type(self).__name__, "epoch", epoch, low=0.0)
        self._epoch = epoch
        self.T_cur, self.T_i = schedules.warm_restart_cycle(epoch, self.T_0, self.T_mult)
        self.last_epoch = math.floor(epoch)
        self._apply(self.lr_at(epoch))


# ---------------------------------------------------------------------------- cyclical
class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped once per batch (`schedules.one_cycle`).

    The lr rises from max_lr / div_factor to max_lr over the first pct_start of total_steps, then
    falls to (max_lr / div_factor) / final_div_factor; with three_phase=True it first falls back
    to the start value, then to the minimum. With cycle_momentum, momentum (or beta1 for an
    optimizer with "betas") moves the opposite way between max_momentum and base_momentum.
    As PyTorch does, each group receives "initial_lr", "max_lr", "min_lr" (and "max_momentum",
    "base_momentum"), and the schedule reads them from the group at every step.
    max_lr, base_momentum, max_momentum: a number or one per param group. total_steps, or
    epochs and steps_per_epoch (total_steps = epochs · steps_per_epoch). anneal_strategy: "cos"
    or "linear". `step()` may be called total_steps times; once more raises ValueError.
    """

    def __init__(self, optimizer: Any, max_lr: float | Sequence[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        owner = "OneCycleLR"
        _check_optimizer(owner, optimizer)
        _check_last_epoch(owner, last_epoch)
        if total_steps is not None:
            check_int(owner, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            check_int(owner, "epochs", epochs)
            check_int(owner, "steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(
                f"{owner}: give total_steps, or both epochs and steps_per_epoch (got "
                f"total_steps={total_steps}, epochs={epochs}, steps_per_epoch={steps_per_epoch})"
            )
        check_real(owner, "pct_start", pct_start, low=0.0, high=1.0)
        check_choice(owner, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        check_real(owner, "div_factor", div_factor, low=0.0, low_inclusive=False)
        check_real(owner, "final_div_factor", final_div_factor, low=0.0, low_inclusive=False)
        ends = schedules.one_cycle_phase_ends(total_steps, pct_start, three_phase)
        # a phase of no steps that some step would land in (the first at step 0, the last at
        # step total_steps) would divide by zero there
        if ends[0] == 0 or ends[-2] == ends[-1]:
            raise ValueError(
                f"{owner}: with total_steps={total_steps} and pct_start={pct_start} a phase of "
                f"the cycle has no steps; change pct_start or total_steps"
            )
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.three_phase = bool(three_phase)
        max_lrs = _per_group(owner, "max_lr", max_lr, optimizer)
        for value in max_lrs:
            check_real(owner, "max_lr", value, low=0.0, low_inclusive=False)
        for group, peak in zip(optimizer.param_groups, max_lrs, strict=True):
            group["initial_lr"] = peak / div_factor
            group["max_lr"] = peak
            group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self._momentum_key = _momentum_key(owner, optimizer)
            self.use_beta1 = self._momentum_key == "betas"
            highs = _per_group(owner, "max_momentum", max_momentum, optimizer)
            lows = _per_group(owner, "base_momentum", base_momentum, optimizer)
            for value in highs + lows:
                check_real(owner, "momentum", value, low=0.0)
            for group, high, low in zip(optimizer.param_groups, highs, lows, strict=True):
                group["max_momentum"] = high
                group["base_momentum"] = low
            _write_momentum(optimizer, self._momentum_key, highs)
        super().__init__(optimizer, last_epoch)

    def _value(self, step: int, start: float, peak: float, end: float) -> float:
        return schedules.one_cycle(step, self.total_steps, start, peak, end, self.pct_start,
                                   self.anneal_strategy, self.three_phase)

    def lr_at(self, step: int) -> list[float]:
        return [self._value(step, group["initial_lr"], group["max_lr"], group["min_lr"])
                for group in self.optimizer.param_groups]

    def momentum_at(self, step: int) -> list[float]:
        """Momentum (or beta1) of each param group at `step`: max → base → max."""
        return [self._value(step, group["max_momentum"], group["base_momentum"],
                            group["max_momentum"])
                for group in self.optimizer.param_groups]

    def step(self, epoch: int | None = None) -> None:
        target = self.last_epoch + 1 if epoch is None else epoch
        if target > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {target} times; total_steps is {self.total_steps}"
            )
        super().step(epoch)

    def _apply(self, lrs: Sequence[float]) -> None:
        super()._apply(lrs)
        if self.cycle_momentum:
            _write_momentum(self.optimizer, self._momentum_key, self.momentum_at(self.last_epoch))

    def _restore_groups(self) -> None:
        super()._restore_groups()
        if self.cycle_momentum:
            _write_momentum(self.optimizer, self._momentum_key, self.momentum_at(self.last_epoch))


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith, 2017), stepped once per batch (`schedules.cyclic_lr`).

    The lr goes base_lr → max_lr over step_size_up steps and back over step_size_down (default:
    step_size_up); mode "triangular" keeps the amplitude, "triangular2" halves it every cycle,
    "exp_range" scales it by gamma^step; or give scale_fn(x) with scale_mode "cycle" (x = cycle
    number from 1) or "iterations" (x = step). With cycle_momentum, momentum (or beta1) moves
    the opposite way between max_momentum and base_momentum. base_lr, max_lr, base_momentum,
    max_momentum: a number or one per param group. Building it sets each group's lr to base_lr.
    """

    _NOT_STATE = ("optimizer", "_scale_fn")

    def __init__(self, optimizer: Any, base_lr: float | Sequence[float],
                 max_lr: float | Sequence[float], step_size_up: float = 2000,
                 step_size_down: float | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.8,
                 max_momentum: float | Sequence[float] = 0.9, last_epoch: int = -1) -> None:
        owner = "CyclicLR"
        _check_optimizer(owner, optimizer)
        _check_last_epoch(owner, last_epoch)
        lows = _per_group(owner, "base_lr", base_lr, optimizer)
        highs = _per_group(owner, "max_lr", max_lr, optimizer)
        for value in lows + highs:
            check_real(owner, "learning rate", value, low=0.0)
        check_real(owner, "step_size_up", step_size_up, low=0.0, low_inclusive=False)
        if step_size_down is not None:
            check_real(owner, "step_size_down", step_size_down, low=0.0, low_inclusive=False)
        check_real(owner, "gamma", gamma, low=0.0, low_inclusive=False)
        if scale_fn is None:
            check_choice(owner, "mode", mode, schedules.CYCLIC_MODES)
            # PyTorch ties the built-in modes to their natural argument
            scale_mode = "iterations" if mode == "exp_range" else "cycle"
        else:
            if not callable(scale_fn):
                raise TypeError(f"{owner}: scale_fn must be callable, got {scale_fn!r}")
            check_choice(owner, "scale_mode", scale_mode, ("cycle", "iterations"))
        for group, lr in zip(optimizer.param_groups, lows, strict=True):
            group["lr"] = lr
        self._cycle_base_lrs = lows
        self.max_lrs = highs
        self.step_size_up = step_size_up
        self.step_size_down = step_size_down
        self.mode = mode
        self.gamma = gamma
        self._scale_fn = scale_fn
        self.scale_mode = scale_mode
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self._momentum_key = _momentum_key(owner, optimizer)
            self.use_beta1 = self._momentum_key == "betas"
            self.base_momentums = _per_group(owner, "base_momentum", base_momentum, optimizer)
            self.max_momentums = _per_group(owner, "max_momentum", max_momentum, optimizer)
            for value in self.base_momentums + self.max_momentums:
                check_real(owner, "momentum", value, low=0.0)
            for group, high, low in zip(optimizer.param_groups, self.max_momentums,
                                        self.base_momentums, strict=True):
                group["max_momentum"] = high
                group["base_momentum"] = low
            _write_momentum(optimizer, self._momentum_key, self.max_momentums)
        super().__init__(optimizer, last_epoch)

    def _initial_base_lrs(self) -> list[float]:
        return list(self._cycle_base_lrs)

    def _position(self, step: int) -> tuple[float, float]:
        """(height on the triangle in [0, 1], the cycle's amplitude scale) at `step`."""
        cycle, height = schedules.cyclic_position(step, self.step_size_up, self.step_size_down)
        scale = schedules.cyclic_scale(step, cycle, self.mode, self.gamma, self._scale_fn,
                                       self.scale_mode)
        return height, scale

    def lr_at(self, step: int) -> list[float]:
        height, scale = self._position(step)
        return [low + (high - low) * height * scale
                for low, high in zip(self.base_lrs, self.max_lrs, strict=True)]

    def momentum_at(self, step: int) -> list[float]:
        """Momentum (or beta1) of each param group at `step`: max_momentum at the lr's troughs."""
        height, scale = self._position(step)
        return [high - (high - low) * height * scale
                for low, high in zip(self.base_momentums, self.max_momentums,
                                     strict=True)]

    def _apply(self, lrs: Sequence[float]) -> None:
        super()._apply(lrs)
        if self.cycle_momentum:
            _write_momentum(self.optimizer, self._momentum_key, self.momentum_at(self.last_epoch))

    def _restore_groups(self) -> None:
        super()._restore_groups()
        if self.cycle_momentum:
            _write_momentum(self.optimizer, self._momentum_key, self.momentum_at(self.last_epoch))

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["scale_fn"] = _callable_state(self._scale_fn)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._check_state_keys(state_dict)
        _restore_callable(self._scale_fn, state_dict["scale_fn"])
        for key, value in state_dict.items():
            if key != "scale_fn":
                setattr(self, key, copy.deepcopy(value))
        self._restore_groups()


# ---------------------------------------------------------------------------- composition
def _check_children(owner: str, schedulers: Sequence[Any], optimizer: Any,
                    composites_allowed: bool) -> None:
    if len(schedulers) == 0:
        raise ValueError(f"{owner}: expects at least one scheduler, got none")
    for index, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(
                f"{owner}: the scheduler at index {index} is a {type(scheduler).__name__}, not "
                f"an LRScheduler"
            )
        if scheduler.monitor is not None:  # the protocol, not the class: step needs a metric
            raise ValueError(
                f"{owner}: cannot hold {type(scheduler).__name__} (index {index}): its step "
                f"needs a metric ({scheduler.monitor!r})"
            )
        if not composites_allowed and isinstance(scheduler, (SequentialLR, ChainedScheduler)):
            raise ValueError(
                f"{owner}: cannot hold a {type(scheduler).__name__} (index {index}); build it "
                f"from plain schedulers"
            )
        if scheduler.optimizer is not optimizer:
            raise ValueError(
                f"{owner}: the scheduler at index {index} ({type(scheduler).__name__}) drives "
                f"another optimizer; all must share one"
            )


class _CompositeStateMixin:
    """State dicts of schedulers made of schedulers: their own state plus each child's."""

    _NOT_STATE = ("optimizer", "_schedulers")
    _schedulers: list[LRScheduler]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()  # type: ignore[misc]
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._check_state_keys(state_dict)  # type: ignore[attr-defined]
        children = state_dict["_schedulers"]
        if len(children) != len(self._schedulers):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: {len(children)} saved schedulers for "
                f"{len(self._schedulers)}"
            )
        for scheduler, child in zip(self._schedulers, children, strict=True):
            scheduler.load_state_dict(child)
        for key, value in state_dict.items():
            if key != "_schedulers":
                setattr(self, key, copy.deepcopy(value))
        self._restore_groups()  # type: ignore[attr-defined]  (the composite's lr wins)


class SequentialLR(_CompositeStateMixin, LRScheduler):
    """Runs schedulers one after another: schedulers[i] from milestones[i−1] on.

    At each milestone the next scheduler restarts from its step 0 (from the base lrs, or, for
    MultiplicativeLR, from the current lr), as PyTorch's SequentialLR does.
    schedulers: built on `optimizer`, not ReduceLROnPlateau, SequentialLR or ChainedScheduler;
    milestones: strictly increasing steps >= 0, one fewer than schedulers.
    """

    def __init__(self, optimizer: Any, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        owner = "SequentialLR"
        _check_optimizer(owner, optimizer)
        _check_last_epoch(owner, last_epoch)
        schedulers = list(schedulers)
        _check_children(owner, schedulers, optimizer, composites_allowed=False)
        milestones = check_milestones(owner, milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{owner}: expects one milestone fewer than schedulers, got {len(schedulers)} "
                f"schedulers and milestones {milestones}"
            )
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = 0
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        # undo what building the children did, then start the one that owns step 0
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in schedulers:
            scheduler.last_epoch -= 1
        first = schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        """Advance one step: the active scheduler steps, or restarts at its milestone."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler.step(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_CompositeStateMixin, LRScheduler):
    """Steps several schedulers together, each acting on the lr the previous one wrote.

    E.g. ConstantLR(factor=0.1, total_iters=20) with ExponentialLR(gamma=0.9) gives
    base · 0.1 · 0.9^t until step 20 and base · 0.9^t after (see the module docstring for how
    closed forms chain). schedulers: built on one optimizer, no ReduceLROnPlateau.
    last_epoch counts this scheduler's steps.
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Any | None = None) -> None:
        owner = "ChainedScheduler"
        schedulers = list(schedulers)
        if len(schedulers) == 0:
            raise ValueError(f"{owner}: expects at least one scheduler, got none")
        if optimizer is None:
            optimizer = getattr(schedulers[0], "optimizer", None)
        _check_optimizer(owner, optimizer)
        _check_children(owner, schedulers, optimizer, composites_allowed=True)
        self.optimizer = optimizer
        self._schedulers = schedulers
        self.last_epoch = 0
        self.base_lrs = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self.last_epoch += 1
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


# ---------------------------------------------------------------------------- on a metric
class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by `factor` when a metric has stopped improving for `patience` steps.

    step(metrics): metrics is the monitored number (a float, NumPy scalar or one-element
    array/tensor). mode "min" (lower is better) or "max". Improvement means beating the best by
    the threshold: relative (best · (1 ∓ threshold)) or absolute (best ∓ threshold), by
    threshold_mode "rel"/"abs". After a reduction, `cooldown` steps pass before bad steps count
    again. min_lr: a floor (a number or one per param group); a reduction smaller than eps is
    skipped. The same state machine as PyTorch's, step for step. It does not write
    "initial_lr" (nor does PyTorch's), and has no closed form.
    monitor (steepest's, not PyTorch's): the logged metric a trainer steps it with, once per
    epoch (default "val_loss", as Keras's ReduceLROnPlateau callback; `fit` gives "loss" when
    there is no validation data). Stepped by hand, `step(value)` takes any number.
    """

    interval = "epoch"
    _NOT_STATE = ("optimizer", "monitor")  # monitor is how it is driven, not its state

    def __init__(self, optimizer: Any, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0, eps: float = 1e-8,
                 monitor: str = "val_loss") -> None:
        owner = "ReduceLROnPlateau"
        _check_optimizer(owner, optimizer)
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{owner}: monitor must name a logged metric such as 'val_loss', "
                             f"got {monitor!r}")
        check_choice(owner, "mode", mode, ("min", "max"))
        check_choice(owner, "threshold_mode", threshold_mode, ("rel", "abs"))
        check_real(owner, "factor", factor, low=0.0, high=1.0, high_inclusive=False)
        check_int(owner, "patience", patience, low=0)
        check_int(owner, "cooldown", cooldown, low=0)
        check_real(owner, "threshold", threshold, low=0.0)
        check_real(owner, "eps", eps, low=0.0)
        if isinstance(min_lr, (list, tuple)):
            self.min_lrs = _per_group(owner, "min_lr", min_lr, optimizer)
            self.default_min_lr = None
        else:
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
            self.default_min_lr = min_lr
        for value in self.min_lrs:
            check_real(owner, "min_lr", value, low=0.0)
        self.optimizer = optimizer
        self.monitor = monitor
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """True while steps after a reduction are still being ignored."""
        return self.cooldown_counter > 0

    def is_better(self, value: float, best: float) -> bool:
        """Whether `value` beats `best` by the threshold in this mode."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return value < best * (1.0 - self.threshold)
        if self.mode == "min":
            return value < best - self.threshold
        if self.threshold_mode == "rel":
            return value > best * (self.threshold + 1.0)
        return value > best + self.threshold

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record one value of the metric, and reduce the lrs if it has stalled too long."""
        owner = type(self).__name__
        current = _metric_value(owner, metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            check_int(owner, "epoch", epoch, low=0)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad steps during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ValueError(
                    f"ReduceLROnPlateau: the optimizer now has {len(groups)} param groups but "
                    f"min_lr has {len(self.min_lrs)} values; set scheduler.min_lrs to match"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs, strict=True):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr
