"""`MultiOptimizer`: several optimizers over disjoint parameters, stepped and saved as one.

Muon takes only weight matrices; the biases and gains of the same model need another optimizer
(PyTorch's documentation and Keller Jordan's reference pair it with AdamW). `make_optimizer`
builds the pair for a spec with `param_ndim` and a `fallback`; anything written for one
optimizer (the Trainer, the schedulers, checkpoints) takes the pair unchanged: `param_groups`
lists every group of every optimizer (the same dicts, so a scheduler's writes reach them), and
`state_dict()` is one PyTorch-format dict with the parameters numbered across the optimizers.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from steepest.autograd.grad_mode import enable_grad

__all__ = ["MultiOptimizer"]


class MultiOptimizer:
    """The optimizers given, in order, behaving as one optimizer.

    optimizers: steepest optimizers over disjoint parameters. `step(closure)` calls the closure
    once, then steps each optimizer; `zero_grad`, `train`, `eval` reach every one.
    """

    def __init__(self, optimizers: Sequence[Any]) -> None:
        optimizers = list(optimizers)
        if not optimizers:
            raise ValueError("MultiOptimizer needs at least one optimizer")
        seen: set[int] = set()
        for optimizer in optimizers:
            if getattr(optimizer.spec, "needs_closure", False):
                raise ValueError(f"MultiOptimizer cannot hold {type(optimizer).__name__}: its "
                                 f"step evaluates the closure itself")
            ids = {id(p) for g in optimizer.param_groups for p in g["params"]}
            if ids & seen:
                raise ValueError("MultiOptimizer: a parameter is in two of the optimizers")
            seen |= ids
        self.optimizers = optimizers

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """Every group of every optimizer, in order (the optimizers' own dicts)."""
        return [group for optimizer in self.optimizers for group in optimizer.param_groups]

    @property
    def state(self) -> Mapping[Any, Any]:
        return ChainMap(*(optimizer.state for optimizer in self.optimizers))

    @property
    def defaults(self) -> dict[str, Any]:
        """The first optimizer's (the algorithm the pair is named after)."""
        return self.optimizers[0].defaults

    @property
    def spec(self) -> Any:
        return self.optimizers[0].spec

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for optimizer in self.optimizers:
            optimizer.step()
        return loss

    def train(self) -> None:
        for optimizer in self.optimizers:
            optimizer.train()

    def eval(self) -> None:
        for optimizer in self.optimizers:
            optimizer.eval()

    def _counts(self) -> list[tuple[int, int]]:
        """(groups, parameters) of each optimizer."""
        return [(len(o.param_groups), sum(len(g["params"]) for g in o.param_groups))
                for o in self.optimizers]

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's format over all the optimizers: parameters numbered 0, 1, ... across them,
        groups in order."""
        state: dict[int, Any] = {}
        groups: list[dict[str, Any]] = []
        extras: list[dict[str, Any]] = []
        offset = 0
        for optimizer, (_, count) in zip(self.optimizers, self._counts(), strict=True):
            saved = optimizer.state_dict()
            state.update({offset + int(k): v for k, v in saved["state"].items()})
            for group in saved["param_groups"]:
                groups.append({**group, "params": [offset + i for i in group["params"]]})
            extras.append({k: v for k, v in saved.items() if k not in ("state", "param_groups")})
            offset += count
        result: dict[str, Any] = {"state": state, "param_groups": groups}
        if any(extras):  # each optimizer's own extras (numbered within it)
            result["optimizers"] = extras
        return result

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict()` saved; each optimizer checks its part (nothing changes
        unless every part loads)."""
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError("MultiOptimizer.load_state_dict: expected a dict with 'state' and "
                             "'param_groups'")
        saved_groups = list(state_dict["param_groups"])
        counts = self._counts()
        if len(saved_groups) != sum(g for g, _ in counts):
            raise ValueError(f"MultiOptimizer.load_state_dict: loaded state dict has "
                             f"{len(saved_groups)} parameter groups but the optimizers have "
                             f"{sum(g for g, _ in counts)}")
        total = sum(c for _, c in counts)
        stray = sorted(int(k) for k in state_dict["state"] if not 0 <= int(k) < total)
        if stray:
            raise ValueError(f"MultiOptimizer.load_state_dict: state for parameter ids {stray} "
                             f"matches no parameter (there are {total})")
        before = [optimizer.state_dict() for optimizer in self.optimizers]
        loaded = 0
        group_start = offset = 0
        try:
            for optimizer, (groups, count) in zip(self.optimizers, counts, strict=True):
                part_groups = [{**g, "params": [int(i) - offset for i in g["params"]]}
                               for g in saved_groups[group_start:group_start + groups]]
                part_state = {int(k) - offset: v for k, v in state_dict["state"].items()
                              if offset <= int(k) < offset + count}
                extra = (state_dict.get("optimizers") or [{}] * len(self.optimizers))[loaded]
                optimizer.load_state_dict({**extra, "state": part_state,
                                           "param_groups": part_groups})
                loaded += 1
                group_start += groups
                offset += count
        except (ValueError, TypeError):
            for optimizer, saved in zip(self.optimizers[:loaded], before, strict=False):
                optimizer.load_state_dict(saved)
            raise

    def __repr__(self) -> str:
        return "MultiOptimizer(\n" + "\n".join(repr(o) for o in self.optimizers) + "\n)"
