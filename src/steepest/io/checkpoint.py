"""Checkpoints and weight files: safetensors (never pickle) with a JSON header, written atomically.

A checkpoint is one safetensors file. Its tensors are the model's state dict under
"model.<key>", the optimizer's per-parameter arrays under "optimizer.state.<i>.<field>", and any
other array met in the state under its dotted path ("scheduler....", "extra....", "arrays.<name>").
Everything else (optimizer param groups and scalar state, scheduler state, RNG states, epoch, step,
config, extra) is JSON in the safetensors metadata under the key "steepest". JSON cannot say
"tuple" or "dict keyed by int", so those are written as {"__tuple__": [...]} and
{"__items__": [[key, value], ...]}, and an array as {"__tensor__": "<tensor name>"}; loading
gives back the same Python types (an int stays an int, a float a float, bit for bit).

Files are written through `atomic_write`: a temporary file in the same folder, fsync, rename over
the target, fsync of the folder. A crash at any moment leaves either the old file or the new one.
Reading checks the safetensors header itself, so a truncated or foreign file gives a
`CheckpointError` naming the file and the problem instead of a crash deep in a decoder.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from steepest.tensor import Tensor

FORMAT = "steepest-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "steepest"

# The safetensors library refuses headers over 100 MB; so do we, before trusting a length.
_MAX_HEADER = 100_000_000
# steepest's own metadata never nests deeper than this nor counts beyond this: anything more
# is a damaged or crafted file, refused before it can exhaust the stack or a loop.
_MAX_DEPTH = 64
_MAX_COUNT = 2**53
_TENSOR, _TUPLE, _ITEMS = "__tensor__", "__tuple__", "__items__"
_TAGS = frozenset((_TENSOR, _TUPLE, _ITEMS))
_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?", "C64": "<c8",
    "BF16": "<u2",  # read as raw 16-bit words, then widened to float32 (NumPy has no bfloat16)
}


class CheckpointError(ValueError):
    """A file that is not a (complete) safetensors file or not a steepest checkpoint, or whose
    metadata is malformed; the message names the file and what is wrong."""


# What a state dict that does not fit (or is malformed) raises from a `load_state_dict`.
_MALFORMED = (KeyError, ValueError, TypeError, IndexError, AttributeError)


# ---------------------------------------------------------------------------- atomic writes
def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` so that readers see the old file or the new one, never a mix.

    The bytes go to a temporary file in the same folder (created if missing), which is flushed,
    fsynced and renamed over `path` (os.replace, atomic on POSIX and Windows); then the folder is
    fsynced so the rename survives a power cut. On any failure the temporary file is removed and
    an existing file at `path` is left untouched. Returns `path` as a Path.
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    # O_EXCL: never write through someone else's file; mode 0o666 lets the umask decide, as
    # for any ordinary file (mkstemp would force 0o600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return path


# atomic_write's temporary files: ".<target name>.<pid>.<8 hex digits>.tmp".
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that `atomic_write` left in `folder` when its process was
    killed mid-write (the process that made one is gone); returns their paths.

    A temporary file of a process still running is left alone, as is every other file."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or a number we cannot ask about: keep its file
    return True


def _fsync_folder(folder: Path) -> None:
    # Directories cannot be opened on Windows, and some file systems refuse to fsync them:
    # the rename is then as durable as the platform makes it.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- RNG state
def capture_rng_state() -> dict[str, Any]:
    """A copy of steepest's default generator's `bit_generator.state` (JSON-able for PCG64)."""
    from steepest.random import default_generator

    return copy.deepcopy(default_generator().bit_generator.state)


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Set the *current* default generator's `bit_generator.state` in place.

    Code that holds the generator (`steepest.default_generator()`) sees the restored stream.
    """
    from steepest.random import default_generator

    bit_generator = default_generator().bit_generator
    try:
        bit_generator.state = dict(state)
    except (TypeError, ValueError, KeyError) as error:
        saved = state.get("bit_generator") if isinstance(state, Mapping) else type(state).__name__
        raise ValueError(
            f"cannot restore the random state: saved for {saved!r}, the default generator is "
            f"{type(bit_generator).__name__} ({error})"
        ) from None


