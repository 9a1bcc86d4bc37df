"""Gradient flow: per-layer gradient norms through a deep MLP, at initialisation and over
training, to see gradients vanish (sigmoid) or flow (ReLU with He initialisation).

Backpropagation multiplies the gradient by Wᵀ and by the activation's derivative at every layer
(lecture 004, "Vanishing gradients"). σ'(z) ≤ 1/4, so through ten sigmoid layers with Xavier
weights the gradient reaching the first layer is orders of magnitude below the last layer's:
the early layers barely learn. ReLU's derivative is 1 where the unit is on, and He's
std = √(2 / fan_in) makes up for the half that is off, so the norms stay roughly flat.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab._common import as_arrays, batches, check_optimizer, make_optimizer

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


def auto_init(activation: str) -> str:
    """The initialisation "auto" picks for an activation."""
    check_activation(activation)
    return ACTIVATIONS[activation]


def check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}"
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
        raise ValueError(f"unknown init {init!r}; choose from {', '.join(INITS)}")
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
             generator: np.random.Generator | None = None, dtype: Any = np.float32) -> Any:
    """A plain deep MLP: `depth` Linear layers (in → width → ... → width → classes) with the
    activation after every one but the last, each initialised by `init` (see INITS).

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
            layers.append(make_activation())
    return nn.Sequential(*layers)


def _linears(model: Any) -> list[Any]:
    from steepest import nn

    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@dataclass
