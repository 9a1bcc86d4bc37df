"""In-place ops with PyTorch's rules, each body run with torch = PyTorch and torch = steepest.

Under no_grad the same object changes and views see it; in grad mode a leaf that requires grad
(or a view of one) refuses; on a non-leaf the op is recorded, with version counters, and a
tensor saved for backward that was changed in place makes backward raise PyTorch's error.
"""

from __future__ import annotations

import numpy as np
import pytest
from torch_parity import LIBS, assert_same, check_op, compare, to_numpy

A = np.array([1.0, -2.0, 3.0, 0.5])
B = np.array([0.5, 4.0, -1.0, 2.0])
M = np.arange(12, dtype=np.float64).reshape(3, 4) / 7 - 0.8


def _both(body):
    """body(torch) for both libraries; each must return without raising."""
    return {name: to_numpy(body(lib)) for name, lib in LIBS.items()}


def _same(body, what: str = "") -> None:
    results = _both(body)
    compare(results["steepest"], results["torch"], what)


# ------------------------------------------------------------------ no_grad updates
def test_isub_under_no_grad_updates_the_same_object_and_its_views() -> None:
    def body(torch):
        w = torch.tensor(A, requires_grad=True)
        view = w[1:3]
        (w * w).sum().backward()
        before = id(w)
        with torch.no_grad():
            w -= 0.1 * w.grad
            w *= 2
            w += 1
            w /= 4
        return [id(w) == before, w, view, w._version, w.requires_grad, w.is_leaf]

    _same(body)


def test_update_methods_under_no_grad() -> None:
    def body(torch):
        p = torch.tensor(A, requires_grad=True)
        g = torch.tensor(B)
        with torch.no_grad():
            p.add_(g, alpha=-0.5)
            p.sub_(g, alpha=0.25)
            p.mul_(1.5).div_(2.0)
            p.clamp_(-1.0, 1.5)
            p.pow_(2)
        q = torch.zeros(2, 3)
        q.fill_(2.5)
        q[0].zero_()
        q.copy_(torch.tensor([1.0, 2.0, 3.0]))
        r = torch.ones(4).masked_fill_(torch.tensor([True, False, True, False]), -1.0)
        return [p, p._version, q, q._version, r]

    _same(body)


def test_polynomial_update_loop_as_in_the_lectures() -> None:
    def body(torch):
        x = torch.linspace(-1, 1, 50, dtype=torch.float64)
        y = 0.3 - 2 * x + 0.7 * x ** 3
        coefs = [torch.tensor(0.1, dtype=torch.float64, requires_grad=True) for _ in range(4)]
        for _ in range(200):
            pred = coefs[0] + coefs[1] * x + coefs[2] * x ** 2 + coefs[3] * x ** 3
            loss = ((pred - y) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                for c in coefs:
                    c -= 0.3 * c.grad
                    c.grad = None
        return [float(c) for c in coefs] + [loss.item()]

    _same(body)


# ------------------------------------------------------------------ refusals
LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation"
VIEW_ERROR = "a view of a leaf Variable that requires grad is being used in an in-place"


@pytest.mark.parametrize("lib", ["torch", "steepest"])
@pytest.mark.parametrize("action, message", [
    (lambda w: w.add_(1), LEAF_ERROR),
    (lambda w: w.__isub__(1), LEAF_ERROR),
    (lambda w: w.zero_(), LEAF_ERROR),
    (lambda w: w.__setitem__(0, 5.0), LEAF_ERROR),
    (lambda w: w[1:].mul_(2), VIEW_ERROR),
    (lambda w: w.view(2, 2).fill_(1.0), VIEW_ERROR),
], ids=["add_", "isub", "zero_", "setitem", "view_mul_", "view_fill_"])
def test_in_place_on_a_leaf_that_requires_grad_raises(lib, action, message) -> None:
    module = LIBS[lib]
    w = module.tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match=message):
        action(w)
    np.testing.assert_array_equal(to_numpy(w), A)  # nothing was written


def test_in_place_dtype_and_shape_refusals_match_torch() -> None:
    for body in [
        lambda torch: torch.tensor([1, 2, 3]).add_(1.5),
        lambda torch: torch.tensor([1, 2, 3]).div_(2),
        lambda torch: torch.ones(3).add_(torch.ones(2, 3)),
        lambda torch: torch.ones(3, dtype=torch.float32).add_(torch.ones(3, dtype=torch.float64)),
        lambda torch: torch.tensor([1, 2, 3]).mul_(torch.tensor([2, 2, 2])),
    ]:
        assert_same(body)


