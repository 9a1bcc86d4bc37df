"""Dense layers and shape helpers: `Linear`, `Identity`, `Flatten`."""

from __future__ import annotations

import math

import numpy as np

from steepest import functional as F
from steepest.autograd import ops
from steepest.nn import init
from steepest.nn.module import Module
from steepest.nn.parameter import Parameter
from steepest.tensor import DEFAULT_DTYPE, Tensor


class Linear(Module):
    """y = x Wᵀ + b.  x: (..., in_features) -> (..., out_features).

    weight: (out_features, in_features), bias: (out_features,), as PyTorch; both initialised as
    PyTorch does: U(−1/√in, 1/√in) (kaiming_uniform_ with a = √5 for the weight).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=DEFAULT_DTYPE, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"Linear needs positive sizes, got in_features={in_features}, "
                f"out_features={out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) got input of shape "
                f"{tuple(x.shape)}: its last axis must be {self.in_features}"
            )
        if self.bias is None:
            return ops.Linear.apply(x, self.weight)
        return ops.Linear.apply(x, self.weight, self.bias)  # checked above: skip F.linear's check

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """y = x."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merge axes start_dim..end_dim: (N, C, H, W) -> (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Zero each element with probability p in training, scaling the rest by 1/(1−p).

    Identity in eval mode. Masks come from `generator` (default: the one `manual_seed` resets).
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
