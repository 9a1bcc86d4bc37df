"""Losses against torch.nn.functional (values and gradients), the lectures' SVM loss against its
formula written out in loops, finite-difference gradchecks, and every error case."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import assert_close

import steepest
import steepest.functional as F
from steepest import nn
from steepest.tensor import Tensor

DTYPES = [np.float64, np.float32]


def _compare(st_fn, torch_fn, arrays, dtype, what, seed=0):
    """Run both on the same arrays (each requires grad), backprop a random upstream gradient of
    the output's shape, and compare the value and every input's gradient."""
    rng = np.random.default_rng(seed)
    st_in = [Tensor(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    th_in = [torch.tensor(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    out = st_fn(*st_in)
    expected = torch_fn(*th_in)
    assert out.dtype == dtype, f"{what}: output dtype {out.dtype}"
    assert out.shape == tuple(expected.shape), f"{what}: shape {out.shape} vs {expected.shape}"
    assert_close(out, expected, dtype, f"{what}: value")
    upstream = rng.standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for k, (mine, theirs) in enumerate(zip(st_in, th_in, strict=True)):
        assert theirs.grad is not None and mine.grad is not None, f"{what}: no gradient {k}"
        assert mine.grad.dtype == dtype, f"{what}: gradient {k} has dtype {mine.grad.dtype}"
        assert_close(mine.grad, theirs.grad, dtype, f"{what}: gradient of input {k}")
    return out


def _class_targets(rng, input_shape, n_classes, ignore_index):
    """Integer targets of shape (N, *) (or () for an unbatched input); if ignore_index is given,
    about a third of them are set to it."""
    shape = () if len(input_shape) == 1 else (input_shape[0],) + tuple(input_shape[2:])
    target = rng.integers(0, n_classes, size=shape)
    if ignore_index is not None and target.ndim:
        flat = target.reshape(-1)
        flat[::3] = ignore_index
    return target


def _probabilities(rng, shape):
    axis = 0 if len(shape) == 1 else 1
    e = np.exp(rng.standard_normal(shape))
    return e / e.sum(axis=axis, keepdims=True)


# ----------------------------------------------------------------------------- cross-entropy

CE_CASES = [
    # id,                         input shape,   target,  weight, ignore, reduction, smoothing
    ("index-mean",                (6, 5),        "index", False,  None,   "mean",    0.0),
    ("index-sum",                 (6, 5),        "index", False,  None,   "sum",     0.0),
    ("index-none",                (6, 5),        "index", False,  None,   "none",    0.0),
    ("weight-mean",               (6, 5),        "index", True,   None,   "mean",    0.0),
    ("weight-sum",                (6, 5),        "index", True,   None,   "sum",     0.0),
    ("weight-none",               (6, 5),        "index", True,   None,   "none",    0.0),
    ("ignore-mean",               (6, 5),        "index", False,  -100,   "mean",    0.0),
    ("ignore-none",               (6, 5),        "index", False,  -100,   "none",    0.0),
    ("ignore-class-2-weight-mean", (6, 5),       "index", True,   2,      "mean",    0.0),
    ("ignore-weight-sum",         (6, 5),        "index", True,   -1,     "sum",     0.0),
    ("smooth-mean",               (6, 5),        "index", False,  None,   "mean",    0.2),
    ("smooth-sum",                (6, 5),        "index", False,  None,   "sum",     0.2),
    ("smooth-none",               (6, 5),        "index", False,  None,   "none",    0.2),
    ("smooth-ignore-mean",        (6, 5),        "index", False,  -100,   "mean",    0.3),
    ("smooth-weight-mean",        (6, 5),        "index", True,   None,   "mean",    0.25),
    ("smooth-weight-ignore-mean", (6, 5),        "index", True,   -100,   "mean",    0.25),
    ("smooth-weight-ignore-sum",  (6, 5),        "index", True,   -100,   "sum",     0.25),
    ("smooth-weight-ignore-none", (6, 5),        "index", True,   -100,   "none",    0.25),
    ("smooth-one",                (6, 5),        "index", True,   None,   "mean",    1.0),
    ("3d-mean",                   (3, 4, 5),     "index", False,  None,   "mean",    0.0),
    ("4d-mean",                   (2, 4, 3, 3),  "index", False,  None,   "mean",    0.0),
    ("4d-none",                   (2, 4, 3, 3),  "index", False,  None,   "none",    0.0),
    ("4d-all-options-mean",       (2, 4, 3, 3),  "index", True,   -100,   "mean",    0.1),
    ("4d-all-options-none",       (2, 4, 3, 3),  "index", True,   1,      "none",    0.1),
    ("unbatched-mean",            (5,),          "index", True,   None,   "mean",    0.1),
    ("unbatched-none",            (5,),          "index", False,  None,   "none",    0.0),
    ("soft-mean",                 (6, 5),        "soft",  False,  None,   "mean",    0.0),
    ("soft-sum",                  (6, 5),        "soft",  False,  None,   "sum",     0.0),
    ("soft-none",                 (6, 5),        "soft",  False,  None,   "none",    0.0),
    ("soft-weight-mean",          (6, 5),        "soft",  True,   None,   "mean",    0.0),
    ("soft-smooth-mean",          (6, 5),        "soft",  False,  None,   "mean",    0.2),
    ("soft-smooth-weight-none",   (6, 5),        "soft",  True,   None,   "none",    0.2),
    ("soft-4d-weight-mean",       (2, 4, 3, 3),  "soft",  True,   None,   "mean",    0.1),
    ("soft-4d-none",              (2, 4, 3, 3),  "soft",  False,  None,   "none",    0.0),
    ("soft-unbatched-sum",        (5,),          "soft",  True,   None,   "sum",     0.1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_cross_entropy_matches_torch(case, dtype):
    name, shape, kind, weighted, ignore_index, reduction, smoothing = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    logits = 3 * rng.standard_normal(shape)
    weight = rng.uniform(0.2, 2.0, n_classes).astype(dtype) if weighted else None
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    if ignore_index is not None:
        kwargs["ignore_index"] = ignore_index
    torch_weight = None if weight is None else torch.tensor(weight)
    if kind == "index":
        target = _class_targets(rng, shape, n_classes, ignore_index)
        _compare(
            lambda x: F.cross_entropy(x, target, weight=weight, **kwargs),
            lambda x: TF.cross_entropy(x, torch.tensor(target), weight=torch_weight, **kwargs),
            [logits], dtype, name,
        )
    else:
        # Probability targets get a gradient too (compared as the second input).
        _compare(
            lambda x, q: F.cross_entropy(x, q, weight=weight, **kwargs),
            lambda x, q: TF.cross_entropy(x, q, weight=torch_weight, **kwargs),
            [logits, _probabilities(rng, shape)], dtype, name,
        )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_every_target_ignored_matches_torch(reduction, smoothing):
    # PyTorch: 'mean' is 0/0 = NaN and the gradient is zero.
    logits = np.random.default_rng(3).standard_normal((3, 4))
    target = np.full(3, -100)
    _compare(
        lambda x: F.cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing),
        lambda x: TF.cross_entropy(x, torch.tensor(target), reduction=reduction,
                                   label_smoothing=smoothing),
        [logits], np.float64, "all ignored",
    )


def test_cross_entropy_takes_target_tensors_and_is_one_fused_node(rng):
    logits = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    target = Tensor(np.array([0, 2, 1, 2]))
    loss = F.cross_entropy(logits, target)
    expected = TF.cross_entropy(torch.tensor(logits.data), torch.tensor(target.data))
    assert_close(loss, expected, np.float64, "int Tensor target")
    # One Function from logits to loss: no log_softmax / gather / mean nodes in between.
    assert loss.grad_fn.parents[0] is logits


def test_cross_entropy_a_float32_batch_gives_float32_and_probabilities_minus_onehot(rng):
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    target = np.array([0, 3, 1, 1, 2])
    x = Tensor(logits, requires_grad=True)
    F.cross_entropy(x, target, reduction="sum").backward()
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax = e / e.sum(axis=1, keepdims=True)
    onehot = np.eye(4, dtype=np.float32)[target]
    assert x.grad.dtype == np.float32
    assert_close(x.grad, softmax - onehot, np.float32, "softmax - onehot")


# ----------------------------------------------------------------------------- nll_loss

NLL_CASES = [
    # id,                  input shape,   weight, ignore, reduction
    ("mean",               (6, 5),        False,  None,   "mean"),
    ("sum",                (6, 5),        False,  None,   "sum"),
    ("none",               (6, 5),        False,  None,   "none"),
    ("weight-ignore-mean", (6, 5),        True,   -100,   "mean"),
    ("weight-ignore-none", (6, 5),        True,   3,      "none"),
    ("4d-weight-mean",     (2, 4, 3, 3),  True,   None,   "mean"),
    ("4d-ignore-sum",      (2, 4, 3, 3),  False,  -100,   "sum"),
    ("unbatched-none",     (5,),          True,   None,   "none"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", NLL_CASES, ids=[c[0] for c in NLL_CASES])
def test_nll_loss_matches_torch(case, dtype):
    name, shape, weighted, ignore_index, reduction = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    log_probs = np.log(_probabilities(rng, shape))
    target = _class_targets(rng, shape, n_classes, ignore_index)
    weight = rng.uniform(0.2, 2.0, n_classes).astype(dtype) if weighted else None
    kwargs = dict(reduction=reduction)
    if ignore_index is not None:
        kwargs["ignore_index"] = ignore_index
    _compare(
        lambda x: F.nll_loss(x, target, weight=weight, **kwargs),
        lambda x: TF.nll_loss(x, torch.tensor(target),
                              weight=None if weight is None else torch.tensor(weight), **kwargs),
        [log_probs], dtype, name,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_of_log_softmax_equals_cross_entropy(dtype, rng):
    logits = rng.standard_normal((4, 3)).astype(dtype)
    target = np.array([2, 0, 1, 1])
    composed = F.nll_loss(F.log_softmax(Tensor(logits), 1), target)
    fused = F.cross_entropy(Tensor(logits), target)
    assert_close(composed, fused.data, dtype, "nll(log_softmax) vs cross_entropy")


# ----------------------------------------------------------------------------- mse_loss

MSE_CASES = [
    # id,     shape,      reduction
    ("mean",  (4, 3),     "mean"),
    ("sum",   (4, 3),     "sum"),
    ("none",  (4, 3),     "none"),
    ("4d",    (2, 3, 2, 2), "mean"),
    ("1d",    (7,),       "sum"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MSE_CASES, ids=[c[0] for c in MSE_CASES])
def test_mse_loss_matches_torch(case, dtype):
    name, shape, reduction = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    _compare(
        lambda x, y: F.mse_loss(x, y, reduction=reduction),
        lambda x, y: TF.mse_loss(x, y, reduction=reduction),
        [rng.standard_normal(shape), rng.standard_normal(shape)], dtype, name,
    )


# ----------------------------------------------------------------------------- BCE with logits

BCE_CASES = [
    # id,                    shape,   weight shape, pos_weight, reduction
    ("mean",                 (5, 3),  None,         False,      "mean"),
    ("sum",                  (5, 3),  None,         False,      "sum"),
    ("none",                 (5, 3),  None,         False,      "none"),
    ("weight-full-mean",     (5, 3),  (5, 3),       False,      "mean"),
    ("weight-row-none",      (5, 3),  (3,),         False,      "none"),
    ("pos-weight-mean",      (5, 3),  None,         True,       "mean"),
    ("pos-weight-none",      (5, 3),  None,         True,       "none"),
    ("weight-pos-weight-sum", (5, 3), (5, 1),       True,       "sum"),
    ("4d-pos-weight-mean",   (2, 3, 2, 3), (3,),    True,       "mean"),
    ("1d-mean",              (6,),    None,         False,      "mean"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", BCE_CASES, ids=[c[0] for c in BCE_CASES])
def test_bce_with_logits_matches_torch(case, dtype):
    name, shape, weight_shape, with_pos_weight, reduction = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    logits = 4 * rng.standard_normal(shape)
    logits.reshape(-1)[0] = 0.0  # the point where max(x, 0) has its kink
    target = rng.uniform(0, 1, shape)
    target.reshape(-1)[:2] = [0.0, 1.0]
    weight = None if weight_shape is None else rng.uniform(0.2, 2, weight_shape).astype(dtype)
    pos_weight = rng.uniform(0.2, 3, shape[-1]).astype(dtype) if with_pos_weight else None

    def as_torch(a):
        return None if a is None else torch.tensor(a)

    _compare(
        lambda x, y: F.binary_cross_entropy_with_logits(
            x, y, weight=weight, reduction=reduction, pos_weight=pos_weight),
        lambda x, y: TF.binary_cross_entropy_with_logits(
            x, y, weight=as_torch(weight), reduction=reduction, pos_weight=as_torch(pos_weight)),
        [logits, target], dtype, name,
    )


# ----------------------------------------------------------------------------- hinge losses

MARGIN_CASES = [
    # id,                 shape,   p, margin, weight, reduction
    ("p1-mean",           (6, 4),  1, 1.0,    False,  "mean"),
    ("p1-sum",            (6, 4),  1, 1.0,    False,  "sum"),
    ("p1-none",           (6, 4),  1, 1.0,    False,  "none"),
    ("p2-mean",           (6, 4),  2, 1.0,    False,  "mean"),
    ("p2-weight-none",    (6, 4),  2, 0.5,    True,   "none"),
    ("p1-weight-margin",  (6, 4),  1, 2.5,    True,   "mean"),
    ("unbatched-p2",      (5,),    2, 1.0,    True,   "none"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MARGIN_CASES, ids=[c[0] for c in MARGIN_CASES])
def test_multi_margin_loss_matches_torch(case, dtype):
    name, shape, p, margin, weighted, reduction = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n_classes = shape[-1]
    target = _class_targets(rng, shape, n_classes, None)
    weight = rng.uniform(0.2, 2.0, n_classes).astype(dtype) if weighted else None
    _compare(
        lambda x: F.multi_margin_loss(x, target, p=p, margin=margin, weight=weight,
                                      reduction=reduction),
        lambda x: TF.multi_margin_loss(x, torch.tensor(target), p=p, margin=margin,
                                       weight=None if weight is None else torch.tensor(weight),
                                       reduction=reduction),
        [rng.standard_normal(shape)], dtype, name,
    )


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_gradient_at_the_kink_matches_torch(p):
    # margin − x_y + x_j is exactly 0 for j = 1: PyTorch gives that term no gradient.
    scores = np.array([[1.0, 0.0, -2.0], [0.5, 0.5, 3.0]])
    target = np.array([0, 1])
    _compare(lambda x: F.multi_margin_loss(x, target, p=p),
             lambda x: TF.multi_margin_loss(x, torch.tensor(target), p=p),
             [scores], np.float64, "kink")


def _svm_loops(scores, target, margin):
    """The lectures' L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + margin) and dL_i/ds, one loop each."""
    n, c = scores.shape
    losses = np.zeros(n)
    grad = np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            if j == target[i]:
                continue
            term = scores[i, j] - scores[i, target[i]] + margin
            if term > 0:
                losses[i] += term
                grad[i, j] += 1
                grad[i, target[i]] -= 1
    return losses, grad


