"""Datasets: small files in each format written to tmp_path and read back exactly; the MNIST-1D
cache; the sklearn digits; the name registry; errors that name the file."""

from __future__ import annotations

import gzip
import os
import random
import struct
import warnings

import numpy as np
import pytest

from steepest.data import (
    DATASETS,
    Split,
    load_arrays,
    load_cifar10,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_mnist1d,
    mnist1d_cache_path,
    read_idx,
)
from steepest.data import datasets as D

# --------------------------------------------------------------------------- IDX
_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
              np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def write_idx(path, array, gz=False):
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, _IDX_CODES[np.dtype(dtype)], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(dtype).tobytes()
    path = f"{path}.gz" if gz else str(path)
    with (gzip.open if gz else open)(path, "wb") as handle:
        handle.write(raw)
    return path


def write_mnist(folder, rng, gz, n_train=5, n_test=3, h=6, w=4):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = dict(
        x=rng.integers(0, 256, size=(n_train, h, w), dtype=np.uint8),
        y=rng.integers(0, 10, size=n_train, dtype=np.uint8),
        x_test=rng.integers(0, 256, size=(n_test, h, w), dtype=np.uint8),
        y_test=rng.integers(0, 10, size=n_test, dtype=np.uint8),
    )
    write_idx(folder / "train-images-idx3-ubyte", arrays["x"], gz)
    write_idx(folder / "train-labels-idx1-ubyte", arrays["y"], gz)
    write_idx(folder / "t10k-images-idx3-ubyte", arrays["x_test"], gz)
    write_idx(folder / "t10k-labels-idx1-ubyte", arrays["y_test"], gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_reads_idx_files_exactly(tmp_path, rng, gz):
    arrays = write_mnist(tmp_path, rng, gz)
    split = load_mnist(tmp_path)
    assert isinstance(split, Split)
    assert split.x.shape == (5, 1, 6, 4) and split.x.dtype == np.float32
    assert split.y.dtype == np.int64 and split.x_test.shape == (3, 1, 6, 4)
    np.testing.assert_array_equal(split.x[:, 0], arrays["x"].astype(np.float32) / 255)
    np.testing.assert_array_equal(split.x_test[:, 0], arrays["x_test"].astype(np.float32) / 255)
    np.testing.assert_array_equal(split.y, arrays["y"])
    np.testing.assert_array_equal(split.y_test, arrays["y_test"])
    assert split.x.min() >= 0 and split.x.max() <= 1
    assert split.sample_shape == (1, 6, 4)


def test_load_fashion_mnist_in_torchvision_layout(tmp_path, rng):
    arrays = write_mnist(tmp_path / "FashionMNIST" / "raw", rng, gz=True)
    split = load_fashion_mnist(tmp_path)
    np.testing.assert_array_equal(split.y_test, arrays["y_test"])
    np.testing.assert_array_equal(split.x[:, 0] * 255, arrays["x"])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
def test_read_idx_all_types_round_trip(tmp_path, rng, dtype):
    array = (rng.standard_normal((3, 2, 4)) * 100).astype(dtype)
    path = write_idx(tmp_path / "a.idx", array, gz=dtype == np.int16)
    read = read_idx(path)
    assert read.dtype == np.dtype(dtype) and read.dtype.isnative
    np.testing.assert_array_equal(read, array)


def test_idx_damage_and_missing_files_are_named(tmp_path, rng):
    arrays = write_mnist(tmp_path, rng, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*truncated"):
        load_mnist(tmp_path)
    path.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)
    write_idx(path, arrays["x"][:4])  # 4 images for 5 labels
    with pytest.raises(ValueError, match="expected 4 labels"):
        load_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte\[\.gz\] not found in "):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="MNIST file train-images-idx3-ubyte"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="kind must be"):
        load_mnist(tmp_path, kind="kmnist")


# --------------------------------------------------------------------------- CIFAR-10
def write_cifar(folder, rng, per_batch=2, n_test=3):
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name in names:
        n = n_test if name == "test_batch.bin" else per_batch
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        (folder / name).write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
        written[name] = (labels, pixels)
    return written


def test_load_cifar10_reads_the_binary_records_exactly(tmp_path, rng):
    written = write_cifar(tmp_path / "cifar-10-batches-bin", rng)
    split = load_cifar10(tmp_path)
    assert split.x.shape == (10, 3, 32, 32) and split.x.dtype == np.float32
    assert split.x_test.shape == (3, 3, 32, 32) and split.y.dtype == np.int64
    labels = np.concatenate([written[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    pixels = np.concatenate([written[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    np.testing.assert_array_equal(split.y, labels)
    np.testing.assert_array_equal(split.x, pixels.reshape(10, 3, 32, 32).astype(np.float32) / 255)
    # Record layout: red plane first, row-major: pixel (row 1, col 2) of green is byte 1024+32+2.
    assert split.x[0, 1, 1, 2] == np.float32(pixels[0, 1024 + 32 + 2]) / 255
    np.testing.assert_array_equal(split.y_test, written["test_batch.bin"][0])
    assert load_dataset("cifar10", root=tmp_path).x.shape == (10, 3, 32, 32)


def test_cifar10_missing_or_truncated_files_are_named(tmp_path, rng):
    write_cifar(tmp_path, rng)
    (tmp_path / "data_batch_3.bin").unlink()
    with pytest.raises(FileNotFoundError, match="CIFAR-10 file data_batch_3.bin not found"):
        load_cifar10(tmp_path)
    write_cifar(tmp_path, rng)
    path = tmp_path / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="test_batch.bin.*not a whole number"):
        load_cifar10(tmp_path)


# --------------------------------------------------------------------------- user arrays
def test_npz_with_test_part_reads_back_exactly(tmp_path, rng):
    x, x_test = rng.standard_normal((6, 2, 3)), rng.standard_normal((2, 2, 3))
    y, y_test = np.array([0, 1, 2, 0, 1, 2]), np.array([2.0, 1.0])  # float labels, integral
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=x_test, y_test=y_test)
    split = load_arrays(tmp_path / "d.npz")
    np.testing.assert_array_equal(split.x, x.astype(np.float32))
    np.testing.assert_array_equal(split.x_test, x_test.astype(np.float32))
    np.testing.assert_array_equal(split.y, y)
    assert split.y_test.dtype == np.int64 and split.y_test.tolist() == [2, 1]
    assert split.x.dtype == np.float32 and split.num_classes == 3
    assert load_arrays(tmp_path / "d.npz", dtype=np.float64).x.dtype == np.float64


def test_npz_without_test_part_holds_out_a_seeded_fifth(tmp_path, rng):
    x = np.arange(20, dtype=np.float32)[:, None] * [1, -1]
    y = np.arange(20) % 4
    np.savez(tmp_path / "d.npz", x=x, y=y)
    split = load_arrays(tmp_path / "d.npz", seed=3)
    assert len(split.x) == 16 and len(split.x_test) == 4
    ids = np.concatenate([split.x[:, 0], split.x_test[:, 0]])
    np.testing.assert_array_equal(np.sort(ids), np.arange(20))
    assert (np.diff(split.x_test[:, 0]) > 0).all()  # order kept
    held_out = np.sort(np.random.default_rng(3).permutation(20)[:4])
    np.testing.assert_array_equal(split.x_test[:, 0], held_out)
    np.testing.assert_array_equal(split.y_test, y[held_out])
    np.testing.assert_array_equal(load_arrays(tmp_path / "d.npz", seed=3).x_test, split.x_test)
    assert not np.array_equal(load_arrays(tmp_path / "d.npz", seed=4).x_test, split.x_test)


def test_npz_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz not found: put your arrays there"):
        load_arrays(tmp_path / "missing.npz")
    np.savez(tmp_path / "keys.npz", inputs=np.zeros(3), targets=np.zeros(3))
    with pytest.raises(ValueError, match=r"keys.npz: needs arrays named x and y.*'inputs'"):
        load_arrays(tmp_path / "keys.npz")
    np.savez(tmp_path / "half.npz", x=np.zeros((5, 2)), y=np.zeros(5), x_test=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="both x_test and y_test"):
        load_arrays(tmp_path / "half.npz")
    np.savez(tmp_path / "lengths.npz", x=np.zeros((5, 2)), y=np.zeros(4))
    with pytest.raises(ValueError, match="x has 5 samples but y has 4"):
        load_arrays(tmp_path / "lengths.npz")
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}, None], dtype=object), y=[0, 1])
    with pytest.raises(ValueError, match="objects.npz"):
        load_arrays(tmp_path / "objects.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz"):
        load_arrays(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="must end in .npz or .csv"):
        load_arrays(tmp_path / "data.txt")


def test_csv_with_header_and_split_column(tmp_path):
    (tmp_path / "d.csv").write_text(
        "a,b,split,label\n"
        "0.5,1.5,train,1\n"
        "2.0,-1,test,0\n"
        "3,4,train,2\n"
        "\n"
        "5,6,TEST,1\n"
    )
    split = load_arrays(tmp_path / "d.csv")
    np.testing.assert_array_equal(split.x, np.array([[0.5, 1.5], [3, 4]], np.float32))
    np.testing.assert_array_equal(split.y, [1, 2])
    np.testing.assert_array_equal(split.x_test, np.array([[2, -1], [5, 6]], np.float32))
    np.testing.assert_array_equal(split.y_test, [0, 1])
    assert split.y.dtype == np.int64 and split.x.dtype == np.float32


def test_csv_without_header_holds_out_a_seeded_fifth(tmp_path):
    rows = [f"{i},{-i},{i % 3}" for i in range(10)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    split = load_arrays(tmp_path / "d.csv", seed=1)
    held_out = np.sort(np.random.default_rng(1).permutation(10)[:2])
    np.testing.assert_array_equal(split.x_test[:, 0], held_out)
    np.testing.assert_array_equal(split.y_test, held_out % 3)
    assert len(split.x) == 8 and split.x.shape[1] == 2
    with_header = tmp_path / "h.csv"
    with_header.write_text("f1,f2,y\n" + "\n".join(rows) + "\n")
    np.testing.assert_array_equal(load_arrays(with_header, seed=1).x, split.x)


@pytest.mark.parametrize("text, task, message", [
    ("1,2,0.5\n3,4,1\n", "classification",
     r"line 1: the label \(last column\) must be an integer \(a class; for real-valued "
     r"targets use task regression\)"),
    ("1,2,0\n3,4,nan\n", "auto", r"line 2: the label \(last column\) must be an integer"),
    ("1,2,0.5\n3,4,inf\n", "regression", r"line 2: the label \(last column\) must be a "
                                         r"finite number, got inf"),
    ("a,b\n1,0\n2,1,3\n", "auto", "line 3: 3 columns, expected 2"),
    ("1,2,0\n2,x,1\n", "auto", "line 2: could not convert"),
    ("a,b\n\n1,0\n\n2,x\n", "auto", "line 5: could not convert"),  # blank lines still count
    ("a,b\n1,0\n\n2,0.5\n", "classification", r"line 4: the label"),
    ("a,split,y\n1,val,0\n", "auto", "split must be 'train' or 'test'"),
    ("", "auto", "empty"),
    ("a,b,label\n", "auto", "header but no rows"),
    ("1\n2\n", "auto", "at least one feature column"),
])
def test_csv_errors_name_file_and_line(tmp_path, text, task, message):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_arrays(tmp_path / "bad.csv", task=task)


def test_real_valued_targets_are_read_for_regression(tmp_path):
    (tmp_path / "r.csv").write_text("a,b,price\n1,2,0.5\n3,4,12\n5,6,-3.25\n7,8,1e3\n"
                                    "9,1,2.75\n")
    split = load_arrays(tmp_path / "r.csv")  # auto: mostly not whole numbers -> regression
    assert split.y.dtype == np.float32 and split.y_test.dtype == np.float32
    assert sorted(np.concatenate([split.y, split.y_test]).tolist()) == [-3.25, 0.5, 2.75, 12,
                                                                        1000]
    # A few fractional labels among classes are a mistake, refused (never cut to integers).
    (tmp_path / "typo.csv").write_text("1,2,0\n3,4,1\n5,6,1.5\n7,8,2\n9,1,0\n")
    with pytest.raises(ValueError, match="line 3: the label .* must be an integer .*got 1.5"):
        load_arrays(tmp_path / "typo.csv")
    assert load_arrays(tmp_path / "typo.csv", task="regression").y.dtype == np.float32
    (tmp_path / "whole.csv").write_text("1,2,3\n3,4,5\n5,6,7\n7,8,9\n9,1,2\n")
    assert load_arrays(tmp_path / "whole.csv").y.dtype == np.int64  # auto: classes
    assert load_arrays(tmp_path / "whole.csv", task="regression").y.dtype == np.float32
    y = np.array([[0.5, 1.0], [2.0, 3.5]], dtype=np.float64)
    np.savez(tmp_path / "r.npz", x=np.ones((2, 3)), y=y, x_test=np.ones((1, 3)),
             y_test=np.array([[1.0, 2.0]]))
    split = load_arrays(tmp_path / "r.npz")
    assert split.y.dtype == split.y_test.dtype == np.float32 and split.y.shape == (2, 2)
    np.testing.assert_array_equal(split.y, y.astype(np.float32))
    with pytest.raises(ValueError, match=r"label 0.5 \(index 0\) is not a whole number; class "
                                         r"labels must be integers \(for real-valued targets "
                                         r"use task regression\)"):
        load_arrays(tmp_path / "r.npz", task="classification")
    with pytest.raises(ValueError, match="mnist1d is a classification dataset"):
        load_dataset("mnist1d", task="regression")
    with pytest.raises(ValueError, match="task must be one of auto, classification, regression"):
        load_arrays(tmp_path / "r.npz", task="ranking")


# --------------------------------------------------------------------------- digits
FIRST_DIGIT = [  # sklearn's digits.images[0], a zero (as in its documentation)
    [0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0], [0, 3, 15, 2, 0, 11, 8, 0],
    [0, 4, 12, 0, 0, 8, 8, 0], [0, 5, 8, 0, 0, 9, 8, 0], [0, 4, 11, 0, 1, 12, 7, 0],
    [0, 2, 14, 5, 10, 12, 0, 0], [0, 0, 6, 13, 10, 0, 0, 0],
]


def test_load_digits_scaled_images_and_seeded_split():
    split = load_digits()
    assert split.x.shape == (1438, 1, 8, 8) and split.x_test.shape == (359, 1, 8, 8)
    assert split.x.dtype == np.float32 and split.y.dtype == np.int64
    assert split.x.min() == 0.0 and split.x.max() == 1.0
    test = np.zeros(1797, bool)
    test[np.random.default_rng(0).permutation(1797)[:359]] = True
    images = np.empty((1797, 8, 8), np.float32)
    images[~test], images[test] = split.x[:, 0], split.x_test[:, 0]
    labels = np.empty(1797, np.int64)
    labels[~test], labels[test] = split.y, split.y_test
    # Facts of sklearn's digits: the first image, the class counts, the total ink.
    np.testing.assert_array_equal(images[0] * 16, FIRST_DIGIT)
    np.testing.assert_array_equal(labels[:10], np.arange(10))
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert (images.astype(np.float64) * 16).sum() == 561718
    assert split.num_classes == 10
    other = load_digits(test_fraction=0.5, seed=1)
    assert len(other.x_test) == 898 and not np.array_equal(other.y_test[:359], split.y_test)
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.0)


# --------------------------------------------------------------------------- MNIST-1D
def fake_generator(calls):
    def generate(seed, **overrides):
        calls.append(seed)
        rng = np.random.default_rng(seed)
        return dict(x=rng.standard_normal((8, 40)), y=rng.integers(0, 10, 8),
                    x_test=rng.standard_normal((2, 40)), y_test=rng.integers(0, 10, 2))
    return generate


def failing_generator(seed, **overrides):
    raise AssertionError("the cache should have been read")


def test_mnist1d_cache_is_written_then_read(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(D, "_generate_mnist1d", fake_generator(calls))
    first = load_mnist1d(seed=7, cache_dir=tmp_path)
    path = mnist1d_cache_path(7, tmp_path)
    assert calls == [7] and path.is_file() and "seed7" in path.name
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind
    monkeypatch.setattr(D, "_generate_mnist1d", failing_generator)
    second = load_mnist1d(seed=7, cache_dir=tmp_path)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert first.x.dtype == np.float32 and first.y.dtype == np.int64
    wide = load_mnist1d(seed=7, dtype=np.float64, cache_dir=tmp_path)
    np.testing.assert_array_equal(wide.x.astype(np.float32), first.x)
    assert wide.x.dtype == np.float64


def test_mnist1d_default_seed_and_data_dir_from_environment(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(D, "_generate_mnist1d", fake_generator(calls))
    monkeypatch.setenv("STEEPEST_DATA_DIR", str(tmp_path / "data"))
    load_mnist1d()
    assert calls == [42]
    assert (tmp_path / "data" / "mnist1d-v1-seed42.npz").is_file()
    load_mnist1d()
    assert calls == [42]
    assert load_dataset("mnist1d").x.shape == (8, 40) and calls == [42]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong keys", "wrong shapes"])
def test_mnist1d_corrupt_cache_is_regenerated(tmp_path, monkeypatch, damage):
    calls = []
    monkeypatch.setattr(D, "_generate_mnist1d", fake_generator(calls))
    good = load_mnist1d(seed=1, cache_dir=tmp_path)
    path = mnist1d_cache_path(1, tmp_path)
    if damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "wrong keys":
        with open(path, "wb") as handle:
            np.savez(handle, x=np.zeros((2, 40)))
    else:
        with open(path, "wb") as handle:
            np.savez(handle, x=np.zeros((2, 40)), y=np.zeros(3, int), x_test=np.zeros((1, 40)),
                     y_test=np.zeros(1, int))
    again = load_mnist1d(seed=1, cache_dir=tmp_path)
    assert calls == [1, 1]
    np.testing.assert_array_equal(again.x, good.x)
    monkeypatch.setattr(D, "_generate_mnist1d", failing_generator)
    np.testing.assert_array_equal(load_mnist1d(seed=1, cache_dir=tmp_path).x, good.x)  # rewritten


def test_mnist1d_unwritable_cache_warns_and_still_returns_data(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "_generate_mnist1d", fake_generator([]))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.warns(UserWarning, match="could not cache MNIST-1D"):
        split = load_mnist1d(seed=2, cache_dir=blocker)
    assert split.x.shape == (8, 40)
    with pytest.raises(ValueError, match="seed"):
        load_mnist1d(seed=-1, cache_dir=tmp_path)


def test_mnist1d_generator_is_the_packages_own_and_leaves_global_state_alone():
    from mnist1d.data import get_dataset_args, make_dataset

    np.random.seed(99)
    random.seed(99)
    numpy_before, python_before = np.random.random(), random.random()
    np.random.seed(99)
    random.seed(99)
    ours = D._generate_mnist1d(5, num_samples=200)
    assert np.random.random() == numpy_before and random.random() == python_before
    args = get_dataset_args()
    args.seed, args.num_samples = 5, 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = make_dataset(args)
    for key in ("x", "y", "x_test", "y_test"):
        np.testing.assert_array_equal(ours[key], theirs[key])
    assert ours["x"].shape == (160, 40) and ours["x_test"].shape == (40, 40)


# --------------------------------------------------------------------------- registry
def test_load_dataset_by_name_and_path(tmp_path, rng):
    assert DATASETS == ("mnist1d", "digits", "mnist", "fashion-mnist", "cifar10")
    arrays = write_mnist(tmp_path / "m", rng, gz=True)
    np.testing.assert_array_equal(load_dataset("mnist", root=tmp_path / "m").y, arrays["y"])
    np.testing.assert_array_equal(load_dataset("fashion_mnist", root=tmp_path / "m").y,
                                  arrays["y"])
    np.savez(tmp_path / "own.npz", x=np.zeros((10, 3)), y=np.arange(10) % 2)
    assert len(load_dataset(str(tmp_path / "own.npz"), seed=2).x_test) == 2
    (tmp_path / "own.csv").write_text("1,2,0\n3,4,1\n5,6,0\n")
    assert load_dataset(tmp_path / "own.csv").x.shape[1] == 2
    assert load_dataset("Digits").x.shape[1:] == (1, 8, 8)


def test_load_dataset_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown dataset 'imagenet': choose one of mnist1d, "
                                         "digits, mnist, fashion-mnist, cifar10"):
        load_dataset("imagenet")
    monkeypatch.setenv("STEEPEST_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "cifar10")):
        load_dataset("cifar10")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_dataset("nope.csv")


@pytest.mark.parametrize("name, classes", [("circles", 2), ("xor", 2), ("spirals", 2),
                                           ("blobs", 3)])
def test_toy_data_sets_are_seeded_balanced_and_in_the_plane(name, classes):
    from steepest.data import TOY_CLASSES, make_toy

    x, y = make_toy(name, 300, noise=0.05, seed=1)
    assert TOY_CLASSES[name] == classes
    assert x.shape == (300, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [300 // classes] * classes
    assert np.abs(x).max() < 2.5
    again, labels = make_toy(name, 300, noise=0.05, seed=1)
    assert np.array_equal(again, x) and np.array_equal(labels, y)
    assert not np.array_equal(make_toy(name, 300, noise=0.05, seed=2)[0], x)


def test_toy_data_geometry():
    from steepest.data import make_toy

    x, y = make_toy("circles", 400)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius[y == 0].max() <= 0.5 + 1e-6 and radius[y == 1].min() >= 0.7 - 1e-6
    x, y = make_toy("xor", 400)
    assert np.array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int64))


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "moons"}, "unknown toy data set 'moons'"),
    ({"name": "xor", "n": 0}, "n must be an integer from 1 to 100000"),
    ({"name": "xor", "noise": -1}, "noise must be a number from 0 to 1"),
    ({"name": "xor", "seed": -3}, "seed must be a non-negative integer"),
])
def test_toy_data_bad_arguments(kwargs, message):
    from steepest.data import make_toy

    with pytest.raises(ValueError, match=message):
        make_toy(**kwargs)
