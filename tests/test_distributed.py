"""steepest.distributed without Ray: the strategies' rules by hand, the parameter server's
bookkeeping and checkpoint, the simulator, and `import steepest` staying free of Ray."""

import math
import subprocess
import sys

import numpy as np
import pytest

import steepest as st
from steepest import models
from steepest.distributed import STRATEGIES, make_strategy
from steepest.distributed.parameter_server import ParameterServer, named_arrays
from steepest.distributed.simulate import SCHEDULES, commit_order, simulate
from steepest.distributed.strategies import (
    DelayCompensated,
    GradientEnergyMatching,
    delay_compensated,
    elastic_difference,
    gem_scaling,
)
from steepest.optim import SGD


def _digits(n=256):
    from steepest.data import load_digits

    split = load_digits()
    return split.x.reshape(len(split.x), -1)[:n].astype(np.float64), split.y[:n]


def _mlp(seed=0, dtype=np.float64):
    st.manual_seed(seed)
    model = models.mlp(64, 10, depth=1, width=16, init="he")
    return model.double() if dtype == np.float64 else model


# ---------------------------------------------------------------------------- pure rules
def test_gem_scaling_by_hand():
    delta = np.array([-0.1, 0.2, 0.0, -0.05])
    m = np.array([-0.5, 0.1, 0.3, 0.01])
    shift = np.array([0.2, -0.05, 0.1, 0.5])
    pi = gem_scaling(delta, m, shift, kappa=2.0, eps=1e-16)
    # (κ|m| − |θ−s|)/(|Δθ|+ε): (1.0−0.2)/0.1 = 8 → clamped 5; (0.2−0.05)/0.2 = 0.75;
    # (0.6−0.1)/1e-16 → 5; (0.02−0.5)/0.05 < 0 → 0
    np.testing.assert_allclose(pi, [5.0, 0.75, 5.0, 0.0])


def test_gem_worker_commit_tracks_momentum_and_last_pull():
    gem = GradientEnergyMatching(momentum=0.5)
    theta0 = {"w": np.array([1.0, 1.0])}
    state = gem.worker_init(theta0)
    delta = {"w": np.array([-0.1, 0.1])}
    commit, state, stats = gem.worker_commit(delta, state, {"w": np.array([1.0, 1.0])})
    # m = Δθ, θ − s = 0: π = |Δθ|/(|Δθ|+ε) = 1, so the first commit is Δθ itself
    np.testing.assert_allclose(commit["w"], [-0.1, 0.1])
    assert stats == {"mean_pi": pytest.approx(1.0), "clamped_fraction": 0.0}
    central = {"w": np.array([0.85, 1.1])}  # others moved θ by (−0.15, +0.1)
    commit, state, stats = gem.worker_commit(delta, state, central)
    # m = 0.5 m + Δθ = (−0.15, 0.15); π = (0.15 − |shift|)/0.1 = (0, 0.5)
    np.testing.assert_allclose(state.momentum_buffer["w"], [-0.15, 0.15])
    np.testing.assert_allclose(commit["w"], [0.0, 0.05], atol=1e-12)
    np.testing.assert_allclose(state.last_pull["w"], [0.85, 1.1])
    assert stats["clamped_fraction"] == 0.5
    assert stats["mean_pi"] == pytest.approx(0.25)


def test_delay_compensation_and_elastic_difference_by_hand():
    g = np.array([1.0, -2.0])
    np.testing.assert_allclose(delay_compensated(g, np.array([0.5, 0.0]), np.array([0.0, 1.0]),
                                                 lam=0.1),
                               [1.0 + 0.1 * 1 * 0.5, -2.0 + 0.1 * 4 * -1.0])
    np.testing.assert_allclose(elastic_difference(np.array([2.0, 0.0]), np.array([1.0, 1.0]),
                                                  0.25), [0.25, -0.25])


