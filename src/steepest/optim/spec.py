"""`OptimizerSpec`: one declarative record per optimization algorithm, and the registry of them.

A spec holds what defines an algorithm and nothing else: its pure update rule and state type,
each option (default, validator, doc), whether the rule is elementwise, a learning rate for the
studies, the paper and a one-line formula. Everything else is derived from it:

    the PyTorch-style class          spec.optimizer_class  (also `steepest.optim.<Name>`)
    the names `--optimizer` takes    spec.presets          (e.g. "momentum" = SGD, momentum=0.9)
    the CLI help and the guide table spec.help(), optimizer_table()
    the lab's default learning rates preset.study_lr
    state (de)serialisation          spec.state_fields     (from the state NamedTuple's hints)

Each spec lives in its own module of `steepest.optim.rules` beside its rule, and `all_specs()`
finds them there: adding an optimizer is one new module; adding an option is one `Option` line
(and the keyword it sets in the rule). Options are validated once, when an optimizer or a param
group is made, with the bad value in the message (PyTorch's wording where PyTorch has the option).

The rule's contract is in `steepest.optim.rules`. A spec whose rule is not elementwise (a norm or
a factorisation over the whole tensor) says so, and executors that split tensors refuse it.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import numbers
import pkgutil
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest._suggest import did_you_mean

__all__ = [
    "Option", "OptimizerSpec", "Preset", "Swap", "all_specs", "betas", "choice", "find_preset",
    "flag", "get_spec", "integer", "number", "optimizer_table", "optional", "pair", "preset_names",
    "presets",
]

# ---------------------------------------------------------------------------- validators
# Each returns a function check(value) -> None that raises TypeError (wrong kind of value) or
# ValueError (out of range) with the value in the message. `what` reads as in PyTorch's
# messages ("learning rate" gives "Invalid learning rate: -1 (must be >= 0.0)"); `message`
# replaces the first part for the optimizers whose PyTorch messages are worded otherwise.
def number(what: str, *, low: float | None = 0.0, high: float | None = None,
           low_inclusive: bool = True, high_inclusive: bool = True,
           message: str | None = None) -> Callable[[Any], None]:
    """A real number in [low, high] (either end open, or absent when None)."""
    lower = "" if low is None else f"{'>=' if low_inclusive else '>'} {low}"
    upper = "" if high is None else f"{'<=' if high_inclusive else '<'} {high}"
    if low is not None and high is not None:
        valid = (f"in {'[' if low_inclusive else '('}{low}, {high}"
                 f"{']' if high_inclusive else ')'}")
    else:
        valid = lower or upper or "a real number"

    def check(value: Any) -> None:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"Invalid {what}: {value!r} (must be a real number)")
        ok = value == value  # NaN fails
        if low is not None:
            ok = ok and (value >= low if low_inclusive else value > low)
        if high is not None:
            ok = ok and (value <= high if high_inclusive else value < high)
        if not ok:
            first = message.format(value=value) if message else f"Invalid {what}: {value}"
            raise ValueError(f"{first} (must be {valid})")

    return check


def integer(what: str, *, low: int = 0, high: int | None = None) -> Callable[[Any], None]:
    """An int (not a bool) in [low, high]."""
    def check(value: Any) -> None:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"Invalid {what}: {value!r} (must be an integer)")
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ValueError(f"Invalid {what}: {value} (must be an integer {bound})")

    return check


def flag(what: str) -> Callable[[Any], None]:
    """True or False (a flag given as "yes" or 1 is a mistake)."""
    def check(value: Any) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"Invalid {what}: {value!r} (must be True or False)")

    return check


def choice(what: str, values: tuple[Any, ...]) -> Callable[[Any], None]:
    """One of `values`."""
    def check(value: Any) -> None:
        if not any(value is v or (type(value) is type(v) and value == v) for v in values):
            raise ValueError(f"Invalid {what}: {value!r} (must be one of {values!r})")

    return check


def optional(inner: Callable[[Any], None]) -> Callable[[Any], None]:
    """None, or a value `inner` accepts."""
    def check(value: Any) -> None:
        if value is not None:
            inner(value)

    return check


def pair(what: str, *, length: int = 2) -> Callable[[Any], None]:
    """A tuple or list of `length` real numbers (checked further by the spec's check_group)."""
    def check(value: Any) -> None:
        if (not isinstance(value, (tuple, list)) or len(value) != length
                or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                           for v in value)):
            raise ValueError(f"Invalid {what}: {value!r} (must be {length} real numbers)")

    return check


