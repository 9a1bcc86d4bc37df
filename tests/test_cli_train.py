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


def test_train_command_prints_each_epoch(capsys):
    assert main(["train", "--epochs", "2", "--hidden", "16"]) == 0
    out = capsys.readouterr().out
    assert out.count("test accuracy") == 2
    assert "MLP 40-16-16-10" in out


@pytest.mark.parametrize("args, message", [
    (["train", "--lr", "-1"], "expected a positive number, got -1.0"),
    (["train", "--epochs", "two"], "expected a positive integer, got 'two'"),
    (["train", "--optimizer-typo", "adam"], "unrecognized arguments: --optimizer-typo"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
])
def test_user_mistakes_get_one_line_and_exit_2(args, message):
    result = subprocess.run([sys.executable, "-m", "steepest", *args], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
