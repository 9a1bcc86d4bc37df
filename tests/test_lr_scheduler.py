"""Learning-rate schedulers against torch.optim.lr_scheduler, step for step, with two param groups.

Each case builds the same scheduler on a PyTorch SGD/Adam optimizer and on a stand-in optimizer
(only `param_groups`, which is all a scheduler may use), steps both 250 times and compares every
group's lr and momentum/beta1, `get_last_lr()` and `last_epoch`, in float64 to 1e-10 relative.
Resumed runs (state saved mid-run, through JSON, into a fresh scheduler) must give the same
sequence. The lectures' decays, which PyTorch lacks, are checked against their formulas.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest
import torch

from steepest.optim import lr_scheduler as ours
from steepest.optim import schedules

TORCH = torch.optim.lr_scheduler
STEPS = 250
RESUME_AT = 128
BASE_LRS = (0.1, 0.03)
RTOL = 1e-10
ATOL = 1e-15  # for values that are 0 in one library and ~1e-18 in the other
SCHEDULER_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")

# PyTorch warns about its deprecated step(epoch) form, which some cases use on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class StandIn:
    """The part of an optimizer a scheduler sees: param_groups, a list of dicts."""

    def __init__(self, kind: str) -> None:
        extra = {"sgd": {"momentum": 0.9}, "adam": {"betas": (0.9, 0.999)}, "plain": {}}[kind]
        self.param_groups = [dict(lr=lr, **copy.deepcopy(extra)) for lr in BASE_LRS]


def torch_optimizer(kind: str) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], "lr": lr}
              for lr in BASE_LRS]
    if kind == "adam":
        return torch.optim.Adam(groups, betas=(0.9, 0.999))
    return torch.optim.SGD(groups, momentum=0.9)


# ---------------------------------------------------------------------------- user functions
# Shared by both libraries' LambdaLR / MultiplicativeLR / CyclicLR.
def warmup_decay(t: int) -> float:
    return min(1.0, (t + 1) / 10) * 0.97**t


def halve_every_50(t: int) -> float:
    return 0.5 ** (t // 50)


def shrink(t: int) -> float:
    return 0.99


def wobble(t: int) -> float:
    return 1.0 + 0.02 * math.sin(t)


class InverseTime:
    """A callable object: its attributes are what state_dict saves of it."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, t: int) -> float:
        return 1.0 / (1.0 + self.rate * t)


def damped(x: float) -> float:
    return 1.0 / (1.0 + 0.1 * x)


# ---------------------------------------------------------------------------- the cases
class Case(NamedTuple):
    desc: str
    make: Callable[[Any, Any], Any]  # (scheduler module, optimizer) -> scheduler
    kind: str = "sgd"
    drive: Callable[[Any, int], None] | None = None  # how step t is taken (default: .step())


def step_plain(scheduler: Any, t: int) -> None:
    scheduler.step()


FRACTIONAL = [e + i / 7 for e in range(40) for i in range(7)]  # epoch + batch / batches


def step_fractional(scheduler: Any, t: int) -> None:
    scheduler.step(FRACTIONAL[t])


def step_interleaved(scheduler: Any, t: int) -> None:
    """step() mostly, with jumps forward, backward and to fractional epochs between."""
    jumps = {20: 26.5, 40: 3.25, 60: 0, 90: 47, 130: 12.75, 200: 100.5}
    scheduler.step(jumps[t]) if t in jumps else scheduler.step()


def plateau_metrics() -> list[float]:
    """Descents, exact plateaus, sub-threshold noise, climbs and one NaN, rounded to make ties."""
    rng = np.random.default_rng(7)
    parts = [
        np.linspace(1.0, 0.5, 30), np.full(25, 0.5), 0.5 + 1e-5 * rng.standard_normal(20),
        np.linspace(0.5, 0.2, 30), np.full(40, 0.2), np.linspace(0.2, 0.6, 30),
        np.round(0.3 + 0.05 * rng.standard_normal(40), 3), np.full(10, 0.1), [math.nan],
        np.round(0.1 - 0.0005 * np.arange(30), 6),
    ]
    return [float(v) for v in np.concatenate(parts)][: STEPS + 1]


METRICS = plateau_metrics()


def step_metric(scheduler: Any, t: int) -> None:
    scheduler.step(METRICS[t])


def C(desc: str, make: Callable[[Any, Any], Any], kind: str = "sgd",
      drive: Callable[[Any, int], None] | None = None) -> Case:
    return Case(desc, make, kind, drive)


