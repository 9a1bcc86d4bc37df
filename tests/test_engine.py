"""The backward pass itself: accumulation, shared subgraphs, gradient modes, errors, memory, dtypes.

Where PyTorch has the same behaviour, the numbers are compared with it; the rest (ownership of
.grad arrays, freed graphs, memory) is checked directly.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest
import torch
from conftest import assert_close

import steepest as st
from steepest import nn
from steepest.autograd import Function

DTYPES = [np.float64, np.float32]


def leaves(arrays, lib):
    """The same arrays as steepest or torch leaves that require grad."""
    if lib == "torch":
        return [torch.tensor(a, requires_grad=True) for a in arrays]
    return [st.tensor(a, requires_grad=True) for a in arrays]


# ------------------------------------------------------------------ accumulation and sharing


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_gradients_accumulate_over_two_backward_calls(dtype) -> None:
    values = np.array([[0.5, -1.0, 2.0]], dtype=dtype)
    x, xt = st.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    for t in (x, xt):
        (t * t * 3.0).sum().backward()
        t.exp().sum().backward()
    assert x.grad.dtype == dtype
    assert_close(x.grad, xt.grad, dtype, "two backward calls add up")
    assert_close(x.grad, 6 * values + np.exp(values), dtype, "6x + exp(x)")


def _diamond_shared_node(x, y):
    a = x * y
    return (a.exp() * a.tanh()).sum()


def _add_node_used_twice(x, y):
    # Add hands the same grad_out to the leaf x and to the node h; x gets more gradient later.
    h = x * y
    a = x + h
    return (a * 1.5 + a * 2.0 + x * 5.0 + (h * 2.0) * 1.0 + (x * 7.0) * 1.0).sum()


# A tensor used more than once: the gradients of every use must add up.
SHARED_CASES = [
    ("x_times_x", lambda x, y: (x * x).sum()),
    ("x_plus_x", lambda x, y: ((x + x) * y).sum()),
    ("x_in_three_places", lambda x, y: ((x * y + x) / (x * x + 1)).sum()),
    ("diamond", lambda x, y: ((x * 2) * (x * 2).tanh()).sum()),
    ("diamond_shared_node", _diamond_shared_node),
    ("add_node_used_twice", _add_node_used_twice),
    ("add_of_two_leaves_twice", lambda x, y: ((x + y) * (x + y)).sum()),
    ("broadcast_reuse", lambda x, y: (x[:, None] * y[None, :] + x[:, None]).sum()),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name, fn", SHARED_CASES, ids=[c[0] for c in SHARED_CASES])
def test_tensor_used_several_times_matches_torch(name, fn, dtype) -> None:
    rng = np.random.default_rng(3)
    arrays = [rng.uniform(-1, 1, 4).astype(dtype), rng.uniform(-1, 1, 4).astype(dtype)]
    x, y = leaves(arrays, "steepest")
    xt, yt = leaves(arrays, "torch")
    out, expected = fn(x, y), fn(xt, yt)
    out.backward()
    expected.backward()
    assert_close(out, expected, dtype, f"{name}: value")
    for ours, theirs, what in ((x, xt, "x"), (y, yt, "y")):
        if theirs.grad is None:
            assert ours.grad is None, f"{name}: {what} should get no gradient"
        else:
            assert ours.grad.dtype == dtype
            assert_close(ours.grad, theirs.grad, dtype, f"{name}: gradient of {what}")


def test_add_node_used_twice_does_not_alias_its_leaf_gradient() -> None:
    # Regression: Add returned grad_out to the leaf x and to the node h; x took the array as its
    # .grad, and a later `x.grad += ...` from another path changed h's pending gradient.
    x = st.tensor(np.ones(3), requires_grad=True)
    h = x * 3.0
    a = x + h
    out = a * 1.5 + a * 2.0 + x * 5.0 + (h * 2.0) * 1.0 + (x * 7.0) * 1.0
    out.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, np.full(3, 3.5 * 4 + 5 + 6 + 7))


def test_deep_chain_of_5000_ops_does_not_recurse() -> None:
    assert sys.getrecursionlimit() < 5000 * 3  # a recursive walk would fail here
    x = st.tensor(np.array([0.3, -0.2]), requires_grad=True)
    y = x
    for _ in range(2500):
        y = (y * 1.001) + 0.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(2, 1.001**2500), rtol=1e-10)
    # Dropping a deep graph that was never backpropagated must not overflow either.
    z = x
    for _ in range(5000):
        z = z + 1.0
    del z
    gc.collect()


def test_leaf_gradients_are_owned_writable_and_unaliased() -> None:
    x, h1, h2 = (st.tensor(np.arange(3.0) + k, requires_grad=True) for k in range(3))
    upstream = np.array([1.0, -2.0, 0.5])
    ((x + h1) + h2).backward(upstream)
    grads = [x.grad.data, h1.grad.data, h2.grad.data]
    for g in grads:
        assert g.flags.writeable and g.flags.owndata
        assert not np.shares_memory(g, upstream)
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.shares_memory(grads[i], grads[j])
    x.grad *= 2
    np.testing.assert_array_equal(h1.grad, upstream)
    np.testing.assert_array_equal(h2.grad, upstream)
    np.testing.assert_array_equal(x.grad, 2 * upstream)
    upstream[:] = 0  # the caller's array is not the gradient either
    np.testing.assert_array_equal(h1.grad, [1.0, -2.0, 0.5])


@pytest.mark.parametrize("name, fn", [
    ("sum_broadcast_view", lambda x, y: (x + y).sum()),
    ("reshape_view", lambda x, y: (x.reshape(2, 2) * 2.0).reshape(4) + y),
    ("cat_split_views", lambda x, y: st.cat([x, y]) * 1.0),
    ("retained_nonleaf", lambda x, y: x * y),
], ids=["sum_broadcast_view", "reshape_view", "cat_split_views", "retained_nonleaf"])
def test_gradients_of_views_are_copied_before_ownership(name, fn) -> None:
    x, y = (st.tensor(np.arange(4.0) + k, requires_grad=True) for k in range(2))
    out = fn(x, y)
    if name == "retained_nonleaf":
        out.retain_grad()
    out.backward(np.ones(out.shape))
    for g in (x.grad, y.grad) + ((out.grad,) if name == "retained_nonleaf" else ()):
        assert g.data.flags.writeable and g.data.flags.owndata, name
    assert not np.shares_memory(x.grad, y.grad)
    before = y.grad.data.copy()
    x.grad += 100
    np.testing.assert_array_equal(y.grad, before)


# ------------------------------------------------------------------ gradient modes


def test_no_grad_records_no_graph() -> None:
    x = st.tensor(np.ones(3), requires_grad=True)
    with st.no_grad():
        y = x * 2 + 1
        assert not st.is_grad_enabled()
    assert st.is_grad_enabled()
    assert y.requires_grad is False and y.grad_fn is None
    np.testing.assert_array_equal(y.data, 3.0)
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_enable_grad_inside_no_grad_records() -> None:
    x = st.tensor(np.ones(3), requires_grad=True)
    with st.no_grad():
        with st.enable_grad():
            y = (x * 3).sum()
        z = x * 3
    assert y.requires_grad and y.grad_fn is not None and z.grad_fn is None
    y.backward()
    np.testing.assert_array_equal(x.grad, 3.0)


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_as_function_context_and_decorator(mode: bool) -> None:
    x = st.tensor(np.ones(2), requires_grad=True)
    st.set_grad_enabled(mode)
    assert st.is_grad_enabled() is mode
    assert (x * 2).requires_grad is mode
    st.set_grad_enabled(True)
    with st.set_grad_enabled(mode):
        assert (x * 2).requires_grad is mode
    assert st.is_grad_enabled()

    @st.set_grad_enabled(mode)
    def double(t):
        return t * 2, st.is_grad_enabled()

    assert st.is_grad_enabled()  # decorating does not switch the mode outside the function
    y, inside = double(x)
    assert inside is mode and y.requires_grad is mode and st.is_grad_enabled()


def test_no_grad_and_enable_grad_decorators() -> None:
    x = st.tensor(np.ones(2), requires_grad=True)

    @st.no_grad()
    def with_parentheses(t):
        return t * 2

    @st.no_grad
    def bare(t):
        return t * 2

    @st.enable_grad
    def enabled(t):
        return t * 2

    assert not with_parentheses(x).requires_grad and not bare(x).requires_grad
    assert bare.__name__ == "bare"
    with st.no_grad():
        assert enabled(x).requires_grad
        assert not st.is_grad_enabled()
    assert st.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError), st.no_grad():
        _ = 1 / 0
    assert st.is_grad_enabled()


def test_detach_shares_memory_and_blocks_the_gradient() -> None:
    values = np.array([0.5, -1.5, 2.0])
    x = st.tensor(values, requires_grad=True)
    d = x.detach()
    assert np.shares_memory(d.data, x.data) and not d.requires_grad and d.grad_fn is None
    (x * x.detach()).sum().backward()  # d/dx (x · const) = const, not 2x
    xt = torch.tensor(values, requires_grad=True)
    (xt * xt.detach()).sum().backward()
    assert_close(x.grad, xt.grad, np.float64, "gradient through detach")


def test_retain_grad_on_a_non_leaf() -> None:
    values = np.array([0.5, -1.5, 2.0])
    x, xt = st.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    y, yt = x * 2, xt * 2
    z, zt = y.tanh(), yt.tanh()
    y.retain_grad()
    yt.retain_grad()
    (z * y).sum().backward()
    (zt * yt).sum().backward()
    assert_close(y.grad, yt.grad, np.float64, "retained gradient of y")
    assert_close(x.grad, xt.grad, np.float64, "gradient of x")
    assert z.grad is None  # not retained: like PyTorch, non-leaves keep no .grad


def test_retain_graph_allows_a_second_backward() -> None:
    x = st.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, 4 * x.data)
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


# ------------------------------------------------------------------ errors


def _freed_graph_backward():
    x = st.tensor(np.ones(2), requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    y.backward()


def _shared_part_freed():
    x = st.tensor(np.ones(2), requires_grad=True)
    h = x.exp()
    h.sum().backward()
    (h * 2).sum().backward()


def _requires_grad_int():
    st.tensor(np.arange(3), requires_grad=True)


ERROR_CASES = [
    ("non_scalar_without_grad", lambda: (st.tensor(np.ones(3), requires_grad=True) * 2).backward(),
     RuntimeError, r"scalar output, this one has shape \(3,\)"),
    ("grad_wrong_shape", lambda: (st.tensor(np.ones(3), requires_grad=True) * 2).backward(
        np.ones((3, 1))), ValueError, r"grad has shape \(3, 1\) but the tensor has shape \(3,\)"),
    ("second_backward_freed_graph", _freed_graph_backward, RuntimeError, "retain_graph=True"),
    ("backward_through_freed_shared_part", _shared_part_freed, RuntimeError, "retain_graph"),
    ("not_requiring_grad", lambda: st.tensor(np.ones(3)).sum().backward(), RuntimeError,
     "does not require grad"),
    ("matmul_2d_mismatch", lambda: st.tensor(np.ones((3, 4))) @ st.tensor(np.ones((5, 2))),
     ValueError, r"\(3, 4\) and \(5, 2\)"),
    ("matmul_1d_mismatch", lambda: st.tensor(np.ones(3)) @ st.tensor(np.ones(4)), ValueError,
     r"\(3,\) and \(4,\)"),
    ("matmul_batched_mismatch", lambda: st.matmul(st.tensor(np.ones((2, 3, 4))),
                                                  st.tensor(np.ones((2, 3, 4)))),
     ValueError, r"\(2, 3, 4\) and \(2, 3, 4\)"),
    ("matmul_scalar", lambda: st.tensor(np.ones(3)) @ st.tensor(2.0), ValueError,
     "at least 1 dimension"),
    ("expand_to_fewer_axes", lambda: st.tensor(np.ones((2, 3))).expand(3), ValueError,
     r"shape \(3,\) has fewer axes than the tensor \(2, 3\)"),
    ("requires_grad_on_integers", _requires_grad_int, TypeError, "floating-point"),
    ("requires_grad_false_on_non_leaf", lambda: (st.tensor(np.ones(2), requires_grad=True) * 2)
     .requires_grad_(False), RuntimeError, "leaf"),
    ("setitem_on_requires_grad", lambda: st.tensor(np.ones(2), requires_grad=True).__setitem__(
        0, 5.0), RuntimeError, "in-place"),
]


def test_requires_grad_true_on_a_computed_tensor_is_a_no_op() -> None:
    y = st.tensor(np.ones(2), requires_grad=True) * 2
    assert y.requires_grad_() is y and y.requires_grad and y.grad_fn is not None


@pytest.mark.parametrize("name, action, error, message", ERROR_CASES,
                         ids=[c[0] for c in ERROR_CASES])
def test_errors(name, action, error, message) -> None:
    with pytest.raises(error, match=message):
        action()


# ------------------------------------------------------------------ memory


def _mlp_step(model, x, target, lr=0.05):
    loss = ((model(x) - target) ** 2).mean()
    model.zero_grad()
    loss.backward()
    with st.no_grad():
        for p in model.parameters():
            p.data -= lr * p.grad
    return loss.item()


def test_memory_stays_flat_over_3000_training_steps() -> None:
    gen = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(6, 16, generator=gen), nn.ReLU(),
                          nn.Linear(16, 1, generator=gen))
    x = st.tensor(gen.standard_normal((8, 6)).astype(np.float32))
    target = st.tensor(gen.standard_normal((8, 1)).astype(np.float32))
    for _ in range(300):
        first_loss = _mlp_step(model, x, target)
    gc.collect()
    # Trace from step 300 on (tracing makes every allocation slow): whatever the next 2700 steps
    # leave behind is what remains traced at the end.
    tracemalloc.start()
    try:
        current_300, _ = tracemalloc.get_traced_memory()
        for _ in range(2700):
            last_loss = _mlp_step(model, x, target)
        gc.collect()
        current_3000, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    margin = 64 * 1024  # a leak of even 24 bytes per step would exceed this
    assert current_3000 <= current_300 + margin, (current_300, current_3000)
    assert peak <= current_300 + 256 * 1024, (current_300, peak)
    assert last_loss < first_loss  # the steps did train


def test_no_graph_node_survives_backward_and_del() -> None:
    x = st.tensor(np.ones((4, 3)))
    w = st.tensor(np.full((3, 2), 0.1), requires_grad=True)
    hidden = (x @ w).tanh()
    loss = (hidden * hidden).sum()
    node = weakref.ref(hidden.grad_fn)
    loss.backward()
    assert node() is not None and node().__dict__ == {}  # saved arrays freed by backward
    del hidden, loss
    assert node() is None
    # A graph that is never backpropagated dies with its tensors too (no reference cycles).
    hidden = (x @ w).tanh()
    node = weakref.ref(hidden.grad_fn)
    del hidden
    assert node() is None


# ------------------------------------------------------------------ dtypes


def _training_step_dtypes(dtype):
    """One step of a small MLP with NumPy and Python scalars mixed in; every array's dtype."""
    gen = np.random.default_rng(1)
    first, second = nn.Linear(5, 7, dtype=dtype, generator=gen), nn.Linear(7, 3, dtype=dtype,
                                                                            generator=gen)
    model = nn.Sequential(first, nn.ReLU(), second)
    x = st.tensor(gen.standard_normal((4, 5)).astype(dtype))
    target = st.tensor(gen.standard_normal((4, 3)).astype(dtype))
    hidden = first(x)
    activated = model[1](hidden)
    out = second(activated)
    loss = ((out - target) ** 2).mean() * 0.5  # Python float
    loss = loss * np.float64(0.5)  # NumPy float64 scalar: must not promote float32
    loss = np.float64(2.0) * loss / np.float64(3.0) + np.sqrt(2.0 / 7)
    loss.backward()
    lr = np.float64(0.1)
    with st.no_grad():
        for p in model.parameters():
            # In place, NumPy casts the float64 product back into p.data's float32; the
            # out-of-place `p.data = p.data - lr * p.grad` would promote: that is user code.
            p.data -= lr * p.grad
    arrays = {"x": x.data, "hidden": hidden.data, "activated": activated.data, "out": out.data,
              "loss": loss.data}
    for name, p in model.named_parameters():
        arrays[name] = p.data
        arrays[name + ".grad"] = p.grad
    return arrays


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_dtype_is_kept_through_a_training_step(dtype) -> None:
    arrays = _training_step_dtypes(dtype)
    assert len(arrays) == 5 + 8
    wrong = {name: a.dtype for name, a in arrays.items() if a.dtype != dtype}
    assert not wrong, f"arrays that left {np.dtype(dtype)}: {wrong}"


