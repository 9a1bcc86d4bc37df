"""How steepest draws: every figure of the lab, the run store and `History.plot` is made here,
on the Agg canvas (no pyplot, so nothing touches a user's GUI backend), in the current style.

Styles:
    "default"  sizes chosen for a page or a notebook (the guide's figures);
    "slide"    16:9 (12.8 x 7.2 inches, 1920 x 1080 pixels at 150 dpi) with large fonts and thick
               lines, to project to a class.

    with figure_style("slide"):
        plot_race(paths, "race.png")          # or: steepest race ... --style slide

matplotlib is imported only when a figure is made. matplotlib reads font sizes when a figure's
parts are made, so a figure keeps its style when it is saved later. Sizes inside figures are
given relative to the style's base size ("small", "large"), so that each style scales them.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from typing import Any

__all__ = ["STYLES", "current_style", "figure_style", "integer_ticks", "log_axis", "new_figure",
           "plot_curves", "slide_size"]

STYLES = ("default", "slide")

#: matplotlib settings of each style, on top of matplotlib's defaults.
_RC: dict[str, dict[str, Any]] = {
    "default": {},
    "slide": {
        "font.size": 20, "axes.titlesize": 22, "axes.labelsize": 20, "figure.titlesize": 24,
        "xtick.labelsize": 17, "ytick.labelsize": 17, "legend.fontsize": 16,
        "lines.linewidth": 2.6, "lines.markersize": 8, "axes.linewidth": 1.2,
        "xtick.major.size": 6, "ytick.major.size": 6, "xtick.major.width": 1.2,
        "ytick.major.width": 1.2, "legend.framealpha": 0.9, "axes.titlepad": 10,
    },
}
_SLIDE = (12.8, 7.2, 150)
_style: contextvars.ContextVar[str] = contextvars.ContextVar("steepest_figure_style",
                                                             default="default")


def check_style(name: str) -> str:
    """`name` if it is a style, else a ValueError listing them."""
    if name not in STYLES:
        from steepest._suggest import did_you_mean

        raise ValueError(f"unknown figure style {name!r}{did_you_mean(str(name), STYLES)}; "
                         f"choose from {', '.join(STYLES)}")
    return name


def current_style() -> str:
    """The style figures are made in now ("default" unless inside `figure_style`)."""
    return _style.get()


def slide_size() -> tuple[float, float]:
    """The slide style's figure size in inches (16:9)."""
    return _SLIDE[0], _SLIDE[1]


@contextlib.contextmanager
def figure_style(name: str) -> Iterator[None]:
    """Make the figures drawn inside the block in style `name` (see the module docstring)."""
    import matplotlib

    token = _style.set(check_style(name))
    try:
        with matplotlib.rc_context(_RC[name]):
            yield
    finally:
        _style.reset(token)


def new_figure(width: float, height: float, *, dpi: int = 100,
               layout: str | None = "constrained") -> Any:
    """A matplotlib Figure on the Agg canvas: `width` x `height` inches in the default style,
    16:9 in the slide style (whatever was asked). layout: "constrained" or None (fixed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    style = current_style()
    if style == "slide":
        width, height, dpi = _SLIDE
    figure = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    if style == "slide" and layout == "constrained":
        # room between panels for the large tick labels (side by side they would touch)
        figure.get_layout_engine().set(wspace=0.08, hspace=0.06)
    FigureCanvasAgg(figure)
    return figure


def _log_label(value: float, _position: Any = None, mantissas: tuple[int, ...] = (1, 2, 5)
               ) -> str:
    """A log-axis tick as a reader says it: 0.001, 0.2, 1, 50, 1000; 10⁻⁵ and 10⁶ beyond.
    Ticks whose leading digit is not in `mantissas` (the minor ones) are left unlabelled."""
    if value <= 0:
        return ""
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = value / 10.0 ** exponent
    if min(abs(mantissa - m) for m in mantissas) > 1e-6:
        return ""
    if -3 <= exponent <= 4:
        return f"{value:g}" if exponent < 4 else f"{value:,.0f}"
    if abs(mantissa - 1) > 1e-6:
        return ""
    sign = "\u207b" if exponent < 0 else ""
    digits = str(abs(exponent)).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"10{sign}{digits}"


def log_axis(ax: Any, which: str = "y") -> None:
    """Put `ax`'s x or y axis on a log scale with labels people read aloud (0.01, 1, 100;
    10⁻⁶ beyond 10⁻³ and 10⁴): one per power of ten; 1, 2 and 5 of each decade when the axis
    spans less than two and a half; every whole leading digit when it spans less than one; and
    below a factor of 3 it stays linear (a log scale would show one tick and add nothing).
    Call it after drawing, so the axis knows its range."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    low, high = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    decades = math.log10(high / low) if low > 0 else math.inf
    if decades < math.log10(3):
        return
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    low, high = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    decades = math.log10(high / low) if low > 0 else math.inf
    mantissas = tuple(range(1, 10)) if decades < 1 else (1, 2, 5) if decades < 2.5 else (1,)
    axis.set_major_locator(LogLocator(base=10, subs=[float(m) for m in mantissas],
                                      numticks=12))
    axis.set_major_formatter(FuncFormatter(
        lambda value, position: _log_label(value, position, mantissas)))
    axis.set_minor_formatter(NullFormatter())


