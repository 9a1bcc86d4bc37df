"""`steepest.lab.compare` and `steepest compare`: optimizers at learning rates chosen on a
validation split (checked against the runs the store recorded), mean ± std bands, steps to a
target loss, the batch-size trade-off, the regularisation gap, and the command's report."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

import steepest
from steepest import nn
from steepest.cli import main
from steepest.lab.compare import (
    DEFAULT_LR,
    REGULARISERS,
    compare_batch_sizes,
    compare_optimizers,
    default_lr_grid,
    plot_compare,
    regularisation_study,
    smooth_losses,
    steps_to_target,
)
from steepest.store import RunStore


def _blobs(n=600, features=10, classes=4, seed=0, spread=1.2):
    """Gaussian blobs with overlapping classes, split 80/20 into (x, y, x_test, y_test)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, features)) * spread
    y = rng.integers(0, classes, n).astype(np.int64)
    x = (centres[y] + rng.normal(size=(n, features))).astype(np.float32)
    cut = int(0.8 * n)
    return x[:cut], y[:cut], x[cut:], y[cut:]


DATA = _blobs()


# ---------------------------------------------------------------------------- optimizers
@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("compare") / "runs.db")
    result = compare_optimizers(("sgd", "adam", "momentum"), data=DATA, seeds=(0, 1),
                                lrs={"momentum": 0.05}, epochs=3, batch_size=64,
                                model_options={"width": 32}, store=store, command="test")
    return result, store


def test_the_chosen_rate_is_the_grid_rate_with_the_best_validation_accuracy(compared):
    result, store = compared
    records = {record.id: record for record in store.runs(kind="compare")}
    for name in ("sgd", "adam"):
        assert result.lr_grid[name] == default_lr_grid(name)
        grid = result.grid[name]
        assert [run.lr for run in grid] == list(default_lr_grid(name))
        # Read back what the store recorded for each grid run: the last epoch's validation
        # accuracy and loss; the best accuracy (ties: lower loss) must be the chosen rate.
        scores = {}
        for run in grid:
            record = records[run.run_id]
            assert record.config["stage"] == "grid" and record.config["optimizer"] == name
            assert record.name == f"compare {name} lr={run.lr:g} seed=0"
            metrics = store.metrics(run.run_id)
            scores[record.config["lr"]] = (metrics["val_accuracy"][1][-1],
                                           -metrics["val_loss"][1][-1])
        assert len(set(scores.values())) > 1  # the grid's rates differ: the choice matters
        assert result.chosen_lr[name] == max(scores, key=scores.get)
        # Seed 0 at the chosen rate is the grid's run; seed 1 ran at the chosen rate.
        assert result.runs[name][0] is next(r for r in grid if r.lr == result.chosen_lr[name])
        assert result.runs[name][1].lr == result.chosen_lr[name]
        assert result.runs[name][1].seed == 1
    assert result.grid["momentum"] == [] and result.chosen_lr["momentum"] == 0.05


def test_the_store_holds_every_run_grid_runs_marked(compared):
    result, store = compared
    records = store.runs(kind="compare")
    # sgd, adam: 3 grid runs + seed 1; momentum (rate given): seeds 0 and 1.
    assert len(records) == 2 * (3 + 1) + 2
    stages = sorted((r.config["optimizer"], r.config["stage"]) for r in records)
    assert stages.count(("sgd", "grid")) == 3 and stages.count(("adam", "seeds")) == 1
    assert stages.count(("momentum", "seeds")) == 2
    assert all(r.status == "finished" and r.command == "test" for r in records)
    ids = {run.run_id for runs in result.runs.values() for run in runs}
    ids |= {run.run_id for runs in result.grid.values() for run in runs}
    assert ids == {r.id for r in records}


