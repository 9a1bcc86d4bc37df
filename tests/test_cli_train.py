"""`steepest train` (what `make run` runs): it learns, and user mistakes get one clear line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import steepest as st
from steepest import nn
from steepest.cli import main
from steepest.data import load_mnist1d
from steepest.train import evaluate_classifier, train_classifier


@pytest.fixture(scope="module")
def mnist1d():
    return load_mnist1d()


def test_mnist1d_has_the_default_sizes(mnist1d):
    assert mnist1d.x.shape == (4000, 40) and mnist1d.x_test.shape == (1000, 40)
    assert mnist1d.x.dtype == np.float32 and mnist1d.y.dtype == np.int64
    assert set(np.unique(mnist1d.y)) == set(range(10))


def test_minibatch_gradient_descent_learns_mnist1d(mnist1d):
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 10))
    _, chance_accuracy = evaluate_classifier(model, mnist1d.x_test, mnist1d.y_test)
    history = train_classifier(model, *mnist1d, epochs=6, lr=0.1, batch_size=100,
                               log=lambda line: None)
    losses = [h["train_loss"] for h in history]
    assert losses[-1] < 0.85 * losses[0]
    assert history[-1]["test_accuracy"] > chance_accuracy + 0.1
    assert all(p.dtype == np.float32 for p in model.parameters())


def _train(tmp_path, *args):
    return main(["train", "--db", str(tmp_path / "runs.db"), "--no-progress", *args])


def test_train_command_trains_records_and_checkpoints(tmp_path, capsys):
    from steepest.io import load_checkpoint
    from steepest.store import RunStore

    assert _train(tmp_path, "--epochs", "3", "--width", "16", "--checkpoint-dir",
                  str(tmp_path / "ckpt")) == 0
    out = capsys.readouterr().out
    assert "epoch    3" in out and "test accuracy" in out
    assert "run #1 recorded" in out
    record = RunStore(tmp_path / "runs.db").run(1)
    assert record.status == "finished" and record.config["width"] == 16
    assert record.config["optimizer"] == "adam" and record.config["lr"] == 0.01
    assert 0.2 < record.results["test_accuracy"] <= 1
    checkpoint = load_checkpoint(tmp_path / "ckpt" / "last.safetensors")
    assert checkpoint.epoch == 3 and checkpoint.step == 120
    assert checkpoint.model_state["1.weight"].shape == (16, 40)


def test_test_time_augmentation_is_reported_and_recorded(tmp_path, capsys):
    from steepest.data import load_mnist1d
    from steepest.data.augment import evaluate_tta
    from steepest.io import load_checkpoint
    from steepest.models import mlp
    from steepest.store import RunStore

    assert _train(tmp_path, "--steps", "40", "--width", "16", "--tta",
                  "identity,shift-left,shift-right", "--checkpoint-dir", str(tmp_path)) == 0
    assert "test-time augmentation (identity,shift-left,shift-right)" in capsys.readouterr().out
    result = RunStore(tmp_path / "runs.db").run(1).results["test_tta_accuracy"]
    model = mlp(40, 10, width=16)
    model.load_state_dict(load_checkpoint(tmp_path / "last.safetensors").model_state)
    data = load_mnist1d()
    views = ("identity", "shift-left", "shift-right")
    assert result == evaluate_tta(model, data.x_test, data.y_test, views)[1]


def test_config_file_sets_options_and_the_command_line_wins(tmp_path, capsys):
    from steepest.store import RunStore

    config = tmp_path / "run.toml"
    config.write_text('model = "logreg"\noptimizer = "sgd"\nlr = 0.5\nbatch-size = 50\n'
                      "steps = 30\nseed = 4\n")
    assert _train(tmp_path, "--config", str(config), "--lr", "0.25", "--no-checkpoint") == 0
    record = RunStore(tmp_path / "runs.db").run(1)
    assert record.config["model"] == "logreg" and record.config["optimizer"] == "sgd"
    assert record.config["lr"] == 0.25 and record.config["batch_size"] == 50
    assert record.results["steps"] == 30


def test_resume_continues_the_same_run_exactly(tmp_path, capsys):
    from steepest.store import RunStore

    assert _train(tmp_path, "--steps", "100", "--width", "16", "--seed", "2",
                  "--checkpoint-dir", str(tmp_path / "whole")) == 0
    assert _train(tmp_path, "--steps", "60", "--width", "16", "--seed", "2",
                  "--checkpoint-dir", str(tmp_path / "part")) == 0
    assert _train(tmp_path, "--resume", str(tmp_path / "part" / "last.safetensors"),
                  "--steps", "100") == 0
    store = RunStore(tmp_path / "runs.db")
    assert [r.id for r in store.runs()] == [1, 2]  # the resumed run continued run 2
    whole, resumed = store.metrics(1, scope="step"), store.metrics(2, scope="step")
    np.testing.assert_array_equal(whole["loss"][1], resumed["loss"][1])
    assert store.run(2).results["test_accuracy"] == store.run(1).results["test_accuracy"]


@pytest.mark.parametrize("args, message", [
    (["--lr", "-1"], "argument --lr: expected a number > 0, got '-1'"),
    (["--epochs", "two"], "argument --epochs: expected an integer, got 'two'"),
    (["--optimizer", "sgdd"], "unknown optimizer 'sgdd'"),
    (["--schedule", "sometimes"], "unknown schedule 'sometimes'"),
    (["--data", "imagenet"], "--data: unknown dataset 'imagenet'"),
    (["--data", "missing.npz"], "missing.npz"),
    (["--data", "mnist", "--data-dir", "nowhere"], "train-images-idx3-ubyte"),
    (["--model", "resnet"], "unknown model 'resnet'"),
    (["--model", "cnn", "--depth", "5"], "--depth applies to --model mlp, not --model cnn"),
    (["--augment", "rotate"], "--augment: unknown augmentation 'rotate'"),
    (["--epochs", "2", "--steps", "3"], "give epochs or steps, not both"),
    (["--resume", "nothing.safetensors"], "--resume nothing.safetensors: no such file"),
    (["--config", "nothing.toml"], "--config nothing.toml: no such file"),
    (["--tta", "identity,sideways"], "--tta: unknown view 'sideways'"),
])
def test_user_mistakes_get_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert _train(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_config_key_and_foreign_files_are_named(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("learning_rate = 0.1\n")
    assert _train(tmp_path, "--config", str(config)) == 2
    assert "unknown key 'learning_rate'" in capsys.readouterr().err
    config.write_text("lr = -3\n")
    assert _train(tmp_path, "--config", str(config)) == 2
    assert "lr: expected a number > 0" in capsys.readouterr().err
    text = tmp_path / "notes.safetensors"
    text.write_text("not a checkpoint")
    assert _train(tmp_path, "--resume", str(text)) == 2
    assert "notes.safetensors" in capsys.readouterr().err
    db = tmp_path / "text.db"
    db.write_text("this is not sqlite " * 100)
    assert main(["train", "--db", str(db), "--steps", "1"]) == 2
    assert "--db" in capsys.readouterr().err


def test_divergence_is_one_line_and_exit_1(tmp_path, capsys):
    code = _train(tmp_path, "--optimizer", "sgd", "--lr", "1e30", "--steps", "50")
    err = capsys.readouterr().err
    assert code == 1
    assert "training diverged" in err and "learning rate" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["train", "--lr", "0"], "expected a number > 0, got '0'"),
    (["train", "--optimizer-typo", "adam"], "unrecognized arguments: --optimizer-typo"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
])
def test_mistakes_in_a_real_process_have_no_traceback(args, message):
    result = subprocess.run([sys.executable, "-m", "steepest", *args], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_full_batch_from_the_command_line(tmp_path, capsys):
    from steepest.store import RunStore

    assert _train(tmp_path, "--epochs", "3", "--batch-size", "full", "--no-checkpoint") == 0
    assert "batch full" in capsys.readouterr().out
    assert RunStore(tmp_path / "runs.db").run(1).results["steps"] == 3  # one step an epoch


def test_resume_refuses_to_change_the_run(tmp_path, capsys):
    from steepest.store import RunStore

    assert _train(tmp_path, "--steps", "20", "--checkpoint-dir", str(tmp_path / "c")) == 0
    capsys.readouterr()
    last = str(tmp_path / "c" / "last.safetensors")
    assert _train(tmp_path, "--resume", last, "--steps", "40", "--lr", "0.5") == 2
    err = capsys.readouterr().err
    assert "--lr 0.5 differs from the run" in err and "(0.01)" in err
    assert _train(tmp_path, "--resume", last, "--steps", "40", "--batch-size", "7") == 2
    assert RunStore(tmp_path / "runs.db").run(1).status == "finished"


def test_a_run_whose_checkpoint_folder_cannot_be_made_is_recorded_with_the_cause(tmp_path,
                                                                                 capsys):
    from steepest.store import RunStore

    (tmp_path / "checkpoints").write_text("a file where the runs' folders would go")
    assert _train(tmp_path, "--steps", "2") == 2
    assert "cannot create it" in capsys.readouterr().err
    [record] = RunStore(tmp_path / "runs.db").runs()
    assert record.status == "failed"
    assert record.results["error"].startswith(
        f"UsageError: --checkpoint-dir {tmp_path / 'checkpoints' / 'run-1'}: cannot create it")


def test_a_run_by_epochs_resumes_by_epochs(tmp_path, capsys):
    from steepest.store import RunStore

    assert _train(tmp_path, "--epochs", "1", "--width", "8", "--checkpoint-dir",
                  str(tmp_path / "c")) == 0
    last = str(tmp_path / "c" / "last.safetensors")
    assert _train(tmp_path, "--resume", last, "--epochs", "2") == 0
    assert _train(tmp_path, "--resume", last) == 0  # its own length: already done
    record = RunStore(tmp_path / "runs.db").run(1)
    assert record.status == "finished" and record.results["epochs"] == 2
    assert record.results["steps"] == 80  # 40 batches an epoch
    assert _train(tmp_path, "--resume", last, "--steps", "100") == 0  # a length by steps
    assert RunStore(tmp_path / "runs.db").run(1).results["steps"] == 100
    from steepest.cli import UsageError
    from steepest.cli.train import _checked_options

    with pytest.raises(UsageError, match="x.safetensors: steps or epochs must be set"):
        _checked_options({"steps": None, "epochs": None}, "--resume x.safetensors")


def test_unusable_paths_and_labels_are_one_line(tmp_path, capsys):
    from steepest.store import RunStore

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert _train(tmp_path, "--steps", "2", "--checkpoint-dir", str(blocker / "sub")) == 2
    assert "--checkpoint-dir" in capsys.readouterr().err
    assert RunStore(tmp_path / "runs.db").runs() == []  # checked before a run is opened
    assert main(["train", "--db", str(blocker / "runs.db"), "--steps", "2"]) == 2
    assert "--db" in capsys.readouterr().err
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "floats.npz", x=rng.normal(size=(50, 4)).astype(np.float32),
             y=rng.normal(size=50))
    assert _train(tmp_path, "--data", str(tmp_path / "floats.npz"), "--steps", "2",
                  "--task", "classification") == 2
    assert "is not a whole number; class labels must be integers" in capsys.readouterr().err


def test_classes_without_examples_are_noted(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "gaps.npz", x=rng.normal(size=(60, 4)).astype(np.float32),
             y=rng.choice([0, 3], size=60))
    assert _train(tmp_path, "--data", str(tmp_path / "gaps.npz"), "--steps", "2",
                  "--no-checkpoint") == 0
    assert "no training example has class 1, 2; the model still has 4 outputs" in \
        capsys.readouterr().out


# ---- regression ------------------------------------------------------------------------------
def _houses(path, n=500, seed=0):
    """A CSV of real-valued prices: a smooth function of three features, plus noise (std 0.1)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = 2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] ** 2 + 3 + 0.1 * rng.normal(size=n)
    rows = [",".join(f"{v:.6f}" for v in (*features, target))
            for features, target in zip(x, y, strict=True)]
    path.write_text("size,rooms,age,price\n" + "\n".join(rows) + "\n")
    return path


