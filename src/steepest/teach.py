"""The ideas in plain Python, to read beside the fast code.

A scalar autograd engine the size of micrograd (`Value`), a small MLP built from it, and the
lectures' optimizers written as the loops on their slides. Nothing here is fast; everything here
computes what steepest's fast code computes, which tests/test_teach.py checks on the same problems:

    Value                 steepest.Tensor (autograd/ops.py: one Function per primitive, arrays)
    MLP                   nn.Sequential(nn.Linear, nn.Tanh, ...)
    SGD ... Adam          steepest.optim (rules.py: the same formulas, in place, on many arrays)
    descend               steepest.lab.descend (the same loop around an Optimizer class)

    >>> x, y = Value(-1.5), Value(2.0)
    >>> loss = (1 - x) ** 2 + 100 * (y - x ** 2) ** 2   # Rosenbrock's valley
    >>> loss.backward()                                 # chain rule, output to inputs
    >>> x.grad, y.grad                                  # ∂loss/∂x, ∂loss/∂y
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["MLP", "SGD", "AdaGrad", "Adadelta", "Adam", "Momentum", "RMSProp", "Value", "descend"]


class Value:
    """One number that remembers how it was made, so that it can pass gradients back."""

    def __init__(self, data: float, children: tuple[Value, ...] = (), op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0                 # ∂(the output backward() was called on)/∂self
        self._children = children
        self._backward = lambda: None   # adds this node's gradient into its children's
        self.op = op

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # Each operation: the forward value, then its local derivatives times out.grad (the chain
    # rule), added (+=) because a value used twice gets a gradient from both uses.
    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def backward() -> None:
            self.grad += out.grad                       # ∂(a + b)/∂a = 1
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def backward() -> None:
            self.grad += other.data * out.grad          # ∂(a b)/∂a = b
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __pow__(self, k: float) -> Value:
        out = Value(self.data ** k, (self,), f"**{k}")

        def backward() -> None:
            self.grad += k * self.data ** (k - 1) * out.grad     # ∂(a^k)/∂a = k a^(k-1)
        out._backward = backward
        return out

    def _unary(self, value: float, derivative: float, op: str) -> Value:
        out = Value(value, (self,), op)

        def backward() -> None:
            self.grad += derivative * out.grad
        out._backward = backward
        return out

    def exp(self) -> Value:
        e = math.exp(self.data)
        return self._unary(e, e, "exp")                          # (e^a)' = e^a

    def log(self) -> Value:
        return self._unary(math.log(self.data), 1.0 / self.data, "log")   # (ln a)' = 1/a

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")               # tanh' = 1 − tanh²

    def sigmoid(self) -> Value:
        s = 1.0 / (1.0 + math.exp(-self.data))
        return self._unary(s, s * (1.0 - s), "sigmoid")          # σ' = σ (1 − σ) ≤ 1/4

    def relu(self) -> Value:
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")  # 0 at 0

    # Sugar, made of the operations above (so it needs no derivative of its own).
    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __truediv__(self, other: Value | float) -> Value:
        return self * (other ** -1.0 if isinstance(other, Value) else 1.0 / other)

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return Value(other) - self

    def __rtruediv__(self, other: float) -> Value:
        return Value(other) / self

    def backward(self) -> None:
        """Fill .grad of every Value this one was computed from: ∂self/∂it."""
        order: list[Value] = []           # children before parents (topological order)
        seen: set[int] = set()
        stack = [(self, False)]
        while stack:                      # depth-first, without recursion (deep graphs)
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._children)
        self.grad = 1.0                   # ∂self/∂self
        for node in reversed(order):      # from the output back to the inputs
            node._backward()


class MLP:
    """Layers of neurons a_j = g(Σ_k w_jk a_k + b_j), g = tanh except on the last layer.

    weights: [(W (out, in), b (out,)), ...] as NumPy arrays, the layout of nn.Linear.
    """

    def __init__(self, weights: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        self.layers = [([[Value(w) for w in row] for row in np.asarray(W)],
                        [Value(v) for v in np.asarray(b)]) for W, b in weights]

    def __call__(self, x: Sequence[float | Value]) -> list[Value]:
        a = list(x)
        for index, (W, b) in enumerate(self.layers):
            z = [sum((w * a_k for w, a_k in zip(row, a, strict=True)), bias)
                 for row, bias in zip(W, b, strict=True)]
            a = z if index == len(self.layers) - 1 else [z_j.tanh() for z_j in z]
        return a

    def parameters(self) -> list[Value]:
        return [v for W, b in self.layers for v in [*(w for row in W for w in row), *b]]


# The lectures' optimizers: `step(x, dx)` moves the NumPy array x in place, given dx = ∇f(x).
class SGD:
    """x ← x − α ∇f(x)."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def step(self, x: np.ndarray, dx: np.ndarray) -> None:
        x -= self.lr * dx


