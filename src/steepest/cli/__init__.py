"""The `steepest` command: argument parsing and friendly errors only; the work lives elsewhere."""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
from typing import Any


class UsageError(Exception):
    """A mistake in the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake prints one line (no usage block) and exits with status 2, with
    the name meant when one is close ("did you mean --optimizer?")."""

    _parsing: _Parser | None = None  # the innermost (sub)command parser at work

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        _Parser._parsing = self
        return super().parse_known_args(args, namespace)

    def error(self, message: str):  # type: ignore[override]
        owner = self
        if message.startswith("unrecognized arguments") and _Parser._parsing is not None:
            owner = _Parser._parsing  # the subcommand whose options were mistyped
        self.exit(2, f"{self.prog}: {message}{_suggestion(message, owner)} "
                     f"(see '{owner.prog} --help')\n")


def _suggestion(message: str, parser: argparse.ArgumentParser) -> str:
    """" (did you mean ...?)" for a mistyped option or choice in an argparse message."""
    from steepest._suggest import close_matches

    if "did you mean" in message:
        return ""
    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
    if choice:
        found = close_matches(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
        return f" (did you mean {found[0]!r}?)" if found else ""
    if message.startswith("unrecognized arguments: "):
        options = list(parser._option_string_actions)
        guesses = [match for word in message.split(": ", 1)[1].split() if word.startswith("-")
                   for match in close_matches(word.split("=")[0], options)]
        return f" (did you mean {' or '.join(dict.fromkeys(guesses))}?)" if guesses else ""
    return ""


def build_parser() -> argparse.ArgumentParser:
    from steepest import __version__

    parser = _Parser(
        prog="steepest", description="Gradient descent, from the chain rule up, on NumPy."
    )
    parser.add_argument("--version", action="version", version=f"steepest {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # Imported here: the subcommand modules need UsageError from this module.
    from steepest.cli import async_study, compare, diagnose, race, runs, serve, train

    train.add_parser(commands)
    race.add_parser(commands)
    runs.add_parser(commands)
    diagnose.add_parser(commands)
    compare.add_parser(commands)
    async_study.add_parser(commands)
    serve.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for arg in argv:  # undecodable bytes arrive as surrogates: refuse them, in one line
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raw = arg.encode("utf-8", "surrogateescape")
            print(f"steepest: argument {raw!r} is not valid UTF-8; give names and paths in "
                  f"UTF-8", file=sys.stderr)
            return 2
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a mistake already printed in one line
        return int(done.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    from steepest import keep_freed_memory

    keep_freed_memory()  # the command trains: glibc keeps freed memory (STEEPEST_KEEP_MEMORY=0)
    style = _figure_style(getattr(args, "style", "default"))
    with _blas_threads(), _sigterm_as_interrupt(), style:
        return _run(args)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler or `kill` stopping the job), raised where Ctrl-C would be."""


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Any:
    """While a command runs, SIGTERM stops it as Ctrl-C does: the run is marked interrupted,
    its last complete checkpoint stays and no temporary file is left behind."""
    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except (ValueError, OSError):  # not the main thread, or no SIGTERM here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _figure_style(name: str) -> Any:
    """The command's figures in `--style` (matplotlib is loaded only for a style not default)."""
    if name == "default":
        return contextlib.nullcontext()
    from steepest.figures import figure_style

    return figure_style(name)


def _blas_threads() -> Any:
    """BLAS threads for the command: $STEEPEST_BLAS_THREADS, default 1, unless the user set
    OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS. The models trained here are small
    (batch 100 by width 100): measured on two shared cores, OpenBLAS's threads made an MLP run
    5-8x slower while anything else ran, and a fixed count keeps runs repeatable bit for bit
    (sums are rounded differently with another count). threadpoolctl comes with scikit-learn
    (steepest[data]); without it nothing changes."""
    import contextlib
    import os

    if any(os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                             "MKL_NUM_THREADS")):
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    threads = os.environ.get("STEEPEST_BLAS_THREADS", "1")
    if not threads.isdigit() or int(threads) < 1:
        print(f"steepest: ignoring STEEPEST_BLAS_THREADS={threads!r} (expected a positive "
              f"integer)", file=sys.stderr)
        threads = "1"
    return threadpool_limits(limits=int(threads), user_api="blas")


def _run(args: argparse.Namespace) -> int:
    from steepest.store import RunStoreError

    try:
        if args.command == "train":
            from steepest.cli import train

            return train.run(args)
        if args.command == "race":
            from steepest.cli import race

            return race.run(args)
        if args.command == "runs":
            from steepest.cli import runs

            return runs.run(args)
        if args.command == "diagnose":
            from steepest.cli import diagnose

            return diagnose.run(args)
        if args.command == "compare":
            from steepest.cli import compare

            return compare.run(args)
        if args.command == "async":
            from steepest.cli import async_study

            return async_study.run(args)
        if args.command == "serve":
            from steepest.cli import serve

            return serve.run(args)
    except (UsageError, RunStoreError) as error:  # a store error names the file and the fix
        print(f"steepest: {error}", file=sys.stderr)
        return 2
    except Terminated:
        print("steepest: terminated (SIGTERM); the run is marked interrupted", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("steepest: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `steepest runs show 3 | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except OSError as error:  # a file or folder the system refused: say which, no traceback
        where = f" {error.filename}" if error.filename else ""
        print(f"steepest: cannot use{where}: {error.strerror or error}", file=sys.stderr)
        return 1
    except MemoryError as error:
        print(f"steepest: out of memory ({error or 'an allocation failed'}); use less data, "
              f"a smaller model or a smaller batch", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
