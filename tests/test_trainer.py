"""The Trainer and fit: they learn, count steps right, stop, clip, average, diverge loudly, and
resume bit for bit, even after the process was killed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim
from steepest.data import DataLoader, load_mnist1d
from steepest.train import (
    EarlyStopping,
    GradNormLogger,
    LambdaCallback,
    LearningRateLogger,
    Trainer,
    TrainingDiverged,
    fit,
)


@pytest.fixture(scope="module")
def small():
    data = load_mnist1d()
    return data.x[:600], data.y[:600], data.x_test[:300], data.y_test[:300]


def _mlp(seed=0, dtype=None):
    st.manual_seed(seed)
    model = nn.Sequential(nn.Linear(40, 32), nn.ReLU(), nn.Linear(32, 10))
    return model.double() if dtype == np.float64 else model


def _quiet(**kwargs):
    return dict(progress=False, log=None, **kwargs)


def test_fit_learns_and_reports_keras_history():
    data = load_mnist1d()
    xt, yt = data.x_test, data.y_test
    model = _mlp()
    history = fit(model, (data.x, data.y), optimizer="adam", lr=1e-2, epochs=8, batch_size=100,
                  validation_split=0.2, test_data=(xt, yt), **_quiet())
    assert history.epoch == list(range(1, 9))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy",
                "lr"):
        assert len(history[key]) == 8, key
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.4  # chance is 0.1
    assert len(history.step_loss) == 8 * 32  # 3200 training examples / 100 -> 32 steps an epoch
    assert history.test["test_accuracy"] == pytest.approx(history["test_accuracy"][-1])


@pytest.mark.parametrize("batch_size, steps_per_epoch", [(None, 1), (1, 600), (64, 10)])
def test_batch_size_none_one_and_n_are_full_stochastic_and_minibatch(small, batch_size,
                                                                      steps_per_epoch):
    x, y, _, _ = small
    history = fit(_mlp(), (x, y), optimizer="sgd", lr=0.01, epochs=1, batch_size=batch_size,
                  **_quiet())
    assert len(history.step_loss) == steps_per_epoch


def test_steps_stop_mid_epoch(small):
    x, y, _, _ = small
    history = fit(_mlp(), (x, y), lr=1e-3, steps=25, batch_size=100, **_quiet())
    assert len(history.step_loss) == 25 and history.trainer.step == 25
    assert history.epoch == [1, 2, 3, 4, 5]  # 6 steps an epoch; the last epoch is partial


def test_gradient_accumulation_equals_the_large_batch(small):
    x, y, _, _ = small
    x = x.astype(np.float64)
    big, accumulated = _mlp(dtype=np.float64), _mlp(dtype=np.float64)
    fit(big, (x, y), optimizer="sgd", lr=0.1, epochs=2, batch_size=120, shuffle=False,
        **_quiet())
    history = fit(accumulated, (x, y), optimizer="sgd", lr=0.1, epochs=2, batch_size=40,
                  shuffle=False, grad_accumulation=3, **_quiet())
    assert len(history.step_loss) == 10
    for a, b in zip(big.parameters(), accumulated.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)


def test_uneven_accumulation_averages_the_leftover_batches(small):
    x, y, _, _ = small
    x = x[:100].astype(np.float64)
    y = y[:100]
    # 5 batches of 20 with accumulation 3: one step of 3 batches, one of the remaining 2.
    plain, accumulated = _mlp(dtype=np.float64), _mlp(dtype=np.float64)
    history = fit(accumulated, (x, y), optimizer="sgd", lr=0.1, epochs=1, batch_size=20,
                  shuffle=False, grad_accumulation=3, **_quiet())
    assert len(history.step_loss) == 2
    sgd = optim.SGD(plain.parameters(), lr=0.1)
    for rows in (slice(0, 60), slice(60, 100)):
        sgd.zero_grad()
        st.nn.functional.cross_entropy(plain(st.tensor(x[rows])), y[rows]).backward()
        sgd.step()
    for a, b in zip(plain.parameters(), accumulated.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)


def test_clip_grad_norm_bounds_every_sgd_step(small):
    x, y, _, _ = small
    model = _mlp()
    moves = []

    def before(trainer, step):
        trainer._before = [p.data.copy() for p in trainer.model.parameters()]

    def after(trainer, step, logs):
        delta = [p.data - b for p, b in zip(trainer.model.parameters(), trainer._before,
                                            strict=True)]
        moves.append(np.sqrt(sum(float((d.astype(np.float64) ** 2).sum()) for d in delta)))
        assert logs["grad_norm"] > 0.01  # logged before clipping

    fit(model, (x, y), optimizer="sgd", lr=0.5, steps=6, batch_size=100, clip_grad_norm=0.01,
        callbacks=[GradNormLogger(), LambdaCallback(on_after_backward=before,
                                                    on_step_end=after)], **_quiet())
    assert len(moves) == 6
    assert max(moves) == pytest.approx(0.5 * 0.01, rel=1e-3)


def test_lr_logger_and_schedule_by_name(small):
    x, y, _, _ = small
    seen = []
    history = fit(_mlp(), (x, y), optimizer="sgd", lr=0.1, schedule="cosine", steps=30,
                  batch_size=100, callbacks=[LearningRateLogger(), LambdaCallback(
                      on_step_end=lambda t, s, logs: seen.append(logs["lr"]))], **_quiet())
    # Step s (1-based) used the rate of step s - 1 of the schedule; the last one is not 0.
    expected = [0.1 * (1 + np.cos(np.pi * s / 30)) / 2 for s in range(30)]
    np.testing.assert_allclose(seen, expected, rtol=1e-9, atol=1e-12)
    assert history["lr"][-1] == pytest.approx(expected[-1], rel=1e-9) and expected[-1] > 1e-4


def test_final_lr_is_the_rate_the_last_step_used_for_step_and_epoch_schedules(small, tmp_path):
    from steepest.optim import SGD, lr_scheduler
    from steepest.store import RunStore

    x, y, _, _ = small
    store = RunStore(tmp_path / "runs.db")
    history = fit(_mlp(), (x, y), optimizer="sgd", lr=0.1, schedule="step", epochs=6,
                  batch_size=100, store=store, **_quiet())
    used = history.trainer.step_lrs[0]
    assert history["lr"][-1] == used == store.run(history.run_id).results["final_lr"]
    model = _mlp()
    optimizer = SGD(model.parameters(), lr=0.1)
    every_epoch = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    trainer = Trainer(model, optimizer, scheduler=every_epoch, scheduler_interval="epoch",
                      **_quiet())
    history = trainer.fit(DataLoader((x, y), batch_size=100), epochs=3)
    # The scheduler steps at each epoch's end; each epoch trained at the rate before that.
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverging_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(small, tmp_path):
    from steepest.io import load_checkpoint

    x, y, _, _ = small
    model = _mlp()

    def too_large_after_two_epochs(trainer, epoch, logs):
        if epoch == 2:
            trainer.optimizer.param_groups[0]["lr"] = 1e4

    with pytest.raises(TrainingDiverged) as info:
        fit(model, (x * 1e3, y), optimizer="sgd", lr=1e-6, epochs=30, batch_size=100,
            checkpoint_dir=tmp_path, callbacks=[LambdaCallback(
                on_epoch_end=too_large_after_two_epochs)], **_quiet())
    message = str(info.value)
    assert "at step" in message and "learning rate (10000)" in message
    checkpoint = load_checkpoint(tmp_path / "last.safetensors")
    assert checkpoint.epoch == 2
    assert all(np.isfinite(v).all() for v in checkpoint.model_state.values())
    assert str(tmp_path / "last.safetensors") in message


def test_early_stopping_triggers_and_restores_the_best_weights(small):
    x, y, _, _ = small
    model = _mlp()
    snapshots = {}
    remember = LambdaCallback(on_epoch_end=lambda t, e, logs: snapshots.__setitem__(
        e, {k: v.copy() for k, v in t.model.state_dict().items()}))
    # Training loss falls every epoch, so in mode "max" the first epoch stays the best.
    stopper = EarlyStopping(monitor="loss", mode="max", patience=2, restore_best_weights=True)
    history = fit(model, (x, y), lr=1e-2, epochs=20, batch_size=100,
                  callbacks=[remember, stopper], **_quiet())
    assert history.epoch == [1, 2, 3] and stopper.stopped_epoch == 3
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[1][name])


def test_restore_best_weights_without_triggering(small):
    x, y, _, _ = small
    model = _mlp()
    stopper = EarlyStopping(monitor="loss", mode="max", patience=100, restore_best_weights=True)
    snapshots = {}
    remember = LambdaCallback(on_epoch_end=lambda t, e, logs: snapshots.__setitem__(
        e, {k: v.copy() for k, v in t.model.state_dict().items()}))
    fit(model, (x, y), lr=1e-2, epochs=3, batch_size=100, callbacks=[remember, stopper],
        **_quiet())
    assert stopper.stopped_epoch is None
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[1][name])


def test_reduce_lr_on_plateau_follows_the_metric_it_monitors(small):
    x, y, xt, yt = small
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, monitor="loss", mode="max", factor=0.5,
                                                   patience=1)
    history = fit(model, (x, y), optimizer=opt, schedule=plateau, epochs=5, batch_size=100,
                  validation_data=(xt, yt), **_quiet())
    # Stepped once per epoch with the training loss (its monitor, though val_loss is logged too).
    # Epoch 1 sets the best and every later one is "worse": PyTorch's rule (more than
    # `patience` bad epochs) halves the lr at the end of epochs 3 and 5. `lr` is the rate each
    # epoch trained at (its last step's), so the halvings show from the next epoch on.
    assert history["lr"] == [0.1, 0.1, 0.1, 0.05, 0.05]
    assert history.trainer.optimizer.param_groups[0]["lr"] == 0.025


def test_plateau_by_name_watches_val_loss_or_else_the_training_loss(small):
    x, y, xt, yt = small
    with_val = fit(_mlp(), (x, y), schedule="plateau", epochs=1, batch_size=100,
                   validation_data=(xt, yt), **_quiet())
    without = fit(_mlp(), (x, y), schedule="plateau", epochs=1, batch_size=100, **_quiet())
    assert with_val.trainer.scheduler.monitor == "val_loss"
    assert without.trainer.scheduler.monitor == "loss"
    assert with_val.trainer.scheduler.best == with_val["val_loss"][0]
    assert without.trainer.scheduler.best == without["loss"][0]


def test_a_plateau_watching_a_metric_that_is_not_logged_names_it(small):
    x, y, _, _ = small
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt)  # val_loss, but no validation data
    with pytest.raises(ValueError, match="ReduceLROnPlateau: monitored metric 'val_loss' is not "
                                         "logged; available: accuracy, loss"):
        fit(model, (x, y), optimizer=opt, schedule=plateau, epochs=1, batch_size=100,
            **_quiet())


def test_monitoring_a_metric_that_is_not_logged_names_it(small):
    x, y, _, _ = small
    with pytest.raises(ValueError, match="'val_loss' is not logged"):
        fit(_mlp(), (x, y), epochs=1, batch_size=100, callbacks=[EarlyStopping()], **_quiet())


def test_ema_weights_are_what_evaluation_sees(small):
    x, y, xt, yt = small
    model = _mlp()
    history = fit(model, (x, y), lr=1e-2, epochs=3, batch_size=100, ema_decay=0.9,
                  test_data=(xt, yt), **_quiet())
    trainer = history.trainer
    plain = trainer._evaluate((xt, yt))
    averaged = _mlp()
    trainer.ema.copy_to(averaged)
    trainer.model = averaged
    assert history.test["test_loss"] == pytest.approx(trainer._evaluate((xt, yt))["loss"],
                                                      rel=1e-6)
    assert history.test["test_loss"] != pytest.approx(plain["loss"], rel=1e-6)


def test_bad_arguments_name_the_mistake(small):
    x, y, _, _ = small
    with pytest.raises(ValueError, match="unknown optimizer|Unknown optimizer|'sgdd'"):
        fit(_mlp(), (x, y), optimizer="sgdd", epochs=1, **_quiet())
    with pytest.raises(ValueError, match="exactly one of epochs or steps"):
        fit(_mlp(), (x, y), epochs=1, steps=3, **_quiet())
    with pytest.raises(ValueError, match="grad_accumulation"):
        fit(_mlp(), (x, y), epochs=1, grad_accumulation=0, **_quiet())
    with pytest.raises(ValueError, match="lr and weight_decay are set on the optimizer"):
        model = _mlp()
        fit(model, (x, y), optimizer=optim.SGD(model.parameters(), lr=0.1), lr=0.2, epochs=1,
            **_quiet())
    with pytest.raises(ValueError, match="600 inputs but 599 targets"):
        fit(_mlp(), (x, y[:-1]), epochs=1, **_quiet())


def test_runs_are_recorded_in_the_store(small, tmp_path):
    from steepest.store import RunStore

    x, y, xt, yt = small
    store = RunStore(tmp_path / "runs.db")
    history = fit(_mlp(), (x, y), lr=1e-2, epochs=3, batch_size=100, test_data=(xt, yt),
                  store=store, run_name="tiny", **_quiet())
    record = store.run(history.run_id)
    assert record.status == "finished" and record.name == "tiny"
    assert record.results["test_accuracy"] == pytest.approx(history.test["test_accuracy"])
    steps, losses = store.metrics(history.run_id, scope="epoch")["loss"]
    np.testing.assert_array_equal(steps, [1, 2, 3])
    np.testing.assert_allclose(losses, history["loss"])
    steps, losses = store.metrics(history.run_id, scope="step")["loss"]
    assert len(steps) == 18
    np.testing.assert_allclose(losses, history.step_loss)


# ---- resuming ------------------------------------------------------------------------------

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import steepest as st
    from steepest import nn
    from steepest.data import load_mnist1d
    from steepest.data.augment import GaussianNoise
    from steepest.train import LambdaCallback, fit

    kill_at, resume, out, ckpt = int(sys.argv[1]), sys.argv[2] or None, sys.argv[3], sys.argv[4]
    data = load_mnist1d()
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))

    def on_step_end(trainer, step, logs):
        with open(out, "a") as f:
            f.write(f"{step} {float(logs['loss']).hex()}\\n")
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no last words

    history = fit(model, (data.x[:500], data.y[:500]), optimizer="adam", lr=1e-2,
                  schedule="cosine", steps=60, batch_size=50, augment=GaussianNoise(0.05),
                  ema_decay=0.9, test_data=(data.x_test[:200], data.y_test[:200]),
                  checkpoint_dir=ckpt, checkpoint_every=7, resume=resume,
                  callbacks=[LambdaCallback(on_step_end=on_step_end)], progress=False,
                  log=None, seed=3)
    np.savez(out + ".npz", **model.state_dict(),
             test_loss=history.test["test_loss"], history_loss=history["loss"])
""")


