"""`steepest runs` never destroys or garbles: export never overwrites (the store least of all),
runs can be deleted (with confirmation), names are shown as text (control characters escaped in
the terminal, a `$` literal in plots), and typos leave no failed run behind."""

from __future__ import annotations

import contextlib
import io
import sys

import numpy as np
import pytest

from steepest.cli import main
from steepest.store import RunStore


def cli(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


def one_line(result, *needles):
    code, _, err = result
    assert code != 0 and err.count("\n") == 1 and "Traceback" not in err, result
    for needle in needles:
        assert needle in err, err


EVIL = "evil\x1b[2J\x1b[31mred\rgone\x07 $x^2$ $unbalanced"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "c.db"
    with RunStore(path) as store:
        for name in ("first", EVIL, "third"):
            run = store.start_run({"lr": 0.1, "note": EVIL if name == EVIL else "plain"},
                                  name=name, command=f"steepest train --name {name}")
            for epoch in (1, 2):
                run.log_epoch(epoch, loss=1.0 / epoch, accuracy=0.5 * epoch, **{EVIL: 1.0})
            run.add_checkpoint(tmp_path / f"{name[:4]}" / "last.safetensors", "last", 20)
            run.finish(results={"test_accuracy": 0.75, EVIL: 2.0})
    return path


# ---------------------------------------------------------------------------- item 11
def test_export_never_writes_over_the_store(db):
    before = db.read_bytes()
    for target in (db, db.with_name("c.db-wal"), f"{db.parent}/./c.db"):
        one_line(cli("runs", "export", "1", "--csv", "--out", str(target), "--db", str(db)),
                 "is the run store")
        one_line(cli("runs", "export", "1", "--csv", "--out", str(target), "--db", str(db),
                     "--force"), "is the run store")
    assert db.read_bytes() == before
    link = db.with_name("link.db")
    link.symlink_to(db)
    one_line(cli("runs", "export", "1", "--csv", "--out", str(link), "--db", str(db),
                 "--force"), "is the run store")
    assert db.read_bytes() == before and RunStore(db, readonly=True).run(1).name == "first"


def test_export_never_overwrites_a_file_without_force(db, tmp_path):
    existing = tmp_path / "notes.csv"
    existing.write_text("precious\n")
    one_line(cli("runs", "export", "1", "--csv", "--out", str(existing), "--db", str(db)),
             str(existing), "exists", "--force")
    assert existing.read_text() == "precious\n"
    code, out, _ = cli("runs", "export", "1", "--csv", "--out", str(existing), "--db", str(db),
                       "--force")
    assert code == 0 and existing.read_text().startswith("epoch,")
    fresh = tmp_path / "fresh.csv"
    assert cli("runs", "export", "1", "--csv", "--out", str(fresh), "--db", str(db))[0] == 0
    assert fresh.read_text() == existing.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_plot_never_writes_over_the_store(tmp_path):
    db = tmp_path / "runs.png"  # a store with a picture's name: still the store
    with RunStore(db) as store:
        run = store.start_run({}, name="a")
        run.log_epoch(1, loss=1.0, accuracy=0.5)
        run.finish()
    before = db.read_bytes()
    one_line(cli("runs", "plot", "1", "--out", str(db), "--db", str(db)), "is the run store")
    assert db.read_bytes() == before


# ---------------------------------------------------------------------------- item 12
def test_delete_asks_and_removes_runs_with_their_rows(db):
    code, out, err = cli("runs", "delete", "2", "--db", str(db), stdin="n\n")
    assert code == 1 and "kept" in out
    assert [r.id for r in RunStore(db, readonly=True).runs()] == [1, 2, 3]
    code, out, err = cli("runs", "delete", "2", "3", "--db", str(db), stdin="y\n")
    assert code == 0, err
    assert "delete 2 runs" in out and "\\x1b" in out and "\x1b" not in out
    assert "deleted runs #2, #3" in out and "checkpoint files are left" in out
    with RunStore(db, readonly=True) as store:
        assert [r.id for r in store.runs()] == [1]
        assert store._read("SELECT COUNT(*) FROM metrics WHERE run_id != 1")[0][0] == 0
        assert store._read("SELECT COUNT(*) FROM checkpoints WHERE run_id != 1")[0][0] == 0
    assert cli("runs", "delete", "1", "--db", str(db), "--yes")[0] == 0
    assert RunStore(db, readonly=True).runs() == []


def test_delete_needs_yes_without_a_terminal_and_names_unknown_ids(db):
    one_line(cli("runs", "delete", "1", "--db", str(db), stdin=""), "--yes")
    one_line(cli("runs", "delete", "1", "9", "--db", str(db), "--yes"), "no run with id 9")
    assert [r.id for r in RunStore(db, readonly=True).runs()] == [1, 2, 3]  # all or nothing


def test_delete_refuses_a_foreign_database(tmp_path):
    import sqlite3

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE runs (id INTEGER)")
    conn.execute("INSERT INTO runs VALUES (1)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    one_line(cli("runs", "delete", "1", "--db", str(other), "--yes"), "not a steepest run store")
    assert other.read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "adma"], "unknown optimizer 'adma'"),
    (["--schedule", "cosin"], "unknown schedule 'cosin'"),
    (["--augment", "flip,rotate"], "unknown augmentation 'rotate'"),
    (["--tta", "identity,shift-up"], "'shift-up' needs images"),
    (["--tta", "identity,sideways"], "unknown view 'sideways'"),
    (["--optimizer", "sgd", "--weight-decay", "0.1", "--lr", "0.1", "--schedule", "warmup-cosine",
      "--steps", "1"], "warmup-cosine"),
])
def test_typos_leave_no_run_behind(tmp_path, args, message):
    db = tmp_path / "runs.db"
    result = cli("train", "--db", str(db), "--steps", "3", "--width", "4", "--no-progress",
                 *args)
    one_line(result, message)
    assert not db.exists() or RunStore(db, readonly=True).runs() == []
    assert not (tmp_path / "checkpoints").exists()


# ---------------------------------------------------------------------------- item 13
def test_names_are_shown_escaped_in_the_terminal(db):
    for command in (["list"], ["show", "2"], ["compare", "1", "2"]):
        code, out, err = cli("runs", *command, "--db", str(db))
        assert code == 0, err
        assert not any(c in out for c in "\x1b\r\x07"), (command, out)
        assert "evil\\x1b[2J\\x1b[31mred\\rgone\\x07 $x^2$ $unbalanced" in out, (command, out)


def test_a_dollar_in_a_name_is_literal_in_plots(db, tmp_path):
    from steepest.store import plot_runs

    figure = plot_runs(RunStore(db, readonly=True), [1, 2], tmp_path / "p.png")
    legends = figure.legends      # one legend, below the panels
    texts = [t.get_text() for legend in legends for t in legend.get_texts()]
    assert any("$x^2$ $unbalanced" in t.replace("\\$", "$") for t in texts)
    for legend in legends:
        for text in legend.get_texts():
            assert text.get_text().count("$") == text.get_text().count("\\$")  # all escaped
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = cli("runs", "plot", "1", "2", "--out", str(tmp_path / "q.png"), "--db",
                       str(db))
    assert code == 0, err
    image = np.frombuffer((tmp_path / "q.png").read_bytes(), np.uint8)
    assert image.size > 1000
