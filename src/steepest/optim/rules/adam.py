"""Adam and AdamW: momentum and RMSProp together, with bias correction; weight decay L2 or
decoupled."""

from __future__ import annotations

import math
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
from steepest.optim.spec import OptimizerSpec, Option, Preset, betas, flag

__all__ = ["ADAMW_SPEC", "ADAM_SPEC", "AdamState", "adam_init", "adam_update"]


class AdamState(NamedTuple):
    """Adam's state: t, first moment m, second moment v, and AMSGrad's running max of v."""

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray | None = None


def adam_init(param: np.ndarray, amsgrad: bool) -> AdamState:
    """t = 0, m = v = 0 (arrays shaped like param); AMSGrad's running max (zeros) if amsgrad."""
    return AdamState(0, np.zeros_like(param), np.zeros_like(param),
                     np.zeros_like(param) if amsgrad else None)


def adam_update(grad: np.ndarray, state: AdamState, param: np.ndarray, *, lr: float,
                betas: tuple[float, float], eps: float, weight_decay: float, amsgrad: bool,
                maximize: bool, decoupled_weight_decay: bool, bias_correction: bool,
                eps_inside_sqrt: bool, eps_before_bias_correction: bool,
                out: np.ndarray | None = None) -> tuple[np.ndarray, AdamState]:
    """Adam (Kingma & Ba 2015, Algorithm 1; lecture 004), AMSGrad and AdamW.  Arrays: shape S.

        t ← t + 1
        m ← β₁ m + (1 − β₁) g                       (first moment: the velocity)
        v ← β₂ v + (1 − β₂) g²                      (second moment: AdaGrad/RMSProp's term)
        amsgrad:  v_max ← max(v_max, v), and v_max replaces v below
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)        (bias correction; off: m̂ = m, v̂ = v)
        w ← w − lr · m̂ / (√v̂ + ε)                   PyTorch, and the lecture (ε = 1e-7)

    ε conventions (options; with bias_correction=False the last two coincide with the first two):
        eps_inside_sqrt=True:             w ← w − lr · m̂ / √(v̂ + ε)   (optax's eps_root)
        eps_before_bias_correction=True:  w ← w − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)
                                          (the paper's efficient form, Keras/TF's Adam)
    Weight decay: L2 by default (g ← g + λw, PyTorch's Adam); `decoupled_weight_decay=True` is
    AdamW (Loshchilov & Hutter): w ← w − lr·λ·w beside the Adam step (w is the pre-step value).
    bias_correction=False is the lecture's first version, whose first steps are much larger.

    g = grad (negated when maximize). Returns (delta, new_state).
    """
    beta1, beta2 = float(betas[0]), float(betas[1])
    lr = float(lr)
    eps = float(eps)
    weight_decay = float(weight_decay)
    step = state.step + 1
    delta = buffer(out, param)
    g = effective_grad(grad, param, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    exp_avg, exp_avg_sq = state.exp_avg, state.exp_avg_sq
    lerp_(exp_avg, g, 1.0 - beta1, delta)
    ema_square_(exp_avg_sq, g, beta2, delta)
    max_exp_avg_sq = state.max_exp_avg_sq
    second = exp_avg_sq
    if amsgrad:
        max_exp_avg_sq = zeros_if_none(max_exp_avg_sq, param)
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    if bias_correction:
        correction1 = 1.0 - beta1**step
        correction2 = 1.0 - beta2**step
    else:
        correction1 = correction2 = 1.0
    # delta = −s · m / denominator, with the scale s and the ε placement of the chosen convention.
    if eps_before_bias_correction:
        scale = lr * math.sqrt(correction2) / correction1
        square_divisor = 1.0
    else:
        scale = lr / correction1
        square_divisor = correction2
    if scale == 0.0:
        delta.fill(0.0)  # lr = 0: the moments still move, the parameters do not
    elif eps_inside_sqrt:
        np.divide(second, square_divisor, out=delta)
        delta += eps
        np.sqrt(delta, out=delta)
        np.divide(exp_avg, delta, out=delta)
        delta *= -scale
    else:
        # Fold −s into the denominator: m / (√v·(1/(r·(−s))) + ε/(−s)) = −s·m/(√v/r + ε), which
        # saves one pass over the arrays on the hot path.
        np.sqrt(second, out=delta)
        delta *= 1.0 / (math.sqrt(square_divisor) * -scale)
        delta += eps / -scale
        np.divide(exp_avg, delta, out=delta)
    if decoupled_weight_decay and weight_decay != 0.0:
        delta -= (lr * weight_decay) * param
    return delta, AdamState(step, exp_avg, exp_avg_sq, max_exp_avg_sq)


def _options(weight_decay: float, *, decoupled_option: bool) -> tuple[Option, ...]:
    """Adam's options; AdamW's are the same but for weight decay (decoupled, default 1e-2)."""
    decay_doc = ("decoupled weight decay: w −= lr·λ·w (AdamW)" if not decoupled_option
                 else "L2 penalty g += λw, or decoupled with decoupled_weight_decay")
    options = [
        lr_option(1e-3),
        Option("betas", (0.9, 0.999), betas(), "(β₁, β₂): decay of m and of v"),
        eps_option(1e-8, "added to √v̂"),
        weight_decay_option(weight_decay, decay_doc),
        Option("amsgrad", False, flag("amsgrad"), "divide by the running max of v (AMSGrad)"),
        MAXIMIZE,
    ]
    if decoupled_option:
        options.append(Option("decoupled_weight_decay", False, flag("decoupled_weight_decay"),
                               "weight decay as AdamW: w −= lr·λ·w", keyword_only=True))
    options += [
        Option("bias_correction", True, flag("bias_correction"),
               "divide m and v by 1 − βᵗ (False: the lecture's first version)",
               keyword_only=True),
        Option("eps_inside_sqrt", False, flag("eps_inside_sqrt"),
               "√(v̂ + ε) instead of √v̂ + ε (optax's eps_root)", keyword_only=True),
        Option("eps_before_bias_correction", False, flag("eps_before_bias_correction"),
               "ε added to √v before the bias correction (Keras/TF)", keyword_only=True),
    ]
    return tuple(options)


_PAPER = ("Kingma & Ba 2015, Adam: A Method for Stochastic Optimization, ICLR, "
          "arXiv:1412.6980")

ADAM_SPEC = OptimizerSpec(
    name="Adam",
    summary="Adam: momentum and RMSProp together, bias-corrected",
    formula="m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  w −= lr·m̂/(√v̂ + ε), "
            "m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)",
    paper=_PAPER,
    year=2015,
    state=AdamState,
    init=adam_init,
    update=adam_update,
    options=_options(0.0, decoupled_option=True),
    elementwise=True,
    study_lr=0.01,
    presets=(
        Preset("adam", {}, description="Adam, β = (0.9, 0.999), bias-corrected"),
        Preset("adam-nobias", {"bias_correction": False},
               description="Adam without bias correction (the lecture's first form)"),
    ),
    conventions="PyTorch's: ε outside the root after the bias correction, L2 weight decay "
                "(AdamW's decoupled decay with decoupled_weight_decay=True).",
)

ADAMW_SPEC = OptimizerSpec(
    name="AdamW",
    summary="AdamW: Adam with decoupled weight decay",
    formula="Adam's step, and w −= lr·λ·w",
    paper="Loshchilov & Hutter 2019, Decoupled Weight Decay Regularization, ICLR, "
          "arXiv:1711.05101",
    year=2019,
    state=AdamState,
    init=adam_init,
    update=adam_update,
    options=_options(1e-2, decoupled_option=False),
    elementwise=True,
    study_lr=0.01,
    fixed={"decoupled_weight_decay": True},
    conventions="PyTorch's: the decay uses the weights before the step, scaled by lr.",
)
