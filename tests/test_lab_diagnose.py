"""The lab's diagnostic studies show what the lectures say: vanishing gradients, initialisation
collapsing or saturating activations, the LR range test, and the loss landscape; and
`steepest diagnose` writes its figures, report and run."""

from __future__ import annotations

import json
import math
import shlex
import sqlite3
import subprocess
import sys
import warnings

import numpy as np
import pytest

import steepest as st
from steepest import nn
from steepest.cli import main
from steepest.data import load_mnist1d
from steepest.lab import (
    deep_mlp,
    gradient_flow,
    init_statistics,
    landscape_2d,
    linear_interpolation,
    lr_range_test,
    lr_sweep,
    plot_gradient_flow,
    train_and_record,
)
from steepest.lab._common import evaluate, snapshot
from steepest.lab.init_study import plot_init_histograms, plot_init_statistics
from steepest.lab.landscape import filter_normalised_direction
from steepest.train import TrainingDiverged


def _blobs(n=600, features=10, classes=4, seed=0, spread=1.5):
    """Gaussian blobs: an easy classification task, learnt in a few hundred steps (with
    overlapping classes for a small `spread`)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, features)) * spread
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.normal(size=(n, features))).astype(np.float32)
    return x, y.astype(np.int64)


def _small_mlp(rng):
    return nn.Sequential(nn.Linear(10, 32, generator=rng), nn.ReLU(),
                         nn.Linear(32, 4, generator=rng))


# ---------------------------------------------------------------------------- gradient flow
def test_sigmoid_gradients_vanish_relu_he_gradients_flow():
    data = _blobs(256)
    result = gradient_flow(("sigmoid", "relu"), depth=10, width=32, data=data, batch_size=64)
    assert result.inits == {"sigmoid": "xavier", "relu": "he"}
    assert result.history["sigmoid"].shape == (1, 10)
    sigmoid, relu = result.ratio["sigmoid"], result.ratio["relu"]
    assert sigmoid < 1e-3                      # orders of magnitude below the last layer
    assert 0.05 < relu < 20                    # roughly flat
    assert sigmoid < 1e-2 * relu
    # Sigmoid's norms fall layer after layer towards the input.
    assert np.all(np.diff(result.norms["sigmoid"]) > 0)
    assert result.table()[0]["first/last"] == pytest.approx(sigmoid)


def test_gradient_flow_over_training_records_every_k_steps():
    result = gradient_flow(("tanh",), depth=4, width=16, data=_blobs(200), batch_size=50,
                           train_steps=20, record_every=5, lr=1e-2, seed=1)
    assert result.steps.tolist() == [0, 5, 10, 15, 20]
    assert result.history["tanh"].shape == (5, 4)
    assert result.losses["tanh"].shape == (21,)
    assert result.losses["tanh"][-5:].mean() < result.losses["tanh"][:5].mean()


def test_a_diverging_training_stops_recording_quietly_and_says_where():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings on the way
        result = gradient_flow(("tanh", "relu"), depth=4, width=16, data=_blobs(200),
                               batch_size=50, train_steps=20, record_every=5, lr=1000.0,
                               optimizer="sgd")
    assert result.diverged["tanh"] is None
    step = result.diverged["relu"]
    assert step is not None and 0 < step <= 20
    losses = result.losses["relu"]
    assert np.isfinite(losses[:step]).all() and np.isnan(losses[step:]).all()
    recorded = result.steps < step
    assert np.isfinite(result.history["relu"][recorded]).all()
    assert np.isnan(result.history["relu"][~recorded]).all()
    assert np.isfinite(result.losses["tanh"]).all()
    relu = result.table()[1]
    assert relu["first/last @ step 20"] == relu["loss @ 20"] == f"diverged at step {step}"
    assert isinstance(result.table()[0]["loss @ 20"], float)


def test_deep_mlp_initialisations_have_their_stds():
    rng = np.random.default_rng(0)
    model = deep_mlp(200, 10, depth=4, width=400, activation="relu", init="he", generator=rng)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (200, 400), (400, 400), (400, 400), (400, 10)]
    assert linears[1].weight.data.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert np.all(linears[1].bias.data == 0)
    tanh = deep_mlp(200, 10, depth=3, width=400, activation="tanh", init="auto", generator=rng)
    assert tanh[2].weight.data.std() == pytest.approx(math.sqrt(2 / 800), rel=0.02)
    small = deep_mlp(200, 10, depth=2, width=400, activation="tanh", init="too-small",
                     generator=rng)
    assert small[0].weight.data.std() == pytest.approx(0.01, rel=0.02)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        deep_mlp(2, 2, activation="swish")
    with pytest.raises(ValueError, match="unknown init 'big'"):
        deep_mlp(2, 2, init="big")


# ---------------------------------------------------------------------------- initialisation
def test_init_statistics_collapse_saturate_and_stay_spread():
    result = init_statistics(depth=8, width=128, n=200, seed=0)
    for act in ("tanh", "relu"):
        std = result.std[("too-small", act)]
        assert np.all(np.diff(std) < 0)                 # shrinks layer after layer
        assert std[-1] < 1e-3 * std[0]
    assert np.all(result.saturated[("too-large", "tanh")] > 0.5)
    assert result.saturated[("xavier", "tanh")][-1] < 0.05
    he_relu = result.std[("he", "relu")]
    assert 1 / 3 < he_relu[-1] / he_relu[0] < 3
    # About half of ReLU's outputs are zero for any one input: normal sparsity, kept apart from
    # the dead units (never active over the batch), which are far fewer.
    assert 0.4 < result.zeros[("he", "relu")].mean() < 0.6
    assert result.saturated[("he", "relu")].max() < 0.2
    assert np.isnan(result.zeros[("he", "tanh")]).all()
    assert result.samples[("he", "tanh")].shape == (8, 20_000)
    verdicts = {(row["init"], row["activation"]): row["verdict"] for row in result.table()}
    assert verdicts[("too-small", "tanh")] == "collapse to 0"
    assert verdicts[("too-large", "tanh")] == "saturate"
    assert verdicts[("too-large", "relu")] == "explode"
    assert verdicts[("he", "relu")] == "well spread"


def test_dead_units_are_units_never_active_over_the_batch():
    from steepest.lab.init_study import dead_units, saturation

    outputs = np.array([[0.0, 1.0, 0.0, 0.0],
                        [0.0, 0.0, 2.0, 0.0],
                        [0.0, 3.0, 0.0, 0.0]])       # 2/3 of the outputs are 0, 2 units dead
    assert dead_units(outputs) == 0.5
    assert saturation("relu", outputs) == 0.5
    assert saturation("leaky_relu", np.array([[-0.01, 1.0], [-0.02, -0.03]])) == 0.5
    assert dead_units(np.zeros((5, 3, 2))) == 1.0     # conv outputs: each (channel, position)


def test_relus_dead_units_and_sigmoid_collapses_towards_a_half():
    result = init_statistics(("too-small", "he"), ("sigmoid", "relu"), depth=6, width=128,
                             n=200)
    rows = {(row["init"], row["activation"]): row for row in result.table()}
    relu, sigmoid = rows[("he", "relu")], rows[("he", "sigmoid")]
    assert relu["dead units L6"] == pytest.approx(result.saturated[("he", "relu")][-1])
    assert relu["saturated L6"] == "-" and sigmoid["dead units L6"] == "-"
    assert sigmoid["saturated L6"] == pytest.approx(result.saturated[("he", "sigmoid")][-1])
    # Too-small weights leave sigmoid's outputs at σ(0) = 1/2, not at 0.
    assert abs(result.mean[("too-small", "sigmoid")][-1] - 0.5) < 0.01
    assert rows[("too-small", "sigmoid")]["verdict"] == "collapse towards 0.5"
    assert rows[("too-small", "relu")]["verdict"] == "collapse to 0"
    only_relu = init_statistics(("he",), ("relu",), depth=3, width=16, n=20)
    assert "saturated L3" not in only_relu.table()[0]
    figure = plot_init_statistics(result)
    (legend,) = figure.legends
    entries = {text.get_text(): handle for text, handle in
               zip(legend.get_texts(), legend.legend_handles, strict=True)}
    assert set(entries) == {f"{i}, {a}" for i in ("too-small", "he") for a in ("sigmoid", "relu")}
    # One activation, one line style and marker: the entries can be told apart without colour.
    looks = {name.split(", ")[1]: (h.get_linestyle(), h.get_marker()) for name, h in
             entries.items()}
    assert looks["sigmoid"] != looks["relu"]
    assert "dead units: never active" in figure.axes[1].get_title()


def test_init_histograms_give_each_relu_layer_its_own_range(tmp_path):
    result = init_statistics(("too-large",), ("relu", "tanh"), depth=6, width=64, n=100)
    figure = plot_init_histograms(result, tmp_path / "h.png")
    relu = [ax for ax in figure.axes if ax.get_subplotspec().rowspan.start == 0]
    highs = [ax.get_xlim()[1] for ax in relu]
    assert all(b > 3 * a for a, b in zip(highs, highs[1:], strict=False))   # explodes, visibly
    assert [ax.get_xlim() for ax in figure.axes[len(relu):]] == [(-1.0, 1.0)] * len(relu)
    ticks = [label.get_fontsize() for ax in figure.axes for label in ax.get_xticklabels()]
    assert min(ticks) >= 8                                      # readable


def test_init_statistics_on_your_own_model():
    from steepest.lab.init_study import dead_units

    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 5))
    result = init_statistics(model=model, n=300, seed=1)
    assert result.layer_names == ["1", "3"] and result.activations == ("mixed",)
    x = np.random.default_rng([1, 0]).standard_normal((300, 20)).astype(np.float32)
    hidden = model[1](model[0](st.tensor(x))).data
    key = ("Sequential", "mixed")
    assert result.std[key][0] == pytest.approx(hidden.std(), rel=1e-6)
    assert result.saturated[key][0] == dead_units(hidden)
    assert model[1].forward.__func__ is nn.ReLU.forward        # its modules are left as they were
    conv = nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match="pass x="):
        init_statistics(model=conv)
    only_relu = init_statistics(model=conv, x=np.ones((8, 1, 10), np.float32), label="conv")
    assert only_relu.pairs == [("conv", "relu")] and only_relu.samples[("conv", "relu")].shape[1]
    with pytest.raises(ValueError, match="no activation module"):
        init_statistics(model=nn.Linear(3, 2))


# ---------------------------------------------------------------------------- learning rate
def test_lr_range_suggestion_lies_between_barely_moving_and_diverging():
    data = _blobs()
    result = lr_range_test(_small_mlp, data, start_lr=1e-5, end_lr=100.0, steps=100,
                           batch_size=32, optimizer="sgd", seed=0)
    assert result.diverged_at is not None and result.moving_at is not None
    assert result.moving_at <= result.suggestion < result.diverged_at
    assert len(result.lrs) < 100                              # stopped at the divergence
    assert result.lrs[0] == pytest.approx(1e-5)
    ratios = result.lrs[1:] / result.lrs[:-1]
    assert np.allclose(ratios, (100 / 1e-5) ** (1 / 99))     # exponential schedule
    # Fixed-rate runs confirm it: far below it barely moves, at it learns, beyond it diverges.
    sweep = lr_sweep(_small_mlp, data, (result.moving_at / 100, result.suggestion,
                                        2 * result.diverged_at),
                     steps=60, batch_size=32, optimizer="sgd", seed=0)
    slow, right, fast = sweep.losses
    assert sweep.final[0] > 0.8 * slow[0]
    assert sweep.final[1] < 0.5 * right[0]
    assert sweep.diverged.tolist() == [False, False, True]
    assert sweep.verdicts == ["too small", "right", "diverged"]


def test_lr_range_checks_its_arguments():
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        lr_range_test(_small_mlp, _blobs(50), start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="unknown optimizer 'shampoo'"):
        lr_range_test(_small_mlp, _blobs(50), optimizer="shampoo", steps=5)


# ---------------------------------------------------------------------------- landscape
@pytest.fixture(scope="module")
def trained():
    # Overlapping classes: on separable data the cross-entropy keeps falling as the trained
    # weights are scaled up, so the line's minimum would lie beyond alpha = 1.
    data = _blobs(spread=0.7)
    model = _small_mlp(np.random.default_rng(3))
    record = train_and_record(model, data, 300, lr=1e-2, batch_size=32, record_every=30)
    return model, record, data


def test_train_and_record_snapshots_the_path(trained):
    model, record, _ = trained
    assert record.steps == list(range(0, 301, 30))
    assert len(record.states) == 11 and record.losses.shape == (301,)
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in record.final.items())
    assert not np.array_equal(record.initial["0.weight"], record.final["0.weight"])


def test_linear_interpolation_is_lowest_near_the_trained_weights(trained):
    model, record, data = trained
    before = snapshot(model)
    line = linear_interpolation(model, record.initial, record.final, data)
    assert line.alphas[0] == -0.5 and line.alphas[-1] == 1.5 and len(line.alphas) == 41
    assert 0.9 <= line.min_alpha <= 1.2
    assert line.losses[line.alphas == 0.0][0] > 1.5 * line.losses[line.alphas == 1.0][0]
    assert line.losses[line.alphas == 1.5][0] > line.losses[line.alphas == 1.0][0]
    assert line.accuracies[line.alphas == 1.0][0] > 0.75
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
    rows = line.table()
    lowest = [row for row in rows if row["note"] == "lowest loss"]
    assert len(lowest) == 1 and lowest[0]["alpha"] == line.min_alpha
    assert [row["alpha"] for row in rows] == sorted(row["alpha"] for row in rows)


def test_landscape_2d_is_lowest_near_the_centre(trained):
    model, record, data = trained
    before = snapshot(model)
    result = landscape_2d(model, record.final, data, resolution=11, span=1.0,
                          path=record.states, seed=0)
    assert result.losses.shape == (11, 11)
    assert result.alphas[5] == 0 and result.betas[5] == 0
    assert result.center_loss == pytest.approx(result.losses[5, 5], rel=1e-5)
    i, j = np.unravel_index(np.argmin(result.losses), result.losses.shape)
    assert abs(i - 5) <= 1 and abs(j - 5) <= 1
    assert result.centre_is_lowest == (i == 5 and j == 5)
    assert not result.path_visible or np.ptp(result.path, axis=0).max() >= 0.04
    corners = result.losses[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.min() > 2 * result.center_loss
    assert result.path.shape == (11, 2)
    assert np.allclose(result.path[-1], 0)        # the last state is the centre
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())

    pca = landscape_2d(model, record.final, data, directions="pca", resolution=5,
                       path=record.states)
    assert sum(pca.explained) > 0.8
    assert np.mean(pca.path_residual[:-1]) < 0.5  # the path lies mostly in its own plane
    assert np.abs(pca.path[:, 0]).max() * 1.25 == pytest.approx(pca.alphas.max())
    with pytest.raises(ValueError, match="unknown directions 'sideways'"):
        landscape_2d(model, record.final, data, directions="sideways")


def test_landscape_accuracy_at_the_centre_is_measured_at_the_centre(trained):
    model, record, data = trained
    result = landscape_2d(model, record.final, data, resolution=4, span=3.0)
    assert 0.0 not in result.alphas  # an even resolution has no grid point at the centre
    model.load_state_dict(record.final)
    loss, accuracy = evaluate(model, *data, 2000)
    assert result.center_loss == pytest.approx(loss)
    assert result.center_accuracy == pytest.approx(accuracy)
    rows = {row["quantity"]: row["value"] for row in result.table()}
    assert rows["accuracy at the centre"] == pytest.approx(accuracy)


def test_a_diverged_training_is_stopped_and_the_landscape_refuses_non_finite_weights():
    data = _blobs(300)
    model = _small_mlp(np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TrainingDiverged, match=r"training diverged at step \d+ \(loss "
                                                    r"nan\) with sgd at lr 1000: lower lr"):
            train_and_record(model, data, 20, lr=1000.0, optimizer="sgd")
    good = train_and_record(_small_mlp(np.random.default_rng(0)), data, 10, lr=0.01)
    broken = dict(good.final, **{"0.weight": np.full_like(good.final["0.weight"], np.nan)})
    with pytest.raises(ValueError, match="center_state has non-finite values in '0.weight'"):
        landscape_2d(model, broken, data, resolution=3)
    with pytest.raises(ValueError, match="path state 1 has non-finite values in '0.weight'"):
        landscape_2d(model, good.final, data, resolution=3, path=[good.initial, broken])


def test_filter_normalised_direction_matches_each_filter_norm():
    rng = np.random.default_rng(0)
    weights = {"w": rng.normal(size=(5, 3, 2)) * np.arange(1, 6)[:, None, None],
               "b": np.ones(5)}
    direction = filter_normalised_direction(weights, np.random.default_rng(1))
    assert np.allclose(np.linalg.norm(direction["w"].reshape(5, -1), axis=1),
                       np.linalg.norm(weights["w"].reshape(5, -1), axis=1))
    assert np.all(direction["b"] == 0)


# ---------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    x, y = _blobs(300)
    path = tmp_path_factory.mktemp("data") / "blobs.npz"
    np.savez(path, x=x[:240], y=y[:240], x_test=x[240:], y_test=y[240:])
    return str(path)


def _runs(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, status, results, command FROM runs").fetchall()


@pytest.mark.parametrize("argv, files", [
    (["init", "--depth", "4", "--width", "32", "--samples", "50", "--inits", "too-small,he"],
     ["init_histograms.png", "init_statistics.png"]),
    (["gradients", "--depth", "4", "--width", "8", "--steps", "3", "--activations",
      "sigmoid,relu", "--batch-size", "32"],
     ["gradient_flow.png", "gradient_flow_training.png"]),
    (["lr-range", "--steps", "20", "--sweep-steps", "5", "--width", "8", "--depth", "2"],
     ["lr_range.png", "lr_sweep.png"]),
    (["landscape", "--steps", "20", "--resolution", "3", "--width", "8", "--depth", "2",
      "--samples", "100"],
     ["landscape_1d.png", "landscape_2d.png", "landscape_2d_pca.png"]),
])
def test_cli_diagnose_writes_figures_report_and_run(argv, files, tmp_path, npz, capsys):
    out, db = tmp_path / "out", tmp_path / "runs.db"
    study = argv[0]
    extra = [] if study == "init" else ["--data", npz]
    assert main(["diagnose", *argv, *extra, "--out", str(out), "--db", str(db)]) == 0
    stdout = capsys.readouterr().out
    for name in [*files, "report.html"]:
        assert (out / name).is_file(), name
        assert f"wrote {out / name}" in stdout
    assert "|---" in stdout                                     # the Markdown table
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(files)
    assert f"steepest diagnose {study} " in page
    [(kind, status, results, command)] = _runs(db)
    assert (kind, status) == (f"diagnose-{study}", "finished")
    assert command.startswith(f"steepest diagnose {study} ")
    assert "[" not in command and "'" not in command        # lists spelled as a,b
    if study == "gradients":
        assert "--activations sigmoid,relu --depth 4 --width 8 --init auto --steps 3 " \
               "--lr 0.001 --optimizer adam --batch-size 32 --seed 0 --data " in command
    assert json.loads(results)["seconds"] >= 0


def test_cli_landscape_of_a_diverging_training_is_one_line(tmp_path, npz, capsys):
    db = tmp_path / "runs.db"
    argv = ["diagnose", "landscape", "--optimizer", "sgd", "--lr", "1000", "--steps", "20",
            "--resolution", "3", "--width", "8", "--depth", "2", "--data", npz, "--out",
            str(tmp_path / "out"), "--db", str(db)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "training diverged at step" in err and "--lr 1000: lower --lr" in err
    [(kind, status, _, _)] = _runs(db)
    assert (kind, status) == ("diagnose-landscape", "diverged")


def test_cli_diagnose_records_the_cause_of_a_failed_study(tmp_path, monkeypatch, capsys):
    import steepest.cli.diagnose as diagnose

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(diagnose, "_init", broken)
    db = tmp_path / "runs.db"
    assert main(["diagnose", "init", "--out", str(tmp_path / "out"), "--db", str(db)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    [(kind, status, results, _)] = _runs(db)
    assert (kind, status) == ("diagnose-init", "failed")
    assert json.loads(results) == {"error": "OSError: [Errno 28] No space left on device"}


def test_cli_records_a_command_that_reruns_full(tmp_path, npz, capsys):
    from steepest.cli import build_parser
    from steepest.cli.diagnose import _resolve

    argv = ["diagnose", "landscape", "--full", "--steps", "10", "--resolution", "3", "--width",
            "8", "--depth", "2", "--data", npz, "--out", str(tmp_path / "out"), "--db",
            str(tmp_path / "runs.db")]
    assert main(argv) == 0
    [(_, _, _, command)] = _runs(tmp_path / "runs.db")
    assert "--full" in command.split()
    again = build_parser().parse_args(shlex.split(command)[1:])
    assert _resolve(again) == _resolve(build_parser().parse_args(argv))
    assert _resolve(again)["samples"] is None  # all of them, as --full says


def test_cli_gradients_text_names_the_activations_that_ran(tmp_path, npz, capsys):
    from steepest.cli.diagnose import _vanishing_text

    out = tmp_path / "out"
    assert main(["diagnose", "gradients", "--activations", "relu,tanh", "--depth", "4",
                 "--width", "8", "--steps", "0", "--data", npz, "--out", str(out), "--db",
                 str(tmp_path / "runs.db")]) == 0
    page = (out / "report.html").read_text()
    assert "sigmoid" not in page.lower() and "σ′" not in page
    text = _vanishing_text({"relu": 0.12, "tanh": 0.9})
    assert "smallest ratio is `relu`'s" in text and "**0.12×**" in text and "`tanh`" in text
    assert "sigmoid" not in text
    text = _vanishing_text({"sigmoid": 1e-5, "relu": 0.5})
    assert "σ′ ≤ 1/4, so with `sigmoid` the first layer gets **1e-05×**" in text
    assert "(the smallest ratio)" in text and "`relu`'s: **0.5×**" in text


def test_cli_gradients_reports_a_diverged_training(tmp_path, npz, capsys):
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["diagnose", "gradients", "--activations", "tanh,relu", "--depth", "4",
                     "--width", "16", "--steps", "20", "--optimizer", "sgd", "--lr", "1000",
                     "--data", npz, "--out", str(out), "--db", str(tmp_path / "runs.db")]) == 0
    stdout = capsys.readouterr().out
    assert "training diverged at step" in stdout and "(relu)" in stdout
    assert "| diverged at step" in stdout
    assert "Training diverged" in (out / "report.html").read_text()
    [(_, status, results, _)] = _runs(tmp_path / "runs.db")
    assert status == "finished" and "diverged_at/relu" in json.loads(results)


@pytest.mark.parametrize("argv, message", [
    (["diagnose"], "diagnose needs a study"),
    (["diagnose", "gradients", "--activations", "sigmoid,swish"],
     "--activations: unknown name 'swish'; choose from sigmoid, tanh"),
    (["diagnose", "gradients", "--optimizer", "shampoo"], "--optimizer: unknown name 'shampoo'"),
    (["diagnose", "init", "--inits", "huge"], "--inits: unknown name 'huge'"),
    (["diagnose", "lr-range", "--start-lr", "1", "--end-lr", "0.1"],
     "--start-lr (1) must be below --end-lr (0.1)"),
    (["diagnose", "landscape", "--data", "nonsense"], "--data: unknown dataset 'nonsense'"),
])
def test_cli_diagnose_bad_options_give_one_line_and_status_2(argv, message, tmp_path, capsys):
    db = ["--db", str(tmp_path / "runs.db")] if len(argv) > 1 else []
    assert main([*argv, "--out", str(tmp_path / "o"), *db] if len(argv) > 1 else argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("argv", [
    ["diagnose", "gradients", "--depth", "0"],
    ["diagnose", "init", "--width", "many"],
    ["diagnose", "sideways"],
])
def test_cli_diagnose_bad_values_are_argparse_errors(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as done:  # argparse's own exit, if main lets it through
        status = done.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("steepest diagnose")


def test_cli_lists_the_lab_optimizers():
    from steepest.cli.diagnose import OPTIMIZER_NAMES
    from steepest.optim.registry import OPTIMIZERS  # what the lab's studies accept

    assert OPTIMIZER_NAMES == tuple(OPTIMIZERS)


def test_importing_the_lab_stays_light():
    code = ("import sys, steepest.lab as lab; lab.Report; "
            "print('matplotlib' in sys.modules, 'steepest.lab.landscape' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]


def test_gradient_flow_on_your_own_models_leaves_their_weights_alone():
    from steepest import models

    data = load_mnist1d()
    st.manual_seed(0)
    cnn = models.mnist1d_cnn()
    mlp = models.mlp(40, 10)
    before = snapshot(cnn)
    result = gradient_flow(data=(data.x[:400], data.y[:400]), train_steps=20, batch_size=50,
                           model={"cnn": cnn, "mlp": mlp})
    assert result.activations == ("cnn", "mlp")
    assert result.layer_names["cnn"] == [n for n, p in cnn.named_parameters() if p.data.ndim > 1]
    assert result.history["cnn"].shape == (len(result.steps), len(result.layer_names["cnn"]))
    assert result.history["mlp"].shape[1] == 3 and result.depth == max(
        len(names) for names in result.layer_names.values())
    # The norms at step 0 are the gradients of the loss on the first mini-batch.
    import steepest.nn.functional as F
    from steepest.lab._common import batches

    first = next(batches(400, 50, np.random.default_rng([0, 2])))
    cnn.zero_grad()
    F.cross_entropy(cnn(st.tensor(data.x[:400][first])), data.y[:400][first]).backward()
    expected = [np.linalg.norm(p.grad) for n, p in cnn.named_parameters() if p.data.ndim > 1]
    np.testing.assert_allclose(result.history["cnn"][0], expected, rtol=1e-5)
    for key, value in snapshot(cnn).items():            # trained for 20 steps, then restored
        np.testing.assert_array_equal(value, before[key])
    assert plot_gradient_flow(result).axes[0].get_legend() is not None
    with pytest.raises(TypeError, match="must be an nn.Module"):
        gradient_flow(model={"x": 3})


def test_batch_norm_keeps_sigmoid_gradients_from_vanishing():
    result = gradient_flow(("sigmoid", "sigmoid+bn"), depth=8, width=32, init="default",
                           data=_blobs())
    assert result.ratio["sigmoid"] < 1e-4 < 0.05 < result.ratio["sigmoid+bn"]
    with pytest.raises(ValueError, match="unknown activation 'sigmod'.*did you mean 'sigmoid'"):
        gradient_flow(("sigmod",))


def test_landscape_figure_lists_what_it_draws_and_marks_the_lowest_point(trained, tmp_path):
    from steepest.lab import plot_landscape_2d

    model, record, data = trained
    random = landscape_2d(model, record.final, data, resolution=11, span=1.0,
                          path=record.states, seed=0)
    pca = landscape_2d(model, record.final, data, directions="pca", resolution=11,
                       path=record.states, seed=0)
    for result in (random, pca):
        figure = plot_landscape_2d(result, tmp_path / "slice.png")
        (ax,) = [a for a in figure.axes if a.get_legend() is not None]
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        drawn = [line.get_label() for line in ax.lines]
        assert labels == drawn                               # every entry is on the picture
        assert ("training path (projected)" in labels) == result.path_visible
        assert any(label.startswith("lowest on the slice") for label in labels) == \
            (not result.centre_is_lowest)
        if not result.path_visible:
            assert "the path projects to a dot" in ax.get_title()
    assert pca.path_visible