@pytest.mark.parametrize("name,options,error", [
    ("gem", {"momentum": 1.5}, "momentum must be a number"),
    ("gem", {"kappa": 0}, "kappa must be a number"),
    ("dcasgd", {"lam": -1}, "lam must be a number"),
    ("easgd", {"period": 0}, "period must be a positive integer"),
    ("downpour", {"kappa": 2}, "unknown option"),
    ("downpoor", {}, "unknown strategy 'downpoor'"),
])
def test_bad_strategy_options(name, options, error):
    with pytest.raises((ValueError, TypeError), match=error):
        make_strategy(name, **options)


def test_cli_names_match_the_library():
    from steepest.cli import async_study

    assert async_study.STRATEGY_NAMES == tuple(STRATEGIES)
    assert async_study.SCHEDULE_NAMES == SCHEDULES


# ---------------------------------------------------------------------------- the server
def test_server_staleness_scaling_and_log():
    model = _mlp()
    server = ParameterServer(model, SGD(list(model.named_parameters()), lr=0.5),
                             make_strategy("staleness"), workers=2)
    before = {k: v.copy() for k, v in named_arrays(model).items()}
    grads = {k: np.ones_like(v) for k, v in before.items()}
    server.pull(0)
    server.pull(1)
    server.commit(0, grads)           # τ = 0: full step
    central, version = server.commit(1, grads)  # τ = 1: half a step
    assert version == 2 and server.log["staleness"] == [0, 1]
    for name, value in central.items():
        np.testing.assert_allclose(value, before[name] - 0.5 - 0.25)
    assert server.summary()["mean_staleness"] == 0.5


def test_dcasgd_server_compensates_with_the_workers_backup():
    model = _mlp()
    server = ParameterServer(model, SGD(list(model.named_parameters()), lr=0.1),
                             DelayCompensated(lam=0.5), workers=2)
    server.pull(0)
    server.pull(1)
    theta0 = {k: v.copy() for k, v in named_arrays(model).items()}
    g = {k: np.full_like(v, 2.0) for k, v in theta0.items()}
    server.commit(0, g)  # θ1 = θ0 − 0.2 (no delay for worker 0)
    central, _ = server.commit(1, g)  # worker 1's backup is θ0: g̃ = 2 + 0.5·4·(−0.2) = 1.6
    for name, value in central.items():
        np.testing.assert_allclose(value, theta0[name] - 0.2 - 0.16)


def test_server_checkpoint_round_trip(tmp_path):
    model = _mlp()
    server = ParameterServer(model, SGD(list(model.named_parameters()), lr=0.1, momentum=0.9),
                             make_strategy("dcasgd"), workers=2)
    grads = {k: np.full_like(v, 0.3) for k, v in named_arrays(model).items()}
    for worker in (0, 1, 0):
        server.commit(worker, grads)
    path = server.save(tmp_path / "server.safetensors")
    copy = _mlp(seed=5)
    restored = ParameterServer(copy, SGD(list(copy.named_parameters()), lr=0.1, momentum=0.9),
                               make_strategy("dcasgd"), workers=2)
    restored.restore(path)
    assert restored.version == 3
    for name in ("version", "worker", "staleness"):
        assert restored.log[name] == server.log[name]
    for worker in (1, 0):  # both continue identically
        a, _ = server.commit(worker, grads)
        b, _ = restored.commit(worker, grads)
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    other = ParameterServer(_mlp(), None, make_strategy("gem"), workers=2)
    with pytest.raises(ValueError, match="written by strategy 'dcasgd' with 2 workers"):
        other.restore(path)


# ---------------------------------------------------------------------------- the simulator
def test_round_robin_staleness_is_n_minus_one_after_the_first_round():
    x, y = _digits()
    result = simulate("downpour", _mlp(), (x, y), workers=4, steps=5, batch_size=16, lr=0.05)
    staleness = result.log["staleness"]
    assert staleness[:4] == [0, 1, 2, 3] and set(staleness[4:]) == {3}
    assert result.log["worker"] == [0, 1, 2, 3] * 5


