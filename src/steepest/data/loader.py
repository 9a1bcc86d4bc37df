"""`ArrayDataset` and `DataLoader`: seeded, resumable batches of NumPy arrays as Tensors.

Determinism, written once here so that a resumed run replays exactly:
- epoch e visits the samples in the order `np.random.default_rng([seed, e]).permutation(n)`
  (shuffle=True), or 0..n-1 (shuffle=False);
- the transform of batch b of epoch e draws from `np.random.default_rng([seed, e, b, 1])`.
So batch b of epoch e depends only on (seed, e, b), never on what ran before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from steepest.random import default_generator
from steepest.tensor import Tensor

Transform = Callable[[np.ndarray, np.ndarray, np.random.Generator],
                     tuple[np.ndarray, np.ndarray]]


class ArrayDataset:
    """Samples held in memory: x (N, *sample_shape) and y (N, ...) with the same N.

    `dataset[i]` with an int gives one (x_i, y_i); with an index array or a slice, the batch
    (x[index], y[index]).
    """

    def __init__(self, x: Any, y: Any) -> None:
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"ArrayDataset: x and y need a leading sample axis, got shapes "
                             f"{x.shape} and {y.shape}")
        if len(x) != len(y):
            raise ValueError(f"ArrayDataset: x has {len(x)} samples but y has {len(y)}")
        self.x = x
        self.y = y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index) -> tuple[np.ndarray, np.ndarray]:
        return self.x[index], self.y[index]

    def __repr__(self) -> str:
        return (f"ArrayDataset(x: {self.x.shape} {self.x.dtype}, "
                f"y: {self.y.shape} {self.y.dtype})")


def _as_dataset(dataset: Any) -> Any:
    if isinstance(dataset, tuple) and len(dataset) == 2:
        return ArrayDataset(*dataset)
    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__") \
            and not isinstance(dataset, (np.ndarray, list, tuple)):
        return dataset
    raise TypeError("DataLoader: dataset must be an ArrayDataset or an (x, y) tuple of arrays, "
                    f"got {type(dataset).__name__}")


def _check_seed(seed: Any, owner: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{owner}: seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def _draw_seed() -> int:
    return int(default_generator().integers(0, 2**63 - 1))


class DataLoader:
    """Batches of a dataset, seeded, as `(x, y)` Tensors (requires_grad=False).

    batch_size: None = the full dataset in one batch (gradient descent), 1 = one sample per
    batch (stochastic), n = mini-batches of n (the last one smaller unless drop_last).
    shuffle: a new permutation each epoch (see the module docstring for the exact rule).
    seed: None draws one from `steepest.random.default_generator()` here, once.
    transform: `t(x, y, rng) -> (x, y)` on NumPy batches (see `steepest.data.augment`); y may
    come back as float soft targets (mixup).
    `iter(loader)` runs epoch `loader.epoch` and increments it at once; `epoch_batches(e,
    start)` runs any epoch from any batch, to resume mid-epoch.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None,
                 transform: Transform | None = None) -> None:
        self.dataset = _as_dataset(dataset)
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None (full "
                             f"batch), got {batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable t(x, y, rng), got "
                            f"{type(transform).__name__}")
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = _draw_seed() if seed is None else _check_seed(seed, "DataLoader")
        self.transform = transform
        self.epoch = 0

    # ---------------------------------------------------------------- sizes
    @property
    def num_samples(self) -> int:
        return len(self.dataset)

    def _batch(self) -> int:
        n = self.num_samples
        return max(n, 1) if self.batch_size is None else self.batch_size

    def __len__(self) -> int:
        """Batches per epoch."""
        n, size = self.num_samples, self._batch()
        return n // size if self.drop_last else -(-n // size)

    # ---------------------------------------------------------------- order
    def set_epoch(self, epoch: int) -> None:
        """The epoch that the next `iter(loader)` runs."""
        self.epoch = _check_seed(epoch, "DataLoader.set_epoch (epoch)")

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The sample indices of `epoch` in visiting order: (N,) int64."""
        epoch = _check_seed(epoch, "DataLoader (epoch)")
        n = self.num_samples
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def batch_generator(self, epoch: int, batch: int) -> np.random.Generator:
        """The generator the transform of batch `batch` of `epoch` draws from."""
        return np.random.default_rng([self.seed, epoch, batch, 1])

    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """The batches of `epoch` from batch index `start` on (exact resume mid-epoch)."""
        epoch = _check_seed(epoch, "DataLoader.epoch_batches (epoch)")
        count = len(self)
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) \
                or not 0 <= start <= count:
            raise ValueError(f"DataLoader.epoch_batches: start must be a batch index in "
                             f"0..{count}, got {start!r}")
        return self._batches(epoch, int(start), count)

    def _batches(self, epoch: int, start: int, count: int) -> Iterator[tuple[Tensor, Tensor]]:
        order = self.epoch_order(epoch)
        size = self._batch()
        for b in range(start, count):
            x, y = self.dataset[order[b * size:(b + 1) * size]]
            if self.transform is not None:
                x, y = self.transform(x, y, self.batch_generator(epoch, b))
            yield Tensor(np.asarray(x)), Tensor(np.asarray(y))

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        epoch = self.epoch
        self.epoch = epoch + 1
        return self.epoch_batches(epoch)

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, int]:
        """{"seed", "epoch"}: all a checkpoint needs to rebuild this loader's future batches."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.seed = _check_seed(state["seed"], "DataLoader.load_state_dict (seed)")
        self.set_epoch(state["epoch"])

    def __repr__(self) -> str:
        return (f"DataLoader({self.num_samples} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"{len(self)} batches per epoch)")


