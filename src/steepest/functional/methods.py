"""The Tensor methods that are the functions of `steepest.functional` called on `self`.

`x.gather(1, idx)` is `gather(x, 1, idx)`: PyTorch's method signatures are its functions'
without the first argument, so one table binds them, and the rule stays in one place (the
function). The in-place forms `x.<name>_(...)` write the function's result into x with
PyTorch's in-place rules (autograd/inplace.py); the hot ones (add_, sub_, mul_, div_, zero_,
fill_, copy_) have their own functions that skip the graph when nothing is recorded.
"""

from __future__ import annotations

from typing import Any

from steepest.functional import activation, normalization, pointwise, reduction, shape

# name on Tensor -> function whose first argument is the tensor.
METHODS = {
    # math
    "exp2": pointwise.exp2, "log2": pointwise.log2, "log10": pointwise.log10,
    "log1p": pointwise.log1p, "expm1": pointwise.expm1, "rsqrt": pointwise.rsqrt,
    "square": pointwise.square, "reciprocal": pointwise.reciprocal, "sign": pointwise.sign,
    "sgn": pointwise.sgn, "floor": pointwise.floor, "ceil": pointwise.ceil,
    "round": pointwise.round, "trunc": pointwise.trunc, "fix": pointwise.fix,
    "frac": pointwise.frac, "tan": pointwise.tan, "sinh": pointwise.sinh,
    "cosh": pointwise.cosh, "erf": pointwise.erf, "erfc": pointwise.erfc,
    "float_power": pointwise.float_power, "lerp": pointwise.lerp,
    "addcmul": pointwise.addcmul, "addcdiv": pointwise.addcdiv,
    "nan_to_num": pointwise.nan_to_num, "fmax": pointwise.fmax, "fmin": pointwise.fmin,
    # comparisons and logic
    "eq": pointwise.eq, "ne": pointwise.ne, "lt": pointwise.lt, "le": pointwise.le,
    "gt": pointwise.gt, "ge": pointwise.ge, "greater": pointwise.greater,
    "greater_equal": pointwise.greater_equal, "less": pointwise.less,
    "less_equal": pointwise.less_equal, "not_equal": pointwise.not_equal,
    "logical_and": pointwise.logical_and, "logical_or": pointwise.logical_or,
    "logical_xor": pointwise.logical_xor, "logical_not": pointwise.logical_not,
    "bitwise_and": pointwise.bitwise_and, "bitwise_or": pointwise.bitwise_or,
    "bitwise_xor": pointwise.bitwise_xor, "bitwise_not": pointwise.bitwise_not,
    "isnan": pointwise.isnan, "isinf": pointwise.isinf, "isfinite": pointwise.isfinite,
    "isposinf": pointwise.isposinf, "isneginf": pointwise.isneginf,
    "isclose": pointwise.isclose, "allclose": pointwise.allclose, "equal": pointwise.equal,
    # reductions
    "nansum": reduction.nansum, "nanmean": reduction.nanmean, "prod": reduction.prod,
    "cumsum": reduction.cumsum, "cumprod": reduction.cumprod,
    "logsumexp": reduction.logsumexp, "norm": reduction.norm, "aminmax": reduction.aminmax,
    "all": reduction.all, "any": reduction.any, "count_nonzero": reduction.count_nonzero,
    "sort": reduction.sort, "argsort": reduction.argsort, "msort": reduction.msort,
    "topk": reduction.topk, "kthvalue": reduction.kthvalue, "median": reduction.median,
    # indexing and shapes
    "index_select": shape.index_select, "gather": shape.gather, "scatter": shape.scatter,
    "scatter_add": shape.scatter_add,
    "take_along_dim": shape.take_along_dim, "take": shape.take,
    "masked_fill": shape.masked_fill, "masked_select": shape.masked_select,
    "repeat": shape.repeat, "tile": shape.tile, "repeat_interleave": shape.repeat_interleave,
    "split": shape.split, "tensor_split": shape.tensor_split, "chunk": shape.chunk,
    "unbind": shape.unbind, "narrow": shape.narrow, "select": shape.select,
    "tril": shape.tril, "triu": shape.triu, "outer": shape.outer, "ger": shape.ger,
    "mm": shape.mm, "bmm": shape.bmm, "mv": shape.mv, "dot": shape.dot, "inner": shape.inner,
    "flip": shape.flip, "fliplr": shape.fliplr, "flipud": shape.flipud, "roll": shape.roll,
    "rot90": shape.rot90, "diagonal": shape.diagonal, "diag": shape.diag,
    "diag_embed": shape.diag_embed, "trace": shape.trace, "unflatten": shape.unflatten,
    "movedim": shape.movedim, "moveaxis": shape.moveaxis, "broadcast_to": shape.broadcast_to,
    "nonzero": shape.nonzero, "argwhere": shape.argwhere, "unique": shape.unique,
    "bincount": shape.bincount,
    # activations and friends PyTorch has as methods
    "softplus": activation.softplus, "hardtanh": activation.hardtanh,
    "normalize": normalization.normalize,
}


