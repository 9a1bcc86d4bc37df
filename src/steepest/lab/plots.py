"""Pictures of descents and of the comparison studies (PNG and GIF via matplotlib, imported only
when a picture is drawn).

Every function returns the matplotlib Figure and, given `out`, writes it there. Figures are
made with the Agg canvas directly (no pyplot), so nothing here touches a user's GUI backend.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

from steepest.figures import current_style, integer_ticks, log_axis
from steepest.lab.descent import Path, descend
from steepest.lab.surfaces import Surface, get_surface

if TYPE_CHECKING:  # pragma: no cover
    from steepest.lab.compare import BatchSizeResult, CompareResult, RegularisationResult

__all__ = ["animate_race", "plot_batch_sizes", "plot_compare", "plot_learning_rates",
           "plot_losses", "plot_pitfalls", "plot_race", "plot_regularisation"]

# Coordinates beyond this are a divergence on its way to infinity: left out of the drawing
# (Agg's path clipping loses precision on astronomically large coordinates).
_FAR = 1e6


def _figure(width: float, height: float, dpi: int = 100) -> Any:
    """A figure in the current style (steepest.figures): 16:9 with large fonts under "slide"."""
    from steepest.figures import new_figure

    return new_figure(width, height, dpi=dpi)


def _save(figure: Any, out: str | PathLike | None) -> None:
    if out is not None:
        figure.savefig(out)


def _size(points: float) -> float:
    """A marker size given for the default style, scaled to the current one."""
    from matplotlib import rcParams

    return points * rcParams["lines.markersize"] / 6.0


#: Each path of a race gets a colour and a marker shape of its own (told apart in grey too).
MARKERS = "osD^vPXhH<>pd"  # no star: ★ marks the global minimum


# The default colour cycle without its grey (C7), which the other paths of a panel are drawn in.
_PATH_COLOURS = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C8", "C9")


def _path_style(index: int) -> dict[str, Any]:
    return {"color": _PATH_COLOURS[index % len(_PATH_COLOURS)],
            "marker": MARKERS[index % len(MARKERS)]}


def _common_surface(paths: Sequence[Path]) -> Surface:
    if not paths:
        raise ValueError("plot: needs at least one Path")
    surface = paths[0].surface
    # Two Ravine objects with one condition number are one surface: compare what defines them.
    kinds = {(path.surface.name, path.surface.expression) for path in paths}
    if len(kinds) > 1:
        raise ValueError(f"plot: all paths must be on one surface, got {sorted(kinds)}")
    return surface


def _visible(points: np.ndarray) -> np.ndarray:
    """points (n, d) with far-away or non-finite rows replaced by NaN (matplotlib skips them)."""
    points = np.array(points, dtype=np.float64)
    bad = ~np.all(np.isfinite(points) & (np.abs(points) < _FAR), axis=1)
    points[bad] = np.nan
    return points


def _draw_surface(ax: Any, surface: Surface, resolution: int = 200,
                  grid: tuple[np.ndarray, ...] | None = None) -> None:
    """Contours with log-spaced levels above the global minimum (linear ones for a surface
    unbounded below), the minima (★ global, • local) and the marked saddles (×). grid: the
    surface's `grid(resolution)`, if it was computed already."""
    from matplotlib.colors import LogNorm

    if surface.dim == 1:
        x, fx = surface.grid(resolution * 4) if grid is None else grid
        ax.plot(x, fx, color="0.3", linewidth=1.2, zorder=1)
    else:
        X, Y, Z = surface.grid(resolution) if grid is None else grid
        best = surface.global_minimum
        if best is not None:
            gap = np.maximum(Z - best.value, 0.0)
            top = float(gap.max())
            bottom = max(float(gap[gap > 0].min()), top * 1e-7)
            levels = np.geomspace(bottom, top, 30)
            ax.contourf(X, Y, np.maximum(gap, bottom), levels=levels, norm=LogNorm(),
                        cmap="viridis", alpha=0.55, zorder=0)
            ax.contour(X, Y, gap, levels=levels, norm=LogNorm(), colors="0.35",
                       linewidths=0.4, zorder=1)
        else:
            ax.contourf(X, Y, Z, levels=30, cmap="viridis", alpha=0.55, zorder=0)
            ax.contour(X, Y, Z, levels=30, colors="0.35", linewidths=0.4, zorder=1)
        ax.set_xlim(*surface.window[0])
        ax.set_ylim(*surface.window[1])
        ax.set_ylabel("y")
    for minimum in surface.minima:
        point = minimum.point if surface.dim == 2 else (minimum.point[0], minimum.value)
        if minimum.is_global:
            ax.plot(*point, marker="*", markersize=_size(16), color="gold",
                    markeredgecolor="black", linestyle="none", zorder=5)
        else:
            ax.plot(*point, marker="o", markersize=_size(3.5), color="white",
                    markeredgecolor="0.2", markeredgewidth=0.5, linestyle="none", zorder=4)
    for saddle in surface.saddles:
        ax.plot(*saddle, marker="x", markersize=_size(9), color="black", linestyle="none",
                zorder=5)
    ax.set_xlabel("x")


