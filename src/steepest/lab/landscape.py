"""Loss landscapes of a real network: the 1-D line between two weight vectors (Goodfellow et al.
2015) and 2-D slices around trained weights along filter-normalised random directions (Li et al.
2018, "Visualizing the loss landscape of neural nets"), with the training path projected on them.

1-D: L(θ(α)) with θ(α) = (1 − α)·θ₀ + α·θ₁, α from −0.5 to 1.5 (θ₀ initial, θ₁ trained).
2-D: L(θ* + a·δ + b·η) on a grid of (a, b) in [−span, span]². Filter normalisation: δ is drawn
N(0, 1) with the shape of each weight, and each filter (row of a Linear weight, output channel
of a convolution) is rescaled to the norm of the same filter of θ*, so that a step of 1 means
the same thing in every layer whatever its scale; biases and 1-D parameters (batch-norm weights)
get a zero direction, as in the paper. A path of states θ_k is drawn by projecting θ_k − θ*
onto span{δ, η} by least squares. Random directions in many dimensions are nearly orthogonal to
the path, so its projection is short: `directions="pca"` uses instead the two principal
directions of the path itself (the paper's section 7), where the path shows in full.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab._common import (
    ShortRepr,
    as_arrays,
    batches,
    check_state,
    evaluate,
    make_optimizer,
    snapshot,
)
from steepest.nn.module import Module

__all__ = [
    "DIRECTIONS", "InterpolationResult", "LandscapeResult", "TrainRecord",
    "filter_normalised_direction", "landscape_2d", "linear_interpolation", "plot_landscape_1d",
    "plot_landscape_2d", "train_and_record",
]

DIRECTIONS = ("filter-normalised", "layer-normalised", "pca")


def _subset(x: np.ndarray, y: np.ndarray, max_samples: int | None,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    if max_samples is None or max_samples >= len(x):
        return x, y
    if max_samples < 1:
        raise ValueError(f"max_samples must be positive, got {max_samples}")
    chosen = np.sort(np.random.default_rng([seed, 3]).permutation(len(x))[:max_samples])
    return x[chosen], y[chosen]


def _float_params(model: Module) -> dict[str, np.ndarray]:
    """The model's floating-point parameters by state-dict name (arrays shared with it)."""
    return {name: p.data for name, p in model.named_parameters()
            if np.issubdtype(p.data.dtype, np.floating)}


class _Weights:
    """Writes states into a model in place, and puts its own weights back at the end."""

    def __init__(self, model: Module) -> None:
        self.model = model
        self.live = model.state_dict()
        self.saved = snapshot(model)

    def load(self, state: Mapping[str, np.ndarray]) -> None:
        for name, value in state.items():
            self.live[name][...] = value  # NumPy casts to the model's dtype

    def restore(self) -> None:
        self.load(self.saved)


@dataclass(repr=False)
class InterpolationResult(ShortRepr):
    """alphas (A,), losses (A,) mean cross-entropy, accuracies (A,) on the data, along
    θ(α) = (1 − α)·θ₀ + α·θ₁."""

    alphas: np.ndarray
    losses: np.ndarray
    accuracies: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def min_alpha(self) -> float:
        """The α of the lowest loss."""
        return float(self.alphas[int(np.nanargmin(self.losses))])

    def table(self, alphas: Sequence[float] = (-0.5, 0.0, 0.5, 1.0, 1.5)) -> list[dict[str, Any]]:
        """Loss and accuracy at the grid points nearest `alphas`, and at the lowest loss (its
        row noted "lowest loss"), in order of alpha."""
        chosen = {int(np.argmin(np.abs(self.alphas - alpha))) for alpha in alphas}
        lowest = int(np.nanargmin(self.losses))
        rows = []
        for index in sorted(chosen | {lowest}, key=lambda i: self.alphas[i]):
            rows.append({"alpha": float(self.alphas[index]), "loss": float(self.losses[index]),
                         "accuracy": float(self.accuracies[index]),
                         "note": "lowest loss" if index == lowest else ""})
        return rows


