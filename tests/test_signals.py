"""SIGTERM stops `steepest train` as Ctrl-C does (run marked interrupted, last complete
checkpoint kept, no temporary file left); temporary files of a killed process are removed the
next time the folder is used; and the README's resume example does what it says."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from steepest.cli import main
from steepest.io import checkpoint_info, load_checkpoint, remove_stale_temporaries
from steepest.store import RunStore

ROOT = Path(__file__).resolve().parent.parent


def start_training(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "steepest", "train", "--db", str(tmp_path / "runs.db"),
         "--no-progress", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env)


# `steepest train` that sends itself SIGINT right after writing the checkpoint of step STEP: a
# Ctrl-C at a known point, however fast the steps run (a real signal, handled as the CLI does).
CTRL_C_AFTER_CHECKPOINT = """
import os, signal, sys
from steepest.cli import main
from steepest.train.trainer import Trainer

save = Trainer.save_checkpoint

def save_then_interrupt(self, *args, **kwargs):
    written = save(self, *args, **kwargs)
    if self.step >= int(os.environ["STEEPEST_TEST_STEP"]):
        os.kill(os.getpid(), signal.SIGINT)
    return written

Trainer.save_checkpoint = save_then_interrupt
# Ctrl-C as in a terminal, also when the tests run in the background (which ignores SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main(sys.argv[1:]))
"""


def train_until_ctrl_c(tmp_path: Path, step: int, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1", STEEPEST_TEST_STEP=str(step))
    return subprocess.run(
        [sys.executable, "-c", CTRL_C_AFTER_CHECKPOINT, "train", "--db",
         str(tmp_path / "runs.db"), "--no-progress", *args], capture_output=True, text=True,
        env=env, cwd=tmp_path, timeout=120)


def wait_for_checkpoint(path: Path, process: subprocess.Popen, step: int = 1) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"training ended early: {process.communicate()}")
        try:
            if checkpoint_info(path).step >= step:
                return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    folder = tmp_path / "ckpt"
    process = start_training(tmp_path, "--steps", "100000", "--width", "64",
                             "--checkpoint-every", "3", "--checkpoint-dir", str(folder))
    wait_for_checkpoint(folder / "last.safetensors", process, step=30)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert err.splitlines() == ["steepest: terminated (SIGTERM); the run is marked interrupted"]
    record = RunStore(tmp_path / "runs.db").run(1)
    assert record.status == "interrupted"
    last = load_checkpoint(folder / "last.safetensors")  # complete and readable
    assert last.step >= 30 and (last.step % 3 == 0 or last.step % 40 == 0)
    assert record.results["steps"] >= last.step
    names = {p.name for p in folder.iterdir()}
    assert "last.safetensors" in names and names <= {"best.safetensors", "last.safetensors"}


def test_temporary_files_of_a_killed_writer_are_removed_next_time(tmp_path, capsys):
    folder = tmp_path / "ckpt"
    assert main(["train", "--db", str(tmp_path / "runs.db"), "--no-progress", "--steps", "20",
                 "--width", "8", "--checkpoint-dir", str(folder)]) == 0
    capsys.readouterr()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)  # a process that has exited
    stale = folder / f".last.safetensors.{dead_pid}.0123abcd.tmp"
    stale.write_bytes(b"half a checkpoint")
    live = folder / f".last.safetensors.{os.getppid()}.89abcdef.tmp"  # a writer still running
    live.write_bytes(b"being written")
    other = folder / "notes.tmp"
    other.write_text("mine")
    assert main(["train", "--db", str(tmp_path / "runs.db"), "--no-progress", "--resume",
                 str(folder / "last.safetensors"), "--steps", "40"]) == 0
    out = capsys.readouterr().out
    assert f"removed 1 temporary file(s) that a killed process left in {folder}: {stale.name}" \
        in out
    assert not stale.exists() and live.exists() and other.exists()
    assert remove_stale_temporaries(folder) == []


def test_the_readme_resume_example_does_what_it_says(tmp_path, capsys, monkeypatch):
    """The README's three lines (train, resume after Ctrl-C, extend with a restart), run with
    fewer steps: the resumed run repeats the uninterrupted one bit for bit, and the extension
    runs the cosine again from lr 1e-2 over the new steps."""
    block = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in block.splitlines()
             if line.startswith("steepest train ") and ("runs/cnn" in line)]
    first, resume, extend = lines
    assert "--resume runs/cnn/last.safetensors" in resume and "--steps" not in resume
    assert "--steps 12000 --extend-schedule restart" in extend
    monkeypatch.chdir(tmp_path)
    small = ["--steps", "40", "--checkpoint-every", "5", "--db", "runs.db", "--no-progress"]

    def argv(line: str, *extra: str) -> list[str]:
        return shlex.split(line)[1:] + list(extra)

    # The run that never stops, elsewhere.
    assert main(argv(first.replace("runs/cnn", "whole"), *small)) == 0
    # The same run stopped by Ctrl-C (SIGINT) part-way, then the README's resume line.
    stopped = train_until_ctrl_c(tmp_path, 10, *argv(first)[1:], *small[:4])
    assert stopped.returncode == 130, stopped.stderr
    stopped_at = checkpoint_info(tmp_path / "runs" / "cnn" / "last.safetensors").step
    assert 10 <= stopped_at < 40
    capsys.readouterr()
    assert main(argv(resume, "--db", "runs.db", "--no-progress")) == 0
    store = RunStore(tmp_path / "runs.db")
    whole, parts = store.metrics(1, "step"), store.metrics(2, "step")
    np.testing.assert_array_equal(whole["loss"][1], parts["loss"][1])  # bit for bit
    assert store.run(2).results["test_accuracy"] == store.run(1).results["test_accuracy"]
    # The README's extension, from 40 to 60 steps instead of 8000 to 12000.
    assert main(argv(extend.replace("12000", "60"), "--db", "runs.db", "--no-progress")) == 0
    steps, rates = store.metrics(2, "step")["lr"]
    after = rates[steps > 40]           # step 40 + i trains at the new cosine's rate i - 1
    expected = [1e-2 * (1 + np.cos(np.pi * i / 20)) / 2 for i in range(20)]
    np.testing.assert_allclose(after, expected, atol=1e-12)
    assert re.search(r"after 60 steps", capsys.readouterr().out)
    assert store.run(2).status == "finished"


@pytest.mark.parametrize("signum", [signal.SIGTERM])
def test_the_library_leaves_signal_handlers_alone(signum):
    """Only the `steepest` command turns SIGTERM into an interrupt, and only while it runs."""
    before = signal.getsignal(signum)
    assert main(["runs", "list", "--db", "/nonexistent/x.db"]) == 2
    assert signal.getsignal(signum) is before


def test_an_interrupt_right_after_a_checkpoint_loses_no_step(tmp_path, monkeypatch):
    """Ctrl-C arriving just after a callback wrote the checkpoint of step 10, before the step
    was logged: the resumed run's record still holds every step, once."""
    from steepest import nn
    from steepest.data import load_mnist1d
    from steepest.train import Trainer, fit

    data = load_mnist1d()
    x, y = data.x[:400], data.y[:400]

    def net():
        import steepest as st

        st.manual_seed(0)
        return nn.Sequential(nn.Linear(40, 8), nn.ReLU(), nn.Linear(8, 10))

    quiet = dict(steps=20, batch_size=100, progress=False, log=None, store=tmp_path / "s.db")
    fit(net(), (x, y), **quiet)
    save = Trainer.save_checkpoint

    def save_then_interrupt(self, path, kind="last"):
        written = save(self, path, kind)
        if self.step == 10:
            raise KeyboardInterrupt
        return written

    monkeypatch.setattr(Trainer, "save_checkpoint", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fit(net(), (x, y), checkpoint_dir=tmp_path / "c", checkpoint_every=5, **quiet)
    monkeypatch.undo()
    fit(net(), (x, y), resume=tmp_path / "c" / "last.safetensors", checkpoint_dir=tmp_path / "c",
        **quiet)
    store = RunStore(tmp_path / "s.db")
    whole, parts = store.metrics(1, "step")["loss"], store.metrics(2, "step")["loss"]
    np.testing.assert_array_equal(parts[0], np.arange(1, 21))
    np.testing.assert_array_equal(parts[1], whole[1])
