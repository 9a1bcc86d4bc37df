"""steepest.optim against torch.optim step for step: every optimizer and option combination.

Each case runs >= 200 steps on a random non-separable problem (least squares plus a quartic) with
parameters of several shapes in two param groups with different options; half-way the learning
rate of one group changes and the state is saved with state_dict() and loaded into a fresh
optimizer, which must continue exactly on PyTorch's trajectory. Also: PyTorch's own state dicts
load, named parameters, the API (zero_grad, closures, add_param_group), invalid arguments, and
the random-direction search baseline.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from conftest import assert_close

import steepest
import steepest.nn
from steepest import optim

SHAPES = [(3, 4), (5,), (2, 3, 2), ()]
STEPS = 200
LR_CHANGE_AT = 60
RELOAD_AT = 110


class Problem:
    """f(z) = ½‖Az − b‖² + 0.0025·Σz⁴ over all parameters z flattened; ∇f = Aᵀ(Az − b) + 0.01z³.

    The minimum lies far (‖b‖ is large) from the start, so that no run reaches the region where
    gradients vanish: there adaptive methods divide tiny gradients by tiny averages and amplify
    rounding (PyTorch uses fused multiply-adds, NumPy cannot), which would test luck, not code.
    """

    def __init__(self, seed: int, shapes=SHAPES) -> None:
        rng = np.random.default_rng(seed)
        self.shapes = shapes
        self.sizes = [int(np.prod(s)) for s in shapes]
        n = sum(self.sizes)
        self.A = rng.standard_normal((n + 3, n)) / np.sqrt(n)
        self.b = 10.0 * rng.standard_normal(n + 3)
        self.start = [rng.standard_normal(s) for s in shapes]

    def grads(self, arrays: list[np.ndarray], sign: float) -> list[np.ndarray]:
        z = np.concatenate([np.asarray(a, np.float64).reshape(-1) for a in arrays])
        g = sign * (self.A.T @ (self.A @ z - self.b) + 0.01 * z**3)
        pieces = np.split(g, np.cumsum(self.sizes)[:-1])
        return [p.reshape(s).astype(a.dtype) for p, s, a in zip(pieces, self.shapes, arrays,
                                                                   strict=True)]

    def loss(self, arrays: list[np.ndarray]) -> float:
        z = np.concatenate([np.asarray(a, np.float64).reshape(-1) for a in arrays])
        return float(0.5 * np.sum((self.A @ z - self.b) ** 2) + 0.0025 * np.sum(z**4))


@contextmanager
def torch_default_dtype(dtype):
    # PyTorch keeps `step` and NAdam's `mu_product` in the default dtype: float64 runs need it.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def grid(**choices) -> list[dict]:
    """Every combination of the given option values."""
    keys = list(choices)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*choices.values())]


def valid_sgd(o: dict) -> bool:
    if o["momentum"] == 0:
        return o["dampening"] == 0 and not o["nesterov"]
    return not (o["nesterov"] and o["dampening"] != 0)


def valid_decoupled(o: dict) -> bool:
    return o["weight_decay"] != 0 or not o["decoupled_weight_decay"]


# (name, options, options of the second group): every combination of each optimizer's options.
CASES = (
    [("SGD", dict(lr=0.05, **o), dict(lr=0.02, weight_decay=0.05))
     for o in grid(momentum=[0.0, 0.9], dampening=[0.0, 0.3], nesterov=[False, True],
                   weight_decay=[0.0, 0.1], maximize=[False, True]) if valid_sgd(o)]
    + [("Adagrad", dict(lr=0.1, **o), dict(lr=0.05, lr_decay=0.02))
       for o in grid(lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1],
                     initial_accumulator_value=[0.0, 0.5], maximize=[False, True])]
    + [("Adagrad", dict(lr=0.1, eps=1e-3), dict(lr=0.05, eps=1e-6))]
    + [("Adadelta", dict(lr=1.0, **o), dict(lr=0.5, eps=1e-4))
       for o in grid(rho=[0.9, 0.4], weight_decay=[0.0, 0.1], maximize=[False, True])]
    + [("RMSprop", dict(lr=0.01, **o), dict(lr=0.005, alpha=0.9))
       for o in grid(centered=[False, True], momentum=[0.0, 0.5], weight_decay=[0.0, 0.1],
                     maximize=[False, True])]
    + [("RMSprop", dict(lr=0.01, alpha=0.4, eps=1e-2, centered=True), dict(alpha=0.99))]
    + [("Adam", dict(lr=0.01, **o), dict(lr=0.02, betas=(0.8, 0.99)))
       for o in grid(amsgrad=[False, True], weight_decay=[0.0, 0.1],
                     decoupled_weight_decay=[False, True], maximize=[False, True])
       if valid_decoupled(o)]
    + [("Adam", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-3), dict(betas=(0.6, 0.5)))]
    + [("AdamW", dict(lr=0.01, **o), dict(lr=0.02, weight_decay=0.0))
       for o in grid(amsgrad=[False, True], weight_decay=[0.01, 0.1], maximize=[False, True])]
    + [("NAdam", dict(lr=0.01, **o), dict(lr=0.02, momentum_decay=0.01))
       for o in grid(weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True],
                     momentum_decay=[4e-3, 0.1], maximize=[False, True]) if valid_decoupled(o)]
    + [("NAdam", dict(lr=0.01, betas=(0.4, 0.9), eps=1e-3), dict(betas=(0.9, 0.999)))]
    + [("Adamax", dict(lr=0.01, **o), dict(lr=0.03, betas=(0.7, 0.99)))
       for o in grid(weight_decay=[0.0, 0.1], maximize=[False, True])]
    + [("Adamax", dict(lr=0.005, betas=(0.3, 0.6), eps=1e-3), dict(eps=0.5))]
    + [("RAdam", dict(lr=0.01, **o), dict(lr=0.02, betas=(0.8, 0.95)))
       for o in grid(weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True],
                     maximize=[False, True]) if valid_decoupled(o)]
    + [("RAdam", dict(lr=0.01, betas=(0.5, 0.8), eps=1e-3), dict(betas=(0.9, 0.95)))]
    + [("Rprop", dict(lr=0.01, **o), dict(lr=0.003, etas=(0.3, 1.7)))
       for o in grid(etas=[(0.5, 1.2), (0.2, 1.05)], step_sizes=[(1e-6, 50), (1e-3, 0.05)],
                     maximize=[False, True])]
    + [("ASGD", dict(lr=0.01, **o), dict(lr=0.02, lambd=0.01, t0=10))
       for o in grid(lambd=[1e-4, 0.05], alpha=[0.75, 0.3], t0=[1e6, 30],
                     weight_decay=[0.0, 0.1], maximize=[False, True])]
    # Adafactor's step grows with the weights (relative steps): small rates keep it stable.
    + [("Adafactor", dict(lr=0.005, **o), dict(lr=0.01, beta2_decay=-0.5, d=3.0))
       for o in grid(eps=[(None, 1e-3), (1e-4, 0.5)], weight_decay=[0.0, 0.1],
                     maximize=[False, True])]
    + [("Adafactor", dict(lr=0.01, beta2_decay=-0.3, d=1.5), dict(eps=(1e-2, 1e-3)))]
)


def case_id(case) -> str:
    name, options, other = case
    return f"{name}({', '.join(f'{k}={v}' for k, v in options.items())}) | group2 {other}"


def run_against_torch(name, options, other, dtype, *, seed=0, steps=STEPS,
                      reload_at=RELOAD_AT, torch_state=False, shapes=SHAPES):
    """Run both libraries side by side; return (steepest trajectory, torch trajectory, optims).

    A trajectory is the (steps, n) array of all parameters after every step.
    """
    problem = Problem(seed, shapes)
    sign = -1.0 if options.get("maximize") else 1.0
    torch_params = [torch.tensor(a.astype(dtype), requires_grad=True) for a in problem.start]
    ours = [steepest.Tensor(a.astype(dtype), requires_grad=True) for a in problem.start]

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], **other}]

    torch_opt = getattr(torch.optim, name)(groups(torch_params), **options)
    opt = getattr(optim, name)(groups(ours), **options)
    ours_path, torch_path = [], []
    for step in range(steps):
        for p, g in zip(torch_params, problem.grads([p.detach().numpy() for p in torch_params],
                                                    sign), strict=True):
            p.grad = torch.from_numpy(g)
        for p, g in zip(ours, problem.grads([p.data for p in ours], sign), strict=True):
            p.grad = g
        torch_opt.step()
        opt.step()
        ours_path.append(np.concatenate([p.data.reshape(-1) for p in ours]))
        torch_path.append(np.concatenate([p.detach().numpy().reshape(-1) for p in torch_params]))
        if step == LR_CHANGE_AT:  # what a scheduler does between steps
            torch_opt.param_groups[0]["lr"] *= 0.5
            opt.param_groups[0]["lr"] *= 0.5
        if step == reload_at:
            saved = torch_opt.state_dict() if torch_state else opt.state_dict()
            # A fresh optimizer built with another lr: the loaded dict must restore everything.
            opt = getattr(optim, name)(groups(ours), **{**options, "lr": 0.777})
            opt.load_state_dict(saved)
    return np.array(ours_path), np.array(torch_path), opt, torch_opt, ours, torch_params


def assert_same_path(ours, theirs, dtype, what):
    tol = 1e-10 if dtype == np.float64 else 1e-5
    bad = ~np.isclose(ours, theirs, rtol=tol, atol=tol)
    if bad.any():
        step = int(np.argwhere(bad.any(axis=1))[0, 0])
        assert_close(ours[step], theirs[step], dtype, f"{what}: first differs at step {step}")
    assert np.abs(ours[-1] - ours[0]).max() > 1e-3, f"{what}: the parameters did not move"


def assert_same_state(opt, torch_opt, ours, torch_params, dtype, what):
    """Every state field (step, moments, buffers) equals PyTorch's, parameter by parameter."""
    for i, (p, tp) in enumerate(zip(ours, torch_params, strict=True)):
        state = opt.state[p]._asdict()
        theirs = torch_opt.state[tp]
        for field, value in theirs.items():
            expected = value.detach().numpy() if isinstance(value, torch.Tensor) else value
            actual = state[field]
            if expected is None:
                assert actual is None, f"{what}: {field} of param {i}"
            else:
                assert_close(np.asarray(actual, np.float64), np.asarray(expected, np.float64),
                             dtype, f"{what}: {field} of param {i}")
        extra = [f for f, v in state.items() if v is not None and f not in theirs]
        assert not extra, f"{what}: state fields {extra} that PyTorch does not have"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_float64(case):
    name, options, other = case
    with torch_default_dtype(np.float64):
        ours, theirs, opt, torch_opt, params, torch_params = run_against_torch(
            name, options, other, np.float64)
    assert_same_path(ours, theirs, np.float64, case_id(case))
    assert_same_state(opt, torch_opt, params, torch_params, np.float64, case_id(case))


