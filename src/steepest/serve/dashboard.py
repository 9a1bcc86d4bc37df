"""The runs dashboard of `steepest serve`: the run store, opened read-only, as JSON, CSV and
server-sent events.

Charts need a few thousand points however long a run is, so a metric is downsampled here: its
x range (steps, wall time, or time since the run started) is cut into at most `points` equal
bins, and each bin keeps the mean of its rows, their minimum and maximum (so a spike is never
hidden by the downsampling itself). Runs shown together share one set of bins, so their values
line up for the chart and for a mean over runs. A metric's rows are read from SQLite once and
kept in memory (a least-recently-used cache bounded in bytes); of a running run only the new
rows are read.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from steepest.serve.checks import BadRequest, jsonable
from steepest.store import SCOPES, RunRecord, RunStore, resolve_db_path

MAX_POINTS = 10_000
#: Bytes of metric rows kept in memory (24 bytes a row: 100 runs of 100k steps is 240 MB).
CACHE_BYTES = 1 << 30
#: Runs one chart or CSV may hold.
MAX_RUNS = 1000


@dataclass
class Series:
    """One metric of one run: steps, values and wall times, sorted by step."""

    steps: np.ndarray
    values: np.ndarray
    times: np.ndarray
    status: str

    @property
    def nbytes(self) -> int:
        return self.steps.nbytes + self.values.nbytes + self.times.nbytes

    def extended(self, steps: np.ndarray, values: np.ndarray, times: np.ndarray) -> Series:
        """A new Series with these rows added (a Series is never changed: a request may be
        reading it)."""
        return Series(np.concatenate([self.steps, steps]), np.concatenate([self.values, values]),
                      np.concatenate([self.times, times]), self.status)


AXES = ("step", "time", "relative")


def bin_edges(low: float, high: float, points: int, integer: bool) -> np.ndarray:
    """Edges of at most `points` equal bins covering [low, high]: bins of whole steps (one
    step each while they fit, so short runs are shown exactly) when `integer`, else of equal
    width in seconds. Returns (bins + 1,) edges; bin i is [edges[i], edges[i+1])."""
    if integer:
        low, high = math.floor(low), math.floor(high)
        width = max(1, -(-(high - low + 1) // points))
        count = -(-(high - low + 1) // width)
        return low + width * np.arange(count + 1, dtype=np.float64)
    width = (high - low) / points if high > low else 1.0
    edges = low + width * np.arange(points + 1, dtype=np.float64)
    edges[-1] = np.nextafter(max(high, edges[-1]), np.inf)  # the last bin holds `high`
    return edges


def bucket(keys: np.ndarray, values: np.ndarray, edges: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows (sorted `keys`, their `values`) into the bins of `edges`: per bin the mean of its
    finite values, their min and max, and its number of rows; NaN where a bin has no finite
    value. Reads each row once (NumPy's reduceat over the bins' slices)."""
    bins = len(edges) - 1
    bounds = np.searchsorted(keys, edges, side="left")
    means, lows, highs = (np.full(bins, np.nan) for _ in range(3))
    rows = np.diff(bounds)
    filled = np.nonzero(rows)[0]
    if len(filled):
        part = values[bounds[0]:bounds[-1]]
        starts = bounds[filled] - bounds[0]
        finite = np.isfinite(part)
        counts = np.add.reduceat(finite.astype(np.int64), starts)
        totals = np.add.reduceat(np.where(finite, part, 0.0), starts)
        low = np.minimum.reduceat(np.where(finite, part, np.inf), starts)
        high = np.maximum.reduceat(np.where(finite, part, -np.inf), starts)
        some = counts > 0
        means[filled[some]] = totals[some] / counts[some]
        lows[filled[some]] = low[some]
        highs[filled[some]] = high[some]
    return means, lows, highs, rows


def _keys(series: Series, axis: str, started_at: float) -> np.ndarray:
    if axis == "step":
        return series.steps
    return series.times if axis == "time" else series.times - started_at


