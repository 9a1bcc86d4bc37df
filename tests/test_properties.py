"""Property tests (hypothesis): gradients of random expressions equal central finite differences.

Shapes are drawn at random (1 to 4 axes, sizes 1 to 5), broadcasting pairs included; the values
come from a NumPy generator seeded by hypothesis, so they are ordinary normal samples (no ties for
max/min, no values at kinks) while the structure of the expression is what hypothesis explores.
Every check runs in float64 through `steepest.gradcheck`.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

import steepest as st
from steepest.autograd import unbroadcast

# derandomize: the same examples on every run, so a failure is never a fluke of the seed.
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, database=None)

shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
broadcast_pairs = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=1, max_dims=4, min_side=1, max_side=5
)
seeds = hs.integers(0, 2**32 - 1)


def leaf(rng: np.random.Generator, shape: tuple) -> st.Tensor:
    return st.tensor(rng.standard_normal(shape), requires_grad=True)


@hs.composite
def axes_of(draw, ndim: int):
    """An `axis` argument for an ndim-array: None, one axis or a tuple, negative ones included."""
    kind = draw(hs.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    chosen = draw(hs.lists(hs.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    signed = tuple(a - ndim if draw(hs.booleans()) else a for a in chosen)
    return signed[0] if kind == "int" else signed


def _count(shape: tuple, axis) -> int:
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


# ------------------------------------------------------------------ composite expressions


@PROPERTY
@given(pair=broadcast_pairs, seed=seeds)
def test_broadcast_composite_matches_finite_differences(pair, seed) -> None:
    (shape_a, shape_b), _ = pair
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, shape_a), leaf(rng, shape_b)
    assert st.gradcheck(lambda a, b: (a * b + a / (b**2 + 1)).tanh().sum(), [a, b])


@PROPERTY
@given(pair=broadcast_pairs, seed=seeds)
def test_broadcast_arithmetic_with_vector_output(pair, seed) -> None:
    (shape_a, shape_b), _ = pair
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, shape_a), leaf(rng, shape_b)
    assert st.gradcheck(
        lambda a, b: (a - b) * (b.sigmoid() + 0.5) / (a * a + 1.0) + st.maximum(a, b) ** 2,
        [a, b],
    )


@PROPERTY
@given(shape=shapes, seed=seeds, data=hs.data())
def test_softmax_weighted_sum(shape, seed, data) -> None:
    axis = data.draw(hs.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    x, v = leaf(rng, shape), leaf(rng, shape)
    assert st.gradcheck(lambda x, v: (x.softmax(axis) * v).sum(dim=axis), [x, v])
    assert st.gradcheck(lambda x, v: (x.log_softmax(axis) * v.exp()).sum(), [x, v])


REDUCTIONS = {
    "sum": lambda x, axis, keep: x.sum(axis=axis, keepdims=keep),
    "mean": lambda x, axis, keep: x.mean(axis=axis, keepdims=keep),
    "amax": lambda x, axis, keep: x.amax(axis=axis, keepdims=keep),
    "amin": lambda x, axis, keep: x.amin(axis=axis, keepdims=keep),
    "var": lambda x, axis, keep: x.var(axis=axis, keepdims=keep,
                                       correction=1 if _count(x.shape, axis) > 1 else 0),
}


@PROPERTY
@given(shape=shapes, seed=seeds, name=hs.sampled_from(sorted(REDUCTIONS)), keep=hs.booleans(),
       data=hs.data())
def test_reduction_over_random_axes(shape, seed, name, keep, data) -> None:
    axis = data.draw(axes_of(len(shape)), label="axis")
    rng = np.random.default_rng(seed)
    x = leaf(rng, shape)
    reduce = REDUCTIONS[name]
    out = reduce(x, axis, keep)
    expected = getattr(np, name)(x.data, axis=axis, keepdims=keep,
                               **({"ddof": 1 if _count(shape, axis) > 1 else 0}
                                  if name == "var" else {}))
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert st.gradcheck(lambda x: reduce(x.tanh(), axis, keep) * 2.0, [x])


@PROPERTY
@given(dims=hs.lists(hs.integers(1, 5), min_size=4, max_size=4),
       batch=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3),
       first_1d=hs.booleans(), last_1d=hs.booleans(), seed=seeds)
def test_matmul_chain(dims, batch, first_1d, last_1d, seed) -> None:
    n, k, m, p = dims
    rng = np.random.default_rng(seed)
    a = leaf(rng, (k,) if first_1d else batch + (n, k))
    b = leaf(rng, (k, m))
    c = leaf(rng, (m,) if last_1d else (m, p))
    assert st.gradcheck(lambda a, b, c: (a @ b).tanh() @ c, [a, b, c])


@PROPERTY
@given(shape=shapes, seed=seeds, data=hs.data())
def test_indexing_with_repeats_and_masks(shape, seed, data) -> None:
    rng = np.random.default_rng(seed)
    x = leaf(rng, shape)
    rows = np.array(data.draw(hs.lists(hs.integers(-shape[0], shape[0] - 1), min_size=1,
                                       max_size=6), label="rows"))
    mask = rng.random(shape) < 0.5
    assert st.gradcheck(lambda x: (x[rows] * x[rows]).sum() + (x[mask] ** 3).sum()
                        + x[::-1].tanh().sum(), [x])


# ------------------------------------------------------------------ random graphs


BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0),
    lambda a, b: st.maximum(a, b),
]
UNARY = [
    lambda a: a.tanh(),
    lambda a: a.sigmoid(),
    lambda a: a * 1.5,
    lambda a: -a,
    lambda a: a.reshape(-1).reshape(a.shape),
    lambda a: a.sum(dim=0, keepdim=True).expand(*a.shape) * 0.5,
]
steps = hs.lists(
    hs.tuples(hs.integers(0, len(BINARY) + len(UNARY) - 1), hs.integers(0, 99),
              hs.integers(0, 99)),
    min_size=1, max_size=12,
)


def run_program(program, leaves, order):
    """Apply each step to earlier values (so values are reused), then sum every new value.

    `order` is the order in which the values enter the final sum: it changes the order in which
    backward visits the nodes, which is where gradient-accumulation bugs hide.
    """
    values = list(leaves)
    for op, i, j in program:
        a, b = values[i % len(values)], values[j % len(values)]
        values.append(BINARY[op](a, b) if op < len(BINARY) else UNARY[op - len(BINARY)](a))
    made = values[len(leaves):]
    total = None
    for k in order:
        term = (made[k] * (0.1 * k + 0.3)).sum()
        total = term if total is None else total + term
    return total


@PROPERTY
@given(program=steps, count=hs.integers(1, 3), shape=hnp.array_shapes(max_dims=2, max_side=3),
       seed=seeds, data=hs.data())
def test_random_graphs_with_shared_nodes(program, count, shape, seed, data) -> None:
    order = data.draw(hs.permutations(range(len(program))), label="order")
    rng = np.random.default_rng(seed)
    leaves = [leaf(rng, shape) for _ in range(count)]
    assert st.gradcheck(lambda *xs: run_program(program, xs, order), leaves)


# ------------------------------------------------------------------ unbroadcast


@PROPERTY
@given(pair=broadcast_pairs, seed=seeds)
def test_unbroadcast_is_the_adjoint_of_broadcasting(pair, seed) -> None:
    (shape, _), full = pair
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(full)
    v = rng.standard_normal(shape)
    reduced = unbroadcast(g, shape)
    assert reduced.shape == shape
    # <unbroadcast(g), v> = <g, broadcast(v)>: summing back is exactly the transpose of copying.
    np.testing.assert_allclose(np.sum(reduced * v), np.sum(g * np.broadcast_to(v, full)),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(reduced.sum(), g.sum(), rtol=1e-10, atol=1e-10)
    assert unbroadcast(g, full) is g


@PROPERTY
@given(pair=broadcast_pairs, seed=seeds, op=hs.sampled_from(["add", "mul", "sub", "maximum"]))
def test_broadcast_op_gradients_have_the_input_shapes(pair, seed, op) -> None:
    (shape_a, shape_b), full = pair
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, shape_a), leaf(rng, shape_b)
    fn = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b,
          "maximum": st.maximum}[op]
    out = fn(a, b)
    assert out.shape == full
    upstream = rng.standard_normal(full)
    out.backward(upstream)
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    if op == "add":
        np.testing.assert_allclose(a.grad, unbroadcast(upstream, shape_a), rtol=1e-12)
        np.testing.assert_allclose(b.grad, unbroadcast(upstream, shape_b), rtol=1e-12)
    # Every gradient sum splits the upstream total for add/sub (up to sign).
    if op in ("add", "sub"):
        np.testing.assert_allclose(a.grad.sum(), upstream.sum(), rtol=1e-10, atol=1e-10)
