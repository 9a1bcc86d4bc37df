"""`steepest train`: options, a TOML config, and friendly errors; the work is `train.fit`.

Every option has the same key in a `--config` TOML file (dashes or underscores); the command
line wins over the file, and the file over the defaults. `--resume CHECKPOINT` rebuilds the run
from the config stored in the checkpoint, so only what should change (say `--steps`) is given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shlex
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from steepest._suggest import did_you_mean
from steepest.cli import UsageError
from steepest.optim.spec import find_preset, preset_names

DEFAULTS: dict[str, Any] = {
    "data": "mnist1d", "data_dir": None, "task": "auto", "model": "mlp", "depth": 2, "width": 100,
    "activation": "relu", "init": "default", "batch_norm": False, "residual": False,
    "dropout": 0.0, "optimizer": "adam", "lr": 1e-2, "weight_decay": None, "schedule": "constant",
    "batch_size": 100, "epochs": None, "steps": 8000, "val_split": 0.0, "early_stopping": None,
    "restore_best": False, "augment": "", "grad_accumulation": 1, "clip_grad_norm": None,
    "ema": None, "tta": "", "seed": 0, "checkpoint_dir": None, "checkpoint_every": None,
    "no_checkpoint": False, "db": None, "name": None, "progress": True,
}


def _int(low: int) -> Any:
    def parse(text: Any) -> int:
        try:
            value = int(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if isinstance(text, float) and text != value:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value
    parse.expects = "an integer"
    return parse


def _float(low: float, *, inclusive: bool = True, high: float | None = None) -> Any:
    def parse(text: Any) -> float:
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        bad = not math.isfinite(value) or value < low or (not inclusive and value == low)
        if bad or (high is not None and value >= high):
            bound = f"{'>=' if inclusive else '>'} {low:g}"
            if high is not None:
                bound += f" and < {high:g}"
            raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}")
        return value
    parse.expects = "a number"
    return parse


def _batch_size(text: Any) -> int | str:
    # "full" stays a word until the data loader is built: None would read as "not given".
    if str(text).lower() == "full":
        return "full"
    return _int(1)(text)


_batch_size.expects = "an integer or \"full\""


def _task(text: Any) -> str:
    from steepest.data.datasets import TARGET_KINDS

    value = str(text).strip().lower()
    if value not in TARGET_KINDS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(TARGET_KINDS)}, got "
                                         f"{text!r}")
    return value


def _bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


# key -> (converter, help). Converters check config values and command-line strings alike.
OPTIONS: dict[str, tuple[Any, str]] = {
    "data": (str, "mnist1d, digits, mnist, fashion-mnist, cifar10, or a .npz/.csv file"),
    "task": (_task, "classification (integer labels: cross-entropy, accuracy), regression "
                    "(real-valued targets: mean squared error; mae, rmse, r2) or auto "
                    "(regression when most of a file's targets are not whole numbers)"),
    "data_dir": (str, "folder holding the MNIST/Fashion-MNIST/CIFAR-10 files"),
    "model": (str, "mlp, logreg, cnn or lenet"),
    "depth": (_int(1), "hidden layers of the MLP"),
    "width": (_int(1), "units per hidden layer of the MLP"),
    "activation": (str, "activation of the MLP: relu, tanh, sigmoid, ..."),
    "init": (str, "initialisation: default, xavier, he, normal:<std>"),
    "batch_norm": (_bool, "batch norm after each hidden layer of the MLP"),
    "residual": (_bool, "skip connections around the MLP's hidden layers (the MNIST-1D "
                        "paper's MLP)"),
    "dropout": (_float(0.0, high=1.0), "dropout probability in the MLP"),
    "optimizer": (str, ", ".join(preset_names())),
    "lr": (_float(0.0, inclusive=False), "learning rate"),
    "weight_decay": (_float(0.0), "weight decay (L2; decoupled for adamw; default: the "
                                  "optimizer's own)"),
    "schedule": (str, "learning-rate schedule: constant, step, cosine, onecycle, ..."),
    "batch_size": (_batch_size, "examples per step; 'full' for full-batch gradient descent"),
    "epochs": (_int(1), "passes over the training data (instead of --steps)"),
    "steps": (_int(1), "optimizer steps (default 8000, the MNIST-1D recipe)"),
    "val_split": (_float(0.0, high=1.0), "fraction of the training data held out for validation"),
    "early_stopping": (_int(0), "stop after this many epochs without improvement"),
    "restore_best": (_bool, "end with the best epoch's weights"),
    "augment": (str, "comma-separated augmentations: flip, crop, noise, mixup, ..."),
    "grad_accumulation": (_int(1), "batches per optimizer step"),
    "clip_grad_norm": (_float(0.0, inclusive=False), "clip the gradients' global L2 norm"),
    "ema": (_float(0.0, inclusive=False, high=1.0), "evaluate an EMA of the weights (decay)"),
    "tta": (str, "also report test accuracy averaged over views: e.g. identity,hflip or "
                 "identity,shift-left,shift-right"),
    "seed": (_int(0), "seed of initialisation, data order, augmentation and dropout"),
    "checkpoint_dir": (str, "folder for last.safetensors and best.safetensors"),
    "checkpoint_every": (_int(1), "also write last.safetensors every this many steps"),
    "no_checkpoint": (_bool, "write no checkpoints"),
    "db": (str, "run store (default runs/steepest.db, or $STEEPEST_DB)"),
    "name": (str, "a name for the run in the store"),
    "progress": (_bool, "show the progress bar"),
}
# Distributed training (`steepest.distributed`, on Ray): its own group in --help.
STRATEGIES = ("sync", "downpour", "staleness", "dcasgd", "easgd", "gem")
DISTRIBUTED_DEFAULTS: dict[str, Any] = {"workers": 1, "strategy": "sync", "address": None}
DEFAULTS.update(DISTRIBUTED_DEFAULTS)


def _strategy(text: Any) -> str:
    name = str(text).strip().lower()
    if name not in STRATEGIES:
        raise argparse.ArgumentTypeError(f"unknown strategy {text!r}; choose from "
                                         f"{', '.join(STRATEGIES)}")
    return name


OPTIONS.update({
    "workers": (_int(1), "workers on Ray (more than 1, or --address: distributed training)"),
    "strategy": (_strategy, "sync (data-parallel, the default) or an asynchronous parameter "
                            "server: downpour, staleness, dcasgd, easgd, gem"),
    "address": (str, "join the Ray cluster at HOST:PORT instead of starting a local one"),
})
FLAGS = ("batch_norm", "residual", "restore_best", "no_checkpoint")
# Where a run writes: never taken from a checkpoint (a crafted file could point anywhere).
WHERE_KEYS = ("checkpoint_dir", "db")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train", help="train a model (default: an MLP on MNIST-1D with Adam, offline)",
        description="Train a model and record the run. Defaults: the MNIST-1D reference recipe "
                    "(MLP, Adam, lr 1e-2, batch 100, 8000 steps), generated locally.",
    )
    group = parser.add_argument_group("distributed training (Ray: pip install "
                                      "'steepest[distributed]')")
    for key, (convert, help_text) in OPTIONS.items():
        target = group if key in DISTRIBUTED_DEFAULTS else parser
        flag = "--" + key.replace("_", "-")
        default = DEFAULTS[key]
        shown = f"{help_text} (default: {default})" if default not in (None, "", False) else \
            help_text
        if key in FLAGS:
            parser.add_argument(flag, action="store_const", const=True, default=None, help=shown)
        elif key == "progress":
            parser.add_argument("--no-progress", dest="progress", action="store_const",
                                const=False, default=None, help="no progress bar")
        else:
            target.add_argument(flag, type=convert, default=None, help=shown,
                                metavar=key.upper())
    parser.add_argument("--config", metavar="TOML", help="read options from a TOML file")
    parser.add_argument("--resume", metavar="CHECKPOINT",
                        help="continue the run saved in this checkpoint (last.safetensors); "
                             "its checkpoints go on in the same folder unless --checkpoint-dir")
    parser.add_argument("--fork", action="store_true",
                        help="with --resume: branch a new run off the checkpoint (a new run "
                             "id and checkpoint folder; the original run is left as it is)")
    parser.add_argument("--extend-schedule", metavar="HOW",
                        help="with --resume and more steps than the schedule was made for: "
                             "keep-final (stay at the final rate) or restart (the schedule "
                             "again over the new steps)")
    parser.add_argument("--live", action="store_true",
                        help="watch the run in the browser: starts `steepest serve` on this "
                             "store (or finds the one running) and prints the run's page")
    return parser


def load_config(path: str) -> dict[str, Any]:
    """Options from a TOML file, checked with the same converters as the command line."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    from steepest._limits import not_a_file

    file = Path(path)
    problem = not_a_file(file)
    if problem == "does not exist":
        raise UsageError(f"--config {path}: no such file")
    if problem is not None:
        raise UsageError(f"--config {path} {problem}")
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"--config {path}: not valid TOML ({error})") from None
    except RecursionError:
        raise UsageError(f"--config {path}: nested too deeply to be a config of steepest "
                         f"options") from None
    return _checked_options(raw, f"--config {path}")


