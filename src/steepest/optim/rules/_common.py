"""Pieces several rules share: the out buffer, the effective gradient, PyTorch-exact lerp and
squared moving averages, and the validators most specs use."""

from __future__ import annotations

import numpy as np

from steepest.optim.spec import Option, flag, number


def buffer(out: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """The caller's `out` (checked) or a new array shaped and typed like `like`."""
    if out is None:
        return np.empty_like(like)
    if out.shape != like.shape or out.dtype != like.dtype:
        raise ValueError(
            f"update rule: out has shape {out.shape} and dtype {out.dtype} but the parameter has "
            f"shape {like.shape} and dtype {like.dtype}"
        )
    return out


def check_grad(grad: np.ndarray, param: np.ndarray) -> None:
    if grad.shape != param.shape:
        raise ValueError(
            f"update rule: gradient has shape {grad.shape} but the parameter has shape "
            f"{param.shape}"
        )


def effective_grad(grad: np.ndarray, param: np.ndarray, weight_decay: float,
                   maximize: bool) -> np.ndarray:
    """g = ±grad + λ·w (L2 weight decay folded into the gradient, as PyTorch does).

    Returns `grad` itself (no copy) when neither option is on: callers never write into it.
    """
    check_grad(grad, param)
    if not maximize and weight_decay == 0.0:
        return grad
    # Always through out=: on 0-d arrays NumPy would otherwise hand back scalars.
    g = np.empty_like(param)
    if weight_decay == 0.0:
        return np.negative(grad, out=g)
    np.multiply(param, weight_decay, out=g)
    if maximize:
        return np.subtract(g, grad, out=g)
    return np.add(grad, g, out=g)


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray) -> None:
    """start ← start + weight·(end − start), in place, rounded exactly as PyTorch's `lerp_`.

    PyTorch switches to end − (end − start)·(1 − weight) for |weight| ≥ 0.5 (better rounding
    near weight = 1); doing the same keeps float32 runs bit-for-bit close to PyTorch's.
    `scratch` (overwritten) must be a third array, neither `start` nor `end`.
    """
    np.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1.0 - weight
        np.subtract(end, scratch, out=start)


def lerp(start: np.ndarray, end: np.ndarray, weight: float, out: np.ndarray) -> np.ndarray:
    """out ← start + weight·(end − start), rounded as PyTorch's `torch.lerp` (see `lerp_`)."""
    np.subtract(end, start, out=out)
    if abs(weight) < 0.5:
        out *= weight
        return np.add(start, out, out=out)
    out *= 1.0 - weight
    return np.subtract(end, out, out=out)


def ema_(avg: np.ndarray, value: np.ndarray, decay: float, scratch: np.ndarray) -> None:
    """avg ← decay·avg + (1 − decay)·value, in place (optax's update_moment)."""
    avg *= decay
    np.multiply(value, 1.0 - decay, out=scratch)
    avg += scratch


def ema_square_(avg: np.ndarray, grad: np.ndarray, decay: float, scratch: np.ndarray) -> None:
    """avg ← decay·avg + (1 − decay)·g², in place (PyTorch: mul_(decay).addcmul_(g, g, 1-decay))."""
    avg *= decay
    np.multiply(grad, 1.0 - decay, out=scratch)
    scratch *= grad
    avg += scratch


def zeros_if_none(array: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.zeros_like(like) if array is None else array


# ---------------------------------------------------------------------------- common options
def lr_option(default: float, doc: str = "learning rate (step size)") -> Option:
    return Option("lr", default, number("learning rate"), doc)


def eps_option(default: float, doc: str) -> Option:
    return Option("eps", default, number("epsilon value"), doc)


def weight_decay_option(default: float = 0.0, doc: str = "L2 penalty λ: g ← g + λ·w") -> Option:
    return Option("weight_decay", default, number("weight_decay value"), doc)


MAXIMIZE = Option("maximize", False, flag("maximize"),
                  "ascend the objective (the rule uses −g)", keyword_only=True)
