"""`steepest race`: optimizers racing on a loss surface. Argument checks here; work in the lab."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

from steepest._suggest import did_you_mean
from steepest.cli import UsageError
from steepest.cli.values import add_style_option

DEFAULT_OPTIMIZERS = "sgd,momentum,nesterov,adagrad,rmsprop,adam"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `race` and its options on an argparse subparsers object; returns its parser."""
    parser = subparsers.add_parser(
        "race",
        help="race optimizers on a 2-D loss surface (table, PNG, GIF)",
        description="Run several optimizers from one start on a loss surface with known minima; "
                    "print final loss, distance to the nearest minimum and the first step within "
                    "tolerance; optionally draw the paths (PNG) and animate them (GIF).",
    )
    parser.add_argument("--list", action="store_true",
                        help="list the surfaces and optimizers, then exit")
    parser.add_argument("--surface", default="rosenbrock",
                        help="surface name, see --list (default: %(default)s)")
    parser.add_argument("--optimizers", default=DEFAULT_OPTIMIZERS,
                        help="comma-separated optimizer names (default: %(default)s)")
    parser.add_argument("--steps", default="500", help="steps per optimizer (default: %(default)s)")
    parser.add_argument("--lr", action="append", default=[], metavar="NAME=VALUE",
                        help="learning rate of one optimizer, over the surface's default "
                             "(repeat for several)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME.KEY=VALUE",
                        help="another hyperparameter of one optimizer, e.g. "
                             "momentum.momentum=0.8 or adam.betas=0.8,0.99 (repeat for several; "
                             "--list shows each optimizer's)")
    parser.add_argument("--start", metavar="X,Y", help="start point (default: the surface's)")
    parser.add_argument("--tol", default="1e-3",
                        help="distance to a minimum that counts as arrived (default: %(default)s)")
    parser.add_argument("--seed", default="0", help="seed of the random search (default: 0)")
    parser.add_argument("--out", metavar="PNG", help="write the contour map with the paths")
    parser.add_argument("--losses", metavar="PNG", help="write the loss-against-step plot")
    parser.add_argument("--gif", metavar="GIF", help="write an animation of the race")
    parser.add_argument("--json", metavar="JSON",
                        help="write every path (points, losses, gradients, hyperparameters) as "
                             "JSON, numbers in full precision")
    parser.add_argument("--frames", default="30", help="frames of the GIF (default: %(default)s)")
    parser.add_argument("--layout", choices=("auto", "overlay", "panels"), default="auto",
                        help="the map: all paths on one (overlay), one per optimizer (panels), "
                             "or panels when paths overlap (auto, the default)")
    add_style_option(parser)
    return parser


def _number(text: str, what: str, *, positive: bool = True) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value) or (positive and value <= 0):
        raise UsageError(f"{what} must be a positive number, got {text!r}")
    return value


