"""Optimizers and learning-rate schedules by name, for the `steepest` command and `fit`.

`make_optimizer("momentum", model, lr=0.1)` is `SGD(model's trainable parameters, lr=0.1,
momentum=0.9)`; `make_scheduler("cosine", optimizer, total_steps=8000, steps_per_epoch=40)` is
`(CosineAnnealingLR(optimizer, T_max=8000), "step")`. Every default below can be overridden by
keyword (`make_scheduler("step", opt, ..., gamma=0.5)`); an option the class lacks raises
TypeError naming the ones it takes, an unknown name raises ValueError listing the valid names.

Schedules are sized from `total_steps` (the number of optimizer steps in the run) and are
stepped once per optimizer step (interval "step"), except "plateau", which watches the validation
loss once per epoch (interval "epoch"). Their recipes:

    constant       ConstantLR(factor=1): the lr never changes (a real scheduler, so a trainer
                   needs no special case and checkpoints have a state)
    step           StepLR(step_size=ceil(total_steps / 3), gamma=0.1): two drops, by 10x each
    multistep      MultiStepLR(milestones=[50%, 75%] of total_steps, gamma=0.1)
    exponential    ExponentialLR(gamma=0.01^(1/total_steps)): the lr falls 100x by the end
    cosine         CosineAnnealingLR(T_max=total_steps, eta_min=0)
    warmup-cosine  LinearLR from 1% of the lr up over the first 5% of the steps
                   (warmup_steps, warmup_start_factor), then cosine to eta_min over the rest
                   (SequentialLR)
    onecycle       OneCycleLR(max_lr=each group's lr, total_steps); momentum (or Adam's beta1)
                   cycles 0.95 → 0.85 → 0.95 only if every group already uses momentum or betas
    inverse-time   InverseTimeDecayLR(k=9/total_steps): α0 / (1 + k t), a tenth of α0 at the end
                   (the lectures' 1/t decay; PyTorch has no class for it)
    plateau        ReduceLROnPlateau with PyTorch's defaults (factor 0.1, patience 10), per epoch
    cyclic         CyclicLR triangles between lr/10 and lr, step_size_up = 4 epochs of steps
                   (Smith 2017 suggests 2-10), at most half the run; momentum cycles as onecycle
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from steepest._suggest import did_you_mean
from steepest.optim.spec import preset_names

__all__ = ["OPTIMIZERS", "SCHEDULES", "make_optimizer", "make_scheduler"]

#: Optimizer names `make_optimizer` accepts: every spec's presets (`steepest.optim.spec`).
OPTIMIZERS = preset_names()

#: Schedule names `make_scheduler` accepts.
SCHEDULES = ("constant", "step", "multistep", "exponential", "cosine", "warmup-cosine",
             "onecycle", "inverse-time", "plateau", "cyclic")
#: The schedules not shaped by the run's length: a resumed run may go on past it unasked.
UNSIZED_SCHEDULES = ("constant", "plateau")


def schedule_name(name: Any) -> str:
    """A schedule's canonical name in `SCHEDULES` ("1cycle" -> "onecycle"); ValueError if none."""
    return _normalise(name, "schedule", SCHEDULES)


def _normalise(name: Any, kind: str, valid: tuple[str, ...]) -> str:
    """A schedule's canonical name (aliases such as "1cycle" accepted)."""
    key = str(name).strip().lower().replace("_", "-") if isinstance(name, str) else None
    aliases = {"warmup-cos": "warmup-cosine", "one-cycle": "onecycle", "1cycle": "onecycle",
               "multi-step": "multistep", "inverse": "inverse-time", "1/t": "inverse-time",
               "none": "constant", "reduce-on-plateau": "plateau"}
    key = aliases.get(key, key) if key is not None else None
    if key not in valid:
        raise ValueError(f"unknown {kind} {name!r}{did_you_mean(str(key), valid)}; choose from "
                         f"{list(valid)}")
    return key


