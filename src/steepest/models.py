"""A small model zoo: MLPs, logistic regression, LeNet-5 and the MNIST-1D paper's conv1d net.

Every builder returns an ordinary `nn.Module` whose `state_dict()` keys are those of the same
network written in PyTorch (`torch.nn.Sequential` of the same layers, or, for `mnist1d_cnn`, the
MNIST-1D repository's `ConvBase`), so PyTorch weights saved as safetensors load into it.
`build_model(name, sample_shape, num_classes)` picks a builder by name for the CLI and `fit`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from steepest import nn
from steepest._suggest import did_you_mean
from steepest.nn import init as nn_init
from steepest.tensor import Tensor

__all__ = [
    "ACTIVATIONS", "INITS", "MODELS", "MNIST1DCNN", "Residual", "build_model", "lenet",
    "logistic_regression", "mlp", "mnist1d_cnn",
]

#: Model names that `build_model` accepts.
MODELS = ("mlp", "logreg", "cnn", "lenet")

#: Activation names that the builders accept, and the module each makes.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

#: Initialisation names (besides "normal:<std>").
INITS = ("default", "xavier", "he", "normal:<std>")

# The nonlinearity each activation's gain is taken from (`nn.init.calculate_gain`'s table).
# ELU has no entry in PyTorch's table; it is ReLU for positive inputs, so it takes ReLU's gain.
_GAIN_NAMES = {"relu": "relu", "leaky_relu": "leaky_relu", "elu": "relu", "selu": "selu",
               "tanh": "tanh", "sigmoid": "sigmoid"}
_INIT_ALIASES = {"glorot": "xavier", "kaiming": "he", "pytorch": "default"}


# ---------------------------------------------------------------------------- argument checks
def _check_int(where: str, name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _activation_name(where: str, activation: str) -> str:
    name = str(activation).lower().replace("-", "_")
    if name not in ACTIVATIONS:
        raise ValueError(
            f"{where}: unknown activation {activation!r}{did_you_mean(name, ACTIVATIONS)}; "
            f"choose from {sorted(ACTIVATIONS)}"
        )
    return name


def _parse_init(where: str, init: str) -> tuple[str, float]:
    """("default" | "xavier" | "he" | "normal", std) from an init name such as "normal:0.01"."""
    text = str(init).lower().strip()
    kind, _, argument = text.partition(":")
    kind = _INIT_ALIASES.get(kind, kind)
    if kind == "normal":
        try:
            std = float(argument) if argument else 0.01
        except ValueError:
            std = float("nan")
        if not (std > 0 and math.isfinite(std)):
            raise ValueError(
                f"{where}: init {init!r} needs a positive standard deviation, e.g. 'normal:0.01'"
            )
        return kind, std
    if kind not in ("default", "xavier", "he") or argument:
        raise ValueError(f"{where}: unknown init {init!r}{did_you_mean(kind, INITS)}; choose "
                         f"from {list(INITS)}")
    return kind, 0.0


def _initialise(model: nn.Module, init: str, activation: str, where: str,
                generator: np.random.Generator | None) -> nn.Module:
    """Re-initialise every Linear and Conv layer of `model` by `init` (biases to zero).

    "default" keeps PyTorch's default that the layers were built with. "xavier":
    xavier_uniform_ with the activation's gain; "he": kaiming_normal_ (fan_in) for the
    activation; "normal:<std>": N(0, std²). The same rule is applied to every layer, the output
    layer included, as `model.apply(fn)` does in the usual PyTorch recipe.
    """
    kind, std = _parse_init(where, init)
    if kind == "default":
        return model
    gain_name = _GAIN_NAMES[activation]
    slope = 0.01 if activation == "leaky_relu" else None
    for module in model.modules():
        if not isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            continue
        if kind == "xavier":
            gain = nn_init.calculate_gain(gain_name, slope)
            nn_init.xavier_uniform_(module.weight, gain=gain, generator=generator)
        elif kind == "he":
            nn_init.kaiming_normal_(module.weight, a=0.0 if slope is None else slope,
                                    mode="fan_in", nonlinearity=gain_name, generator=generator)
        else:
            nn_init.normal_(module.weight, 0.0, std, generator=generator)
        if module.bias is not None:
            nn_init.zeros_(module.bias)
    return model


# ---------------------------------------------------------------------------- building blocks
class Residual(nn.Module):
    """y = x + fn(x), for a block `fn` that keeps the shape.  x: (N, *) -> (N, *).

    state_dict keys of the block are prefixed "fn.".
    """

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fn(x)


class MNIST1DCNN(nn.Module):
    """The MNIST-1D paper's ConvBase (Greydanus, 2020), layer for layer.

    x: (N, L) or (N, 1, L) -> logits (N, num_classes); the input is viewed as (N, 1, L) first.
    ReLU below is `activation` (ReLU in the paper, the default).
    conv1: Conv1d(1, C, 5, stride 2, padding 1) -> ReLU -> conv2: Conv1d(C, C, 3, stride 2,
    padding 1) -> ReLU -> conv3: Conv1d(C, C, 3, stride 2, padding 1) -> ReLU -> flatten ->
    linear: Linear(C·L₃, num_classes). For L = 40: lengths 19, 10, 5 and Linear(125, 10) with
    C = 25 (5,210 parameters). Keys are ConvBase's: conv1.weight, ..., linear.bias.
    """

    def __init__(self, num_classes: int = 10, channels: int = 25, input_length: int = 40,
                 activation: str = "relu",
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        where = "mnist1d_cnn"
        self.activation = _activation_name(where, activation)
        num_classes = _check_int(where, "num_classes", num_classes)
        channels = _check_int(where, "channels", channels)
        input_length = _check_int(where, "input_length", input_length)
        length = input_length
        for kernel in (5, 3, 3):
            length = (length + 2 - kernel) // 2 + 1
            if length < 1:
                raise ValueError(
                    f"{where}: input_length={input_length} is too short for three stride-2 "
                    f"convolutions; it needs at least 3 samples"
                )
        self.input_length = input_length
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1, generator=generator)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1, generator=generator)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1, generator=generator)
        self.linear = nn.Linear(channels * length, num_classes, generator=generator)
        self.act = ACTIVATIONS[self.activation]()  # no parameters: the keys stay ConvBase's

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.input_length:
            raise ValueError(
                f"mnist1d_cnn was built for signals of length {self.input_length}, got input of "
                f"shape {tuple(x.shape)}; build it with input_length={x.shape[-1]}"
            )
        if x.ndim == 3 and x.shape[1] != 1:
            raise ValueError(
                f"mnist1d_cnn expects (N, L) or (N, 1, L) signals, got shape {tuple(x.shape)}"
            )
        h = x.reshape(-1, 1, x.shape[-1])
        h = self.act(self.conv1(h))
        h = self.act(self.conv2(h))
        h = self.act(self.conv3(h))
        return self.linear(h.reshape(h.shape[0], -1))

    def extra_repr(self) -> str:
        return f"input_length={self.input_length}"


# ---------------------------------------------------------------------------- builders
def mlp(in_features: int, num_classes: int, *, depth: int = 2, width: int = 100,
        activation: str = "relu", init: str = "default", dropout: float = 0.0,
        batch_norm: bool = False, residual: bool = False,
        generator: np.random.Generator | None = None) -> nn.Sequential:
    """A multi-layer perceptron.  x: (N, *) with ∏* = in_features -> logits (N, num_classes).

    Sequential(Flatten, [Linear(in, width), [BatchNorm1d], activation, [Dropout]] × depth,
    Linear(width, num_classes)): the same keys as that torch.nn.Sequential ("1.weight", ...).
    depth=0 is logistic regression. residual=True wraps every hidden block after the first in
    `Residual` (h ← h + block(h)), as the MNIST-1D repository's MLPBase does (depth=2,
    width=100, ReLU: h₁ = relu(W₁x), h = h₁ + relu(W₂h₁), y = W₃h).
    init: "default" (PyTorch's), "xavier", "he" or "normal:<std>" (see `_initialise`).
    """
    where = "mlp"
    in_features = _check_int(where, "in_features", in_features)
    num_classes = _check_int(where, "num_classes", num_classes)
    depth = _check_int(where, "depth", depth, low=0)
    width = _check_int(where, "width", width)
    activation = _activation_name(where, activation)
    _parse_init(where, init)
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
            or not 0.0 <= dropout < 1.0:
        raise ValueError(f"{where}: dropout must be a probability in [0, 1), got {dropout!r}")
    layers: list[nn.Module] = [nn.Flatten()]
    size = in_features
    for index in range(depth):
        block: list[nn.Module] = [nn.Linear(size, width, generator=generator)]
        if batch_norm:
            block.append(nn.BatchNorm1d(width))
        block.append(ACTIVATIONS[activation]())
        if dropout > 0:
            block.append(nn.Dropout(float(dropout), generator=generator))
        if residual and index > 0:
            layers.append(Residual(nn.Sequential(*block)))
        else:
            layers.extend(block)
        size = width
    layers.append(nn.Linear(size, num_classes, generator=generator))
    return _initialise(nn.Sequential(*layers), init, activation, where, generator)


def logistic_regression(in_features: int, num_classes: int, *, init: str = "default",
                        generator: np.random.Generator | None = None) -> nn.Sequential:
    """Softmax regression: Sequential(Flatten, Linear(in_features, num_classes)).

    x: (N, *) with ∏* = in_features -> logits (N, num_classes); train with cross-entropy.
    Keys "1.weight" (num_classes, in_features) and "1.bias". init as in `mlp`, with gain 1.
    """
    return mlp(in_features, num_classes, depth=0, init=init, activation="sigmoid",
               generator=generator)


def _lenet_geometry(image_size: int | Sequence[int]) -> tuple[int, int, tuple[int, int]]:
    """(padding of conv1, padding of conv2, (H, W) after the second pool) for an image size.

    LeNet-5 was designed for 32×32 inputs: conv 5×5 → 28, pool → 14, conv 5×5 → 10, pool → 5.
    Smaller images get padding 2 on conv1 (28×28 MNIST then has LeNet-5's geometry exactly), and
    padding 2 on conv2 too when the first stage leaves fewer than 10 pixels (8×8 digits: 8 → 4
    → 4 → 2).
    """
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        sizes = (int(image_size), int(image_size))
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        sizes = tuple(_check_int("lenet", "image_size", s) for s in image_size)
    else:
        raise ValueError(f"lenet: image_size must be an int or a pair (H, W), got {image_size!r}")
    pad1 = 2 if min(sizes) < 32 else 0
    first = [(s + 2 * pad1 - 4) // 2 for s in sizes]
    pad2 = 2 if min(first) < 10 else 0
    second = [(s + 2 * pad2 - 4) // 2 for s in first]
    if min(second) < 1:
        raise ValueError(
            f"lenet: image_size {image_size!r} is too small for two 5×5 convolutions and "
            f"two 2×2 poolings; images need at least 4×4 pixels"
        )
    return pad1, pad2, (second[0], second[1])


def lenet(in_channels: int = 1, num_classes: int = 10, image_size: int | Sequence[int] = 28, *,
          activation: str = "relu", init: str = "default",
          generator: np.random.Generator | None = None) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, adapted to the image size.

    x: (N, in_channels, H, W) -> logits (N, num_classes). Sequential(Conv2d(C, 6, 5, p₁), act,
    MaxPool2d(2), Conv2d(6, 16, 5, p₂), act, MaxPool2d(2), Flatten, Linear(16·h·w, 120), act,
    Linear(120, 84), act, Linear(84, num_classes)); paddings p₁, p₂ and h, w from the image
    size (`_lenet_geometry`): 28×28 and 32×32 give 16·5·5 = 400 features, 8×8 gives 16·2·2.
    """
    where = "lenet"
    in_channels = _check_int(where, "in_channels", in_channels)
    num_classes = _check_int(where, "num_classes", num_classes)
    activation = _activation_name(where, activation)
    _parse_init(where, init)
    pad1, pad2, (height, width) = _lenet_geometry(image_size)
    act = ACTIVATIONS[activation]
    model = nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=pad1, generator=generator), act(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=pad2, generator=generator), act(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * height * width, 120, generator=generator), act(),
        nn.Linear(120, 84, generator=generator), act(),
        nn.Linear(84, num_classes, generator=generator),
    )
    return _initialise(model, init, activation, where, generator)


