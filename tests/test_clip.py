"""Gradient clipping against torch.nn.utils, and the weight-decay param-group helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import assert_close

import steepest
import steepest.nn as nn
from steepest import optim
from steepest.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    get_total_norm,
    param_groups_weight_decay,
)

SHAPES = [(3, 4), (5,), (2, 2, 2), ()]


def twin_params(dtype, seed=0, scale=1.0, none_at=None):
    """The same parameters and gradients in steepest and in PyTorch (grad None at `none_at`)."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate(SHAPES):
        data = np.asarray(rng.standard_normal(shape), dtype=dtype)
        grad = np.asarray(scale * rng.standard_normal(shape), dtype=dtype)
        p = steepest.Tensor(data.copy(), requires_grad=True)
        t = torch.tensor(data.copy(), requires_grad=True)
        if i != none_at:
            p.grad = grad.copy()
            t.grad = torch.from_numpy(grad.copy())
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def assert_grads_match(ours, theirs, dtype, what):
    for i, (p, t) in enumerate(zip(ours, theirs, strict=True)):
        if t.grad is None:
            assert p.grad is None
        else:
            assert p.grad.dtype == dtype
            assert_close(p.grad, t.grad, dtype, f"{what}: grad {i}")


# (norm_type, max_norm): the norms the issue names, others, a norm that clips and one that doesn't.
NORM_CASES = [
    (2.0, 0.5), (2.0, 100.0), (1.0, 0.5), (1.0, 100.0), (math.inf, 0.3), ("inf", 100.0),
    (3.0, 0.5), (0.5, 2.0), (2, 0.0),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type, max_norm", NORM_CASES)
@pytest.mark.parametrize("none_at", [None, 1])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype, none_at):
    ours, theirs = twin_params(dtype, none_at=none_at)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, steepest.Tensor) and total.data.dtype == dtype
    assert_close(total, expected, dtype, "total norm")
    assert_grads_match(ours, theirs, dtype, f"p={norm_type}, max={max_norm}")


def test_clip_grad_norm_really_clips_to_max_norm():
    ours, _ = twin_params(np.float64, scale=10.0)
    before = clip_grad_norm_(ours, 1.0)
    assert float(before) > 10
    after = get_total_norm([p.grad for p in ours])
    assert float(after) == pytest.approx(1.0, rel=1e-5)  # the 1e-6 in max/(norm + 1e-6)


