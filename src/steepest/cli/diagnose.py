"""`steepest diagnose gradients|init|lr-range|landscape`: the lab's studies of why training
works or fails, each writing PNG figures and a self-contained report.html, printing its
Markdown table, and recording itself in the run store. Argument checks here; work in the lab."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from steepest._suggest import did_you_mean
from steepest.cli import UsageError
from steepest.cli.values import add_style_option, print_table, start_report
from steepest.cli.values import count as _count
from steepest.cli.values import load_data as _load_data
from steepest.cli.values import names as _names
from steepest.cli.values import positive_float as _positive_float
from steepest.cli.values import positive_int as _positive_int
from steepest.optim.spec import preset_names


class _Diverged(UsageError):
    """The study's training diverged: one line for the user, the run recorded as diverged."""


STUDIES = ("gradients", "init", "lr-range", "landscape")
# The names `steepest train --optimizer` takes: every optimizer spec's (steepest.optim.spec).
OPTIMIZER_NAMES = preset_names()

# Small defaults (seconds on two cores) and the full sizes of --full; an option given on the
# command line wins over both.
SMALL: dict[str, dict[str, Any]] = {
    "gradients": dict(activations="sigmoid,tanh,relu,leaky_relu,elu,selu", depth=10, width=64,
                      init="auto", steps=200, lr=1e-3, optimizer="adam", batch_size=128),
    "init": dict(inits="too-small,too-large,xavier,he", activations="tanh,relu", depth=10,
                 width=256, samples=1000),
    "lr-range": dict(optimizer="sgd", start_lr=1e-4, end_lr=100.0, steps=300, sweep_steps=300,
                     sweep_lrs=None, batch_size=64, depth=3, width=100),
    "landscape": dict(steps=1000, lr=1e-3, optimizer="adam", batch_size=64, resolution=21,
                      span=1.0, samples=1000, depth=3, width=100),
}
FULL: dict[str, dict[str, Any]] = {
    "gradients": dict(depth=20, width=256, steps=2000),
    "init": dict(depth=20, width=512, samples=4000),
    "lr-range": dict(steps=1000, sweep_steps=2000, width=256),
    "landscape": dict(steps=5000, resolution=41, samples=None, width=256),
}

_HELP = {
    "gradients": "per-layer gradient norms through a deep MLP: vanishing gradients",
    "init": "activation histograms per layer for several initialisations",
    "lr-range": "the LR range test and a sweep of fixed learning rates",
    "landscape": "1-D interpolation and 2-D slices of the loss landscape",
}