SVM_CASES = [
    # id,         shape,   margin, reduction
    ("mean",      (6, 4),  1.0,    "mean"),
    ("sum",       (6, 4),  1.0,    "sum"),
    ("none",      (6, 4),  1.0,    "none"),
    ("margin-3",  (5, 3),  3.0,    "mean"),
    ("margin-0",  (5, 3),  0.0,    "none"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SVM_CASES, ids=[c[0] for c in SVM_CASES])
def test_multiclass_svm_loss_matches_the_lecture_formula(case, dtype):
    name, shape, margin, reduction = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    scores = rng.standard_normal(shape).astype(dtype)
    target = rng.integers(0, shape[1], shape[0])
    losses, grad = _svm_loops(scores.astype(np.float64), target, margin)
    upstream = {"mean": np.full(shape[0], 1 / shape[0]), "sum": np.ones(shape[0]),
                "none": rng.standard_normal(shape[0])}[reduction]
    expected = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    x = Tensor(scores, requires_grad=True)
    out = F.multiclass_svm_loss(x, target, margin=margin, reduction=reduction)
    out.backward(upstream.astype(dtype) if reduction == "none" else None)
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert_close(out, expected, dtype, f"{name}: value")
    assert_close(x.grad, grad * upstream[:, None], dtype, f"{name}: gradient")


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_svm_loss_is_c_times_torch_multi_margin(dtype, rng):
    scores = rng.standard_normal((7, 5))
    target = rng.integers(0, 5, 7)
    _compare(lambda x: F.multiclass_svm_loss(x, target, reduction="none"),
             lambda x: 5 * TF.multi_margin_loss(x, torch.tensor(target), reduction="none"),
             [scores], dtype, "svm = C x multi_margin")


def test_multiclass_svm_loss_worked_example():
    # The lectures give the formula without numbers; this is CS231n's worked example (three
    # images, classes cat/car/frog): L = (2.9 + 0 + 12.9) / 3.
    scores = Tensor(np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]))
    target = np.array([0, 1, 2])
    assert_close(F.multiclass_svm_loss(scores, target, reduction="none"), [2.9, 0.0, 12.9])
    assert_close(F.multiclass_svm_loss(scores, target), 15.8 / 3)


