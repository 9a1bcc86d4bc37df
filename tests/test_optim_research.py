"""The optimizers PyTorch lacks (Lion, LAMB, LARS, AdaBelief, Yogi, schedule-free SGD and AdamW)
against readable references written here from the papers and from the code whose conventions
they follow (optax, the authors'), step for step over 100 steps: two param groups, an lr
change, a state_dict save and reload into a fresh optimizer mid-run, every option."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_optim import SHAPES, Problem, grid

import steepest
from steepest import optim


# ---------------------------------------------------------------------------- the references
# Each takes one parameter p, its gradient g, a dict of its state (filled on the first call)
# and the options; it returns the new p. Plain NumPy, one formula per line, nothing in place.
def lion(p, g, s, *, lr, betas, weight_decay):
    """Chen et al. 2023, Program 1 (optax's scale_by_lion + decayed weights)."""
    b1, b2 = betas
    m = s.get("m", np.zeros_like(p))
    c = b1 * m + (1 - b1) * g
    s["m"] = b2 * m + (1 - b2) * g
    return p - lr * (np.sign(c) + weight_decay * p)


def _trust(p, u, coefficient=1.0, eps=0.0):
    p_norm, u_norm = np.linalg.norm(p), np.linalg.norm(u)
    return 1.0 if p_norm == 0 or u_norm == 0 else coefficient * p_norm / (u_norm + eps)


def lamb(p, g, s, *, lr, betas, eps, weight_decay):
    """You et al. 2020 as optax.lamb: scale_by_adam, add_decayed_weights, trust ratio."""
    b1, b2 = betas
    t = s["t"] = s.get("t", 0) + 1
    m = s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    v = s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    u = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps) + weight_decay * p
    return p - lr * _trust(p, u) * u


def lars(p, g, s, *, lr, momentum, weight_decay, trust_coefficient, eps, nesterov):
    """You et al. 2017 as optax.lars: decayed weights, trust ratio, lr, then the trace."""
    g = g + weight_decay * p
    u = lr * _trust(p, g, trust_coefficient, eps) * g
    v = s["v"] = u + momentum * s.get("v", 0.0)
    return p - (u + momentum * v if nesterov else v)


def adabelief(p, g, s, *, lr, betas, eps, eps_root, weight_decay, nesterov):
    """Zhuang et al. 2020 as optax.adabelief (scale_by_belief, decayed weights)."""
    b1, b2 = betas
    t = s["t"] = s.get("t", 0) + 1
    m = s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    v = s["s"] = b2 * s.get("s", 0.0) + (1 - b2) * (g - m) ** 2 + eps_root
    if nesterov:
        m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
    else:
        m_hat = m / (1 - b1**t)
    return p - lr * (m_hat / (np.sqrt(v / (1 - b2**t)) + eps) + weight_decay * p)


def yogi(p, g, s, *, lr, betas, eps, initial_accumulator_value):
    """Zaheer et al. 2018 as optax.yogi (both moments start at initial_accumulator_value)."""
    b1, b2 = betas
    t = s["t"] = s.get("t", 0) + 1
    m = s["m"] = b1 * s.get("m", initial_accumulator_value) + (1 - b1) * g
    v = s.get("v", np.full_like(p, initial_accumulator_value))
    v = s["v"] = v - (1 - b2) * np.sign(v - g**2) * g**2
    return p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)


def _schedule_free(p, direction, s, beta, *, lr, warmup_steps, r, weight_lr_power):
    """Defazio et al. 2024, Algorithm 1, with x, y and z written out: p holds y. Returns y."""
    k = s.get("k", 0)
    if "z" not in s:
        s["z"], s["x"], s["lr_max"], s["weight_sum"] = p.copy(), p.copy(), -1.0, 0.0
    gamma = lr * ((k + 1) / warmup_steps if k < warmup_steps else 1.0)
    s["lr_max"] = max(s["lr_max"], gamma)
    weight = (k + 1) ** r * s["lr_max"] ** weight_lr_power
    s["weight_sum"] += weight
    c = weight / s["weight_sum"]
    s["z"] = s["z"] - gamma * direction
    s["x"] = (1 - c) * s["x"] + c * s["z"]
    s["k"] = k + 1
    return (1 - beta) * s["z"] + beta * s["x"]


