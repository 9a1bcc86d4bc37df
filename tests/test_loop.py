"""The training loop's seams and tasks: regression metrics against scikit-learn, regression that
learns, a data-parallel and a parameter-server runner plugged into reduce_gradients and
apply_update, optimizers that need a closure, and the scheduler protocol."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

import steepest as st
from steepest import nn, optim
from steepest.train import (
    Classification,
    NonFiniteLoss,
    Regression,
    Trainer,
    TrainingLoop,
    evaluate,
    fit,
    get_task,
    infer_task,
)


def _quiet(**kwargs):
    return dict(progress=False, log=None, **kwargs)


def _linear_data(n=400, seed=0, outputs=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    weights = np.array([[2.0, -1.0, 0.5], [0.3, 0.0, -2.0]][:outputs], dtype=np.float32)
    y = x @ weights.T + 10.0 + 0.1 * rng.normal(size=(n, outputs)).astype(np.float32)
    return x, (y[:, 0] if outputs == 1 else y)


# ---- tasks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("outputs", [1, 3])
def test_regression_metrics_over_batches_equal_scikit_learn_on_the_whole_set(outputs):
    rng = np.random.default_rng(3)
    # Targets far from zero with a small spread: the pairwise merge of means keeps r2 exact.
    y = 1e4 + rng.normal(size=(101, outputs))
    predicted = y + rng.normal(scale=0.3, size=y.shape)
    task = Regression()
    sums = task.zero_sums()
    for start in (0, 7, 40, 41, 90):  # uneven batches, one of a single example
        stop = {0: 7, 7: 40, 40: 41, 41: 90, 90: 101}[start]
        task.update_sums(sums, predicted[start:stop], y[start:stop])
    metrics = task.metrics(sums)
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y, predicted), rel=1e-12)
    assert metrics["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, predicted)), rel=1e-12)
    assert metrics["r2"] == pytest.approx(r2_score(y, predicted), rel=1e-9)


def test_regression_r2_of_a_constant_target_follows_scikit_learn():
    task = Regression()
    for predicted, expected in ((np.full((4, 1), 2.0), 1.0), (np.full((4, 1), 3.0), 0.0)):
        sums = task.zero_sums()
        task.update_sums(sums, predicted, np.full(4, 2.0))
        assert task.metrics(sums)["r2"] == expected == r2_score(np.full(4, 2.0), predicted)


def test_regression_targets_of_one_column_meet_outputs_of_one_column():
    task = Regression()
    outputs = st.tensor(np.array([[1.0], [2.0]], dtype=np.float32))
    loss = task.loss(outputs, np.array([0.0, 4.0]))  # (N,) against (N, 1), float64 to float32
    assert loss.item() == pytest.approx((1 + 4) / 2) and loss.data.dtype == np.float32
    with pytest.raises(ValueError, match=r"outputs of shape \(2, 1\) but the targets have shape "
                                         r"\(2, 3\); give the model one output per target"):
        task.loss(outputs, np.zeros((2, 3)))


def test_tasks_by_name_and_inferred_from_targets():
    assert isinstance(get_task(None), Classification)
    assert isinstance(get_task("regression"), Regression)
    with pytest.raises(ValueError, match="unknown task 'ranking'; choose from classification, "
                                         "regression"):
        get_task("ranking")
    assert infer_task(np.array([0, 2, 1])) == "classification"
    assert infer_task(np.array([0.5, 2.0])) == "regression"
    assert infer_task(np.zeros((3, 2), dtype=np.float32)) == "regression"


def test_evaluate_gives_the_task_metrics_in_eval_mode_and_restores_training_mode():
    x, y = _linear_data(50)
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 1), nn.Dropout(0.5))
    model.train()
    got = evaluate(model, "regression", (x, y), batch_size=16)
    assert model.training
    with st.no_grad():
        model.eval()
        predicted = model(st.tensor(x)).data[:, 0].astype(np.float64)
    assert got["loss"] == pytest.approx(mean_squared_error(y, predicted), rel=1e-5)
    assert got["r2"] == pytest.approx(r2_score(y, predicted), rel=1e-6)


# ---- regression trains -----------------------------------------------------------------------
def test_fit_regression_learns_a_linear_map_and_reports_keras_like_metrics():
    x, y = _linear_data(500)
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1))
    history = fit(model, (x[:400], y[:400]), task="regression", optimizer="adam", lr=3e-2,
                  epochs=60, batch_size=50, test_data=(x[400:], y[400:]), **_quiet())
    for key in ("loss", "mae", "rmse", "r2", "test_loss", "test_mae", "test_rmse", "test_r2"):
        assert len(history[key]) == 60, key
    assert "accuracy" not in history.history
    # Noise std 0.1 around a spread of about 2.3: a fitted map explains nearly everything.
    assert history.test["test_r2"] > 0.99
    assert history.test["test_rmse"] < 0.2
    with st.no_grad():
        model.eval()
        predicted = model(st.tensor(x[400:])).data[:, 0]
    assert history.test["test_r2"] == pytest.approx(r2_score(y[400:], predicted), rel=1e-5)


def test_early_stopping_on_r2_maximises_it():
    from steepest.train import EarlyStopping

    x, y = _linear_data(200)
    stopper = EarlyStopping(monitor="val_r2", patience=2)
    st.manual_seed(0)
    fit(nn.Linear(3, 1), (x, y), task="regression", lr=1e-2, epochs=3, batch_size=50,
        validation_split=0.25, callbacks=[stopper], **_quiet())
    assert stopper._monitor.mode == "max"


def test_tta_is_refused_for_regression():
    x, y = _linear_data(40)
    with pytest.raises(ValueError, match="test-time augmentation averages class probabilities; "
                                         "the task is regression"):
        fit(nn.Linear(3, 1), (x, y), task="regression", epochs=1, tta=("identity",),
            **_quiet())


# ---- the seams -------------------------------------------------------------------------------
def _replica(seed=0):
    st.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()


def test_a_data_parallel_runner_in_reduce_gradients_trains_as_one_process_on_the_whole_batch():
    x, y = _linear_data(64)
    x, y = x.astype(np.float64), y.astype(np.float64)
    single = _replica()
    single_loop = TrainingLoop(single, optim.SGD(single.parameters(), lr=0.1, momentum=0.9),
                               "regression")
    workers = [_replica() for _ in range(2)]
    arrived = []

    def all_reduce(params):
        # A barrier: the last worker to arrive averages everybody's gradients in place.
        arrived.append(params)
        if len(arrived) == len(workers):
            for same in zip(*arrived, strict=True):
                mean = sum(p.grad for p in same) / len(same)
                for p in same:
                    p.grad[...] = mean
            arrived.clear()

    loops = [TrainingLoop(w, optim.SGD(w.parameters(), lr=0.1, momentum=0.9), "regression",
                          reduce_gradients=all_reduce) for w in workers]
    for step in range(5):
        batch = slice(16 * (step % 4), 16 * (step % 4) + 16)
        single_loop.step(x[batch], y[batch])
        shards = [slice(batch.start, batch.start + 8), slice(batch.start + 8, batch.stop)]
        for loop, shard in zip(loops, shards, strict=True):
            loop.zero_grad()
            loop.forward_backward(x[shard], y[shard])
        for loop in loops:
            loop.reduce_gradients()
        for loop in loops:
            loop.apply_update()
    for name, value in single.state_dict().items():
        for worker in workers:
            np.testing.assert_allclose(worker.state_dict()[name], value, rtol=1e-12,
                                       atol=1e-14, err_msg=name)


def test_a_parameter_server_in_apply_update_gives_the_local_training_bit_for_bit():
    x, y = _linear_data(64)
    local = _replica()
    local_history = fit(local, (x.astype(np.float64), y.astype(np.float64)), task="regression",
                        optimizer="adam", lr=1e-2, steps=12, batch_size=16, **_quiet())

    server_model = _replica()  # the server holds the weights and the optimizer
    server_optimizer = optim.Adam(server_model.parameters(), lr=1e-2)
    pushed = []

    def push_and_pull(optimizer, params):
        for theirs, mine in zip(server_model.parameters(), params, strict=True):
            theirs.grad = mine.grad.clone()
        server_optimizer.step()
        pushed.append(len(params))
        for theirs, mine in zip(server_model.parameters(), params, strict=True):
            mine.data[...] = theirs.data

    worker = _replica(seed=1)
    worker.load_state_dict(server_model.state_dict())  # a worker starts from the server's weights
    history = fit(worker, (x.astype(np.float64), y.astype(np.float64)), task="regression",
                  optimizer=optim.SGD(worker.parameters(), lr=123.0), steps=12, batch_size=16,
                  apply_update=push_and_pull, **_quiet())
    assert pushed == [4] * 12  # every step, all four parameters, and never the worker's SGD
    assert history.step_loss == local_history.step_loss
    for name, value in local.state_dict().items():
        np.testing.assert_array_equal(worker.state_dict()[name], value, err_msg=name)


def test_on_after_backward_sees_reduced_gradients_and_clipping_comes_after():
    from steepest.train import LambdaCallback

    x, y = _linear_data(32)
    seen = []
    model = _replica()
    fit(model, (x.astype(np.float64), y.astype(np.float64)), task="regression",
        optimizer="sgd", lr=1e-3, steps=1, batch_size=32, clip_grad_norm=1e-3,
        reduce_gradients=lambda params: [p.grad.__imul__(3.0) for p in params],
        callbacks=[LambdaCallback(on_after_backward=lambda t, step: seen.append(
            np.sqrt(sum(float(np.sum(p.grad ** 2)) for p in t.model.parameters()))))],
        **_quiet())
    unreduced = _replica()
    TrainingLoop(unreduced, None, "regression").forward_backward(x.astype(np.float64),
                                                                 y.astype(np.float64))
    norm = np.sqrt(sum(float(np.sum(p.grad ** 2)) for p in unreduced.parameters()))
    assert seen[0] == pytest.approx(3 * norm, rel=1e-12)
    grads_after = np.sqrt(sum(float(np.sum(p.grad ** 2)) for p in model.parameters()))
    assert grads_after == pytest.approx(1e-3, rel=1e-4)


def test_an_optimizer_that_needs_a_closure_gets_one_that_recomputes_the_step():
    x, y = _linear_data(32)
    x, y = x.astype(np.float64), y.astype(np.float64)

    class ClosureSGD(optim.SGD):
        """SGD that evaluates the closure first, as LBFGS does (closure required)."""

        calls: list[float] = []

        def step(self, closure):
            loss = closure()
            self.calls.append(float(loss.item()))
            return super().step()

    model, reference = _replica(), _replica()
    loop = TrainingLoop(model, ClosureSGD(model.parameters(), lr=0.05), "regression",
                        clip_grad_norm=0.5)
    plain = TrainingLoop(reference, optim.SGD(reference.parameters(), lr=0.05), "regression",
                         clip_grad_norm=0.5)
    for _ in range(3):
        loop.zero_grad()
        first = loop.forward_backward(x[:16], y[:16], scale=0.5).loss
        second = loop.forward_backward(x[16:], y[16:], scale=0.5).loss
        loop.reduce_gradients()
        loop.apply_update()
        assert ClosureSGD.calls[-1] == pytest.approx(0.5 * first + 0.5 * second, rel=1e-12)
        plain.zero_grad()
        plain.forward_backward(x[:16], y[:16], scale=0.5)
        plain.forward_backward(x[16:], y[16:], scale=0.5)
        plain.reduce_gradients()
        plain.apply_update()
    for name, value in reference.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[name], value, rtol=1e-12, err_msg=name)


def test_a_search_that_needs_a_closure_trains_through_the_loop_by_loss_values_alone():
    """RandomSearch says it needs a closure (the protocol, not its class); it calls it without
    gradients, so the loop's closure only evaluates the step's batches."""
    x, y = _linear_data(64)
    model = _replica()
    search = optim.RandomSearch(model.parameters(), lr=1.0, num_directions=4,
                                generator=np.random.default_rng(0))
    loop = TrainingLoop(model, search, "regression")
    before = st.train.loop.evaluate(model, "regression", (x, y))["loss"]
    for _ in range(30):
        loop.step(x, y)
    after = st.train.loop.evaluate(model, "regression", (x, y))["loss"]
    assert after < 0.2 * before
    assert search.num_evaluations == 30 * 4 + 1  # f0 once, then 4 probes a step
    assert search.last_loss == pytest.approx(after, rel=1e-6)


def test_forward_backward_stops_before_the_backward_of_a_non_finite_loss():
    model = _replica()
    loop = TrainingLoop(model, None, "regression")
    with pytest.raises(NonFiniteLoss) as caught:
        loop.forward_backward(np.zeros((2, 3)), np.array([np.inf, 0.0]))
    assert caught.value.loss == np.inf
    assert all(p.grad is None for p in model.parameters())


def test_seams_must_be_functions():
    with pytest.raises(TypeError, match="reduce_gradients must be a function, got str"):
        TrainingLoop(_replica(), None, reduce_gradients="allreduce")


# ---- the scheduler protocol ----------------------------------------------------------------
def test_any_scheduler_with_interval_and_monitor_is_driven_by_the_protocol():
    x, y = _linear_data(40)

    class HalveWhenWorse:
        """Not an optim.lr_scheduler class: only the protocol's attributes and step()."""

        interval, monitor = "epoch", "val_rmse"

        def __init__(self, optimizer):
            self.optimizer, self.values = optimizer, []

        def step(self, value):
            if self.values and value > self.values[-1]:
                self.optimizer.param_groups[0]["lr"] /= 2
            self.values.append(value)

        def state_dict(self):
            return {"values": self.values}

    model = _replica()
    opt = optim.SGD(model.parameters(), lr=1e-2)
    scheduler = HalveWhenWorse(opt)
    history = fit(model, (x.astype(np.float64), y.astype(np.float64)), task="regression",
                  optimizer=opt, schedule=scheduler, epochs=4, batch_size=10,
                  validation_split=0.25, **_quiet())
    assert scheduler.values == history["val_rmse"]


