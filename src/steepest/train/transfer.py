"""Transfer learning: load pretrained weights, freeze layers, replace the head, per-layer lrs.

The lectures' recipe: start from a network trained on a large dataset, swap its classifier for
one with the new number of classes, train the new head with the rest frozen, then fine-tune the
last few layers (or all of them) with a smaller learning rate for the pretrained part.

    model = steepest.models.lenet(num_classes=10)
    report = load_pretrained(model, "lenet_mnist.safetensors")   # steepest's or PyTorch's file
    replace_head(model, num_classes=5)
    fine_tune_last(model, 2)                                      # only the last two layers train
    optimizer = SGD(param_groups_by_lr(model, {"7.": 1e-3}, default_lr=1e-2), momentum=0.9)

Freezing sets `requires_grad = False`: backward computes no gradient for those parameters, an
optimizer skips them, and `param_groups_by_lr` leaves them out. BatchNorm's running statistics
are buffers, not parameters, so they still update in train mode; call `.eval()` on those layers
to fix them too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np

from steepest.nn.linear import Linear
from steepest.nn.module import Module, _to_numpy
from steepest.nn.parameter import Parameter

__all__ = [
    "LoadReport", "fine_tune_last", "freeze", "load_pretrained", "param_groups_by_lr",
    "replace_head", "unfreeze",
]


@dataclass(frozen=True)
class LoadReport:
    """What `load_pretrained` did, by state_dict key.

    loaded: keys copied into the model. missing: model keys the file lacks (left as they were).
    unexpected: file keys the model lacks (ignored). mismatched: (key, shape in the file, shape
    in the model) for keys present in both with different shapes (skipped), e.g. a classifier
    for another number of classes.
    """

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"loaded {len(self.loaded)} tensors"]
        if self.missing:
            lines.append(f"missing (kept the model's): {', '.join(self.missing)}")
        if self.unexpected:
            lines.append(f"unexpected (ignored): {', '.join(self.unexpected)}")
        for key, theirs, ours in self.mismatched:
            lines.append(f"shape mismatch (skipped): {key} {theirs} in the file, {ours} in the "
                         f"model")
        return "\n".join(lines)


def _map_keys(state: Mapping[str, Any],
              key_map: Mapping[str, str] | Callable[[str], str | None] | None) -> dict[str, Any]:
    if key_map is None:
        return dict(state)
    mapped: dict[str, Any] = {}
    for key, value in state.items():
        if callable(key_map):
            new = key_map(key)
        else:
            new = key
            # the longest matching prefix wins, so {"backbone.": "", "backbone.fc.": "head."}
            # does what it says
            for old in sorted(key_map, key=len, reverse=True):
                if key.startswith(old):
                    new = key_map[old] + key[len(old):]
                    break
        if new is None:
            continue
        if new in mapped:
            raise ValueError(f"load_pretrained: key_map maps two keys of the file to {new!r}")
        mapped[new] = value
    return mapped


def load_pretrained(model: Module, path_or_state_dict: str | PathLike | Mapping[str, Any], *,
                    strict: bool = False, skip_mismatched: bool = True,
                    key_map: Mapping[str, str] | Callable[[str], str | None] | None = None,
                    ) -> LoadReport:
    """Copy pretrained weights into `model` by state_dict key; return a `LoadReport`.

    path_or_state_dict: a safetensors file (a steepest checkpoint, or a PyTorch state_dict saved
    with `safetensors.torch.save_file`, PyTorch key names), read by `steepest.io.load_state_dict`;
    or a mapping key -> array (NumPy arrays, steepest or PyTorch tensors).
    key_map: renames the file's keys before matching: {old_prefix: new_prefix} (longest prefix
    first; {"module.": ""} strips DataParallel's prefix) or a function key -> new key (None drops
    the key).
    strict: raise ValueError unless every key matches in both directions with equal shapes.
    skip_mismatched: skip (and report) keys whose shapes differ, e.g. the old classifier; False
    raises ValueError instead. Values are cast to the model's dtypes. Nothing is changed unless
    every check passes.
    """
    if not isinstance(model, Module):
        raise TypeError(f"load_pretrained needs a Module, got {type(model).__name__}")
    if isinstance(path_or_state_dict, Mapping):
        state = path_or_state_dict
        source = "the state dict"
    else:
        from steepest.io import load_state_dict

        state = load_state_dict(path_or_state_dict)
        source = str(path_or_state_dict)
    state = _map_keys(state, key_map)
    tensors = dict(model.named_parameters())
    tensors.update(model.named_buffers())
    own = {key: tensors[key] for key in model.state_dict()}  # PyTorch's order
    values: dict[str, np.ndarray] = {}
    mismatched, missing = [], []
    for key, tensor in own.items():  # in the model's order (a file's order is alphabetical)
        if key not in state:
            missing.append(key)
            continue
        array = _to_numpy(state[key])
        if array.shape != tensor.data.shape:
            mismatched.append((key, tuple(array.shape), tuple(tensor.data.shape)))
            continue
        values[key] = array
    unexpected = [key for key in state if key not in own]
    report = LoadReport(loaded=list(values), missing=missing, unexpected=unexpected,
                        mismatched=mismatched)
    if strict and (missing or unexpected or mismatched):
        raise ValueError(
            f"load_pretrained(strict=True): {source} does not match {type(model).__name__}:\n"
            f"{report}\nPass strict=False to load what matches, or key_map to rename keys"
        )
    if mismatched and not skip_mismatched:
        details = "; ".join(f"{k}: {a} in the file, {b} in the model" for k, a, b in mismatched)
        raise ValueError(
            f"load_pretrained: shapes differ for {details}. Pass skip_mismatched=True to keep "
            f"the model's values for those (e.g. a new head), or replace_head(model, n) first"
        )
    for key, array in values.items():
        target = own[key].data
        target[...] = array.astype(target.dtype, copy=False)
    return report


# ---------------------------------------------------------------------------- freezing
def _prefix_list(prefixes: str | Iterable[str] | None) -> list[str] | None:
    if prefixes is None:
        return None
    if isinstance(prefixes, str):
        return [prefixes]
    return list(prefixes)


def _matches(name: str, prefix: str) -> bool:
    """`name` is `prefix` or lies inside it ("1" matches "1.weight", not "10.weight")."""
    if prefix == "":
        return True
    if prefix.endswith("."):
        return name.startswith(prefix)
    return name == prefix or name.startswith(prefix + ".")


def _set_requires_grad(module: Module, prefixes: str | Iterable[str] | None, flag: bool,
                       where: str) -> list[str]:
    if not isinstance(module, Module):
        raise TypeError(f"{where} needs a Module, got {type(module).__name__}")
    wanted = _prefix_list(prefixes)
    named = list(module.named_parameters())
    if wanted is not None:
        names = [n for n, _ in named]
        unused = [p for p in wanted if not any(_matches(n, p) for n in names)]
        if unused:
            layers = sorted({n.rsplit(".", 1)[0] for n in names if "." in n})
            raise ValueError(
                f"{where}: no parameter name starts with {unused}; the model's parameterised "
                f"modules are {layers}"
            )
    changed = []
    for name, param in named:
        if wanted is None or any(_matches(name, p) for p in wanted):
            param.requires_grad_(flag)
            if not flag:
                param.grad = None  # a stale gradient would still be applied by optimizer.step
            changed.append(name)
    return changed


def freeze(module: Module, prefixes: str | Iterable[str] | None = None) -> list[str]:
    """Stop training parameters: requires_grad = False (and .grad = None); return their names.

    prefixes: None freezes every parameter; otherwise a name or names of submodules or
    parameters as in `named_parameters()` ("0", "features.3", "1.weight"); "1" covers "1.weight"
    but not "10.weight". A prefix that matches nothing raises ValueError.
    """
    return _set_requires_grad(module, prefixes, False, "freeze")


def unfreeze(module: Module, prefixes: str | Iterable[str] | None = None) -> list[str]:
    """Train parameters again (requires_grad = True); `prefixes` as in `freeze`."""
    return _set_requires_grad(module, prefixes, True, "unfreeze")


# ---------------------------------------------------------------------------- heads and layers
def _parameterised_layers(model: Module) -> list[tuple[str, Module]]:
    """Modules holding parameters of their own, in `named_modules()` order (forward order for
    Sequential models and for modules that assign their layers in the order they use them)."""
    return [(name, module) for name, module in model.named_modules()
            if any(p is not None for p in module._parameters.values())]


def replace_head(model: Module, num_classes: int, *,
                 generator: np.random.Generator | None = None) -> Linear:
    """Replace the last `nn.Linear` of `model` by a fresh Linear(in_features, num_classes).

    The new layer has the old one's in_features, bias and dtype, PyTorch's default
    initialisation (from `generator`) and requires_grad True; every other weight is kept.
    Returns the new layer. Build the optimizer after this: the old head's parameters are gone.
    """
    if not isinstance(model, Module):
        raise TypeError(f"replace_head needs a Module, got {type(model).__name__}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be an integer >= 1, got "
                         f"{num_classes!r}")
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, Linear)]
    if not linears:
        raise ValueError(f"replace_head: {type(model).__name__} has no nn.Linear layer to replace")
    name, old = linears[-1]
    if name == "":
        raise ValueError("replace_head: the model itself is the Linear layer; build a new one")
    head = Linear(old.in_features, int(num_classes), bias=old.bias is not None,
                  dtype=old.weight.dtype, generator=generator)
    parent_name, _, child = name.rpartition(".")
    parent = dict(model.named_modules())[parent_name]
    # Writing _modules[child] in place keeps the child's position (Module.__setattr__ would
    # move it to the end, which reorders a Sequential).
    parent._modules[child] = head
    object.__setattr__(parent, child, head)
    return head


def fine_tune_last(model: Module, n: int) -> list[str]:
    """Train only the last `n` parameterised layers; freeze the rest. Return the trained layers.

    A parameterised layer is a module with parameters of its own (Linear, Conv, BatchNorm, ...),
    counted in `named_modules()` order. n = 0 freezes everything. Layers beyond the last n are
    frozen even if they were trainable, and the last n are unfrozen.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"fine_tune_last: n must be an integer >= 0, got {n!r}")
    layers = _parameterised_layers(model)
    if n > len(layers):
        raise ValueError(
            f"fine_tune_last: n={n} but {type(model).__name__} has only {len(layers)} "
            f"parameterised layers: {[name for name, _ in layers]}"
        )
    keep = len(layers) - n
    for index, (_, layer) in enumerate(layers):
        for param in layer._parameters.values():
            if param is None:
                continue
            param.requires_grad_(index >= keep)
            if index < keep:
                param.grad = None
    return [name for name, _ in layers[keep:]]