@pytest.mark.parametrize("scalar", [np.float64(0.5), np.float32(0.5), np.int64(2), 0.5, 2],
                         ids=["np.float64", "np.float32", "np.int64", "float", "int"])
def test_scalars_do_not_promote_float32(scalar) -> None:
    x = st.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    outs = [x * scalar, scalar * x, x + scalar, scalar - x, x / scalar, scalar / x, x**scalar,
            x.maximum(scalar)]
    assert all(o.dtype == np.float32 for o in outs)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("source, target", [(np.float32, np.float64), (np.float64, np.float32)],
                         ids=["float32_to_float64", "float64_to_float32"])
def test_cast_sends_the_gradient_back_in_the_input_dtype(source, target) -> None:
    values = np.array([0.5, -1.5, 2.0], dtype=source)
    x, xt = st.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    out = x.astype(target) ** 2
    out_torch = xt.to(torch.float64 if target == np.float64 else torch.float32) ** 2
    assert out.dtype == target
    out.sum().backward()
    out_torch.sum().backward()
    assert x.grad.dtype == source
    assert_close(x.grad, xt.grad, np.float32, "gradient through a cast")


# ------------------------------------------------------------------ gradcheck


class WrongAtOneElement(Function):
    """z = x², with a backward that is wrong at element (1, 2) only."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        grad = 2 * ctx.x * grad_out
        grad[1, 2] *= 1.5
        return grad


class Square(Function):
    """z = x², correctly."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        return 2 * ctx.x * grad_out


