"""Loss surfaces with known minima, written with steepest's ops: their gradients come from autograd.

Each surface is a small object: `f(x, y)` (or `f(x)` in 1-D) built from Tensor ops and applied
elementwise (so one call evaluates a whole grid for a contour plot), a default start point, a
plotting window, its minima (global and local) and default learning rates per optimizer family.
Minima that have no closed form are found once, numerically, by Newton's method on the autograd
gradient (`refine_critical_points`), and listed to full float64 precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from steepest._suggest import did_you_mean
from steepest.autograd import ops
from steepest.autograd.grad_mode import no_grad
from steepest.tensor import Tensor

__all__ = [
    "Ackley", "Beale", "Bowl", "Himmelblau", "Minimum", "MonkeySaddle", "Rastrigin", "Ravine",
    "Rosenbrock", "RoughBowl", "Saddle", "Surface", "SURFACES", "get_surface",
    "refine_critical_points",
]


# ----------------------------------------------------------------- a primitive the surfaces need
class _ConeSqrt(ops.Sqrt):
    """z = √x for x >= 0;  dz/dx = 1 / (2z), and 0 at x = 0.

    Kink convention: Ackley's √(x² + y²) is a cone at its global minimum, where the derivative
    does not exist; 0 is in its subdifferential there (it is a minimum), so the gradient at the
    tip is 0 instead of the 0·∞ = NaN that the plain chain rule would give.
    """

    @staticmethod
    def backward(ctx, grad_out):
        out = ctx.out
        safe = np.where(out > 0, out, 1.0)
        return np.where(out > 0, grad_out / (2.0 * safe), 0.0).astype(grad_out.dtype, copy=False)


def _cos(x: Tensor) -> Tensor:
    return ops.Cos.apply(x)


# ----------------------------------------------------------------- the surface object
@dataclass(frozen=True)
class Minimum:
    """A local or global minimum: `point` (d,), its loss `value`, and whether it is global."""

    point: tuple[float, ...]
    value: float
    is_global: bool

    @property
    def kind(self) -> str:
        return "global" if self.is_global else "local"


# Learning rates that work on most surfaces, by optimizer family; each surface overrides some.
_DEFAULT_LR = {
    "gd": 0.01,
    "momentum": 0.005,
    "adagrad": 0.5,
    "adaptive": 0.05,
    "adadelta": 1.0,
    "search": 0.1,
}


class Surface:
    """A loss surface f: R^d -> R (d = 1 or 2) with known minima.

    Subclasses set `name`, `formula` (matplotlib mathtext for titles), `expression` (the same
    in plain text, for terminals), `dim`, `start` (d,),
    `window` (d pairs (low, high) for plots), `lr` (learning rate by optimizer family:
    "gd", "momentum", "adagrad", "adaptive", "adadelta", "search"), `saddles` (points to mark)
    and define `f` plus `_minimum_guesses` (points from which Newton's method finds the minima).
    """

    name: str = ""
    formula: str = ""
    expression: str = ""
    dim: int = 2
    start: tuple[float, ...] = (0.0, 0.0)
    window: tuple[tuple[float, float], ...] = ((-1.0, 1.0), (-1.0, 1.0))
    lr: dict[str, float] = {}
    saddles: tuple[tuple[float, ...], ...] = ()

    def f(self, *coords: Tensor) -> Tensor:
        """The loss, elementwise: d tensors of one shape S -> a tensor of shape S."""
        raise NotImplementedError

    def _minimum_guesses(self) -> Sequence[Sequence[float]]:
        return ()

    # ------------------------------------------------------------- evaluation
    def loss(self, point: Tensor) -> Tensor:
        """The loss at one point: point (d,) -> scalar tensor, differentiable w.r.t. point."""
        if point.shape != (self.dim,):
            raise ValueError(
                f"surface {self.name!r} takes a point of shape ({self.dim},), got {point.shape}"
            )
        return self.f(*(point[i] for i in range(self.dim)))

    def value(self, point: Sequence[float]) -> float:
        """f at one point (d,), in float64, without recording a graph."""
        with no_grad():
            return float(self.loss(Tensor(np.asarray(point, dtype=np.float64))).item())

    def gradient(self, point: Sequence[float]) -> np.ndarray:
        """∇f at one point by steepest's autograd, float64: point (d,) -> (d,)."""
        return _gradients(self, np.asarray(point, dtype=np.float64)[None, :])[0]

    def grid(self, n: int = 200) -> tuple[np.ndarray, ...]:
        """f on a regular grid over the window (float64).

        2-D: returns X, Y, Z, each (n, n) (rows follow y, as `np.meshgrid` gives them);
        1-D: returns x (n,), f(x) (n,).
        """
        axes = [np.linspace(low, high, n) for low, high in self.window]
        coords = np.meshgrid(*axes) if self.dim == 2 else axes
        with no_grad():
            values = self.f(*(Tensor(c) for c in coords)).data
        return (*coords, values)

    def default_lr(self, optimizer: str, family: str | None = None,
                   fallback: float = 0.01) -> float:
        """The learning rate this surface suggests for an optimizer: by its name ("rmsprop") if
        the surface lists it, else by its family ("adaptive"; see the class doc), else
        `fallback` (the optimizer's own default, for a family no surface knows)."""
        if optimizer in self.lr:
            return self.lr[optimizer]
        family = optimizer if family is None else family
        return self.lr.get(family, _DEFAULT_LR.get(family, fallback))

    # ------------------------------------------------------------- minima
    @cached_property
    def minima(self) -> tuple[Minimum, ...]:
        """The surface's minima, lowest first; every one of lowest value is marked global."""
        guesses = np.asarray(self._minimum_guesses(), dtype=np.float64).reshape(-1, self.dim)
        if len(guesses) == 0:
            return ()
        points, kinds = refine_critical_points(self, guesses)
        points = points[kinds == "minimum"]
        # Several guesses may converge to one minimum: keep one of each.
        distinct: list[np.ndarray] = []
        for p in points:
            if all(np.linalg.norm(p - q) > 1e-6 for q in distinct):
                distinct.append(p)
        values = [self.value(p) for p in distinct]
        lowest = min(values)
        slack = 1e-9 * max(1.0, abs(lowest))
        order = np.argsort(values, kind="stable")
        return tuple(
            Minimum(tuple(float(c) + 0.0 for c in distinct[i]), values[i],  # + 0.0: no −0.0
                    values[i] <= lowest + slack)
            for i in order
        )

    @property
    def global_minimum(self) -> Minimum | None:
        """The first global minimum (None for a surface unbounded below, like a saddle)."""
        return self.minima[0] if self.minima else None

    def nearest_minimum(self, point: Sequence[float]) -> tuple[Minimum | None, float]:
        """The listed minimum closest to `point` (d,) and its Euclidean distance (None, nan if
        the surface has no minimum)."""
        if not self.minima:
            return None, math.nan
        centres = np.array([m.point for m in self.minima])
        distances = np.linalg.norm(centres - np.asarray(point, dtype=np.float64), axis=1)
        i = int(np.argmin(distances))
        return self.minima[i], float(distances[i])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.formula}>"


