"""Adaptive-step optimizers: `Adagrad`, `Adadelta`, `RMSprop`, `Adam`, `AdamW`, `NAdam`.

Each class is PyTorch's constructor and options in front of one rule of `steepest.optim.rules`,
where the formula and the conventions it follows (and the options to follow others) are written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steepest.optim import rules
from steepest.optim.optimizer import Optimizer, check_betas, check_bool, check_number


class Adagrad(Optimizer):
    """AdaGrad, with `torch.optim.Adagrad`'s options; rule: `rules.adagrad_update`.

    lr, lr_decay (η_t = lr / (1 + (t−1)·lr_decay)), weight_decay (L2), initial_accumulator_value
    (start of Σg²: PyTorch 0, Keras/optax 0.1), eps, maximize, eps_inside_sqrt (Keras/optax put ε
    inside √). Unlike PyTorch, a group's own initial_accumulator_value is honoured (PyTorch always
    uses the constructor's).
    """

    _rule = staticmethod(rules.adagrad_update)
    _rule_options = ("lr", "lr_decay", "weight_decay", "eps", "maximize", "eps_inside_sqrt")
    _init = staticmethod(rules.adagrad_init)
    _init_options = ("initial_accumulator_value",)
    _state_type = rules.AdagradState

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False,
                 eps_inside_sqrt: bool = False) -> None:
        super().__init__(params, dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize,
            eps_inside_sqrt=eps_inside_sqrt,
        ))

    @classmethod
    def _check_options(cls, options: Mapping[str, Any]) -> None:
        super()._check_options(options)
        check_number(options["lr_decay"], "lr_decay value")
        check_number(options["weight_decay"], "weight_decay value")
        check_number(options["initial_accumulator_value"], "initial_accumulator_value value")
        check_number(options["eps"], "epsilon value")
        check_bool(options["maximize"], "maximize")
        check_bool(options["eps_inside_sqrt"], "eps_inside_sqrt")


class Adadelta(Optimizer):
    """Adadelta, with `torch.optim.Adadelta`'s options; rule: `rules.adadelta_update`.

    lr (scales the update; 1.0 is the paper's), rho (decay of both averages), eps (inside both
    square roots, as everywhere), weight_decay (L2), maximize.
    """

    _rule = staticmethod(rules.adadelta_update)
    _rule_options = ("lr", "rho", "eps", "weight_decay", "maximize")
    _init = staticmethod(rules.adadelta_init)
    _state_type = rules.AdadeltaState

    def __init__(self, params: Any, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        super().__init__(params, dict(
            lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
        ))

    @classmethod
    def _check_options(cls, options: Mapping[str, Any]) -> None:
        super()._check_options(options)
        check_number(options["rho"], "rho value", high=1.0)
        check_number(options["eps"], "epsilon value")
        check_number(options["weight_decay"], "weight_decay value")
        check_bool(options["maximize"], "maximize")


class RMSprop(Optimizer):
    """RMSProp, with `torch.optim.RMSprop`'s options; rule: `rules.rmsprop_update`.

    lr, alpha (decay of E[g²]), eps, weight_decay (L2), momentum (buffer b = μb + g/d, w −= lr·b),
    centered (divide by the estimated variance E[g²] − E[g]²), maximize, eps_inside_sqrt
    (Keras/optax put ε inside √).
    """

    _rule = staticmethod(rules.rmsprop_update)
    _rule_options = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize",
                     "eps_inside_sqrt")
    _init = staticmethod(rules.rmsprop_init)
    _init_options = ("momentum", "centered")
    _state_type = rules.RMSpropState

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False, eps_inside_sqrt: bool = False) -> None:
        super().__init__(params, dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize, eps_inside_sqrt=eps_inside_sqrt,
        ))

    @classmethod
    def _check_options(cls, options: Mapping[str, Any]) -> None:
        super()._check_options(options)
        check_number(options["eps"], "epsilon value")
        check_number(options["momentum"], "momentum value")
        check_number(options["weight_decay"], "weight_decay value")
        check_number(options["alpha"], "alpha value")
        check_bool(options["centered"], "centered")
        check_bool(options["maximize"], "maximize")
        check_bool(options["eps_inside_sqrt"], "eps_inside_sqrt")


class Adam(Optimizer):
    """Adam, with `torch.optim.Adam`'s options; rule: `rules.adam_update`.

    lr, betas (β₁, β₂), eps, weight_decay (L2, or decoupled as AdamW with
    decoupled_weight_decay=True), amsgrad, maximize; beyond PyTorch: bias_correction (False is
    the lecture's first version), eps_inside_sqrt (optax's eps_root) and
    eps_before_bias_correction (Keras/TF: ε added to √v before the bias correction).
    """

    _rule = staticmethod(rules.adam_update)
    _rule_options = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                     "decoupled_weight_decay", "bias_correction", "eps_inside_sqrt",
                     "eps_before_bias_correction")
    _init = staticmethod(rules.adam_init)
    _init_options = ("amsgrad",)
    _state_type = rules.AdamState

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False,
                 bias_correction: bool = True, eps_inside_sqrt: bool = False,
                 eps_before_bias_correction: bool = False) -> None:
        super().__init__(params, dict(
            lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
            weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay, bias_correction=bias_correction,
            eps_inside_sqrt=eps_inside_sqrt, eps_before_bias_correction=eps_before_bias_correction,
        ))

    @classmethod
    def _check_options(cls, options: Mapping[str, Any]) -> None:
        super()._check_options(options)
        check_number(options["eps"], "epsilon value")
        check_betas(options["betas"])
        check_number(options["weight_decay"], "weight_decay value")
        for flag in ("amsgrad", "maximize", "decoupled_weight_decay", "bias_correction",
                     "eps_inside_sqrt", "eps_before_bias_correction"):
            check_bool(options[flag], flag)


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay w ← w − lr·λ·w (`torch.optim.AdamW`'s options).

    Same rule and options as `Adam` with decoupled_weight_decay=True and weight_decay=1e-2.
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, bias_correction: bool = True,
                 eps_inside_sqrt: bool = False, eps_before_bias_correction: bool = False) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
            decoupled_weight_decay=True, bias_correction=bias_correction,
            eps_inside_sqrt=eps_inside_sqrt, eps_before_bias_correction=eps_before_bias_correction,
        )


class NAdam(Optimizer):
    """NAdam, with `torch.optim.NAdam`'s options; rule: `rules.nadam_update`.

    lr, betas, eps, weight_decay (L2, or decoupled with decoupled_weight_decay=True),
    momentum_decay (ψ of the momentum schedule μ_t = β₁(1 − ½·0.96^(tψ))), maximize.
    """

    _rule = staticmethod(rules.nadam_update)
    _rule_options = ("lr", "betas", "eps", "weight_decay", "momentum_decay",
                     "decoupled_weight_decay", "maximize")
    _init = staticmethod(rules.nadam_init)
    _state_type = rules.NAdamState

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, dict(
            lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
            weight_decay=weight_decay, momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
        ))

    @classmethod
    def _check_options(cls, options: Mapping[str, Any]) -> None:
        super()._check_options(options)
        check_number(options["eps"], "epsilon value")
        check_betas(options["betas"])
        check_number(options["weight_decay"], "weight_decay value")
        check_number(options["momentum_decay"], "momentum_decay value")
        check_bool(options["decoupled_weight_decay"], "decoupled_weight_decay")
        check_bool(options["maximize"], "maximize")