# --------------------------------------------------------------------------- splits
def _split_sizes(n: int, lengths: Sequence[float]) -> list[int]:
    """Integer sizes, or fractions that sum to 1 turned into sizes as PyTorch does."""
    values = list(lengths)
    if not values:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        if any(v < 0 for v in values) or sum(values) != n:
            raise ValueError(f"random_split: lengths {values} must be non-negative and sum to "
                             f"the dataset's size {n}")
        return [int(v) for v in values]
    if any(not 0.0 <= float(v) <= 1.0 for v in values) or not np.isclose(sum(values), 1.0):
        raise ValueError(f"random_split: fractions {values} must lie in [0, 1] and sum to 1 "
                         "(or give integer lengths that sum to the dataset's size)")
    sizes = [int(np.floor(n * float(v))) for v in values]
    for i in range(n - sum(sizes)):  # hand out the remainder round-robin, as PyTorch does
        sizes[i % len(sizes)] += 1
    return sizes


def random_split(dataset: Any, lengths: Sequence[float],
                 seed: int | None = None) -> list[ArrayDataset]:
    """Split into non-overlapping random parts, like `torch.utils.data.random_split`.

    lengths: integer sizes summing to N, or fractions summing to 1. The parts take
    `default_rng(seed).permutation(N)` in turn (seed None: drawn from the default generator).
    """
    dataset = _as_dataset(dataset)
    seed = _draw_seed() if seed is None else _check_seed(seed, "random_split")
    n = len(dataset)
    sizes = _split_sizes(n, lengths)
    order = np.random.default_rng(seed).permutation(n)
    parts, offset = [], 0
    for size in sizes:
        parts.append(ArrayDataset(*dataset[order[offset:offset + size]]))
        offset += size
    return parts


def train_val_split(x: Any, y: Any, val_fraction: float,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out round(N * val_fraction) samples for validation: (x_tr, y_tr, x_val, y_val).

    The validation samples are `default_rng(seed).permutation(N)[:n_val]`; both parts keep the
    original order. val_fraction=0 gives empty validation arrays; a positive fraction gives at
    least one validation and one training sample.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"train_val_split: x has {len(x)} samples but y has {len(y)}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float, np.floating)) \
            or not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in [0, 1), got {val_fraction!r}")
    seed = _check_seed(seed, "train_val_split")
    n = len(x)
    n_val = int(round(n * float(val_fraction)))
    if val_fraction > 0:
        if n < 2:
            raise ValueError(f"train_val_split: need at least 2 samples to hold some out, "
                             f"got {n}")
        n_val = min(max(n_val, 1), n - 1)
    is_val = np.zeros(n, dtype=bool)
    is_val[np.random.default_rng(seed).permutation(n)[:n_val]] = True
    return x[~is_val], y[~is_val], x[is_val], y[is_val]