# ---------------------------------------------------------------------------- value parsers
# ---------------------------------------------------------------------------- the parser
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `diagnose` and its studies on an argparse subparsers object; returns its parser."""
    parser = subparsers.add_parser(
        "diagnose", help="studies of why training works or fails (figures + HTML report)",
        description="Run one study; write its PNG figures and report.html into --out, print "
                    "its Markdown table, and record it in the run store. Small defaults take "
                    "seconds; --full runs the full sizes.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", metavar="DIR",
                        help="folder for the figures and report.html (default: studies/STUDY)")
    common.add_argument("--seed", type=_count, default=0, help="seed of everything (default: 0)")
    common.add_argument("--db", metavar="FILE",
                        help="run store (default: $STEEPEST_DB or runs/steepest.db)")
    common.add_argument("--full", action="store_true",
                        help="the full sizes instead of the small defaults")
    common.add_argument("--data", default="mnist1d",
                        help="dataset name or .npz/.csv file (default: mnist1d)")
    common.add_argument("--data-dir", metavar="DIR", help="folder of the dataset's files")
    add_style_option(common)
    studies = parser.add_subparsers(dest="study", metavar="STUDY", parser_class=type(parser))
    optimizers = ", ".join(OPTIMIZER_NAMES)

    def study(name: str) -> Any:
        """Add the study's parser; returns a function adding one of its options."""
        small, full = SMALL[name], FULL[name]
        sub = studies.add_parser(name, parents=[common], help=_HELP[name],
                                 description=_HELP[name] + ".")

        def option(flag: str, key: str, kind: Any, text: str) -> None:
            shown = text if small[key] is None else f"{text} (default: {small[key]}" + (
                f"; --full: {full[key]})" if key in full else ")")
            sub.add_argument(flag, dest=key, type=kind, default=None, help=shown)

        return option

    option = study("gradients")
    option("--activations", "activations", str,
           "comma-separated activations: sigmoid, tanh, relu, leaky_relu, elu, selu; add +bn "
           "for batch norm before each activation (sigmoid+bn)")
    option("--depth", "depth", _positive_int, "Linear layers")
    option("--width", "width", _positive_int, "hidden units per layer")
    option("--init", "init", str, "initialisation: auto (xavier for sigmoid/tanh, he for the "
           "ReLUs, lecun for selu), xavier, he, lecun, too-small, too-large, default, "
           "normal:STD")
    option("--steps", "steps", _count, "training steps after the measurement at init (0: none)")
    option("--lr", "lr", _positive_float, "learning rate of the training")
    option("--optimizer", "optimizer", str, f"optimizer of the training: {optimizers}")
    option("--batch-size", "batch_size", _positive_int, "mini-batch size")

    option = study("init")
    option("--inits", "inits", str, "comma-separated initialisations (as --init of gradients)")
    option("--activations", "activations", str, "comma-separated activations (as gradients)")
    option("--depth", "depth", _positive_int, "layers")
    option("--width", "width", _positive_int, "units per layer")
    option("--samples", "samples", _positive_int, "inputs x ~ N(0, 1) pushed through")

    option = study("lr-range")
    option("--optimizer", "optimizer", str, f"optimizer: {optimizers}")
    option("--start-lr", "start_lr", _positive_float, "first learning rate of the range test")
    option("--end-lr", "end_lr", _positive_float, "last learning rate of the range test")
    option("--steps", "steps", _positive_int, "steps of the range test")
    option("--sweep-steps", "sweep_steps", _positive_int, "steps of each fixed-rate run")
    option("--sweep-lrs", "sweep_lrs", str,
           "comma-separated fixed rates (default: the suggestion x 0.01, 0.1, 1, 10)")
    option("--batch-size", "batch_size", _positive_int, "mini-batch size")
    option("--depth", "depth", _positive_int, "Linear layers of the MLP")
    option("--width", "width", _positive_int, "hidden units of the MLP")

    option = study("landscape")
    option("--steps", "steps", _positive_int, "training steps (the path)")
    option("--lr", "lr", _positive_float, "learning rate of the training")
    option("--optimizer", "optimizer", str, f"optimizer of the training: {optimizers}")
    option("--batch-size", "batch_size", _positive_int, "mini-batch size")
    option("--resolution", "resolution", _positive_int, "grid points per side of the 2-D slices")
    option("--span", "span", _positive_float, "the filter-normalised slice covers [-span, span]²")
    option("--samples", "samples", _positive_int,
           "training examples the loss is measured on (default: 1000; --full: all)")
    option("--depth", "depth", _positive_int, "Linear layers of the MLP")
    option("--width", "width", _positive_int, "hidden units of the MLP")
    return parser


# ---------------------------------------------------------------------------- running
def _resolve(args: argparse.Namespace) -> dict[str, Any]:
    """The study's options: given on the command line, else --full's, else the small ones."""
    options = dict(SMALL[args.study])
    if args.full:
        options.update(FULL[args.study])
    for key in SMALL[args.study]:
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
    return options


def _command(study: str, options: dict[str, Any], args: argparse.Namespace) -> str:
    """The command line that reruns this study exactly: every option spelled out, and --full
    when it was given (an option whose value is None, such as --full's "all the samples",
    has no spelling of its own: --full brings it back)."""
    argv = ["steepest", "diagnose", study]
    if args.full:
        argv.append("--full")
    for key, value in options.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(str(item) for item in value)
        argv += ["--" + key.replace("_", "-"), repr(value) if isinstance(value, float)
                 else str(value)]
    argv += ["--seed", str(args.seed)]
    if study != "init":  # the init study pushes N(0, 1) noise, no data
        argv += ["--data", args.data]
    if args.data_dir and study != "init":
        argv += ["--data-dir", args.data_dir]
    if args.out:
        argv += ["--out", args.out]
    if args.db:
        argv += ["--db", args.db]
    return shlex.join(argv)


def _check_choice(value: str, option: str, valid: tuple[str, ...] | list[str]) -> None:
    if value not in valid:
        raise UsageError(f"{option}: unknown name {value!r}{did_you_mean(value, valid)}; "
                         f"choose from {', '.join(valid)}")


