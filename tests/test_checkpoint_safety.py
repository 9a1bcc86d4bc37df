"""Checkpoint loading is bounded and validated: the header first, then each tensor within its
declared bounds; every malformed field of steepest's metadata is a CheckpointError (one line on
the command line) raised before anything is written; PyTorch pickles are refused unopened; a
"last good" checkpoint never holds non-finite weights or buffers."""

from __future__ import annotations

import json
import pickle
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

import steepest as st
from steepest import nn, optim
from steepest.cli import main
from steepest.io import (
    CheckpointError,
    checkpoint_info,
    load_checkpoint,
    load_state_dict,
    save_checkpoint,
    save_state_dict,
)
from steepest.train import TrainingDiverged, fit, load_pretrained

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
from seeds import drop_key, edit_metadata, safetensors_bytes, set_key  # noqa: E402


def model() -> nn.Module:
    st.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def checkpoint(path: Path) -> Path:
    net = model()
    return save_checkpoint(path, model=net, optimizer=optim.Adam(net.parameters(), lr=0.1),
                           epoch=2, step=40, config={"lr": 0.1, "betas": (0.9, 0.99)},
                           extra={"run_uuid": "0b3f0d9e-0000-4000-8000-000000000000"})


def with_metadata(source: Path, target: Path, edit) -> Path:
    """A copy of checkpoint `source` whose steepest metadata is `edit(header)`."""
    target.write_bytes(edit_metadata(source.read_bytes(), edit))
    return target


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


