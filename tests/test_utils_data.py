"""`steepest.utils.data` against `torch.utils.data`: the same batches (structure, shapes,
dtypes, values) for the same datasets and options; shuffling seeded and resumable."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from torch_parity import compare, to_numpy

import steepest
import steepest.utils.data as sud


def both(build):
    """build(lib, data_module) -> iterable of batches, for both libraries, as NumPy."""
    return ([to_numpy(b) for b in build(steepest, sud)],
            [to_numpy(b) for b in build(torch, tud)])


class Pairs:
    """A map-style dataset of (array, int) pairs written against either library."""

    def __init__(self, lib, n=7):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.lib.full((2,), float(i)), i


class Records:
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.arange(3.0) * i, "label": i % 2, "weight": 0.5 * i, "name": f"r{i}"}


CASES = {
    "tensor_dataset": lambda lib, d: d.DataLoader(
        d.TensorDataset(lib.arange(10.0).reshape(5, 2), lib.arange(5)), batch_size=2),
    "drop_last": lambda lib, d: d.DataLoader(
        d.TensorDataset(lib.arange(10.0).reshape(5, 2)), batch_size=2, drop_last=True),
    "custom_pairs": lambda lib, d: d.DataLoader(Pairs(lib), batch_size=3),
    "dicts_numbers_strings": lambda lib, d: d.DataLoader(Records(), batch_size=2),
    "no_batching": lambda lib, d: d.DataLoader(Records(), batch_size=None),
    "collate_fn": lambda lib, d: d.DataLoader(Pairs(lib), batch_size=4,
                                              collate_fn=lambda batch: len(batch)),
    "sampler": lambda lib, d: d.DataLoader(Pairs(lib), batch_size=2, sampler=[6, 0, 3, 3]),
    "batch_sampler": lambda lib, d: d.DataLoader(Pairs(lib), batch_sampler=d.BatchSampler(
        d.SequentialSampler(range(7)), 3, drop_last=False)),
    "subset_concat": lambda lib, d: d.DataLoader(
        d.ConcatDataset([d.Subset(Pairs(lib), [4, 1]), Pairs(lib, 2)]), batch_size=3),
    "dataset_add": lambda lib, d: d.DataLoader(
        d.TensorDataset(lib.ones(2, 1)) + d.TensorDataset(lib.zeros(1, 1)), batch_size=2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_batches_match_torch(name) -> None:
    ours, theirs = both(CASES[name])
    compare(ours, theirs, name)
    loader = CASES[name](steepest, sud)
    assert len(loader) == len(CASES[name](torch, tud))


def test_iterable_dataset() -> None:
    def build(lib, d):
        class Counter(d.IterableDataset):
            def __iter__(self):
                return iter(range(7))

        return d.DataLoader(Counter(), batch_size=3)

    ours, theirs = both(build)
    compare(ours, theirs, "iterable")


def test_shuffle_is_a_seeded_permutation_per_epoch() -> None:
    data = sud.TensorDataset(steepest.arange(20))
    first = sud.DataLoader(data, batch_size=5, shuffle=True, generator=steepest.Generator()
                           .manual_seed(3))
    again = sud.DataLoader(data, batch_size=5, shuffle=True, generator=steepest.Generator()
                           .manual_seed(3))
    epochs = [np.concatenate([b[0].data for b in first]) for _ in range(2)]
    assert sorted(epochs[0].tolist()) == list(range(20))
    assert epochs[0].tolist() != epochs[1].tolist()  # a new order each epoch
    assert np.concatenate([b[0].data for b in again]).tolist() == epochs[0].tolist()
    # resumable: the loader's state gives the same future batches
    resumed = sud.DataLoader(data, batch_size=5, shuffle=True)
    resumed.load_state_dict(first.state_dict())
    assert np.concatenate([b[0].data for b in resumed]).tolist() == np.concatenate(
        [b[0].data for b in first]).tolist()


def test_random_split_sizes_and_disjointness() -> None:
    for lengths in ([3, 7], [0.3, 0.7], [0.33, 0.33, 0.34]):
        ours = sud.random_split(range(10), lengths, generator=steepest.Generator().manual_seed(1))
        theirs = tud.random_split(range(10), lengths, generator=torch.Generator().manual_seed(1))
        assert [len(p) for p in ours] == [len(p) for p in theirs]
        seen = sorted(i for part in ours for i in part)
        assert seen == list(range(10))
    with pytest.raises(ValueError, match="sum"):
        sud.random_split(range(10), [3, 3])


def test_bad_arguments_are_refused_as_in_torch() -> None:
    data = sud.TensorDataset(steepest.zeros(4, 1))
    for kwargs in ({"batch_size": 0}, {"sampler": [0, 1], "shuffle": True},
                   {"batch_sampler": [[0]], "batch_size": 2}):
        with pytest.raises(ValueError):
            sud.DataLoader(data, **kwargs)
        with pytest.raises(ValueError):
            tud.DataLoader(tud.TensorDataset(torch.zeros(4, 1)), **kwargs)
    with pytest.raises(ValueError, match="Size mismatch"):
        sud.TensorDataset(steepest.zeros(3), steepest.zeros(4))
