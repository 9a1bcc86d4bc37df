"""Update rules: one pure function per optimizer over NumPy arrays, each next to its formula.

Every optimizer in steepest (the `steepest.optim` classes, the descent lab, any future trainer)
calls these functions; no rule is written twice. The contract, shared by all of them:

    state = xxx_init(param, ...)                      # a NamedTuple: arrays + scalars
    delta, state = xxx_update(grad, state, param, *, lr, ..., out=None)
    param += delta                                    # the CALLER applies the update

- `grad`, `param`: arrays of one shape S (any shape) and one float dtype. Never written.
- `delta` is what gets ADDED to the parameter: plain gradient descent has delta = −lr·g.
  `maximize=True` ascends instead (every rule then uses −g where the formula says g).
- `state` is a NamedTuple holding arrays of shape S and Python scalars (the step count t).
  Its arrays are updated IN PLACE and the returned NamedTuple holds the very same arrays with new
  scalars, so no copy of the optimizer state is made per step. Keep the returned state and drop the
  old one; to keep a snapshot, copy its arrays first. Field names are PyTorch's state keys
  (`exp_avg`, `square_avg`, `momentum_buffer`, ...), so state dicts carry over.
- `out`: an optional array of shape S and the parameter's dtype that receives `delta` (it is also
  the scratch space while delta is computed); None allocates one. Given the same `out` each step,
  the default configuration of every rule runs with no temporary array at all: each line is one
  NumPy ufunc writing into an existing buffer (`out=`). Non-default options that need a second
  buffer (weight decay: g + λw, maximize: −g, AMSGrad's max, NAdam's two terms) allocate one,
  as PyTorch does.
- "Pure" means: no hidden or global state, no randomness; the only effects are on the arrays
  handed in (the state's arrays and `out`). The same inputs always give the same outputs.
- Hyperparameters, the learning rate included, are arguments of every call: a schedule just
  passes another `lr` (nothing is frozen in a closure).
- dtype: float32 stays float32. Every scalar is a Python float, which NumPy 2 casts to the
  array's dtype (an np.float64 scalar would promote float32 arrays to float64).

Conventions (where libraries differ) are named options, PyTorch's being the default:
- momentum form: PyTorch v = μv + g, w −= lr·v (buffer starts at the first gradient) versus the
  lecture's / Sutskever's / Keras's v = γv + ηg, w −= v (`momentum_form="lecture"`);
- ε outside the square root (PyTorch) or inside it (Keras, optax: `eps_inside_sqrt=True`);
- Adam's ε after bias correction (PyTorch) or before it (Keras/TF, the paper's "ε-hat" form:
  `eps_before_bias_correction=True`); bias correction on or off (the lecture shows both);
- Adagrad's accumulator start (PyTorch 0, Keras and optax 0.1: `initial_accumulator_value`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "AdadeltaState", "AdagradState", "AdamState", "NAdamState", "RMSpropState", "SGDState",
    "adadelta_init", "adadelta_update", "adagrad_init", "adagrad_update", "adam_init",
    "adam_update", "nadam_init", "nadam_update", "rmsprop_init", "rmsprop_update", "sgd_init",
    "sgd_update",
]

MOMENTUM_FORMS = ("pytorch", "lecture")


# ---------------------------------------------------------------------------- shared pieces
def _buffer(out: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """The caller's `out` (checked) or a new array shaped and typed like `like`."""
    if out is None:
        return np.empty_like(like)
    if out.shape != like.shape or out.dtype != like.dtype:
        raise ValueError(
            f"update rule: out has shape {out.shape} and dtype {out.dtype} but the parameter has "
            f"shape {like.shape} and dtype {like.dtype}"
        )
    return out


