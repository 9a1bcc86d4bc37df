"""Checking what a request sends, field by field, and laying numbers out as JSON: the pieces the
race, the network and the dashboard share. A mistake raises `BadRequest` with a message naming
the field; the app answers 400 with it."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

#: Integer options are bounded: some cost a function evaluation each per step (the random
#: search's directions, LBFGS's iterations).
MAX_INT_OPTION = 100


class BadRequest(ValueError):
    """A request the server refuses with 400 and this message."""


def jsonable(values: Any) -> Any:
    """A float array as nested lists, NaN and ±inf as null (JSON has no such numbers)."""
    array = np.asarray(values, dtype=np.float64)
    if np.isfinite(array).all():
        return array.tolist()
    return np.where(np.isfinite(array), array, None).tolist()


def number(value: Any, where: str) -> float:
    """A finite JSON number (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise BadRequest(f"{where} must be a finite number, got {value!r}")
    return float(value)


def integer(value: Any, where: str, low: int, high: int) -> int:
    """A JSON integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not low <= value <= high:
        raise BadRequest(f"{where} must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def option_value(where: str, value: Any, default: Any) -> Any:
    """One hyperparameter from JSON, of the type of its default; an option whose default is
    None takes null, an integer, a number or a short string (LBFGS's max_eval, Muon's
    adjust_lr_fn), and so does a None inside a tuple (Adafactor's eps). The optimizer checks
    the value's range itself."""
    if default is None:
        if value is None or isinstance(value, str) and len(value) <= 100:
            return value
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return integer(value, where, 0, MAX_INT_OPTION)
        return number(value, where)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise BadRequest(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or len(value) != len(default):
            raise BadRequest(f"{where} must be a list of {len(default)} numbers, got {value!r}")
        return tuple(None if v is None and d is None else number(v, where)
                     for v, d in zip(value, default, strict=True))
    if isinstance(default, int):
        return integer(value, where, 0, MAX_INT_OPTION)
    if isinstance(default, float):
        return number(value, where)
    if not isinstance(value, str) or len(value) > 100:
        raise BadRequest(f"{where} must be a short string, got {value!r}")
    return value


def hyperparameters(optimizer: str, given: Any, where: str) -> dict[str, Any]:
    """A lab optimizer's options from JSON ({"lr": 0.05, "betas": [0.8, 0.99]}), each typed as
    its default (`lab.optimizer_options`); lr must be positive. where: how the message names
    them ("optimizers", "options")."""
    from steepest.lab import optimizer_options

    if not isinstance(given, dict):
        raise BadRequest(f"{where} of {optimizer} must be an object, got {given!r}")
    defaults = optimizer_options(optimizer)
    options: dict[str, Any] = {}
    for key, value in given.items():
        field = f"{where}: {optimizer}.{key}"
        if key == "lr":
            options["lr"] = number(value, field)
            if options["lr"] <= 0:
                raise BadRequest(f"{field} must be positive, got {value}")
        elif key in defaults:
            options[key] = option_value(field, value, defaults[key])
        else:
            raise BadRequest(f"{where}: {optimizer} has no option {key!r}; it takes "
                             f"{', '.join(['lr', *defaults])}")
    return options
