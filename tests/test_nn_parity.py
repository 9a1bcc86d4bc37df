"""nn modules built by the same code with `nn` = torch.nn and = steepest.nn: the same
parameters and buffers (names, shapes), and with steepest's values loaded into PyTorch's
module, the same outputs and gradients (inputs and parameters) in float64."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
import torch
from torch_parity import compare, to_numpy

import steepest


class Spec(NamedTuple):
    name: str
    build: Callable  # build(nn) -> module
    shapes: tuple  # input shapes; float inputs drawn in `domain`
    domain: tuple = (-2.0, 2.0)
    train: bool = True
    integer_input: bool = False


S = Spec
SPECS = [
    S("LayerNorm", lambda nn: nn.LayerNorm(4), ((3, 4),)),
    S("LayerNorm_two_dims_no_affine", lambda nn: nn.LayerNorm([3, 4], elementwise_affine=False),
      ((2, 3, 4),)),
    S("LayerNorm_no_bias", lambda nn: nn.LayerNorm(4, eps=1e-3, bias=False), ((2, 5, 4),)),
    S("GroupNorm", lambda nn: nn.GroupNorm(2, 4), ((3, 4, 5),)),
    S("GroupNorm_no_affine", lambda nn: nn.GroupNorm(1, 3, affine=False), ((2, 3, 2, 2),)),
    S("RMSNorm", lambda nn: nn.RMSNorm(4, eps=1e-5), ((3, 4),)),
    S("InstanceNorm2d", lambda nn: nn.InstanceNorm2d(3, affine=True), ((2, 3, 4, 4),)),
    S("BatchNorm2d_train", lambda nn: nn.BatchNorm2d(3), ((4, 3, 2, 2),)),
    S("BatchNorm1d_eval", lambda nn: nn.BatchNorm1d(3), ((4, 3),), train=False),
    S("Embedding", lambda nn: nn.Embedding(6, 3), ((2, 4),), (0, 6), integer_input=True),
    S("Embedding_padding_idx", lambda nn: nn.Embedding(6, 3, padding_idx=2), ((3, 4),), (0, 6),
      integer_input=True),
    S("AdaptiveAvgPool2d", lambda nn: nn.AdaptiveAvgPool2d((2, 3)), ((2, 3, 5, 7),)),
    S("AdaptiveAvgPool2d_int", lambda nn: nn.AdaptiveAvgPool2d(1), ((2, 3, 4, 4),)),
    S("AdaptiveAvgPool1d", lambda nn: nn.AdaptiveAvgPool1d(3), ((2, 3, 7),)),
    S("AdaptiveMaxPool2d", lambda nn: nn.AdaptiveMaxPool2d((3, 2)), ((2, 2, 5, 4),)),
    S("AvgPool1d", lambda nn: nn.AvgPool1d(3, stride=2, padding=1), ((2, 3, 8),)),
    S("ConvTranspose2d", lambda nn: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                       output_padding=1), ((2, 4, 3, 5),)),
    S("ConvTranspose2d_groups_no_bias", lambda nn: nn.ConvTranspose2d(4, 6, 2, groups=2,
                                                                      bias=False),
      ((1, 4, 3, 3),)),
    S("ConvTranspose1d", lambda nn: nn.ConvTranspose1d(3, 2, 4, stride=2), ((2, 3, 5),)),
    S("Conv2d_reflect", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
      ((2, 2, 5, 5),)),
    S("Conv1d_circular_same", lambda nn: nn.Conv1d(2, 2, 3, padding="same",
                                                   padding_mode="circular"), ((2, 2, 6),)),
    S("Conv2d_replicate", lambda nn: nn.Conv2d(1, 2, (3, 2), padding=(1, 2),
                                               padding_mode="replicate"), ((1, 1, 4, 4),)),
    S("Upsample_nearest", lambda nn: nn.Upsample(scale_factor=2), ((1, 2, 3, 4),)),
    S("Upsample_bilinear", lambda nn: nn.Upsample(size=(5, 7), mode="bilinear"),
      ((1, 2, 3, 4),)),
    S("Upsample_bilinear_corners", lambda nn: nn.Upsample(scale_factor=1.5, mode="bilinear",
                                                          align_corners=True), ((1, 2, 4, 4),)),
    S("GELU", lambda nn: nn.GELU(), ((3, 4),)),
    S("GELU_tanh", lambda nn: nn.GELU(approximate="tanh"), ((3, 4),)),
    S("Softplus", lambda nn: nn.Softplus(beta=2, threshold=3), ((3, 4),)),
    S("SiLU", lambda nn: nn.SiLU(), ((3, 4),)),
    S("Hardtanh", lambda nn: nn.Hardtanh(-0.5, 1.5), ((3, 4),)),
    S("ReLU6", lambda nn: nn.ReLU6(), ((3, 4),), (-3, 9)),
    S("LogSigmoid", lambda nn: nn.LogSigmoid(), ((3, 4),), (-30, 30)),
    S("Softsign", lambda nn: nn.Softsign(), ((3, 4),)),
    S("Mish", lambda nn: nn.Mish(), ((3, 4),)),
    S("PReLU", lambda nn: nn.PReLU(3), ((2, 3, 4),)),
    S("ELU_inplace", lambda nn: nn.Sequential(nn.Linear(4, 4), nn.ELU(inplace=True)),
      ((3, 4),)),
    S("ReLU_inplace_after_linear", lambda nn: nn.Sequential(nn.Linear(4, 5), nn.ReLU(True),
                                                             nn.Linear(5, 2)), ((3, 4),)),
    S("Softmax", lambda nn: nn.Softmax(dim=1), ((3, 4),)),
    S("LogSoftmax", lambda nn: nn.LogSoftmax(dim=-1), ((2, 3, 4),)),
    S("Flatten_Unflatten", lambda nn: nn.Sequential(nn.Flatten(), nn.Unflatten(1, (4, 3))),
      ((2, 3, 4),)),
    S("Bilinear", lambda nn: nn.Bilinear(3, 4, 2), ((5, 3), (5, 4))),
    S("ZeroPad2d", lambda nn: nn.ZeroPad2d((1, 0, 2, 1)), ((1, 2, 3, 3),)),
    S("ReflectionPad2d", lambda nn: nn.ReflectionPad2d(1), ((1, 2, 3, 3),)),
    S("ReplicationPad1d", lambda nn: nn.ReplicationPad1d((2, 1)), ((2, 3, 4),)),
    S("CosineSimilarity", lambda nn: nn.CosineSimilarity(dim=1), ((3, 4), (3, 4))),
    S("PairwiseDistance", lambda nn: nn.PairwiseDistance(p=1.5), ((3, 4), (3, 4))),
    S("L1Loss", lambda nn: nn.L1Loss(), ((3, 4), (3, 4))),
    S("SmoothL1Loss", lambda nn: nn.SmoothL1Loss(beta=0.5), ((3, 4), (3, 4))),
    S("HuberLoss", lambda nn: nn.HuberLoss(reduction="sum", delta=0.3), ((3, 4), (3, 4))),
    S("BCELoss", lambda nn: nn.BCELoss(), ((3, 4), (3, 4)), (0.05, 0.95)),
    S("KLDivLoss", lambda nn: nn.KLDivLoss(reduction="batchmean", log_target=True),
      ((3, 4), (3, 4))),
    S("MSELoss_legacy_flags", lambda nn: nn.MSELoss(size_average=False), ((3, 4), (3, 4))),
    S("Dropout_eval", lambda nn: nn.Dropout(0.3), ((3, 4),), train=False),
    S("Identity", lambda nn: nn.Identity(), ((3, 4),)),
]


def _inputs(spec: Spec, lib, rng: np.random.Generator) -> list:
    tensors = []
    for shape in spec.shapes:
        if spec.integer_input:
            tensors.append(lib.tensor(rng.integers(*[int(v) for v in spec.domain], shape)))
        else:
            array = rng.uniform(*spec.domain, shape)
            tensors.append(lib.tensor(array, requires_grad=True))
    return tensors


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_module_matches_torch_float64(spec: Spec) -> None:
    ours = spec.build(steepest.nn).double()
    theirs = spec.build(torch.nn).double()
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(our_state) == list(their_state), spec.name
    for key in their_state:
        assert tuple(our_state[key].shape) == tuple(their_state[key].shape), key
    theirs.load_state_dict({k: torch.tensor(np.array(v)) for k, v in our_state.items()})
    ours.train(spec.train)
    theirs.train(spec.train)
    seed = zlib.crc32(spec.name.encode())
    our_inputs = _inputs(spec, steepest, np.random.default_rng(seed))
    their_inputs = _inputs(spec, torch, np.random.default_rng(seed))
    our_out, their_out = ours(*our_inputs), theirs(*their_inputs)
    compare(to_numpy(our_out), to_numpy(their_out), f"{spec.name}: forward")
    upstream = np.random.default_rng(seed + 1).standard_normal(tuple(their_out.shape))
    (our_out * steepest.tensor(upstream)).sum().backward()
    (their_out * torch.tensor(upstream)).sum().backward()
    for i, (a, b) in enumerate(zip(our_inputs, their_inputs, strict=True)):
        if b.grad is not None:
            compare(a.grad.data, b.grad.numpy(), f"{spec.name}: input {i} gradient")
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        expected = their_params[name].grad
        if expected is None:
            assert param.grad is None or not np.any(param.grad.data), name
        else:
            compare(param.grad.data, expected.numpy(), f"{spec.name}: {name}.grad")
    for key, value in theirs.state_dict().items():  # running statistics after the step
        compare(np.asarray(ours.state_dict()[key]), value.numpy(), f"{spec.name}: {key}")


def test_default_inits_have_pytorchs_distributions() -> None:
    """Each parameter's default values, pooled over 40 modules: the same range and spread."""
    torch.manual_seed(0)
    steepest.manual_seed(0)
    for build in [lambda nn: nn.ConvTranspose2d(8, 4, 3), lambda nn: nn.Embedding(50, 8),
                  lambda nn: nn.Bilinear(5, 6, 7), lambda nn: nn.LayerNorm(5),
                  lambda nn: nn.GroupNorm(2, 6), lambda nn: nn.PReLU(),
                  lambda nn: nn.Conv1d(3, 4, 5, padding_mode="reflect")]:
        pooled = {"ours": {}, "theirs": {}}
        for _ in range(40):
            for side, nn in (("ours", steepest.nn), ("theirs", torch.nn)):
                for name, p in build(nn).named_parameters():
                    pooled[side].setdefault(name, []).append(to_numpy(p).ravel())
        for name, arrays in pooled["theirs"].items():
            a, b = np.concatenate(pooled["ours"][name]), np.concatenate(arrays)
            spread = max(b.std(), 1e-12)
            assert abs(a.std() - b.std()) <= 0.1 * spread, name
            for q in (0.01, 0.5, 0.99):
                assert abs(np.quantile(a, q) - np.quantile(b, q)) <= 0.2 * spread + 1e-12, name