def betas(what: str = "beta parameter") -> Callable[[Any], None]:
    """Adam-style betas: a pair (β₁, β₂), each in [0, 1)."""
    def check(value: Any) -> None:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise ValueError(f"Invalid betas: {value!r} (must be a pair (beta1, beta2))")
        for index, beta in enumerate(value):
            number(f"{what} at index {index}", high=1.0, high_inclusive=False)(beta)

    return check


# ---------------------------------------------------------------------------- the records
@dataclass(frozen=True)
class Option:
    """One hyperparameter of an algorithm.

    name: the keyword (PyTorch's name where PyTorch has the option). default: the class's
    default, and the rule's (the rules have no defaults of their own). check: a validator (see
    the factories above). doc: one line for the class docstring, `--help` and the guide.
    keyword_only: placed after `*` in the class's signature, as PyTorch places it.
    """

    name: str
    default: Any
    check: Callable[[Any], None]
    doc: str
    keyword_only: bool = False


@dataclass(frozen=True)
class Preset:
    """A name the command line, `make_optimizer` and the lab take for a spec with some options
    fixed ("momentum" is SGD with momentum=0.9), and its learning rate for studies.

    study_lr: the centre of the learning-rate grid `steepest compare` searches (None: the
    spec's). description: one line for `steepest race --list` (None: the spec's summary).
    family: which learning rate a lab surface suggests (None: the spec's).
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    study_lr: float | None = None
    description: str | None = None
    family: str | None = None


@dataclass(frozen=True)
class Swap:
    """Two points of one run, for algorithms that train at one point and evaluate at another
    (schedule-free: gradients at y, the average x for evaluation). Each function moves one
    parameter in place: `to_eval(param, state, **options)` from the training point to the
    evaluation point, `to_train` back. `Optimizer.eval()` / `train()` call them."""

    to_eval: Callable[..., None]
    to_train: Callable[..., None]


@dataclass(frozen=True)
class OptimizerSpec:
    """Everything that defines one optimization algorithm (see the module docstring).

    name: the class name (PyTorch's where PyTorch has it). summary: one line. formula: the update
    in one line of plain text. paper: the citation (authors, year, title, link). year: of the
    paper (the registry lists algorithms in order of publication).
    state: the NamedTuple of the per-parameter state; its field names are the state-dict keys
    (PyTorch's) and its type hints say how to read them back (int, float, array, list).
    init(param, **options) -> state; update(grad, state, param, *, <options>, out) ->
    (delta, state): the pure rule (contract in `steepest.optim.rules`). With needs_closure the
    rule instead optimises all parameters as one flat vector: update(x, evaluate, state,
    **options) -> (loss, state), evaluate(x) -> (loss, flat gradient), x changed in place.
    options: the hyperparameters, in PyTorch's order. elementwise: each output element depends
    only on the same element of the inputs (so a tensor may be updated in chunks).
    study_lr: the default centre of a study's learning-rate grid (`steepest compare`). For
    SGD (1), momentum and Nesterov (0.1), Adagrad (0.1), Adadelta (3), RMSprop (0.03), Adam,
    AdamW and NAdam (0.01) it is the best rate by validation accuracy of a 5-point grid after
    20 epochs of the default MLP on MNIST-1D at batch 100, seed 0 (AdamW tied at 0.003 and
    0.01 and got Adam's; after 50 epochs Nesterov, RMSprop and Adam did best one rung lower:
    short runs favour large rates); each other spec says where its rate comes from.
    family: which of a lab surface's learning rates suits it ("gd", "momentum", "adagrad",
    "adaptive", "adadelta", or one no surface knows, which gets the spec's default lr).
    presets: the names it goes by (default: the lower-case class name).
    fixed: rule arguments the class does not take (AdamW: decoupled_weight_decay=True).
    check_group: checks across options (SGD: nesterov needs momentum), given a group's options.
    param_ndim: the rule takes only parameters with this many dimensions (Muon: 2).
    fallback: the name of the optimizer `make_optimizer` gives the other parameters of a model
    (Muon: "adamw"); the two are stepped and saved as one `MultiOptimizer`.
    swap: the train/eval points (schedule-free). conventions: where libraries differ, which
    convention the rule follows (shown in the class docstring).
    """

    name: str
    summary: str
    formula: str
    paper: str
    year: int
    state: type
    init: Callable[..., Any]
    update: Callable[..., Any]
    options: tuple[Option, ...]
    elementwise: bool
    study_lr: float
    family: str = "adaptive"
    presets: tuple[Preset, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    check_group: Callable[[Mapping[str, Any]], None] | None = None
    param_ndim: int | None = None
    fallback: str | None = None
    needs_closure: bool = False
    swap: Swap | None = None
    conventions: str = ""

    def __post_init__(self) -> None:
        # A spec that contradicts its rule is a programming error: fail at import, loudly.
        names = [option.name for option in self.options]
        if len(set(names)) != len(names) or "lr" not in names:
            raise TypeError(f"spec {self.name}: options must be distinct and include lr: {names}")
        given = set(names) | set(self.fixed)
        taken = set(self.rule_args) | set(self.init_args)
        if given != taken:
            raise TypeError(f"spec {self.name}: the options and fixed values {sorted(given)} "
                            f"must be exactly the keywords of {self.update.__name__} and "
                            f"{self.init.__name__}: {sorted(taken)}")

    # ------------------------------------------------------------------ derived facts
    @functools.cached_property
    def rule_args(self) -> tuple[str, ...]:
        """The keyword arguments the rule takes (its options), in its order."""
        params = inspect.signature(self.update).parameters.values()
        return tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "out")

    @functools.cached_property
    def init_args(self) -> tuple[str, ...]:
        """The options the state initialiser takes (after the parameter)."""
        return tuple(list(inspect.signature(self.init).parameters)[1:])

    @functools.cached_property
    def defaults(self) -> dict[str, Any]:
        """Option name -> default, in the class's order."""
        return {option.name: option.default for option in self.options}

    @functools.cached_property
    def state_fields(self) -> dict[str, str]:
        """State field -> how it is stored: "int", "float", "array", "arrays" (a list of arrays)
        or "floats" (a list of numbers), read from the state NamedTuple's type hints."""
        hints = typing.get_type_hints(self.state)
        kinds = {}
        for name in self.state._fields:
            text = str(hints[name])
            if "list" in text:
                kinds[name] = "arrays" if "ndarray" in text else "floats"
            elif "ndarray" in text:
                kinds[name] = "array"
            elif hints[name] is int:
                kinds[name] = "int"
            elif hints[name] is float or "float" in text:
                kinds[name] = "float"
            else:
                raise TypeError(f"spec {self.name}: state field {name!r} has type {text}; "
                                f"use int, float, np.ndarray or a list of them")
        return kinds

    @functools.cached_property
    def all_presets(self) -> tuple[Preset, ...]:
        """The names this algorithm goes by; the first is its own (lower-case class name)."""
        return self.presets or (Preset(self.name.lower()),)

    @functools.cached_property
    def optimizer_class(self) -> type:
        """The PyTorch-style class: `Class(params, <options in PyTorch's order>, *, ...)`."""
        from steepest.optim.optimizer import optimizer_class

        return optimizer_class(self)

    # ------------------------------------------------------------------ using the rule
    def check(self, options: Mapping[str, Any]) -> None:
        """Validate every option in `options` (a param group, say) and the checks across them."""
        for option in self.options:
            if option.name in options:
                option.check(options[option.name])
        if self.check_group is not None:
            self.check_group({**self.defaults, **options})

    def init_state(self, param: np.ndarray, **options: Any) -> Any:
        """The rule's initial state for `param`, with the defaults for options not given."""
        merged = {**self.defaults, **options}
        return self.init(param, **{name: merged[name] for name in self.init_args})

    def step(self, grad: np.ndarray, state: Any, param: np.ndarray, *,
             out: np.ndarray | None = None, **options: Any) -> tuple[np.ndarray, Any]:
        """Call the rule with the defaults (and fixed values) for options not given."""
        merged = {**self.defaults, **options, **self.fixed}
        return self.update(grad, state, param, out=out,
                           **{name: merged[name] for name in self.rule_args})

    # ------------------------------------------------------------------ words
    def signature_text(self) -> str:
        """`Adam(params, lr=0.001, betas=(0.9, 0.999), ..., *, maximize=False, ...)`."""
        positional = [f"{o.name}={self.defaults[o.name]!r}" for o in self.options
                      if not o.keyword_only]
        keyword = [f"{o.name}={self.defaults[o.name]!r}" for o in self.options if o.keyword_only]
        star = ["*"] if keyword else []
        return f"{self.name}({', '.join(['params', *positional, *star, *keyword])})"

    def doc(self) -> str:
        """The class docstring: summary, formula, paper, conventions, options."""
        lines = [f"{self.summary} ({self.paper}).", "", f"    {self.formula}", ""]
        if self.conventions:
            lines += [self.conventions, ""]
        lines.append(f"Rule: `{self.update.__module__}.{self.update.__name__}` "
                     f"({'elementwise' if self.elementwise else 'not elementwise'}).")
        lines += ["", "Options (default):"]
        for option in self.options:
            lines.append(f"    {option.name} ({self.defaults[option.name]!r}): {option.doc}")
        return "\n".join(lines)

    def help(self) -> str:
        """One line: summary and the paper's year."""
        return f"{self.summary} ({self.year})"


# ---------------------------------------------------------------------------- the registry
@functools.cache
def all_specs() -> tuple[OptimizerSpec, ...]:
    """Every spec in the modules of `steepest.optim.rules`, in order of publication."""
    from steepest.optim import rules

    found: dict[int, OptimizerSpec] = {}
    for module_info in pkgutil.iter_modules(rules.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{rules.__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, OptimizerSpec):
                found[id(value)] = value
    specs = sorted(found.values(), key=lambda s: (s.year, s.name.lower()))
    names = [s.name.lower() for s in specs]
    preset_list = [p.name for s in specs for p in s.all_presets]
    if len(set(names)) != len(names) or len(set(preset_list)) != len(preset_list):
        raise TypeError(f"two optimizer specs share a name: {names} / {preset_list}")
    return tuple(specs)


def get_spec(name: str) -> OptimizerSpec:
    """The spec of a class name ("AdamW", any case) or of a preset name ("momentum")."""
    key = str(name).strip().lower()
    for spec in all_specs():
        if spec.name.lower() == key:
            return spec
    return find_preset(name)[0]


@functools.cache
def presets() -> dict[str, tuple[OptimizerSpec, Preset]]:
    """Every name `--optimizer` takes -> (its spec, its preset), in the registry's order."""
    return {preset.name: (spec, preset) for spec in all_specs() for preset in spec.all_presets}


def preset_names() -> tuple[str, ...]:
    """The names `--optimizer`, `make_optimizer` and the studies take."""
    return tuple(presets())


def find_preset(name: Any) -> tuple[OptimizerSpec, Preset]:
    """(spec, preset) of a name like "momentum" or "AdamW"; ValueError listing the valid ones."""
    key = str(name).strip().lower().replace("_", "-") if isinstance(name, str) else None
    table = presets()
    if key in table:
        return table[key]
    raise ValueError(f"unknown optimizer {name!r}{did_you_mean(str(key), table)}; choose from "
                     f"{list(table)}")


def study_lr(name: str) -> float:
    """The learning rate a study centres its grid on for a preset name."""
    spec, preset = find_preset(name)
    return spec.study_lr if preset.study_lr is None else preset.study_lr


def optimizer_table() -> str:
    """A Markdown table of every algorithm: name, update, paper, defaults and the names the
    command line takes, generated from the specs (the guide prints it)."""
    rows = ["| optimizer | update | paper | defaults | `--optimizer` |",
            "|---|---|---|---|---|"]
    for spec in all_specs():
        defaults = ", ".join(f"{k}={v!r}" for k, v in spec.defaults.items())
        names = ", ".join(f"`{p.name}`" for p in spec.all_presets)
        formula = spec.formula.replace("|", "\\|")
        rows.append(f"| **{spec.name}** | {formula} | {spec.paper} | {defaults} | {names} |")
    return "\n".join(rows)
