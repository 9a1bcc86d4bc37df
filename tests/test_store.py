"""steepest.store: runs recorded in SQLite and read back exactly; metrics rewritten by a resumed run
replace the old rows; CSV export; where the store lives; several processes writing at once."""

from __future__ import annotations

import io
import math
import multiprocessing
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import steepest
from steepest.store import FLUSH_ROWS, RunStore, git_commit, resolve_db_path


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git repository
    with RunStore(tmp_path / "runs.db") as opened:
        yield opened


def test_start_log_finish_read_back(store):
    run = store.start_run({"lr": 0.01, "model": {"name": "mlp", "width": 100}, "betas": (0.9, 1)},
                          kind="train", name="mlp-adam", command="steepest train --lr 0.01")
    assert store.run(run.id).status == "running"
    run.log_epoch(1, loss=1.5, accuracy=0.25)
    run.add_checkpoint("ckpt/last.safetensors", "last", 40)
    run.add_checkpoint("ckpt/best.safetensors", "best", 40)
    run.add_checkpoint("ckpt/last.safetensors", "last", 80)  # the same file again: updated
    run.finish(results={"test_accuracy": np.float64(0.875), "test_loss": 0.5})

    record = store.run(run.id)
    assert (record.id, record.kind, record.name, record.status) == (run.id, "train", "mlp-adam",
                                                                     "finished")
    assert record.config == {"lr": 0.01, "model": {"name": "mlp", "width": 100},
                             "betas": [0.9, 1]}
    assert record.command == "steepest train --lr 0.01"
    assert record.results == {"test_accuracy": 0.875, "test_loss": 0.5}
    assert record.steepest_version == steepest.__version__
    assert record.git_commit is None  # the working directory is not a git repository
    assert record.started_at <= record.finished_at
    assert record.duration == pytest.approx(record.finished_at - record.started_at, abs=1e-3)
    assert [(c.path, c.kind, c.step) for c in record.checkpoints] == [
        ("ckpt/best.safetensors", "best", 40), ("ckpt/last.safetensors", "last", 80)]
    assert record.label == f"#{run.id} mlp-adam"
    assert [r.id for r in store.runs()] == [run.id]
    assert store.runs(kind="study") == []


def test_metrics_come_back_as_arrays(store):
    run = store.start_run({}, name="m")
    for step in range(5):
        run.log_step(step, loss=1.0 / (step + 1), lr=np.float32(0.5) ** step)
    run.log_epoch(1, loss=0.75, val_loss=math.nan)
    run.log_epoch(2, loss=0.5, val_loss=math.inf)
    run.finish()
    steps = store.metrics(run.id, scope="step")
    assert list(steps) == ["loss", "lr"]
    step_index, loss = steps["loss"]
    assert step_index.dtype == np.int64 and loss.dtype == np.float64
    np.testing.assert_array_equal(step_index, np.arange(5))
    np.testing.assert_array_equal(loss, 1.0 / np.arange(1, 6))
    np.testing.assert_array_equal(steps["lr"][1], 0.5 ** np.arange(5))
    epochs = store.metrics(run.id)  # scope="epoch" by default
    np.testing.assert_array_equal(epochs["loss"][0], [1, 2])
    np.testing.assert_array_equal(epochs["loss"][1], [0.75, 0.5])
    assert math.isnan(epochs["val_loss"][1][0]) and epochs["val_loss"][1][1] == math.inf
    with pytest.raises(ValueError, match="scope must be one of"):
        store.metrics(run.id, scope="batch")


def test_step_rows_are_buffered_until_flush(store, tmp_path):
    run = store.start_run({})
    reader = RunStore(tmp_path / "runs.db")
    for step in range(FLUSH_ROWS - 1):
        run.log_step(step, loss=float(step))
    assert reader.metrics(run.id, "step") == {}
    run.log_step(FLUSH_ROWS - 1, loss=0.0)  # the 200th row: written
    assert len(reader.metrics(run.id, "step")["loss"][0]) == FLUSH_ROWS
    run.log_step(FLUSH_ROWS, loss=0.0)
    run.log_epoch(1, loss=1.0)  # an epoch flushes everything
    assert len(reader.metrics(run.id, "step")["loss"][0]) == FLUSH_ROWS + 1
    reader.close()


