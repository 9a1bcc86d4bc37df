"""Seed corpora of the fuzz targets: a valid file of each kind, and the malformed files of
issue 11 (step 1e30, epoch "abc", missing keys, 100k-deep nesting, wrong types, PyTorch
pickles, labels of 10^12, fractional labels, NaN and complex inputs, an npz declaring 10^12
elements, a zip bomb, a boolean lr, ...). Made by code, so nothing binary lives in git.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import pickle
import struct
import zipfile

import numpy as np


def safetensors_bytes(header: dict, data: bytes = b"") -> bytes:
    """A safetensors file from its header (a dict) and data."""
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data


def _trainer_checkpoint() -> bytes:
    """A real Trainer checkpoint of the fuzz target's tiny model (2 steps of training)."""
    import tempfile
    from pathlib import Path

    import steepest as st
    from steepest import nn
    from steepest.train import EarlyStopping, fit

    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    with tempfile.TemporaryDirectory() as folder:
        fit(model, (x, y), optimizer="adam", lr=0.1, schedule="step", steps=2, batch_size=5,
            callbacks=[EarlyStopping(monitor="loss", patience=3)], checkpoint_dir=folder,
            progress=False, log=None)
        return (Path(folder) / "last.safetensors").read_bytes()


def edit_metadata(data: bytes, edit) -> bytes:
    """Checkpoint bytes whose steepest metadata is edit(header) (a dict, or a str written as
    it is), tensors unchanged."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    steepest = json.loads(header["__metadata__"]["steepest"])
    edited = edit(steepest)
    header["__metadata__"]["steepest"] = edited if isinstance(edited, str) else json.dumps(
        edited)
    return safetensors_bytes(header, data[8 + length:])


def set_key(key, value):
    def edit(header):
        header[key] = value
        return header
    return edit


def drop_key(key):
    def edit(header):
        header.pop(key, None)
        return header
    return edit


def _extra(key, value):
    def edit(header):
        header["extra"][key] = value
        return header
    return edit


def checkpoint_seeds() -> dict[str, bytes]:
    good = _trainer_checkpoint()
    deep = "[" * 100_000 + "]" * 100_000
    seeds = {
        "good": good,
        "step-1e30": edit_metadata(good, set_key("step", 1e30)),
        "epoch-abc": edit_metadata(good, set_key("epoch", "abc")),
        "missing-model": edit_metadata(good, drop_key("model")),
        "missing-step": edit_metadata(good, drop_key("step")),
        "deep-config": edit_metadata(good, lambda h: json.dumps(h)[:-1] + ',"x":' + deep + "}"),
        "optimizer-list": edit_metadata(good, set_key("optimizer", [1])),
        "batch-string": edit_metadata(good, _extra("batch", "two")),
        "history-bad": edit_metadata(good, _extra("history", {"loss": 3})),
        "dangling-tensor": edit_metadata(good, set_key("config", {"x": {"__tensor__": "no"}})),
        "rng-bad": edit_metadata(good, set_key("rng_states", {"default": {"state": 1}})),
        # Found by fuzzing: a callback state without its keys (KeyError on resume).
        "callback-state-empty": edit_metadata(good, _extra("callbacks", {"EarlyStopping": {}})),
        "plain-weights": safetensors_bytes(
            {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
        "huge-declared": safetensors_bytes(
            {"w": {"dtype": "F32", "shape": [2**20, 1280], "data_offsets": [0, 5 * 2**30]}},
            bytes(16)),
        "torch-zip": _zip({"archive/data.pkl": pickle.dumps({"w": 1}, protocol=2)}),
        "pickle": pickle.dumps({"w": [1.0, 2.0]}, protocol=2),
        "empty": b"",
    }
    return seeds


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _idx(array: np.ndarray, code: int) -> bytes:
    return bytes([0, 0, code, array.ndim]) + b"".join(
        struct.pack(">I", n) for n in array.shape) + array.tobytes()


def idx_seeds() -> dict[str, bytes]:
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    return {
        "images": _idx(images, 0x08),
        "labels": _idx(np.array([0, 1, 2], np.uint8), 0x08),
        "float-labels": _idx(np.array([0, 1.5], ">f4"), 0x0D),
        "int-labels": _idx(np.array([7, -1], ">i4"), 0x0C),
        "truncated": _idx(images, 0x08)[:-3],
        "declares-4-exabytes": bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2**31, 2**16, 2**16),
        # 40 dims of 673 million: more bytes than a float can count (found by atheris).
        "declares-10^354-bytes": bytes([0, 0, 0x08, 40]) + struct.pack(">I", 0x28282828) * 40,
        "bad-magic": b"\x01\x02\x03\x04" + bytes(20),
        "zero-dims": bytes([0, 0, 0x08, 0]) + b"\x05",
        # no data (a size 0) beside sizes whose product NumPy cannot index (found by atheris).
        "empty-but-too-large": bytes([0, 0, 0x08, 3]) + struct.pack(">III", 0x80FFFFFF,
                                                                     0xFF010100, 0),
    }


def idx_gz_seeds() -> dict[str, bytes]:
    return {name: gzip.compress(data) for name, data in idx_seeds().items()} | {
        "not-gzip": b"\x1f\x8b" + bytes(30)}


def cifar_seeds() -> dict[str, bytes]:
    record = bytes([3]) + bytes(range(256)) * 12
    return {
        "two-records": record * 2,
        "label-10": bytes([10]) + record[1:],
        "truncated": record[:-5],
        "empty": b"",
    }


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, dtype))
    header["shape"] = shape
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


# Found by `make fuzz`: a member whose .npy header numpy's tokenizer cannot parse
# (tokenize.TokenError, not a ValueError).
_NPZ_TOKEN_ERROR = (
    "UEsDBC0AAAAAAAAAIQAVDEED//////////8FABQAeC5ucHkBABAA4AAAAAAAAADgAAAAAAAAAJNOVU1QWQEAdgB7"
    "J2Rlc2NyJzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICg4LCAzKSwgfSAgICAgICAg"
    "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKbL8APn9GB7698iM/39XW"
    "PaEhCb/9Irk+eemmP+Zzcj/+JzS/Vfmhv+qOH79uRSk9Ts0UwOwKYL4Dep+/4HU7v49UC78Y8qG+PcHSPhRxhT+X"
    "ngO+RuiuPzNKKr8h+bM+UEsDBC0AAAAAAAAAIQCllA+5//////////8FABQAeS5ucHkBABAAwAAAAAAAAADAAAAA"
    "AAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxpOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICg4"
    "LCksIH0gICAgBQAUAHgubnB5AQAQAOAAAAAAAAAA4AAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICc8ZjQnLCAn"
    "Zm8AAAAAAAABAAAAAAAAAAAQpdToAAAAAQAAAAAAAAABAAAAAAAAAAIAAAAAAAAAAgAAAAAAAAACAAAAAAAAAFBL"
    "AQItAy0AAAAAAAAAIQAVDEED4AAAAOAAAAAFAAAAAAAAAAAAAACAAQAAAAB4Lm5weVBLAQItAy0AAAAAAAAAFAB4"
    "Lm5weQEAEADgAAAFAAAAAAAAAAAAAACAARcBAAB5Lm5weVBLBQYAAAAAAgACAGYAAAAOAgAAAAA="
)


def _encrypted(archive: bytes) -> bytes:
    """The archive with its first member flagged as strongly encrypted (bit 6): zipfile raises
    NotImplementedError (found by fuzzing)."""
    data = bytearray(archive)
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    data[local + 6] |= 0x41
    data[central + 8] |= 0x41
    return bytes(data)


def npz_seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)).astype(np.float32), rng.integers(0, 3, 8)
    big, frac, nan = y.copy(), y.astype(np.float64), x.copy()
    big[2], frac[2], nan[1, 1] = 10**12, 1.5, np.nan
    bomb = _zip({"x.npy": _npy_header((2**29,)) + bytes(80), "y.npy": _npy(y)},
                zipfile.ZIP_DEFLATED)
    return {
        "good": _npz(x=x, y=y),
        "with-test": _npz(x=x, y=y, x_test=x[:3], y_test=y[:3]),
        "label-1e12": _npz(x=x, y=big),
        "label-int-max": _npz(x=x, y=np.where(y == 0, 2**31 - 1, y)),
        "fractional": _npz(x=x, y=frac),
        "nan": _npz(x=nan, y=y),
        "complex": _npz(x=x + 1j, y=y),
        "shapes-differ": _npz(x=x, y=y, x_test=rng.normal(size=(3, 4)), y_test=y[:3]),
        "declares-1e12": _zip({"x.npy": _npy_header((10**12,)) + bytes(80), "y.npy": _npy(y)}),
        "zip-bomb-header": bomb,
        "object-array": _zip({"x.npy": _npy_header((2,), "|O") + pickle.dumps([1, 2]),
                              "y.npy": _npy(y)}),
        "not-a-zip": b"PK\x03\x04" + bytes(40),
        "encrypted-member": _encrypted(_npz(x=x, y=y)),
        "npy-header-token-error": base64.b64decode("".join(_NPZ_TOKEN_ERROR)),
        "one-array": _npy(x),
    }


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def csv_seeds() -> dict[str, bytes]:
    return {
        "plain": b"0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,2\n0.7,0.8,1\n",
        "header-split": b"a,b,label,split\n0.1,0.2,0,train\n0.3,0.4,1,test\n0.5,0.6,1,train\n",
        "fractional": b"0.1,0.2,0\n0.3,0.4,1.5\n0.5,0.6,2\n",
        "huge-label": b"0.1,0.2,0\n0.3,0.4,1e12\n0.5,0.6,2\n",
        "nan": b"nan,0.2,0\n0.3,inf,1\n0.5,0.6,2\n",
        "ragged": b"0.1,0.2,0\n0.3,1\n",
        "header-only": b"a,b,label\n",
        "quotes": b'"0.1","0.2","0"\n"0.3",0.4,1\n',
        "not-utf8": b"\xff\xfe,0.2,0\n0.3,0.4,1\n",
        "empty": b"",
        "one-column": b"1\n2\n",
    }


def config_seeds() -> dict[str, bytes]:
    return {
        "good": b'model = "mlp"\nlr = 0.01\nsteps = 100\nbatch-size = "full"\nseed = 3\n',
        "lr-true": b"lr = true\n",
        "lr-string": b'lr = "0.1"\n',
        "steps-float": b"steps = 3.5\n",
        "deep-array": b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "deep-table": b"[a" + b".b" * 1000 + b"]\n",
        "unknown": b"learning_rate = 0.1\n",
        "not-utf8": b'name = "\xff"\n',
        "bad-toml": b"lr = = 1\n",
        "width-array": b"width = [1, 2]\n",
    }


SEEDS = {
    "checkpoint": checkpoint_seeds,
    "idx": idx_seeds,
    "idx_gz": idx_gz_seeds,
    "cifar": cifar_seeds,
    "npz": npz_seeds,
    "csv": csv_seeds,
    "config": config_seeds,
}