def _check_options(study: str, options: dict[str, Any]) -> None:
    """Names and combinations argparse cannot check: UsageError naming the option."""
    from steepest.lab.gradients import ACTIVATIONS, INITS, check_init

    if "activations" in options:
        # gradients also takes each activation with batch norm before it: "sigmoid+bn".
        valid = list(ACTIVATIONS) + ([f"{name}+bn" for name in ACTIVATIONS]
                                     if study == "gradients" else [])
        options["activations"] = _names(str(options["activations"]), "--activations", valid)
    if "optimizer" in options:
        _check_choice(options["optimizer"], "--optimizer", list(OPTIMIZER_NAMES))
    if study == "gradients":
        try:
            check_init(options["init"])
        except ValueError as error:
            raise UsageError(f"--init: {error}") from None
        if options["depth"] < 2:
            raise UsageError(f"--depth must be at least 2, got {options['depth']}")
    if study == "init":
        names = [name.strip() for name in str(options["inits"]).split(",") if name.strip()]
        for name in names:
            try:
                check_init(name)
            except ValueError:
                raise UsageError(
                    f"--inits: unknown name {name!r}{did_you_mean(name, INITS[:-1])}; choose "
                    f"from {', '.join(INITS)}"
                ) from None
        if not names or len(set(names)) != len(names):
            raise UsageError(f"--inits needs distinct names, got {options['inits']!r}")
        options["inits"] = names
    if study == "lr-range":
        if options["start_lr"] >= options["end_lr"]:
            raise UsageError(f"--start-lr ({options['start_lr']:g}) must be below --end-lr "
                             f"({options['end_lr']:g})")
        if options["steps"] < 3:
            raise UsageError(f"--steps must be at least 3, got {options['steps']}")
        if options["sweep_lrs"] is not None:
            try:
                rates = [float(v) for v in str(options["sweep_lrs"]).split(",") if v.strip()]
            except ValueError:
                raise UsageError(f"--sweep-lrs: expected numbers like 1e-3,0.1,1, got "
                                 f"{options['sweep_lrs']!r}") from None
            if not rates or not all(math.isfinite(r) and r > 0 for r in rates):
                raise UsageError(f"--sweep-lrs: expected positive numbers, got "
                                 f"{options['sweep_lrs']!r}")
            options["sweep_lrs"] = ",".join(repr(r) for r in rates)
    if study in ("lr-range", "landscape") and options["depth"] < 2:
        raise UsageError(f"--depth must be at least 2 (Linear layers), got {options['depth']}")
    if study == "landscape" and options["resolution"] < 3:
        raise UsageError(f"--resolution must be at least 3, got {options['resolution']}")


def run(args: argparse.Namespace) -> int:
    """Run `steepest diagnose STUDY` from parsed arguments. Raises UsageError (one line for the
    user) on a bad name, combination, folder or run store."""
    study = getattr(args, "study", None)
    if study is None:
        raise UsageError(f"diagnose needs a study: {', '.join(STUDIES)} "
                         "(e.g. steepest diagnose gradients)")
    options = _resolve(args)
    _check_options(study, options)
    out = Path(args.out if args.out else Path("studies") / study)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file; give a folder")
    data = None if study == "init" else _load_data(args)  # before the run: a typo is no run
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {str(out)!r}: cannot create the folder ({error.strerror})") \
            from None
    command = _command(study, options, args)
    config = dict(study=study, **options, seed=args.seed, full=args.full)
    if study != "init":
        config["data"] = args.data

    import sqlite3

    from steepest.store import RunStore, resolve_db_path

    db_path = resolve_db_path(args.db)
    try:
        store = RunStore(db_path)
        record = store.start_run(config, kind=f"diagnose-{study}", command=command)
    except (OSError, ValueError, sqlite3.Error) as error:
        raise UsageError(f"--db {str(db_path)!r}: cannot open the run store ({error})") from None

    started = time.perf_counter()
    runner = {"gradients": _gradients, "init": _init, "lr-range": _lr_range,
              "landscape": _landscape}[study]
    with record:  # a failure is recorded as failed with its cause, Ctrl-C as interrupted
        try:
            results, written = runner(args, data, options, out, command, config, record)
        except _Diverged:
            record.finish("diverged")
            raise
        results["seconds"] = round(time.perf_counter() - started, 2)
        record.finish(results=results)
    for path in written:
        print(f"wrote {path}")
    print(f"run #{record.id} recorded in {store.path} ({results['seconds']:.1f} s)")
    return 0


