"""Gradient flow: per-layer gradient norms through a deep MLP, at initialisation and over
training, to see gradients vanish (sigmoid) or flow (ReLU with He initialisation).

Backpropagation multiplies the gradient by Wᵀ and by the activation's derivative at every layer
(lecture 004, "Vanishing gradients"). σ'(z) ≤ 1/4, so through ten sigmoid layers with Xavier
weights the gradient reaching the first layer is orders of magnitude below the last layer's:
the early layers barely learn. ReLU's derivative is 1 where the unit is on, and He's
std = √(2 / fan_in) makes up for the half that is off, so the norms stay roughly flat.

An activation name with "+bn" ("sigmoid+bn") puts batch normalisation before every activation
(Ioffe & Szegedy 2015): each layer's pre-activations are renormalised over the batch, so the
scale of the weights (and of the initialisation) no longer compounds from layer to layer.
`gradient_flow(model=...)` measures your own network instead: every weight with two or more
dimensions (Linear, Conv) in the order the model registers them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest._suggest import did_you_mean
from steepest.lab._common import ShortRepr, as_arrays, batches, check_optimizer, make_optimizer

__all__ = [
    "ACTIVATIONS", "INITS", "GradientFlowResult", "auto_init", "deep_mlp", "gradient_flow",
    "init_linear_", "plot_gradient_flow", "plot_gradient_flow_over_training",
]


def _activation_modules() -> dict[str, Callable[[], Any]]:
    from steepest import nn

    return {
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(_LEAKY_SLOPE),
        "elu": nn.ELU,
        "selu": nn.SELU,
    }


_LEAKY_SLOPE = 0.01

#: Activations the studies know, and the initialisation "auto" gives each: Xavier (Glorot) for
#: the saturating ones, He (Kaiming) for the ReLU family, LeCun for SELU (Klambauer et al.).
ACTIVATIONS: dict[str, str] = {
    "sigmoid": "xavier", "tanh": "xavier", "relu": "he", "leaky_relu": "he", "elu": "he",
    "selu": "lecun",
}

#: Initialisations of the weights (biases start at zero, except for "default"):
#: xavier: N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010, gain 1).
#: he: N(0, 2 / fan_in) (He et al. 2015; 2 / ((1 + a²) fan_in) for leaky ReLU of slope a).
#: lecun: N(0, 1 / fan_in).  too-small: N(0, 0.01²).  too-large: N(0, 1).
#: normal:<std>: N(0, std²).  default: PyTorch's nn.Linear default, U(±1/√fan_in) weight and bias.
#: auto: xavier, he or lecun by activation (see ACTIVATIONS).
INITS = ("auto", "xavier", "he", "lecun", "too-small", "too-large", "default", "normal:<std>")

_FIXED_STD = {"too-small": 0.01, "too-large": 1.0}


BATCH_NORM = "+bn"


def split_activation(name: str) -> tuple[str, bool]:
    """("sigmoid", True) for "sigmoid+bn": the activation and whether batch norm precedes it."""
    if name.endswith(BATCH_NORM):
        return name[:-len(BATCH_NORM)], True
    return name, False


def auto_init(activation: str) -> str:
    """The initialisation "auto" picks for an activation (with or without "+bn")."""
    check_activation(activation)
    return ACTIVATIONS[split_activation(activation)[0]]


def check_activation(activation: str, *, batch_norm: bool = False) -> None:
    """ValueError unless `activation` is in ACTIVATIONS (or, with batch_norm, one of them with
    "+bn")."""
    base, with_bn = split_activation(activation) if batch_norm else (activation, False)
    if base not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}{did_you_mean(base, ACTIVATIONS)}; choose from "
            f"{', '.join(ACTIVATIONS)}" + (" (each may end in +bn)" if batch_norm else "")
        )


def check_init(init: str) -> str:
    """`init` checked (ValueError naming the valid ones); returns it."""
    if init.startswith("normal:"):
        try:
            std = float(init.split(":", 1)[1])
        except ValueError:
            std = -1.0
        if not (math.isfinite(std) and std > 0):
            raise ValueError(
                f"init {init!r}: 'normal:<std>' needs a positive std, e.g. normal:0.05"
            )
        return init
    if init not in INITS[:-1]:
        raise ValueError(f"unknown init {init!r}{did_you_mean(init, INITS[:-1])}; choose from "
                         f"{', '.join(INITS)}")
    return init


def init_linear_(layer: Any, init: str, activation: str,
                 generator: np.random.Generator) -> None:
    """Initialise an nn.Linear in place by name (see INITS); "auto" resolves by `activation`."""
    from steepest.nn import init as nn_init

    check_init(init)
    if init == "auto":
        init = auto_init(activation)
    if init == "default":
        layer.reset_parameters(generator)
        return
    fan_in = layer.in_features
    if init == "xavier":
        nn_init.xavier_normal_(layer.weight, generator=generator)
    elif init == "he":
        if activation == "leaky_relu":
            nn_init.kaiming_normal_(layer.weight, a=_LEAKY_SLOPE, nonlinearity="leaky_relu",
                                    generator=generator)
        else:
            nn_init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
    elif init == "lecun":
        nn_init.normal_(layer.weight, 0.0, 1.0 / math.sqrt(fan_in), generator=generator)
    else:
        std = _FIXED_STD[init] if init in _FIXED_STD else float(init.split(":", 1)[1])
        nn_init.normal_(layer.weight, 0.0, std, generator=generator)
    if layer.bias is not None:
        nn_init.zeros_(layer.bias)


def deep_mlp(in_features: int, num_classes: int, *, depth: int = 10, width: int = 64,
             activation: str = "relu", init: str = "auto",
             generator: np.random.Generator | None = None, dtype: Any = np.float32,
             batch_norm: bool = False) -> Any:
    """A plain deep MLP: `depth` Linear layers (in → width → ... → width → classes) with the
    activation after every one but the last, each initialised by `init` (see INITS);
    batch_norm puts an nn.BatchNorm1d between every hidden Linear and its activation.

    x: (N, in_features) -> logits (N, num_classes). Returns an nn.Sequential.
    """
    from steepest import nn

    check_activation(activation)
    check_init(init)
    if depth < 2:
        raise ValueError(f"deep_mlp: depth must be at least 2 (Linear layers), got {depth}")
    if width < 1:
        raise ValueError(f"deep_mlp: width must be positive, got {width}")
    generator = np.random.default_rng(0) if generator is None else generator
    make_activation = _activation_modules()[activation]
    sizes = [in_features] + [width] * (depth - 1) + [num_classes]
    layers: list[Any] = []
    for index in range(depth):
        linear = nn.Linear(sizes[index], sizes[index + 1], dtype=dtype, generator=generator)
        init_linear_(linear, init, activation, generator)
        layers.append(linear)
        if index < depth - 1:
            if batch_norm:
                layers.append(nn.BatchNorm1d(sizes[index + 1], dtype=dtype))
            layers.append(make_activation())
    return nn.Sequential(*layers)


def _weights(model: Any) -> list[tuple[str, Any]]:
    """(name, parameter) of every weight with two or more dimensions, in registration order."""
    return [(name, p) for name, p in model.named_parameters() if p.data.ndim >= 2]


@dataclass(repr=False)
class GradientFlowResult(ShortRepr):
    """Weight-gradient norms ‖∂L/∂W‖ (Frobenius) of every Linear layer, first to last.

    history[act]: (R, depth) norms at the recorded steps `steps` (R,); row 0 is the
    initialisation (step 0), measured on the first mini-batch. losses[act]: (train_steps + 1,)
    the mini-batch loss at every step. inits[act]: the initialisation used. diverged[act]: the
    first step whose loss (or a gradient norm) was not finite, None if none was: the training
    stopped there, and its losses and norms from then on are NaN. layer_names[act]: the
    weights measured (for your own models, whose depths may differ: then history[act] has
    that model's number of columns, and `depth` is the largest).
    """

    activations: tuple[str, ...]
    inits: dict[str, str]
    depth: int
    width: int
    steps: np.ndarray
    history: dict[str, np.ndarray]
    losses: dict[str, np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)
    diverged: dict[str, int | None] = field(default_factory=dict)
    layer_names: dict[str, list[str]] = field(default_factory=dict)

    @property
    def layers(self) -> list[int]:
        """Layer numbers 1..depth (1 is next to the input)."""
        return list(range(1, self.depth + 1))

    @property
    def norms(self) -> dict[str, np.ndarray]:
        """(depth,) gradient norms at initialisation, per activation."""
        return {act: hist[0] for act, hist in self.history.items()}

    @property
    def ratio(self) -> dict[str, float]:
        """First-layer over last-layer gradient norm at initialisation (1 = no vanishing)."""
        return {act: float(hist[0, 0] / hist[0, -1]) for act, hist in self.history.items()}

    @property
    def final_ratio(self) -> dict[str, float]:
        """The same ratio at the last recorded step (NaN if the training diverged)."""
        return {act: float(hist[-1, 0] / hist[-1, -1]) for act, hist in self.history.items()}

    def table(self) -> list[dict[str, Any]]:
        """One row per activation: init, first- and last-layer norms, their ratio (at init and,
        after training, at the end), and the loss before and after training; a training that
        diverged says "diverged at step k" instead of its final numbers."""
        rows = []
        trained = len(self.steps) > 1
        for act in self.activations:
            hist = self.history[act]
            row: dict[str, Any] = {
                "activation": act, "init": self.inits[act],
                "first-layer grad": float(hist[0, 0]), "last-layer grad": float(hist[0, -1]),
                "first/last": self.ratio[act],
            }
            if trained:
                step = self.diverged.get(act)
                losses = self.losses[act]
                final = f"loss @ {len(losses) - 1}"
                if step is None:
                    row[f"first/last @ step {int(self.steps[-1])}"] = self.final_ratio[act]
                    tail = losses[-max(1, len(losses) // 10):]
                    row["loss @ 0"] = float(losses[0])
                    row[final] = float(np.mean(tail))
                else:
                    row[f"first/last @ step {int(self.steps[-1])}"] = \
                        f"diverged at step {step}"
                    row["loss @ 0"] = float(losses[0]) if step > 0 else \
                        f"diverged at step {step}"
                    row[final] = f"diverged at step {step}"
            rows.append(row)
        return rows


def _flow(model: Any, x: np.ndarray, y: np.ndarray, *, batch_size: int, train_steps: int,
          lr: float, optimizer: str, recorded: list[int], seed: int
          ) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Gradient norms of `model`'s weights at the recorded steps while it trains through the
    one training loop: (rows, losses, the step it diverged at or None)."""
    from steepest.train.loop import NonFiniteLoss, TrainingLoop

    weights = [p for _, p in _weights(model)]
    opt = make_optimizer(optimizer, model.parameters(), lr, "gradient_flow") \
        if train_steps else None
    loop = TrainingLoop(model, opt)
    stream = batches(len(x), batch_size, np.random.default_rng([seed, 2]))
    rows = np.full((len(recorded), len(weights)), np.nan)
    step_losses = np.full(train_steps + 1, np.nan)
    model.train()
    for step in range(train_steps + 1):
        batch = next(stream)
        loop.zero_grad()
        # Overflow in a diverging training is reported once, as `diverged`, not warned.
        with np.errstate(all="ignore"):
            try:
                value = loop.forward_backward(x[batch], y[batch]).loss
            except NonFiniteLoss:
                return rows, step_losses, step
            loop.reduce_gradients()
            norms = [float(np.linalg.norm(p.grad)) if p.grad is not None else 0.0
                     for p in weights]
        if not all(math.isfinite(n) for n in norms):
            return rows, step_losses, step
        step_losses[step] = value
        if step in recorded:
            rows[recorded.index(step)] = norms
        if step < train_steps:
            with np.errstate(all="ignore"):
                loop.apply_update()
    return rows, step_losses, None


def gradient_flow(activations: Sequence[str] = ("sigmoid", "tanh", "relu"), depth: int = 10,
                  width: int = 64, init: str = "auto", data: Any = None, batch_size: int = 128,
                  train_steps: int = 0, lr: float = 1e-3, optimizer: str = "adam",
                  record_every: int | None = None, seed: int = 0, *,
                  model: Any = None) -> GradientFlowResult:
    """Per-layer weight-gradient norms of a deep MLP (`deep_mlp`), one per activation.

    activations: names from ACTIVATIONS, each optionally with "+bn" (batch norm before every
    activation). depth: Linear layers (≥ 2); width: hidden units.
    init: one of INITS for all of them ("auto": Xavier for sigmoid/tanh, He for the ReLU family).
    data: None (MNIST-1D), a Split or (x, y): inputs are flattened, labels are classes.
    train_steps: mini-batch steps of `optimizer` ("sgd", "momentum", "adam", ...) at rate `lr`
    after the measurement at initialisation; norms are recorded every `record_every` steps
    (default: train_steps // 10) on that step's mini-batch, before its update. A training
    whose loss (or a gradient norm) stops being finite stops there (`diverged`): its losses and
    norms from then on are NaN.
    seed: the weights (same for every activation) and the batch order.

    model: your own network instead (an nn.Module mapping x, in the data's own shape, to
    logits, or a dict {name: Module} to compare several; activations, depth, width and init
    are then unused):
    every weight with two or more dimensions is measured, in the order the model registers
    them. A model trained here (train_steps > 0) gets its own weights back at the end.
    """
    from steepest.lab._common import snapshot
    from steepest.nn.module import Module

    check_init(init)
    check_optimizer(optimizer, "gradient_flow")
    if train_steps < 0:
        raise ValueError(f"gradient_flow: train_steps must be >= 0, got {train_steps}")
    if record_every is None:
        record_every = max(1, train_steps // 10)
    if record_every < 1:
        raise ValueError(f"gradient_flow: record_every must be >= 1, got {record_every}")
    x, y = as_arrays(data, "gradient_flow", flatten=model is None)
    num_classes = int(y.max()) + 1
    recorded = sorted(set(range(0, train_steps + 1, record_every)) | {train_steps})
    if model is not None:
        models = dict(model) if isinstance(model, dict) else {type(model).__name__: model}
        for name, each in models.items():
            if not isinstance(each, Module) or not _weights(each):
                raise TypeError(f"gradient_flow: model {name!r} must be an nn.Module with "
                                f"weights of two or more dimensions, got {type(each).__name__}")
        activations = tuple(models)
        inits = {name: "its own" for name in models}
    else:
        activations = tuple(activations)
        if not activations:
            raise ValueError("gradient_flow: give at least one activation")
        for act in activations:
            check_activation(act, batch_norm=True)
        inits = {act: auto_init(act) if init == "auto" else init for act in activations}
        models = {}
        for act in activations:
            base, with_bn = split_activation(act)
            models[act] = deep_mlp(x.shape[1], num_classes, depth=depth, width=width,
                                   activation=base, init=init, batch_norm=with_bn,
                                   generator=np.random.default_rng([seed, 1]), dtype=x.dtype)
    history: dict[str, np.ndarray] = {}
    losses: dict[str, np.ndarray] = {}
    diverged: dict[str, int | None] = {}
    names: dict[str, list[str]] = {}
    for key, net in models.items():
        saved = snapshot(net) if model is not None and train_steps else None
        was_training = net.training
        history[key], losses[key], diverged[key] = _flow(
            net, x, y, batch_size=batch_size, train_steps=train_steps, lr=lr,
            optimizer=optimizer, recorded=recorded, seed=seed)
        names[key] = [name for name, _ in _weights(net)]
        net.train(was_training)
        if saved is not None:
            net.load_state_dict(saved)
    depths = {len(layer_names) for layer_names in names.values()}
    config = dict(activations=list(activations), depth=max(depths), width=width, init=init,
                  batch_size=batch_size, train_steps=train_steps, lr=lr, optimizer=optimizer,
                  record_every=record_every, seed=seed, samples=int(len(x)),
                  features=int(np.prod(x.shape[1:])), classes=num_classes)
    if model is not None:
        config.update(model=list(models), width=None, init=None)
        width = 0
    return GradientFlowResult(activations, inits, max(depths), width, np.array(recorded),
                              history, losses, config, diverged, names)


def _layer_axis(ax: Any, result: GradientFlowResult) -> None:
    from steepest.figures import integer_ticks

    if result.depth <= 12:
        ax.set_xticks(result.layers)
    else:
        integer_ticks(ax.xaxis)


def plot_gradient_flow(result: GradientFlowResult, out: Any = None, *,
                       step_index: int = 0, title: str | None = None) -> Any:
    """Gradient norm per layer (log scale), one line per activation (or model), at
    initialisation (step_index 0) or another recorded step. Returns the matplotlib Figure;
    out: PNG to write."""
    from steepest.figures import log_axis
    from steepest.lab.plots import MARKERS, _figure, _save

    figure = _figure(7.5, 4.6)
    ax = figure.add_subplot()
    looks = ("-", "--", "-.", ":")
    for index, act in enumerate(result.activations):
        norms = result.history[act][step_index]
        layers = np.arange(1, len(norms) + 1)
        init = "" if result.inits[act] == "its own" else f" ({result.inits[act]})"
        label = f"{act}{init}: first/last = {norms[0] / norms[-1]:.2g}"
        ax.plot(layers, np.where(norms > 0, norms, np.nan), marker=MARKERS[index % len(MARKERS)],
                linestyle=looks[index // 10 % len(looks)], linewidth=2, label=label)
    log_axis(ax, "y")
    _layer_axis(ax, result)
    names = list(result.layer_names.values())
    if result.width == 0 and len(names) == 1:  # your own model: its weights by name
        ax.set_xticks(range(1, len(names[0]) + 1),
                      [name.removesuffix(".weight") for name in names[0]])
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel(r"$\|\partial L / \partial W\|$")
    ax.grid(True, which="major", alpha=0.3)
    step = int(result.steps[step_index])
    when = "at initialisation" if step == 0 else f"at step {step}"
    shape = f"{result.depth} layers of width {result.width}" if result.width else \
        ", ".join(result.activations)
    ax.set_title(title or f"Gradient norm per layer {when}: {shape}")
    ax.legend(loc="best", fontsize="small")
    _save(figure, out)
    return figure


def plot_gradient_flow_over_training(result: GradientFlowResult, out: Any = None) -> Any:
    """One panel per activation: gradient norm per layer (log scale) at each recorded step,
    coloured from dark (initialisation) to light (last step). Needs train_steps > 0."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from steepest.figures import log_axis
    from steepest.lab.plots import _figure, _save

    if len(result.steps) < 2:
        raise ValueError("plot_gradient_flow_over_training needs a result with train_steps > 0")
    count = len(result.activations)
    columns = 2 if count in (2, 4) else min(count, 3)
    rows = math.ceil(count / columns)
    # about 10 inches wide: the guide's 900 pixels keep its labels readable
    figure = _figure(3.0 * columns + 0.9, 2.7 * rows + 0.5)
    axes = np.atleast_1d(figure.subplots(rows, columns, sharey=True, squeeze=False)).ravel()
    cmap = colormaps["viridis"]
    norm = Normalize(0, int(result.steps[-1]))
    for ax, act in zip(axes, result.activations, strict=False):
        for step, norms in zip(result.steps, result.history[act], strict=True):
            layers = np.arange(1, len(norms) + 1)
            ax.plot(layers, np.where(norms > 0, norms, np.nan), color=cmap(norm(step)),
                    linewidth=1.4, marker="o", markersize=3)
        log_axis(ax, "y")
        _layer_axis(ax, result)
        ax.set_title(f"{act} ({result.inits[act]})", fontsize="medium")
        ax.set_xlabel("layer")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes[len(result.activations):]:
        ax.set_visible(False)
    for ax in axes[::columns]:
        ax.set_ylabel(r"$\|\partial L / \partial W\|$")
    figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), label="step")
    figure.suptitle(f"Gradient norms during training ({result.config.get('optimizer', '')}, "
                    f"lr {result.config.get('lr', '')})")
    _save(figure, out)
    return figure
