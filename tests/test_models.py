"""`steepest.models` against the same networks written in PyTorch 2.13.

Each builder's model gets the PyTorch model's weights through `load_state_dict(strict=True)` (so
the state_dict keys must be PyTorch's), then both compute the same logits and gradients in
float64. Parameter counts are compared with PyTorch's, initialisations by their statistics.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import assert_close

import steepest as st
from steepest import models, nn
from steepest.functional import cross_entropy


def torch_mlp(in_features, num_classes, depth=2, width=100, batch_norm=False, dropout=0.0,
              act=torch.nn.ReLU):
    layers = [torch.nn.Flatten()]
    size = in_features
    for _ in range(depth):
        layers.append(torch.nn.Linear(size, width))
        if batch_norm:
            layers.append(torch.nn.BatchNorm1d(width))
        layers.append(act())
        if dropout:
            layers.append(torch.nn.Dropout(dropout))
        size = width
    layers.append(torch.nn.Linear(size, num_classes))
    return torch.nn.Sequential(*layers)


def torch_lenet(in_channels, num_classes, pad1, pad2, flat):
    return torch.nn.Sequential(
        torch.nn.Conv2d(in_channels, 6, 5, padding=pad1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5, padding=pad2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(flat, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, num_classes),
    )


class TorchConvBase(torch.nn.Module):
    """The MNIST-1D repository's ConvBase (notebooks/models.py), without its print."""

    def __init__(self, output_size=10, channels=25, linear_in=125):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = torch.nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = torch.nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = torch.nn.Linear(linear_in, output_size)

    def forward(self, x):
        x = x.view(-1, 1, x.shape[-1])
        h1 = self.conv1(x).relu()
        h2 = self.conv2(h1).relu()
        h3 = self.conv3(h2).relu()
        h3 = h3.view(h3.shape[0], -1)
        return self.linear(h3)


class TorchMLPBase(torch.nn.Module):
    """The MNIST-1D repository's MLPBase: a residual connection around the second layer."""

    def __init__(self, input_size=40, output_size=10, hidden_size=100):
        super().__init__()
        self.linear1 = torch.nn.Linear(input_size, hidden_size)
        self.linear2 = torch.nn.Linear(hidden_size, hidden_size)
        self.linear3 = torch.nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


def torch_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def copy_weights(ours: nn.Module, theirs: torch.nn.Module, key_map=None) -> None:
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    if key_map:
        state = {key_map.get(k, k): v for k, v in state.items()}
    ours.load_state_dict(state, strict=True)


def check_same(ours, theirs, x: np.ndarray, labels: np.ndarray, *, grads=True) -> None:
    """Logits, and the gradients of the cross-entropy, in float64."""
    ours.double()
    theirs.double()
    x_ours = st.Tensor(x.astype(np.float64))
    x_theirs = torch.tensor(x, dtype=torch.float64)
    logits = ours(x_ours)
    expected = theirs(x_theirs)
    assert_close(logits, expected, what="logits")
    if not grads:
        return
    cross_entropy(logits, labels).backward()
    torch.nn.functional.cross_entropy(expected, torch.tensor(labels)).backward()
    ours_grads = dict(ours.named_parameters())
    their_params = list(theirs.named_parameters())
    assert len(ours_grads) == len(their_params)
    for (name, param), (_, their_param) in zip(ours_grads.items(), their_params, strict=True):
        assert_close(param.grad, their_param.grad, what=name)


# ---------------------------------------------------------------------------- counts and shapes
COUNTS = [
    ("mlp 40-100-100-10", lambda: models.mlp(40, 10), lambda: torch_mlp(40, 10), 15210),
    ("mlp depth 3 width 32 bn", lambda: models.mlp(64, 5, depth=3, width=32, batch_norm=True),
     lambda: torch_mlp(64, 5, depth=3, width=32, batch_norm=True), None),
    ("logreg", lambda: models.logistic_regression(40, 10), lambda: torch_mlp(40, 10, depth=0),
     410),
    ("lenet 28", lambda: models.lenet(1, 10, 28), lambda: torch_lenet(1, 10, 2, 0, 400), 61706),
    ("lenet cifar", lambda: models.lenet(3, 10, 32), lambda: torch_lenet(3, 10, 0, 0, 400),
     62006),
    ("lenet digits", lambda: models.lenet(1, 10, 8), lambda: torch_lenet(1, 10, 2, 2, 64), None),
    ("mnist1d cnn", lambda: models.mnist1d_cnn(), lambda: TorchConvBase(), 5210),
]


