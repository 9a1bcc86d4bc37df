"""steepest.io: checkpoints round-trip bit for bit, resume exactly, write atomically, refuse
truncated and foreign files, and exchange plain weights with PyTorch through safetensors."""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict

import numpy as np
import pytest
import torch
from safetensors.torch import load_file as torch_load_file
from safetensors.torch import save_file as torch_save_file

import steepest as st
import steepest.nn.functional as F
from steepest import nn, optim
from steepest.io import (
    Checkpoint,
    CheckpointError,
    atomic_write,
    capture_rng_state,
    load_checkpoint,
    load_state_dict,
    restore_rng_state,
    save_checkpoint,
    save_state_dict,
)
from steepest.optim import lr_scheduler


# ---------------------------------------------------------------------------- helpers
def make_model(seed: int, dtype=np.float32, dropout: float = 0.0) -> nn.Module:
    generator = np.random.default_rng(seed)
    layers = [nn.Linear(4, 6, dtype=dtype, generator=generator), nn.BatchNorm1d(6, dtype=dtype),
              nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(6, 3, dtype=dtype, generator=generator))
    return nn.Sequential(*layers)


def batch(step: int, dtype=np.float32) -> tuple[st.Tensor, st.Tensor]:
    rng = np.random.default_rng([7, step])
    x = rng.standard_normal((8, 4)).astype(dtype)
    y = rng.integers(0, 3, size=8)
    return st.Tensor(x), st.Tensor(y)


def train_steps(model, optimizer, scheduler, steps) -> None:
    for step in steps:
        x, y = batch(step, model[0].weight.data.dtype)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


def assert_same_state(actual, expected) -> None:
    """Equal nested state, arrays bit for bit with the same dtype, scalars with the same type."""
    assert type(actual) is type(expected) or (isinstance(actual, dict)
                                              and isinstance(expected, dict)), (actual, expected)
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same_state(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same_state(a, e)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual)
    else:
        assert actual == expected


OPTIMIZERS = [
    ("adam-amsgrad", lambda p: optim.Adam(p, lr=0.05, betas=(0.8, 0.99), amsgrad=True)),
    ("sgd-momentum", lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    ("nadam", lambda p: optim.NAdam(p, lr=0.01)),  # scalar float state: mu_product
    ("rmsprop-centered", lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True)),
]
SCHEDULERS = [
    ("step", lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5)),
    ("onecycle", lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20)),
    ("cosine-restarts", lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3)),
]


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_round_trip_is_bit_exact(tmp_path, dtype):
    model = make_model(0, dtype)
    train_steps(model, optim.SGD(model.parameters(), lr=0.1), None, range(3))  # moves BN buffers
    path = save_checkpoint(tmp_path / "model.safetensors", model=model)
    checkpoint = load_checkpoint(path)
    assert list(checkpoint.model_state) == list(model.state_dict())  # PyTorch's key order
    assert_same_state(dict(checkpoint.model_state), dict(model.state_dict()))
    assert checkpoint.model_state["1.num_batches_tracked"].dtype == np.int64
    assert int(checkpoint.model_state["1.num_batches_tracked"]) == 3
    fresh = make_model(1, dtype)
    checkpoint.restore(fresh)
    assert_same_state(dict(fresh.state_dict()), dict(model.state_dict()))
    assert load_state_dict(path).keys() == model.state_dict().keys()  # a checkpoint's model part


@pytest.mark.parametrize("name, make_optimizer", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("sched_name, make_scheduler", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_optimizer_and_scheduler_round_trip(tmp_path, name, make_optimizer, sched_name,
                                            make_scheduler):
    model = make_model(0)
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)
    train_steps(model, optimizer, scheduler, range(4))
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizer=optimizer,
                           scheduler=scheduler, epoch=2, step=4)
    checkpoint = load_checkpoint(path)
    # The loaded dicts equal the live ones, types included: step an int, betas a tuple,
    # state keyed by int, mu_product a float.
    assert_same_state(checkpoint.optimizer_state, optimizer.state_dict())
    assert_same_state(checkpoint.scheduler_state, scheduler.state_dict())
    assert (checkpoint.epoch, checkpoint.step) == (2, 4)
    model2 = make_model(5)
    optimizer2 = make_optimizer(model2.parameters())
    scheduler2 = make_scheduler(optimizer2)
    checkpoint.restore(model2, optimizer2, scheduler2)
    assert_same_state(optimizer2.state_dict(), optimizer.state_dict())
    assert_same_state(scheduler2.state_dict(), scheduler.state_dict())


