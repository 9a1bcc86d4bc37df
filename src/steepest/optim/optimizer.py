"""`Optimizer`: PyTorch's optimizer API (param groups, step, zero_grad, state dicts) over a spec.

Every algorithm's class (`steepest.optim.Adam`, ...) is made from its `OptimizerSpec` by
`optimizer_class(spec)`: the constructor takes the spec's options in PyTorch's order, validates
them once, and `step()` hands every parameter's update to the optimizer's executor, which runs
the spec's pure rule. Nothing here is specific to one algorithm: what differs lives in the spec.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from steepest.autograd.grad_mode import enable_grad, no_grad
from steepest.optim.executors import Executor, SerialExecutor, Update
from steepest.tensor import Tensor

__all__ = ["Optimizer", "optimizer_class"]


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a PyTorch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _number(value: Any) -> float:
    return float(_to_numpy(value))


def _snapshot(value: Any) -> Any:
    """A copy of a state value that later steps do not change (arrays, lists of arrays)."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    return value


# ---------------------------------------------------------------------------- the base class
class Optimizer:
    """Base of all optimizers, with `torch.optim.Optimizer`'s API.

    params: an iterable of Tensors, of (name, Tensor) pairs (as `module.named_parameters()`
    gives; the names are then kept in each group's "param_names" and used to match state on
    load), or of dicts {"params": ..., option: value} each making a param group with its own
    options (missing options take the constructor's values, kept in `self.defaults`).
    executor: how updates are carried out (default `SerialExecutor()`; see
    `steepest.optim.executors`); also settable later as `optimizer.executor`.

    Attributes: `param_groups` (list of dicts; a scheduler writes `group["lr"]` between steps),
    `state` (parameter -> the rule's NamedTuple state), `defaults`, `spec` (the algorithm).
    """

    #: The algorithm; None only for optimizers that write their own step (RandomSearch).
    spec: ClassVar[Any] = None
    #: Whether `step` must be given a closure (LBFGS's line search, a search by loss values):
    #: the spec's flag for the classes derived from one, or the class's own word.
    needs_closure: ClassVar[bool] = False

    def __init__(self, params: Any, defaults: dict[str, Any], *,
                 executor: Executor | None = None) -> None:
        self._check_options(defaults)
        self.defaults = {k: tuple(v) if isinstance(v, list) else v for k, v in defaults.items()}
        self.state: dict[Tensor, Any] = {}
        self.param_groups: list[dict[str, Any]] = []
        self._delta_buffers: dict[Tensor, np.ndarray] = {}
        self._train_points: dict[Tensor, np.ndarray] = {}  # see _swap
        self._executor: Executor = SerialExecutor()
        if executor is not None:
            self.executor = executor
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or dicts, got a "
                f"single Tensor; wrap it in a list"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ executor
    @property
    def executor(self) -> Executor:
        """What carries out the updates (see `steepest.optim.executors`)."""
        return self._executor

    @executor.setter
    def executor(self, executor: Executor) -> None:
        if not isinstance(executor, Executor):
            raise TypeError(f"executor must be a steepest.optim.executors.Executor, got "
                            f"{executor!r}")
        if self.spec is not None:
            executor.check(self.spec)
        self._executor = executor

    # ------------------------------------------------------------------ validation
    @classmethod
    def _check_options(cls, options: Mapping[str, Any]) -> None:
        """Raise ValueError/TypeError naming a bad hyperparameter value."""
        if cls.spec is not None:
            cls.spec.check(options)
        elif "lr" in options:
            from steepest.optim.spec import number

            number("learning rate")(options["lr"])

    def _check_param(self, param: Tensor) -> None:
        ndim = self.spec.param_ndim if self.spec is not None else None
        if ndim is not None and param.data.ndim != ndim:
            raise ValueError(
                f"{type(self).__name__} only supports {ndim}D parameters whereas we found a "
                f"parameter with size: {param.data.shape}; optimize the others with another "
                f"optimizer (make_optimizer({type(self).__name__.lower()!r}, model) does it "
                f"for you)"
            )

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. unfrozen layers, other lr).

        param_group: {"params": Tensor | iterable of Tensors or (name, Tensor), option: value}.
        Options not given take the constructor's values; all are validated.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            params = [p[1] for p in params]
            group["param_names"] = names
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(param).__name__}"
                )
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if not np.issubdtype(param.data.dtype, np.floating):
                raise TypeError(
                    f"optimizer can only optimize floating-point Tensors, got dtype "
                    f"{param.data.dtype}"
                )
            self._check_param(param)
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        if self.spec is not None and self.spec.swap is not None:
            group.setdefault("train_mode", True)
        self._check_options(group)
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if self.spec is not None and self.spec.needs_closure and self.param_groups:
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options "
                             f"(parameter groups)")
        for other in self.param_groups:
            if ("param_names" in other) != ("param_names" in group):
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    f"group {'with' if 'param_names' in group else 'without'} names to the "
                    "optimizer"
                )
            if not {id(p) for p in other["params"]}.isdisjoint(ids):
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ the loop
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set them to None (default) or fill them with zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; return closure()'s loss or None.

        closure: optional function that re-evaluates the model (zero_grad, forward, backward) and
        returns the loss; it is called once, before the update, with gradients enabled (an
        algorithm that needs it, LBFGS, calls it as often as its line search needs).
        """
        spec = self.spec
        if spec.needs_closure:
            return self._closure_step(closure)
        if spec.swap is not None and not all(g["train_mode"] for g in self.param_groups):
            raise RuntimeError(f"{type(self).__name__}.step() in eval mode: call "
                               f"optimizer.train() before training (and optimizer.eval() "
                               f"before evaluating)")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        updates, owners = [], []
        for index, group in enumerate(self.param_groups):
            options = self._rule_options(group)
            names = group.get("param_names")
            for position, param in enumerate(group["params"]):
                grad = param.grad
                if grad is None:
                    continue
                if isinstance(grad, Tensor):
                    grad = grad.data
                state = self.state.get(param)
                if state is None:
                    state = self._init_state(param.data, group)
                updates.append(Update(param.data, grad, state, options,
                                      self._delta_buffer(param),
                                      names[position] if names else None, index))
                owners.append(param)
        self._executor.run(spec, updates)
        for param, update in zip(owners, updates, strict=True):
            self.state[param] = update.state
        return loss

    def _rule_options(self, group: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.spec
        options = {name: group[name] for name in spec.rule_args if name not in spec.fixed}
        options.update(spec.fixed)
        return options

    def _init_state(self, param: np.ndarray, group: Mapping[str, Any]) -> Any:
        return self.spec.init(param, **{name: group[name] for name in self.spec.init_args})

    def _delta_buffer(self, param: Tensor) -> np.ndarray:
        """A per-parameter scratch array reused every step, so a step allocates nothing."""
        buffer = self._delta_buffers.get(param)
        data = param.data
        if buffer is None or buffer.shape != data.shape or buffer.dtype != data.dtype:
            buffer = np.empty_like(data)
            self._delta_buffers[param] = buffer
        return buffer

    # ------------------------------------------------------------------ closure-driven rules
    def _closure_step(self, closure: Callable[[], Any] | None) -> Any:
        """One step of an algorithm that optimises all parameters as one vector and evaluates
        the loss itself (LBFGS): x is the parameters flattened, evaluate(x) sets them, runs the
        closure and returns (loss, flat gradient)."""
        name = type(self).__name__
        if closure is None:
            raise ValueError(f"{name}.step needs a closure that clears the gradients, computes "
                             f"the loss, calls backward() and returns the loss")
        group = self.param_groups[0]
        params = group["params"]
        sizes = [p.data.size for p in params]
        dtype = np.result_type(*[p.data.dtype for p in params])

        def write(x: np.ndarray) -> None:
            offset = 0
            for param, size in zip(params, sizes, strict=True):
                param.data[...] = x[offset:offset + size].reshape(param.data.shape)
                offset += size

        def evaluate(x: np.ndarray | None) -> tuple[float, np.ndarray]:
            if x is not None:
                write(x)
            with enable_grad():
                loss = closure()
            grads = [np.zeros(p.data.size, dtype) if p.grad is None
                     else _to_numpy(p.grad).reshape(-1) for p in params]
            return loss, np.concatenate(grads).astype(dtype, copy=False)

        x = np.concatenate([p.data.reshape(-1) for p in params]).astype(dtype, copy=False)
        state = self.state.get(params[0])
        if state is None:
            state = self._init_state(params[0].data, group)
        options = self._rule_options(group)
        with no_grad():
            loss, state = self.spec.update(x, evaluate, state, **options)
        write(x)
        self.state[params[0]] = state
        return loss

    # ------------------------------------------------------------------ train / eval points
    def train(self) -> None:
        """Put the parameters at the point the algorithm trains at (schedule-free: y); for most
        algorithms there is one point and this does nothing. The Trainer calls it."""
        self._swap(to_train=True)

    def eval(self) -> None:
        """Put the parameters at the point to evaluate (schedule-free: the average x); call it
        before evaluating or saving the weights, and `train()` before the next step."""
        self._swap(to_train=False)

    def _swap(self, *, to_train: bool) -> None:
        """Move between the two points. eval() keeps the training point's exact values and
        train() puts them back if the parameters are still where eval() left them (checked
        bit for bit), so evaluating, or saving and resuming, never perturbs training by
        rounding; otherwise (new weights loaded, say) train() computes the point."""
        swap = self.spec.swap if self.spec is not None else None
        if swap is None:
            return
        with no_grad():
            for group in self.param_groups:
                if group["train_mode"] == to_train:
                    continue
                options = self._rule_options(group)
                for param in group["params"]:
                    state = self.state.get(param)
                    if state is None:
                        continue
                    if not to_train:
                        self._train_points[param] = param.data.copy()
                        swap.to_eval(param.data, state, **options)
                        continue
                    kept = self._train_points.pop(param, None)
                    if kept is not None:
                        moved = kept.copy()
                        swap.to_eval(moved, state, **options)
                        if np.array_equal(moved, param.data):
                            param.data[...] = kept
                            continue
                    swap.to_train(param.data, state, **options)
                group["train_mode"] = to_train

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """A snapshot: {"state": {id: {field: value}}, "param_groups": [{option: value,
        "params": [id, ...], "param_names": [...] if named}]}.

        As in PyTorch, parameters are numbered 0, 1, ... in group order and state is keyed by
        that number; the arrays are copies, so the snapshot does not change as training goes on.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                if param in self.state:
                    state[index[id(param)]] = {
                        field: _snapshot(value)
                        for field, value in self.state[param]._asdict().items()
                    }
        extra = self._extra_state()
        if self._train_points:
            extra["train_points"] = {index[id(p)]: value.copy()
                                     for p, value in self._train_points.items()}
        return {"state": state, "param_groups": groups, **extra}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore options and state saved by `state_dict()` (of this class, or PyTorch's).

        Parameters are matched by name when both this optimizer and the saved groups have
        "param_names", otherwise by position. Every state array's shape is checked against its
        parameter and cast to the parameter's dtype; nothing changes unless all checks pass.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{where}: expected a dict with 'state' and 'param_groups'")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{where}: loaded state dict has {len(saved_groups)} parameter groups but the "
                f"optimizer has {len(self.param_groups)}"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"{where}: loaded parameter group {i} has {len(saved['params'])} parameters "
                    f"but the optimizer's has {len(group['params'])}"
                )
        by_id = self._match_saved_ids(saved_groups, where)
        new_state = {}
        for key, fields in state_dict["state"].items():
            if int(key) not in by_id:
                raise ValueError(f"{where}: state for parameter id {key} matches no parameter")
            name, param, group = by_id[int(key)]
            new_state[param] = self._state_from_dict(fields, param, group, name, where)
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            restored = {k: v for k, v in group.items() if k != "params"}
            restored.update(
                {k: copy.deepcopy(v) for k, v in saved.items() if k not in ("params",
                                                                            "param_names")}
            )
            self._check_options(restored)
            restored["params"] = group["params"]
            new_groups.append(restored)
        train_points = {}
        for key, value in dict(state_dict.get("train_points") or {}).items():
            name, param, _ = by_id[int(key)]
            array = _to_numpy(value)
            if array.shape != param.data.shape:
                raise ValueError(f"{where}: the training point of parameter {name} has shape "
                                 f"{array.shape} but the parameter has {param.data.shape}")
            train_points[param] = array.astype(param.data.dtype, copy=True)
        self._load_extra_state(state_dict)
        self.state = new_state
        self.param_groups = new_groups
        self._train_points = train_points

    def _match_saved_ids(self, saved_groups: list,
                         where: str) -> dict[int, tuple[str, Tensor, dict]]:
        """Saved parameter id -> (name for messages, this optimizer's parameter, its group)."""
        named = all("param_names" in g for g in self.param_groups + saved_groups)
        by_id = {}
        if named:
            by_name = {name: (param, group) for group in self.param_groups
                       for name, param in zip(group["param_names"], group["params"], strict=True)}
            for saved in saved_groups:
                for pid, name in zip(saved["params"], saved["param_names"], strict=True):
                    if name not in by_name:
                        raise ValueError(
                            f"{where}: saved parameter {name!r} is not among this optimizer's "
                            f"parameters {sorted(by_name)}"
                        )
                    by_id[int(pid)] = (repr(name), *by_name[name])
            return by_id
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            for pi, (pid, param) in enumerate(zip(saved["params"], group["params"], strict=True)):
                by_id[int(pid)] = (f"{pi} of group {gi}", param, group)
        return by_id

    def _state_from_dict(self, fields: Mapping[str, Any], param: Tensor, group: Mapping[str, Any],
                         name: str, where: str) -> Any:
        """The spec's state type from saved fields: scalars as int/float, arrays (and lists of
        arrays) cast to the parameter's dtype, each shape checked against a fresh state's."""
        spec = self.spec
        if spec is None:
            raise ValueError(f"{where}: {type(self).__name__} keeps no per-parameter state")
        state_type = spec.state
        unknown = sorted(set(fields) - set(state_type._fields))
        missing = [f for f in state_type._fields
                   if f not in fields and f not in state_type._field_defaults]
        if unknown or missing:
            raise ValueError(
                f"{where}: state of parameter {name} has unknown fields {unknown} and lacks "
                f"{missing}; {state_type.__name__} has {list(state_type._fields)}"
            )
        fresh = self._init_state(param.data, group)._asdict()
        if spec.needs_closure:  # one vector of every parameter, kept with the first
            size = sum(p.data.size for g in self.param_groups for p in g["params"])
            default_shape: tuple[int, ...] = (size,)
        else:
            default_shape = param.data.shape

        def array(value: Any, field: str) -> np.ndarray:
            result = _to_numpy(value)
            expected = (fresh[field].shape if isinstance(fresh.get(field), np.ndarray)
                        else default_shape)
            if result.shape != expected:
                raise ValueError(
                    f"{where}: state {field!r} of parameter {name} has shape {result.shape} but "
                    f"{'the parameter has' if expected == param.data.shape else 'it must have'} "
                    f"shape {expected}"
                )
            return result.astype(param.data.dtype, copy=True)

        values = {}
        for field, kind in spec.state_fields.items():
            value = fields.get(field, state_type._field_defaults.get(field))
            if value is None:
                values[field] = None
            elif kind == "int":
                values[field] = int(round(_number(value)))
            elif kind == "float":
                values[field] = _number(value)
            elif kind == "array":
                values[field] = array(value, field)
            elif kind == "arrays":
                values[field] = [array(v, field) for v in value]
            else:
                values[field] = [None if v is None else _number(v) for v in value]
        return state_type(**values)

    def _extra_state(self) -> dict[str, Any]:
        """Optimizer-wide state beyond the per-parameter one (none here; see RandomSearch)."""
        return {}

    def _load_extra_state(self, state_dict: Mapping[str, Any]) -> None:
        return None

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


