"""PyTorch's names on `import steepest as torch`: namespaces, dtypes, factories, devices, type
promotion and method forms, each body run with both libraries (see `torch_parity.py`)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from torch_parity import LIBS, assert_same, compare, to_numpy

import steepest


def same(body, what: str = "") -> None:
    results = {name: to_numpy(body(lib)) for name, lib in LIBS.items()}
    compare(results["steepest"], results["torch"], what)


# ------------------------------------------------------------------ namespaces
def test_everything_reachable_from_the_top_level_import() -> None:
    import steepest as torch_like

    assert torch_like.nn.Module is steepest.nn.Module
    assert torch_like.nn.functional.relu is steepest.functional.relu
    assert torch_like.optim.SGD is steepest.optim.SGD
    assert torch_like.optim.lr_scheduler.StepLR is not None
    assert torch_like.utils.data.DataLoader.__module__ == "steepest.utils.data"
    assert torch_like.autograd.Function.__module__ == "steepest.autograd.custom"
    assert callable(torch_like.autograd.grad)
    assert torch_like.cuda.is_available() is False
    assert torch_like.backends.mps.is_available() is False
    assert torch_like.accelerator.is_available() is False
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        torch_like.no_such_name  # noqa: B018


def test_import_is_lazy_and_changes_nothing_else() -> None:
    code = ("import sys, steepest; heavy = [m for m in ('steepest.nn', 'steepest.optim', "
            "'steepest.utils.data', 'steepest.data', 'torch', 'matplotlib') if m in sys.modules];"
            " print(heavy); steepest.nn; print('steepest.nn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"


# Where the compatibility table's names live, and words in it that are Python, not names.
TABLE_NAMESPACES = ("", "Tensor", "nn", "nn.Module", "nn.Sequential", "nn.Embedding",
                    "nn.functional", "nn.init", "nn.utils", "optim", "optim.lr_scheduler",
                    "utils.data", "autograd", "autograd.Function")
NOT_NAMES = {"repr", "del", "OrderedDict", "training"}


def _resolves(name: str) -> bool:
    for space in TABLE_NAMESPACES:
        obj = steepest
        for part in (space.split(".") if space else []) + name.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None:
            return True
    return False


def _documented_names() -> list[str]:
    """Every name docs/pytorch.md says works: the first cell of each table row not marked
    missing (arguments in parentheses left out), and the torch.optim paragraph's classes."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "pytorch.md").read_text()
    spans = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3 and not cells[1].startswith("missing"):
            spans += re.findall(r"`([^`]+)`", re.sub(r"\(`[^)]*\)", "", cells[0]))
    optim = text.split("## torch.optim")[1].split("\n## ")[0]
    for sentence in re.split(r"(?<=[.;])\s", optim):
        if "missing" not in sentence and "adds" not in sentence:
            spans += [s for s in re.findall(r"`([A-Z][A-Za-z]+)`", sentence)]
    names = []
    for span in spans:
        for alternative in span.split("/"):
            name = re.sub(r"^(torch|x|F|nn|ctx|grad_fn)\.", "", re.sub(r"\(.*", "", alternative))
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) and name not in NOT_NAMES:
                names.append(name)
    return names


def test_every_name_the_compatibility_table_says_works_exists() -> None:
    names = _documented_names()
    assert len(names) > 200 and {"index_select", "ConvTranspose2d", "DataLoader", "RMSprop",
                                 "backward", "Upsample"} <= set(names)
    assert [n for n in names if not _resolves(n)] == []


# ------------------------------------------------------------------ dtypes and factories
DTYPE_NAMES = ["float", "float32", "float64", "double", "half", "float16", "long", "int64",
               "int", "int32", "short", "int16", "int8", "uint8", "bool", "complex64",
               "complex128", "cfloat", "cdouble"]


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_names(name) -> None:
    def body(torch):
        dtype = getattr(torch, name)
        x = torch.zeros(2, dtype=dtype)
        return [x.dtype == dtype, dtype == x.dtype, x.dtype is dtype, x, x.element_size(),
                x.is_floating_point(), x.is_complex()]

    same(body, name)