def test_train_regresses_real_valued_targets_of_a_csv_and_the_numbers_are_right(tmp_path,
                                                                                  capsys):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    from steepest import models
    from steepest.data import load_dataset
    from steepest.io import load_checkpoint
    from steepest.store import RunStore

    csv = _houses(tmp_path / "houses.csv")
    assert _train(tmp_path, "--data", str(csv), "--steps", "160", "--width", "32",
                  "--checkpoint-dir", str(tmp_path / "ckpt")) == 0
    out = capsys.readouterr().out
    assert "400 train / 100 test, inputs (3,), regression of 1 target (real-valued" in out
    assert "test r2 " in out and "accuracy" not in out
    record = RunStore(tmp_path / "runs.db").run(1)
    assert record.config["task"] == "regression"  # decided from the targets, and recorded
    results = record.results
    assert results["test_r2"] > 0.95 and results["test_rmse"] < 0.5
    # The recorded test metrics are those of the saved weights on the held-out rows.
    data = load_dataset(str(csv), task="regression")
    model = models.build_model("mlp", (3,), 1, width=32)
    model.load_state_dict(load_checkpoint(tmp_path / "ckpt" / "last.safetensors").model_state)
    model.eval()
    with st.no_grad():
        predicted = model(st.tensor(data.x_test)).data[:, 0].astype(np.float64)
    assert results["test_r2"] == pytest.approx(r2_score(data.y_test, predicted), rel=1e-5)
    assert results["test_mae"] == pytest.approx(mean_absolute_error(data.y_test, predicted),
                                                rel=1e-5)
    assert results["test_loss"] == pytest.approx(mean_squared_error(data.y_test, predicted),
                                                 rel=1e-5)
    # A resumed regression run goes on as a regression.
    assert _train(tmp_path, "--resume", str(tmp_path / "ckpt" / "last.safetensors"),
                  "--steps", "164") == 0
    assert "regression of 1 target" in capsys.readouterr().out


