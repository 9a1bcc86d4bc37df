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
    cos,
    dropout,
    dropout_mask,
    exp,
    flatten,
    linear,
    log,
    matmul,
    maximum,
    minimum,
    sin,
    sqrt,
    stack,
    where,
)
from steepest.functional.conv import conv1d, conv2d
from steepest.functional.loss import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    l2_penalty,
    mse_loss,
    multi_margin_loss,
    multiclass_svm_loss,
    nll_loss,
)
from steepest.functional.pooling import (
    avg_pool2d,
    fractional_max_pool2d,
    max_pool1d,
    max_pool2d,
)

__all__ = [
    "avg_pool2d", "binary_cross_entropy_with_logits", "conv1d", "conv2d", "cross_entropy",
    "fractional_max_pool2d", "l2_penalty", "max_pool1d", "max_pool2d", "mse_loss",
    "multi_margin_loss", "multiclass_svm_loss", "nll_loss",
    "cat", "clamp", "clip", "concatenate", "cos", "dropout", "dropout_mask", "elu", "exp",
    "flatten", "leaky_relu", "linear", "log", "log_softmax", "matmul", "maximum", "minimum",
    "relu", "selu", "sigmoid", "softmax", "sin", "sqrt", "stack", "tanh", "where",
]