@pytest.mark.parametrize("desc, ours, theirs, count", COUNTS, ids=[c[0] for c in COUNTS])
def test_parameter_counts_match_pytorch(desc, ours, theirs, count):
    ours, theirs = ours(), theirs()
    assert ours.num_parameters() == torch_count(theirs)
    if count is not None:
        assert ours.num_parameters() == count
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("name, shape, out_cls", [
    ("mlp", (40,), nn.Sequential), ("logreg", (1, 8, 8), nn.Sequential),
    ("cnn", (40,), models.MNIST1DCNN), ("cnn", (1, 40), models.MNIST1DCNN),
    ("cnn", (1, 28, 28), nn.Sequential), ("lenet", (3, 32, 32), nn.Sequential),
    ("cnn", (8, 8), nn.Sequential),
])
def test_build_model_shapes(name, shape, out_cls):
    model = models.build_model(name, shape, 7, generator=np.random.default_rng(0))
    assert isinstance(model, out_cls)
    batch = (4, 1, *shape) if len(shape) == 2 and shape[0] != 1 else (4, *shape)
    out = model(st.Tensor(np.random.default_rng(1).standard_normal(batch).astype(np.float32)))
    assert out.shape == (4, 7)
    assert out.dtype == np.float32


def test_build_model_passes_options_and_sizes_the_cnn():
    model = models.build_model("mlp", (1, 8, 8), 10, depth=3, width=16, activation="tanh",
                               dropout=0.1, batch_norm=True)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Flatten"] + ["Linear", "BatchNorm1d", "Tanh", "Dropout"] * 3 + ["Linear"]
    assert model[1].in_features == 64
    cnn = models.build_model("cnn", (60,), 10)
    assert cnn.input_length == 60 and cnn.linear.in_features == 25 * 8  # 60 → 29 → 15 → 8


def test_build_model_drops_options_that_change_nothing():
    """The CLI passes every model option; ones the model lacks at mlp's defaults are fine."""
    cli = dict(depth=2, width=100, activation="relu", init="he", dropout=0.0, batch_norm=False,
               residual=None)
    cnn = models.build_model("cnn", (40,), 10, **cli)
    assert isinstance(cnn, models.MNIST1DCNN)
    np.testing.assert_array_equal(cnn.conv1.bias.data, 0)  # init="he" was applied
    assert models.build_model("lenet", (1, 8, 8), 10, **cli)[1].__class__ is nn.ReLU
    logreg = models.build_model("logreg", (40,), 10, **{**cli, "activation": None})
    assert logreg.num_parameters() == 410
    with pytest.raises(TypeError, match=r"\['depth'\]"):
        models.build_model("cnn", (40,), 10, depth=5)
    with pytest.raises(TypeError, match=r"\['activation'\]"):
        models.build_model("logreg", (40,), 10, activation="tanh")


def test_same_generator_same_weights():
    a = models.mlp(40, 10, generator=np.random.default_rng(3))
    b = models.mlp(40, 10, generator=np.random.default_rng(3))
    c = models.mlp(40, 10, generator=np.random.default_rng(4))
    for (_, x), (_, y), (_, z) in zip(a.state_dict().items(), b.state_dict().items(),
                                      c.state_dict().items(), strict=True):
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)


# ---------------------------------------------------------------------------- same as PyTorch
@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng, rng.integers(0, 10, size=6)


def test_mlp_matches_pytorch(batch):
    rng, labels = batch
    theirs = torch_mlp(40, 10, depth=3, width=20, act=torch.nn.Tanh)
    ours = models.mlp(40, 10, depth=3, width=20, activation="tanh")
    copy_weights(ours, theirs)
    check_same(ours, theirs, rng.standard_normal((6, 40)), labels)


def test_mlp_with_batch_norm_and_dropout_matches_pytorch_in_both_modes(batch):
    rng, labels = batch
    theirs = torch_mlp(40, 10, depth=2, width=16, batch_norm=True, dropout=0.5)
    ours = models.mlp(40, 10, depth=2, width=16, batch_norm=True, dropout=0.5)
    copy_weights(ours, theirs)
    x = rng.standard_normal((6, 40))
    ours.eval(), theirs.eval()
    check_same(ours, theirs, x, labels)
    # training mode without dropout's randomness: p = 0 modules behave the same
    theirs = torch_mlp(40, 10, depth=2, width=16, batch_norm=True)
    ours = models.mlp(40, 10, depth=2, width=16, batch_norm=True)
    copy_weights(ours, theirs)
    check_same(ours, theirs, x, labels)
    assert_close(ours[2].running_mean, theirs[2].running_mean, what="running mean")


def test_residual_mlp_is_mnist1d_mlpbase(batch):
    rng, labels = batch
    theirs = TorchMLPBase()
    ours = models.mlp(40, 10, residual=True)
    names = {"linear1.weight": "1.weight", "linear1.bias": "1.bias",
             "linear2.weight": "3.fn.0.weight", "linear2.bias": "3.fn.0.bias",
             "linear3.weight": "4.weight", "linear3.bias": "4.bias"}
    copy_weights(ours, theirs, names)
    check_same(ours, theirs, rng.standard_normal((6, 40)), labels)


@pytest.mark.parametrize("channels, size, pads, flat", [
    (1, 28, (2, 0), 400), (3, 32, (0, 0), 400), (1, 8, (2, 2), 64), (1, 16, (2, 2), 256),
])
def test_lenet_matches_pytorch(batch, channels, size, pads, flat):
    rng, labels = batch
    theirs = torch_lenet(channels, 10, *pads, flat)
    ours = models.lenet(channels, 10, size)
    copy_weights(ours, theirs)
    check_same(ours, theirs, rng.standard_normal((6, channels, size, size)), labels)


