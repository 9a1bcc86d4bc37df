"""`steepest runs list|show|compare|export|plot` on a store filled through the RunStore API."""

from __future__ import annotations

import io

import pytest

from steepest.cli import main
from steepest.store import RunStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STEEPEST_DB", raising=False)
    path = tmp_path / "runs.db"
    store = RunStore(path)
    mlp = store.start_run({"model": "mlp", "lr": 0.01, "optimizer": {"name": "adam"}, "seed": 0},
                          name="mlp", command="steepest train --model mlp")
    for epoch, (loss, acc) in enumerate([(2.0, 0.25), (1.0, 0.5), (0.5, 0.75)], start=1):
        mlp.log_epoch(epoch, loss=loss, accuracy=acc, val_loss=loss + 0.25, val_accuracy=acc - 0.1)
        mlp.log_step(epoch * 10, loss=loss)
    mlp.add_checkpoint("ckpt/last.safetensors", "last", 30)
    mlp.finish(results={"test_accuracy": 0.81234, "test_loss": 0.6})
    cnn = store.start_run({"model": "cnn", "lr": 0.01, "optimizer": {"name": "sgd"}, "seed": 0},
                          name="cnn")
    for epoch, (loss, acc) in enumerate([(1.5, 0.5), (0.25, 0.875)], start=1):
        cnn.log_epoch(epoch, loss=loss, accuracy=acc)
    cnn.finish(results={"test_accuracy": 0.9})
    store.start_run({"model": "mlp"}, kind="study", name="sweep")  # still running, no metrics
    store.close()
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["runs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, argv: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("steepest: "), err
    assert message in err, err


def test_list_prints_a_table(db, capsys):
    code, out, err = run_cli(capsys, "list", "--db", str(db))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["id", "kind", "name", "status", "started", "duration", "results"]
    assert len(lines) == 4
    first = lines[1].split()
    assert first[:4] == ["1", "train", "mlp", "finished"]
    assert first[-2:] == ["test_accuracy=0.8123", "test_loss=0.6"]
    assert lines[2].split()[:4] == ["2", "train", "cnn", "finished"]
    assert lines[2].endswith("test_accuracy=0.9")
    assert lines[3].split()[:4] == ["3", "study", "sweep", "running"]
    assert lines[3].split()[-2:] == ["-", "-"]  # no duration, no results yet
    # Columns line up: every row starts its status where the header says.
    column = lines[0].index("status")
    assert all(line[column:].startswith(("finished", "running", "status")) for line in lines)


def test_list_uses_the_environment_and_filters_by_kind(db, capsys, monkeypatch):
    monkeypatch.setenv("STEEPEST_DB", str(db))
    code, out, _ = run_cli(capsys, "list", "--kind", "study")
    assert code == 0 and out.splitlines()[1].split()[:3] == ["3", "study", "sweep"]
    code, out, _ = run_cli(capsys, "list", "--kind", "race")
    assert code == 0 and out == f"no race runs in {db}\n"


def test_show_prints_everything_recorded(db, capsys):
    code, out, _ = run_cli(capsys, "show", "1", "--db", str(db))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "run #1 mlp  (train, finished)"
    assert lines[1] == "  command:   steepest train --model mlp"
    assert "git commit: - (not in a git repository)" in out
    config = lines[lines.index("config:") + 1: lines.index("results:")]
    assert config == ["  model = mlp", "  lr = 0.01", "  optimizer.name = adam", "  seed = 0"]
    assert "  test_accuracy = 0.8123" in lines and "  test_loss = 0.6" in lines
    assert "checkpoints:" in lines and "  last   step 30  ckpt/last.safetensors" in lines
    assert "epoch metrics: 3 epochs (1..3), accuracy, loss, val_accuracy, val_loss" in lines
    assert "  last: accuracy=0.75 loss=0.5 val_accuracy=0.65 val_loss=0.75" in lines
    assert "step metrics: 3 steps (10..30), loss" in lines
    code, out, _ = run_cli(capsys, "show", "#3", "--db", str(db))
    assert code == 0 and "results: (none)" in out and "epoch metrics: (none)" in out


def test_compare_shows_config_differences_and_results(db, capsys):
    code, out, _ = run_cli(capsys, "compare", "1", "2", "--db", str(db))
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["#1", "mlp", "#2", "cnn"]
    assert ["status", "finished", "finished"] in rows
    assert ["config:"] in rows
    assert ["model", "mlp", "cnn"] in rows and ["optimizer.name", "adam", "sgd"] in rows
    assert not any(row[0] in ("lr", "seed") for row in rows)  # equal: not shown
    assert ["test_accuracy", "0.8123", "0.9"] in rows and ["test_loss", "0.6", "-"] in rows
    one_line_error(capsys, ["compare", "1", "--db", str(db)], "two or more run ids")
    one_line_error(capsys, ["compare", "1", "7", "--db", str(db)], "no run with id 7")


def test_compare_identical_configs(db, capsys):
    store = RunStore(db)
    for _ in range(2):
        store.start_run({"lr": 0.1}).finish()
    store.close()
    code, out, _ = run_cli(capsys, "compare", "4", "5", "--db", str(db))
    assert code == 0 and "(configs identical: 1 keys)" in out and "config:" not in out


def test_export_csv_to_stdout_and_file(db, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "export", "1", "--csv", "--db", str(db))
    assert code == 0
    assert out == ("epoch,accuracy,loss,val_accuracy,val_loss\n"
                   "1,0.25,2.0,0.15,2.25\n"
                   "2,0.5,1.0,0.4,1.25\n"
                   "3,0.75,0.5,0.65,0.75\n")
    expected = io.StringIO()
    store = RunStore(db)
    store.export_csv(1, expected)
    store.close()
    assert out == expected.getvalue()
    target = tmp_path / "steps.csv"
    code, out, _ = run_cli(capsys, "export", "1", "--csv", "--scope", "step", "--out",
                           str(target), "--db", str(db))
    assert code == 0 and out == f"wrote 3 step rows of run #1 mlp to {target}\n"
    assert target.read_text() == "step,loss\n10,2.0\n20,1.0\n30,0.5\n"
    one_line_error(capsys, ["export", "1", "--db", str(db)], "--csv")
    one_line_error(capsys, ["export", "1", "--csv", "--out", str(tmp_path / "no" / "x.csv"),
                            "--db", str(db)], "does not exist")


def test_plot_writes_a_png(db, capsys, tmp_path):
    out_file = tmp_path / "curves.png"
    code, out, _ = run_cli(capsys, "plot", "1", "2", "--out", str(out_file), "--db", str(db))
    assert code == 0 and out == f"wrote {out_file} (#1 mlp, #2 cnn)\n"
    data = out_file.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    one_line_error(capsys, ["plot", "3", "--out", str(out_file), "--db", str(db)],
                   "run #3 has no epoch loss or accuracy to plot")
    one_line_error(capsys, ["plot", "1", "--out", str(tmp_path / "curves.txt"), "--db", str(db)],
                   "must end in .png or .svg or .pdf")


def test_plot_figure_names_each_run_once_and_the_splits_apart(db, tmp_path):
    from steepest.store import plot_runs
    from steepest.store.plots import run_label

    store = RunStore(db)
    figure = plot_runs(store, [1, 2])
    loss, accuracy = figure.axes                         # no lr logged: no lr panel
    assert (loss.get_title(), accuracy.get_title()) == ("loss", "accuracy")
    (legend,) = figure.legends                           # below the panels, over no curve
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == ["run #1: mlp", "run #2: cnn", "training", "validation"]
    x, y = loss.lines[0].get_data()
    assert list(x) == [1, 2, 3] and list(y) == [2.0, 1.0, 0.5]
    assert all(float(t).is_integer() for t in loss.get_xticks())   # whole epochs
    unnamed = store.start_run({"model": "mlp", "optimizer": "adam", "lr": 0.01})
    for epoch in (1, 2):
        unnamed.log_epoch(epoch, loss=1.0 / epoch, accuracy=0.5, lr=0.01 / epoch)
    unnamed.finish()
    assert run_label(store.run(unnamed.id)) == f"run #{unnamed.id}: mlp, adam, lr 0.01"
    figure = plot_runs(store, [1, unnamed.id])
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy", "learning rate"]
    assert list(figure.axes[2].lines[0].get_ydata()) == [0.01, 0.005]
    store.close()


def test_missing_store_and_unknown_ids_are_one_line_errors(db, capsys, tmp_path):
    missing = tmp_path / "none.db"
    for argv in (["list"], ["show", "1"], ["export", "1", "--csv"],
                 ["plot", "1", "--out", str(tmp_path / "c.png")], ["compare", "1", "2"]):
        one_line_error(capsys, [*argv, "--db", str(missing)],
                       f"no run store at {missing} (train something first, or pass --db)")
    assert not missing.exists()  # reading never creates a store
    one_line_error(capsys, ["list"], "no run store at")  # default runs/steepest.db: none here
    assert not (tmp_path / "runs").exists()
    one_line_error(capsys, ["show", "42", "--db", str(db)], f"no run with id 42 in {db}")
    one_line_error(capsys, ["export", "42", "--csv", "--db", str(db)], "no run with id 42")
    one_line_error(capsys, ["show", "abc", "--db", str(db)], "run id must be a number")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello, not a database at all; long enough to have a header\n" * 3)
    one_line_error(capsys, ["list", "--db", str(notes)], "is not a steepest run store")


def test_usage_mistakes_exit_2(db, capsys):
    assert main(["runs"]) == 2
    assert "list" in capsys.readouterr().out  # the help of `steepest runs`
    assert main(["runs", "plot", "1", "--db", str(db)]) == 2  # --out is required
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err
