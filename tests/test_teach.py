"""steepest.teach, the readable reference, computes what the fast code computes: the same
gradients as steepest's Tensor and nn layers, and the same optimizer paths as steepest.optim
(through steepest.lab.descend) on the same problems."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import steepest as st
from steepest import nn, teach
from steepest.lab import descend


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def test_the_module_is_about_two_hundred_lines_of_plain_python_and_numpy():
    source = Path(teach.__file__).read_text(encoding="utf-8")
    code = [line for line in source.splitlines() if line.strip()]
    assert len(code) <= 240, len(code)
    imports = {line.split()[1] for line in source.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "math", "collections.abc", "numpy"}, imports


def test_value_gradients_match_the_tensor_engine_and_finite_differences():
    def expression(a, b, c):
        h = (a * b + c).tanh() - (a / b) ** 2 + (c.exp() + 1).log() * a.sigmoid()
        return h * h.relu() + 3 / (b - 4) - (-c)

    point = (0.7, -1.3, 0.4)
    values = [teach.Value(v) for v in point]
    out = expression(*values)
    out.backward()
    tensors = [st.tensor(v, dtype=np.float64, requires_grad=True) for v in point]
    reference = expression(*tensors)
    reference.backward()
    assert out.data == pytest.approx(reference.item(), rel=1e-14)
    for value, tensor in zip(values, tensors, strict=True):
        assert value.grad == pytest.approx(float(tensor.grad), rel=1e-12)
    for index in range(3):
        up, down = list(point), list(point)
        up[index] += 1e-6
        down[index] -= 1e-6
        numerical = (expression(*map(teach.Value, up)).data
                     - expression(*map(teach.Value, down)).data) / 2e-6
        assert values[index].grad == pytest.approx(numerical, rel=1e-6)


def test_a_value_used_twice_gets_both_gradients_and_deep_graphs_do_not_recurse():
    x = teach.Value(3.0)
    (x * x + x).backward()
    assert x.grad == 7.0                      # d(x² + x)/dx = 2x + 1
    y = teach.Value(1.0)
    total = y
    for _ in range(5000):                     # deeper than Python's recursion limit
        total = total * 1.0001
    total.backward()
    assert y.grad == pytest.approx(1.0001 ** 5000)


def test_mlp_matches_nn_layers_value_and_gradient():
    rng = np.random.default_rng(0)
    sizes = [3, 5, 4, 2]
    weights = [(rng.normal(size=(o, i)), rng.normal(size=o))
               for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    x, y = rng.normal(size=3), np.array([0.5, -1.0])
    mlp = teach.MLP(weights)
    outputs = mlp([teach.Value(v) for v in x])
    loss = sum((a - t) ** 2 for a, t in zip(outputs, y, strict=True))    # C0 = Σ (a − y)²
    loss.backward()

    layers = []
    for index, (W, b) in enumerate(weights):
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=np.float64)
        linear.weight.data[...] = W
        linear.bias.data[...] = b
        layers += [linear] if index == len(weights) - 1 else [linear, nn.Tanh()]
    model = nn.Sequential(*layers)
    reference = ((model(st.tensor(x, dtype=np.float64)) - st.tensor(y)) ** 2).sum()
    reference.backward()
    assert loss.data == pytest.approx(reference.item(), rel=1e-13)
    fast = np.concatenate([np.concatenate([layer.weight.grad.ravel(), layer.bias.grad])
                           for layer in model if isinstance(layer, nn.Linear)])
    slow = np.array([p.grad for p in mlp.parameters()])
    np.testing.assert_allclose(slow, fast, rtol=1e-11, atol=1e-13)


# (teach optimizer, steepest.lab name, the options that make both the same method)
OPTIMIZERS = [
    (lambda: teach.SGD(lr=1e-3), "sgd", dict(lr=1e-3)),
    (lambda: teach.Momentum(lr=1e-3, rho=0.9), "momentum", dict(lr=1e-3)),
    (lambda: teach.Momentum(lr=1e-3, rho=0.9, nesterov=True), "nesterov", dict(lr=1e-3)),
    (lambda: teach.AdaGrad(lr=0.5, eps=1e-10), "adagrad", dict(lr=0.5, eps=1e-10)),
    (lambda: teach.RMSProp(lr=0.02, decay_rate=0.99, eps=1e-8), "rmsprop", dict(lr=0.02)),
    (lambda: teach.Adadelta(lr=1.0, rho=0.9, eps=1e-6), "adadelta", dict(lr=1.0)),
    (lambda: teach.Adam(lr=0.1, eps=1e-8), "adam", dict(lr=0.1)),
    (lambda: teach.Adam(lr=0.1, eps=1e-8, bias_correction=False), "adam-nobias",
     dict(lr=0.1)),
]


@pytest.mark.parametrize("make,name,options", OPTIMIZERS, ids=[o[1] for o in OPTIMIZERS])
def test_optimizers_trace_the_same_path_as_steepest_optim_on_rosenbrock(make, name, options):
    start = (-1.5, 2.0)
    # 150 steps: the two round differently in the last bit, and RMSProp's jitter across the
    # valley amplifies that to 1e-5 by step ~180.
    slow = teach.descend(_rosenbrock, start, make(), steps=150)
    fast = descend("rosenbrock", name, start=start, steps=150, **options)
    assert not fast.diverged
    np.testing.assert_allclose(slow, fast.points, rtol=1e-9, atol=1e-12)
    assert math.dist(slow[-1], start) > 0.1         # it went somewhere


def test_adam_without_bias_correction_takes_larger_first_steps():
    corrected = teach.descend(_rosenbrock, (3.0, 2.0), teach.Adam(lr=0.1), steps=1)
    raw = teach.descend(_rosenbrock, (3.0, 2.0), teach.Adam(lr=0.1, bias_correction=False), 1)
    first = np.abs(np.diff(corrected, axis=0))
    assert first == pytest.approx(np.full((1, 2), 0.1), rel=1e-6)   # every coordinate moves α
    assert np.all(np.abs(np.diff(raw, axis=0)) > 3 * first)        # √(1 − β2) / (1 − β1) ≈ 0.32