# ----------------------------------------------------------------------------- L2 penalty


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_decay", [0.0, 1e-3, 0.5])
def test_l2_penalty_matches_torch(weight_decay, dtype, rng):
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((2, 2, 2))]
    _compare(lambda *ps: F.l2_penalty(ps, weight_decay),
             lambda *ps: weight_decay * sum((p * p).sum() for p in ps),
             arrays, dtype, f"l2 λ={weight_decay}")


def test_l2_penalty_of_nothing_is_zero():
    assert F.l2_penalty([], 0.1).item() == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_lecture_objective_svm_plus_l2_gives_torch_parameter_gradients(dtype, rng):
    # L = (1/N) Σ L_i + λ Σ w² for a linear classifier s = x Wᵀ + b, in both libraries.
    x = rng.standard_normal((8, 5)).astype(dtype)
    target = rng.integers(0, 3, 8)
    model = nn.Linear(5, 3, dtype=dtype, generator=np.random.default_rng(0))
    loss = nn.MulticlassSVMLoss()(model(Tensor(x)), target) + \
        F.l2_penalty(model.parameters(), 1e-2)
    loss.backward()
    weight = torch.tensor(model.weight.data, requires_grad=True)
    bias = torch.tensor(model.bias.data, requires_grad=True)
    scores = torch.tensor(x) @ weight.T + bias
    expected = 3 * TF.multi_margin_loss(scores, torch.tensor(target)) + \
        1e-2 * ((weight * weight).sum() + (bias * bias).sum())
    expected.backward()
    assert_close(loss, expected, dtype, "objective")
    assert_close(model.weight.grad, weight.grad, dtype, "dL/dW")
    assert_close(model.bias.grad, bias.grad, dtype, "dL/db")