def test_clip_grad_norm_single_tensor_and_empty():
    ours, theirs = twin_params(np.float64)
    total = clip_grad_norm_(ours[0], 0.1)
    expected = torch.nn.utils.clip_grad_norm_(theirs[0], 0.1)
    assert_close(total, expected, np.float64, "single tensor")
    assert_close(ours[0].grad, theirs[0].grad, np.float64, "single tensor grad")
    empty = clip_grad_norm_([], 1.0)
    assert float(empty) == 0.0
    no_grads = [steepest.Tensor(np.ones(3), requires_grad=True)]
    assert float(clip_grad_norm_(no_grads, 1.0)) == 0.0 and no_grads[0].grad is None


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_error_if_nonfinite(bad, norm_type):
    ours, theirs = twin_params(np.float64)
    ours[2].grad[0, 1, 0] = bad
    theirs[2].grad[0, 1, 0] = bad
    before = [p.grad.data.copy() for p in ours if p.grad is not None]
    with pytest.raises(RuntimeError, match=f"total norm of order {norm_type} .* non-finite"):
        clip_grad_norm_(ours, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    for p, b in zip([p for p in ours if p.grad is not None], before, strict=True):
        np.testing.assert_array_equal(p.grad, b)  # nothing was scaled before raising
    # Without the check both libraries scale by the non-finite norm alike.
    total = clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    np.testing.assert_array_equal(total.data, expected.numpy())
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("clip_value", [0.0, 0.3, 1.0, 100.0])
def test_clip_grad_value_matches_torch(clip_value, dtype):
    ours, theirs = twin_params(dtype, scale=2.0, none_at=3)
    ours[0].grad[0, 0] = np.nan
    theirs[0].grad[0, 0] = float("nan")
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_array_equal(p.grad, t.grad.numpy())  # clamping is exact
            assert np.nanmax(np.abs(p.grad)) <= clip_value


def test_clipping_keeps_the_gradient_arrays():
    ours, _ = twin_params(np.float32)
    arrays = [p.grad for p in ours if p.grad is not None]
    clip_grad_norm_(ours, 0.1)
    clip_grad_value_(ours, 0.01)
    # In place: the very same arrays, still float32 (a float64 coefficient must not promote).
    now = [p.grad for p in ours if p.grad is not None]
    assert all(a is b for a, b in zip(now, arrays, strict=True))
    assert all(a.dtype == np.float32 for a in now)


@pytest.mark.parametrize("call, error, message", [
    (lambda ps: clip_grad_norm_(ps, -1.0), ValueError, "max_norm must be >= 0, got -1.0"),
    (lambda ps: clip_grad_norm_(ps, "1"), TypeError, "max_norm must be a number"),
    (lambda ps: clip_grad_norm_(ps, 1.0, norm_type="two"), TypeError, "norm_type"),
    (lambda ps: clip_grad_value_(ps, -0.5), ValueError, "clip_value must be >= 0, got -0.5"),
    (lambda ps: clip_grad_value_(ps, None), TypeError, "clip_value must be a number"),
    (lambda ps: clip_grad_norm_([np.zeros(3)], 1.0), TypeError, "expected Tensors"),
])
def test_clip_argument_errors(call, error, message):
    ours, _ = twin_params(np.float64)
    with pytest.raises(error, match=message):
        call(ours)


# ---------------------------------------------------------------------------- weight-decay groups
class LayerNorm(nn.Module):
    """A normalisation layer known only by its class name (as any future LayerNorm would be)."""

    def __init__(self, features):
        super().__init__()
        self.weight = nn.Parameter(np.ones(features))
        self.bias = nn.Parameter(np.zeros(features))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.norm = LayerNorm(6)
        self.bn = nn.BatchNorm1d(6)
        self.head = nn.Linear(6, 2, bias=False)
        self.scale = nn.Parameter(np.ones(1))
        self.frozen = nn.Parameter(np.ones(3), requires_grad=False)


def names(group):
    return [name for name, _ in group["params"]]


def test_param_groups_weight_decay_excludes_biases_and_norm_weights():
    model = nn.Sequential(Block(), nn.Linear(2, 1))
    decay, exempt = param_groups_weight_decay(model, 0.05)
    assert decay["weight_decay"] == 0.05 and exempt["weight_decay"] == 0.0
    # In named_parameters() order (a module's own parameters before its children's).
    assert names(decay) == ["0.scale", "0.fc.weight", "0.head.weight", "1.weight"]
    assert names(exempt) == ["0.fc.bias", "0.norm.weight", "0.norm.bias", "0.bn.weight",
                             "0.bn.bias", "1.bias"]
    by_name = dict(model.named_parameters())
    for group in (decay, exempt):
        for name, param in group["params"]:
            assert param is by_name[name]


def test_param_groups_weight_decay_options():
    model = nn.Sequential(Block(), nn.Linear(2, 1))
    decay, exempt = param_groups_weight_decay(model, 0.1, no_weight_decay_list=["0.scale", "1"],
                                              named=False)
    by_id = {id(p): n for n, p in model.named_parameters()}
    assert [by_id[id(p)] for p in decay["params"]] == ["0.fc.weight", "0.head.weight"]
    assert [by_id[id(p)] for p in exempt["params"]] == [
        "0.scale", "0.fc.bias", "0.norm.weight", "0.norm.bias", "0.bn.weight", "0.bn.bias",
        "1.weight", "1.bias"]
    with pytest.raises(ValueError, match="Invalid weight_decay value: -1"):
        param_groups_weight_decay(model, -1)
    with pytest.raises(TypeError, match="needs a Module"):
        param_groups_weight_decay([], 0.1)


def test_param_groups_feed_adamw_which_decays_only_the_first_group():
    model = nn.Sequential(nn.Linear(3, 2), LayerNorm(2))
    model.double()
    opt = optim.AdamW(param_groups_weight_decay(model, 0.5), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["0.weight"]
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = np.zeros_like(p.data)  # no gradient: only the decay can move a parameter
    opt.step()
    after = dict(model.named_parameters())
    np.testing.assert_allclose(after["0.weight"].data, before["0.weight"] * (1 - 0.1 * 0.5),
                               rtol=1e-14)
    for name in ("0.bias", "1.weight", "1.bias"):
        np.testing.assert_array_equal(after[name].data, before[name])
