"""`steepest.nn.init` against PyTorch 2.13's `torch.nn.init`.

Random initialisers are compared by statistics: on the same shape, steepest's samples and
torch's samples must both lie within the bound PyTorch's formula gives (and reach close to it),
and their standard deviations must both be within 2% of the formula's (sampling error over
~1e5 values is about 0.25%). Gains and fans are compared exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import steepest as st
from steepest import nn
from steepest.nn import init

LINEAR_SHAPE = (256, 384)  # fan_in 384, fan_out 256
CONV_SHAPE = (64, 32, 3, 3)  # fan_in 32·9 = 288, fan_out 64·9 = 576
FANS = {LINEAR_SHAPE: (384, 256), CONV_SHAPE: (288, 576)}


def gain_of(nonlinearity: str, a: float) -> float:
    """PyTorch's documented table, written out."""
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + a**2))
    return {"relu": math.sqrt(2.0), "tanh": 5.0 / 3, "linear": 1.0, "selu": 0.75}[nonlinearity]


def fan(shape, mode="fan_in") -> int:
    return FANS[shape][0 if mode == "fan_in" else 1]


# (desc, steepest init, torch init, kwargs, "uniform" or "normal", expected (lo, hi) or
#  (mean, std) as a function of the shape)
RANDOM_INITS = [
    ("uniform", init.uniform_, torch.nn.init.uniform_, dict(a=-0.3, b=0.7), "uniform",
     lambda s: (-0.3, 0.7)),
    ("uniform_default", init.uniform_, torch.nn.init.uniform_, {}, "uniform", lambda s: (0, 1)),
    ("normal", init.normal_, torch.nn.init.normal_, dict(mean=0.5, std=2.0), "normal",
     lambda s: (0.5, 2.0)),
    ("normal_default", init.normal_, torch.nn.init.normal_, {}, "normal", lambda s: (0.0, 1.0)),
    ("xavier_uniform", init.xavier_uniform_, torch.nn.init.xavier_uniform_, {}, "uniform",
     lambda s: _symmetric(math.sqrt(6 / sum(FANS[s])))),
    ("xavier_uniform_gain", init.xavier_uniform_, torch.nn.init.xavier_uniform_,
     dict(gain=5.0 / 3), "uniform", lambda s: _symmetric(5.0 / 3 * math.sqrt(6 / sum(FANS[s])))),
    ("xavier_normal", init.xavier_normal_, torch.nn.init.xavier_normal_, {}, "normal",
     lambda s: (0.0, math.sqrt(2 / sum(FANS[s])))),
    ("xavier_normal_gain", init.xavier_normal_, torch.nn.init.xavier_normal_, dict(gain=2.0),
     "normal", lambda s: (0.0, 2.0 * math.sqrt(2 / sum(FANS[s])))),
    ("kaiming_uniform", init.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {}, "uniform",
     lambda s: _symmetric(gain_of("leaky_relu", 0) * math.sqrt(3 / fan(s)))),
    ("kaiming_uniform_relu_fan_out", init.kaiming_uniform_, torch.nn.init.kaiming_uniform_,
     dict(mode="fan_out", nonlinearity="relu"), "uniform",
     lambda s: _symmetric(gain_of("relu", 0) * math.sqrt(3 / fan(s, "fan_out")))),
    ("kaiming_uniform_a_sqrt5", init.kaiming_uniform_, torch.nn.init.kaiming_uniform_,
     dict(a=math.sqrt(5)), "uniform", lambda s: _symmetric(1 / math.sqrt(fan(s)))),
    ("kaiming_uniform_tanh", init.kaiming_uniform_, torch.nn.init.kaiming_uniform_,
     dict(nonlinearity="tanh"), "uniform",
     lambda s: _symmetric(gain_of("tanh", 0) * math.sqrt(3 / fan(s)))),
    ("kaiming_normal", init.kaiming_normal_, torch.nn.init.kaiming_normal_, {}, "normal",
     lambda s: (0.0, gain_of("leaky_relu", 0) / math.sqrt(fan(s)))),
    ("kaiming_normal_leaky_0.2_fan_out", init.kaiming_normal_, torch.nn.init.kaiming_normal_,
     dict(a=0.2, mode="fan_out"), "normal",
     lambda s: (0.0, gain_of("leaky_relu", 0.2) / math.sqrt(fan(s, "fan_out")))),
    ("kaiming_normal_selu", init.kaiming_normal_, torch.nn.init.kaiming_normal_,
     dict(nonlinearity="selu"), "normal", lambda s: (0.0, gain_of("selu", 0) / math.sqrt(fan(s)))),
]
RANDOM_IDS = [c[0] for c in RANDOM_INITS]


def _symmetric(bound: float) -> tuple[float, float]:
    return -bound, bound


@pytest.mark.parametrize("shape", [LINEAR_SHAPE, CONV_SHAPE], ids=["linear", "conv"])
@pytest.mark.parametrize("desc, ours, theirs, kwargs, kind, expected", RANDOM_INITS,
                         ids=RANDOM_IDS)