def mnist1d_cnn(num_classes: int = 10, channels: int = 25, *, input_length: int = 40,
                activation: str = "relu", init: str = "default",
                generator: np.random.Generator | None = None) -> MNIST1DCNN:
    """The MNIST-1D paper's convolutional baseline (`MNIST1DCNN`, keys as its ConvBase).

    x: (N, input_length) or (N, 1, input_length) -> logits (N, num_classes). The paper's
    network uses ReLU (the default); init as in `mlp`.
    """
    _parse_init("mnist1d_cnn", init)
    model = MNIST1DCNN(num_classes, channels, input_length, activation, generator=generator)
    return _initialise(model, init, model.activation, "mnist1d_cnn", generator)


# ---------------------------------------------------------------------------- by name
def _sample_shape(shape: Any) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
    except TypeError:
        dims = (int(shape),) if isinstance(shape, numbers.Integral) else ()
    if not dims or any(d < 1 for d in dims):
        raise ValueError(
            f"build_model: sample_shape must be the shape of one sample, e.g. (40,) or "
            f"(1, 28, 28), got {shape!r}"
        )
    return dims


def _call(builder: Callable[..., nn.Module], where: str, args: tuple,
          options: dict[str, Any]) -> nn.Module:
    import inspect

    # the positional arguments are given by build_model; the rest may be set by the caller
    accepted = list(inspect.signature(builder).parameters)[len(args):]
    # An option this model lacks but set to None or to mlp's default changes nothing: drop it,
    # so that a caller (the CLI) can pass all its model options whichever model is chosen.
    mlp_defaults = {name: p.default for name, p in inspect.signature(mlp).parameters.items()}
    options = {key: value for key, value in options.items()
               if value is not None and (key in accepted or key not in mlp_defaults
                                         or value != mlp_defaults[key])}
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"build_model({where!r}): unknown option(s) {unknown}; {where} takes {accepted}"
        )
    return builder(*args, **options)


