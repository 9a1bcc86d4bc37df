"""Time forward + backward of conv2d and conv1d in steepest and PyTorch (float32, same threads).

    python bench/conv_speed.py [--threads 2] [--repeats 50]

Cases are LeNet-like: conv2d N=64 1->6 5x5 on 28x28 and 6->16 5x5 on 12x12; conv1d N=100
1->25 k=5 stride 2 on L=40 and 25->25 k=5 stride 2. Every input, weight and bias needs a
gradient. Prints the median milliseconds of each library and the ratio steepest / PyTorch.

Each case runs twice: with glibc's default malloc settings, then with its heap trimming turned
off (mallopt). By default glibc hands freed multi-megabyte blocks (im2col matrices) back to the
OS after every step, so the next step pays a page fault per 4 KiB page; PyTorch's allocator
keeps them. The second table shows the cost of the convolution itself.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import time


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads")
    parser.add_argument("--repeats", type=int, default=50, help="timed steps per case")
    return parser.parse_args()


ARGS = _parse()
# Thread counts must be fixed before NumPy and PyTorch load their BLAS.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import steepest as st  # noqa: E402
import steepest.nn.functional as F  # noqa: E402

torch.set_num_threads(ARGS.threads)
# As `steepest train` and `fit` do (PyTorch has its caching allocator): glibc keeps freed memory.
# STEEPEST_KEEP_MEMORY=0 measures without it.
st.keep_freed_memory()

# name, dims, (N, C_in, spatial), (C_out, kernel), stride
CASES = [
    ("conv2d 1->6 5x5 28x28", 2, (64, 1, 28, 28), (6, 5), 1),
    ("conv2d 6->16 5x5 12x12", 2, (64, 6, 12, 12), (16, 5), 1),
    ("conv1d 1->25 k5 s2 L40", 1, (100, 1, 40), (25, 5), 2),
    ("conv1d 25->25 k5 s2 L18", 1, (100, 25, 18), (25, 5), 2),
]


def _median_ms(step, repeats: int) -> float:
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def _steps(dims, x_shape, c_out, k, stride):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((c_out, x_shape[1]) + (k,) * dims).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    st_conv = F.conv2d if dims == 2 else F.conv1d
    torch_conv = torch.nn.functional.conv2d if dims == 2 else torch.nn.functional.conv1d
    sx, sw, sb = (st.Tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    grad = None

    def st_step():
        nonlocal grad
        out = st_conv(sx, sw, sb, stride=stride)
        if grad is None:
            grad = rng.standard_normal(out.shape).astype(np.float32)
        sx.grad = sw.grad = sb.grad = None
        out.backward(grad)

    def torch_step():
        out = torch_conv(tx, tw, tb, stride=stride)
        tx.grad = tw.grad = tb.grad = None
        out.backward(torch.from_numpy(grad))

    return st_step, torch_step


def _keep_heap() -> bool:
    """Stop glibc from trimming the heap and from mmapping big blocks (False if not glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_trim_threshold, 1 << 30)
                and libc.mallopt(m_mmap_threshold, 1 << 29))


def _table(title: str) -> None:
    print(title)
    print(f"{'case':26s} {'steepest ms':>12s} {'torch ms':>10s} {'ratio':>7s}")
    for name, dims, x_shape, (c_out, k), stride in CASES:
        st_step, torch_step = _steps(dims, x_shape, c_out, k, stride)
        st_step()  # also fixes the upstream gradient that torch_step reuses
        ours = _median_ms(st_step, ARGS.repeats)
        theirs = _median_ms(torch_step, ARGS.repeats)
        print(f"{name:26s} {ours:12.3f} {theirs:10.3f} {ours / theirs:7.2f}")


def main() -> None:
    print(f"threads={ARGS.threads} repeats={ARGS.repeats} numpy {np.__version__} "
          f"torch {torch.__version__}, forward + backward, float32, median of repeats")
    _table("glibc malloc defaults:")
    if _keep_heap():
        _table("glibc heap trimming off (mallopt M_TRIM_THRESHOLD, M_MMAP_THRESHOLD):")


if __name__ == "__main__":
    main()