def sgd_schedule_free(p, g, s, *, lr, momentum, weight_decay, **schedule):
    return _schedule_free(p, g + weight_decay * p, s, momentum, lr=lr, **schedule)


def adamw_schedule_free(p, g, s, *, lr, betas, eps, weight_decay, **schedule):
    b1, b2 = betas
    v = s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    direction = g / (np.sqrt(v / (1 - b2 ** (s.get("k", 0) + 1))) + eps) + weight_decay * p
    return _schedule_free(p, direction, s, b1, lr=lr, **schedule)


REFERENCES = {"Lion": lion, "LAMB": lamb, "LARS": lars, "AdaBelief": adabelief, "Yogi": yogi,
              "SGDScheduleFree": sgd_schedule_free, "AdamWScheduleFree": adamw_schedule_free}

# (name, options, options of the second group): every option, odd values among them.
CASES = (
    [("Lion", dict(lr=1e-3, **o), dict(lr=2e-3, betas=(0.5, 0.7)))
     for o in grid(betas=[(0.9, 0.99), (0.3, 0.95)], weight_decay=[0.0, 0.3])]
    + [("LAMB", dict(lr=0.01, **o), dict(lr=0.02, betas=(0.8, 0.9)))
       for o in grid(eps=[1e-6, 0.1], weight_decay=[0.0, 0.05])]
    + [("LAMB", dict(lr=0.02, betas=(0.5, 0.7)), dict(weight_decay=0.2))]
    + [("LARS", dict(lr=1.0, **o), dict(lr=3.0, momentum=0.5))
       for o in grid(momentum=[0.9, 0.0], weight_decay=[0.0, 0.01], nesterov=[False, True])]
    + [("LARS", dict(lr=2.0, trust_coefficient=0.01, eps=0.5), dict(trust_coefficient=2e-3))]
    + [("AdaBelief", dict(lr=0.01, **o), dict(lr=0.02, betas=(0.8, 0.95)))
       for o in grid(weight_decay=[0.0, 0.1], nesterov=[False, True])]
    + [("AdaBelief", dict(lr=0.01, eps=1e-3, eps_root=1e-4, betas=(0.5, 0.9)), dict(eps=0.1))]
    + [("Yogi", dict(lr=0.01), dict(lr=0.03, betas=(0.8, 0.99))),
       ("Yogi", dict(lr=0.02, eps=0.1, initial_accumulator_value=0.5, betas=(0.5, 0.7)),
        dict(eps=1e-6))]
    + [("SGDScheduleFree", dict(lr=0.01, **o), dict(lr=0.02, momentum=0.5))
       for o in grid(weight_decay=[0.0, 0.1], warmup_steps=[0, 20])]
    + [("SGDScheduleFree", dict(lr=0.005, momentum=0.7, r=1.5, weight_lr_power=0.5),
        dict(warmup_steps=7))]
    + [("AdamWScheduleFree", dict(lr=0.01, **o), dict(lr=0.02, betas=(0.8, 0.99)))
       for o in grid(weight_decay=[0.0, 0.1], warmup_steps=[0, 20])]
    + [("AdamWScheduleFree", dict(lr=0.01, betas=(0.5, 0.9), eps=0.1, r=2.0,
                                  weight_lr_power=1.0), dict(warmup_steps=5))]
)
STEPS, LR_CHANGE_AT, RELOAD_AT = 100, 30, 60


def case_id(case):
    name, options, other = case
    return f"{name}({', '.join(f'{k}={v}' for k, v in options.items())}) | group2 {other}"


