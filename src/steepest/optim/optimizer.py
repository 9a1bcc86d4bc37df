"""`Optimizer`: PyTorch's optimizer API (param groups, step, zero_grad, state dicts) over the rules.

A concrete optimizer is a thin loop: for every parameter with a gradient it calls its pure update
rule from `steepest.optim.rules` with the group's options and adds the returned delta in place.
It declares four things: the rule (`_rule`), the group keys passed to it (`_rule_options`), the
rule's state initialiser and its keys (`_init`, `_init_options`) and the state type (`_state_type`).
"""

from __future__ import annotations

import copy
import numbers
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np

from steepest.autograd.grad_mode import enable_grad
from steepest.tensor import Tensor

# State fields that are Python scalars (everything else is an array shaped like the parameter).
_SCALAR_FIELDS = {"step": int, "mu_product": float}


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _thread_pool(threads: int) -> ThreadPoolExecutor:
    """One shared pool per thread count, started on first use."""
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="steepest-optim")
    return _POOLS[threads]


# ---------------------------------------------------------------------------- validation helpers
def check_number(value: Any, what: str, *, low: float = 0.0, high: float | None = None,
                 high_inclusive: bool = True) -> None:
    """Raise unless `value` is a real number in [low, high] (or [low, high) when not inclusive).

    The message starts like PyTorch's ("Invalid learning rate: -1") and says what is valid.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {what}: {value!r} (must be a real number)")
    ok = low <= value
    if high is not None:
        ok = ok and (value <= high if high_inclusive else value < high)
    if not ok:  # also catches NaN, which fails every comparison
        if high is None:
            valid = f">= {low}"
        else:
            valid = f"in [{low}, {high}{']' if high_inclusive else ')'}"
        raise ValueError(f"Invalid {what}: {value} (must be {valid})")


def check_bool(value: Any, what: str) -> None:
    """Raise TypeError unless `value` is a bool (a flag given as "yes" or 1 is a mistake)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Invalid {what}: {value!r} (must be True or False)")