def _effective_grad(grad: np.ndarray, param: np.ndarray, weight_decay: float,
                    maximize: bool) -> np.ndarray:
    """g = ±grad + λ·w (L2 weight decay folded into the gradient, as PyTorch does).

    Returns `grad` itself (no copy) when neither option is on: callers never write into it.
    """
    if grad.shape != param.shape:
        raise ValueError(
            f"update rule: gradient has shape {grad.shape} but the parameter has shape "
            f"{param.shape}"
        )
    if not maximize and weight_decay == 0.0:
        return grad
    # Always through out=: on 0-d arrays NumPy would otherwise hand back scalars.
    g = np.empty_like(param)
    if weight_decay == 0.0:
        return np.negative(grad, out=g)
    np.multiply(param, weight_decay, out=g)
    if maximize:
        return np.subtract(g, grad, out=g)
    return np.add(grad, g, out=g)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray) -> None:
    """start ← start + weight·(end − start), in place, rounded exactly as PyTorch's `lerp_`.

    PyTorch switches to end − (end − start)·(1 − weight) for |weight| ≥ 0.5 (better rounding
    near weight = 1); doing the same keeps float32 runs bit-for-bit close to PyTorch's.
    """
    np.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1.0 - weight
        np.subtract(end, scratch, out=start)


def _ema_square_(avg: np.ndarray, grad: np.ndarray, decay: float, scratch: np.ndarray) -> None:
    """avg ← decay·avg + (1 − decay)·g², in place (PyTorch: mul_(decay).addcmul_(g, g, 1-decay))."""
    avg *= decay
    np.multiply(grad, 1.0 - decay, out=scratch)
    scratch *= grad
    avg += scratch