def integer_ticks(axis: Any) -> None:
    """Only whole numbers on `axis` (epochs, layers, steps)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


# Learning curves: the loss, the task's headline metric (the first of these any run logged:
# accuracy for classification, r2 for regression) and the learning rate when logged; in each
# panel training solid, validation dashed, test dotted.
HEADLINE_METRICS = ("accuracy", "r2", "rmse", "mae")
SPLITS = {"-": "training", "--": "validation", ":": "test"}


def curve_panel(metric: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A panel's title and its metric names with line styles (train, validation, test)."""
    return metric, ((metric, "-"), (f"val_{metric}", "--"), (f"test_{metric}", ":"))


def plot_curves(runs: Any, out: Any = None, *, figure: Any = None) -> Any:
    """Loss, accuracy (or the first of HEADLINE_METRICS logged) and (when logged) learning rate
    against epoch for one or more runs.

    runs: [(label, {metric name: (epochs (n,), values (n,))}), ...]; one colour per run,
    training solid, validation dashed, test dotted, whole-number epoch ticks. The legend sits
    below the panels (it covers no curve): each run once, then the line styles. figure: an
    existing Figure to draw into again (a live plot), cleared first. Returns the Figure.
    """
    from matplotlib.lines import Line2D

    logged = set().union(*(metrics for _, metrics in runs))
    headline = next((m for m in HEADLINE_METRICS
                     if logged & {name for name, _ in curve_panel(m)[1]}), "accuracy")
    panels = [curve_panel("loss"), curve_panel(headline)]
    if "lr" in logged:
        panels.append(("learning rate", (("lr", "-"),)))
    if figure is None:
        figure = new_figure(3.8 * len(panels) + 0.4, 4.6)
    else:
        figure.clear()
    axes = figure.subplots(1, len(panels))
    colors = [f"C{i % 10}" for i in range(len(runs))]
    styles: set[str] = set()
    for ax, (title, lines) in zip(axes, panels, strict=True):
        drawn = False
        for (_, metrics), color in zip(runs, colors, strict=True):
            for name, style in lines:
                if name not in metrics:
                    continue
                epochs, values = metrics[name]
                ax.plot(epochs, values, style, color=color, linewidth=1.8,
                        marker="." if len(epochs) < 30 else None)
                styles.add(style)
                drawn = True
        ax.set_title(title)
        ax.set_xlabel("epoch")
        integer_ticks(ax.xaxis)
        ax.set_ylabel(title)
        ax.grid(True, alpha=0.3)
        if not drawn:
            ax.text(0.5, 0.5, f"no {title} logged", ha="center", va="center",
                    transform=ax.transAxes, color="0.5")
    handles = [Line2D([], [], color=color, linewidth=2.5, label=label)
               for (label, _), color in zip(runs, colors, strict=True)]
    if len(styles) > 1:
        handles += [Line2D([], [], color="0.2", linestyle=style, linewidth=1.8,
                           label=SPLITS[style]) for style in SPLITS if style in styles]
    # Below the panels, covering no curve, across the figure's width.
    figure.legend(handles=handles, loc="outside lower center", fontsize="small",
                  frameon=False, ncol=min(len(handles), 4 if len(handles) > 6 else 6))
    if out is not None:
        figure.savefig(out)
    return figure