_SET_MESSAGE = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of "
    "tensors in sets will change between runs. Please use a list instead."
)


# ---------------------------------------------------------------------------- derived classes
def optimizer_class(spec: Any) -> type:
    """The PyTorch-style class of a spec: `Name(params, <options in order>, *, <keyword-only
    options>, executor=None)`, with the spec's defaults and a docstring made from it."""
    P = inspect.Parameter
    parameters = [P("self", P.POSITIONAL_OR_KEYWORD), P("params", P.POSITIONAL_OR_KEYWORD)]
    parameters += [P(o.name, P.POSITIONAL_OR_KEYWORD, default=o.default)
                   for o in spec.options if not o.keyword_only]
    parameters += [P(o.name, P.KEYWORD_ONLY, default=o.default)
                   for o in spec.options if o.keyword_only]
    parameters.append(P("executor", P.KEYWORD_ONLY, default=None))
    signature = inspect.Signature(parameters)
    names = [o.name for o in spec.options]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{spec.name}(): {error}") from None
        bound.apply_defaults()
        arguments = bound.arguments
        Optimizer.__init__(self, arguments["params"], {n: arguments[n] for n in names},
                           executor=arguments["executor"])

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{spec.name}.__init__"
    return type(spec.name, (Optimizer,), {
        "__init__": __init__, "__doc__": spec.doc(), "__module__": "steepest.optim",
        "__qualname__": spec.name, "spec": spec, "needs_closure": spec.needs_closure,
    })