def check_betas(betas: Any) -> None:
    """Adam-style betas: a pair, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (must be a pair (beta1, beta2))")
    for index, beta in enumerate(betas):
        check_number(beta, f"beta parameter at index {index}", high=1.0, high_inclusive=False)


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a PyTorch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


# ---------------------------------------------------------------------------- the base class
class Optimizer:
    """Base of all optimizers, with `torch.optim.Optimizer`'s API.

    params: an iterable of Tensors, of (name, Tensor) pairs (as `module.named_parameters()`
    gives; the names are then kept in each group's "param_names" and used to match state on
    load), or of dicts {"params": ..., option: value} each making a param group with its own
    options (missing options take the constructor's values, kept in `self.defaults`).

    Attributes: `param_groups` (list of dicts; a scheduler writes `group["lr"]` between steps),
    `state` (parameter → the rule's NamedTuple state), `defaults`.
    """

    #: Parameters with more elements than this are updated chunk by chunk (see `_update`);
    #: None updates each parameter whole.
    chunk_size: ClassVar[int | None] = 1 << 18
    #: Threads that update chunks at once.
    threads: ClassVar[int] = min(os.cpu_count() or 1, 8)

    _rule: ClassVar[Callable[..., Any]]
    _rule_options: ClassVar[tuple[str, ...]] = ()
    _init: ClassVar[Callable[..., Any]]
    _init_options: ClassVar[tuple[str, ...]] = ()
    _state_type: ClassVar[type]

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self._check_options(defaults)
        self.defaults = dict(defaults)
        self.state: dict[Tensor, Any] = {}
        self.param_groups: list[dict[str, Any]] = []
        self._delta_buffers: dict[Tensor, np.ndarray] = {}
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

    # ------------------------------------------------------------------ hooks for subclasses
    @classmethod
    def _check_options(cls, options: Mapping[str, Any]) -> None:
        """Raise ValueError/TypeError naming a bad hyperparameter value (subclasses extend)."""
        if "lr" in options:
            check_number(options["lr"], "learning rate")

    def _init_state(self, param: np.ndarray, group: Mapping[str, Any]) -> Any:
        return type(self)._init(param, **{name: group[name] for name in self._init_options})

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
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
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
        returns the loss; it is called once, before the update, with gradients enabled.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            options = {name: group[name] for name in self._rule_options}
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if isinstance(grad, Tensor):
                    grad = grad.data
                state = self.state.get(param)
                if state is None:
                    state = self._init_state(param.data, group)
                self.state[param] = self._update(param, grad, state, options)
        return loss

    def _update(self, param: Tensor, grad: np.ndarray, state: Any, options: dict) -> Any:
        """Run the rule on one parameter and add its delta in place; return the new state.

        A large parameter is updated in chunks of `chunk_size` elements, on `threads` threads
        (NumPy releases the GIL inside ufuncs). The step is memory-bound and a rule makes
        several passes over its arrays; chunk by chunk those passes hit the cache, so memory
        is read and written about once. The rules are elementwise, so the numbers are the
        same bit for bit.
        """
        rule = type(self)._rule
        data = param.data
        delta = self._delta_buffer(param)
        arrays = {name: value for name, value in state._asdict().items()
                  if isinstance(value, np.ndarray)}
        chunk = self.chunk_size
        if (chunk is None or data.size <= chunk or not data.flags.c_contiguous
                or not grad.flags.c_contiguous
                or not all(a.flags.c_contiguous and a.shape == data.shape
                           for a in arrays.values())):
            delta, state = rule(grad, state, data, out=delta, **options)
            np.add(data, delta, out=data)
            return state
        flat = (data.reshape(-1), grad.reshape(-1), delta.reshape(-1))
        flat_arrays = {name: a.reshape(-1) for name, a in arrays.items()}

        def update_chunk(start: int) -> Any:
            part = slice(start, start + chunk)
            param_part, grad_part, delta_part = (a[part] for a in flat)
            state_part = state._replace(**{n: a[part] for n, a in flat_arrays.items()})
            delta_part, new_state = rule(grad_part, state_part, param_part, out=delta_part,
                                         **options)
            np.add(param_part, delta_part, out=param_part)
            return new_state

        starts = range(0, data.size, chunk)
        if self.threads > 1:
            parts = list(_thread_pool(self.threads).map(update_chunk, starts))
        else:
            parts = [update_chunk(start) for start in starts]
        # Arrays were updated in place through the chunk views; an array the rule created
        # (a buffer that starts on first use) is put together from its chunks. Scalars (the
        # step count) are the same in every chunk.
        merged = {}
        for name, value in parts[0]._asdict().items():
            if name in flat_arrays:
                merged[name] = arrays[name]
            elif isinstance(value, np.ndarray):
                merged[name] = np.concatenate([p._asdict()[name] for p in parts]).reshape(
                    data.shape)
            else:
                merged[name] = value
        return state._replace(**merged)

    def _delta_buffer(self, param: Tensor) -> np.ndarray:
        """A per-parameter scratch array reused every step, so a step allocates nothing."""
        buffer = self._delta_buffers.get(param)
        data = param.data
        if buffer is None or buffer.shape != data.shape or buffer.dtype != data.dtype:
            buffer = np.empty_like(data)
            self._delta_buffers[param] = buffer
        return buffer

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
                        field: (np.array(value, copy=True) if isinstance(value, np.ndarray)
                                else value)
                        for field, value in self.state[param]._asdict().items()
                    }
        return {"state": state, "param_groups": groups, **self._extra_state()}

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
            name, param = by_id[int(key)]
            new_state[param] = self._state_from_dict(fields, param, name, where)
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
        self._load_extra_state(state_dict)
        self.state = new_state
        self.param_groups = new_groups

    def _match_saved_ids(self, saved_groups: list, where: str) -> dict[int, tuple[str, Tensor]]:
        """Saved parameter id → (name for messages, this optimizer's parameter)."""
        named = all("param_names" in g for g in self.param_groups + saved_groups)
        by_id = {}
        if named:
            by_name = {name: param for group in self.param_groups
                       for name, param in zip(group["param_names"], group["params"], strict=True)}
            for saved in saved_groups:
                for pid, name in zip(saved["params"], saved["param_names"], strict=True):
                    if name not in by_name:
                        raise ValueError(
                            f"{where}: saved parameter {name!r} is not among this optimizer's "
                            f"parameters {sorted(by_name)}"
                        )
                    by_id[int(pid)] = (repr(name), by_name[name])
            return by_id
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            for pi, (pid, param) in enumerate(zip(saved["params"], group["params"], strict=True)):
                by_id[int(pid)] = (f"{pi} of group {gi}", param)
        return by_id

    def _state_from_dict(self, fields: Mapping[str, Any], param: Tensor, name: str,
                         where: str) -> Any:
        state_type = self._state_type
        unknown = sorted(set(fields) - set(state_type._fields))
        missing = [f for f in state_type._fields
                   if f not in fields and f not in state_type._field_defaults]
        if unknown or missing:
            raise ValueError(
                f"{where}: state of parameter {name} has unknown fields {unknown} and lacks "
                f"{missing}; {state_type.__name__} has {list(state_type._fields)}"
            )
        values = {}
        for field in state_type._fields:
            value = fields.get(field, state_type._field_defaults.get(field))
            if value is None:
                values[field] = None
            elif field in _SCALAR_FIELDS:
                scalar = float(_to_numpy(value))
                values[field] = int(round(scalar)) if _SCALAR_FIELDS[field] is int else scalar
            else:
                array = _to_numpy(value)
                if array.shape != param.data.shape:
                    raise ValueError(
                        f"{where}: state {field!r} of parameter {name} has shape {array.shape} "
                        f"but the parameter has shape {param.data.shape}"
                    )
                values[field] = array.astype(param.data.dtype, copy=True)
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

