"""Fuzz targets: every parser of outside input, fed arbitrary bytes.

Each target writes the bytes to a scratch file and parses it the way steepest does. The only
acceptable outcomes are a result or the documented error of that parser (`ALLOWED`): anything
else (a TypeError, a KeyError, a RecursionError, a MemoryError, a zipfile error, a hang) is a
bug. `run.py` drives them under atheris (libFuzzer); `tests/test_fuzz.py` runs them for a
bounded number of inputs on every `make test`; `seeds.py` makes their seed corpora.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def _scratch_folder() -> Path:
    """A folder for this process's inputs (in memory where /dev/shm exists), removed at exit;
    those of processes gone without removing theirs (libFuzzer exits hard) are removed here."""
    base = Path("/dev/shm") if os.path.isdir("/dev/shm") else Path(tempfile.gettempdir())
    for old in base.glob("steepest-fuzz-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    folder = base / f"steepest-fuzz-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


_SCRATCH = _scratch_folder()


def scratch(name: str, data: bytes) -> Path:
    path = _SCRATCH / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------- checkpoints
_TRAINER = None


def _trainer():
    """A tiny Trainer whose `load_checkpoint` is the full resume path (model, optimizer,
    schedule, EMA, callbacks, RNG, the trainer's own fields)."""
    global _TRAINER
    if _TRAINER is None:
        import numpy as np

        from steepest import nn, optim
        from steepest.data import DataLoader
        from steepest.optim import lr_scheduler
        from steepest.train import EarlyStopping, Trainer

        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
        optimizer = optim.Adam(model.parameters(), lr=0.1)
        trainer = Trainer(model, optimizer, scheduler=lr_scheduler.StepLR(optimizer, 2),
                          callbacks=[EarlyStopping(monitor="loss", patience=3)],
                          progress=False, log=None)
        rng = np.random.default_rng(0)
        trainer._loader = DataLoader((rng.normal(size=(20, 3)).astype(np.float32),
                                      rng.integers(0, 2, 20)), batch_size=5, seed=0)
        _TRAINER = trainer
    return _TRAINER


def checkpoint(data: bytes) -> None:
    """The safetensors header, steepest's metadata, and a Trainer resuming from it."""
    from steepest.io import CheckpointError, checkpoint_info, load_checkpoint, load_state_dict

    path = scratch("fuzz.safetensors", data)
    loaded = None
    for load in (checkpoint_info, load_state_dict, load_checkpoint):
        try:
            loaded = load(path)
        except CheckpointError:
            loaded = None
    if loaded is not None:
        try:
            _trainer().load_checkpoint(path)
        except CheckpointError:
            pass


# ---------------------------------------------------------------------------- data
def idx(data: bytes) -> None:
    from steepest.data import read_idx

    read_idx(scratch("fuzz-idx1-ubyte", data))


def idx_gz(data: bytes) -> None:
    import gzip

    from steepest.data import read_idx

    read_idx(scratch("fuzz-idx3-ubyte.gz", data))  # the bytes as a (broken) gzip stream
    read_idx(scratch("fuzz-idx3-ubyte.gz", gzip.compress(data, 1)))


def cifar(data: bytes) -> None:
    from steepest.data.datasets import _read_cifar_batch

    _read_cifar_batch(scratch("data_batch_1.bin", data))


def npz(data: bytes) -> None:
    from steepest.data import check_split, load_arrays

    check_split(load_arrays(scratch("fuzz.npz", data)), "fuzz.npz")


def csv(data: bytes) -> None:
    from steepest.data import check_split, load_arrays

    check_split(load_arrays(scratch("fuzz.csv", data)), "fuzz.csv")


# ---------------------------------------------------------------------------- config
def config(data: bytes) -> None:
    from steepest.cli.train import load_config

    load_config(str(scratch("fuzz.toml", data)))


def _data_error() -> tuple[type[BaseException], ...]:
    from steepest.data import DataError

    return (DataError,)


def _checkpoint_error() -> tuple[type[BaseException], ...]:
    from steepest.io import CheckpointError

    return (CheckpointError,)


def _usage_error() -> tuple[type[BaseException], ...]:
    from steepest.cli import UsageError

    return (UsageError,)


#: name -> (target, the documented errors it may raise)
TARGETS: dict[str, tuple[Callable[[bytes], None], Callable[[], tuple]]] = {
    "checkpoint": (checkpoint, _checkpoint_error),
    "idx": (idx, _data_error),
    "idx_gz": (idx_gz, _data_error),
    "cifar": (cifar, _data_error),
    "npz": (npz, _data_error),
    "csv": (csv, _data_error),
    "config": (config, _usage_error),
}


def run_one(name: str, data: bytes) -> None:
    """Feed `data` to target `name`; a documented error is an acceptable outcome, anything
    else propagates (and is a finding)."""
    target, allowed = TARGETS[name]
    try:
        target(data)
    except allowed():
        pass