@pytest.mark.parametrize("name, fn", [
    ("square_sum", lambda x, y: Square.apply(x).sum()),
    ("composite_vector_output", lambda x, y: (x * y).tanh() @ y.T),
    ("softmax_log", lambda x, y: (x.softmax(-1) * (y * y + 1).log()).sum(dim=0)),
], ids=["square_sum", "composite_vector_output", "softmax_log"])
def test_gradcheck_passes_on_correct_functions(name, fn) -> None:
    rng = np.random.default_rng(2)
    x = st.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = st.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert st.gradcheck(fn, [x, y])


@pytest.mark.parametrize("name, fn", [
    ("scalar_output", lambda x: WrongAtOneElement.apply(x).sum()),
    ("vector_output", lambda x: WrongAtOneElement.apply(x) * 1.0),
], ids=["scalar_output", "vector_output"])
def test_gradcheck_names_the_worst_index_of_a_wrong_function(name, fn) -> None:
    x = st.tensor(np.random.default_rng(4).uniform(1, 2, (3, 4)), requires_grad=True)
    with pytest.raises(st.GradcheckError, match=r"input 0 \(shape \(3, 4\)\).*index \(1, 2\)"):
        st.gradcheck(fn, [x])


def test_gradcheck_needs_an_input_that_requires_grad() -> None:
    with pytest.raises(ValueError, match="requires_grad"):
        st.gradcheck(lambda x: x.sum(), [st.tensor(np.ones(3))])