def _check_options(where: str, cls: Any, options: dict[str, Any],
                   skip: Iterable[str] = ("self", "params", "optimizer", "last_epoch")) -> None:
    accepted = [n for n, p in inspect.signature(cls).parameters.items()
                if n not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(f"{where}: unknown option(s) {unknown}; {cls.__name__} takes {accepted}")


# ---------------------------------------------------------------------------- optimizers
def make_optimizer(name: str, params: Any, *, lr: float, weight_decay: float | None = None,
                   **options: Any):
    """An optimizer by name: a spec's class with its preset's options ("momentum" is SGD with
    momentum=0.9, "nesterov" adds nesterov=True; see `OPTIMIZERS` or `steepest.optim.spec`).

    params: a Module (its trainable parameters, by name, so optimizer state is saved by name),
    an iterable of Tensors or (name, Tensor) pairs, or param group dicts (e.g. from
    `param_groups_by_lr` or `nn.utils.param_groups_weight_decay`).
    weight_decay: None keeps the class's default (PyTorch's: 0, except AdamW's 1e-2).
    options: the class's other keyword arguments (momentum=0.8, betas=(0.9, 0.99), ...).
    A spec that takes only some parameters (Muon: matrices) gets those, and its fallback
    (AdamW, with the same lr and weight_decay) the others: one `MultiOptimizer`.
    """
    from steepest.nn.module import Module
    from steepest.optim.spec import find_preset

    spec, preset = find_preset(name)
    key = preset.name
    cls = spec.optimizer_class
    kwargs = {**preset.options, **options}
    if weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    _check_options(f"make_optimizer({key!r})", cls, kwargs, skip=("self", "params"))
    if isinstance(params, Module):
        params = [(n, p) for n, p in params.named_parameters() if p.requires_grad]
        if not params:
            raise ValueError(f"make_optimizer({key!r}): the model has no trainable parameters "
                             f"(all frozen?); unfreeze some first")
    if spec.param_ndim is not None and spec.fallback is not None:
        params = list(params)
        if params and not isinstance(params[0], dict):
            return _with_fallback(spec, key, params, lr, weight_decay, kwargs)
    return cls(params, lr=lr, **kwargs)


def _with_fallback(spec: Any, key: str, params: list, lr: float, weight_decay: float | None,
                   kwargs: dict[str, Any]) -> Any:
    """The spec's optimizer over the parameters it takes (param_ndim dimensions) and its
    fallback's over the others, as one MultiOptimizer (Muon with AdamW)."""
    from steepest.optim.multi import MultiOptimizer
    from steepest.optim.spec import find_preset

    def ndim(item: Any) -> int:
        return (item[1] if isinstance(item, tuple) else item).data.ndim

    mine = [p for p in params if ndim(p) == spec.param_ndim]
    others = [p for p in params if ndim(p) != spec.param_ndim]
    if not mine:
        raise ValueError(f"make_optimizer({key!r}): {spec.name} takes {spec.param_ndim}-D "
                         f"parameters and the model has none; choose another optimizer")
    main = spec.optimizer_class(mine, lr=lr, **kwargs)
    if not others:
        return main
    fallback, preset = find_preset(spec.fallback)
    extra = {} if weight_decay is None else {"weight_decay": weight_decay}
    return MultiOptimizer([main, fallback.optimizer_class(others, lr=lr, **preset.options,
                                                          **extra)])


# ---------------------------------------------------------------------------- schedules
def _cycle_momentum(optimizer: Any) -> bool:
    """Cycle momentum only where every group already uses it (betas, or momentum > 0):
    cycling SGD's momentum of 0 would silently turn momentum on."""
    groups = optimizer.param_groups
    return (all("betas" in g for g in groups)
            or all(g.get("momentum", 0) > 0 for g in groups))


def _with(defaults: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    merged.update(options)
    return merged


def _warmup_cosine(optimizer: Any, total_steps: int, options: dict[str, Any]):
    from steepest.optim import lr_scheduler as S

    allowed = ("warmup_steps", "warmup_start_factor", "eta_min")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"make_scheduler('warmup-cosine'): unknown option(s) {unknown}; it takes "
                        f"{list(allowed)}")
    if total_steps < 2:
        raise ValueError(f"make_scheduler('warmup-cosine'): total_steps must be >= 2 (a warm-up "
                         f"and a decay), got {total_steps}")
    warmup = options.get("warmup_steps", max(1, round(0.05 * total_steps)))
    if isinstance(warmup, bool) or not isinstance(warmup, int) or not 1 <= warmup < total_steps:
        raise ValueError(f"make_scheduler('warmup-cosine'): warmup_steps must be an integer in "
                         f"[1, total_steps) = [1, {total_steps}), got {warmup!r}")
    start = options.get("warmup_start_factor", 0.01)
    warm = S.LinearLR(optimizer, start_factor=start, end_factor=1.0, total_iters=warmup)
    cosine = S.CosineAnnealingLR(optimizer, T_max=total_steps - warmup,
                                 eta_min=options.get("eta_min", 0.0))
    return S.SequentialLR(optimizer, [warm, cosine], milestones=[warmup])


def make_scheduler(name: str, optimizer: Any, *, total_steps: int, steps_per_epoch: int,
                   monitor: str | None = None, **options: Any) -> tuple[Any, str]:
    """A learning-rate scheduler by name and when to step it: (scheduler, interval).

    name: one of `SCHEDULES` (recipes in the module docstring). total_steps: optimizer steps in
    the whole run; steps_per_epoch: optimizer steps per epoch. interval (the scheduler's own
    `interval`) "step": call `scheduler.step()` after every `optimizer.step()`; "epoch"
    (plateau): `scheduler.step(logs[scheduler.monitor])` once per epoch. monitor: the logged
    metric a schedule that watches one follows (plateau; default its own, "val_loss").
    options override the recipe's arguments.
    Build it after the optimizer's param groups are final: per-group learning rates are each
    scheduled from their own value.
    """
    from steepest.optim import lr_scheduler as S
    from steepest.optim.schedules import check_int

    key = schedule_name(name)
    where = f"make_scheduler({key!r})"
    check_int(where, "total_steps", total_steps)
    check_int(where, "steps_per_epoch", steps_per_epoch)
    lrs = [group["lr"] for group in optimizer.param_groups]
    builders: dict[str, tuple[Callable[..., Any], Callable[[], dict[str, Any]]]] = {
        "constant": (S.ConstantLR, lambda: {"factor": 1.0, "total_iters": 1}),
        "step": (S.StepLR, lambda: {"step_size": max(1, -(-total_steps // 3)), "gamma": 0.1}),
        "multistep": (S.MultiStepLR, lambda: {
            "milestones": sorted({max(1, total_steps // 2), max(2, (3 * total_steps) // 4)}),
            "gamma": 0.1}),
        "exponential": (S.ExponentialLR, lambda: {"gamma": 0.01 ** (1.0 / total_steps)}),
        "cosine": (S.CosineAnnealingLR, lambda: {"T_max": total_steps, "eta_min": 0.0}),
        "onecycle": (S.OneCycleLR, lambda: {
            "max_lr": lrs if len(lrs) > 1 else lrs[0], "total_steps": total_steps,
            "cycle_momentum": _cycle_momentum(optimizer)}),
        "inverse-time": (S.InverseTimeDecayLR, lambda: {"k": 9.0 / total_steps}),
        "plateau": (S.ReduceLROnPlateau, dict),
        "cyclic": (S.CyclicLR, lambda: {
            "base_lr": [lr / 10 for lr in lrs], "max_lr": list(lrs),
            "step_size_up": max(1, min(4 * steps_per_epoch, total_steps // 2)),
            "cycle_momentum": _cycle_momentum(optimizer)}),
    }
    if key == "warmup-cosine":
        scheduler = _warmup_cosine(optimizer, total_steps, options)
        return scheduler, scheduler.interval
    cls, defaults = builders[key]
    _check_options(where, cls, options)
    recipe = _with(defaults(), options)
    if monitor is not None and "monitor" in inspect.signature(cls).parameters:
        recipe.setdefault("monitor", monitor)
    scheduler = cls(optimizer, **recipe)
    return scheduler, scheduler.interval
