"""steepest.distributed on a real (local) Ray: synchronous data-parallel reproducing one process,
the asynchronous parameter server, and its faults: a worker killed mid-run, the server killed
and restarted from its checkpoint, a run resumed from the server's checkpoint."""

import threading
import time

import numpy as np
import pytest

import steepest as st
from steepest import models
from steepest.distributed.data_parallel import DataParallel, shard_bounds
from steepest.optim import SGD


def _data(n=96, dtype=np.float64):
    from steepest.data import load_digits

    split = load_digits()
    return split.x.reshape(len(split.x), -1)[:n].astype(dtype), split.y[:n]


def _mlp(dtype=np.float64):
    st.manual_seed(0)
    model = models.mlp(64, 10, depth=1, width=32)
    return model.double() if dtype == np.float64 else model


def test_shard_bounds_split_like_array_split():
    assert shard_bounds(10, 4) == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert shard_bounds(2, 4) == [(0, 1), (1, 2)]


def _train(model, x, y, steps, gradients):
    """`steps` steps of SGD with momentum on batches of 24 (the last one of each pass 24 too);
    gradients(model, xb, yb) fills p.grad and returns the batch loss."""
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(steps):
        start = (step * 24) % len(x)
        optimizer.zero_grad()
        losses.append(gradients(model, x[start:start + 24], y[start:start + 24]))
        optimizer.step()
    return losses


def _single(model, xb, yb):
    loss = st.nn.functional.cross_entropy(model(st.Tensor(xb)), yb)
    loss.backward()
    return float(loss.item())


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_sync_data_parallel_reproduces_one_process_in_float64(ray_cluster, workers):
    x, y = _data()
    reference = _mlp()
    expected = _train(reference, x, y, 100, _single)
    model = _mlp()
    with DataParallel(model, workers) as dp:
        def gradients(m, xb, yb):
            loss, outputs = dp.forward_backward(xb, yb)
            dp.reduce_gradients()
            assert outputs.shape == (len(xb), 10)
            return loss

        losses = _train(model, x, y, 100, gradients)
        # every worker held the weights of the last step's forward: the driver's before it
        states = dp.worker_states()
    np.testing.assert_allclose(losses, expected, rtol=1e-12, atol=1e-12)
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters(),
                                 strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-12, err_msg=name)
    for state in states[1:]:
        for name, value in state.items():
            np.testing.assert_array_equal(value, states[0][name])


def test_sync_data_parallel_float32_within_rounding(ray_cluster):
    x, y = _data(dtype=np.float32)
    reference = _mlp(np.float32)
    expected = _train(reference, x, y, 30, _single)
    model = _mlp(np.float32)
    with DataParallel(model, 2) as dp:
        def gradients(m, xb, yb):
            loss, _ = dp.forward_backward(xb, yb)
            dp.reduce_gradients()
            return loss

        losses = _train(model, x, y, 30, gradients)
    np.testing.assert_allclose(losses, expected, rtol=1e-4)


# ---------------------------------------------------------------------------- asynchronous
def _async(strategy, workers, epochs, steps_per_epoch=10, **options):
    from steepest.distributed.asynchronous import train_async

    x, y = _data(n=400, dtype=np.float32)
    st.manual_seed(0)
    model = models.mlp(64, 10, depth=1, width=32, init="he")
    before = float(st.nn.functional.cross_entropy(model(st.Tensor(x)), y).item())
    result = train_async(model, (x, y), strategy=strategy, workers=workers, epochs=epochs,
                         batch_size=32, lr=0.1, steps_per_epoch=steps_per_epoch, log=None,
                         **options)
    return before, result, model


