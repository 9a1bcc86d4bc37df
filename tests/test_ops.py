"""Every primitive and composite op against PyTorch 2.13: forward values and input gradients.

One line per case (tinygrad's `helper_test_op`): a name, the steepest expression, the PyTorch
expression (None when the same expression runs on torch tensors), the input shapes and the domain
the inputs are drawn from. Each case runs in float64 (rtol = atol = 1e-10) and float32 (1e-5),
with a random upstream gradient, and compares the output and the gradient of every input.
Cases with explicit inputs pin the conventions at kinks and ties.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import assert_close

import steepest as st
import steepest.nn.functional as F


class Case(NamedTuple):
    name: str
    ours: Callable
    theirs: Callable | None  # None: `ours` also runs on torch tensors
    shapes: tuple = ()  # one shape per input (ignored when `values` is given)
    domain: object = "any"  # "any" U(-2, 2), "pos" U(0.5, 2), "nonzero" ±U(0.5, 2), or (lo, hi)
    values: tuple | None = None  # explicit inputs, for kinks and ties


def T(array: np.ndarray) -> torch.Tensor:
    """A torch index or condition from the NumPy one the steepest side uses."""
    return torch.from_numpy(np.asarray(array))


# Fixed indices and conditions, shared by both sides of a case.
IDX = np.array([0, 2, 0, 0])  # a repeated row: its gradients must add up
ROWS, COLS = np.array([0, 1, 1, 2, 0]), np.array([3, 3, 0, 3, 3])  # (0, 3) picked twice
MASK = np.array([[True, False, True, True], [False, False, True, False],
                 [True, True, False, True]])
ROW_MASK = np.array([True, False, True])
COND = np.array([[True, False, False, True, True], [False, True, False, False, True],
                 [True, True, True, False, False], [False, False, True, True, False]])

C = Case
CASES = [
    # ------------------------------------------------------------------ arithmetic
    C("add", lambda x, y: x + y, None, [(3, 4), (3, 4)]),
    C("add_broadcast_3d_2d", lambda x, y: x + y, None, [(3, 1, 5), (4, 1)]),
    C("add_broadcast_row", lambda x, y: x + y, None, [(4, 5), (5,)]),
    C("add_0d_tensor", lambda x, y: x + y, None, [(), (3, 4)]),
    C("add_scalar", lambda x: x + 2.5, None, [(3, 4)]),
    C("radd_scalar", lambda x: 2 + x, None, [(3, 4)]),
    C("sub", lambda x, y: x - y, None, [(3, 4), (3, 4)]),
    C("sub_broadcast", lambda x, y: x - y, None, [(4, 1), (3, 1, 5)]),
    C("sub_scalar", lambda x: x - 1.5, None, [(3, 4)]),
    C("rsub_scalar", lambda x: 1.5 - x, None, [(3, 4)]),
    C("mul", lambda x, y: x * y, None, [(3, 4), (3, 4)]),
    C("mul_broadcast", lambda x, y: x * y, None, [(3, 1, 5), (4, 1)]),
    C("mul_scalar", lambda x: x * -1.5, None, [(3, 4)]),
    C("rmul_scalar", lambda x: 3 * x, None, [(3, 4)]),
    C("mul_self", lambda x: x * x, None, [(3, 4)]),
    C("div", lambda x, y: x / y, None, [(3, 4), (3, 4)], "nonzero"),
    C("div_broadcast", lambda x, y: x / y, None, [(3, 1, 5), (4, 1)], "nonzero"),
    C("div_scalar", lambda x: x / 2.5, None, [(3, 4)]),
    C("rdiv_scalar", lambda x: 2.5 / x, None, [(3, 4)], "nonzero"),
    C("neg", lambda x: -x, None, [(3, 4)]),
    C("pow_2", lambda x: x**2, None, [(3, 4)]),
    C("pow_3_negative_base", lambda x: x**3, None, [(3, 4)]),
    C("pow_0", lambda x: x**0, None, [(3, 4)]),
    C("pow_half", lambda x: x**0.5, None, [(3, 4)], "pos"),
    C("pow_negative_fraction", lambda x: x**-1.5, None, [(3, 4)], "pos"),
    C("pow_negative_int", lambda x: x**-2, None, [(3, 4)], "nonzero"),
    C("pow_method", lambda x: x.pow(3), None, [(3, 4)]),
    C("pow_tensor_exponent", lambda x, y: x**y, None, [(3, 4), (3, 4)], "pos"),
    C("pow_tensor_exponent_broadcast", lambda x, y: x**y, None, [(3, 4), (4,)], "pos"),
    C("pow_tensor_exponent_zero_base", lambda x, y: x**y, None,
      values=([0, 0, 1.5, 2], [2, 1, 3, -1])),
    C("pow_0_at_zero", lambda x: x**0, None, values=([0, 1, -2],)),
    C("rpow_scalar_base", lambda x: 2.0**x, None, [(3, 4)]),
    # ------------------------------------------------------------------ matmul
    C("matmul_2d", lambda x, y: x @ y, None, [(3, 4), (4, 5)]),
    C("matmul_batched", lambda x, y: x @ y, None, [(2, 3, 4), (2, 4, 5)]),
    C("matmul_broadcast_batch", lambda x, y: x @ y, None, [(2, 1, 3, 4), (3, 4, 5)]),
    C("matmul_batched_by_2d", lambda x, y: x @ y, None, [(2, 3, 4), (4, 5)]),
    C("matmul_1d_2d", lambda x, y: x @ y, None, [(4,), (4, 5)]),
    C("matmul_2d_1d", lambda x, y: x @ y, None, [(3, 4), (4,)]),
    C("matmul_1d_1d", lambda x, y: x @ y, None, [(4,), (4,)]),
    C("matmul_1d_batched", lambda x, y: x @ y, None, [(4,), (2, 4, 5)]),
    C("matmul_batched_1d", lambda x, y: x @ y, None, [(2, 3, 4), (4,)]),
    C("matmul_function", lambda x, y: st.matmul(x, y), lambda x, y: torch.matmul(x, y),
      [(3, 4), (4, 2)]),
    # ------------------------------------------------------------------ reductions
    C("sum_all", lambda x: x.sum(), None, [(3, 4, 5)]),
    C("sum_axis", lambda x: x.sum(axis=1), lambda x: x.sum(dim=1), [(3, 4, 5)]),
    C("sum_negative_axis", lambda x: x.sum(dim=-1), None, [(3, 4, 5)]),
    C("sum_tuple_axis", lambda x: x.sum(dim=(0, 2)), None, [(3, 4, 5)]),
    C("sum_keepdim", lambda x: x.sum(dim=1, keepdim=True), None, [(3, 4, 5)]),
    C("sum_tuple_keepdim", lambda x: x.sum(axis=(-1, 0), keepdims=True),
      lambda x: x.sum(dim=(-1, 0), keepdim=True), [(3, 4, 5)]),
    C("sum_all_keepdim", lambda x: x.sum(dim=None, keepdim=True), None, [(3, 4, 5)]),
    C("mean_all", lambda x: x.mean(), None, [(3, 4, 5)]),
    C("mean_all_keepdim", lambda x: x.mean(dim=None, keepdim=True), None, [(3, 4, 5)]),
    C("mean_axis", lambda x: x.mean(dim=0), None, [(3, 4, 5)]),
    C("mean_negative_axis_keepdim", lambda x: x.mean(dim=-2, keepdim=True), None, [(3, 4, 5)]),
    C("mean_tuple_axis", lambda x: x.mean(dim=(1, 2)), None, [(3, 4, 5)]),
    C("max_all", lambda x: x.max(), lambda x: torch.amax(x), [(3, 4, 5)]),
    C("amax_axis", lambda x: x.amax(dim=1), lambda x: torch.amax(x, dim=1), [(3, 4, 5)]),
    C("amax_negative_axis_keepdim", lambda x: x.amax(dim=-1, keepdim=True),
      lambda x: torch.amax(x, dim=-1, keepdim=True), [(3, 4, 5)]),
    C("amax_tuple_axis", lambda x: x.amax(axis=(0, 2)), lambda x: torch.amax(x, dim=(0, 2)),
      [(3, 4, 5)]),
    C("amax_all_keepdim", lambda x: x.amax((), True), lambda x: torch.amax(x, (), True),
      [(3, 4, 5)]),
    C("max_dim_values", lambda x: x.max(dim=1).values, None, [(3, 4, 5)]),
    C("max_dim_keepdim_values", lambda x: x.max(-1, keepdim=True)[0], None, [(3, 4, 5)]),
    C("min_all", lambda x: x.min(), lambda x: torch.amin(x), [(3, 4, 5)]),
    C("amin_axis", lambda x: x.amin(dim=0), lambda x: torch.amin(x, dim=0), [(3, 4, 5)]),
    C("amin_tuple_keepdim", lambda x: x.amin(dim=(1, -1), keepdim=True),
      lambda x: torch.amin(x, dim=(1, -1), keepdim=True), [(3, 4, 5)]),
    C("min_dim_values", lambda x: x.min(0).values, None, [(3, 4, 5)]),
    C("max_ties_all", lambda x: x.max(), lambda x: torch.amax(x), values=([[1, 3, 3], [0, 3, 2]],)),
    C("amax_ties_axis", lambda x: x.amax(dim=1), lambda x: torch.amax(x, dim=1),
      values=([[1, 3, 3], [2, 2, 2], [5, 0, 1]],)),
    C("max_dim_ties_go_to_the_first", lambda x: x.max(dim=1).values, None,
      values=([[1, 3, 3], [2, 2, 2], [5, 0, 1]],)),
    C("amin_ties_axis_keepdim", lambda x: x.amin(dim=0, keepdim=True),
      lambda x: torch.amin(x, dim=0, keepdim=True), values=([[1, 3, 3], [1, 2, 3]],)),
    C("min_ties_all", lambda x: x.min(), lambda x: torch.amin(x), values=([[-1, 3], [-1, -1]],)),
    C("var_all", lambda x: x.var(), None, [(3, 4, 5)]),
    C("var_axis", lambda x: x.var(dim=1), None, [(3, 4, 5)]),
    C("var_tuple_keepdim", lambda x: x.var(dim=(0, -1), keepdim=True), None, [(3, 4, 5)]),
    C("var_all_keepdim", lambda x: x.var(dim=None, keepdim=True), None, [(3, 4, 5)]),
    C("var_population", lambda x: x.var(dim=0, correction=0), None, [(3, 4, 5)]),
    # ------------------------------------------------------------------ shape
    C("clone", lambda x: x.clone() * x, None, [(3, 4)]),
    C("reshape", lambda x: x.reshape(4, 15), None, [(3, 4, 5)]),
    C("reshape_tuple_minus_one", lambda x: x.reshape((-1, 5)), None, [(3, 4, 5)]),
    C("view", lambda x: x.view(12, 5), None, [(3, 4, 5)]),
    C("transpose_two_axes", lambda x: x.transpose(0, 2), None, [(3, 4, 5)]),
    C("transpose_negative_axes", lambda x: x.transpose(-1, -2), None, [(3, 4, 5)]),
    C("transpose_T", lambda x: x.T, None, [(3, 4)]),
    C("permute", lambda x: x.permute(2, 0, 1), None, [(3, 4, 5)]),
    C("permute_tuple", lambda x: x.permute((1, 2, 0)), None, [(3, 4, 5)]),
    C("flatten_all", lambda x: x.flatten(), None, [(3, 4, 5)]),
    C("flatten_start", lambda x: x.flatten(1), None, [(3, 4, 5)]),
    C("flatten_range", lambda x: x.flatten(0, 1), None, [(3, 4, 5)]),
    C("flatten_function", lambda x: F.flatten(x, -2, -1), lambda x: torch.flatten(x, -2, -1),
      [(2, 3, 4, 5)]),
    C("unsqueeze_front", lambda x: x.unsqueeze(0), None, [(3, 4)]),
    C("unsqueeze_negative", lambda x: x.unsqueeze(-1), None, [(3, 4)]),
    C("unsqueeze_middle", lambda x: x.unsqueeze(1), None, [(3, 4)]),
    C("squeeze_all", lambda x: x.squeeze(), None, [(3, 1, 4, 1)]),
    C("squeeze_dim", lambda x: x.squeeze(1), None, [(3, 1, 4)]),
    C("squeeze_negative_dim", lambda x: x.squeeze(-1), None, [(3, 4, 1)]),
    C("squeeze_non_one_is_noop", lambda x: x.squeeze(0) * 1.0, None, [(3, 1, 4)]),
    C("expand", lambda x: x.expand(2, 3, 4), None, [(3, 1)]),
    C("expand_minus_one", lambda x: x.expand(2, -1, 4), None, [(3, 1)]),
    C("expand_tuple", lambda x: x.expand((4, 5)), None, [(5,)]),
    # ------------------------------------------------------------------ indexing
    C("index_int", lambda x: x[1], None, [(3, 4)]),
    C("index_negative_int", lambda x: x[-1, 2], None, [(3, 4)]),
    C("slice_basic", lambda x: x[1:3], None, [(4, 5)]),
    C("slice_step", lambda x: x[:, ::2], None, [(4, 5)]),
    C("slice_int_mix", lambda x: x[1, -3:], None, [(4, 5)]),
    C("slice_negative_step", lambda x: x[::-1], lambda x: torch.flip(x, [0]), [(4, 5)]),
    C("slice_negative_step_2", lambda x: x[:, 3:0:-2], lambda x: x[:, T([3, 1])], [(4, 5)]),
    C("index_ellipsis", lambda x: x[..., 1], None, [(2, 3, 4)]),
    C("index_none", lambda x: x[:, None, 1:], None, [(3, 4)]),
    C("index_ellipsis_none", lambda x: x[None, ..., None, 2], None, [(2, 3, 4)]),
    C("index_int_array_repeats", lambda x: x[IDX], lambda x: x[T(IDX)], [(3, 4)]),
    C("index_list_repeats", lambda x: x[[0, 0, 1]], None, [(3, 4)]),
    C("index_two_arrays_repeats", lambda x: x[ROWS, COLS], lambda x: x[T(ROWS), T(COLS)],
      [(3, 4)]),
    C("index_slice_then_array", lambda x: x[:, IDX], lambda x: x[:, T(IDX)], [(2, 3, 4)]),
    C("index_tensor", lambda x: x[st.tensor(IDX)], lambda x: x[T(IDX)], [(3, 4)]),
    C("index_bool_mask", lambda x: x[MASK], lambda x: x[T(MASK)], [(3, 4)]),
    C("index_bool_rows", lambda x: x[ROW_MASK], lambda x: x[T(ROW_MASK)], [(3, 4)]),
    # ------------------------------------------------------------------ joining, selection
    C("cat_dim0", lambda x, y: st.cat([x, y]), lambda x, y: torch.cat([x, y]), [(2, 3), (4, 3)]),
    C("cat_dim1_three", lambda x, y, z: st.cat([x, y, z], dim=1),
      lambda x, y, z: torch.cat([x, y, z], dim=1), [(2, 3), (2, 1), (2, 4)]),
    C("cat_negative_dim", lambda x, y: st.cat([x, y], dim=-1),
      lambda x, y: torch.cat([x, y], dim=-1), [(2, 3, 2), (2, 3, 5)]),
    C("cat_reused_input", lambda x: st.cat([x, x], dim=0), lambda x: torch.cat([x, x], dim=0),
      [(2, 3)]),
    C("stack_dim0", lambda x, y: st.stack([x, y]), lambda x, y: torch.stack([x, y]),
      [(3, 4), (3, 4)]),
    C("stack_dim1", lambda x, y, z: st.stack([x, y, z], dim=1),
      lambda x, y, z: torch.stack([x, y, z], dim=1), [(3, 4), (3, 4), (3, 4)]),
    C("stack_negative_dim", lambda x, y: st.stack([x, y], dim=-1),
      lambda x, y: torch.stack([x, y], dim=-1), [(3, 4), (3, 4)]),
    C("where", lambda x, y: st.where(COND, x, y), lambda x, y: torch.where(T(COND), x, y),
      [(4, 5), (4, 5)]),
    C("where_broadcast", lambda x, y: st.where(COND, x, y),
      lambda x, y: torch.where(T(COND), x, y), [(4, 1), (5,)]),
    C("where_tensor_condition", lambda x, y: st.where(x > y, x, y),
      lambda x, y: torch.where(x > y, x, y), [(4, 5), (4, 5)]),
    C("maximum", lambda x, y: st.maximum(x, y), lambda x, y: torch.maximum(x, y),
      [(3, 4), (3, 4)]),
    C("maximum_broadcast", lambda x, y: x.maximum(y), lambda x, y: torch.maximum(x, y),
      [(3, 1, 4), (2, 1)]),
    C("minimum", lambda x, y: st.minimum(x, y), lambda x, y: torch.minimum(x, y),
      [(3, 4), (3, 4)]),
    C("minimum_broadcast", lambda x, y: x.minimum(y), lambda x, y: torch.minimum(x, y),
      [(4,), (3, 4)]),
    C("maximum_ties_half", lambda x, y: st.maximum(x, y), lambda x, y: torch.maximum(x, y),
      values=([1, 2, 3, -1], [1, 5, 3, -2])),
    C("minimum_ties_half", lambda x, y: st.minimum(x, y), lambda x, y: torch.minimum(x, y),
      values=([1, 2, 3, -1], [1, 5, 3, -2])),
    # ------------------------------------------------------------------ elementwise
    C("exp", lambda x: st.exp(x), lambda x: torch.exp(x), [(3, 4)]),
    C("exp_method", lambda x: x.exp(), None, [(3, 4)]),
    C("log", lambda x: st.log(x), lambda x: torch.log(x), [(3, 4)], "pos"),
    C("log_method", lambda x: x.log(), None, [(3, 4)], (0.01, 10)),
    C("sqrt", lambda x: st.sqrt(x), lambda x: torch.sqrt(x), [(3, 4)], "pos"),
    C("sqrt_method", lambda x: x.sqrt(), None, [(3, 4)], (0.01, 10)),
    C("abs", lambda x: abs(x), None, [(3, 4)], "nonzero"),
    C("abs_method_kink_zero", lambda x: x.abs(), None, values=([-1.5, 0, 0.5, 0],)),
    C("clip", lambda x: x.clip(-0.5, 0.7), None, [(4, 5)]),
    C("clip_min_only", lambda x: x.clip(min=0.2), lambda x: x.clamp(min=0.2), [(4, 5)]),
    C("clip_max_only", lambda x: st.clip(x, max=-0.3), lambda x: torch.clamp(x, max=-0.3),
      [(4, 5)]),
    C("clamp_at_bounds_passes", lambda x: st.clamp(x, -0.5, 0.5),
      lambda x: torch.clamp(x, -0.5, 0.5), values=([-1, -0.5, 0, 0.5, 1],)),
    C("sigmoid", lambda x: x.sigmoid(), None, [(3, 4)]),
    C("sigmoid_large", lambda x: st.sigmoid(x), lambda x: torch.sigmoid(x), [(3, 4)], (-40, 40)),
    C("tanh", lambda x: x.tanh(), None, [(3, 4)]),
    C("tanh_function", lambda x: st.tanh(x), lambda x: torch.tanh(x), [(3, 4)], (-5, 5)),
    C("relu", lambda x: x.relu(), None, [(3, 4)]),
    C("relu_kink_zero", lambda x: F.relu(x), lambda x: TF.relu(x), values=([-1, 0, 2, 0],)),
    C("leaky_relu", lambda x: F.leaky_relu(x), lambda x: TF.leaky_relu(x), [(3, 4)]),
    C("leaky_relu_slope", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2),
      [(3, 4)]),
    C("leaky_relu_kink_zero", lambda x: F.leaky_relu(x, 0.3), lambda x: TF.leaky_relu(x, 0.3),
      values=([-1, 0, 2],)),
    C("elu", lambda x: F.elu(x), lambda x: TF.elu(x), [(3, 4)]),
    C("elu_alpha", lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), [(3, 4)], (-5, 5)),
    C("elu_kink_zero", lambda x: F.elu(x, 1.5), lambda x: TF.elu(x, 1.5), values=([-1, 0, 2],)),
    C("selu", lambda x: F.selu(x), lambda x: TF.selu(x), [(3, 4)], (-5, 5)),
    C("selu_kink_zero", lambda x: F.selu(x), lambda x: TF.selu(x), values=([-1, 0, 2],)),
    C("softmax_last", lambda x: F.softmax(x, -1), lambda x: torch.softmax(x, dim=-1),
      [(3, 4, 5)]),
    C("softmax_dim0", lambda x: F.softmax(x, dim=0), lambda x: torch.softmax(x, dim=0),
      [(3, 4, 5)]),
    C("softmax_dim1_method", lambda x: x.softmax(1), None, [(3, 4, 5)]),
    C("softmax_large", lambda x: st.softmax(x, 1), lambda x: torch.softmax(x, 1), [(3, 6)],
      (-100, 100)),
    C("log_softmax_last", lambda x: F.log_softmax(x, -1), lambda x: torch.log_softmax(x, -1),
      [(3, 4, 5)]),
    C("log_softmax_dim1", lambda x: F.log_softmax(x, dim=1),
      lambda x: torch.log_softmax(x, dim=1), [(3, 4, 5)]),
    C("log_softmax_method_dim0", lambda x: x.log_softmax(dim=0), None, [(3, 4, 5)]),
    C("log_softmax_large", lambda x: x.log_softmax(-1), None, [(3, 6)], (-100, 100)),
    # ------------------------------------------------------------------ layers
    C("linear", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: TF.linear(x, w, b),
      [(4, 3), (5, 3), (5,)]),
    C("linear_3d_input", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: TF.linear(x, w, b),
      [(2, 4, 3), (5, 3), (5,)]),
    C("linear_1d_input", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: TF.linear(x, w, b),
      [(3,), (5, 3), (5,)]),
    C("linear_no_bias", lambda x, w: F.linear(x, w), lambda x, w: TF.linear(x, w),
      [(4, 3), (2, 3)]),
    C("dropout_p0", lambda x: F.dropout(x, 0.0), lambda x: TF.dropout(x, 0.0), [(3, 4)]),
    C("dropout_eval_identity", lambda x: F.dropout(x, 0.5, training=False),
      lambda x: TF.dropout(x, 0.5, training=False), [(3, 4)]),
    # ------------------------------------------------------------------ composites
    C("composite_tanh_sum", lambda a, b: (a * b + a / (b * b + 1)).tanh().sum(dim=1), None,
      [(3, 4), (4,)]),
    C("composite_softmax_weighted", lambda x, v: (x.softmax(-1) * v).sum(dim=-1), None,
      [(3, 5), (3, 5)]),
    C("composite_mlp", lambda x, w1, w2: ((x @ w1).relu() @ w2).log_softmax(-1), None,
      [(4, 3), (3, 6), (6, 2)]),
]

DTYPES = [np.float64, np.float32]


def make_inputs(case: Case, dtype, rng: np.random.Generator) -> list[np.ndarray]:
    """The case's inputs as arrays of `dtype`: its explicit values, or random ones in its domain."""
    if case.values is not None:
        return [np.asarray(v, dtype=dtype) for v in case.values]
    arrays = []
    for shape in case.shapes:
        if case.domain == "any":
            a = rng.uniform(-2, 2, shape)
        elif case.domain == "pos":
            a = rng.uniform(0.5, 2, shape)
        elif case.domain == "nonzero":
            a = rng.uniform(0.5, 2, shape) * rng.choice([-1.0, 1.0], shape)
        else:
            a = rng.uniform(*case.domain, shape)
        arrays.append(np.asarray(a, dtype=dtype))
    return arrays