def test_factories_with_dtype_and_device() -> None:
    def body(torch):
        device = torch.device("cpu")
        return [
            torch.linspace(-1, 1, 5), torch.linspace(0, 1, 4, dtype=torch.float64),
            torch.logspace(0, 2, 3), torch.logspace(0, 3, 4, base=2, dtype=torch.double),
            torch.eye(3), torch.eye(2, 4, dtype=torch.long), torch.empty(2, 3).shape,
            torch.empty((0, 2), dtype=torch.int64).shape, torch.zeros(2, 3, device=device),
            torch.ones((2,), dtype=torch.bool), torch.full((2, 2), 7), torch.full((2,), 1.5),
            torch.full((1,), True), torch.arange(5), torch.arange(0, 1, 0.25),
            torch.arange(1, 10, 3, dtype=torch.float64), torch.tensor([1, 2]),
            torch.tensor([1.0, 2.0]), torch.tensor(3.5, dtype=torch.float64),
            torch.tensor([[True, False]]), torch.zeros_like(torch.ones(2, 3), dtype=torch.long),
            torch.ones_like(torch.zeros(2)), torch.full_like(torch.zeros(2, 2), 3.0),
            torch.empty_like(torch.zeros(3)).shape, torch.randn(2, 3).shape,
            torch.rand(4, dtype=torch.float64).dtype, torch.randint(5, (3, 2)).dtype,
            torch.randint(2, 5, (100,)).min() >= 2, torch.randperm(6).sort().values,
            torch.randn_like(torch.zeros(2, 2)).shape, torch.rand_like(torch.zeros(3)).dtype,
            torch.randint_like(torch.zeros(3), 4).shape, torch.as_tensor([1, 2]),
            torch.from_numpy(np.arange(3.0)), torch.Tensor([1, 2]), torch.Tensor(2, 3).shape,
            torch.normal(0.0, 1.0, size=(3,)).shape, torch.randn(()).shape,
        ]

    same(body)


def test_device_and_to() -> None:
    def body(torch):
        device = torch.device("cpu")
        x = torch.ones(2, 3)
        model = torch.nn.Linear(3, 1).to(device)
        return [str(device), device.type, x.device == device, x.to(device) is x,
                x.to("cpu").dtype, x.to(torch.float64).dtype, x.to(device, torch.int64).dtype,
                x.cpu() is x, x.to(torch.ones(1, dtype=torch.int32)).dtype,
                next(model.parameters()).device == device, torch.cuda.is_available(),
                torch.cuda.device_count(), x.double().dtype, x.long().dtype, x.int().dtype,
                x.bool().dtype, x.half().dtype, x.float().dtype, x.type(torch.float64).dtype,
                x.type(), x.long().type(), str(torch.device("cuda:1")),
                torch.device("cuda", 0).index]

    same(body)
    steepest.set_default_device("cpu")
    with pytest.raises(RuntimeError, match="CPU only"):
        steepest.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        steepest.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        steepest.nn.Linear(2, 2).cuda()


def test_default_dtype_is_read_when_layers_and_tensors_are_made() -> None:
    def body(torch):
        torch.set_default_dtype(torch.float64)
        try:
            return [torch.zeros(2).dtype, torch.tensor([1.5]).dtype, torch.get_default_dtype(),
                    torch.nn.Linear(2, 2).weight.dtype, torch.arange(0.0, 1.0, 0.5).dtype]
        finally:
            torch.set_default_dtype(torch.float32)

    same(body)
    assert steepest.zeros(1).dtype == np.float32