# ---------------------------------------------------------------------------- the studies
def _gradients(args, data, options, out, command, config, record) -> tuple[dict, list]:
    from steepest import lab

    result = lab.gradient_flow(
        options["activations"], depth=options["depth"], width=options["width"],
        init=options["init"], data=data, batch_size=options["batch_size"],
        train_steps=options["steps"], lr=options["lr"], optimizer=options["optimizer"],
        seed=args.seed)
    for index, step in enumerate(result.steps):
        ratios_now = {f"grad_ratio/{act}": float(
            result.history[act][index, 0] / result.history[act][index, -1])
            for act in result.activations}
        finite = {key: value for key, value in ratios_now.items() if math.isfinite(value)}
        if finite:  # a diverged training records nothing from its divergence on
            record.log_step(int(step), **finite)
    report = start_report("Gradient flow: vanishing gradients, layer by layer", out, command,
                          config)
    report.text(
        f"A {result.depth}-layer MLP of width {result.width} on `{args.data}`, one per "
        f"activation. Each curve is the norm of the gradient of the loss with respect to each "
        f"Linear layer's weight, ‖∂L/∂W‖, on one mini-batch of {options['batch_size']}. "
        + _vanishing_text(result.ratio))
    written = [report.figure(lab.plot_gradient_flow(result), "gradient_flow",
                             "Gradient norm per layer at initialisation (log scale).")]
    ratios = result.ratio
    if len(result.steps) > 1:
        diverged = {act: step for act, step in result.diverged.items() if step is not None}
        text = (f"Then {options['steps']} steps of {options['optimizer']} (lr "
                f"{options['lr']:g}); the norms are measured again every "
                f"{result.config['record_every']} steps, dark to light.")
        if diverged:
            at: dict[int, list[str]] = {}
            for act, step in diverged.items():
                at.setdefault(step, []).append(act)
            where = "; ".join(f"at step {step} ({', '.join(acts)})" for step, acts in at.items())
            print(f"training diverged {where}: the loss or a gradient became NaN or infinite; "
                  f"lower --lr")
            text += (f" **Training diverged** {where}: the loss or a gradient became NaN or "
                     f"infinite, and those curves stop there; a lower learning rate avoids it.")
        report.text(text)
        written.append(report.figure(lab.plot_gradient_flow_over_training(result),
                                     "gradient_flow_training",
                                     "Gradient norm per layer during training."))
    print_table(report, result.table(), "Gradient norms of the first and last layer")
    written.append(report.write())
    results = {f"ratio/{act}": value for act, value in ratios.items()}
    if len(result.steps) > 1:
        results.update({f"final_ratio/{act}": v for act, v in result.final_ratio.items()
                        if result.diverged.get(act) is None})
        results.update({f"diverged_at/{act}": step for act, step in result.diverged.items()
                        if step is not None})
    return results, written


def _vanishing_text(ratios: dict[str, float]) -> str:
    """What the first/last ratios at initialisation say, naming the activation each is of:
    the σ′ ≤ 1/4 argument only when sigmoid ran."""
    known = {act: value for act, value in ratios.items() if math.isfinite(value)}
    text = ("Backpropagation multiplies the gradient by Wᵀ and by the activation's derivative "
            "at every layer.")
    if not known:
        return text
    worst = min(known, key=known.get)
    best = max(known, key=known.get)
    if "sigmoid" in known:
        text += (f" σ′ ≤ 1/4, so with `sigmoid` the first layer gets "
                 f"**{known['sigmoid']:.2g}×** the last layer's gradient"
                 + (" (the smallest ratio)." if worst == "sigmoid" and len(known) > 1 else "."))
    if worst != "sigmoid":
        text += (f" The smallest ratio is `{worst}`'s: its first layer gets "
                 if len(known) > 1 else f" With `{worst}` the first layer gets ")
        text += f"**{known[worst]:.2g}×** the last layer's gradient."
    if best != worst:
        text += f" The largest is `{best}`'s: **{known[best]:.2g}×**."
    return text