def check_array(actual, expected: torch.Tensor, dtype, what: str) -> None:
    """Same shape, dtype as the inputs, and the same numbers as PyTorch at dtype's tolerance."""
    assert actual is not None, f"{what}: steepest gave no gradient"
    actual = np.asarray(actual)
    assert actual.shape == tuple(expected.shape), f"{what}: {actual.shape} != {expected.shape}"
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {np.dtype(dtype)}"
    assert_close(actual, expected, dtype, what)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_op_matches_torch(case: Case, dtype) -> None:
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    arrays = make_inputs(case, dtype, rng)
    ours = [st.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]

    out = case.ours(*ours)
    expected = (case.theirs or case.ours)(*theirs)
    check_array(out.data, expected, dtype, f"{case.name}: forward")

    upstream = rng.standard_normal(expected.shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for i, (x, x_torch) in enumerate(zip(ours, theirs, strict=True)):
        check_array(x.grad, x_torch.grad, dtype, f"{case.name}: gradient of input {i}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_train_gradient_is_the_mask(p: float, dtype) -> None:
    rng = np.random.default_rng(5)
    x = st.tensor(rng.uniform(0.5, 2, (200, 30)).astype(dtype), requires_grad=True)
    out = F.dropout(x, p, training=True, generator=np.random.default_rng(11))
    mask = F.dropout_mask(x.shape, p, dtype, generator=np.random.default_rng(11))
    upstream = rng.standard_normal(x.shape).astype(dtype)
    out.backward(upstream)
    # Inverted dropout: kept units are scaled by 1/(1-p), dropped ones are exactly 0.
    assert set(np.unique(mask).tolist()) == {0.0, float(dtype(1 / (1 - p)))}
    assert abs((mask == 0).mean() - p) < 0.03
    assert out.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_array_equal(out.data, x.data * mask)
    np.testing.assert_array_equal(x.grad, upstream * mask)
    # PyTorch's dropout backward is grad * mask too: replay its mask through its own backward.
    out_torch = torch.ops.aten.native_dropout_backward(
        torch.from_numpy(upstream), torch.from_numpy(mask != 0), float(1 / (1 - p))
    )
    check_array(x.grad, out_torch, dtype, "dropout gradient vs aten.native_dropout_backward")


def test_dropout_p1_zeroes_everything() -> None:
    x = st.tensor(np.ones((3, 4)), requires_grad=True)
    out = F.dropout(x, 1.0)
    out.backward(np.ones((3, 4)))
    np.testing.assert_array_equal(out.data, 0)
    np.testing.assert_array_equal(x.grad, 0)


def test_table_covers_every_case_name_once() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