def _checked_options(raw: dict[str, Any], source: str,
                     unknown_ok: bool = False) -> dict[str, Any]:
    """Options from a TOML file or a checkpoint's config, each value checked by the option's
    own converter (as on the command line). unknown_ok: skip keys that are not options."""
    config = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in OPTIONS or name in ("progress",):
            if unknown_ok:
                continue
            known = ", ".join(k.replace("_", "-") for k in OPTIONS if k != "progress")
            raise UsageError(f"{source}: unknown key {key!r}"
                             f"{did_you_mean(str(key), known.split(', '))}; valid keys: {known}")
        convert = OPTIONS[name][0]
        # A run is as long as its steps or its epochs: the other one is None.
        if value is None and (DEFAULTS[name] is None or name in ("steps", "epochs")):
            config[name] = None
            continue
        expects = getattr(convert, "expects", None)
        if expects is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                    ) and not (convert is _batch_size and value == "full"):
            # A typed value of the wrong type: a boolean is not 1.0, a string not a number.
            shown = json.dumps(value) if isinstance(value, bool) else repr(value)
            raise UsageError(f"{source}: {key} must be {expects}, got {shown}")
        try:
            config[name] = value if convert is str and isinstance(value, str) else convert(value)
        except argparse.ArgumentTypeError as error:
            raise UsageError(f"{source}: {key}: {error}") from None
        if convert is str and not isinstance(value, str):
            raise UsageError(f"{source}: {key} must be a string, got {value!r}")
    if "steps" in config and "epochs" in config and config["steps"] is config["epochs"] is None:
        raise UsageError(f"{source}: steps or epochs must be set, both are none")
    return config


