"""Datasets as NumPy arrays: generated offline (MNIST-1D, digits) or read from the user's files.

Nothing here downloads. Every loader returns a `Split(x, y, x_test, y_test)`: images as
(N, C, H, W) float32 in [0, 1], signals as (N, L), labels as int64.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import struct
import tempfile
import tokenize
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from steepest import _limits
from steepest._suggest import did_you_mean


class DataError(ValueError):
    """Data that cannot be used as it is: a damaged or crafted file, labels that are not class
    indices, NaN or infinite inputs, parts that do not fit together, more than memory holds.
    The message names the file (or the array) and what is wrong."""


class Split(NamedTuple):
    """A dataset's train and test parts: x (N, *sample_shape), y (N,), x_test, y_test."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample, e.g. (40,) for MNIST-1D or (1, 28, 28) for MNIST."""
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        """1 + the largest integer label in train or test (labels are 0..K-1)."""
        labels = [a for a in (self.y, self.y_test) if a.size]
        return int(max(int(a.max()) for a in labels)) + 1 if labels else 0


DATASETS = ("mnist1d", "digits", "mnist", "fashion-mnist", "cifar10")

_ALIASES = {
    "mnist-1d": "mnist1d", "fashion": "fashion-mnist", "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10", "sklearn-digits": "digits",
}


def default_data_dir() -> Path:
    """Where steepest keeps data: `$STEEPEST_DATA_DIR`, else `~/.cache/steepest`."""
    env = os.environ.get("STEEPEST_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "steepest"


# --------------------------------------------------------------------------- MNIST-1D
MNIST1D_DEFAULT_SEED = 42  # the seed of `mnist1d.data.get_dataset_args()`: the published data
_MNIST1D_KEYS = ("x", "y", "x_test", "y_test")


def _generate_mnist1d(seed: int, **overrides) -> dict[str, np.ndarray]:
    """Run the `mnist1d` package's own generator; `overrides` change its arguments (tests)."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:
        raise ImportError(
            "MNIST-1D needs the 'mnist1d' package: pip install 'steepest[data]' (or mnist1d)"
        ) from error
    import random

    args = get_dataset_args()
    args.seed = seed
    for key, value in overrides.items():
        setattr(args, key, value)
    # The generator seeds NumPy's and Python's global generators; leave them as we found them.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {key: np.asarray(data[key]) for key in _MNIST1D_KEYS}


def _read_mnist1d_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the file is missing or unreadable (then regenerate)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {key: np.array(archive[key]) for key in _MNIST1D_KEYS}
    except Exception:  # truncated zip, bad header, missing key: all mean "regenerate"
        return None
    x, y, x_test, y_test = (data[key] for key in _MNIST1D_KEYS)
    consistent = (
        x.ndim == 2 and x_test.ndim == 2 and x.shape[1] == x_test.shape[1]
        and y.shape == (len(x),) and y_test.shape == (len(x_test),)
        and np.issubdtype(y.dtype, np.integer) and np.issubdtype(y_test.dtype, np.integer)
        and np.issubdtype(x.dtype, np.floating) and np.issubdtype(x_test.dtype, np.floating)
    )
    return data if consistent else None


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an .npz next to `path` under a temporary name, fsync it, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def mnist1d_cache_path(seed: int | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache file `load_mnist1d(seed, cache_dir=cache_dir)` reads and writes."""
    seed = MNIST1D_DEFAULT_SEED if seed is None else int(seed)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_data_dir()
    return folder / f"mnist1d-v1-seed{seed}.npz"


def load_mnist1d(seed: int | None = None, dtype=np.float32,
                 cache_dir: str | os.PathLike | None = None) -> Split:
    """MNIST-1D (Greydanus, 2020) with the generator's default arguments: 4000 train / 1000 test.

    x: (4000, 40), y: (4000,) int64 labels in 0..9; x_test: (1000, 40), y_test: (1000,).
    seed: the generator's seed (None: 42, the published dataset). The first call runs the
    `mnist1d` package's generator (a few seconds; `pip install steepest[data]`) and caches the
    arrays as `mnist1d-v1-seed<seed>.npz` in `cache_dir`, else `$STEEPEST_DATA_DIR`, else
    `~/.cache/steepest`; later calls read that file. The file is written atomically; an
    unreadable one is regenerated. Nothing is downloaded.
    """
    seed = MNIST1D_DEFAULT_SEED if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"load_mnist1d: seed must be a non-negative integer or None, got {seed!r}")
    path = mnist1d_cache_path(int(seed), cache_dir)
    data = _read_mnist1d_cache(path)
    if data is None:
        data = _generate_mnist1d(int(seed))
        try:
            _atomic_savez(path, data)
        except OSError as error:
            warnings.warn(f"could not cache MNIST-1D in {path} ({error}); it will be generated "
                          "again next time (set STEEPEST_DATA_DIR to a writable folder)",
                          stacklevel=2)
    return Split(
        data["x"].astype(dtype), data["y"].astype(np.int64),
        data["x_test"].astype(dtype), data["y_test"].astype(np.int64),
    )


