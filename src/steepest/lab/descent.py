"""Descent on a surface with steepest.optim's own optimizers: paths, races and their table."""

from __future__ import annotations

import inspect
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest._suggest import did_you_mean
from steepest.lab._common import ShortRepr
from steepest.lab.surfaces import Surface, get_surface
from steepest.nn.parameter import Parameter

__all__ = ["OPTIMIZERS", "NamedOptimizer", "Path", "descend", "format_option",
           "optimizer_options", "parse_option", "race", "race_table"]


@dataclass(frozen=True)
class NamedOptimizer:
    """A named optimizer of the lab: the steepest.optim class it uses (by name), the options it
    fixes (e.g. momentum=0.9), its learning-rate family (which default lr a surface suggests,
    see `Surface`), whether its step needs a closure, and whether the point must be a matrix
    (a 1×d row for rules that take 2-D parameters only, as Muon)."""

    name: str
    class_name: str
    family: str
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    needs_closure: bool = False
    matrix: bool = False

    def resolve(self) -> type:
        """The optimizer class itself, from steepest.optim (imported only when first needed)."""
        from steepest import optim

        return getattr(optim, self.class_name)


def _named_optimizers() -> dict[str, NamedOptimizer]:
    """Every optimizer spec's names (`steepest.optim.spec`), and the random search."""
    from steepest.optim.spec import presets

    table = {
        name: NamedOptimizer(name, spec.name, preset.family or spec.family, dict(preset.options),
                             preset.description or spec.summary, spec.needs_closure,
                             spec.param_ndim == 2)
        for name, (spec, preset) in presets().items()
    }
    table["random-search"] = NamedOptimizer(
        "random-search", "RandomSearch", "search", {},
        "probe a random direction, move if the loss drops (no gradient)", needs_closure=True)
    return table


OPTIMIZERS: dict[str, NamedOptimizer] = _named_optimizers()


def _family_of(cls: type, hyperparameters: Mapping[str, Any]) -> str:
    """The learning-rate family of a class passed directly (its spec's, or "search")."""
    spec = getattr(cls, "spec", None)
    if spec is None:  # a class of its own: a search if it steps by loss values (a closure)
        return "search" if getattr(cls, "needs_closure", False) else "adaptive"
    if spec.family == "gd" and hyperparameters.get("momentum", 0):
        return "momentum"
    return spec.family


