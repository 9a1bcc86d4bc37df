"""The ops PyTorch programs use, each written once as PyTorch code and run twice: with `torch`
bound to PyTorch and to steepest (`torch_parity.py`). Forward values, dtypes and shapes, and
the gradient of every input, in float64, over shapes that include 0-d, empty and broadcast.

One line per case: a name, the body `lambda torch, *inputs: ...` (the same text for both
libraries), the input shapes of each variant, and the domain the inputs are drawn from.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from torch_parity import check_op


class Op(NamedTuple):
    name: str
    body: Callable
    variants: tuple = ()  # each: a tuple of input shapes
    domain: object = "any"  # "any" U(-2, 2), "pos" U(0.5, 2), "nonzero", "unit" U(0.05, 0.95)
    values: tuple | None = None  # explicit inputs (kinks, ties, zeros)
    tol: dict | None = None  # where PyTorch itself rounds in float32 (stated at the case)


UNARY = (((),), ((0,),), ((3, 4),), ((2, 0, 3),))
BINARY = (((), ()), ((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((0, 3), (3,)))
ROWS = (((),), ((5,),), ((3, 4),), ((2, 3, 4),))
MATRIX = (((3, 4),), ((2, 3, 4),), ((0, 4),))
IMAGE = (((2, 3, 5, 6),), ((1, 2, 4, 4),))

IDX = np.array([2, 0, 2, 1])  # a repeated index: its gradients add up
GATHER = np.array([[0, 2, 2], [1, 0, 3], [3, 3, 0]])
MASK = np.array([[True, False, True, False], [False, False, True, True],
                 [True, True, False, False]])
TOKENS = np.array([[1, 0, 3], [3, 3, 2]])

O = Op
OPS = [
    # ------------------------------------------------------------------ elementwise
    O("exp", lambda torch, x: torch.exp(x), UNARY),
    O("log", lambda torch, x: torch.log(x), UNARY, "pos"),
    O("sqrt_method", lambda torch, x: x.sqrt(), UNARY, "pos"),
    O("rsqrt", lambda torch, x: torch.rsqrt(x), UNARY, "pos"),
    O("square", lambda torch, x: torch.square(x), UNARY),
    O("reciprocal", lambda torch, x: x.reciprocal(), UNARY, "nonzero"),
    O("sign", lambda torch, x: torch.sign(x), UNARY, values=([-2.0, 0.0, 3.5, -0.0],)),
    O("sign_random", lambda torch, x: x.sign() * x, UNARY, "nonzero"),
    O("floor", lambda torch, x: torch.floor(x) + x, UNARY),
    O("ceil", lambda torch, x: x.ceil() * x, UNARY),
    O("round", lambda torch, x: torch.round(x * 3) + x, UNARY),
    O("round_decimals", lambda torch, x: torch.round(x, decimals=2), UNARY),
    O("round_half_even", lambda torch, x: x.round(), (), values=([0.5, 1.5, 2.5, -0.5],)),
    O("trunc_frac", lambda torch, x: (torch.trunc(x), torch.frac(x)), UNARY),
    O("erf", lambda torch, x: torch.erf(x), UNARY),
    O("erf_wide", lambda torch, x: x.erf(), ((( 7, 5),),), (-6, 6)),
    O("erfc", lambda torch, x: torch.erfc(x), UNARY),
    O("log1p", lambda torch, x: torch.log1p(x), UNARY, (-0.9, 3)),
    O("log1p_tiny", lambda torch, x: x.log1p(), UNARY, (-1e-9, 1e-9)),
    O("expm1", lambda torch, x: torch.expm1(x), UNARY),
    O("expm1_tiny", lambda torch, x: x.expm1(), UNARY, (-1e-9, 1e-9)),
    O("exp2_log2_log10", lambda torch, x: (torch.exp2(x), x.log2(), torch.log10(x)), UNARY,
      "pos"),
    O("tan_sinh_cosh", lambda torch, x: (torch.tan(x), x.sinh(), torch.cosh(x)), UNARY,
      (-1.2, 1.2)),
    O("abs_neg", lambda torch, x: (torch.abs(x), x.neg(), torch.negative(x)), UNARY, "nonzero"),
    O("sigmoid_tanh_relu", lambda torch, x: (torch.sigmoid(x), x.tanh(), torch.relu(x)), UNARY),
    O("nan_to_num", lambda torch, x: torch.nan_to_num(x.log(), neginf=-5.0),
      values=([0.0, 1.0, 2.0],)),
    # ------------------------------------------------------------------ binary
    O("add_alpha", lambda torch, x, y: torch.add(x, y, alpha=2.5), BINARY),
    O("sub_alpha_method", lambda torch, x, y: x.sub(y, alpha=-0.5), BINARY),
    O("mul", lambda torch, x, y: torch.mul(x, y), BINARY),
    O("div", lambda torch, x, y: x.div(y), BINARY, "nonzero"),
    O("div_floor_trunc", lambda torch, x, y: (torch.div(x, y, rounding_mode="floor"),
                                              x.div(y, rounding_mode="trunc")), BINARY,
      "nonzero"),
    O("remainder_fmod", lambda torch, x, y: (torch.remainder(x, y), torch.fmod(x, y), x % y),
      BINARY, "nonzero"),
    # floor_divide has no derivative in PyTorch: compared without gradients.
    O("floor_divide", lambda torch, x, y: (x.detach() // y.detach(),
                                           torch.floor_divide(x.detach(), y.detach())),
      BINARY, "nonzero"),
    O("pow_tensor", lambda torch, x, y: torch.pow(x, y), BINARY, "pos"),
    O("pow_scalar_base", lambda torch, x: torch.pow(2.0, x), UNARY),
    O("maximum_minimum", lambda torch, x, y: (torch.maximum(x, y), torch.minimum(x, y)),
      BINARY),
    O("lerp", lambda torch, x, y: torch.lerp(x, y, 0.3), BINARY),
    O("addcmul_addcdiv", lambda torch, x, y: (torch.addcmul(x, x, y, value=0.5),
                                              torch.addcdiv(x, x, y, value=2)), BINARY,
      "nonzero"),
    O("where", lambda torch, x, y: torch.where(x > 0, x, y), BINARY),
    O("where_method_scalar", lambda torch, x: x.where(x > 0, 0.5), UNARY),
    # ------------------------------------------------------------------ clamp
    O("clamp_scalars", lambda torch, x: torch.clamp(x, -0.5, 0.7), UNARY),
    O("clamp_tensor_bounds", lambda torch, x, lo, hi: torch.clamp(x, lo - 1, hi + 1),
      (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((), (), ()), ((0,), (0,), (1,)))),
    O("clamp_min_tensor", lambda torch, x, lo: torch.clamp_min(x, lo), BINARY),
    O("clamp_max_tensor_method", lambda torch, x, hi: x.clamp_max(hi), BINARY),
    O("clamp_min_only_tensor", lambda torch, x, lo: x.clamp(min=lo), BINARY),
    O("clamp_crossed_bounds", lambda torch, x, lo, hi: torch.clamp(x, lo + 1, hi - 1),
      (((3, 4), (3, 4), (3, 4)),)),
    O("clip_alias", lambda torch, x: torch.clip(x, max=0.2), UNARY),
    O("clamp_at_bounds", lambda torch, x, lo: torch.clamp(x, lo, lo + 1.0),
      values=([-1.0, 0.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0])),
    # ------------------------------------------------------------------ reductions
    O("sum_dims", lambda torch, x: (x.sum(), x.sum(-1), torch.sum(x, (0,), keepdim=True)),
      ROWS),
    O("sum_dim0_on_0d", lambda torch, x: (x.sum(0), x.sum(-1, keepdim=True), x.mean(0),
                                           x.max(0), x.min(-1), x.amax(0), x.prod(0),
                                           x.argmax(0), x.logsumexp(0), x.cumsum(0),
                                           x.softmax(0), x.log_softmax(0), x.norm(dim=0),
                                           x.std(0, correction=0)), (((),),)),
    O("mean_dims", lambda torch, x: (x.mean(), torch.mean(x, dim=-1, keepdim=True)),
      ((((5,),), ((3, 4),), ((2, 3, 4),)))),
    O("std_var", lambda torch, x: (x.std(), torch.var(x, 0), x.std(dim=-1, correction=0),
                                   x.var(dim=(0, -1), keepdim=True, correction=2),
                                   x.var(-1, unbiased=False)), (((4, 5),), ((3, 2, 6),))),
    # PyTorch refuses integer input to these (steepest used to cast it to float).
    O("std_refuses_integers", lambda torch, x: x.long().std(), (((3,),),)),
    O("var_refuses_integers", lambda torch, x: torch.var(x.long(), 0), (((3,),),)),
    O("norm_refuses_integers", lambda torch, x: x.long().norm(), (((3,),),)),
    O("norm_of_integers_with_dtype", lambda torch, x: torch.linalg.vector_norm(
        x.long(), dtype=torch.float64), (((3,),),)),
    O("std_single_element", lambda torch, x: (x.std(), x.var(correction=0)), (((1,),),)),
    O("prod", lambda torch, x: (x.prod(), torch.prod(x, 1), x.prod(-1, keepdim=True)),
      (((3, 4),), ((2, 3, 4),))),
    O("prod_with_zeros", lambda torch, x: (x.prod(), x.prod(1)),
      values=([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0], [2.0, -1.0, 0.5]],)),
    O("cumsum", lambda torch, x: (torch.cumsum(x, 0), x.cumsum(dim=-1)), MATRIX),
    O("cumprod", lambda torch, x: torch.cumprod(x, 1), (((3, 4),),)),
    O("logsumexp", lambda torch, x: (torch.logsumexp(x, 1), x.logsumexp(dim=(0, 1)),
                                     x.logsumexp(-1, keepdim=True)), (((3, 4),), ((2, 3, 4),))),
    O("logsumexp_large", lambda torch, x: x.logsumexp(-1), (((3, 5),),), (-800, 800)),
    O("logsumexp_minus_inf", lambda torch, x: x.log().logsumexp(0),
      values=([0.0, 0.0],)),
    O("norm", lambda torch, x: (x.norm(), torch.norm(x, p=1), x.norm(p=3, dim=1),
                                torch.norm(x, float("inf"), dim=0), x.norm(2, -1, True),
                                torch.norm(x, "fro")), (((3, 4),), ((2, 3, 4),))),
    O("norm_at_zero", lambda torch, x: (x.norm(), x.norm(dim=1)),
      values=([[0.0, 0.0], [3.0, 4.0]],)),
    O("linalg_vector_norm", lambda torch, x: torch.linalg.vector_norm(x, ord=2, dim=-1),
      (((3, 4),),)),
    O("amax_amin", lambda torch, x: (x.amax(), torch.amin(x, dim=(0, 1)), x.amax(-1, True)),
      (((3, 4),), ((2, 3, 4),))),
    O("max_min_dim", lambda torch, x: (torch.max(x, 1), x.min(dim=0, keepdim=True), x.max()),
      (((3, 4),), ((2, 3, 4),))),
    O("max_dim_ties", lambda torch, x: (x.max(1), x.min(0), x.max()),
      values=([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]],)),
    O("max_other", lambda torch, x, y: torch.max(x, y), BINARY),
    O("argmax_argmin", lambda torch, x: (x.argmax(), torch.argmax(x, 1), x.argmin(dim=0,
                                                                                 keepdim=True)),
      (((3, 4),),)),
    O("topk", lambda torch, x: (torch.topk(x, 2), x.topk(3, dim=0, largest=False),
                                x.topk(1, -1, True, True)), (((4, 5),), ((3, 4, 6),))),
    O("topk_ties", lambda torch, x: x.topk(2), values=([[1.0, 3.0, 3.0, 2.0]],)),
    O("sort", lambda torch, x: (torch.sort(x), x.sort(dim=0, descending=True),
                                torch.argsort(x, dim=-1, descending=True)),
      (((4, 5),), ((5,),), ((0,),))),
    O("sort_stable_ties", lambda torch, x: (x.sort(stable=True), x.sort(descending=True,
                                                                         stable=True)),
      values=([2.0, 1.0, 2.0, 1.0, 3.0],)),
    O("median_kthvalue", lambda torch, x: (torch.median(x), x.median(1), x.kthvalue(2, dim=0)),
      (((3, 5),),)),
    O("all_any", lambda torch, x: (torch.all(x > 0), x.any(), (x > 0).all(1),
                                   torch.any(x > 1, dim=0, keepdim=True)), ROWS[1:]),
    # ------------------------------------------------------------------ indexing and shapes
    O("index_select", lambda torch, x: torch.index_select(x, 0, torch.tensor(IDX)),
      (((3, 4),), ((3,),))),
    O("index_select_dim1", lambda torch, x: x.index_select(1, torch.tensor([1, 1, 0])),
      (((2, 3, 4),),)),
    O("gather", lambda torch, x: torch.gather(x, 1, torch.tensor(GATHER)), (((3, 4),),)),
    O("gather_dim0_smaller", lambda torch, x: x.gather(0, torch.tensor([[2, 0], [2, 1]])),
      (((3, 4),),)),
    # PyTorch's backward needs src of the index's shape.
    O("scatter", lambda torch, x, src, row: (
        x.scatter(1, torch.tensor(GATHER[:, :3]), src),
        torch.scatter(x, 0, torch.tensor([[2, 0, 1, 1]]), row),
        x.scatter(1, torch.tensor([[3], [0], [1]]), value=-2.0)), (((3, 4), (3, 3), (1, 4)),)),
    O("scatter_add", lambda torch, x, src: torch.scatter_add(x, 1, torch.tensor(GATHER[:, :3]),
                                                             src), (((3, 4), (3, 3)),)),
    O("scatter_one_hot", lambda torch: torch.zeros(5).scatter_(0, torch.tensor(3), value=1),
      ((),)),
    O("take_along_dim", lambda torch, x: torch.take_along_dim(x, x.argsort(dim=1), dim=1),
      (((3, 4),),)),
    O("masked_fill", lambda torch, x: (x.masked_fill(torch.tensor(MASK), -1.5),
                                       torch.masked_fill(x, torch.tensor(MASK[0]), 0.0)),
      (((3, 4),),)),
    O("masked_fill_tensor_value", lambda torch, x, v: x.masked_fill(x > 0, v),
      (((3, 4), ()),)),
    O("masked_select", lambda torch, x: torch.masked_select(x, torch.tensor(MASK)),
      (((3, 4),),)),
    O("repeat", lambda torch, x: (x.repeat(2, 3), x.repeat(2, 1, 2)), (((2, 3),), ((3,),))),
    O("repeat_0d", lambda torch, x: x.repeat(3), (((),),)),
    O("tile_repeat_interleave", lambda torch, x: (torch.tile(x, (2,)), x.repeat_interleave(2),
                                                  torch.repeat_interleave(x, 3, dim=0)),
      (((3, 2),),)),
    O("split_chunk", lambda torch, x: (torch.split(x, 2), x.split([1, 3, 1], dim=0),
                                       torch.chunk(x, 3), x.chunk(2, dim=1)),
      (((5, 4),),)),
    O("chunk_fewer", lambda torch, x: torch.chunk(x, 4), (((6,),),)),
    O("unbind_narrow_select", lambda torch, x: (x.unbind(1), torch.narrow(x, 0, 1, 2),
                                                x.select(1, -1)), (((3, 4),),)),
    O("tril_triu", lambda torch, x: (torch.tril(x), x.triu(1), torch.tril(x, diagonal=-1),
                                     x.triu(diagonal=-2)), (((4, 5),), ((2, 3, 3),), ((0, 2),))),
    O("einsum_matmul", lambda torch, a, b: torch.einsum("ij,jk->ik", a, b),
      (((3, 4), (4, 5)),)),
    O("einsum_batch", lambda torch, a, b: torch.einsum("bij,bjk->bik", a, b),
      (((2, 3, 4), (2, 4, 5)),)),
    O("einsum_implicit_dot", lambda torch, a, b: torch.einsum("i,i", a, b), (((4,), (4,)),)),
    O("einsum_trace_diag", lambda torch, a: (torch.einsum("ii", a), torch.einsum("ii->i", a)),
      (((4, 4),),)),
    O("einsum_ellipsis_sum", lambda torch, a: (torch.einsum("...ij->...ji", a),
                                               torch.einsum("ij->", a),
                                               torch.einsum("bij->j", a)), (((2, 3, 4),),)),
    O("einsum_outer_list", lambda torch, a, b: torch.einsum("i,j->ij", [a, b]),
      (((3,), (2,)),)),
    O("einsum_three", lambda torch, a, b, c: torch.einsum("ij,jk,kl->il", a, b, c),
      (((2, 3), (3, 4), (4, 2)),)),
    O("outer_mm_bmm", lambda torch, a, b: (torch.outer(a[0], b[0]), torch.mm(a, b.T),
                                           a.mm(b.mT), torch.bmm(a[None], b.T[None])),
      (((3, 4), (5, 4)),)),
    O("mT_t", lambda torch, x: (x.mT, x[0].t(), x.T), (((2, 3, 4),),)),
    O("squeeze_tuple", lambda torch, x: (x.squeeze((0, 2)), torch.squeeze(x, (1, -1)),
                                         x.squeeze()), (((1, 3, 1, 2),), ((1, 1, 1, 1),))),
    O("squeeze_0d", lambda torch, x: (x.squeeze(0), x.unsqueeze(0), x.squeeze()), (((),),)),
    O("flip_roll", lambda torch, x: (torch.flip(x, (0,)), x.flip(-1), torch.roll(x, 1, 1),
                                     x.roll(-2)), (((3, 4),),)),
    O("movedim_unflatten", lambda torch, x: (torch.movedim(x, 0, -1), x.unflatten(1, (2, 2))),
      (((3, 4),),)),
    O("diagonal_trace", lambda torch, x: (torch.diagonal(x), x.diagonal(1), torch.trace(x),
                                          torch.diag(x), torch.diag(x[0])), (((4, 4),),)),
    O("cat_stack", lambda torch, x, y: (torch.cat([x, y]), torch.stack([x, y], 1),
                                        torch.cat([x, torch.zeros(0)])), (((3,), (3,)),)),
    O("expand_as_view_as", lambda torch, x, y: (x.expand_as(y), y.view_as(y.T)),
      (((3, 1), (3, 4)),)),
    # ------------------------------------------------------------------ PyTorch's indexing
    O("index_int_slice_list", lambda torch, x: x[0, :, [1, 2]], (((3, 4, 5),),)),
    O("index_slice_list_int", lambda torch, x: x[:, [0, 2], 0], (((3, 4, 5),),)),
    O("index_list_slice_list", lambda torch, x: x[[0, 1], :, [1, 2]], (((3, 4, 5),),)),
    O("index_int_list_slice_list", lambda torch, x: x[1, [0, 2], :, [1, 0]],
      (((2, 3, 4, 5),),)),
    O("index_tensor_and_int", lambda torch, x: x[torch.tensor([2, 0]), 1], (((3, 4),),)),
    O("index_bool_and_int", lambda torch, x: x[0, torch.tensor([True, False, True, True])],
      (((2, 4),),)),
    O("index_ellipsis_list", lambda torch, x: x[..., [0, 0]], (((2, 3, 4),),)),
    O("setitem_mixed_index", lambda torch, x, v: _setitem(x, (0, slice(None), [1, 2]), v),
      (((3, 4, 5), (4, 2)),)),
    O("setitem_mask", lambda torch, x, v: _setitem(x, x > 0, v), (((3, 4), ()),)),
    O("setitem_slice_broadcast", lambda torch, x, v: _setitem(x, (slice(1, None),), v),
      (((3, 4), (4,)),)),
    # ------------------------------------------------------------------ activations
    O("gelu", lambda torch, x: (torch.nn.functional.gelu(x),
                                torch.nn.functional.gelu(x, approximate="tanh")), UNARY,
      (-4, 4)),
    O("softplus", lambda torch, x: (torch.nn.functional.softplus(x),
                                    torch.nn.functional.softplus(x, beta=2, threshold=5)),
      UNARY, (-30, 30)),
    O("softplus_at_zero", lambda torch, x: torch.nn.functional.softplus(x),
      values=([0.0, 20.0, 20.5],)),
    O("silu_mish", lambda torch, x: (torch.nn.functional.silu(x), torch.nn.functional.mish(x)),
      UNARY, (-5, 5)),
    O("hardtanh_relu6", lambda torch, x: (torch.nn.functional.hardtanh(x),
                                          torch.nn.functional.hardtanh(x, -0.5, 2.0),
                                          torch.nn.functional.relu6(x * 4)), UNARY, (-3, 3)),
    O("hardtanh_relu6_kinks", lambda torch, x: (torch.nn.functional.hardtanh(x),
                                                torch.nn.functional.relu6(x * 6)),
      values=([-1.0, 0.0, 1.0, 2.0],)),
    O("logsigmoid", lambda torch, x: torch.nn.functional.logsigmoid(x), UNARY, (-50, 50)),
    O("softsign", lambda torch, x: torch.nn.functional.softsign(x), UNARY),
    O("softsign_at_zero", lambda torch, x: torch.nn.functional.softsign(x), values=([0.0],)),
    # PyTorch's hardsigmoid gradient multiplies by 1.0f / 6.0f, a float32 constant, even in
    # float64: its gradient is off by 3e-8 relative; steepest uses 1/6.
    O("hardswish_hardsigmoid", lambda torch, x: (torch.nn.functional.hardswish(x),
                                                 torch.nn.functional.hardsigmoid(x)),
      UNARY, (-4, 4), tol=dict(rtol=1e-7, atol=1e-9)),
    O("elu_selu_leaky", lambda torch, x: (torch.nn.functional.elu(x, 0.7),
                                          torch.nn.functional.selu(x),
                                          torch.nn.functional.leaky_relu(x, 0.2)), UNARY),
    # PyTorch's celu backward passes 1/alpha through a float32 scalar: 1e-8 relative.
    O("celu", lambda torch, x: torch.nn.functional.celu(x, 1.3), UNARY,
      tol=dict(rtol=1e-7, atol=1e-9)),
    O("glu_threshold", lambda torch, x: (torch.nn.functional.glu(x),
                                         torch.nn.functional.threshold(x, 0.1, -2.0)),
      (((3, 4),),)),
    O("softmax_dims", lambda torch, x: (torch.softmax(x, 0), x.softmax(-1),
                                        torch.nn.functional.log_softmax(x, dim=1),
                                        torch.nn.functional.softmin(x, 1)),
      (((3, 4),), ((2, 3, 4),))),
    O("softmax_empty_dim", lambda torch, x: (torch.softmax(x, 1), x.log_softmax(1),
                                             torch.softmax(x, 0)), (((3, 0),), ((0, 4),))),
    O("softmax_dtype", lambda torch, x: torch.softmax(x, 1, dtype=torch.float32),
      (((3, 4),),), tol=dict(rtol=1e-5, atol=1e-6)),  # computed in float32 by both
    # ------------------------------------------------------------------ normalisation
    O("layer_norm", lambda torch, x, w, b: (torch.nn.functional.layer_norm(x, (4,), w, b),
                                            torch.nn.functional.layer_norm(x, [4])),
      (((3, 4), (4,), (4,)), ((2, 3, 4), (4,), (4,)))),
    O("layer_norm_two_dims", lambda torch, x, w: torch.nn.functional.layer_norm(
        x, (3, 4), w, eps=1e-3), (((2, 3, 4), (3, 4)),)),
    O("batch_norm_train", lambda torch, x, w, b: _batch_norm(torch, x, w, b, True),
      (((4, 3), (3,), (3,)), ((2, 3, 5), (3,), (3,)))),
    O("batch_norm_eval", lambda torch, x, w, b: _batch_norm(torch, x, w, b, False),
      (((4, 3, 2, 2), (3,), (3,)),)),
    O("group_norm", lambda torch, x, w, b: (torch.nn.functional.group_norm(x, 2, w, b),
                                            torch.nn.functional.group_norm(x, 1),
                                            torch.nn.functional.group_norm(x, 4, eps=1e-2)),
      (((2, 4, 3), (4,), (4,)), ((3, 4, 2, 3), (4,), (4,)))),
    O("instance_norm", lambda torch, x, w, b: torch.nn.functional.instance_norm(
        x, weight=w, bias=b), (((2, 3, 5), (3,), (3,)),)),
    O("rms_norm", lambda torch, x, w: torch.nn.functional.rms_norm(x, (4,), w, 1e-6),
      (((3, 4), (4,)),)),
    O("normalize", lambda torch, x: (torch.nn.functional.normalize(x),
                                     torch.nn.functional.normalize(x, p=1, dim=0),
                                     torch.nn.functional.normalize(x, dim=-1, eps=0.5)),
      (((3, 4),), ((2, 3, 4),))),
    O("normalize_zero_row", lambda torch, x: torch.nn.functional.normalize(x),
      values=([[0.0, 0.0], [3.0, 4.0]],)),
    # ------------------------------------------------------------------ layers
    O("embedding", lambda torch, w: torch.nn.functional.embedding(torch.tensor(TOKENS), w),
      (((4, 3),),)),
    O("embedding_padding_idx", lambda torch, w: torch.nn.functional.embedding(
        torch.tensor(TOKENS), w, padding_idx=3), (((4, 3),),)),
    O("embedding_scale_grad_by_freq", lambda torch, w: torch.nn.functional.embedding(
        torch.tensor(TOKENS), w, scale_grad_by_freq=True), (((4, 3),),)),
    O("embedding_max_norm", lambda torch, w: torch.nn.functional.embedding(
        torch.tensor(TOKENS), w * 1, max_norm=1.0), (((4, 3),),)),
    O("one_hot", lambda torch: (torch.nn.functional.one_hot(torch.tensor(TOKENS)),
                                torch.nn.functional.one_hot(torch.tensor([0, 2]), 5)), ((),)),
    O("pad_constant", lambda torch, x: (torch.nn.functional.pad(x, (1, 2)),
                                        torch.nn.functional.pad(x, (0, 1, 2, 0), value=-1.5),
                                        torch.nn.functional.pad(x, (-1, 1, 1, -1))),
      (((2, 3, 4),),)),
    O("pad_reflect_replicate_circular", lambda torch, x: (
        torch.nn.functional.pad(x, (1, 2, 2, 1), mode="reflect"),
        torch.nn.functional.pad(x, (3, 1, 0, 2), mode="replicate"),
        torch.nn.functional.pad(x, (1, 2, 2, 1), mode="circular")), (((1, 2, 4, 5),),)),
    O("pad_1d_reflect", lambda torch, x: torch.nn.functional.pad(x, (2, 3), mode="reflect"),
      (((2, 3, 6),), ((3, 6),))),
    O("pad_reflect_needs_matching_rank", lambda torch, x: torch.nn.functional.pad(
        x, (2, 1), mode="reflect"), (((1, 2, 4, 5),),)),
    O("avg_pool1d", lambda torch, x: (torch.nn.functional.avg_pool1d(x, 3),
                                      torch.nn.functional.avg_pool1d(x, 3, 2, 1),
                                      torch.nn.functional.avg_pool1d(x, 2, ceil_mode=True,
                                                                     count_include_pad=False)),
      (((2, 3, 7),), ((3, 8),))),
    O("adaptive_avg_pool2d", lambda torch, x: (
        torch.nn.functional.adaptive_avg_pool2d(x, 1),
        torch.nn.functional.adaptive_avg_pool2d(x, (2, 3)),
        torch.nn.functional.adaptive_avg_pool2d(x, (4, None))), IMAGE),
    O("adaptive_avg_pool1d", lambda torch, x: torch.nn.functional.adaptive_avg_pool1d(x, 3),
      (((2, 3, 7),),)),
    O("adaptive_max_pool2d", lambda torch, x: torch.nn.functional.adaptive_max_pool2d(x, (2, 3)),
      IMAGE),
    O("conv_transpose2d", lambda torch, x, w, b: (
        torch.nn.functional.conv_transpose2d(x, w, b),
        torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        torch.nn.functional.conv_transpose2d(x, w, b, stride=(2, 1), dilation=2)),
      (((2, 4, 3, 5), (4, 3, 3, 2), (3,)),)),
    O("conv_transpose2d_groups", lambda torch, x, w: torch.nn.functional.conv_transpose2d(
        x, w, groups=2, stride=2), (((1, 4, 3, 3), (4, 3, 2, 2)),)),
    O("conv_transpose1d", lambda torch, x, w, b: torch.nn.functional.conv_transpose1d(
        x, w, b, stride=3, padding=1, output_padding=2), (((2, 3, 5), (3, 2, 4), (2,)),)),
    O("interpolate_nearest", lambda torch, x: (
        torch.nn.functional.interpolate(x, scale_factor=2),
        torch.nn.functional.interpolate(x, size=(3, 7)),
        torch.nn.functional.interpolate(x, size=(5, 4), mode="nearest-exact")), IMAGE),
    O("interpolate_bilinear", lambda torch, x: (
        torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
        torch.nn.functional.interpolate(x, size=(7, 3), mode="bilinear", align_corners=True),
        torch.nn.functional.interpolate(x, scale_factor=0.5, mode="bilinear")), IMAGE),
    O("interpolate_bicubic_area", lambda torch, x: (
        torch.nn.functional.interpolate(x, size=(6, 9), mode="bicubic"),
        torch.nn.functional.interpolate(x, size=(3, 2), mode="area"),
        torch.nn.functional.interpolate(x, scale_factor=1.5, mode="bicubic",
                                        align_corners=True)), IMAGE),
    O("interpolate_linear_1d", lambda torch, x: (
        torch.nn.functional.interpolate(x, size=11, mode="linear"),
        torch.nn.functional.interpolate(x, scale_factor=3, mode="nearest")), (((2, 3, 5),),)),
    # ------------------------------------------------------------------ losses and similarity
    O("l1_loss", lambda torch, x, y: (torch.nn.functional.l1_loss(x, y),
                                      torch.nn.functional.l1_loss(x, y, reduction="sum"),
                                      torch.nn.functional.l1_loss(x, y, reduction="none")),
      (((3, 4), (3, 4)), ((), ()))),
    O("smooth_l1_huber", lambda torch, x, y: (
        torch.nn.functional.smooth_l1_loss(x, y),
        torch.nn.functional.smooth_l1_loss(x, y, beta=0.5, reduction="none"),
        torch.nn.functional.smooth_l1_loss(x, y, beta=0.0),
        torch.nn.functional.huber_loss(x, y, delta=0.7, reduction="sum")),
      (((3, 4), (3, 4)), ((5,), (5,)))),
    O("binary_cross_entropy", lambda torch, p, t, w: (
        torch.nn.functional.binary_cross_entropy(p, t),
        torch.nn.functional.binary_cross_entropy(p, t, weight=w.detach(), reduction="none"),
        torch.nn.functional.binary_cross_entropy(p, t, reduction="sum")),
      (((3, 4), (3, 4), (3, 4)), ((5,), (5,), (5,))), "unit"),
    O("kl_div", lambda torch, q, p: (
        torch.nn.functional.kl_div(q.log_softmax(-1), p.softmax(-1), reduction="batchmean"),
        torch.nn.functional.kl_div(q.log_softmax(-1), p.softmax(-1), reduction="none"),
        torch.nn.functional.kl_div(q, p, reduction="sum", log_target=True),
        torch.nn.functional.kl_div(q, p.softmax(-1))), (((3, 4), (3, 4)),)),
    # d/dp of p·log p is −inf at p = 0 (PyTorch gives NaN): the target is kept constant here.
    O("kl_div_zero_target", lambda torch, q, p: torch.nn.functional.kl_div(
        q, p.detach(), reduction="sum"), values=([-1.0, -2.0, -0.5], [0.0, 0.25, 0.75])),
    O("cosine_similarity", lambda torch, a, b: (torch.nn.functional.cosine_similarity(a, b),
                                                torch.nn.functional.cosine_similarity(a, b, 0),
                                                torch.nn.functional.cosine_similarity(a, b[0],
                                                                                      dim=-1)),
      (((3, 4), (3, 4)),)),
    O("cosine_similarity_zero", lambda torch, a, b: torch.nn.functional.cosine_similarity(
        a, b, dim=-1), values=([[0.0, 0.0], [1.0, 2.0]], [[1.0, 1.0], [0.0, 0.0]])),
    O("pairwise_distance", lambda torch, a, b: (torch.nn.functional.pairwise_distance(a, b),
                                                torch.nn.functional.pairwise_distance(
                                                    a, b, p=1, keepdim=True)),
      (((3, 4), (3, 4)),)),
    O("mse_cross_entropy_bce_logits", lambda torch, x, y: (
        torch.nn.functional.mse_loss(x, y),
        torch.nn.functional.cross_entropy(x, torch.tensor([1, 0, 3])),
        torch.nn.functional.binary_cross_entropy_with_logits(x, y.sigmoid())),
      (((3, 4), (3, 4)),)),
    # ------------------------------------------------------------------ 0-d, empty, broadcast
    # reductions and math over empty and 0-d inputs
    O("sum_prod_cumsum_empty", lambda torch, x: (x.sum(0), x.prod(0), x.prod(), x.cumsum(0),
                                                 x.cumsum(1), torch.cumprod(x, 0)),
      (((0, 3),), ((3, 0),))),
    O("logsumexp_empty", lambda torch, x: (x.logsumexp(0), torch.logsumexp(x, 1)),
      (((0, 3),), ((3, 0),))),
    O("norm_empty", lambda torch, x: (x.norm(), x.norm(dim=0), torch.norm(x, p=1, dim=1)),
      (((0, 3),), ((3, 0),))),
    O("mean_std_var_empty", lambda torch, x: (x.mean(1), x.std(1), x.var(0, correction=0)),
      (((0, 3),), ((3, 0),))),
    O("std_var_0d", lambda torch, x: (x.std(), x.var(correction=0), torch.std(x, 0, correction=0)),
      (((),),)),
    O("prod_cumsum_logsumexp_0d", lambda torch, x: (x.prod(), torch.cumsum(x, 0), x.logsumexp(-1),
                                                   x.norm(p=1), x.norm(float("inf"))), (((),),)),
    O("amax_max_empty_dim", lambda torch, x: (x.amax(1), x.max(1)), (((3, 0),), ((0, 3),))),
    O("all_any_0d_empty", lambda torch, x: (torch.all(x > 0), (x > 0).any(), x.all(), x.any()),
      (((),), ((0,),), ((2, 0),))),
    O("all_any_dim_empty", lambda torch, x: (x.all(1), (x > 0).any(dim=0)), (((2, 0),), ((0, 2),))),
    O("topk_sort_0d", lambda torch, x: (x.topk(1), torch.sort(x), x.argsort()), (((),),)),
    O("topk_k0_and_empty", lambda torch, x: (x.topk(0), torch.topk(x, 0, dim=0)),
      (((3, 4),), ((0, 4),))),
    # indexing and shape
    O("index_select_0d_empty", lambda torch, x: (
        torch.index_select(x, 0, torch.tensor([0, 0])),
        x.index_select(0, torch.tensor([], dtype=torch.long)),
        x.index_select(-1, torch.tensor(0))), (((),), ((3, 4),), ((2, 0),))),
    O("gather_0d_empty", lambda torch, x: (
        torch.gather(x, 0, torch.zeros(x.shape, dtype=torch.long)),
        x.gather(-1, torch.zeros(x.shape[:-1] + (0,) if x.ndim else (), dtype=torch.long))),
      (((),), ((3, 4),), ((0, 2),))),
    O("masked_fill_broadcast_0d_empty", lambda torch, x, m: x.masked_fill(m > 0, 2.5),
      (((), ()), ((3, 4), (4,)), ((3, 4), (3, 1)), ((0, 4), (4,)), ((3, 4), ()))),
    O("masked_fill_value_tensor_broadcast", lambda torch, x, m, v: x.masked_fill(m > 0, v),
      (((3, 4), (3, 1), ()), ((), (), ()))),
    O("repeat_empty_and_zero", lambda torch, x: (x.repeat(2, 1), x.repeat(0, 2), x.repeat(1, 1, 2)),
      (((0, 3),), ((2, 3),))),
    O("split_chunk_empty", lambda torch, x: (torch.split(x, 2), x.split([0, 2], dim=1),
                                             torch.chunk(x, 2, dim=1)), (((0, 2),), ((3, 2),))),
    O("tril_triu_empty_rows", lambda torch, x: (x.tril(), torch.triu(x, 1)),
      (((3, 0),), ((2, 0, 3),))),
    O("einsum_empty_0d_broadcast", lambda torch, a, b: (torch.einsum("ij,jk->ik", a, b),),
      (((3, 0), (0, 5)), ((0, 4), (4, 2)))),
    O("einsum_scalars", lambda torch, a, b: torch.einsum(",->", a, b), (((), ()),)),
    O("einsum_ellipsis_broadcast", lambda torch, a, b: torch.einsum("...ij,...jk->...ik", a, b),
      (((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)))),
    O("outer_mm_bmm_empty", lambda torch, a, b: (torch.outer(a[0], b[0]), torch.mm(a, b.T),
                                                 torch.bmm(a[None], b.mT[None])),
      (((3, 0), (5, 0)), ((1, 4), (1, 4)))),
    O("outer_empty_vector", lambda torch, a, b: torch.outer(a, b), (((0,), (3,)), ((), ()))),
    O("bmm_empty_batch", lambda torch, a, b: torch.bmm(a, b), (((0, 3, 4), (0, 4, 2)),)),
    O("mT_empty", lambda torch, x: (x.mT, x.mT.sum(-1)), (((0, 3, 4),), ((2, 0, 3),))),
    O("squeeze_tuple_empty", lambda torch, x: (x.squeeze((0, 2)), x.squeeze((1,))),
      (((1, 0, 1),),)),
    # activations, normalisation, layers, losses on 0-d, empty and broadcast inputs
    O("glu_empty", lambda torch, x: torch.nn.functional.glu(x, 0), (((0, 3),), ((4, 0),))),
    O("activations_empty", lambda torch, x: (torch.nn.functional.gelu(x),
                                             torch.nn.functional.silu(x),
                                             torch.nn.functional.softplus(x),
                                             torch.nn.functional.hardtanh(x),
                                             torch.nn.functional.relu6(x),
                                             torch.nn.functional.logsigmoid(x),
                                             torch.nn.functional.softsign(x)),
      (((),), ((0, 3),))),
    O("layer_norm_empty_batch", lambda torch, x, w, b: torch.nn.functional.layer_norm(
        x, (4,), w, b),
      (((0, 4), (4,), (4,)), ((2, 0, 4), (4,), (4,)))),
    O("group_norm_empty_batch", lambda torch, x, w, b: torch.nn.functional.group_norm(x, 2, w, b),
      (((0, 4, 3), (4,), (4,)),)),
    O("batch_norm_eval_empty", lambda torch, x, w, b: _batch_norm(torch, x, w, b, False),
      (((0, 3), (3,), (3,)),)),
    O("batch_norm_train_one_value", lambda torch, x, w, b: _batch_norm(torch, x, w, b, True),
      (((1, 3), (3,), (3,)),)),
    O("embedding_0d_empty_index", lambda torch, w: (
        torch.nn.functional.embedding(torch.tensor(2), w),
        torch.nn.functional.embedding(torch.tensor([], dtype=torch.long), w),
        torch.nn.functional.embedding(torch.zeros((2, 0), dtype=torch.long), w)), (((4, 3),),)),
    O("one_hot_0d_empty", lambda torch: (torch.nn.functional.one_hot(torch.tensor(2), 4),
                                         torch.nn.functional.one_hot(
                                             torch.tensor([], dtype=torch.long), 3)), ((),)),
    O("pad_empty_batch", lambda torch, x: (torch.nn.functional.pad(x, (1, 2)),
                                           torch.nn.functional.pad(x, (1, 1, 2, 0), value=3.0)),
      (((0, 3, 4),), ((2, 0, 4),))),
    O("pad_1d", lambda torch, x: torch.nn.functional.pad(x, (2, 1), value=-1.0),
      (((4,),), ((0,),))),
    O("pools_empty_batch", lambda torch, x: (torch.nn.functional.avg_pool1d(x[:, :, 0], 2),
                                             torch.nn.functional.adaptive_avg_pool2d(x, (2, 1))),
      (((0, 2, 4, 4),),)),
    O("conv_transpose2d_empty_batch", lambda torch, x, w: torch.nn.functional.conv_transpose2d(
        x, w, stride=2), (((0, 4, 3, 3), (4, 3, 2, 2)),)),
    O("interpolate_empty_batch", lambda torch, x: (
        torch.nn.functional.interpolate(x, scale_factor=2),
        torch.nn.functional.interpolate(x, size=(3, 5), mode="bilinear")), (((0, 2, 4, 4),),)),
    O("losses_0d", lambda torch, x, y: (torch.nn.functional.l1_loss(x, y),
                                        torch.nn.functional.smooth_l1_loss(x, y),
                                        torch.nn.functional.huber_loss(x, y, reduction="sum"),
                                        torch.nn.functional.kl_div(x, y.abs(), reduction="sum"),
                                        torch.nn.functional.mse_loss(x, y)), (((), ()),)),
    O("bce_0d", lambda torch, p, t: torch.nn.functional.binary_cross_entropy(p, t), (((), ()),),
      "unit"),
    O("losses_empty", lambda torch, x, y: (torch.nn.functional.l1_loss(x, y),
                                           torch.nn.functional.smooth_l1_loss(x, y,
                                                                              reduction="sum"),
                                           torch.nn.functional.kl_div(x, y.abs(), reduction="none"),
                                           torch.nn.functional.l1_loss(x, y, reduction="none")),
      (((0,), (0,)), ((2, 0), (2, 0)))),
    O("bce_empty", lambda torch, p, t: (torch.nn.functional.binary_cross_entropy(p, t),
                                        torch.nn.functional.binary_cross_entropy(
                                            p, t, reduction="sum")),
      (((0,), (0,)),), "unit"),
    # The regression losses refuse different shapes (test_regression_losses_refuse_...).
    O("kl_div_broadcast", lambda torch, x, y: torch.nn.functional.kl_div(x, y.abs(),
                                                                         reduction="sum"),
      (((3, 4), (4,)), ((3, 1), (1, 4)))),
    O("bce_broadcast_weight", lambda torch, p, t, w: torch.nn.functional.binary_cross_entropy(
        p, t, weight=w.detach()), (((3, 4), (3, 4), (4,)), ((3, 4), (3, 4), ())), "unit"),
    O("normalize_cosine_broadcast_empty", lambda torch, a, b: (
        torch.nn.functional.normalize(a, dim=-1),
        torch.nn.functional.cosine_similarity(a, b, dim=-1)),
      (((3, 1, 4), (5, 4)), ((0, 4), (4,)), ((2, 3), (2, 3)))),
    O("cosine_similarity_0d_pair", lambda torch, a, b: torch.nn.functional.cosine_similarity(
        a, b, dim=0), (((), ()),)),
]


def _setitem(x, index, value):
    y = x * 1.0
    y[index] = value
    return y


def _batch_norm(torch, x, w, b, training):
    mean = torch.zeros(x.shape[1], dtype=torch.float64)
    var = torch.ones(x.shape[1], dtype=torch.float64) * 1.5
    out = torch.nn.functional.batch_norm(x, mean, var, w, b, training=training, momentum=0.3,
                                         eps=1e-4)
    return out, mean, var


def make_arrays(op: Op, shapes: tuple, rng: np.random.Generator) -> list[np.ndarray]:
    if op.values is not None:
        return [np.asarray(v, dtype=np.float64) for v in op.values]
    arrays = []
    for shape in shapes:
        if op.domain == "any":
            a = rng.uniform(-2, 2, shape)
        elif op.domain == "pos":
            a = rng.uniform(0.5, 2, shape)
        elif op.domain == "nonzero":
            a = rng.uniform(0.5, 2, shape) * rng.choice([-1.0, 1.0], shape)
        elif op.domain == "unit":
            a = rng.uniform(0.05, 0.95, shape)
        else:
            a = rng.uniform(*op.domain, shape)
        arrays.append(np.asarray(a, dtype=np.float64))
    return arrays


CASES = [(op, shapes) for op in OPS for shapes in (op.variants if op.values is None else ((),))]


def _case_id(case) -> str:
    op, shapes = case
    return op.name if op.values is not None else f"{op.name}-" + "-".join(
        "x".join(map(str, s)) or "0d" for s in shapes)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_op_matches_torch_float64(case) -> None:
    op, shapes = case
    rng = np.random.default_rng(zlib.crc32(_case_id(case).encode()))
    check_op(op.body, make_arrays(op, shapes, rng), _case_id(case), tol=op.tol)


def test_every_op_name_is_unique() -> None:
    assert len({op.name for op in OPS}) == len(OPS)


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_losses_refuse_different_shapes_where_pytorch_broadcasts(loss) -> None:
    """steepest's documented deviation: (N, 1) against (N,) is nearly always a bug, so it is an
    error naming both shapes, where PyTorch warns and broadcasts to (N, N)."""
    import torch

    import steepest

    x, y = np.ones((3, 1)), np.zeros(3)
    with pytest.warns(UserWarning, match="target size"):
        assert getattr(torch.nn.functional, loss)(torch.tensor(x), torch.tensor(y)).ndim == 0
    with pytest.raises(ValueError, match=r"input of shape \(3, 1\) and target of shape \(3,\)"):
        getattr(steepest.nn.functional, loss)(steepest.tensor(x), steepest.tensor(y))
