"""Functions over tensors: activations, linear, dropout, convolution, pooling and losses.

Also importable as `steepest.nn.functional` (so `import steepest.nn.functional as F` ports).
Composite functions are built from primitives; fused primitives (cross-entropy, convolution,
pooling) carry their own backward because a benchmark showed it pays.
"""

from steepest.functional.activation import (
    elu,
    leaky_relu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    softmax,
    tanh,
)
from steepest.functional.basic import (
    cat,
    clamp,
    clip,
    concatenate,
    dropout,
    dropout_mask,
    exp,
    flatten,
    linear,
    log,
    matmul,
    maximum,
    minimum,
    sqrt,
    stack,
    where,
)

__all__ = [
    "cat", "clamp", "clip", "concatenate", "dropout", "dropout_mask", "elu", "exp", "flatten",
    "leaky_relu", "linear", "log", "log_softmax", "matmul", "maximum", "minimum", "relu", "selu",
    "sigmoid", "softmax", "sqrt", "stack", "tanh", "where",
]