def _where(self, condition: Any, y: Any):
    """x.where(condition, y): x where condition else y."""
    return shape.where(condition, self, y)


def _inplace(function, name: str):
    """x.<name>_(...): write function(x, ...) into x (PyTorch's in-place rules)."""

    def method(self, *args: Any, **kwargs: Any):
        others = tuple(args) + tuple(kwargs.values())
        return pointwise.inplace_result(self, lambda t: function(t, *args, **kwargs), *others)

    method.__name__ = name
    method.__doc__ = f"In-place {name[:-1]}: writes the result into this tensor."
    return method


def _masked_fill_(self, mask: Any, value: Any):
    return pointwise.inplace_result(self, lambda t: shape.masked_fill(t, mask, value), value)


# In-place forms of out-of-place functions.
INPLACE = {
    "clamp_": pointwise.clamp, "clip_": pointwise.clamp, "clamp_min_": pointwise.clamp_min,
    "clamp_max_": pointwise.clamp_max, "abs_": pointwise.abs, "neg_": pointwise.neg,
    "negative_": pointwise.neg, "exp_": pointwise.exp, "log_": pointwise.log,
    "log1p_": pointwise.log1p, "expm1_": pointwise.expm1, "sqrt_": pointwise.sqrt,
    "rsqrt_": pointwise.rsqrt, "square_": pointwise.square, "reciprocal_": pointwise.reciprocal,
    "sign_": pointwise.sign, "floor_": pointwise.floor, "ceil_": pointwise.ceil,
    "round_": pointwise.round, "trunc_": pointwise.trunc, "frac_": pointwise.frac,
    "sin_": pointwise.sin, "cos_": pointwise.cos, "tan_": pointwise.tan,
    "erf_": pointwise.erf, "lerp_": pointwise.lerp, "addcmul_": pointwise.addcmul,
    "addcdiv_": pointwise.addcdiv, "remainder_": pointwise.remainder,
    "fmod_": pointwise.fmod, "floor_divide_": pointwise.floor_divide,
    "nan_to_num_": pointwise.nan_to_num, "sigmoid_": activation.sigmoid,
    "tanh_": activation.tanh, "relu_": activation.relu, "tril_": shape.tril,
    "triu_": shape.triu, "maximum_": pointwise.maximum, "minimum_": pointwise.minimum,
    "hardtanh_": activation.hardtanh, "scatter_": shape.scatter,
    "scatter_add_": shape.scatter_add,
}

# In-place functions that are their own rule (fast when nothing is recorded).
DIRECT = {
    "add_": pointwise.add_, "sub_": pointwise.sub_, "subtract_": pointwise.sub_,
    "mul_": pointwise.mul_, "multiply_": pointwise.mul_, "div_": pointwise.div_,
    "divide_": pointwise.div_, "true_divide_": pointwise.div_, "pow_": pointwise.pow_,
    "zero_": pointwise.zero_, "fill_": pointwise.fill_, "copy_": pointwise.copy_,
    "normal_": pointwise.normal_, "uniform_": pointwise.uniform_,
    "bernoulli_": pointwise.bernoulli_, "exponential_": pointwise.exponential_,
    "random_": pointwise.random_, "masked_fill_": _masked_fill_, "where": _where,
}


def bind(tensor_class: type) -> None:
    """Attach every method of the tables to the Tensor class (at import of functional)."""
    for name, function in METHODS.items():
        # Methods take no out= (as PyTorch's): bind the function under the out= wrapper.
        setattr(tensor_class, name, getattr(function, "__wrapped__", function))
    for name, function in INPLACE.items():
        setattr(tensor_class, name, _inplace(function, name))
    for name, function in DIRECT.items():
        setattr(tensor_class, name, function)
