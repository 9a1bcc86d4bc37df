"""Gradient clipping (`clip_grad_norm_`, `clip_grad_value_`) and weight-decay param groups."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from steepest.nn.module import Module
from steepest.tensor import Tensor

__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
    "param_groups_weight_decay",
]

# Normalisation layers by class name: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, RMSNorm, ...
_NORM_CLASS = re.compile(r"Norm(\d+d)?$")


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grad_arrays(parameters: list[Tensor]) -> list[np.ndarray]:
    grads = []
    for param in parameters:
        if not isinstance(param, Tensor):
            raise TypeError(f"expected Tensors (parameters), got {type(param).__name__}")
        if param.grad is not None:
            grads.append(param.grad.data if isinstance(param.grad, Tensor) else param.grad)
    return grads


def _norm_type(norm_type: Any) -> float:
    if isinstance(norm_type, str) and norm_type.lower() == "inf":
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"norm_type must be a number or 'inf', got {norm_type!r}")
    return float(norm_type)


def _vector_norm(x: np.ndarray, p: float) -> np.ndarray:
    """‖x‖_p of x flattened, as a 0-d array of x's dtype (PyTorch's `linalg.vector_norm`).

    p = inf: max |x|;  p = −inf: min |x|;  p = 0: number of non-zeros;  else (Σ|x|^p)^(1/p).
    """
    flat = x.reshape(-1)
    if p == math.inf:
        return np.max(np.abs(flat)) if flat.size else np.zeros((), x.dtype)
    if p == -math.inf:
        return np.min(np.abs(flat)) if flat.size else np.array(math.inf, x.dtype)
    if p == 0:
        return np.asarray(np.count_nonzero(flat), dtype=x.dtype)
    if p == 1:
        return np.sum(np.abs(flat))
    if p == 2:
        return np.sqrt(np.dot(flat, flat))  # one BLAS call, no |x|² temporary
    return np.sum(np.abs(flat) ** p) ** (1.0 / p)


def get_total_norm(tensors: np.ndarray | Tensor | Iterable[Any], norm_type: float | str = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """The p-norm of all `tensors` (gradient arrays or Tensors) seen as one long vector.

    Computed as PyTorch does: the norm of the vector of each tensor's norm. Returns a 0-d Tensor
    (0.0 when there are no tensors). error_if_nonfinite: raise RuntimeError on a nan/inf total.
    """
    if isinstance(tensors, (np.ndarray, Tensor)):
        tensors = [tensors]
    arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
    p = _norm_type(norm_type)
    if not arrays:
        return Tensor(np.zeros((), np.float32))
    dtype = np.result_type(*arrays)
    norms = np.array([_vector_norm(a, p) for a in arrays], dtype=dtype)
    total = _vector_norm(norms, p)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite "
            "norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor | float) -> None:
    """Scale every gradient in place by min(max_norm / (total_norm + 1e-6), 1) (PyTorch's rule).

    The 1e-6 keeps a zero norm from dividing by zero; the factor is applied even when it is 1.
    """
    _check_limit(max_norm, "max_norm")
    grads = _grad_arrays(_as_list(parameters))
    if not grads:
        return
    total = total_norm.data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    # Keep the coefficient in the norm's dtype, as PyTorch does (float32 stays float32).
    coef = np.minimum(float(max_norm) / (total + 1e-6), 1.0)
    # A non-finite norm gives coef 0 or nan, and inf·0 = nan: that is the documented outcome
    # (as in PyTorch) when error_if_nonfinite is off, not something to warn about.
    with np.errstate(invalid="ignore"):
        for grad in grads:
            grad *= coef


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Rescale the gradients so that their joint p-norm is at most max_norm; in place.

    parameters: a Tensor or an iterable of Tensors (those whose .grad is None are skipped).
    norm_type: p (2, 1, any positive number, or inf / 'inf').  Each gradient g (any shape) becomes
    g · min(max_norm / (‖all grads‖_p + 1e-6), 1). Returns the norm before clipping (0-d Tensor).
    error_if_nonfinite: raise RuntimeError, before touching any gradient, if that norm is nan/inf
    (otherwise the gradients become nan, as in PyTorch). A negative max_norm is a ValueError
    (PyTorch would silently flip the gradients' sign).
    """
    _check_limit(max_norm, "max_norm")
    parameters = _as_list(parameters)
    total = get_total_norm(_grad_arrays(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place (nan stays nan).

    A negative clip_value is a ValueError (PyTorch would set every element to clip_value).
    """
    _check_limit(clip_value, "clip_value")
    limit = float(clip_value)
    for grad in _grad_arrays(_as_list(parameters)):
        np.clip(grad, -limit, limit, out=grad)


def _check_limit(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if not value >= 0:
        raise ValueError(f"{what} must be >= 0, got {value}")


def param_groups_weight_decay(module: Module, weight_decay: float = 1e-2,
                              no_weight_decay_list: Iterable[str] = (), *,
                              named: bool = True) -> list[dict[str, Any]]:
    """Two param groups for an optimizer: decayed weights, and parameters exempt from decay.

    Exempt (weight_decay 0.0): biases (parameters named "bias"), every parameter of a
    normalisation layer (a module whose class name ends in "Norm" or "Norm<k>d": BatchNorm1d,
    LayerNorm, GroupNorm, ...), and parameters whose full name is in `no_weight_decay_list` or
    starts with one of its entries followed by "." (a whole submodule). Frozen parameters
    (requires_grad False) are left out. Shrinking a bias or a norm layer's scale towards 0 does
    not reduce overfitting, it only fights the layer's normalisation.

    Returns [{"params": decayed, "weight_decay": weight_decay}, {"params": exempt,
    "weight_decay": 0.0}]; with named=True the params are (name, Tensor) pairs, so the optimizer
    keeps the names and matches saved state by name. Usage: AdamW(param_groups_weight_decay(m)).
    """
    if not isinstance(module, Module):
        raise TypeError(f"param_groups_weight_decay needs a Module, got {type(module).__name__}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, numbers.Real):
        raise TypeError(f"Invalid weight_decay value: {weight_decay!r} (must be a number)")
    if not weight_decay >= 0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay} (must be >= 0)")
    skip = tuple(no_weight_decay_list)
    decay: list[Any] = []
    exempt: list[Any] = []
    seen: set[int] = set()
    for prefix, sub in module.named_modules():
        is_norm = any(_NORM_CLASS.search(cls.__name__) for cls in type(sub).__mro__)
        for short_name, param in sub._parameters.items():
            if param is None or id(param) in seen or not param.requires_grad:
                continue
            seen.add(id(param))
            name = f"{prefix}.{short_name}" if prefix else short_name
            skipped = any(name == s or name.startswith(s + ".") for s in skip)
            entry = (name, param) if named else param
            if is_norm or short_name == "bias" or skipped:
                exempt.append(entry)
            else:
                decay.append(entry)
    return [
        {"params": decay, "weight_decay": float(weight_decay)},
        {"params": exempt, "weight_decay": 0.0},
    ]
