"""Large parameters are updated chunk by chunk on threads: the numbers must not change at all."""

from __future__ import annotations

import numpy as np
import pytest

from steepest import optim
from steepest.nn import Parameter

CONFIGS = [
    ("sgd", lambda ps: optim.SGD(ps, lr=0.1)),
    ("sgd momentum", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1)),
    ("sgd nesterov wd", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                             weight_decay=0.01)),
    ("sgd lecture form", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9,
                                              momentum_form="lecture")),
    ("adagrad", lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01)),
    ("adadelta", lambda ps: optim.Adadelta(ps, lr=1.0)),
    ("rmsprop centered momentum", lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9,
                                                           centered=True)),
    ("adam", lambda ps: optim.Adam(ps, lr=0.01)),
    ("adam amsgrad maximize", lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, maximize=True)),
    ("adamw", lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
    ("nadam", lambda ps: optim.NAdam(ps, lr=0.01)),
]


def _trajectory(make, chunk_size, threads, monkeypatch):
    monkeypatch.setattr(optim.Optimizer, "chunk_size", chunk_size)
    monkeypatch.setattr(optim.Optimizer, "threads", threads)
    rng = np.random.default_rng(7)
    params = [Parameter(rng.standard_normal(shape)) for shape in [(5, 9), (13,), (2,)]]
    optimizer = make(params)
    for step in range(25):
        for p in params:
            p.grad = np.sin(p.data * (step + 1)) + 0.1 * p.data  # a smooth, changing gradient
        optimizer.step()
    states = [optimizer.state[p] for p in params]
    return [p.data.copy() for p in params], states


@pytest.mark.parametrize("name, make", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_chunked_threaded_updates_are_bit_identical(name, make, monkeypatch):
    whole, whole_states = _trajectory(make, None, 1, monkeypatch)
    chunked, chunked_states = _trajectory(make, 4, 2, monkeypatch)  # 45 elements: 12 chunks
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
