"""Ray's overhead, synchronous data-parallel throughput and the asynchronous parameter server's
update rate, on this machine, in one run.

    python bench/bench_distributed.py [--steps 40] [--repeats 3]

1. Ray: the time `ray.init` takes here (a local instance, 127.0.0.1), and the round trip of a
   dict of parameters from 4 KB to 40 MB to an actor and back (median of --repeats).
2. Synchronous data-parallel (`distributed.DataParallel`): training throughput (examples/s) of
   the MNIST-1D CNN recipe (batch 100) and of LeNet-5 on 1x28x28 images (batch 64; random
   images of MNIST's shape: MNIST itself is not shipped, and the speed does not depend on the
   pixels) with N = 1 and 2 worker actors, against the same steps in this one process.
   Speed-up = throughput / one process's; scaling efficiency = speed-up / N.
3. The asynchronous parameter server (`distributed.train_async`, GEM, the study's MLP on
   digits): commits per second and mean staleness with N = 2, 4, 8 workers, measured over a
   second epoch (the first one starts the actors).

BLAS runs on one thread in every process (the driver and each actor), as the `steepest`
command does. The machine is described at the top of the output; on a shared machine the
numbers move with the load, which is printed too.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import steepest as st  # noqa: E402
from steepest import models  # noqa: E402


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="round trips per size")
    return parser.parse_args()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    import ray

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, NumPy "
            f"{np.__version__}, Ray {ray.__version__}; load average {load}")


def table(rows: list[dict]) -> str:
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(row[h]) for h in headers) + " |")
    return "\n".join(lines)


class _Echo:
    def echo(self, params: dict) -> dict:
        return params


def ray_overhead(repeats: int) -> tuple[float, list[dict]]:
    from steepest.distributed.cluster import ACTOR_CPUS, connect

    started = time.perf_counter()
    ray = connect()
    init = time.perf_counter() - started
    actor = ray.remote(num_cpus=ACTOR_CPUS)(_Echo).remote()
    ray.get(actor.echo.remote({}))  # the actor's process is up
    rows = []
    for size in (4 << 10, 400 << 10, 4 << 20, 40 << 20):
        params = {"weight": np.ones(size // 4, dtype=np.float32)}
        ray.get(actor.echo.remote(params))  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            ray.get(actor.echo.remote(params))
            times.append(time.perf_counter() - start)
        seconds = float(np.median(times))
        label = f"{size >> 20} MB" if size >= 1 << 20 else f"{size >> 10} KB"
        rows.append({"parameters": label, "round trip (ms)": f"{1000 * seconds:.2f}",
                     "MB/s (both ways)": f"{2 * size / seconds / 1e6:.0f}"})
    ray.kill(actor)
    return init, rows


def _recipes() -> list[tuple[str, object, np.ndarray, np.ndarray, int]]:
    from steepest.data import load_mnist1d

    data = load_mnist1d()
    rng = np.random.default_rng(0)
    images = rng.random((640, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, 640)
    return [("MNIST-1D CNN, batch 100", models.mnist1d_cnn, data.x, data.y, 100),
            ("LeNet-5 1x28x28, batch 64", lambda: models.lenet(1, 10, 28), images, labels, 64)]


def _throughput(build, x, y, batch, steps, workers) -> float:
    from steepest.distributed.data_parallel import DataParallel
    from steepest.optim import SGD

    st.manual_seed(0)
    model = build()
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
    dp = DataParallel(model, workers) if workers else None

    def step(i: int) -> None:
        start = (i * batch) % (len(x) - batch)
        xb, yb = x[start:start + batch], y[start:start + batch]
        optimizer.zero_grad()
        if dp is None:
            st.nn.functional.cross_entropy(model(st.Tensor(xb)), yb).backward()
        else:
            dp.forward_backward(xb, yb)
            dp.reduce_gradients()
        optimizer.step()

    for i in range(3):  # warm-up (and the actors' first call)
        step(i)
    started = time.perf_counter()
    for i in range(steps):
        step(i)
    seconds = time.perf_counter() - started
    if dp is not None:
        dp.close()
    return steps * batch / seconds


def sync_throughput(steps: int) -> list[dict]:
    rows = []
    for name, build, x, y, batch in _recipes():
        single = _throughput(build, x, y, batch, steps, 0)
        rows.append({"recipe": name, "run": "one process", "examples/s": f"{single:.0f}",
                     "speed-up": "1.00", "efficiency": ""})
        for workers in (1, 2):
            rate = _throughput(build, x, y, batch, steps, workers)
            rows.append({"recipe": name, "run": f"{workers} worker{'s' * (workers > 1)}",
                         "examples/s": f"{rate:.0f}", "speed-up": f"{rate / single:.2f}",
                         "efficiency": f"{rate / single / workers:.0%}"})
    return rows


def async_rates(steps: int) -> list[dict]:
    from steepest.distributed.asynchronous import train_async
    from steepest.lab.async_study import _data

    x, y = _data(None)
    rows = []
    for workers in (2, 4, 8):
        st.manual_seed(0)
        model = models.mlp(64, 10, depth=1, width=128, init="he")
        marks: list[float] = []
        staleness: list[float] = []

        def epoch_end(epoch: int, logs: dict, marks=marks, staleness=staleness) -> None:
            marks.append(time.perf_counter())
            staleness.append(logs["mean_staleness"])

        train_async(model, (x, y), strategy="gem", workers=workers, epochs=2, batch_size=64,
                    lr=0.2, steps_per_epoch=steps, log=None, on_epoch=epoch_end)
        seconds = marks[1] - marks[0]
        rows.append({"workers": workers, "commits/s": f"{workers * steps / seconds:.0f}",
                     "mean staleness": f"{staleness[1]:.2f}", "N - 1": workers - 1})
    return rows


def main() -> None:
    args = _parse()
    init, trips = ray_overhead(args.repeats)
    print(f"Machine: {machine()}\n")
    print(f"ray.init (local, 127.0.0.1): {init:.1f} s\n")
    print(table(trips), "\n")
    print(f"Synchronous data-parallel, {args.steps} steps each (after 3 warm-up steps):\n")
    print(table(sync_throughput(args.steps)), "\n")
    print(f"Asynchronous parameter server (GEM, MLP 64-128-10 on digits, batch 64), "
          f"{args.steps} steps per worker:\n")
    print(table(async_rates(args.steps)))


if __name__ == "__main__":
    main()
