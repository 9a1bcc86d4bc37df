"""A run has a stable identity (a UUID in its checkpoints and its record): a resume continues
that run only in a store that holds it, writes where the user can see (never where a checkpoint
says), never overwrites newer work (fork instead), and changes nothing if it fails early."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from steepest import nn
from steepest.cli import main
from steepest.data import load_mnist1d
from steepest.io import CheckpointError, checkpoint_info, load_checkpoint, save_checkpoint
from steepest.store import RunStore
from steepest.train import fit
from steepest.train.identity import RunConflictError


def train(tmp_path, *args, db="a.db"):
    return main(["train", "--db", str(tmp_path / db), "--no-progress", "--width", "8",
                 "--seed", "3", *args])


def one_line(capsys, *needles):
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    for needle in needles:
        assert needle in captured.err, captured.err
    return captured


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def record_state(db: Path, run_id: int):
    """Everything the store holds about a run, comparable with ==."""
    with RunStore(db, readonly=True) as store:
        metrics = {scope: {name: (steps.tolist(), values.tolist()) for name, (steps, values)
                           in store.metrics(run_id, scope).items()} for scope in ("step", "epoch")}
        return store.run(run_id), metrics


@pytest.fixture
def run_a(tmp_path, capsys):
    """Run #1 of a.db: 40 steps, checkpoints in A/ (last every 20 steps, and best)."""
    assert train(tmp_path, "--steps", "40", "--checkpoint-every", "20", "--checkpoint-dir",
                 str(tmp_path / "A")) == 0
    capsys.readouterr()
    return tmp_path / "A" / "last.safetensors"


# ---------------------------------------------------------------------------- item 1
def test_a_run_has_one_uuid_in_its_checkpoints_and_its_record(tmp_path, run_a):
    record = RunStore(tmp_path / "a.db").run(1)
    assert record.uuid and len(record.uuid) == 36
    assert checkpoint_info(run_a).run_uuid == record.uuid
    assert checkpoint_info(tmp_path / "A" / "best.safetensors").run_uuid == record.uuid
    assert "run_id" not in load_checkpoint(run_a).extra  # an integer id means nothing elsewhere
    with RunStore(tmp_path / "other.db") as other:
        assert other.start_run({}).uuid != record.uuid


def test_resuming_into_another_store_never_writes_into_its_unrelated_run(tmp_path, run_a,
                                                                          capsys):
    assert train(tmp_path, "--steps", "20", "--no-checkpoint", db="b.db") == 0  # b's run #1
    capsys.readouterr()
    before = record_state(tmp_path / "b.db", 1)
    uuid = checkpoint_info(run_a).run_uuid
    assert train(tmp_path, "--resume", str(run_a), "--steps", "60", db="b.db") == 0
    out = capsys.readouterr().out
    assert f"run #2 ({uuid}) resumed from {uuid} at step 40" in out
    assert record_state(tmp_path / "b.db", 1) == before  # b's own run #1: not a row changed
    with RunStore(tmp_path / "b.db") as store:
        resumed = store.run(2)
        assert (resumed.uuid, resumed.origin, resumed.origin_uuid, resumed.origin_step) == (
            uuid, "resumed", uuid, 40)
        assert resumed.lineage == f"resumed from {uuid} at step 40"
        steps = store.metrics(2, "step")["loss"][0]
        np.testing.assert_array_equal(steps, np.arange(41, 61))
        assert resumed.results["steps"] == 60
    code = main(["runs", "show", "2", "--db", str(tmp_path / "b.db")])
    shown = capsys.readouterr().out
    assert code == 0 and f"resumed from {uuid} at step 40" in shown and uuid in shown
    # Its checkpoints went on in A/ as the same run.
    assert checkpoint_info(run_a).step == 60 and checkpoint_info(run_a).run_uuid == uuid


def test_resuming_in_the_store_that_holds_the_run_continues_its_record(tmp_path, run_a,
                                                                       capsys):
    assert train(tmp_path, "--resume", str(run_a), "--steps", "60") == 0
    assert "continues run #1" in capsys.readouterr().out
    with RunStore(tmp_path / "a.db") as store:
        assert [r.id for r in store.runs()] == [1]
        record = store.run(1)
        assert record.status == "finished" and record.origin is None
        np.testing.assert_array_equal(store.metrics(1, "step")["loss"][0], np.arange(1, 61))