@pytest.mark.parametrize("shape", [(6, 40), (6, 1, 40)])
def test_mnist1d_cnn_is_convbase(batch, shape):
    rng, labels = batch
    theirs = TorchConvBase()
    ours = models.mnist1d_cnn()
    copy_weights(ours, theirs)
    check_same(ours, theirs, rng.standard_normal(shape), labels)


# ---------------------------------------------------------------------------- initialisation
def weights(model):
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv1d))]


@pytest.mark.parametrize("activation, gain", [("relu", math.sqrt(2)), ("tanh", 5 / 3),
                                              ("leaky_relu", math.sqrt(2 / (1 + 0.01**2)))])
def test_he_init_std(activation, gain):
    model = models.mlp(784, 10, depth=1, width=512, activation=activation, init="he",
                       generator=np.random.default_rng(0))
    first = model[1]
    expected = gain / math.sqrt(784)  # kaiming_normal_, fan_in
    assert abs(first.weight.data.std() / expected - 1) < 0.02
    assert abs(first.weight.data.mean()) < 0.05 * expected
    for layer in weights(model):
        np.testing.assert_array_equal(layer.bias.data, 0)
    out = model[3]
    assert abs(out.weight.data.std() / (gain / math.sqrt(512)) - 1) < 0.1


def test_he_init_of_conv_uses_receptive_field():
    model = models.lenet(1, 10, 28, init="he", generator=np.random.default_rng(0))
    conv2 = model[3]  # 16 x 6 x 5 x 5: fan_in 150, 2400 samples
    assert abs(conv2.weight.data.std() / math.sqrt(2 / 150) - 1) < 0.05


@pytest.mark.parametrize("activation, gain", [("tanh", 5 / 3), ("sigmoid", 1.0),
                                              ("relu", math.sqrt(2))])
def test_xavier_init_bound_and_std(activation, gain):
    model = models.mlp(600, 10, depth=1, width=400, activation=activation, init="xavier",
                       generator=np.random.default_rng(0))
    weight = model[1].weight.data
    bound = gain * math.sqrt(6 / (600 + 400))
    assert np.abs(weight).max() <= bound
    assert np.abs(weight).max() > 0.999 * bound
    assert abs(weight.std() / (bound / math.sqrt(3)) - 1) < 0.02
    np.testing.assert_array_equal(model[1].bias.data, 0)


def test_normal_and_default_init():
    model = models.mlp(500, 10, depth=1, width=400, init="normal:0.05",
                       generator=np.random.default_rng(0))
    assert abs(model[1].weight.data.std() / 0.05 - 1) < 0.02
    np.testing.assert_array_equal(model[1].bias.data, 0)
    default = models.mlp(500, 10, depth=1, width=400, generator=np.random.default_rng(0))
    bound = 1 / math.sqrt(500)  # PyTorch's default for Linear: U(-1/sqrt(fan_in), ...)
    assert np.abs(default[1].weight.data).max() <= bound
    assert np.abs(default[1].bias.data).max() <= bound
    assert np.abs(default[1].bias.data).max() > 0.9 * bound


def test_cnn_init():
    model = models.mnist1d_cnn(init="normal:0.1", generator=np.random.default_rng(0))
    for layer in weights(model):
        np.testing.assert_array_equal(layer.bias.data, 0)
    assert abs(model.conv2.weight.data.std() / 0.1 - 1) < 0.05


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, words", [
    (lambda: models.mlp(40, 10, activation="swish"), ValueError, ["swish", "relu", "tanh"]),
    (lambda: models.mlp(40, 10, init="orthogonal"), ValueError, ["orthogonal", "xavier", "he"]),
    (lambda: models.mlp(40, 10, init="normal:-1"), ValueError, ["normal:-1", "positive"]),
    (lambda: models.mlp(40, 10, init="normal:abc"), ValueError, ["normal:abc"]),
    (lambda: models.mlp(40, 10, dropout=1.0), ValueError, ["dropout"]),
    (lambda: models.mlp(40, 10, depth=-1), ValueError, ["depth"]),
    (lambda: models.mlp(0, 10), ValueError, ["in_features"]),
    (lambda: models.lenet(1, 10, 3), ValueError, ["image_size", "too small"]),
    (lambda: models.lenet(1, 10, "big"), ValueError, ["image_size"]),
    (lambda: models.mnist1d_cnn(input_length=2), ValueError, ["input_length"]),
    (lambda: models.build_model("resnet", (40,), 10), ValueError, ["resnet", "mlp", "lenet"]),
    (lambda: models.build_model("lenet", (40,), 10), ValueError, ["LeNet", "(40,)"]),
    (lambda: models.build_model("mlp", (40,), 10, chanels=3), TypeError, ["chanels", "width"]),
    (lambda: models.build_model("mlp", (), 10), ValueError, ["sample_shape"]),
])
def test_errors_name_the_problem(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_cnn_rejects_wrong_length():
    model = models.mnist1d_cnn()
    with pytest.raises(ValueError, match="input_length=50"):
        model(st.Tensor(np.zeros((2, 50), dtype=np.float32)))
