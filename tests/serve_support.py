"""Helpers of the `steepest serve` tests: a run store with known numbers, and a real server
(`steepest serve --port 0` in a subprocess) that a test starts and stops by its pid."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from steepest.store import RunStore

HOSTILE = '<img src=x onerror="window.__pwned=1">'


def loss_curve(steps: int, seed: int) -> np.ndarray:
    """A noisy decreasing loss: exp decay plus seeded noise, a spike at step 7."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    values = 2.0 * np.exp(-t / max(steps / 4, 1)) + 0.1 + 0.05 * rng.standard_normal(steps)
    if steps > 7:
        values[7] = 5.0
    return values


def make_store(path: Path, runs: int = 4, steps: int = 300) -> RunStore:
    """A store with `runs` finished training runs: two configs × seeds; the last one has a
    hostile name (also in its config and results).
    Run i logs loss_curve(steps, seed=i) and lr at every step, and 3 epochs."""
    store = RunStore(path)
    for i in range(runs):
        lr = 0.01 if i % 2 == 0 else 0.003
        name = HOSTILE if i == runs - 1 else f"adam lr {lr}"
        config = {"optimizer": "adam", "lr": lr, "seed": i // 2, "total_steps": steps}
        if name == HOSTILE:  # stored strings besides the name: shown as text too
            config["name"] = HOSTILE
        run = store.start_run(config, name=name, command=f"steepest train --lr {lr}")
        for step, value in enumerate(loss_curve(steps, seed=i), start=1):
            run.log_step(step, loss=float(value), lr=lr)
        for epoch in (1, 2, 3):
            run.log_epoch(epoch, loss=1.0 / epoch, accuracy=0.3 * epoch)
        results = {"test_accuracy": 0.5 + 0.01 * i}
        if name == HOSTILE:
            results["note"] = HOSTILE
        run.finish(results=results)
    return store


class LiveServer:
    """`steepest serve --db DB --port 0` in a subprocess; `url` once it listens. Stopped by
    its pid (SIGTERM, then SIGKILL) when the `with` block ends."""

    def __init__(self, db: Path, *extra: str, cwd: Path | None = None) -> None:
        self.db = db
        self.extra = extra
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.stderr = ""

    def __enter__(self) -> LiveServer:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "steepest", "serve", "--db", str(self.db), "--port", "0",
             *self.extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            cwd=self.cwd)
        line = self.process.stdout.readline()
        if "http://" not in line:
            self.stop()
            raise RuntimeError(f"steepest serve did not start: {line!r} {self.stderr!r}")
        self.url = line.split("http://", 1)[1].split()[0]
        self.url = "http://" + self.url.rstrip("/")
        return self

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            if process is not None and process.stderr:
                self.stderr = process.stderr.read()
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        self.stderr = process.stderr.read() if process.stderr else ""
        process.stdout.close()
        process.stderr.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(condition, timeout: float, interval: float = 0.05, what: str = "condition"):
    """condition()'s first truthy value within `timeout` seconds; AssertionError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def close(a, b, tol: float = 1e-12) -> bool:
    """Nested lists of numbers (None for null/NaN) equal to `tol`."""
    if isinstance(a, list) or isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