FLOAT32_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), dict(lr=0.02)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3), dict(lr=0.02)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.5), dict(lr=0.05)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.1), dict(lr=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5), dict(lr=0.005)),
    ("RMSprop", dict(lr=0.01), dict(alpha=0.9)),
    ("Adam", dict(lr=0.01), dict(lr=0.02)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True), dict(lr=0.02)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), dict(lr=0.02)),
    ("NAdam", dict(lr=0.01), dict(lr=0.02)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.02)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1), dict(lr=0.02)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.02)),
    ("Rprop", dict(lr=0.01, etas=(0.3, 1.5)), dict(lr=0.02)),
    ("ASGD", dict(lr=0.01, lambd=0.01, t0=30), dict(lr=0.02)),
    ("Adafactor", dict(lr=0.01, weight_decay=0.1), dict(lr=0.02, d=2.0)),
]


@pytest.mark.parametrize("case", FLOAT32_CASES, ids=case_id)
def test_matches_torch_float32(case):
    name, options, other = case
    with torch_default_dtype(np.float32):
        ours, theirs, opt, _, params, _ = run_against_torch(name, options, other, np.float32)
    assert_same_path(ours, theirs, np.float32, case_id(case))
    for p in params:  # float32 in, float32 out: parameters and every state array
        assert p.data.dtype == np.float32
        for value in opt.state[p]:
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, case_id(case)