# ---------------------------------------------------------------------------- JSON <-> values
def _to_array(value: Any) -> np.ndarray | None:
    """The array behind an ndarray, a steepest Tensor or a PyTorch tensor; None otherwise."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return None


def _tensor_array(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype.kind not in "biuf" and array.dtype != np.complex64:
        raise TypeError(f"cannot save {name}: arrays of dtype {array.dtype} are not supported "
                        f"(numbers and booleans only)")
    # safetensors reads raw memory: it must be one contiguous block. (Not ascontiguousarray:
    # it turns a 0-d array into shape (1,).)
    return array if array.flags.c_contiguous else array.copy(order="C")


def _add_tensor(tensors: dict[str, np.ndarray], name: str, array: np.ndarray) -> None:
    if name in tensors:
        raise ValueError(f"cannot save: two arrays would both be stored as {name!r} "
                         f"(rename a key that contains a dot)")
    tensors[name] = _tensor_array(array, name)


def _encode(value: Any, name: str, tensors: dict[str, np.ndarray]) -> Any:
    """`value` as JSON-able data; arrays go to `tensors` under `name` (a dotted path)."""
    array = _to_array(value)
    if array is not None:
        _add_tensor(tensors, name, array)
        return {_TENSOR: name}
    if isinstance(value, np.generic):  # before the Python types: np.float64 is a float
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value) and _TAGS.isdisjoint(value):
            return {k: _encode(v, f"{name}.{k}", tensors) for k, v in value.items()}
        return {_ITEMS: [[_encode(k, f"{name}.key", {}), _encode(v, f"{name}.{k}", tensors)]
                         for k, v in value.items()]}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot save {name}: a {type(value).__name__} is not an array, number, "
                    f"string, list, tuple or dict")


def _decode(value: Any, tensors: Mapping[str, np.ndarray], where: str) -> Any:
    """The Python value behind JSON written by `_encode`; every tag checked (CheckpointError).
    Nesting is bounded by `_check_depth` before this recursion runs."""
    def bad(problem: str) -> CheckpointError:
        return CheckpointError(f"{where}: malformed steepest metadata ({problem})")

    if isinstance(value, list):
        return [_decode(v, tensors, where) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == _TENSOR:
            if not isinstance(inner, str) or inner not in tensors:
                raise bad(f"it refers to tensor {inner!r}, which is not in the file")
            return tensors[inner]
        if tag == _TUPLE:
            if not isinstance(inner, list):
                raise bad(f"{_TUPLE} holds a {type(inner).__name__}, not a list")
            return tuple(_decode(v, tensors, where) for v in inner)
        if tag == _ITEMS:
            if not isinstance(inner, list) or not all(
                    isinstance(pair, list) and len(pair) == 2 for pair in inner):
                raise bad(f"{_ITEMS} must be a list of [key, value] pairs")
            items = {}
            for key, item in inner:
                key = _hashable(_decode(key, tensors, where))
                try:
                    items[key] = _decode(item, tensors, where)
                except TypeError:
                    raise bad(f"a key of type {type(key).__name__} cannot key a dict") from None
            return items
    return {k: _decode(v, tensors, where) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _dumps(value: Any) -> str:
    # allow_nan: a diverged run's loss or ReduceLROnPlateau's "best" = inf must survive.
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


def _loads(text: bytes | str, where: str, what: str) -> Any:
    """JSON, or a CheckpointError: never a RecursionError from absurd nesting."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{where}: {what} is not valid JSON (damaged file?)") from None
    _check_depth(value, where, what)
    return value