def test_bands_are_the_mean_and_sample_std_over_the_seeds(compared):
    result, _ = compared
    steps_per_epoch = -(-int(round(len(DATA[0]) * 0.8)) // 64)
    for name in result.optimizers:
        runs = result.runs[name]
        x, mean, std = result.band(name, "val_loss")
        assert x.tolist() == [1, 2, 3] and mean.shape == std.shape == (3,)
        stacked = np.stack([run.val_loss for run in runs])
        np.testing.assert_allclose(mean, np.mean(stacked, axis=0), rtol=1e-12)
        np.testing.assert_allclose(std, np.std(stacked, axis=0, ddof=1), rtol=1e-12)
        x, mean, std = result.band(name, "val_accuracy")
        np.testing.assert_allclose(mean, np.mean([r.val_accuracy for r in runs], axis=0),
                                   rtol=1e-12)
        x, mean, std = result.band(name, "step_loss")
        assert x.shape == mean.shape == (3 * steps_per_epoch,)
        np.testing.assert_allclose(std, np.std([r.step_loss for r in runs], axis=0, ddof=1),
                                   rtol=1e-12)
        summary = result.summary()[name]
        assert summary["test_accuracy"] == pytest.approx(
            (np.mean([r.final_test_accuracy for r in runs]),
             np.std([r.final_test_accuracy for r in runs], ddof=1)))
        test_accuracy = [r.final_test_accuracy for r in runs]
        assert next(row for row in result.table() if row["optimizer"] == name)["test acc"] \
            == f"{np.mean(test_accuracy):.3f} ± {np.std(test_accuracy, ddof=1):.3f}"
    rows = result.table()
    assert [row["optimizer"] for row in rows] == ["sgd", "adam", "momentum"]
    assert all(" ± " in row["test acc"] for row in rows)


def test_the_target_is_the_highest_final_smoothed_loss_and_every_run_reaches_it(compared):
    result, _ = compared
    finals = [smooth_losses(r.step_loss, result.smoothing)[-1]
              for runs in result.runs.values() for r in runs]
    assert result.target_loss == pytest.approx(max(finals))
    for name in result.optimizers:
        counts = result.steps_to_target(name)
        assert all(c is not None and 1 <= c <= len(r.step_loss)
                   for c, r in zip(counts, result.runs[name], strict=True))


def test_steps_to_target_on_a_hand_made_curve():
    losses = [4.0, 2.0, 1.0, 0.5, 0.25]
    # No smoothing: the third step is the first at or below 1.
    assert steps_to_target(losses, 1.0, smoothing=1.0) == 3
    assert steps_to_target(losses, 0.1, smoothing=1.0) is None
    # smoothing 0.5, bias-corrected: 4, 2/0.75, 1.5/0.875, 1/0.9375, 0.625/0.96875.
    expected = [4.0, 2 / 0.75, 1.5 / 0.875, 1.0 / 0.9375, 0.625 / 0.96875]
    np.testing.assert_allclose(smooth_losses(losses, 0.5), expected)
    assert steps_to_target(losses, 1.1, smoothing=0.5) == 4
    assert steps_to_target(losses, 0.7, smoothing=0.5) == 5
    # A NaN ends the curve: nothing after it counts.
    assert steps_to_target([3.0, float("nan"), 0.1], 1.0, smoothing=1.0) is None


def test_default_grids_are_rungs_of_the_one_three_ladder():
    assert default_lr_grid("sgd") == (0.3, 1.0, 3.0)
    assert default_lr_grid("adam") == (0.003, 0.01, 0.03)
    assert default_lr_grid("momentum", 5) == (0.01, 0.03, 0.1, 0.3, 1.0)
    assert default_lr_grid("adam", 4) == (0.003, 0.01, 0.03, 0.1)
    with pytest.raises(ValueError, match="unknown optimizer 'shampoo'"):
        default_lr_grid("shampoo")


def test_a_diverged_grid_run_is_recorded_and_never_chosen(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    result = compare_optimizers("sgd", data=DATA, seeds=(0,), lr_grid=(0.1, 1e6), epochs=2,
                                model_options={"width": 16}, store=store)
    good, blown = result.grid["sgd"]
    assert blown.diverged and not good.diverged and result.chosen_lr["sgd"] == 0.1
    assert np.isnan(blown.val_accuracy).all() and np.isfinite(good.val_accuracy).all()
    assert {r.name: r.status for r in store.runs(kind="compare")} == {
        "compare sgd lr=0.1 seed=0": "finished", "compare sgd lr=1e+06 seed=0": "diverged"}
    assert result.grid_table()[1]["val acc"] == "diverged"


def test_seeds_that_diverge_at_different_steps_still_make_bands_and_a_figure():
    # Plain SGD at rate 100: seed 0 diverges in its 5th step, seeds 1 and 2 run to the end,
    # so the step-loss curves have different lengths.
    result = compare_optimizers("sgd", data=DATA, seeds=(0, 1, 2), lrs={"sgd": 100.0},
                                epochs=3, model_options={"width": 16})
    runs = result.runs["sgd"]
    lengths = [len(run.step_loss) for run in runs]
    assert len(set(lengths)) > 1
    assert any(run.diverged for run in runs) and not all(run.diverged for run in runs)
    x, mean, std = result.band("sgd", "smoothed_step_loss")
    assert x.tolist() == list(range(1, max(lengths) + 1))
    padded = np.full((len(runs), max(lengths)), np.nan)
    for row, run in zip(padded, runs, strict=True):
        row[:len(run.step_loss)] = smooth_losses(run.step_loss, result.smoothing)
    np.testing.assert_allclose(mean, np.nanmean(padded, axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, np.nanstd(padded, axis=0, ddof=1), rtol=1e-12)
    assert np.isfinite(mean).all() and np.isfinite(std).all()  # the diverged seed drops out
    # After the divergence the validation band is the seeds that finished, not NaN.
    x, mean, std = result.band("sgd", "val_loss")
    finished = [run.val_loss[-1] for run in runs if not run.diverged]
    assert mean[-1] == pytest.approx(np.mean(finished))
    assert std[-1] == pytest.approx(np.std(finished, ddof=1))
    plot_compare(result)


def test_one_seed_has_a_zero_std_and_plain_numbers():
    result = compare_optimizers("adam", data=DATA, seeds=(0,), lrs={"adam": 0.01}, epochs=2,
                                model_options={"width": 8})
    for key in ("val_loss", "smoothed_step_loss"):
        _, mean, std = result.band("adam", key)
        assert np.isfinite(mean).all() and np.all(std == 0)
    summary = result.summary()["adam"]
    assert summary["test_accuracy"][1] == 0.0 and summary["seconds"][1] == 0.0
    assert isinstance(result.table()[0]["test acc"], float)


def test_a_warm_up_pass_precedes_the_first_timed_run_and_changes_no_result(monkeypatch):
    from steepest.lab.compare import harness as module
    from steepest.random import manual_seed

    calls = []
    warm_up, train = module.warm_up, module.train_run

    def counted_warm_up(*args, **kwargs):
        calls.append("warm-up")
        return warm_up(*args, **kwargs)

    def counted_train(*args, **kwargs):
        calls.append("run")
        return train(*args, **kwargs)

    def model_fn():  # ignores the rng: draws its weights from steepest's default generator
        return nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4))

    monkeypatch.setattr(module, "warm_up", counted_warm_up)
    monkeypatch.setattr(module, "train_run", counted_train)
    options = dict(data=DATA, seeds=(0, 1), lrs={"sgd": 0.1, "adam": 0.01}, epochs=1)
    warm = compare_optimizers(("sgd", "adam"), model_options={"width": 8}, **options)
    assert calls == ["warm-up"] + ["run"] * 4
    calls.clear()
    compare_batch_sizes((None, 32), data=DATA, epochs=1, model_options={"width": 8})
    assert calls == ["warm-up", "run", "run"]
    manual_seed(5)
    warm_fn = compare_optimizers("sgd", model=model_fn, **{**options, "lrs": {"sgd": 0.1}})
    monkeypatch.setattr(module, "warm_up", lambda *args, **kwargs: None)
    cold = compare_optimizers(("sgd", "adam"), model_options={"width": 8}, **options)
    manual_seed(5)
    cold_fn = compare_optimizers("sgd", model=model_fn, **{**options, "lrs": {"sgd": 0.1}})
    for a, b in ((warm, cold), (warm_fn, cold_fn)):
        for name in a.optimizers:
            for run_a, run_b in zip(a.runs[name], b.runs[name], strict=True):
                np.testing.assert_array_equal(run_a.step_loss, run_b.step_loss)


@pytest.mark.parametrize("kwargs, message", [
    (dict(optimizers=("sgd", "shampoo")), "unknown optimizer 'shampoo'"),
    (dict(seeds=()), "at least one seed"),
    (dict(lrs={"adam": 0.1}), "lrs names 'adam'"),
    (dict(epochs=2, steps=5), "epochs or steps, not both"),
    (dict(val_fraction=0.0), "needs a validation split"),
    (dict(train_size=1), "needs at least 2 training examples, got 1"),
])
def test_compare_optimizers_checks_its_arguments(kwargs, message):
    options = dict(optimizers=("sgd",), data=DATA, epochs=1)
    options.update(kwargs)
    with pytest.raises(ValueError, match=message):
        compare_optimizers(options.pop("optimizers"), **options)


# ---------------------------------------------------------------------------- batch sizes
def test_batch_sizes_full_batch_one_step_stochastic_n_steps_and_more_progress():
    data = _blobs(300, seed=1)
    result = compare_batch_sizes((None, 1, 32), data=data, epochs=2,
                                 model_options={"width": 32})
    n = result.n_train
    assert n == 192  # 240 training examples, 20% held out for validation
    full, stochastic, mini = (result.runs[b][0] for b in (None, 1, 32))
    assert (full.steps_per_epoch, stochastic.steps_per_epoch, mini.steps_per_epoch) == \
        (1, n, -(-n // 32))
    assert len(full.step_loss) == 2 and len(stochastic.step_loss) == 2 * n
    # Same seed, same initial weights: the same loss before training.
    assert full.full_train_loss[0] == stochastic.full_train_loss[0] == mini.full_train_loss[0]
    # After one epoch, n small steps beat one exact step by far.
    assert stochastic.full_train_loss[1] < full.full_train_loss[1] - 0.3
    for run in (full, stochastic, mini):
        assert run.full_train_loss.shape == run.train_seconds.shape == (3,)
        assert run.train_seconds[0] == 0 and np.all(np.diff(run.train_seconds) > 0)
    rows = result.table()
    assert [row["batch size"] for row in rows] == ["full (192)", "1 (stochastic)", "32"]
    assert [row["steps/epoch"] for row in rows] == [1, n, 6]
    assert result.lrs == {None: 1.0, 1: 0.01, 32: 0.3}


# ---------------------------------------------------------------------------- regularisation
def test_regularisation_table_has_the_gap_and_no_regulariser_overfits(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    # Overlapping classes: 60 examples can be learnt by heart, but not the rule.
    data = _blobs(spread=0.6, seed=2)
    result = regularisation_study(data=data, train_size=60, epochs=40, batch_size=30,
                                  lr=1e-2, model_options={"width": 64}, store=store)
    rows = result.table()
    assert [row["method"] for row in rows] == list(REGULARISERS)
    for row in rows:
        method = row["method"]
        train = result.train_accuracy(method)[0]
        test = result.test_accuracy(method)[0]
        assert row["train acc"] == train and row["test acc"] == test
        assert row["gap"] == pytest.approx(train - test)
    assert rows[0]["train acc"] == 1.0  # "none" memorises the 60 examples...
    assert rows[0]["test acc"] < 0.8   # ...and does far worse on new ones
    records = store.runs(kind="compare")
    assert sorted(r.config["method"] for r in records) == sorted(REGULARISERS)
    l2 = next(r for r in records if r.config["method"] == "l2")
    assert l2.name == "compare regularisation=l2 seed=0"


def test_early_stopping_holds_out_a_split_stops_early_and_keeps_the_best_epoch():
    data = _blobs(spread=0.6, seed=2)
    result = regularisation_study(("none", "early-stopping", "cutout"), data=data,
                                  train_size=120, epochs=60, batch_size=30, lr=3e-2,
                                  patience=3, validation_split=0.25,
                                  model_options={"width": 64})
    plain, early = result.runs["none"][0], result.runs["early-stopping"][0]
    assert "patience 3 epochs on a 25% validation split" in result.descriptions["early-stopping"]
    assert plain.val_loss is None and early.val_loss is not None     # only it holds data out
    ran = int(np.sum(np.isfinite(early.val_loss)))
    assert ran < 60 and np.isnan(early.test_accuracy[ran:]).all()    # it stopped early
    best = int(np.nanargmin(early.val_loss))
    assert ran == best + 1 + 3                                       # patience 3, then stop
    # The weights of the best epoch came back: the result is that epoch's test accuracy.
    assert early.final_test_accuracy == pytest.approx(early.test_accuracy[best], abs=1e-12)
    assert result.table()[1]["test acc"] == early.final_test_accuracy
    assert len(repr(result).splitlines()) <= 12 and "runs={3 items" in repr(result)


def test_cutout_blanks_a_stretch_of_every_signal():
    from steepest.lab.compare.harness import prepare_data
    from steepest.lab.compare.regularisation import RegularisationSettings

    prepared = prepare_data(None, 0.0, 64, 0, "test")
    cutout = REGULARISERS["cutout"].augment(RegularisationSettings(cutout_size=10), prepared)
    x, _ = cutout(prepared.x, prepared.y, np.random.default_rng(0))
    blanked = (x == 0) & (prepared.x != 0)
    assert blanked.any(axis=1).all() and blanked.sum(axis=1).max() <= 10
    assert np.array_equal(x[~blanked], prepared.x[~blanked])


def test_dropconnect_wraps_every_hidden_linear_layer_but_not_the_output():
    from steepest.lab.compare.regularisation import RegularisationSettings
    from steepest.models import mlp

    wrap = REGULARISERS["dropconnect"].wrap_model(RegularisationSettings(drop_connect=0.3))
    model = wrap(mlp(10, 4, depth=2, width=8), np.random.default_rng(0))
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Flatten", "DropConnect", "ReLU", "DropConnect", "ReLU", "Linear"]
    assert all(layer.p == 0.3 for layer in model if isinstance(layer, nn.DropConnect))
    assert list(model.state_dict())[:2] == ["1.linear.weight", "1.linear.bias"]


# ---------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    x, y, x_test, y_test = DATA
    path = tmp_path_factory.mktemp("data") / "blobs.npz"
    np.savez(path, x=x, y=y, x_test=x_test, y_test=y_test)
    return str(path)


def _runs(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, status, config, command FROM runs").fetchall()


@pytest.mark.parametrize("argv, figure, count", [
    (["--optimizers", "sgd,adam", "--seeds", "2", "--epochs", "2", "--width", "16"],
     "compare.png", 2 * (3 + 1)),
    (["--batch-sizes", "full,32", "--epochs", "2", "--train-size", "100"],
     "batch_sizes.png", 2),
    (["--regularisation", "none,dropout,mixup", "--epochs", "2", "--width", "16"],
     "regularisation.png", 3),
])
def test_cli_compare_writes_report_figure_and_runs(argv, figure, count, tmp_path, npz,
                                                   capsys):
    out, db = tmp_path / "out", tmp_path / "runs.db"
    assert main(["compare", *argv, "--data", npz, "--out", str(out), "--db", str(db)]) == 0
    stdout = capsys.readouterr().out
    for name in (figure, "report.html"):
        assert (out / name).is_file(), name
        assert f"wrote {out / name}" in stdout
    assert "|---" in stdout
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 1
    assert "steepest compare " in page and f"steepest {steepest.__version__}" in page
    runs = _runs(db)
    assert len(runs) == count
    assert {(kind, status) for kind, status, _, _ in runs} == {("compare", "finished")}
    command = runs[0][3]
    assert command.startswith("steepest compare ") and f"--data {npz}" in command
    assert f"{count} runs (#1-#{count}) recorded" in stdout
    assert json.loads(runs[0][2])["data"] == npz


def test_cli_compare_survives_seeds_diverging_at_different_steps(tmp_path, npz, capsys):
    out, db = tmp_path / "out", tmp_path / "runs.db"
    assert main(["compare", "--optimizers", "sgd", "--lr", "sgd=100", "--seeds", "3",
                 "--epochs", "3", "--width", "16", "--data", npz, "--out", str(out),
                 "--db", str(db)]) == 0
    stdout = capsys.readouterr().out
    assert (out / "compare.png").is_file() and (out / "report.html").is_file()
    assert "Optimizers (mean ± sample std over seeds, ddof=1)" in stdout
    assert {status for _, status, _, _ in _runs(db)} == {"finished", "diverged"}


@pytest.mark.parametrize("optimizer, lr", [("sgd", DEFAULT_LR["sgd"]), ("adam", 1e-3)])
def test_cli_regularisation_rate_defaults_per_optimizer(optimizer, lr, tmp_path, npz, capsys):
    out, db = tmp_path / "out", tmp_path / "runs.db"
    assert main(["compare", "--regularisation", "none", "--optimizers", optimizer, "--epochs",
                 "1", "--width", "8", "--data", npz, "--out", str(out), "--db", str(db)]) == 0
    stdout = capsys.readouterr().out
    assert f"learning rate: {optimizer} {lr:g} (the default for {optimizer}" in stdout
    [(_, _, config, _)] = _runs(db)
    assert json.loads(config)["lr"] == lr
    assert f"lr {lr:g}: the default for {optimizer}" in (out / "report.html").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--optimizers", "sgd,shampoo"], "--optimizers: unknown name 'shampoo'; choose from sgd"),
    (["--train-size", "1"], "--train-size must be at least 2"),
    (["--batch-sizes", "--train-size", "1"], "--train-size must be at least 2"),
    (["--lr", "adam"], "--lr adam: expected NAME=VALUE"),
    (["--lr", "rmsprop=0.1"], "'rmsprop' is not one of --optimizers"),
    (["--lr", "sgd=-1"], "the rate must be a positive number"),
    (["--batch-sizes", "full,0"], "--batch-sizes: '0' is not a batch size"),
    (["--batch-sizes", "full,1", "--optimizers", "sgd,adam"], "trains with one optimizer"),
    (["--batch-sizes", "full", "--steps", "10"], "--steps is for comparing optimizers"),
    (["--regularisation", "none,weightnoise"], "--regularisation: unknown name 'weightnoise'"),
    (["--regularisation", "--model", "cnn"], "--regularisation studies an MLP"),
    (["--data", "nonsense"], "--data: unknown dataset 'nonsense'"),
])
def test_cli_compare_bad_options_give_one_line_and_status_2(argv, message, tmp_path, capsys):
    db = tmp_path / "runs.db"
    assert main(["compare", *argv, "--out", str(tmp_path / "o"), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not db.exists() or _runs(db) == []


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "argument --seeds: expected a positive integer, got 0"),
    (["--batch-sizes", "full", "--regularisation", "none"], "not allowed with argument"),
    (["--steps", "5", "--epochs", "2"], "not allowed with argument"),
])
def test_cli_compare_bad_values_are_argparse_errors(argv, message, capsys):
    assert main(["compare", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("steepest compare") and message in err


def test_cli_lists_the_library_names():
    from steepest.cli.compare import OPTIMIZER_NAMES, REGULARISER_NAMES
    from steepest.optim.registry import OPTIMIZERS

    assert OPTIMIZER_NAMES == OPTIMIZERS
    assert REGULARISER_NAMES == tuple(REGULARISERS)


def test_batch_norm_with_a_last_batch_of_one_drops_it():
    data = _blobs(n=300)
    # 101 examples to train on: batch 100 would leave a batch of 1.
    result = regularisation_study(("batchnorm",), data=data, train_size=101, epochs=1,
                                  batch_size=100, seeds=(0,))
    assert result.runs["batchnorm"][0].final_train_accuracy > 0


# ---------------------------------------------------------------------------- failures
class _Breaks(nn.Module):
    """A model whose `calls`-th forward in training mode raises (the warm-up takes one)."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4))
        self.calls, self.count = calls, 0

    def forward(self, x):
        if self.training:
            self.count += 1
            if self.count == self.calls:
                raise FloatingPointError("the accumulator overflowed")
        return self.body(x)


def test_a_run_that_fails_stops_the_study_with_the_run_and_its_cause(tmp_path):
    from steepest.lab.compare import StudyRunError

    store = RunStore(tmp_path / "runs.db")
    with pytest.raises(StudyRunError, match=r"compare sgd lr=0.1 seed=0: FloatingPointError: "
                                            r"the accumulator overflowed \(run #1 in .*runs.db, "
                                            r"marked failed\)") as caught:
        compare_optimizers("sgd", model=lambda: _Breaks(3), data=DATA, seeds=(0,),
                           lrs={"sgd": 0.1}, epochs=1, store=store)
    assert isinstance(caught.value.__cause__, FloatingPointError)
    (record,) = store.runs(kind="compare")
    assert record.status == "failed"
    assert record.results["error"] == "FloatingPointError: the accumulator overflowed"


def test_a_model_that_cannot_take_the_warm_up_pass_is_reported_before_any_run(tmp_path):
    from steepest.lab.compare import StudyRunError

    store = RunStore(tmp_path / "runs.db")
    with pytest.raises(StudyRunError, match="the warm-up pass .* failed: FloatingPointError: the "
                                            "accumulator overflowed"):
        compare_optimizers("sgd", model=lambda: _Breaks(1), data=DATA, seeds=(0,),
                           lrs={"sgd": 0.1}, epochs=1, store=store)
    assert store.runs(kind="compare") == []


def test_cli_compare_names_a_failed_run_in_one_line(tmp_path, npz, capsys, monkeypatch):
    import steepest.models

    real = steepest.models.build_model
    # The study's models (built with a generator) break at their 4th training batch.
    monkeypatch.setattr(steepest.models, "build_model", lambda *args, generator=None, **kw: (
        _Breaks(4) if generator is not None else real(*args, **kw)))
    status = main(["compare", "--data", str(npz), "--optimizers", "sgd", "--lr", "sgd=0.1",
                   "--seeds", "1", "--epochs", "1", "--out", str(tmp_path / "out"),
                   "--db", str(tmp_path / "runs.db")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert err[-1].startswith("steepest: compare: compare sgd lr=0.1 seed=0: "
                              "FloatingPointError: the accumulator overflowed (run #1 in ")