def run(name, options, other, dtype=np.float64, swap_every=None):
    """Our class and the reference side by side; yields (step, ours, reference, optimizer)."""
    problem = Problem(2)
    cls = getattr(optim, name)
    reference = REFERENCES[name]
    ours = [steepest.Tensor(a.astype(dtype), requires_grad=True) for a in problem.start]
    theirs = [a.astype(dtype) for a in problem.start]
    states = [{} for _ in theirs]
    group_options = [{**cls.spec.defaults, **options}, {**cls.spec.defaults, **options, **other}]
    opt = cls([{"params": ours[:2]}, {"params": ours[2:], **other}], **options)
    for step in range(STEPS):
        for p, g in zip(ours, problem.grads([p.data for p in ours], 1.0), strict=True):
            p.grad = g
        grads = problem.grads(theirs, 1.0)
        opt.step()
        for i, g in enumerate(grads):
            theirs[i] = np.asarray(reference(theirs[i], g, states[i],
                                             **group_options[0 if i < 2 else 1]), dtype)
        yield step, ours, theirs, opt, states
        if step == LR_CHANGE_AT:
            opt.param_groups[0]["lr"] *= 0.5
            group_options[0]["lr"] *= 0.5
        if step == RELOAD_AT:
            saved = opt.state_dict()
            opt = cls([{"params": ours[:2]}, {"params": ours[2:], **other}],
                      **{**options, "lr": 0.777})
            opt.load_state_dict(saved)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_the_reference_step_for_step(case):
    name, options, other = case
    start = None
    for step, ours, theirs, _, _ in run(name, options, other):
        for i, (p, q) in enumerate(zip(ours, theirs, strict=True)):
            np.testing.assert_allclose(p.data, q, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{case_id(case)}: param {i}, step {step}")
        start = [p.data.copy() for p in ours] if start is None else start
    moved = max(np.abs(p.data - s).max() for p, s in zip(ours, start, strict=True))
    assert moved > 1e-3, f"{case_id(case)}: the parameters did not move"


@pytest.mark.parametrize("name", list(REFERENCES))
def test_float32_stays_float32_and_close_to_the_reference(name):
    case = next(c for c in CASES if c[0] == name)
    *_, (_, ours, theirs, opt, _) = run(*case, dtype=np.float32)
    for p, q in zip(ours, theirs, strict=True):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, q, rtol=1e-4, atol=1e-4)
        for value in opt.state[p]:
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32


@pytest.mark.parametrize("name", ["SGDScheduleFree", "AdamWScheduleFree"])
def test_schedule_free_eval_puts_the_average_x_in_the_parameters(name):
    case = next(c for c in CASES if c[0] == name and c[1].get("weight_decay") == 0.1)
    for step, ours, theirs, opt, states in run(*case):
        if step % 17 == 5:  # evaluate now and then, as a trainer does, then train on
            opt.eval()
            for p, s in zip(ours, states, strict=True):
                np.testing.assert_allclose(p.data, s["x"], rtol=1e-9, atol=1e-11)
            with pytest.raises(RuntimeError, match="in eval mode: call optimizer.train"):
                opt.step()
            opt.eval()  # a second call changes nothing
            for p, s in zip(ours, states, strict=True):
                np.testing.assert_allclose(p.data, s["x"], rtol=1e-9, atol=1e-11)
            opt.train()
            for p, q in zip(ours, theirs, strict=True):
                np.testing.assert_allclose(p.data, q, rtol=1e-9, atol=1e-11)
    saved = opt.state_dict()
    assert all(group["train_mode"] for group in saved["param_groups"])


def test_schedule_free_weights_follow_the_papers_averaging():
    """With r = 0 and weight_lr_power = 0 (no warm-up), c_t = 1/t: the evaluated x is the plain
    mean of the SGD iterates z_1..z_t, as in the paper's Theorem 1."""
    w = steepest.Tensor(np.array([3.0, -1.0]), requires_grad=True)
    opt = optim.SGDScheduleFree([w], lr=0.1, momentum=0.9, weight_lr_power=0.0)
    zs = []
    for _ in range(20):
        w.grad = 2 * w.data  # f = ‖w‖²
        opt.step()
        zs.append(opt.state[w].z.copy())
    opt.eval()
    np.testing.assert_allclose(w.data, np.mean(zs, axis=0), rtol=1e-12)