def test_train_regresses_several_targets_of_an_npz(tmp_path, capsys):
    from steepest.store import RunStore

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = np.stack([x[:, 0] + x[:, 1], 2.5 * x[:, 2] - 1.0], axis=1) + 0.05 * rng.normal(
        size=(300, 2))
    np.savez(tmp_path / "two.npz", x=x, y=y)
    assert _train(tmp_path, "--data", str(tmp_path / "two.npz"), "--task", "regression",
                  "--epochs", "30", "--width", "32", "--no-checkpoint") == 0
    assert "regression of 2 targets" in capsys.readouterr().out
    assert RunStore(tmp_path / "runs.db").run(1).results["test_r2"] > 0.95


@pytest.mark.parametrize("args, message", [
    (["--task", "classification"], "line 2: the label (last column) must be an integer (a "
                                   "class; for real-valued targets use task regression)"),
    (["--task", "regresion"], "argument --task: expected one of auto, classification, "
                              "regression, got 'regresion'"),
    (["--tta", "identity"], "--tta averages class probabilities over views: it is for "
                            "classification"),
    (["--augment", "mixup"], "mixup needs num_classes"),
])
def test_regression_mistakes_get_one_line_and_exit_2(tmp_path, capsys, args, message):
    csv = _houses(tmp_path / "houses.csv", n=20)
    assert _train(tmp_path, "--data", str(csv), "--steps", "2", *args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
