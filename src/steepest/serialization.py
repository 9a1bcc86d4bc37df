"""`save` and `load`: PyTorch's `torch.save(model.state_dict(), path)` and
`model.load_state_dict(torch.load(path))`, without pickle.

What can be saved: tensors, NumPy arrays, numbers, strings, booleans, None, and dicts (string
or integer keys), lists and tuples of them, nested: state dicts of models and optimizers, and
checkpoints made of those. The file is a NumPy `.npz` archive: one member per array, and a JSON
document describing the structure. Loading never runs code from the file (no pickle), so
`weights_only=True` is always the case; a PyTorch pickle file is refused with a clear error.
A save to a path is atomic: written to a temporary file in the same folder, then renamed.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from steepest.tensor import Tensor

_STRUCTURE = "__steepest_structure__"


def _contiguous(array: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would turn a 0-d array into shape (1,).
    return array if array.flags.c_contiguous else array.copy()


def _encode(obj: Any, arrays: dict) -> Any:
    """obj as JSON, with its arrays moved into `arrays` (referenced by name)."""
    if isinstance(obj, Tensor):
        from steepest.nn.parameter import Parameter

        name = f"a{len(arrays)}"
        arrays[name] = _contiguous(obj.data)
        kind = "parameter" if isinstance(obj, Parameter) else "tensor"
        return {"$" + kind: name, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "OUSV":
            raise TypeError(f"save: arrays of dtype {obj.dtype} are not supported (numbers "
                            f"only)")
        name = f"a{len(arrays)}"
        arrays[name] = _contiguous(obj)
        return {"$array": name}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), arrays)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else {"$float": repr(obj)}
    if isinstance(obj, dict):
        keys = list(obj)
        if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in keys):
            raise TypeError("save: dict keys must be strings or integers")
        return {"$dict": [[k, _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"$list" if isinstance(obj, list) else "$tuple":
                [_encode(v, arrays) for v in obj]}
    raise TypeError(f"save: objects of type {type(obj).__name__} are not supported (steepest "
                    f"saves tensors, arrays, numbers, strings and dicts/lists/tuples of them, "
                    f"without pickle)")


def _decode(obj: Any, arrays: Any) -> Any:
    if not isinstance(obj, dict):
        return obj
    if "$tensor" in obj or "$parameter" in obj:
        from steepest.nn.parameter import Parameter

        data = arrays[obj.get("$tensor", obj.get("$parameter"))]
        cls = Parameter if "$parameter" in obj else Tensor
        return cls(data, requires_grad=obj["requires_grad"])
    if "$array" in obj:
        return arrays[obj["$array"]]
    if "$float" in obj:
        return float(obj["$float"])
    if "$dict" in obj:
        from collections import OrderedDict

        return OrderedDict((k, _decode(v, arrays)) for k, v in obj["$dict"])
    if "$list" in obj:
        return [_decode(v, arrays) for v in obj["$list"]]
    if "$tuple" in obj:
        return tuple(_decode(v, arrays) for v in obj["$tuple"])
    raise ValueError(f"load: unknown entry {sorted(obj)} in the file's structure")


def save(obj: Any, f: Any, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Write obj (a state dict, or nested dicts/lists of tensors and numbers) to f: a path or
    a binary file object."""
    arrays: dict = {}
    structure = json.dumps(_encode(obj, arrays))
    members = dict(arrays)
    members[_STRUCTURE] = np.array(structure)
    if hasattr(f, "write"):
        np.savez(f, **members)
        return
    path = Path(f)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **members)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load(f: Any, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **kwargs: Any) -> Any:
    """Read what `save` wrote: tensors come back as Tensors (Parameters as Parameters).
    map_location is accepted for PyTorch compatibility (everything is on the CPU)."""
    data = f.read() if hasattr(f, "read") else Path(f).read_bytes()
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError(f"load: {getattr(f, 'name', f)} is not a file written by "
                         f"steepest.save (not a zip archive)")
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        if _STRUCTURE not in archive.files:
            raise ValueError(
                f"load: {getattr(f, 'name', f)} was not written by steepest.save (a PyTorch "
                f"file holds pickled objects, which steepest does not execute; convert it "
                f"with torch: {{k: v.numpy() for k, v in torch.load(path).items()}})")
        structure = json.loads(str(archive[_STRUCTURE]))
        arrays = {name: archive[name] for name in archive.files if name != _STRUCTURE}
    return _decode(structure, arrays)