def linear_interpolation(model: Module, theta0_state: Mapping[str, Any],
                         theta1_state: Mapping[str, Any], data: Any = None,
                         alphas: Sequence[float] | np.ndarray | None = None, *,
                         max_samples: int | None = None, seed: int = 0,
                         batch_size: int = 2000) -> InterpolationResult:
    """Loss and accuracy of `model` with weights (1 − α)·θ₀ + α·θ₁, for each α in `alphas`
    (default 41 values from −0.5 to 1.5), evaluated in eval mode on the data (the training part
    of a Split, or (x, y); at most `max_samples` of it, a seeded subset).

    Floating-point buffers (batch-norm statistics) are interpolated too; integer ones are taken
    from θ₁. The model's own weights are put back afterwards.
    """
    alphas = np.linspace(-0.5, 1.5, 41) if alphas is None else np.asarray(alphas, dtype=float)
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError("linear_interpolation: alphas must be a non-empty 1-D sequence")
    theta0 = check_state(model, theta0_state, "linear_interpolation: theta0_state")
    theta1 = check_state(model, theta1_state, "linear_interpolation: theta1_state")
    x, y = _subset(*as_arrays(data, "linear_interpolation"), max_samples, seed)
    weights = _Weights(model)
    losses, accuracies = [], []
    try:
        for alpha in alphas:
            state = {}
            for name, start in theta0.items():
                end = theta1[name]
                if np.issubdtype(end.dtype, np.floating):
                    state[name] = (1 - alpha) * start.astype(np.float64) + alpha * end
                else:
                    state[name] = end
            weights.load(state)
            with np.errstate(all="ignore"):
                loss, accuracy = evaluate(model, x, y, batch_size)
            losses.append(loss)
            accuracies.append(accuracy)
    finally:
        weights.restore()
    config = dict(alphas=[float(alphas[0]), float(alphas[-1]), int(alphas.size)],
                  samples=int(len(x)), seed=seed)
    return InterpolationResult(alphas, np.array(losses), np.array(accuracies), config)


def filter_normalised_direction(weights: Mapping[str, np.ndarray], rng: np.random.Generator,
                                normalise: str = "filter") -> dict[str, np.ndarray]:
    """A random direction with the shapes of `weights` (name -> array): N(0, 1), each filter
    (index along axis 0) scaled to the norm of the same filter of the weights ("filter"), or
    each whole array scaled to the array's norm ("layer"); zero for 1-D arrays (biases,
    batch-norm parameters). float64 arrays."""
    if normalise not in ("filter", "layer"):
        raise ValueError(f"normalise must be 'filter' or 'layer', got {normalise!r}")
    direction = {}
    for name, weight in weights.items():
        weight = np.asarray(weight, dtype=np.float64)
        if weight.ndim < 2:
            direction[name] = np.zeros_like(weight)
            continue
        random = rng.standard_normal(weight.shape)
        if normalise == "filter":
            axes = tuple(range(1, weight.ndim))
            scale = np.sqrt((weight**2).sum(axis=axes, keepdims=True))
            norm = np.sqrt((random**2).sum(axis=axes, keepdims=True))
        else:
            scale, norm = np.linalg.norm(weight), np.linalg.norm(random)
        direction[name] = random * (scale / np.maximum(norm, 1e-12))
    return direction


