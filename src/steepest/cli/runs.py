"""`steepest runs`: list, show, compare, export and plot runs (the store is opened read-only),
and delete runs (asking first). Every stored string is printed as text: control characters
are shown escaped, never sent to the terminal."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any

from steepest.cli import UsageError
from steepest.cli.values import add_style_option
from steepest.store.runstore import printable as _text

# Results shown in `runs list`, the first three found in this order (accuracy for
# classification, r2 for regression).
KEY_RESULTS = ("test_accuracy", "test_r2", "test_loss", "val_accuracy", "val_r2", "val_loss",
               "accuracy", "r2", "loss")
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `runs` and its subcommands on an argparse subparsers object; returns its parser."""
    parser = subparsers.add_parser(
        "runs",
        help="list, show, compare, export, plot and delete recorded runs",
        description="Read the run store (SQLite; --db, else $STEEPEST_DB, else "
                    "runs/steepest.db under the working directory).",
    )
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="FILE",
                    help="run store file (default: $STEEPEST_DB or runs/steepest.db)")
    actions = parser.add_subparsers(dest="runs_command", metavar="ACTION",
                                    parser_class=type(parser))
    listing = actions.add_parser("list", parents=[db], help="one line per run")
    listing.add_argument("--kind", help="only runs of this kind (e.g. train)")
    show = actions.add_parser("show", parents=[db], help="everything recorded about one run")
    show.add_argument("id", help="run id (as `runs list` shows it)")
    compare = actions.add_parser("compare", parents=[db],
                                 help="config differences and final results of several runs")
    compare.add_argument("ids", nargs="+", metavar="ID", help="two or more run ids")
    export = actions.add_parser("export", parents=[db], help="a run's metrics as CSV")
    export.add_argument("id", help="run id")
    export.add_argument("--csv", action="store_true", help="write CSV (the only format)")
    export.add_argument("--scope", choices=("epoch", "step"), default="epoch",
                        help="per-epoch or per-step metrics (default: %(default)s)")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output "
                        "(never over the store; over an existing file only with --force)")
    export.add_argument("--force", action="store_true",
                        help="with --out: replace an existing file")
    plot = actions.add_parser("plot", parents=[db],
                              help="loss and accuracy against epoch, one line per run")
    plot.add_argument("ids", nargs="+", metavar="ID", help="run ids")
    plot.add_argument("--out", metavar="PNG", required=True,
                      help="picture to write (.png, .svg or .pdf)")
    add_style_option(plot)
    delete = actions.add_parser("delete", parents=[db],
                                help="delete runs and their metrics (asks first)")
    delete.add_argument("ids", nargs="+", metavar="ID", help="run ids")
    delete.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    parser.set_defaults(runs_parser=parser)
    return parser


# ---------------------------------------------------------------------------- helpers
def _run_id(text: str) -> int:
    try:
        value = int(text.removeprefix("#"))
    except ValueError:
        raise UsageError(f"run id must be a number as `steepest runs list` shows it, got "
                         f"{text!r}") from None
    if value < 1:
        raise UsageError(f"run id must be a positive number, got {text!r}")
    return value


def _open_store(db: str | None) -> Any:
    from steepest.store import RunStore, resolve_db_path

    path = resolve_db_path(db)
    if not path.is_file():
        raise UsageError(f"no run store at {path} (train something first, or pass --db)")
    try:
        return RunStore(path, readonly=True)  # never a write, even to a file that is a store
    except (ValueError, FileNotFoundError) as error:
        raise UsageError(str(error)) from None


def _record(store: Any, run_id: int) -> Any:
    try:
        return store.run(run_id)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else _text(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _key_results(results: dict[str, Any]) -> str:
    keys = [k for k in KEY_RESULTS if k in results][:3] or list(results)[:3]
    return " ".join(f"{_text(k)}={_number(results[k])}" for k in keys) or "-"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows,
                                                                        strict=True)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in [headers, *rows]]
    return "\n".join(lines)


