"""The run store: every run's config, metrics, checkpoints and results in one SQLite file.

Several processes may write to one store at once (parallel `steepest train` runs, a study's
workers): the file is in WAL mode (readers never block the writer), every write is one short
`BEGIN IMMEDIATE` transaction (taking the write lock up front, so two writers never deadlock on
an upgrade), SQLite's busy timeout waits for the lock, and a write that still finds the database
locked is retried with backoff. Each `RunStore` opens its own connection: open one per process.

Tables: runs (one row per run), metrics (run, scope, step, name) -> value and the wall time
it was logged at, written with INSERT OR REPLACE so a resumed run that logs a step again
overwrites it, and checkpoints (run, path) -> kind, step.

A run has a stable identity, its UUID, which its checkpoints carry too: `steepest train
--resume` continues a run only in a store that holds its UUID (the integer id means nothing
outside its store). A run that began elsewhere is recorded with its origin: "resumed" (the
same run, recorded here from step N on) or "forked" (a new run branched off another's
checkpoint at step N).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import shlex
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

SCHEMA_VERSION = 2
STATUSES = ("running", "finished", "failed", "diverged", "interrupted")
SCOPES = ("step", "epoch")
#: Buffered step rows are written once this many have accumulated, or once the oldest has
#: waited this many seconds (so a page watching a slow run sees each step soon after it).
FLUSH_ROWS = 200
FLUSH_SECONDS = 0.5
DEFAULT_DB = Path("runs") / "steepest.db"

_RETRIES = 60
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    command TEXT,
    started_at REAL NOT NULL,
    finished_at REAL,
    duration REAL,
    results TEXT,
    steepest_version TEXT,
    git_commit TEXT,
    uuid TEXT,
    origin TEXT,
    origin_uuid TEXT,
    origin_step INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_uuid ON runs(uuid);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    wall_time REAL,
    PRIMARY KEY (run_id, scope, name, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    step INTEGER,
    created_at REAL NOT NULL,
    PRIMARY KEY (run_id, path)
);
"""


class RunStoreError(ValueError):
    """A run store that cannot be used as asked: damaged, written by a newer steepest, or
    read-only when a run must be recorded. The message names the file and what to do."""


class NotARunStoreError(RunStoreError):
    """The file exists but is not a steepest run store: another application's SQLite
    database, an empty file, or not SQLite at all. Nothing was written to it."""


def printable(value: Any) -> str:
    """A stored string as text to show: control characters (ANSI escapes, carriage returns,
    bells) and other unprintable ones written escaped, as Python writes them ("\\x1b")."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def new_uuid() -> str:
    """A fresh run identity (a random UUID, as text)."""
    return str(uuid.uuid4())


def resolve_db_path(db: str | os.PathLike | None = None) -> Path:
    """Where the run store lives: `db` if given, else $STEEPEST_DB, else runs/steepest.db
    under the current working directory."""
    if db is not None and os.fspath(db) != "":
        return Path(db).expanduser()
    env = os.environ.get("STEEPEST_DB")
    if env:
        return Path(env).expanduser()
    return Path.cwd() / DEFAULT_DB


def git_commit(cwd: str | os.PathLike | None = None) -> str | None:
    """`git rev-parse HEAD` in `cwd` (default: the working directory); None if that fails in
    any way (no git, not a repository, no commit yet, slower than 2 s)."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    commit = result.stdout.strip()
    if result.returncode != 0 or len(commit) < 40 or not all(
            c in "0123456789abcdef" for c in commit):
        return None
    return commit


def _json_default(value: Any) -> Any:
    # Configs and results hold what people put there: record it rather than fail a run.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, allow_nan=True)


def _busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _metric_value(name: str, value: Any) -> float | None:
    if hasattr(value, "item") and not isinstance(value, (float, int)):
        value = value.item()  # a 1-element array or Tensor
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {name!r} must be a number, got {value!r}") from None
    return None if math.isnan(number) else number  # SQLite stores NaN as NULL anyway