def build_model(name: str, sample_shape: Sequence[int] | int, num_classes: int,
                **options: Any) -> nn.Module:
    """A model from the zoo by name, sized for samples of `sample_shape` (no batch axis).

    name: "mlp" (`mlp`, input flattened), "logreg" (`logistic_regression`), "cnn" (`mnist1d_cnn`
    for 1-D samples (L,) or (1, L); `lenet` for images (C, H, W) or (H, W)), "lenet" (images
    only). options: keyword options of that builder (mlp: depth, width, activation, init,
    dropout, batch_norm, residual; lenet: activation, init; cnn: channels, activation, init;
    logreg: init; all: generator). An option set to None is dropped (the builder's default
    applies), and so is an option the model lacks that holds mlp's default (depth=2 for a CNN
    changes nothing), so a caller can pass every model option it has; any other option the
    builder lacks (depth=5 for a CNN) raises TypeError naming the options it takes.
    2-D samples (H, W) are images with one channel: give the model (N, 1, H, W) batches.
    """
    key = str(name).lower().replace("_", "-")
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}{did_you_mean(key, MODELS)}; choose from "
                         f"{list(MODELS)}")
    shape = _sample_shape(sample_shape)
    num_classes = _check_int("build_model", "num_classes", num_classes)
    in_features = int(np.prod(shape))
    if key == "mlp":
        return _call(mlp, key, (in_features, num_classes), options)
    if key == "logreg":
        return _call(logistic_regression, key, (in_features, num_classes), options)
    is_signal = len(shape) == 1 or (len(shape) == 2 and shape[0] == 1)
    if key == "cnn" and is_signal:
        options.setdefault("input_length", shape[-1])
        return _call(mnist1d_cnn, key, (num_classes,), options)
    if len(shape) not in (2, 3) or is_signal:
        raise ValueError(
            f"build_model({name!r}): LeNet needs image samples (C, H, W) or (H, W), got "
            f"sample_shape {shape}; use 'cnn' for 1-D signals or 'mlp'"
        )
    channels = 1 if len(shape) == 2 else shape[0]
    return _call(lenet, key, (channels, num_classes, shape[-2:]), options)