def _check_view(scope: str, axis: str, points: int) -> None:
    if scope not in SCOPES:
        raise BadRequest(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if axis not in AXES:
        raise BadRequest(f"axis must be one of {', '.join(AXES)}, got {axis!r}")
    if not 1 <= points <= MAX_POINTS:
        raise BadRequest(f"points must be from 1 to {MAX_POINTS}, got {points}")


def _finite_range(keys: np.ndarray) -> tuple[float, float] | None:
    finite = keys[np.isfinite(keys)]
    return (float(finite[0]), float(finite[-1])) if len(finite) else None


def _run_summary(record: RunRecord) -> dict[str, Any]:
    return {"id": record.id, "kind": record.kind, "name": record.name,
            "label": record.label, "status": record.status, "config": record.config,
            "started_at": record.started_at, "finished_at": record.finished_at,
            "duration": record.duration, "results": record.results}


def reproduce_command(record: RunRecord) -> tuple[str | None, str]:
    """The command that trains this run again, and how it was found: "config" (rebuilt by
    `steepest train` from the stored config, every setting explicit) or "recorded" (the
    command line as the run recorded it: a study, or a run of `fit` from Python)."""
    from steepest.cli.train import command_for

    if record.kind == "train" and (record.command or "").startswith("steepest train"):
        command = command_for(record.config)
        if command is not None:
            return command, "config"
    return record.command, "recorded"


class Dashboard:
    """The run store at `db`, opened read-only on first use (it may appear later: until then
    there are no runs). Thread-safe; one per app."""

    def __init__(self, db: Any = None, cache_bytes: int = CACHE_BYTES) -> None:
        self.path = Path(resolve_db_path(db)).absolute()
        self._store: RunStore | None = None
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._cache: OrderedDict[tuple[int, str, str], Series] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0
        self.preloaded = 0

    def store(self) -> RunStore | None:
        """The read-only store, or None while there is no file. Raises the store's error for
        a file that is not a steepest store."""
        with self._lock:
            if self._store is None and self.path.exists():
                self._store = RunStore(self.path, readonly=True)
            return self._store

    def preload(self, stop: threading.Event, share: float = 0.5) -> None:
        """Read each run's step loss (or its first step metric) into the cache, newest run
        first, until `share` of the cache is used or `stop` is set. A first read costs SQLite
        and Python about a microsecond a row (0.1-0.4 s for 100k steps on a busy two-core
        machine), so a chart of many long runs is drawn from memory once this has run."""
        try:
            store = self.store()
            records = [] if store is None else list(reversed(store.runs()))
        except (ValueError, OSError):
            return  # reported where the store is used
        for record in records:
            if stop.is_set() or self._cached > share * self._cache_bytes:
                return
            names = store.metric_names(record.id)["step"]
            if names:
                self.series(record, "step", "loss" if "loss" in names else names[0])
                self.preloaded += 1

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def _record(self, run_id: int) -> RunRecord:
        store = self.store()
        if store is None:
            raise LookupError(f"no run with id {run_id}: there is no run store at {self.path} "
                              f"yet")
        try:
            return store.run(run_id)
        except ValueError as error:
            raise LookupError(str(error)) from None

    # ------------------------------------------------------------------ JSON
    def runs_payload(self) -> dict[str, Any]:
        store = self.store()
        runs = [] if store is None else [_run_summary(r) for r in store.runs()]
        return {"db": str(self.path), "exists": store is not None, "runs": runs}

    def run_payload(self, run_id: int) -> dict[str, Any]:
        record = self._record(run_id)
        command, source = reproduce_command(record)
        return {**_run_summary(record), "command": command, "command_source": source,
                "recorded_command": record.command, "steepest_version": record.steepest_version,
                "git_commit": record.git_commit,
                "checkpoints": [{"path": c.path, "kind": c.kind, "step": c.step}
                                for c in record.checkpoints],
                "metrics": self.store().metric_names(record.id)}

    def series(self, record: RunRecord, scope: str, name: str) -> Series:
        """A metric's rows, from the cache; a running run's new rows are read and added, and
        a run whose status changed (resumed, finished) is read again."""
        store = self.store()
        key = (record.id, scope, name)
        with self._reading:  # one reader at a time: two must not both add the same new rows
            with self._lock:
                cached = self._cache.get(key)
            if cached is not None and cached.status == record.status == "running":
                after = int(cached.steps[-1]) if len(cached.steps) else None
                cached = cached.extended(*store.metric_series(record.id, scope, name,
                                                              after=after))
            elif cached is None or cached.status != record.status:
                cached = Series(*store.metric_series(record.id, scope, name), record.status)
            self._keep(key, cached)
        return cached

    def _keep(self, key: tuple[int, str, str], series: Series) -> None:
        """Put a series in the cache, dropping the least recently used beyond its budget."""
        with self._lock:
            old = self._cache.pop(key, None)
            self._cached -= old.nbytes if old is not None else 0
            self._cache[key] = series
            self._cached += series.nbytes
            while self._cached > self._cache_bytes and len(self._cache) > 1:
                _, dropped = self._cache.popitem(last=False)
                self._cached -= dropped.nbytes

    def metrics_payload(self, run_id: int, scope: str, names: str | None, points: int,
                        start: float | None, end: float | None, axis: str = "step"
                        ) -> dict[str, Any]:
        """One run's metrics, each in at most `points` bins over its own x range (or
        [start, end]); only bins holding rows are listed."""
        _check_view(scope, axis, points)
        record = self._record(run_id)
        known = self.store().metric_names(record.id)[scope]
        wanted = known if names is None else [n for n in names.split(",") if n]
        missing = [n for n in wanted if n not in known]
        if missing:
            raise LookupError(f"run {record.id} has no {scope} metric(s) {missing}; it has "
                              f"{known}")
        metrics = {}
        for name in wanted:
            series = self.series(record, scope, name)
            keys = _keys(series, axis, record.started_at)
            extent = _finite_range(keys)
            low = start if start is not None else (extent[0] if extent else 0.0)
            high = end if end is not None else (extent[1] if extent else 0.0)
            edges = bin_edges(low, high, points, axis == "step")
            means, lows, highs, rows = bucket(keys, series.values, edges)
            firsts = np.searchsorted(keys, edges[:-1], side="left")
            kept = np.nonzero(rows)[0]
            metrics[name] = {
                "x": edges[kept].tolist(), "step": series.steps[firsts[kept]].tolist(),
                "time": jsonable(series.times[firsts[kept]]), "mean": jsonable(means[kept]),
                "min": jsonable(lows[kept]), "max": jsonable(highs[kept]),
                "rows": rows[kept].tolist(), "total_rows": int(len(series.steps))}
        return {"run": record.id, "scope": scope, "axis": axis, "status": record.status,
                "started_at": record.started_at, "metrics": metrics}

    def aligned_payload(self, runs: str, name: str, scope: str, axis: str, points: int,
                        start: float | None, end: float | None) -> dict[str, Any]:
        """One metric of several runs in the same bins (the chart's x values): the bins cover
        [start, end], by default everything the runs have. Per run: mean, min, max and rows
        per bin (null where the run has no row in a bin)."""
        _check_view(scope, axis, points)
        records = [self._record(run_id) for run_id in _ids(runs)]
        series = {}
        for record in records:
            if name in self.store().metric_names(record.id)[scope]:
                data = self.series(record, scope, name)
                series[record.id] = (data, _keys(data, axis, record.started_at))
        extents = [e for e in (_finite_range(keys) for _, keys in series.values()) if e]
        low = start if start is not None else min((e[0] for e in extents), default=0.0)
        high = end if end is not None else max((e[1] for e in extents), default=0.0)
        edges = bin_edges(low, high, points, axis == "step")
        answer: dict[str, Any] = {}
        for run_id, (data, keys) in series.items():
            means, lows, highs, rows = bucket(keys, data.values, edges)
            answer[str(run_id)] = {"mean": jsonable(means), "min": jsonable(lows),
                                   "max": jsonable(highs), "rows": rows.tolist(),
                                   "total_rows": int(len(keys))}
        return {"name": name, "scope": scope, "axis": axis, "x": edges[:-1].tolist(),
                "width": float(edges[1] - edges[0]) if len(edges) > 1 else 1.0,
                "runs": answer,
                "status": {str(r.id): r.status for r in records},
                "missing": [r.id for r in records if r.id not in series]}

    # ------------------------------------------------------------------ CSV
    def export_csv(self, runs: str, metric: str, scope: str, start: float | None,
                   end: float | None, axis: str) -> str:
        """The raw rows (not smoothed, not downsampled) of one metric of the listed runs within
        the x range: run, name, step, wall time, time since the run started, value."""
        _check_view(scope, axis, 1)
        ids = _ids(runs)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["run", "name", "step", "wall_time", "relative_time", metric])
        for run_id in ids:
            record = self._record(run_id)
            if metric not in self.store().metric_names(record.id)[scope]:
                continue
            steps, values, times = self.store().metric_series(record.id, scope, metric)
            keys = {"step": steps, "time": times, "relative": times - record.started_at}[axis]
            keep = np.ones(len(steps), dtype=bool)
            if start is not None:
                keep &= keys >= start
            if end is not None:
                keep &= keys <= end
            label = record.name or record.kind
            for step, value, when in zip(steps[keep].tolist(), values[keep].tolist(),
                                         times[keep].tolist(), strict=True):
                relative = when - record.started_at
                writer.writerow([record.id, label, step, _cell(when), _cell(relative),
                                 _cell(value)])
        return text.getvalue()

    # ------------------------------------------------------------------ events
    async def run_events(self, run_id: int, scope: str, after: int, poll_seconds: float
                         ) -> AsyncIterator[tuple[str | None, Any]]:
        """(event, data) pairs for one run: "metrics" with rows of `scope` after step `after`
        ({name: {step, value, time}}), "status" when the status changes; (None, None) now and
        then to keep the connection open."""
        if scope not in SCOPES:
            raise BadRequest(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        last: dict[str, int] = {}
        status = None
        version = None
        idle = 0.0
        while True:
            now_version = await asyncio.to_thread(self._version)
            if now_version != version:
                version = now_version
                rows, record = await asyncio.to_thread(self._new_rows, run_id, scope, after,
                                                       last)
                if rows:
                    idle = 0.0
                    yield "metrics", rows
                if record.status != status:
                    status = record.status
                    idle = 0.0
                    yield "status", _run_summary(record)
            if idle >= 15.0:
                idle = 0.0
                yield None, None
            await asyncio.sleep(poll_seconds)
            idle += poll_seconds

    def _version(self) -> int | None:
        store = self.store()
        return None if store is None else store.data_version()

    def _new_rows(self, run_id: int, scope: str, after: int, last: dict[str, int]
                  ) -> tuple[dict[str, Any], RunRecord]:
        record = self._record(run_id)
        store = self.store()
        rows = {}
        for name in store.metric_names(record.id)[scope]:
            steps, values, times = store.metric_series(record.id, scope, name,
                                                       after=last.get(name, after))
            if len(steps):
                last[name] = int(steps[-1])
                rows[name] = {"step": steps.tolist(), "value": jsonable(values),
                              "time": jsonable(times)}
        return rows, record

    async def store_events(self, poll_seconds: float
                           ) -> AsyncIterator[tuple[str | None, Any]]:
        """("runs", the run list) whenever a run is added or its status, name or end changes;
        ("progress", {run id: {scope: last step}}) whenever a running run logs more; (None,
        None) now and then to keep the connection open."""
        seen = None
        version: Any = ()
        progress: dict[str, dict[str, int]] = {}
        idle = 0.0
        while True:
            now_version = await asyncio.to_thread(self._version)
            if now_version != version:
                version = now_version
                payload = await asyncio.to_thread(self.runs_payload)
                signature = [(r["id"], r["status"], r["name"], r["finished_at"])
                             for r in payload["runs"]]
                if signature != seen:
                    seen = signature
                    idle = 0.0
                    yield "runs", payload
                running = [r["id"] for r in payload["runs"] if r["status"] == "running"]
                now = await asyncio.to_thread(self._progress, running)
                if now != progress:
                    progress = now
                    idle = 0.0
                    yield "progress", now
            if idle >= 15.0:
                idle = 0.0
                yield None, None
            await asyncio.sleep(poll_seconds)
            idle += poll_seconds

    def _progress(self, run_ids: list[int]) -> dict[str, dict[str, int]]:
        """The last step of each scope of each run (through the cache, which so holds the
        new rows before the page asks for them)."""
        progress = {}
        for run_id in run_ids:
            try:
                record = self._record(run_id)
            except LookupError:
                continue
            last = {}
            for scope, names in self.store().metric_names(record.id).items():
                steps = [self.series(record, scope, name).steps for name in names]
                last[scope] = max((int(s[-1]) for s in steps if len(s)), default=-1)
            progress[str(run_id)] = last
        return progress

def _ids(runs: str) -> list[int]:
    """Run ids from "3,5,8"; BadRequest for anything else."""
    try:
        ids = [int(part) for part in runs.split(",") if part.strip()]
    except ValueError:
        raise BadRequest(f"runs must be run ids separated by commas, got {runs!r}") from None
    if not 1 <= len(ids) <= MAX_RUNS:
        raise BadRequest(f"runs must list 1 to {MAX_RUNS} run ids, got {len(ids)}")
    return ids


def _cell(value: float) -> str:
    """A CSV cell: full precision (repr), empty for a missing value."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else repr(value)