def _flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys: {"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}."""
    if not isinstance(config, dict):
        return {prefix: config}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, name))
        else:
            flat[name] = value
    return flat


def _output_path(path: str, option: str, store: Any, suffixes: tuple[str, ...] | None = None,
                 force: bool | None = None) -> str:
    """`path` checked as a file to write: never the store (or its -wal/-shm/-journal files),
    and, when force is False, never an existing file."""
    if suffixes is not None and not path.lower().endswith(suffixes):
        raise UsageError(f"{option} {path!r}: the file name must end in {' or '.join(suffixes)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path!r}: folder {folder!r} does not exist")
    target = os.path.realpath(path)
    store_file = os.path.realpath(store.path)
    if target in [store_file] + [store_file + end for end in ("-wal", "-shm", "-journal")] or (
            os.path.exists(path) and os.path.samefile(path, store.path)):
        raise UsageError(f"{option} {path}: that is the run store itself ({store.path}); "
                         f"write somewhere else")
    if force is False and os.path.lexists(path):
        raise UsageError(f"{option} {path}: the file exists; add --force to replace it")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: that is a folder; give a file name")
    return path


# ---------------------------------------------------------------------------- subcommands
def _list(store: Any, args: argparse.Namespace) -> int:
    records = store.runs(kind=args.kind)
    if not records:
        what = f"no {args.kind} runs" if args.kind else "no runs"
        print(f"{what} in {store.path}")
        return 0
    rows = [[str(r.id), _text(r.kind), _text(r.name or "-"), r.status, _when(r.started_at),
             _duration(r.duration), _key_results(r.results)] for r in records]
    print(_table(["id", "kind", "name", "status", "started", "duration", "results"], rows))
    return 0


def _show(store: Any, args: argparse.Namespace) -> int:
    record = _record(store, _run_id(args.id))
    print(f"run {_text(record.label)}  ({_text(record.kind)}, {record.status})")
    print(f"  command:   {_text(record.command or '-')}")
    print(f"  started:   {_when(record.started_at)}   finished: {_when(record.finished_at)}   "
          f"duration: {_duration(record.duration)}")
    commit = _text(record.git_commit[:12]) if record.git_commit else \
        "- (not in a git repository)"
    print(f"  steepest:  {_text(record.steepest_version or '-')}   git commit: {commit}")
    print(f"  run id:    {record.uuid or '-'}")
    if record.lineage:
        print(f"  origin:    {record.lineage}")
    config = _flatten(record.config)
    print("config:" if config else "config: (empty)")
    for key, value in config.items():
        print(f"  {_text(key)} = {_number(value)}")
    print("results:" if record.results else "results: (none)")
    for key, value in _flatten(record.results).items():
        print(f"  {_text(key)} = {_number(value)}")
    if record.checkpoints:
        print("checkpoints:")
        for checkpoint in record.checkpoints:
            step = "-" if checkpoint.step is None else checkpoint.step
            print(f"  {_text(checkpoint.kind):6s} step {step}  {_text(checkpoint.path)}")
    for scope in ("epoch", "step"):
        metrics = store.metrics(record.id, scope)
        if not metrics:
            print(f"{scope} metrics: (none)")
            continue
        steps = sorted({int(s) for s_, _ in metrics.values() for s in s_})
        print(f"{scope} metrics: {len(steps)} {scope}s ({steps[0]}..{steps[-1]}), "
              f"{', '.join(_text(name) for name in metrics)}")
        last = " ".join(f"{_text(name)}={_number(float(values[-1]))}"
                        for name, (_, values) in metrics.items())
        print(f"  last: {last}")
    return 0


