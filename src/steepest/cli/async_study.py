"""`steepest async`: the GEM study. Asynchronous strategies × numbers of workers, simulated
deterministically, writing results.csv, PNG figures and a self-contained report.html, and
printing the median table and the paper's Fig. 1d findings, each checked. Argument checks here;
the work lives in `steepest.lab.async_study`."""

from __future__ import annotations

import argparse
import csv
import io
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from steepest.cli import UsageError
from steepest.cli.values import add_style_option, print_table, start_report
from steepest.cli.values import names as _names
from steepest.cli.values import positive_float as _positive_float
from steepest.cli.values import positive_int as _positive_int
from steepest.cli.values import positive_numbers as _positive_numbers
from steepest.cli.values import unit_interval as _unit_interval

# Spelled out so that building the parser imports nothing (a test keeps them equal to
# steepest.distributed.STRATEGIES and simulate.SCHEDULES).
STRATEGY_NAMES = ("downpour", "staleness", "dcasgd", "easgd", "gem")
SCHEDULE_NAMES = ("round-robin", "random")
DEFAULT_STRATEGIES = "downpour,staleness,gem"
DEFAULT_WORKERS = "1,2,4,8,16,32"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "async", help="the GEM study: asynchronous strategies against the number of workers "
                      "(figures + HTML report)",
        description="Simulate asynchronous SGD with n workers (deterministic, one process) for "
                    "each strategy, n and seed; write results.csv, the figures and "
                    "report.html into --out, and check the findings of Hermans & Louppe "
                    "(2018), Fig. 1d. The defaults are the reference experiment: digits, MLP "
                    "64-128-10, batch 64, lr 0.2, GEM momentum 0.9, 200 steps per worker, "
                    "round-robin, 3 seeds (a few minutes on two cores).",
    )
    parser.add_argument("--strategies", default=DEFAULT_STRATEGIES, metavar="LIST",
                        help=f"comma-separated, from {', '.join(STRATEGY_NAMES)} "
                             f"(default: {DEFAULT_STRATEGIES})")
    parser.add_argument("--workers", default=DEFAULT_WORKERS, metavar="LIST",
                        help=f"numbers of workers (default: {DEFAULT_WORKERS})")
    parser.add_argument("--seeds", type=_positive_int, default=3, metavar="N",
                        help="seeds 0..N-1 per setting (default: 3)")
    parser.add_argument("--lr", type=_positive_float, default=0.2,
                        help="SGD learning rate (default: 0.2; the paper's Fig. 6 uses a "
                             "deliberately high one to make DOWNPOUR fail)")
    parser.add_argument("--momentum", type=_unit_interval, default=0.9,
                        help="GEM's proxy momentum μ (default: 0.9)")
    parser.add_argument("--kappa", default="1", metavar="LIST",
                        help="GEM's energy amplification κ, comma-separated (default: 1; the "
                             "paper's Fig. 8: 1,2,3,4)")
    parser.add_argument("--schedule", default="round-robin", metavar="NAME",
                        help="worker order: round-robin (staleness n-1) or random (seeded)")
    parser.add_argument("--steps", type=_positive_int, default=200, metavar="N",
                        help="steps per worker (default: 200)")
    parser.add_argument("--batch-size", type=_positive_int, default=64, metavar="N",
                        help="batch per worker step (default: 64)")
    parser.add_argument("--train-size", type=_positive_int, metavar="N",
                        help="train on the first N digits only (quick runs)")
    parser.add_argument("--out", default="studies/async", metavar="DIR",
                        help="folder for results.csv, the figures and report.html "
                             "(default: studies/async)")
    add_style_option(parser)
    return parser


def _workers(text: str) -> list[int]:
    values = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if not item.isdigit() or int(item) < 1:
            raise UsageError(f"--workers: {item!r} is not a number of workers; give positive "
                             f"integers, e.g. --workers {DEFAULT_WORKERS}")
        values.append(int(item))
    if not values:
        raise UsageError(f"--workers needs at least one number, e.g. {DEFAULT_WORKERS}")
    if values != sorted(set(values)):
        raise UsageError(f"--workers must increase without repeats, got {text!r}")
    return values


