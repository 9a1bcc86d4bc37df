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
_TENSOR, _TUPLE, _ITEMS = "__tensor__", "__tuple__", "__items__"
_TAGS = frozenset((_TENSOR, _TUPLE, _ITEMS))
_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?", "C64": "<c8",
    "BF16": "<u2",  # read as raw 16-bit words, then widened to float32 (NumPy has no bfloat16)
}


class CheckpointError(ValueError):
    """A file that is not a (complete) safetensors file or not a steepest checkpoint."""


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
    if isinstance(value, list):
        return [_decode(v, tensors, where) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == _TENSOR:
            if inner not in tensors:
                raise CheckpointError(f"{where}: the header refers to tensor {inner!r}, which "
                                      f"is not in the file (damaged file?)")
            return tensors[inner]
        if tag == _TUPLE:
            return tuple(_decode(v, tensors, where) for v in inner)
        if tag == _ITEMS:
            return {_hashable(_decode(k, tensors, where)): _decode(v, tensors, where)
                    for k, v in inner}
    return {k: _decode(v, tensors, where) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _dumps(value: Any) -> str:
    # allow_nan: a diverged run's loss or ReduceLROnPlateau's "best" = inf must survive.
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


# ---------------------------------------------------------------------------- reading safetensors
def _read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors in file order, metadata) of a safetensors file, every header field checked.

    Arrays are writable views into one buffer holding the file (copied where misaligned).
    BF16 tensors (PyTorch) are widened to float32.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    with open(path, "rb") as file:
        buffer = bytearray(os.fstat(file.fileno()).st_size)
        size = file.readinto(buffer)
    del buffer[size:]  # the file shrank while we read it: what we have is what counts
    if size < 8:
        raise CheckpointError(f"{path}: not a safetensors file ({size} bytes, too short to hold "
                              f"a header)")
    header_len = int.from_bytes(buffer[:8], "little")
    if header_len < 2 or header_len > _MAX_HEADER:
        raise CheckpointError(f"{path}: not a safetensors file (header length {header_len} is "
                              f"not plausible)")
    data_start = 8 + header_len
    if data_start > size:
        if buffer[8:9] == b"{":
            raise CheckpointError(f"{path}: truncated: expected at least {data_start} bytes, "
                                  f"found {size}")
        raise CheckpointError(f"{path}: not a safetensors file (header length {header_len} "
                              f"exceeds the file's {size} bytes)")
    try:
        header = json.loads(bytes(buffer[8:data_start]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{path}: not a safetensors file (the header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors file (the header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError(f"{path}: malformed safetensors metadata (must map strings to "
                              f"strings)")
    entries = []
    for name, info in header.items():
        entries.append((name, *_check_entry(path, name, info)))
    entries.sort(key=lambda entry: entry[3][0])
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
    tensors = {}
    for name, dtype, shape, (begin, stop) in entries:
        np_dtype = np.dtype(_DTYPES[dtype])
        offset = data_start + begin
        count = (stop - begin) // np_dtype.itemsize
        if count == 0:
            array = np.empty(shape, np_dtype)
        else:
            array = np.frombuffer(buffer, dtype=np_dtype, count=count, offset=offset)
            if offset % np_dtype.itemsize:
                array = array.copy()
            array = array.reshape(shape)
        if dtype == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = array
    return tensors, metadata


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
    model part under the model's own keys.
    """
    path = Path(path)
    tensors, metadata = _read_safetensors(path)
    if METADATA_KEY in metadata:
        return _checkpoint(path, tensors, metadata).model_state
    return OrderedDict(tensors)


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
        except (KeyError, ValueError, TypeError) as error:
            # Each load_state_dict changes nothing when its own checks fail; undo the ones
            # that succeeded before it.
            if stage == "scheduler":
                with contextlib.suppress(KeyError, ValueError, TypeError):
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

    Raises FileNotFoundError if there is no file, CheckpointError (a ValueError) if the file is
    truncated, not safetensors, or a safetensors file without steepest's metadata.
    """
    path = Path(path)
    tensors, metadata = _read_safetensors(path)
    return _checkpoint(path, tensors, metadata)


def _checkpoint(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]
                ) -> Checkpoint:
    if METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{path}: a safetensors file but not a steepest checkpoint (no {METADATA_KEY!r} "
            f"metadata); for plain weights use steepest.io.load_state_dict"
        )
    try:
        header = json.loads(metadata[METADATA_KEY])
    except ValueError:
        raise CheckpointError(f"{path}: the steepest metadata is not JSON (damaged "
                              f"file?)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a steepest checkpoint (unknown metadata format)")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is newer than this "
                              f"steepest reads ({FORMAT_VERSION}); upgrade steepest")
    where = str(path)
    try:
        model_state = OrderedDict((key, tensors[f"model.{key}"]) for key in header["model"])
    except KeyError as error:
        raise CheckpointError(f"{path}: model tensor {error.args[0]!r} is missing (damaged "
                              f"file?)") from None
    return Checkpoint(
        model_state=model_state,
        optimizer_state=_decode(header.get("optimizer"), tensors, where),
        scheduler_state=_decode(header.get("scheduler"), tensors, where),
        rng_states=_decode(header.get("rng_states"), tensors, where) or {},
        epoch=int(header.get("epoch", 0)),
        step=int(header.get("step", 0)),
        config=_decode(header.get("config"), tensors, where) or {},
        extra=_decode(header.get("extra"), tensors, where) or {},
        version=version,
        steepest_version=header.get("steepest_version"),
        arrays=_decode(header.get("arrays"), tensors, where) or {},
        path=path,
    )
