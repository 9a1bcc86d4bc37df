"""The Module API against PyTorch 2.13: names, state dicts, modes, dtypes, freezing, repr.

A steepest model and the same torch model (Linear, BatchNorm1d, ReLU, Linear) must agree on
parameter and buffer names, and loading torch's state dict must reproduce torch's outputs and
gradients in float64 (1e-10) and float32 (1e-5), in training and in eval mode.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_close

import steepest as st
from steepest import nn

DTYPES = [np.float64, np.float32]
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def ours_model(dtype=np.float32) -> nn.Sequential:
    return nn.Sequential(nn.Linear(5, 4, dtype=dtype), nn.BatchNorm1d(4, dtype=dtype), nn.ReLU(),
                         nn.Linear(4, 3, dtype=dtype))


def torch_model(dtype=np.float32, seed: int = 0) -> torch.nn.Sequential:
    """The same architecture, with random BN affine values and non-trivial running stats."""
    torch.manual_seed(seed)
    kind = TORCH_DTYPE[dtype]
    model = torch.nn.Sequential(torch.nn.Linear(5, 4, dtype=kind),
                                torch.nn.BatchNorm1d(4, dtype=kind), torch.nn.ReLU(),
                                torch.nn.Linear(4, 3, dtype=kind))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 2.0)
        model[1].bias.normal_()
        for _ in range(2):
            model(torch.randn(6, 5, dtype=kind) * 2 + 1)  # training steps move the running stats
    return model


def snapshot(model: nn.Module) -> dict:
    return {k: v.copy() for k, v in model.state_dict().items()}


# ============================================================================== names


def test_parameter_and_buffer_names_equal_torch():
    ours, theirs = ours_model(), torch_model()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(3, 2), nn.Linear(3, 1, bias=False)])
        self.norm = nn.BatchNorm1d(3)


class TorchBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU())
        self.heads = torch.nn.ModuleList([torch.nn.Linear(3, 2), torch.nn.Linear(3, 1, bias=False)])
        self.norm = torch.nn.BatchNorm1d(3)


def test_nested_modules_and_module_lists_have_torchs_dotted_names():
    assert list(Block().state_dict()) == list(TorchBlock().state_dict())
    assert [n for n, _ in Block().named_parameters()] == \
        [n for n, _ in TorchBlock().named_parameters()]


def test_state_dict_shares_memory_and_reassignment_updates_registration():
    model = ours_model()
    assert model.state_dict()["0.weight"] is model[0].weight.data
    layer = nn.Linear(3, 2)
    layer.bias = None  # replacing a parameter by a plain value unregisters it, as torch
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    layer.extra = nn.Parameter(np.zeros(2, dtype=np.float32))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "extra"]
    del layer.extra
    assert [n for n, _ in layer.named_parameters()] == ["weight"]


def test_assigning_before_super_init_raises():
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.layer = nn.Linear(2, 2)

    with pytest.raises(RuntimeError, match=r"Broken: call super\(\).__init__\(\)"):
        Broken()


# ============================================================================== load_state_dict


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", ["torch_tensors", "numpy_arrays"])
def test_load_state_dict_from_torch_reproduces_torch(values, dtype, rng):
    theirs = torch_model(dtype)
    state = theirs.state_dict()
    if values == "numpy_arrays":
        state = {k: v.numpy() for k, v in state.items()}
    ours = ours_model(dtype)
    result = ours.load_state_dict(state)
    assert result == ([], [])
    assert int(ours[1].num_batches_tracked.data) == 2
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        ours.zero_grad()
        theirs.zero_grad()
        x_array = rng.standard_normal((6, 5)).astype(dtype)
        grad = rng.standard_normal((6, 3)).astype(dtype)
        x, x_t = st.tensor(x_array, requires_grad=True), torch.tensor(x_array, requires_grad=True)
        out, out_t = ours(x), theirs(x_t)
        out.backward(grad)
        out_t.backward(torch.from_numpy(grad))
        assert_close(out, out_t, dtype, f"{mode}: output")
        assert_close(x.grad, x_t.grad, dtype, f"{mode}: input gradient")
        for (name, param), (_, param_t) in zip(ours.named_parameters(), theirs.named_parameters(),
                                               strict=True):
            assert_close(param.grad, param_t.grad, dtype, f"{mode}: {name} gradient")
        for name, buf in theirs.state_dict().items():
            assert_close(ours.state_dict()[name], buf.numpy(), dtype, f"{mode}: {name}")


def test_load_state_dict_round_trip_between_steepest_models(rng):
    source, target = ours_model(np.float64), ours_model(np.float64)
    source(st.tensor(rng.standard_normal((4, 5))))  # move the running stats
    target.load_state_dict(source.state_dict())
    for name, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], value)
        assert target.state_dict()[name] is not value  # copied, not shared


LOAD_ERRORS = [
    # (desc, how the good state dict is spoiled, exception, words in the message)
    ("missing", lambda s: s.pop("1.running_var"), KeyError, ["missing keys ['1.running_var']"]),
    ("unexpected", lambda s: s.update({"4.weight": np.zeros(2)}), KeyError,
     ["unexpected keys ['4.weight']"]),
    ("wrong_shape_last", lambda s: s.update({"3.bias": np.zeros(4)}), ValueError,
     ["'3.bias'", "(4,)", "(3,)"]),
    ("wrong_shape_weight", lambda s: s.update({"0.weight": np.zeros((5, 4))}), ValueError,
     ["'0.weight'", "(5, 4)", "(4, 5)"]),
]


@pytest.mark.parametrize("desc, spoil, error, words", LOAD_ERRORS, ids=[c[0] for c in LOAD_ERRORS])
def test_load_state_dict_errors_leave_the_model_unchanged(desc, spoil, error, words):
    model = ours_model()
    before = snapshot(model)
    state = {k: np.full(v.shape, 7, dtype=v.dtype) for k, v in before.items()}
    spoil(state)
    with pytest.raises(error) as info:
        model.load_state_dict(state)
    for word in words:
        assert word in str(info.value)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_load_state_dict_not_strict_loads_what_matches():
    model = ours_model()
    state = {"0.bias": np.full(4, 2.0), "9.weight": np.zeros(1)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert unexpected == ["9.weight"]
    assert sorted(missing) == sorted(k for k in model.state_dict() if k != "0.bias")
    np.testing.assert_array_equal(model[0].bias.data, np.full(4, 2.0))
    assert model[0].bias.dtype == np.float32  # values take the model's dtype


# ============================================================================== gradients


def test_requires_grad_false_freezes_a_layer(rng):
    model = ours_model()
    assert model[0].requires_grad_(False) is model[0]
    x = st.tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    model(x).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[3].weight.grad is not None and model[1].weight.grad is not None
    assert x.grad is not None  # the gradient still flows through the frozen layer
    assert model.num_parameters(trainable_only=True) == model.num_parameters() - 24
    model.requires_grad_(True)
    model(x).sum().backward()
    assert model[0].weight.grad is not None


def test_zero_grad_sets_none_or_zeros(rng):
    model = ours_model()
    model(st.tensor(rng.standard_normal((4, 5)).astype(np.float32))).sum().backward()
    assert all(p.grad is not None and np.any(p.grad != 0) for p in model.parameters())
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        np.testing.assert_array_equal(p.grad, np.zeros(p.shape))
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_shared_parameters_are_listed_once_and_accumulate_like_torch(rng):
    layer = nn.Linear(3, 3, dtype=np.float64)
    ours = nn.Sequential(layer, nn.Tanh(), layer)
    layer_t = torch.nn.Linear(3, 3, dtype=torch.float64)
    theirs = torch.nn.Sequential(layer_t, torch.nn.Tanh(), layer_t)
    with torch.no_grad():
        layer_t.weight.copy_(torch.from_numpy(layer.weight.data))
        layer_t.bias.copy_(torch.from_numpy(layer.bias.data))
    assert len(list(ours.parameters())) == 2
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    assert [n for n, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    x_array = rng.standard_normal((4, 3))
    ours(st.tensor(x_array)).sum().backward()
    theirs(torch.from_numpy(x_array)).sum().backward()
    assert_close(layer.weight.grad, layer_t.weight.grad, np.float64, "shared weight gradient")
    assert_close(layer.bias.grad, layer_t.bias.grad, np.float64, "shared bias gradient")


# ============================================================================== modes and dtypes


def test_train_and_eval_propagate_to_every_submodule():
    model = Block()
    assert model.eval() is model
    assert [m.training for m in model.modules()] == [False] * 8
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not model.heads[1].training
    model.body.train()
    assert model.body[0].training and not model.training and not model.norm.training


def test_double_and_float_convert_parameters_and_float_buffers(rng):
    model = ours_model()
    x = rng.standard_normal((4, 5))
    model(st.tensor(x.astype(np.float32))).sum().backward()
    assert model.double() is model
    for name, value in model.state_dict().items():
        expected = np.int64 if name.endswith("num_batches_tracked") else np.float64
        assert value.dtype == expected, name
    assert all(p.grad.dtype == np.float64 for p in model.parameters())
    assert model(st.tensor(x)).dtype == np.float64
    model.float()
    for name, value in model.state_dict().items():
        expected = np.int64 if name.endswith("num_batches_tracked") else np.float32
        assert value.dtype == expected, name
    assert model(st.tensor(x.astype(np.float32))).dtype == np.float32


# ============================================================================== repr


def test_repr_of_a_small_model_is_torchs():
    ours = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.LeakyReLU(0.2),
                         nn.Linear(4, 3, bias=False), nn.Softmax(dim=1))
    expected = (
        "Sequential(\n"
        "  (0): Linear(in_features=5, out_features=4, bias=True)\n"
        "  (1): BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True)\n"
        "  (2): ReLU()\n"
        "  (3): LeakyReLU(negative_slope=0.2)\n"
        "  (4): Linear(in_features=4, out_features=3, bias=False)\n"
        "  (5): Softmax(dim=1)\n"
        ")"
    )
    assert repr(ours) == expected
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.LeakyReLU(0.2), torch.nn.Linear(4, 3, bias=False),
                                 torch.nn.Softmax(dim=1))
    assert repr(theirs) == expected


def test_repr_of_nested_modules_is_torchs():
    assert repr(Block()) == repr(TorchBlock()).replace("TorchBlock", "Block")


def test_replacing_a_sequential_layer_keeps_its_place():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    seq[0] = nn.Linear(2, 3)
    assert list(seq._modules) == ["0", "1", "2"]
    assert seq(st.ones(4, 2)).shape == (4, 1)


def _edit_containers(library) -> list:
    """Insert, append, extend, delete (index, slice, out of range) and pop on Sequential and
    ModuleList, recording what PyTorch users can see: return values, order, child names."""
    seen = []
    for kind in ("Sequential", "ModuleList"):
        children = [library.nn.Linear(2, 2), library.nn.ReLU(), library.nn.Tanh()]
        cls = getattr(library.nn, kind)
        box = cls(*children) if kind == "Sequential" else cls(children)
        seen.append(box.insert(1, library.nn.Sigmoid()) is box)
        seen.append(box.append(library.nn.Identity()) is box)
        seen.append(box.extend([library.nn.ReLU()]) is box)
        del box[0]
        seen += [[type(m).__name__ for m in box], list(dict(box.named_children()))]
        del box[1:3]
        seen += [[type(m).__name__ for m in box], list(dict(box.named_children())), len(box)]
        with pytest.raises(IndexError):
            del box[10]
        if kind == "Sequential":
            seen += [type(box.pop(0)).__name__, len(box)]
    return seen


def test_sequential_and_module_list_edits_match_torch():
    assert _edit_containers(st) == _edit_containers(torch)