def _check_depth(value: Any, where: str, what: str) -> None:
    """Refuse nesting deeper than steepest ever writes (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise CheckpointError(f"{where}: {what} is nested deeper than {_MAX_DEPTH} levels "
                                  f"(damaged or crafted file)")
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else ()
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))


# ---------------------------------------------------------------------------- reading safetensors
# What PyTorch's own formats start with: a zip archive (torch.save since 1.6, TorchScript) or a
# pickle (older torch.save, pickle.dump). Never unpickled: a pickle can run any code.
_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def _looks_like_pickle(path: Path, head: bytes) -> bool:
    if head.startswith(b"PK\x03\x04"):
        return True
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    return path.suffix.lower() in _PICKLE_SUFFIXES


def _pickle_error(path: Path) -> CheckpointError:
    target = path.with_suffix(".safetensors").name
    return CheckpointError(
        f"{path} is a PyTorch/pickle file (torch.save); steepest never unpickles files, which "
        f"can run code. Convert its state dict once, where you trust it: python -c \"import "
        f"torch; from safetensors.torch import save_file; save_file(torch.load('{path}', "
        f"weights_only=True), '{target}')\"")


@dataclass(frozen=True)
class _Layout:
    """A safetensors file's header, checked against the file: where each tensor lies."""

    path: Path
    entries: dict[str, tuple[str, tuple[int, ...], tuple[int, int]]]  # file order
    metadata: dict[str, str]
    data_start: int

    def read(self, file: Any, name: str) -> np.ndarray:
        """Tensor `name`: exactly its declared bytes, read into a fresh writable array."""
        dtype, shape, (begin, stop) = self.entries[name]
        np_dtype = np.dtype(_DTYPES[dtype])
        array = np.empty(shape, np_dtype)
        if stop > begin:
            file.seek(self.data_start + begin)
            got = file.readinto(memoryview(array.reshape(-1).view(np.uint8)))
            if got != stop - begin:
                raise CheckpointError(f"{self.path}: truncated while reading tensor {name!r} "
                                      f"(the file changed while being read?)")
        if dtype == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array


def _open_safetensors(path: Path) -> tuple[Any, _Layout]:
    """(open binary file, its checked layout). Reads only the 8-byte length and the header:
    tensor bytes are read one tensor at a time, within bounds the file is checked to hold."""
    from steepest._limits import not_a_file

    path = Path(path)
    problem = not_a_file(path)
    if problem == "does not exist":
        raise FileNotFoundError(f"no such file: {path}")
    if problem is not None:  # a folder, a FIFO (which would block): never opened
        raise CheckpointError(f"{path} {problem.replace('a file', 'a checkpoint file')}")
    file = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        return file, _read_layout(path, file)
    except BaseException:
        file.close()
        raise


