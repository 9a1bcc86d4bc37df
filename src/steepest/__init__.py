"""steepest: gradient descent, from the chain rule up, on NumPy."""

from steepest._allocator import keep_freed_memory
from steepest.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from steepest.autograd.gradcheck import GradcheckError, analytic_grad, gradcheck, numerical_grad
from steepest.functional import (
    cat,
    clamp,
    clip,
    cos,
    exp,
    log,
    matmul,
    maximum,
    minimum,
    sigmoid,
    sin,
    softmax,
    sqrt,
    stack,
    tanh,
    where,
)
from steepest.random import default_generator, manual_seed
from steepest.tensor import (
    DEFAULT_DTYPE,
    Tensor,
    arange,
    from_numpy,
    full,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_DTYPE", "GradcheckError", "Tensor", "analytic_grad", "arange", "cat", "clamp",
    "clip", "cos", "default_generator", "enable_grad", "exp", "from_numpy", "full", "gradcheck",
    "is_grad_enabled", "keep_freed_memory", "log", "manual_seed", "matmul", "maximum",
    "minimum", "no_grad", "numerical_grad", "ones", "ones_like", "rand", "randn",
    "set_grad_enabled", "sigmoid", "sin",
    "softmax", "sqrt", "stack", "tanh", "tensor", "where", "zeros", "zeros_like",
]
