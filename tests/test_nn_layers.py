"""Layers against PyTorch 2.13 and finite differences: BatchNorm, Linear, activations, Dropout,
DropConnect, Maxout, StochasticDepth.

Every comparison runs in float64 (rtol = atol = 1e-10) and float32 (1e-5) and covers the output
and the gradients of the input and of every parameter, with a random upstream gradient.
Random layers are checked with a fixed generator: their mask is rebuilt from the same seed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import assert_close

import steepest as st
import steepest.nn.functional as F
from steepest import nn
from steepest.nn.normalization import batch_norm
from steepest.nn.regularization import drop_connect_linear, maxout, stochastic_depth

DTYPES = [np.float64, np.float32]
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def leaf(array: np.ndarray) -> tuple[st.Tensor, torch.Tensor]:
    """The same values as a steepest leaf and a torch leaf, both requiring grad."""
    return st.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


# ============================================================================== BatchNorm

BN_CASES = [
    # (desc, layer, input shape, constructor options)
    ("1d_NC", "BatchNorm1d", (8, 4), {}),
    ("1d_NCL", "BatchNorm1d", (6, 4, 5), {}),
    ("2d_NCHW", "BatchNorm2d", (4, 4, 3, 5), {}),
    ("1d_cumulative", "BatchNorm1d", (8, 4), dict(momentum=None)),
    ("2d_cumulative", "BatchNorm2d", (3, 4, 2, 3), dict(momentum=None)),
    ("1d_no_affine", "BatchNorm1d", (6, 4, 5), dict(affine=False)),
    ("2d_no_affine", "BatchNorm2d", (4, 4, 3, 5), dict(affine=False)),
    ("1d_no_bias", "BatchNorm1d", (8, 4), dict(bias=False)),
    ("2d_no_bias", "BatchNorm2d", (3, 4, 2, 2), dict(bias=False)),
    ("1d_no_running_stats", "BatchNorm1d", (8, 4), dict(track_running_stats=False)),
    ("2d_no_running_stats", "BatchNorm2d", (4, 4, 3, 5), dict(track_running_stats=False)),
    ("1d_momentum_eps", "BatchNorm1d", (5, 4, 3), dict(momentum=0.3, eps=1e-3)),
    ("2d_momentum_1", "BatchNorm2d", (2, 4, 3, 3), dict(momentum=1.0)),
]


def bn_pair(layer: str, options: dict, dtype, rng, channels: int = 4):
    """A steepest and a torch batch-norm layer with the same random γ, β."""
    ours = getattr(nn, layer)(channels, dtype=dtype, **options)
    theirs = getattr(torch.nn, layer)(channels, dtype=TORCH_DTYPE[dtype], **options)
    for name, param in theirs.named_parameters():
        values = rng.uniform(0.5, 2.0, channels).astype(dtype)
        getattr(ours, name).data[...] = values
        with torch.no_grad():
            param.copy_(torch.from_numpy(values))
    return ours, theirs


def bn_step(ours, theirs, shape, dtype, rng, what: str) -> None:
    """One forward and backward on fresh inputs; compare output, every gradient and buffer."""
    x_array = (rng.standard_normal(shape) * 3 + 1.5).astype(dtype)
    grad = rng.standard_normal(shape).astype(dtype)
    x, x_t = leaf(x_array)
    ours.zero_grad()
    theirs.zero_grad()
    out, out_t = ours(x), theirs(x_t)
    out.backward(grad)
    out_t.backward(torch.from_numpy(grad))
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert_close(out, out_t, dtype, f"{what}: output")
    assert_close(x.grad, x_t.grad, dtype, f"{what}: input gradient")
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for name, param in theirs.named_parameters():
        assert_close(getattr(ours, name).grad, param.grad, dtype, f"{what}: {name} gradient")
    for name, buf in theirs.named_buffers():
        if name == "num_batches_tracked":
            assert int(getattr(ours, name).data) == int(buf), f"{what}: {name}"
        else:
            assert_close(getattr(ours, name), buf, dtype, f"{what}: {name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("desc, layer, shape, options", BN_CASES, ids=[c[0] for c in BN_CASES])
def test_batchnorm_matches_torch_over_training_steps_then_eval(desc, layer, shape, options,
                                                               dtype, rng):
    ours, theirs = bn_pair(layer, options, dtype, rng)
    for step in range(3):
        bn_step(ours, theirs, shape, dtype, rng, f"{desc} train step {step}")
    ours.eval()
    theirs.eval()
    for step in range(2):
        bn_step(ours, theirs, shape, dtype, rng, f"{desc} eval step {step}")
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked.data) == 3  # eval steps do not count


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer, shape", [("BatchNorm1d", (1, 4)), ("BatchNorm2d", (1, 4, 1, 1))])
def test_batchnorm_eval_accepts_one_value_per_channel(layer, shape, dtype, rng):
    ours, theirs = bn_pair(layer, {}, dtype, rng)
    bn_step(ours, theirs, (5,) + shape[1:], dtype, rng, "train")  # non-trivial running stats
    ours.eval()
    theirs.eval()
    bn_step(ours, theirs, shape, dtype, rng, "eval, batch of one")


@pytest.mark.parametrize("dtype", DTYPES)
def test_batchnorm_running_stats_follow_the_formulas(dtype, rng):
    """Hand-written updates: mean with momentum, variance unbiased n/(n−1), then 1/k averaging."""
    x_steps = [rng.standard_normal((5, 3)).astype(dtype) for _ in range(3)]
    layer = nn.BatchNorm1d(3, momentum=0.25, dtype=dtype)
    mean, var = np.zeros(3), np.ones(3)
    for x in x_steps:
        layer(st.tensor(x))
        mean = 0.75 * mean + 0.25 * x.mean(axis=0)
        var = 0.75 * var + 0.25 * x.var(axis=0, ddof=1)
    assert_close(layer.running_mean, mean, dtype, "running_mean")
    assert_close(layer.running_var, var, dtype, "running_var")
    cumulative = nn.BatchNorm1d(3, momentum=None, dtype=dtype)
    for x in x_steps:
        cumulative(st.tensor(x))
    assert_close(cumulative.running_mean, np.mean([x.mean(axis=0) for x in x_steps], axis=0),
                 dtype, "cumulative running_mean")
    assert_close(cumulative.running_var, np.mean([x.var(axis=0, ddof=1) for x in x_steps],
                                                 axis=0), dtype, "cumulative running_var")


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2), (3, 3, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_match_finite_differences(shape, training, rng):
    x = st.tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True)
    weight = st.tensor(rng.uniform(0.5, 2.0, 3), requires_grad=True)
    bias = st.tensor(rng.standard_normal(3), requires_grad=True)
    running_mean, running_var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)

    def fn(x, weight, bias):
        return batch_norm(x, None if training else running_mean,
                          None if training else running_var, weight, bias, training=training)

    assert st.gradcheck(fn, [x, weight, bias])


def test_batchnorm_state_dict_keys_dtypes_and_buffers_as_torch():
    for options in ({}, dict(affine=False), dict(bias=False), dict(track_running_stats=False)):
        ours, theirs = nn.BatchNorm2d(3, **options), torch.nn.BatchNorm2d(3, **options)
        assert list(ours.state_dict()) == list(theirs.state_dict()), options
        assert [n for n, _ in ours.named_parameters()] == \
            [n for n, _ in theirs.named_parameters()], options
        assert repr(ours) == repr(theirs)
    layer = nn.BatchNorm1d(3)
    state = layer.state_dict()
    count = state["num_batches_tracked"]
    assert count.dtype == np.int64 and count.shape == () and count == 0
    assert state["running_mean"].dtype == np.float32 and state["weight"].dtype == np.float32
    np.testing.assert_array_equal(state["running_var"], np.ones(3))
    assert not layer.running_mean.requires_grad
    layer.double()
    assert layer.running_var.dtype == np.float64 and layer.num_batches_tracked.dtype == np.int64


def test_batchnorm_running_stats_update_without_a_graph_and_under_no_grad(rng):
    layer = nn.BatchNorm1d(3)
    x = st.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    out = layer(x)
    assert out.grad_fn is not None and layer.running_mean.grad_fn is None
    before = layer.running_mean.data.copy()
    out.sum().backward()
    np.testing.assert_array_equal(layer.running_mean.data, before)  # backward leaves buffers
    assert layer.running_mean.grad is None
    with st.no_grad():
        layer(x)
    assert int(layer.num_batches_tracked.data) == 2
    assert not np.array_equal(layer.running_mean.data, before)


def test_batchnorm_reset_running_stats_and_parameters(rng):
    layer = nn.BatchNorm1d(3)
    layer(st.tensor(rng.standard_normal((4, 3)).astype(np.float32)))
    layer.weight.data[...] = 5
    layer.reset_parameters()
    np.testing.assert_array_equal(layer.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.data, np.ones(3))
    np.testing.assert_array_equal(layer.weight.data, np.ones(3))
    assert int(layer.num_batches_tracked.data) == 0


BN_ERRORS = [
    # (layer, constructor kwargs, input shape, training, exception, words in the message)
    ("BatchNorm1d", {}, (8, 3), True, ValueError, ["BatchNorm1d(4)", "C = 4", "(8, 3)"]),
    ("BatchNorm1d", {}, (2, 4, 3, 3), True, ValueError, ["BatchNorm1d", "(N, C, L)"]),
    ("BatchNorm1d", {}, (4,), True, ValueError, ["BatchNorm1d", "(4,)"]),
    ("BatchNorm2d", {}, (8, 4, 3), True, ValueError, ["BatchNorm2d(4)", "(N, C, H, W)"]),
    ("BatchNorm2d", {}, (2, 5, 3, 3), False, ValueError, ["BatchNorm2d(4)", "C = 4"]),
    ("BatchNorm1d", {}, (1, 4), True, ValueError, ["more than 1 value per channel"]),
    ("BatchNorm2d", {}, (1, 4, 1, 1), True, ValueError, ["more than 1 value per channel"]),
    ("BatchNorm1d", dict(track_running_stats=False), (1, 4), False, ValueError,
     ["more than 1 value per channel"]),
]


@pytest.mark.parametrize("layer, options, shape, training, error, words", BN_ERRORS)
def test_batchnorm_bad_input_raises_naming_the_layer(layer, options, shape, training, error,
                                                     words):
    module = getattr(nn, layer)(4, **options).train(training)
    with pytest.raises(error) as info:
        module(st.zeros(*shape))
    for word in words:
        assert word in str(info.value)
    if module.track_running_stats:
        assert int(module.num_batches_tracked.data) == 0  # a refused batch is not counted


@pytest.mark.parametrize("kwargs, words", [
    (dict(num_features=0), "num_features"),
    (dict(num_features=3.0), "num_features"),
    (dict(num_features=3, eps=0.0), "eps"),
    (dict(num_features=3, momentum=1.5), "momentum"),
    (dict(num_features=3, momentum=-0.1), "momentum"),
])
def test_batchnorm_bad_arguments_raise(kwargs, words):
    with pytest.raises(ValueError, match=words):
        nn.BatchNorm1d(**kwargs)


def test_batch_norm_functional_errors():
    x = st.zeros(4, 3)
    with pytest.raises(ValueError, match=r"running_mean has shape \(2,\)"):
        batch_norm(x, np.zeros(2), np.ones(3), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        batch_norm(x, None, None, training=False)


# ============================================================================== Linear

LINEAR_CASES = [
    # (in_features, out_features, bias, input shape)
    (5, 3, True, (4, 5)),
    (5, 3, False, (4, 5)),
    (6, 2, True, (2, 3, 6)),
    (1, 1, True, (7, 1)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("in_features, out_features, bias, shape", LINEAR_CASES)
def test_linear_matches_torch(in_features, out_features, bias, shape, dtype, rng):
    ours = nn.Linear(in_features, out_features, bias=bias, dtype=dtype,
                     generator=np.random.default_rng(0))
    theirs = torch.nn.Linear(in_features, out_features, bias=bias, dtype=TORCH_DTYPE[dtype])
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x, x_t = leaf(rng.standard_normal(shape).astype(dtype))
    grad = rng.standard_normal(shape[:-1] + (out_features,)).astype(dtype)
    out, out_t = ours(x), theirs(x_t)
    out.backward(grad)
    out_t.backward(torch.from_numpy(grad))
    assert out.dtype == dtype and ours.weight.grad.dtype == dtype
    assert_close(out, out_t, dtype, "output")
    assert_close(x.grad, x_t.grad, dtype, "input gradient")
    assert_close(ours.weight.grad, theirs.weight.grad, dtype, "weight gradient")
    if bias:
        assert_close(ours.bias.grad, theirs.bias.grad, dtype, "bias gradient")
    else:
        assert ours.bias is None and list(ours.state_dict()) == ["weight"]


def test_linear_wrong_input_raises_with_sizes():
    with pytest.raises(ValueError, match=r"Linear\(5, 3\).*\(4, 6\).*must be 5"):
        nn.Linear(5, 3)(st.zeros(4, 6))
    with pytest.raises(ValueError, match="positive sizes"):
        nn.Linear(0, 3)


# ============================================================================== activations

ACTIVATIONS = [
    # (desc, steepest module, torch module)
    ("ReLU", nn.ReLU(), torch.nn.ReLU()),
    ("LeakyReLU", nn.LeakyReLU(), torch.nn.LeakyReLU()),
    ("LeakyReLU_0.2", nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    ("ELU", nn.ELU(), torch.nn.ELU()),
    ("ELU_0.5", nn.ELU(0.5), torch.nn.ELU(0.5)),
    ("SELU", nn.SELU(), torch.nn.SELU()),
    ("Sigmoid", nn.Sigmoid(), torch.nn.Sigmoid()),
    ("Tanh", nn.Tanh(), torch.nn.Tanh()),
    ("Softmax_last", nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)),
    ("Softmax_0", nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    ("LogSoftmax_last", nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)),
    ("LogSoftmax_0", nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("desc, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_module_matches_torch_including_kinks(desc, ours, theirs, dtype, rng):
    values = rng.uniform(-3, 3, (4, 6))
    values[0, :3] = 0.0  # the kink of ReLU, LeakyReLU, ELU, SELU: exactly 0
    values[1, :2] = [-30.0, 30.0]  # saturation
    x, x_t = leaf(values.astype(dtype))
    grad = rng.standard_normal((4, 6)).astype(dtype)
    out, out_t = ours(x), theirs(x_t)
    out.backward(grad)
    out_t.backward(torch.from_numpy(grad))
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert_close(out, out_t, dtype, f"{desc}: output")
    assert_close(x.grad, x_t.grad, dtype, f"{desc}: input gradient")


@pytest.mark.parametrize("module, slope_at_zero", [
    (nn.ReLU(), 0.0),
    (nn.LeakyReLU(), 0.01),
    (nn.LeakyReLU(0.3), 0.3),
    (nn.ELU(0.5), 0.5),
])
def test_activation_gradient_at_exactly_zero(module, slope_at_zero):
    x = st.tensor(np.zeros(3), requires_grad=True)
    module(x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(3, slope_at_zero))


def test_activation_reprs_match_torch():
    for _, ours, theirs in ACTIVATIONS:
        assert repr(ours) == repr(theirs)


# ============================================================================== Dropout


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_zeroes_about_p_and_scales_the_rest(p, dtype):
    layer = nn.Dropout(p, generator=np.random.default_rng(0))
    out = layer(st.ones(200, 500, dtype=dtype))
    assert out.dtype == dtype
    zeroed = out.data == 0
    assert abs(zeroed.mean() - p) < 0.01  # binomial std over 1e5 draws is below 0.0016
    np.testing.assert_array_equal(out.data[~zeroed], dtype(1 / (1 - p)))


def test_dropout_same_seed_same_mask_and_fresh_mask_per_call():
    x = st.ones(50, 40)
    first = nn.Dropout(0.5, generator=np.random.default_rng(7))
    second = nn.Dropout(0.5, generator=np.random.default_rng(7))
    a, b = first(x).data, second(x).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first(x).data, a)  # the next call draws a new mask


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_gradient_is_the_mask(dtype, rng):
    x = st.tensor(rng.uniform(1, 2, (30, 20)).astype(dtype), requires_grad=True)
    grad = rng.standard_normal((30, 20)).astype(dtype)
    out = nn.Dropout(0.4, generator=np.random.default_rng(3))(x)
    out.backward(grad)
    keep = np.random.default_rng(3).random((30, 20)) >= 0.4  # the draw the layer makes
    mask = keep / dtype(0.6)
    assert 0 < keep.sum() < keep.size
    assert_close(out, x.data * mask, dtype, "dropout output")
    assert_close(x.grad, grad * mask, dtype, "dropout gradient")


def test_dropout_eval_p0_and_p1():
    x = st.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros((2, 3)))
    assert F.dropout(x, 0.5, training=False) is x
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)


# ============================================================================== DropConnect


def mask_of(seed: int, shape: tuple, p: float, dtype) -> np.ndarray:
    """The scaled Bernoulli mask a fresh generator with `seed` gives (0 or 1/(1 − p))."""
    return F.dropout_mask(shape, p, np.dtype(dtype), np.random.default_rng(seed))


@pytest.mark.parametrize("bias", [True, False])
def test_drop_connect_gradients_match_finite_differences(bias, rng):
    x = st.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    weight = st.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    b = st.tensor(rng.standard_normal(3), requires_grad=True)

    def fn(x, weight, b):
        return drop_connect_linear(x, weight, b if bias else None, p=0.4, training=True,
                                   generator=np.random.default_rng(5))

    assert st.gradcheck(fn, [x, weight, b])


@pytest.mark.parametrize("dtype", DTYPES)
def test_drop_connect_layer_is_the_masked_linear_formula(dtype, rng):
    layer = nn.DropConnect(nn.Linear(5, 3, dtype=dtype), p=0.4,
                           generator=np.random.default_rng(11))
    weight, bias = layer.linear.weight.data.copy(), layer.linear.bias.data.copy()
    mask = mask_of(11, (3, 5), 0.4, dtype)
    assert 0 < (mask == 0).sum() < mask.size  # the seed drops some weights, not all
    x = st.tensor(rng.standard_normal((4, 5)).astype(dtype), requires_grad=True)
    grad = rng.standard_normal((4, 3)).astype(dtype)
    out = layer(x)
    out.backward(grad)
    assert out.dtype == dtype
    assert_close(out, x.data @ (weight * mask).T + bias, dtype, "output")
    assert_close(x.grad, grad @ (weight * mask), dtype, "input gradient")
    assert_close(layer.linear.weight.grad, (grad.T @ x.data) * mask, dtype, "weight gradient")
    assert_close(layer.linear.bias.grad, grad.sum(axis=0), dtype, "bias gradient (not dropped)")


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_drop_connect_keeps_about_1_minus_p_of_the_weights(p):
    """With x = I and no bias, y = (M ⊙ W)ᵀ shows the mask directly."""
    layer = nn.DropConnect(nn.Linear(300, 200, bias=False, dtype=np.float64), p=p,
                           generator=np.random.default_rng(2))
    weight = layer.linear.weight.data
    masked = layer(st.tensor(np.eye(300))).data.T
    dropped = masked == 0
    assert abs(dropped.mean() - p) < 0.01  # binomial std over 6e4 weights is below 0.002
    np.testing.assert_allclose(masked[~dropped], weight[~dropped] / (1 - p), rtol=1e-12)
    again = layer(st.tensor(np.eye(300))).data.T
    assert not np.array_equal(again == 0, dropped)  # a fresh mask on every forward


def test_drop_connect_eval_and_p0_are_the_plain_linear(rng):
    linear = nn.Linear(5, 3, dtype=np.float64)
    layer = nn.DropConnect(linear, p=0.5, generator=np.random.default_rng(0))
    x = st.tensor(rng.standard_normal((4, 5)))
    expected = linear(x).data
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, expected)
    assert not layer.linear.training  # eval reaches the wrapped layer
    np.testing.assert_array_equal(nn.DropConnect(linear, p=0.0)(x).data, expected)
    np.testing.assert_array_equal(nn.DropConnect(linear, p=1.0).train()(x).data,
                                  np.broadcast_to(linear.bias.data, (4, 3)))


def test_drop_connect_state_dict_is_the_wrapped_linear_and_errors():
    linear = nn.Linear(5, 3)
    layer = nn.DropConnect(linear, p=0.25)
    assert list(layer.state_dict()) == ["linear.weight", "linear.bias"]
    assert [p is q for p, q in zip(layer.parameters(), linear.parameters(), strict=True)] == \
        [True, True]
    assert repr(layer) == ("DropConnect(\n  p=0.25\n  (linear): Linear(in_features=5, "
                           "out_features=3, bias=True)\n)")
    with pytest.raises(TypeError, match="DropConnect wraps a steepest.nn.Linear"):
        nn.DropConnect(nn.ReLU())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.DropConnect(linear, p=1.5)
    with pytest.raises(ValueError, match=r"DropConnect\(Linear\(5, 3\)\).*\(2, 4\)"):
        layer(st.zeros(2, 4))


# ============================================================================== Maxout

MAXOUT_CASES = [
    # (in_features, out_features, pieces, bias, input shape)
    (5, 3, 2, True, (4, 5)),
    (5, 3, 4, True, (4, 5)),
    (6, 2, 3, False, (2, 3, 6)),
    (4, 3, 1, True, (5, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("in_features, out_features, pieces, bias, shape", MAXOUT_CASES)
def test_maxout_is_the_numpy_formula_with_torch_gradients(in_features, out_features, pieces,
                                                          bias, shape, dtype, rng):
    layer = nn.Maxout(in_features, out_features, pieces, bias=bias, dtype=dtype,
                      generator=np.random.default_rng(4))
    weight = layer.linear.weight.data
    b = layer.linear.bias.data if bias else np.zeros(out_features * pieces, dtype=dtype)
    x, x_t = leaf(rng.standard_normal(shape).astype(dtype))
    grad = rng.standard_normal(shape[:-1] + (out_features,)).astype(dtype)
    out = layer(x)
    out.backward(grad)
    z = x.data @ weight.T + b
    expected = z.reshape(shape[:-1] + (out_features, pieces)).max(axis=-1)
    assert out.dtype == dtype and out.shape == shape[:-1] + (out_features,)
    assert_close(out, expected, dtype, "output (NumPy formula)")
    # PyTorch has no maxout; the same computation composed of its ops gives the gradients.
    weight_t = torch.tensor(weight, requires_grad=True)
    bias_t = torch.tensor(layer.linear.bias.data, requires_grad=True) if bias else None
    out_t = TF.linear(x_t, weight_t, bias_t).unflatten(-1, (out_features, pieces)).amax(-1)
    out_t.backward(torch.from_numpy(grad))
    assert_close(out, out_t, dtype, "output (torch)")
    assert_close(x.grad, x_t.grad, dtype, "input gradient")
    assert_close(layer.linear.weight.grad, weight_t.grad, dtype, "weight gradient")
    if bias:
        assert_close(layer.linear.bias.grad, bias_t.grad, dtype, "bias gradient")


@pytest.mark.parametrize("pieces", [2, 3])
def test_maxout_gradients_match_finite_differences(pieces, rng):
    x = st.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    weight = st.tensor(rng.standard_normal((3 * pieces, 5)), requires_grad=True)
    bias = st.tensor(rng.standard_normal(3 * pieces), requires_grad=True)
    assert st.gradcheck(lambda x, w, b: maxout(x, w, b, pieces), [x, weight, bias])


def test_maxout_tied_pieces_share_the_gradient():
    layer = nn.Maxout(2, 1, pieces=2, dtype=np.float64)
    layer.linear.weight.data[...] = [[1.0, 1.0], [1.0, 1.0]]
    layer.linear.bias.data[...] = [0.5, 0.5]
    x = st.tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    out = layer(x)
    out.backward(np.ones((1, 1)))
    np.testing.assert_array_equal(out.data, [[3.5]])
    np.testing.assert_array_equal(layer.linear.weight.grad, [[0.5, 1.0], [0.5, 1.0]])
    np.testing.assert_array_equal(layer.linear.bias.grad, [0.5, 0.5])
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0]])


def test_maxout_eval_is_train_and_keys_and_errors(rng):
    layer = nn.Maxout(4, 3, pieces=2)
    assert {k: v.shape for k, v in layer.state_dict().items()} == \
        {"linear.weight": (6, 4), "linear.bias": (6,)}
    x = st.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    train_out = layer(x).data
    np.testing.assert_array_equal(layer.eval()(x).data, train_out)  # no randomness
    with pytest.raises(ValueError, match="pieces must be a positive integer"):
        nn.Maxout(4, 3, pieces=0)
    with pytest.raises(ValueError, match=r"Maxout\(4, 3, pieces=2\).*\(5, 3\)"):
        layer(st.zeros(5, 3))
    with pytest.raises(ValueError, match="not a multiple of pieces=4"):
        maxout(x, layer.linear.weight, None, 4)


# ============================================================================== StochasticDepth


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode, p, shape", [
    ("row", 0.5, (8, 3)),
    ("row", 0.2, (6, 2, 3, 3)),
    ("batch", 0.5, (4, 3)),
    ("batch", 0.3, (2, 2, 3)),
])
def test_stochastic_depth_function_is_torchvisions_formula(mode, p, shape, dtype, rng):
    """torchvision: noise ~ Bernoulli(1 − p) of shape (N, 1, ...) or (1, ...), x · noise/(1 − p)."""
    for seed in range(4):  # both outcomes of the "batch" draw occur among these seeds
        x = st.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
        out = stochastic_depth(x, p, mode, training=True, generator=np.random.default_rng(seed))
        size = (shape[0],) + (1,) * (len(shape) - 1) if mode == "row" else (1,) * len(shape)
        keep = np.random.default_rng(seed).random(size) >= p
        assert out.dtype == dtype
        assert_close(out, x.data * keep / (1 - p), dtype, f"seed {seed}")
        out.backward(np.ones(shape, dtype=dtype))
        assert_close(x.grad, np.broadcast_to(keep / (1 - p), shape), dtype, "gradient")


def test_stochastic_depth_function_identity_cases_and_errors(rng):
    x = st.tensor(rng.standard_normal((4, 3)))
    assert stochastic_depth(x, 0.5, "row", training=False) is x
    assert stochastic_depth(x, 0.0, "batch", training=True) is x
    np.testing.assert_array_equal(stochastic_depth(x, 1.0, "row").data, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="mode has to be 'row' or 'batch', got 'col'"):
        stochastic_depth(x, 0.5, "col")
    with pytest.raises(ValueError, match="between 0 and 1, got -0.1"):
        stochastic_depth(x, -0.1)


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_block_gradients_match_finite_differences(mode, rng):
    x = st.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    weight = st.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    bias = st.tensor(rng.standard_normal(4), requires_grad=True)
    generator_seed = 3 if mode == "row" else 1  # seed 1 keeps the branch in "batch" mode

    def fn(x, weight, bias):
        branch = F.linear(x, weight, bias)
        return x + stochastic_depth(branch, 0.5, mode, True, np.random.default_rng(generator_seed))

    assert np.random.default_rng(1).random() >= 0.5
    assert st.gradcheck(fn, [x, weight, bias])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_layer_is_x_plus_the_dropped_branch(mode, dtype, rng):
    for seed in range(4):
        branch = nn.Linear(3, 3, dtype=dtype, generator=np.random.default_rng(seed))
        layer = nn.StochasticDepth(branch, p=0.5, mode=mode,
                                   generator=np.random.default_rng(seed))
        x = st.tensor(rng.standard_normal((8, 3)).astype(dtype), requires_grad=True)
        grad = rng.standard_normal((8, 3)).astype(dtype)
        out = layer(x)
        out.backward(grad)
        size = (8, 1) if mode == "row" else (1, 1)
        keep = (np.random.default_rng(seed).random(size) >= 0.5) / dtype(0.5)
        weight, bias = branch.weight.data, branch.bias.data
        assert_close(out, x.data + (x.data @ weight.T + bias) * keep, dtype, "output")
        assert_close(x.grad, grad + (grad * keep) @ weight, dtype, "input gradient")
        if keep.any():
            assert_close(branch.weight.grad, (grad * keep).T @ x.data, dtype, "weight gradient")
            assert_close(branch.bias.grad, (grad * keep).sum(axis=0), dtype, "bias gradient")
        else:  # a dropped "batch" branch is skipped, so its parameters get no gradient
            assert branch.weight.grad is None and branch.bias.grad is None


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_eval_is_the_full_residual(mode, rng):
    branch = nn.Linear(3, 3, dtype=np.float64)
    layer = nn.StochasticDepth(branch, p=0.9, mode=mode, generator=np.random.default_rng(0))
    x = st.tensor(rng.standard_normal((5, 3)))
    expected = x.data + branch(x).data
    np.testing.assert_array_equal(layer.eval()(x).data, expected)
    assert not branch.training
    np.testing.assert_array_equal(nn.StochasticDepth(branch, p=0.0).train()(x).data, expected)


def test_stochastic_depth_keeps_about_1_minus_p():
    p = 0.3
    ones = st.ones(20000, 2, dtype=np.float64)
    row = nn.StochasticDepth(nn.Identity(), p, "row", generator=np.random.default_rng(0))
    branch_part = row(ones).data - 1.0  # x + branch(x)·m/(1 − p), branch = identity
    kept_rows = branch_part[:, 0] != 0
    assert abs(kept_rows.mean() - (1 - p)) < 0.015  # binomial std over 2e4 rows is 0.0032
    np.testing.assert_allclose(branch_part[kept_rows], 1 / (1 - p), rtol=1e-12)
    np.testing.assert_array_equal(branch_part[:, 0], branch_part[:, 1])  # one draw per row
    batch = nn.StochasticDepth(nn.Identity(), p, "batch", generator=np.random.default_rng(0))
    x = st.ones(3, 2, dtype=np.float64)
    outs = np.array([batch(x).data for _ in range(2000)])
    kept = outs[:, 0, 0] != 1.0
    assert abs(kept.mean() - (1 - p)) < 0.04  # binomial std over 2000 calls is 0.0103
    assert np.all(outs == outs[:, :1, :1])  # the whole batch shares the draw


def test_stochastic_depth_layer_keys_repr_and_errors():
    layer = nn.StochasticDepth(nn.Linear(3, 3), p=0.2, mode="batch")
    assert list(layer.state_dict()) == ["branch.weight", "branch.bias"]
    assert repr(layer) == ("StochasticDepth(\n  p=0.2, mode='batch'\n  (branch): Linear("
                           "in_features=3, out_features=3, bias=True)\n)")
    with pytest.raises(ValueError, match="mode has to be 'row' or 'batch'"):
        nn.StochasticDepth(nn.Identity(), 0.5, mode="all")
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.StochasticDepth(nn.Identity(), 2.0)
    with pytest.raises(TypeError, match="branch must be a Module"):
        nn.StochasticDepth(lambda x: x, 0.5)
    narrowing = nn.StochasticDepth(nn.Linear(3, 2), 0.5).eval()
    with pytest.raises(ValueError, match=r"shape \(4, 3\) to shape \(4, 2\)"):
        narrowing(st.zeros(4, 3))