TORCH_STATE_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.02)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05), dict(lr=0.05)),
    ("Adadelta", dict(lr=1.0), dict(lr=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5), dict(lr=0.005)),
    ("Adam", dict(lr=0.01, amsgrad=True), dict(lr=0.02)),
    ("AdamW", dict(lr=0.01), dict(lr=0.02)),
    ("NAdam", dict(lr=0.01), dict(lr=0.02)),
    ("Adamax", dict(lr=0.01), dict(lr=0.02)),
    ("RAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1), dict(lr=0.02)),
    ("Rprop", dict(lr=0.01), dict(lr=0.02)),
    ("ASGD", dict(lr=0.01, t0=30), dict(lr=0.02)),
    ("Adafactor", dict(lr=0.01), dict(lr=0.02)),
]


@pytest.mark.parametrize("case", TORCH_STATE_CASES, ids=case_id)
def test_loads_torch_state_dict_mid_run(case):
    """PyTorch's own state_dict (tensors, float steps) loads and the run continues on its path."""
    name, options, other = case
    with torch_default_dtype(np.float64):
        ours, theirs, *_ = run_against_torch(name, options, other, np.float64, torch_state=True)
    assert_same_path(ours, theirs, np.float64, case_id(case))


# ---------------------------------------------------------------------------- state dicts
def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [steepest.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for s in SHAPES]


def set_grads(params, seed):
    rng = np.random.default_rng(seed)
    for p in params:
        p.grad = rng.standard_normal(p.shape).astype(p.data.dtype)


def test_state_dict_is_a_snapshot_in_pytorch_format():
    params = make_params()
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.1}], lr=0.01)
    set_grads(params, 1)
    opt.step()
    saved = opt.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1, 2, 3]]
    assert saved["param_groups"][1]["lr"] == 0.1 and saved["param_groups"][0]["lr"] == 0.01
    assert sorted(saved["state"]) == [0, 1, 2, 3]
    assert set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert saved["state"][0]["step"] == 1
    m_before = saved["state"][2]["exp_avg"].copy()
    set_grads(params, 2)
    opt.step()
    np.testing.assert_array_equal(saved["state"][2]["exp_avg"], m_before)


