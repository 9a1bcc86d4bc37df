"""`RandomSearch`: the zeroth-order baseline of lecture 001, probing random directions."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from steepest.autograd.grad_mode import no_grad
from steepest.optim.optimizer import Optimizer
from steepest.random import get_generator


class RandomSearch(Optimizer):
    """Random-direction search: "probe random directions, progress if you find a useful one".

    Uses loss values only, never gradients, so it can be compared with gradient methods by the
    number of function evaluations. One `step(closure)`:

        f₀ = f(w)                          (reused from the last step when w has not changed)
        for k = 1..num_directions:  d_k ~ N(0, I) over ALL parameters jointly, ‖d_k‖ = 1
                                    f_k = f(w + lr·d_k)          (lr: each group's step length)
        w ← w + lr·d_best   if min_k f_k < f₀, else w stays

    params, lr: as every optimizer (lr is per group, so a scheduler can shrink it).
    num_directions: probes per step (>= 1).  generator: numpy Generator for the directions
    (default: steepest's seeded one, see `steepest.manual_seed`).
    The closure must return the loss (a number or a one-element Tensor); it is called with
    gradients disabled, so it must not call backward(). `num_evaluations` counts its calls;
    `last_loss` is the loss at the current point after the last step.
    """

    _state_type = None  # no per-parameter state: the directions are drawn fresh every step
    needs_closure = True  # its step evaluates the loss itself (without gradients)

    def __init__(self, params: Any, lr: float = 1e-2, num_directions: int = 1, *,
                 generator: np.random.Generator | None = None) -> None:
        if isinstance(num_directions, bool) or not isinstance(num_directions, (int, np.integer)):
            raise TypeError(f"Invalid num_directions: {num_directions!r} (must be an integer)")
        if num_directions < 1:
            raise ValueError(f"Invalid num_directions: {num_directions} (must be >= 1)")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(
                f"Invalid generator: {generator!r} (must be a numpy.random.Generator or None)"
            )
        super().__init__(params, dict(lr=lr))
        self.num_directions = int(num_directions)
        self._generator = generator
        self.num_evaluations = 0
        self.num_steps = 0
        self.last_loss: float | None = None
        self._last_point: list[np.ndarray] | None = None

    def _evaluate(self, closure: Callable[[], Any]) -> float:
        with no_grad():
            loss = closure()
        self.num_evaluations += 1
        return float(loss)

    def step(self, closure: Callable[[], Any] | None = None) -> float:
        """Probe, move if a probe improves; return the loss at the starting point f₀."""
        if closure is None:
            raise ValueError(
                "RandomSearch.step needs a closure that returns the loss: it uses loss values, "
                "not gradients"
            )
        params = [(p, float(group["lr"])) for group in self.param_groups for p in group["params"]]
        origin = [p.data.copy() for p, _ in params]
        # f₀ is the last step's best loss unless someone moved the parameters in between.
        unchanged = self._last_point is not None and len(self._last_point) == len(origin) and all(
            np.array_equal(a, b) for a, b in zip(origin, self._last_point, strict=True)
        )
        start = self.last_loss if unchanged else self._evaluate(closure)
        generator = get_generator(self._generator)
        best, best_steps = start, None
        for _ in range(self.num_directions):
            steps = [generator.standard_normal(p.data.shape) for p, _ in params]
            norm = math.sqrt(sum(float(np.vdot(d, d)) for d in steps))
            for (param, lr), step, w0 in zip(params, steps, origin, strict=True):
                step *= lr / norm
                np.add(w0, step, out=param.data)
            loss = self._evaluate(closure)
            if loss < best:
                best, best_steps = loss, steps
        if best_steps is None:
            best_steps = [np.zeros(p.data.shape) for p, _ in params]
        for (param, _), w0, step in zip(params, origin, best_steps, strict=True):
            np.add(w0, step, out=param.data)
        self.num_steps += 1
        self.last_loss = best
        self._last_point = [p.data.copy() for p, _ in params]
        return start

    def _extra_state(self) -> dict[str, Any]:
        return {"search": {
            "num_directions": self.num_directions,
            "num_evaluations": self.num_evaluations,
            "num_steps": self.num_steps,
            "generator": get_generator(self._generator).bit_generator.state,
        }}

    def _load_extra_state(self, state_dict: Mapping[str, Any]) -> None:
        search = state_dict.get("search")
        if search is None:
            return
        self.num_directions = int(search["num_directions"])
        self.num_evaluations = int(search["num_evaluations"])
        self.num_steps = int(search["num_steps"])
        get_generator(self._generator).bit_generator.state = search["generator"]
        self._last_point = None
