"""The optimizer race of `steepest serve`: surfaces, optimizer forms and races, as JSON.

Every path is computed by `steepest.lab.race`, the very function behind `steepest race`, so the
page never re-implements an update rule; `race_command` writes the `steepest race` command that
gives the same paths. A request is checked here, field by field, and a mistake raises
`BadRequest` with a message naming the field (the app answers 400 with it).
"""

from __future__ import annotations

import shlex
from functools import cache, lru_cache
from typing import Any

from steepest.lab import OPTIMIZERS, SURFACES, format_option, get_surface, optimizer_options
from steepest.lab.surfaces import Surface
from steepest.serve.checks import BadRequest, hyperparameters, integer, jsonable, number

#: Bounds of one race request: the page's answer must stay small and quick.
MAX_STEPS = 5000
MAX_GRID = 300
MAX_COORDINATE = 1e6

# Names of optimizer state fields as the page shows them.
STATE_LABELS = {
    "momentum_buffer": "velocity v",
    "exp_avg": "first moment m (velocity)",
    "exp_avg_sq": "second moment v (mean g²)",
    "max_exp_avg_sq": "running max of v (AMSGrad)",
    "sum": "sum of g²",
    "square_avg": "mean of g²",
    "acc_delta": "mean of squared steps",
    "grad_avg": "mean of g (centered)",
}


@cache
def surface(name: str) -> Surface:
    """The surface by name, built once (its minima are found once, by Newton's method)."""
    return get_surface(name)


def _option_json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# ---------------------------------------------------------------------------- what there is
def surfaces_payload() -> list[dict[str, Any]]:
    """Every lab surface: name, formulas, dimension, default start, window, minima, saddles and
    the learning rate it suggests for every optimizer."""
    listed = []
    for name in SURFACES:
        s = surface(name)
        listed.append({
            "name": name, "expression": s.expression, "dim": s.dim, "start": list(s.start),
            "window": [list(pair) for pair in s.window],
            "minima": [{"point": list(m.point), "value": m.value, "global": m.is_global}
                       for m in s.minima],
            "saddles": [list(p) for p in s.saddles],
            "default_lr": {o: s.default_lr(o, spec.family) for o, spec in OPTIMIZERS.items()},
        })
    return listed


def _option_docs(name: str) -> dict[str, str]:
    """One line per option, from the optimizer's spec (none for the random search)."""
    spec = getattr(OPTIMIZERS[name].resolve(), "spec", None)
    return {} if spec is None else {option.name: option.doc for option in spec.options}


def optimizers_payload() -> list[dict[str, Any]]:
    """Every lab optimizer with its hyperparameters, their defaults and docs (lr is per
    surface), derived from the optimizer specs: a new optimizer appears with no edit here."""
    return [{"name": name, "class": named.class_name, "description": named.description,
             "needs_closure": named.needs_closure,
             "options": {k: _option_json(v) for k, v in optimizer_options(name).items()},
             "docs": _option_docs(name)}
            for name, named in OPTIMIZERS.items()]


@lru_cache(maxsize=32)
def _grid(name: str, n: int) -> dict[str, Any]:
    s = surface(name)
    if s.dim == 1:
        x, values = s.grid(n)
        return {"name": name, "dim": 1, "x": jsonable(x), "f": jsonable(values)}
    x, y, values = s.grid(n)
    return {"name": name, "dim": 2, "x": jsonable(x[0]), "y": jsonable(y[:, 0]),
            "z": jsonable(values)}


def surface_grid(name: str, n: int) -> dict[str, Any]:
    """f on an n×n grid over the surface's window (n points in 1-D), for the contour map."""
    if name not in SURFACES:
        raise LookupError(f"no surface {name!r}; the surfaces are: {', '.join(SURFACES)}")
    if not 2 <= n <= MAX_GRID:
        raise BadRequest(f"n must be from 2 to {MAX_GRID}, got {n}")
    return _grid(name, n)