def test_resumed_run_replaces_rewritten_steps(store, tmp_path):
    run = store.start_run({"lr": 0.1}, name="resumable")
    for step in range(10):
        run.log_step(step, loss=float(step))
    run.log_epoch(1, loss=9.0)
    run.finish("interrupted")
    first = store.run(run.id)

    resumed = RunStore(tmp_path / "runs.db").open_run(run.id)  # as a new process would
    assert resumed.id == run.id and resumed.uuid == first.uuid
    assert store.run(run.id) == first  # nothing written before the first step
    for step in range(5, 12):  # the checkpoint was at step 5: steps 5..9 come again
        resumed.log_step(step, loss=100.0 + step)
        if step == 5:
            assert store.run(run.id).status == "running"
            assert store.run(run.id).finished_at is None
    resumed.log_epoch(1, loss=-1.0)
    resumed.finish(results={"test_accuracy": 0.5})

    steps, values = store.metrics(run.id, "step")["loss"]
    np.testing.assert_array_equal(steps, np.arange(12))
    np.testing.assert_array_equal(values, [0, 1, 2, 3, 4, 105, 106, 107, 108, 109, 110, 111])
    np.testing.assert_array_equal(store.metrics(run.id)["loss"][1], [-1.0])
    record = store.run(run.id)
    assert record.status == "finished" and record.results == {"test_accuracy": 0.5}
    assert record.duration >= first.duration  # running time adds up over the segments
    assert len(store.runs()) == 1


def test_export_csv_exact(store, tmp_path):
    run = store.start_run({})
    run.log_epoch(1, loss=0.5, accuracy=0.25)
    run.log_epoch(2, loss=1 / 3, accuracy=0.5, val_loss=2.0)
    run.log_epoch(10, loss=1e-5)
    run.log_step(3, loss=0.125)
    run.finish()
    text = io.StringIO()
    assert store.export_csv(run.id, text) == 3
    assert text.getvalue() == ("epoch,accuracy,loss,val_loss\n"
                               "1,0.25,0.5,\n"
                               "2,0.5,0.3333333333333333,2.0\n"
                               "10,,1e-05,\n")
    out = tmp_path / "steps.csv"
    assert store.export_csv(run.id, out, scope="step") == 1
    assert out.read_text() == "step,loss\n3,0.125\n"


def test_errors_name_the_problem(store, tmp_path):
    with pytest.raises(ValueError, match=r"no run with id 99 in .*runs\.db"):
        store.run(99)
    with pytest.raises(ValueError, match="no run with id 99"):
        store.open_run(99)
    with pytest.raises(ValueError, match="no run with id 99"):
        store.metrics(99)
    run = store.start_run({})
    with pytest.raises(ValueError, match="status must be one of"):
        run.finish("done")
    with pytest.raises(TypeError, match="metric 'loss' must be a number"):
        run.log_step(1, loss="low")
    with pytest.raises(TypeError, match="step must be an integer"):
        run.log_step(1.5, loss=1.0)
    with pytest.raises(TypeError, match="config must be a dict"):
        store.start_run(["lr", 0.1])
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just some text that is long enough\n" * 10)
    with pytest.raises(ValueError, match=r"notes\.txt is not a steepest run store"):
        RunStore(text)
    missing = tmp_path / "nowhere" / "runs.db"
    with pytest.raises(FileNotFoundError, match="no run store at"):
        RunStore(missing, create=False)
    assert not missing.parent.exists()


def test_run_as_context_manager_records_how_it_ended(store):
    with store.start_run({}, name="ok") as run:
        run.log_epoch(1, loss=1.0)
    assert store.run(run.id).status == "finished"
    with pytest.raises(RuntimeError), store.start_run({}, name="crash") as crashed:
        raise RuntimeError("boom")
    assert store.run(crashed.id).status == "failed"
    with pytest.raises(KeyboardInterrupt), store.start_run({}, name="ctrl-c") as stopped:
        raise KeyboardInterrupt
    assert store.run(stopped.id).status == "interrupted"
    with store.start_run({}) as diverged:
        diverged.finish("diverged")
    assert store.run(diverged.id).status == "diverged"


def test_resolve_db_path_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STEEPEST_DB", raising=False)
    assert resolve_db_path() == tmp_path / "runs" / "steepest.db"
    monkeypatch.setenv("STEEPEST_DB", str(tmp_path / "env.db"))
    assert resolve_db_path() == tmp_path / "env.db"
    assert resolve_db_path(tmp_path / "arg.db") == tmp_path / "arg.db"
    assert resolve_db_path("arg.db") == Path("arg.db")
    monkeypatch.delenv("STEEPEST_DB")
    store = RunStore()  # the default: runs/steepest.db, folder created
    assert store.path == tmp_path / "runs" / "steepest.db" and store.path.is_file()
    store.close()