# ----------------------------------------------------------------------------- extreme logits

EXTREME_CASES = [
    # id,            steepest loss on (x, target),                  torch loss on (x, target)
    ("ce",           lambda x, t: F.cross_entropy(x, t),             lambda x, t: TF.cross_entropy(x, t)),  # noqa: E501
    ("ce-smooth-w",  lambda x, t: F.cross_entropy(x, t, weight=np.arange(1.0, 5.0), label_smoothing=0.1, reduction="none"),  # noqa: E501
                     lambda x, t: TF.cross_entropy(x, t, weight=torch.arange(1.0, 5.0, dtype=x.dtype), label_smoothing=0.1, reduction="none")),  # noqa: E501
    ("ce-soft",      lambda x, t: F.cross_entropy(x, np.eye(4)[t]),
                     lambda x, t: TF.cross_entropy(x, torch.eye(4, dtype=x.dtype)[t])),
    ("bce",          lambda x, t: F.binary_cross_entropy_with_logits(x, np.eye(4)[t], pos_weight=np.full(4, 2.0)),  # noqa: E501
                     lambda x, t: TF.binary_cross_entropy_with_logits(x, torch.eye(4, dtype=x.dtype)[t], pos_weight=torch.full((4,), 2.0, dtype=x.dtype))),  # noqa: E501
    ("multi-margin", lambda x, t: F.multi_margin_loss(x, t, p=2),    lambda x, t: TF.multi_margin_loss(x, t, p=2)),  # noqa: E501
    ("svm",          lambda x, t: F.multiclass_svm_loss(x, t),       lambda x, t: 4 * TF.multi_margin_loss(x, t)),  # noqa: E501
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EXTREME_CASES, ids=[c[0] for c in EXTREME_CASES])
def test_extreme_logits_stay_finite_and_match_torch(case, dtype):
    name, st_loss, torch_loss = case
    logits = np.array([[1000.0, -1000.0, 0.5, 3.0],
                       [-1000.0, -1000.0, 1000.0, 1000.0],
                       [1000.0, 999.0, -1000.0, 0.0]])
    target = np.array([1, 2, 0])
    out = _compare(lambda x: st_loss(x, target),
                   lambda x: torch_loss(x, torch.tensor(target)),
                   [logits], dtype, name)
    assert np.all(np.isfinite(out.data))


