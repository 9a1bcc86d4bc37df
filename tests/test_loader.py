"""DataLoader: batch counts, the exact seeded order per epoch, mid-epoch resume, transforms;
ArrayDataset; train/validation and random splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import steepest
from steepest.data import ArrayDataset, DataLoader, random_split, train_val_split
from steepest.data.augment import GaussianNoise, Mixup


def data(n=10, features=3):
    x = np.arange(n * features, dtype=np.float32).reshape(n, features)
    return x, np.arange(n, dtype=np.int64)


def visited(loader_or_batches):
    return np.concatenate([y.data for _, y in loader_or_batches])


@pytest.mark.parametrize("batch_size, drop_last, sizes", [
    (None, False, [10]),
    (1, False, [1] * 10),
    (3, False, [3, 3, 3, 1]),
    (3, True, [3, 3, 3]),
    (5, True, [5, 5]),
    (10, False, [10]),
    (12, False, [10]),
    (12, True, []),
])
def test_batch_counts(batch_size, drop_last, sizes):
    loader = DataLoader(data(), batch_size=batch_size, drop_last=drop_last, seed=0)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(x) for x, _ in batches] == sizes


def test_batches_are_tensors_without_gradients():
    x, y = data()
    (xb, yb), = list(DataLoader((x, y), batch_size=None))
    assert isinstance(xb, steepest.Tensor) and isinstance(yb, steepest.Tensor)
    assert not xb.requires_grad and not yb.requires_grad
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(xb.data, x)
    np.testing.assert_array_equal(yb.data, y)


def test_unshuffled_order_is_the_dataset_order():
    x, y = data()
    loader = DataLoader(ArrayDataset(x, y), batch_size=4)
    for _ in range(2):
        batches = list(loader)
        np.testing.assert_array_equal(np.concatenate([b.data for b, _ in batches]), x)


def test_epoch_order_is_default_rng_of_seed_and_epoch():
    x, y = data(n=23)
    loader = DataLoader((x, y), batch_size=5, shuffle=True, seed=17)
    orders = []
    for epoch in range(3):
        assert loader.epoch == epoch
        order = visited(loader)
        np.testing.assert_array_equal(order, np.random.default_rng([17, epoch]).permutation(23))
        np.testing.assert_array_equal(np.sort(order), np.arange(23))  # covers every sample once
        orders.append(order)
    assert loader.epoch == 3
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    # x travels with y.
    xb, yb = next(iter(loader))
    np.testing.assert_array_equal(xb.data, x[yb.data])


def test_same_seed_same_order_different_seed_different():
    x, y = data(n=30)
    a = DataLoader((x, y), batch_size=7, shuffle=True, seed=5)
    b = DataLoader((x, y), batch_size=7, shuffle=True, seed=5)
    c = DataLoader((x, y), batch_size=7, shuffle=True, seed=6)
    for _ in range(2):
        first, second, third = visited(a), visited(b), visited(c)
        np.testing.assert_array_equal(first, second)
        assert not np.array_equal(first, third)


def test_seed_none_is_drawn_once_from_the_default_generator():
    steepest.manual_seed(123)
    expected = int(np.random.default_rng(123).integers(0, 2**63 - 1))
    loader = DataLoader(data(), shuffle=True)
    assert loader.seed == expected
    steepest.manual_seed(123)
    again = DataLoader(data(), shuffle=True)
    np.testing.assert_array_equal(visited(loader), visited(again))


def test_set_epoch_and_iter_increments_at_once():
    loader = DataLoader(data(), batch_size=4, shuffle=True, seed=1)
    iterator = iter(loader)
    assert loader.epoch == 1  # before the first batch is drawn
    np.testing.assert_array_equal(visited(iterator), np.random.default_rng([1, 0]).permutation(10))
    loader.set_epoch(7)
    np.testing.assert_array_equal(visited(loader), np.random.default_rng([1, 7]).permutation(10))
    assert loader.epoch == 8
    state = loader.state_dict()
    other = DataLoader(data(), batch_size=4, shuffle=True, seed=99)
    other.load_state_dict(state)
    np.testing.assert_array_equal(visited(other), visited(loader))


@pytest.mark.parametrize("start", [0, 1, 3, 4])
def test_epoch_batches_from_start_is_the_tail_of_the_full_epoch(start):
    x, y = data(n=14)
    loader = DataLoader((x, y), batch_size=4, shuffle=True, seed=3, transform=GaussianNoise(0.5))
    full = list(loader.epoch_batches(2))
    tail = list(loader.epoch_batches(2, start=start))
    assert len(full) == 4 and len(tail) == 4 - start
    for (xa, ya), (xb, yb) in zip(full[start:], tail, strict=True):
        np.testing.assert_array_equal(xa.data, xb.data)
        np.testing.assert_array_equal(ya.data, yb.data)
    assert loader.epoch == 0  # epoch_batches does not move the loader's epoch


def test_transform_gets_the_batch_generator():
    x, y = data(n=9)
    loader = DataLoader((x, y), batch_size=4, shuffle=True, seed=8, transform=GaussianNoise(1.0))
    for b, (xb, yb) in enumerate(loader.epoch_batches(5)):
        noise = np.random.default_rng([8, 5, b, 1]).standard_normal(xb.shape, dtype=np.float32)
        np.testing.assert_allclose(xb.data, x[yb.data] + noise, rtol=1e-6)
    # A generator per (seed, epoch, batch): the same batch twice gets the same noise.
    first = [xb.data for xb, _ in loader.epoch_batches(5)]
    again = [xb.data for xb, _ in loader.epoch_batches(5)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_mixup_transform_yields_float_soft_targets():
    x, y = data(n=8)
    y = y % 4
    loader = DataLoader((x, y), batch_size=4, seed=0, transform=Mixup(0.5, num_classes=4))
    _, soft = next(iter(loader))
    assert soft.dtype == np.float32 and soft.shape == (4, 4)
    np.testing.assert_allclose(soft.data.sum(axis=1), 1.0, rtol=1e-6)


def test_array_dataset_indexing():
    x, y = data()
    dataset = ArrayDataset(x, y)
    assert len(dataset) == 10
    xi, yi = dataset[3]
    np.testing.assert_array_equal(xi, x[3])
    assert yi == 3
    xb, yb = dataset[np.array([4, 1])]
    np.testing.assert_array_equal(xb, x[[4, 1]])
    np.testing.assert_array_equal(yb, [4, 1])
    assert "ArrayDataset(x: (10, 3)" in repr(dataset)


@pytest.mark.parametrize("make, error, message", [
    (lambda: ArrayDataset(np.zeros((3, 2)), np.zeros(4)), ValueError, "3 samples but y has 4"),
    (lambda: DataLoader(data(), batch_size=0), ValueError, "batch_size"),
    (lambda: DataLoader(data(), batch_size=2.5), ValueError, "batch_size"),
    (lambda: DataLoader(data(), seed=-1), ValueError, "seed"),
    (lambda: DataLoader(np.zeros((3, 2))), TypeError, "ArrayDataset or an \\(x, y\\) tuple"),
    (lambda: DataLoader(data(), transform=3), TypeError, "transform"),
    (lambda: list(DataLoader(data(), batch_size=4).epoch_batches(0, start=4)), ValueError,
     r"start must be a batch index in 0\.\.3"),
])
def test_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_train_val_split_is_seeded_disjoint_and_keeps_order():
    x, y = data(n=20)
    x_tr, y_tr, x_val, y_val = train_val_split(x, y, 0.25, seed=4)
    assert len(y_val) == 5 and len(y_tr) == 15
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_val])), np.arange(20))
    assert (np.diff(y_tr) > 0).all() and (np.diff(y_val) > 0).all()
    np.testing.assert_array_equal(x_val, x[y_val])
    np.testing.assert_array_equal(y_val, np.sort(np.random.default_rng(4).permutation(20)[:5]))
    again = train_val_split(x, y, 0.25, seed=4)
    np.testing.assert_array_equal(again[3], y_val)
    assert not np.array_equal(train_val_split(x, y, 0.25, seed=5)[3], y_val)
    x_tr, y_tr, x_val, y_val = train_val_split(x, y, 0.0)
    assert len(y_val) == 0 and x_val.shape == (0, 3) and len(y_tr) == 20
    assert len(train_val_split(x, y, 0.01)[3]) == 1  # a positive fraction holds out at least 1
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(x, y, 1.0)


@pytest.mark.parametrize("n, lengths", [(10, [0.3, 0.3, 0.4]), (10, [0.33, 0.33, 0.34]),
                                        (7, [0.5, 0.5]), (11, [3, 8])])
def test_random_split_sizes_match_pytorch_and_parts_are_disjoint(n, lengths):
    x, y = data(n=n)
    parts = random_split((x, y), lengths, seed=0)
    torch_sizes = [len(p) for p in torch.utils.data.random_split(range(n), lengths)]
    assert [len(p) for p in parts] == torch_sizes
    labels = np.concatenate([p.y for p in parts])
    np.testing.assert_array_equal(labels, np.random.default_rng(0).permutation(n))
    with pytest.raises(ValueError, match="sum"):
        random_split((x, y), [n, 1], seed=0)