MALFORMED = {
    "epoch-abc": (set_key("epoch", "abc"), "epoch must be an integer"),
    "step-1e30": (set_key("step", 1e30), "step must be an integer"),
    "step-huge-int": (set_key("step", 10**30), "step must be an integer"),
    "step-negative": (set_key("step", -1), "step must be an integer"),
    "step-bool": (set_key("step", True), "step must be an integer"),
    "missing-step": (drop_key("step"), "step missing"),
    "missing-model": (drop_key("model"), "model missing"),
    "missing-version": (drop_key("version"), "version missing"),
    "version-string": (set_key("version", "1"), "version must be a positive integer"),
    "model-not-list": (set_key("model", "0.weight"), "model must be a list"),
    "model-names-a-missing-tensor": (set_key("model", ["nope"]), "model tensor 'nope' is missing"),
    "optimizer-list": (set_key("optimizer", [1, 2]), "optimizer must be an object"),
    "config-string": (set_key("config", "lr=0.1"), "config must be an object"),
    "config-deep": (lambda h: json.dumps(h)[:-1] + ',"x":' + deep(100_000) + "}",
                    "not valid JSON"),
    "config-64-deep": (set_key("config", {"x": json.loads(deep(80))}), "nested deeper than 64"),
    "tensor-tag-missing": (set_key("config", {"x": {"__tensor__": "nowhere"}}),
                           "refers to tensor 'nowhere'"),
    "tensor-tag-number": (set_key("config", {"x": {"__tensor__": 5}}), "refers to tensor 5"),
    "tuple-tag-number": (set_key("config", {"x": {"__tuple__": 5}}), "not a list"),
    "items-tag-bad": (set_key("config", {"x": {"__items__": [[1, 2, 3]]}}),
                      "list of [key, value] pairs"),
    "items-unhashable-key": (set_key("config", {"x": {"__items__": [[{"a": 1}, 2]]}}),
                             "cannot key a dict"),
    "extra-uuid-number": (set_key("extra", {"run_uuid": 7}), "extra.run_uuid is a int"),
    "not-json": (lambda h: "{not json", "not valid JSON"),
    "not-an-object": (lambda h: "[1, 2]", "not a steepest checkpoint"),
    "version-newer": (set_key("version", 99), "newer than this steepest reads"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_every_malformed_field_is_a_checkpoint_error(tmp_path, case):
    edit, message = MALFORMED[case]
    bad = with_metadata(checkpoint(tmp_path / "good.safetensors"), tmp_path / "bad.safetensors",
                        edit)
    loaders = [load_checkpoint, checkpoint_info]
    if not case.startswith(("config", "tensor", "tuple", "items", "optimizer")):
        # Plain weights read the model part only, but through the same checked header.
        loaders += [load_state_dict, lambda path: load_pretrained(model(), path)]
    for load in loaders:
        with pytest.raises(CheckpointError, match="bad.safetensors") as caught:
            load(bad)
        assert message in str(caught.value)


def test_the_good_file_reads_and_tells_its_run(tmp_path):
    path = checkpoint(tmp_path / "good.safetensors")
    info = checkpoint_info(path)
    assert (info.epoch, info.step, info.run_uuid) == (2, 40, "0b3f0d9e-0000-4000-8000-000000000000")
    assert info.config == {"lr": 0.1, "betas": (0.9, 0.99)}
    assert load_checkpoint(path).step == 40


def test_a_huge_file_with_a_small_header_is_not_read_whole(tmp_path):
    path = checkpoint(tmp_path / "c.safetensors")
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.truncate(5 * 2**30)  # sparse: 5 GB of zeros after the real tensors, on no disk
    tracemalloc.start()
    try:
        for load in (load_checkpoint, checkpoint_info, load_state_dict):
            with pytest.raises(CheckpointError, match=f"{5 * 2**30 - size} unexpected bytes"):
                load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20  # a few MB at most, never the file

    # A header that declares a 5 GB tensor in a small file: refused before any allocation.
    huge = tmp_path / "declares.safetensors"
    huge.write_bytes(safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [2**20, 1280], "data_offsets": [0, 5 * 2**30]}},
        b"\0" * 64))
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="truncated: expected"):
            load_state_dict(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_a_tensor_is_read_within_its_bounds(tmp_path):
    path = tmp_path / "w.safetensors"
    save_state_dict({"a": np.arange(3, dtype=np.float32), "b": np.arange(4, dtype=np.int64),
                     "c": np.zeros((0, 3))}, path)
    weights = load_state_dict(path)
    np.testing.assert_array_equal(weights["a"], [0, 1, 2])
    np.testing.assert_array_equal(weights["b"], [0, 1, 2, 3])
    assert weights["c"].shape == (0, 3)
    weights["a"][0] = 5  # each array its own, writable
    assert load_state_dict(path)["a"][0] == 0


# ---------------------------------------------------------------------------- pickles
class _Exploit:
    """Unpickling this writes a file: the proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


@pytest.mark.parametrize("suffix, writer", [
    (".pt", "torch"), (".pth", "torch-legacy"), (".bin", "pickle"), (".safetensors", "torch")])
def test_pytorch_pickles_are_refused_unopened(tmp_path, capsys, suffix, writer):
    marker = tmp_path / "unpickled.txt"
    path = tmp_path / f"weights{suffix}"
    payload = {"weight": torch.zeros(2), "evil": _Exploit(marker)}
    if writer == "torch":
        torch.save(payload, path)
    elif writer == "torch-legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=4))
    for load in (load_checkpoint, load_state_dict, checkpoint_info,
                 lambda p: load_pretrained(model(), p)):
        with pytest.raises(CheckpointError, match="steepest never unpickles") as caught:
            load(path)
        assert "safetensors.torch import save_file" in str(caught.value)
        assert "\n" not in str(caught.value)
    assert main(["train", "--resume", str(path), "--db", str(tmp_path / "r.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "never unpickles" in err
    assert not marker.exists()
    assert not (tmp_path / "r.db").exists()


# ---------------------------------------------------------------------------- the command line
def _train(tmp_path, *args):
    return main(["train", "--db", str(tmp_path / "runs.db"), "--no-progress", "--width", "8",
                 *args])


@pytest.mark.parametrize("case", ["step-1e30", "epoch-abc", "config-deep", "missing-model"])
def test_resume_from_a_malformed_checkpoint_is_one_line_and_writes_nothing(tmp_path, capsys,
                                                                           case):
    folder = tmp_path / "ckpt"
    assert _train(tmp_path, "--steps", "20", "--checkpoint-dir", str(folder)) == 0
    capsys.readouterr()
    last = folder / "last.safetensors"
    good = last.read_bytes()
    with_metadata(last, last, MALFORMED[case][0])
    bad = last.read_bytes()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    db_before = (tmp_path / "runs.db").read_bytes()
    assert _train(tmp_path, "--resume", str(last), "--steps", "40") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "last.safetensors" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert last.read_bytes() == bad != good
    assert (tmp_path / "runs.db").read_bytes() == db_before


def test_a_malformed_training_state_changes_nothing(tmp_path):
    """The trainer's own fields (batch, history, losses) are checked before anything is set."""
    from steepest.data import load_mnist1d

    data = load_mnist1d()
    x, y = data.x[:200], data.y[:200]
    net = nn.Sequential(nn.Linear(40, 8), nn.ReLU(), nn.Linear(8, 10))
    fit(net, (x, y), steps=4, batch_size=50, checkpoint_dir=tmp_path, progress=False, log=None)
    last = tmp_path / "last.safetensors"
    for field, value in (("batch", "two"), ("batch", -3), ("epoch_sums", [1]),
                         ("history", {"loss": "x"})):
        def edit(header, field=field, value=value):
            header["extra"][field] = value
            return header

        with_metadata(last, tmp_path / "bad.safetensors", edit)
        weights = {k: v.copy() for k, v in net.state_dict().items()}
        with pytest.raises(CheckpointError, match=f"bad.safetensors.*{field}"):
            fit(net, (x, y), steps=8, batch_size=50, resume=tmp_path / "bad.safetensors",
                progress=False, log=None)
        for key, value_before in weights.items():
            np.testing.assert_array_equal(net.state_dict()[key], value_before)


# ---------------------------------------------------------------------------- non-finite state
def test_a_checkpoint_never_holds_non_finite_buffers(tmp_path):
    """Inputs of 1e30 overflow BatchNorm's running variance (float32) while the normalised
    loss stays finite: the run stops as diverged and keeps the last good checkpoint."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = rng.integers(0, 2, 200)
    x[150:] *= 1e30  # the fourth batch of 50
    net = model()
    with pytest.raises(TrainingDiverged, match=r"1\.running_var.*step 4.*last good checkpoint"):
        fit(net, (x, y), epochs=2, batch_size=50, shuffle=False, checkpoint_dir=tmp_path,
            checkpoint_every=1, optimizer="sgd", lr=1e-3, progress=False, log=None)
    last = load_checkpoint(tmp_path / "last.safetensors")
    assert last.step == 3
    for key, array in last.model_state.items():
        assert np.isfinite(array).all(), key
    assert not np.isfinite(net.state_dict()["1.running_var"]).all()  # what was refused
