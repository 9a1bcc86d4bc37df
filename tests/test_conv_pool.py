"""Convolutions and pooling against PyTorch 2.13 (values and every gradient) and finite differences.

Each case runs forward and backward in steepest and in PyTorch from the same arrays and the same
upstream gradient, and compares the output and the gradients of the input, weight and bias in
float64 (1e-10) and float32 (1e-5).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import assert_close

import steepest as st
import steepest.nn.functional as F
from steepest import nn
from steepest.functional.pooling import fractional_intervals

DTYPES = [np.float64, np.float32]


def _seed(name: str) -> int:
    """A seed per case that does not change between runs (str hashes do)."""
    return zlib.crc32(name.encode())


def _cv(s=1, p=0, d=1, g=1) -> dict:
    """Convolution keyword arguments, abbreviated so that each case fits on one line."""
    return dict(stride=s, padding=p, dilation=d, groups=g)


def _pool(k, s=None, p=0, d=None, ceil=False, incl=None, div=None) -> dict:
    """Pooling keyword arguments (dilation for max, incl and div for average pooling only)."""
    kwargs = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
    if d is not None:
        kwargs["dilation"] = d
    if incl is not None:
        kwargs["count_include_pad"] = incl
    if div is not None:
        kwargs["divisor_override"] = div
    return kwargs


def _run_steepest(fn, arrays, grad_out_seed=0, needs=None):
    """Forward fn on Tensors made from arrays, backward a fixed random upstream gradient."""
    needs = needs or [True] * len(arrays)
    tensors = [None if a is None else st.Tensor(a.copy(), requires_grad=n)
               for a, n in zip(arrays, needs, strict=True)]
    out = fn(*tensors)
    upstream = np.random.default_rng(grad_out_seed).standard_normal(out.shape).astype(out.dtype)
    out.backward(upstream)
    return out, [None if t is None else t.grad for t in tensors], upstream


def _run_torch(fn, arrays, upstream, needs=None):
    needs = needs or [True] * len(arrays)
    tensors = [None if a is None else torch.from_numpy(a.copy()).requires_grad_(n)
               for a, n in zip(arrays, needs, strict=True)]
    out = fn(*tensors)
    out.backward(torch.from_numpy(upstream))
    return out, [None if t is None else t.grad for t in tensors]


def _compare(fn_st, fn_torch, arrays, dtype, names, needs=None):
    out, grads, upstream = _run_steepest(fn_st, arrays, needs=needs)
    expected, expected_grads = _run_torch(fn_torch, arrays, upstream, needs=needs)
    assert out.dtype == dtype
    assert out.shape == tuple(expected.shape)
    assert_close(out, expected, dtype, "output")
    for name, g, e in zip(names, grads, expected_grads, strict=True):
        if e is None:
            assert g is None, f"{name} got a gradient it does not need"
            continue
        assert g is not None and g.dtype == dtype, f"gradient of {name}"
        assert_close(g, e, dtype, f"gradient of {name}")


# ----------------------------------------------------------------------------- convolution

# name, dims, input shape, weight shape, keyword arguments, bias
CONV_CASES = [
    ("basic", 2, (2, 3, 7, 6), (4, 3, 3, 3), _cv(), True),
    ("stride2", 2, (2, 3, 9, 8), (5, 3, 3, 3), _cv(s=2), True),
    ("stride_tuple_pad_tuple", 2, (2, 2, 7, 9), (3, 2, 3, 2), _cv(s=(2, 1), p=(1, 2)), True),
    ("dilation_pad", 2, (1, 2, 9, 10), (3, 2, 3, 3), _cv(d=(2, 3), p=1), True),
    ("groups2", 2, (2, 4, 6, 6), (6, 2, 3, 3), _cv(g=2), True),
    ("depthwise_pad_nobias", 2, (2, 3, 5, 5), (6, 1, 3, 3), _cv(g=3, p=1), False),
    ("nonsquare_kernel_nobias", 2, (3, 2, 5, 8), (2, 2, 1, 4), _cv(), False),
    ("batch1_odd_stride3", 2, (1, 1, 5, 7), (1, 1, 2, 3), _cv(s=3, p=1), True),
    ("all_options", 2, (2, 4, 11, 9), (4, 2, 3, 2), _cv(s=(2, 3), p=(2, 1), d=(2, 1), g=2), True),
    ("same_dilated_even_kernel", 2, (2, 2, 6, 7), (3, 2, 4, 3), _cv(p="same", d=(1, 2)), True),
    ("valid", 2, (2, 2, 6, 7), (3, 2, 3, 3), _cv(p="valid"), True),
    ("kernel_is_input", 2, (2, 2, 3, 3), (4, 2, 3, 3), _cv(), True),
    ("1x1", 2, (2, 5, 4, 3), (3, 5, 1, 1), _cv(), True),
    ("unbatched", 2, (3, 6, 6), (2, 3, 3, 3), _cv(p=1), True),
    ("conv1d_basic", 1, (2, 3, 10), (4, 3, 3), _cv(), True),
    ("conv1d_stride_pad_dilation", 1, (3, 2, 17), (4, 2, 5), _cv(s=2, p=2, d=2), True),
    ("conv1d_groups_tuple_stride", 1, (2, 4, 9), (4, 2, 2), _cv(g=2, s=(3,)), False),
    ("conv1d_same_even_kernel", 1, (2, 2, 9), (3, 2, 4), _cv(p="same"), True),
    ("conv1d_batch1", 1, (1, 1, 6), (2, 1, 6), _cv(), True),
    ("conv1d_unbatched", 1, (3, 8), (2, 3, 3), _cv(), True),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name, dims, x_shape, w_shape, kwargs, bias", CONV_CASES,
                         ids=[c[0] for c in CONV_CASES])
def test_conv_matches_torch(name, dims, x_shape, w_shape, kwargs, bias, dtype):
    rng = np.random.default_rng(_seed(name))
    arrays = [rng.standard_normal(x_shape).astype(dtype),
              rng.standard_normal(w_shape).astype(dtype),
              rng.standard_normal(w_shape[0]).astype(dtype) if bias else None]
    fn_st = F.conv2d if dims == 2 else F.conv1d
    fn_torch = TF.conv2d if dims == 2 else TF.conv1d
    _compare(lambda x, w, b: fn_st(x, w, b, **kwargs), lambda x, w, b: fn_torch(x, w, b, **kwargs),
             arrays, dtype, ["input", "weight", "bias"])


@pytest.mark.parametrize("needs", [(False, True, True), (True, False, False), (False, False, True)],
                         ids=["first_layer", "frozen_weight", "bias_only"])
def test_conv_skips_unneeded_grads(needs):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2)),
              rng.standard_normal(3)]
    _compare(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
             lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1),
             arrays, np.float64, ["input", "weight", "bias"], needs=list(needs))


def test_conv_grad_accumulates_over_two_uses():
    """The same weight in two convolutions: its gradient is the sum of both."""
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((3, 3, 3, 3))]
    _compare(lambda x, w: F.conv2d(F.conv2d(x, w, padding=1), w),
             lambda x, w: TF.conv2d(TF.conv2d(x, w, padding=1), w),
             arrays, np.float64, ["input", "weight"])


# ----------------------------------------------------------------------------- pooling

# name, input shape, keyword arguments
MAX2D_CASES = [
    ("k2", (2, 3, 6, 6), _pool(2)),
    ("k3_s2_p1", (2, 2, 7, 8), _pool(3, s=2, p=1)),
    ("ceil_odd", (1, 2, 7, 7), _pool(2, ceil=True)),
    ("ceil_pad_stride", (2, 1, 8, 9), _pool(3, s=2, p=1, ceil=True)),
    ("ceil_drops_last_window", (1, 1, 5, 5), _pool(2, s=2, p=1, ceil=True)),
    ("dilation", (1, 2, 9, 9), _pool(2, s=1, d=2)),
    ("dilation_pad_ceil", (2, 1, 10, 8), _pool(3, s=2, p=1, d=2, ceil=True)),
    ("nonsquare", (2, 2, 7, 9), _pool((2, 3), s=(1, 2), p=(1, 1))),
    ("overlap", (2, 1, 5, 5), _pool(3, s=1)),
    ("batch1_odd", (1, 1, 5, 3), _pool((3, 2), s=(2, 1))),
    ("unbatched", (3, 6, 5), _pool(2)),
]

MAX1D_CASES = [
    ("k2", (2, 3, 8), _pool(2)),
    ("k3_s2_p1_ceil", (2, 2, 10), _pool(3, s=2, p=1, ceil=True)),
    ("dilation_overlap", (1, 2, 11), _pool(3, s=1, d=2)),
    ("tuple_args", (3, 1, 9), _pool((4,), s=(3,), p=(2,))),
    ("unbatched", (3, 7), _pool(2)),
]

AVG_CASES = [
    ("k2", (2, 3, 6, 6), _pool(2)),
    ("k3_s2_p1", (2, 2, 7, 8), _pool(3, s=2, p=1)),
    ("k3_s2_p1_exclude_pad", (2, 2, 7, 8), _pool(3, s=2, p=1, incl=False)),
    ("ceil", (1, 2, 7, 7), _pool(2, ceil=True)),
    ("ceil_pad_include", (2, 1, 8, 9), _pool(3, s=2, p=1, ceil=True)),
    ("ceil_pad_exclude", (2, 1, 8, 9), _pool(3, s=2, p=1, ceil=True, incl=False)),
    ("nonsquare_overlap", (2, 2, 7, 9), _pool((2, 3), s=1, p=(1, 0))),
    ("divisor_override", (1, 2, 6, 7), _pool(3, s=2, p=1, div=5)),
    ("unbatched", (3, 6, 5), _pool(2, s=1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name, shape, kwargs", MAX2D_CASES, ids=[c[0] for c in MAX2D_CASES])
def test_max_pool2d_matches_torch(name, shape, kwargs, dtype):
    x = np.random.default_rng(_seed(name)).standard_normal(shape).astype(dtype)
    _compare(lambda t: F.max_pool2d(t, **kwargs), lambda t: TF.max_pool2d(t, **kwargs), [x],
             dtype, ["input"])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name, shape, kwargs", MAX1D_CASES, ids=[c[0] for c in MAX1D_CASES])
def test_max_pool1d_matches_torch(name, shape, kwargs, dtype):
    x = np.random.default_rng(_seed(name)).standard_normal(shape).astype(dtype)
    _compare(lambda t: F.max_pool1d(t, **kwargs), lambda t: TF.max_pool1d(t, **kwargs), [x],
             dtype, ["input"])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name, shape, kwargs", AVG_CASES, ids=[c[0] for c in AVG_CASES])
def test_avg_pool2d_matches_torch(name, shape, kwargs, dtype):
    x = np.random.default_rng(_seed(name)).standard_normal(shape).astype(dtype)
    _compare(lambda t: F.avg_pool2d(t, **kwargs), lambda t: TF.avg_pool2d(t, **kwargs), [x],
             dtype, ["input"])


# Ties: many equal values, overlapping windows; the first maximum in row-major order wins.
TIE_CASES = [
    ("2d_k2", "2d", (2, 2, 6, 6), _pool(2)),
    ("2d_overlap", "2d", (1, 2, 6, 7), _pool(3, s=1, p=1)),
    ("2d_dilation_ceil", "2d", (1, 1, 9, 8), _pool(2, s=2, d=2, ceil=True)),
    ("1d_overlap", "1d", (2, 2, 12), _pool(3, s=2, p=1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name, kind, shape, kwargs", TIE_CASES, ids=[c[0] for c in TIE_CASES])
def test_max_pool_ties_match_torch(name, kind, shape, kwargs, dtype):
    x = np.random.default_rng(7).integers(0, 3, shape).astype(dtype)  # lots of ties
    fn_st, fn_torch = (F.max_pool2d, TF.max_pool2d) if kind == "2d" else (F.max_pool1d,
                                                                          TF.max_pool1d)
    _compare(lambda t: fn_st(t, **kwargs), lambda t: fn_torch(t, **kwargs), [x], dtype,
             ["input"])


def test_max_pool_tie_gradient_goes_to_first_max_by_hand():
    x = st.Tensor(np.ones((1, 1, 2, 4)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])
    x = st.Tensor(np.array([[[0.0, 2.0, 2.0, 1.0, 2.0]]]), requires_grad=True)
    F.max_pool1d(x, 3, stride=1).sum().backward()  # windows [0 2 2], [2 2 1], [2 1 2]
    np.testing.assert_array_equal(x.grad[0, 0], [0, 2, 1, 0, 0])


# ----------------------------------------------------------------------------- fractional


# name, input shape, kernel, output_size, output_ratio
FRACTIONAL_CASES = [
    ("k2_out5x6", (2, 3, 9, 11), 2, (5, 6), None),
    ("k3_out_int", (1, 2, 10, 10), 3, 4, None),
    ("nonsquare_kernel", (2, 2, 9, 12), (2, 3), (6, 7), None),
    ("ratio_half", (2, 2, 12, 10), 2, None, 0.5),
    ("ratio_pair", (1, 3, 11, 13), (3, 2), None, (0.6, 0.7)),
    ("output_is_max", (1, 1, 7, 6), 2, (6, 5), None),
    ("output_1", (2, 1, 5, 4), 2, (1, 1), None),
    ("unbatched", (3, 8, 9), 2, (5, 5), None),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name, shape, kernel, size, ratio", FRACTIONAL_CASES,
                         ids=[c[0] for c in FRACTIONAL_CASES])
def test_fractional_max_pool2d_matches_torch(name, shape, kernel, size, ratio, dtype):
    rng = np.random.default_rng(_seed(name))
    x = rng.standard_normal(shape).astype(dtype)
    n, c = (1, shape[0]) if len(shape) == 3 else shape[:2]
    samples = rng.random((n, c, 2)).astype(dtype)
    samples[0, 0] = (0.0, 0.999)  # the ends of [0, 1)
    # torch's functional form needs a pair for the ratio (its module turns a float into one).
    torch_ratio = (ratio, ratio) if isinstance(ratio, float) else ratio
    _compare(
        lambda t: F.fractional_max_pool2d(t, kernel, size, ratio, _random_samples=samples),
        lambda t: TF.fractional_max_pool2d(t, kernel, size, torch_ratio,
                                           _random_samples=torch.from_numpy(samples)),
        [x], dtype, ["input"],
    )


def test_fractional_intervals_use_the_input_dtype_like_torch():
    """Samples where float32 and float64 arithmetic place windows differently: match torch's."""
    rng = np.random.default_rng(11)
    u = rng.random(100_000).astype(np.float32)
    size, out, pool = 95, 92, 3  # about 60 of 100 000 samples fall on a rounding edge
    differ = np.nonzero((fractional_intervals(u, size, out, pool)
                         != fractional_intervals(u.astype(np.float64), size, out, pool)).any(-1))[0]
    assert differ.size > 0, "no sample separates float32 from float64 arithmetic"
    samples = np.repeat(u[differ][None, :, None], 2, axis=2)  # (1, planes, 2)
    x = np.arange(size * size, dtype=np.float32).reshape(1, 1, size, size)
    x = np.repeat(x, differ.size, axis=1)  # increasing values: the max is the window's corner
    ours = F.fractional_max_pool2d(st.Tensor(x), pool, out, _random_samples=samples)
    theirs = TF.fractional_max_pool2d(torch.from_numpy(x), pool, out,
                                      _random_samples=torch.from_numpy(samples))
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_fractional_max_pool2d_draws_samples_from_generator():
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 9))
    out = F.fractional_max_pool2d(st.Tensor(x), 2, (4, 5), generator=np.random.default_rng(5))
    samples = np.random.default_rng(5).random((2, 3, 2))
    expected = TF.fractional_max_pool2d(torch.from_numpy(x), 2, (4, 5),
                                        _random_samples=torch.from_numpy(samples))
    assert_close(out, expected, np.float64, "output")
    st.manual_seed(9)
    first = nn.FractionalMaxPool2d(2, output_ratio=0.5)(st.Tensor(x))
    second = nn.FractionalMaxPool2d(2, output_ratio=0.5)(st.Tensor(x))
    st.manual_seed(9)
    again = nn.FractionalMaxPool2d(2, output_ratio=0.5)(st.Tensor(x))
    assert first.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(first.data, again.data)
    assert not np.array_equal(first.data, second.data)


