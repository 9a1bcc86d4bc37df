"""Optimizers and schedules by name (`steepest.optim.registry`) against PyTorch 2.13's classes."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from conftest import assert_close

from steepest import nn, optim
from steepest.optim import lr_scheduler as S
from steepest.optim.registry import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler
from steepest.optim.spec import find_preset
from steepest.tensor import Tensor

T = torch.optim
TS = torch.optim.lr_scheduler

def torch_twin(name):
    """The torch.optim class and options equal to a preset, or None when torch has none (an
    algorithm PyTorch lacks, an option it lacks, or a step that needs a closure / 2-D params)."""
    spec, preset = find_preset(name)
    cls = getattr(T, spec.name, None)
    if cls is None or spec.needs_closure or spec.param_ndim is not None:
        return None
    accepted = inspect.signature(cls).parameters
    if not set(preset.options) <= set(accepted):
        return None
    return cls, dict(preset.options)


TWINS = [name for name in OPTIMIZERS if torch_twin(name) is not None]


def test_presets_with_a_torch_twin_include_torchs_own_optimizers():
    assert {"sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamw",
            "nadam"} <= set(TWINS)


def run_quadratic(ours_opt, ours_param, theirs_opt, theirs_param, target, steps=4):
    for _ in range(steps):
        ours_opt.zero_grad()
        ours_param.grad = 2 * (ours_param.data - target)
        ours_opt.step()
        theirs_opt.zero_grad()
        theirs_param.grad = 2 * (theirs_param.detach() - torch.tensor(target))
        theirs_opt.step()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_name_builds_its_specs_class_with_its_options(name):
    spec, preset = find_preset(name)
    param = nn.Parameter(np.zeros((2, 3)))
    opt = make_optimizer(name.upper(), [param], lr=0.01)
    assert type(opt) is spec.optimizer_class and opt.spec is spec
    for key, value in {**spec.defaults, **preset.options, "lr": 0.01}.items():
        assert opt.defaults[key] == value, key


@pytest.mark.parametrize("name", TWINS)
def test_optimizer_by_name_steps_like_pytorch(name):
    rng = np.random.default_rng(0)
    start, target = rng.standard_normal(6), rng.standard_normal(6)
    ours = nn.Parameter(start.copy())
    theirs = torch.nn.Parameter(torch.tensor(start))
    opt = make_optimizer(name, [ours], lr=0.01)
    cls, options = torch_twin(name)
    reference = cls([theirs], lr=0.01, **options)
    for key, value in reference.defaults.items():
        if key in opt.defaults and not isinstance(value, bool | type(None)):
            assert opt.defaults[key] == pytest.approx(value), key
    # PyTorch keeps NAdam's mu_product in the default dtype: float64 for a float64 comparison
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        run_quadratic(opt, ours, reference, theirs, target)
    finally:
        torch.set_default_dtype(previous)
    assert_close(ours, theirs)


def test_optimizer_options_and_weight_decay():
    param = nn.Parameter(np.zeros(3))
    opt = make_optimizer("momentum", [param], lr=0.1, momentum=0.8, weight_decay=1e-4)
    assert opt.defaults["momentum"] == 0.8 and opt.defaults["weight_decay"] == 1e-4
    assert make_optimizer("adamw", [param], lr=0.1).defaults["weight_decay"] == 1e-2
    assert make_optimizer("adamw", [param], lr=0.1, weight_decay=0.0).defaults[
        "weight_decay"] == 0.0
    adam = make_optimizer("adam", [param], lr=0.1, betas=(0.8, 0.9), amsgrad=True)
    assert adam.defaults["betas"] == (0.8, 0.9) and adam.defaults["amsgrad"] is True


def test_optimizer_from_module_takes_trainable_parameters_by_name():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    opt = make_optimizer("sgd", model, lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["0.bias", "2.weight", "2.bias"]
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        make_optimizer("sgd", model, lr=0.1)


def test_optimizer_errors():
    param = nn.Parameter(np.zeros(3))
    with pytest.raises(ValueError) as info:
        make_optimizer("adamaxx", [param], lr=0.1)
    for name in OPTIMIZERS:
        assert repr(name) in str(info.value)
    with pytest.raises(TypeError, match=r"\['momentum_decay'\].*Adam takes"):
        make_optimizer("adam", [param], lr=0.1, momentum_decay=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        make_optimizer("sgd", [param], lr=-1.0)


# ---------------------------------------------------------------------------- schedules
TOTAL = 60


def torch_pair(lrs=(0.1,), momentum=0.9):
    """An optimizer of ours and torch's SGD with one group per lr."""
    ours_params = [nn.Parameter(np.zeros(2)) for _ in lrs]
    theirs_params = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
    ours = optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ours_params, lrs, strict=True)],
                     lr=lrs[0], momentum=momentum)
    theirs = T.SGD([{"params": [p], "lr": lr} for p, lr in zip(theirs_params, lrs, strict=True)],
                   lr=lrs[0], momentum=momentum)
    return ours, theirs