def test_a_scheduler_that_watches_a_metric_cannot_be_stepped_per_step():
    model = _replica()
    opt = optim.SGD(model.parameters(), lr=1e-2)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, monitor="loss")
    trainer = Trainer(model, opt, task="regression", scheduler=plateau, scheduler_interval="step",
                      progress=False, log=None)
    from steepest.data import DataLoader

    x, y = _linear_data(20)
    with pytest.raises(ValueError, match="watches 'loss', which is logged once per epoch"):
        trainer.fit(DataLoader((x.astype(np.float64), y.astype(np.float64)), batch_size=10),
                    epochs=1)


def test_the_trainer_steps_at_the_train_point_and_evaluates_and_saves_at_the_eval_point(tmp_path):
    from steepest.train import LambdaCallback

    class TwoPoints(optim.SGD):
        """An SGD with schedule-free's train()/eval() protocol, recording the point in use."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.point, self.moves, self.saved_at, self.stepped_at = "train", [], [], set()

        def train(self):
            self.moves.append("train") if self.point != "train" else None
            self.point = "train"

        def eval(self):
            self.moves.append("eval") if self.point != "eval" else None
            self.point = "eval"

        def step(self, closure=None):
            self.stepped_at.add(self.point)
            return super().step(closure)

        def state_dict(self):
            self.saved_at.append(self.point)
            return super().state_dict()

    x, y = _linear_data(40)
    model = _replica()
    opt = TwoPoints(model.parameters(), lr=1e-2)
    seen = []
    fit(model, (x.astype(np.float64), y.astype(np.float64)), task="regression", optimizer=opt,
        epochs=2, batch_size=10, validation_split=0.25, checkpoint_dir=tmp_path,
        checkpoint_every=2, callbacks=[LambdaCallback(
            on_epoch_end=lambda t, e, logs: seen.append(t.optimizer.point))], **_quiet())
    assert opt.stepped_at == {"train"}
    assert seen == ["eval", "eval"]
    assert set(opt.saved_at) == {"eval"} and len(opt.saved_at) >= 4
    assert opt.point == "eval"  # a finished run hands back the weights to evaluate
    # One move to eval and back per epoch end and per step checkpoint, then eval at the end.
    assert opt.moves[-1] == "eval" and opt.moves.count("eval") == opt.moves.count("train") + 1
