"""Fuzz steepest's parsers of outside input with atheris (coverage-guided, libFuzzer).

    python tests/fuzz/run.py TARGET --runs 2000        a bounded run (what `make test` does)
    python tests/fuzz/run.py all --seconds 60          every target in turn (`make fuzz`)

Targets and what each may raise are in targets.py; seed corpora in seeds.py. A run starts from
the seeds plus what earlier runs found (--corpus, default .fuzz/corpus/TARGET), and writes any
input that ends in something else than a result or a documented error to .fuzz/crashes/ (with
its traceback on stderr). The process may use at most --memory-gb of memory, so that a memory
bomb shows up as a MemoryError finding rather than as the machine swapping. Exit status 0: no
finding.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

# The modules that parse outside input (and what they call), instrumented for coverage; the
# rest of steepest is not (instrumenting all of it takes seconds and guides nothing here).
INSTRUMENTED = ("steepest.io", "steepest.data.datasets", "steepest._limits", "steepest.cli.train",
                "steepest.train.checks", "steepest.train.trainer", "steepest.optim.lr_scheduler",
                "steepest.optim.optimizer", "steepest.train.callbacks", "steepest.train.ema")


def _not_instrumented() -> list[str]:
    """Every module of steepest outside INSTRUMENTED (atheris includes whole packages and
    excludes single modules), found from the files, without importing anything."""
    import importlib.util

    root = Path(importlib.util.find_spec("steepest").submodule_search_locations[0])
    names = []
    for path in root.rglob("*.py"):
        parts = ("steepest", *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not any(name == kept or name.startswith(kept + ".") for kept in INSTRUMENTED):
            names.append(name)
    return names


def write_seeds(target: str, corpus: Path) -> None:
    from seeds import SEEDS

    corpus.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS[target]().items():
        path = corpus / f"seed-{name}"
        if not path.exists():
            path.write_bytes(data)


def fuzz_one(target: str, runs: int | None, seconds: int | None, corpus: Path,
             artifacts: Path, memory_gb: float) -> None:
    """Run one target in this process (libFuzzer exits the process when it is done)."""
    import resource

    import atheris

    limit = int(memory_gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with atheris.instrument_imports(include=["steepest"], exclude=_not_instrumented()):
        import steepest.cli.train  # noqa: F401
        import steepest.data.datasets  # noqa: F401
        import steepest.io.checkpoint  # noqa: F401
        import steepest.optim.lr_scheduler  # noqa: F401
        import steepest.train.checks  # noqa: F401
        import steepest.train.trainer  # noqa: F401
    import targets

    def test_one_input(data: bytes) -> None:
        targets.run_one(target, data)

    write_seeds(target, corpus)
    artifacts.mkdir(parents=True, exist_ok=True)
    options = [f"-runs={runs}"] if runs is not None else [f"-max_total_time={seconds}"]
    # -timeout: an input that takes longer is a hang (a finding). -max_len: big enough for
    # every seed's structure; libFuzzer cuts longer corpus files to it.
    options += ["-timeout=20", "-max_len=65536", f"-rss_limit_mb={int(memory_gb * 1024)}",
                f"-artifact_prefix={artifacts}/{target}-", "-print_final_stats=1"]
    atheris.Setup([sys.argv[0], *options, str(corpus)], test_one_input)
    atheris.Fuzz()


def fuzz_all(seconds: int, memory_gb: float, state: Path) -> int:
    """Each target in its own process for `seconds`; a summary table; status 1 on findings."""
    from targets import TARGETS

    rows, failed = [], []
    started = time.monotonic()
    for target in TARGETS:
        begin = time.monotonic()
        result = subprocess.run(
            [sys.executable, __file__, target, "--seconds", str(seconds), "--memory-gb",
             str(memory_gb), "--state", str(state)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        output = result.stdout  # libFuzzer's lines and atheris's traceback, interleaved
        done = re.findall(r"Done (\d+) runs in (\d+) second", output)
        executed = re.findall(r"number_of_executed_units: (\d+)", output)
        coverage = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", output)
        runs = done[-1][0] if done else (executed[-1] if executed else "?")
        cov = coverage[-1] if coverage else ("?", "?", "?")
        status = "ok" if result.returncode == 0 else f"FINDING (exit {result.returncode})"
        if result.returncode != 0:
            failed.append(target)
            start = max(output.rfind("=== Uncaught Python exception"),
                        output.rfind("Traceback (most recent call last)"))
            report = output[start:] if start >= 0 else output[-6000:]
            sys.stderr.write(f"\n===== {target} =====\n{report[:8000]}\n")
        rows.append((target, runs, cov[0], cov[2], f"{time.monotonic() - begin:.0f}s", status))
    print(f"{'target':12s} {'inputs':>9s} {'edges':>6s} {'corpus':>6s} {'time':>6s}  result")
    for row in rows:
        print(f"{row[0]:12s} {row[1]:>9s} {row[2]:>6s} {row[3]:>6s} {row[4]:>6s}  {row[5]}")
    print(f"total {time.monotonic() - started:.0f}s; corpora in {state / 'corpus'}, "
          f"findings in {state / 'crashes'}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="a target of targets.py, or 'all'")
    parser.add_argument("--runs", type=int, help="stop after this many inputs")
    parser.add_argument("--seconds", type=int, default=60, help="else stop after this long")
    parser.add_argument("--memory-gb", type=float, default=4.0,
                        help="memory the fuzzed process may use (default %(default)s)")
    parser.add_argument("--state", type=Path, default=ROOT / ".fuzz",
                        help="where corpora and findings are kept (default .fuzz/)")
    parser.add_argument("--corpus", type=Path, help="corpus folder (default STATE/corpus/TARGET)")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if args.target == "all":
        return fuzz_all(args.seconds, args.memory_gb, args.state)
    corpus = args.corpus or args.state / "corpus" / args.target
    fuzz_one(args.target, args.runs, None if args.runs else args.seconds, corpus,
             args.state / "crashes", args.memory_gb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
