"""Muon: momentum whose matrix update is orthogonalised by a Newton–Schulz iteration."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from steepest.optim.rules._common import buffer, check_grad, lerp, lerp_
from steepest.optim.spec import OptimizerSpec, Option, choice, flag, integer, number

__all__ = ["MUON_SPEC", "MuonState", "muon_init", "muon_update", "zeropower_via_newtonschulz"]

ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


class MuonState(NamedTuple):
    """Muon's state: the momentum buffer B (shaped like the matrix)."""

    momentum_buffer: np.ndarray


def muon_init(param: np.ndarray) -> MuonState:
    """B = 0."""
    return MuonState(np.zeros_like(param))


def zeropower_via_newtonschulz(matrix: np.ndarray, coefficients: tuple[float, float, float],
                               steps: int, eps: float) -> np.ndarray:
    """An approximately orthogonal matrix with G's singular vectors: for G = U S Vᵀ, about
    U S' Vᵀ with S' near 1 (Keller Jordan's quintic iteration, whose coefficients (a, b, c)
    push small singular values up fast rather than converge exactly).

        X = G / max(‖G‖_F, ε)    (transposed first if it has more rows than columns)
        repeat steps times:  A = X Xᵀ;  X ← a·X + (b·A + c·A²)·X

    (m, n) -> (m, n), in G's dtype (PyTorch computes it in bfloat16, which NumPy lacks).
    """
    a, b, c = (float(v) for v in coefficients)
    tall = matrix.shape[0] > matrix.shape[1]
    x = matrix.T if tall else matrix
    x = x / max(float(np.linalg.norm(x)), float(eps))
    for _ in range(steps):
        gram = x @ x.T
        polynomial = b * gram + c * (gram @ gram)
        x = a * x + polynomial @ x
    return x.T if tall else x


def muon_update(grad: np.ndarray, state: MuonState, param: np.ndarray, *, lr: float,
                weight_decay: float, momentum: float, nesterov: bool,
                ns_coefficients: tuple[float, float, float], eps: float, ns_steps: int,
                adjust_lr_fn: str | None, out: np.ndarray | None = None
                ) -> tuple[np.ndarray, MuonState]:
    """Muon (Jordan et al. 2024), as PyTorch's `torch.optim.Muon` computes it.  Arrays: (A, B).

        B ← μ B + (1 − μ) g                     (an average, as PyTorch's code: lerp)
        U = g + μ (B − g) with nesterov, else B
        O = NewtonSchulz(U)                     (orthogonalised: every direction the same size)
        w ← w − lr·λ·w − lr·s·O,   s = √max(1, A/B) ("original", Keller Jordan's)
                                   or 0.2·√max(A, B) ("match_rms_adamw", Moonshot's: the
                                   update's RMS matches AdamW's, so AdamW's lr carries over)

    Not elementwise: O depends on the whole matrix. Only for 2-D parameters (hidden layers'
    weights); `make_optimizer("muon", model)` gives the others to AdamW, as PyTorch advises.
    Returns (delta, new_state).
    """
    check_grad(grad, param)
    if grad.ndim != 2:
        raise ValueError(f"Muon: the gradient must be a 2-D matrix, got shape {grad.shape}")
    delta = buffer(out, param)
    momentum = float(momentum)
    momentum_buffer = state.momentum_buffer
    lerp_(momentum_buffer, grad, 1.0 - momentum, delta)
    update = lerp(grad, momentum_buffer, momentum, delta) if nesterov else momentum_buffer
    orthogonal = zeropower_via_newtonschulz(update, ns_coefficients, int(ns_steps), eps)
    rows, cols = param.shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1.0, rows / cols))
    else:
        ratio = 0.2 * math.sqrt(max(rows, cols))
    np.multiply(orthogonal, -float(lr) * ratio, out=delta)
    if weight_decay != 0.0:
        delta -= (float(lr) * float(weight_decay)) * param
    return delta, MuonState(momentum_buffer)


def _check(options: Mapping[str, Any]) -> None:
    coefficients = options["ns_coefficients"]
    if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
        raise ValueError(f"Coefficients must be a tuple of exactly 3 values, got "
                         f"{coefficients!r}")


MUON_SPEC = OptimizerSpec(
    name="Muon",
    summary="Muon: momentum orthogonalised by Newton–Schulz, for weight matrices",
    formula="B = μB + (1−μ)g;  O = NewtonSchulz(g + μ(B − g));  w −= lr·λ·w + lr·√max(1, A/B)·O",
    paper="Jordan et al. 2024, Muon: An optimizer for hidden layers in neural networks, "
          "kellerjordan.github.io/posts/muon; Liu et al. 2025, Muon is Scalable for LLM "
          "Training, arXiv:2502.16982",
    year=2024,
    state=MuonState,
    init=muon_init,
    update=muon_update,
    options=(
        Option("lr", 1e-3, number("learning rate", message="Learning rate should be >= 0 but "
                                                           "is: {value}"), "learning rate"),
        Option("weight_decay", 0.1, number("weight decay", message="weight decay should be >= "
                                                                   "0 but is: {value}"),
               "decoupled: w −= lr·λ·w"),
        Option("momentum", 0.95, number("momentum", message="momentum should be >= 0 but is: "
                                                            "{value}"), "μ of the average B"),
        Option("nesterov", True, flag("nesterov"), "orthogonalise g + μ(B − g) instead of B"),
        Option("ns_coefficients", (3.4445, -4.775, 2.0315), lambda value: None,  # in _check
               "(a, b, c) of the quintic Newton–Schulz iteration"),
        Option("eps", 1e-7, number("epsilon value"), "floor of ‖U‖ before the iteration"),
        Option("ns_steps", 5, integer("ns_steps", low=0, high=99), "Newton–Schulz iterations "
               "(fewer than 100)"),
        Option("adjust_lr_fn", None, choice("adjust_lr_fn", ADJUST_LR_FNS),
               "lr scale by shape: None or 'original' √max(1, A/B); 'match_rms_adamw' "
               "0.2·√max(A, B)"),
    ),
    elementwise=False,
    study_lr=0.02,
    param_ndim=2,
    fallback="adamw",
    check_group=_check,
    conventions="PyTorch's: B is an average (lerp), decay is decoupled; the Newton–Schulz "
                "iteration runs in the parameter's dtype instead of bfloat16.",
)
