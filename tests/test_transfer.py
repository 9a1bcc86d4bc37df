"""Transfer learning (`steepest.train.transfer`): PyTorch weights in, frozen layers stay put."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_close

import steepest as st
from steepest import models, nn
from steepest.functional import cross_entropy
from steepest.optim import SGD
from steepest.train.transfer import (
    LoadReport,
    fine_tune_last,
    freeze,
    load_pretrained,
    param_groups_by_lr,
    replace_head,
    unfreeze,
)


def torch_lenet(num_classes=10):
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(400, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, num_classes),
    )


def state_of(model) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


@pytest.fixture
def images():
    return np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)


# ---------------------------------------------------------------------------- loading
def test_pytorch_safetensors_file_loads_and_gives_the_same_outputs(tmp_path, images):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    theirs = torch_lenet()
    path = tmp_path / "lenet.safetensors"
    save_file(theirs.state_dict(), str(path))
    ours = models.lenet(1, 10, 28)
    report = load_pretrained(ours, path)
    assert isinstance(report, LoadReport)
    assert report.loaded == list(theirs.state_dict())
    assert report.missing == report.unexpected == report.mismatched == []
    with torch.no_grad():
        expected = theirs(torch.tensor(images))
    assert_close(ours(st.Tensor(images)), expected, dtype=np.float32)


def test_steepest_checkpoint_and_weights_files_load(tmp_path, images):
    from steepest.io import save_checkpoint, save_state_dict

    source = models.mlp(40, 10, generator=np.random.default_rng(1))
    x = st.Tensor(np.random.default_rng(2).standard_normal((3, 40)).astype(np.float32))
    save_state_dict(source.state_dict(), tmp_path / "w.safetensors")
    save_checkpoint(tmp_path / "ckpt.safetensors", model=source, epoch=3, step=30)
    for name in ("w.safetensors", "ckpt.safetensors"):
        target = models.mlp(40, 10, generator=np.random.default_rng(9))
        report = load_pretrained(target, tmp_path / name, strict=True)
        assert len(report.loaded) == 6
        np.testing.assert_array_equal(target(x).data, source(x).data)


def test_new_head_size_skips_the_old_head_and_keeps_the_rest(tmp_path):
    from safetensors.torch import save_file

    theirs = torch_lenet(10)
    save_file(theirs.state_dict(), str(tmp_path / "p.safetensors"))
    ours = models.lenet(1, 5, 28, generator=np.random.default_rng(0))
    head_before = state_of(ours)
    report = load_pretrained(ours, tmp_path / "p.safetensors")
    assert report.mismatched == [("11.weight", (10, 84), (5, 84)), ("11.bias", (10,), (5,))]
    assert "11.weight" not in report.loaded and len(report.loaded) == 8
    np.testing.assert_array_equal(ours[11].weight.data, head_before["11.weight"])
    assert_close(ours[9].weight, theirs[9].weight, dtype=np.float32)
    assert "shape mismatch (skipped): 11.weight (10, 84)" in str(report)
    with pytest.raises(ValueError, match="11.weight: \\(10, 84\\) in the file"):
        load_pretrained(models.lenet(1, 5, 28), tmp_path / "p.safetensors",
                        skip_mismatched=False)
    with pytest.raises(ValueError, match="strict=True"):
        load_pretrained(models.lenet(1, 5, 28), tmp_path / "p.safetensors", strict=True)


def test_missing_unexpected_key_map_and_nothing_changed_on_error():
    source = models.mlp(4, 3, depth=1, width=5)
    state = {"backbone." + k: v for k, v in source.state_dict().items()}
    state["backbone.extra"] = np.zeros(2)
    target = models.mlp(4, 3, depth=1, width=5)
    before = state_of(target)
    report = load_pretrained(target, state)
    assert report.loaded == []
    assert report.missing == list(before)
    assert len(report.unexpected) == 5
    for k, v in target.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    # strict failure changes nothing either
    with pytest.raises(ValueError, match="unexpected"):
        load_pretrained(target, state, strict=True, key_map={"backbone.": ""})
    for k, v in target.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    report = load_pretrained(target, state, key_map={"backbone.": ""})
    assert report.unexpected == ["extra"] and report.missing == []
    for k, v in target.state_dict().items():
        np.testing.assert_array_equal(v, source.state_dict()[k])
    # a function: drop the head, rename the rest
    fresh = models.mlp(4, 3, depth=1, width=5)
    report = load_pretrained(
        fresh, state,
        key_map=lambda k: None if k.startswith("backbone.3") or k.endswith("extra")
        else k.removeprefix("backbone."))
    assert report.missing == ["3.weight", "3.bias"] and report.unexpected == []


def test_torch_tensors_and_buffers_in_a_mapping():
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 6),
                                 torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    theirs(torch.randn(8, 4))  # move the running statistics
    ours = models.mlp(4, 2, depth=1, width=6, batch_norm=True)
    report = load_pretrained(ours, theirs.state_dict(), strict=True)
    assert "2.num_batches_tracked" in report.loaded
    assert_close(ours[2].running_var, theirs[2].running_var, dtype=np.float32)
    assert int(ours[2].num_batches_tracked.data) == 1


# ---------------------------------------------------------------------------- heads and freezing
def test_replace_head_keeps_position_and_other_weights():
    model = models.lenet(1, 10, 28, generator=np.random.default_rng(0))
    before = state_of(model)
    head = replace_head(model, 3, generator=np.random.default_rng(1))
    assert model[11] is head and list(model._modules) == [str(i) for i in range(12)]
    assert (head.in_features, head.out_features) == (84, 3)
    assert head.weight.dtype == np.float32 and head.weight.requires_grad
    for key, value in model.state_dict().items():
        if not key.startswith("11."):
            np.testing.assert_array_equal(value, before[key])
    assert model(st.Tensor(np.zeros((2, 1, 28, 28), dtype=np.float32))).shape == (2, 3)
    cnn = models.mnist1d_cnn()
    head = replace_head(cnn, 4)
    assert cnn.linear is head and dict(cnn.named_parameters())["linear.weight"].shape == (4, 125)
    with pytest.raises(ValueError, match="no nn.Linear"):
        replace_head(nn.Sequential(nn.Conv1d(1, 2, 3)), 2)


def test_frozen_parameters_get_no_gradient_and_do_not_move():
    model = models.mlp(6, 3, depth=2, width=8, generator=np.random.default_rng(0))
    frozen = freeze(model, ["1", "3.weight"])
    assert frozen == ["1.weight", "1.bias", "3.weight"]
    before = state_of(model)
    optimizer = SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=0.1)
    rng = np.random.default_rng(1)
    for _ in range(3):
        optimizer.zero_grad()
        x = st.Tensor(rng.standard_normal((5, 6)).astype(np.float32))
        cross_entropy(model(x), rng.integers(0, 3, 5)).backward()
        assert model[1].weight.grad is None and model[3].weight.grad is None
        assert model[3].bias.grad is not None
        optimizer.step()
    for key in frozen:
        np.testing.assert_array_equal(model.state_dict()[key], before[key])
    for key in ("3.bias", "5.weight", "5.bias"):
        assert not np.array_equal(model.state_dict()[key], before[key])
    assert unfreeze(model, "3") == ["3.weight", "3.bias"]
    assert model[3].weight.requires_grad and not model[1].weight.requires_grad
    assert len(freeze(model)) == 6 and model.num_parameters(trainable_only=True) == 0
    with pytest.raises(ValueError, match="'10'"):
        freeze(model, "10")


def test_freeze_clears_stale_gradients():
    model = nn.Linear(2, 2)
    cross_entropy(model(st.Tensor(np.ones((1, 2), dtype=np.float32))), [0]).backward()
    assert model.weight.grad is not None
    freeze(model)
    assert model.weight.grad is None and model.bias.grad is None


@pytest.mark.parametrize("n, trained", [(0, []), (1, ["11"]), (2, ["9", "11"]),
                                        (5, ["0", "3", "7", "9", "11"])])
def test_fine_tune_last_counts_layers(n, trained):
    model = models.lenet(1, 10, 28)
    assert fine_tune_last(model, n) == trained
    trainable = {name.rsplit(".", 1)[0] for name, p in model.named_parameters()
                 if p.requires_grad}
    assert trainable == set(trained)
    sizes = {"0": 6 * 25 + 6, "3": 16 * 6 * 25 + 16, "7": 400 * 120 + 120, "9": 120 * 84 + 84,
             "11": 84 * 10 + 10}
    assert model.num_parameters(trainable_only=True) == sum(sizes[k] for k in trained)


def test_fine_tune_last_counts_batch_norm_and_errors():
    model = models.mlp(4, 2, depth=1, width=3, batch_norm=True)  # Flatten Linear BN ReLU Linear
    assert fine_tune_last(model, 2) == ["2", "4"]
    with pytest.raises(ValueError, match="only 3 parameterised layers"):
        fine_tune_last(model, 4)
    with pytest.raises(ValueError, match="n must be"):
        fine_tune_last(model, -1)


# ---------------------------------------------------------------------------- learning rates
def test_param_groups_by_lr_move_parameters_by_their_own_lr():
    model = models.mlp(3, 2, depth=2, width=4, generator=np.random.default_rng(0))
    freeze(model, "1")
    groups = param_groups_by_lr(model, {"3": 0.01, "3.bias": 0.5}, default_lr=0.1)
    assert [[name for name, _ in g["params"]] for g in groups] == [
        ["3.weight"], ["3.bias"], ["5.weight", "5.bias"]]
    assert [g["lr"] for g in groups] == [0.01, 0.5, 0.1]
    optimizer = SGD(groups, lr=123.0)
    before = state_of(model)
    x = st.Tensor(np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32))
    cross_entropy(model(x), [0, 1, 1, 0]).backward()
    grads = {name: p.grad.data.copy() for name, p in model.named_parameters() if p.grad is not None}
    assert set(grads) == {"3.weight", "3.bias", "5.weight", "5.bias"}
    optimizer.step()
    after = model.state_dict()
    for name, lr in [("3.weight", 0.01), ("3.bias", 0.5), ("5.weight", 0.1), ("5.bias", 0.1)]:
        np.testing.assert_allclose(after[name], before[name] - lr * grads[name], rtol=1e-6,
                                   atol=1e-7)
    for name in ("1.weight", "1.bias"):
        np.testing.assert_array_equal(after[name], before[name])


def test_param_groups_default_lr_none_and_errors():
    model = models.mlp(3, 2, depth=1, width=4)
    groups = param_groups_by_lr(model, {"1": 1e-3}, named=False)
    assert "lr" not in groups[1] and groups[0]["params"] == [model[1].weight, model[1].bias]
    optimizer = SGD(groups, lr=0.2)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-3, 0.2]
    with pytest.raises(ValueError, match="'7'"):
        param_groups_by_lr(model, {"7": 0.1})
    freeze(model, "1")
    with pytest.raises(ValueError, match="no trainable parameter matches"):
        param_groups_by_lr(model, {"1": 0.1})
    with pytest.raises(ValueError, match="must be a number"):
        param_groups_by_lr(model, {"3": -1.0})