class GradientFlowResult:
    """Weight-gradient norms ‖∂L/∂W‖ (Frobenius) of every Linear layer, first to last.

    history[act]: (R, depth) norms at the recorded steps `steps` (R,); row 0 is the
    initialisation (step 0), measured on the first mini-batch. losses[act]: (train_steps + 1,)
    the mini-batch loss at every step. inits[act]: the initialisation used. diverged[act]: the
    first step whose loss (or a gradient norm) was not finite, None if none was: the training
    stopped there, and its losses and norms from then on are NaN.
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


def gradient_flow(activations: Sequence[str] = ("sigmoid", "tanh", "relu"), depth: int = 10,
                  width: int = 64, init: str = "auto", data: Any = None, batch_size: int = 128,
                  train_steps: int = 0, lr: float = 1e-3, optimizer: str = "adam",
                  record_every: int | None = None, seed: int = 0) -> GradientFlowResult:
    """Per-layer weight-gradient norms of a deep MLP (`deep_mlp`), one per activation.

    activations: names from ACTIVATIONS. depth: Linear layers (≥ 2); width: hidden units.
    init: one of INITS for all of them ("auto": Xavier for sigmoid/tanh, He for the ReLU family).
    data: None (MNIST-1D), a Split or (x, y): inputs are flattened, labels are classes.
    train_steps: mini-batch steps of `optimizer` ("sgd", "momentum", "adam", ...) at rate `lr`
    after the measurement at initialisation; norms are recorded every `record_every` steps
    (default: train_steps // 10) on that step's mini-batch, before its update. A training
    whose loss (or a gradient norm) stops being finite stops there (`diverged`): its losses and
    norms from then on are NaN.
    seed: the weights (same for every activation) and the batch order.
    """
    from steepest.train.loop import NonFiniteLoss, TrainingLoop

    activations = tuple(activations)
    if not activations:
        raise ValueError("gradient_flow: give at least one activation")
    for act in activations:
        check_activation(act)
    check_init(init)
    check_optimizer(optimizer, "gradient_flow")
    if train_steps < 0:
        raise ValueError(f"gradient_flow: train_steps must be >= 0, got {train_steps}")
    if record_every is None:
        record_every = max(1, train_steps // 10)
    if record_every < 1:
        raise ValueError(f"gradient_flow: record_every must be >= 1, got {record_every}")
    x, y = as_arrays(data, "gradient_flow")
    num_classes = int(y.max()) + 1
    recorded = sorted(set(range(0, train_steps + 1, record_every)) | {train_steps})
    history: dict[str, np.ndarray] = {}
    losses: dict[str, np.ndarray] = {}
    inits: dict[str, str] = {}
    diverged: dict[str, int | None] = {}
    for act in activations:
        inits[act] = auto_init(act) if init == "auto" else init
        model = deep_mlp(x.shape[1], num_classes, depth=depth, width=width, activation=act,
                         init=init, generator=np.random.default_rng([seed, 1]), dtype=x.dtype)
        linears = _linears(model)
        opt = make_optimizer(optimizer, model.parameters(), lr, "gradient_flow") \
            if train_steps else None
        loop = TrainingLoop(model, opt)
        stream = batches(len(x), batch_size, np.random.default_rng([seed, 2]))
        rows = np.full((len(recorded), depth), np.nan)
        step_losses = np.full(train_steps + 1, np.nan)
        diverged[act] = None
        for step in range(train_steps + 1):
            batch = next(stream)
            loop.zero_grad()
            # Overflow in a diverging training is reported once, as `diverged`, not warned.
            with np.errstate(all="ignore"):
                try:
                    value = loop.forward_backward(x[batch], y[batch]).loss
                except NonFiniteLoss:
                    diverged[act] = step
                    break
                loop.reduce_gradients()
                norms = [float(np.linalg.norm(layer.weight.grad)) for layer in linears]
            if not all(math.isfinite(n) for n in norms):
                diverged[act] = step
                break
            step_losses[step] = value
            if step in recorded:
                rows[recorded.index(step)] = norms
            if step < train_steps:
                with np.errstate(all="ignore"):
                    loop.apply_update()
        history[act] = rows
        losses[act] = step_losses
    config = dict(activations=list(activations), depth=depth, width=width, init=init,
                  batch_size=batch_size, train_steps=train_steps, lr=lr, optimizer=optimizer,
                  record_every=record_every, seed=seed, samples=int(len(x)),
                  features=int(x.shape[1]), classes=num_classes)
    return GradientFlowResult(activations, inits, depth, width, np.array(recorded), history,
                              losses, config, diverged)


def plot_gradient_flow(result: GradientFlowResult, out: Any = None, *,
                       step_index: int = 0, title: str | None = None) -> Any:
    """Gradient norm per layer (log scale), one line per activation, at initialisation
    (step_index 0) or another recorded step. Returns the matplotlib Figure; out: PNG to write."""
    from steepest.lab.plots import _figure, _save

    figure = _figure(7.5, 4.6)
    ax = figure.add_subplot()
    layers = np.array(result.layers)
    for index, act in enumerate(result.activations):
        norms = result.history[act][step_index]
        label = f"{act} ({result.inits[act]}): first/last = {norms[0] / norms[-1]:.2g}"
        ax.plot(layers, np.where(norms > 0, norms, np.nan), marker="osD^vP*X"[index % 8],
                linewidth=1.5, label=label)
    ax.set_yscale("log")
    ax.set_xticks(layers)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel(r"$\|\partial L / \partial W\|$")
    ax.grid(True, which="major", alpha=0.3)
    step = int(result.steps[step_index])
    when = "at initialisation" if step == 0 else f"at step {step}"
    ax.set_title(title or f"Gradient norm per layer {when}: "
                          f"{result.depth} layers of width {result.width}")
    ax.legend(loc="best", fontsize=8)
    _save(figure, out)
    return figure


def plot_gradient_flow_over_training(result: GradientFlowResult, out: Any = None) -> Any:
    """One panel per activation: gradient norm per layer (log scale) at each recorded step,
    coloured from dark (initialisation) to light (last step). Needs train_steps > 0."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from steepest.lab.plots import _figure, _save

    if len(result.steps) < 2:
        raise ValueError("plot_gradient_flow_over_training needs a result with train_steps > 0")
    count = len(result.activations)
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    figure = _figure(4.2 * columns + 0.8, 3.4 * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns, sharey=True, squeeze=False)).ravel()
    cmap = colormaps["viridis"]
    norm = Normalize(0, int(result.steps[-1]))
    layers = np.array(result.layers)
    for ax, act in zip(axes, result.activations, strict=False):
        for step, norms in zip(result.steps, result.history[act], strict=True):
            ax.plot(layers, np.where(norms > 0, norms, np.nan), color=cmap(norm(step)),
                    linewidth=1.2, marker="o", markersize=2.5)
        ax.set_yscale("log")
        ax.set_title(f"{act} ({result.inits[act]})", fontsize=10)
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
