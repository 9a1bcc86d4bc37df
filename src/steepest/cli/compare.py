"""`steepest compare`: optimizers (default), batch sizes (`--batch-sizes`) or regularisers
(`--regularisation`) compared on a real task over several seeds, writing PNG figures and a
self-contained report.html, printing the Markdown tables, and recording every run in the run
store (kind "compare"). Argument checks here; the work lives in `steepest.lab.compare`."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from steepest.cli import UsageError
from steepest.cli.values import add_style_option, print_table, start_report
from steepest.cli.values import count as _count
from steepest.cli.values import load_data as _load_data
from steepest.cli.values import names as _names
from steepest.cli.values import positive_float as _positive_float
from steepest.cli.values import positive_int as _positive_int
from steepest.cli.values import positive_numbers as _positive_numbers
from steepest.lab.compare.regularisation import REGULARISERS
from steepest.optim.spec import preset_names, study_lr

# Every optimizer spec's names (steepest.optim.spec), and the regularisers of the study's one
# table (lab.compare.regularisation.REGULARISERS).
OPTIMIZER_NAMES = preset_names()
REGULARISER_NAMES = tuple(REGULARISERS)
DEFAULT_BATCH_SIZES = "full,1,32,128"
# The fewest training examples --train-size may ask for: one to train on and one held out for
# validation (optimizers, batch sizes); two in a batch for batch norm (regularisation).
MIN_TRAIN_SIZE = 2
# The Adam family's rate when --regularisation is given none (the others get their spec's
# study_lr).
ADAM_FAMILY_LR = 1e-3

# Small defaults (about a minute or less on two cores) and --full's sizes, per mode; an option
# given on the command line wins over both.
SMALL: dict[str, dict[str, Any]] = {
    "optimizers": dict(optimizers="sgd,momentum,adam", seeds=3, epochs=20, grid_points=3,
                       batch_size=100),
    "batch-sizes": dict(optimizers="sgd", seeds=1, epochs=10),
    "regularisation": dict(optimizers="adam", seeds=1, epochs=50, batch_size=100, width=256,
                           depth=2),
}
FULL: dict[str, dict[str, Any]] = {
    "optimizers": dict(seeds=5, epochs=100, grid_points=5),
    "batch-sizes": dict(seeds=3, epochs=30),
    "regularisation": dict(seeds=3, epochs=200),
}
TITLES = {"optimizers": "Optimizers compared", "batch-sizes": "Batch size: full, stochastic "
          "and mini-batch gradient descent", "regularisation": "Regularisation: the train/test "
          "gap"}


# ---------------------------------------------------------------------------- value parsers
def _batch_sizes(text: str) -> list[int | None]:
    sizes: list[int | None] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item.lower() == "full":
            sizes.append(None)
            continue
        try:
            value = int(item)
        except ValueError:
            value = 0
        if value <= 0:
            raise UsageError(f"--batch-sizes: {item!r} is not a batch size; give 'full' or "
                             f"positive integers, e.g. --batch-sizes {DEFAULT_BATCH_SIZES}")
        sizes.append(value)
    if not sizes:
        raise UsageError(f"--batch-sizes needs at least one size, e.g. {DEFAULT_BATCH_SIZES}")
    if len(set(sizes)) != len(sizes):
        raise UsageError(f"--batch-sizes lists a size twice: {text!r}")
    return sizes


def _label(size: int | None) -> str:
    return "full" if size is None else str(size)


def _lrs(items: list[str], mode: str, optimizers: list[str],
         sizes: list[int | None] | None) -> dict[Any, float]:
    """--lr NAME=VALUE pairs: NAME is an optimizer (optimizers, regularisation) or a batch
    size ('full' or a number, batch-sizes)."""
    lrs: dict[Any, float] = {}
    for item in items:
        name, equals, text = item.partition("=")
        name = name.strip()
        if not equals or not name:
            example = "full=1.0" if mode == "batch-sizes" else f"{optimizers[0]}=0.01"
            raise UsageError(f"--lr {item}: expected NAME=VALUE, e.g. --lr {example}")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"--lr {item}: the rate must be a positive number")
        if mode == "batch-sizes":
            key: Any = None if name.lower() == "full" else (int(name) if name.isdigit() else name)
            if key not in (sizes or []):
                raise UsageError(f"--lr {item}: {name!r} is not one of --batch-sizes "
                                 f"{','.join(_label(b) for b in sizes or [])}")
        else:
            key = name
            if key not in optimizers:
                raise UsageError(f"--lr {item}: {name!r} is not one of --optimizers "
                                 f"{','.join(optimizers)}")
        if key in lrs:
            raise UsageError(f"--lr gives {name!r} twice")
        lrs[key] = value
    return lrs


# ---------------------------------------------------------------------------- the parser
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `compare` on an argparse subparsers object; returns its parser."""
    parser = subparsers.add_parser(
        "compare", help="optimizers, batch sizes or regularisers compared over seeds "
                        "(figures + HTML report)",
        description="Train the same model on the same data several ways and over several "
                    "seeds; write the figures and report.html into --out, print the Markdown "
                    "tables, and record every run in the run store. Default: optimizers, each "
                    "at a learning rate chosen by a small grid on a validation split. "
                    "--batch-sizes: full-batch, stochastic and mini-batch gradient descent. "
                    "--regularisation: the train/test gap of an MLP under each regulariser. "
                    "Small defaults take about a minute; --full runs the full sizes.",
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--batch-sizes", nargs="?", const=DEFAULT_BATCH_SIZES, metavar="LIST",
                       help="compare batch sizes instead ('full' = full batch; default list "
                            f"{DEFAULT_BATCH_SIZES})")
    modes.add_argument("--regularisation", "--regularization", nargs="?",
                       const=",".join(REGULARISER_NAMES), metavar="LIST",
                       help="compare regularisers instead: " + ", ".join(REGULARISER_NAMES)
                            + " (default: all)")
    parser.add_argument("--optimizers", metavar="LIST",
                        help="comma-separated optimizers (default: sgd,momentum,adam; with "
                             "--batch-sizes one, default sgd; with --regularisation one, "
                             "default adam): " + ", ".join(OPTIMIZER_NAMES))
    parser.add_argument("--seeds", type=_positive_int, metavar="N",
                        help="seeds per setting: --seed, --seed+1, ... (default: 3 for "
                             "optimizers, 1 otherwise; --full: 5, 3, 3)")
    parser.add_argument("--seed", type=_count, default=0, help="the first seed (default: 0)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_positive_int, metavar="N",
                        help="epochs per run (default: 20 optimizers, 10 batch sizes, 50 "
                             "regularisation; --full: 100, 30, 200)")
    length.add_argument("--steps", type=_positive_int, metavar="N",
                        help="optimizer steps per run instead of epochs (optimizers only)")
    parser.add_argument("--lr", action="append", default=[], metavar="NAME=VALUE",
                        help="a fixed learning rate instead of the grid: NAME is an optimizer "
                             "(or, with --batch-sizes, a batch size: full=1.0); repeatable. "
                             "With --regularisation, the one rate (default: 0.001 for adam, "
                             "adamw and nadam, the optimizer's usual rate for the others, "
                             "e.g. sgd=1)")
    parser.add_argument("--lr-grid", metavar="LIST",
                        help="the learning rates to try, comma-separated (default per "
                             "optimizer: 3 rates around its usual one; with --batch-sizes: no "
                             "grid, measured rates per batch size)")
    parser.add_argument("--grid-points", type=_positive_int, metavar="N",
                        help="rates in each default grid (default: 3; --full: 5)")
    parser.add_argument("--batch-size", type=_positive_int, metavar="N",
                        help="mini-batch size (default: 100)")
    parser.add_argument("--target-loss", type=_positive_float, metavar="X",
                        help="count the steps until the smoothed training loss reaches X "
                             "(default: the highest final loss of any run)")
    parser.add_argument("--train-size", type=_positive_int, metavar="N",
                        help="train on a seeded subset of N examples (default: all)")
    parser.add_argument("--model", default="mlp", choices=("mlp", "logreg", "cnn", "lenet"),
                        help="model (default: mlp; --regularisation needs mlp)")
    parser.add_argument("--width", type=_positive_int, metavar="N",
                        help="hidden units per layer of the MLP (default: 100; "
                             "--regularisation: 256)")
    parser.add_argument("--depth", type=_count, metavar="N",
                        help="hidden layers of the MLP (default: 2)")
    parser.add_argument("--data", default="mnist1d",
                        help="dataset name or .npz/.csv file (default: mnist1d)")
    parser.add_argument("--data-dir", metavar="DIR", help="folder of the dataset's files")
    parser.add_argument("--full", action="store_true",
                        help="the full sizes instead of the small defaults")
    parser.add_argument("--out", metavar="DIR",
                        help="folder for the figures and report.html (default: "
                             "studies/compare, studies/batch-sizes or studies/regularisation)")
    parser.add_argument("--db", metavar="FILE",
                        help="run store (default: $STEEPEST_DB or runs/steepest.db)")
    add_style_option(parser)
    return parser