def test_a_checkpoint_from_before_run_ids_resumes_as_a_new_record(tmp_path, run_a, capsys):
    legacy = tmp_path / "legacy" / "last.safetensors"
    legacy.parent.mkdir()
    old = load_checkpoint(run_a)
    extra = {k: v for k, v in old.extra.items() if k != "run_uuid"}
    extra["run_id"] = 1  # what steepest wrote before runs had an identity
    save_checkpoint(legacy, model=old.model_state, optimizer=old.optimizer_state,
                    scheduler=old.scheduler_state, epoch=old.epoch, step=old.step,
                    config=old.config, rng_states=old.rng_states, extra=extra,
                    arrays=old.arrays)
    before = record_state(tmp_path / "a.db", 1)
    assert train(tmp_path, "--resume", str(legacy), "--steps", "60") == 0
    assert "resumed from a checkpoint at step 40" in capsys.readouterr().out
    assert record_state(tmp_path / "a.db", 1) == before  # run #1 is not "run_id 1" of the file
    record = RunStore(tmp_path / "a.db").run(2)
    assert record.origin == "resumed" and record.origin_uuid is None
    assert checkpoint_info(legacy).run_uuid == record.uuid


# ---------------------------------------------------------------------------- item 2
def test_a_path_inside_a_checkpoint_is_never_used(tmp_path, run_a, capsys, monkeypatch):
    crafted = tmp_path / "crafted" / "last.safetensors"
    crafted.parent.mkdir()
    old = load_checkpoint(run_a)
    config = dict(old.config, checkpoint_dir="../evil", db="evil.db")
    save_checkpoint(crafted, model=old.model_state, optimizer=old.optimizer_state,
                    scheduler=old.scheduler_state, epoch=old.epoch, step=old.step,
                    config=config, rng_states=old.rng_states, extra=old.extra,
                    arrays=old.arrays)
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert train(tmp_path, "--resume", str(crafted), "--steps", "60", db="b.db") == 0
    out = capsys.readouterr().out
    assert f"checkpoints in {crafted.parent}" in out  # absolute, beside the resumed file
    assert not (work.parent / "evil").exists() and not (work / "evil.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A", "a.db", "b.db", "crafted", "work"]
    assert checkpoint_info(crafted).step == 60
    # --checkpoint-dir, when given, is where it goes (absolute in the record).
    assert train(tmp_path, "--resume", str(crafted), "--steps", "80", "--checkpoint-dir",
                 "moved", db="b.db") == 0
    moved = checkpoint_info(work / "moved" / "last.safetensors")
    assert moved.step == 80 and moved.config["checkpoint_dir"] == str(work / "moved")


# ---------------------------------------------------------------------------- item 3
def _copy_of_step(run_a: Path, folder: Path, steps: int) -> Path:
    """A copy of run A's state at `steps` (same UUID), as a snapshot the user kept."""
    whole = load_checkpoint(run_a)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "step.safetensors"
    save_checkpoint(target, model=whole.model_state, optimizer=whole.optimizer_state,
                    scheduler=whole.scheduler_state, epoch=0, step=steps, config=whole.config,
                    rng_states=whole.rng_states,
                    extra=dict(whole.extra, batch=steps, epoch_sums=dict(
                        whole.extra["epoch_sums"], batches=steps), history=dict(
                        whole.extra["history"],
                        step_loss=whole.extra["history"]["step_loss"][:steps])))
    return target