def test_random_schedule_is_seeded():
    a = commit_order("random", 4, 10, seed=3)
    assert np.array_equal(a, commit_order("random", 4, 10, seed=3))
    assert not np.array_equal(a, commit_order("random", 4, 10, seed=4))
    assert np.bincount(a).tolist() == [10] * 4


def test_simulation_is_deterministic_and_one_worker_downpour_is_sgd():
    x, y = _digits()
    first = simulate("gem", _mlp(), (x, y), workers=3, steps=10, batch_size=16, seed=1)
    second = simulate("gem", _mlp(), (x, y), workers=3, steps=10, batch_size=16, seed=1)
    assert first.loss == second.loss and first.log == second.log
    # one worker, DOWNPOUR: plain SGD on that worker's batches, step for step
    from steepest.data import DataLoader
    from steepest.distributed.simulate import _training_loss

    model = _mlp()
    result = simulate("downpour", model, (x, y), workers=1, steps=7, batch_size=16, lr=0.1,
                      seed=2, eval_every=7)
    reference = _mlp()
    optimizer = SGD(reference.parameters(), lr=0.1)
    seed = int(np.random.default_rng([2, 0]).integers(2**31))
    for step, (xb, yb) in enumerate(DataLoader((x, y), batch_size=16, shuffle=True,
                                               seed=seed)):
        if step == 7:
            break
        optimizer.zero_grad()
        st.nn.functional.cross_entropy(reference(xb), yb.data).backward()
        optimizer.step()
    assert result.final_loss == pytest.approx(_training_loss(reference, x, y, None), rel=1e-12)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_learns_with_four_workers(name):
    x, y = _digits()
    start = simulate(name, _mlp(), (x, y), workers=4, steps=1, batch_size=32, lr=0.1)
    result = simulate(name, _mlp(), (x, y), workers=4, steps=40, batch_size=32, lr=0.1)
    assert result.diverged is None
    # The staleness rule divides each step by τ + 1 = 4, and EASGD's centre follows workers
    # that take 40 steps each: both move about as far as 40 SGD steps, the others 160
    slow = name in ("staleness", "easgd")
    assert result.final_loss < (0.85 if slow else 0.6) * start.loss[0]
    assert result.summary["commits"] == 160
    if name == "gem":
        assert 0 < result.mean_pi <= 5 and 0 <= result.clamped_fraction < 1


def test_gem_survives_where_downpour_diverges():
    """The paper's point, small: 16 round-robin workers at lr 0.2 (the study's setup)."""
    from steepest.lab.async_study import _data

    x, y = _data(train_size=512)

    def model():
        st.manual_seed(0)
        return models.mlp(64, 10, depth=1, width=128, init="he")

    downpour = simulate("downpour", model(), (x, y), workers=16, steps=60, lr=0.2)
    gem = simulate("gem", model(), (x, y), workers=16, steps=60, lr=0.2)
    assert downpour.final_loss > 1.5  # collapsed (ln 10 = 2.30: uniform guessing) or diverged
    assert gem.final_loss < 0.1 and math.isfinite(gem.final_loss)
    assert gem.mean_staleness == pytest.approx(15, abs=1)


# ---------------------------------------------------------------------------- imports
def test_import_steepest_and_single_process_training_never_import_ray():
    code = ("import sys, numpy as np, steepest as st\n"
            "import steepest.distributed, steepest.distributed.simulate\n"
            "from steepest import models\n"
            "from steepest.train import fit\n"
            "m = models.mlp(4, 2, depth=1, width=3)\n"
            "x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)\n"
            "fit(m, (x, (x[:, 0] > 0).astype(np.int64)), epochs=1, progress=False, log=None)\n"
            "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if 'ray' in m)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