def test_git_commit_of_the_working_directory(tmp_path, monkeypatch):
    assert git_commit(tmp_path) is None
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    try:
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env, timeout=10)
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo,
                       check=True, env=env, timeout=10)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git is not available")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout.strip()
    monkeypatch.chdir(repo)
    store = RunStore(tmp_path / "runs.db")
    run = store.start_run({})
    assert store.run(run.id).git_commit == head
    store.close()


# ---------------------------------------------------------------------------- concurrency
WORKERS, RUNS_PER_WORKER, STEPS = 4, 3, 100


def _write_runs(db: str, worker: int, barrier) -> None:
    store = RunStore(db)
    barrier.wait()  # all processes write at the same moment
    for index in range(RUNS_PER_WORKER):
        run = store.start_run({"worker": worker, "index": index}, name=f"w{worker}-{index}")
        for step in range(STEPS):
            run.log_step(step, loss=worker + index / 10 + step / 1000)
            if step % 10 == 9:
                run.flush()  # many small transactions: the most contention
        run.finish(results={"worker": worker})
    store.close()


def test_processes_writing_at_once_lose_no_rows(tmp_path):
    db = str(tmp_path / "shared.db")
    RunStore(db).close()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    processes = [context.Process(target=_write_runs, args=(db, worker, barrier))
                 for worker in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * WORKERS
    store = RunStore(db)
    runs = store.runs()
    assert len(runs) == WORKERS * RUNS_PER_WORKER
    assert sorted(r.name for r in runs) == sorted(
        f"w{w}-{i}" for w in range(WORKERS) for i in range(RUNS_PER_WORKER))
    assert all(r.status == "finished" for r in runs)
    rows = store._read("SELECT COUNT(*) FROM metrics")[0][0]
    assert rows == WORKERS * RUNS_PER_WORKER * STEPS
    for record in runs:
        steps, values = store.metrics(record.id, "step")["loss"]
        worker, index = record.config["worker"], record.config["index"]
        np.testing.assert_array_equal(steps, np.arange(STEPS))
        np.testing.assert_array_equal(values, worker + index / 10 + np.arange(STEPS) / 1000)
    store.close()


def test_metrics_keep_their_wall_time_and_old_stores_gain_the_column(tmp_path):
    import sqlite3
    import time

    path = tmp_path / "old.db"
    store = RunStore(path)
    run = store.start_run({})
    before = time.time()
    run.log_step(1, loss=0.5)
    run.flush()
    steps, values, times = store.metric_series(run.id, "step", "loss")
    assert steps.tolist() == [1] and values.tolist() == [0.5]
    assert before <= times[0] <= time.time()
    store.close()
    # a store written before metrics had a wall time: readable, then upgraded by a writer
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE copy AS SELECT run_id, scope, step, name, value "
                     "FROM metrics")
        conn.execute("DROP TABLE metrics")
        conn.execute("CREATE TABLE metrics (run_id INTEGER NOT NULL, scope TEXT NOT NULL, "
                     "step INTEGER NOT NULL, name TEXT NOT NULL, value REAL, "
                     "PRIMARY KEY (run_id, scope, name, step)) WITHOUT ROWID")
        conn.execute("INSERT INTO metrics SELECT * FROM copy")
        conn.execute("DROP TABLE copy")
    reader = RunStore(path, readonly=True)
    assert math.isnan(reader.metric_series(run.id, "step", "loss")[2][0])
    reader.close()
    writer = RunStore(path)
    more = writer.open_run(run.id)
    more.log_step(2, loss=0.25)
    more.finish()
    steps, values, times = writer.metric_series(run.id, "step", "loss")
    assert steps.tolist() == [1, 2] and math.isnan(times[0]) and times[1] >= before
    writer.close()


def test_metric_names_and_data_version(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    reader = RunStore(tmp_path / "runs.db", readonly=True)
    run = store.start_run({})
    version = reader.data_version()
    assert reader.metric_names(run.id) == {"step": [], "epoch": []}
    for step in range(1, 4):
        run.log_step(step, loss=1.0, lr=0.1, zeta=2.0)
    run.log_epoch(1, val_loss=0.5, accuracy=0.3)
    assert reader.data_version() != version  # another connection committed
    assert reader.metric_names(run.id) == {"step": ["loss", "lr", "zeta"],
                                           "epoch": ["accuracy", "val_loss"]}
    steps, values, _ = reader.metric_series(run.id, "step", "lr", after=1)
    assert steps.tolist() == [2, 3] and values.tolist() == [0.1, 0.1]
    assert reader.metric_series(run.id, "step", "nothing")[0].size == 0
    with pytest.raises(ValueError, match="scope must be one of"):
        reader.metric_series(run.id, "batch", "loss")
    store.close()
    reader.close()
