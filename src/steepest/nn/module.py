"""`Module`: the base of every layer and model, and the containers `Sequential`, `ModuleList`,
`ModuleDict`, `ParameterList`, `ParameterDict`."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from steepest.nn.parameter import Parameter
from steepest.tensor import Tensor, _check_device, to_arguments

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictKeyError(KeyError, RuntimeError):
    """Missing or unexpected keys in load_state_dict: a RuntimeError as in PyTorch (and a
    KeyError, as steepest raised before)."""


class StateDictShapeError(ValueError, RuntimeError):
    """A shape mismatch in load_state_dict: a RuntimeError as in PyTorch (and a ValueError)."""


class _RemovableHandle:
    """What register_*_hook returns: `.remove()` takes the hook out again."""

    def __init__(self, hooks: dict, key: int) -> None:
        self._hooks, self.id = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> _RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class Module:
    """Base class of layers and models, with PyTorch's API.

    Assigning a `Parameter` or a `Module` as an attribute registers it; buffers (state that is
    saved but not trained, such as BatchNorm's running mean) are registered with
    `register_buffer`. `state_dict()` keys are PyTorch's ("0.weight", "bn.running_mean").
    """

    training: bool
    _hooked = False  # set on a module once a forward hook is registered (a fast check per call)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments: "
                            f"Module.__init__ takes none (call super().__init__())")
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        if isinstance(value, Parameter):
            target = self._parameters
        elif isinstance(value, Module):
            target = self._modules
        elif name in self.__dict__.get("_buffer_names", ()):
            target = self._buffers
        else:
            target = None
        for store in (self._parameters, self._buffers, self._modules):
            if store is not target:  # the same kind keeps its place: `seq[0] = ...` stays first
                store.pop(name, None)
        if target is not None:
            target[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Converted by double()/float() and saved in state_dict (unless persistent=False), but
        not trained."""
        if not isinstance(name, str) or "." in name or name == "":
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        names = self.__dict__.setdefault("_buffer_names", set())
        names.add(name)
        transient = self.__dict__.setdefault("_non_persistent", set())
        if persistent:
            transient.discard(name)
        else:
            transient.add(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(np.asarray(tensor))
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if module is None:
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}`")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers:
            raise AttributeError(f"{type(module).__name__} has no buffer `{name}`")
        return module._buffers[name]

    # ------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._hooked:
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def _hooks(self, kind: str) -> dict:
        if not self._hooked:
            object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
            object.__setattr__(self, "_forward_hooks", OrderedDict())
            object.__setattr__(self, "_hooked", True)
        return self.__dict__[kind]

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> _RemovableHandle:
        """hook(module, args) runs before forward; a returned value replaces args."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> _RemovableHandle:
        """hook(module, args, output) runs after forward; a returned value replaces output."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    def _add_hook(self, kind: str, hook: Callable, prepend: bool,
                  with_kwargs: bool) -> _RemovableHandle:
        if with_kwargs:
            raise NotImplementedError("forward hooks with_kwargs=True are not supported")
        hooks = self._hooks(kind)
        key = id(hook) ^ len(hooks) << 1
        while key in hooks:
            key += 1
        hooks[key] = hook
        if prepend:
            hooks.move_to_end(key, last=False)
        return _RemovableHandle(hooks, key)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> Any:
        raise NotImplementedError(
            "module backward hooks are not supported; register a hook on a tensor instead "
            "(output.register_hook(fn) sees d(loss)/d(output))")

    register_backward_hook = register_full_backward_hook

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator:
        if isinstance(memo, str):  # steepest's older order named_modules(prefix, memo)
            memo, prefix = (prefix if isinstance(prefix, set) else None), memo
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator:
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, param in module._parameters.items():
                if param is None or (remove_duplicate and id(param) in seen):
                    continue
                seen.add(id(param))
                yield (f"{module_prefix}.{name}" if module_prefix else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator:
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, buf in module._buffers.items():
                if buf is not None:
                    yield (f"{module_prefix}.{name}" if module_prefix else name), buf

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter of this module."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.data[...] = 0

    def apply(self, fn: Callable[[Module], None]) -> Module:
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ dtype and device
    def _cast(self, dtype: Any) -> Module:
        """Floating parameters and buffers to dtype, in place (the same Parameter objects, so
        an optimizer built before still holds them)."""
        dtype = np.dtype(dtype)
        for param in self.parameters():
            if param.data.dtype.kind == "f" and param.data.dtype != dtype:
                param.data = param.data.astype(dtype)
                if param.grad is not None:
                    param.grad = Tensor._wrap(param.grad.data.astype(dtype))
        for buf in self.buffers():
            if np.issubdtype(buf.data.dtype, np.floating):
                buf.data = buf.data.astype(dtype)
        return self

    def double(self) -> Module:
        return self._cast(np.float64)

    def float(self) -> Module:
        return self._cast(np.float32)

    def half(self) -> Module:
        return self._cast(np.float16)

    def type(self, dst_type: Any) -> Module:
        return self._cast(dst_type)

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """to(device), to(dtype), to(device, dtype), to(tensor): casts floating parameters and
        buffers; only the CPU exists, so a device other than 'cpu' is an error."""
        dtype = to_arguments(args, kwargs)
        if dtype is not None:
            if np.dtype(dtype).kind != "f":
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got "
                                f"desired dtype={np.dtype(dtype)}")
            self._cast(dtype)
        return self

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        _check_device("cuda")
        return self

    def share_memory(self) -> Module:
        return self

    # ------------------------------------------------------------------ state
    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by PyTorch's dotted names, as NumPy arrays that
        share memory with the module (PyTorch gives tensors; `torch.tensor(v)` converts)."""
        # PyTorch's order: module by module, each module's parameters then its buffers.
        state = OrderedDict() if destination is None else destination
        seen = set()
        for path, module in self.named_modules():
            dot = prefix + (path + "." if path else "")
            transient = module.__dict__.get("_non_persistent", ())
            for name, param in module._parameters.items():
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    state[dot + name] = param.data
            for name, buf in module._buffers.items():
                if buf is not None and name not in transient:
                    state[dot + name] = buf.data
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False):
        """Copy values into this module's parameters and buffers, checking names and shapes.

        Values may be NumPy arrays, steepest tensors or anything array-like (PyTorch tensors
        too). Returns (missing_keys, unexpected_keys), a named tuple as PyTorch's.
        """
        own = dict(self.named_parameters())
        own.update((name, buf) for name, buf in self.named_buffers()
                   if name.rpartition(".")[2] not in self.get_submodule(
                       name.rpartition(".")[0]).__dict__.get("_non_persistent", ()))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise StateDictKeyError(
                f"Error(s) in loading state_dict for {type(self).__name__}: missing keys "
                f"{missing}, unexpected keys {unexpected}"
            )
        values = {}
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = _to_numpy(state_dict[name])
            if value.shape != target.shape:
                raise StateDictShapeError(
                    f"Error(s) in loading state_dict for {type(self).__name__}: size mismatch "
                    f"for {name}: {name!r} has shape {value.shape} in the state dict but "
                    f"{target.shape} in the model"
                )
            values[name] = value
        # Every check passed: only now change anything, so a bad dict leaves the model intact.
        for name, value in values.items():
            target = own[name]
            target.data[...] = value.astype(target.data.dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_repr}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        # As PyTorch: with children, the extra description gets a line of its own.
        lines = extra.split("\n") + lines if extra else lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a PyTorch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


class _ModuleSequence:
    """What Sequential and ModuleList share: children kept in order, renumbered "0", "1", ...
    whenever one is inserted or deleted (as PyTorch does)."""

    def _renumber(self, modules: list[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else _list_index(index, len(self))]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)
        return self


class Sequential(_ModuleSequence, Module):
    """Modules applied in order; children are named "0", "1", ... (or by an OrderedDict)."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[_list_index(index, len(self))]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules.keys())[_list_index(index, len(self))]
        setattr(self, name, module)

    def __add__(self, other: Sequential) -> Sequential:
        return Sequential(*self, *other)

    def pop(self, index: int = -1) -> Module:
        module = self[index]
        del self[index]
        return module


def _list_index(index: int, length: int) -> int:
    index = int(index)
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range")
    return index % length


class ModuleList(_ModuleSequence, Module):
    """A list of modules whose parameters are registered; children are named "0", "1", ..."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for module in modules or ():
            self.append(module)

    def insert(self, index: int, module: Module) -> None:  # PyTorch's returns None
        super().insert(index, module)

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return list(self._modules.values())[_list_index(index, len(self))]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(_list_index(index, len(self))), module)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(): iterate over its modules")


class _NamedChildren:
    """The dict methods of ModuleDict and ParameterDict, over `_entries()` (the registry of
    children by name) and `__setitem__` (registration)."""

    def _entries(self) -> OrderedDict:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self._entries()[key]

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __contains__(self, key: str) -> bool:
        return key in self._entries()

    def keys(self):
        return self._entries().keys()

    def values(self):
        return self._entries().values()

    def items(self):
        return self._entries().items()

    def clear(self) -> None:
        for key in list(self._entries()):
            delattr(self, key)

    def pop(self, key: str) -> Any:
        value = self._entries()[key]
        delattr(self, key)
        return value

    def update(self, entries: Mapping[str, Any] | Iterable) -> None:
        items = entries.items() if isinstance(entries, Mapping) else entries
        for key, value in items:
            self[key] = value


class ModuleDict(_NamedChildren, Module):
    """A dict of modules whose parameters are registered under their keys (insertion order)."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _entries(self) -> OrderedDict:
        return self._modules

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(): index it by key")


class ParameterList(Module):
    """A list of Parameters registered as "0", "1", ... (tensors become Parameters)."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        for value in values or ():
            self.append(value)

    def append(self, value: Any) -> ParameterList:
        self.register_parameter(str(len(self._parameters)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index: int | slice) -> Any:
        params = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(params[index])
        return params[_list_index(index, len(self))]

    def __setitem__(self, index: int, value: Any) -> None:
        self.register_parameter(str(_list_index(index, len(self))), _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)


class ParameterDict(_NamedChildren, Module):
    """A dict of Parameters registered under their keys."""

    def __init__(self, parameters: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _entries(self) -> OrderedDict:
        return self._parameters

    def __setitem__(self, key: str, value: Any) -> None:
        self.register_parameter(key, _as_parameter(value))


def _as_parameter(value: Any) -> Parameter:
    return value if isinstance(value, Parameter) else Parameter(value)