def _run_script(tmp_path, kill_at, resume, out, ckpt):
    script = tmp_path / "train_script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(script), str(kill_at), resume or "", str(out),
                           str(ckpt)], env=env, capture_output=True, text=True, timeout=120)


def _losses(path):
    losses = {}
    for line in path.read_text().splitlines():
        step, value = line.split()
        losses[int(step)] = float.fromhex(value)  # a repeated step keeps its last value
    return losses


def test_a_killed_run_resumes_bit_for_bit(tmp_path):
    whole = _run_script(tmp_path, -1, None, tmp_path / "whole.txt", tmp_path / "ckpt_whole")
    assert whole.returncode == 0, whole.stderr
    killed = _run_script(tmp_path, 25, None, tmp_path / "parts.txt", tmp_path / "ckpt")
    assert killed.returncode == -9  # SIGKILL: nothing was closed politely
    # Steps 1-25 ran; the last checkpoint is step 21 (every 7 steps; epochs end at 10, 20).
    resumed = _run_script(tmp_path, -1, str(tmp_path / "ckpt" / "last.safetensors"),
                          tmp_path / "parts.txt", tmp_path / "ckpt")
    assert resumed.returncode == 0, resumed.stderr
    expected, got = _losses(tmp_path / "whole.txt"), _losses(tmp_path / "parts.txt")
    assert sorted(got) == list(range(1, 61))
    assert got == expected  # every step's loss, bit for bit
    a, b = np.load(tmp_path / "whole.txt.npz"), np.load(tmp_path / "parts.txt.npz")
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_resuming_politely_stopped_run_in_process(small, tmp_path):
    x, y, _, _ = small
    whole = fit(_mlp(), (x, y), lr=1e-2, schedule="onecycle", steps=30, batch_size=100,
                **_quiet(seed=5))
    first = _mlp()
    fit(first, (x, y), lr=1e-2, schedule="onecycle", steps=30, batch_size=100,
        checkpoint_dir=tmp_path, checkpoint_every=4, callbacks=[LambdaCallback(
            on_step_end=lambda t, s, logs: setattr(t, "stop_training", s == 14))],
        **_quiet(seed=5))
    resumed = fit(_mlp(seed=99), (x, y), lr=1e-2, schedule="onecycle", steps=30,
                  batch_size=100, resume=tmp_path / "last.safetensors", **_quiet(seed=5))
    assert resumed.step_loss == whole.step_loss
    assert resumed.history == whole.history