# ----------------------------------------------------------------------------- modules

MODULE_CASES = [
    # id,               steepest module,                                     torch module, target kind  # noqa: E501
    ("mse",             lambda w: nn.MSELoss(reduction="sum"),              lambda w: torch.nn.MSELoss(reduction="sum"), "float"),  # noqa: E501
    ("ce",              lambda w: nn.CrossEntropyLoss(w, ignore_index=1, label_smoothing=0.1), lambda w: torch.nn.CrossEntropyLoss(w, ignore_index=1, label_smoothing=0.1), "index"),  # noqa: E501
    ("ce-none",         lambda w: nn.CrossEntropyLoss(reduction="none"),    lambda w: torch.nn.CrossEntropyLoss(reduction="none"), "index"),  # noqa: E501
    ("nll",             lambda w: nn.NLLLoss(w, reduction="sum"),           lambda w: torch.nn.NLLLoss(w, reduction="sum"), "index"),  # noqa: E501
    ("bce",             lambda w: nn.BCEWithLogitsLoss(pos_weight=w),       lambda w: torch.nn.BCEWithLogitsLoss(pos_weight=w), "float"),  # noqa: E501
    ("bce-weight",      lambda w: nn.BCEWithLogitsLoss(w, reduction="none"), lambda w: torch.nn.BCEWithLogitsLoss(w, reduction="none"), "float"),  # noqa: E501
    ("multi-margin",    lambda w: nn.MultiMarginLoss(p=2, margin=0.7, weight=w), lambda w: torch.nn.MultiMarginLoss(p=2, margin=0.7, weight=w), "index"),  # noqa: E501
    ("svm",             lambda w: nn.MulticlassSVMLoss(margin=2.0, reduction="sum"), lambda w: _TorchSVM(2.0), "index"),  # noqa: E501
]