# --------------------------------------------------------------------------- helpers
def _check_fraction(value: float, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not 0.0 < float(value) < 1.0:
        raise DataError(f"{owner}: {name} must be a fraction strictly between 0 and 1, "
                         f"got {value!r}")
    return float(value)


def _seeded_split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> Split:
    """Hold out round(N * test_fraction) samples chosen by default_rng(seed); order is kept."""
    n = len(x)
    n_test = min(max(int(round(n * test_fraction)), 1), n - 1) if n >= 2 else 0
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return Split(x[~test], y[~test], x[test], y[test])


#: What the targets of a user's file are: class labels, real values, or "auto" (`_labels`).
TARGET_KINDS = ("auto", "classification", "regression")


def _real_valued(values: np.ndarray) -> bool:
    """Whether "auto" reads `values` (finite floats) as regression targets: when at least half
    of them are not whole numbers. A few fractional values among class labels are a mistake to
    report (see `_labels`), not a reason to change the task."""
    values = np.asarray(values)
    return values.size > 0 and 2 * np.count_nonzero(values != np.round(values)) >= values.size


def _labels(y: np.ndarray, where: str, task: str = "auto") -> np.ndarray:
    """The targets of a user's file for `task`: "classification" wants integer(-valued) class
    labels (int64), "regression" real values (float32). "auto" reads integer-valued labels as
    classes (int64), and real values (a 2-D y, or at least half of the values not whole
    numbers) as regression targets (float32); a few fractional labels among whole ones are
    refused, never cut to integers."""
    if task not in TARGET_KINDS:
        raise DataError(f"{where}: task must be one of {', '.join(TARGET_KINDS)}, got {task!r}")
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise DataError(f"{where}: labels must be numbers, got dtype {y.dtype}")
    if np.iscomplexobj(y):
        raise DataError(f"{where}: labels must be real numbers, got dtype {y.dtype}")
    finite = np.isfinite(y)
    if task == "regression" or (task == "auto" and finite.all()
                                and (y.ndim == 2 or _real_valued(y))):
        if not finite.all():
            raise DataError(f"{where}: regression targets must be finite numbers; "
                            f"{int(finite.size - np.count_nonzero(finite))} are NaN or "
                            f"infinite")
        return y.astype(np.float32)
    if np.issubdtype(y.dtype, np.integer) or y.dtype == bool:
        return y.astype(np.int64)
    bad = np.flatnonzero(~finite.reshape(-1) | (y.reshape(-1) != np.round(y.reshape(-1))))
    if y.ndim != 1 or bad.size:
        shown = f"label {float(y.flat[bad[0]])!r} (index {bad[0]}) is not a whole number" \
            if bad.size else f"labels of shape {y.shape} are not one class per example"
        raise DataError(f"{where}: {shown}; class labels must be integers (for real-valued "
                        f"targets use task regression)")
    return y.astype(np.int64)


# --------------------------------------------------------------------------- digits
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) float64 counts 0..16, labels (1797,)) from scikit-learn's bundled
    digits.csv.gz, read directly (importing sklearn.datasets takes seconds), else its loader."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
            if path.is_file():
                table = np.loadtxt(path, delimiter=",", ndmin=2)
                if table.shape == (1797, 65):
                    return table[:, :-1].reshape(-1, 8, 8), table[:, -1]
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as error:
        raise ImportError("the digits dataset needs scikit-learn: pip install 'steepest[data]' "
                          "(or scikit-learn)") from error
    bunch = sklearn_digits()
    return np.asarray(bunch.images), np.asarray(bunch.target)


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """scikit-learn's 8x8 handwritten digits (1797 images), split by `default_rng(seed)`.

    x: (N, 1, 8, 8) float32 in [0, 1] (pixel counts 0..16 divided by 16), y: (N,) int64 in 0..9;
    round(1797 * test_fraction) samples go to the test part (order kept). Needs scikit-learn
    installed (its bundled data; nothing is downloaded).
    """
    test_fraction = _check_fraction(test_fraction, "test_fraction", "load_digits")
    images, target = _digits_arrays()
    x = (images.astype(np.float32) / np.float32(16.0))[:, None, :, :]
    y = target.astype(np.int64)
    return _seeded_split(x, y, test_fraction, seed)