def test_resume_repeats_early_stopping_and_restores_the_same_best_weights(small, tmp_path):
    x, y, _, _ = small

    def run(model, folder, stop_at=None, resume=None):
        stopper = EarlyStopping(monitor="loss", mode="max", patience=3,
                                restore_best_weights=True)
        halt = LambdaCallback(on_step_end=lambda t, s, logs: setattr(
            t, "stop_training", s == stop_at))
        return fit(model, (x, y), lr=1e-2, epochs=20, batch_size=100,
                   checkpoint_dir=tmp_path / folder, callbacks=[stopper, halt], resume=resume,
                   **_quiet(seed=1))

    whole_model = _mlp()
    whole = run(whole_model, "whole")
    assert whole.epoch == [1, 2, 3, 4]  # epoch 1 stays the best; patience 3 ends at epoch 4
    run(_mlp(), "part", stop_at=15)  # mid-epoch 3, after the best weights were taken at epoch 1
    resumed_model = _mlp(seed=7)
    resumed = run(resumed_model, "part", resume=tmp_path / "part" / "last.safetensors")
    assert resumed.epoch == whole.epoch and resumed.step_loss == whole.step_loss
    for name, value in whole_model.state_dict().items():
        np.testing.assert_array_equal(resumed_model.state_dict()[name], value, err_msg=name)