@dataclass(repr=False)
class LandscapeResult(ShortRepr):
    """losses[i, j], accuracies[i, j]: at θ* + alphas[j]·δ + betas[i]·η (rows: betas, so that
    contour(alphas, betas, losses) draws it). center_loss, center_accuracy: at θ* itself (on
    the grid only for an odd resolution). path: (k, 2) the
    projected coordinates of the path states (None without a path), path_losses: (k,) their
    true losses, path_residual: (k,) the relative length of each state's part outside the
    plane (1 = all of it). explained: for "pca", the fraction of the path's variance along
    each of the two directions."""

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray
    accuracies: np.ndarray
    directions: str
    center_loss: float
    path: np.ndarray | None = None
    path_losses: np.ndarray | None = None
    path_residual: np.ndarray | None = None
    path_steps: np.ndarray | None = None
    explained: tuple[float, float] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    center_accuracy: float = math.nan

    @property
    def argmin(self) -> tuple[float, float]:
        """(alpha, beta) of the lowest loss on the grid."""
        i, j = np.unravel_index(int(np.nanargmin(self.losses)), self.losses.shape)
        return float(self.alphas[j]), float(self.betas[i])

    @property
    def centre_is_lowest(self) -> bool:
        """Whether the trained weights (the centre) are the lowest point of the slice: no grid
        point has a lower loss."""
        return not float(np.nanmin(self.losses)) < self.center_loss

    @property
    def path_visible(self) -> bool:
        """Whether the projected path spans at least 2% of the slice (random directions in
        many dimensions are nearly orthogonal to it, and it projects to a dot)."""
        if self.path is None or len(self.path) < 2:
            return False
        extent = np.array([self.alphas[-1] - self.alphas[0], self.betas[-1] - self.betas[0]])
        return bool(np.any(np.ptp(self.path, axis=0) >= 0.02 * np.abs(extent)))

    def table(self) -> list[dict[str, Any]]:
        a, b = self.argmin
        corners = self.losses[[0, 0, -1, -1], [0, -1, 0, -1]]
        accuracy = self.center_accuracy
        if math.isnan(accuracy) and len(self.alphas) % 2 and len(self.betas) % 2:
            accuracy = float(self.accuracies[len(self.betas) // 2, len(self.alphas) // 2])
        rows = [
            {"quantity": "loss at the centre (trained weights)", "value": self.center_loss},
            {"quantity": "lowest loss on the grid", "value": float(np.nanmin(self.losses))},
            {"quantity": "where (alpha, beta)", "value": f"({a:.3g}, {b:.3g})"},
            {"quantity": "the trained weights are the slice's lowest point",
             "value": "yes" if self.centre_is_lowest else "no"},
            {"quantity": "mean loss at the corners", "value": float(np.mean(corners))},
            {"quantity": "accuracy at the centre", "value": accuracy},
        ]
        if self.path is not None:
            rows.append({"quantity": "path: states projected", "value": len(self.path)})
            rows.append({"quantity": "path: mean part outside the plane",
                         "value": float(np.mean(self.path_residual[:-1]))
                         if len(self.path) > 1 else 0.0})
        if self.explained is not None:
            rows.append({"quantity": "path variance explained by the 2 directions",
                         "value": float(sum(self.explained))})
        return rows


def landscape_2d(model: Module, center_state: Mapping[str, Any], data: Any = None, *,
                 directions: str | Sequence[Mapping[str, Any]] = "filter-normalised",
                 span: float | None = None, resolution: int = 21,
                 path: Sequence[Mapping[str, Any]] | None = None,
                 path_steps: Sequence[int] | None = None, seed: int = 0,
                 max_samples: int | None = None, batch_size: int = 2000) -> LandscapeResult:
    """The loss on a 2-D slice of weight space through `center_state` (see the module doc).

    directions: "filter-normalised" (default), "layer-normalised" (whole arrays scaled to
    their norm), "pca" (the path's two principal directions; needs `path`), or two direction
    dicts (name -> array, the model's parameter shapes) of your own.
    span: the grid covers [−span, span] along each direction (default 1.0; for "pca", 1.25×
    the path's extent along each). resolution: grid points per side (odd puts θ* on the grid).
    path: states (state dicts) along training, projected onto the plane by least squares.
    seed: the random directions and the data subset (`max_samples`). Weights are restored.
    """
    if resolution < 2:
        raise ValueError(f"landscape_2d: resolution must be at least 2, got {resolution}")
    if span is not None and not span > 0:
        raise ValueError(f"landscape_2d: span must be positive, got {span}")
    center = check_state(model, center_state, "landscape_2d: center_state")
    _check_finite(center, "center_state")
    params = _float_params(model)
    center_params = {name: center[name].astype(np.float64) for name in params}
    states = [] if path is None else [
        check_state(model, state, f"landscape_2d: path state {k}") for k, state in enumerate(path)
    ]
    for k, state in enumerate(states):
        _check_finite(state, f"path state {k}")
    explained = None
    if isinstance(directions, str):
        if directions not in DIRECTIONS:
            raise ValueError(
                f"landscape_2d: unknown directions {directions!r}; choose from "
                f"{', '.join(DIRECTIONS)} or pass two direction dicts"
            )
        name = directions
        if directions == "pca":
            if len(states) < 3:
                raise ValueError("landscape_2d: directions='pca' needs a path of at least 3 states")
            delta, explained = _pca_directions(states, center_params)
        else:
            rng = np.random.default_rng([seed, 4])
            normalise = "filter" if directions == "filter-normalised" else "layer"
            delta = [filter_normalised_direction(center_params, rng, normalise) for _ in range(2)]
    else:
        if len(directions) != 2:
            raise ValueError("landscape_2d: give two direction dicts (or a directions name)")
        name = "custom"
        delta = []
        for index, direction in enumerate(directions):
            arrays = {}
            for key, value in center_params.items():
                if key not in direction:
                    raise ValueError(f"landscape_2d: direction {index} has no entry {key!r}")
                array = np.asarray(direction[key], dtype=np.float64)
                if array.shape != value.shape:
                    raise ValueError(
                        f"landscape_2d: direction {index} {key!r} has shape {array.shape}, "
                        f"the parameter's is {value.shape}"
                    )
                arrays[key] = array
            delta.append(arrays)
    basis = np.stack([np.concatenate([d[k].ravel() for k in center_params]) for d in delta],
                     axis=1)  # (P, 2)
    if not np.all(np.linalg.norm(basis, axis=0) > 0):
        raise ValueError("landscape_2d: a direction is zero (does the model have any weights "
                         "with 2 or more dimensions?)")
    coords = residual = None
    if states:
        flat_center = np.concatenate([center_params[k].ravel() for k in center_params])
        offsets = np.stack([
            np.concatenate([s[k].astype(np.float64).ravel() for k in center_params]) - flat_center
            for s in states
        ])  # (k, P)
        coords = np.linalg.lstsq(basis, offsets.T, rcond=None)[0].T  # (k, 2)
        lengths = np.linalg.norm(offsets, axis=1)
        outside = np.linalg.norm(offsets - coords @ basis.T, axis=1)
        residual = np.where(lengths > 0, outside / np.maximum(lengths, 1e-300), 0.0)
    if span is None and name == "pca" and coords is not None:
        extent = np.maximum(np.abs(coords).max(axis=0), 1e-12) * 1.25
    else:
        extent = np.full(2, 1.0 if span is None else float(span))
    alphas = np.linspace(-extent[0], extent[0], resolution)
    betas = np.linspace(-extent[1], extent[1], resolution)
    x, y = _subset(*as_arrays(data, "landscape_2d"), max_samples, seed)
    weights = _Weights(model)
    losses = np.empty((resolution, resolution))
    accuracies = np.empty((resolution, resolution))
    try:
        weights.load(center)
        live = weights.live
        for i, beta in enumerate(betas):
            for j, alpha in enumerate(alphas):
                for key, value in center_params.items():
                    point = value + alpha * delta[0][key] + beta * delta[1][key]
                    live[key][...] = point
                with np.errstate(all="ignore"):
                    losses[i, j], accuracies[i, j] = evaluate(model, x, y, batch_size)
        weights.load(center)
        with np.errstate(all="ignore"):
            center_loss, center_accuracy = evaluate(model, x, y, batch_size)
        path_losses = None
        if states:
            path_losses = []
            for state in states:
                weights.load(state)
                with np.errstate(all="ignore"):
                    path_losses.append(evaluate(model, x, y, batch_size)[0])
            path_losses = np.array(path_losses)
    finally:
        weights.restore()
    config = dict(directions=name, span=[float(extent[0]), float(extent[1])],
                  resolution=resolution, seed=seed, samples=int(len(x)),
                  path_states=len(states))
    steps = None if path_steps is None else np.asarray(path_steps)
    return LandscapeResult(alphas, betas, losses, accuracies, name, float(center_loss), coords,
                           path_losses, residual, steps, explained, config,
                           center_accuracy=float(center_accuracy))


def _check_finite(state: Mapping[str, np.ndarray], what: str) -> None:
    """ValueError naming the first floating-point array of `state` with a NaN or infinity."""
    for key, value in state.items():
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            raise ValueError(f"landscape_2d: {what} has non-finite values in {key!r} (did the "
                             f"training diverge? lower its learning rate)")


def _pca_directions(states: list[dict[str, np.ndarray]], center: dict[str, np.ndarray]
                    ) -> tuple[list[dict[str, np.ndarray]], tuple[float, float]]:
    """The two principal directions of θ_k − θ* over the path (unit vectors), as dicts."""
    names = list(center)
    flat_center = np.concatenate([center[k].ravel() for k in names])
    offsets = np.stack([
        np.concatenate([s[k].astype(np.float64).ravel() for k in names]) - flat_center
        for s in states
    ])
    _, singular, vt = np.linalg.svd(offsets, full_matrices=False)
    total = float((singular**2).sum())
    if total == 0 or len(singular) < 2:
        raise ValueError("landscape_2d: the path does not move, so it has no principal directions")
    explained = (float(singular[0] ** 2 / total), float(singular[1] ** 2 / total))
    directions = []
    for row in vt[:2]:
        direction, offset = {}, 0
        for key in names:
            size = center[key].size
            direction[key] = row[offset:offset + size].reshape(center[key].shape)
            offset += size
        directions.append(direction)
    return directions, explained


@dataclass(repr=False)
class TrainRecord(ShortRepr):
    """Snapshots of the weights along a training run: states[i] (a state dict copy) after
    steps[i] optimizer steps (0 = initial, the last = final); losses: (steps + 1,) mini-batch
    loss at every step (before its update; the last one after the final update)."""

    states: list[dict[str, np.ndarray]]
    steps: list[int]
    losses: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def initial(self) -> dict[str, np.ndarray]:
        return self.states[0]

    @property
    def final(self) -> dict[str, np.ndarray]:
        return self.states[-1]


def train_and_record(model: Module, data: Any = None, steps: int = 500, *, lr: float = 1e-3,
                     batch_size: int = 64, record_every: int | None = None,
                     optimizer: str = "adam", seed: int = 0) -> TrainRecord:
    """Train `model` in place (cross-entropy, `optimizer` at rate `lr`, seeded mini-batches of
    the training data) for `steps` steps, copying its state dict every `record_every` steps
    (default steps // 20) and at the start and the end: the path for `landscape_2d`.

    Raises steepest.train.TrainingDiverged (with .step and .loss) at the first non-finite
    mini-batch loss (step k: the loss before the k-th update; steps + 1: after the last one).
    """
    from steepest.autograd.grad_mode import no_grad
    from steepest.tensor import Tensor
    from steepest.train.loop import NonFiniteLoss, TrainingLoop
    from steepest.train.trainer import TrainingDiverged

    def diverged(step: int, loss: float) -> TrainingDiverged:
        error = TrainingDiverged(f"train_and_record: training diverged at step {step} (loss "
                                 f"{loss:g}) with {optimizer} at lr {lr:g}: lower lr")
        error.step, error.loss = step, loss
        return error

    if steps < 1:
        raise ValueError(f"train_and_record: steps must be positive, got {steps}")
    if record_every is None:
        record_every = max(1, steps // 20)
    if record_every < 1:
        raise ValueError(f"train_and_record: record_every must be >= 1, got {record_every}")
    x, y = as_arrays(data, "train_and_record")
    loop = TrainingLoop(model, make_optimizer(optimizer, model.parameters(), lr,
                                              "train_and_record"))
    stream = batches(len(x), batch_size, np.random.default_rng([seed, 2]))
    model.train()
    states, recorded, losses = [snapshot(model)], [0], []
    for step in range(1, steps + 1):
        batch = next(stream)
        loop.zero_grad()
        with np.errstate(all="ignore"):  # a diverging loss is reported below, once
            try:
                value = loop.forward_backward(x[batch], y[batch]).loss
            except NonFiniteLoss as error:
                raise diverged(step, error.loss) from None
            loop.reduce_gradients()
            loop.apply_update()
        losses.append(value)
        if step % record_every == 0 or step == steps:
            states.append(snapshot(model))
            recorded.append(step)
    batch = next(stream)
    with no_grad(), np.errstate(all="ignore"):
        losses.append(loop.task.loss(model(Tensor(x[batch])), y[batch]).item())
    if not math.isfinite(losses[-1]):
        raise diverged(steps + 1, losses[-1])
    config = dict(steps=steps, lr=lr, batch_size=batch_size, record_every=record_every,
                  optimizer=optimizer, seed=seed)
    return TrainRecord(states, recorded, np.array(losses), config)


def plot_landscape_1d(result: InterpolationResult, out: Any = None, *,
                      title: str | None = None) -> Any:
    """Loss (left axis; log scale if it spans more than 30×) and accuracy (right axis) against
    α, with θ₀ (α = 0) and θ₁ (α = 1) marked. Returns the Figure; out: PNG to write."""
    from steepest.lab.plots import _figure, _save

    figure = _figure(7.5, 4.4)
    ax = figure.add_subplot()
    ax.plot(result.alphas, result.losses, color="tab:blue", linewidth=1.8, label="loss")
    finite = result.losses[np.isfinite(result.losses) & (result.losses > 0)]
    if finite.size and finite.max() > 30 * finite.min():
        ax.set_yscale("log")  # a blow-up at the ends would flatten the rest
    ax.set_xlabel(r"$\alpha$ in $(1-\alpha)\,\theta_0 + \alpha\,\theta_1$")
    ax.set_ylabel("loss (cross-entropy)", color="tab:blue")
    for alpha, label in ((0.0, r"$\theta_0$ (initial)"), (1.0, r"$\theta_1$ (trained)")):
        index = int(np.argmin(np.abs(result.alphas - alpha)))
        ax.axvline(result.alphas[index], color="0.5", linestyle=":", linewidth=1)
        ax.annotate(label, (result.alphas[index], 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -14), textcoords="offset points", fontsize="small")
    twin = ax.twinx()
    twin.plot(result.alphas, result.accuracies, color="tab:orange", linewidth=1.4,
              linestyle="--", label="accuracy")
    twin.set_ylabel("accuracy", color="tab:orange")
    twin.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.set_title(title or "Loss along the line from initial to trained weights")
    _save(figure, out)
    return figure


def plot_landscape_2d(result: LandscapeResult, out: Any = None, *, title: str | None = None,
                      levels: int = 25) -> Any:
    """Filled contours of the loss on the slice (log-spaced levels), the trained weights (★ at
    the centre), the slice's lowest point where it is elsewhere (▼), and the projected training
    path (start ●) where it shows (`path_visible`). The legend lists what is drawn.
    Returns the Figure."""
    from matplotlib.colors import LogNorm

    from steepest.lab.plots import _figure, _save, _size

    figure = _figure(6.8, 5.6)
    ax = figure.add_subplot()
    losses = np.where(np.isfinite(result.losses), result.losses, np.nan)
    low = max(float(np.nanmin(losses)), 1e-8)
    high = float(np.nanmax(losses))
    high = max(high, low * 1.01)
    grid = np.geomspace(low, high, levels)
    shown = np.clip(np.nan_to_num(losses, nan=high), low, high)
    filled = ax.contourf(result.alphas, result.betas, shown, levels=grid, norm=LogNorm(),
                         cmap="viridis")
    ax.contour(result.alphas, result.betas, shown, levels=grid, norm=LogNorm(), colors="0.2",
               linewidths=0.4)
    figure.colorbar(filled, ax=ax, label="loss", format="%.3g")
    notes = []
    if result.path_visible:
        ax.plot(result.path[:, 0], result.path[:, 1], color="white", linewidth=1.8,
                marker="o", markersize=_size(3), markeredgecolor="black", markeredgewidth=0.4,
                label="training path (projected)")
        ax.plot(*result.path[0], marker="o", markersize=_size(10), color="tab:red",
                markeredgecolor="black", linestyle="none", label="start")
    elif result.path is not None:
        notes.append("the path projects to a dot here")
    ax.plot(0, 0, marker="*", markersize=_size(17), color="gold", markeredgecolor="black",
            linestyle="none", label=f"trained weights ({result.center_loss:.3g})")
    if not result.centre_is_lowest:
        ax.plot(*result.argmin, marker="v", markersize=_size(12), color="white",
                markeredgecolor="black", linestyle="none",
                label=f"lowest on the slice ({float(np.nanmin(result.losses)):.3g})")
    if result.directions == "pca" and result.explained is not None:
        ax.set_xlabel(f"1st principal direction ({100 * result.explained[0]:.1f}% of the path)")
        ax.set_ylabel(f"2nd principal direction ({100 * result.explained[1]:.1f}%)")
    else:
        ax.set_xlabel(r"$\alpha$ (direction $\delta$)")
        ax.set_ylabel(r"$\beta$ (direction $\eta$)")
    heading = title or f"Loss landscape: {result.directions} directions"
    ax.set_title(heading + (f"\n({'; '.join(notes)})" if notes else ""))
    ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    _save(figure, out)
    return figure