def test_async_gem_trains_records_staleness_and_pi_and_resumes(ray_cluster, tmp_path):
    from steepest.io import load_checkpoint

    checkpoint = tmp_path / "server.safetensors"
    before, result, model = _async("gem", 3, 1, checkpoint=checkpoint)
    assert result.summary["commits"] == 3 * 10
    assert result.history["loss"][-1] < 0.8 * before
    assert 0 < result.summary["mean_pi"] <= 5
    assert 0 <= result.summary["clamped_fraction"] < 1
    assert load_checkpoint(checkpoint).step == 30
    epochs = []
    _, second, _ = _async("gem", 3, 3, checkpoint=checkpoint,
                          on_epoch=lambda epoch, logs: epochs.append(epoch))
    assert epochs == [2, 3]  # the first epoch is not run again
    assert second.summary["commits"] == 90 and second.history["commits"] == [60, 90]
    assert second.summary["max_staleness"] >= 1  # three running workers overlap
    assert second.history["loss"][-1] < result.history["loss"][-1]
    assert load_checkpoint(checkpoint).step == 90


def _kill_when(ray, handle_of, ready, server, seen):
    """From another thread: once ready(commits of each worker) holds, note the commits and
    kill the actor (Ray restarts it)."""
    def watch():
        while not ready(ray.get(server.commits_by.remote())):
            time.sleep(0.02)
        seen["commits"] = ray.get(server.commits_by.remote())
        ray.kill(handle_of(), no_restart=False)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_killed_worker_rejoins_and_the_run_finishes(ray_cluster):
    seen = {}
    threads = []

    def on_start(server, workers):
        # while worker 1 runs its first epoch (it has committed, so it is past its start)
        threads.append(_kill_when(ray_cluster, lambda: workers[1], lambda c: c[1] >= 5, server,
                                  seen))

    before, result, model = _async("downpour", 2, 2, on_start=on_start, steps_per_epoch=30)
    threads[0].join(timeout=30)
    assert seen["commits"][1] < 30  # killed inside its epoch's run: the driver saw it die
    assert result.restarts >= 1
    # the killed worker's steps were made up: no update but its in-flight one is lost
    assert result.summary["commits"] == 2 * 2 * 30
    assert result.history["loss"][-1] < before


def test_a_killed_server_restarts_from_its_checkpoint(ray_cluster, tmp_path):
    from steepest.io import load_checkpoint

    checkpoint = tmp_path / "server.safetensors"
    seen = {}
    threads = []

    def on_start(server, workers):
        # after the first epoch's checkpoint (2 workers × 10 steps), in the second epoch
        threads.append(_kill_when(ray_cluster, lambda: server, lambda c: sum(c) >= 25, server,
                                  seen))

    before, result, model = _async("staleness", 2, 3, checkpoint=checkpoint, on_start=on_start)
    assert result.history["commits"] == [20, 40, 60]
    threads[0].join(timeout=30)
    assert "commits" in seen
    assert result.summary["commits"] == 2 * 3 * 10  # the rolled-back commits were redone
    saved = load_checkpoint(checkpoint)
    assert saved.step == 60 and saved.extra["parameter_server"]["strategy"] == "staleness"
    np.testing.assert_array_equal(saved.model_state["3.weight"], model[3].weight.data)
    assert result.history["loss"][-1] < before


def test_fit_through_the_loop_seams_is_the_single_process_run(ray_cluster):
    """`fit(..., **dp.seams())`: the Trainer's whole step (accumulation, clipping, schedule,
    metrics) on workers, float64: weights and every logged number as one process."""
    from steepest.train import fit

    x, y = _data(n=120)

    def run(**seams):
        model = _mlp()
        history = fit(model, (x, y), optimizer="momentum", lr=0.05, batch_size=20, epochs=3,
                      schedule="cosine", grad_accumulation=2, clip_grad_norm=1.0,
                      progress=False, log=None, seed=3, **seams)
        return model, history

    reference, expected = run()
    model = _mlp()
    with DataParallel(model, 3) as dp:
        history = fit(model, (x, y), optimizer="momentum", lr=0.05, batch_size=20, epochs=3,
                      schedule="cosine", grad_accumulation=2, clip_grad_norm=1.0,
                      progress=False, log=None, seed=3, **dp.seams())
    np.testing.assert_allclose(history.step_loss, expected.step_loss, rtol=1e-12)
    assert history["accuracy"] == expected["accuracy"]
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters(),
                                 strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-12, err_msg=name)