def warmup_cosine(opt):
    warm = max(1, round(0.05 * TOTAL))
    return TS.SequentialLR(opt, [TS.LinearLR(opt, 0.01, 1.0, warm),
                                 TS.CosineAnnealingLR(opt, TOTAL - warm)], [warm])


# name, our class, torch's scheduler built on a torch optimizer
SCHEDULE_CASES = [
    ("constant", S.ConstantLR, lambda opt: TS.ConstantLR(opt, factor=1.0, total_iters=1)),
    ("step", S.StepLR, lambda opt: TS.StepLR(opt, step_size=-(-TOTAL // 3), gamma=0.1)),
    ("multistep", S.MultiStepLR,
     lambda opt: TS.MultiStepLR(opt, milestones=[TOTAL // 2, 3 * TOTAL // 4], gamma=0.1)),
    ("exponential", S.ExponentialLR, lambda opt: TS.ExponentialLR(opt, 0.01 ** (1 / TOTAL))),
    ("cosine", S.CosineAnnealingLR, lambda opt: TS.CosineAnnealingLR(opt, T_max=TOTAL)),
    ("warmup-cosine", S.SequentialLR, warmup_cosine),
    ("onecycle", S.OneCycleLR,
     lambda opt: TS.OneCycleLR(opt, max_lr=[g["lr"] for g in opt.param_groups],
                               total_steps=TOTAL)),
    ("inverse-time", S.InverseTimeDecayLR,
     lambda opt: TS.LambdaLR(opt, lambda t: 1 / (1 + 9 * t / TOTAL))),
    ("cyclic", S.CyclicLR,
     lambda opt: TS.CyclicLR(opt, base_lr=[g["lr"] / 10 for g in opt.param_groups],
                             max_lr=[g["lr"] for g in opt.param_groups], step_size_up=20)),
]


def test_every_schedule_has_a_case():
    assert sorted([c[0] for c in SCHEDULE_CASES] + ["plateau"]) == sorted(SCHEDULES)


@pytest.mark.parametrize("name, cls, torch_scheduler", SCHEDULE_CASES,
                         ids=[c[0] for c in SCHEDULE_CASES])
@pytest.mark.parametrize("lrs", [(0.1,), (0.1, 0.02)], ids=["one group", "two groups"])
def test_schedule_lrs_match_pytorch(name, cls, torch_scheduler, lrs):
    ours_opt, theirs_opt = torch_pair(lrs)
    # steps_per_epoch 5: cyclic's step_size_up is 4 epochs = 20 steps (< TOTAL / 2)
    scheduler, interval = make_scheduler(name, ours_opt, total_steps=TOTAL, steps_per_epoch=5)
    assert type(scheduler) is cls and interval == "step"
    reference = torch_scheduler(theirs_opt)
    ours_lrs, their_lrs, ours_mom, their_mom = [], [], [], []
    for _ in range(TOTAL):
        ours_lrs.append([g["lr"] for g in ours_opt.param_groups])
        their_lrs.append([g["lr"] for g in theirs_opt.param_groups])
        ours_mom.append([g["momentum"] for g in ours_opt.param_groups])
        their_mom.append([g["momentum"] for g in theirs_opt.param_groups])
        theirs_opt.step()
        reference.step()
        scheduler.step()
    np.testing.assert_allclose(ours_lrs, their_lrs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours_mom, their_mom, rtol=1e-12)


def test_schedule_shapes():
    """The recipes' promises: the lr of the last step (89) and the end value (step 90)."""
    runs = {}
    for name, last, end in [("exponential", 0.01 ** (89 / 90), 0.01),
                            ("inverse-time", 1 / (1 + 9 * 89 / 90), 0.1),
                            ("step", 0.01, 0.001), ("multistep", 0.01, 0.01),
                            ("cosine", (1 + math.cos(math.pi * 89 / 90)) / 2, 0.0)]:
        opt, _ = torch_pair((0.5,))
        scheduler, _ = make_scheduler(name, opt, total_steps=90, steps_per_epoch=9)
        lrs = runs[name] = []
        for _ in range(91):
            lrs.append(opt.param_groups[0]["lr"])
            scheduler.step()
        assert lrs[89] == pytest.approx(0.5 * last, abs=1e-12), name
        assert lrs[90] == pytest.approx(0.5 * end, abs=1e-12), name
    # step drops at 1/3 and 2/3 of the run; multistep at 1/2 and 3/4
    assert (runs["step"][29], runs["step"][30]) == (0.5, pytest.approx(0.05))
    assert (runs["step"][59], runs["step"][60]) == (pytest.approx(0.05), pytest.approx(0.005))
    assert (runs["multistep"][44], runs["multistep"][45]) == (0.5, pytest.approx(0.05))
    assert runs["multistep"][66] == pytest.approx(0.05)  # 3·90 // 4 = 67
    assert runs["multistep"][67] == pytest.approx(0.005)


def test_onecycle_and_cyclic_leave_plain_sgd_momentum_alone():
    for name in ("onecycle", "cyclic"):
        opt, _ = torch_pair((0.1,), momentum=0.0)
        scheduler, _ = make_scheduler(name, opt, total_steps=20, steps_per_epoch=2)
        assert scheduler.cycle_momentum is False
        for _ in range(10):
            scheduler.step()
        assert opt.param_groups[0]["momentum"] == 0.0
    param = nn.Parameter(np.zeros(2))
    adam = make_optimizer("adam", [param], lr=0.01)
    scheduler, _ = make_scheduler("onecycle", adam, total_steps=20, steps_per_epoch=2)
    assert scheduler.cycle_momentum is True and adam.param_groups[0]["betas"][0] == 0.95


def test_plateau_is_per_epoch_with_pytorch_defaults():
    opt, theirs_opt = torch_pair((0.1,))
    scheduler, interval = make_scheduler("plateau", opt, total_steps=100, steps_per_epoch=10,
                                         patience=2)
    assert type(scheduler) is S.ReduceLROnPlateau and interval == "epoch"
    assert (scheduler.factor, scheduler.patience, scheduler.mode) == (0.1, 2, "min")
    reference = TS.ReduceLROnPlateau(theirs_opt, patience=2)
    for loss in [1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.95, 0.96, 0.97, 0.98]:
        scheduler.step(loss)
        reference.step(loss)
        assert opt.param_groups[0]["lr"] == pytest.approx(theirs_opt.param_groups[0]["lr"])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.001)


def test_schedule_options_override_the_recipe():
    opt, _ = torch_pair((1.0,))
    scheduler, _ = make_scheduler("step", opt, total_steps=90, steps_per_epoch=9, gamma=0.5,
                                  step_size=10)
    assert (scheduler.step_size, scheduler.gamma) == (10, 0.5)
    opt, _ = torch_pair((1.0,))
    scheduler, _ = make_scheduler("warmup-cosine", opt, total_steps=100, steps_per_epoch=10,
                                  warmup_steps=10, warmup_start_factor=0.1, eta_min=0.01)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        scheduler.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[10] == pytest.approx(1.0)
    assert lrs[5] == pytest.approx(0.1 + 0.9 * 5 / 10)
    assert lrs[55] == pytest.approx(0.01 + 0.99 * (1 + math.cos(math.pi * 45 / 90)) / 2)


def test_schedule_errors():
    opt, _ = torch_pair((0.1,))
    with pytest.raises(ValueError) as info:
        make_scheduler("linear-decay", opt, total_steps=10, steps_per_epoch=1)
    for name in SCHEDULES:
        assert repr(name) in str(info.value)
    with pytest.raises(TypeError, match=r"\['T_max'\].*StepLR takes"):
        make_scheduler("step", opt, total_steps=10, steps_per_epoch=1, T_max=3)
    with pytest.raises(TypeError, match="warmup_steps"):
        make_scheduler("warmup-cosine", opt, total_steps=10, steps_per_epoch=1, warmup=3)
    with pytest.raises(ValueError, match="warmup_steps"):
        make_scheduler("warmup-cosine", opt, total_steps=10, steps_per_epoch=1, warmup_steps=10)
    with pytest.raises(ValueError, match="total_steps"):
        make_scheduler("cosine", opt, total_steps=0, steps_per_epoch=1)
    with pytest.raises(TypeError, match="steps_per_epoch"):
        make_scheduler("cosine", opt, total_steps=10, steps_per_epoch=2.5)


def test_tiny_runs_still_build():
    for name in SCHEDULES:
        opt, _ = torch_pair((0.1,))
        steps = 2 if name in ("warmup-cosine", "onecycle") else 1
        scheduler, _ = make_scheduler(name, opt, total_steps=steps, steps_per_epoch=1)
        for _ in range(steps):
            scheduler.step(1.0) if name == "plateau" else scheduler.step()
        assert np.isfinite(opt.param_groups[0]["lr"])


def test_names_are_tensors_free():
    # params given as a plain list of steepest Tensors that require grad work too
    t = Tensor(np.zeros(2), requires_grad=True)
    assert isinstance(make_optimizer("rmsprop", [t], lr=0.1), optim.RMSprop)


def test_step_schedule_drops_twice_whatever_the_length():
    for total in (8000, 60, 7, 3):
        model = nn.Linear(2, 2)
        opt = make_optimizer("sgd", model.parameters(), lr=1.0)
        scheduler, _ = make_scheduler("step", opt, total_steps=total, steps_per_epoch=1)
        lrs = set()
        for _ in range(total):
            lrs.add(round(opt.param_groups[0]["lr"], 12))
            opt.step()
            scheduler.step()
        assert lrs == {1.0, 0.1, 0.01}, total