class Momentum:
    """v ← ρ v + ∇f(x);  x ← x − α v.  Nesterov: x ← x − α (∇f(x) + ρ v), PyTorch's form of
    "take the gradient where the velocity is about to carry you"."""

    def __init__(self, lr: float, rho: float = 0.9, nesterov: bool = False) -> None:
        self.lr, self.rho, self.nesterov = lr, rho, nesterov
        self.v = 0.0

    def step(self, x: np.ndarray, dx: np.ndarray) -> None:
        self.v = self.rho * self.v + dx
        x -= self.lr * (dx + self.rho * self.v if self.nesterov else self.v)


class AdaGrad:
    """grad_squared += dx²;  x ← x − α dx / (√grad_squared + ε): steep directions damped."""

    def __init__(self, lr: float, eps: float = 1e-7) -> None:
        self.lr, self.eps = lr, eps
        self.grad_squared = 0.0

    def step(self, x: np.ndarray, dx: np.ndarray) -> None:
        self.grad_squared = self.grad_squared + dx * dx
        x -= self.lr * dx / (np.sqrt(self.grad_squared) + self.eps)


class RMSProp(AdaGrad):
    """Leaky AdaGrad: grad_squared ← β grad_squared + (1 − β) dx²."""

    def __init__(self, lr: float, decay_rate: float = 0.99, eps: float = 1e-7) -> None:
        super().__init__(lr, eps)
        self.decay_rate = decay_rate

    def step(self, x: np.ndarray, dx: np.ndarray) -> None:
        beta = self.decay_rate
        self.grad_squared = beta * self.grad_squared + (1 - beta) * dx * dx
        x -= self.lr * dx / (np.sqrt(self.grad_squared) + self.eps)


class Adadelta:
    """s ← ρ s + (1 − ρ) dx²;  Δ = −√(u + ε) / √(s + ε) · dx;  u ← ρ u + (1 − ρ) Δ²;  x ← x + α Δ.
    No learning rate needed (α = 1): Δ has the units of x."""

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6) -> None:
        self.lr, self.rho, self.eps = lr, rho, eps
        self.s = self.u = 0.0

    def step(self, x: np.ndarray, dx: np.ndarray) -> None:
        rho, eps = self.rho, self.eps
        self.s = rho * self.s + (1 - rho) * dx * dx
        delta = -np.sqrt(self.u + eps) / np.sqrt(self.s + eps) * dx
        self.u = rho * self.u + (1 - rho) * delta * delta
        x += self.lr * delta


class Adam:
    """Momentum (first moment) and RMSProp (second moment) together, with bias correction:
    m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t) (without it the first steps are too large)."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-7, bias_correction: bool = True) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.bias_correction = bias_correction
        self.first_moment = self.second_moment = 0.0
        self.t = 0

    def step(self, x: np.ndarray, dx: np.ndarray) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        self.first_moment = b1 * self.first_moment + (1 - b1) * dx
        self.second_moment = b2 * self.second_moment + (1 - b2) * dx * dx
        m, v = self.first_moment, self.second_moment
        if self.bias_correction:
            m, v = m / (1 - b1 ** self.t), v / (1 - b2 ** self.t)
        x -= self.lr * m / (np.sqrt(v) + self.eps)


def descend(f: Callable[..., Value], start: Sequence[float], optimizer: object,
            steps: int) -> np.ndarray:
    """The gradient descent loop: the gradient of f by backward(), then one optimizer step.

    f: takes one Value per coordinate, returns the loss Value. Returns the points (steps + 1, d).
    """
    x = np.array(start, dtype=np.float64)
    points = [x.copy()]
    for _ in range(steps):
        inputs = [Value(c) for c in x]
        f(*inputs).backward()
        optimizer.step(x, np.array([v.grad for v in inputs]))
        points.append(x.copy())
    return np.array(points)