# ------------------------------------------------------------------ type promotion
OPERANDS = {
    "f32 (3,)": lambda torch: torch.tensor([0.5, 1.5, -2.0], dtype=torch.float32),
    "f64 (3,)": lambda torch: torch.tensor([1.25, -0.5, 2.0], dtype=torch.float64),
    "i64 (3,)": lambda torch: torch.tensor([1, 2, 3]),
    "i32 (3,)": lambda torch: torch.tensor([2, -1, 4], dtype=torch.int32),
    "u8 (3,)": lambda torch: torch.tensor([1, 2, 3], dtype=torch.uint8),
    "bool (3,)": lambda torch: torch.tensor([True, False, True]),
    "f64 0-d": lambda torch: torch.tensor(1.5, dtype=torch.float64),
    "f32 0-d": lambda torch: torch.tensor(2.5),
    "i64 0-d": lambda torch: torch.tensor(3),
    "int": lambda torch: 2,
    "float": lambda torch: 0.5,
    "bool": lambda torch: True,
}
PAIRS = [(a, b) for a, b in itertools.product(OPERANDS, repeat=2)
         if not (a in ("int", "float", "bool") and b in ("int", "float", "bool"))]


@pytest.mark.parametrize("a, b", PAIRS, ids=[f"{a}|{b}" for a, b in PAIRS])
def test_type_promotion_follows_pytorch_categories(a, b) -> None:
    def body(torch):
        x, y = OPERANDS[a](torch), OPERANDS[b](torch)
        out = [x + y, x * y, x - y if "bool" not in (a + b) else None, x / y,
               torch.maximum(torch.as_tensor(x), torch.as_tensor(y)) if not isinstance(
                   x, (int, float)) and not isinstance(y, (int, float)) else None,
               torch.where(torch.tensor([True, False, True]), x, y)]
        if "bool" not in (a + b) and "u8" not in (a + b):
            base = torch.abs(torch.as_tensor(x)) + 1 if not isinstance(x, (int, float)) else x
            out.append(base ** y)
        return out

    assert_same(body, what=f"{a} with {b}")