CASES = [
    C("StepLR 7 x0.5", lambda M, o: M.StepLR(o, step_size=7, gamma=0.5)),
    C("StepLR 1 x0.9", lambda M, o: M.StepLR(o, step_size=1, gamma=0.9)),
    C("StepLR 30 default gamma", lambda M, o: M.StepLR(o, step_size=30)),
    C("MultiStepLR 30,60,90 x0.1", lambda M, o: M.MultiStepLR(o, [30, 60, 90], gamma=0.1)),
    C("MultiStepLR with 0", lambda M, o: M.MultiStepLR(o, [0, 5, 100, 200], gamma=0.5)),
    C("MultiStepLR growth", lambda M, o: M.MultiStepLR(o, [1, 140], gamma=3.0)),
    C("ConstantLR defaults", lambda M, o: M.ConstantLR(o)),
    C("ConstantLR 0.5 for 40", lambda M, o: M.ConstantLR(o, factor=0.5, total_iters=40)),
    C("ConstantLR factor 1", lambda M, o: M.ConstantLR(o, factor=1.0, total_iters=3)),
    C("LinearLR defaults", lambda M, o: M.LinearLR(o)),
    C("LinearLR warm-up 40", lambda M, o: M.LinearLR(o, start_factor=0.05, total_iters=40)),
    C("LinearLR decay", lambda M, o: M.LinearLR(o, 1.0, 0.1, total_iters=100)),
    C("LinearLR to zero", lambda M, o: M.LinearLR(o, 0.5, 0.0, total_iters=30)),
    C("ExponentialLR 0.97", lambda M, o: M.ExponentialLR(o, gamma=0.97)),
    C("ExponentialLR 1.01", lambda M, o: M.ExponentialLR(o, gamma=1.01)),
    C("PolynomialLR defaults", lambda M, o: M.PolynomialLR(o)),
    C("PolynomialLR 100 ^0.9", lambda M, o: M.PolynomialLR(o, total_iters=100, power=0.9)),
    C("PolynomialLR 300 ^2", lambda M, o: M.PolynomialLR(o, total_iters=300, power=2.0)),
    C("CosineAnnealingLR 30", lambda M, o: M.CosineAnnealingLR(o, T_max=30)),
    C("CosineAnnealingLR 30 eta", lambda M, o: M.CosineAnnealingLR(o, 30, eta_min=0.001)),
    C("CosineAnnealingLR 1", lambda M, o: M.CosineAnnealingLR(o, T_max=1)),
    C("CosineAnnealingLR 7 eta", lambda M, o: M.CosineAnnealingLR(o, 7, eta_min=0.01)),
    C("CosineAnnealingLR 250", lambda M, o: M.CosineAnnealingLR(o, T_max=250)),
    C("CosineAnnealingLR 12.5", lambda M, o: M.CosineAnnealingLR(o, 12.5, eta_min=0.001)),
    C("CAWR 10", lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=10)),
    C("CAWR 5 x2 eta", lambda M, o: M.CosineAnnealingWarmRestarts(o, 5, T_mult=2, eta_min=1e-3)),
    C("CAWR 1 x3", lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3)),
    C("CAWR 1", lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=1)),
    C("CAWR 3 x2 fractional", lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, 2, 1e-3),
      drive=step_fractional),
    C("CAWR 2 x3 fractional", lambda M, o: M.CosineAnnealingWarmRestarts(o, 2, 3),
      drive=step_fractional),
    C("CAWR 6 fractional", lambda M, o: M.CosineAnnealingWarmRestarts(o, 6, eta_min=0.002),
      drive=step_fractional),
    C("CAWR 4 x2 interleaved", lambda M, o: M.CosineAnnealingWarmRestarts(o, 4, 2),
      drive=step_interleaved),
    C("CAWR 9 interleaved", lambda M, o: M.CosineAnnealingWarmRestarts(o, 9, eta_min=1e-3),
      drive=step_interleaved),
    C("LambdaLR one function", lambda M, o: M.LambdaLR(o, warmup_decay)),
    C("LambdaLR per group", lambda M, o: M.LambdaLR(o, [halve_every_50, InverseTime(0.05)])),
    C("MultiplicativeLR one", lambda M, o: M.MultiplicativeLR(o, shrink)),
    C("MultiplicativeLR per group", lambda M, o: M.MultiplicativeLR(o, [wobble, shrink])),
    C("ExponentialLR step(epoch)", lambda M, o: M.ExponentialLR(o, gamma=0.98),
      drive=lambda s, t: s.step(t)),
    C("StepLR interleaved epochs", lambda M, o: M.StepLR(o, 10, gamma=0.7),
      drive=lambda s, t: s.step(t // 2) if t % 25 == 0 else s.step()),
    C("OneCycleLR cos", lambda M, o: M.OneCycleLR(o, max_lr=1.0, total_steps=STEPS)),
    C("OneCycleLR linear", lambda M, o: M.OneCycleLR(o, 0.8, STEPS, anneal_strategy="linear")),
    C("OneCycleLR cos 3-phase", lambda M, o: M.OneCycleLR(o, [1.0, 0.4], STEPS, three_phase=True)),
    C("OneCycleLR linear 3-phase",
      lambda M, o: M.OneCycleLR(o, 0.5, STEPS, anneal_strategy="linear", three_phase=True)),
    C("OneCycleLR epochs x steps", lambda M, o: M.OneCycleLR(o, 0.3, epochs=25, steps_per_epoch=10,
                                                            pct_start=0.25, div_factor=10.0,
                                                            final_div_factor=100.0)),
    C("OneCycleLR momentum lists",
      lambda M, o: M.OneCycleLR(o, [0.6, 0.2], STEPS, base_momentum=[0.8, 0.7],
                                max_momentum=[0.95, 0.9], pct_start=0.4)),
    C("OneCycleLR betas", lambda M, o: M.OneCycleLR(o, 0.01, STEPS, three_phase=True),
      kind="adam"),
    C("OneCycleLR no momentum", lambda M, o: M.OneCycleLR(o, 0.2, STEPS, cycle_momentum=False)),
    C("OneCycleLR pct_start 0", lambda M, o: M.OneCycleLR(o, 0.2, STEPS, pct_start=0.0)),
    C("CyclicLR triangular", lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=20)),
    C("CyclicLR triangular2 asym", lambda M, o: M.CyclicLR(o, [0.01, 0.002], [0.1, 0.05], 10, 30,
                                                          mode="triangular2")),
    C("CyclicLR exp_range", lambda M, o: M.CyclicLR(o, 0.001, 0.1, 15, mode="exp_range",
                                                   gamma=0.99)),
    C("CyclicLR scale_fn cycle", lambda M, o: M.CyclicLR(o, 0.01, 0.1, 12, scale_fn=damped)),
    C("CyclicLR scale_fn iterations", lambda M, o: M.CyclicLR(o, 0.01, 0.1, 7, 11,
                                                             scale_fn=damped,
                                                             scale_mode="iterations")),
    C("CyclicLR betas", lambda M, o: M.CyclicLR(o, 1e-4, 1e-2, 25, base_momentum=[0.8, 0.85],
                                               max_momentum=0.95), kind="adam"),
    C("CyclicLR no momentum", lambda M, o: M.CyclicLR(o, 0.01, 0.1, 9, cycle_momentum=False)),
    C("SequentialLR warm-up, cosine",
      lambda M, o: M.SequentialLR(o, [M.LinearLR(o, 0.1, total_iters=10),
                                      M.CosineAnnealingLR(o, T_max=100)], milestones=[10])),
    C("SequentialLR constant, exp, step",
      lambda M, o: M.SequentialLR(o, [M.ConstantLR(o, 0.3, 15), M.ExponentialLR(o, 0.95),
                                      M.StepLR(o, 12, 0.5)], milestones=[20, 100])),
    C("SequentialLR lambda, multiplicative",
      lambda M, o: M.SequentialLR(o, [M.LambdaLR(o, warmup_decay), M.MultiplicativeLR(o, wobble)],
                                  milestones=[50])),
    C("SequentialLR exp, warm restarts",
      lambda M, o: M.SequentialLR(o, [M.ExponentialLR(o, 0.9),
                                      M.CosineAnnealingWarmRestarts(o, 8, 2)], milestones=[30])),
    C("SequentialLR multistep, linear, cosine",
      lambda M, o: M.SequentialLR(o, [M.MultiStepLR(o, [5, 15], 0.5),
                                      M.LinearLR(o, 1.0, 0.1, total_iters=50),
                                      M.CosineAnnealingLR(o, 40, eta_min=0.001)],
                                  milestones=[25, 100])),
    C("SequentialLR step, one cycle",
      lambda M, o: M.SequentialLR(o, [M.StepLR(o, 5, 0.8), M.OneCycleLR(o, 0.5, STEPS)],
                                  milestones=[40])),
    C("SequentialLR resumed before milestone",
      lambda M, o: M.SequentialLR(o, [M.CosineAnnealingLR(o, 50), M.StepLR(o, 10, 0.5)],
                                  milestones=[200])),
    C("ChainedScheduler constant, exp",
      lambda M, o: M.ChainedScheduler([M.ConstantLR(o, 0.1, 20), M.ExponentialLR(o, 0.9)])),
    C("ChainedScheduler warm-up, cosine",
      lambda M, o: M.ChainedScheduler([M.LinearLR(o, 0.2, total_iters=15),
                                       M.CosineAnnealingLR(o, 60, eta_min=0.005)], optimizer=o)),
    C("ChainedScheduler cosine, step",
      lambda M, o: M.ChainedScheduler([M.CosineAnnealingLR(o, 17, 0.002), M.StepLR(o, 10, 0.5)])),
    C("ChainedScheduler step, multistep, exp",
      lambda M, o: M.ChainedScheduler([M.StepLR(o, 9, 0.8), M.MultiStepLR(o, [40, 80], 0.5),
                                       M.ExponentialLR(o, 0.995)])),
    C("ChainedScheduler multiplicative, step",
      lambda M, o: M.ChainedScheduler([M.MultiplicativeLR(o, wobble), M.StepLR(o, 30, 0.5)])),
    C("ChainedScheduler lambda, exp",
      lambda M, o: M.ChainedScheduler([M.LambdaLR(o, halve_every_50), M.ExponentialLR(o, 0.99)])),
    C("ChainedScheduler exp, lambda",
      lambda M, o: M.ChainedScheduler([M.ExponentialLR(o, 0.99), M.LambdaLR(o, halve_every_50)])),
    C("ChainedScheduler warm restarts, exp",
      lambda M, o: M.ChainedScheduler([M.CosineAnnealingWarmRestarts(o, 10),
                                       M.ExponentialLR(o, 0.99)])),
    C("ChainedScheduler polynomial, constant",
      lambda M, o: M.ChainedScheduler([M.PolynomialLR(o, 200, 1.5), M.ConstantLR(o, 0.5, 30)])),
    C("ChainedScheduler cosine, cosine",
      lambda M, o: M.ChainedScheduler([M.CosineAnnealingLR(o, 20, 0.01),
                                       M.CosineAnnealingLR(o, 45, 0.003)])),
    C("ChainedScheduler sequential, step",
      lambda M, o: M.ChainedScheduler([M.SequentialLR(o, [M.LinearLR(o, 0.1, total_iters=10),
                                                          M.ExponentialLR(o, 0.98)], [10]),
                                       M.StepLR(o, 40, 0.5)])),
    C("ReduceLROnPlateau defaults", lambda M, o: M.ReduceLROnPlateau(o), drive=step_metric),
]
PLATEAU_OPTIONS = [
    dict(mode=mode, threshold_mode=threshold_mode, patience=patience, cooldown=cooldown,
         min_lr=min_lr)
    for mode in ("min", "max")
    for threshold_mode in ("rel", "abs")
    for patience, cooldown in ((0, 0), (3, 2), (10, 0))
    for min_lr in (1e-4, [1e-3, 1e-5])
]
CASES += [
    C(f"ReduceLROnPlateau {options}", functools.partial(
        lambda M, o, options: M.ReduceLROnPlateau(o, factor=0.5, threshold=1e-3, **options),
        options=options), drive=step_metric)
    for options in PLATEAU_OPTIONS
]
CASES += [
    C("ReduceLROnPlateau big eps", lambda M, o: M.ReduceLROnPlateau(o, factor=0.9, patience=2,
                                                                   eps=0.002), drive=step_metric),
    C("ReduceLROnPlateau factor 0", lambda M, o: M.ReduceLROnPlateau(o, factor=0.0, patience=5,
                                                                    min_lr=[1e-4, 2e-4]),
      drive=step_metric),
]
BY_DESC = {case.desc: case for case in CASES}
assert len(BY_DESC) == len(CASES), "case descriptions must be unique"


