"""Bad data, memory bombs and bad configuration end in one line before any training: labels far
outside the classes (without allocating anything proportional to them), fractional labels,
NaN/inf or complex inputs, train/test shape mismatches, npz files declaring absurd sizes, zip
bombs, absurd model sizes, wrongly typed TOML, deep nesting, non-UTF-8 arguments, folders and
FIFOs where files belong."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from steepest.cli import main
from steepest.data import load_arrays, load_mnist

MEMORY_LIMIT = 3 << 30  # the address space a `steepest` child may use in these tests


def steepest(*args: str, cwd: Path, timeout: float = 120,
             memory: int = MEMORY_LIMIT) -> subprocess.CompletedProcess:
    """`steepest ARGS` in a child process that may not use more than `memory` bytes."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "steepest", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=timeout, preexec_fn=limit)


def assert_one_line(result: subprocess.CompletedProcess, *needles: str) -> str:
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, (result.returncode, err[-2000:])
    assert err.count("\n") == 1 and "Traceback" not in err, err[-2000:]
    for needle in needles:
        assert needle in err, err
    return err


def train(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return steepest("train", "--db", "runs.db", "--steps", "3", "--width", "4",
                    "--no-progress", "--no-checkpoint", *args, cwd=tmp_path)


def save(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def clean(n: int = 50, features: int = 4):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, features)).astype(np.float32), rng.integers(0, 3, n)


# ---------------------------------------------------------------------------- item 14
@pytest.mark.parametrize("label", [10**12, 2**31 - 1])
def test_a_label_far_outside_the_classes_is_refused_at_once(tmp_path, label):
    x, y = clean()
    y[7] = label
    save(tmp_path / "data.npz", x=x, y=y)
    assert_one_line(train(tmp_path, "--data", "data.npz"), "data.npz", f"label {label}",
                    "class indices")
    assert not (tmp_path / "runs.db").exists()


def test_fractional_labels_are_refused_not_truncated(tmp_path, capsys):
    x, y = clean()
    labels = y.astype(np.float64)
    labels[4] = 1.5
    save(tmp_path / "frac.npz", x=x, y=labels)
    assert main(["train", "--db", str(tmp_path / "r.db"), "--data", str(tmp_path / "frac.npz"),
                 "--steps", "2", "--no-progress"]) == 2
    assert "1.5" in capsys.readouterr().err
    # IDX labels of type float32 (0x0D): read as they are, and refused, not cut to integers.
    images = np.zeros((3, 4, 4), np.uint8)
    idx(tmp_path / "train-images-idx3-ubyte", images)
    idx(tmp_path / "t10k-images-idx3-ubyte", images)
    idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1.5, 2], ">f4"))
    idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2], np.uint8))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.*1\.5.*whole"):
        load_mnist(tmp_path)


def idx(path: Path, array: np.ndarray) -> Path:
    codes = {np.dtype("u1"): 0x08, np.dtype(">f4"): 0x0D, np.dtype(">i4"): 0x0C}
    array = np.asarray(array)
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(
        struct.pack(">I", n) for n in array.shape)
    path.write_bytes(header + array.tobytes())
    return path


@pytest.mark.parametrize("part", ["x", "x_test"])
def test_nan_and_inf_inputs_are_a_data_problem_named_before_training(tmp_path, part):
    x, y = clean()
    arrays = {"x": x, "y": y, "x_test": x[:10].copy(), "y_test": y[:10]}
    arrays[part][2, 1] = np.nan
    arrays[part][5, 0] = np.inf
    arrays[part][6, 3] = -np.inf
    save(tmp_path / "bad.npz", **arrays)
    err = assert_one_line(train(tmp_path, "--data", "bad.npz"), "bad.npz",
                          "3 NaN or infinite values")
    assert "learning rate" not in err
    assert ("test inputs" if part == "x_test" else "training inputs") in err