def test_promotion_of_the_issue_example() -> None:
    def body(torch):
        x = torch.linspace(-1, 1, 4)
        return [x.unsqueeze(-1).pow(torch.tensor([1, 2, 3])),
                torch.tensor([1, 2]) / 2, torch.tensor([1, 2]) * 1.5,
                torch.tensor([True]) + 1, torch.tensor([1, 2]) // 2]

    same(body)


# ------------------------------------------------------------------ method forms
METHOD_BODIES = {
    "arithmetic": lambda t, x, y: [x.add(y), x.add(y, alpha=2), x.sub(y), x.mul(y), x.div(y),
                                   x.pow(2), x.matmul(y.T), x.neg(), x.abs(), x.true_divide(y),
                                   x.multiply(y), x.subtract(y), x.divide(y)],
    "in_place": lambda t, x, y: [x.clone().add_(y), x.clone().sub_(y, alpha=3),
                                 x.clone().mul_(y), x.clone().div_(y), x.clone().zero_(),
                                 x.clone().fill_(2.0), x.clone().copy_(y),
                                 x.clone().clamp_(-0.5, 0.5), x.clone().pow_(2),
                                 x.clone().abs_(), x.clone().neg_(), x.clone().exp_(),
                                 x.clone().sqrt_().isnan().any(), x.clone().floor_(),
                                 x.clone().round_(), x.clone().sign_(), x.clone().relu_()],
    "random_fills": lambda t, x, y: [x.clone().normal_().shape, x.clone().uniform_(2, 3).min()
                                     >= 2, x.clone().uniform_(-1, 1).max() <= 1,
                                     x.clone().bernoulli_(0.5).unique().numel() <= 2],
    "conversions": lambda t, x, y: [x.numpy(), x.tolist(), x[0, 0].item(), x.size(),
                                    x.size(1), x.dim(), x.ndim, x.numel(), x.nelement(),
                                    x.shape, x.T, x.mT, x.t(), x.stride(), x.is_contiguous(),
                                    x.T.is_contiguous(), x.T.contiguous().is_contiguous(),
                                    x.detach(), x.requires_grad, x.is_leaf, len(x),
                                    f"{x[0, 0]:.3f}", float(x[0, 0]), int(x[1, 1]),
                                    bool(x[0, 0] > 0), x.element_size()],
}


@pytest.mark.parametrize("name", sorted(METHOD_BODIES))
def test_method_forms(name) -> None:
    x = np.array([[0.5, -1.5, 2.0], [1.25, 3.0, -0.75]])
    y = np.array([[2.0, 0.5, -1.0], [1.5, -2.5, 4.0]])
    assert_same(lambda lib, a, b: METHOD_BODIES[name](lib, a, b), x, y, what=name)


# ------------------------------------------------------------------ grad mode per thread
def test_grad_mode_is_per_thread() -> None:
    """no_grad in one thread leaves another thread recording (PyTorch's thread-local mode)."""
    for lib in LIBS.values():
        ready, done = threading.Event(), threading.Event()
        seen = {}

        def evaluate(lib=lib, ready=ready, done=done, seen=seen):
            with lib.no_grad():
                ready.set()
                done.wait(5)
                seen["eval"] = lib.is_grad_enabled()

        thread = threading.Thread(target=evaluate)
        thread.start()
        ready.wait(5)
        w = lib.ones(2, requires_grad=True)
        y = (w * 3).sum()  # recorded here while the other thread is inside no_grad
        seen["train"] = lib.is_grad_enabled()
        done.set()
        thread.join()
        y.backward()
        assert seen == {"eval": False, "train": True}, lib.__name__
        assert to_numpy(w.grad).tolist() == [3.0, 3.0]


def test_a_new_thread_starts_with_grad_enabled() -> None:
    with steepest.no_grad():
        result = {}
        thread = threading.Thread(target=lambda: result.update(on=steepest.is_grad_enabled()))
        thread.start()
        thread.join()
        assert result == {"on": True} and not steepest.is_grad_enabled()


# ------------------------------------------------------------------ autograd entry points
def test_autograd_grad_and_backward_with_inputs() -> None:
    def body(torch):
        x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = (x * w).sum() + (x ** 2).sum()
        gx, gw = torch.autograd.grad(y, (x, w), retain_graph=True)
        h = x * 2
        (gh,) = torch.autograd.grad((h * w).sum(), [h], retain_graph=True)
        torch.autograd.backward([y], inputs=[w])
        return [gx, gw, gh, x.grad, w.grad]

    same(body)


def test_custom_function_on_tensors() -> None:
    def body(torch):
        class MyReLU(torch.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                ctx.save_for_backward(input)
                return input.clamp(min=0)

            @staticmethod
            def backward(ctx, grad_output):
                (input,) = ctx.saved_tensors
                grad_input = grad_output.clone()
                grad_input[input < 0] = 0
                return grad_input

        class ScaleAndShift(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x, scale, shift):
                ctx.scale = scale
                return x * scale + shift, x * 2

            @staticmethod
            def backward(ctx, grad_a, grad_b):
                return grad_a * ctx.scale + grad_b * 2, None, grad_a.sum()

        x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        shift = torch.tensor(0.25, requires_grad=True)
        y = MyReLU.apply(x)
        a, b = ScaleAndShift.apply(x, 3.0, shift)
        (y.sum() + (a * a).sum() + b.sum()).backward()
        return [y, a, b, x.grad, shift.grad, y.requires_grad]

    same(body)


def test_register_hook_and_retain_grad() -> None:
    def body(torch):
        x = torch.tensor([1.0, -2.0], requires_grad=True)
        seen = []
        x.register_hook(lambda g: seen.append(g.clone()))
        h = x * 3
        h.retain_grad()
        h.register_hook(lambda g: g * 2)
        (h ** 2).sum().backward()
        return [x.grad, h.grad, seen[0]]

    same(body)


# ------------------------------------------------------------------ save and load
def test_save_and_load_round_trip_without_pickle(tmp_path) -> None:
    model = steepest.nn.Sequential(steepest.nn.Linear(3, 4), steepest.nn.BatchNorm1d(4))
    optimizer = steepest.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(steepest.randn(5, 3)).sum().backward()
    optimizer.step()
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "epoch": 7, "best": float("nan"), "names": ("a", "b"),
                  "tensor": steepest.tensor([1.0, 2.0], requires_grad=True),
                  "param": steepest.nn.Parameter(steepest.ones(2)), "scalar": np.float32(2.5)}
    path = tmp_path / "checkpoint.pt"
    steepest.save(checkpoint, path)
    loaded = steepest.load(path, map_location="cpu", weights_only=True)
    assert loaded["epoch"] == 7 and np.isnan(loaded["best"]) and loaded["names"] == ("a", "b")
    assert isinstance(loaded["param"], steepest.nn.Parameter)
    assert loaded["tensor"].requires_grad and loaded["scalar"] == 2.5
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded["model"][key], value)
        assert loaded["model"][key].shape == value.shape
    restored = steepest.nn.Sequential(steepest.nn.Linear(3, 4), steepest.nn.BatchNorm1d(4))
    restored.load_state_dict(loaded["model"])
    steepest.optim.SGD(restored.parameters(), lr=0.1, momentum=0.9).load_state_dict(
        loaded["optimizer"])
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary left


