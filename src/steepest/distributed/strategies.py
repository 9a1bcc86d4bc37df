"""Asynchronous strategies: how a worker's push and the parameter server's commit turn stale
gradients into changes of the central variable θ. One class per strategy, each next to its paper.

Both the Ray parameter server (`steepest.distributed.asynchronous`) and the single-process
simulator (`steepest.distributed.simulate`) run these very objects, through the same
`ParameterServer` and `AsyncWorker` classes: a strategy's rule exists once.

Vocabulary (the GEM paper's, Hermans & Louppe 2018, Table 1):
- θ: the central variable, held by the server; its version counts the commits applied so far.
- s: the copy a worker computed its gradient on; τ (staleness): the commits applied to θ by other
  workers since the worker last synchronised (pulled) with the server. Round-robin workers have
  τ = n − 1 for every commit after the first round.
- A commit is either a **gradient** (downpour, staleness, dcasgd), which the server turns into a
  step with its own optimizer (`optim.SGD`, Adam, ...: the rules of `steepest.optim`, never
  rewritten here), or a **delta** (gem, easgd) that the server adds to θ as it is.

The pure parts (`gem_scaling`, `delay_compensated`, `elastic_difference`) are functions over
arrays; the strategy objects hold only hyperparameters and say which function runs where.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, NamedTuple

import numpy as np

__all__ = [
    "STRATEGIES", "Commit", "DelayCompensated", "Downpour", "ElasticAveraging",
    "GEMState", "GradientEnergyMatching", "Staleness", "Strategy", "delay_compensated",
    "elastic_difference", "gem_scaling", "make_strategy",
]

Params = Mapping[str, np.ndarray]


# ---------------------------------------------------------------------------- pure rules
def gem_scaling(delta: np.ndarray, momentum_buffer: np.ndarray, shift: np.ndarray, *,
                kappa: float = 1.0, eps: float = 1e-16, max_pi: float = 5.0,
                out: np.ndarray | None = None) -> np.ndarray:
    """GEM's per-coordinate scaling factors π (Hermans & Louppe 2018, Algorithm 1 and eq. 27).

        π = (κ |m| − |θ − s|) / (|Δθ| + ε),  clamped to [0, max_pi]

    delta: Δθ, the worker's own update (−η∇L(s) with plain SGD); momentum_buffer: m, the
    worker's running sum m ← μ m + Δθ (the proxy's velocity, already updated with this Δθ);
    shift: θ − s, how far the central variable moved since the worker last pulled (all
    workers' commits, its own included). All arrays have one shape S; returns π of shape S.

    Conventions: ε sits outside the absolute value, as in the paper (the authors' code adds it
    to Δθ inside: |Δθ + ε|, with ε = 1e-12); the clamp to [0, 5] is the authors' code's ("for
    numerical stability"; the paper does not clamp). π = 0 drops a coordinate whose proxy energy
    the central variable already exceeds.
    """
    pi = np.empty_like(delta) if out is None else out
    np.abs(momentum_buffer, out=pi)
    pi *= kappa
    pi -= np.abs(shift)
    pi /= np.abs(delta) + eps
    return np.clip(pi, 0.0, max_pi, out=pi)


def delay_compensated(grad: np.ndarray, central: np.ndarray, backup: np.ndarray, *,
                      lam: float = 0.04) -> np.ndarray:
    """DC-ASGD's compensated gradient (Zheng et al. 2017, eq. 10, constant λ: "DC-ASGD-c").

        g̃ = g + λ g ⊙ g ⊙ (θ − θ_bak)

    g: the gradient a worker computed at θ_bak (the copy it pulled); θ: the central variable now.
    The diagonal of g gᵀ approximates the Hessian, so g̃ ≈ g(θ) to first order.
    """
    compensated = grad * grad
    compensated *= central - backup
    compensated *= lam
    compensated += grad
    return compensated


def elastic_difference(local: np.ndarray, central: np.ndarray, alpha: float) -> np.ndarray:
    """EASGD's elastic difference α (x − x̃) (Zhang, Choromanska & LeCun 2015, Algorithm 1):
    the worker subtracts it from its local x, the server adds it to the centre x̃."""
    difference = local - central
    difference *= alpha
    return difference


# ---------------------------------------------------------------------------- strategies
class Commit(NamedTuple):
    """What a strategy asks the server to do with one push: `gradient` → one step of the
    server's optimizer with its learning rate times `lr_scale`; `delta` → θ += delta."""

    gradient: dict[str, np.ndarray] | None = None
    delta: dict[str, np.ndarray] | None = None
    lr_scale: float = 1.0


class GEMState(NamedTuple):
    """A GEM worker's state: m (the proxy's momentum) and s (θ at its last pull), per name."""

    momentum_buffer: dict[str, np.ndarray]
    last_pull: dict[str, np.ndarray]


@dataclass(frozen=True)
class Strategy:
    """Base class. `pushes` says what the worker sends; the methods are pure apart from the
    arrays handed to them. Subclasses are frozen dataclasses of their hyperparameters."""

    name: ClassVar[str] = ""
    pushes: ClassVar[str] = "gradient"  # or "delta"
    paper: ClassVar[str] = ""

    # -- server side
    def server_init(self, central: Params, workers: int) -> Any:
        """The server's per-run state for this strategy (None for most)."""
        return None

    def server_commit(self, gradient: Params, central: Params, state: Any, *, worker: int,
                      staleness: int) -> tuple[Commit, Any]:
        """Turn one worker's pushed gradient into a Commit (default: the gradient as it is)."""
        return Commit(gradient=dict(gradient)), state

    def server_after_pull(self, central: Params, state: Any, worker: int) -> Any:
        """Called when `worker` receives θ (after its commit, or a fresh pull)."""
        return state

    # -- worker side (delta strategies)
    def worker_init(self, central: Params) -> Any:
        return None

    def options(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Downpour(Strategy):
    """DOWNPOUR (Dean et al. 2012): every stale gradient is applied as it arrives,
    θ ← θ + optimizer(g). Asynchrony adds an implicit momentum of about 1 − 1/n (Mitliagkas et
    al. 2016), which is why it diverges as the number of workers n grows."""

    name: ClassVar[str] = "downpour"
    paper: ClassVar[str] = "Dean et al., Large Scale Distributed Deep Networks, NeurIPS 2012"


@dataclass(frozen=True)
class Staleness(Strategy):
    """Staleness-aware rescaling: the step of a gradient τ commits old is divided by τ + 1,
    θ ← θ + optimizer(g) with lr/(τ + 1) (Zhang et al. 2016, "Staleness-aware async-SGD"; the
    GEM paper's "adaptive staleness"). For SGD that is exactly Δθ/(τ + 1)."""

    name: ClassVar[str] = "staleness"
    paper: ClassVar[str] = ("Zhang, Gupta, Lian & Liu, Staleness-aware Async-SGD for "
                            "Distributed Deep Learning, IJCAI 2016")

    def server_commit(self, gradient: Params, central: Params, state: Any, *, worker: int,
                      staleness: int) -> tuple[Commit, Any]:
        return Commit(gradient=dict(gradient), lr_scale=1.0 / (staleness + 1)), state


@dataclass(frozen=True)
class DelayCompensated(Strategy):
    """DC-ASGD (Zheng et al. 2017): the server keeps θ_bak, the copy each worker last pulled,
    and compensates the delay with `delay_compensated` (λ = `lam`, default 0.04 as the paper's
    experiments) before its optimizer steps."""

    name: ClassVar[str] = "dcasgd"
    paper: ClassVar[str] = ("Zheng et al., Asynchronous Stochastic Gradient Descent with Delay "
                            "Compensation, ICML 2017")
    lam: float = 0.04

    def __post_init__(self) -> None:
        _check("dcasgd", "lam", self.lam, low=0.0)

    def server_init(self, central: Params, workers: int) -> Any:
        return {w: _copy(central) for w in range(workers)}

    def server_commit(self, gradient: Params, central: Params, state: Any, *, worker: int,
                      staleness: int) -> tuple[Commit, Any]:
        backup = state[worker]
        compensated = {name: delay_compensated(g, central[name], backup[name], lam=self.lam)
                       for name, g in gradient.items()}
        return Commit(gradient=compensated), state

    def server_after_pull(self, central: Params, state: Any, worker: int) -> Any:
        backups = state[worker]
        for name, value in central.items():
            np.copyto(backups[name], value)
        return state


@dataclass(frozen=True)
class ElasticAveraging(Strategy):
    """Asynchronous EASGD (Zhang, Choromanska & LeCun 2015, Algorithm 1). Each worker takes its
    own optimizer steps on a local x; every `period` steps it pulls x̃, sends
    α(x − x̃) (`elastic_difference`), which the server adds to x̃, and moves x by −α(x − x̃).
    α = lr·ρ; `rho` None picks α = 0.9/n, the paper's β = nα = 0.9."""

    name: ClassVar[str] = "easgd"
    pushes: ClassVar[str] = "delta"
    paper: ClassVar[str] = ("Zhang, Choromanska & LeCun, Deep learning with Elastic Averaging "
                            "SGD, NeurIPS 2015")
    rho: float | None = None
    period: int = 1

    def __post_init__(self) -> None:
        if self.rho is not None:
            _check("easgd", "rho", self.rho, low=0.0, inclusive=False)
        if isinstance(self.period, bool) or not isinstance(self.period, int) or self.period < 1:
            raise ValueError(f"easgd: period must be a positive integer, got {self.period!r}")

    def alpha(self, lr: float, workers: int) -> float:
        """The elastic coefficient α; it must lie in (0, 1) for the move to be a contraction."""
        alpha = 0.9 / workers if self.rho is None else lr * self.rho
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"easgd: the elastic coefficient α = lr·rho = {alpha:g} must lie "
                             f"in (0, 1); choose a smaller rho")
        return alpha


@dataclass(frozen=True)
class GradientEnergyMatching(Strategy):
    """GEM (Hermans & Louppe 2018, Algorithm 1). Each worker keeps the proxy's momentum
    m ← μ m + Δθ of its own updates Δθ (the worker optimizer's step, −η∇L(s) for SGD), pulls θ
    just before committing, and commits π ⊙ Δθ with π from `gem_scaling`, so that the energy
    ½(θ − s + πΔθ)² of all workers together matches the proxy's ½(κ m)²: momentum SGD.

    momentum: μ (0.9). kappa: κ, the proxy's energy amplification (Appendix B, eq. 27; 1 is
    the paper's default). eps: ε (1e-16, Algorithm 1). max_pi: the clamp's upper end (5, the
    authors' code). Convention: the worker's copy after a commit is θ (as pulled) + its own
    commit, as in the authors' code (the server serves one worker at a time there, so that is
    the central variable right after the commit); s stays θ as pulled, without the commit.
    """

    name: ClassVar[str] = "gem"
    pushes: ClassVar[str] = "delta"
    paper: ClassVar[str] = ("Hermans & Louppe, Gradient Energy Matching for Distributed "
                            "Asynchronous Gradient Descent, arXiv 1805.08469, 2018")
    momentum: float = 0.9
    kappa: float = 1.0
    eps: float = 1e-16
    max_pi: float = 5.0

    def __post_init__(self) -> None:
        _check("gem", "momentum", self.momentum, low=0.0, high=1.0)
        _check("gem", "kappa", self.kappa, low=0.0, inclusive=False)
        _check("gem", "eps", self.eps, low=0.0, inclusive=False)
        _check("gem", "max_pi", self.max_pi, low=0.0, inclusive=False)

    def worker_init(self, central: Params) -> GEMState:
        return GEMState({n: np.zeros_like(v) for n, v in central.items()}, _copy(central))

    def worker_commit(self, delta: Params, state: GEMState, central: Params
                      ) -> tuple[dict[str, np.ndarray], GEMState, dict[str, float]]:
        """(π ⊙ Δθ by name, the new state, {"mean_pi", "clamped_fraction"}) for one push.

        delta: Δθ by name; central: θ as just pulled. The state's arrays are updated in place.
        mean_pi is the mean of π over every coordinate; clamped_fraction the fraction of
        coordinates whose π was clamped to 0 (the proxy's energy was already spent).
        """
        commit = {}
        total = pi_sum = clamped = 0
        for name, step in delta.items():
            buffer = state.momentum_buffer[name]
            buffer *= self.momentum
            buffer += step
            shift = central[name] - state.last_pull[name]
            pi = gem_scaling(step, buffer, shift, kappa=self.kappa, eps=self.eps,
                             max_pi=self.max_pi)
            total += pi.size
            pi_sum += float(pi.sum(dtype=np.float64))
            clamped += int(np.count_nonzero(pi == 0.0))
            pi *= step
            commit[name] = pi
            np.copyto(state.last_pull[name], central[name])
        stats = {"mean_pi": pi_sum / max(total, 1), "clamped_fraction": clamped / max(total, 1)}
        return commit, state, stats


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (Downpour, Staleness, DelayCompensated, ElasticAveraging,
                              GradientEnergyMatching)
}


def make_strategy(name: str | Strategy, **options: Any) -> Strategy:
    """A strategy by name ("downpour", "staleness", "dcasgd", "easgd", "gem") with its options
    (gem: momentum, kappa, eps, max_pi; dcasgd: lam; easgd: rho, period). None values are
    dropped (the strategy's default applies); an option the strategy lacks raises TypeError."""
    if isinstance(name, Strategy):
        if options:
            raise TypeError("make_strategy: options go with a strategy name, not an object")
        return name
    key = str(name).strip().lower()
    if key not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    cls = STRATEGIES[key]
    options = {k: v for k, v in options.items() if v is not None}
    accepted = [f.name for f in fields(cls)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(f"strategy {key!r}: unknown option(s) {unknown}; it takes "
                        f"{accepted or 'none'}")
    return cls(**options)


# ---------------------------------------------------------------------------- helpers
def _copy(params: Params) -> dict[str, np.ndarray]:
    return {name: np.array(value, copy=True) for name, value in params.items()}


def _check(where: str, what: str, value: Any, *, low: float, high: float | None = None,
           inclusive: bool = True) -> None:
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value) and (value >= low if inclusive else value > low)
          and (high is None or value <= high))
    if not ok:
        bound = f"{'>=' if inclusive else '>'} {low:g}" + (f" and <= {high:g}" if high else "")
        raise ValueError(f"{where}: {what} must be a number {bound}, got {value!r}")
