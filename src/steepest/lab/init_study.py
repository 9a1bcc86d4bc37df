"""Initialisation: activation statistics and histograms, layer by layer, through a deep stack of
Linear layers for several weight initialisations and activations (the CS231n picture).

Lecture 004, "Weight Initialisation": too small, and the activations shrink towards zero layer
after layer (so do the gradients); too large, and tanh units saturate at ±1 (gradient zero);
Xavier (tanh) and He (ReLU) keep the spread about the same in every layer.

The input is x ~ N(0, 1), (n, width); every layer is Linear(width, width) with zero bias
followed by the activation. Initialisations (weights):
    too-small: N(0, 0.01²)   too-large: N(0, 1)   xavier: N(0, 2 / (fan_in + fan_out))
    he: N(0, 2 / fan_in)     lecun: N(0, 1 / fan_in)   normal:<std>   default (PyTorch's)
"Saturated" means |a| > 0.99 for tanh, a < 0.01 or a > 0.99 for sigmoid; for the ReLU family
the same array holds something else, the fraction of exactly-zero outputs ("dead" units for that
input, a = 0; about half is normal for ReLU), and tables and figures call it "dead (a = 0)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab.gradients import _activation_modules, check_activation, check_init, init_linear_

__all__ = ["InitResult", "init_statistics", "plot_init_histograms", "plot_init_statistics",
           "saturation"]

#: Activations whose "saturated" fraction is |a| near its bound; the others count a = 0.
_SATURATING = ("tanh", "sigmoid")
#: A sigmoid layer whose outputs have a smaller std than this sits at σ(0) = 1/2 (95% of them
#: within 0.5 ± 0.06): too-small weights give 0.02 at width 256, Xavier 0.12.
_SIGMOID_COLLAPSED = 0.03


def _measure_name(activation: str) -> str:
    """What `saturation` measures for the activation: "saturated" or "dead (a = 0)"."""
    return "saturated" if activation in _SATURATING else "dead (a = 0)"


def saturation(activation: str, values: np.ndarray) -> float:
    """The fraction of `values` (outputs of `activation`) that are saturated (see module doc)."""
    values = np.asarray(values)
    if activation == "tanh":
        return float(np.mean(np.abs(values) > 0.99))
    if activation == "sigmoid":
        return float(np.mean((values < 0.01) | (values > 0.99)))
    if activation in ("relu", "leaky_relu", "elu", "selu"):
        # Leaky ReLU, ELU and SELU are never exactly zero for non-zero input: 0 dead units.
        return float(np.mean(values == 0))
    check_activation(activation)
    raise AssertionError(activation)  # pragma: no cover


@dataclass
class InitResult:
    """Statistics of the activations after each layer, per (init, activation) pair.

    mean[(init, act)], std[...], saturated[...]: (depth,) arrays. samples[(init, act)]:
    (depth, k) float32 activations drawn (seeded, without replacement) from the n × width
    values of each layer, for histograms.
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

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(init, act) for init in self.inits for act in self.activations]

    def table(self, layers: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """One row per (init, activation): std of layers 1, depth/2 and depth (or `layers`,
        1-based), the last layer's saturated fraction (tanh, sigmoid) or dead fraction (a = 0,
        the ReLU family; "-" in the other column), and a verdict."""
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


def init_statistics(inits: Sequence[str] = ("too-small", "too-large", "xavier", "he"),
                    activations: Sequence[str] = ("tanh", "relu"), depth: int = 10,
                    width: int = 256, n: int = 1000, seed: int = 0,
                    max_samples: int = 20_000) -> InitResult:
    """Forward x ~ N(0, 1), (n, width), through `depth` layers Linear(width, width) + activation
    for every (init, activation) pair, and collect per-layer mean, std, saturated fraction and
    up to `max_samples` activation values per layer.

    inits: names from steepest.lab.gradients.INITS ("auto" as well); activations: from
    ACTIVATIONS. seed: the input and the weights (the same weights' random draws for every pair).
    """
    from steepest import nn
    from steepest.autograd.grad_mode import no_grad
    from steepest.tensor import Tensor

    inits, activations = tuple(inits), tuple(activations)
    if not inits or not activations:
        raise ValueError("init_statistics: give at least one init and one activation")
    for init in inits:
        check_init(init)
    for act in activations:
        check_activation(act)
    for name, value in (("depth", depth), ("width", width), ("n", n), ("max_samples", max_samples)):
        if value < 1:
            raise ValueError(f"init_statistics: {name} must be positive, got {value}")
    x0 = np.random.default_rng([seed, 0]).standard_normal((n, width)).astype(np.float32)
    means, stds, sats, samples = {}, {}, {}, {}
    modules = _activation_modules()
    k = min(max_samples, n * width)
    for init in inits:
        for act in activations:
            weights_rng = np.random.default_rng([seed, 1])
            pick_rng = np.random.default_rng([seed, 2])
            activation = modules[act]()
            x = Tensor(x0)
            layer_mean, layer_std, layer_sat, layer_samples = [], [], [], []
            with no_grad():
                for _ in range(depth):
                    linear = nn.Linear(width, width, generator=weights_rng)
                    init_linear_(linear, init, act, weights_rng)
                    if linear.bias is not None:
                        nn.init.zeros_(linear.bias)
                    x = activation(linear(x))
                    values = x.data.astype(np.float64)
                    layer_mean.append(float(values.mean()))
                    layer_std.append(float(values.std()))
                    layer_sat.append(saturation(act, x.data))
                    flat = x.data.ravel()
                    chosen = pick_rng.choice(flat.size, size=k, replace=False) \
                        if k < flat.size else np.arange(flat.size)
                    layer_samples.append(flat[chosen].astype(np.float32))
            key = (init, act)
            means[key] = np.array(layer_mean)
            stds[key] = np.array(layer_std)
            sats[key] = np.array(layer_sat)
            samples[key] = np.stack(layer_samples)
    config = dict(inits=list(inits), activations=list(activations), depth=depth, width=width,
                  n=n, seed=seed, max_samples=max_samples)
    return InitResult(inits, activations, depth, width, n, means, stds, sats, samples, config)


def _figure(width: float, height: float, layout: str | None = "constrained") -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def _row_range(act: str, first_layer: np.ndarray) -> tuple[float, float]:
    """The x range of one row of histograms, from its first layer (so that later layers which
    collapse or explode show it: a spike at 0, or values piled at the edge)."""
    if act == "tanh":
        return -1.0, 1.0
    if act == "sigmoid":
        return 0.0, 1.0
    values = first_layer[np.isfinite(first_layer)]
    if act == "relu":
        values = values[values > 0]
    if values.size == 0:
        return -1.0, 1.0
    low, high = np.percentile(values, [0.5, 99.5])
    if act == "relu":
        low = 0.0
    if high <= low:
        high = low + max(abs(low), 1e-12)
    return float(low), float(high)


def plot_init_histograms(result: InitResult, out: Any = None, *,
                         layers: Sequence[int] | None = None, bins: int = 40) -> Any:
    """The grid of activation histograms: one row per (init, activation), one column per layer
    (1-based `layers`, default all up to 10, spread evenly). Each row keeps the x range of its
    first layer (tanh: [-1, 1]), values outside it piled into the edge bins, so shrinking and
    exploding show; ReLU's exact zeros are left out of its histograms (their fraction is in the
    panel's title, "0: ..%"). Titles give the layer's std σ and, for tanh/sigmoid, the
    saturated fraction. Returns the Figure; out: PNG to write."""
    from steepest.lab.plots import _save

    if layers is None:
        count = min(result.depth, 10)
        layers = sorted({int(round(v)) for v in np.linspace(1, result.depth, count)})
    layers = list(layers)
    for layer in layers:
        if not 1 <= layer <= result.depth:
            raise ValueError(f"plot_init_histograms: layer {layer} is not in 1..{result.depth}")
    pairs = result.pairs
    width, height = 1.5 * len(layers) + 1.3, 1.15 * len(pairs) + 0.9
    # 80 small panels: a fixed layout is much faster than the constrained layout engine.
    figure = _figure(width, height, layout=None)
    figure.subplots_adjust(left=1.2 / width, right=1 - 0.15 / width, bottom=0.35 / height,
                           top=1 - 0.75 / height, wspace=0.12, hspace=0.75)
    axes = figure.subplots(len(pairs), len(layers), squeeze=False)
    for row, (init, act) in enumerate(pairs):
        colour = f"C{row % 10}"
        samples = result.samples[(init, act)]
        low, high = _row_range(act, samples[0])
        for column, layer in enumerate(layers):
            ax = axes[row, column]
            values = samples[layer - 1]
            values = values[np.isfinite(values)]
            if act == "relu":
                values = values[values != 0]
            counts, edges = np.histogram(np.clip(values, low, high), bins=bins, range=(low, high))
            ax.stairs(counts, edges, fill=True, color=colour)
            ax.set_xlim(low, high)
            ax.set_yticks([])
            ax.tick_params(axis="x", labelsize=5.5, pad=1, length=2)
            ax.set_xticks([low, high])
            ax.set_xticklabels([f"{low:.2g}", f"{high:.2g}"])
            std = result.std[(init, act)][layer - 1]
            sat = result.saturated[(init, act)][layer - 1]
            extra = ""
            if act in ("tanh", "sigmoid"):
                extra = f" sat {100 * sat:.0f}%"
            elif act == "relu":
                extra = f" 0: {100 * sat:.0f}%"
            ax.set_title(f"σ={std:.2g}{extra}", fontsize=6.5, pad=2)
            if row == 0:
                ax.annotate(f"layer {layer}", (0.5, 1.32), xycoords="axes fraction",
                            ha="center", fontsize=8, weight="bold")
            if column == 0:
                ax.set_ylabel(f"{init}\n{act}", fontsize=8, rotation=0, ha="right",
                              va="center")
    figure.suptitle(f"Activations per layer: {result.depth} layers of width {result.width}, "
                    f"x ~ N(0, 1)", fontsize=11)
    _save(figure, out)
    return figure


def plot_init_statistics(result: InitResult, out: Any = None) -> Any:
    """Two panels: std of the activations per layer (log scale) and, per layer, the saturated
    fraction (tanh, sigmoid) or the dead fraction (a = 0, the ReLU family: the legend says
    which), one line per (init, activation). Returns the Figure; out: PNG to write."""
    from steepest.lab.plots import _save

    figure = _figure(11.0, 4.2)
    ax_std, ax_sat = figure.subplots(1, 2)
    layers = np.arange(1, result.depth + 1)
    styles = {act: style for act, style in zip(result.activations, ["-", "--", ":", "-."] * 4,
                                                strict=False)}
    for index, init in enumerate(result.inits):
        for act in result.activations:
            label = f"{init}, {act}"
            std = result.std[(init, act)]
            ax_std.plot(layers, np.where(std > 0, std, np.nan), linestyle=styles[act],
                        marker="o", markersize=3, color=f"C{index % 10}", label=label)
            ax_sat.plot(layers, result.saturated[(init, act)], linestyle=styles[act],
                        marker="o", markersize=3, color=f"C{index % 10}",
                        label=f"{label}: {_measure_name(act)}")
    ax_std.set_yscale("log")
    ax_std.set_ylabel("std of activations")
    names = list(dict.fromkeys(_measure_name(act) for act in result.activations))
    ax_sat.set_ylabel(" or ".join(names) + " fraction")
    ax_sat.set_title("\n".join(
        ("saturated: tanh |a| > 0.99, sigmoid a < 0.01 or > 0.99" if name == "saturated"
         else "dead: ReLU family a = 0") for name in names), fontsize=9)
    ax_sat.set_ylim(-0.02, 1.02)
    for ax in (ax_std, ax_sat):
        ax.set_xlabel("layer")
        ax.set_xticks(layers)
        ax.grid(True, alpha=0.3)
    ax_std.legend(fontsize=7, loc="best")
    ax_sat.legend(fontsize=7, loc="best")
    _save(figure, out)
    return figure