def test_header_values_keep_their_types(tmp_path):
    model = make_model(0)
    config = {"lr": 0.1, "betas": (0.9, 0.999), "layers": [4, 6, 3], "name": "mlp",
              "flags": {"amsgrad": False, "none": None}, "big": 2**100,
              "np_float": np.float32(0.25), "np_int": np.int64(7), "np_bool": np.bool_(True),
              "path": tmp_path, "inf": math.inf, "nan": math.nan}
    extra = {"by_int": {0: "a", 3: (1, 2)}, "curve": np.arange(5.0),
             "nested": {"__tensor__": "not a tag"}, "tuple_key": {(1, 2): 3}}
    rngs = {"pcg": np.random.default_rng(3), "mt": np.random.Generator(np.random.MT19937(4)),
            "state": np.random.default_rng(5).bit_generator.state}
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, config=config, extra=extra,
                           rng_states=rngs, arrays={"ema.0.weight": np.ones((6, 4), np.float16)})
    checkpoint = load_checkpoint(path)
    loaded = checkpoint.config
    assert loaded["betas"] == (0.9, 0.999) and isinstance(loaded["betas"], tuple)
    assert loaded["big"] == 2**100 and loaded["layers"] == [4, 6, 3]
    assert type(loaded["np_float"]) is float and loaded["np_float"] == 0.25
    assert type(loaded["np_int"]) is int and loaded["np_bool"] is True
    assert loaded["path"] == str(tmp_path) and loaded["inf"] == math.inf
    assert math.isnan(loaded["nan"]) and loaded["flags"] == {"amsgrad": False, "none": None}
    assert checkpoint.extra["by_int"] == {0: "a", 3: (1, 2)}
    assert checkpoint.extra["nested"] == {"__tensor__": "not a tag"}
    assert checkpoint.extra["tuple_key"] == {(1, 2): 3}
    np.testing.assert_array_equal(checkpoint.extra["curve"], np.arange(5.0))
    assert checkpoint.arrays["ema.0.weight"].dtype == np.float16
    for name, generator in (("pcg", np.random.default_rng(3)),
                            ("mt", np.random.Generator(np.random.MT19937(4))),
                            ("state", np.random.default_rng(5))):
        restored = np.random.default_rng()
        if name == "mt":
            restored = np.random.Generator(np.random.MT19937())
        restored.bit_generator.state = checkpoint.rng_states[name]
        np.testing.assert_array_equal(restored.random(5), generator.random(5))
    assert checkpoint.steepest_version == st.__version__ and checkpoint.version == 1
    assert "epoch=0" in repr(checkpoint) and "9 model tensors" in repr(checkpoint)


def test_unsupported_values_raise_naming_them(tmp_path):
    with pytest.raises(TypeError, match=r"config\.callback: a object"):
        save_checkpoint(tmp_path / "c.safetensors", model=make_model(0),
                        config={"callback": object()})
    with pytest.raises(TypeError, match="dtype object"):
        save_checkpoint(tmp_path / "c.safetensors", model=make_model(0),
                        extra={"odd": np.array([None])})
    with pytest.raises(TypeError, match="step must be an integer"):
        save_checkpoint(tmp_path / "c.safetensors", model=make_model(0), step=1.5)
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------- exact resume
@pytest.mark.parametrize("make_optimizer", [
    lambda p: optim.Adam(p, lr=0.05),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
], ids=["adam", "sgd-momentum"])
def test_resume_continues_bit_for_bit(tmp_path, make_optimizer):
    """10 steps straight vs 5 steps, checkpoint, fresh objects (other init, other seed), restore,
    5 more steps: identical parameters, bit for bit. Dropout draws from steepest's default
    generator, so its state must be saved and restored too."""
    st.manual_seed(11)
    model = make_model(0, dropout=0.3)
    optimizer = make_optimizer(model.parameters())
    scheduler = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    train_steps(model, optimizer, scheduler, range(10))
    expected = {k: v.copy() for k, v in model.state_dict().items()}

    st.manual_seed(11)
    model = make_model(0, dropout=0.3)
    optimizer = make_optimizer(model.parameters())
    scheduler = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    train_steps(model, optimizer, scheduler, range(5))
    path = save_checkpoint(tmp_path / "last.safetensors", model=model, optimizer=optimizer,
                           scheduler=scheduler, step=5,
                           rng_states={"default": capture_rng_state()})
    del model, optimizer, scheduler

    st.manual_seed(999)  # a "new process": other seed, other initial weights
    model = make_model(42, dropout=0.3)
    optimizer = make_optimizer(model.parameters())
    scheduler = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    checkpoint = load_checkpoint(path)
    checkpoint.restore(model, optimizer, scheduler)
    restore_rng_state(checkpoint.rng_states["default"])
    train_steps(model, optimizer, scheduler, range(checkpoint.step, 10))
    assert_same_state(dict(model.state_dict()), expected)