def test_load_refuses_pytorch_pickles_and_other_files(tmp_path) -> None:
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not written by steepest.save.*pickled"):
        steepest.load(tmp_path / "torch.pt")
    with pytest.raises(ValueError, match="not a zip archive"):
        steepest.load(tmp_path / "text.pt")
    with pytest.raises(TypeError, match="not supported"):
        steepest.save({"f": lambda: 1}, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


def test_extra_init_functions_match_torchs_distributions() -> None:
    for name, args in [("trunc_normal_", dict(std=0.5, a=-0.6, b=0.9)),
                       ("orthogonal_", dict(gain=1.5)), ("eye_", {}), ("dirac_", {})]:
        shape = (6, 4, 3) if name == "dirac_" else (40, 30) if name != "eye_" else (3, 5)
        ours = getattr(steepest.nn.init, name)(steepest.zeros(*shape), **args).data
        theirs = getattr(torch.nn.init, name)(torch.zeros(*shape), **args).numpy()
        if name in ("eye_", "dirac_"):
            np.testing.assert_array_equal(ours, theirs)
        elif name == "orthogonal_":
            np.testing.assert_allclose(ours.T @ ours, theirs.T @ theirs, atol=1e-4)
        else:
            assert ours.min() >= -0.6 and ours.max() <= 0.9
            assert abs(ours.std() - theirs.std()) < 0.05


def test_numpy_values_on_the_left_of_operators() -> None:
    x = steepest.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    outs = [np.ones(2, np.float32) + x, np.float64(2.0) / x, np.arange(2) * x,
            np.float32(3) - x, np.ones(2, np.float32) ** x, np.ones((2, 2), np.float32) @ x]
    assert all(isinstance(o, steepest.Tensor) and o.dtype == np.float32 for o in outs)
    assert (np.ones(2) + x).dtype == np.float64  # an array with dims counts as a tensor
    sum(o.sum() for o in outs).backward()
    np.testing.assert_allclose(x.grad.data, [1 - 2 + 0 - 1 + 0 + 2, 1 - 0.5 + 1 - 1 + 0 + 2])
    p = np.zeros(2, dtype=np.float32)
    p -= 0.5 * x  # writes into the array: NumPy would rebind p to a Tensor without care
    assert type(p) is np.ndarray and p.tolist() == [-0.5, -1.0]
    assert type(np.exp(x)) is np.ndarray and float(np.sum(x)) == 3.0