def test_containers_behave_as_pytorchs() -> None:
    def body(nn):
        seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        seq.append(nn.Sigmoid())
        del seq[1]
        seq.insert(1, nn.Tanh())
        layers = nn.ModuleList([nn.Linear(2, 2)])
        layers.extend([nn.ReLU(), nn.Linear(2, 1)])
        heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Identity()})
        heads["c"] = nn.Linear(2, 2)
        params = nn.ParameterList([nn.Parameter(torch_like_ones(nn, 2))])
        named = nn.ParameterDict({"w": nn.Parameter(torch_like_ones(nn, 3))})
        owner = nn.Module()
        owner.seq, owner.layers, owner.heads, owner.p, owner.q = seq, layers, heads, params, named
        owner.register_buffer("step", torch_like_ones(nn, 1), persistent=False)
        return [[type(m).__name__ for m in seq], len(layers), list(heads.keys()),
                [n for n, _ in owner.named_parameters()], list(owner.state_dict().keys()),
                [n for n, _ in owner.named_modules()], [n for n, _ in owner.named_buffers()],
                type(seq[1:]).__name__, len(seq[1:]), type(owner.get_submodule("seq.0")).__name__]

    compare(body(steepest.nn), body(torch.nn), "containers")


def torch_like_ones(nn, n):
    library = steepest if nn is steepest.nn else torch
    return library.ones(n)


def test_forward_hooks_and_load_state_dict_result() -> None:
    def body(nn, library):
        layer = nn.Linear(2, 2)
        calls = []
        handle = layer.register_forward_hook(lambda m, args, out: calls.append(tuple(out.shape)))
        layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        out = layer(library.ones(3, 2))
        handle.remove()
        layer(library.ones(1, 2))
        state = {k: v for k, v in layer.state_dict().items()}
        result = nn.Linear(2, 2).load_state_dict(state, strict=False)
        return [calls, tuple(out.shape), list(result.missing_keys),
                list(result.unexpected_keys)]

    compare(body(steepest.nn, steepest), body(torch.nn, torch), "hooks")
    with pytest.raises(RuntimeError, match="Error.*loading state_dict"):
        steepest.nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2))})