def _init(args, data, options, out, command, config, record) -> tuple[dict, list]:
    from steepest import lab

    result = lab.init_statistics(options["inits"], options["activations"],
                                 depth=options["depth"], width=options["width"],
                                 n=options["samples"], seed=args.seed)
    report = start_report("Initialisation: activations layer by layer", out, command, config)
    report.text(
        f"x ~ N(0, 1) of shape ({result.n}, {result.width}) pushed through {result.depth} "
        f"layers Linear({result.width}, {result.width}) (zero bias) + activation. "
        "Initialisations of the weights: too-small N(0, 0.01²), too-large N(0, 1), "
        "xavier N(0, 2/(fan_in+fan_out)), he N(0, 2/fan_in). Too small: the activations "
        "shrink towards zero layer by layer (and so do the gradients). Too large: tanh "
        "saturates at ±1, where its gradient is zero; ReLU explodes. Xavier keeps tanh spread "
        "out, He keeps ReLU spread out.")
    written = [report.figure(lab.plot_init_histograms(result), "init_histograms",
                             "Histograms of the activations: rows = init × activation, "
                             "columns = layers; σ = std, sat = saturated (|a| > 0.99), dead = "
                             "units never active over the batch. ReLU's zeros are left out of "
                             "the bars; its layers each have their own x range.")]
    written.append(report.figure(lab.plot_init_statistics(result), "init_statistics",
                                 "Std per layer, and per layer the saturated fraction (tanh, "
                                 "sigmoid) or the dead units (ReLU family: never active over "
                                 "the batch)."))
    report.text("About half of a ReLU layer's outputs are zero for any one input: that is its "
                "normal sparsity. A *dead* unit is one that is zero for every input of the "
                "batch, so it passes no gradient and cannot learn.")
    print_table(report, result.table(), "Std of the activations, first / middle / last layer")
    written.append(report.write())
    results = {}
    for init, act in result.pairs:
        results[f"std_last/{init}/{act}"] = float(result.std[(init, act)][-1])
        results[f"saturated_last/{init}/{act}"] = float(result.saturated[(init, act)][-1])
    return results, written


def _mlp_fn(data: Any, options: dict[str, Any]) -> Any:
    import numpy as np

    from steepest.lab import deep_mlp

    features = int(np.prod(data.x.shape[1:]))
    classes = int(data.y.max()) + 1

    def model_fn(rng: Any) -> Any:
        return deep_mlp(features, classes, depth=options["depth"], width=options["width"],
                        activation="relu", init="default", generator=rng)

    return model_fn


def _lr_range(args, data, options, out, command, config, record) -> tuple[dict, list]:
    from steepest import lab

    model_fn = _mlp_fn(data, options)
    result = lab.lr_range_test(model_fn, data, start_lr=options["start_lr"],
                               end_lr=options["end_lr"], steps=options["steps"],
                               batch_size=options["batch_size"], optimizer=options["optimizer"],
                               seed=args.seed)
    for step, (lr, loss, smooth) in enumerate(zip(result.lrs, result.losses, result.smoothed,
                                                  strict=True)):
        record.log_step(step, lr=float(lr), loss=float(loss), smoothed=float(smooth))
    if options["sweep_lrs"] is not None:
        sweep_lrs = [float(v) for v in options["sweep_lrs"].split(",")]
    else:
        centre = result.suggestion if result.suggestion is not None else result.min_loss_lr
        sweep_lrs = [centre * factor for factor in (0.01, 0.1, 1.0, 10.0)]
    sweep = lab.lr_sweep(model_fn, data, sweep_lrs, steps=options["sweep_steps"],
                         batch_size=options["batch_size"], optimizer=options["optimizer"],
                         seed=args.seed)
    report = start_report("Learning rate: range test and sweep", out, command, config)
    suggestion = "none (the loss never fell)" if result.suggestion is None else \
        f"**{result.suggestion:.3g}**"
    report.text(
        f"An MLP ({options['depth']} Linear layers, width {options['width']}, ReLU) on "
        f"`{args.data}` with {options['optimizer']}, batch {options['batch_size']}. The LR "
        f"range test (Smith 2017) raises the learning rate exponentially from "
        f"{options['start_lr']:g} to {options['end_lr']:g} over {options['steps']} steps, one "
        f"mini-batch each, and stops when the smoothed loss exceeds 4× its minimum. The "
        f"suggested rate is where the smoothed loss falls fastest against log(lr): {suggestion}.")
    written = [report.figure(lab.plot_lr_range(result), "lr_range",
                             "Loss against the learning rate (log scale).")]
    print_table(report, result.table(), "LR range test")
    rates = ", ".join(f"{lr:.3g}" for lr in sweep.lrs)
    report.text(
        f"The sweep trains from the same initial weights and batches for "
        f"{options['sweep_steps']} steps at each fixed rate ({rates}): too small barely "
        f"moves, too large oscillates or diverges.")
    written.append(report.figure(lab.plot_lr_sweep(sweep), "lr_sweep",
                                 "Training loss at fixed learning rates."))
    print_table(report, sweep.table(), "Fixed learning rates")
    written.append(report.write())
    results = {"suggested_lr": result.suggestion, "diverged_at": result.diverged_at,
               "moving_at": result.moving_at, "min_loss_lr": result.min_loss_lr,
               "sweep_best_lr": sweep.best_lr, "sweep_lrs": [float(lr) for lr in sweep.lrs]}
    return results, written