def param_groups_by_lr(model: Module, lrs: Mapping[str, float], default_lr: float | None = None,
                       *, named: bool = True) -> list[dict[str, Any]]:
    """Param groups giving parts of `model` their own learning rate, for any optimizer.

    lrs: {prefix: lr} with prefixes as in `freeze` ("0", "features", "7.weight"); a parameter
    takes the lr of the longest prefix it matches. Every other trainable parameter goes in a
    last group with `default_lr` (None: no "lr" key, so the optimizer's lr applies). Frozen
    parameters (requires_grad False) are left out; empty groups are dropped. A prefix matching
    no trainable parameter raises ValueError.
    Returns [{"params": [(name, Parameter), ...], "lr": lr}, ...] in the order of `lrs`, the
    default group last; with named=False the params are bare Parameters.
    """
    if not isinstance(model, Module):
        raise TypeError(f"param_groups_by_lr needs a Module, got {type(model).__name__}")
    for prefix, lr in lrs.items():
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not lr >= 0:
            raise ValueError(f"param_groups_by_lr: learning rate for {prefix!r} must be a "
                             f"number >= 0, got {lr!r}")
    buckets: dict[str | None, list[tuple[str, Parameter]]] = {p: [] for p in lrs}
    buckets[None] = []
    by_length = sorted(lrs, key=len, reverse=True)
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        prefix = next((p for p in by_length if _matches(name, p)), None)
        buckets[prefix].append((name, param))
    empty = [p for p in lrs if not buckets[p]]
    if empty:
        layers = sorted({n.rsplit(".", 1)[0] for n, p in model.named_parameters()
                         if p.requires_grad and "." in n})
        raise ValueError(
            f"param_groups_by_lr: no trainable parameter matches {empty}; the trainable "
            f"parameterised modules are {layers}"
        )
    groups = []
    for prefix, params in buckets.items():
        if not params:
            continue
        entries = params if named else [p for _, p in params]
        group: dict[str, Any] = {"params": entries}
        lr = lrs[prefix] if prefix is not None else default_lr
        if lr is not None:
            group["lr"] = float(lr)
        groups.append(group)
    return groups