def _integer(text: str, what: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{what} must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise UsageError(f"{what} must be between {low} and {high}, got {value}")
    return value


def _output(path: str | None, suffix: str, option: str) -> str | None:
    if path is None:
        return None
    if not path.lower().endswith(suffix):
        raise UsageError(f"{option} {path!r}: the file name must end in {suffix}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path!r}: folder {folder!r} does not exist")
    return path


def _print_list() -> None:
    from steepest.lab import OPTIMIZERS, SURFACES, format_option, get_surface, optimizer_options

    print("surfaces:")
    for name in SURFACES:
        surface = get_surface(name)
        minima = surface.minima
        count = f"{len(minima)} minim{'um' if len(minima) == 1 else 'a'}" if minima else \
            "no minimum"
        print(f"  {name:14s} {surface.expression}  ({surface.dim}-D, {count})")
    print("optimizers (and their --option keys with defaults):")
    for name, spec in OPTIMIZERS.items():
        print(f"  {name:14s} {spec.description}")
        options = ", ".join(f"{k}={format_option(v)}" for k, v in optimizer_options(name).items())
        print(f"  {'':14s}   {options}")


def run(args: argparse.Namespace) -> int:
    """Run `steepest race` from parsed arguments: print the table, write the pictures asked for.
    Raises UsageError (one line for the user) on a bad surface, optimizer, number or path."""
    from steepest.lab import OPTIMIZERS, SURFACES, get_surface, race, race_table

    if args.list:
        _print_list()
        return 0
    if args.surface not in SURFACES:
        raise UsageError(f"unknown surface {args.surface!r}{did_you_mean(args.surface, SURFACES)}"
                         f"; choose one of: {', '.join(SURFACES)}")
    surface = get_surface(args.surface)
    names = [name.strip() for name in args.optimizers.split(",") if name.strip()]
    if not names:
        raise UsageError("--optimizers needs at least one optimizer name")
    for name in names:
        if name not in OPTIMIZERS:
            raise UsageError(
                f"unknown optimizer {name!r}{did_you_mean(name, OPTIMIZERS)}; choose from: "
                f"{', '.join(OPTIMIZERS)}"
            )
    if len(set(names)) != len(names):
        raise UsageError(f"--optimizers lists an optimizer twice: {args.optimizers!r}")
    steps = _integer(args.steps, "--steps", 1, 1_000_000)
    tol = _number(args.tol, "--tol")
    seed = _integer(args.seed, "--seed", 0, 2**63 - 1)
    frames = _integer(args.frames, "--frames", 1, 1000)
    lrs: dict[str, float] = {}
    for item in args.lr:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"--lr {item!r}: expected NAME=VALUE, e.g. --lr adam=0.05")
        if name not in names:
            raise UsageError(f"--lr {item!r}: {name!r} is not racing (racing: {', '.join(names)})")
        lrs[name] = _number(value, f"--lr {name}")
    options = _options(args.option, names)
    start = None
    if args.start is not None:
        parts = args.start.split(",")
        start = [_number(part, "--start coordinate", positive=False) for part in parts]
        if len(start) != surface.dim:
            raise UsageError(
                f"--start {args.start!r}: {surface.name} is {surface.dim}-D, so give "
                f"{surface.dim} coordinate(s)"
            )
    out = _output(args.out, ".png", "--out")
    losses_out = _output(args.losses, ".png", "--losses")
    gif = _output(args.gif, ".gif", "--gif")
    json_out = _output(args.json, ".json", "--json")

    try:
        paths = race(surface, names, steps, start=start, lrs=lrs, options=options, seed=seed)
    except (ValueError, TypeError) as error:  # a hyperparameter the optimizer class refused
        raise UsageError(str(error)) from None
    where = ", ".join(f"{c:g}" for c in paths[0].points[0])
    print(f"{surface.name}: f = {surface.expression}; start ({where}); {steps} steps")
    print(race_table(paths, tol=tol))
    if out or losses_out or gif:
        from steepest.lab import animate_race, plot_losses, plot_race

        if out:
            plot_race(paths, out, layout=args.layout)
            print(f"wrote {out}")
        if losses_out:
            plot_losses(paths, losses_out)
            print(f"wrote {losses_out}")
        if gif:
            animate_race(paths, gif, frames=frames)
            print(f"wrote {gif}")
    if json_out:
        _write_json(paths, json_out, steps, seed)
        print(f"wrote {json_out}")
    return 0


def _options(items: list[str], names: list[str]) -> dict[str, dict[str, Any]]:
    """--option NAME.KEY=VALUE items -> {name: {key: value}}, each typed as its default."""
    from steepest.lab import parse_option

    options: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, text = item.partition("=")
        name, dot, key = target.strip().partition(".")
        if not sep or not dot or not key:
            raise UsageError(f"--option {item!r}: expected NAME.KEY=VALUE, e.g. "
                             f"--option adam.betas=0.8,0.99")
        if name not in names:
            raise UsageError(f"--option {item!r}: {name!r} is not racing "
                             f"(racing: {', '.join(names)})")
        if key == "lr":
            raise UsageError(f"--option {item!r}: give learning rates with --lr {name}=VALUE")
        try:
            options.setdefault(name, {})[key] = parse_option(name, key, text)
        except ValueError as error:
            raise UsageError(f"--option {error}") from None
    return options


def _write_json(paths: list, file: str, steps: int, seed: int) -> None:
    """The paths as JSON (floats written by repr, so they read back bit for bit)."""
    import json

    from steepest.io import atomic_write

    surface = paths[0].surface
    record = {
        "surface": surface.name, "start": paths[0].points[0].tolist(),
        "steps": steps, "seed": seed,
        "paths": [{"name": p.name,
                   "hyperparameters": {k: v for k, v in p.hyperparameters.items()
                                       if k != "generator"},
                   "points": p.points.tolist(), "losses": p.losses.tolist(),
                   "grads": p.grads.tolist(), "diverged": p.diverged} for p in paths],
    }
    atomic_write(file, json.dumps(record).encode("utf-8"))