class _TorchSVM(torch.nn.Module):
    """The lectures' SVM loss in PyTorch: C x multi_margin_loss summed over the batch."""

    def __init__(self, margin):
        super().__init__()
        self.margin = margin

    def forward(self, x, target):
        return x.shape[1] * TF.multi_margin_loss(x, target, margin=self.margin, reduction="sum")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_loss_modules_match_torch_modules(case, dtype, rng):
    name, make_mine, make_theirs, target_kind = case
    weight = rng.uniform(0.5, 2.0, 4).astype(dtype)
    mine, theirs = make_mine(Tensor(weight)), make_theirs(torch.tensor(weight))
    scores = rng.standard_normal((5, 4))
    if target_kind == "index":
        target = rng.integers(0, 4, 5)
        torch_target = torch.tensor(target)
    else:
        target = rng.uniform(0, 1, (5, 4)).astype(dtype)
        torch_target = torch.tensor(target)
    _compare(lambda x: mine(x, target), lambda x: theirs(x, torch_target), [scores], dtype, name)


def test_loss_modules_keep_class_weights_as_buffers():
    module = nn.CrossEntropyLoss(weight=np.ones(3, dtype=np.float32))
    assert list(module.state_dict()) == ["weight"]
    module.double()
    assert module.weight.dtype == np.float64
    assert "label_smoothing=0.0" in repr(module)


# ----------------------------------------------------------------------------- gradchecks

GRADCHECK_CASES = [
    # id,                  function of the float inputs,                                       input shapes  # noqa: E501
    ("ce-index",           lambda x: F.cross_entropy(x, np.array([0, 2, -100]), weight=np.array([0.5, 1.0, 2.0, 1.5]), label_smoothing=0.2), [(3, 4)]),  # noqa: E501
    ("ce-index-4d-none",   lambda x: F.cross_entropy(x, np.array([[[0, 1], [2, 1]]]), reduction="none"), [(1, 3, 2, 2)]),  # noqa: E501
    ("ce-soft",            lambda x, q: F.cross_entropy(x, q, weight=np.array([0.5, 1.0, 2.0]), label_smoothing=0.1), [(2, 3), (2, 3)]),  # noqa: E501
    ("nll",                lambda x: F.nll_loss(x, np.array([1, 0, 2]), weight=np.array([1.0, 2.0, 3.0])), [(3, 3)]),  # noqa: E501
    ("mse",                lambda x, y: F.mse_loss(x, y), [(2, 3), (2, 3)]),
    ("bce",                lambda x, y: F.binary_cross_entropy_with_logits(x, y, weight=np.array([1.0, 0.5, 2.0]), pos_weight=np.array([2.0, 1.0, 0.5]), reduction="sum"), [(2, 3), (2, 3)]),  # noqa: E501
    ("multi-margin-p2",    lambda x: F.multi_margin_loss(x, np.array([1, 0, 3]), p=2, weight=np.array([1.0, 2.0, 0.5, 1.0])), [(3, 4)]),  # noqa: E501
    ("svm",                lambda x: F.multiclass_svm_loss(x, np.array([1, 0, 3])), [(3, 4)]),
    ("l2",                 lambda a, b: F.l2_penalty([a, b], 0.3), [(2, 3), (4,)]),
]