def _gradients(surface: Surface, points: np.ndarray) -> np.ndarray:
    """∇f at many points at once (f is elementwise): points (m, d) -> (m, d), float64."""
    coords = [Tensor(points[:, i].copy(), requires_grad=True) for i in range(surface.dim)]
    surface.f(*coords).sum().backward()
    return np.stack([c.grad for c in coords], axis=1)


def refine_critical_points(
    surface: Surface, guesses: np.ndarray, iterations: int = 60, h: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method on ∇f = 0 from many guesses at once.

    guesses: (m, d) float64. The gradient comes from autograd; the Hessian from central
    differences of it (step h), which only slows convergence near the end, never moves the
    fixed point, because Newton stops where the autograd gradient is zero.
    Returns (points (m, d), kinds (m,)) with kinds "minimum", "maximum", "saddle" or
    "degenerate" from the signs of the Hessian's eigenvalues.
    """
    points = np.array(guesses, dtype=np.float64)
    m, d = points.shape

    def hessian(p: np.ndarray) -> np.ndarray:
        columns = []
        for j in range(d):
            step = np.zeros(d)
            step[j] = h
            ahead, behind = _gradients(surface, p + step), _gradients(surface, p - step)
            columns.append((ahead - behind) / (2 * h))
        hess = np.stack(columns, axis=2)
        return 0.5 * (hess + np.swapaxes(hess, 1, 2))

    for _ in range(iterations):
        grad = _gradients(surface, points)
        if np.all(np.abs(grad) < 1e-14):
            break
        hess = hessian(points)
        # A singular Hessian (flat saddle) would make solve fail: add a tiny ridge.
        delta = np.linalg.solve(hess + 1e-12 * np.eye(d), grad[..., None])[..., 0]
        # Cap the step so a bad guess cannot jump across the window.
        scale = np.minimum(1.0, 0.5 / np.maximum(np.linalg.norm(delta, axis=1), 1e-300))
        points = points - scale[:, None] * delta
    eigenvalues = np.linalg.eigvalsh(hessian(points))
    tiny = 1e-8
    kinds = np.full(m, "saddle", dtype=object)
    kinds[np.all(eigenvalues > tiny, axis=1)] = "minimum"
    kinds[np.all(eigenvalues < -tiny, axis=1)] = "maximum"
    kinds[np.any(np.abs(eigenvalues) <= tiny, axis=1)] = "degenerate"
    return points, kinds.astype(str)


# ----------------------------------------------------------------- the surfaces
class Bowl(Surface):
    """The convex bowl f = x² + y²; one minimum, 0 at (0, 0); condition number 1."""

    name = "bowl"
    formula = r"$x^2 + y^2$"
    expression = "x² + y²"
    start = (-4.0, 3.0)
    window = ((-5.0, 5.0), (-5.0, 5.0))
    lr = {"gd": 0.1, "momentum": 0.05, "adagrad": 2.0, "adaptive": 0.2, "search": 0.5}

    def f(self, x, y):
        return x * x + y * y

    def _minimum_guesses(self):
        return [(0.0, 0.0)]


class Ravine(Surface):
    """An ill-conditioned quadratic f = (x² + κ y²) / 2: Hessian diag(1, κ), condition number κ.

    Gradient descent must keep lr < 2/κ to stay stable in y, so it crawls along x (the ravine's
    floor): about ln(1/tol)·κ/(lr·κ) steps. Momentum and adaptive methods do far better.
    """

    name = "ravine"
    formula = r"$(x^2 + \kappa y^2)/2$"
    start = (-9.0, 1.5)
    window = ((-10.0, 10.0), (-3.0, 3.0))

    def __init__(self, condition: float = 50.0) -> None:
        if not condition >= 1.0:
            raise ValueError(f"Ravine: condition number must be >= 1, got {condition}")
        self.condition = float(condition)
        self.formula = rf"$(x^2 + {self.condition:g}\,y^2)/2$"
        self.expression = f"(x² + {self.condition:g}·y²)/2"
        kappa = self.condition
        # GD near the edge of stability (lr·κ = 1.8) zigzags across the ravine, as in the lecture.
        self.lr = {"gd": 1.8 / kappa, "momentum": 1.0 / kappa, "adagrad": 1.0,
                   "adaptive": 0.2, "search": 0.5}

    def f(self, x, y):
        return 0.5 * (x * x + self.condition * (y * y))

    def _minimum_guesses(self):
        return [(0.0, 0.0)]


class Rosenbrock(Surface):
    """Rosenbrock's banana f = (a − x)² + b(y − x²)²; minimum 0 at (a, a²) in a curved valley."""

    name = "rosenbrock"
    formula = r"$(1 - x)^2 + 100\,(y - x^2)^2$"
    start = (-1.5, 2.0)
    window = ((-2.0, 2.0), (-1.0, 3.0))

    def __init__(self, a: float = 1.0, b: float = 100.0) -> None:
        self.a, self.b = float(a), float(b)
        self.formula = rf"$({self.a:g} - x)^2 + {self.b:g}\,(y - x^2)^2$"
        self.expression = f"({self.a:g} − x)² + {self.b:g}·(y − x²)²"
        self.lr = {"gd": 1e-3, "momentum": 1e-3, "adagrad": 0.5, "adaptive": 0.1,
                   "rmsprop": 0.02, "search": 0.2}

    def f(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def _minimum_guesses(self):
        return [(self.a, self.a * self.a)]


class Beale(Surface):
    """Beale's function: sum over k of (c_k − x + x·y^k)², c = (1.5, 2.25, 2.625); minimum 0 at
    (3, 0.5), in a flat valley walled by steep (quartic and sextic in y) sides."""

    name = "beale"
    formula = r"$(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$"
    expression = "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²"
    start = (1.0, 1.4)
    window = ((-4.5, 4.5), (-4.5, 4.5))
    lr = {"gd": 0.01, "momentum": 2e-3, "adagrad": 1.0, "adaptive": 0.05, "search": 0.05}

    def f(self, x, y):
        xy = x * y
        xy2 = xy * y
        xy3 = xy2 * y
        return (1.5 - x + xy) ** 2 + (2.25 - x + xy2) ** 2 + (2.625 - x + xy3) ** 2

    def _minimum_guesses(self):
        return [(3.0, 0.5)]


class Himmelblau(Surface):
    """Himmelblau's function f = (x² + y − 11)² + (x + y² − 7)²: four global minima (value 0),
    a local maximum near (−0.27, −0.92) and four saddles."""

    name = "himmelblau"
    formula = r"$(x^2 + y - 11)^2 + (x + y^2 - 7)^2$"
    expression = "(x² + y − 11)² + (x + y² − 7)²"
    start = (0.0, -0.5)
    window = ((-5.0, 5.0), (-5.0, 5.0))
    lr = {"gd": 0.01, "momentum": 0.002, "adagrad": 0.5, "adaptive": 0.1, "search": 0.1}

    def f(self, x, y):
        return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2

    def _minimum_guesses(self):
        return [(3.0, 2.0), (-2.805, 3.131), (-3.779, -3.283), (3.584, -1.848)]


class Saddle(Surface):
    """The saddle f = x² − y²: zero gradient at (0, 0), up along x, down along y; no minimum
    (unbounded below). From a start just off the x axis, plain gradient descent slides into the
    saddle and stalls there, since the way down (y) has a tiny gradient."""

    name = "saddle"
    formula = r"$x^2 - y^2$"
    expression = "x² − y²"
    start = (-1.5, 1e-3)
    window = ((-2.0, 2.0), (-2.0, 2.0))
    saddles = ((0.0, 0.0),)
    lr = {"gd": 0.01, "momentum": 0.01, "adagrad": 0.05, "adaptive": 0.01, "search": 0.05}

    def f(self, x, y):
        return x * x - y * y


class MonkeySaddle(Surface):
    """The monkey saddle f = x³ − 3xy²: a flat (degenerate) critical point at (0, 0) with three
    valleys going down; no minimum. Its gradient vanishes quadratically, so GD crawls there."""

    name = "monkey-saddle"
    formula = r"$x^3 - 3 x y^2$"
    expression = "x³ − 3xy²"
    start = (0.5, 1e-3)
    window = ((-1.5, 1.5), (-1.5, 1.5))
    saddles = ((0.0, 0.0),)
    lr = {"gd": 0.01, "momentum": 0.01, "adagrad": 0.05, "adaptive": 0.01, "search": 0.05}

    def f(self, x, y):
        return x * x * x - 3.0 * x * (y * y)


class Rastrigin(Surface):
    """Rastrigin's function f = 20 + Σᵢ (xᵢ² − 10 cos 2πxᵢ): global minimum 0 at (0, 0) and a
    local minimum near every integer point (here the 121 of them in [−5, 5]²)."""

    name = "rastrigin"
    formula = r"$20 + x^2 + y^2 - 10\,(\cos 2\pi x + \cos 2\pi y)$"
    expression = "20 + x² + y² − 10·(cos 2πx + cos 2πy)"
    start = (3.2, -2.3)
    window = ((-5.12, 5.12), (-5.12, 5.12))
    lr = {"gd": 1e-3, "momentum": 5e-4, "adagrad": 0.5, "adaptive": 0.05, "search": 0.2}

    def f(self, x, y):
        two_pi = 2.0 * math.pi
        return 20.0 + x * x - 10.0 * _cos(two_pi * x) + y * y - 10.0 * _cos(two_pi * y)

    def _minimum_guesses(self):
        return [(i, j) for i in range(-5, 6) for j in range(-5, 6)]


class Ackley(Surface):
    """Ackley's function f = −20 exp(−0.2 √((x² + y²)/2)) − exp((cos 2πx + cos 2πy)/2) + e + 20:
    global minimum 0 at (0, 0) (a cone tip: its gradient there is taken as 0) on a nearly flat
    plateau of local minima, one near each integer point (those in [−4, 4]² are listed)."""

    name = "ackley"
    formula = r"$-20e^{-0.2\sqrt{(x^2+y^2)/2}} - e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20$"
    expression = "−20·exp(−0.2·√((x² + y²)/2)) − exp((cos 2πx + cos 2πy)/2) + e + 20"
    start = (2.7, -1.6)
    window = ((-5.0, 5.0), (-5.0, 5.0))
    lr = {"gd": 0.01, "momentum": 0.002, "adagrad": 0.5, "adaptive": 0.05, "search": 0.3}

    def f(self, x, y):
        two_pi = 2.0 * math.pi
        radius = _ConeSqrt.apply(0.5 * (x * x + y * y))
        ripples = 0.5 * (_cos(two_pi * x) + _cos(two_pi * y))
        return -20.0 * (-0.2 * radius).exp() - ripples.exp() + (math.e + 20.0)

    def _minimum_guesses(self):
        return [(i, j) for i in range(-4, 5) for j in range(-4, 5)]


class RoughBowl(Surface):
    """A 1-D rough bowl f = x² + a·sin²(b·x)·x²/(1 + x²): global minimum 0 at x = 0 and local
    minima near the other multiples of π/b (found numerically; 8 of them in [−5, 5] by default).

    The ripples fade in with x²/(1 + x²), so the global basin is wide (f'' = 2 at 0) while the
    local ones are narrow (f'' ≈ 2 + 2ab²). Gradient descent is stable in a minimum only while
    lr < 2/f'' there, so a learning rate between the two limits hops out of every local minimum
    and settles in the global one, the lecture's "we need a larger step size to find the global
    minimum"; a smaller one stays in the first local minimum; one above 1 overshoots for good.
    """

    name = "rough-bowl"
    dim = 1
    start = (3.5,)
    window = ((-5.0, 5.0),)

    def __init__(self, a: float = 4.0, b: float = 3.0) -> None:
        if not (a > 0 and b > 0):
            raise ValueError(f"RoughBowl: a and b must be positive, got a={a}, b={b}")
        self.a, self.b = float(a), float(b)
        self.formula = rf"$x^2 + {self.a:g}\,\sin^2({self.b:g}x)\,x^2/(1 + x^2)$"
        self.expression = f"x² + {self.a:g}·sin²({self.b:g}x)·x²/(1 + x²)"
        self.lr = {"gd": 0.08, "momentum": 0.02, "adagrad": 1.0, "adaptive": 0.2,
                   "search": 0.5}

    # Learning rates for the 1-D picture (the lecture's tiny person in a rough bowl): stuck in
    # a local minimum, reaching the global one, and jumping back and forth over it.
    lr_demo = (0.01, 0.08, 0.6)

    def f(self, x):
        square = x * x
        ripple = (0.5 * self.a) * (1.0 - _cos((2.0 * self.b) * x))
        return square + ripple * (square / (1.0 + square))

    def _minimum_guesses(self):
        # Minima sit between the sign changes of f' from − to +: scan, then let Newton polish.
        low, high = self.window[0]
        xs = np.linspace(low, high, 4001)
        slope = _gradients(self, xs[:, None])[:, 0]
        ups = np.nonzero((slope[:-1] < 0) & (slope[1:] >= 0))[0]
        return [(0.5 * (xs[i] + xs[i + 1]),) for i in ups]


SURFACES: dict[str, Callable[..., Surface]] = {
    "bowl": Bowl,
    "ravine": Ravine,
    "rosenbrock": Rosenbrock,
    "beale": Beale,
    "himmelblau": Himmelblau,
    "saddle": Saddle,
    "monkey-saddle": MonkeySaddle,
    "rastrigin": Rastrigin,
    "ackley": Ackley,
    "rough-bowl": RoughBowl,
}


def get_surface(surface: str | Surface, **options: float) -> Surface:
    """A surface by name (see `SURFACES`), built with `options` (e.g. condition=100 for the
    ravine); a Surface instance is returned as it is."""
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise ValueError(
            f"unknown surface {surface!r}{did_you_mean(str(surface), SURFACES)}; choose one "
            f"of: {', '.join(SURFACES)}"
        )
    return SURFACES[surface](**options)