# ---------------------------------------------------------------------------- a race
def parse_race(body: Any) -> dict[str, Any]:
    """Check a race request (see docs/serve.md) and return the arguments of `lab.race`:
    surface, names, steps, start, lrs, options, seed."""
    if not isinstance(body, dict):
        raise BadRequest("the request must be a JSON object")
    unknown = sorted(set(body) - {"surface", "start", "steps", "optimizers", "seed"})
    if unknown:
        raise BadRequest(f"unknown field(s) {unknown}; a race takes surface, start, steps, "
                         f"optimizers and seed")
    name = body.get("surface")
    if name not in SURFACES:
        raise BadRequest(f"surface must be one of: {', '.join(SURFACES)}; got {name!r}")
    s = surface(name)
    steps = integer(body.get("steps", 500), "steps", 1, MAX_STEPS)
    seed = integer(body.get("seed", 0), "seed", 0, 2**63 - 1)
    start = body.get("start", list(s.start))
    if not isinstance(start, list) or len(start) != s.dim:
        raise BadRequest(f"start must be a list of {s.dim} number(s) for {name}, got {start!r}")
    start = [number(c, "start") for c in start]
    if any(abs(c) > MAX_COORDINATE for c in start):
        raise BadRequest(f"start coordinates must be within ±{MAX_COORDINATE:g}, got {start}")
    entries = body.get("optimizers")
    if not isinstance(entries, list) or not 1 <= len(entries) <= len(OPTIMIZERS):
        raise BadRequest(f"optimizers must be a list of 1 to {len(OPTIMIZERS)} entries like "
                         f"{{\"name\": \"adam\", \"options\": {{\"lr\": 0.05}}}}")
    names: list[str] = []
    lrs: dict[str, float] = {}
    options: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or set(entry) - {"name", "options"}:
            raise BadRequest(f"each optimizer is {{\"name\": ..., \"options\": {{...}}}}, got "
                             f"{entry!r}")
        optimizer = entry.get("name")
        if optimizer not in OPTIMIZERS:
            raise BadRequest(f"unknown optimizer {optimizer!r}; choose from "
                             f"{', '.join(OPTIMIZERS)}")
        if optimizer in names:
            raise BadRequest(f"optimizer {optimizer!r} is listed twice")
        names.append(optimizer)
        chosen = hyperparameters(optimizer, entry.get("options", {}), "optimizers")
        if "lr" in chosen:
            lrs[optimizer] = chosen.pop("lr")
        if chosen:
            options[optimizer] = chosen
    return {"surface": name, "names": names, "steps": steps, "start": start, "lrs": lrs,
            "options": options, "seed": seed}


def race_command(race: dict[str, Any]) -> str:
    """The `steepest race` command that computes the same paths: every setting that differs
    from the command's default, numbers written so they read back exactly."""
    from steepest.cli.race import DEFAULT_OPTIMIZERS

    s = surface(race["surface"])
    words = ["steepest", "race", "--surface", race["surface"]]
    if race["names"] != DEFAULT_OPTIMIZERS.split(","):
        words += ["--optimizers", ",".join(race["names"])]
    if race["steps"] != 500:
        words += ["--steps", str(race["steps"])]
    if list(race["start"]) != list(s.start):
        # "=" keeps a negative first coordinate from reading as an option.
        words.append("--start=" + ",".join(repr(float(c)) for c in race["start"]))
    for name in race["names"]:
        lr = race["lrs"].get(name)
        if lr is not None and lr != s.default_lr(name, OPTIMIZERS[name].family):
            words += ["--lr", f"{name}={lr!r}"]
    for name in race["names"]:
        defaults = optimizer_options(name)
        for key, value in race["options"].get(name, {}).items():
            if value != defaults[key]:
                words += ["--option", f"{name}.{key}={format_option(value)}"]
    if race["seed"] != 0:
        words += ["--seed", str(race["seed"])]
    return shlex.join(words)


def run_race(body: Any) -> dict[str, Any]:
    """Parse, race, and lay out the answer: the command, the race table and, per optimizer,
    its path with the internals its rule has (gradients, state fields, effective step sizes)."""
    from steepest.lab import race, race_table

    request = parse_race(body)
    s = surface(request["surface"])
    try:
        paths = race(s, request["names"], request["steps"], start=request["start"],
                     lrs=request["lrs"], options=request["options"], seed=request["seed"])
    except (ValueError, TypeError) as error:  # a hyperparameter the optimizer class refused
        raise BadRequest(str(error)) from None
    answer_paths = []
    for path in paths:
        minimum, distance = s.nearest_minimum(path.final_point)
        answer_paths.append({
            "name": path.name,
            "hyperparameters": {k: _option_json(v) for k, v in path.hyperparameters.items()
                                if k != "generator"},
            "points": jsonable(path.points), "losses": jsonable(path.losses),
            "grads": jsonable(path.grads), "grad_norms": jsonable(path.grad_norms),
            "lrs": jsonable(path.lrs), "step_sizes": jsonable(path.step_sizes()),
            "states": {k: jsonable(v) for k, v in path.states.items()},
            "state_labels": {k: STATE_LABELS.get(k, k) for k in path.states},
            "evaluations": path.evaluations.tolist(),
            "diverged": path.diverged, "steps_taken": path.steps,
            "final_loss": jsonable(path.final_loss),
            "nearest_minimum": None if minimum is None else {
                "point": list(minimum.point), "global": minimum.is_global,
                "distance": jsonable(distance)},
        })
    return {"surface": request["surface"], "start": request["start"],
            "steps": request["steps"], "seed": request["seed"],
            "command": race_command(request), "table": race_table(paths),
            "paths": answer_paths}