def test_named_parameters_state_matches_by_name_across_orders():
    model = steepest.nn.Sequential(steepest.nn.Linear(3, 4), steepest.nn.Linear(4, 2))
    model.double()
    named = list(model.named_parameters())
    opt = optim.Adam(named, lr=0.01)
    assert opt.param_groups[0]["param_names"] == [n for n, _ in named]
    set_grads([p for _, p in named], 3)
    opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["param_names"] == [n for n, _ in named]
    # Same parameters listed in reverse order: names, not positions, must decide.
    reversed_opt = optim.Adam(list(reversed(named)), lr=0.01)
    reversed_opt.load_state_dict(saved)
    for _, param in named:
        np.testing.assert_array_equal(reversed_opt.state[param].exp_avg, opt.state[param].exp_avg)
    assert reversed_opt.state[named[0][1]].step == 1


@pytest.mark.parametrize("corrupt, message", [
    (lambda sd: sd["param_groups"].pop(), "parameter groups"),
    (lambda sd: sd["param_groups"][0]["params"].pop(), "has 1 parameters"),
    (lambda sd: sd["state"][1].update(exp_avg=np.zeros((7, 7))), r"shape \(7, 7\)"),
    (lambda sd: sd["state"][0].update(velocity=np.zeros(1)), "unknown fields"),
    (lambda sd: sd["state"][0].pop("exp_avg"), "lacks"),
    (lambda sd: sd["state"].update({9: {}}), "parameter id 9"),
    (lambda sd: sd["param_groups"][1].update(lr=-1.0), "Invalid learning rate: -1.0"),
    (lambda sd: sd.pop("state"), "'state' and 'param_groups'"),
])
def test_load_state_dict_rejects_mismatches_and_changes_nothing(corrupt, message):
    params = make_params()
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:]}], lr=0.01)
    set_grads(params, 4)
    opt.step()
    saved = opt.state_dict()
    corrupt(saved)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(saved)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][1]["exp_avg"], before["state"][1]["exp_avg"])


def test_load_state_dict_casts_to_parameter_dtype():
    params64 = make_params(np.float64)
    opt64 = optim.RMSprop(params64, lr=0.01, momentum=0.5)
    set_grads(params64, 5)
    opt64.step()
    params32 = make_params(np.float32)
    opt32 = optim.RMSprop(params32, lr=0.01, momentum=0.5)
    opt32.load_state_dict(opt64.state_dict())
    for p in params32:
        assert opt32.state[p].square_avg.dtype == np.float32
        assert opt32.state[p].momentum_buffer.dtype == np.float32


# ---------------------------------------------------------------------------- the API
def test_integration_with_modules_and_autograd_matches_torch():
    """A steepest Linear model trained with its own autograd, beside the same torch model."""
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    model = steepest.nn.Linear(3, 2).double()
    reference = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(model.weight.data))
        reference.bias.copy_(torch.from_numpy(model.bias.data))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    torch_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    xs, ys = steepest.Tensor(x), steepest.Tensor(y)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(xs) - ys) ** 2).mean()
        loss.backward()
        opt.step()
        torch_opt.zero_grad()
        ((reference(xt) - yt) ** 2).mean().backward()
        torch_opt.step()
    assert_close(model.weight, reference.weight, np.float64, "weight")
    assert_close(model.bias, reference.bias, np.float64, "bias")


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    params = make_params()
    opt = optim.SGD(params, lr=0.1)
    set_grads(params, 6)
    grads = [p.grad for p in params]
    opt.zero_grad(set_to_none=set_to_none)
    for p, g in zip(params, grads, strict=True):
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad is g and not g.any()


def test_step_with_closure_returns_its_loss_and_skips_params_without_grad():
    params = make_params()
    before = [p.data.copy() for p in params]
    opt = optim.SGD(params, lr=0.1)
    calls = []

    def closure():
        calls.append(steepest.is_grad_enabled())
        opt.zero_grad()
        params[0].grad = np.ones_like(params[0].data)
        return 3.5

    with steepest.no_grad():
        assert opt.step(closure) == 3.5
    assert calls == [True]  # the closure runs with gradients on, even under no_grad
    np.testing.assert_allclose(params[0].data, before[0] - 0.1)
    for p, b in zip(params[1:], before[1:], strict=True):
        np.testing.assert_array_equal(p.data, b)
        assert p not in opt.state


