"""The `steepest` command: argument parsing and friendly errors only; the work lives elsewhere."""

from __future__ import annotations

import argparse
import sys
import time


class UsageError(Exception):
    """A mistake in the command line: printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake prints one line (no usage block) and exits with status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="steepest", description="Gradient descent, from the chain rule up, on NumPy."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    train = commands.add_parser(
        "train", help="train a model (default: an MLP on MNIST-1D, generated locally)"
    )
    train.add_argument("--epochs", type=_positive_int, default=20)
    train.add_argument("--lr", type=_positive_float, default=0.1, help="learning rate η")
    train.add_argument("--batch-size", type=_positive_int, default=100)
    train.add_argument("--hidden", type=_positive_int, default=100, help="hidden units per layer")
    train.add_argument("--seed", type=int, default=0)
    from steepest.cli import race  # imported here: race needs UsageError from this module

    race.add_parser(commands)
    return parser


def _train(args: argparse.Namespace) -> int:
    import steepest as st
    from steepest import nn
    from steepest.data import load_mnist1d
    from steepest.train import train_classifier

    st.manual_seed(args.seed)
    start = time.perf_counter()
    data = load_mnist1d()
    print(f"MNIST-1D: {len(data.x)} train, {len(data.x_test)} test, 40 features, 10 classes "
          f"(generated in {time.perf_counter() - start:.1f} s)")
    model = nn.Sequential(
        nn.Linear(40, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, 10),
    )
    print(f"model: MLP 40-{args.hidden}-{args.hidden}-10, {model.num_parameters()} parameters; "
          f"mini-batch gradient descent, lr {args.lr}, batch {args.batch_size}")
    start = time.perf_counter()
    train_classifier(model, data.x, data.y, data.x_test, data.y_test, epochs=args.epochs,
                     lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    print(f"trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "race":
            from steepest.cli import race

            return race.run(args)
    except UsageError as error:
        print(f"steepest: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("steepest: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