# ---------------------------------------------------------------------------- running
def snapshot(optimizer: Any, scheduler: Any) -> list[float]:
    """Every group's lr and momentum (or beta1), then get_last_lr()."""
    row = []
    for group in optimizer.param_groups:
        row.append(float(group["lr"]))
        if "betas" in group:
            row.append(float(group["betas"][0]))
        elif "momentum" in group:
            row.append(float(group["momentum"]))
    return row + [float(lr) for lr in scheduler.get_last_lr()]


def run(case: Case, module: Any, resume_at: int | None = None,
        restore_optimizer: bool = True) -> tuple[np.ndarray, list[Any], Any]:
    """Step `case` STEPS times; with resume_at, continue from step resume_at on a fresh
    scheduler (and fresh stand-in optimizer) loaded from the state saved there."""
    drive = case.drive or step_plain
    optimizer = torch_optimizer(case.kind) if module is TORCH else StandIn(case.kind)
    scheduler = case.make(module, optimizer)
    rows, epochs = [snapshot(optimizer, scheduler)], [getattr(scheduler, "last_epoch", None)]
    for t in range(1, STEPS + 1):
        if t == resume_at:
            state = json.loads(json.dumps(scheduler.state_dict()))  # a plain, portable state
            groups = copy.deepcopy(optimizer.param_groups)
            optimizer = StandIn(case.kind)
            scheduler = case.make(module, optimizer)
            if restore_optimizer:  # what optimizer.load_state_dict would bring back
                for group, saved in zip(optimizer.param_groups, groups, strict=True):
                    group.clear()
                    group.update(saved)
            scheduler.load_state_dict(state)
        if module is TORCH:
            optimizer.step()
        drive(scheduler, t)
        rows.append(snapshot(optimizer, scheduler))
        epochs.append(getattr(scheduler, "last_epoch", None))
    return np.array(rows), epochs, optimizer


