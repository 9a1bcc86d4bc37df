"""Regularising layers from the lectures: `DropConnect`, `Maxout`, `StochasticDepth`.

Each layer has a functional form here too (`drop_connect_linear`, `maxout`, `stochastic_depth`),
which the layer calls, so a gradient check can run on the function with a fixed generator.
"""

from __future__ import annotations

import numpy as np

from steepest import functional as F
from steepest.functional.basic import dropout_mask
from steepest.nn.linear import Linear
from steepest.nn.module import Module
from steepest.random import get_generator
from steepest.tensor import DEFAULT_DTYPE, Tensor


def _check_probability(p: float, who: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: drop probability p has to be between 0 and 1, got {p!r}")
    return float(p)


# ----------------------------------------------------------------------------- DropConnect


def drop_connect_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, p: float = 0.5,
                        training: bool = True,
                        generator: np.random.Generator | None = None) -> Tensor:
    """y = x (M ⊙ W)ᵀ + b with a Bernoulli mask M on the weights (Wan et al., 2013).

    x: (..., in), weight: (out, in), bias: (out,) or None -> (..., out).
    In training M has one entry per weight, 0 with probability p and 1/(1 − p) otherwise (the
    expectation of M ⊙ W is W), drawn afresh on every call and shared by the whole batch; the
    bias is not dropped. Not training (or p = 0): y = x Wᵀ + b. dL/dW = M ⊙ (gᵀ x).
    """
    p = _check_probability(p, "drop_connect_linear")
    if training and p > 0.0:
        weight = weight * Tensor(dropout_mask(weight.shape, p, weight.dtype, generator))
    return F.linear(x, weight, bias)


class DropConnect(Module):
    """Wrap a `Linear` layer so that training drops its *weights*, not its activations.

    x: (..., in_features) -> (..., out_features), as the wrapped layer.
    Training: y = x (M ⊙ W)ᵀ + b, with a fresh mask M per forward (see `drop_connect_linear`):
    each weight is zeroed with probability p and the kept ones are scaled by 1/(1 − p).
    Eval: y = x Wᵀ + b, the wrapped layer unchanged.

    Inference: Wan et al. (2013) approximate the distribution of each unit's input by a Gaussian
    at test time and sample from it; like most libraries we instead scale the kept weights in
    training, so the plain mean network is the right one at test time ("inverted" DropConnect,
    as inverted dropout). Wan et al. also draw one mask per example; here one mask is shared by
    the batch of one forward call, which costs one (out, in) array instead of (N, out, in).

    The parameters stay the wrapped layer's, so state_dict keys are "linear.weight" and
    "linear.bias".
    """

    def __init__(self, linear: Linear, p: float = 0.5,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(linear, Linear):
            raise TypeError(
                f"DropConnect wraps a steepest.nn.Linear layer, got {type(linear).__name__}; "
                f"e.g. DropConnect(Linear(784, 256), p=0.5)"
            )
        self.linear = linear
        self.p = _check_probability(p, "DropConnect")
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., in_features) -> (..., out_features)."""
        linear = self.linear
        if x.shape[-1] != linear.in_features:
            raise ValueError(
                f"DropConnect(Linear({linear.in_features}, {linear.out_features})) got input of "
                f"shape {tuple(x.shape)}: its last axis must be {linear.in_features}"
            )
        return drop_connect_linear(x, linear.weight, linear.bias, self.p, self.training,
                                   self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ----------------------------------------------------------------------------- Maxout


def maxout(x: Tensor, weight: Tensor, bias: Tensor | None, pieces: int) -> Tensor:
    """Maxout units (Goodfellow et al., 2013): hᵢ = maxⱼ (x Wᵀ + b)[i·pieces + j].

    x: (..., in), weight: (out·pieces, in), bias: (out·pieces,) or None -> (..., out).
    Unit i owns the `pieces` consecutive rows i·pieces ... i·pieces + pieces − 1 of the weight.
    The gradient goes to the winning piece; pieces tied for the max share it equally (the
    convention of `amax`; `max(dim)` would pick one).
    """
    if isinstance(pieces, bool) or not isinstance(pieces, (int, np.integer)) or pieces < 1:
        raise ValueError(f"maxout: pieces must be a positive integer, got {pieces!r}")
    rows = weight.shape[0]
    if rows % pieces != 0:
        raise ValueError(
            f"maxout: weight of shape {tuple(weight.shape)} has {rows} rows, not a multiple of "
            f"pieces={pieces}"
        )
    z = F.linear(x, weight, bias)
    return z.reshape(z.shape[:-1] + (rows // pieces, pieces)).amax(dim=-1)


class Maxout(Module):
    """A linear layer to out_features·pieces units, then the max over each unit's pieces.

    x: (..., in_features) -> (..., out_features).  h_i = max_j (w_ijᵀ x + b_ij)  (Goodfellow
    et al., 2013). With pieces=2 and one piece fixed at 0 this would be ReLU; with learned pieces
    it is a learned convex piecewise-linear activation. Parameters live in a `Linear`:
    linear.weight (out_features·pieces, in_features), linear.bias (out_features·pieces,), with
    PyTorch's Linear initialisation; rows i·pieces ... i·pieces + pieces − 1 belong to unit i.
    Ties between pieces share the gradient equally (see `maxout`).
    """

    def __init__(self, in_features: int, out_features: int, pieces: int = 2, bias: bool = True,
                 dtype=DEFAULT_DTYPE, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if isinstance(pieces, bool) or not isinstance(pieces, (int, np.integer)) or pieces < 1:
            raise ValueError(f"Maxout: pieces must be a positive integer, got {pieces!r}")
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"Maxout needs positive sizes, got in_features={in_features}, "
                f"out_features={out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        self.pieces = int(pieces)
        self.linear = Linear(in_features, out_features * self.pieces, bias=bias, dtype=dtype,
                             generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., in_features) -> (..., out_features)."""
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"Maxout({self.in_features}, {self.out_features}, pieces={self.pieces}) got "
                f"input of shape {tuple(x.shape)}: its last axis must be {self.in_features}"
            )
        return maxout(x, self.linear.weight, self.linear.bias, self.pieces)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}")