def test_restoring_the_best_epoch_with_an_ema_restores_the_evaluated_weights(small):
    x, y, xt, yt = small
    stopper = EarlyStopping(monitor="val_loss", mode="max", patience=2, restore_best_weights=True)
    history = fit(_mlp(), (x, y), lr=1e-2, epochs=10, batch_size=100, ema_decay=0.9,
                  validation_data=(xt, yt), callbacks=[stopper], **_quiet())
    best = history["val_loss"][stopper.best_epoch - 1]
    assert stopper.best == best
    assert history.trainer.evaluate((xt, yt))["loss"] == pytest.approx(best, rel=1e-6)


def test_early_stopping_start_from_epoch_counts_like_keras(small):
    x, y, _, _ = small
    stopper = EarlyStopping(monitor="loss", mode="max", patience=1, start_from_epoch=2)
    history = fit(_mlp(), (x, y), lr=1e-2, epochs=10, batch_size=100, callbacks=[stopper],
                  **_quiet())
    assert stopper.best_epoch == 3 and history.epoch == [1, 2, 3, 4]


def test_a_checkpoint_in_the_legacy_layout_resumes_bit_for_bit():
    # Written by steepest before the loop was rebuilt (tests/data/make_legacy_checkpoint.py):
    # arrays split out of the extras by the Trainer itself. Today's code reads it and continues.
    from legacy_run import LEGACY_CHECKPOINT, legacy_fit

    whole_model, whole = legacy_fit()
    resumed_model, resumed = legacy_fit(resume=LEGACY_CHECKPOINT, model_seed=5)
    assert len(whole.step_loss) == 24
    assert resumed.step_loss == whole.step_loss
    # The epochs recorded before the checkpoint keep the lr as the code of then logged it (the
    # rate after the epoch's last schedule step); from the resume on it is the rate the epoch
    # trained at, as in the run that never stopped.
    from steepest.io import load_checkpoint

    saved = load_checkpoint(LEGACY_CHECKPOINT).epoch
    assert {k: v for k, v in resumed.history.items() if k != "lr"} == \
        {k: v for k, v in whole.history.items() if k != "lr"}
    assert resumed.history["lr"][saved:] == whole.history["lr"][saved:]
    for name, value in whole_model.state_dict().items():
        np.testing.assert_array_equal(resumed_model.state_dict()[name], value, err_msg=name)
    ema_whole, ema_resumed = whole.trainer.ema.state_dict(), resumed.trainer.ema.state_dict()
    for name, value in ema_whole.items():
        np.testing.assert_array_equal(ema_resumed[name], value, err_msg=name)


