"""Every optimizer name the specs define runs through every entry point, with nothing but its
spec: `steepest race`, `steepest train --optimizer`, `steepest compare`, and `fit` stopped
and resumed from a checkpoint bit for bit (LBFGS's closure and list state, schedule-free's
train/eval points, Muon with AdamW for the other parameters included). And the seam itself:
on a copy of the package with one new module in steepest/optim/rules and no other edit, a new
optimizer reaches every entry point."""

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


# ---------------------------------------------------------------------------- the seam itself
# A test-only optimizer, written as a new module of steepest/optim/rules would be: Signum (the
# sign of the momentum, Bernstein et al. 2018), with a second name ("signsgd", no momentum).
NEW_RULE_MODULE = '''
"""Signum: the sign of the momentum (a test-only optimizer)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steepest.optim.spec import OptimizerSpec, Option, Preset, number

__all__ = ["SIGNUM_SPEC", "SignumState", "signum_init", "signum_update"]


class SignumState(NamedTuple):
    step: int
    momentum_buffer: np.ndarray


def signum_init(param: np.ndarray) -> SignumState:
    return SignumState(0, np.zeros_like(param))


def signum_update(grad, state, param, *, lr, momentum, out=None):
    """m = βm + (1 − β)g;  w −= lr·sign(m)."""
    buffer = state.momentum_buffer
    buffer *= momentum
    buffer += (1.0 - momentum) * grad
    delta = np.sign(buffer, out=out)
    delta *= -lr
    return delta, SignumState(state.step + 1, buffer)


SIGNUM_SPEC = OptimizerSpec(
    name="Signum", summary="the sign of the momentum", formula="m = βm + (1−β)g;  w −= lr·sign(m)",
    paper="Bernstein et al. 2018, signSGD, ICML", year=2018, state=SignumState,
    init=signum_init, update=signum_update,
    options=(Option("lr", 1e-3, number("learning rate"), "step length in every coordinate"),
             Option("momentum", 0.9, number("momentum value", high=1.0, high_inclusive=False),
                    "β, the momentum's decay")),
    elementwise=True, study_lr=0.02, family="sign",
    presets=(Preset("signum"), Preset("signsgd", {"momentum": 0.0}, study_lr=0.005,
                                      description="signSGD: the sign of the gradient")),
)
'''

# Run in a fresh interpreter on a copy of the package with that one module added: every entry
# point must take the new names with no other edit.
SEAM_SCRIPT = '''
import contextlib, inspect, io, json, sqlite3, sys
import numpy as np
import steepest
assert steepest.__file__.startswith(sys.argv[1]), steepest.__file__
from steepest import nn, optim
from steepest.cli import main
from steepest.lab import OPTIMIZERS as LAB, optimizer_options, race
from steepest.lab.compare import DEFAULT_LR
from steepest.serve import network, playground

npz, out = sys.argv[2], sys.argv[3]
spec = optim.get_spec("signsgd")
assert optim.Signum is spec.optimizer_class and spec.name == "Signum"
assert str(inspect.signature(optim.Signum)) == "(params, lr=0.001, momentum=0.9, *, executor=None)"
assert "w −= lr·sign(m)" in optim.Signum.__doc__
names = optim.OPTIMIZERS  # in order of publication: signSGD (2018) after Adafactor (2018)
assert names[names.index("adafactor") + 1:][:2] == ("signum", "signsgd"), names
assert list(LAB) == [*names, "random-search"] and optimizer_options("signsgd") == {"momentum": 0.0}
assert (DEFAULT_LR["signum"], DEFAULT_LR["signsgd"]) == (0.02, 0.005)
assert "| **Signum** |" in optim.optimizer_table()
assert network.default_lr("signsgd") == 0.005 and "signum" in network.choices()["optimizers"]
payload = {o["name"]: o for o in playground.optimizers_payload()}
assert payload["signum"]["options"] == {"momentum": 0.9}, payload["signum"]
try:
    optim.Signum([steepest.Tensor(np.ones(2), requires_grad=True)], momentum=1.5)
    raise AssertionError("momentum=1.5 accepted")
except ValueError as error:
    assert "Invalid momentum value: 1.5" in str(error), error
optim.Signum([steepest.Tensor(np.ones(2))], executor=optim.ThreadedExecutor(2))  # elementwise

# State (de)serialisation: a fresh optimizer loaded mid-run continues on the same path.
steepest.manual_seed(0)
model = nn.Linear(3, 2)
opt = optim.make_optimizer("signum", model, lr=0.1)
twin = nn.Linear(3, 2)
twin.load_state_dict(model.state_dict())
twin_opt = optim.make_optimizer("signum", twin, lr=0.1)
x = steepest.Tensor(np.random.default_rng(0).normal(size=(8, 3)))
for step in range(6):
    for m, o in ((model, opt), (twin, twin_opt)):
        o.zero_grad()
        (m(x) ** 2).mean().backward()
        o.step()
    if step == 2:
        saved = twin_opt.state_dict()
        assert saved["state"][0]["step"] == 3
        twin_opt = optim.make_optimizer("signum", twin, lr=0.5)
        twin_opt.load_state_dict(saved)
for key, value in model.state_dict().items():
    np.testing.assert_array_equal(twin.state_dict()[key], value)

def cli(*args):
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        try:
            code = main(list(args))
        except SystemExit as exit:
            code = exit.code
    assert code == 0, (args, text.getvalue())
    return text.getvalue()

assert "signsgd" in cli("race", "--list") and "signum" in cli("train", "--help")
assert "signsgd" in cli("compare", "--help") and "signsgd" in cli("diagnose", "lr-range", "--help")
table = cli("race", "--surface", "bowl", "--optimizers", "signum,signsgd", "--steps", "20",
            "--option", "signum.momentum=0.5")
rows = [line for line in table.splitlines() if line.startswith(("signum ", "signsgd "))]
assert len(rows) == 2 and not any("nan" in r or "diverged" in r for r in rows), table
paths = race("bowl", ["signsgd"], steps=3, lrs={"signsgd": 0.25})
steps = np.abs(np.diff(np.asarray(paths[0].points), axis=0))
np.testing.assert_allclose(steps[steps > 0], 0.25)  # signSGD moves exactly lr per coordinate
cli("train", "--optimizer", "signsgd", "--data", npz, "--width", "8", "--steps", "6",
    "--batch-size", "60", "--db", out + "/runs.db", "--no-progress", "--no-checkpoint")
with sqlite3.connect(out + "/runs.db") as connection:
    config = json.loads(connection.execute("SELECT config FROM runs").fetchone()[0])
assert config["optimizer"] == "signsgd", config
report = cli("compare", "--optimizers", "signum,signsgd", "--seeds", "1", "--grid-points", "1",
             "--epochs", "1", "--width", "8", "--data", npz, "--out", out + "/compare",
             "--db", out + "/runs.db")
assert "| signum " in report and "| signsgd " in report, report
print("every entry point took the new spec")
'''


def test_one_new_rule_module_reaches_every_entry_point(npz, tmp_path):
    """Adding an optimizer is one module in steepest/optim/rules: on a copy of the package with
    only that module added, the class, `--optimizer` names, CLI help, race, train, compare,
    the studies' rates, the serve forms, validation and state dicts all take it."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    package = Path(st.__file__).parent
    copy = tmp_path / "src"
    shutil.copytree(package, copy / "steepest", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "steepest" / "optim" / "rules" / "signum.py").write_text(NEW_RULE_MODULE)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(copy), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", SEAM_SCRIPT, str(copy), npz, str(out)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "every entry point took the new spec" in result.stdout
