"""Time one training step (forward, backward, SGD update) in steepest, PyTorch and plain NumPy.

    python bench/bench_step.py [--threads N] [--repeats R]

Everything runs in one process with the same thread count, and the table reports medians and
ratios (steepest / PyTorch, steepest / NumPy). The hand-written NumPy step is the floor the
engine is measured against: the same arithmetic with no graph.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="BLAS and PyTorch threads (default: all cores)")
    parser.add_argument("--repeats", type=int, default=200, help="timed steps per case")
    parser.add_argument("--only", default="", help="comma-separated case names to run")
    return parser.parse_args()


ARGS = _parse()
# Thread counts must be fixed before NumPy and PyTorch load their BLAS.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import steepest as st  # noqa: E402
import steepest.nn.functional as F  # noqa: E402
from steepest import nn  # noqa: E402

torch.set_num_threads(ARGS.threads)
# As `steepest train` and `fit` do (PyTorch has its caching allocator): glibc keeps freed memory.
# STEEPEST_KEEP_MEMORY=0 measures without it.
st.keep_freed_memory()
LR = 0.01


def interleaved_medians_ms(steps: dict, repeats: int, rounds: int = 10) -> dict:
    """Median time per step of each implementation, timed in alternating rounds so that a
    slow spell of the machine (this is a shared 2-core VM) falls on all of them alike."""
    for step in steps.values():
        for _ in range(max(5, repeats // 10)):
            step()
    samples = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(max(1, repeats // rounds)):
                start = time.perf_counter()
                step()
                samples[name].append(time.perf_counter() - start)
    return {name: 1000 * float(np.median(times)) for name, times in samples.items()}


# ----------------------------------------------------------------------------- models
def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torch_mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def torch_lenet():
    t = torch.nn
    return t.Sequential(
        t.Conv2d(1, 6, 5), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(6, 16, 5), t.ReLU(), t.MaxPool2d(2),
        t.Flatten(), t.Linear(16 * 4 * 4, 120), t.ReLU(), t.Linear(120, 84), t.ReLU(),
        t.Linear(84, 10),
    )


def mnist1d_cnn():
    """The MNIST-1D paper's CNN: three conv1d layers of 25 channels, stride 2, then a linear."""
    return nn.Sequential(
        nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(125, 10),
    )


def torch_mnist1d_cnn():
    t = torch.nn
    return t.Sequential(
        t.Conv1d(1, 25, 5, stride=2, padding=1), t.ReLU(),
        t.Conv1d(25, 25, 3, stride=2, padding=1), t.ReLU(),
        t.Conv1d(25, 25, 3, stride=2, padding=1), t.ReLU(),
        t.Flatten(), t.Linear(125, 10),
    )


# ----------------------------------------------------------------------------- steps
def steepest_step(model, x, y):
    params = list(model.parameters())
    xt = st.Tensor(x)

    def step():
        for p in params:
            p.grad = None
        loss = F.cross_entropy(model(xt), y)
        loss.backward()
        with st.no_grad():  # PyTorch's update, written the same way as torch_step's
            for p in params:
                p.sub_(p.grad, alpha=LR)

    return step


def torch_step(model, x, y):
    params = list(model.parameters())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        for p in params:
            p.grad = None
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LR)

    return step


def numpy_step(model, x, y):
    """The same MLP step written by hand: forward, softmax cross-entropy, backward, SGD."""
    weights = [(m.weight.data, m.bias.data) for m in model if isinstance(m, nn.Linear)]
    n = x.shape[0]
    rows = np.arange(n)

    def step():
        activations = [x]
        h = x
        for i, (w, b) in enumerate(weights):
            h = h @ w.T
            h += b
            if i < len(weights) - 1:
                np.maximum(h, 0, out=h)
            activations.append(h)
        logits = activations[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        grad = probs
        grad[rows, y] -= 1
        grad /= n
        for i in range(len(weights) - 1, -1, -1):
            w, b = weights[i]
            a = activations[i]
            grad_w = grad.T @ a
            grad_b = grad.sum(axis=0)
            if i > 0:
                grad = grad @ w
                grad *= a > 0
            w -= LR * grad_w
            b -= LR * grad_b

    return step


def copy_weights(model, torch_model):
    torch_model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in
                                 model.state_dict().items()})


CASES = [
    # name, steepest builder, torch builder, input shape, batch, has NumPy step
    ("mlp 40-100-100-10, batch 100", lambda: mlp([40, 100, 100, 10]),
     lambda: torch_mlp([40, 100, 100, 10]), (40,), 100, True),
    ("mlp 784-512-512-10, batch 128", lambda: mlp([784, 512, 512, 10]),
     lambda: torch_mlp([784, 512, 512, 10]), (784,), 128, True),
    ("LeNet-5 CNN 1x28x28, batch 64", lenet, torch_lenet, (1, 28, 28), 64, False),
    ("MNIST-1D CNN (3 conv1d), batch 100", mnist1d_cnn, torch_mnist1d_cnn, (1, 40), 100, False),
]


def main() -> int:
    rng = np.random.default_rng(0)
    st.manual_seed(0)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"threads={ARGS.threads}; Python {platform.python_version()}, NumPy {np.__version__}, "
          f"PyTorch {torch.__version__}, steepest {st.__version__}")
    print()
    header = (f"| {'case':36} | {'steepest ms':>11} | {'PyTorch ms':>10} | {'NumPy ms':>8} | "
              f"{'st/PyTorch':>10} | {'st/NumPy':>8} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    only = [s.strip() for s in ARGS.only.split(",") if s.strip()]
    for name, build, build_torch, in_shape, batch, has_numpy in CASES:
        if only and not any(o in name for o in only):
            continue
        x = rng.standard_normal((batch, *in_shape)).astype(np.float32)
        y = rng.integers(0, 10, batch)
        model = build()
        torch_model = build_torch()
        copy_weights(model, torch_model)
        steps = {"steepest": steepest_step(model, x, y), "torch": torch_step(torch_model, x, y)}
        if has_numpy:
            steps["numpy"] = numpy_step(build(), x, y)
        medians = interleaved_medians_ms(steps, ARGS.repeats)
        t_st, t_torch = medians["steepest"], medians["torch"]
        t_np = medians.get("numpy", float("nan"))
        np_cell = f"{t_np:8.3f}" if has_numpy else f"{'-':>8}"
        ratio_np = f"{t_st / t_np:8.2f}" if has_numpy else f"{'-':>8}"
        print(f"| {name:36} | {t_st:11.3f} | {t_torch:10.3f} | {np_cell} | "
              f"{t_st / t_torch:10.2f} | {ratio_np} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