def test_history_plot_returns_a_figure_of_the_curves(small, tmp_path):
    x, y, xt, yt = small
    history = fit(_mlp(), (x, y), optimizer="sgd", lr=0.1, schedule="cosine", epochs=4,
                  batch_size=100, validation_split=0.2, test_data=(xt, yt), **_quiet())
    figure = history.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    loss, accuracy, lr = figure.axes
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy", "learning rate"]
    solid, dashed, dotted = loss.lines
    assert list(solid.get_xdata()) == [1, 2, 3, 4]
    assert list(solid.get_ydata()) == history["loss"] and list(dashed.get_ydata()) == \
        history["val_loss"] and list(dotted.get_ydata()) == history["test_loss"]
    assert list(lr.lines[0].get_ydata()) == history["lr"]
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels == ["this run", "training", "validation", "test"]


def test_fit_in_a_notebook_draws_a_live_plot_that_updates_in_place(small, monkeypatch):
    from steepest.train import LivePlot, callbacks

    x, y, _, _ = small
    shown = []

    class Handle:
        def update(self, png):
            shown.append(("update", png))

    def display(png):
        shown.append(("display", png))
        return Handle()

    live = LivePlot(interval=0.0, display=display)
    fit(_mlp(), (x, y), optimizer="sgd", lr=0.1, epochs=3, batch_size=100,
        callbacks=[live], **_quiet())
    assert [kind for kind, _ in shown] == ["display", "update", "update", "update"]
    assert all(png[:4] == b"\x89PNG" for _, png in shown) and live.draws == 4
    # fit adds one by itself only in a Jupyter kernel, and only with progress on.
    added = []
    monkeypatch.setattr(callbacks, "_ipython_display", lambda png: added.append(png) or Handle())
    monkeypatch.setattr(sys.modules["steepest.train.fit"], "in_notebook", lambda: True)
    fit(_mlp(), (x, y), optimizer="sgd", lr=0.1, epochs=1, batch_size=100, log=None)
    assert len(added) == 1
    fit(_mlp(), (x, y), optimizer="sgd", lr=0.1, epochs=1, batch_size=100, **_quiet())
    assert len(added) == 1 and not callbacks.in_notebook()


