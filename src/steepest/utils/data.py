"""`torch.utils.data` over steepest's seeded loader: `Dataset`, `TensorDataset`, `DataLoader`,
`Subset`, `ConcatDataset`, `random_split`, the samplers and `default_collate`.

`DataLoader` has PyTorch's signature and batches (a list [x, y] for a dataset of pairs, a dict
for dicts, collated by `default_collate`), and keeps steepest's guarantees (see
`steepest.data.loader`): with shuffle, epoch e visits `default_rng([seed, e]).permutation(n)`,
so a run can be replayed or resumed from (seed, epoch). The seed comes from `generator` if one
is given, else from the default generator (`steepest.manual_seed`) when the loader is built.
Datasets that take an index array (TensorDataset, steepest's ArrayDataset) are read one batch
at a time; others one sample at a time, as PyTorch does. Everything runs in this process:
`num_workers` is accepted and ignored.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from steepest.data.loader import ArrayDataset, _check_seed, _split_sizes
from steepest.data.loader import DataLoader as _SeededLoader
from steepest.random import get_generator
from steepest.tensor import Tensor

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert",
    "get_worker_info", "random_split",
]


class Dataset:
    """A map-style dataset: subclasses define `__getitem__(index)` and `__len__()`."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define `__iter__()`."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class TensorDataset(Dataset):
    """Samples i are (t[i] for t in tensors); all tensors share their first dim."""

    def __init__(self, *tensors: Any) -> None:
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in tensors)
        if any(t.ndim == 0 for t in tensors) or len({len(t) for t in tensors}) > 1:
            raise ValueError(f"Size mismatch between tensors: first dims "
                             f"{[t.shape[:1] for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0]) if self.tensors else 0


class Subset(Dataset):
    """The samples of `dataset` at `indices`."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[np.asarray(self.indices)[np.asarray(index)]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: Sequence[int]) -> list:
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """The datasets one after another."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if which == 0 else self.cumulative_sizes[which - 1]
        return self.datasets[which][index - start]


def random_split(dataset: Any, lengths: Sequence[float], generator: Any = None) -> list:
    """Non-overlapping random Subsets: integer lengths summing to len(dataset), or fractions
    summing to 1 (sizes rounded down, the remainder handed out one by one, as PyTorch)."""
    n = len(dataset)
    sizes = _split_sizes(n, lengths)
    order = get_generator(generator).permutation(n)
    parts, offset = [], 0
    for size in sizes:
        parts.append(Subset(dataset, order[offset:offset + size].tolist()))
        offset += size
    return parts


# --------------------------------------------------------------------------- samplers
class Sampler:
    """Yields dataset indices."""

    def __init__(self, data_source: Any = None) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order each pass (with replacement: num_samples independent draws)."""

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        super().__init__(data_source)
        self.replacement, self.generator = replacement, generator
        self._num_samples = num_samples

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        rng = get_generator(self.generator)
        n = len(self.data_source)
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        reps = -(-self.num_samples // max(n, 1))
        order = np.concatenate([rng.permutation(n) for _ in range(reps)]) if n else []
        return iter(list(order[:self.num_samples]))

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        super().__init__(None)
        self.indices, self.generator = list(indices), generator

    def __iter__(self) -> Iterator[int]:
        order = get_generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probabilities proportional to weights."""

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        super().__init__(None)
        w = np.asarray(weights.data if isinstance(weights, Tensor) else weights, np.float64)
        self.weights, self.num_samples = w, int(num_samples)
        self.replacement, self.generator = replacement, generator

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        draws = get_generator(self.generator).choice(len(p), self.num_samples,
                                                     replace=self.replacement, p=p)
        return iter(draws.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of a sampler into lists of batch_size."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        super().__init__(None)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# --------------------------------------------------------------------------- collation
def default_collate(batch: Sequence[Any]) -> Any:
    """A list of samples as one batch, as PyTorch's: tensors and arrays stacked along a new
    dim 0, numbers as a tensor (floats float64, ints int64), dicts and tuples collated field by
    field (tuples come back as lists), strings kept as a list."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        from steepest.functional.shape import stack

        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "USO":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, "
                            f"numbers, dicts or lists; found {elem.dtype}")
        return Tensor(np.stack(batch))
    if isinstance(elem, (np.number, np.bool_)):
        return Tensor(np.array(batch))
    if isinstance(elem, bool):
        return Tensor(np.array(batch, dtype=bool))
    if isinstance(elem, float):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch, strict=True)))
    if isinstance(elem, Sequence):
        if len({len(e) for e in batch}) != 1:
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch, strict=True)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(elem)}")


def default_convert(data: Any) -> Any:
    """NumPy arrays (and those inside dicts and sequences) as tensors; the rest unchanged."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "USO":
        return Tensor(data)
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(d) for d in data)
    return data


def get_worker_info() -> None:
    """None: data loading runs in the main process."""
    return None


_BATCHED = (TensorDataset, ArrayDataset)


class DataLoader(_SeededLoader):
    """PyTorch's DataLoader: batches of `dataset` (collated with `collate_fn`), seeded and
    resumable (see the module docstring). batch_size=None yields single samples unbatched."""

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Any = None,
                 multiprocessing_context: Any = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True,
                 seed: int | None = None) -> None:
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                             "shuffle, sampler, and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if isinstance(dataset, IterableDataset) and (shuffle or sampler is not None):
            raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                             "and sampler options")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
                batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if seed is None:
            seed = int(get_generator(generator).integers(0, 2**63 - 1))
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = _check_seed(seed, "DataLoader")
        self.transform = None
        self.epoch = 0
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers

    # ---------------------------------------------------------------- sizes
    def _batch(self) -> int:
        return 1 if self.batch_size is None else self.batch_size

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    # ---------------------------------------------------------------- batches
    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            return self._stream()
        return super().epoch_batches(epoch, start)

    def _index_batches(self, epoch: int) -> Iterator[list]:
        if self.batch_sampler is not None:
            yield from self.batch_sampler
            return
        order = list(self.sampler) if self.sampler is not None else self.epoch_order(epoch)
        size = self._batch()
        count = len(self)
        for b in range(count):
            yield order[b * size:(b + 1) * size]

    def _batches(self, epoch: int, start: int, count: int) -> Iterator[Any]:
        collate = self.collate_fn
        fast = collate is None and self.batch_size is not None and isinstance(
            self.dataset, _BATCHED) and self.sampler is None and self.batch_sampler is None
        for b, indices in enumerate(self._index_batches(epoch)):
            if b < start:
                continue
            if self.batch_size is None and self.batch_sampler is None:
                sample = self.dataset[int(indices[0])]
                yield (collate or default_convert)(sample)
            elif fast:
                yield _as_batch(self.dataset[np.asarray(indices)])
            else:
                samples = self._fetch(indices)
                yield (collate or default_collate)(samples)

    def _fetch(self, indices: Sequence[int]) -> list:
        many = getattr(self.dataset, "__getitems__", None)
        if many is not None:
            return many([int(i) for i in indices])
        return [self.dataset[int(i)] for i in indices]

    def _stream(self) -> Iterator[Any]:
        collate = self.collate_fn
        if self.batch_size is None:
            for sample in self.dataset:
                yield (collate or default_convert)(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield (collate or default_collate)(batch)
                batch = []
        if batch and not self.drop_last:
            yield (collate or default_collate)(batch)

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.dataset) if hasattr(self.dataset, '__len__') else '?'} "
                f"samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed})")


def _as_batch(values: Any) -> Any:
    """A batch read with an index array: a list of tensors, as default_collate would give."""
    if isinstance(values, tuple):
        return [v if isinstance(v, Tensor) else Tensor(np.asarray(v)) for v in values]
    return values if isinstance(values, Tensor) else Tensor(np.asarray(values))