@pytest.mark.parametrize("name, fn, make", [
    ("tanh_product", lambda x, y: ((x * y).tanh()).sum(), lambda a: a),
    ("matmul_log_softmax", lambda x, y: (x @ y.T).log_softmax(-1).sum(), lambda a: a),
    ("non_contiguous_input", lambda x, y: (x * x * y).sum(), lambda a: a.T.copy().T),
    ("exp_product", lambda x, y: (x.exp() * y).sum(), lambda a: a),
], ids=["tanh_product", "matmul_log_softmax", "non_contiguous_input", "exp_product"])
def test_numerical_grad_matches_analytic(name, fn, make) -> None:
    rng = np.random.default_rng(6)
    x = st.Tensor(make(rng.standard_normal((3, 4))), requires_grad=True)
    y = st.Tensor(make(rng.standard_normal((3, 4))), requires_grad=True)
    numerical = st.numerical_grad(fn, [x, y])
    analytic = st.analytic_grad(fn, [x, y])
    for n, a in zip(numerical, analytic, strict=True):
        assert np.abs(a).max() > 0.1  # a zero gradient would match trivially
        np.testing.assert_allclose(n, a, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- review findings
def test_transpose_and_permute_with_negative_axes_match_torch():
    import torch

    x = np.random.default_rng(3).standard_normal((2, 3, 4))
    upstream = np.random.default_rng(4).standard_normal((4, 2, 3))
    for make, make_torch in [
        (lambda t: t.permute(-1, 0, 1), lambda t: t.permute(-1, 0, 1)),
        (lambda t: t.permute(2, -3, -2), lambda t: t.permute(2, -3, -2)),
    ]:
        ours = st.Tensor(x.copy(), requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        (make(ours) * st.Tensor(upstream)).sum().backward()
        (make_torch(theirs) * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_float64_numpy_scalars_in_keywords_and_0d_arrays_keep_float32():
    x = st.Tensor(np.linspace(0, 1, 6, dtype=np.float32), requires_grad=True)
    assert x.clip(np.float64(0.2), np.float64(0.8)).dtype == np.float32
    assert (x * np.array(2.0)).dtype == np.float32
    assert (np.array(2.0) * x).dtype == np.float32