@functools.cache
def torch_run(desc: str) -> tuple[np.ndarray, list[Any], Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run(BY_DESC[desc], TORCH)


def assert_rows(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert actual.shape == expected.shape, what
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


IDS = [case.desc for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_torch(case: Case) -> None:
    expected, torch_epochs, torch_opt = torch_run(case.desc)
    actual, epochs, optimizer = run(case, ours)
    assert_rows(actual, expected, case.desc)
    if torch_epochs[0] is not None:  # PyTorch's ChainedScheduler has no last_epoch
        assert epochs == torch_epochs
    for group, torch_group in zip(optimizer.param_groups, torch_opt.param_groups,
                                  strict=True):
        for key in SCHEDULER_KEYS:
            assert (key in group) == (key in torch_group), key
            if key in group:
                assert group[key] == pytest.approx(torch_group[key], rel=RTOL), key


@pytest.mark.parametrize("restore_optimizer", [True, False], ids=["with-optimizer", "alone"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_resume_matches_torch(case: Case, restore_optimizer: bool) -> None:
    """State saved at step 128 and loaded into a fresh scheduler continues the same sequence,
    whether or not the optimizer's param groups are restored too."""
    expected, torch_epochs, _ = torch_run(case.desc)
    actual, epochs, _ = run(case, ours, resume_at=RESUME_AT, restore_optimizer=restore_optimizer)
    assert_rows(actual, expected, case.desc)
    if torch_epochs[0] is not None:
        assert epochs == torch_epochs


def test_plateau_metrics_exercise_the_state_machine() -> None:
    """The metric sequence makes the default and the patience-0 schedulers reduce several times."""
    for desc in ("ReduceLROnPlateau defaults", f"ReduceLROnPlateau {PLATEAU_OPTIONS[0]}"):
        lrs = torch_run(desc)[0][:, 0]
        assert len(np.unique(lrs)) >= 3, desc


@pytest.mark.parametrize("options", PLATEAU_OPTIONS[:6], ids=str)
def test_plateau_counters_match_torch(options: dict[str, Any]) -> None:
    """best, num_bad_epochs and cooldown_counter follow PyTorch's after every metric."""
    schedulers = []
    for module, optimizer in ((TORCH, torch_optimizer("sgd")), (ours, StandIn("sgd"))):
        schedulers.append(module.ReduceLROnPlateau(optimizer, factor=0.5, **options))
    for metric in METRICS:
        states = []
        for scheduler in schedulers:
            scheduler.step(metric)
            states.append((scheduler.best, scheduler.num_bad_epochs, scheduler.cooldown_counter,
                           scheduler.in_cooldown))
        assert states[0] == states[1]


# ---------------------------------------------------------------------------- by-hand changes
MANUAL = [
    C("StepLR", lambda M, o: M.StepLR(o, 7, 0.5)),
    C("MultiStepLR", lambda M, o: M.MultiStepLR(o, [30, 90, 150], 0.5)),
    C("ExponentialLR", lambda M, o: M.ExponentialLR(o, 0.98)),
    C("ConstantLR", lambda M, o: M.ConstantLR(o, 0.25, 100)),
    C("LinearLR", lambda M, o: M.LinearLR(o, 0.1, total_iters=100)),
    C("PolynomialLR", lambda M, o: M.PolynomialLR(o, 200, 2.0)),
    C("CosineAnnealingLR", lambda M, o: M.CosineAnnealingLR(o, 50, eta_min=0.004)),
    C("LambdaLR", lambda M, o: M.LambdaLR(o, warmup_decay)),
    C("MultiplicativeLR", lambda M, o: M.MultiplicativeLR(o, shrink)),
    C("CAWR", lambda M, o: M.CosineAnnealingWarmRestarts(o, 13, 2)),
]


@pytest.mark.parametrize("case", MANUAL, ids=[case.desc for case in MANUAL])
def test_lr_set_by_hand_mid_run_matches_torch(case: Case) -> None:
    """After group["lr"] is changed by hand, chainable schedulers rescale the new value (PyTorch's
    recursive form) and the closed-form-only ones overwrite it, as in PyTorch."""
    results = []
    for module in (TORCH, ours):
        optimizer = torch_optimizer("sgd") if module is TORCH else StandIn("sgd")
        scheduler = case.make(module, optimizer)
        rows = []
        for t in range(1, STEPS + 1):
            if t in (60, 61, 170):
                optimizer.param_groups[0]["lr"] *= 0.5
                optimizer.param_groups[1]["lr"] = 0.07
            optimizer.step() if module is TORCH else None
            scheduler.step()
            rows.append(snapshot(optimizer, scheduler))
        results.append(np.array(rows))
    assert_rows(results[1], results[0], case.desc)


# ---------------------------------------------------------------------------- lectures' decays
def torch_exponential_decay_pair(M: Any, o: Any, k: float, then: Callable[[Any, Any], Any]):
    """steepest's ExponentialDecayLR(k) is PyTorch's ExponentialLR(gamma=e^(−k))."""
    if M is TORCH:
        return M.ChainedScheduler([M.ExponentialLR(o, math.exp(-k)), then(M, o)])
    return M.ChainedScheduler([M.ExponentialDecayLR(o, k), then(M, o)])


def inverse_time_ratio(k: float) -> Callable[[int], float]:
    return lambda t: (1 + k * (t - 1)) / (1 + k * t)


def torch_inverse_time_pair(M: Any, o: Any, k: float, then: Callable[[Any, Any], Any]):
    """steepest's InverseTimeDecayLR(k) chains as PyTorch's MultiplicativeLR with its ratio."""
    if M is TORCH:
        return M.ChainedScheduler([M.MultiplicativeLR(o, inverse_time_ratio(k)), then(M, o)])
    return M.ChainedScheduler([M.InverseTimeDecayLR(o, k), then(M, o)])


def warmup_then_inverse_time(M: Any, o: Any):
    """After a milestone, InverseTimeDecayLR restarts like PyTorch's LambdaLR(1 / (1 + k t))."""
    second = (M.LambdaLR(o, lambda t: 1 / (1 + 0.05 * t)) if M is TORCH
              else M.InverseTimeDecayLR(o, 0.05))
    return M.SequentialLR(o, [M.LinearLR(o, 0.1, total_iters=20), second], milestones=[20])


LECTURE_CASES = [
    C("exp decay, step", functools.partial(torch_exponential_decay_pair, k=0.02,
                                           then=lambda M, o: M.StepLR(o, 10, 0.5))),
    C("exp decay, cosine", functools.partial(torch_exponential_decay_pair, k=0.005,
                                             then=lambda M, o: M.CosineAnnealingLR(o, 33, 1e-3))),
    C("1/t decay, cosine", functools.partial(torch_inverse_time_pair, k=0.05,
                                             then=lambda M, o: M.CosineAnnealingLR(o, 40))),
    C("1/t decay, multistep", functools.partial(torch_inverse_time_pair, k=0.3,
                                                then=lambda M, o: M.MultiStepLR(o, [10, 70]))),
    C("warm-up then 1/t", warmup_then_inverse_time),
]


@pytest.mark.parametrize("case", LECTURE_CASES, ids=[case.desc for case in LECTURE_CASES])
def test_lecture_decays_compose_like_torch_equivalents(case: Case) -> None:
    expected, _, _ = run(case, TORCH)
    actual, _, _ = run(case, ours)
    assert_rows(actual, expected, case.desc)
    resumed, _, _ = run(case, ours, resume_at=RESUME_AT)
    assert_rows(resumed, expected, case.desc + " resumed")


@pytest.mark.parametrize("name, k, formula", [
    ("ExponentialDecayLR", 0.02, lambda lr0, k, t: lr0 * math.exp(-k * t)),
    ("ExponentialDecayLR", 0.0, lambda lr0, k, t: lr0),
    ("InverseTimeDecayLR", 0.05, lambda lr0, k, t: lr0 / (1 + k * t)),
    ("InverseTimeDecayLR", 1.5, lambda lr0, k, t: lr0 / (1 + k * t)),
])
def test_lecture_decays_match_their_formulas(name: str, k: float, formula: Callable) -> None:
    """α = α0·e^(−kt) and α = α0/(1+kt) from the lecture, written out, per group and step."""
    for resume_at in (None, RESUME_AT):
        case = C(name, lambda M, o: getattr(M, name)(o, k))
        actual, epochs, _ = run(case, ours, resume_at=resume_at)
        expected = [[formula(lr0, k, t) for lr0 in BASE_LRS] for t in range(STEPS + 1)]
        assert_rows(actual[:, [0, 2]], np.array(expected), name)
        assert epochs == list(range(STEPS + 1))


# ---------------------------------------------------------------------------- closed forms
CLOSED = [case for case in CASES
          if not case.desc.startswith(("Multiplicative", "Sequential", "Chained", "Reduce"))
          and case.drive is None]


@pytest.mark.parametrize("case", CLOSED, ids=[case.desc for case in CLOSED])
def test_lr_at_is_the_trajectory(case: Case) -> None:
    """A scheduler alone writes its closed form: lr_at(t) is what step t wrote."""
    actual, _, _ = run(case, ours)
    scheduler = case.make(ours, StandIn(case.kind))
    expected = np.array([scheduler.lr_at(t) for t in range(STEPS + 1)])
    lr_columns = [index for index in range(actual.shape[1] - 2) if index % 2 == 0]
    np.testing.assert_array_equal(actual[:, lr_columns], expected)


@pytest.mark.parametrize("desc, function, formula", [
    ("step", lambda t: schedules.step_lr(t, 0.1, 7, 0.5), lambda t: 0.1 * 0.5 ** (t // 7)),
    ("multistep", lambda t: schedules.multi_step_lr(t, 0.1, [30, 60, 90]),
     lambda t: 0.1 * 0.1 ** ((t >= 30) + (t >= 60) + (t >= 90))),
    ("exponential", lambda t: schedules.exponential_lr(t, 0.1, 0.97), lambda t: 0.1 * 0.97**t),
    ("exp decay", lambda t: schedules.exponential_decay(t / 3, 0.1, 0.05),
     lambda t: 0.1 * math.exp(-0.05 * t / 3)),
    ("1/t decay", lambda t: schedules.inverse_time_decay(t / 3, 0.1, 0.05),
     lambda t: 0.1 / (1 + 0.05 * t / 3)),
    ("constant", lambda t: schedules.constant_lr(t, 0.1, 0.25, 40),
     lambda t: 0.025 if t < 40 else 0.1),
    ("linear", lambda t: schedules.linear_lr(t, 0.1, 0.2, 1.0, 50),
     lambda t: 0.1 * (0.2 + 0.8 * min(t, 50) / 50)),
    ("polynomial", lambda t: schedules.polynomial_lr(t, 0.1, 100, 2.0),
     lambda t: 0.1 * (1 - min(t, 100) / 100) ** 2),
    ("cosine", lambda t: schedules.cosine_annealing(t, 0.1, 60, 0.001),
     lambda t: 0.001 + 0.099 * (1 + math.cos(math.pi * t / 60)) / 2),
    ("warm restarts", lambda t: schedules.cosine_annealing_warm_restarts(t / 2, 0.1, 4, 2),
     lambda t: 0.05 * (1 + math.cos(math.pi * restart_position(t / 2, 4, 2)))),
    ("one cycle", lambda t: schedules.one_cycle(t, 250, 0.004, 0.1, 4e-7, 0.3, "linear"),
     lambda t: (0.004 + (0.1 - 0.004) * t / 74 if t <= 74
                else 0.1 + (4e-7 - 0.1) * (t - 74) / 175)),
    ("cyclic", lambda t: schedules.cyclic_lr(t, 0.01, 0.1, 10, 30, mode="triangular2"),
     lambda t: 0.01 + 0.09 * triangle(t % 40) / 2 ** (t // 40)),
])
def test_schedule_functions_match_formulas(desc: str, function: Callable,
                                           formula: Callable) -> None:
    actual = np.array([function(t) for t in range(STEPS)])
    expected = np.array([formula(t) for t in range(STEPS)])
    assert_rows(actual, expected, desc)


def restart_position(epoch: float, T_0: int, T_mult: int) -> float:
    """T_cur / T_i for SGDR, by walking the cycles one by one."""
    start, length = 0, T_0
    while epoch >= start + length:
        start, length = start + length, length * T_mult
    return (epoch - start) / length


def triangle(x: int) -> float:
    """CLR's wave with 10 steps up and 30 down: 0 → 1 → 0."""
    return x / 10 if x <= 10 else (40 - x) / 30


@pytest.mark.parametrize("epoch, T_0, T_mult, expected", [
    (0, 3, 2, (0, 3)), (2.5, 3, 2, (2.5, 3)), (3, 3, 2, (0, 6)), (8.75, 3, 2, (5.75, 6)),
    (9, 3, 2, (0, 12)), (111, 1, 10, (0, 1000)), (110.5, 1, 10, (99.5, 100)),
    (25.5, 5, 1, (0.5, 5)),
])
def test_warm_restart_cycle_lands_exactly_on_restarts(epoch, T_0, T_mult, expected) -> None:
    """Restarts found with integers: epoch 111 with T_0=1, T_mult=10 starts the 1000-epoch
    cycle (PyTorch's log10(1000) = 2.9999999999999996 puts it at the end of the previous)."""
    assert schedules.warm_restart_cycle(epoch, T_0, T_mult) == expected


# ---------------------------------------------------------------------------- other behaviour
def test_one_cycle_refuses_a_step_past_total_steps_like_torch() -> None:
    torch_scheduler = TORCH.OneCycleLR(torch_optimizer("sgd"), 0.1, total_steps=20)
    scheduler = ours.OneCycleLR(StandIn("sgd"), 0.1, total_steps=20)
    for _ in range(20):
        torch_scheduler.step()
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 21 times"):
        torch_scheduler.step()
    with pytest.raises(ValueError, match="tried to step 21 times; total_steps is 20"):
        scheduler.step()
    assert scheduler.last_epoch == 20  # refused before advancing


def test_get_last_lr_is_a_copy_and_state_dict_is_detached() -> None:
    optimizer = StandIn("sgd")
    scheduler = ours.MultiStepLR(optimizer, [3, 6], gamma=0.5)
    scheduler.get_last_lr()[0] = 123.0
    state = scheduler.state_dict()
    state["milestones"].append(4)
    state["base_lrs"][0] = 9.0
    for _ in range(7):
        scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.1 * 0.25, 0.03 * 0.25], rel=RTOL)


def test_initial_lr_kept_when_a_second_scheduler_is_built() -> None:
    """The first scheduler records initial_lr; the next uses it as its base, like PyTorch."""
    for module, optimizer in ((TORCH, torch_optimizer("sgd")), (ours, StandIn("sgd"))):
        module.LinearLR(optimizer, 0.5, total_iters=4)
        second = module.ExponentialLR(optimizer, 0.9)
        assert second.base_lrs == pytest.approx(list(BASE_LRS), rel=RTOL)
        assert [g["lr"] for g in optimizer.param_groups] == pytest.approx(
            [0.5 * lr for lr in BASE_LRS], rel=RTOL)


def test_lambda_state_saves_callable_objects_only() -> None:
    optimizer = StandIn("sgd")
    function = InverseTime(0.05)
    scheduler = ours.LambdaLR(optimizer, [warmup_decay, function])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [None, {"rate": 0.05}]
    function.rate = 0.5
    scheduler.load_state_dict(state)
    assert function.rate == 0.05


def test_reduce_on_plateau_takes_arrays_and_tensors() -> None:
    import steepest

    scheduler = ours.ReduceLROnPlateau(StandIn("sgd"), patience=0)
    for metric in (1.0, np.float32(2.0), np.array([3.0]), steepest.tensor(4.0),
                   torch.tensor(5.0)):
        scheduler.step(metric)
    assert scheduler.best == 1.0
    assert scheduler.get_last_lr() == pytest.approx([1e-5, 3e-6], rel=RTOL)


# ---------------------------------------------------------------------------- bad arguments
def other_scheduler(M: Any, o: Any) -> Any:
    return M.StepLR(StandIn("sgd"), 3)


def step_after_new_group() -> None:
    optimizer = StandIn("sgd")
    scheduler = ours.StepLR(optimizer, 3)
    optimizer.param_groups.append({"lr": 0.5})
    scheduler.step()


def load_foreign_state() -> None:
    state = ours.StepLR(StandIn("sgd"), 3).state_dict()
    ours.CosineAnnealingLR(StandIn("sgd"), 10).load_state_dict(state)


O = StandIn  # shorter lines in the table below
def _monitoring(scheduler: Any, metric: str) -> Any:
    scheduler.monitor = metric
    return scheduler


ERRORS = [
    ("no param_groups", lambda: ours.StepLR(object(), 3), TypeError, "param_groups"),
    ("last_epoch", lambda: ours.StepLR(O("sgd"), 3, last_epoch=5), ValueError, "last_epoch=5"),
    ("StepLR gamma 0", lambda: ours.StepLR(O("sgd"), 3, gamma=0), ValueError, "gamma.*got 0"),
    ("StepLR gamma <0", lambda: ours.StepLR(O("sgd"), 3, -0.5), ValueError, "gamma.*-0.5"),
    ("StepLR step_size 0", lambda: ours.StepLR(O("sgd"), 0), ValueError, "step_size.*got 0"),
    ("StepLR step_size float", lambda: ours.StepLR(O("sgd"), 2.5), TypeError, "step_size.*2.5"),
    ("MultiStepLR decreasing", lambda: ours.MultiStepLR(O("sgd"), [30, 20]), ValueError,
     r"strictly increasing, got \[30, 20\]"),
    ("MultiStepLR repeated", lambda: ours.MultiStepLR(O("sgd"), [10, 10]), ValueError,
     "strictly increasing"),
    ("MultiStepLR negative", lambda: ours.MultiStepLR(O("sgd"), [-1, 5]), ValueError, "got -1"),
    ("MultiStepLR gamma", lambda: ours.MultiStepLR(O("sgd"), [5], gamma=0.0), ValueError,
     "gamma"),
    ("ExponentialLR gamma", lambda: ours.ExponentialLR(O("sgd"), 0.0), ValueError, "gamma.*0"),
    ("ExponentialDecayLR k", lambda: ours.ExponentialDecayLR(O("sgd"), -1.0), ValueError,
     "k must be.*-1"),
    ("InverseTimeDecayLR k nan", lambda: ours.InverseTimeDecayLR(O("sgd"), math.nan), ValueError,
     "k must be.*nan"),
    ("ConstantLR factor 0", lambda: ours.ConstantLR(O("sgd"), 0.0), ValueError, "factor.*got 0"),
    ("ConstantLR factor 1.5", lambda: ours.ConstantLR(O("sgd"), 1.5), ValueError, "factor.*1.5"),
    ("ConstantLR total_iters", lambda: ours.ConstantLR(O("sgd"), 0.5, 0), ValueError,
     "total_iters.*got 0"),
    ("LinearLR start 0", lambda: ours.LinearLR(O("sgd"), 0.0), ValueError, "start_factor"),
    ("LinearLR end <0", lambda: ours.LinearLR(O("sgd"), 0.5, -0.1), ValueError, "end_factor"),
    ("LinearLR total_iters", lambda: ours.LinearLR(O("sgd"), total_iters=0), ValueError,
     "total_iters"),
    ("PolynomialLR power", lambda: ours.PolynomialLR(O("sgd"), 5, -1.0), ValueError, "power"),
    ("PolynomialLR total_iters", lambda: ours.PolynomialLR(O("sgd"), 0), ValueError,
     "total_iters"),
    ("Cosine T_max 0", lambda: ours.CosineAnnealingLR(O("sgd"), 0), ValueError, "T_max.*got 0"),
    ("Cosine T_max <0", lambda: ours.CosineAnnealingLR(O("sgd"), -5), ValueError, "T_max.*-5"),
    ("Cosine eta_min", lambda: ours.CosineAnnealingLR(O("sgd"), 5, -1e-3), ValueError,
     "eta_min"),
    ("CAWR T_0 0", lambda: ours.CosineAnnealingWarmRestarts(O("sgd"), 0), ValueError, "T_0"),
    ("CAWR T_0 float", lambda: ours.CosineAnnealingWarmRestarts(O("sgd"), 2.5), TypeError,
     "T_0"),
    ("CAWR T_mult 0", lambda: ours.CosineAnnealingWarmRestarts(O("sgd"), 5, 0), ValueError,
     "T_mult"),
    ("CAWR epoch <0", lambda: ours.CosineAnnealingWarmRestarts(O("sgd"), 5).step(-1.0),
     ValueError, "epoch.*-1"),
    ("LambdaLR count", lambda: ours.LambdaLR(O("sgd"), [shrink]), ValueError,
     "one value per param group"),
    ("LambdaLR not callable", lambda: ours.LambdaLR(O("sgd"), 0.5), TypeError, "callable"),
    ("Multiplicative not callable", lambda: ours.MultiplicativeLR(O("sgd"), [shrink, 2]),
     TypeError, "callable"),
    ("OneCycle no length", lambda: ours.OneCycleLR(O("sgd"), 0.1), ValueError, "total_steps"),
    ("OneCycle total 0", lambda: ours.OneCycleLR(O("sgd"), 0.1, 0), ValueError, "total_steps"),
    ("OneCycle epochs 0", lambda: ours.OneCycleLR(O("sgd"), 0.1, epochs=0, steps_per_epoch=5),
     ValueError, "epochs"),
    ("OneCycle pct_start", lambda: ours.OneCycleLR(O("sgd"), 0.1, 100, pct_start=1.5),
     ValueError, "pct_start.*1.5"),
    ("OneCycle anneal", lambda: ours.OneCycleLR(O("sgd"), 0.1, 100, anneal_strategy="cosine"),
     ValueError, "anneal_strategy.*cosine"),
    ("OneCycle div_factor", lambda: ours.OneCycleLR(O("sgd"), 0.1, 100, div_factor=0),
     ValueError, "div_factor"),
    ("OneCycle max_lr count", lambda: ours.OneCycleLR(O("sgd"), [0.1], 100), ValueError,
     "max_lr.*one value per param group"),
    ("OneCycle empty phase", lambda: ours.OneCycleLR(O("sgd"), 0.1, 10, pct_start=0.1),
     ValueError, "no steps"),
    ("OneCycle no momentum", lambda: ours.OneCycleLR(O("plain"), 0.1, 100), ValueError,
     "cycle_momentum"),
    ("Cyclic mode", lambda: ours.CyclicLR(O("sgd"), 0.01, 0.1, mode="sine"), ValueError,
     "mode.*sine"),
    ("Cyclic step_size_up", lambda: ours.CyclicLR(O("sgd"), 0.01, 0.1, 0), ValueError,
     "step_size_up"),
    ("Cyclic base_lr count", lambda: ours.CyclicLR(O("sgd"), [0.01] * 3, 0.1), ValueError,
     "base_lr"),
    ("Cyclic scale_fn", lambda: ours.CyclicLR(O("sgd"), 0.01, 0.1, scale_fn=3), TypeError,
     "scale_fn"),
    ("Cyclic scale_mode", lambda: ours.CyclicLR(O("sgd"), 0.01, 0.1, scale_fn=damped,
                                                scale_mode="epochs"), ValueError, "scale_mode"),
    ("Cyclic no momentum", lambda: ours.CyclicLR(O("plain"), 0.01, 0.1), ValueError,
     "cycle_momentum"),
    ("Sequential count", lambda: ours.SequentialLR(o := O("sgd"), [ours.StepLR(o, 3)], [5]),
     ValueError, "one milestone fewer"),
    ("Sequential order", lambda: ours.SequentialLR(
        o := O("sgd"), [ours.StepLR(o, 3), ours.StepLR(o, 4), ours.StepLR(o, 5)], [20, 10]),
     ValueError, "strictly increasing"),
    ("Sequential empty", lambda: ours.SequentialLR(O("sgd"), [], []), ValueError,
     "at least one"),
    ("Sequential other optimizer", lambda: ours.SequentialLR(
        o := O("sgd"), [ours.StepLR(o, 3), other_scheduler(ours, o)], [5]), ValueError,
     "another optimizer"),
    ("Sequential plateau", lambda: ours.SequentialLR(
        o := O("sgd"), [ours.StepLR(o, 3), ours.ReduceLROnPlateau(o)], [5]), ValueError,
     "ReduceLROnPlateau"),
    ("Sequential nested", lambda: ours.SequentialLR(
        o := O("sgd"), [ours.StepLR(o, 3), ours.ChainedScheduler([ours.StepLR(o, 4)])], [5]),
     ValueError, "ChainedScheduler"),
    ("Sequential not scheduler", lambda: ours.SequentialLR(o := O("sgd"), [ours.StepLR(o, 3),
                                                                           "cosine"], [5]),
     TypeError, "not an LRScheduler"),
    ("Chained empty", lambda: ours.ChainedScheduler([]), ValueError, "at least one"),
    ("Chained other optimizer", lambda: ours.ChainedScheduler(
        [ours.StepLR(o := O("sgd"), 3), other_scheduler(ours, o)]), ValueError,
     "another optimizer"),
    ("Chained plateau", lambda: ours.ChainedScheduler([ours.ReduceLROnPlateau(O("sgd"))]),
     ValueError, "ReduceLROnPlateau"),
    # The scheduler protocol, not the class: any scheduler that monitors a metric is refused.
    ("Chained monitor", lambda: ours.ChainedScheduler([ours.StepLR(
        o := O("sgd"), 3), _monitoring(ours.ExponentialLR(o, 0.9), "val_accuracy")]),
     ValueError, r"ExponentialLR \(index 1\): its step needs a metric \('val_accuracy'\)"),
    ("Plateau mode", lambda: ours.ReduceLROnPlateau(O("sgd"), mode="minimum"), ValueError,
     "mode.*minimum"),
    ("Plateau threshold_mode", lambda: ours.ReduceLROnPlateau(O("sgd"), threshold_mode="r"),
     ValueError, "threshold_mode"),
    ("Plateau factor 1", lambda: ours.ReduceLROnPlateau(O("sgd"), factor=1.0), ValueError,
     r"factor must be in \[0, 1\), got 1.0"),
    ("Plateau factor <0", lambda: ours.ReduceLROnPlateau(O("sgd"), factor=-0.1), ValueError,
     "factor"),
    ("Plateau patience", lambda: ours.ReduceLROnPlateau(O("sgd"), patience=-1), ValueError,
     "patience.*-1"),
    ("Plateau cooldown", lambda: ours.ReduceLROnPlateau(O("sgd"), cooldown=-2), ValueError,
     "cooldown.*-2"),
    ("Plateau min_lr count", lambda: ours.ReduceLROnPlateau(O("sgd"), min_lr=[0.1]), ValueError,
     "min_lr"),
    ("Plateau min_lr <0", lambda: ours.ReduceLROnPlateau(O("sgd"), min_lr=-1.0), ValueError,
     "min_lr"),
    ("Plateau metric shape", lambda: ours.ReduceLROnPlateau(O("sgd")).step(np.ones(2)),
     ValueError, r"shape \(2,\)"),
    ("group added", step_after_new_group, ValueError, "3 param groups.*built for 2"),
    ("foreign state", load_foreign_state, ValueError, "missing keys"),
    ("step_lr step <0", lambda: schedules.step_lr(-1, 0.1, 3), ValueError, "step.*-1"),
    ("multi_step_lr order", lambda: schedules.multi_step_lr(3, 0.1, [5, 2]), ValueError,
     "strictly increasing"),
    ("one_cycle past end", lambda: schedules.one_cycle(11, 10, 0.1, 1.0, 0.0), ValueError,
     "past the end"),
    ("cosine T_max", lambda: schedules.cosine_annealing(3, 0.1, 0), ValueError, "T_max"),
]


@pytest.mark.parametrize("build, error, match", [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_bad_arguments_raise_naming_the_value(build: Callable, error: type,
                                              match: str) -> None:
    with pytest.raises(error, match=match):
        build()