def _step_number(step: Any, what: str) -> int:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, got {step!r}")
    return int(step)


# ---------------------------------------------------------------------------- records
@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint file a run wrote: path, kind ("last", "best", ...), step, created_at."""

    path: str
    kind: str
    step: int | None
    created_at: float


@dataclass(frozen=True)
class RunRecord:
    """One run as stored. Times are Unix seconds; duration is seconds of running (a resumed
    run's segments added up); results is the dict given to `Run.finish`. uuid: the run's
    identity (None only for runs of a store not yet upgraded, read read-only); origin,
    origin_uuid, origin_step: where a run that began elsewhere came from (see `lineage`)."""

    id: int
    kind: str
    name: str | None
    status: str
    config: dict[str, Any]
    command: str | None
    started_at: float
    finished_at: float | None
    duration: float | None
    results: dict[str, Any]
    steepest_version: str | None
    git_commit: str | None
    checkpoints: tuple[CheckpointRecord, ...] = field(default=())
    uuid: str | None = None
    origin: str | None = None
    origin_uuid: str | None = None
    origin_step: int | None = None

    @property
    def label(self) -> str:
        """"#id name" (or "#id kind" for an unnamed run), as legends and tables show it."""
        return f"#{self.id} {self.name or self.kind}"

    @property
    def lineage(self) -> str | None:
        """"resumed from <uuid> at step N" / "forked from <uuid> at step N", or None for a run
        that began in this store."""
        if self.origin is None:
            return None
        source = self.origin_uuid or "a checkpoint without a run id"
        return f"{self.origin} from {source} at step {self.origin_step}"


_RUN_COLUMNS = ("id, kind, name, status, config, command, started_at, finished_at, duration, "
                "results, steepest_version, git_commit, uuid, origin, origin_uuid, origin_step")
_COLUMNS_ADDED = {2: ("uuid TEXT", "origin TEXT", "origin_uuid TEXT", "origin_step INTEGER")}
ORIGINS = ("resumed", "forked")


# ---------------------------------------------------------------------------- the store
# PRAGMA application_id of a steepest store ("stpt"): how a file says what it is. Stores made
# before it was set are recognised by their schema version and tables.
APPLICATION_ID = int.from_bytes(b"stpt", "big")
_TABLES = frozenset(("runs", "metrics", "checkpoints"))
_SQLITE_MAGIC = b"SQLite format 3\x00"
# SQLite errors that mean the file cannot be used as a store (rather than a bug in a query).
_UNUSABLE = ("SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_READONLY", "SQLITE_IOERR",
             "SQLITE_FULL", "SQLITE_CANTOPEN")


def _error_name(error: sqlite3.Error) -> str:
    """SQLite's name for an error ("SQLITE_CORRUPT", ...); from the message before 3.11."""
    name = getattr(error, "sqlite_errorname", None)
    if name:
        return name
    text = str(error).lower()
    for needle, guess in (("not a database", "SQLITE_NOTADB"), ("malformed", "SQLITE_CORRUPT"),
                          ("readonly", "SQLITE_READONLY"), ("disk i/o", "SQLITE_IOERR"),
                          ("unable to open", "SQLITE_CANTOPEN"), ("full", "SQLITE_FULL")):
        if needle in text:
            return guess
    return "SQLITE_ERROR"


class RunStore:
    """An SQLite run store at `path` (see `resolve_db_path`; None uses the default).

    readonly=True opens an existing store for reading only (what `steepest runs` and
    `steepest serve` do): the file is never written, no table is created and the journal mode
    is left alone, so it works on read-only files and in read-only folders; writing methods
    raise RunStoreError. (In a writable folder SQLite may leave a WAL store's two companion
    files, `-wal` and `-shm`, beside it; the next writer tidies them.)
    create=False raises FileNotFoundError instead of creating a missing store (readonly
    implies it).

    Raises NotARunStoreError (a RunStoreError, a ValueError) for a file that is not a steepest
    store (another application's SQLite database, an empty file, not SQLite), leaving it
    untouched; RunStoreError for a damaged store, one written by a newer steepest, or a
    read-only one opened for writing. Use one RunStore per process; threads may share it.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True,
                 readonly: bool = False) -> None:
        self.path = resolve_db_path(path)
        self.readonly = bool(readonly)
        if self.path.is_dir():
            raise RunStoreError(f"run store {self.path} is a folder; give a file name such as "
                                f"{self.path / 'steepest.db'}")
        if not self.path.exists():
            if not create or self.readonly:
                raise FileNotFoundError(f"no run store at {self.path}")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                reason = error.strerror or str(error)
                for folder in self.path.parents:
                    if folder.exists():
                        if not folder.is_dir():
                            reason = f"{folder} is a file, not a folder"
                        break
                raise RunStoreError(f"cannot create run store {self.path} ({reason}); give "
                                    f"another store (--db)") from None
        elif not self.readonly:
            self._check_writable()
        self._lock = threading.RLock()
        self._conn = self._connect()
        try:
            self._setup()
        except BaseException:
            self._conn.close()
            raise

    def _check_writable(self) -> None:
        # SQLite would open a file it cannot write read-only without a word, and fail at the
        # first write: say so now. WAL keeps two files beside the store, so the folder counts.
        for what, where in (("the file", self.path), ("its folder", self.path.parent)):
            if not os.access(where, os.W_OK):
                raise RunStoreError(f"run store {self.path} is read-only ({what} cannot be "
                                    f"written); make it writable or give another store (--db)")

    def _connect(self, immutable: bool = False) -> sqlite3.Connection:
        if self.readonly:
            # mode=ro: SQLite itself refuses every write. immutable: for a WAL store in a
            # folder nobody may write, where SQLite could not even keep its shared memory.
            uri = self.path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable
                                                                 else "")
            return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        return sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)

    def _inspect(self) -> tuple[frozenset[str], int, int]:
        """(table names, user_version, application_id) of the file, read without writing."""
        def read() -> tuple[frozenset[str], int, int]:
            conn = self._conn
            tables = frozenset(name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"))
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            return tables, version, app_id

        try:
            return self._retry(read, translate=False)
        except sqlite3.OperationalError as error:
            if not self.readonly or _error_name(error) not in (
                    "SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN", "SQLITE_READONLY",
                    "SQLITE_READONLY_RECOVERY", "SQLITE_READONLY_CANTINIT"):
                raise
        self._conn.close()
        self._conn = self._connect(immutable=True)
        return self._retry(read, translate=False)

    def _kind(self, tables: frozenset[str], version: int, app_id: int) -> str:
        """"store" or "empty"; NotARunStoreError for anything else."""
        if app_id == APPLICATION_ID or (version >= 1 and _TABLES <= tables):
            return "store"
        if not tables and version == 0 and app_id == 0:
            return "empty"
        shown = ", ".join(sorted(tables)[:8]) + (", ..." if len(tables) > 8 else "")
        raise NotARunStoreError(
            f"{self.path} is not a steepest run store (an SQLite database with "
            f"{f'tables: {shown}' if tables else f'user_version {version}'}, left untouched); "
            f"give a new file name to record runs (--db)")

    def _setup(self) -> None:
        self._conn.execute("PRAGMA busy_timeout = 30000")
        try:
            tables, version, app_id = self._inspect()
            kind = self._kind(tables, version, app_id)
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and _busy(error):
                raise
            raise self._unusable(error) from None
        if version > SCHEMA_VERSION:
            raise RunStoreError(f"{self.path} was written by a newer steepest (schema "
                                f"{version}, this one reads {SCHEMA_VERSION}); upgrade steepest")
        if self.readonly:
            if kind == "empty":
                raise NotARunStoreError(f"{self.path} is not a steepest run store (an empty "
                                        f"SQLite database: no runs recorded there)")
            self._conn.execute("PRAGMA query_only = ON")
            self.schema_version = version
            return
        if kind == "empty" or version < SCHEMA_VERSION:
            self._write(self._create_or_upgrade)
        mode = self._retry(lambda: self._conn.execute("PRAGMA journal_mode = WAL").fetchone())
        if mode and str(mode[0]).lower() == "wal":
            # In WAL mode NORMAL loses no committed data on a crash of the process, only
            # possibly the last commits on a power cut; it saves an fsync per commit.
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._add_wall_time()
        self.schema_version = SCHEMA_VERSION

    def _create_or_upgrade(self, conn: sqlite3.Connection) -> None:
        # Looked at again inside the write transaction: another process may have created or
        # upgraded the store since, and a file that is not a store must stay untouched.
        tables, version, app_id = self._inspect()
        self._kind(tables, version, app_id)
        if version >= SCHEMA_VERSION:
            return
        if version == 0:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
        else:
            for added in range(version + 1, SCHEMA_VERSION + 1):
                for column in _COLUMNS_ADDED.get(added, ()):
                    conn.execute(f"ALTER TABLE runs ADD COLUMN {column}")
            # Runs recorded before runs had an identity get one now.
            for (run_id,) in conn.execute("SELECT id FROM runs WHERE uuid IS NULL").fetchall():
                conn.execute("UPDATE runs SET uuid = ? WHERE id = ?", (new_uuid(), run_id))
            conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS runs_uuid ON runs(uuid)")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _columns(self) -> str:
        """The runs columns to select: NULL for those a read-only older store lacks."""
        if self.schema_version >= SCHEMA_VERSION:
            return _RUN_COLUMNS
        missing = {column.split()[0] for version, columns in _COLUMNS_ADDED.items()
                   if version > self.schema_version for column in columns}
        return ", ".join(f"NULL AS {name}" if name in missing else name
                         for name in _RUN_COLUMNS.split(", "))

    def _unusable(self, error: sqlite3.Error) -> RunStoreError:
        """The RunStoreError for an SQLite error met on this file."""
        name = _error_name(error)
        if name.startswith("SQLITE_NOTADB"):
            with contextlib.suppress(OSError), open(self.path, "rb") as file:
                if file.read(16) == _SQLITE_MAGIC:
                    name = "SQLITE_CORRUPT"
            if name.startswith("SQLITE_NOTADB"):
                return NotARunStoreError(f"{self.path} is not a steepest run store (not an "
                                         f"SQLite database; left untouched); give a new file "
                                         f"name to record runs (--db)")
        if name.startswith("SQLITE_CORRUPT"):
            return RunStoreError(f"run store {self.path} is damaged ({error}); restore it from "
                                 f"a backup, or give a new file name (--db)")
        if name.startswith("SQLITE_READONLY"):
            return RunStoreError(f"run store {self.path} is read-only ({error}); make it "
                                 f"writable or give another store (--db)")
        return RunStoreError(f"cannot use run store {self.path}: {error}")

    def _add_wall_time(self) -> None:
        """Stores made before metrics had a wall_time column get it (empty for old rows);
        steepest versions without it still read and write such a store."""
        def add(conn: sqlite3.Connection) -> None:
            if not self._has_wall_time():
                conn.execute("ALTER TABLE metrics ADD COLUMN wall_time REAL")

        if not self._has_wall_time():
            self._write(add)

    def _has_wall_time(self) -> bool:
        columns = self._retry(lambda: self._conn.execute("PRAGMA table_info(metrics)")
                              .fetchall())
        return any(column[1] == "wall_time" for column in columns)

    # ------------------------------------------------------------------ plumbing
    def _retry(self, action: Callable[[], Any], translate: bool = True) -> Any:
        """Run `action`, retrying with backoff while the database is locked. translate: an
        error that means the file cannot be used (damaged, read-only, disk full) becomes a
        RunStoreError naming the file."""
        delay = 0.005
        for attempt in range(_RETRIES):
            try:
                with self._lock:
                    return action()
            except sqlite3.DatabaseError as error:
                busy = isinstance(error, sqlite3.OperationalError) and _busy(error)
                if busy and attempt < _RETRIES - 1:
                    pass
                elif translate and _error_name(error).startswith(_UNUSABLE):
                    raise self._unusable(error) from None
                else:
                    raise
            time.sleep(delay)
            delay = min(2 * delay, 0.5)
        raise AssertionError("unreachable")

    def _write(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `work(connection)` in one short write transaction (retried while locked)."""
        self._refuse_if_readonly()

        def attempt() -> Any:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = work(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        return self._retry(attempt)

    def _refuse_if_readonly(self) -> None:
        if self.readonly:
            raise RunStoreError(f"run store {self.path} was opened read-only; open it with "
                                f"readonly=False to record runs")

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._retry(lambda: self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        """Close the connection (Runs of this store can no longer write)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # ------------------------------------------------------------------ writing
    def start_run(self, config: Mapping[str, Any], *, kind: str = "train",
                  name: str | None = None, command: str | None = None,
                  uuid: str | None = None, origin: str | None = None,
                  origin_uuid: str | None = None, origin_step: int | None = None) -> Run:
        """Record a new run (status "running") and return it for logging.

        config: the run's settings (JSON; odd values are stored as their repr). command: the
        command line; None records this process's (sys.argv). The steepest version and the
        git commit of the working directory (None outside a repository) are recorded too.
        uuid: the run's identity (default: a new one; ValueError if this store already holds
        it). origin ("resumed" or "forked"), origin_uuid, origin_step: where a run that began
        elsewhere comes from.
        """
        from steepest import __version__

        if not isinstance(config, Mapping):
            raise TypeError(f"start_run: config must be a dict, got {type(config).__name__}")
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"start_run: kind must be a non-empty string, got {kind!r}")
        if origin is not None and origin not in ORIGINS:
            raise ValueError(f"start_run: origin must be one of {ORIGINS} or None, got "
                             f"{origin!r}")
        if origin_step is not None:
            origin_step = _step_number(origin_step, "start_run: origin_step")
        run_uuid = new_uuid() if uuid is None else str(uuid)
        if command is None and sys.argv and sys.argv[0]:
            command = shlex.join(sys.argv)
        started = time.time()
        row = (kind, name, "running", _dumps(dict(config)), command, started, __version__,
               git_commit(), run_uuid, origin, origin_uuid, origin_step)

        def insert(conn: sqlite3.Connection) -> int:
            if conn.execute("SELECT 1 FROM runs WHERE uuid = ?", (run_uuid,)).fetchone():
                raise ValueError(f"start_run: {self.path} already holds run {run_uuid}; "
                                 f"continue it with open_run")
            cursor = conn.execute(
                "INSERT INTO runs (kind, name, status, config, command, started_at, "
                "steepest_version, git_commit, uuid, origin, origin_uuid, origin_step) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid)

        return Run(self, self._write(insert), started, 0.0, run_uuid)

    def open_run(self, run_id: int, *, step: int | None = None,
                 epoch: int | None = None) -> Run:
        """Continue logging into an existing run (for --resume).

        Nothing is written until the run logs something or finishes normally: a resume that
        fails before its first step leaves the record exactly as it was. Then its status
        becomes "running" again, and metrics the earlier segment logged after `step` / `epoch`
        (the checkpoint it resumes from) are dropped, to be logged again."""
        self._refuse_if_readonly()
        record = self.run(run_id)
        run = Run(self, record.id, time.time(), record.duration or 0.0, record.uuid)
        run._reopen = (step, epoch)
        return run

    def find_uuid(self, run_uuid: str) -> RunRecord | None:
        """The run with this identity, or None if this store does not hold it."""
        if self.schema_version < SCHEMA_VERSION or not isinstance(run_uuid, str):
            return None
        rows = self._read("SELECT id FROM runs WHERE uuid = ?", (run_uuid,))
        return self.run(rows[0][0]) if rows else None

    def delete_runs(self, run_ids: Any) -> list[int]:
        """Delete these runs with their metrics and checkpoint records, all or none (ValueError
        naming an id this store does not hold). Checkpoint files are not touched. Returns the
        ids deleted."""
        ids = [self._check_id(run_id) for run_id in run_ids]

        def delete(conn: sqlite3.Connection) -> list[int]:
            for run_id in ids:
                if not conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                    raise ValueError(f"no run with id {run_id} in {self.path}")
            for run_id in ids:  # explicit, not only by cascade: foreign keys may be off
                for table in ("metrics", "checkpoints"):
                    conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
                conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            return ids

        return self._write(delete)

    # ------------------------------------------------------------------ reading
    def _record(self, row: tuple, checkpoints: tuple[CheckpointRecord, ...]) -> RunRecord:
        (run_id, kind, name, status, config, command, started, finished, duration, results,
         version, commit, run_uuid, origin, origin_uuid, origin_step) = row
        return RunRecord(
            id=run_id, kind=kind, name=name, status=status, config=json.loads(config),
            command=command, started_at=started, finished_at=finished, duration=duration,
            results=json.loads(results) if results else {}, steepest_version=version,
            git_commit=commit, checkpoints=checkpoints, uuid=run_uuid, origin=origin,
            origin_uuid=origin_uuid, origin_step=origin_step,
        )

    def _checkpoints(self, run_id: int | None = None) -> dict[int, tuple[CheckpointRecord, ...]]:
        sql = "SELECT run_id, path, kind, step, created_at FROM checkpoints"
        params: tuple = ()
        if run_id is not None:
            sql, params = sql + " WHERE run_id = ?", (run_id,)
        found: dict[int, list[CheckpointRecord]] = {}
        for rid, path, kind, step, created in self._read(sql + " ORDER BY created_at", params):
            found.setdefault(rid, []).append(CheckpointRecord(path, kind, step, created))
        return {rid: tuple(items) for rid, items in found.items()}

    def runs(self, kind: str | None = None) -> list[RunRecord]:
        """All runs (of one kind if given), oldest first."""
        sql = f"SELECT {self._columns()} FROM runs"
        params: tuple = ()
        if kind is not None:
            sql, params = sql + " WHERE kind = ?", (kind,)
        rows = self._read(sql + " ORDER BY id", params)
        checkpoints = self._checkpoints()
        return [self._record(row, checkpoints.get(row[0], ())) for row in rows]

    def run(self, run_id: int) -> RunRecord:
        """The run with this id; ValueError naming the id if there is none."""
        run_id = self._check_id(run_id)
        rows = self._read(f"SELECT {self._columns()} FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise ValueError(f"no run with id {run_id} in {self.path}")
        return self._record(rows[0], self._checkpoints(run_id).get(run_id, ()))

    @staticmethod
    def _check_id(run_id: Any) -> int:
        if isinstance(run_id, bool) or not isinstance(run_id, (int, np.integer)):
            raise TypeError(f"run id must be an integer, got {run_id!r}")
        return int(run_id)

    def metrics(self, run_id: int, scope: str = "epoch") -> dict[str, tuple[np.ndarray,
                                                                            np.ndarray]]:
        """name -> (steps (n,) int64, values (n,) float64), sorted by step, names sorted.

        scope: "epoch" (what `log_epoch` wrote, steps are epochs) or "step". NaN values
        (a diverged loss) come back as NaN.
        """
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        run_id = self.run(run_id).id
        rows = self._read("SELECT name, step, value FROM metrics WHERE run_id = ? AND scope = ? "
                          "ORDER BY name, step", (run_id, scope))
        grouped: dict[str, tuple[list[int], list[float]]] = {}
        for name, step, value in rows:
            steps, values = grouped.setdefault(name, ([], []))
            steps.append(step)
            values.append(math.nan if value is None else value)
        return {name: (np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64))
                for name, (steps, values) in grouped.items()}

    def metric_names(self, run_id: int) -> dict[str, list[str]]:
        """scope -> the names of the metrics a run logged in it, sorted; one index seek per
        name (no scan of the rows), so it is cheap for a run of any length."""
        run_id = self._check_id(run_id)
        sql = ("WITH RECURSIVE names(name) AS ("
               "SELECT MIN(name) FROM metrics WHERE run_id = ?1 AND scope = ?2 "
               "UNION ALL SELECT (SELECT MIN(name) FROM metrics WHERE run_id = ?1 AND "
               "scope = ?2 AND name > names.name) FROM names WHERE names.name IS NOT NULL) "
               "SELECT name FROM names WHERE name IS NOT NULL")
        return {scope: [name for (name,) in self._read(sql, (run_id, scope))]
                for scope in SCOPES}

    def metric_series(self, run_id: int, scope: str, name: str, *, after: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One metric of a run: (steps (n,) int64, values (n,) float64, wall times (n,)
        float64 Unix seconds), sorted by step; only steps > `after` if given. NaN values
        stay NaN; a wall time is NaN for rows written before stores kept one. Does not check
        that the run exists (an unknown run has no rows)."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        run_id = self._check_id(run_id)
        when = "wall_time" if self._has_wall_time() else "NULL"
        sql = (f"SELECT step, value, {when} FROM metrics WHERE run_id = ? AND scope = ? AND "
               f"name = ?")
        params: tuple = (run_id, scope, name)
        if after is not None:
            sql, params = sql + " AND step > ?", (*params, int(after))
        rows = self._read(sql + " ORDER BY step", params)
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        # One (n, 3) float64 array in one pass (None, a NaN stored as NULL, becomes nan); the
        # steps are integers below 2^53, so they come back exactly.
        table = np.array(rows, dtype=np.float64)
        return table[:, 0].astype(np.int64), table[:, 1].copy(), table[:, 2].copy()

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the store (SQLite's
        PRAGMA data_version): a reader polls it to learn, cheaply, that something changed."""
        return int(self._read("PRAGMA data_version")[0][0])

    def export_csv(self, run_id: int, file: str | os.PathLike | IO[str],
                   scope: str = "epoch") -> int:
        """Write a run's metrics as CSV: a column `scope` ("epoch" or "step") then one column
        per metric (names sorted), one row per step; a missing value is an empty cell, numbers
        are written in full precision (Python's repr). file: a path or an open text file.
        Returns the number of data rows."""
        metrics = self.metrics(run_id, scope)
        names = list(metrics)
        table: dict[int, dict[str, float]] = {}
        for name, (steps, values) in metrics.items():
            for step, value in zip(steps.tolist(), values.tolist(), strict=True):
                table.setdefault(step, {})[name] = value
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([scope, *names])
        for step in sorted(table):
            row = table[step]
            writer.writerow([step, *(repr(row[n]) if n in row else "" for n in names)])
        if isinstance(file, (str, os.PathLike)):
            from steepest.io import atomic_write

            atomic_write(file, text.getvalue().encode("utf-8"))
        else:
            file.write(text.getvalue())
        return len(table)


# ---------------------------------------------------------------------------- one run
class Run:
    """A run being recorded: log metrics, note checkpoints, finish with a status.

    Step rows are buffered and written every `FLUSH_ROWS` rows, at each `log_epoch`, `flush`
    and `finish`. As a context manager, a run left "running" is finished on exit: "finished",
    or "interrupted" / "failed" if an exception (KeyboardInterrupt / other) escapes.
    """

    def __init__(self, store: RunStore, run_id: int, segment_start: float,
                 previous_duration: float, uuid: str | None = None) -> None:
        self.store = store
        self.id = run_id
        self.uuid = uuid
        # (step, epoch) of a run reopened by `RunStore.open_run`, until its first write.
        self._reopen: tuple[int | None, int | None] | None = None
        self._segment_start = segment_start
        self._previous_duration = previous_duration
        self._rows: list[tuple] = []
        self.finished = False

    def __repr__(self) -> str:
        return f"Run(id={self.id}, store={str(self.store.path)!r})"

    def log_step(self, step: int, **metrics: Any) -> None:
        """Record metrics (name=number) at optimizer step `step` (buffered: written every
        `FLUSH_ROWS` rows or `FLUSH_SECONDS` seconds)."""
        self._add("step", _step_number(step, "log_step: step"), metrics)
        if self._rows and (len(self._rows) >= FLUSH_ROWS
                           or time.time() - self._rows[0][5] >= FLUSH_SECONDS):
            self.flush()

    def log_epoch(self, epoch: int, **metrics: Any) -> None:
        """Record end-of-epoch metrics (loss, accuracy, val_loss, ...) and flush."""
        self._add("epoch", _step_number(epoch, "log_epoch: epoch"), metrics)
        self.flush()

    def _activate(self) -> None:
        """A reopened run's first write: status "running", the old segment's later rows
        dropped."""
        if self._reopen is None:
            return
        step, epoch = self._reopen

        def reopen(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?",
                         (self.id,))
            for scope, last in (("step", step), ("epoch", epoch)):
                if last is not None:
                    conn.execute("DELETE FROM metrics WHERE run_id = ? AND scope = ? AND "
                                 "step > ?", (self.id, scope, int(last)))

        self.store._write(reopen)
        self._reopen = None

    def _add(self, scope: str, step: int, metrics: Mapping[str, Any]) -> None:
        self._activate()
        now = time.time()
        for name, value in metrics.items():
            self._rows.append((self.id, scope, step, name, _metric_value(name, value), now))

    def flush(self) -> None:
        """Write buffered metric rows now."""
        if not self._rows:
            return
        rows = self._rows

        def insert(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT OR REPLACE INTO metrics (run_id, scope, step, name, value, "
                             "wall_time) VALUES (?, ?, ?, ?, ?, ?)", rows)

        self.store._write(insert)
        self._rows = []

    def add_checkpoint(self, path: str | os.PathLike, kind: str = "last",
                       step: int | None = None) -> None:
        """Note a checkpoint file of this run; the same path again updates its kind and step."""
        self._activate()
        row = (self.id, os.fspath(path), kind, None if step is None else int(step), time.time())

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO checkpoints (run_id, path, kind, step, "
                         "created_at) VALUES (?, ?, ?, ?, ?)", row)

        self.store._write(insert)

    def finish(self, status: str = "finished", results: Mapping[str, Any] | None = None) -> None:
        """Flush, then record the end: status (finished, failed, diverged, interrupted),
        results (a dict of final numbers, e.g. test_accuracy), finished_at and duration."""
        if status not in STATUSES[1:]:
            raise ValueError(f"finish: status must be one of {STATUSES[1:]}, got {status!r}")
        if results is not None and not isinstance(results, Mapping):
            raise TypeError(f"finish: results must be a dict, got {type(results).__name__}")
        if self._reopen is not None and status in ("failed", "interrupted"):
            self.finished = True  # a resume that never took a step changes nothing
            return
        self._activate()
        self.flush()
        now = time.time()
        duration = self._previous_duration + max(0.0, now - self._segment_start)
        encoded = _dumps(dict(results)) if results is not None else None

        def update(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE runs SET status = ?, finished_at = ?, duration = ?, "
                         "results = COALESCE(?, results) WHERE id = ?",
                         (status, now, duration, encoded, self.id))

        self.store._write(update)
        self.finished = True

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if self.finished:
            return
        if kind is None:
            self.finish()
        elif issubclass(kind, KeyboardInterrupt):
            self.finish("interrupted")
        else:
            self.fail(error)

    def fail(self, error: BaseException) -> None:
        """Record the run as failed, with its cause: results["error"] = "Type: message"."""
        self.finish("failed", results={"error": f"{type(error).__name__}: {error}"})