def test_resuming_an_older_copy_never_overwrites_the_newer_run(tmp_path, run_a, capsys):
    copy = _copy_of_step(run_a, tmp_path / "copies", 20)
    folder_before, record_before = files(tmp_path / "A"), record_state(tmp_path / "a.db", 1)
    # Into the run's own folder: A/last.safetensors is at step 40 (b.db has no record of it).
    assert train(tmp_path, "--resume", str(copy), "--steps", "60", "--checkpoint-dir",
                 str(tmp_path / "A"), db="b.db") == 2
    one_line(capsys, "is at step 20", "last.safetensors of the same run is at step 40",
             "--fork")
    # Beside the copy: the store's record of the run already reached step 40.
    assert train(tmp_path, "--resume", str(copy), "--steps", "60") == 2
    one_line(capsys, "run #1", "already reached step 40 (", "last.safetensors)", "--fork")
    # The run's best checkpoint (older than its last) is no different.
    best = tmp_path / "A" / "best.safetensors"
    if checkpoint_info(best).step < 40:
        assert train(tmp_path, "--resume", str(best), "--steps", "60") == 2
        one_line(capsys, "--fork")
    assert files(tmp_path / "A") == folder_before
    assert record_state(tmp_path / "a.db", 1) == record_before
    assert sorted(p.name for p in (tmp_path / "copies").iterdir()) == ["step.safetensors"]
    assert not (tmp_path / "b.db").exists() or RunStore(tmp_path / "b.db").runs() == []


def test_fork_branches_a_new_run_with_its_own_folder(tmp_path, run_a, capsys):
    copy = _copy_of_step(run_a, tmp_path / "copies", 20)
    parent = checkpoint_info(run_a).run_uuid
    folder_before, record_before = files(tmp_path / "A"), record_state(tmp_path / "a.db", 1)
    assert train(tmp_path, "--resume", str(copy), "--steps", "60", "--fork") == 0
    out = capsys.readouterr().out
    forked = RunStore(tmp_path / "a.db").run(2)
    assert f"run #2 ({forked.uuid}) forked from {parent} at step 20" in out
    assert forked.uuid != parent and forked.lineage == f"forked from {parent} at step 20"
    folder = tmp_path / "checkpoints" / "run-2"
    assert f"checkpoints in {folder}" in out
    assert checkpoint_info(folder / "last.safetensors").run_uuid == forked.uuid
    assert checkpoint_info(folder / "last.safetensors").step == 60
    assert files(tmp_path / "A") == folder_before
    assert record_state(tmp_path / "a.db", 1) == record_before
    # A fork into the original's folder would take it over: refused.
    assert train(tmp_path, "--resume", str(copy), "--steps", "60", "--fork",
                 "--checkpoint-dir", str(tmp_path / "A")) == 2
    one_line(capsys, f"already holds the checkpoints of run {parent}")
    assert train(tmp_path, "--fork", "--steps", "5") == 2
    one_line(capsys, "--fork branches a new run off a checkpoint: give --resume too")


def test_a_new_run_never_takes_over_another_runs_folder(tmp_path, run_a, capsys):
    before = files(tmp_path / "A")
    assert train(tmp_path, "--steps", "5", "--checkpoint-dir", str(tmp_path / "A")) == 2
    one_line(capsys, "already holds the checkpoints of run", "a new run would overwrite them")
    assert files(tmp_path / "A") == before
    assert [r.id for r in RunStore(tmp_path / "a.db").runs()] == [1]
    # The default folder is the run's own, even if a deleted store's run-2 folder is there.
    stale = tmp_path / "checkpoints" / "run-2"
    shutil.copytree(tmp_path / "A", stale)
    assert train(tmp_path, "--steps", "5") == 0
    run = RunStore(tmp_path / "a.db").run(2)
    assert files(stale) == before
    own = tmp_path / "checkpoints" / f"run-2-{run.uuid[:8]}"
    assert checkpoint_info(own / "last.safetensors").run_uuid == run.uuid