def _read_layout(path: Path, file: Any) -> _Layout:
    size = os.fstat(file.fileno()).st_size
    head = file.read(8)
    if _looks_like_pickle(path, head):
        raise _pickle_error(path)
    if len(head) < 8:
        raise CheckpointError(f"{path}: not a safetensors file ({size} bytes, too short to hold "
                              f"a header)")
    header_len = int.from_bytes(head, "little")
    if header_len < 2 or header_len > _MAX_HEADER:
        raise CheckpointError(f"{path}: not a safetensors file (header length {header_len} is "
                              f"not plausible)")
    data_start = 8 + header_len
    if data_start > size:
        if file.read(1) == b"{":
            raise CheckpointError(f"{path}: truncated: expected at least {data_start} bytes, "
                                  f"found {size}")
        raise CheckpointError(f"{path}: not a safetensors file (header length {header_len} "
                              f"exceeds the file's {size} bytes)")
    file.seek(8)
    text = file.read(header_len)
    if len(text) != header_len:
        raise CheckpointError(f"{path}: truncated while reading the header")
    header = _loads(text, str(path), "the safetensors header")
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors file (the header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError(f"{path}: malformed safetensors metadata (must map strings to "
                              f"strings)")
    entries = sorted(((name, *_check_entry(path, name, info)) for name, info in header.items()),
                     key=lambda entry: entry[3][0])
    end = max((entry[3][1] for entry in entries), default=0)
    if data_start + end > size:
        raise CheckpointError(f"{path}: truncated: expected {data_start + end} bytes, found {size}")
    position = 0
    for name, _, _, (begin, stop) in entries:
        if begin != position:
            problem = "overlaps the one before" if begin < position else "leaves a gap before it"
            raise CheckpointError(f"{path}: malformed safetensors file (tensor {name!r} {problem})")
        position = stop
    if data_start + end != size:
        raise CheckpointError(f"{path}: malformed safetensors file ({size - data_start - end} "
                              f"unexpected bytes after the last tensor)")
    return _Layout(path, {name: (dtype, shape, offsets) for name, dtype, shape, offsets
                          in entries}, metadata, data_start)


def _read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors in file order, metadata) of a safetensors file, every header field checked
    before a tensor byte is read. BF16 tensors (PyTorch) are widened to float32."""
    file, layout = _open_safetensors(path)
    with file:
        return {name: layout.read(file, name) for name in layout.entries}, layout.metadata


def _check_entry(path: Path, name: str, info: Any) -> tuple[str, tuple[int, ...], tuple[int, int]]:
    def bad(problem: str) -> CheckpointError:
        return CheckpointError(f"{path}: malformed safetensors header: tensor {name!r} {problem}")

    if not isinstance(info, dict):
        raise bad("is not described by an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in _DTYPES:
        if isinstance(dtype, str):
            raise CheckpointError(f"{path}: tensor {name!r} has dtype {dtype}, which steepest "
                                  f"cannot read (supported: {', '.join(_DTYPES)})")
        raise bad(f"has no valid dtype ({dtype!r})")
    if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise bad(f"has an invalid shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        raise bad(f"has invalid data_offsets {offsets!r}")
    nbytes = math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise bad(f"has {offsets[1] - offsets[0]} bytes but shape {shape} of {dtype} needs "
                  f"{nbytes}")
    return dtype, tuple(shape), (offsets[0], offsets[1])


def _write_safetensors(path: str | os.PathLike, tensors: Mapping[str, np.ndarray],
                       metadata: Mapping[str, str]) -> Path:
    try:
        from safetensors.numpy import save
    except ImportError:
        raise ImportError("writing checkpoints needs the safetensors package: "
                          "pip install 'steepest[train]' (or pip install safetensors)") from None
    return atomic_write(path, save(dict(tensors), metadata=dict(metadata)))


# ---------------------------------------------------------------------------- plain weights
def save_state_dict(state_dict: Mapping[str, Any], path: str | os.PathLike,
                    metadata: Mapping[str, str] | None = None) -> Path:
    """Write plain weights (e.g. `model.state_dict()`) as a safetensors file, atomically.

    state_dict: name -> array (NumPy array, steepest Tensor or PyTorch tensor); names are kept
    as given (PyTorch's, for a steepest module), so `safetensors.torch.load_file` reads the file
    into a PyTorch model with the same architecture. metadata: optional str -> str pairs.
    """
    metadata = dict(metadata or {})
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"save_state_dict: metadata must map strings to strings, got "
                            f"{key!r}: {value!r}")
    if METADATA_KEY in metadata:
        raise ValueError(f"save_state_dict: metadata key {METADATA_KEY!r} is reserved for "
                         f"steepest checkpoints (use save_checkpoint)")
    tensors = {}
    for name, value in state_dict.items():
        array = _to_array(value)
        if array is None:
            raise TypeError(f"save_state_dict: {name!r} is a {type(value).__name__}, not an array")
        _add_tensor(tensors, str(name), array)
    return _write_safetensors(path, tensors, metadata)


def load_state_dict(path: str | os.PathLike) -> OrderedDict[str, np.ndarray]:
    """Weights from a safetensors file: name -> array, in the file's order.

    Reads files written by `save_state_dict`, by PyTorch (`safetensors.torch.save_file`; BF16 is
    widened to float32) or any other safetensors writer. Given a steepest checkpoint, returns its
    model part under the model's own keys. The header is checked before any tensor is read, and
    each tensor is read within its declared bounds; a PyTorch pickle (.pt, .pth) is refused
    unopened. Raises CheckpointError naming the file and the problem.
    """
    file, layout = _open_safetensors(Path(path))
    with file:
        if METADATA_KEY in layout.metadata:
            header = _steepest_header(layout)
            return OrderedDict((key, layout.read(file, f"model.{key}"))
                               for key in header["model"])
        return OrderedDict((name, layout.read(file, name)) for name in layout.entries)


# ---------------------------------------------------------------------------- checkpoints
@dataclass
class Checkpoint:
    """What `load_checkpoint` read. `restore` puts it back into live objects.

    model_state: the model's state dict (PyTorch key names -> arrays, in the model's order).
    optimizer_state / scheduler_state: their `state_dict()`s, or None if not saved.
    rng_states: name -> numpy `bit_generator.state`. arrays: extra named arrays.
    version: the checkpoint format version; steepest_version: the version that wrote it.
    """

    model_state: OrderedDict[str, np.ndarray]
    optimizer_state: dict[str, Any] | None = None
    scheduler_state: dict[str, Any] | None = None
    rng_states: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0
    step: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = FORMAT_VERSION
    steepest_version: str | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    def __repr__(self) -> str:
        parts = [f"{len(self.model_state)} model tensors"]
        parts += [what for what, state in (("optimizer", self.optimizer_state),
                                           ("scheduler", self.scheduler_state)) if state]
        if self.rng_states:
            parts.append(f"rng {sorted(self.rng_states)}")
        if self.arrays:
            parts.append(f"{len(self.arrays)} extra arrays")
        return (f"Checkpoint({str(self.path)!r}, epoch={self.epoch}, step={self.step}: "
                f"{', '.join(parts)})")

    def restore(self, model: Any, optimizer: Any = None, scheduler: Any = None) -> None:
        """Load the model's weights, and the optimizer's and scheduler's state if given.

        Names and shapes are checked (by each object's `load_state_dict`); if anything does not
        fit, all three are put back as they were and a CheckpointError says what differs.
        """
        where = str(self.path) if self.path is not None else "checkpoint"
        for thing, state, what in ((optimizer, self.optimizer_state, "optimizer"),
                                   (scheduler, self.scheduler_state, "scheduler")):
            if thing is not None and state is None:
                raise CheckpointError(f"{where} has no {what} state (it was saved without "
                                      f"{what}=); restore without passing one")
        model_before = OrderedDict((k, np.array(v, copy=True))
                                   for k, v in model.state_dict().items())
        optimizer_before = optimizer.state_dict() if optimizer is not None else None
        scheduler_before = scheduler.state_dict() if scheduler is not None else None
        stage = "model"
        try:
            model.load_state_dict(self.model_state)
            if optimizer is not None:
                stage = "optimizer"
                optimizer.load_state_dict(self.optimizer_state)
            if scheduler is not None:
                stage = "scheduler"
                scheduler.load_state_dict(self.scheduler_state)
        except _MALFORMED as error:
            # Each load_state_dict changes nothing when its own checks fail; undo the ones
            # that succeeded before it.
            if stage == "scheduler":
                with contextlib.suppress(*_MALFORMED):
                    scheduler.load_state_dict(scheduler_before)
            if stage in ("optimizer", "scheduler") and optimizer is not None:
                optimizer.load_state_dict(optimizer_before)
            if stage != "model":
                model.load_state_dict(model_before)
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            raise CheckpointError(f"{where} does not fit this {stage}: {message}") from error


def save_checkpoint(path: str | os.PathLike, *, model: Any, optimizer: Any = None,
                    scheduler: Any = None, epoch: int = 0, step: int = 0,
                    config: Mapping[str, Any] | None = None,
                    rng_states: Mapping[str, Any] | None = None,
                    extra: Mapping[str, Any] | None = None,
                    arrays: Mapping[str, Any] | None = None) -> Path:
    """Write a full training checkpoint to `path` (safetensors, atomically); returns the Path.

    model: a Module (its `state_dict()` is saved) or a state dict. optimizer, scheduler: objects
    with `state_dict()` (or their state dicts). rng_states: name -> `bit_generator.state` (or a
    numpy Generator / BitGenerator, whose state is taken). config, extra: JSON-like dicts (arrays
    inside are stored as tensors). arrays: more named arrays (e.g. EMA weights), read back in
    `Checkpoint.arrays`. Values keep their Python types through a save and load.
    """
    from steepest import __version__

    for value, what in ((epoch, "epoch"), (step, "step")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"save_checkpoint: {what} must be an integer, got {value!r}")
    model_state = model.state_dict() if hasattr(model, "state_dict") else model
    if not isinstance(model_state, Mapping):
        raise TypeError(f"save_checkpoint: model must be a Module or a state dict, got "
                        f"{type(model).__name__}")
    tensors: dict[str, np.ndarray] = {}
    model_keys = []
    for key, value in model_state.items():
        array = _to_array(value)
        if array is None:
            raise TypeError(f"save_checkpoint: model state {key!r} is a {type(value).__name__}, "
                            f"not an array")
        _add_tensor(tensors, f"model.{key}", array)
        model_keys.append(str(key))

    def state_of(thing: Any) -> Any:
        return thing.state_dict() if hasattr(thing, "state_dict") else thing

    rngs = {}
    for name, state in (rng_states or {}).items():
        if isinstance(state, np.random.Generator):
            state = state.bit_generator
        if isinstance(state, np.random.BitGenerator):
            state = state.state
        rngs[name] = state
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "steepest_version": __version__,
        "epoch": int(epoch),
        "step": int(step),
        "model": model_keys,
        "optimizer": _encode(state_of(optimizer), "optimizer", tensors),
        "scheduler": _encode(state_of(scheduler), "scheduler", tensors),
        "rng_states": _encode(rngs, "rng", tensors),
        "config": _encode(dict(config) if config is not None else None, "config", tensors),
        "extra": _encode(dict(extra) if extra is not None else None, "extra", tensors),
        "arrays": _encode(dict(arrays) if arrays is not None else None, "arrays", tensors),
    }
    return _write_safetensors(path, tensors, {METADATA_KEY: _dumps(header)})


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`.

    The safetensors header and steepest's metadata are checked in full before any tensor is
    read; each tensor is then read within its declared bounds. Raises FileNotFoundError if there
    is no file, CheckpointError (a ValueError) naming the file and the problem if it is
    truncated, not safetensors, a PyTorch pickle, a safetensors file without steepest's
    metadata, or if any field of that metadata is malformed.
    """
    path = Path(path)
    file, layout = _open_safetensors(path)
    with file:
        header = _steepest_header(layout)
        tensors = {name: layout.read(file, name) for name in layout.entries}
    where = str(path)
    return Checkpoint(
        model_state=OrderedDict((key, tensors[f"model.{key}"]) for key in header["model"]),
        optimizer_state=_decoded_dict(header, "optimizer", tensors, where) or None,
        scheduler_state=_decoded_dict(header, "scheduler", tensors, where) or None,
        rng_states=_decoded_dict(header, "rng_states", tensors, where),
        epoch=header["epoch"],
        step=header["step"],
        config=_decoded_dict(header, "config", tensors, where),
        extra=_decoded_dict(header, "extra", tensors, where),
        version=header["version"],
        steepest_version=header["steepest_version"],
        arrays=_decoded_dict(header, "arrays", tensors, where),
        path=path,
    )


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says about itself, read from its header alone (`checkpoint_info`).

    run_uuid: the run that wrote it (None for checkpoints written before runs had one);
    kind: "last", "best", ... as the trainer wrote it; config: the run's config.
    """

    path: Path
    epoch: int
    step: int
    run_uuid: str | None
    kind: str | None
    config: dict[str, Any]
    steepest_version: str | None
    version: int


def checkpoint_info(path: str | os.PathLike) -> CheckpointInfo:
    """Epoch, step, run and config of a checkpoint without reading its tensors (the header is
    checked as fully as `load_checkpoint` checks it; CheckpointError otherwise)."""
    path = Path(path)
    file, layout = _open_safetensors(path)
    with file:
        header = _steepest_header(layout)
        lazy = _LazyTensors(layout, file)
        config = _decoded_dict(header, "config", lazy, str(path))
    extra = header["extra"] or {}
    return CheckpointInfo(path=path, epoch=header["epoch"], step=header["step"],
                          run_uuid=extra.get("run_uuid"), kind=extra.get("kind"), config=config,
                          steepest_version=header["steepest_version"],
                          version=header["version"])


class _LazyTensors(Mapping):
    """Tensors of an open file, read when first asked for (for `checkpoint_info`)."""

    def __init__(self, layout: _Layout, file: Any) -> None:
        self._layout, self._file = layout, file
        self._read: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._read:
            self._read[name] = self._layout.read(self._file, name)
        return self._read[name]

    def __contains__(self, name: object) -> bool:
        return name in self._layout.entries

    def __iter__(self) -> Any:
        return iter(self._layout.entries)

    def __len__(self) -> int:
        return len(self._layout.entries)


def _steepest_header(layout: _Layout) -> dict[str, Any]:
    """steepest's metadata of a checked layout, every field checked: CheckpointError naming
    the field otherwise. Returns the header with optional fields filled in (None)."""
    path, metadata = layout.path, layout.metadata
    if METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{path}: a safetensors file but not a steepest checkpoint (no {METADATA_KEY!r} "
            f"metadata); for plain weights use steepest.io.load_state_dict"
        )
    header = _loads(metadata[METADATA_KEY], str(path), "the steepest metadata")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a steepest checkpoint (unknown metadata format)")

    def bad(field_name: str, problem: str) -> CheckpointError:
        return CheckpointError(f"{path}: malformed steepest metadata: {field_name} {problem}")

    missing = [key for key in ("version", "epoch", "step", "model") if key not in header]
    if missing:
        raise bad(", ".join(missing), "missing (damaged or crafted file)")
    version = header["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise bad("version", f"must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is newer than this "
                              f"steepest reads ({FORMAT_VERSION}); upgrade steepest")
    for key in ("epoch", "step"):
        value = header[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
            raise bad(key, f"must be an integer in [0, 2**53], got {value!r}")
    model = header["model"]
    if not isinstance(model, list) or not all(isinstance(key, str) for key in model):
        raise bad("model", "must be a list of tensor names")
    if len(set(model)) != len(model):
        raise bad("model", "names a tensor twice")
    for key in model:
        if f"model.{key}" not in layout.entries:
            raise CheckpointError(f"{path}: model tensor {key!r} is missing (damaged file?)")
    for key in ("optimizer", "scheduler", "rng_states", "config", "extra", "arrays"):
        value = header.setdefault(key, None)
        if value is not None and not isinstance(value, dict):
            raise bad(key, f"must be an object, got {type(value).__name__}")
    for key in ("run_uuid", "kind"):  # what a checkpoint says about its run: strings
        value = (header["extra"] or {}).get(key)
        if value is not None and not isinstance(value, str):
            raise bad(f"extra.{key}", f"is a {type(value).__name__}, not a string")
    version_text = header.setdefault("steepest_version", None)
    if version_text is not None and not isinstance(version_text, str):
        raise bad("steepest_version", f"must be a string, got {version_text!r}")
    return header


def _decoded_dict(header: dict[str, Any], key: str, tensors: Mapping[str, np.ndarray],
                  where: str) -> dict[str, Any]:
    value = _decode(header[key], tensors, where)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CheckpointError(f"{where}: malformed steepest metadata: {key} must be an object")
    return value