# ----------------------------------------------------------------------------- gradcheck

GRADCHECK_CASES = [
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, **_cv(s=(2, 1), p=1, d=(1, 2), g=2)),
     [(2, 4, 5, 6), (2, 2, 2, 3), (2,)]),
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding="valid", dilation=2),
     [(2, 2, 9), (3, 2, 2), (3,)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 6, 5)]),
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 1, 1, dilation=2), [(2, 2, 9)]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     [(2, 2, 6, 5)]),
    ("fractional_max_pool2d",
     lambda x: F.fractional_max_pool2d(x, 2, (4, 3), _random_samples=np.full((2, 2, 2), 0.3)),
     [(2, 2, 7, 6)]),
]


@pytest.mark.parametrize("name, fn, shapes", GRADCHECK_CASES, ids=[c[0] for c in GRADCHECK_CASES])
def test_gradcheck(name, fn, shapes):
    rng = np.random.default_rng(5)
    inputs = [st.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert st.gradcheck(fn, inputs)


# ----------------------------------------------------------------------------- modules

# module name, constructor arguments, input shape
MODULE_CASES = [
    ("Conv2d", (3, 4, 3), dict(stride=2, padding=1), (2, 3, 7, 8)),
    ("Conv2d", (4, 6, (3, 2)), dict(dilation=(1, 2), groups=2, bias=False), (2, 4, 6, 7)),
    ("Conv2d", (2, 3, 4), dict(padding="same"), (1, 2, 5, 6)),
    ("Conv1d", (2, 5, 3), dict(stride=2, padding=1), (3, 2, 11)),
    ("Conv1d", (4, 4, 5), dict(groups=4, dilation=2, padding="valid"), (2, 4, 13)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name, args, kwargs, shape", MODULE_CASES,
                         ids=[f"{c[0]}_{i}" for i, c in enumerate(MODULE_CASES)])
def test_conv_module_matches_torch(name, args, kwargs, shape, dtype):
    ours = getattr(nn, name)(*args, **kwargs, dtype=dtype, generator=np.random.default_rng(1))
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = getattr(torch.nn, name)(*args, **kwargs, dtype=torch_dtype)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    assert str(ours) == str(theirs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    out, (grad_x,), upstream = _run_steepest(ours, [x])
    expected, (expected_grad_x,) = _run_torch(theirs, [x], upstream)
    assert_close(out, expected, dtype, "output")
    assert_close(grad_x, expected_grad_x, dtype, "gradient of input")
    for param_name, param in ours.named_parameters():
        assert param.grad.dtype == dtype
        expected = getattr(theirs, param_name).grad
        assert_close(param.grad, expected, dtype, f"gradient of {param_name}")


# module, constructor arguments, bound (PyTorch's: 1/√fan_in, fan_in = C_in/groups · kernel)
INIT_CASES = [
    ("Conv2d", (16, 256, 3), {}, 1 / math.sqrt(16 * 9)),
    ("Conv2d", (8, 256, (3, 5)), dict(groups=4), 1 / math.sqrt(2 * 15)),
    ("Conv1d", (10, 256, 7), {}, 1 / math.sqrt(70)),
]


@pytest.mark.parametrize("name, args, kwargs, bound", INIT_CASES,
                         ids=[f"{c[0]}_{i}" for i, c in enumerate(INIT_CASES)])
def test_conv_default_init_follows_torch_formula(name, args, kwargs, bound):
    ours = getattr(nn, name)(*args, **kwargs, generator=np.random.default_rng(0))
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    for param_name in ("weight", "bias"):
        torch_values = getattr(theirs, param_name).detach().numpy()
        for values in (getattr(ours, param_name).data, torch_values):
            assert np.abs(values).max() <= bound
            assert np.abs(values).max() > 0.9 * bound
            # U(−b, b) has standard deviation b/√3; looser for the 256-element biases.
            tolerance = 0.05 if values.size > 1000 else 0.15
            assert abs(values.std() / (bound / math.sqrt(3)) - 1) < tolerance
    assert ours.weight.dtype == np.float32


POOL_MODULE_CASES = [
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 2, 7, 8)),
    ("MaxPool2d", ((2, 3),), dict(dilation=(2, 1)), (1, 2, 8, 9)),
    ("MaxPool1d", (3,), dict(stride=1, padding=1), (2, 3, 8)),
    ("AvgPool2d", (3, 2, 1), dict(count_include_pad=False, ceil_mode=True), (2, 2, 8, 7)),
    ("AvgPool2d", (2,), {}, (2, 3, 6, 6)),
]


@pytest.mark.parametrize("name, args, kwargs, shape", POOL_MODULE_CASES,
                         ids=[f"{c[0]}_{i}" for i, c in enumerate(POOL_MODULE_CASES)])
def test_pool_module_matches_torch(name, args, kwargs, shape):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert str(ours) == str(theirs)
    x = np.random.default_rng(3).standard_normal(shape)
    _compare(ours, theirs, [x], np.float64, ["input"])


def test_fractional_module_repr_and_shape():
    pool = nn.FractionalMaxPool2d((2, 3), output_size=(4, 5), generator=np.random.default_rng(0))
    assert str(pool) == "FractionalMaxPool2d(kernel_size=(2, 3), output_size=(4, 5))"
    assert pool(st.Tensor(np.zeros((2, 3, 9, 9)))).shape == (2, 3, 4, 5)


# ----------------------------------------------------------------------------- errors

def _z(*shape, dtype=np.float64) -> st.Tensor:
    return st.Tensor(np.zeros(shape, dtype=dtype))


# name, what to run, error, message pattern
ERROR_CASES = [
    ("conv_channels", lambda: F.conv2d(_z(1, 3, 5, 5), _z(2, 2, 3, 3)),
     ValueError, r"conv2d.*\(1, 3, 5, 5\).*\(2, 2, 3, 3\)"),
    ("conv_groups_out", lambda: F.conv2d(_z(1, 4, 5, 5), _z(3, 2, 3, 3), groups=2),
     ValueError, r"divisible by groups=2"),
    ("conv_kernel_too_big", lambda: F.conv2d(_z(1, 1, 2, 5), _z(1, 1, 3, 3)),
     ValueError, r"conv2d.*\(1, 1, 2, 5\).*kernel \(3, 3\)"),
    ("conv_bias_shape", lambda: F.conv1d(_z(1, 2, 5), _z(3, 2, 2), _z(2)),
     ValueError, r"bias must have shape \(3,\).*got \(2,\)"),
    ("conv_ndim", lambda: F.conv2d(_z(5, 5), _z(1, 1, 3, 3)),
     ValueError, r"conv2d: input must have 4 dimensions.*\(5, 5\)"),
    ("conv_stride_zero", lambda: F.conv2d(_z(1, 1, 5, 5), _z(1, 1, 3, 3), stride=0),
     ValueError, r"stride must be >= 1, got 0"),
    ("conv_stride_type", lambda: F.conv1d(_z(1, 1, 5), _z(1, 1, 3), stride=1.5),
     TypeError, r"stride must be an int or a tuple of 1 ints, got 1.5"),
    ("conv_same_strided", lambda: F.conv2d(_z(1, 1, 5, 5), _z(1, 1, 3, 3), None, 2, "same"),
     ValueError, r"padding='same' is not supported for strided"),
    ("conv_padding_word", lambda: F.conv2d(_z(1, 1, 5, 5), _z(1, 1, 3, 3), padding="full"),
     ValueError, r"'full'"),
    ("conv_dtype_mix", lambda: F.conv2d(_z(1, 1, 5, 5), _z(1, 1, 3, 3, dtype=np.float32)),
     TypeError, r"float64, float32"),
    ("Conv2d_channels", lambda: nn.Conv2d(3, 6, 5)(_z(8, 1, 28, 28, dtype=np.float32)),
     ValueError, r"Conv2d\(3, 6, kernel_size=\(5, 5\).*\(N, 3, H, W\), got \(8, 1, 28, 28\)"),
    ("Conv1d_ndim", lambda: nn.Conv1d(2, 4, 3)(_z(8, 2, 5, 5, dtype=np.float32)),
     ValueError, r"Conv1d\(2, 4.*\(N, 2, L\), got \(8, 2, 5, 5\)"),
    ("Conv2d_groups", lambda: nn.Conv2d(3, 6, 3, groups=2),
     ValueError, r"divisible by groups \(2\)"),
    ("Conv2d_no_channels", lambda: nn.Conv2d(0, 6, 3), ValueError, r"in_channels .* got 0"),
    ("Conv1d_same_strided", lambda: nn.Conv1d(1, 1, 3, stride=2, padding="same"),
     ValueError, r"strided"),
    ("max_pool_big_padding", lambda: F.max_pool2d(_z(1, 1, 6, 6), 2, padding=2),
     ValueError, r"padding should be at most half of the kernel size.*\(2, 2\)"),
    ("max_pool_too_small", lambda: F.max_pool2d(_z(1, 1, 1, 6), 2),
     ValueError, r"\(1, 1, 1, 6\) is too small"),
    ("max_pool1d_ndim", lambda: F.max_pool1d(_z(6), 2), ValueError, r"max_pool1d.*\(6,\)"),
    ("avg_pool_kernel_zero", lambda: F.avg_pool2d(_z(1, 1, 4, 4), 0),
     ValueError, r"kernel_size must be >= 1"),
    ("avg_pool_divisor", lambda: F.avg_pool2d(_z(1, 1, 4, 4), 2, divisor_override=0),
     ValueError, r"divisor_override must be a positive int, got 0"),
    ("fractional_no_size", lambda: F.fractional_max_pool2d(_z(1, 1, 6, 6), 2),
     ValueError, r"output_size or an output_ratio"),
    ("fractional_too_big", lambda: F.fractional_max_pool2d(_z(1, 1, 6, 6), 3, (5, 2)),
     ValueError, r"output height 5 with pool size 3 needs an input height of at least 7"),
    ("fractional_samples_shape",
     lambda: F.fractional_max_pool2d(_z(2, 3, 6, 6), 2, 3, _random_samples=np.zeros((2, 2, 2))),
     ValueError, r"_random_samples must have shape \(2, 3, 2\).*got \(2, 2, 2\)"),
    ("fractional_ratio", lambda: F.fractional_max_pool2d(_z(1, 1, 6, 6), 2, output_ratio=1.5),
     ValueError, r"output_ratio must be .* in \(0, 1\), got 1.5"),
    ("FractionalMaxPool2d_neither", lambda: nn.FractionalMaxPool2d(2),
     ValueError, r"output size, or a pooling ratio"),
    ("FractionalMaxPool2d_both", lambda: nn.FractionalMaxPool2d(2, 3, 0.5),
     ValueError, r"only one of"),
]


@pytest.mark.parametrize("name, make, error, pattern", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_input_raises(name, make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()
