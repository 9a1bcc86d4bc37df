"""`ExponentialMovingAverage` against PyTorch's AveragedModel with get_ema_multi_avg_fn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_close

import steepest as st
from steepest import nn
from steepest.functional import cross_entropy
from steepest.optim import SGD
from steepest.train.ema import ExponentialMovingAverage


def pair():
    """The same tiny model (with BatchNorm buffers) in steepest and PyTorch, float64."""
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 3)).double()
    ours = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def sgd_step(ours, theirs, ours_opt, theirs_opt, x, y):
    ours_opt.zero_grad()
    cross_entropy(ours(st.Tensor(x)), y).backward()
    ours_opt.step()
    theirs_opt.zero_grad()
    torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
    theirs_opt.step()


@pytest.mark.parametrize("decay", [0.9, 0.5, 0.0, 1.0])
def test_matches_averaged_model(decay):
    ours, theirs = pair()
    ema = ExponentialMovingAverage(ours, decay=decay)
    averaged = torch.optim.swa_utils.AveragedModel(
        theirs, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay))
    # AveragedModel's first update copies the weights; ours copies them at construction.
    averaged.update_parameters(theirs)
    ours_opt = SGD(ours.parameters(), lr=0.5, momentum=0.9)
    theirs_opt = torch.optim.SGD(theirs.parameters(), lr=0.5, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, y = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
        sgd_step(ours, theirs, ours_opt, theirs_opt, x, y)
        ema.update()
        averaged.update_parameters(theirs)
    expected = dict(averaged.module.named_parameters())
    for name, param in ours.named_parameters():
        assert_close(ema.shadow[name], expected[name], what=name)
        assert_close(param, dict(theirs.named_parameters())[name], what=name)
    # buffers are copied from the model, not averaged
    for name, buf in ours.named_buffers():
        np.testing.assert_array_equal(ema.shadow[name], buf.data)
    assert ema.num_updates == 5


def test_formula_by_hand():
    model = nn.Linear(2, 1, dtype=np.float64)
    model.weight.data[...] = [[1.0, 2.0]]
    ema = ExponentialMovingAverage(model, decay=0.75)
    model.weight.data[...] = [[5.0, -2.0]]
    ema.update()
    np.testing.assert_allclose(ema.shadow["weight"], [[0.75 * 1 + 0.25 * 5, 0.75 * 2 - 0.25 * 2]])
    model.weight.data[...] = [[0.0, 0.0]]
    ema.update()
    np.testing.assert_allclose(ema.shadow["weight"], [[0.75 * 2.0, 0.75 * 1.0]])


def test_warmup_decay():
    model = nn.Linear(1, 1, bias=False, dtype=np.float64)
    model.weight.data[...] = 0.0
    ema = ExponentialMovingAverage(model, decay=0.99, warmup=True)
    assert ema.current_decay() == pytest.approx(2 / 11)
    model.weight.data[...] = 1.0
    ema.update()
    assert ema.shadow["weight"][0, 0] == pytest.approx(1 - 2 / 11)
    ema.num_updates = 1000
    assert ema.current_decay() == 0.99


def test_average_parameters_swaps_in_and_restores_exactly():
    ours, _ = pair()
    ema = ExponentialMovingAverage(ours, decay=0.5)
    rng = np.random.default_rng(1)
    for _ in range(3):
        for p in ours.parameters():
            p.data += rng.standard_normal(p.shape)
        ema.update()
    before = {k: v.copy() for k, v in ours.state_dict().items()}
    x = st.Tensor(rng.standard_normal((4, 5)))
    ours.eval()
    with ema.average_parameters() as model:
        assert model is ours
        for name, array in ours.state_dict().items():
            np.testing.assert_array_equal(array, ema.shadow[name])
        averaged_out = ours(x).data.copy()
    for name, array in ours.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
    assert not np.allclose(averaged_out, ours(x).data)
    # restored after an exception too
    with pytest.raises(RuntimeError), ema.average_parameters():
        raise RuntimeError("evaluation failed")
    for name, array in ours.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_copy_to_another_model():
    ours, _ = pair()
    ema = ExponentialMovingAverage(ours, decay=0.9)
    for p in ours.parameters():
        p.data += 1.0
    ema.update()
    other, _ = pair()
    ema.copy_to(other)
    for name, array in other.state_dict().items():
        np.testing.assert_array_equal(array, ema.shadow[name])


def test_state_dict_round_trip():
    ours, _ = pair()
    ema = ExponentialMovingAverage(ours, decay=0.8, warmup=True)
    for p in ours.parameters():
        p.data *= 2.0
    ema.update()
    state = ema.state_dict()
    for p in ours.parameters():
        p.data += 3.0
    ema.update()  # the snapshot must not follow later updates
    assert state["num_updates"] == 1
    fresh_model, _ = pair()
    restored = ExponentialMovingAverage(fresh_model, decay=0.1)
    restored.load_state_dict(state)
    assert (restored.decay, restored.warmup, restored.num_updates) == (0.8, True, 1)
    assert set(state) == {"decay", "warmup", "num_updates"} | {
        "shadow." + k for k in ours.state_dict()}
    for name in ours.state_dict():
        np.testing.assert_array_equal(restored.shadow[name], state["shadow." + name])
    # both continue identically
    ema.load_state_dict(state)
    ema.update()
    restored.update(ours)
    for name in ours.state_dict():
        np.testing.assert_array_equal(restored.shadow[name], ema.shadow[name])


def test_errors():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="decay"):
        ExponentialMovingAverage(model, decay=1.5)
    with pytest.raises(TypeError, match="Module"):
        ExponentialMovingAverage([model.weight])
    ema = ExponentialMovingAverage(model)
    with pytest.raises(ValueError, match="state_dict keys"):
        ema.update(nn.Linear(2, 2, bias=False))
    with pytest.raises(ValueError, match="shape"):
        ema.update(nn.Linear(3, 2))
    bad = ema.state_dict()
    bad["shadow.weight"] = np.zeros((5, 5))
    with pytest.raises(ValueError, match="'weight' has shape"):
        ema.load_state_dict(bad)
    with pytest.raises(ValueError, match="missing keys \\['num_updates'\\]"):
        ema.load_state_dict({"decay": 0.9})
    with pytest.raises(ValueError, match="lacks \\['bias'\\]"):
        ema.load_state_dict({"decay": 0.9, "num_updates": 1, "shadow.weight": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="unknown keys \\['momentum'\\]"):
        ema.load_state_dict({**ema.state_dict(), "momentum": 1})