def test_library_resume_refuses_and_forks_the_same_way(tmp_path):
    data = load_mnist1d()
    x, y = data.x[:400], data.y[:400]

    def net():
        return nn.Sequential(nn.Linear(40, 8), nn.ReLU(), nn.Linear(8, 10))

    quiet = dict(batch_size=100, progress=False, log=None)
    fit(net(), (x, y), steps=8, checkpoint_dir=tmp_path / "A", checkpoint_every=4,
        store=tmp_path / "s.db", **quiet)
    copy = _copy_of_step(tmp_path / "A" / "last.safetensors", tmp_path / "c", 4)
    with pytest.raises(RunConflictError, match="fork=True"):
        fit(net(), (x, y), steps=12, resume=copy, checkpoint_dir=tmp_path / "A", **quiet)
    with pytest.raises(RunConflictError, match="already reached step 8"):
        fit(net(), (x, y), steps=12, resume=copy, store=tmp_path / "s.db", **quiet)
    history = fit(net(), (x, y), steps=12, resume=copy, fork=True, store=tmp_path / "s.db",
                  checkpoint_dir=tmp_path / "F", **quiet)
    forked = RunStore(tmp_path / "s.db").run(history.run_id)
    assert forked.origin == "forked" and forked.origin_step == 4
    assert checkpoint_info(tmp_path / "F" / "last.safetensors").run_uuid == forked.uuid


# ---------------------------------------------------------------------------- item 4
def test_a_resume_that_fails_before_its_first_step_changes_nothing(tmp_path, run_a, capsys):
    folder_before, record_before = files(tmp_path / "A"), record_state(tmp_path / "a.db", 1)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert train(tmp_path, "--resume", str(run_a), "--steps", "60", "--checkpoint-dir",
                 str(blocker / "sub")) == 2
    one_line(capsys, "--checkpoint-dir")
    assert record_state(tmp_path / "a.db", 1) == record_before  # still "finished"
    assert record_before[0].status == "finished"
    assert files(tmp_path / "A") == folder_before

    # A checkpoint that does not fit the model: found while restoring, before any step.
    wrong = nn.Sequential(nn.Linear(40, 9), nn.ReLU(), nn.Linear(9, 10))
    data = load_mnist1d()
    with pytest.raises(CheckpointError, match="does not fit this model"):
        fit(wrong, data, steps=60, resume=run_a, checkpoint_dir=tmp_path / "A",
            store=tmp_path / "a.db", progress=False, log=None, seed=3)
    assert record_state(tmp_path / "a.db", 1) == record_before
    assert files(tmp_path / "A") == folder_before
    assert json.dumps(record_before[0].results)  # results untouched too


# ---------------------------------------------------------------------------- item 5
def lrs(db: Path, run_id: int) -> np.ndarray:
    with RunStore(db, readonly=True) as store:
        steps, values = store.metrics(run_id, "step")["lr"]
    return dict(zip(steps.tolist(), values.tolist(), strict=True))


@pytest.mark.parametrize("schedule", ["cosine", "warmup-cosine", "onecycle", "step",
                                      "exponential"])
def test_extending_a_schedule_needs_a_choice_and_changes_nothing_without_one(tmp_path, capsys,
                                                                             schedule):
    assert train(tmp_path, "--steps", "40", "--schedule", schedule, "--checkpoint-dir",
                 str(tmp_path / "A")) == 0
    capsys.readouterr()
    folder_before, record_before = files(tmp_path / "A"), record_state(tmp_path / "a.db", 1)
    last = str(tmp_path / "A" / "last.safetensors")
    assert train(tmp_path, "--resume", last, "--steps", "60") == 2
    one_line(capsys, f"60 steps go past the end of the {schedule} schedule (40 steps)",
             "--extend-schedule keep-final", "--extend-schedule restart")
    assert train(tmp_path, "--resume", last, "--steps", "60", "--extend-schedule", "later") == 2
    one_line(capsys, "--extend-schedule: choose keep-final or restart, got 'later'")
    assert files(tmp_path / "A") == folder_before
    assert record_state(tmp_path / "a.db", 1) == record_before
    # keep-final: the rate the schedule ended with, for every extra step; never a climb. (A
    # step logs the rate it used: step 40 the schedule's last, step 41 on its final value.)
    assert train(tmp_path, "--resume", last, "--steps", "60", "--extend-schedule",
                 "keep-final") == 0
    rates = lrs(tmp_path / "a.db", 1)
    assert [rates[step] for step in range(41, 61)] == [rates[41]] * 20
    record = RunStore(tmp_path / "a.db").run(1)
    assert record.status == "finished" and record.results["steps"] == 60
    # Extended once by keeping the final rate, the run goes on so without being asked again.
    assert train(tmp_path, "--resume", last, "--steps", "70") == 0
    assert lrs(tmp_path / "a.db", 1)[70] == rates[41]


