"""An exponential moving average (EMA) of a model's weights, for evaluation and checkpoints.

Polyak averaging with exponential weights: after each optimizer step,

    shadow ← decay · shadow + (1 − decay) · param

so the shadow weights average roughly the last 1 / (1 − decay) steps and smooth out the noise of
stochastic gradients; evaluating with them is often better than with the last weights.

PyTorch's equivalent is `torch.optim.swa_utils.AveragedModel(model,
multi_avg_fn=get_ema_multi_avg_fn(decay))`. Its first `update_parameters(model)` copies the
weights and only later calls apply the formula; here the shadow starts as a copy of the weights
when the `ExponentialMovingAverage` is built, and every `update()` applies the formula. The two
give the same numbers when AveragedModel's first update is made at that moment (the test does
this). `warmup=True` uses TensorFlow's (and torch_ema's) schedule of the decay,
min(decay, (1 + n) / (10 + n)) at the n-th update, so that early on the average follows the
weights faster.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from steepest.nn.module import Module, _to_numpy

__all__ = ["ExponentialMovingAverage"]

_SHADOW = "shadow."  # prefix of the averaged arrays in state_dict()


class ExponentialMovingAverage:
    """Shadow copies of `model`'s parameters, averaged by `update()` after each step.

    decay: in [0, 1]; 0.999 averages about the last 1000 steps. Floating-point parameters are
    averaged; other parameters and all buffers (BatchNorm's running statistics) are copied from
    the model at each update, so the shadow is a complete state dict of the averaged model.

    Usage:
        ema = ExponentialMovingAverage(model, decay=0.999)
        for x, y in loader:
            ...; optimizer.step(); ema.update()
        with ema.average_parameters():      # evaluate with the averaged weights
            evaluate(model)
    """

    def __init__(self, model: Module, decay: float = 0.999, *, warmup: bool = False) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"ExponentialMovingAverage needs a Module, got {type(model).__name__}")
        self._check_decay(decay)
        self.model = model
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.num_updates = 0
        # keyed by state_dict name: parameters, then buffers
        self.shadow: OrderedDict[str, np.ndarray] = OrderedDict(
            (name, array.copy()) for name, array in model.state_dict().items()
        )
        self._averaged = {name for name, param in model.named_parameters()
                          if np.issubdtype(param.data.dtype, np.floating)}

    @staticmethod
    def _check_decay(decay: Any) -> None:
        if isinstance(decay, bool) or not isinstance(decay, (int, float, np.floating)) \
                or not 0.0 <= decay <= 1.0:
            raise ValueError(f"ExponentialMovingAverage: decay must be in [0, 1], got {decay!r}")

    def current_decay(self) -> float:
        """The decay the next `update()` uses: decay, or with warmup min(decay, (1+n)/(10+n))."""
        if self.warmup:
            n = self.num_updates + 1
            return min(self.decay, (1.0 + n) / (10.0 + n))
        return self.decay

    def _state_of(self, model: Module) -> OrderedDict:
        state = model.state_dict()
        if state.keys() != self.shadow.keys():
            missing = [k for k in self.shadow if k not in state]
            extra = [k for k in state if k not in self.shadow]
            raise ValueError(
                f"ExponentialMovingAverage: the model's state_dict keys differ from the ones it "
                f"was built with (missing {missing}, new {extra}); build a new average after "
                f"changing the model (e.g. after replace_head)"
            )
        for name, array in state.items():
            if array.shape != self.shadow[name].shape:
                raise ValueError(
                    f"ExponentialMovingAverage: {name!r} has shape {array.shape} in the model "
                    f"but {self.shadow[name].shape} in the average"
                )
        return state

    def update(self, model: Module | None = None) -> None:
        """Average the current weights in: shadow ← shadow + (1 − decay)(param − shadow).

        (The same as decay · shadow + (1 − decay) · param, computed as PyTorch's lerp does.)
        model: the model to read (default: the one given at construction).
        """
        state = self._state_of(self.model if model is None else model)
        weight = 1.0 - self.current_decay()
        for name, array in state.items():
            shadow = self.shadow[name]
            if name in self._averaged:
                delta = np.subtract(array, shadow, dtype=shadow.dtype)
                delta *= shadow.dtype.type(weight)
                shadow += delta
            else:
                shadow[...] = array
        self.num_updates += 1

    def copy_to(self, model: Module | None = None) -> None:
        """Write the averaged weights (and the copied buffers) into `model` (default: the
        tracked model), e.g. before saving it or for a final evaluation."""
        state = self._state_of(self.model if model is None else model)
        for name, array in state.items():
            array[...] = self.shadow[name]

    @contextlib.contextmanager
    def average_parameters(self, model: Module | None = None) -> Iterator[Module]:
        """Within the block, `model` (default: the tracked one) holds the averaged weights; on
        exit its own weights and buffers are restored exactly, even after an exception."""
        target = self.model if model is None else model
        backup = OrderedDict((name, array.copy())
                             for name, array in self._state_of(target).items())
        self.copy_to(target)
        try:
            yield target
        finally:
            for name, array in target.state_dict().items():
                array[...] = backup[name]

    def state_dict(self) -> dict[str, Any]:
        """{"decay", "warmup", "num_updates", "shadow.<state_dict key>": array copy, ...}.

        Flat, so a checkpoint writer can store the arrays as tensors and the rest as JSON.
        """
        state: dict[str, Any] = {"decay": self.decay, "warmup": self.warmup,
                                 "num_updates": self.num_updates}
        for name, array in self.shadow.items():
            state[_SHADOW + name] = array.copy()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a `state_dict()`; names and shapes must match this model's. Nothing changes
        unless every check passes."""
        where = "ExponentialMovingAverage.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{where}: expected a dict, got {type(state_dict).__name__}")
        scalars = {"decay", "warmup", "num_updates"}
        shadow = {key[len(_SHADOW):]: value for key, value in state_dict.items()
                  if key.startswith(_SHADOW)}
        unknown = sorted(k for k in state_dict if k not in scalars and not k.startswith(_SHADOW))
        lacking = sorted({"decay", "num_updates"} - set(state_dict))
        if unknown or lacking:
            raise ValueError(f"{where}: unknown keys {unknown}, missing keys {lacking}; expected "
                             f"{sorted(scalars)} and 'shadow.<name>' arrays")
        if set(shadow) != set(self.shadow):
            raise ValueError(
                f"{where}: the saved average has keys {sorted(set(shadow) - set(self.shadow))} "
                f"the model lacks and lacks {sorted(set(self.shadow) - set(shadow))}"
            )
        values = {}
        for name, ours in self.shadow.items():
            array = _to_numpy(shadow[name])
            if array.shape != ours.shape:
                raise ValueError(f"{where}: {name!r} has shape {array.shape} in the saved "
                                 f"average but {ours.shape} in the model")
            values[name] = array
        self._check_decay(state_dict["decay"])
        self.decay = float(state_dict["decay"])
        self.warmup = bool(state_dict.get("warmup", False))
        self.num_updates = int(state_dict["num_updates"])
        for name, array in values.items():
            self.shadow[name][...] = array

    def __repr__(self) -> str:
        return (f"ExponentialMovingAverage(decay={self.decay}, warmup={self.warmup}, "
                f"num_updates={self.num_updates})")
