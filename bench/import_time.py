"""How long `import steepest` takes: `python -X importtime -c "import steepest"`, best of N.

    python bench/import_time.py [--runs N] [SRC ...]

SRC: source folders to compare (each goes on PYTHONPATH; default this checkout's src/). To
compare with an older commit: `git archive COMMIT src | tar -x -C /tmp/old` and pass /tmp/old/src.
The runs of several folders are interleaved (A B A B ...) so that other work on the machine
slows them alike; the best run of each is reported, with numpy's share, steepest's own modules
and the slowest entries. Bytecode is cached, as after `pip install`, in a temporary
PYTHONPYCACHEPREFIX (one warm-up run each; the source folders are not written to), even when
PYTHONDONTWRITEBYTECODE is set; --compile measures with every module compiled from source.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

Row = tuple[int, int, str]  # self µs, cumulative µs, module


def _environment(src: str, cache: str | None) -> dict[str, str]:
    """steepest from `src`; bytecode in `cache` (None: compile every module, write nothing)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["PYTHONPATH"] = src
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def one_run(src: str, cache: str | None) -> tuple[int, float, list[Row]]:
    """(import steepest's wall time in µs, the process's CPU seconds, every module's row).
    cache: the bytecode folder (None: compile every module, write nothing)."""
    env = _environment(src, cache)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import steepest"],
                         env=env, capture_output=True, text=True, check=True).stderr
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, cumulative, name = line[len("import time:"):].split("|")
            rows.append((int(self_us), int(cumulative), name.strip()))
    return next(c for _, c, name in rows if name == "steepest"), cpu, rows


OWN = ("import time, numpy, numpy.random, hashlib, random, secrets\n"
       "start = time.process_time()\n"
       "import steepest\n"
       "print(time.process_time() - start)\n")


def own_cpu(src: str, cache: str | None) -> float:
    """CPU seconds of `import steepest` alone, with numpy (and the standard modules steepest
    needs) already imported: steepest's own share, the steadiest number on a busy machine."""
    env = _environment(src, cache)
    done = subprocess.run([sys.executable, "-c", OWN], env=env, capture_output=True, text=True,
                          check=True)
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compile", action="store_true",
                        help="no bytecode cache: every module compiled from source each run")
    parser.add_argument("src", nargs="*",
                        default=[str(Path(__file__).resolve().parents[1] / "src")])
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="steepest-pycache-") as folder:
        caches = {src: None if args.compile else f"{folder}/{i}"
                  for i, src in enumerate(args.src)}
        if not args.compile:
            for src in args.src:
                one_run(src, caches[src])  # the warm-up writes the bytecode
        runs: dict[str, list[tuple[int, float, list[Row]]]] = {src: [] for src in args.src}
        own: dict[str, list[float]] = {src: [] for src in args.src}
        for _ in range(args.runs):
            for src in args.src:
                runs[src].append(one_run(src, caches[src]))
                own[src].append(own_cpu(src, caches[src]))
    print("bytecode:", "none (compiled every run)" if args.compile else "cached")
    for src in args.src:
        total, _, rows = min(runs[src])
        cpu = min(c for _, c, _ in runs[src])
        cumulative = {name: c for _, c, name in rows}
        own_modules = sum(s for s, _, name in rows if name.startswith("steepest"))
        print(f"\n{src}\n  import steepest: {total / 1000:.1f} ms (best of {args.runs}; all: "
              f"{', '.join(f'{t / 1000:.0f}' for t, _, _ in sorted(runs[src]))} ms)")
        print(f"  CPU: the whole process (start-up and import) {cpu * 1000:.0f} ms; "
              f"import steepest after numpy {min(own[src]) * 1000:.1f} ms (best of {args.runs})")
        print(f"  numpy {cumulative.get('numpy', 0) / 1000:.1f} ms, steepest's own modules "
              f"{own_modules / 1000:.1f} ms, {len(rows)} modules imported")
        print("  slowest entries (self time):")
        for self_us, cum, name in sorted(rows, reverse=True)[:8]:
            print(f"    {self_us / 1000:6.1f} ms self {cum / 1000:7.1f} ms cumulative  {name}")


if __name__ == "__main__":
    main()