def _zeros_if_none(array: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.zeros_like(like) if array is None else array


# ---------------------------------------------------------------------------- SGD
class SGDState(NamedTuple):
    """SGD's state: the velocity (None until the first step, and always with momentum 0)."""

    momentum_buffer: np.ndarray | None = None


def sgd_init(param: np.ndarray) -> SGDState:
    """Empty state: PyTorch creates the momentum buffer at the first step (from the gradient)."""
    return SGDState(None)


def sgd_update(grad: np.ndarray, state: SGDState, param: np.ndarray, *, lr: float,
               momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
               nesterov: bool = False, maximize: bool = False, momentum_form: str = "pytorch",
               out: np.ndarray | None = None) -> tuple[np.ndarray, SGDState]:
    """Gradient descent with optional momentum / Nesterov momentum.  All arrays: shape S.

    Plain (lecture 000/004):  w ← w − α ∇f(w),  i.e. delta = −lr·g.

    `momentum_form="pytorch"` (default; lecture 004's "SGD+Momentum" v = ρv + ∇f, x −= αv):
        v ← μ v + (1 − dampening) g      (v starts at the first g itself, undampened)
        w ← w − lr·v                     (Nesterov: w ← w − lr·(g + μ v))

    `momentum_form="lecture"` (lecture 001: v_t = γ v_{t−1} + η ∇L(w), w ← w − v_t; this is
    Sutskever et al. 2013 and Keras's form):
        v ← γ v + η g                    (v starts at 0, so the first v is η g)
        w ← w − v                        (Nesterov: w ← w − (γ v + η g), Keras's form)

    The two agree step for step while the learning rate is constant (the lecture's v is η times
    PyTorch's). They differ when lr changes: the lecture's v holds past gradients already scaled
    by the learning rates in force when they arrived, so a lr drop damps only new gradients and the
    velocity keeps its speed for a while; PyTorch multiplies the whole velocity by the new lr, so
    the step shrinks at once. `dampening` belongs to the PyTorch form only.

    g = grad (+ weight_decay·w, L2; negated first when maximize). Returns (delta, new_state).
    """
    lr = float(lr)
    momentum = float(momentum)
    delta = _buffer(out, param)
    g = _effective_grad(grad, param, float(weight_decay), maximize)
    velocity = state.momentum_buffer
    if momentum_form == "pytorch":
        if momentum == 0.0:
            np.multiply(g, -lr, out=delta)
            return delta, state
        if velocity is None:
            velocity = g.copy()
        else:
            velocity *= momentum
            if dampening == 0.0:
                velocity += g
            else:
                np.multiply(g, 1.0 - float(dampening), out=delta)
                velocity += delta
        if nesterov:
            np.multiply(velocity, momentum, out=delta)
            delta += g
            delta *= -lr
        else:
            np.multiply(velocity, -lr, out=delta)
        return delta, SGDState(velocity)
    if momentum_form == "lecture":
        if dampening != 0.0:
            raise ValueError(
                f"sgd_update: dampening={dampening} has no meaning in momentum_form='lecture' "
                f"(v = γv + ηg); use momentum_form='pytorch'"
            )
        velocity = _zeros_if_none(velocity, param)
        np.multiply(g, lr, out=delta)  # η g, needed again for Nesterov
        velocity *= momentum
        velocity += delta
        if nesterov:
            delta += momentum * velocity
            np.negative(delta, out=delta)
        else:
            np.negative(velocity, out=delta)
        return delta, SGDState(velocity)
    raise ValueError(
        f"sgd_update: invalid momentum_form {momentum_form!r}; use one of {MOMENTUM_FORMS}"
    )


# ---------------------------------------------------------------------------- Adagrad
class AdagradState(NamedTuple):
    """Adagrad's state: step count t and the running sum of squared gradients Σ g²."""

    step: int
    sum: np.ndarray


def adagrad_init(param: np.ndarray, initial_accumulator_value: float = 0.0) -> AdagradState:
    """t = 0, Σg² = initial_accumulator_value (PyTorch 0; Keras and optax start at 0.1)."""
    return AdagradState(0, np.full_like(param, float(initial_accumulator_value)))


def adagrad_update(grad: np.ndarray, state: AdagradState, param: np.ndarray, *, lr: float,
                   lr_decay: float = 0.0, weight_decay: float = 0.0, eps: float = 1e-10,
                   maximize: bool = False, eps_inside_sqrt: bool = False,
                   out: np.ndarray | None = None) -> tuple[np.ndarray, AdagradState]:
    """AdaGrad (Duchi et al. 2011; lecture 004's `grad_squared += dx*dx`).  Arrays: shape S.

        t ← t + 1;   η_t = lr / (1 + (t − 1)·lr_decay)
        s ← s + g²
        w ← w − η_t · g / (√s + ε)          PyTorch, and the lecture (with ε = 1e-7)
        w ← w − η_t · g / √(s + ε)          eps_inside_sqrt=True: Keras and optax

    g = grad (+ weight_decay·w; negated when maximize). Keras's Adagrad is lr=0.001,
    initial_accumulator_value=0.1, eps=1e-7, eps_inside_sqrt=True. Returns (delta, new_state).
    """
    step = state.step + 1
    delta = _buffer(out, param)
    g = _effective_grad(grad, param, float(weight_decay), maximize)
    clr = float(lr) / (1.0 + (step - 1) * float(lr_decay))
    sum_sq = state.sum
    np.multiply(g, g, out=delta)
    sum_sq += delta
    if eps_inside_sqrt:
        np.add(sum_sq, float(eps), out=delta)
        np.sqrt(delta, out=delta)
    else:
        np.sqrt(sum_sq, out=delta)
        delta += float(eps)
    np.divide(g, delta, out=delta)
    delta *= -clr
    return delta, AdagradState(step, sum_sq)


# ---------------------------------------------------------------------------- Adadelta
class AdadeltaState(NamedTuple):
    """Adadelta's state: t, the running average of g² and of the squared updates."""

    step: int
    square_avg: np.ndarray
    acc_delta: np.ndarray


def adadelta_init(param: np.ndarray) -> AdadeltaState:
    """t = 0, E[g²] = E[Δ²] = 0 (arrays shaped like param)."""
    return AdadeltaState(0, np.zeros_like(param), np.zeros_like(param))


def adadelta_update(grad: np.ndarray, state: AdadeltaState, param: np.ndarray, *,
                    lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                    weight_decay: float = 0.0, maximize: bool = False,
                    out: np.ndarray | None = None) -> tuple[np.ndarray, AdadeltaState]:
    """Adadelta (Zeiler 2012, Algorithm 1), as PyTorch computes it.  Arrays: shape S.

        E[g²]  ← ρ E[g²] + (1 − ρ) g²
        Δ      = √(E[Δ²] + ε) / √(E[g²] + ε) · g
        E[Δ²]  ← ρ E[Δ²] + (1 − ρ) Δ²
        w      ← w − lr · Δ                 (the paper has lr = 1; ε inside both roots everywhere)

    g = grad (+ weight_decay·w; negated when maximize). Needs one temporary (Δ beside √(E[g²]+ε)).
    Returns (delta, new_state).
    """
    rho = float(rho)
    eps = float(eps)
    delta = _buffer(out, param)
    g = _effective_grad(grad, param, float(weight_decay), maximize)
    square_avg, acc_delta = state.square_avg, state.acc_delta
    _ema_square_(square_avg, g, rho, delta)
    np.add(square_avg, eps, out=delta)
    np.sqrt(delta, out=delta)  # √(E[g²] + ε)
    update = np.add(acc_delta, eps, out=np.empty_like(acc_delta))
    np.sqrt(update, out=update)
    update /= delta
    update *= g
    _ema_square_(acc_delta, update, rho, delta)
    np.multiply(update, -float(lr), out=delta)
    return delta, AdadeltaState(state.step + 1, square_avg, acc_delta)


# ---------------------------------------------------------------------------- RMSprop
class RMSpropState(NamedTuple):
    """RMSprop's state: t, E[g²], and (only when used) the momentum buffer and E[g]."""

    step: int
    square_avg: np.ndarray
    momentum_buffer: np.ndarray | None = None
    grad_avg: np.ndarray | None = None


def rmsprop_init(param: np.ndarray, momentum: float = 0.0, centered: bool = False
                 ) -> RMSpropState:
    """t = 0, E[g²] = 0; the momentum buffer and E[g] (zeros) only when momentum / centered."""
    return RMSpropState(
        0,
        np.zeros_like(param),
        np.zeros_like(param) if momentum > 0 else None,
        np.zeros_like(param) if centered else None,
    )


def rmsprop_update(grad: np.ndarray, state: RMSpropState, param: np.ndarray, *, lr: float,
                   alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                   momentum: float = 0.0, centered: bool = False, maximize: bool = False,
                   eps_inside_sqrt: bool = False, out: np.ndarray | None = None
                   ) -> tuple[np.ndarray, RMSpropState]:
    """RMSProp (Hinton's lecture 6e; lecture 004's "leaky AdaGrad").  Arrays: shape S.

        E[g²] ← α E[g²] + (1 − α) g²
        centered:  E[g] ← α E[g] + (1 − α) g,   s = E[g²] − E[g]²   (else s = E[g²])
        d = √s + ε                       PyTorch, and the lecture (decay_rate = α, ε = 1e-7)
        d = √(s + ε)                     eps_inside_sqrt=True: Keras and optax
        momentum > 0:  b ← μ b + g / d,  w ← w − lr·b       (PyTorch's form: lr outside b)
        else:          w ← w − lr · g / d

    g = grad (+ weight_decay·w; negated when maximize). Keras's RMSprop is rho=α=0.9, eps=1e-7,
    eps_inside_sqrt=True. Buffers a state lacks (momentum or centered switched on later) start at
    zero. Returns (delta, new_state).
    """
    alpha = float(alpha)
    eps = float(eps)
    momentum = float(momentum)
    delta = _buffer(out, param)
    g = _effective_grad(grad, param, float(weight_decay), maximize)
    square_avg = state.square_avg
    _ema_square_(square_avg, g, alpha, delta)
    grad_avg = state.grad_avg
    if centered:
        grad_avg = _zeros_if_none(grad_avg, param)
        _lerp_(grad_avg, g, 1.0 - alpha, delta)
        np.multiply(grad_avg, grad_avg, out=delta)
        np.subtract(square_avg, delta, out=delta)
        source = delta
    else:
        source = square_avg
    if eps_inside_sqrt:
        np.add(source, eps, out=delta)
        np.sqrt(delta, out=delta)
    else:
        np.sqrt(source, out=delta)
        delta += eps
    np.divide(g, delta, out=delta)
    buf = state.momentum_buffer
    if momentum > 0.0:
        buf = _zeros_if_none(buf, param)
        buf *= momentum
        buf += delta
        np.multiply(buf, -float(lr), out=delta)
    else:
        delta *= -float(lr)
    return delta, RMSpropState(state.step + 1, square_avg, buf, grad_avg)


# ---------------------------------------------------------------------------- Adam / AdamW
class AdamState(NamedTuple):
    """Adam's state: t, first moment m, second moment v, and AMSGrad's running max of v."""

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray | None = None


def adam_init(param: np.ndarray, amsgrad: bool = False) -> AdamState:
    """t = 0, m = v = 0 (arrays shaped like param); AMSGrad's running max (zeros) if amsgrad."""
    return AdamState(0, np.zeros_like(param), np.zeros_like(param),
                     np.zeros_like(param) if amsgrad else None)


def adam_update(grad: np.ndarray, state: AdamState, param: np.ndarray, *, lr: float,
                betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
                decoupled_weight_decay: bool = False, bias_correction: bool = True,
                eps_inside_sqrt: bool = False, eps_before_bias_correction: bool = False,
                out: np.ndarray | None = None) -> tuple[np.ndarray, AdamState]:
    """Adam (Kingma & Ba 2015, Algorithm 1; lecture 004), AMSGrad and AdamW.  Arrays: shape S.

        t ← t + 1
        m ← β₁ m + (1 − β₁) g                       (first moment: the velocity)
        v ← β₂ v + (1 − β₂) g²                      (second moment: AdaGrad/RMSProp's term)
        amsgrad:  v_max ← max(v_max, v), and v_max replaces v below
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)        (bias correction; off: m̂ = m, v̂ = v)
        w ← w − lr · m̂ / (√v̂ + ε)                   PyTorch, and the lecture (ε = 1e-7)

    ε conventions (options; with bias_correction=False the last two coincide with the first two):
        eps_inside_sqrt=True:             w ← w − lr · m̂ / √(v̂ + ε)   (optax's eps_root)
        eps_before_bias_correction=True:  w ← w − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)
                                          (the paper's efficient form, Keras/TF's Adam)
    Weight decay: L2 by default (g ← g + λw, PyTorch's Adam); `decoupled_weight_decay=True` is
    AdamW (Loshchilov & Hutter): w ← w − lr·λ·w beside the Adam step (w is the pre-step value).
    bias_correction=False is the lecture's first version, whose first steps are much larger.

    g = grad (negated when maximize). Returns (delta, new_state).
    """
    beta1, beta2 = float(betas[0]), float(betas[1])
    lr = float(lr)
    eps = float(eps)
    weight_decay = float(weight_decay)
    step = state.step + 1
    delta = _buffer(out, param)
    g = _effective_grad(grad, param, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    exp_avg, exp_avg_sq = state.exp_avg, state.exp_avg_sq
    _lerp_(exp_avg, g, 1.0 - beta1, delta)
    _ema_square_(exp_avg_sq, g, beta2, delta)
    max_exp_avg_sq = state.max_exp_avg_sq
    second = exp_avg_sq
    if amsgrad:
        max_exp_avg_sq = _zeros_if_none(max_exp_avg_sq, param)
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    if bias_correction:
        correction1 = 1.0 - beta1**step
        correction2 = 1.0 - beta2**step
    else:
        correction1 = correction2 = 1.0
    # delta = −s · m / denominator, with the scale s and the ε placement of the chosen convention.
    if eps_before_bias_correction:
        scale = lr * math.sqrt(correction2) / correction1
        square_divisor = 1.0
    else:
        scale = lr / correction1
        square_divisor = correction2
    if scale == 0.0:
        delta.fill(0.0)  # lr = 0: the moments still move, the parameters do not
    elif eps_inside_sqrt:
        np.divide(second, square_divisor, out=delta)
        delta += eps
        np.sqrt(delta, out=delta)
        np.divide(exp_avg, delta, out=delta)
        delta *= -scale
    else:
        # Fold −s into the denominator: m / (√v·(1/(r·(−s))) + ε/(−s)) = −s·m/(√v/r + ε), which
        # saves one pass over the arrays on the hot path.
        np.sqrt(second, out=delta)
        delta *= 1.0 / (math.sqrt(square_divisor) * -scale)
        delta += eps / -scale
        np.divide(exp_avg, delta, out=delta)
    if decoupled_weight_decay and weight_decay != 0.0:
        delta -= (lr * weight_decay) * param
    return delta, AdamState(step, exp_avg, exp_avg_sq, max_exp_avg_sq)


# ---------------------------------------------------------------------------- NAdam
class NAdamState(NamedTuple):
    """NAdam's state: t, the product of the momentum schedule Π μ_i, and Adam's m and v."""

    step: int
    mu_product: float
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def nadam_init(param: np.ndarray) -> NAdamState:
    """t = 0, Π μ = 1, m = v = 0 (arrays shaped like param)."""
    return NAdamState(0, 1.0, np.zeros_like(param), np.zeros_like(param))


def nadam_update(grad: np.ndarray, state: NAdamState, param: np.ndarray, *, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, maximize: bool = False,
                 out: np.ndarray | None = None) -> tuple[np.ndarray, NAdamState]:
    """NAdam (Dozat 2016: Adam with Nesterov momentum), as PyTorch computes it.  Arrays: shape S.

        t ← t + 1;   μ_t = β₁ (1 − ½·0.96^(t·ψ)),  μ_{t+1} = β₁ (1 − ½·0.96^((t+1)·ψ))  (ψ: decay)
        Π ← Π · μ_t
        m ← β₁ m + (1 − β₁) g;   v ← β₂ v + (1 − β₂) g²;   d = √(v / (1 − β₂ᵗ)) + ε
        w ← w − lr·(1 − μ_t)/(1 − Π) · g / d − lr·μ_{t+1}/(1 − Π·μ_{t+1}) · m / d

    Weight decay: L2 (g ← g + λw) or, with decoupled_weight_decay, w ← w − lr·λ·w (NAdamW).
    g = grad (negated when maximize). Returns (delta, new_state).
    """
    beta1, beta2 = float(betas[0]), float(betas[1])
    lr = float(lr)
    eps = float(eps)
    weight_decay = float(weight_decay)
    momentum_decay = float(momentum_decay)
    step = state.step + 1
    delta = _buffer(out, param)
    g = _effective_grad(grad, param, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    correction2 = 1.0 - beta2**step
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product = float(state.mu_product) * mu
    mu_product_next = mu_product * mu_next
    exp_avg, exp_avg_sq = state.exp_avg, state.exp_avg_sq
    _lerp_(exp_avg, g, 1.0 - beta1, delta)
    _ema_square_(exp_avg_sq, g, beta2, delta)
    # numerator = c_g·g + c_m·m, then one division by d.
    numerator = np.multiply(exp_avg, -lr * mu_next / (1.0 - mu_product_next),
                            out=np.empty_like(exp_avg))
    np.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product), out=delta)
    numerator += delta
    np.divide(exp_avg_sq, correction2, out=delta)
    np.sqrt(delta, out=delta)
    delta += eps
    np.divide(numerator, delta, out=delta)
    if decoupled_weight_decay and weight_decay != 0.0:
        delta -= (lr * weight_decay) * param
    return delta, NAdamState(step, mu_product, exp_avg, exp_avg_sq)
