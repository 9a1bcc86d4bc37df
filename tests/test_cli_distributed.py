"""`steepest train --workers N --strategy ...` and `steepest async`: they run, record, resume,
and every user mistake gets one line (exit 2) before anything is written."""

from __future__ import annotations

import csv
import sys

import pytest

from steepest.cli import main


def _train(tmp_path, *args):
    return main(["train", "--db", str(tmp_path / "runs.db"), "--no-progress", "--data",
                 "digits", "--optimizer", "sgd", "--lr", "0.2", "--batch-size", "64",
                 "--width", "32", *args])


@pytest.mark.parametrize("args,message", [
    (["--workers", "0"], "argument --workers: expected an integer >= 1, got 0"),
    (["--workers", "2", "--strategy", "gme"], "unknown strategy 'gme'; choose from sync, "
                                              "downpour, staleness, dcasgd, easgd, gem"),
    (["--workers", "2", "--strategy", "gem", "--schedule", "cosine"],
     "--schedule is not available with --strategy gem"),
])
def test_distributed_mistakes_get_one_line(tmp_path, capsys, args, message):
    assert _train(tmp_path, "--steps", "5", *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "runs.db").exists()


def test_an_address_that_does_not_answer_is_one_line(tmp_path, capsys, monkeypatch):
    import time

    from steepest.distributed import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    started = time.perf_counter()
    # port 9 (discard) on the loopback: nothing listens there
    assert _train(tmp_path, "--steps", "5", "--workers", "2", "--address", "127.0.0.1:9") == 2
    err = capsys.readouterr().err
    assert "--address 127.0.0.1:9: no Ray cluster answers there" in err
    assert err.count("\n") == 1 and time.perf_counter() - started < 30
    assert not (tmp_path / "runs.db").exists()


def test_without_ray_the_line_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    import steepest.distributed.cluster as cluster

    monkeypatch.setattr(cluster, "connect", _connect_without_ray(cluster))
    assert _train(tmp_path, "--steps", "5", "--workers", "2") == 2
    err = capsys.readouterr().err
    assert "Ray is not installed: pip install 'steepest[distributed]'" in err
    assert err.count("\n") == 1


def _connect_without_ray(cluster):
    def connect(address=None, **options):
        return cluster.ray_module()  # what connect does first; Ray may already run here
    return connect


def test_async_training_records_strategy_staleness_and_resumes(tmp_path, capsys, ray_cluster):
    from steepest.io import load_checkpoint
    from steepest.store import RunStore

    folder = tmp_path / "ckpt"
    assert _train(tmp_path, "--workers", "2", "--strategy", "gem", "--steps", "12",
                  "--checkpoint-dir", str(folder), "--init", "he") == 0
    out = capsys.readouterr().out
    assert "2 workers on Ray, strategy gem" in out and "staleness mean" in out
    assert "mean π" in out and "after 24 commits" in out
    with RunStore(tmp_path / "runs.db", readonly=True) as store:
        record = store.run(1)
        assert record.status == "finished"
        assert record.config["strategy"] == "gem" and record.config["workers"] == 2
        assert record.results["commits"] == 24 and "mean_staleness" in record.results
        assert 0 < record.results["mean_pi"] <= 5
    checkpoint = load_checkpoint(folder / "last.safetensors")
    assert checkpoint.step == 24 and checkpoint.extra["run_uuid"] == record.uuid
    assert _train(tmp_path, "--resume", str(folder / "last.safetensors"), "--steps", "20") == 0
    assert "after 40 commits" in capsys.readouterr().out
    assert load_checkpoint(folder / "last.safetensors").step == 40


# ---------------------------------------------------------------------------- steepest async
def test_async_study_writes_csv_figures_and_report(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["async", "--strategies", "downpour,gem", "--workers", "1,4", "--seeds", "1",
                 "--steps", "15", "--train-size", "256", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| gem | 4 |" in printed and "The paper's findings" in printed
    with open(out / "results.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["strategy", "workers", "seed", "final_loss", "mean_staleness",
                             "mean_pi", "clamped_fraction"]
    assert [(r["strategy"], r["workers"]) for r in rows] == [
        ("downpour", "1"), ("downpour", "4"), ("gem", "1"), ("gem", "4")]
    assert float(rows[3]["mean_staleness"]) == pytest.approx(3 * 14 / 15 + 1.5 / 15, abs=0.01)
    assert 0 < float(rows[3]["mean_pi"]) <= 5
    for name in ("final_loss.png", "loss_curves.png", "mean_pi.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "src=\"http" not in page


def test_async_study_kappa_variants(tmp_path, capsys):
    out = tmp_path / "kappa"
    assert main(["async", "--strategies", "gem", "--kappa", "1,2", "--workers", "2",
                 "--seeds", "1", "--steps", "10", "--train-size", "128", "--schedule",
                 "random", "--out", str(out)]) == 0
    assert "| gem κ=2 | 2 |" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--workers", "0,2"], "--workers: '0' is not a number of workers"),
    (["--strategies", "gem,sgd"], "--strategies: unknown name 'sgd'"),
    (["--kappa", "x"], "--kappa: expected comma-separated positive numbers"),
    (["--schedule", "fifo"], "--schedule: unknown schedule 'fifo'"),
    (["--kappa", "2", "--strategies", "downpour"], "--kappa is GEM's"),
    (["--lr", "-1"], "argument --lr: expected a positive number"),
])
def test_async_study_mistakes_get_one_line(tmp_path, capsys, args, message):
    assert main(["async", "--out", str(tmp_path / "never"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "never").exists()


def test_sync_data_parallel_from_the_command_line_is_the_single_process_run(
        tmp_path, capsys, ray_cluster):
    from steepest.store import RunStore

    assert _train(tmp_path, "--steps", "30") == 0
    single = capsys.readouterr().out
    assert _train(tmp_path, "--steps", "30", "--workers", "3") == 0
    parallel = capsys.readouterr().out
    assert "3 workers on Ray: synchronous data-parallel" in parallel

    def lines(out):
        return [line for line in out.splitlines() if line.startswith("epoch")]

    assert lines(parallel) == lines(single)  # float32: the same to the printed digits
    with RunStore(tmp_path / "runs.db", readonly=True) as store:
        one, three = store.run(1), store.run(2)
    assert three.config["workers"] == 3 and three.config["strategy"] == "sync"
    assert three.results["test_loss"] == pytest.approx(one.results["test_loss"], rel=1e-4)