def test_rng_state_is_restored_in_place():
    generator = st.default_generator()  # code that already holds the generator sees the change
    state = capture_rng_state()
    first = generator.random(4)
    restore_rng_state(state)
    np.testing.assert_array_equal(generator.random(4), first)
    with pytest.raises(ValueError, match="cannot restore the random state"):
        restore_rng_state(np.random.Generator(np.random.MT19937(0)).bit_generator.state)


def test_restore_checks_shapes_and_changes_nothing_on_failure(tmp_path):
    model = make_model(0)
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    train_steps(model, optimizer, None, range(2))
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizer=optimizer)
    checkpoint = load_checkpoint(path)

    wide = nn.Sequential(nn.Linear(4, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Linear(7, 3))
    before = {k: v.copy() for k, v in wide.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"c\.safetensors does not fit this model.*shape"):
        checkpoint.restore(wide)
    assert_same_state(dict(wide.state_dict()), before)

    # The model fits but the optimizer does not (other param groups): the model is put back.
    other = make_model(3)
    before = {k: v.copy() for k, v in other.state_dict().items()}
    params = list(other.parameters())
    mismatched = optim.Adam([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    with pytest.raises(CheckpointError, match="does not fit this optimizer"):
        checkpoint.restore(other, mismatched)
    assert_same_state(dict(other.state_dict()), before)

    with pytest.raises(CheckpointError, match="no scheduler state"):
        checkpoint.restore(other, None, lr_scheduler.StepLR(mismatched, 2))


# ---------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    assert atomic_write(target, b"first") == target
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch, failing):
    path = save_checkpoint(tmp_path / "last.safetensors", model=make_model(0), step=1)
    old_bytes = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(f"simulated {failing} failure (disk full)")

    if failing == "write":
        import steepest.io.checkpoint as checkpoint_module

        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, fd, mode):
                self.file = real_fdopen(fd, mode)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.file.close()

            def write(self, data):
                self.file.write(data[: len(data) // 2])  # half the bytes reach the disk
                raise OSError("simulated write failure (disk full)")

        monkeypatch.setattr(checkpoint_module.os, "fdopen", HalfWriter)
    else:
        monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, model=make_model(1), step=2)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert [p.name for p in tmp_path.iterdir()] == ["last.safetensors"]
    assert load_checkpoint(path).step == 1


# ---------------------------------------------------------------------------- bad files
def test_truncated_checkpoint_is_named_with_sizes(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", model=make_model(0),
                           optimizer=optim.SGD(make_model(0).parameters(), lr=0.1))
    data = path.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    cut = tmp_path / "cut.safetensors"
    for keep in (len(data) - 1, header_end + 3, header_end):
        cut.write_bytes(data[:keep])
        with pytest.raises(CheckpointError,
                           match=rf"cut\.safetensors: truncated: expected {len(data)} bytes, "
                                 rf"found {keep}"):
            load_checkpoint(cut)
    cut.write_bytes(data[:header_end - 10])  # cut inside the JSON header
    with pytest.raises(CheckpointError, match=rf"truncated: expected at least {header_end} "
                                              rf"bytes, found {header_end - 10}"):
        load_checkpoint(cut)
    with pytest.raises(CheckpointError, match="truncated"):
        load_state_dict(cut)


def test_foreign_files_raise_checkpoint_error(tmp_path):
    rng = np.random.default_rng(0)
    files = {
        "random.bin": rng.integers(0, 256, 1000, dtype=np.uint8).tobytes(),
        "text.safetensors": b"this is a text file, not a checkpoint\n" * 5,
        "empty.safetensors": b"",
        "tiny.safetensors": b"\x01\x02",
        "notjson.safetensors": (20).to_bytes(8, "little") + b"\xff" * 20,
        "badoffsets.safetensors": _raw_safetensors(
            {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}, b"\0" * 12),
        "fp8.safetensors": _raw_safetensors(
            {"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2),
    }
    np.savez(tmp_path / "arrays.npz", x=np.ones(3))
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    for path in sorted(tmp_path.iterdir()):
        with pytest.raises(CheckpointError, match=rf"{path.name}"):
            load_checkpoint(path)
        with pytest.raises(CheckpointError):
            load_state_dict(path)
    assert isinstance(CheckpointError("x"), ValueError)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)


def _raw_safetensors(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data


def test_plain_weights_are_not_a_checkpoint(tmp_path):
    model = make_model(0)
    path = save_state_dict(model.state_dict(), tmp_path / "weights.safetensors",
                           metadata={"source": "test"})
    with pytest.raises(CheckpointError, match=r"weights\.safetensors: a safetensors file but not "
                                              r"a steepest checkpoint"):
        load_checkpoint(path)
    weights = load_state_dict(path)  # in the file's order (safetensors sorts by dtype, name)
    assert_same_state(dict(sorted(weights.items())), dict(sorted(model.state_dict().items())))
    with pytest.raises(ValueError, match="reserved"):
        save_state_dict(model.state_dict(), tmp_path / "w.safetensors", {"steepest": "{}"})


# ---------------------------------------------------------------------------- PyTorch files
def test_pytorch_safetensors_weights_load_with_identical_outputs(tmp_path):
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6),
                                    torch.nn.ReLU(), torch.nn.Linear(6, 3)).double()
    reference.train()
    reference(torch.randn(16, 4, dtype=torch.float64))  # running statistics move off 0 / 1
    reference.eval()
    path = tmp_path / "torch.safetensors"
    torch_save_file(reference.state_dict(), str(path))

    weights = load_state_dict(path)
    assert set(weights) == set(reference.state_dict())
    model = make_model(9, np.float64).eval()
    model.load_state_dict(weights)
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value.numpy())
    x = np.random.default_rng(1).standard_normal((5, 4))
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(st.Tensor(x)).data, expected, rtol=1e-12, atol=1e-13)

    # bfloat16 (common for published weights) is widened to float32 exactly.
    bf16 = {"w": torch.randn(3, 5).to(torch.bfloat16)}
    torch_save_file(bf16, str(tmp_path / "bf16.safetensors"))
    loaded = load_state_dict(tmp_path / "bf16.safetensors")["w"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, bf16["w"].float().numpy())


def test_steepest_weights_load_into_pytorch(tmp_path):
    model = make_model(0)
    path = save_state_dict(model.state_dict(), tmp_path / "w.safetensors")
    reference = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6),
                                    torch.nn.ReLU(), torch.nn.Linear(6, 3))
    reference.load_state_dict(torch_load_file(str(path)))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(reference.state_dict()[key].numpy(), value)


def test_non_contiguous_and_big_endian_arrays_are_saved_correctly(tmp_path):
    weights = OrderedDict(t=np.arange(12.0).reshape(3, 4).T, b=np.arange(3, dtype=">f4"),
                          s=np.array(2.5), e=np.zeros((0, 2), np.int32))
    loaded = load_state_dict(save_state_dict(weights, tmp_path / "w.safetensors"))
    for key, value in weights.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].shape == value.shape
    loaded["t"][0, 0] = 7.0  # arrays come back writable
    assert isinstance(load_checkpoint(save_checkpoint(tmp_path / "c.safetensors",
                                                      model=weights)), Checkpoint)