def test_add_param_group_fills_defaults_and_steps_it():
    params = make_params()
    opt = optim.SGD(params[:2], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": params[2], "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    before = params[2].data.copy()
    set_grads(params, 8)
    opt.step()
    np.testing.assert_allclose(params[2].data, before - 0.5 * params[2].grad, rtol=1e-14)


def test_repr_lists_groups():
    opt = optim.Adam(make_params(), lr=0.01)
    text = repr(opt)
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.01" in text


def test_lecture_momentum_form_agrees_with_pytorch_form_at_constant_lr():
    params_a, params_b = make_params(), make_params()
    a = optim.SGD(params_a, lr=0.05, momentum=0.9, nesterov=True)
    b = optim.SGD(params_b, lr=0.05, momentum=0.9, nesterov=True, momentum_form="lecture")
    for step in range(50):
        set_grads(params_a, step)
        set_grads(params_b, step)
        a.step()
        b.step()
    for pa, pb in zip(params_a, params_b, strict=True):
        np.testing.assert_allclose(pa.data, pb.data, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- invalid arguments
P = [steepest.Tensor(np.zeros(3), requires_grad=True)]

INVALID = [
    (optim.SGD, dict(lr=-1), ValueError, "Invalid learning rate: -1"),
    (optim.SGD, dict(lr=float("nan")), ValueError, "Invalid learning rate: nan"),
    (optim.SGD, dict(lr="0.1"), TypeError, "Invalid learning rate: '0.1'"),
    (optim.SGD, dict(momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (optim.SGD, dict(dampening=1.5), ValueError, "Invalid dampening value: 1.5"),
    (optim.SGD, dict(weight_decay=-1e-4), ValueError, "Invalid weight_decay value: -0.0001"),
    (optim.SGD, dict(nesterov=True), ValueError, "Nesterov momentum requires a momentum"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), ValueError, "zero dampening"),
    (optim.SGD, dict(nesterov="yes"), TypeError, "Invalid nesterov: 'yes'"),
    (optim.SGD, dict(momentum_form="keras"), ValueError, "Invalid momentum_form: 'keras'"),
    (optim.SGD, dict(momentum_form="lecture", momentum=0.9, dampening=0.1), ValueError,
     "has no dampening"),
    (optim.Adagrad, dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (optim.Adagrad, dict(lr_decay=-1), ValueError, "Invalid lr_decay value: -1"),
    (optim.Adagrad, dict(weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (optim.Adagrad, dict(initial_accumulator_value=-0.1), ValueError,
     "Invalid initial_accumulator_value value: -0.1"),
    (optim.Adagrad, dict(eps=-1e-10), ValueError, "Invalid epsilon value: -1e-10"),
    (optim.Adadelta, dict(rho=1.5), ValueError, r"Invalid rho value: 1.5 \(must be in \[0.0, 1"),
    (optim.Adadelta, dict(eps=-1), ValueError, "Invalid epsilon value: -1"),
    (optim.Adadelta, dict(weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (optim.RMSprop, dict(alpha=-0.9), ValueError, "Invalid alpha value: -0.9"),
    (optim.RMSprop, dict(eps=-1), ValueError, "Invalid epsilon value: -1"),
    (optim.RMSprop, dict(momentum=-1), ValueError, "Invalid momentum value: -1"),
    (optim.RMSprop, dict(weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (optim.RMSprop, dict(centered=1), TypeError, "Invalid centered: 1"),
    (optim.Adam, dict(betas=(1.0, 0.999)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (optim.Adam, dict(betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (optim.Adam, dict(betas=0.9), ValueError, "Invalid betas: 0.9"),
    (optim.Adam, dict(eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
    (optim.Adam, dict(weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (optim.Adam, dict(amsgrad="no"), TypeError, "Invalid amsgrad: 'no'"),
    (optim.Adam, dict(bias_correction=None), TypeError, "Invalid bias_correction: None"),
    (optim.AdamW, dict(lr=-1e-3), ValueError, "Invalid learning rate: -0.001"),
    (optim.NAdam, dict(momentum_decay=-1), ValueError, "Invalid momentum_decay value: -1"),
    (optim.NAdam, dict(betas=(0.9, 1.0)), ValueError, "Invalid beta parameter at index 1: 1.0"),
    (optim.Adamax, dict(betas=(0.9, 1.2)), ValueError, "Invalid beta parameter at index 1: 1.2"),
    (optim.Adamax, dict(eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    (optim.RAdam, dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    (optim.RAdam, dict(decoupled_weight_decay=1), TypeError, "Invalid decoupled_weight_decay"),
    (optim.Rprop, dict(etas=(1.2, 0.5)), ValueError, "Invalid eta values: 1.2, 0.5"),
    (optim.Rprop, dict(step_sizes=(1.0, 0.1)), ValueError, "Invalid step_sizes: 1.0, 0.1"),
    (optim.Rprop, dict(etas=0.5), ValueError, "Invalid etas: 0.5"),
    (optim.ASGD, dict(lr=-0.5), ValueError, "Invalid learning rate: -0.5"),
    (optim.ASGD, dict(weight_decay=-2), ValueError, "Invalid weight_decay value: -2"),
    (optim.Adafactor, dict(lr=-1.0), ValueError, "Learning rate should be >= 0 but is: -1.0"),
    (optim.Adafactor, dict(beta2_decay=0.5), ValueError, "beta2_decay should be <= 0 but is"),
    (optim.Adafactor, dict(eps=(-1.0, 1e-3)), ValueError, "epsilon1 should be >= 0 but is: -1"),
    (optim.Adafactor, dict(eps=(None, -1.0)), ValueError, "epsilon2 should be >= 0 but is: -1"),
    (optim.Adafactor, dict(d=0.5), ValueError, "Clipping threshold d should be >= 1 but is: 0.5"),
    (optim.Adafactor, dict(weight_decay=-1.0), ValueError, "weight_decay should be >= 0 but"),
    (optim.LBFGS, dict(lr=-1), ValueError, "Invalid learning rate: -1"),
    (optim.LBFGS, dict(max_iter=0), ValueError, "Invalid max_iter: 0"),
    (optim.LBFGS, dict(history_size=2.5), TypeError, "Invalid history_size: 2.5"),
    (optim.RandomSearch, dict(num_directions=0), ValueError, "Invalid num_directions: 0"),
    (optim.RandomSearch, dict(num_directions=1.5), TypeError, "Invalid num_directions: 1.5"),
    (optim.RandomSearch, dict(lr=-1), ValueError, "Invalid learning rate: -1"),
    (optim.RandomSearch, dict(generator=42), TypeError, "Invalid generator: 42"),
]


@pytest.mark.parametrize("cls, options, error, message", INVALID,
                         ids=[f"{c.__name__}-{o}" for c, o, _, _ in INVALID])
def test_invalid_hyperparameters(cls, options, error, message):
    with pytest.raises(error, match=message):
        cls(P, **options)


MATRIX = [steepest.Tensor(np.zeros((2, 3)), requires_grad=True)]
INVALID_MUON = [
    (dict(lr=-1.0), ValueError, "Learning rate should be >= 0 but is: -1.0"),
    (dict(momentum=-0.5), ValueError, "momentum should be >= 0 but is: -0.5"),
    (dict(weight_decay=-0.1), ValueError, "weight decay should be >= 0 but is: -0.1"),
    (dict(adjust_lr_fn="rms"), ValueError, "Invalid adjust_lr_fn: 'rms'"),
    (dict(ns_steps=100), ValueError, r"Invalid ns_steps: 100 \(must be an integer in \[0, 99\]"),
    (dict(ns_coefficients=(1.0, 2.0)), ValueError, "Coefficients must be a tuple of exactly 3"),
]


@pytest.mark.parametrize("options, error, message", INVALID_MUON, ids=[m for *_, m in INVALID_MUON])
def test_invalid_muon_hyperparameters(options, error, message):
    with pytest.raises(error, match=message):
        optim.Muon(MATRIX, **options)


def test_invalid_hyperparameters_in_a_param_group():
    opt = optim.SGD(P, lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -2"):
        opt.add_param_group({"params": [steepest.Tensor(np.zeros(2), requires_grad=True)],
                             "lr": -2})
    assert len(opt.param_groups) == 1


leaf = steepest.Tensor(np.ones(2), requires_grad=True)
INVALID_PARAMS = [
    ([], ValueError, "empty parameter list"),
    ({leaf}, TypeError, "ordered collections"),
    (leaf, TypeError, "single Tensor"),
    ([np.zeros(2)], TypeError, "can only optimize Tensors, but one of the params is ndarray"),
    ([leaf * 2.0], ValueError, "non-leaf"),
    ([steepest.Tensor(np.arange(3))], TypeError, "floating-point"),
    ([leaf, leaf], ValueError, "duplicate parameters"),
    ([{"params": [leaf]}, {"params": [leaf]}], ValueError, "more than one parameter group"),
    ([("w", leaf), leaf], ValueError, "Some param names are missing"),
    ([{"params": [("w", leaf)]}, {"params": [leaf * 1.0]}], ValueError, "non-leaf"),
    ([{"params": [("w", leaf)]},
      {"params": [steepest.Tensor(np.ones(1), requires_grad=True)]}], ValueError,
     "with/without names"),
    ([{"lr": 0.1}], ValueError, "'params' entry"),
]


@pytest.mark.parametrize("params, error, message", INVALID_PARAMS,
                         ids=[m for _, _, m in INVALID_PARAMS])
def test_invalid_params(params, error, message):
    with pytest.raises(error, match=message):
        optim.SGD(params, lr=0.1)


def test_gradient_of_wrong_shape_is_refused_when_assigned():
    # As PyTorch: the .grad setter checks the shape, so a step never sees a wrong one.
    with pytest.raises(RuntimeError, match=r"assigned grad has data of a different size.*"
                                           r"\(4,\).*\(3,\)"):
        P[0].grad = np.zeros(4)
    assert P[0].grad is None


# ---------------------------------------------------------------------------- random search
def bowl_problem(seed=0):
    rng = np.random.default_rng(seed)
    params = [steepest.Tensor(rng.standard_normal(s), requires_grad=True) for s in [(3,), (2, 2)]]

    def closure():
        return sum(float((p.data ** 2).sum()) for p in params)

    return params, closure


def test_random_search_never_increases_the_loss_and_counts_evaluations():
    params, closure = bowl_problem()
    opt = optim.RandomSearch(params, lr=0.1, num_directions=3,
                             generator=np.random.default_rng(1))
    start = closure()
    losses = []
    for _ in range(100):
        opt.step(closure)
        losses.append(opt.last_loss)
        assert opt.last_loss == pytest.approx(closure(), rel=1e-12)
    assert all(b <= a for a, b in zip(losses, losses[1:], strict=False))
    assert losses[-1] < 0.1 * start
    # f(w) once, then 3 probes per step (f at the new point is known from the probe).
    assert opt.num_evaluations == 1 + 3 * 100


def test_random_search_moves_exactly_lr_in_a_unit_direction():
    params, closure = bowl_problem()
    opt = optim.RandomSearch(params, lr=0.05, generator=np.random.default_rng(2))
    before = np.concatenate([p.data.ravel() for p in params])
    while True:
        opt.step(closure)
        after = np.concatenate([p.data.ravel() for p in params])
        if not np.array_equal(after, before):
            break
    assert np.linalg.norm(after - before) == pytest.approx(0.05, rel=1e-12)


def test_random_search_resumes_from_state_dict_identically():
    params, closure = bowl_problem()
    opt = optim.RandomSearch(params, lr=0.1, num_directions=2,
                             generator=np.random.default_rng(3))
    for _ in range(10):
        opt.step(closure)
    saved = opt.state_dict()
    snapshot = [p.data.copy() for p in params]
    for _ in range(10):
        opt.step(closure)
    first_run = [p.data.copy() for p in params]
    for p, s in zip(params, snapshot, strict=True):
        p.data[...] = s
    fresh = optim.RandomSearch(params, lr=0.5, generator=np.random.default_rng(99))
    fresh.load_state_dict(saved)
    for _ in range(10):
        fresh.step(closure)
    for p, expected in zip(params, first_run, strict=True):
        np.testing.assert_array_equal(p.data, expected)
    assert fresh.num_steps == 20


def test_random_search_needs_a_closure():
    params, _ = bowl_problem()
    with pytest.raises(ValueError, match="needs a closure"):
        optim.RandomSearch(params).step()


# ---------------------------------------------------------------------------- LBFGS
# One param group (PyTorch's LBFGS has no others); every option, odd values included.
# With its default 20 iterations a step nearly solves this problem; fewer make a path to follow.
LBFGS_CASES = [
    dict(lr=1.0, max_iter=2),
    dict(lr=1.0, max_iter=1, line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=3, history_size=3),
    dict(lr=1.0, max_iter=2, max_eval=3, history_size=2, line_search_fn="strong_wolfe"),
    dict(lr=0.7, max_iter=3, tolerance_grad=1e-3, tolerance_change=1e-5),
    dict(lr=1.0, max_iter=3, tolerance_change=1e-3, line_search_fn="strong_wolfe"),
]


def run_lbfgs(options, dtype, *, steps=STEPS, torch_state=False):
    """Both LBFGS side by side with a closure; the lr changes and the state is reloaded."""
    problem = Problem(1)
    torch_params = [torch.tensor(a.astype(dtype), requires_grad=True) for a in problem.start]
    ours = [steepest.Tensor(a.astype(dtype), requires_grad=True) for a in problem.start]

    def torch_closure():
        arrays = [p.detach().numpy() for p in torch_params]
        for p, g in zip(torch_params, problem.grads(arrays, 1.0), strict=True):
            p.grad = torch.from_numpy(g)
        return torch.tensor(problem.loss(arrays))

    def closure():
        assert steepest.is_grad_enabled()
        for p, g in zip(ours, problem.grads([p.data for p in ours], 1.0), strict=True):
            p.grad = g
        return problem.loss([p.data for p in ours])

    torch_opt = torch.optim.LBFGS(torch_params, **options)
    opt = optim.LBFGS(ours, **options)
    ours_path, torch_path, losses = [], [], []
    for step in range(steps):
        expected = torch_opt.step(torch_closure)
        losses.append((opt.step(closure), float(expected)))
        ours_path.append(np.concatenate([p.data.reshape(-1) for p in ours]))
        torch_path.append(np.concatenate([p.detach().numpy().reshape(-1) for p in torch_params]))
        if step == 3:
            torch_opt.param_groups[0]["lr"] *= 0.5
            opt.param_groups[0]["lr"] *= 0.5
        if step == 5:
            saved = torch_opt.state_dict() if torch_state else opt.state_dict()
            opt = optim.LBFGS(ours, **{**options, "lr": 0.123})
            opt.load_state_dict(saved)
    return np.array(ours_path), np.array(torch_path), np.array(losses), opt, torch_opt


@pytest.mark.parametrize("options", LBFGS_CASES, ids=str)
@pytest.mark.parametrize("torch_state", [False, True], ids=["own state", "torch state"])
def test_lbfgs_matches_torch(options, torch_state):
    with torch_default_dtype(np.float64):
        ours, theirs, losses, opt, torch_opt = run_lbfgs(options, np.float64,
                                                          torch_state=torch_state)
    assert_same_path(ours, theirs, np.float64, f"LBFGS {options}")
    np.testing.assert_allclose(losses[:, 0], losses[:, 1], rtol=1e-10)
    # Still descending when the state is reloaded (after step 5), down to the minimum at the end.
    assert losses[-1, 0] < 0.5 * losses[0, 0] and losses[5, 0] > losses[-1, 0] + 1e-3
    ours_state = opt.state[next(iter(opt.state))]
    theirs_state = torch_opt.state[torch_opt.param_groups[0]["params"][0]]
    assert ours_state.func_evals == theirs_state["func_evals"]
    assert ours_state.n_iter == theirs_state["n_iter"]
    assert len(ours_state.old_dirs) == len(theirs_state["old_dirs"])


def test_lbfgs_float32_matches_torch():
    with torch_default_dtype(np.float32):
        ours, theirs, *_ = run_lbfgs(dict(lr=1.0, history_size=5, max_iter=2), np.float32)
    assert_same_path(ours, theirs, np.float32, "LBFGS float32")


def test_lbfgs_needs_a_closure_and_one_group():
    params = make_params()
    opt = optim.LBFGS(params)
    with pytest.raises(ValueError, match="LBFGS.step needs a closure"):
        opt.step()
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": params[:1]}, {"params": params[1:]}])
    with pytest.raises(ValueError, match="Invalid line_search_fn: 'wolfe'"):
        optim.LBFGS(params, line_search_fn="wolfe")


# ---------------------------------------------------------------------------- Muon
MUON_SHAPES = [(3, 4), (5, 2), (4, 4), (2, 6)]  # Muon takes matrices only
MUON_CASES = [
    (dict(lr=0.01, **o), dict(lr=0.02, momentum=0.8))
    for o in grid(nesterov=[True, False], weight_decay=[0.1, 0.0],
                  adjust_lr_fn=[None, "original", "match_rms_adamw"])
] + [(dict(lr=0.02, momentum=0.5, ns_steps=3, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3),
      dict(ns_steps=7, nesterov=False))]


@pytest.fixture
def torch_muon_in_working_precision(monkeypatch):
    """PyTorch's Muon with its Newton–Schulz iteration in the parameters' dtype instead of
    bfloat16 (NumPy has no bfloat16; steepest iterates in float32/float64): the same steps,
    written here with torch ops, so that the rest of PyTorch's Muon is compared exactly."""
    def newton_schulz(grad, ns_coefficients, ns_steps, eps):
        a, b, c = ns_coefficients
        x = grad.T if grad.size(0) > grad.size(1) else grad
        x = x / x.norm().clamp(min=eps)
        for _ in range(ns_steps):
            gram = x @ x.T
            x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
        return x.T if grad.size(0) > grad.size(1) else x

    monkeypatch.setattr(torch.optim._muon, "_zeropower_via_newtonschulz", newton_schulz)


@pytest.mark.parametrize("case", MUON_CASES, ids=[str(c) for c in MUON_CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_muon_matches_torch(case, dtype, torch_muon_in_working_precision):
    options, other = case
    with torch_default_dtype(dtype):
        ours, theirs, opt, torch_opt, params, torch_params = run_against_torch(
            "Muon", options, other, dtype, shapes=MUON_SHAPES,
            torch_state=dtype == np.float32)
    assert_same_path(ours, theirs, dtype, f"Muon {case}")
    assert_same_state(opt, torch_opt, params, torch_params, dtype, f"Muon {case}")


def test_muon_orthogonalisation_agrees_with_torchs_bfloat16_to_its_precision():
    from steepest.optim.rules.muon import zeropower_via_newtonschulz

    coefficients = (3.4445, -4.775, 2.0315)
    for seed in range(5):
        grad = np.random.default_rng(seed).standard_normal((6, 4))
        ours = zeropower_via_newtonschulz(grad, coefficients, 5, 1e-7)
        theirs = torch.optim._muon._zeropower_via_newtonschulz(
            torch.from_numpy(grad), coefficients, 5, 1e-7).double().numpy()
        # bfloat16 keeps 8 significant bits, rounded at each of the 5 iterations, whose
        # polynomial has slope 3.4 at 0: a few percent apart (measured 1-4.4%).
        assert np.linalg.norm(ours - theirs) < 0.06 * np.linalg.norm(theirs)
        singular_values = np.linalg.svd(ours, compute_uv=False)
        assert np.all((singular_values > 0.5) & (singular_values < 1.5))


def test_muon_takes_matrices_only():
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters.*\(3,\)"):
        optim.Muon([steepest.Tensor(np.zeros(3), requires_grad=True)])