# ---------------------------------------------------------------------------- running
def _mode(args: argparse.Namespace) -> str:
    if args.batch_sizes is not None:
        return "batch-sizes"
    if args.regularisation is not None:
        return "regularisation"
    return "optimizers"


def _resolve(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    """The study's options: given on the command line, else --full's, else the small ones."""
    options = dict(SMALL[mode])
    if args.full:
        options.update(FULL[mode])
    for key in ("optimizers", "seeds", "epochs", "steps", "grid_points", "batch_size",
                "width", "depth", "target_loss", "train_size", "lr_grid"):
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
    if options.get("steps") is not None:
        options.pop("epochs", None)
    return options


def _check(args: argparse.Namespace, mode: str, options: dict[str, Any]) -> dict[str, Any]:
    """Names and combinations argparse cannot check: UsageError naming the option."""
    checked: dict[str, Any] = {}
    optimizers = _names(options["optimizers"], "--optimizers", OPTIMIZER_NAMES)
    if mode != "optimizers" and len(optimizers) != 1:
        flag = "--batch-sizes" if mode == "batch-sizes" else "--regularisation"
        raise UsageError(f"--optimizers: {flag} trains with one optimizer, got "
                         f"{','.join(optimizers)}")
    checked["optimizers"] = optimizers
    if mode != "optimizers":
        for key, flag in (("steps", "--steps"), ("target_loss", "--target-loss")):
            if options.get(key) is not None:
                raise UsageError(f"{flag} is for comparing optimizers; with "
                                 f"--{mode} give --epochs")
    if mode == "batch-sizes":
        if options.get("batch_size") is not None:
            raise UsageError("--batch-size and --batch-sizes: give the sizes in --batch-sizes")
        checked["batch_sizes"] = _batch_sizes(args.batch_sizes)
    if mode == "regularisation":
        checked["methods"] = _names(args.regularisation, "--regularisation", REGULARISER_NAMES)
        if args.model != "mlp":
            raise UsageError(f"--regularisation studies an MLP; --model {args.model} is not "
                             f"supported there (leave --model out)")
        if args.lr_grid is not None:
            raise UsageError("--lr-grid: the regularisation study uses one rate; give it as "
                             f"--lr {optimizers[0]}=VALUE")
        if options.get("grid_points") is not None:
            raise UsageError("--grid-points is for comparing optimizers")
    if mode == "batch-sizes" and options.get("grid_points") is not None:
        raise UsageError("--grid-points is for comparing optimizers; give --lr-grid")
    if options.get("train_size") is not None and options["train_size"] < MIN_TRAIN_SIZE \
            and (mode != "regularisation" or "batchnorm" in checked["methods"]):
        why = "batch norm needs 2 examples in a batch" if mode == "regularisation" else \
            "one to train on, one held out for validation"
        raise UsageError(f"--train-size must be at least {MIN_TRAIN_SIZE} ({why}), got "
                         f"{options['train_size']}")
    checked["lrs"] = _lrs(args.lr, mode, optimizers, checked.get("batch_sizes"))
    checked["lr_grid"] = (_positive_numbers(options["lr_grid"], "--lr-grid")
                          if options.get("lr_grid") else None)
    if args.model not in ("mlp",) and (options.get("width") is not None
                                       or options.get("depth") is not None) \
            and mode != "regularisation":
        raise UsageError(f"--width and --depth are options of the MLP, not of --model "
                         f"{args.model}")
    return checked


def _command(args: argparse.Namespace, mode: str, options: dict[str, Any],
             checked: dict[str, Any]) -> str:
    """The command line that reruns this study exactly (every option spelled out)."""
    argv = ["steepest", "compare"]
    if mode == "batch-sizes":
        argv += ["--batch-sizes", ",".join(_label(b) for b in checked["batch_sizes"])]
    if mode == "regularisation":
        argv += ["--regularisation", ",".join(checked["methods"])]
    argv += ["--optimizers", ",".join(checked["optimizers"]), "--seeds", str(options["seeds"]),
             "--seed", str(args.seed)]
    if options.get("steps") is not None:
        argv += ["--steps", str(options["steps"])]
    else:
        argv += ["--epochs", str(options["epochs"])]
    for key, value in checked["lrs"].items():
        name = _label(key) if mode == "batch-sizes" else key
        argv += ["--lr", f"{name}={value!r}"]
    if checked["lr_grid"]:
        argv += ["--lr-grid", ",".join(repr(v) for v in checked["lr_grid"])]
    for key in ("grid_points", "batch_size", "target_loss", "train_size", "width", "depth"):
        if options.get(key) is not None:
            argv += ["--" + key.replace("_", "-"), str(options[key])]
    argv += ["--model", args.model, "--data", args.data]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.out:
        argv += ["--out", args.out]
    if args.db:
        argv += ["--db", args.db]
    return shlex.join(argv)


def _model_options(args: argparse.Namespace, options: dict[str, Any]) -> dict[str, Any]:
    return {key: options[key] for key in ("width", "depth") if options.get(key) is not None}


def _check_model(args: argparse.Namespace, data: Any, model_options: dict[str, Any]) -> None:
    import numpy as np

    from steepest.models import build_model

    classes = int(max(np.max(data.y), np.max(data.y_test))) + 1
    try:
        build_model(args.model, data.x.shape[1:], classes, **model_options)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--model {args.model}: {error}") from None


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Run `steepest compare` from parsed arguments. Raises UsageError (one line for the user)
    on a bad name, combination, folder or run store; a run that fails (not by diverging) is
    named with its cause in one line, exit status 1."""
    mode = _mode(args)
    options = _resolve(args, mode)
    checked = _check(args, mode, options)
    default_out = {"optimizers": "compare", "batch-sizes": "batch-sizes",
                   "regularisation": "regularisation"}[mode]
    out = Path(args.out if args.out else Path("studies") / default_out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file; give a folder")
    data = _load_data(args)  # before any run: a typo is no run
    model_options = _model_options(args, options)
    if mode != "regularisation":
        _check_model(args, data, model_options)
    elif data.x.ndim > 3:
        raise UsageError(f"--regularisation: its augmentation is for 1-D signals; --data "
                         f"{args.data} has samples of shape {tuple(data.x.shape[1:])}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {str(out)!r}: cannot create the folder ({error.strerror})") \
            from None
    command = _command(args, mode, options, checked)

    import sqlite3

    from steepest.store import RunStore, resolve_db_path

    db_path = resolve_db_path(args.db)
    try:
        store = RunStore(db_path)
    except (OSError, ValueError, sqlite3.Error) as error:
        raise UsageError(f"--db {str(db_path)!r}: cannot open the run store ({error})") from None
    before = {record.id for record in store.runs(kind="compare")}

    seeds = list(range(args.seed, args.seed + options["seeds"]))
    config = {"study": mode, **{k: v for k, v in options.items() if k != "lr_grid"},
              **{k: v for k, v in checked.items() if k != "lrs"},
              "lrs": {(_label(k) if mode == "batch-sizes" else k): v
                      for k, v in checked["lrs"].items()},
              "seeds": seeds, "model": args.model, "data": args.data, "full": args.full}
    if "batch_sizes" in config:
        config["batch_sizes"] = [_label(b) for b in config["batch_sizes"]]
    common = dict(data=data, seeds=seeds, store=store, command=command, data_name=args.data,
                  log=_log)
    started = time.perf_counter()
    runner = {"optimizers": _optimizers, "batch-sizes": _batch, "regularisation": _regular}
    from steepest.lab.compare import StudyRunError

    try:
        written = runner[mode](args, options, checked, model_options, common, out, command,
                               config)
    except StudyRunError as error:  # the failed run is named, with its cause, in one line
        print(f"steepest: compare: {error}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    for path in written:
        print(f"wrote {path}")
    ids = sorted({record.id for record in store.runs(kind="compare")} - before)
    span = f"#{ids[0]}-#{ids[-1]}" if len(ids) > 1 else (f"#{ids[0]}" if ids else "none")
    print(f"{len(ids)} runs ({span}) recorded in {store.path} ({seconds:.1f} s)")
    return 0


def _report(mode: str, data_name: str, out: Path, command: str, config: dict[str, Any]) -> Any:
    return start_report(f"{TITLES[mode]} on {data_name}", out, command, config)


def _data_text(data: Any, val_fraction: float, train_size: int | None) -> str:
    n = len(data.x) if train_size is None else min(train_size, len(data.x))
    if val_fraction:
        held = int(round(n * val_fraction))
        return (f"{n - held} training examples, {held} held out for validation, "
                f"{len(data.x_test)} test examples")
    return f"{n} training examples, {len(data.x_test)} test examples"


def _model_text(args: argparse.Namespace, model_options: dict[str, Any],
                default_width: int = 100) -> str:
    """The model in words, starting a sentence."""
    if args.model != "mlp":
        return f"The model `{args.model}`"
    depth = model_options.get("depth", 2)
    width = model_options.get("width", default_width)
    return f"An MLP ({depth} hidden layers of {width} ReLUs)"


def _optimizers(args, options, checked, model_options, common, out, command,
                config) -> list[Path]:
    from steepest.lab import compare as study

    length = {"steps": options["steps"]} if options.get("steps") is not None else \
        {"epochs": options["epochs"]}
    result = study.compare_optimizers(
        checked["optimizers"], model=args.model, model_options=model_options,
        lrs=checked["lrs"], lr_grid=checked["lr_grid"], grid_points=options["grid_points"],
        batch_size=options["batch_size"], target_loss=options.get("target_loss"),
        train_size=options.get("train_size"), **length, **common)
    config["chosen_lr"] = result.chosen_lr
    config["target_loss"] = result.target_loss
    report = _report("optimizers", args.data, out, command, config)
    how = "; ".join(
        f"{name}: " + (", ".join(f"{lr:g}" for lr in result.lr_grid[name]) + " → "
                       f"**{result.chosen_lr[name]:g}**" if result.lr_grid[name]
                       else f"{result.chosen_lr[name]:g} (given)")
        for name in result.optimizers)
    size = f"{options['steps']} steps" if options.get("steps") else \
        f"{options['epochs']} epochs"
    report.text(
        f"{_model_text(args, model_options)} is trained on `{args.data}` "
        f"({_data_text(common['data'], 0.2, options.get('train_size'))}) with each optimizer "
        f"for {size} of batches of {options['batch_size']}. Each optimizer's learning rate is "
        f"the one of a small grid with the best final validation accuracy on seed "
        f"{result.seeds[0]} ({how}); then every seed ({', '.join(map(str, result.seeds))}) "
        f"trains at that rate, from the same initial weights and batch order for every "
        f"optimizer. Curves are the mean over seeds with a ± one standard deviation band "
        f"(the sample standard deviation, ddof=1).")
    written = [report.figure(study.plot_compare(result), "compare",
                             "Validation loss and accuracy per epoch, training loss per step "
                             "(smoothed), and the learning-rate grid.")]
    report.text(
        f"*Steps to loss* counts the optimizer steps until the training loss (smoothed, an "
        f"exponential moving average with weight {result.smoothing:g}) first reaches "
        f"{result.target_loss:.3g}" + (" (the highest final loss of any run, so every run "
                                       "gets there)" if options.get("target_loss") is None
                                       else "") + ". Wall time is per run, evaluations "
        "included.")
    print_table(report, result.table(), "Optimizers (mean ± sample std over seeds, ddof=1)"
           if len(result.seeds) > 1 else "Optimizers (one seed)")
    if any(result.lr_grid.values()):
        print_table(report, result.grid_table(),
               f"Learning-rate grid (seed {result.seeds[0]}, final validation metrics)")
    written.append(report.write())
    return written


def _batch(args, options, checked, model_options, common, out, command,
           config) -> list[Path]:
    from steepest.lab import compare as study

    optimizer = checked["optimizers"][0]
    result = study.compare_batch_sizes(
        checked["batch_sizes"], optimizer=optimizer, lrs=checked["lrs"],
        lr_grid=checked["lr_grid"], epochs=options["epochs"], model=args.model,
        model_options=model_options, train_size=options.get("train_size"), **common)
    config["chosen_lr"] = {result.label(b): lr for b, lr in result.lrs.items()}
    report = _report("batch-sizes", args.data, out, command, config)
    rates = ", ".join(f"{result.label(b)}: {lr:g}" for b, lr in result.lrs.items())
    origin = "chosen by the grid on the validation split" if checked["lr_grid"] else (
        "measured best per batch size on MNIST-1D (`BATCH_SIZE_LR`; linear scaling "
        "0.01·b for other sizes)" if optimizer == "sgd" else "the optimizer's usual rate")
    report.text(
        f"{_model_text(args, model_options)} is trained on `{args.data}` "
        f"({_data_text(common['data'], 0.2, options.get('train_size'))}) with {optimizer} "
        f"for {options['epochs']} epochs at each batch size, so every run sees every example "
        f"equally often. Full batch takes one exact gradient step per epoch; stochastic "
        f"gradient descent (batch 1) takes one step per example. Learning rates ({rates}): "
        f"{origin}. The loss is measured on the whole training set after every epoch; the "
        f"time counts training steps only.")
    report.text(
        "Per epoch, the smaller the batch the more steps and the more progress; per second, "
        "each stochastic epoch costs the most (thousands of tiny steps leave the vectorised "
        "arithmetic idle) and a full-batch epoch the least, but full batch needs many epochs. "
        "Mini-batches make good progress per second.")
    written = [report.figure(study.plot_batch_sizes(result), "batch_sizes",
                             "Training loss against epochs and against training time.")]
    print_table(report, result.table(), "Batch sizes" + (" (mean ± sample std over seeds, ddof=1)"
                                                    if len(result.seeds) > 1 else ""))
    written.append(report.write())
    return written


def _regularisation_lr(optimizer: str, lrs: dict[Any, float]) -> tuple[float, str]:
    """The regularisation study's rate and where it came from: --lr if given, else 0.001 for
    the Adam family, else the optimizer's usual rate (its spec's `study_lr`)."""
    if optimizer in lrs:
        return lrs[optimizer], "given by --lr"
    if optimizer in ("adam", "adamw", "nadam"):
        return ADAM_FAMILY_LR, f"the default for {optimizer}"
    return study_lr(optimizer), f"the default for {optimizer}, its usual rate"


def _regular(args, options, checked, model_options, common, out, command,
             config) -> list[Path]:
    from steepest.lab import compare as study

    optimizer = checked["optimizers"][0]
    lr, origin = _regularisation_lr(optimizer, checked["lrs"])
    config["lr"] = lr
    config["lr_origin"] = origin
    print(f"learning rate: {optimizer} {lr:g} ({origin}" + (
        ")" if optimizer in checked["lrs"] else f"; change it with --lr {optimizer}=VALUE)"))
    result = study.regularisation_study(
        checked["methods"], optimizer=optimizer, lr=lr, epochs=options["epochs"],
        batch_size=options["batch_size"], train_size=options.get("train_size"),
        model_options=model_options, **common)
    report = _report("regularisation", args.data, out, command, config)
    report.text(
        f"{_model_text(args, model_options, 256)}, wide enough to learn the training set by "
        f"heart, is trained on `{args.data}` "
        f"({_data_text(common['data'], 0.0, options.get('train_size'))}) with {optimizer} "
        f"(lr {lr:g}: {origin}; batch {options['batch_size']}) for {options['epochs']} epochs, "
        f"once per "
        f"method. Train accuracy is measured on the whole clean training set in eval mode; the "
        f"gap is train − test accuracy: how much was memorised rather than learnt.")
    report.text("\n".join(f"- **{m}**: {result.descriptions[m]}" for m in result.methods))
    written = [report.figure(study.plot_regularisation(result), "regularisation",
                             "Final train and test accuracy per method, and test accuracy "
                             "during training.")]
    print_table(report, result.table(), "Regularisation" + (" (mean ± sample std over seeds, "
                                                       "ddof=1)" if len(result.seeds) > 1
                                                       else ""))
    written.append(report.write())
    return written


if __name__ == "__main__":  # pragma: no cover
    from steepest.cli import main

    sys.exit(main(["compare", *sys.argv[1:]]))
