"""Executors: large parameters updated chunk by chunk (serially or on threads) give the very same
numbers as whole-tensor updates, for every elementwise rule; rules that are not elementwise are
refused by the threaded executor; no thread starts before an executor needs one."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from test_optim_spec import NORMALIZED_GD

from steepest import optim
from steepest.nn import Parameter
from steepest.optim.executors import SerialExecutor, ThreadedExecutor
from steepest.optim.spec import all_specs, presets

# Every preset of every elementwise spec with its defaults, plus heavier option sets.
CONFIGS = [(name, spec, dict(preset.options)) for name, (spec, preset) in presets().items()
           if spec.elementwise] + [
    ("sgd momentum dampening", optim.SGD.spec, dict(momentum=0.9, dampening=0.1)),
    ("sgd nesterov wd", optim.SGD.spec, dict(momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("sgd lecture form", optim.SGD.spec, dict(momentum=0.9, momentum_form="lecture")),
    ("adagrad lr_decay", optim.Adagrad.spec, dict(lr_decay=0.01)),
    ("rmsprop centered momentum", optim.RMSprop.spec, dict(momentum=0.9, centered=True)),
    ("adam amsgrad maximize", optim.Adam.spec, dict(amsgrad=True, maximize=True)),
    ("adamw", optim.AdamW.spec, dict(weight_decay=0.1)),
]


def _trajectory(spec, options, executor):
    rng = np.random.default_rng(7)
    params = [Parameter(rng.standard_normal(shape)) for shape in [(5, 9), (13,), (2,)]]
    optimizer = spec.optimizer_class(params, **{"lr": 0.01, **options}, executor=executor)
    for step in range(25):
        for p in params:
            p.grad = np.sin(p.data * (step + 1)) + 0.1 * p.data  # a smooth, changing gradient
        optimizer.step()
    states = [optimizer.state[p] for p in params]
    return [p.data.copy() for p in params], states


@pytest.mark.parametrize("name, spec, options", CONFIGS, ids=[c[0] for c in CONFIGS])
@pytest.mark.parametrize("executor", [SerialExecutor(chunk_size=4),
                                      ThreadedExecutor(threads=2, chunk_size=4)],
                         ids=["serial chunks", "threaded chunks"])
def test_chunked_updates_are_bit_identical(name, spec, options, executor):
    whole, whole_states = _trajectory(spec, options, SerialExecutor(chunk_size=None))
    chunked, chunked_states = _trajectory(spec, options, executor)  # 45 elements: 12 chunks
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_array_equal(a, b)
    for sa, sb in zip(whole_states, chunked_states, strict=True):
        for field, value in sa._asdict().items():
            other = sb._asdict()[field]
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, other, err_msg=f"{name}: state {field}")
                assert other.shape == value.shape
            else:
                assert value == other, f"{name}: state {field}"


@pytest.mark.parametrize("spec", [s for s in all_specs() if not s.elementwise] + [NORMALIZED_GD],
                         ids=lambda s: s.name)
def test_threaded_executor_refuses_rules_that_are_not_elementwise(spec):
    param = Parameter(np.ones((3, 4)))
    with pytest.raises(ValueError, match=f"ThreadedExecutor cannot run {spec.name}"):
        spec.optimizer_class([param], executor=ThreadedExecutor(2))
    optimizer = spec.optimizer_class([param])
    with pytest.raises(ValueError, match="not elementwise|closure"):
        optimizer.executor = ThreadedExecutor(2)
    assert isinstance(optimizer.executor, SerialExecutor)  # unchanged after the refusal


def test_default_executor_is_serial_and_bad_executors_are_named():
    param = Parameter(np.ones(3))
    assert isinstance(optim.Adam([param]).executor, SerialExecutor)
    with pytest.raises(TypeError, match="executor must be"):
        optim.Adam([param], executor="threads")
    with pytest.raises(ValueError, match="threads must be an integer >= 1, got 0"):
        ThreadedExecutor(0)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1 or None, got -2"):
        SerialExecutor(chunk_size=-2)


def test_no_thread_starts_until_a_threaded_executor_needs_one():
    code = (
        "import threading, numpy as np\n"
        "import steepest, steepest.optim as optim\n"
        "from steepest.nn import Parameter\n"
        "assert threading.active_count() == 1, 'import'\n"
        "p = Parameter(np.ones(100)); p.grad = np.ones(100)\n"
        "opt = optim.Adam([p], executor=optim.ThreadedExecutor(2, chunk_size=1000))\n"
        "opt.step()\n"
        "assert threading.active_count() == 1, 'a step without chunks'\n"
        "optim.Adam([p], executor=optim.SerialExecutor(chunk_size=10)).step()\n"
        "assert threading.active_count() == 1, 'serial chunks'\n"
        "import steepest.train, steepest.lab, steepest.cli\n"
        "from steepest import nn\n"
        "x = np.ones((40, 4), np.float32); y = np.arange(40) % 2\n"
        "big = nn.Sequential(nn.Linear(4, 600), nn.ReLU(), nn.Linear(600, 600))\n"
        "steepest.train.fit(big, (x, y), steps=2, batch_size=20, progress=False, log=None)\n"
        "assert threading.active_count() == 1, 'fit of a model with 360,000-element weights'\n"
        "optim.Adam([p], executor=optim.ThreadedExecutor(2, chunk_size=10)).step()\n"
        "assert threading.active_count() == 3, threading.active_count()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class RecordingExecutor(optim.Executor):
    """A plug-in executor, as a parameter server's would be: it sees the whole step at once,
    each update with its parameter's name and group, and runs the rule itself."""

    def __init__(self):
        self.steps = []

    def run(self, spec, updates):
        self.steps.append([(u.name, u.group, u.grad.copy()) for u in updates])
        for update in updates:
            delta, update.state = spec.update(update.grad, update.state, update.param,
                                              out=update.out, **update.options)
            update.param += delta


def test_an_executor_plugs_in_and_sees_the_whole_step_with_names():
    from steepest import nn

    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    twin = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    twin.load_state_dict(model.state_dict())
    named = list(model.named_parameters())
    recorder = RecordingExecutor()
    ours = optim.Adam([{"params": named[:2]}, {"params": named[2:], "lr": 0.1}], lr=0.01,
                      executor=recorder)
    reference = optim.Adam([{"params": list(twin.named_parameters())[:2]},
                            {"params": list(twin.named_parameters())[2:], "lr": 0.1}], lr=0.01)
    for step in range(3):
        for (_, p), q in zip(named, twin.parameters(), strict=True):
            p.grad = np.full(p.data.shape, step + 1.0, np.float32)
            q.grad = p.grad.clone()
        ours.step()
        reference.step()
    assert len(recorder.steps) == 3
    assert [(name, group) for name, group, _ in recorder.steps[0]] == [
        ("0.weight", 0), ("0.bias", 0), ("1.weight", 1), ("1.bias", 1)]
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