def test_the_notebook_picture_goes_through_ipythons_display_and_is_replaced():
    import base64

    from IPython.core.formatters import DisplayFormatter
    from IPython.core.interactiveshell import InteractiveShell

    from steepest.train.callbacks import _ipython_display

    shell = InteractiveShell.instance()
    published = []
    shell.display_pub.publish = lambda data, metadata=None, **kwargs: published.append(
        (data, kwargs.get("transient"), kwargs.get("update", False)))
    assert isinstance(shell.display_formatter, DisplayFormatter)
    try:
        handle = _ipython_display(b"\x89PNG first")
        handle.update(b"\x89PNG second")
    finally:
        InteractiveShell.clear_instance()
    (first, transient, update), (second, transient_again, updated) = published
    assert base64.b64decode(first["image/png"]) == b"\x89PNG first"
    assert base64.b64decode(second["image/png"]) == b"\x89PNG second"
    assert transient["display_id"] == transient_again["display_id"]   # the same picture...
    assert not update and updated                                     # ...replaced in place


def test_val_and_test_metrics_are_of_the_model_fit_returns(small, tmp_path):
    from steepest.store import RunStore

    x, y, xt, yt = small
    store = RunStore(tmp_path / "runs.db")
    # In mode "max" a falling validation loss keeps epoch 1 the best: its weights come back.
    stopper = EarlyStopping(monitor="val_loss", mode="max", patience=2,
                            restore_best_weights=True)
    model = _mlp()
    history = fit(model, (x, y), lr=1e-2, epochs=20, batch_size=100, validation_split=0.25,
                  test_data=(xt, yt), callbacks=[stopper], store=store, **_quiet())
    assert history.epoch == [1, 2, 3]
    # The restored model is epoch 1's: its validation metrics are epoch 1's, not the last's.
    assert history.val["val_loss"] == pytest.approx(history["val_loss"][0], rel=1e-9)
    assert history.val["val_accuracy"] == history["val_accuracy"][0] != \
        history["val_accuracy"][-1]
    assert history.test["test_loss"] == pytest.approx(history["test_loss"][0], rel=1e-9)
    results = store.run(history.run_id).results
    assert results["val_accuracy"] == history.val["val_accuracy"]
    assert results["final_val_accuracy"] == history["val_accuracy"][-1]