@pytest.mark.parametrize("name", ["constant", "none", "plateau", "reduce-on-plateau",
                                  "Reduce_On_Plateau"])
def test_a_schedule_not_shaped_by_the_length_goes_on_unasked(name):
    from types import SimpleNamespace

    from steepest.train.extension import Span, schedule_span

    resumed = SimpleNamespace(config={"total_steps": 40}, step=40)
    assert schedule_span(name, resumed, 60) == Span(0, 60)


@pytest.mark.parametrize("name", ["1cycle", "one-cycle", "OneCycle"])
def test_a_schedule_is_known_by_any_of_its_names_when_extended(name):
    from types import SimpleNamespace

    from steepest.train.extension import ScheduleExtensionError, schedule_span

    resumed = SimpleNamespace(config={"total_steps": 40}, step=40)
    with pytest.raises(ScheduleExtensionError, match="the onecycle schedule \\(40 steps\\)"):
        schedule_span(name, resumed, 60)


def test_restart_runs_the_schedule_again_over_the_new_steps(tmp_path, capsys):
    assert train(tmp_path, "--steps", "40", "--schedule", "cosine", "--checkpoint-dir",
                 str(tmp_path / "A")) == 0
    assert train(tmp_path, "--resume", str(tmp_path / "A" / "last.safetensors"), "--steps",
                 "60", "--extend-schedule", "restart") == 0
    rates = lrs(tmp_path / "a.db", 1)
    # Step 40 + i uses the cosine over 20 steps at i - 1 (lr 0.01 again at step 41).
    expected = [0.01 * (1 + np.cos(np.pi * (i - 1) / 20)) / 2 for i in range(1, 21)]
    np.testing.assert_allclose([rates[40 + i] for i in range(1, 21)], expected, atol=1e-12)
    # Step 40 used the last rate of the first cosine.
    assert rates[40] == pytest.approx(0.01 * (1 + np.cos(np.pi * 39 / 40)) / 2, rel=1e-9)
    assert max(rates[s] for s in range(41, 61)) <= 0.01


def test_an_extended_schedule_resumes_bit_for_bit(tmp_path):
    """A restarted one-cycle stopped half-way and resumed gives the run that never stopped."""
    from steepest.train import LambdaCallback

    data = load_mnist1d()
    x, y = data.x[:400], data.y[:400]

    def net():
        import steepest as st

        st.manual_seed(0)
        return nn.Sequential(nn.Linear(40, 8), nn.ReLU(), nn.Linear(8, 10))

    quiet = dict(batch_size=100, progress=False, log=None, schedule="onecycle", lr=0.05)
    fit(net(), (x, y), steps=8, checkpoint_dir=tmp_path / "A", **quiet)
    for name in ("B", "C"):  # two copies of the same run, in folders of their own
        (tmp_path / name).mkdir()
        shutil.copy(tmp_path / "A" / "last.safetensors", tmp_path / name)
    with pytest.raises(ValueError, match="extend_schedule=keep-final"):
        fit(net(), (x, y), steps=20, resume=tmp_path / "B" / "last.safetensors", **quiet)
    whole = fit(net(), (x, y), steps=20, resume=tmp_path / "B" / "last.safetensors",
                checkpoint_dir=tmp_path / "B", extend_schedule="restart", **quiet)
    halt = LambdaCallback(on_step_end=lambda t, s, logs: setattr(t, "stop_training", s == 13))
    fit(net(), (x, y), steps=20, resume=tmp_path / "C" / "last.safetensors",
        checkpoint_dir=tmp_path / "C", extend_schedule="restart", callbacks=[halt], **quiet)
    assert checkpoint_info(tmp_path / "C" / "last.safetensors").config["schedule_start"] == 8
    parts = fit(net(), (x, y), steps=20, resume=tmp_path / "C" / "last.safetensors",
                checkpoint_dir=tmp_path / "C", **quiet)
    assert parts.step_loss == whole.step_loss
    assert parts.trainer.optimizer.param_groups[0]["lr"] == \
        whole.trainer.optimizer.param_groups[0]["lr"]