@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=[c[0] for c in GRADCHECK_CASES])
def test_gradcheck(case):
    _, fn, shapes = case
    rng = np.random.default_rng(7)
    inputs = [Tensor(rng.uniform(0.05, 1.0, s) * rng.choice([-2, 2], s), requires_grad=True)
              for s in shapes]
    assert steepest.gradcheck(fn, inputs)


# ----------------------------------------------------------------------------- errors

X = Tensor(np.zeros((3, 4)))
X4 = Tensor(np.zeros((2, 4, 3, 3)))
T = np.array([0, 1, 2])

ERROR_CASES = [
    # id,                     call,                                                     error, message  # noqa: E501
    ("ce-index-too-big",      lambda: F.cross_entropy(X, np.array([0, 4, 1])),           ValueError, r"target 4 at batch position \(1,\).*C=4"),  # noqa: E501
    ("ce-negative-no-wrap",   lambda: F.cross_entropy(X, np.array([0, 1, -1])),          ValueError, r"target -1 at batch position \(2,\).*C=4"),  # noqa: E501
    ("ce-4d-out-of-range",    lambda: F.cross_entropy(X4, np.pad(np.full((1, 3, 3), 7), ((1, 0), (0, 0), (0, 0)))), ValueError, r"target 7 at batch position \(1, 0, 0\).*C=4"),  # noqa: E501
    ("ce-other-ignore",       lambda: F.cross_entropy(X, np.array([0, -100, 1]), ignore_index=-1), ValueError, r"target -100 at batch position \(1,\)"),  # noqa: E501
    ("nll-out-of-range",      lambda: F.nll_loss(X, np.array([0, 1, 9])),                ValueError, r"target 9 at batch position \(2,\).*C=4"),  # noqa: E501
    ("margin-negative",       lambda: F.multi_margin_loss(X, np.array([0, -2, 1])),      ValueError, r"target -2 at batch position \(1,\).*C=4"),  # noqa: E501
    ("svm-out-of-range",      lambda: F.multiclass_svm_loss(X, np.array([4, 0, 1])),     ValueError, r"target 4 at batch position \(0,\).*C=4"),  # noqa: E501
    ("ce-batch-mismatch",     lambda: F.cross_entropy(X, np.array([0, 1])),              ValueError, r"cross_entropy.*\(3, 4\).*\(2,\).*batch sizes differ"),  # noqa: E501
    ("ce-4d-target-shape",    lambda: F.cross_entropy(X4, np.zeros((2, 3), dtype=int)),  ValueError, r"\(2, 4, 3, 3\).*\(2, 3\).*\(2, 3, 3\)"),  # noqa: E501
    ("ce-float-indices",      lambda: F.cross_entropy(X, np.array([0.0, 1.0, 2.0])),     TypeError, r"cross_entropy.*float64.*integers"),  # noqa: E501
    ("ce-float-wrong-shape",  lambda: F.cross_entropy(X, np.zeros((3, 2))),              ValueError, r"cross_entropy.*\(3, 4\).*\(3, 2\)"),  # noqa: E501
    ("ce-bool-target",        lambda: F.cross_entropy(X, np.array([True, False, True])), TypeError, r"integer.*bool"),  # noqa: E501
    ("ce-soft-ignore-index",  lambda: F.cross_entropy(X, np.zeros((3, 4)), ignore_index=0), ValueError, r"ignore_index=0"),  # noqa: E501
    ("ce-smoothing",          lambda: F.cross_entropy(X, T, label_smoothing=1.5),        ValueError, r"label_smoothing.*1\.5"),  # noqa: E501
    ("ce-weight-shape",       lambda: F.cross_entropy(X, T, weight=np.ones(3)),          ValueError, r"weight.*\(4,\).*\(3,\)"),  # noqa: E501
    ("ce-int-input",          lambda: F.cross_entropy(Tensor(np.zeros((3, 4), dtype=int)), T), TypeError, r"floating"),  # noqa: E501
    ("ce-scalar-input",       lambda: F.cross_entropy(Tensor(np.zeros(())), np.array(0)), ValueError, r"class axis"),  # noqa: E501
    ("nll-batch-mismatch",    lambda: F.nll_loss(X, np.array([0, 1, 2, 3])),             ValueError, r"nll_loss.*\(3, 4\).*\(4,\)"),  # noqa: E501
    ("mse-shapes",            lambda: F.mse_loss(X, np.zeros((3, 1))),                   ValueError, r"mse_loss.*\(3, 4\).*\(3, 1\)"),  # noqa: E501
    ("bce-shapes",            lambda: F.binary_cross_entropy_with_logits(X, np.zeros(4)), ValueError, r"\(4,\).*\(3, 4\)"),  # noqa: E501
    ("bce-pos-weight-shape",  lambda: F.binary_cross_entropy_with_logits(X, np.zeros((3, 4)), pos_weight=np.ones(3)), ValueError, r"pos_weight.*\(3,\).*\(3, 4\)"),  # noqa: E501
    ("margin-p",              lambda: F.multi_margin_loss(X, T, p=3),                    ValueError, r"p must be 1 or 2, got 3"),  # noqa: E501
    ("margin-3d-input",       lambda: F.multi_margin_loss(X4, T),                        ValueError, r"\(N, C\).*\(2, 4, 3, 3\)"),  # noqa: E501
    ("margin-target-shape",   lambda: F.multi_margin_loss(X, np.array([0, 1])),          ValueError, r"multi_margin_loss.*\(3, 4\).*\(2,\)"),  # noqa: E501
    ("svm-target-shape",      lambda: F.multiclass_svm_loss(X, np.zeros((3, 1), dtype=int)), ValueError, r"multiclass_svm_loss.*\(3, 1\)"),  # noqa: E501
    ("l2-negative",           lambda: F.l2_penalty([X], -0.1),                           ValueError, r"weight_decay.*-0\.1"),  # noqa: E501
    ("l2-not-tensor",         lambda: F.l2_penalty([np.zeros(3)], 0.1),                  TypeError, r"parameter 0 is a ndarray"),  # noqa: E501
    ("module-p",              lambda: nn.MultiMarginLoss(p=0),                           ValueError, r"MultiMarginLoss.*got 0"),  # noqa: E501
    ("module-smoothing",      lambda: nn.CrossEntropyLoss(label_smoothing=-0.1),         ValueError, r"CrossEntropyLoss.*-0\.1"),  # noqa: E501
] + [
    (f"{name}-reduction", call, ValueError, r"reduction.*'avg'")
    for name, call in [
        ("mse", lambda: F.mse_loss(X, X, reduction="avg")),
        ("ce", lambda: F.cross_entropy(X, T, reduction="avg")),
        ("nll", lambda: F.nll_loss(X, T, reduction="avg")),
        ("bce", lambda: F.binary_cross_entropy_with_logits(X, X, reduction="avg")),
        ("margin", lambda: F.multi_margin_loss(X, T, reduction="avg")),
        ("svm", lambda: F.multiclass_svm_loss(X, T, reduction="avg")),
        ("module", lambda: nn.MSELoss(reduction="avg")),
    ]
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors(case):
    _, call, error, message = case
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("ignore_index", [0, 2])
def test_cross_entropy_ignores_an_in_range_ignore_index_like_torch(reduction, ignore_index):
    logits = np.random.default_rng(5).standard_normal((6, 3))
    target = np.array([0, 1, 2, 0, 2, 1])
    ours = steepest.Tensor(logits.copy(), requires_grad=True)
    theirs = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(ours, target, ignore_index=ignore_index, reduction=reduction)
    expected = torch.nn.functional.cross_entropy(theirs, torch.from_numpy(target),
                                                 ignore_index=ignore_index, reduction=reduction)
    loss.backward()
    expected.backward()
    assert_close(loss, expected, np.float64)
    assert_close(ours.grad, theirs.grad, np.float64)