def resolve_options(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults, then the checkpoint's config (with --resume), the TOML file, the command line."""
    options = dict(DEFAULTS)
    layers = []
    if args.resume:
        layers.append(_checkpoint_config(args.resume))
    if args.config:
        layers.append(load_config(args.config))
    layers.append({k: v for k, v in vars(args).items() if k in OPTIONS and v is not None})
    if args.resume:
        _check_resume_changes(args.resume, layers[0], layers[1:])
    for layer in layers:
        if "epochs" in layer and "steps" in layer and None not in (layer["epochs"],
                                                                    layer["steps"]):
            raise UsageError("give epochs or steps, not both")
        # A layer that says how long replaces the length of the layers below it.
        if layer.get("epochs") is not None:
            options["steps"] = None
        if layer.get("steps") is not None:
            options["epochs"] = None
        options.update(layer)
    return options


# What may differ when a run is resumed: how long it goes on, where things are written, how it
# is shown. Everything else (lr, batch size, augmentation, ...) would not continue the same run.
CHANGEABLE_ON_RESUME = ("steps", "epochs", "checkpoint_dir", "checkpoint_every", "no_checkpoint",
                        "progress", "db", "name", "tta", "data_dir", "address")


def _check_resume_changes(path: str, saved: dict[str, Any], later: list[dict[str, Any]]) -> None:
    for layer in later:
        for key, value in layer.items():
            if key in CHANGEABLE_ON_RESUME:
                continue
            before = saved.get(key, DEFAULTS[key])
            if value != before:
                raise UsageError(
                    f"--{key.replace('_', '-')} {value} differs from the run in {path} "
                    f"({before}); a resumed run keeps its settings: start a new run to change it")


def _checkpoint_config(path: str) -> dict[str, Any]:
    """The options of the run in a checkpoint (its header only), checked like a config file;
    where to write (checkpoint folder, store) is never taken from the file."""
    from steepest._limits import not_a_file
    from steepest.io import CheckpointError, checkpoint_info

    problem = not_a_file(path)
    if problem == "does not exist":
        raise UsageError(f"--resume {path}: no such file")
    if problem is not None:
        raise UsageError(f"--resume {path} {problem}")
    try:
        config = checkpoint_info(path).config
    except CheckpointError as error:
        raise UsageError(f"--resume: {error}") from None
    config = {k: v for k, v in config.items() if k not in WHERE_KEYS}
    return _checked_options(config, f"--resume {path}: the checkpoint's config",
                            unknown_ok=True)


def _check_live() -> None:
    """--live needs the serve extra: say so before any run is recorded."""
    import importlib.util

    if not all(importlib.util.find_spec(name) for name in ("fastapi", "uvicorn")):
        raise UsageError("--live needs FastAPI and uvicorn: pip install 'steepest[serve]'")


def _live_line(db: Path, run_id: int) -> str:
    """Start or find `steepest serve` on the store; the line that says where to look. A server
    that cannot start is reported, and the training goes on."""
    from steepest.serve.server import ServeError, ensure_server

    try:
        url, pid = ensure_server(db)
    except ServeError as error:
        return f"live: no page ({error})"
    how = "already running" if pid is None else f"started, pid {pid}; stop it with kill {pid}"
    return f"live: {url}/runs/{run_id} (steepest serve {how})"


def command_for(config: dict[str, Any]) -> str | None:
    """The `steepest train` command that trains a run of this stored config again: every
    setting that differs from the default, spelled as on the command line (floats by repr, so
    they read back exactly). None if the config is not one `steepest train` wrote."""
    if not isinstance(config, dict) or not set(config) <= set(OPTIONS):
        return None
    words = ["steepest", "train"]
    for key in OPTIONS:
        value = config.get(key, DEFAULTS[key])
        # Not the name, the store or the checkpoint folder: the new run must not write over
        # the old one's files.
        if key in ("db", "progress", "name", "checkpoint_dir") or value is None \
                or value == DEFAULTS[key]:
            continue
        if key == "steps" and config.get("epochs") is not None:
            continue
        flag = "--" + key.replace("_", "-")
        if key in FLAGS:
            words.append(flag)
        else:
            words += [flag, repr(value) if isinstance(value, float) else str(value)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as cleanup:  # closes the store however the run ends
        return _train(args, cleanup)


def _train(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    if args.fork and not args.resume:
        raise UsageError("--fork branches a new run off a checkpoint: give --resume too")
    if args.extend_schedule and not args.resume:
        raise UsageError("--extend-schedule applies to a resumed run: give --resume too")
    options = resolve_options(args)
    try:  # before the data is loaded and any run is opened: a mistyped name costs nothing
        find_preset(options["optimizer"])
    except ValueError as error:
        raise UsageError(f"--optimizer: {error}") from None
    if args.live:
        _check_live()
    import steepest as st
    from steepest import models
    from steepest.data import build_augmentation, load_dataset
    from steepest.store import RunStore, RunStoreError, resolve_db_path
    from steepest.train import TrainingDiverged, fit
    from steepest.train.extension import schedule_span
    from steepest.train.fit import open_run
    from steepest.train.identity import RunConflictError, plan_run

    st.manual_seed(options["seed"])
    started = time.perf_counter()
    try:
        data = load_dataset(options["data"], root=options["data_dir"], task=options["task"])
    except FileNotFoundError as error:
        raise UsageError(str(error).strip("'\"")) from None
    except ValueError as error:
        raise UsageError(f"--data: {error}") from None
    except MemoryError as error:
        raise UsageError(f"--data {options['data']}: more than memory holds ({error})") from None
    sample_shape = tuple(data.x.shape[1:])
    if len(data.x) == 0:
        raise UsageError(f"--data {options['data']}: no training examples")
    task, outputs, what = _task_of(options, data)
    options["task"] = task  # recorded as decided, so a resumed run learns the same task
    print(f"data: {options['data']}, {len(data.x)} train / {len(data.x_test)} test, "
          f"inputs {sample_shape}, {what} (loaded in {time.perf_counter() - started:.1f} s)")
    options_of_model = {"init": options["init"]}
    mlp_only = ("depth", "width", "activation", "dropout", "batch_norm", "residual")
    if options["model"] == "mlp":
        options_of_model.update({k: options[k] for k in mlp_only})
    else:
        for key in mlp_only:
            if options[key] != DEFAULTS[key]:
                raise UsageError(f"--{key.replace('_', '-')} applies to --model mlp, not "
                                 f"--model {options['model']}")
    _check_model_size(options, sample_shape, outputs)
    try:
        model = models.build_model(options["model"], sample_shape, outputs,
                                   **options_of_model)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--model {options['model']}: {error}") from None
    except MemoryError as error:
        raise UsageError(f"--model {options['model']}: too big for memory ({error})") from None
    tta = [v.strip() for v in options["tta"].split(",") if v.strip()] or None
    from steepest.data.augment import check_tta_views

    try:  # names, and what the data's shape allows, before any run is opened
        check_tta_views(tta or (), sample_shape)
    except ValueError as error:
        raise UsageError(f"--tta: {error}") from None
    if tta and task != "classification":
        raise UsageError("--tta averages class probabilities over views: it is for "
                         "classification, and this run is a regression")
    try:
        augment = build_augmentation(
            options["augment"], sample_shape=sample_shape,
            num_classes=outputs if task == "classification" else None) \
            if options["augment"] else None
    except ValueError as error:
        raise UsageError(f"--augment: {error}") from None

    _check_optimizer_and_schedule(options, model, len(data.x))
    distributed = _distributed(options)  # Ray there and answering, before any run is opened
    try:
        store = RunStore(resolve_db_path(options["db"]))
    except RunStoreError as error:  # names the file and what to do
        raise UsageError(str(error)) from None
    except (ValueError, sqlite3.Error, OSError) as error:
        raise UsageError(f"--db {resolve_db_path(options['db'])}: {error}") from None
    cleanup.callback(store.close)  # SQLite then removes its -wal and -shm files

    # Where checkpoints go: --checkpoint-dir, else (resuming) beside the resumed file, else a
    # folder of the new run's own beside the store. Checked before anything is written.
    checkpoint_dir = None
    if not options["no_checkpoint"]:
        checkpoint_dir = options["checkpoint_dir"] or (
            Path(args.resume).parent if args.resume and not args.fork else None)
    try:
        plan = plan_run(args.resume, checkpoint_dir, fork=args.fork, store=store)
    except RunConflictError as error:
        raise UsageError(str(error)) from None
    try:  # more steps than the schedule was made for: only by an explicit choice
        schedule_span(options["schedule"], plan.resumed, _total_steps(options, len(data.x)),
                      args.extend_schedule, option="--extend-schedule")
    except ValueError as error:  # ScheduleExtensionError, or not one of the choices
        raise UsageError(str(error)) from None
    checkpoint_dir = plan.checkpoint_dir
    if checkpoint_dir is not None:
        _make_folder(checkpoint_dir)
    config = {k: v for k, v in options.items() if k not in ("db", "progress")}
    config["checkpoint_dir"] = None if checkpoint_dir is None else str(checkpoint_dir)
    command = "steepest " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "steepest train"
    run_record = open_run(store, config, plan, options["name"], command)
    if checkpoint_dir is None and not options["no_checkpoint"]:
        checkpoint_dir = _new_run_folder(store, run_record)
        config["checkpoint_dir"] = str(checkpoint_dir)  # what the checkpoints will say
        try:
            _make_folder(checkpoint_dir)
        except UsageError as error:
            run_record.fail(error)
            raise
    if plan.origin is not None or plan.record_id is not None:
        how = (f"continues run #{plan.record_id}" if plan.record_id is not None
               else f"{plan.origin} from {plan.origin_uuid or 'a checkpoint'} at step "
                    f"{plan.origin_step}")
        print(f"run #{run_record.id} ({run_record.uuid}) {how}")
    steps_text = (f"{options['steps']} steps" if options["steps"] is not None
                  else f"{options['epochs']} epochs")
    print(f"model: {options['model']}, {model.num_parameters()} parameters; "
          f"{options['optimizer']} lr {options['lr']:g}, batch {options['batch_size']}, "
          f"{steps_text}; run #{run_record.id} in {store.path}")
    if args.live:
        print(_live_line(store.path, run_record.id), flush=True)
    started = time.perf_counter()
    if distributed == "async":
        return _train_async(options, config, data, model, run_record, checkpoint_dir,
                            args.resume, store, started)
    seams = {}
    if distributed == "sync":
        from steepest.distributed.data_parallel import DataParallel

        parallel = DataParallel(model, options["workers"], address=options["address"],
                                seed=options["seed"])
        cleanup.callback(parallel.close)
        seams = parallel.seams()
        print(f"{options['workers']} workers on Ray: synchronous data-parallel, each batch "
              f"split over them")
    batch_size = None if options["batch_size"] == "full" else options["batch_size"]
    try:
        with run_record:  # a run that fails before training is marked "failed", not "running"
            history = fit(
                model, data, optimizer=options["optimizer"], lr=options["lr"],
                weight_decay=options["weight_decay"],
                schedule=(None if options["schedule"] in ("constant", "none")
                          else options["schedule"]),
                epochs=options["epochs"], steps=options["steps"], batch_size=batch_size,
                validation_split=options["val_split"], augment=augment,
                grad_accumulation=options["grad_accumulation"],
                clip_grad_norm=options["clip_grad_norm"], ema_decay=options["ema"],
                early_stopping=options["early_stopping"],
                restore_best_weights=options["restore_best"], checkpoint_dir=checkpoint_dir,
                checkpoint_every=options["checkpoint_every"], resume=args.resume,
                fork=args.fork, extend_schedule=args.extend_schedule, tta=tta, task=task,
                store=run_record, config=config,
                progress=options["progress"],
                seed=options["seed"], **seams)
    except TrainingDiverged as error:
        print(f"steepest: training diverged: {error}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as error:  # what only the optimizer or schedule can check
        raise UsageError(str(error)) from None
    seconds = time.perf_counter() - started
    test = {k.removeprefix("test_"): v for k, v in (history.test or {}).items()}
    val = {k.removeprefix("val_"): v for k, v in (history.val or {}).items()}
    nan = float("nan")
    if task == "classification":
        result = f"test accuracy {100 * test.get('accuracy', nan):.1f}%"
        if val:  # the returned model on both splits, comparable
            result = f"validation accuracy {100 * val.get('accuracy', nan):.1f}%, " + result
    else:
        result = ", ".join(f"test {name} {test.get(name, nan):.4g}" for name in ("r2", "rmse",
                                                                                 "mae"))
    print(f"{result} (loss {test.get('loss', nan):.4f}) after {history.trainer.step} steps in "
          f"{seconds:.1f} s")
    if "tta_accuracy" in test:
        print(f"test accuracy with test-time augmentation ({options['tta']}): "
              f"{100 * test['tta_accuracy']:.1f}% (loss {test['tta_loss']:.4f})")
    where = f"; checkpoints in {checkpoint_dir}" if checkpoint_dir else ""
    print(f"run #{run_record.id} recorded in {store.path}{where}")
    return 0


def _task_of(options: dict[str, Any], data: Any) -> tuple[str, int, str]:
    """(task, the model's outputs, the task in words) for the loaded data, checked
    (`data.check_split`): classification of integer labels or regression of real-valued
    targets (N,) or (N, K). A data problem is named before training, never "divergence"."""
    from steepest.data import check_split
    from steepest.train.tasks import infer_task

    task = options["task"] if options["task"] != "auto" else infer_task(data.y)
    try:
        check_split(data, f"--data {options['data']}", task=task)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if task == "regression":
        outputs = 1 if data.y.ndim == 1 else data.y.shape[1]
        how = "" if options["task"] == "regression" else " (real-valued targets; --task to choose)"
        return task, outputs, f"regression of {outputs} target{'s' * (outputs > 1)}{how}"
    num_classes = data.num_classes
    missing = np.setdiff1d(np.arange(num_classes), data.y).tolist()  # num_classes is bounded
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        print(f"note: no training example has class {shown}; the model still has "
              f"{num_classes} outputs (labels are used as class indices 0..{num_classes - 1})")
    return task, num_classes, f"{num_classes} classes"


def _check_optimizer_and_schedule(options: dict[str, Any], model: Any, examples: int) -> None:
    """Build the optimizer and schedule once on the model before any run is opened, so that a
    typo (--optimizer adma) or a bad combination leaves no failed run behind."""
    from steepest.optim.registry import make_optimizer, make_scheduler

    total = _total_steps(options, examples)
    try:
        probe = make_optimizer(options["optimizer"], model, lr=options["lr"],
                               weight_decay=options["weight_decay"])
        if options["schedule"] not in ("constant", "none"):
            make_scheduler(options["schedule"], probe, total_steps=total,
                           steps_per_epoch=max(1, total // (options["epochs"] or 1)))
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None


def _total_steps(options: dict[str, Any], examples: int) -> int:
    """The optimizer steps of the run, as `fit` counts them (validation split held out)."""
    if options["steps"] is not None:
        return options["steps"]
    train = examples - int(round(examples * options["val_split"]))
    batch = train if options["batch_size"] == "full" else options["batch_size"]
    batches = -(-train // max(1, batch))
    return options["epochs"] * -(-batches // options["grad_accumulation"])


def _make_folder(folder: Path) -> None:
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--checkpoint-dir {folder}: cannot create it "
                         f"({error.strerror or error})") from None


def _new_run_folder(store: Any, run: Any) -> Path:
    """checkpoints/run-<id> beside the store, or run-<id>-<uuid> if a folder of that name
    already holds checkpoints (of a run in a store since deleted, say)."""
    from steepest.train.identity import CHECKPOINT_FILES

    base = store.path.parent.absolute() / "checkpoints"
    folder = base / f"run-{run.id}"
    if any((folder / name).exists() for name in CHECKPOINT_FILES):
        folder = base / f"run-{run.id}-{run.uuid[:8]}"
    return folder


def _check_model_size(options: dict[str, Any], sample_shape: tuple[int, ...],
                      classes: int) -> None:
    """Refuse an MLP that cannot fit in memory (--width 10000000000) before allocating it: its
    weights, their gradients and two optimizer moments, in float32."""
    from steepest._limits import memory_problem

    if options["model"] != "mlp":
        return
    width, depth = options["width"], options["depth"]
    inputs = math.prod(sample_shape)
    params = inputs * width + (depth - 1) * width * width + width * classes + depth * width
    problem = memory_problem(16 * params)
    if problem is not None:
        raise UsageError(f"--width {width} --depth {depth}: an MLP of {params:.3g} parameters "
                         f"{problem}; choose a smaller one")


# ---------------------------------------------------------------------------- distributed
# What an asynchronous run does not do (each worker steps on its own; there is no one
# optimizer step for a schedule, clipping, accumulation, EMA or early stopping to follow).
_NOT_ASYNC = ("schedule", "grad_accumulation", "clip_grad_norm", "ema", "early_stopping",
              "restore_best", "augment", "tta", "checkpoint_every")


def _distributed(options: dict[str, Any]) -> str | None:
    """None (one process), "sync" or "async"; starts or joins Ray now, so that a missing Ray
    or an address that does not answer is one line before anything is written."""
    if options["strategy"] == "sync" and options["workers"] == 1 and not options["address"]:
        return None
    kind = "sync" if options["strategy"] == "sync" else "async"
    if kind == "async":
        for key in _NOT_ASYNC:
            if options[key] != DEFAULTS[key]:
                raise UsageError(f"--{key.replace('_', '-')} is not available with --strategy "
                                 f"{options['strategy']} (asynchronous workers each step on "
                                 f"their own); drop it or use --strategy sync")
        if options["batch_size"] == "full":
            raise UsageError("--batch-size full is not available with an asynchronous "
                             "strategy; give a number")
    from steepest.distributed.cluster import RayUnavailable, connect

    try:
        connect(options["address"])
    except RayUnavailable as error:
        raise UsageError(str(error)) from None
    return kind


def _train_async(options: dict[str, Any], config: dict[str, Any], data: Any, model: Any,
                 run_record: Any, checkpoint_dir: Path | None, resume: str | None, store: Any,
                 started: float) -> int:
    """`steepest train --strategy downpour|staleness|dcasgd|easgd|gem`: a parameter server and
    --workers workers on Ray (`distributed.train_async`); per-epoch lines with the staleness,
    the run recorded in the store, the server's checkpoint as last.safetensors."""
    from steepest.data import train_val_split
    from steepest.distributed.asynchronous import train_async
    from steepest.io import CheckpointError

    x, y = data.x, data.y
    validation = None
    if options["val_split"]:
        x, y, x_val, y_val = train_val_split(x, y, options["val_split"], seed=options["seed"])
        validation = (x_val, y_val)
    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = Path(checkpoint_dir) / "last.safetensors"
        if resume is not None and Path(resume).resolve() != checkpoint.resolve():
            import shutil

            shutil.copyfile(resume, checkpoint)  # the server continues from its own file
    length = ({"steps": options["steps"]} if options["steps"] is not None
              else {"epochs": options["epochs"]})
    (unit, count), = length.items()
    print(f"{options['workers']} workers on Ray, strategy {options['strategy']}: each takes "
          f"{count} {unit} of batch {options['batch_size']}")

    def record(epoch: int, logs: dict[str, float]) -> None:
        run_record.log_epoch(epoch, **logs)
        if checkpoint is not None:
            run_record.add_checkpoint(str(checkpoint), kind="last", step=int(logs["commits"]))

    # A None the options cannot take back (steps, with epochs given) stays out of the file.
    config = {k: v for k, v in config.items() if v is not None or DEFAULTS.get(k) is None}
    extra = {"run_uuid": getattr(run_record, "uuid", None)}
    try:
        with run_record:
            result = train_async(
                model, (x, y), strategy=options["strategy"], workers=options["workers"],
                batch_size=options["batch_size"], optimizer=options["optimizer"],
                lr=options["lr"], seed=options["seed"], validation=validation,
                test=(data.x_test, data.y_test) if len(data.x_test) else None,
                checkpoint=checkpoint, address=options["address"], on_epoch=record,
                config=config, extra=extra, **length)
            final = {**{f"final_{k}": v[-1] for k, v in result.history.items() if v},
                     **result.summary, "strategy": options["strategy"],
                     "workers": options["workers"], "worker_restarts": result.restarts,
                     "train_seconds": time.perf_counter() - started}
            status = "diverged" if result.diverged else "finished"
            run_record.finish(status=status, results=final)
    except CheckpointError as error:
        raise UsageError(f"--resume: {error}") from None
    if result.diverged:
        print(f"steepest: training diverged: {result.diverged}", file=sys.stderr)
        return 1
    summary = result.summary
    pi = (f", mean π {summary['mean_pi']:.3f} ({100 * summary['clamped_fraction']:.1f}% of "
          f"coordinates clamped to 0)" if "mean_pi" in summary else "")
    test = result.history
    print(f"test accuracy {100 * test.get('test_accuracy', [math.nan])[-1]:.1f}% (loss "
          f"{test.get('test_loss', [math.nan])[-1]:.4f}) after {summary['commits']} commits in "
          f"{time.perf_counter() - started:.1f} s; staleness mean {summary['mean_staleness']:.2f}"
          f", max {summary['max_staleness']}{pi}")
    where = f"; checkpoint {checkpoint}" if checkpoint else ""
    print(f"run #{run_record.id} recorded in {store.path}{where}")
    return 0
