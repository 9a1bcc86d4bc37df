"""The run store never writes where it should not: read-only commands open it read-only (no
tables created, journal mode untouched, nothing written to another application's database, and
they work on read-only files and folders); a store that cannot be used gets one line."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import call_unprivileged

from steepest.cli import main
from steepest.store import NotARunStoreError, RunStore, RunStoreError

READ_COMMANDS = [
    ["list"],
    ["show", "1"],
    ["compare", "1", "2"],
    ["export", "1", "--csv"],
]


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file in `folder`: name -> (sha256, mtime in ns)."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir()) if p.is_file()}


def cli(*argv: str) -> tuple[int, str, str]:
    """`steepest ARGV` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_one_line(result: tuple[int, str, str], *needles: str) -> None:
    code, _, err = result
    assert code != 0, result
    assert err.count("\n") == 1 and err.startswith("steepest: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def make_store(folder: Path) -> Path:
    path = folder / "runs.db"
    with RunStore(path) as store:
        for name, loss in (("a", 1.0), ("b", 0.5)):
            run = store.start_run({"lr": loss}, name=name)
            run.log_epoch(1, loss=loss, accuracy=0.5)
            run.log_step(1, loss=loss)
            run.finish(results={"test_accuracy": 0.5})
    return path


def damage(store: Path, target: Path) -> Path:
    """A copy of `store` whose pages after the first (the schema) are noise."""
    data = bytearray(store.read_bytes())
    data[4096:] = np.random.default_rng(0).integers(0, 256, len(data) - 4096,
                                                    dtype=np.uint8).tobytes()
    target.write_bytes(bytes(data))
    return target


def make_foreign_db(path: Path) -> Path:
    """Another application's SQLite database, in the default rollback-journal mode."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    conn.execute("INSERT INTO users (email) VALUES ('ada@example.org')")
    conn.commit()
    conn.close()
    return path


# ---------------------------------------------------------------------------- item 9
@pytest.mark.parametrize("command", READ_COMMANDS + [["plot", "1", "--out", "p.png"]],
                         ids=lambda c: c[0])
def test_read_commands_leave_another_applications_database_alone(tmp_path, monkeypatch,
                                                                 command):
    monkeypatch.chdir(tmp_path)
    other = make_foreign_db(tmp_path / "otherapp.db")
    before = fingerprint(tmp_path)
    assert_one_line(cli("runs", *command, "--db", str(other)), str(other),
                    "not a steepest run store")
    assert fingerprint(tmp_path) == before  # no table, no WAL switch, no -wal/-shm file
    conn = sqlite3.connect(f"{other.as_uri()}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["users"]
    conn.close()


@pytest.mark.parametrize("content, what", [
    (b"", "empty"),
    (b"id,email\n1,ada@example.org\n" * 50, "not an SQLite database"),
    (b"SQLite format 3\x00" + bytes(range(256)) * 20, "damaged"),
    (None, "damaged"),
], ids=["empty", "csv", "damaged-header", "damaged-pages"])
def test_read_commands_name_a_file_that_is_not_a_store(tmp_path, content, what):
    path = tmp_path / "thing.db"
    if content is None:
        damage(make_store(tmp_path), path)
    else:
        path.write_bytes(content)
    before = fingerprint(tmp_path)
    for command in READ_COMMANDS:
        assert_one_line(cli("runs", *command, "--db", str(path)), str(path), what)
    assert {name: value for name, value in fingerprint(tmp_path).items()
            if not name.endswith(("-wal", "-shm"))} == before


def test_readonly_open_writes_nothing_and_refuses_writes(tmp_path):
    path = make_store(tmp_path)
    before = path.read_bytes()
    with RunStore(path, readonly=True) as store:
        assert [r.name for r in store.runs()] == ["a", "b"]
        assert store.metrics(1)["loss"][1].tolist() == [1.0]
        with pytest.raises(RunStoreError, match="read-only"):
            store.start_run({}, name="c")
        with pytest.raises(RunStoreError, match="read-only"):
            store.open_run(1)
    assert path.read_bytes() == before
    with pytest.raises(FileNotFoundError, match="no run store"):
        RunStore(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()


def test_readonly_open_of_a_foreign_file_raises_the_documented_error(tmp_path):
    other = make_foreign_db(tmp_path / "otherapp.db")
    before = fingerprint(tmp_path)
    for readonly in (True, False):
        with pytest.raises(NotARunStoreError, match="tables: users"):
            RunStore(other, readonly=readonly)
    assert fingerprint(tmp_path) == before
    assert issubclass(NotARunStoreError, RunStoreError) and issubclass(RunStoreError, ValueError)


def _read_commands(db: str, out: str) -> list:
    os.chdir(out)
    return [cli("runs", *command, "--db", db) for command in READ_COMMANDS]


@pytest.mark.parametrize("lock", ["file", "folder"])
def test_read_commands_work_on_read_only_files_and_folders(shared_dir, lock):
    store_dir = shared_dir / "store"
    store_dir.mkdir()
    db = make_store(store_dir)
    expected = _read_commands(str(db), str(shared_dir))  # as the owner; imports everything
    assert [code for code, _, _ in expected] == [0] * len(READ_COMMANDS)
    shared_dir.chmod(0o777)  # the unprivileged user may write its working folder, not the store
    db.chmod(0o444)
    if lock == "folder":
        store_dir.chmod(0o555)
    before = fingerprint(store_dir)
    results = call_unprivileged(_read_commands, str(db), str(shared_dir))
    assert [tuple(r) for r in results] == expected
    assert fingerprint(store_dir) == before


# ---------------------------------------------------------------------------- item 10
def _make_data(folder: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(folder / "data.npz", x=rng.normal(size=(40, 3)).astype(np.float32),
             y=rng.integers(0, 2, 40))


def _train(db: str, cwd: str) -> list:
    os.chdir(cwd)
    return list(cli("train", "--db", db, "--data", "data.npz", "--steps", "3", "--width", "4",
                    "--no-progress", "--no-checkpoint"))


def test_train_into_a_read_only_store_is_one_line(shared_dir):
    db = make_store(shared_dir)
    _make_data(shared_dir)
    (shared_dir / "warm-up").mkdir()
    assert _train(str(shared_dir / "warm-up" / "runs.db"), str(shared_dir))[0] == 0  # imports
    shared_dir.chmod(0o777)
    db.chmod(0o444)
    before = fingerprint(shared_dir)
    result = call_unprivileged(_train, str(db), str(shared_dir))
    assert_one_line(tuple(result), str(db), "read-only")
    assert fingerprint(shared_dir) == before


@pytest.mark.parametrize("kind", ["foreign", "damaged", "text"])
def test_train_into_a_foreign_or_damaged_file_is_one_line(tmp_path, kind):
    db = tmp_path / "x.db"
    _make_data(tmp_path)
    if kind == "foreign":
        make_foreign_db(db)
    elif kind == "text":
        db.write_text("not sqlite at all\n" * 100)
    else:
        damage(make_store(tmp_path), db)
    before = fingerprint(tmp_path)
    result = _train(str(db), str(tmp_path))
    assert_one_line(tuple(result), str(db), "--db")
    assert fingerprint(tmp_path) == before


# ---------------------------------------------------------------------------- older stores
V1_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, name TEXT,
    status TEXT NOT NULL, config TEXT NOT NULL, command TEXT, started_at REAL NOT NULL,
    finished_at REAL, duration REAL, results TEXT, steepest_version TEXT, git_commit TEXT);
CREATE TABLE metrics (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scope TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_id, scope, name, step)) WITHOUT ROWID;
CREATE TABLE checkpoints (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    path TEXT NOT NULL, kind TEXT NOT NULL, step INTEGER, created_at REAL NOT NULL,
    PRIMARY KEY (run_id, path));
INSERT INTO runs (kind, name, status, config, started_at) VALUES ('train', 'old', 'finished',
    '{"lr": 0.1}', 1.0);
INSERT INTO metrics VALUES (1, 'epoch', 1, 'loss', 0.5);
PRAGMA user_version = 1;
"""


def test_a_store_of_the_first_schema_is_read_as_it_is_and_upgraded_on_write(tmp_path):
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.close()
    before = path.read_bytes()
    with RunStore(path, readonly=True) as store:  # read as it is: no upgrade, no write
        (record,) = store.runs()
        assert (record.name, record.uuid, record.lineage) == ("old", None, None)
        assert store.find_uuid("anything") is None
    assert path.read_bytes() == before
    assert cli("runs", "show", "1", "--db", str(path))[0] == 0
    with RunStore(path) as store:  # a writer upgrades it: every run gets its identity
        (record,) = store.runs()
        assert record.uuid is not None and store.find_uuid(record.uuid) == record
        assert store.metrics(1)["loss"][1].tolist() == [0.5]
        new = store.start_run({}, name="new")
        assert store.find_uuid(new.uuid).name == "new"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("PRAGMA application_id").fetchone()[0] == int.from_bytes(b"stpt", "big")
    conn.close()


def test_a_store_from_a_newer_steepest_is_refused_untouched(tmp_path):
    path = make_store(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 9")
    conn.close()
    before = fingerprint(tmp_path)
    for readonly in (True, False):
        with pytest.raises(RunStoreError, match="newer steepest"):
            RunStore(path, readonly=readonly)
    assert fingerprint(tmp_path) == before