# --------------------------------------------------------------------------- MNIST (IDX)
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_MNIST_SOURCES = {
    "mnist": ("MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/ (the files of "
                       "yann.lecun.com/exdb/mnist)"),
    "fashion": ("FashionMNIST", "https://github.com/zalandoresearch/fashion-mnist (data/fashion)"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped (`.gz`) or not, as a NumPy array.

    Layout: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, each dimension as a big-endian
    uint32, then the values, big-endian, row-major. The header is read first: a file that
    declares more data than it holds (or than memory holds, for a gzip bomb) is refused before
    the data is read.
    """
    path = Path(path)
    problem = _limits.not_a_file(path)
    if problem is not None:
        raise (FileNotFoundError if problem == "does not exist" else DataError)(
            f"{path} {problem}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            magic = handle.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
                raise DataError(f"{path}: not an IDX file (bad magic number "
                                f"{magic.hex() or 'empty'})")
            dtype = np.dtype(_IDX_DTYPES[magic[2]])
            ndim = magic[3]
            dims = handle.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataError(f"{path}: truncated IDX header")
            shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
            expected = math.prod(shape) * dtype.itemsize
            size = os.fstat(handle.fileno()).st_size - 4 - 4 * ndim
            if path.suffix != ".gz" and expected != size:
                raise DataError(f"{path}: IDX file says shape {shape} ({expected} bytes of data) "
                                f"but holds {size} bytes: the file is truncated or damaged")
            too_big = _limits.memory_problem(expected * 2)
            if too_big is not None:
                raise DataError(f"{path}: IDX header declares shape {shape}, which {too_big}")
            raw = handle.read(expected)
            extra = handle.read(1)
    except (OSError, EOFError, zlib.error) as error:  # a damaged gzip stream raises these
        raise DataError(f"{path}: cannot read this IDX file ({error})") from error
    if len(raw) != expected or extra:
        held = "more" if extra else f"{len(raw)} bytes"
        raise DataError(f"{path}: IDX file says shape {shape} ({expected} bytes of data) but "
                        f"holds {held}: the file is truncated or damaged")
    try:
        array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    except ValueError as error:  # no data, but sizes whose product NumPy cannot index
        raise DataError(f"{path}: IDX header declares shape {shape}, which NumPy cannot hold "
                        f"({error})") from None
    return array.astype(dtype.newbyteorder("="))


def _find_file(names: list[str], folders: list[Path]) -> Path | None:
    for folder in folders:
        for name in names:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def load_mnist(root: str | os.PathLike, kind: str = "mnist") -> Split:
    """MNIST or Fashion-MNIST from the four IDX files the user already has (never downloaded).

    Files: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
    t10k-labels-idx1-ubyte, each optionally gzipped (`.gz`), in `root`, `root/raw`, or
    torchvision's `root/MNIST/raw` (`root/FashionMNIST/raw`). kind: "mnist" or "fashion".
    x: (60000, 1, 28, 28) float32 in [0, 1], y: (60000,) int64; x_test: (10000, 1, 28, 28).
    """
    kind = {"fashion-mnist": "fashion", "fashion_mnist": "fashion"}.get(kind, kind)
    if kind not in _MNIST_SOURCES:
        raise DataError(f"load_mnist: kind must be 'mnist' or 'fashion', got {kind!r}")
    root = Path(root).expanduser()
    subfolder, source = _MNIST_SOURCES[kind]
    folders = [root, root / "raw", root / subfolder / "raw"]
    arrays = {}
    for key, name in _MNIST_FILES.items():
        # Also accept the common "train-images.idx3-ubyte" spelling.
        dotted = name.replace("-idx", ".idx")
        names = [name, name + ".gz", dotted, dotted + ".gz"]
        path = _find_file(names, folders)
        if path is None:
            raise FileNotFoundError(
                f"{'Fashion-MNIST' if kind == 'fashion' else 'MNIST'} file {name}[.gz] not found "
                f"in {root}: put the four IDX files ({', '.join(_MNIST_FILES.values())}, gzipped "
                f"or not) in that folder; they are available from {source}"
            )
        arrays[key] = (path, read_idx(path))
    parts = []
    for split in ("train", "test"):
        (image_path, images), (label_path, labels) = (arrays[f"{split}_images"],
                                                      arrays[f"{split}_labels"])
        if images.ndim != 3:
            raise DataError(f"{image_path}: expected images of shape (N, H, W), got "
                             f"{images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{label_path}: expected {len(images)} labels (one per image in "
                             f"{image_path.name}), got shape {labels.shape}")
        parts.append(images.astype(np.float32)[:, None] / np.float32(255.0))
        parts.append(_class_labels(labels, str(label_path)))
    if parts[0].shape[1:] != parts[2].shape[1:]:
        raise DataError(f"{root}: the training images are {parts[0].shape[1:]} but the test "
                        f"images {parts[2].shape[1:]}; both must have one size")
    return Split(parts[0], parts[1], parts[2], parts[3])


def load_fashion_mnist(root: str | os.PathLike) -> Split:
    """Fashion-MNIST from its IDX files in `root`: `load_mnist(root, kind="fashion")`."""
    return load_mnist(root, kind="fashion")


# --------------------------------------------------------------------------- CIFAR-10 (binary)
_CIFAR_RECORD = 1 + 3 * 32 * 32
_CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_CIFAR_TEST = "test_batch.bin"


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    problem = _limits.not_a_file(path)
    if problem is not None:
        raise DataError(f"{path} {problem}")
    too_big = _limits.memory_problem(5 * path.stat().st_size)  # bytes, then float32 pixels
    if too_big is not None:
        raise DataError(f"{path}: {path.stat().st_size} bytes, which as images {too_big}")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _CIFAR_RECORD:
        raise DataError(f"{path}: {raw.size} bytes is not a whole number of CIFAR-10 records "
                         f"({_CIFAR_RECORD} bytes each: 1 label + 3x32x32 pixels); the file is "
                         "truncated or not the binary version")
    records = raw.reshape(-1, _CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"{path}: label {labels.max()} out of range 0..9; is this CIFAR-100?")
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255.0)
    return images, labels


def load_cifar10(root: str | os.PathLike) -> Split:
    """CIFAR-10 from its binary version (never pickle, never downloaded).

    Files data_batch_1.bin .. data_batch_5.bin and test_batch.bin in `root` or in
    `root/cifar-10-batches-bin` (the folder cifar-10-binary.tar.gz unpacks to). Each record is
    one label byte and 3072 pixel bytes (red, green, blue planes of 32x32, row-major).
    x: (50000, 3, 32, 32) float32 in [0, 1], y: (50000,) int64; x_test: (10000, 3, 32, 32).
    """
    root = Path(root).expanduser()
    folders = [root, root / "cifar-10-batches-bin"]
    parts = []
    for names in (_CIFAR_TRAIN, (_CIFAR_TEST,)):
        images, labels = [], []
        for name in names:
            path = _find_file([name], folders)
            if path is None:
                raise FileNotFoundError(
                    f"CIFAR-10 file {name} not found in {root}: unpack cifar-10-binary.tar.gz "
                    "(the binary version from https://www.cs.toronto.edu/~kriz/cifar.html) "
                    f"into that folder so that it holds {', '.join(_CIFAR_TRAIN)} and "
                    f"{_CIFAR_TEST} (directly or in cifar-10-batches-bin/)"
                )
            batch_images, batch_labels = _read_cifar_batch(path)
            images.append(batch_images)
            labels.append(batch_labels)
        parts += [np.concatenate(images), np.concatenate(labels)]
    return Split(*parts)


# --------------------------------------------------------------------------- user arrays
def _split_or_hold_out(x, y, x_test, y_test, test_fraction, seed, where) -> Split:
    if (x_test is None) != (y_test is None):
        raise DataError(f"{where}: give both x_test and y_test, or neither (then "
                         f"{test_fraction:.0%} of x, y is held out for testing)")
    if len(x) != len(y):
        raise DataError(f"{where}: x has {len(x)} samples but y has {len(y)}")
    if x_test is None:
        if len(x) < 2:
            raise DataError(f"{where}: need at least 2 samples to hold out a test part, "
                             f"got {len(x)}")
        return _seeded_split(x, y, test_fraction, seed)
    if len(x_test) != len(y_test):
        raise DataError(f"{where}: x_test has {len(x_test)} samples but y_test has "
                         f"{len(y_test)}")
    if x.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{where}: x samples have shape {x.shape[1:]} but x_test samples "
                         f"{x_test.shape[1:]}")
    return Split(x, y, x_test, y_test)


def _features(array: np.ndarray, dtype, where: str) -> np.ndarray:
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.complexfloating):
        raise DataError(f"{where}: inputs are complex numbers ({array.dtype}); steepest "
                        f"trains on real inputs: pass the real and imaginary parts as features")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(f"{where}: features must be numbers, got dtype {array.dtype}")
    return array.astype(dtype)


def _check_npz_members(path: Path, keys: tuple[str, ...]) -> None:
    """Read each wanted member's .npy header from the zip archive (never its data): its
    declared size must be what the archive holds for it, and the arrays must fit in memory.
    An npz declaring 10^12 elements, or a zip bomb, is refused here."""
    needed = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                if key not in keys:
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, _, array_dtype = reader(member)
                    header_size = member.tell()
                if array_dtype.hasobject:
                    raise DataError(f"{path}: array {key} holds Python objects, which would "
                                    f"need pickle (never used); store numeric arrays only")
                nbytes = math.prod(shape) * array_dtype.itemsize
                if header_size + nbytes != info.file_size:
                    raise DataError(f"{path}: array {key} declares shape {shape} of "
                                    f"{array_dtype} ({nbytes} bytes) but the archive holds "
                                    f"{info.file_size - header_size} bytes for it: a damaged "
                                    f"or crafted file")
                needed += nbytes + math.prod(shape) * 8  # read, then converted
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            zlib.error, NotImplementedError, RuntimeError, struct.error, SyntaxError,
            tokenize.TokenError) as error:
        # What zipfile and numpy's .npy reader raise for a damaged or unusual archive
        # (encrypted members, unknown compression, a header numpy cannot parse).
        if isinstance(error, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({error}); save plain arrays with "
                        "numpy.savez(path, x=..., y=..., x_test=..., y_test=...)") from None
    too_big = _limits.memory_problem(needed)
    if too_big is not None:
        raise DataError(f"{path}: its arrays declare {needed} bytes, which {too_big}")


def _load_npz(path: Path, test_fraction: float, seed: int, dtype, task: str) -> Split:
    where = str(path)
    if zipfile.is_zipfile(path):
        _check_npz_members(path, ("x", "y", "x_test", "y_test"))
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:  # a bad zip, a bad header: say so, naming the file
        raise DataError(f"{path}: not a readable .npz file ({error}); save plain arrays with "
                         "numpy.savez(path, x=..., y=..., x_test=..., y_test=...)") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds one array, not an .npz archive with arrays x and y")
    with archive:
        keys = set(archive.files)
        if not {"x", "y"} <= keys:
            raise DataError(f"{path}: needs arrays named x and y (and optionally x_test, "
                             f"y_test); it has {sorted(keys) or 'none'}")
        try:
            loaded = {key: archive[key] for key in ("x", "y", "x_test", "y_test") if key in keys}
        except ValueError as error:  # object arrays need pickle, which is never used
            raise DataError(f"{path}: {error}; store numeric arrays only") from error
    x = _features(loaded["x"], dtype, where)
    y = _labels(loaded["y"], where, task)
    x_test = _features(loaded["x_test"], dtype, where) if "x_test" in loaded else None
    y_test = _labels(loaded["y_test"], where, task) if "y_test" in loaded else None
    if y_test is not None and y.dtype != y_test.dtype:  # "auto" read one part as classes only
        y, y_test = y.astype(np.float32), y_test.astype(np.float32)
    return _split_or_hold_out(x, y, x_test, y_test, test_fraction, seed, where)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_layout(path: Path) -> tuple[list[str] | None, int, int | None, list[int]]:
    """(header or None, number of columns, split column or None, value columns)."""
    with open(path, newline="", encoding="utf-8") as handle:
        first = next((row for row in csv.reader(handle)
                      if row and any(cell.strip() for cell in row)), None)
    if first is None:
        raise DataError(f"{path}: the CSV file is empty")
    header = None if all(_is_number(cell) for cell in first) else [c.strip() for c in first]
    names = [name.lower() for name in header] if header is not None else []
    split_column = names.index("split") if "split" in names else None
    value_columns = [i for i in range(len(first)) if i != split_column]
    if len(value_columns) < 2:
        raise DataError(f"{path}: need at least one feature column and a label column (the "
                         f"last), got {len(value_columns)} column(s)")
    return header, len(first), split_column, value_columns


def _csv_fast(path: Path, header, width, split_column, value_columns):
    """NumPy's C reader; any ValueError sends the caller to the careful reader."""
    options = dict(delimiter=",", skiprows=1 if header is not None else 0, comments=None,
                   quotechar='"', ndmin=2, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "input contained no data" and friends
        table = np.loadtxt(path, dtype=np.float64 if split_column is None else str, **options)
    if table.shape[1] != width:
        raise DataError("ragged")
    if split_column is None:
        return table, None
    tags = np.char.lower(np.char.strip(table[:, split_column]))
    if not np.isin(tags, ["train", "test"]).all():
        raise DataError("bad split tag")
    return table[:, value_columns].astype(np.float64), tags == "test"


def _csv_careful(path: Path, header, width, split_column, value_columns):
    """Row by row, naming the line of the first problem."""
    rows, lines = [], []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if row and any(cell.strip() for cell in row):
                rows.append(row)
                lines.append(reader.line_num)
    if header is not None:
        rows, lines = rows[1:], lines[1:]
    values = np.empty((len(rows), len(value_columns)), dtype=np.float64)
    is_test = np.zeros(len(rows), dtype=bool)
    for r, (row, line) in enumerate(zip(rows, lines, strict=True)):
        if len(row) != width:
            raise DataError(f"{path}, line {line}: {len(row)} columns, expected {width}")
        try:
            values[r] = [float(row[i]) for i in value_columns]
        except ValueError as error:
            raise DataError(f"{path}, line {line}: {error}") from error
        if split_column is not None:
            tag = row[split_column].strip().lower()
            if tag not in ("train", "test"):
                raise DataError(f"{path}, line {line}: split must be 'train' or 'test', "
                                 f"got {row[split_column]!r}")
            is_test[r] = tag == "test"
    return values, (is_test if split_column is not None else None), lines


def _load_csv(path: Path, test_fraction: float, seed: int, dtype, task: str) -> Split:
    try:
        return _parse_csv(path, test_fraction, seed, dtype, task)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV file ({error}); save it as UTF-8 text, "
                        f"one sample per row") from None


def _parse_csv(path: Path, test_fraction: float, seed: int, dtype, task: str) -> Split:
    header, width, split_column, value_columns = _csv_layout(path)
    lines = None
    try:
        values, is_test = _csv_fast(path, header, width, split_column, value_columns)
    except ValueError:
        values, is_test, lines = _csv_careful(path, header, width, split_column, value_columns)
    if len(values) == 0:
        raise DataError(f"{path}: the CSV file has a header but no rows")
    labels = values[:, -1]
    not_finite = ~np.isfinite(labels)
    not_whole = not_finite | (labels != np.round(labels))
    # "auto" reads real values (mostly not whole numbers) as regression targets.
    regression = task == "regression" or (task == "auto" and not not_finite.any()
                                          and _real_valued(labels))
    bad = np.flatnonzero(not_finite if regression else not_whole)
    if bad.size:
        if lines is None:
            lines = _csv_careful(path, header, width, split_column, value_columns)[2]
        wanted = "a finite number" if regression else (
            "an integer (a class; for real-valued targets use task regression)")
        raise DataError(f"{path}, line {lines[bad[0]]}: the label (last column) must be "
                         f"{wanted}, got {float(labels[bad[0]])!r}")
    x = values[:, :-1].astype(dtype)
    y = labels.astype(np.float32 if regression else np.int64)
    if is_test is None:
        return _split_or_hold_out(x, y, None, None, test_fraction, seed, str(path))
    return Split(x[~is_test], y[~is_test], x[is_test], y[is_test])


def load_arrays(path: str | os.PathLike, *, test_fraction: float = 0.2, seed: int = 0,
                dtype=np.float32, task: str = "auto") -> Split:
    """The user's own data from a `.npz` or `.csv` file.

    `.npz`: arrays x (N, ...), y (N,), and optionally x_test, y_test (both or neither), as
    written by `numpy.savez(path, x=x, y=y, x_test=x_test, y_test=y_test)`; never unpickled.
    `.csv`: one sample per row, features then the integer label in the last column; an optional
    header row (detected: a cell that is not a number); with a header, an optional column named
    `split` holding "train" or "test" per row. (CSV parsing runs at NumPy's `loadtxt` speed,
    some seconds per million values: save big data as .npz.)
    Without a given test part, round(N * test_fraction) samples chosen by `default_rng(seed)`
    are held out (order kept). x is cast to `dtype` (no scaling).
    task: what the labels are. "classification": integer class labels, as int64 (a label that
    is not a whole number is an error naming it); "regression": real-valued targets, as float32
    (y (N,) or (N, K) in an .npz; the last column of a CSV); "auto" (the default): integer-
    valued labels are classes (int64), anything else real-valued targets (float32).
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise DataError(f"load_arrays: {path} must end in .npz or .csv")
    test_fraction = _check_fraction(test_fraction, "test_fraction", "load_arrays")
    problem = _limits.not_a_file(path)
    if problem is not None and problem != "does not exist":
        raise DataError(f"data file {path} {problem}")
    if not path.is_file():
        raise FileNotFoundError(
            f"data file {path} not found: put your arrays there (an .npz with x, y[, x_test, "
            "y_test], or a .csv with the label in the last column) or pass the right path"
        )
    if task not in TARGET_KINDS:
        raise DataError(f"load_arrays: task must be one of {', '.join(TARGET_KINDS)}, got "
                         f"{task!r}")
    if suffix == ".npz":
        return _load_npz(path, test_fraction, seed, dtype, task)
    return _load_csv(path, test_fraction, seed, dtype, task)


# --------------------------------------------------------------------------- checks
def _class_labels(labels: np.ndarray, where: str) -> np.ndarray:
    """Labels as int64 class indices: integers, or floats that are whole numbers; fractional
    labels are refused (never cut to integers)."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "iub":
        return labels.astype(np.int64)
    if labels.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(labels) | (labels != np.round(labels)))
        if bad.size:
            raise DataError(f"{where}: label {labels.flat[bad[0]]!r} (index {bad[0]}) is not a "
                            f"whole number; class labels must be integers")
        return labels.astype(np.int64)
    raise DataError(f"{where}: labels must be numbers, got dtype {labels.dtype}")


def check_inputs(x: np.ndarray, where: str, part: str = "training inputs") -> None:
    """Raise DataError unless `x` holds real, finite numbers: NaN or infinite values are
    counted and located (a data problem, found before training, never "divergence")."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{where}: the {part} are complex numbers ({x.dtype}); steepest trains "
                        f"on real inputs")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"{where}: the {part} must be numbers, got dtype {x.dtype}")
    if x.dtype.kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            bad = int(finite.size - np.count_nonzero(finite))
            first = np.unravel_index(int(np.argmin(finite)), x.shape)
            raise DataError(f"{where}: the {part} hold {bad} NaN or infinite "
                            f"value{'s' if bad > 1 else ''} (the first in sample {first[0]}); "
                            f"clean or drop those samples before training")


def check_split(split: Split, where: str, task: str = "classification") -> None:
    """Raise DataError naming the problem unless `split` is usable for `task`: real, finite
    inputs; train and test samples of one shape; and for classification labels that are 1-D
    class indices 0..K-1, one per sample, with K bounded by the data (a label of 10^12 is
    refused without allocating anything proportional to it), for regression finite targets
    (N,) or (N, K), one row per sample, with one K for both parts."""
    x, y, x_test, y_test = split
    check_inputs(x, where, "training inputs")
    check_inputs(x_test, where, "test inputs")
    if len(x_test) and x.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{where}: training samples have shape {x.shape[1:]} but test samples "
                        f"{x_test.shape[1:]}; both must have one shape")
    if task == "regression":
        _check_targets(x, y, x_test, y_test, where)
        return
    examples = len(y) + len(y_test)
    limit = max(1024, examples)
    for part, labels in (("training", y), ("test", y_test)):  # fractional: refused, not cut
        labels = np.asarray(labels)
        if labels.dtype.kind == "f" and labels.size:
            bad = np.flatnonzero(~np.isfinite(labels) | (labels != np.round(labels)))
            if bad.size:
                raise DataError(f"{where}: the {part} labels must be class indices (whole "
                                f"numbers), but label {bad[0]} is {float(labels[bad[0]])!r}")
    for part, inputs, labels in (("training", x, y), ("test", x_test, y_test)):
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != len(inputs):
            raise DataError(f"{where}: the {part} labels must be one class index per sample "
                            f"({len(inputs)}), got shape {labels.shape}")
        if labels.size == 0:
            continue
        if labels.dtype.kind not in "iu":
            raise DataError(f"{where}: the {part} labels must be class indices (integers), "
                            f"got {labels.dtype}")
        low, high = labels.min(), labels.max()
        if low < 0:
            raise DataError(f"{where}: negative class index {low} in the {part} labels")
        if high >= limit:
            raise DataError(f"{where}: label {high} in the {part} labels is far outside the "
                            f"classes: class indices run 0..K-1, and {examples} examples "
                            f"cannot need more than {limit}; fix the labels")


def _check_targets(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                   where: str) -> None:
    for part, inputs, targets in (("training", x, y), ("test", x_test, y_test)):
        targets = np.asarray(targets)
        if targets.ndim not in (1, 2) or len(targets) != len(inputs):
            raise DataError(f"{where}: the {part} targets must be (N,) or (N, K) with one row "
                            f"per sample ({len(inputs)}), got shape {targets.shape}")
        check_inputs(targets, where, f"{part} targets")
    if len(y_test) and np.shape(y)[1:] != np.shape(y_test)[1:]:
        raise DataError(f"{where}: the training targets have shape {np.shape(y)[1:]} per sample "
                        f"but the test targets {np.shape(y_test)[1:]}")


# --------------------------------------------------------------------------- registry
def load_dataset(name: str, root: str | os.PathLike | None = None,
                 seed: int | None = None, task: str = "auto") -> Split:
    """A dataset by name, for the command line.

    name: one of `DATASETS` ("mnist1d", "digits", "mnist", "fashion-mnist", "cifar10"), or a
    path ending in .npz / .csv (see `load_arrays`). root: the folder holding the files of
    mnist / fashion-mnist / cifar10 (default: `default_data_dir() / name`), or MNIST-1D's cache
    folder. seed: MNIST-1D's generator seed (None: the published data) or, for digits and user
    arrays, the seed of the held-out test split (None: 0). task: what a file's labels are
    ("auto", "classification", "regression"; see `load_arrays`); the named datasets are
    classification.
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"load_dataset: name must be a string, got {type(name).__name__}")
    text = os.fspath(name)
    if text.lower().endswith((".npz", ".csv")):
        return load_arrays(text, seed=0 if seed is None else seed, task=task)
    if task == "regression":
        raise DataError(f"{text} is a classification dataset; regression needs your own "
                         f"real-valued targets in a .csv or .npz file")
    key = text.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key == "mnist1d":
        return load_mnist1d(seed=seed, cache_dir=root)
    if key == "digits":
        return load_digits(seed=0 if seed is None else seed)
    if key in ("mnist", "fashion-mnist", "cifar10"):
        folder = Path(root).expanduser() if root is not None else default_data_dir() / key
        if key == "cifar10":
            return load_cifar10(folder)
        return load_mnist(folder, kind="fashion" if key == "fashion-mnist" else "mnist")
    raise DataError(f"unknown dataset {text!r}{did_you_mean(key, DATASETS)}: choose one of "
                    f"{', '.join(DATASETS)}, or give the path of a .npz or .csv file")
