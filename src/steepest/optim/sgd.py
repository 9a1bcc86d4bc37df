"""`SGD`: plain gradient descent, PyTorch's momentum and Nesterov, the lecture's momentum form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steepest.optim import rules
from steepest.optim.optimizer import Optimizer, check_bool, check_number


class SGD(Optimizer):
    """Stochastic gradient descent, with `torch.optim.SGD`'s options; rule: `rules.sgd_update`.

    lr: step size α.  momentum: μ (PyTorch form) or γ (lecture form).  dampening: scales new
    gradients by (1 − dampening) in the PyTorch form.  weight_decay: L2 penalty λ (g ← g + λw).
    nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).  maximize: ascend.
    momentum_form: "pytorch" (v = μv + g, w −= lr·v; lecture 004's ρ form) or "lecture"
    (v = γv + ηg, w −= v; lecture 001, Sutskever et al., Keras). They agree while lr is constant
    and differ once it changes: see `rules.sgd_update`.
    """

    _rule = staticmethod(rules.sgd_update)
    _rule_options = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize",
                     "momentum_form")
    _init = staticmethod(rules.sgd_init)
    _state_type = rules.SGDState

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, momentum_form: str = "pytorch") -> None:
        super().__init__(params, dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize, momentum_form=momentum_form,
        ))

    @classmethod
    def _check_options(cls, options: Mapping[str, Any]) -> None:
        super()._check_options(options)
        check_number(options["momentum"], "momentum value")
        check_number(options["dampening"], "dampening value", high=1.0)
        check_number(options["weight_decay"], "weight_decay value")
        check_bool(options["nesterov"], "nesterov")
        check_bool(options["maximize"], "maximize")
        form = options["momentum_form"]
        if form not in rules.MOMENTUM_FORMS:
            raise ValueError(
                f"Invalid momentum_form: {form!r} (must be one of {rules.MOMENTUM_FORMS})"
            )
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening "
                f"(got momentum={options['momentum']}, dampening={options['dampening']})"
            )
        if form == "lecture" and options["dampening"] != 0:
            raise ValueError(
                f"Invalid dampening value: {options['dampening']} (momentum_form='lecture' "
                f"has no dampening; use momentum_form='pytorch')"
            )