@dataclass(repr=False)
class Path(ShortRepr):
    """What one optimizer did on one surface, step by step (n steps taken, n <= steps asked).

    points: (n+1, d) the parameter after each step (row 0 is the start); losses: (n+1,) f there;
    grads: (n+1, d) ∇f there; grad_norms: (n+1,) ‖∇f‖; lrs: (n,) the learning rate of each step;
    evaluations: (n+1,) function evaluations the optimizer had used to get to each point (one per
    step for gradient methods, every probe for a search); diverged: the loss (or the point)
    stopped being finite at row n, and the descent stopped there.
    states: the optimizer's own state after each step, by the field names of its rule's state
    (`momentum_buffer` for SGD's velocity, `exp_avg` and `exp_avg_sq` for Adam's moments, `sum`
    for Adagrad's Σg², ...): field -> (n+1, d), row 0 the state before the first step; NaN where
    the rule holds none yet (SGD creates its velocity at the first step). Scalars (the step
    count) and state that is not shaped like the point are left out.
    """

    surface: Surface
    name: str
    hyperparameters: dict[str, Any]
    points: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    grad_norms: np.ndarray
    lrs: np.ndarray
    evaluations: np.ndarray
    diverged: bool = False
    states: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Steps taken (fewer than asked when the descent diverged)."""
        return len(self.points) - 1

    @property
    def lr(self) -> float:
        """The starting learning rate."""
        return float(self.hyperparameters["lr"])

    @property
    def label(self) -> str:
        return f"{self.name} (lr {self.lr:g})"

    @property
    def final_point(self) -> np.ndarray:
        return self.points[-1]

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    def step_sizes(self) -> np.ndarray:
        """The effective step size of every coordinate at every step: −Δw / g, (n, d).

        How far each coordinate moved per unit of its gradient: the learning rate for plain
        gradient descent, lr / (√Σg² + ε) for Adagrad, and for momentum and Adam whatever the
        rule made of it (larger than lr where the velocity has built up). NaN where the gradient
        coordinate is 0.
        """
        moved = np.diff(self.points, axis=0)
        grads = self.grads[:len(moved)]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(grads != 0, -moved / np.where(grads != 0, grads, 1.0), np.nan)

    def distances(self) -> np.ndarray:
        """Distance of every point to the nearest listed minimum: (n+1,); NaN without minima."""
        if not self.surface.minima:
            return np.full(len(self.points), math.nan)
        centres = np.array([m.point for m in self.surface.minima])
        gaps = self.points[:, None, :] - centres[None, :, :]
        return np.linalg.norm(gaps, axis=2).min(axis=1)

    def first_within(self, tol: float) -> int | None:
        """The first step whose point is within `tol` of a listed minimum, or None (never)."""
        hits = np.nonzero(self.distances() <= tol)[0]
        return int(hits[0]) if len(hits) else None

    def first_below(self, loss: float) -> int | None:
        """The first step whose loss is <= `loss`, or None (never)."""
        hits = np.nonzero(self.losses <= loss)[0]
        return int(hits[0]) if len(hits) else None

    def evaluations_to(self, loss: float) -> int | None:
        """Function evaluations used to first reach a loss <= `loss`, or None (never)."""
        step = self.first_below(loss)
        return None if step is None else int(self.evaluations[step])


def _resolve(optimizer: str | type) -> tuple[str, type, NamedOptimizer | None]:
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {optimizer!r}{did_you_mean(optimizer, OPTIMIZERS)}; "
                f"choose one of: {', '.join(OPTIMIZERS)}"
            )
        spec = OPTIMIZERS[optimizer]
        return spec.name, spec.resolve(), spec
    if inspect.isclass(optimizer):
        return optimizer.__name__.lower(), optimizer, None
    raise TypeError(
        f"descend(): optimizer must be a name ({', '.join(OPTIMIZERS)}) or an Optimizer class, "
        f"got {optimizer!r}"
    )


# Constructor arguments that are not hyperparameters of the rule.
_NOT_OPTIONS = ("self", "params", "lr", "generator")


def optimizer_options(optimizer: str) -> dict[str, Any]:
    """The hyperparameters a lab optimizer takes besides lr, with the values it uses when none
    are given: its spec's options (`steepest.optim.spec`) with the ones its name fixes over
    them ({"momentum": 0.9, "dampening": 0.0, "nesterov": False, ...} for "momentum"); for the
    random search, which has no spec, its constructor's keywords. The learning rate is left
    out: its default depends on the surface (`Surface.default_lr`).
    """
    _, cls, named = _resolve(optimizer)
    spec = getattr(cls, "spec", None)
    if spec is not None:
        options = {option.name: option.default for option in spec.options}
    else:
        options = {key: parameter.default
                   for key, parameter in inspect.signature(cls).parameters.items()
                   if parameter.default is not inspect.Parameter.empty}
    options.update(named.options if named is not None else {})
    return {key: value for key, value in options.items() if key not in _NOT_OPTIONS}


def format_option(value: Any) -> str:
    """A hyperparameter as `steepest race --option` takes it back exactly (`parse_option`):
    floats by repr (which round-trips), booleans as true/false, tuples joined by commas, None
    as none."""
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(format_option(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_option(optimizer: str, key: str, text: str) -> Any:
    """Read one hyperparameter from text, typed as its default (`optimizer_options`): a
    number, true/false, comma-separated numbers (betas), a word (momentum_form), or, for an
    option whose default is None, none or a number or word. ValueError naming the option and
    what it takes; the optimizer checks the value itself."""
    options = optimizer_options(optimizer)
    where = f"{optimizer}.{key}={text}"
    if key not in options:
        raise ValueError(f"{where}: {optimizer} has no option {key!r}; it takes: "
                         f"{', '.join(['lr', *options])}")
    default = options[key]
    word = text.strip()
    try:
        if default is None:
            if word.lower() == "none":
                return None
            for kind in (int, float):  # LBFGS's max_eval is an int, Muon's adjust_lr_fn a word
                try:
                    return kind(word)
                except ValueError:
                    pass
            return word
        if isinstance(default, (bool, np.bool_)):
            if word.lower() not in ("true", "false"):
                raise ValueError
            return word.lower() == "true"
        if isinstance(default, tuple):  # Adafactor's eps is (None or a number, a number)
            parts = tuple(None if part.strip().lower() == "none" else float(part)
                          for part in word.split(","))
            if len(parts) != len(default):
                raise ValueError
            return parts
        if isinstance(default, int):
            return int(word)
        if isinstance(default, float):
            return float(word)
        return text
    except ValueError:
        shown = format_option(default)
        raise ValueError(f"{where}: expected a value like the default {shown}") from None


def descend(
    surface: str | Surface,
    optimizer: str | type,
    start: Sequence[float] | None = None,
    steps: int = 100,
    *,
    schedule: Callable[[Any], Any] | None = None,
    dtype: Any = np.float64,
    **hyperparameters: Any,
) -> Path:
    """Run `steps` steps of an optimizer from `start` on a surface and record the path.

    surface: a Surface or its name. optimizer: a name from `OPTIMIZERS` ("sgd", "momentum",
    "adam", "random-search", ...) or a steepest.optim class. start: (d,), default the surface's.
    schedule: called with the optimizer, returns a scheduler (e.g. `lambda opt: StepLR(opt, 50)`)
    whose `step()` follows each optimizer step. hyperparameters: passed to the optimizer (a
    name's fixed options first, yours over them); lr defaults to the surface's for the family.

    The point is one Parameter of shape (d,) and each step is exactly the loop you would write:
    zero_grad(), loss = f(point), loss.backward(), step() (step(closure) for a search, which may
    evaluate f several times). A non-finite loss or point stops the descent (diverged=True).
    Returns a `Path` with points (n+1, d), losses, gradient norms, lrs and evaluation counts.
    """
    surface = get_surface(surface)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"descend(): steps must be a non-negative integer, got {steps!r}")
    name, cls, spec = _resolve(optimizer)
    algorithm = getattr(cls, "spec", None)
    # A rule for matrices only (Muon) moves the point as a 1 x d row.
    matrix = algorithm is not None and algorithm.param_ndim == 2
    if spec is not None:
        family, needs_closure = spec.family, spec.needs_closure
        options = dict(spec.options)
    else:
        family = _family_of(cls, hyperparameters)
        needs_closure = getattr(cls, "needs_closure", False)
        options = {}
    options.update(hyperparameters)
    options.setdefault("lr", surface.default_lr(
        name, family, algorithm.defaults["lr"] if algorithm is not None else 0.01))

    start = surface.start if start is None else start
    start_array = np.array(start, dtype=dtype).reshape(-1)
    if start_array.shape != (surface.dim,):
        raise ValueError(
            f"descend(): surface {surface.name!r} needs a start point of {surface.dim} "
            f"coordinate(s), got {list(np.ravel(start))}"
        )
    point = Parameter(start_array.reshape(1, -1) if matrix else start_array.copy())
    opt = cls([point], **options)

    def loss_at_point() -> Any:
        return surface.loss(point.reshape(surface.dim) if matrix else point)

    scheduler = schedule(opt) if schedule is not None else None

    evaluations = 0

    def closure():
        nonlocal evaluations
        evaluations += 1
        opt.zero_grad()
        loss = loss_at_point()
        if loss.requires_grad:
            loss.backward()
        return loss

    points = [point.data.reshape(-1).copy()]
    states: list[dict[str, np.ndarray]] = [_state_arrays(opt, point)]
    losses: list[float] = []
    grads: list[np.ndarray] = []
    grad_norms: list[float] = []
    lrs: list[float] = []
    counts = [0]
    diverged = False
    # Overflow on the way to infinity is the divergence we record, not a warning to print.
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps + 1):
            opt.zero_grad()
            loss = loss_at_point()
            loss.backward()
            losses.append(float(loss.item()))
            grads.append(point.grad.data.reshape(-1).copy())
            grad_norms.append(float(np.linalg.norm(grads[-1])))
            if not (math.isfinite(losses[-1]) and math.isfinite(grad_norms[-1])):
                diverged = True
                break
            if k == steps:
                break
            lrs.append(float(opt.param_groups[0]["lr"]))
            if needs_closure:
                opt.step(closure)
            else:
                evaluations += 1
                opt.step()
            if scheduler is not None:
                scheduler.step()
            points.append(point.data.reshape(-1).copy())
            states.append(_state_arrays(opt, point))
            counts.append(evaluations)
    return Path(
        surface=surface,
        name=name,
        hyperparameters=options,
        points=np.array(points),
        losses=np.array(losses),
        grads=np.array(grads),
        grad_norms=np.array(grad_norms),
        lrs=np.array(lrs),
        evaluations=np.array(counts),
        diverged=diverged,
        states=_stack_states(states, start_array),
    )


def _state_arrays(opt: Any, point: Parameter) -> dict[str, np.ndarray]:
    """The fields of the optimizer's state for the point that are shaped like it, copied
    (empty before the first step, and for a rule without per-parameter state such as the
    random search)."""
    state = opt.state.get(point)
    if state is None or not hasattr(state, "_asdict"):
        return {}
    return {name: value.reshape(-1).copy() for name, value in state._asdict().items()
            if isinstance(value, np.ndarray) and value.shape == point.data.shape}


def _stack_states(states: list[dict[str, np.ndarray]], like: np.ndarray
                  ) -> dict[str, np.ndarray]:
    """Per-step state dicts -> field: (n+1, d), NaN where a step had no such field yet."""
    names = dict.fromkeys(name for state in states for name in state)
    missing = np.full_like(like, np.nan)
    return {name: np.array([state.get(name, missing) for state in states]) for name in names}


def race(
    surface: str | Surface,
    optimizers: Sequence[str | type],
    steps: int = 500,
    *,
    start: Sequence[float] | None = None,
    lrs: Mapping[str, float] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int = 0,
) -> list[Path]:
    """`descend` each optimizer from the same start for the same number of steps.

    optimizers: names from `OPTIMIZERS` or steepest.optim classes. lrs: learning rates by
    optimizer name, over the surface's defaults. options: more hyperparameters by optimizer
    name. seed: seeds the random search's own generator, so a race is reproducible.
    Returns one Path per optimizer, in the order given.
    """
    surface = get_surface(surface)
    lrs = dict(lrs or {})
    options = dict(options or {})
    paths = []
    for optimizer in optimizers:
        name, _, spec = _resolve(optimizer)
        hyperparameters = dict(options.get(name, {}))
        if name in lrs:
            hyperparameters["lr"] = lrs[name]
        if (spec is None or spec.needs_closure) and _accepts(optimizer, "generator"):
            hyperparameters.setdefault("generator", np.random.default_rng(seed))
        paths.append(descend(surface, optimizer, start, steps, **hyperparameters))
    return paths


def _accepts(optimizer: str | type, argument: str) -> bool:
    cls = _resolve(optimizer)[1]
    return argument in inspect.signature(cls).parameters


def _format_loss(value: float) -> str:
    return f"{value:.3e}" if math.isfinite(value) else str(value)


def _why_never(path: Path) -> str:
    """Why a path never came within the tolerance of a minimum, read from its last tenth:
    "diverged", "stalled" (it covered < 1% of the distance still left), "zig-zagging" (it ended
    less than a third of the length it travelled from where the tenth began) or "still moving"."""
    if path.diverged:
        return "diverged"
    tail = path.points[-max(2, len(path.points) // 10):]
    travelled = float(np.linalg.norm(np.diff(tail, axis=0), axis=1).sum())
    _, left = path.surface.nearest_minimum(path.final_point)
    if travelled < 0.01 * left:
        return "stalled"
    if float(np.linalg.norm(tail[-1] - tail[0])) < travelled / 3:
        return "zig-zagging"
    return "still moving"


def race_table(paths: Sequence[Path], tol: float = 1e-3) -> str:
    """A text table of a race: optimizer, lr, final loss, distance to the nearest minimum
    (and whether it is the global one), the closest the path came (and when), and the first
    step within `tol` of a minimum, or "never" and why (with a note under the table)."""
    header = ("optimizer", "lr", "final loss", "distance to nearest minimum", "closest (step)",
              f"first step within {tol:g}")
    rows = [header]
    whys = set()
    for path in paths:
        if path.diverged:
            loss = f"diverged at step {path.steps}"
        else:
            loss = _format_loss(path.final_loss)
        minimum, distance = path.surface.nearest_minimum(path.final_point)
        if minimum is None:
            where = "n/a (no minimum)"
            closest = first = "n/a"
        else:
            where = "n/a" if not math.isfinite(distance) else f"{distance:.2e} ({minimum.kind})"
            distances = path.distances()
            best = int(np.nanargmin(distances)) if np.isfinite(distances).any() else 0
            closest = f"{distances[best]:.2e} ({best})"
            step = path.first_within(tol)
            if step is None:
                whys.add(_why_never(path))
                first = f"never: {_why_never(path)}"
            else:
                first = str(step)
        rows.append((path.name, f"{path.lr:g}", loss, where, closest, first))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if whys:
        steps = max(path.steps for path in paths)
        meaning = {
            "still moving": "its last tenth of the steps still went on towards a minimum",
            "stalled": "its last tenth covered less than 1% of the distance left (it has "
                       "all but stopped moving)",
            "zig-zagging": "its last tenth went back and forth, ending less than a third of "
                           "the way it travelled from where it began",
            "diverged": "the loss became infinite",
        }
        notes = "; ".join(f"{why}: {meaning[why]}" for why in meaning if why in whys)
        lines += ["", *textwrap.wrap(
            f"never: the path did not come within {tol:g} of a minimum in {steps} steps "
            f"(closest: how near it got, and at which step); {notes}.", width=96)]
    return "\n".join(lines)
