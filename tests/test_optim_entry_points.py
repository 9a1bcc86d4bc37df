"""Every optimizer name the specs define runs through every entry point, with nothing but its
spec: `steepest race`, `steepest train --optimizer`, `steepest compare`, and `fit` stopped
and resumed from a checkpoint bit for bit (LBFGS's closure and list state, schedule-free's
train/eval points, Muon with AdamW for the other parameters included)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

import steepest as st
from steepest import nn
from steepest.cli import main
from steepest.optim.spec import preset_names
from steepest.train import fit
from steepest.train.callbacks import LambdaCallback

NAMES = preset_names()


def _blobs(n=300, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, features)) * 1.5
    y = rng.integers(0, classes, n).astype(np.int64)
    x = (centres[y] + rng.normal(size=(n, features))).astype(np.float32)
    return x[:240], y[:240], x[240:], y[240:]


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    x, y, x_test, y_test = _blobs()
    path = tmp_path_factory.mktemp("data") / "blobs.npz"
    np.savez(path, x=x, y=y, x_test=x_test, y_test=y_test)
    return str(path)


@pytest.mark.parametrize("name", NAMES)
def test_race(name, capsys):
    assert main(["race", "--surface", "bowl", "--optimizers", name, "--steps", "12"]) == 0
    table = capsys.readouterr().out.splitlines()
    row = next(line for line in table if line.startswith(name + " "))
    assert "diverged" not in row and "nan" not in row


@pytest.mark.parametrize("name", NAMES)
def test_train(name, npz, tmp_path, capsys):
    db = tmp_path / "runs.db"
    assert main(["train", "--optimizer", name, "--data", npz, "--width", "8", "--steps", "6",
                 "--batch-size", "60", "--db", str(db), "--no-progress",
                 "--no-checkpoint"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    with sqlite3.connect(db) as connection:
        status, config = connection.execute("SELECT status, config FROM runs").fetchone()
    assert status == "finished" and json.loads(config)["optimizer"] == name


def test_compare_takes_every_name_at_once(npz, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["compare", "--optimizers", ",".join(NAMES), "--seeds", "1", "--grid-points",
                 "1", "--epochs", "1", "--width", "8", "--data", npz, "--out", str(out),
                 "--db", str(tmp_path / "runs.db")]) == 0
    stdout = capsys.readouterr().out
    assert (out / "report.html").is_file()
    for name in NAMES:
        assert f"| {name} " in stdout, name


def _mlp(seed=0):
    st.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize("name", NAMES)
def test_fit_resumes_bit_for_bit(name, tmp_path):
    x, y, x_test, y_test = _blobs()
    options = dict(optimizer=name, lr=1e-2, steps=12, batch_size=60, progress=False, log=None,
                   seed=3, validation_data=(x_test, y_test))
    whole_model = _mlp()
    whole = fit(whole_model, (x, y), **options)
    stop = LambdaCallback(on_step_end=lambda t, s, logs: setattr(t, "stop_training", s == 6))
    fit(_mlp(), (x, y), checkpoint_dir=tmp_path, checkpoint_every=1, callbacks=[stop],
        **options)
    resumed_model = _mlp(seed=99)
    resumed = fit(resumed_model, (x, y), resume=tmp_path / "last.safetensors", **options)
    assert resumed.step_loss == whole.step_loss
    for key, value in whole_model.state_dict().items():
        np.testing.assert_array_equal(resumed_model.state_dict()[key], value, err_msg=key)