# ----------------------------------------------------------------------------- StochasticDepth

_MODES = ("row", "batch")


def _check_mode(mode: str, who: str) -> str:
    if mode not in _MODES:
        raise ValueError(f"{who}: mode has to be 'row' or 'batch', got {mode!r}")
    return mode


def _survival_mask(shape: tuple, ndim: int, p: float, mode: str, dtype,
                   generator: np.random.Generator | None) -> np.ndarray:
    """(N, 1, ..., 1) for "row" or (1, ..., 1) for "batch": 0 w.p. p, else 1/(1 − p)."""
    size = (shape[0],) + (1,) * (ndim - 1) if mode == "row" else (1,) * ndim
    return dropout_mask(size, p, np.dtype(dtype), generator)


def stochastic_depth(x: Tensor, p: float, mode: str = "row", training: bool = True,
                     generator: np.random.Generator | None = None) -> Tensor:
    """Drop a residual branch's output, as `torchvision.ops.stochastic_depth`.

    x: (N, ...) -> (N, ...), the output of the branch (not the block's input).
    Training: x · m / (1 − p) with m ~ Bernoulli(1 − p) drawn per sample (mode="row", m of
    shape (N, 1, ..., 1)) or once for the whole batch (mode="batch"); when p = 1 the output is
    0. Not training, or p = 0: x unchanged. The gradient is the same mask.
    """
    p = _check_probability(p, "stochastic_depth")
    _check_mode(mode, "stochastic_depth")
    if not training or p == 0.0:
        return x
    if x.ndim == 0:
        raise ValueError("stochastic_depth: input needs a batch axis, got a 0-d tensor")
    return x * Tensor(_survival_mask(x.shape, x.ndim, p, mode, x.dtype, generator))


class StochasticDepth(Module):
    """A residual block whose branch is randomly skipped in training (Huang et al., 2016).

    x: (N, ...) -> (N, ...); branch(x) must have x's shape.
    Training: y = x + branch(x) · m / (1 − p), m ~ Bernoulli(1 − p) per sample ("row") or for
    the whole batch ("batch"), as `torchvision.ops.StochasticDepth` applied to the branch output.
    In "batch" mode a dropped branch is not computed at all (y = x), which is where stochastic
    depth saves training time; the random draw is the same one `stochastic_depth` makes.
    Eval: y = x + branch(x).

    Huang et al. leave the kept branch unscaled in training and multiply it by (1 − p) at test
    time; scaling by 1/(1 − p) in training instead (as torchvision) gives the same expectation
    and leaves the test-time network untouched.
    """

    def __init__(self, branch: Module, p: float, mode: str = "row",
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(branch, Module):
            raise TypeError(f"StochasticDepth: branch must be a Module, got "
                            f"{type(branch).__name__}")
        self.branch = branch
        self.p = _check_probability(p, "StochasticDepth")
        self.mode = _check_mode(mode, "StochasticDepth")
        self.generator = generator

    def _residual(self, x: Tensor, out: Tensor) -> Tensor:
        if tuple(out.shape) != tuple(x.shape):
            raise ValueError(
                f"StochasticDepth: the branch maps input of shape {tuple(x.shape)} to shape "
                f"{tuple(out.shape)}; a residual block needs the same shape"
            )
        return x + out

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, ...) -> (N, ...)."""
        if not self.training or self.p == 0.0:
            return self._residual(x, self.branch(x))
        if self.mode == "batch":
            mask = _survival_mask(x.shape, x.ndim, self.p, "batch", x.dtype,
                                  get_generator(self.generator))
            if not mask.any():
                return x
            return self._residual(x, self.branch(x) * Tensor(mask))
        return self._residual(x, stochastic_depth(self.branch(x), self.p, "row", True,
                                                  self.generator))

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"
