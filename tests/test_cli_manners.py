"""The command line's manners: `steepest --version`, and a close name suggested for a mistyped
option, subcommand, choice or name ("did you mean --optimizer?"), on one line, status 2."""

from __future__ import annotations

import pytest

from steepest import __version__
from steepest._suggest import close_matches, did_you_mean
from steepest.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"steepest {__version__}\n"


@pytest.mark.parametrize("argv,expected", [
    (["trian"], "(did you mean 'train'?) (see 'steepest --help')"),
    (["train", "--optimzer", "adam"],
     "unrecognized arguments: --optimzer adam (did you mean --optimizer?) "
     "(see 'steepest train --help')"),
    (["train", "--lrr=0.1", "--epochz", "3"],
     "(did you mean --lr or --epochs?) (see 'steepest train --help')"),
    (["diagnose", "gradients", "--activatons", "relu"],
     "(did you mean --activations?) (see 'steepest diagnose gradients --help')"),
    (["diagnose", "gradient"], "(did you mean 'gradients'?)"),
    (["race", "--style", "slid"], "(did you mean 'slide'?) (see 'steepest race --help')"),
    (["race", "--optimizers", "adma,sgd"], "unknown optimizer 'adma' (did you mean 'adam'?)"),
    (["race", "--surface", "rosenbrok"], "unknown surface 'rosenbrok' (did you mean "
                                         "'rosenbrock'?)"),
    (["diagnose", "init", "--inits", "xavir"], "unknown name 'xavir' (did you mean 'xavier'?)"),
    (["diagnose", "gradients", "--activations", "sigmod+bn"], "(did you mean 'sigmoid+bn'?)"),
    (["train", "--optimizer", "adma"], "unknown optimizer 'adma' (did you mean 'adam'?)"),
    (["train", "--model", "mpl"], "unknown model 'mpl' (did you mean 'mlp'?)"),
])
def test_a_mistyped_name_gets_one_line_with_the_name_meant(argv, expected, capsys, tmp_path,
                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and expected in err, err
    assert err.startswith("steepest")


def test_a_mistyped_optimizer_is_refused_before_the_data_is_loaded(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--optimizer", "adma"]) == 2
    out, err = capsys.readouterr()
    assert "did you mean 'adam'" in err and "data:" not in out, out
    assert not (tmp_path / "runs").exists()


def test_no_suggestion_when_nothing_is_close(capsys):
    assert main(["train", "--zzzzzz"]) == 2
    err = capsys.readouterr().err
    assert "did you mean" not in err and "unrecognized arguments: --zzzzzz" in err
    assert did_you_mean("qwerty", ["adam", "sgd"]) == ""
    assert close_matches("--optim", ["--optimizer", "--out"]) == ["--optimizer"]


@pytest.mark.parametrize("typo,meant,choices", [
    ("adma", "adam", ["adamax", "adam", "nadam"]),        # a swap is one edit
    ("--optimzer", "--optimizer", ["--optimizer", "--out"]),
    ("sigmod+bn", "sigmoid+bn", ["sigmoid", "sigmoid+bn", "tanh+bn"]),
    ("rosenbrok", "rosenbrock", ["rosenbrock", "ravine"]),
])
def test_the_closest_name_wins(typo, meant, choices):
    assert close_matches(typo, choices) == [meant]
