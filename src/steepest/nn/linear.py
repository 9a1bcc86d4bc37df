"""Dense layers and shape helpers: `Linear`, `Bilinear`, `Identity`, `Flatten`, `Unflatten`,
and the dropout layers."""

from __future__ import annotations

import math

import numpy as np

from steepest import functional as F
from steepest.autograd import ops
from steepest.nn import init
from steepest.nn.module import Module
from steepest.nn.parameter import Parameter
from steepest.tensor import Tensor, _check_device, get_default_dtype


class Linear(Module):
    """y = x Wᵀ + b.  x: (..., in_features) -> (..., out_features).

    weight: (out_features, in_features), bias: (out_features,), as PyTorch; both initialised as
    PyTorch does: U(−1/√in, 1/√in) (kaiming_uniform_ with a = √5 for the weight).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None, *, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        _check_device(device)
        dtype = get_default_dtype() if dtype is None else dtype
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

    def forward(self, input: Tensor) -> Tensor:
        x = input
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


class Bilinear(Module):
    """y = x1ᵀ A x2 + b.  x1: (..., in1), x2: (..., in2) -> (..., out); A: (out, in1, in2)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None, *,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        _check_device(device)
        dtype = get_default_dtype() if dtype is None else dtype
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        bound = 1 / math.sqrt(in1_features)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype))
        init.uniform_(self.weight, -bound, bound, generator=generator)
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype))
            init.uniform_(self.bias, -bound, bound, generator=generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Identity(Module):
    """y = x."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Merge axes start_dim..end_dim: (N, C, H, W) -> (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim into unflattened_size: (N, 12) with (1, (3, 4)) -> (N, 3, 4)."""

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return F.unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """Zero each element with probability p in training, scaling the rest by 1/(1−p).

    Identity in eval mode. Masks come from `generator` (default: the one `manual_seed` resets).
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, *,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
        self.p = p
        self.inplace = bool(inplace)
        self.generator = generator

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _DropoutChannels(Dropout):
    """Zero whole channels (dim 1 of (N, C, *)) with probability p, scale the rest."""

    spatial = 1

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return input
        batched = input.ndim == self.spatial + 2
        shape = (input.shape[:2] if batched else input.shape[:1]) + (1,) * self.spatial
        mask = F.dropout_mask(shape, self.p, input.dtype, self.generator)
        return input * Tensor(mask)


class Dropout1d(_DropoutChannels):
    """Channel dropout for (N, C, L) input."""


class Dropout2d(_DropoutChannels):
    """Channel dropout for (N, C, H, W) input."""

    spatial = 2


class Dropout3d(_DropoutChannels):
    """Channel dropout for (N, C, D, H, W) input."""

    spatial = 3


class AlphaDropout(Dropout):
    """Dropout for SELU networks: keeps the mean and variance (Klambauer et al., 2017)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)
