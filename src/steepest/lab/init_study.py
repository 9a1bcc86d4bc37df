"""Initialisation: activation statistics and histograms, layer by layer, through a deep stack of
Linear layers for several weight initialisations and activations (the CS231n picture).

Lecture 004, "Weight Initialisation": too small, and the activations shrink towards zero layer
after layer (so do the gradients); too large, and tanh units saturate at ±1 (gradient zero);
Xavier (tanh) and He (ReLU) keep the spread about the same in every layer.

The input is x ~ N(0, 1), (n, width); every layer is Linear(width, width) with zero bias
followed by the activation. Initialisations (weights):
    too-small: N(0, 0.01²)   too-large: N(0, 1)   xavier: N(0, 2 / (fan_in + fan_out))
    he: N(0, 2 / fan_in)     lecun: N(0, 1 / fan_in)   normal:<std>   default (PyTorch's)
"Saturated" means |a| > 0.99 for tanh, a < 0.01 or a > 0.99 for sigmoid. For the ReLU family
the same array holds the fraction of *dead units*: units that are never active (pre-activation
z ≤ 0, so a = 0 for ReLU) for any input of the batch, which pass no gradient at all. That about
half of a ReLU layer's outputs are zero for a given input is normal sparsity, not death; that
fraction is kept apart, in `zeros`.

`init_statistics(model=...)` does the same for your own network: it pushes a batch through it
and measures the output of every activation module (nn.ReLU, nn.Tanh, ...) in the order they run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab._common import ShortRepr
from steepest.lab.gradients import _activation_modules, check_activation, check_init, init_linear_

__all__ = ["InitResult", "dead_units", "init_statistics", "plot_init_histograms",
           "plot_init_statistics", "saturation"]

#: Activations whose "saturated" fraction is |a| near its bound; the others count a = 0.
_SATURATING = ("tanh", "sigmoid")
#: A sigmoid layer whose outputs have a smaller std than this sits at σ(0) = 1/2 (95% of them
#: within 0.5 ± 0.06): too-small weights give 0.02 at width 256, Xavier 0.12.
_SIGMOID_COLLAPSED = 0.03


def _measure_name(activation: str) -> str:
    """What `saturation` measures for the activation: "saturated" or "dead units"."""
    return "saturated" if activation in _SATURATING else "dead units"


def dead_units(values: np.ndarray) -> float:
    """The fraction of units never active over the batch. values: (N, ...) outputs of a
    ReLU-family activation; a unit is one position of the trailing axes, inactive where its
    output is ≤ 0 (the pre-activation was ≤ 0: ReLU gives 0, leaky ReLU, ELU, SELU less)."""
    values = np.asarray(values)
    active = (values > 0).reshape(len(values), -1)
    return float(1.0 - np.mean(active.any(axis=0)))


def saturation(activation: str, values: np.ndarray) -> float:
    """What the activation wastes in `values` (N, ...): the fraction of outputs saturated for
    tanh and sigmoid, the fraction of dead units (`dead_units`) for the ReLU family."""
    values = np.asarray(values)
    if activation == "tanh":
        return float(np.mean(np.abs(values) > 0.99))
    if activation == "sigmoid":
        return float(np.mean((values < 0.01) | (values > 0.99)))
    if activation in ("relu", "leaky_relu", "elu", "selu"):
        return dead_units(values)
    check_activation(activation)
    raise AssertionError(activation)  # pragma: no cover


@dataclass(repr=False)
class InitResult(ShortRepr):
    """Statistics of the activations after each layer, per (init, activation) pair.

    mean[(init, act)], std[...], saturated[...] (tanh, sigmoid: saturated fraction; ReLU
    family: dead units), zeros[...] (ReLU family: the fraction of outputs ≤ 0; NaN for tanh and
    sigmoid): (depth,) arrays. samples[(init, act)]: (depth, k) float32 activations drawn
    (seeded, without replacement) from the values of each layer, for histograms.
    layer_names: for your own model, the name of each activation module measured.
    """

    inits: tuple[str, ...]
    activations: tuple[str, ...]
    depth: int
    width: int
    n: int
    mean: dict[tuple[str, str], np.ndarray]
    std: dict[tuple[str, str], np.ndarray]
    saturated: dict[tuple[str, str], np.ndarray]
    samples: dict[tuple[str, str], np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)
    zeros: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    layer_names: list[str] | None = None

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(init, act) for init in self.inits for act in self.activations]

    def table(self, layers: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """One row per (init, activation): std of layers 1, depth/2 and depth (or `layers`,
        1-based), the last layer's saturated fraction (tanh, sigmoid) or dead units (the ReLU
        family; "-" in the other column), and a verdict."""
        if layers is None:
            layers = sorted({1, max(1, self.depth // 2), self.depth})
        columns = list(dict.fromkeys(_measure_name(act) for act in self.activations))
        rows = []
        for init, act in self.pairs:
            std = self.std[(init, act)]
            row: dict[str, Any] = {"init": init, "activation": act}
            for layer in layers:
                row[f"std L{layer}"] = float(std[layer - 1])
            for column in columns:
                row[f"{column} L{self.depth}"] = float(self.saturated[(init, act)][-1]) \
                    if column == _measure_name(act) else "-"
            row["verdict"] = self.verdict(init, act)
            rows.append(row)
        return rows

    def verdict(self, init: str, act: str) -> str:
        """A few words on what the activations do: collapse (to 0; sigmoid towards 0.5),
        explode, saturate, shrink, grow or stay spread."""
        std = self.std[(init, act)]
        sat = self.saturated[(init, act)]
        first, last = float(std[0]), float(std[-1])
        if not np.isfinite(last) or last > 1e3 * max(first, 1e-30):
            return "explode"
        if act in ("tanh", "sigmoid") and sat[-1] > 0.5:
            return "saturate"
        if act == "sigmoid" and (last < 1e-2 * first or last < _SIGMOID_COLLAPSED):
            # Sigmoid squashes small inputs to σ(0) = 1/2, not to 0; its first layer is
            # already squashed, so a small std counts on its own.
            return "collapse towards 0.5"
        if last < 1e-2 * first:
            return "collapse to 0"
        if last < 0.2 * first:
            return "shrink"
        if last > 5 * first:
            return "grow"
        return "well spread"


class _Layers:
    """Statistics of one stack of activations, layer by layer (appended as the forward runs)."""

    def __init__(self, k: int, pick: np.random.Generator) -> None:
        self.k, self.pick = k, pick
        self.mean: list[float] = []
        self.std: list[float] = []
        self.saturated: list[float] = []
        self.zeros: list[float] = []
        self.samples: list[np.ndarray] = []

    def add(self, act: str, output: np.ndarray) -> None:
        values = output.astype(np.float64)
        self.mean.append(float(values.mean()))
        self.std.append(float(values.std()))
        self.saturated.append(saturation(act, output))
        self.zeros.append(float(np.mean(output <= 0)) if act not in _SATURATING else np.nan)
        flat = output.ravel()
        k = min(self.k, flat.size)
        chosen = self.pick.choice(flat.size, size=k, replace=False) if k < flat.size \
            else np.arange(flat.size)
        self.samples.append(flat[chosen].astype(np.float32))

    def samples_array(self) -> np.ndarray:
        width = max(len(row) for row in self.samples)
        padded = np.full((len(self.samples), width), np.nan, dtype=np.float32)
        for index, row in enumerate(self.samples):
            padded[index, :len(row)] = row
        return padded


def _activation_kind(module: Any) -> str | None:
    """The name in ACTIVATIONS of an activation module (nn.ReLU -> "relu"), else None."""
    kinds = {type(make()): name for name, make in _activation_modules().items()}
    return kinds.get(type(module))


@contextlib.contextmanager
def _recording(model: Any) -> Iterator[list[tuple[str, str, np.ndarray]]]:
    """Inside the block, every activation module of `model` appends (its name, its kind, its
    output array) to the yielded list each time it runs."""
    seen: list[tuple[str, str, np.ndarray]] = []
    wrapped = []
    for name, module in model.named_modules():
        kind = _activation_kind(module)
        if kind is None:
            continue

        def forward(x: Any, _module: Any = module, _name: str = name, _kind: str = kind) -> Any:
            out = type(_module).forward(_module, x)
            seen.append((_name, _kind, out.data))
            return out
        module.forward = forward  # an instance attribute, removed again below
        wrapped.append(module)
    try:
        yield seen
    finally:
        for module in wrapped:
            del module.__dict__["forward"]


def _model_input(model: Any, x: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    if x is not None:
        return np.asarray(x.data if hasattr(x, "data") else x)
    from steepest import nn

    first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    has_conv = any(type(m).__name__.startswith("Conv") for m in model.modules())
    if first is None or has_conv:
        raise ValueError("init_statistics: pass x=, a batch of inputs for your model (only a "
                         "model whose first layer is nn.Linear gets x ~ N(0, 1) by itself)")
    return rng.standard_normal((n, first.in_features)).astype(first.weight.data.dtype)


def _model_statistics(model: Any, x: Any, n: int, seed: int, max_samples: int,
                      label: str | None) -> InitResult:
    from steepest.autograd.grad_mode import no_grad
    from steepest.tensor import Tensor

    inputs = _model_input(model, x, n, np.random.default_rng([seed, 0]))
    with no_grad(), _recording(model) as seen:
        model(Tensor(inputs))
    if not seen:
        raise ValueError(f"init_statistics: {type(model).__name__} has no activation module "
                         f"(nn.ReLU, nn.Tanh, ...) to measure; functional calls like F.relu "
                         f"are not seen")
    kinds = list(dict.fromkeys(kind for _, kind, _ in seen))
    act = kinds[0] if len(kinds) == 1 else "mixed"
    layers = _Layers(max_samples, np.random.default_rng([seed, 2]))
    for _, kind, output in seen:
        layers.add(kind, output)
    key = (label or type(model).__name__, act)
    widths = sorted({int(np.prod(out.shape[1:])) for _, _, out in seen})
    config = dict(model=type(model).__name__, n=len(inputs), seed=seed, max_samples=max_samples,
                  layers=len(seen))
    return InitResult((key[0],), (act,), len(seen), widths[-1], len(inputs),
                      {key: np.array(layers.mean)}, {key: np.array(layers.std)},
                      {key: np.array(layers.saturated)}, {key: layers.samples_array()}, config,
                      {key: np.array(layers.zeros)}, [name for name, _, _ in seen])


def init_statistics(inits: Sequence[str] = ("too-small", "too-large", "xavier", "he"),
                    activations: Sequence[str] = ("tanh", "relu"), depth: int = 10,
                    width: int = 256, n: int = 1000, seed: int = 0,
                    max_samples: int = 20_000, *, model: Any = None, x: Any = None,
                    label: str | None = None) -> InitResult:
    """Forward x ~ N(0, 1), (n, width), through `depth` layers Linear(width, width) + activation
    for every (init, activation) pair, and collect per-layer mean, std, saturated fraction (dead
    units for the ReLU family), fraction of outputs ≤ 0, and up to `max_samples` activation
    values per layer.

    inits: names from steepest.lab.gradients.INITS ("auto" as well); activations: from
    ACTIVATIONS. seed: the input and the weights (the same weights' random draws for every pair).

    model: your own network instead (inits, activations, depth and width are then unused): the
    batch `x` (default: n rows of N(0, 1) when its first layer is nn.Linear) runs through it
    once, without a graph, in its current train/eval mode, and the output of every activation
    module is measured in the order they ran. The result has one row, named `label` (default
    the model's class) and after the model's activation ("mixed" if it has several kinds).
    """
    from steepest import nn
    from steepest.autograd.grad_mode import no_grad
    from steepest.tensor import Tensor

    for name, value in (("depth", depth), ("width", width), ("n", n), ("max_samples", max_samples)):
        if value < 1:
            raise ValueError(f"init_statistics: {name} must be positive, got {value}")
    if model is not None:
        return _model_statistics(model, x, n, seed, max_samples, label)
    inits, activations = tuple(inits), tuple(activations)
    if not inits or not activations:
        raise ValueError("init_statistics: give at least one init and one activation")
    for init in inits:
        check_init(init)
    for act in activations:
        check_activation(act)
    x0 = np.random.default_rng([seed, 0]).standard_normal((n, width)).astype(np.float32)
    means, stds, sats, zeros, samples = {}, {}, {}, {}, {}
    modules = _activation_modules()
    for init in inits:
        for act in activations:
            weights_rng = np.random.default_rng([seed, 1])
            layers = _Layers(max_samples, np.random.default_rng([seed, 2]))
            activation = modules[act]()
            out = Tensor(x0)
            with no_grad():
                for _ in range(depth):
                    linear = nn.Linear(width, width, generator=weights_rng)
                    init_linear_(linear, init, act, weights_rng)
                    if linear.bias is not None:
                        nn.init.zeros_(linear.bias)
                    out = activation(linear(out))
                    layers.add(act, out.data)
            key = (init, act)
            means[key], stds[key] = np.array(layers.mean), np.array(layers.std)
            sats[key], zeros[key] = np.array(layers.saturated), np.array(layers.zeros)
            samples[key] = np.stack(layers.samples)
    config = dict(inits=list(inits), activations=list(activations), depth=depth, width=width,
                  n=n, seed=seed, max_samples=max_samples)
    return InitResult(inits, activations, depth, width, n, means, stds, sats, samples, config,
                      zeros)


def _figure(width: float, height: float, layout: str | None = "constrained") -> Any:
    from steepest.figures import new_figure

    return new_figure(width, height, layout=layout)


def _layer_range(act: str, values: np.ndarray) -> tuple[float, float]:
    """The x range of one histogram: the activation's own range for tanh and sigmoid (so that
    collapsing to 0 and saturating at ±1 show), else the layer's own spread (its 0.5 to 99.5
    percentiles; from 0 for ReLU), so that an exploding layer is drawn whole, its scale read
    from the axis, instead of piling up in an edge bin."""
    if act == "tanh":
        return -1.0, 1.0
    if act == "sigmoid":
        return 0.0, 1.0
    values = values[np.isfinite(values)]
    if act == "relu":
        values = values[values > 0]
    if values.size == 0:
        return -1.0, 1.0
    low, high = (float(v) for v in np.percentile(values, [0.5, 99.5]))
    if act == "relu":
        low = 0.0
    if high <= low:
        high = low + max(abs(low), 1e-30)
    return low, high


def _tick(value: float) -> str:
    return "0" if value == 0 else f"{value:.2g}".replace("e-0", "e-").replace("e+0", "e")


def plot_init_histograms(result: InitResult, out: Any = None, *,
                         layers: Sequence[int] | None = None, bins: int = 30) -> Any:
    """The grid of activation histograms: one row per (init, activation), one column per layer
    (1-based `layers`; default five, spread from the first to the last; in the slide style,
    one row per init and three layers of each activation side by side). tanh and sigmoid keep
    their range ([-1, 1], [0, 1]); the ReLU family gets each layer's own range, its ends
    written under it, so shrinking and exploding read off the axis. ReLU's zeros are left out
    of its bars. Each panel gives the layer's std σ and the saturated fraction (tanh,
    sigmoid) or the dead units (ReLU family). Returns the Figure; out: PNG."""
    from matplotlib import rcParams

    from steepest.figures import current_style
    from steepest.lab.plots import _save

    slide = current_style() == "slide"
    if layers is None:
        count = min(result.depth, 3 if slide else 5)
        layers = sorted({int(round(v)) for v in np.linspace(1, result.depth, count)})
    layers = list(layers)
    for layer in layers:
        if not 1 <= layer <= result.depth:
            raise ValueError(f"plot_init_histograms: layer {layer} is not in 1..{result.depth}")
    # The grid: rows of panels, each panel one (init, activation, layer).
    if slide:
        rows = [(init, [(init, act, layer) for act in result.activations for layer in layers])
                for init in result.inits]
        headers = [f"layer {layer}" for _ in result.activations for layer in layers]
    else:
        rows = [(f"{init}\n{act}", [(init, act, layer) for layer in layers])
                for init, act in result.pairs]
        headers = [f"layer {layer}" for layer in layers]
    if result.layer_names is not None:
        headers = [f"{layer}: {result.layer_names[layer - 1]}" for layer in layers]
    columns = len(rows[0][1])
    figure = _figure(1.75 * columns + 1.5, 1.15 * len(rows) + 1.0, layout=None)
    width, height = figure.get_size_inches()
    base = rcParams["font.size"]
    small = (0.8 if slide else 0.9) * base
    lines = 2 if slide else 1  # lines of each panel's title
    inches = lambda points: 1.25 * points / 72.0  # noqa: E731  (a line of text, in inches)
    top = (0 if slide else 2 * inches(1.1 * base) + 0.1) + 2 * inches(base) + \
        lines * inches(small)
    gap = (lines + 1) * inches(small) + 0.1   # between rows: tick labels and titles
    panel = (height - top - inches(small) - 0.1) / len(rows) - gap
    figure.subplots_adjust(left=(1.45 if slide else 1.25) / width, right=1 - 0.25 / width,
                           bottom=(inches(small) + 0.1) / height, top=1 - top / height,
                           wspace=0.12, hspace=gap / panel)
    axes = figure.subplots(len(rows), columns, squeeze=False)
    colours = {pair: f"C{index % 10}" for index, pair in enumerate(result.pairs)}
    for row, (row_label, panels) in enumerate(rows):
        for column, (init, act, layer) in enumerate(panels):
            ax = axes[row, column]
            values = result.samples[(init, act)][layer - 1]
            values = values[np.isfinite(values)]
            low, high = _layer_range(act, values)
            if act == "relu":
                values = values[values != 0]
            counts, edges = np.histogram(np.clip(values, low, high), bins=bins,
                                         range=(low, high))
            ax.stairs(counts, edges, fill=True, color=colours[(init, act)])
            ax.set_xlim(low, high)
            ax.set_yticks([])
            ax.set_xticks([low, high], [_tick(low), _tick(high)])
            ax.tick_params(axis="x", labelsize=small, pad=1, length=2)
            for label, align in zip(ax.get_xticklabels(), ("left", "right"), strict=True):
                label.set_horizontalalignment(align)
            std = result.std[(init, act)][layer - 1]
            sat = result.saturated[(init, act)][layer - 1]
            what = "sat" if act in _SATURATING else "dead"
            ax.set_title(f"σ {std:.2g}{chr(10) if slide else ', '}{what} {100 * sat:.0f}%",
                         fontsize=small, pad=2, linespacing=1.1)
            if row == 0:
                ax.annotate(headers[column], (0.5, 1.0), xycoords="axes fraction",
                            xytext=(0, lines * 1.3 * small + 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=base, weight="bold")
                if slide and column % len(layers) == 0 and len(result.activations) > 1:
                    # The activation, over its group of columns.
                    first = ax.get_position()
                    last = axes[0, column + len(layers) - 1].get_position()
                    raised = (lines * inches(small) + inches(base) + 0.05) / height
                    figure.text((first.x0 + last.x1) / 2, first.y1 + raised, act, ha="center",
                                va="bottom", fontsize=1.1 * base, weight="bold")
            if column == 0:
                ax.set_ylabel(row_label, fontsize=base, rotation=0, ha="right", va="center")
    if not slide:
        what = f"{result.depth} layers of width {result.width}, x ~ N(0, 1)" \
            if result.layer_names is None else f"{result.config.get('model', '')}"
        figure.suptitle(f"Activations per layer: {what}\nσ: std, sat: saturated (|a| > 0.99), "
                        f"dead: units never active over the batch", fontsize=1.1 * base)
    _save(figure, out)
    return figure


def plot_init_statistics(result: InitResult, out: Any = None) -> Any:
    """Two panels: std of the activations per layer (log scale) and, per layer, the saturated
    fraction (tanh, sigmoid) or the dead units (the ReLU family: units never active over the
    batch), one line per (init, activation): a colour per init, a line style and marker per
    activation, so the legend's entries can be told apart. Returns the Figure; out: PNG."""
    from steepest.figures import integer_ticks, log_axis
    from steepest.lab.plots import _save

    figure = _figure(11.0, 4.6)
    ax_std, ax_sat = figure.subplots(1, 2)
    layers = np.arange(1, result.depth + 1)
    looks = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]
    styles = {act: looks[index % len(looks)] for index, act in enumerate(result.activations)}
    for index, init in enumerate(result.inits):
        for act in result.activations:
            linestyle, marker = styles[act]
            line = dict(linestyle=linestyle, marker=marker, markersize=5, linewidth=2.0,
                        color=f"C{index % 10}")
            std = result.std[(init, act)]
            ax_std.plot(layers, np.where(std > 0, std, np.nan), label=f"{init}, {act}", **line)
            ax_sat.plot(layers, result.saturated[(init, act)], **line)
    log_axis(ax_std, "y")
    ax_std.set_ylabel("std of the activations")
    ax_std.set_title("Spread, layer by layer", fontsize="medium")
    names = list(dict.fromkeys(_measure_name(act) for act in result.activations))
    ax_sat.set_ylabel(" or ".join(names) + " (fraction)")
    ax_sat.set_title("\n".join(  # short lines: the slide style's large font must fit too
        ("saturated: tanh |a| > 0.99,\nsigmoid a < 0.01 or > 0.99" if name == "saturated"
         else "dead units: never active (a ≤ 0)\nover the whole batch") for name in names),
        fontsize="medium")
    ax_sat.set_ylim(-0.03, 1.03)
    for ax in (ax_std, ax_sat):
        ax.set_xlabel("layer")
        if result.depth <= 12:
            ax.set_xticks(layers)
        else:
            integer_ticks(ax.xaxis)
        ax.grid(True, alpha=0.3)
    figure.legend(*ax_std.get_legend_handles_labels(), loc="outside right center",
                  fontsize="small", handlelength=3.2, frameon=False)
    _save(figure, out)
    return figure
