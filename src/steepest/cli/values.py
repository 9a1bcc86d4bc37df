"""Value parsers shared by the `steepest` subcommands: each argparse `type=` names what it wants
and the value it got, so a mistake is one line."""

from __future__ import annotations

import argparse
import math

from steepest.cli import UsageError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def names(text: str, option: str, valid: tuple[str, ...] | list[str]) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError(f"{option} needs at least one name; choose from {', '.join(valid)}")
    for name in names:
        if name not in valid:
            raise UsageError(f"{option}: unknown name {name!r}; choose from {', '.join(valid)}")
    if len(set(names)) != len(names):
        raise UsageError(f"{option} lists a name twice: {text!r}")
    return names
