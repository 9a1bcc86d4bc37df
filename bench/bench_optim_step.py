"""Time one optimizer step over 10 million float32 parameters, beside PyTorch and a memory copy.

    python bench/bench_optim_step.py [--threads N] [--repeats R] [--tensors K]

steepest runs each rule with its default executor (`SerialExecutor`: the calling thread, large
tensors in cache-sized chunks) and with `ThreadedExecutor(N)` (the chunks on N threads).

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
# STEEPEST_KEEP_MEMORY=0 measures without it.
st.keep_freed_memory()


def median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


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
          f"{ARGS.repeats} steps\n")
    source = np.concatenate(values)
    target = np.empty_like(source)
    copy_ms = median_ms(lambda: np.copyto(target, source), ARGS.repeats)

    threaded = optim.ThreadedExecutor(ARGS.threads)
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
    for name, copies, make_st, torch_variants in cases:
        t_st = median_ms(steepest_case(make_st, values, grads), ARGS.repeats)
        torch_times = {label: median_ms(torch_case(make, values, grads), ARGS.repeats)
                       for label, make in torch_variants}
        limit = copies * copy_ms
        torch_cell = ", ".join(f"{label} {ms:.1f}" for label, ms in torch_times.items())
        print(f"| {name} | {t_st:.1f} | {torch_cell} | {t_st / torch_times['foreach']:.2f} | "
              f"{limit:.1f} | {t_st / limit:.2f} |")
    print(f"\none copy of {ARGS.numel:,} float32 (40 MB read + 40 MB written): {copy_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