def _path_xy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The path as drawn: (x, y) on a 2-D surface, (x, f(x)) on a 1-D one."""
    points = _visible(path.points)
    if path.surface.dim == 1:
        losses = np.where(np.isfinite(path.losses), path.losses, np.nan)
        return points[:, 0], np.where(np.isnan(points[:, 0]), np.nan, losses)
    return points[:, 0], points[:, 1]


def _sample(points: np.ndarray, count: int) -> np.ndarray:
    """`count` points evenly spaced by distance along the path (its finite rows), so that the
    many small steps near its end do not outweigh the route that led there."""
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) < 2:
        return points
    travelled = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0),
                                                                 axis=1))])
    if travelled[-1] == 0:
        return points[:1]
    where = np.linspace(0.0, travelled[-1], count)
    return np.stack([np.interp(where, travelled, points[:, k]) for k in range(2)], axis=1)


def _distance_to_line(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of each of `points` (m, 2) to the polyline `line` (k, 2): (m,)."""
    if len(line) == 1:
        return np.linalg.norm(points - line[0], axis=1)
    a, b = line[:-1], line[1:]
    ab = b - a
    length2 = np.maximum((ab ** 2).sum(axis=1), 1e-300)
    t = np.clip(((points[:, None, :] - a[None]) * ab[None]).sum(axis=2) / length2, 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(points[:, None, :] - nearest, axis=2).min(axis=1)


def overlapping_paths(paths: Sequence[Path], share: float = 0.5) -> list[int]:
    """Indices of the paths that lie mostly on another one (at least `share` of their points
    within 1.5% of the window's diagonal of another path's line), so that an overlay would
    hide one of them. 2-D surfaces only (a 1-D race is drawn on its curve)."""
    surface = _common_surface(paths)
    if surface.dim != 2 or len(paths) < 2:
        return []
    window = np.array(surface.window, dtype=np.float64)
    near = 0.015 * float(np.linalg.norm(window[:, 1] - window[:, 0]))
    lines = [_sample(_visible(path.points), 400) for path in paths]
    hidden = []
    for i, line in enumerate(lines):
        points = _sample(line, 150)
        if not len(points):
            continue
        others = [other for j, other in enumerate(lines) if j != i and len(other)]
        closest = np.min([_distance_to_line(points, other) for other in others], axis=0)
        if np.mean(closest <= near) >= share:
            hidden.append(i)
    return hidden


def _draw_path(ax: Any, path: Path, index: int, *, label: str | None = None) -> None:
    """One path: its line with a marker every few steps, and its end point larger."""
    x, y = _path_xy(path)
    style = _path_style(index)
    every = max(1, len(x) // 12)
    ax.plot(x, y, linewidth=1.4, markersize=_size(4), markevery=every, label=label,
            zorder=3, **style)
    finite = np.nonzero(np.isfinite(x) & np.isfinite(y))[0]
    if finite.size:
        end = finite[-1]
        ax.plot(x[end], y[end], markersize=_size(10), markeredgecolor="black",
                linestyle="none", zorder=6, **style)


def _arrival(path: Path, tol: float = 1e-3) -> str:
    """A panel's subtitle: where the path ended, against the nearest minimum."""
    if path.diverged:
        return f"diverged at step {path.steps}"
    minimum, distance = path.surface.nearest_minimum(path.final_point)
    if minimum is None:
        return f"ends at f = {path.final_loss:.3g}"
    step = path.first_within(tol)
    kind = "★" if minimum.is_global else "a local minimum"
    if step is not None and distance <= tol:
        return f"at {kind} (within {tol:g}) by step {step}"
    if step is not None:
        return f"at {kind} by step {step}, ends {distance:.2g} away"
    return f"ends {distance:.2g} from {kind}"


def plot_race(paths: Sequence[Path], out: str | PathLike | None = None, *,
              title: str | None = None, resolution: int = 200, layout: str = "auto") -> Any:
    """The surface's contour map (log-spaced levels) with every path drawn on it, the start,
    and the minima marked; a 1-D surface is drawn as its curve with the steps on it.

    Each path has its own colour and marker shape, and its end point drawn large. layout:
    "overlay" (all paths on one map), "panels" (small multiples: one map per path, the
    others faint in grey), or "auto": panels when one path lies mostly on another
    (`overlapping_paths`), else the overlay.
    paths: Paths on one surface (e.g. from `race`). out: PNG file to write. Returns the Figure.
    """
    if layout not in ("auto", "overlay", "panels"):
        raise ValueError(f"plot_race: layout must be 'auto', 'overlay' or 'panels', got "
                         f"{layout!r}")
    surface = _common_surface(paths)
    steps = max(path.steps for path in paths)
    heading = title or f"{surface.name}: {surface.formula}, {steps} steps"
    if layout == "panels" or (layout == "auto" and overlapping_paths(paths)):
        return _plot_race_panels(paths, out, heading, resolution)
    figure = _figure(7.5, 6.0)
    ax = figure.add_subplot()
    _draw_surface(ax, surface, resolution)
    for index, path in enumerate(paths):
        _draw_path(ax, path, index, label=path.label)
    x, y = _path_xy(paths[0])
    ax.plot(x[0], y[0], marker="o", markersize=_size(9), color="black", linestyle="none",
            label="start", zorder=7)
    ax.set_title(heading)
    ax.legend(loc="best", fontsize="small", framealpha=0.85)
    _save(figure, out)
    return figure


def _plot_race_panels(paths: Sequence[Path], out: str | PathLike | None, heading: str,
                      resolution: int) -> Any:
    surface = _common_surface(paths)
    count = len(paths)
    columns = min(count, 4 if count != 5 and count != 6 else 3)
    rows = math.ceil(count / columns)
    figure = _figure(3.3 * columns + 0.6, 3.0 * rows + 0.8)
    axes = np.atleast_1d(figure.subplots(rows, columns, sharex=True, sharey=True,
                                         squeeze=False)).ravel()
    grid = surface.grid(resolution) if surface.dim == 2 else None
    tracks = [_path_xy(path) for path in paths]
    for index, (ax, path) in enumerate(zip(axes, paths, strict=False)):
        _draw_surface(ax, surface, resolution, grid)
        for other, (x, y) in enumerate(tracks):
            if other != index:
                ax.plot(x, y, color="0.25", linewidth=0.8, alpha=0.45, zorder=2)
        _draw_path(ax, path, index)
        x, y = tracks[index]
        ax.plot(x[0], y[0], marker="o", markersize=_size(7), color="black", linestyle="none",
                zorder=7)
        ax.set_title(f"{path.label}\n{_arrival(path)}", fontsize="small")
        if index + columns < count:  # a panel below carries the x axis
            ax.set_xlabel("")
        else:
            ax.xaxis.set_tick_params(labelbottom=True)
        if index % columns:
            ax.set_ylabel("")
    for ax in axes[count:]:
        ax.set_visible(False)
    figure.suptitle(f"{heading}\none map per optimizer (the others in grey); ● start, "
                    f"big marker: end", linespacing=1.6)
    _save(figure, out)
    return figure


def plot_losses(paths: Sequence[Path], out: str | PathLike | None = None, *,
                title: str | None = None) -> Any:
    """Loss against step for several paths: f − f* on a log axis when the surface has a
    minimum f*, else f itself on a symmetric-log axis (a saddle's loss goes to −∞).

    paths: Paths on one surface. out: PNG file to write. Returns the Figure.
    """
    surface = _common_surface(paths)
    figure = _figure(7.5, 4.5)
    ax = figure.add_subplot()
    best = surface.global_minimum
    floor = math.inf
    for index, path in enumerate(paths):
        steps = np.arange(len(path.losses))
        if best is not None:
            gap = path.losses - best.value
            positive = gap[gap > 0]
            if positive.size:
                floor = min(floor, float(positive.min()))
            # An exact zero would vanish from a log axis: draw it at the bottom instead.
            shown = np.where(gap > 0, gap, 1e-300)
        else:
            shown = path.losses
        # Colour, marker shape and dash pattern: curves that coincide stay told apart.
        line = ax.plot(steps, shown, linewidth=1.5, label=path.label,
                       linestyle=("-", "--", "-.", ":")[index % 4], markersize=_size(5),
                       markevery=max(1, len(steps) // 10), **_path_style(index))[0]
        finite = np.nonzero(np.isfinite(shown))[0]
        if path.diverged and finite.size:
            # The last finite loss before the blow-up, marked so the line's end is explained.
            ax.plot(steps[finite[-1]], shown[finite[-1]], marker="X", markersize=_size(9),
                    color=line.get_color(), markeredgecolor="black", linestyle="none")
    if best is not None:
        log_axis(ax, "y")
        if math.isfinite(floor):
            ax.set_ylim(bottom=max(floor, 1e-20) / 2)
        ax.set_ylabel(r"$f - f^*$")
    else:
        ax.set_yscale("symlog")
        # Unbounded below: a blow-up to −1e300 would squash everything else into one line.
        finite = np.concatenate([p.losses[np.isfinite(p.losses)] for p in paths])
        low, high = float(finite.min()), float(finite.max())
        ax.set_ylim(min(max(low, -1e6), -1.0) * 1.5, max(min(high, 1e6), 1.0) * 1.5)
        ax.set_ylabel("f")
    ax.set_xlabel("step")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(title or f"{surface.name}: loss against step")
    ax.legend(loc="best", fontsize="small")
    _save(figure, out)
    return figure


def _outcome(path: Path, tol: float = 1e-2) -> str:
    """A few words on how a 1-D descent ended, read from the path itself."""
    if path.diverged:
        return f"diverged at step {path.steps}"
    minimum, distance = path.surface.nearest_minimum(path.final_point)
    if minimum is not None and distance <= tol:
        where = f"x = {minimum.point[0]:.2f}".replace("-0.00", "0.00")
        if minimum.is_global:
            return f"global minimum {where} (step {path.first_within(tol)})"
        return f"stuck in a local minimum, {where}"
    best = path.surface.global_minimum
    if best is not None:
        side = np.sign(path.points[:, 0] - best.point[0])
        jumps = int(np.sum(side[1:] * side[:-1] < 0))
        if jumps >= 2:
            return f"jumps over the global minimum {jumps} times"
    if path.final_loss > path.losses[0]:
        return f"overshoots, f grows to {path.final_loss:.3g}"
    return f"still moving after {path.steps} steps, f = {path.final_loss:.3g}"


def _draw_walker(ax: Any, x: float, y: float, *, colour: str = "black", alpha: float = 1.0,
                 height: float = 26.0) -> None:
    """The lecture's tiny person, standing at (x, y) in data coordinates (`height` points tall
    in the default style, whatever the axes' scales)."""
    from matplotlib.lines import Line2D
    from matplotlib.offsetbox import AnnotationBbox, DrawingArea
    from matplotlib.patches import Circle

    h = _size(height)
    area = DrawingArea(0.5 * h, h, 0, 0)
    line = dict(color=colour, linewidth=max(1.2, h / 14), alpha=alpha,
                solid_capstyle="round")
    w = 0.5 * h
    for xs, ys in (([0.5 * w, 0.5 * w], [0.32 * h, 0.72 * h]),      # body
                   ([0.12 * w, 0.5 * w, 0.88 * w], [0.0, 0.32 * h, 0.0]),  # legs
                   ([0.1 * w, 0.5 * w, 0.9 * w], [0.45 * h, 0.62 * h, 0.45 * h])):  # arms
        area.add_artist(Line2D(xs, ys, **line))
    area.add_artist(Circle((0.5 * w, 0.84 * h), 0.12 * h, facecolor="white",
                           edgecolor=colour, linewidth=line["linewidth"], alpha=alpha))
    ax.add_artist(AnnotationBbox(area, (x, y), box_alignment=(0.5, 0.0), frameon=False,
                                 pad=0, zorder=6))


def plot_learning_rates(surface: str | Surface = "rough-bowl",
                        lrs: Sequence[float] | None = None, steps: int = 30,
                        start: Sequence[float] | None = None,
                        out: str | PathLike | None = None) -> Any:
    """Gradient descent on a 1-D surface with a learning rate too small, right, and too large:
    three panels, each with the curve, the steps drawn on it (colour = step number) and the
    lecture's tiny person where the walk began (grey) and where it ended.

    lrs: three learning rates (default: the surface's `lr_demo`, e.g. the rough bowl's
    (0.01, 0.08, 0.6)). Each panel's title says what happened, read from the path: stuck in
    a local minimum, at the global one, or jumping back and forth over it.
    Returns the Figure; out: PNG file to write.
    """
    surface = get_surface(surface)
    if surface.dim != 1:
        raise ValueError(
            f"plot_learning_rates needs a 1-D surface, {surface.name!r} has {surface.dim}"
        )
    lrs = tuple(getattr(surface, "lr_demo", (0.01, 0.1, 1.0)) if lrs is None else lrs)
    if len(lrs) != 3:
        raise ValueError(f"plot_learning_rates needs three learning rates, got {list(lrs)}")
    figure = _figure(12.0, 4.4)
    axes = figure.subplots(1, 3)
    for ax, lr, verdict in zip(axes, lrs, ("too small", "right", "too large"), strict=True):
        path = descend(surface, "sgd", start, steps, lr=lr)
        _draw_walk(ax, path)
        # Narrow panels on a slide: the outcome on lines of its own.
        outcome = textwrap.fill(_outcome(path), 24 if current_style() == "slide" else 60)
        ax.set_title(f"lr = {lr:g} ({verdict}):\n{outcome}", fontsize="medium")
    axes[0].set_ylabel("f(x)")
    figure.suptitle(f"Gradient descent on {surface.formula}, {steps} steps")
    _save(figure, out)
    return figure


def _draw_walk(ax: Any, path: Path) -> None:
    """A descent on a 1-D surface: the curve, the steps on it (colour = step number), the
    minima, and the tiny person where the walk began (grey) and where it stands now."""
    surface = path.surface
    low, high = surface.window[0]
    x = _visible(path.points)[:, 0]
    # Widen the view to show the first overshoots, but not a flight to infinity.
    seen = x[np.isfinite(x) & (np.abs(x) < 3 * max(abs(low), abs(high)))]
    reach = float(np.abs(seen).max()) if seen.size else 0.0
    left, right = min(low, -reach), max(high, reach)
    grid = np.linspace(left, right, 800)
    curve = _curve(surface, grid)
    ax.plot(grid, curve, color="0.3", linewidth=1.2)
    fx = np.where(np.isnan(x), np.nan, path.losses)
    ax.plot(x, fx, color="tab:red", linewidth=0.7, alpha=0.6)
    ax.scatter(x, fx, c=np.arange(len(x)), cmap="plasma", s=_size(4.3) ** 2, zorder=3)
    finite = np.nonzero(np.isfinite(x) & np.isfinite(fx))[0]
    _draw_walker(ax, x[0], fx[0], colour="0.45", alpha=0.8)
    if finite.size and abs(x[finite[-1]]) < 3 * max(abs(low), abs(high)):
        _draw_walker(ax, x[finite[-1]], fx[finite[-1]])
    for minimum in surface.minima:
        style = dict(marker="*", markersize=_size(14), color="gold") if minimum.is_global \
            else dict(marker="o", markersize=_size(4), color="white")
        ax.plot(minimum.point[0], minimum.value, markeredgecolor="black", linestyle="none",
                zorder=4, **style)
    ax.set_xlim(left, right)
    ax.set_ylim(-0.05 * curve.max(), 1.05 * curve.max())
    ax.set_xlabel("x")


def plot_pitfalls(out: str | PathLike | None = None) -> Any:
    """The lecture's "problems with SGD", each where plain gradient descent runs into it:
    a local minimum of the rough bowl (the tiny person stuck where the gradient is zero),
    a saddle point (x² − y², started on the ridge: the gradient nearly vanishes and the point
    stalls), and a ravine ((x² + 50y²)/2: it zig-zags across the steep direction and crawls
    along the flat one). Returns the Figure; out: PNG file to write."""
    figure = _figure(12.0, 4.6)
    axes = figure.subplots(1, 3)
    wrap = 26 if current_style() == "slide" else 40
    # A local minimum: the gradient is zero, so the steps stop.
    bowl = descend("rough-bowl", "sgd", None, 40, lr=0.01)
    _draw_walk(axes[0], bowl)
    axes[0].set_ylabel("f(x)")
    axes[0].set_title("A local minimum\n" + textwrap.fill(
        f"∇f = {bowl.grad_norms[-1]:.1g} at x = {bowl.final_point[0]:.2f}: the steps stop",
        wrap), fontsize="medium")
    def draw_2d(ax: Any, path: Path, index: int, title: str) -> None:
        _draw_surface(ax, path.surface, 120)
        _draw_path(ax, path, index)
        x, y = _path_xy(path)
        ax.plot(x[0], y[0], marker="o", markersize=_size(8), color="black", zorder=7)
        ax.set_title(title, fontsize="medium")

    # A saddle point: downhill along y, but the gradient there is almost zero.
    saddle = descend("saddle", "sgd", None, 150)
    lengths = np.linalg.norm(np.diff(saddle.points, axis=0), axis=1)
    draw_2d(axes[1], saddle, 0, "A saddle point\n" + textwrap.fill(
        f"∇f → 0: the steps shrink from {lengths[0]:.2g} to {lengths.min():.2g}, it stalls",
        wrap))
    # A ravine: steep across, flat along.
    ravine = descend("ravine", "sgd", None, 60)
    distance = ravine.surface.nearest_minimum(ravine.final_point)[1]
    draw_2d(axes[2], ravine, 1, "A ravine\n" + textwrap.fill(
        f"zig-zags across, crawls along: {distance:.2g} from ★ after {ravine.steps} steps",
        wrap))
    figure.suptitle("Where plain gradient descent gets stuck (sgd; ● start)")
    _save(figure, out)
    return figure


def _curve(surface: Surface, x: np.ndarray) -> np.ndarray:
    from steepest.autograd.grad_mode import no_grad
    from steepest.tensor import Tensor

    with no_grad():
        return surface.f(Tensor(np.asarray(x, dtype=np.float64))).data


def animate_race(paths: Sequence[Path], out: str | PathLike, *, frames: int = 30,
                 fps: int = 10, dpi: int | None = None, resolution: int = 120) -> Any:
    """An animated GIF of a race: the paths grow on the contour map, `frames` frames in all
    (steps are sampled evenly, so a long race stays a small file), 850 pixels wide (1280 in
    the slide style), the legend beside the map. dpi: to make it smaller or larger.
    Returns the Figure."""
    from matplotlib.animation import PillowWriter

    from steepest.figures import current_style

    surface = _common_surface(paths)
    if frames < 1:
        raise ValueError(f"animate_race: frames must be >= 1, got {frames}")
    figure = _figure(8.5, 6.0)
    if dpi is None:
        dpi = 100 if current_style() == "slide" else int(figure.dpi)
    ax = figure.add_subplot()
    _draw_surface(ax, surface, resolution)
    tracks = [_path_xy(path) for path in paths]
    lines, heads = [], []
    for index, path in enumerate(paths):
        style = _path_style(index)
        lines.append(ax.plot([], [], linewidth=1.6, markersize=_size(4), label=path.label,
                             **style)[0])
        heads.append(ax.plot([], [], markersize=_size(10), markeredgecolor="black",
                             linestyle="none", zorder=6, **style)[0])
    x, y = tracks[0]
    ax.plot(x[0], y[0], marker="o", markersize=_size(8), color="black", linestyle="none",
            label="start", zorder=7)
    # Beside the map, not on it: the paths may go anywhere.
    figure.legend(loc="outside right center", fontsize="medium", frameon=False)
    longest = max(len(x) for x, _ in tracks)
    shown = np.unique(np.linspace(0, longest - 1, frames).round().astype(int))
    # Lay the figure out once: re-running the layout engine on every frame costs more than
    # drawing it. One savefig per frame through the writer (FuncAnimation would draw thrice).
    ax.set_title(f"{surface.name}: step {longest - 1}")
    figure.canvas.draw()
    figure.set_layout_engine("none")
    writer = PillowWriter(fps=fps)
    with writer.saving(figure, out, dpi):
        for end in shown:
            for (x, y), line, head in zip(tracks, lines, heads, strict=True):
                last = min(int(end), len(x) - 1)
                line.set_data(x[: last + 1], y[: last + 1])
                line.set_markevery(max(1, len(x) // 12))
                head.set_data(x[last: last + 1], y[last: last + 1])
            ax.set_title(f"{surface.name}: step {end}")
            writer.grab_frame()
    return figure


# ---------------------------------------------------------------------- the comparison studies
def _colours(count: int) -> list[Any]:
    from matplotlib import colormaps

    if count > 10:  # every optimizer compared has a colour of its own
        cmap = colormaps["tab20"]
        return [cmap(i % 20) for i in range(count)]
    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(count)]


def _draw_band(ax: Any, x: np.ndarray, mean: np.ndarray, std: np.ndarray, colour: Any,
               label: str, seeds: int) -> None:
    ax.plot(x, mean, color=colour, linewidth=1.8, label=label)
    if seeds > 1:
        ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)


def plot_compare(result: CompareResult, out: Any = None, *, title: str | None = None) -> Any:
    """Four panels: validation loss and validation accuracy against epochs, the smoothed
    training loss against steps (mean ± std bands over seeds; the target loss dashed), and the
    learning-rate grid (final validation accuracy against the rate, chosen rate marked).
    Returns the matplotlib Figure; out: a PNG path to write."""
    figure = _figure(11.5, 8.0)
    axes = figure.subplots(2, 2)
    colours = dict(zip(result.optimizers, _colours(len(result.optimizers)), strict=True))
    n = len(result.seeds)
    for name in result.optimizers:
        label = f"{name} (lr {result.chosen_lr[name]:g})"
        for ax, key in ((axes[0, 0], "val_loss"), (axes[0, 1], "val_accuracy"),
                        (axes[1, 0], "smoothed_step_loss")):
            _draw_band(ax, *result.band(name, key), colours[name], label, n)
        grid = result.grid[name]
        if grid:
            lrs = [r.lr for r in grid]
            accuracy = [np.nan if r.diverged else r.final_val_accuracy for r in grid]
            axes[1, 1].plot(lrs, accuracy, marker="o", color=colours[name], label=name)
            chosen = result.chosen_lr[name]
            if chosen in lrs:
                index = lrs.index(chosen)
                axes[1, 1].plot(chosen, accuracy[index], marker="*", markersize=_size(16),
                                color=colours[name], markeredgecolor="black",
                                linestyle="none")
    if math.isfinite(result.target_loss):
        axes[1, 0].axhline(result.target_loss, color="0.3", linestyle="--", linewidth=1,
                           label=f"target {result.target_loss:.3g}")
    band = "mean ± sample std over " + (f"{n} seeds" if n > 1 else "1 seed")
    axes[0, 0].set(xlabel="epoch", ylabel="validation loss", title="Validation loss")
    axes[0, 1].set(xlabel="epoch", ylabel="validation accuracy",
                   title="Validation accuracy")
    axes[1, 0].set(xlabel="optimizer step", ylabel="training loss (smoothed)",
                   title="Training loss")
    axes[1, 1].set(xlabel="learning rate", ylabel="final validation accuracy",
                   title="Learning-rate grid (★ chosen)")
    log_axis(axes[1, 0], "y")
    if any(result.grid.values()):
        log_axis(axes[1, 1], "x")
    for ax in axes[0]:
        integer_ticks(ax.xaxis)
    # Many optimizers: one legend beside the panels instead of one in each, which would hide
    # the curves.
    shared = len(result.optimizers) > 8
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
        if not shared and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    if shared:
        handles, labels = axes[1, 0].get_legend_handles_labels()
        if current_style() != "slide":
            figure.set_size_inches(14.5, 8.0)
        figure.legend(handles, labels, loc="outside right upper", fontsize="small")
    figure.suptitle(title or f"Curves: {band}; the grid: seed {result.seeds[0]}")
    _save(figure, out)
    return figure


def plot_batch_sizes(result: BatchSizeResult, out: Any = None, *,
                     title: str | None = None) -> Any:
    """Two panels: the loss on the whole training set against epochs, and against training
    wall time (log scale: a stochastic epoch costs far more than a full-batch one); mean ± std
    over seeds (the sample std, ddof=1). Returns the matplotlib Figure; out: a PNG path to
    write."""
    figure = _figure(11.5, 4.6)
    by_epoch, by_time = figure.subplots(1, 2)
    colours = _colours(len(result.batch_sizes))
    n = len(result.seeds)
    for colour, b in zip(colours, result.batch_sizes, strict=True):
        label = f"batch {result.label(b)}, lr {result.lrs[b]:g}"
        x, mean, std = result.band(b, "full_train_loss")
        _draw_band(by_epoch, x, mean, std, colour, label, n)
        _, seconds, _ = result.band(b, "train_seconds")
        # The first point (no training yet) is at t = 0, which a log axis cannot show.
        by_time.plot(seconds[1:], mean[1:], color=colour, linewidth=1.8, marker="o",
                     markersize=3, label=label)
    by_epoch.set(xlabel="epoch", ylabel="training loss (whole training set)",
                 title="Loss per epoch: smaller batches, more steps, more progress")
    by_time.set(xlabel="training time (seconds, log scale)", ylabel="training loss",
                title="Loss per second: the cost of each epoch")
    integer_ticks(by_epoch.xaxis)
    log_axis(by_time, "x")
    for ax in (by_epoch, by_time):
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
    if title is not None:
        figure.suptitle(title)
    _save(figure, out)
    return figure


def plot_regularisation(result: RegularisationResult, out: Any = None, *,
                        title: str | None = None) -> Any:
    """Two panels: bars of final train and test accuracy per method (the gap written above
    each pair; error bars = the sample std over seeds, ddof=1), and test accuracy against
    epochs per method.
    Returns the matplotlib Figure; out: a PNG path to write."""
    from steepest.lab.compare import stats

    figure = _figure(12.0, 4.8)
    bars, curves = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    positions = np.arange(len(result.methods))
    width = 0.38
    train = [result.train_accuracy(m) for m in result.methods]
    test = [result.test_accuracy(m) for m in result.methods]
    n = len(result.seeds)
    error = (lambda values: [stats.mean_std(v)[1] for v in values]) if n > 1 else \
        (lambda values: None)
    bars.bar(positions - width / 2, [np.mean(v) for v in train], width, yerr=error(train),
             label="train", color="tab:blue")
    bars.bar(positions + width / 2, [np.mean(v) for v in test], width, yerr=error(test),
             label="test", color="tab:orange")
    for x, method in zip(positions, result.methods, strict=True):
        gap = float(np.mean(result.gap(method)))
        top = float(np.nanmax([np.mean(result.train_accuracy(method)),
                               np.mean(result.test_accuracy(method))]))
        bars.annotate(f"{gap:.2f}", (x, top), xytext=(0, 3), textcoords="offset points",
                      ha="center", fontsize="small")
    bars.set_xticks(positions, result.methods, rotation=30, ha="right",
                    rotation_mode="anchor")
    bars.set(ylabel="accuracy", ylim=(0, 1.12),
             title="Final accuracy: train vs test (above: the gap)")
    bars.legend(fontsize="small", loc="lower right")
    bars.grid(True, axis="y", alpha=0.3)
    # Ten colours, then dashes: every method's curve stays its own.
    for index, (colour, method) in enumerate(zip(_colours(len(result.methods)), result.methods,
                                                 strict=True)):
        x, mean, std = stats.band(result.runs[method], "test_accuracy", 0.05)
        _draw_band(curves, x, mean, std, colour, method, n)
        curves.lines[-1].set_linestyle(("-", "--", ":")[index // 5 % 3])
    curves.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy during training")
    integer_ticks(curves.xaxis)
    curves.grid(True, alpha=0.3)
    figure.legend(*curves.get_legend_handles_labels(), loc="outside right center",
                  fontsize="small", frameon=False)
    if title is not None:
        figure.suptitle(title)
    _save(figure, out)
    return figure