def test_the_library_names_nan_inputs_too(tmp_path):
    from steepest import nn
    from steepest.train import fit

    x, y = clean()
    x[3, 3] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite value"):
        fit(nn.Linear(4, 3), (x, y), steps=2, progress=False, log=None)


def test_complex_inputs_are_refused(tmp_path):
    x, y = clean()
    save(tmp_path / "complex.npz", x=x + 1j * x, y=y)
    assert_one_line(train(tmp_path, "--data", "complex.npz"), "complex.npz", "complex")
    with pytest.raises(ValueError, match="complex"):
        load_arrays(tmp_path / "complex.npz")


def test_train_and_test_images_of_different_sizes_are_caught_at_load(tmp_path):
    idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 32, 32), np.uint8))
    idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 2], np.uint8))
    idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1], np.uint8))
    assert_one_line(train(tmp_path, "--data", "mnist", "--data-dir", "."),
                    "(1, 28, 28)", "(1, 32, 32)")


# ---------------------------------------------------------------------------- item 15
def npz_declaring(path: Path, shape: tuple[int, ...], member: str = "x.npy",
                  declared_size: int | None = None) -> Path:
    """An npz whose member's .npy header declares `shape` (float64) but holds 80 bytes; with
    declared_size, the zip directory also claims that uncompressed size (a zip bomb's)."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = shape
    buffer = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    data = buffer.getvalue() + bytes(80)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, data)
        archive.writestr("y.npy", _npy(np.zeros(10, np.int64)))
    if declared_size is not None:  # patch the sizes in the local and central headers
        raw = bytearray(path.read_bytes())
        size = struct.pack("<I", min(declared_size, 0xFFFFFFFF))
        local = raw.index(b"PK\x03\x04")
        raw[local + 22:local + 26] = size
        central = raw.index(b"PK\x01\x02")
        raw[central + 24:central + 28] = size
        path.write_bytes(bytes(raw))
    return path


def _npy(array: np.ndarray) -> bytes:
    buffer = __import__("io").BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_an_npz_declaring_a_trillion_elements_is_one_line(tmp_path):
    npz_declaring(tmp_path / "bomb.npz", (10**12,))
    assert_one_line(train(tmp_path, "--data", "bomb.npz"), "bomb.npz", "declares")
    with pytest.raises(ValueError, match="declares"):
        load_arrays(tmp_path / "bomb.npz")


def test_a_zip_bomb_is_one_line(tmp_path):
    # The zip directory claims 4 GB (and the .npy header agrees): more than the memory allowed.
    npz_declaring(tmp_path / "zipbomb.npz", (2**29,), declared_size=2**32 - 1)
    err = assert_one_line(train(tmp_path, "--data", "zipbomb.npz"), "zipbomb.npz")
    assert "memory" in err or "declares" in err
    # A real one: 128 MB of zeros deflated to 130 kB, for a process allowed 1 GB: refused by
    # its size (converted to float32 it would need more) before a byte of it is inflated.
    real = tmp_path / "real.npz"
    with zipfile.ZipFile(real, "w", zipfile.ZIP_DEFLATED) as archive:
        header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.uint8))
        header["shape"] = (2**27, 1)
        with archive.open("x.npy", "w") as member:
            buffer = __import__("io").BytesIO()
            np.lib.format.write_array_header_1_0(buffer, header)
            member.write(buffer.getvalue())
            block = bytes(2**24)
            for _ in range(2**27 // 2**24):
                member.write(block)
        archive.writestr("y.npy", _npy(np.zeros(2**27, np.uint8)))
    assert real.stat().st_size < 2**20
    result = steepest("train", "--db", "runs.db", "--data", "real.npz", "--no-progress",
                      cwd=tmp_path, memory=1 << 30)
    assert_one_line(result, "real.npz", "memory")


@pytest.mark.parametrize("width", ["10000000000", "1e10"])
def test_an_absurd_model_is_one_line(tmp_path, width):
    result = steepest("train", "--db", "runs.db", "--steps", "1", "--width", width,
                      "--no-progress", cwd=tmp_path)
    assert_one_line(result, "--width")
    assert not (tmp_path / "runs.db").exists() or b"run #" not in result.stdout


# ---------------------------------------------------------------------------- item 16
@pytest.mark.parametrize("text, message", [
    ("lr = true\n", "lr must be a number, got true"),
    ("steps = 3.5\n", "steps: expected an integer, got 3.5"),
    ('lr = "0.1"\n', "lr must be a number, got '0.1'"),
    ("batch_norm = 1\n", "batch_norm: expected true or false, got 1"),
    ("width = [1, 2]\n", "width must be an integer"),
    ("lr = 1e400\n", "lr: expected a number > 0"),
    ('name = "x"\n[name]\n', "not valid TOML"),
    ("x = " + "[" * 50_000 + "]" * 50_000 + "\n", "--config"),
    ("[a" + ".b" * 3_000 + "]\n", "unknown key 'a'"),
])
def test_wrongly_typed_or_nested_toml_is_one_line(tmp_path, capsys, text, message):
    config = tmp_path / "run.toml"
    config.write_text(text)
    assert main(["train", "--config", str(config), "--db", str(tmp_path / "r.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "r.db").exists()


def test_non_utf8_arguments_are_one_line(tmp_path):
    for args in (["train", "--name", b"caf\xe9"], ["train", "--data", b"\xff\xfe.npz"],
                 ["runs", "list", "--db", b"\xff.db"]):
        result = subprocess.run([sys.executable, "-m", "steepest", *args], cwd=tmp_path,
                                capture_output=True, timeout=60)
        assert_one_line(result, "not valid UTF-8")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_config_data_and_resume_say_what_a_path_is(tmp_path, kind):
    path = tmp_path / "thing"
    if kind == "folder":
        path.mkdir()
        what = "is a folder"
    else:
        os.mkfifo(path)
        what = "is a named pipe"
    for option in ("--config", "--resume", "--data"):
        target = str(path) if option != "--data" else str(path) + ".npz"
        if option == "--data":
            (os.mkfifo if kind == "fifo" else os.mkdir)(target)
        result = steepest("train", option, target, "--db", "runs.db", cwd=tmp_path, timeout=60)
        assert_one_line(result, what)


def gzip_of_zeros(head: bytes, zeros: int) -> bytes:
    """A gzip file of `head` then `zeros` zero bytes, built without compressing them all: a
    deflate block of 16 MB of zeros, flushed to stand alone, repeated (about 16 kB each)."""
    import zlib

    block = 1 << 24
    assert zeros % block == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    zero_block = bytes(block)
    for _ in range(zeros // block):
        crc = zlib.crc32(zero_block, crc)
    body = start + repeated * (zeros // block) + compressor.flush()
    size = (len(head) + zeros) & 0xFFFFFFFF
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body
            + struct.pack("<II", crc, size))


def test_a_gzip_bomb_idx_is_one_line(tmp_path):
    """1 GB of images in 1 MB of gzip, for a process allowed 1 GB: refused from the header,
    before a byte is inflated."""
    head = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2**14, 2**8, 2**8)
    bomb = gzip_of_zeros(head, 2**30)
    assert len(bomb) < 2 * 2**20
    assert gzip.decompress(gzip_of_zeros(head, 2**24))[:16] == head  # a valid gzip file
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    for name, array in (("t10k-images-idx3-ubyte", np.zeros((2, 4, 4), np.uint8)),
                        ("train-labels-idx1-ubyte", np.zeros(2, np.uint8)),
                        ("t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))):
        idx(tmp_path / name, array)
    result = steepest("train", "--db", "runs.db", "--data", "mnist", "--data-dir", ".",
                      "--no-progress", cwd=tmp_path, memory=1 << 30)
    assert_one_line(result, "train-images-idx3-ubyte.gz", "memory")