def _kappas(text: str) -> list[float]:
    values = _positive_numbers(text, "--kappa")
    if len(set(values)) != len(values):
        raise UsageError(f"--kappa lists a value twice: {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    strategies = _names(args.strategies, "--strategies", STRATEGY_NAMES)
    workers = _workers(args.workers)
    kappas = _kappas(args.kappa)
    if args.schedule not in SCHEDULE_NAMES:
        raise UsageError(f"--schedule: unknown schedule {args.schedule!r}; choose from "
                         f"{', '.join(SCHEDULE_NAMES)}")
    if kappas != [1.0] and "gem" not in strategies:
        raise UsageError("--kappa is GEM's: add gem to --strategies")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {str(out)!r}: cannot create the folder "
                         f"({error.strerror})") from None
    from steepest.lab import async_study as study

    command = "steepest " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "steepest async"
    started = time.perf_counter()
    result = study.run_async_study(
        strategies, workers, seeds=args.seeds, lr=args.lr, momentum=args.momentum,
        kappa=kappas, schedule=args.schedule, steps=args.steps, batch_size=args.batch_size,
        train_size=args.train_size, progress=lambda line: print(line, flush=True))
    seconds = time.perf_counter() - started
    result.config["seconds"] = round(seconds, 1)
    written = _write(result, out, command, seconds)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(result.runs)} simulated runs in {seconds:.1f} s")
    return 0


def _write(result: Any, out: Path, command: str, seconds: float) -> list[Path]:
    from steepest.io import atomic_write
    from steepest.lab import async_study as study

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=study.CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in result.csv_rows():
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    written = [atomic_write(out / "results.csv", buffer.getvalue().encode("utf-8"))]

    config = result.config
    report = start_report("Asynchronous SGD against the number of workers (the GEM study)",
                          out, command, config)
    report.text(
        f"Each run simulates n workers against one parameter server in one process "
        f"(`steepest.distributed.simulate`: the same strategy code as the Ray path), "
        f"{config['schedule']} order, {config['steps']} steps per worker of batch "
        f"{config['batch_size']} on scikit-learn's digits ({config['train_examples']} training "
        f"images), an MLP 64-{config['width']}-10 (ReLU, {config['init']} init), SGD lr "
        f"{config['lr']:g}. DOWNPOUR applies every stale gradient as it comes; the staleness "
        f"rule divides it by τ + 1; GEM rescales each worker's update coordinate by "
        f"coordinate with π = (κ|m| − |θ − s|)/(|Δθ| + ε), clamped to [0, 5], so that the "
        f"workers together move θ as momentum SGD (μ = {config['momentum']:g}) would. The "
        f"final loss is the training loss of the central variable θ; medians over "
        f"{config['seeds']} seeds. {len(result.runs)} runs took {seconds:.0f} s.")
    report.figure(study.plot_final_loss(result), "final_loss",
                  "Final training loss against the number of workers (the paper's Fig. 1d); "
                  "× marks a median that diverged.")
    report.figure(study.plot_loss_curves(result), "loss_curves",
                  "Training loss of θ against worker steps, seed 0, one line per n.")
    if any(label.startswith("gem") for label in result.labels):
        report.figure(study.plot_mean_pi(result), "mean_pi",
                      "GEM's mean π against n: each worker's share shrinks as n grows.")
    print_table(report, result.table(), "Median over seeds per strategy and workers")
    criteria = result.criteria()
    if criteria:
        rows = [{"finding (Fig. 1d)": c["finding"], "holds": "yes" if c["holds"] else "NO",
                 "measured": c["detail"]} for c in criteria]
        print_table(report, rows, "The paper's findings, checked on these medians")
    written.extend(report.figures)
    written.append(report.write())
    return written


if __name__ == "__main__":  # pragma: no cover
    from steepest.cli import main

    sys.exit(main(["async", *sys.argv[1:]]))