# ------------------------------------------------------------------ recorded on non-leaves
INPLACE_CASES = [
    ("add_scalar", lambda torch, a: (a * 2).add_(1.5)),
    ("mul_tensor", lambda torch, a, b: (a * 1).mul_(b)),
    ("mul_self_saved_copy", lambda torch, a, b: (a + 0).mul_(a * b)),
    ("div_", lambda torch, a, b: (a * 3).div_(b)),
    ("sub_alpha", lambda torch, a, b: (a * 1).sub_(b, alpha=0.5)),
    ("iadd_then_use", lambda torch, a, b: _iadd(a * 2, b) * a),
    ("relu_inplace_after_linear", lambda torch, a, b: torch.relu_(a * b + 0.1) * 2),
    ("clamp_", lambda torch, a: (a * 2).clamp_(-1.0, 2.0)),
    ("sigmoid_then_mul", lambda torch, a, b: (a * 1).sigmoid_() * b),
    ("exp_then_add", lambda torch, a, b: (a * 1).exp_() + b),
    ("copy_", lambda torch, a, b: (a * 0).copy_(b * 2) + a),
    ("fill_tensor", lambda torch, a, b: (a * 1).fill_(b[0])),
    ("setitem_value_grad", lambda torch, a, b: _set(a * 1, slice(1, 3), b[:2])),
    ("setitem_mask_value", lambda torch, a, b: _set(a * 1, a > 0, b[0])),
    ("write_through_view", lambda torch, a, b: _view_mul(a * 1, b)),
    ("write_through_reshape_view", lambda torch, a, b: _reshape_write(a * 1, b)),
    ("zero_on_view", lambda torch, a: _zero_first(a * 2)),
    ("masked_fill_", lambda torch, a, b: (a * b).masked_fill_(a < 0, 0.0)),
    ("leaf_without_grad_gets_history", lambda torch, a, b: torch.zeros(4).add_(a * b)),
    ("earlier_consumer_sees_old_value", lambda torch, a, b: _earlier_consumer(a, b)),
    ("views_made_before_a_write_see_it", lambda torch, a, b: _stale_sibling(a, b)),
    ("view_then_base_written", lambda torch, a, b: _view_then_base_write(a, b)),
    ("dropout_inplace_eval", lambda torch, a: torch.nn.functional.dropout(
        a * 1, 0.3, training=False, inplace=True)),
    ("leaky_relu_inplace", lambda torch, a: torch.nn.functional.leaky_relu(
        a * 3, 0.1, inplace=True)),
]


def _stale_sibling(a, b):
    y = a * 1
    first, whole = y[:2], y.view(2, 2)  # views made before the write
    y[1:3].mul_(b[:2])                    # a write through another view
    return first * 3 + whole.sum(0).repeat(2) + y


def _view_then_base_write(a, b):
    y = a * 2
    v = y[1:]
    y.add_(b)
    return v * v


def _iadd(x, y):
    x += y
    return x


def _set(x, index, value):
    x[index] = value
    return x


def _view_mul(y, b):
    y[1:].mul_(b[:3])
    return y


def _reshape_write(y, b):
    y.view(2, 2)[1].add_(b[2:] * 3)
    return y


def _zero_first(y):
    y[0].zero_()
    return y


def _earlier_consumer(a, b):
    y = a * 2
    z = y * 3  # made before y changes: its gradient must use y's old history
    y.mul_(b)
    return z + y


@pytest.mark.parametrize("name, body", INPLACE_CASES, ids=[c[0] for c in INPLACE_CASES])
def test_recorded_in_place_op_matches_torch(name, body) -> None:
    arrays = [A, B][:body.__code__.co_argcount - 1]
    check_op(body, arrays, name)


# ------------------------------------------------------------------ version counters
MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace"


@pytest.mark.parametrize("lib", ["torch", "steepest"])
@pytest.mark.parametrize("build", [
    lambda torch, a: _then(a.exp(), lambda y: y.add_(1)),           # exp saves its output
    lambda torch, a: _then(a * 1, lambda y: (y * y, y.mul_(2))[0]),  # mul saved y
    lambda torch, a: _then(torch.sigmoid(a), lambda y: y.zero_()),
    lambda torch, a: _then(a.tanh(), lambda y: y[1:].add_(1.0)),    # through a view
    lambda torch, a: _then(a * 1 + 2, lambda y: (y.log(), y.sub_(1))[0]),
    lambda torch, a: _then(a.relu(), lambda y: _under_no_grad(torch, y)),
], ids=["exp_output", "mul_input", "sigmoid_zero_", "tanh_view", "log_input", "no_grad_write"])
def test_backward_through_a_modified_saved_tensor_raises(lib, build) -> None:
    module = LIBS[lib]
    a = module.tensor(A, requires_grad=True)
    out = build(module, a)
    with pytest.raises(RuntimeError, match=MODIFIED):
        out.sum().backward()


def _then(y, change):
    result = change(y)
    return y if result is None or result is y else result


def _under_no_grad(torch, y):
    with torch.no_grad():
        y.mul_(3)
    return y


@pytest.mark.parametrize("lib", ["torch", "steepest"])
def test_unsaved_inputs_may_change(lib) -> None:
    # add saves nothing, and mul by a constant does not save the tensor: no error.
    module = LIBS[lib]
    a = module.tensor(A, requires_grad=True)
    y = a * 2
    z = y + 1
    w = y * 3.0
    y.add_(5)
    (z + w).sum().backward()
    np.testing.assert_allclose(to_numpy(a.grad), np.full(4, 8.0))


def test_version_counter_is_shared_with_views_and_detach() -> None:
    def body(torch):
        x = torch.zeros(2, 3)
        v = x[0]
        d = x.detach()
        v.add_(1)
        d.mul_(2)
        x[1] = 5.0
        return [x._version, v._version, d._version, x]

    _same(body)


def test_custom_function_saved_tensor_checked() -> None:
    for name, lib in LIBS.items():
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 2 * x * grad

        a = lib.tensor(A, requires_grad=True)
        h = a * 1
        y = Square.apply(h)
        h.add_(1)
        with pytest.raises(RuntimeError, match=MODIFIED):
            y.sum().backward()
        assert name


def test_grad_is_a_tensor_that_zero_and_clone_work_on() -> None:
    def body(torch):
        inp = torch.eye(4, 5, requires_grad=True)
        out = (inp + 1).pow(2).t()
        out.backward(torch.ones_like(out), retain_graph=True)
        first = inp.grad.clone()
        out.backward(torch.ones_like(out), retain_graph=True)
        second = inp.grad.clone()
        inp.grad.zero_()
        out.backward(torch.ones_like(out), retain_graph=True)
        return [first, second, inp.grad, type(inp.grad).__name__]

    _same(body)