def _compare(store: Any, args: argparse.Namespace) -> int:
    ids = [_run_id(text) for text in args.ids]
    if len(ids) < 2:
        raise UsageError("runs compare needs two or more run ids")
    records = [_record(store, run_id) for run_id in ids]
    configs = [_flatten(r.config) for r in records]
    keys = list(dict.fromkeys(k for config in configs for k in config))
    missing = object()
    differing = [k for k in keys
                 if len({repr(config.get(k, missing)) for config in configs}) > 1]
    headers = ["", *(_text(r.label) for r in records)]
    rows: list[list[str]] = [["status", *(r.status for r in records)],
                             ["duration", *(_duration(r.duration) for r in records)]]
    if differing:
        rows.append(["config:", *([""] * len(records))])
        for key in differing:
            rows.append([f"  {_text(key)}", *(_number(c[key]) if key in c else "-"
                                              for c in configs)])
    results = [_flatten(r.results) for r in records]
    result_keys = list(dict.fromkeys(k for result in results for k in result))
    if result_keys:
        rows.append(["results:", *([""] * len(records))])
        for key in result_keys:
            rows.append([f"  {_text(key)}", *(_number(r[key]) if key in r else "-"
                                              for r in results)])
    print(_table(headers, rows))
    if not differing:
        print(f"(configs identical: {len(keys)} keys)")
    return 0


def _export(store: Any, args: argparse.Namespace) -> int:
    if not args.csv:
        raise UsageError("runs export: choose a format with --csv (the only one so far)")
    record = _record(store, _run_id(args.id))
    if args.out is None:
        store.export_csv(record.id, sys.stdout, scope=args.scope)
        return 0
    out = _output_path(args.out, "--out", store, force=args.force)
    rows = store.export_csv(record.id, out, scope=args.scope)
    print(f"wrote {rows} {args.scope} rows of run {record.label} to {out}")
    return 0


def _plot(store: Any, args: argparse.Namespace) -> int:
    from steepest.store import plot_runs

    ids = [_run_id(text) for text in args.ids]
    out = _output_path(args.out, "--out", store, PLOT_SUFFIXES)
    records = [_record(store, run_id) for run_id in ids]
    try:
        plot_runs(store, [r.id for r in records], out)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(f"wrote {out} ({', '.join(r.label for r in records)})")
    return 0


def _delete(store: Any, args: argparse.Namespace) -> int:
    from steepest.store import RunStore

    ids = list(dict.fromkeys(_run_id(text) for text in args.ids))
    records = [_record(store, run_id) for run_id in ids]  # every id known, or nothing happens
    for record in records:
        print(f"  #{record.id} {_text(record.name or record.kind)}  {record.status}  "
              f"{_when(record.started_at)}  {_key_results(record.results)}")
    if not args.yes:
        if not sys.stdin or not sys.stdin.readable():
            raise UsageError("runs delete: nothing to ask on; add --yes to delete without asking")
        what = (f"{len(records)} runs and their" if len(records) > 1 else "this run and its")
        print(f"delete {what} metrics from {store.path}? [y/N] ", end="", flush=True)
        answer = sys.stdin.readline()
        if not answer:
            print()
            raise UsageError("runs delete: no answer (standard input is closed); add --yes to "
                             "delete without asking")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted; the runs are kept")
            return 1
    with RunStore(store.path) as writable:  # the one command here that writes
        deleted = writable.delete_runs(ids)
    files = [c.path for r in records for c in r.checkpoints]
    print(f"deleted run{'s' if len(deleted) > 1 else ''} {', '.join(f'#{i}' for i in deleted)} "
          f"from {store.path}"
          + ("; their checkpoint files are left in place" if files else ""))
    return 0


_COMMANDS = {"list": _list, "show": _show, "compare": _compare, "export": _export,
             "plot": _plot, "delete": _delete}


def run(args: argparse.Namespace) -> int:
    """Run `steepest runs ACTION` from parsed arguments. Raises UsageError (one line for the
    user) on a missing store, an unknown run id or a bad output path."""
    if args.runs_command is None:
        args.runs_parser.print_help()
        return 2
    store = _open_store(args.db)
    try:
        return _COMMANDS[args.runs_command](store, args)
    finally:
        store.close()
