"""What the `steepest` subcommands share: value parsers (each argparse `type=` names what it
wants and the value it got, so a mistake is one line), loading `--data`, and the studies' report
and tables."""

from __future__ import annotations

import argparse
import math
from typing import Any

from steepest._suggest import did_you_mean
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


def unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def positive_numbers(text: str, option: str) -> list[float]:
    """Comma-separated positive finite numbers (an --lr-grid, GEM's --kappa list)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise UsageError(f"{option}: expected comma-separated positive numbers, got {text!r}")
    return values


def names(text: str, option: str, valid: tuple[str, ...] | list[str]) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError(f"{option} needs at least one name; choose from {', '.join(valid)}")
    for name in names:
        if name not in valid:
            raise UsageError(f"{option}: unknown name {name!r}{did_you_mean(name, valid)}; "
                             f"choose from {', '.join(valid)}")
    if len(set(names)) != len(names):
        raise UsageError(f"{option} lists a name twice: {text!r}")
    return names


def add_style_option(parser: argparse.ArgumentParser) -> None:
    """--style: the figures' style (steepest.figures.STYLES, spelled out here so that building
    the parser imports no plotting); `steepest` draws the whole command in it."""
    parser.add_argument("--style", choices=("default", "slide"), default="default",
                        help="figure style: default, or slide (16:9, large fonts, to project)")


def load_data(args: argparse.Namespace) -> Any:
    """The `data.Split` named by --data (and --data-dir); a missing file or unknown name is a
    UsageError naming it."""
    from steepest.data import load_dataset

    try:
        return load_dataset(args.data, root=args.data_dir)
    except FileNotFoundError as error:
        raise UsageError(f"--data {args.data}: {str(error).strip(chr(39) + chr(34))}") from None
    except (ValueError, ImportError) as error:
        raise UsageError(f"--data: {error}") from None


def start_report(title: str, out: Any, command: str, config: dict[str, Any]) -> Any:
    """A `lab.Report` for a study, opened with the exact command and its config."""
    from steepest.lab.report import Report

    report = Report(title, out)
    report.command(command)
    report.config(config)
    return report


def print_table(report: Any, rows: list[dict[str, Any]], caption: str) -> None:
    """The table into the report and, as Markdown, onto stdout."""
    from steepest.lab.report import markdown_table

    report.table(rows, caption=caption)
    print(f"\n{caption}\n")
    print(markdown_table(rows))
    print()