def test_lars_and_lamb_move_each_layer_by_a_fraction_of_its_norm():
    """The trust ratio: LARS's first step (no momentum yet) has length lr·η·‖w‖ whatever the
    gradient's size; LAMB's has length lr·‖w‖."""
    for scale in (1e-3, 1.0, 1e3):
        w = steepest.Tensor(np.array([3.0, 4.0]), requires_grad=True)
        opt = optim.LARS([w], lr=2.0, trust_coefficient=0.01)
        w.grad = scale * np.array([1.0, -2.0])
        opt.step()
        assert math.isclose(np.linalg.norm(w.data - [3.0, 4.0]), 2.0 * 0.01 * 5.0, rel_tol=1e-12)
        v = steepest.Tensor(np.array([3.0, 4.0]), requires_grad=True)
        lamb_opt = optim.LAMB([v], lr=0.1)
        v.grad = scale * np.array([1.0, -2.0])
        lamb_opt.step()
        assert math.isclose(np.linalg.norm(v.data - [3.0, 4.0]), 0.1 * 5.0, rel_tol=1e-9)


def test_lion_moves_every_coordinate_by_exactly_lr():
    w = steepest.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    opt = optim.Lion([w], lr=0.01)
    w.grad = np.array([1e-8, -3.0, 1e5])
    opt.step()
    np.testing.assert_allclose(w.data, [1.0 - 0.01, -2.0 + 0.01, 0.5 - 0.01], rtol=1e-15)


@pytest.mark.parametrize("cls, options, message", [
    (optim.Lion, dict(betas=(1.0, 0.99)), "Invalid beta parameter at index 0: 1.0"),
    (optim.LAMB, dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    (optim.LARS, dict(trust_coefficient=-1.0), "Invalid trust_coefficient value: -1.0"),
    (optim.AdaBelief, dict(eps_root=-1e-16), "Invalid eps_root value: -1e-16"),
    (optim.Yogi, dict(initial_accumulator_value=-1.0),
     "Invalid initial_accumulator_value value: -1.0"),
    (optim.SGDScheduleFree, dict(momentum=1.0), "Momentum must be between 0 and 1 exclusive"),
    (optim.SGDScheduleFree, dict(warmup_steps=2.5), "Invalid warmup_steps: 2.5"),
    (optim.AdamWScheduleFree, dict(betas=(0.0, 0.9)), "Invalid beta parameter at index 0: 0.0"),
])
def test_invalid_hyperparameters(cls, options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        cls([steepest.Tensor(np.zeros(3), requires_grad=True)], **options)


def test_every_research_optimizer_has_cases():
    assert {c[0] for c in CASES} == set(REFERENCES)
    assert len(SHAPES) == 4


def test_schedule_free_eval_and_train_round_trip_exactly_even_through_a_state_dict():
    """eval() then train() gives back the training point bit for bit (not merely within
    rounding), also after saving in eval mode and loading into a fresh optimizer; weights
    changed while in eval mode are moved by the formula instead."""
    problem = Problem(4)
    params = [steepest.Tensor(a.copy(), requires_grad=True) for a in problem.start]
    opt = optim.AdamWScheduleFree(params, lr=0.05, warmup_steps=3)
    for _ in range(10):
        for p, g in zip(params, problem.grads([p.data for p in params], 1.0), strict=True):
            p.grad = g
        opt.step()
    y = [p.data.copy() for p in params]
    opt.eval()
    assert any(not np.array_equal(p.data, q) for p, q in zip(params, y, strict=True))
    saved = opt.state_dict()
    assert sorted(saved["train_points"]) == [0, 1, 2, 3]
    x = [p.data.copy() for p in params]
    opt.train()
    for p, q in zip(params, y, strict=True):
        np.testing.assert_array_equal(p.data, q)
    # A fresh optimizer and the weights as a checkpoint holds them (x, eval mode).
    for p, value in zip(params, x, strict=True):
        p.data[...] = value
    fresh = optim.AdamWScheduleFree(params, lr=0.05, warmup_steps=3)
    fresh.load_state_dict(saved)
    fresh.train()
    for p, q in zip(params, y, strict=True):
        np.testing.assert_array_equal(p.data, q)
    # Weights replaced in eval mode: train() moves them to (1 − β)z + βx by the formula.
    fresh.eval()
    for p in params:
        p.data[...] = 0.0
    fresh.train()
    for p in params:
        np.testing.assert_allclose(p.data, (1 - 0.9) * fresh.state[p].z, rtol=1e-12)
