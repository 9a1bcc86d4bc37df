"""Response times of `steepest serve`'s metric endpoints over a store of 100 runs × 100k steps.

    python bench/serve_metrics.py [--runs 100] [--steps 100000] [--db PATH] [--points 1000]

The store is written once through the run store's own API (`Run.log_step`, as training writes
it; a few minutes) and kept at --db for later runs of this script. A real server
(`steepest serve --port 0`, a subprocess) answers over HTTP with keep-alive; times are wall
times at the client, JSON included. Beside them, the floor of a cold read: fetching the same
100k rows from SQLite with Python's sqlite3, which any reader of the store pays once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=1000, help="bins a chart asks for")
    parser.add_argument("--db", type=Path,
                        default=Path(tempfile.gettempdir()) / "steepest-bench-serve.db")
    return parser.parse_args()


def make_store(path: Path, runs: int, steps: int) -> None:
    from steepest.store import RunStore

    rng = np.random.default_rng(0)
    started = time.perf_counter()
    with RunStore(path) as store:
        for index in range(runs):
            lr = [0.1, 0.03, 0.01, 0.003][index % 4]
            config = {"optimizer": "adam", "lr": lr, "seed": index // 4}
            with store.start_run(config, name=f"bench {index}", command="bench") as run:
                noise = rng.standard_normal(steps)
                values = 2.0 * np.exp(-np.arange(steps) / (steps / 5)) + 0.1 + 0.05 * noise
                for step, value in enumerate(values.tolist(), start=1):
                    run.log_step(step, loss=value)
            print(f"\rwrote run {index + 1}/{runs} ({time.perf_counter() - started:.0f} s)",
                  end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


class Server:
    """`steepest serve --port 0` in a subprocess, and a client of it, for a `with` block."""

    def __init__(self, db: Path, *options: str) -> None:
        self.command = [sys.executable, "-m", "steepest", "serve", "--db", str(db), "--port",
                        "0", *options]

    def __enter__(self) -> Client:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        return Client(int(line.split("http://127.0.0.1:")[1].split("/")[0]))

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.process.stdout.close()


class Client:
    """One keep-alive HTTP connection to the server; `get` returns (seconds, bytes)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def get(self, path: str) -> tuple[float, bytes]:
        start = time.perf_counter()
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        seconds = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
        json.loads(body)
        return seconds, body


def summary(seconds: list[float]) -> str:
    ms = sorted(1000 * s for s in seconds)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return f"{statistics.median(ms):8.1f} {p90:8.1f} {ms[-1]:8.1f}"


def main() -> None:
    args = _parse()
    if not args.db.exists():
        print(f"writing {args.runs} runs × {args.steps} steps to {args.db} ...", file=sys.stderr)
        make_store(args.db, args.runs, args.steps)
    rows = []
    one = f"points={args.points}&names=loss"
    # 1. no preloading: every run is read from SQLite when first asked for
    with Server(args.db, "--no-preload") as client:
        ids = [r["id"] for r in json.loads(client.get("/api/runs")[1])["runs"]][:args.runs]
        listing = [client.get("/api/runs")[0] for _ in range(5)]
        rows.append(("GET /api/runs (the run list)", listing, ""))
        cold = [client.get(f"/api/runs/{i}/metrics?{one}")[0] for i in ids]
        rows.append(("GET /api/runs/{id}/metrics, first read of a run", cold, "(each run)"))
    # 2. as `steepest serve` starts: the newest runs' losses are read in the background
    with Server(args.db) as client:
        started = time.perf_counter()
        while json.loads(client.get("/api/health")[1])["preloaded"] < len(ids):
            time.sleep(0.1)
        preload = time.perf_counter() - started
        rows.append((f"preloading all {len(ids)} runs' losses after the start", [preload],
                     "(once, in the background)"))
        warm = [client.get(f"/api/runs/{i}/metrics?{one}")[0] for i in ids]
        rows.append(("GET /api/runs/{id}/metrics, from memory", warm, "(each run)"))

        every = ",".join(map(str, ids))
        chart = [client.get(f"/api/metrics?runs={every}&name=loss&points={args.points}")
                 for _ in range(5)]
        size = len(chart[0][1])
        rows.append((f"GET /api/metrics, all {len(ids)} runs in one chart",
                     [c[0] for c in chart], f"({size / 1e6:.1f} MB of JSON)"))
        middle = args.steps // 2
        zoom = [client.get(f"/api/metrics?runs={every}&name=loss&points={args.points}"
                           f"&start={middle}&end={middle + 999}")[0] for _ in range(5)]
        rows.append(("GET /api/metrics, all runs zoomed to 1000 steps", zoom, "(exact rows)"))

    floor = []
    with sqlite3.connect(f"file:{args.db}?mode=ro", uri=True) as conn:
        for i in ids[:20]:
            start = time.perf_counter()
            fetched = conn.execute("SELECT step, value, wall_time FROM metrics WHERE "
                                   "run_id = ? AND scope = 'step' AND name = 'loss' "
                                   "ORDER BY step", (i,)).fetchall()
            floor.append(time.perf_counter() - start)
            assert len(fetched) == args.steps
    rows.append(("floor: sqlite3 fetch of one run's rows, no server", floor, "(20 runs)"))

    load = os.getloadavg()
    print(f"steepest serve /metrics over {len(ids)} runs × {args.steps} steps "
          f"({args.db.stat().st_size / 1e6:.0f} MB store), bins per chart {args.points}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load[0]:.1f}; Python {platform.python_version()}, "
          f"NumPy {np.__version__}, SQLite {sqlite3.sqlite_version}")
    print()
    print(f"| {'request':58s} | median ms | p90 ms | max ms | |")
    print(f"|{'-' * 60}|----------:|-------:|-------:|---|")
    for name, seconds, note in rows:
        median, p90, worst = summary(seconds).split()
        print(f"| {name:58s} | {median:>9} | {p90:>6} | {worst:>6} | {note} |")


if __name__ == "__main__":
    main()
