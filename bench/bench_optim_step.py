"""Time one optimizer step over 10 million float32 parameters, beside PyTorch and a memory copy.

    python bench/bench_optim_step.py [--threads N] [--repeats R] [--tensors K]

steepest runs each rule with its default executor (`SerialExecutor`: the calling thread, large
tensors in cache-sized chunks) and with `ThreadedExecutor(N)` (the chunks on N threads). Each
row's steepest and PyTorch steps are timed in alternating rounds, so that a slow spell of this
shared machine falls on all of them alike; the ratio to PyTorch comes from the same rounds.

Before/after comparisons: `PYTHONPATH=/tmp/old/src python bench/bench_optim_step.py` times an
older checkout with this script (`git worktree add /tmp/old COMMIT`); sources from before the
executors (0cd672b and older) have no `executor=`, and their default optimizer put the chunks
on N threads, so their rows are the default only.

The parameters are K tensors (default 10 of 1M each). Each step is memory-bound, so the floor is
the time to move its bytes: SGD with momentum reads p, g, v and writes p, v (2.5 copies of the
parameters); Adam reads p, g, m, v and writes p, m, v (3.5 copies). The copy limit is measured as
`np.copyto` of one 10M float32 array, times those factors.
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--tensors", type=int, default=10)
    parser.add_argument("--numel", type=int, default=10_000_000, help="parameters in all")
    return parser.parse_args()


ARGS = _parse()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import steepest as st  # noqa: E402
from steepest import optim  # noqa: E402
from steepest.nn import Parameter  # noqa: E402

torch.set_num_threads(ARGS.threads)
# As `steepest train` and `fit` do (PyTorch has its caching allocator): glibc keeps freed memory.
# STEEPEST_KEEP_MEMORY=0 measures without it. (Sources older than the call set it at import.)
getattr(st, "keep_freed_memory", lambda: None)()
HAS_EXECUTORS = hasattr(optim, "ThreadedExecutor")


def type_threads() -> int:
    """Threads an optimizer from before the executors used (its class attribute)."""
    return getattr(optim.Optimizer, "threads", 1)


def median_ms(fn, repeats: int) -> float:
    return interleaved_medians_ms({"fn": fn}, repeats)["fn"]


def interleaved_medians_ms(steps: dict, repeats: int, rounds: int = 10) -> dict:
    """Median ms per call of each function, timed in alternating rounds (after 3 warm-ups)."""
    for step in steps.values():
        for _ in range(3):
            step()
    samples = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(max(1, repeats // rounds)):
                start = time.perf_counter()
                step()
                samples[name].append(time.perf_counter() - start)
    return {name: 1000 * float(np.median(times)) for name, times in samples.items()}


def make_arrays(rng):
    size = ARGS.numel // ARGS.tensors
    return [rng.standard_normal(size, dtype=np.float32) for _ in range(ARGS.tensors)]


def steepest_case(make_optimizer, values, grads):
    params = [Parameter(v.copy()) for v in values]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.copy()
    optimizer = make_optimizer(params)
    return optimizer.step


def torch_case(make_optimizer, values, grads):
    params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.from_numpy(g.copy())
    optimizer = make_optimizer(params)
    return optimizer.step


def main() -> int:
    rng = np.random.default_rng(0)
    values, grads = make_arrays(rng), make_arrays(rng)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, threads={ARGS.threads}; "
          f"NumPy {np.__version__}, PyTorch {torch.__version__}, steepest {st.__version__}")
    print(f"{ARGS.numel:,} float32 parameters in {ARGS.tensors} tensors; median of "
          f"{ARGS.repeats} steps in {min(10, ARGS.repeats)} alternating rounds")
    if not HAS_EXECUTORS:
        print(f"(sources from before the executors: the default optimizer updates large "
              f"tensors in chunks on {type_threads()} threads)")
    print()
    source = np.concatenate(values)
    target = np.empty_like(source)
    copy_ms = median_ms(lambda: np.copyto(target, source), ARGS.repeats)

    threaded = optim.ThreadedExecutor(ARGS.threads) if HAS_EXECUTORS else None
    cases = [
        ("SGD momentum 0.9", 2.5,
         lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9),
         [("foreach", lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9, foreach=True)),
          ("for-loop", lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9, foreach=False))]),
        (f"SGD momentum 0.9, {ARGS.threads} threads", 2.5,
         lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9, executor=threaded),
         [("foreach", lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9, foreach=True)),
          ("for-loop", lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9, foreach=False))]),
        ("Adam", 3.5,
         lambda ps: optim.Adam(ps, lr=1e-3),
         [("foreach", lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True)),
          ("fused", lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True)),
          ("for-loop", lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=False))]),
        (f"Adam, {ARGS.threads} threads", 3.5,
         lambda ps: optim.Adam(ps, lr=1e-3, executor=threaded),
         [("foreach", lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True)),
          ("fused", lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True)),
          ("for-loop", lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=False))]),
    ]
    print("| optimizer | steepest ms | PyTorch ms | st / PyTorch foreach | copy limit ms | "
          "st / copy limit |")
    print("|---|---|---|---|---|---|")
    if not HAS_EXECUTORS:
        cases = [case for case in cases if "threads" not in case[0]]
    for name, copies, make_st, torch_variants in cases:
        steps = {"steepest": steepest_case(make_st, values, grads)}
        steps.update({label: torch_case(make, values, grads) for label, make in torch_variants})
        torch_times = interleaved_medians_ms(steps, ARGS.repeats)
        t_st = torch_times.pop("steepest")
        limit = copies * copy_ms
        torch_cell = ", ".join(f"{label} {ms:.1f}" for label, ms in torch_times.items())
        print(f"| {name} | {t_st:.1f} | {torch_cell} | {t_st / torch_times['foreach']:.2f} | "
              f"{limit:.1f} | {t_st / limit:.2f} |")
    megabytes = 4 * ARGS.numel / 1e6
    print(f"\none copy of {ARGS.numel:,} float32 ({megabytes:g} MB read + {megabytes:g} MB "
          f"written): {copy_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