def test_random_init_matches_torch_by_statistics(desc, ours, theirs, kwargs, kind, expected,
                                                 shape):
    weight = st.zeros(*shape)
    assert ours(weight, **kwargs, generator=np.random.default_rng(0)) is weight
    mine = weight.data
    torch.manual_seed(0)
    reference = theirs(torch.empty(shape), **kwargs).numpy()
    for who, values in (("steepest", mine), ("torch", reference)):
        if kind == "uniform":
            lo, hi = expected(shape)
            width = hi - lo
            assert values.min() >= lo and values.max() <= hi, who
            assert values.min() < lo + 0.001 * width and values.max() > hi - 0.001 * width, who
            mean, std = (lo + hi) / 2, width / math.sqrt(12)
        else:
            mean, std = expected(shape)
        assert abs(values.mean() - mean) < 0.02 * std, f"{who}: mean {values.mean()}"
        assert abs(values.std() / std - 1) < 0.02, f"{who}: std {values.std()} vs {std}"


@pytest.mark.parametrize("desc, ours, theirs, kwargs, kind, expected", RANDOM_INITS,
                         ids=RANDOM_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_init_keeps_dtype_and_repeats_with_the_same_seed(desc, ours, theirs, kwargs,
                                                                kind, expected, dtype):
    first, second, other = (st.zeros(20, 30, dtype=dtype) for _ in range(3))
    ours(first, **kwargs, generator=np.random.default_rng(42))
    ours(second, **kwargs, generator=np.random.default_rng(42))
    ours(other, **kwargs, generator=np.random.default_rng(43))
    assert first.dtype == dtype
    np.testing.assert_array_equal(first.data, second.data)
    assert not np.array_equal(first.data, other.data)
    st.manual_seed(7)
    ours(first, **kwargs)
    st.manual_seed(7)
    ours(second, **kwargs)
    np.testing.assert_array_equal(first.data, second.data)  # the default generator, reseeded


@pytest.mark.parametrize("ours, theirs, args", [
    (init.constant_, torch.nn.init.constant_, (0.25,)),
    (init.zeros_, torch.nn.init.zeros_, ()),
    (init.ones_, torch.nn.init.ones_, ()),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_constant_inits_equal_torch(ours, theirs, args, dtype):
    weight = st.tensor(np.full((3, 4), 9.0, dtype=dtype))
    assert ours(weight, *args) is weight
    expected = theirs(torch.full((3, 4), 9.0, dtype=torch.float64), *args).numpy()
    assert weight.dtype == dtype
    np.testing.assert_array_equal(weight.data, expected)


NONLINEARITIES = [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None), ("leaky_relu", None),
    ("leaky_relu", 0), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
]


@pytest.mark.parametrize("nonlinearity, param", NONLINEARITIES)
def test_calculate_gain_equals_torch(nonlinearity, param):
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)


def test_calculate_gain_identity_is_one():
    """steepest also accepts "identity" (torch.nn.init does not): the same gain as "linear"."""
    assert init.calculate_gain("identity") == init.calculate_gain("linear") == 1.0


def test_calculate_gain_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5), (16, 8, 3, 3), (4, 2, 3, 3, 3), (5, 1)])
def test_fan_in_and_fan_out_equal_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(st.zeros(*shape)) == expected


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                                init.kaiming_normal_])
def test_fan_based_inits_need_two_dimensions(fn):
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        fn(st.zeros(5))


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
def test_bad_mode_and_nonlinearity_raise(fn):
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        fn(st.zeros(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        fn(st.zeros(3, 4), nonlinearity="swish")


def test_aliases_are_the_same_functions():
    assert init.glorot_uniform_ is init.xavier_uniform_
    assert init.glorot_normal_ is init.xavier_normal_
    assert init.he_uniform_ is init.kaiming_uniform_
    assert init.he_normal_ is init.kaiming_normal_


@pytest.mark.parametrize("in_features, out_features", [(200, 300), (1000, 50)])
def test_linear_default_init_has_torchs_bounds(in_features, out_features):
    """PyTorch: weight and bias both U(−1/√in, 1/√in) (kaiming_uniform_ with a = √5)."""
    bound = 1 / math.sqrt(in_features)
    ours = nn.Linear(in_features, out_features, generator=np.random.default_rng(0))
    torch.manual_seed(0)
    theirs = torch.nn.Linear(in_features, out_features)
    for name in ("weight", "bias"):
        for who, values in (("steepest", getattr(ours, name).data),
                            ("torch", getattr(theirs, name).detach().numpy())):
            assert np.abs(values).max() <= bound, f"{who} {name}"
            assert np.abs(values).max() > 0.95 * bound, f"{who} {name}"
        assert getattr(ours, name).dtype == np.float32
    mine, reference = ours.weight.data, theirs.weight.detach().numpy()
    assert abs(mine.std() / (bound / math.sqrt(3)) - 1) < 0.02
    assert abs(reference.std() / (bound / math.sqrt(3)) - 1) < 0.02
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64