def _landscape(args, data, options, out, command, config, record) -> tuple[dict, list]:
    import numpy as np

    from steepest import lab
    from steepest.train import TrainingDiverged

    model = _mlp_fn(data, options)(np.random.default_rng([args.seed, 1]))
    try:
        path = lab.train_and_record(model, data, options["steps"], lr=options["lr"],
                                    batch_size=options["batch_size"],
                                    optimizer=options["optimizer"], seed=args.seed)
    except TrainingDiverged as error:
        loss = getattr(error, "loss", math.nan)
        raise _Diverged(f"diagnose landscape: training diverged at step "
                        f"{getattr(error, 'step', '?')} (loss {loss:g}) with --optimizer "
                        f"{options['optimizer']} --lr {options['lr']:g}: lower --lr") from None
    for step, loss in enumerate(path.losses):
        record.log_step(step, loss=float(loss))
    samples = options["samples"]
    line = lab.linear_interpolation(model, path.initial, path.final, data,
                                    max_samples=samples, seed=args.seed)
    slice_random = lab.landscape_2d(model, path.final, data, directions="filter-normalised",
                                    span=options["span"], resolution=options["resolution"],
                                    path=path.states, path_steps=path.steps, seed=args.seed,
                                    max_samples=samples)
    slice_pca = lab.landscape_2d(model, path.final, data, directions="pca",
                                 resolution=options["resolution"], path=path.states,
                                 path_steps=path.steps, seed=args.seed, max_samples=samples)
    report = start_report("Loss landscape", out, command, config)
    measured = "all" if samples is None else f"{min(samples, len(data.x))}"
    report.text(
        f"An MLP ({options['depth']} Linear layers, width {options['width']}, ReLU) trained on "
        f"`{args.data}` for {options['steps']} steps of {options['optimizer']} (lr "
        f"{options['lr']:g}); losses measured on {measured} training examples. First the "
        f"line from the initial weights θ₀ to the trained weights θ₁ "
        f"(Goodfellow et al. 2015): the lowest loss is at α = **{line.min_alpha:.2g}**.")
    written = [report.figure(lab.plot_landscape_1d(line), "landscape_1d",
                             "Loss and accuracy along (1 − α)θ₀ + αθ₁.")]
    print_table(report, line.table(), "Along the line")
    report.text(
        "Then a 2-D slice around θ₁ along two random filter-normalised directions (Li et al. "
        "2018): every filter of the direction has the norm of the same filter of the weights, "
        "so the picture does not depend on each layer's scale. The training path, projected "
        "onto the slice, barely shows: in this many dimensions random directions are almost "
        "orthogonal to it.")
    written.append(report.figure(lab.plot_landscape_2d(slice_random), "landscape_2d",
                                 "Loss around the trained weights, filter-normalised "
                                 "directions."))
    print_table(report, slice_random.table(), "Filter-normalised slice")
    lowest = "" if slice_pca.centre_is_lowest else (
        f" Its lowest point is not θ₁ but ({slice_pca.argmin[0]:.3g}, "
        f"{slice_pca.argmin[1]:.3g}), with a loss of {float(np.nanmin(slice_pca.losses)):.3g} "
        f"against θ₁'s {slice_pca.center_loss:.3g}: along the way the training went, the loss "
        f"still falls beyond where it stopped.")
    report.text(
        "The same around θ₁ along the two principal directions of the training path itself, "
        "where the path shows in full." + lowest)
    written.append(report.figure(lab.plot_landscape_2d(slice_pca), "landscape_2d_pca",
                                 "Loss along the path's two principal directions."))
    print_table(report, slice_pca.table(), "PCA slice")
    written.append(report.write())
    tail = path.losses[-max(1, len(path.losses) // 10):]
    results = {"final_train_loss": float(np.mean(tail)), "interp_min_alpha": line.min_alpha,
               "center_loss": slice_random.center_loss,
               "grid_min_loss": float(np.nanmin(slice_random.losses)),
               "pca_explained": float(sum(slice_pca.explained))}
    return results, written


if __name__ == "__main__":  # pragma: no cover
    from steepest.cli import main

    sys.exit(main(["diagnose", *sys.argv[1:]]))
