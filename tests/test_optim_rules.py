"""The update rules by themselves: hand-computed first steps, the lecture's and other libraries'
formulas written out, and the in-place contract (no temporaries, float32 kept, state reused)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import steepest
from steepest import optim
from steepest.optim.spec import get_spec

SGD, ADAM, ADAGRAD = get_spec("SGD"), get_spec("Adam"), get_spec("Adagrad")

G = np.array([0.5, -2.0])  # the gradient of every first step below
W = np.array([1.0, -1.0])  # the parameter
MU1 = 0.9 * (1 - 0.5 * 0.96 ** (1 * 4e-3))  # NAdam's μ₁ and μ₂ with the default ψ = 4e-3
MU2 = 0.9 * (1 - 0.5 * 0.96 ** (2 * 4e-3))

# (rule, init, options, expected delta of the first step from state init(W), gradient G)
FIRST_STEPS = [
    ("sgd", {}, dict(lr=0.1), [-0.05, 0.2]),
    ("sgd", {}, dict(lr=0.1, weight_decay=0.1), [-0.1 * (0.5 + 0.1), -0.1 * (-2.0 - 0.1)]),
    ("sgd", {}, dict(lr=0.1, maximize=True), [0.05, -0.2]),
    # PyTorch's buffer starts AT the first gradient (b = g), so the first step is plain SGD...
    ("sgd", {}, dict(lr=0.1, momentum=0.9, dampening=0.5), [-0.05, 0.2]),
    # ...and Nesterov's looks ahead by μ: −lr·(g + μ·b) = −0.1·1.9·g.
    ("sgd", {}, dict(lr=0.1, momentum=0.9, nesterov=True), [-0.095, 0.38]),
    # Lecture form: v = γ·0 + η·g, w −= v;  Nesterov: w −= γ·v + η·g.
    ("sgd", {}, dict(lr=0.1, momentum=0.9, momentum_form="lecture"), [-0.05, 0.2]),
    ("sgd", {}, dict(lr=0.1, momentum=0.9, nesterov=True, momentum_form="lecture"),
     [-0.095, 0.38]),
    # Adagrad: Σg² = g², so the step is −lr·g/|g|.
    ("adagrad", {}, dict(lr=0.1, eps=0.0), [-0.1, 0.1]),
    ("adagrad", {}, dict(lr=0.1, eps=0.5), [-0.1 * 0.5 / (0.5 + 0.5), 0.1 * 2.0 / (2.0 + 0.5)]),
    # Keras: Σg² starts at 0.1 and ε = 1e-7 sits inside the root.
    ("adagrad", dict(initial_accumulator_value=0.1), dict(lr=0.1, eps=1e-7, eps_inside_sqrt=True),
     [-0.1 * 0.5 / np.sqrt(0.1 + 0.25 + 1e-7), 0.1 * 2.0 / np.sqrt(0.1 + 4.0 + 1e-7)]),
    # Adadelta: E[g²] = 0.1·g², Δ = √(0 + ε)/√(E[g²] + ε)·g.
    ("adadelta", {}, dict(lr=1.0, rho=0.9, eps=1e-6),
     [-np.sqrt(1e-6) / np.sqrt(0.1 * 0.25 + 1e-6) * 0.5,
      np.sqrt(1e-6) / np.sqrt(0.1 * 4.0 + 1e-6) * 2.0]),
    # RMSprop: E[g²] = 0.01·g², √ = 0.1·|g|, step −0.01·g/(0.1·|g|).
    ("rmsprop", {}, dict(lr=0.01, eps=0.0), [-0.1, 0.1]),
    # centered: E[g] = 0.01·g, variance 0.01·g² − 0.0001·g² = 0.0099·g².
    ("rmsprop", dict(centered=True), dict(lr=0.01, eps=0.0, centered=True),
     [-0.01 / np.sqrt(0.0099), 0.01 / np.sqrt(0.0099)]),
    # momentum: b = 0·μ + g/d, the same first step.
    ("rmsprop", dict(momentum=0.9), dict(lr=0.01, eps=0.0, momentum=0.9), [-0.1, 0.1]),
    # Adam: m̂ = g, v̂ = g², so the first step is −lr·g/|g| whatever the gradient's size...
    ("adam", {}, dict(lr=0.1, eps=0.0), [-0.1, 0.1]),
    ("adam", dict(amsgrad=True), dict(lr=0.1, eps=0.0, amsgrad=True), [-0.1, 0.1]),
    # ...without bias correction m = 0.1·g, √v = √0.001·|g|: a step 0.1/√0.001 ≈ 3.16 times larger.
    ("adam", {}, dict(lr=0.1, eps=0.0, bias_correction=False),
     [-0.1 * 0.1 / np.sqrt(0.001), 0.1 * 0.1 / np.sqrt(0.001)]),
    # ε inside the root: −lr·g/√(g² + ε).
    ("adam", {}, dict(lr=0.1, eps=0.75, eps_inside_sqrt=True),
     [-0.1 * 0.5 / np.sqrt(0.25 + 0.75), 0.1 * 2.0 / np.sqrt(4.0 + 0.75)]),
    # ε before bias correction (Keras): −lr·√0.001/0.1 · 0.1·g / (√0.001·|g| + ε).
    ("adam", {}, dict(lr=0.1, eps=0.01, eps_before_bias_correction=True),
     [-0.1 * np.sqrt(0.001) / 0.1 * 0.05 / (np.sqrt(0.001) * 0.5 + 0.01),
      0.1 * np.sqrt(0.001) / 0.1 * 0.2 / (np.sqrt(0.001) * 2.0 + 0.01)]),
    # L2 weight decay: g + 0.1·w = [0.6, −2.1], still ±lr.
    ("adam", {}, dict(lr=0.1, eps=0.0, weight_decay=0.1), [-0.1, 0.1]),
    # AdamW: −lr·λ·w beside the Adam step.
    ("adam", {}, dict(lr=0.1, eps=0.0, weight_decay=0.1, decoupled_weight_decay=True),
     [-0.01 - 0.1, 0.01 + 0.1]),
    # NAdam: −lr(1−μ₁)/(1−μ₁)·g/|g| − lr·μ₂/(1 − μ₁μ₂)·0.1·g/|g|.
    ("nadam", {}, dict(lr=0.1, eps=0.0),
     [-0.1 - 0.1 * MU2 / (1 - MU1 * MU2) * 0.1, 0.1 + 0.1 * MU2 / (1 - MU1 * MU2) * 0.1]),
]


@pytest.mark.parametrize("name, init_options, options, expected", FIRST_STEPS,
                         ids=[f"{n}-{o}" for n, _, o, _ in FIRST_STEPS])
def test_first_step_by_hand(name, init_options, options, expected):
    init = get_spec(name).init_state
    update = get_spec(name).step
    delta, state = update(G, init(W, **init_options), W, **options)
    np.testing.assert_allclose(delta, expected, rtol=1e-13, atol=1e-15)


def test_sgd_second_step_by_hand():
    state = SGD.init_state(W)
    _, state = SGD.step(G, state, W, lr=0.1, momentum=0.9)
    delta, state = SGD.step(G, state, W, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(state.momentum_buffer, 1.9 * G)  # b = 0.9·g + g
    np.testing.assert_allclose(delta, -0.1 * 1.9 * G)


# ---------------------------------------------------------------------------- written-out forms
STEPS = 120


def run_class(cls, lrs, grads, **options):
    """Drive an Optimizer class with a given gradient sequence and a learning rate per step."""
    w = steepest.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    opt = cls([w], lr=lrs[0], **options)
    path = []
    for lr, g in zip(lrs, grads, strict=True):
        opt.param_groups[0]["lr"] = lr
        w.grad = g
        opt.step()
        path.append(w.data.copy())
    return np.array(path)


def sequences(seed=0, lr=0.05, changing=True):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(3) + np.array([1.0, -0.5, 0.0]) for _ in range(STEPS)]
    lrs = [lr * (0.1 if changing and t >= STEPS // 2 else 1.0) for t in range(STEPS)]
    return lrs, grads


def lecture_momentum(lrs, grads, gamma):
    """Lecture 001: v_t = γ v_{t−1} + η ∇L(w), w = w − v_t."""
    w, v, path = np.array([1.0, -2.0, 0.5]), np.zeros(3), []
    for eta, g in zip(lrs, grads, strict=True):
        v = gamma * v + eta * g
        w = w - v
        path.append(w)
    return np.array(path)


def keras_nesterov(lrs, grads, momentum):
    """Keras SGD(nesterov=True): m = μm − lr·g; w += μm − lr·g."""
    w, m, path = np.array([1.0, -2.0, 0.5]), np.zeros(3), []
    for lr, g in zip(lrs, grads, strict=True):
        m = momentum * m - lr * g
        w = w + momentum * m - lr * g
        path.append(w)
    return np.array(path)


def lecture_adagrad(lrs, grads):
    """Lecture 004: grad_squared += dx*dx; x -= lr * dx / (np.sqrt(grad_squared) + 1e-7)."""
    x, grad_squared, path = np.array([1.0, -2.0, 0.5]), 0.0, []
    for learning_rate, dx in zip(lrs, grads, strict=True):
        grad_squared += dx * dx
        x = x - learning_rate * dx / (np.sqrt(grad_squared) + 1e-7)
        path.append(x)
    return np.array(path)


def keras_adagrad(lrs, grads):
    """Keras Adagrad: acc starts at 0.1; acc += g²; w −= lr·g/√(acc + 1e-7)."""
    w, acc, path = np.array([1.0, -2.0, 0.5]), np.full(3, 0.1), []
    for lr, g in zip(lrs, grads, strict=True):
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + 1e-7)
        path.append(w)
    return np.array(path)


def lecture_rmsprop(lrs, grads, decay_rate):
    """Lecture 004: gs = decay·gs + (1 − decay)·dx²; x -= lr·dx/(√gs + 1e-7)."""
    x, grad_squared, path = np.array([1.0, -2.0, 0.5]), 0.0, []
    for learning_rate, dx in zip(lrs, grads, strict=True):
        grad_squared = decay_rate * grad_squared + (1 - decay_rate) * dx * dx
        x = x - learning_rate * dx / (np.sqrt(grad_squared) + 1e-7)
        path.append(x)
    return np.array(path)


def keras_rmsprop(lrs, grads, rho, centered):
    """Keras RMSprop: v = ρv + (1−ρ)g²; centered: a = ρa + (1−ρ)g, v − a²; w −= lr·g/√(· + ε)."""
    w, v, a, path = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3), []
    for lr, g in zip(lrs, grads, strict=True):
        v = rho * v + (1 - rho) * g * g
        denominator = v
        if centered:
            a = rho * a + (1 - rho) * g
            denominator = v - a * a
        w = w - lr * g / np.sqrt(denominator + 1e-7)
        path.append(w)
    return np.array(path)


def lecture_adam(lrs, grads, beta1, beta2, bias_correction):
    """Lecture 004's Adam, first without then with the bias-correction step (ε = 1e-7)."""
    x, first_moment, second_moment, path = np.array([1.0, -2.0, 0.5]), 0.0, 0.0, []
    for t, (learning_rate, dx) in enumerate(zip(lrs, grads, strict=True), start=1):
        first_moment = beta1 * first_moment + (1 - beta1) * dx
        second_moment = beta2 * second_moment + (1 - beta2) * dx * dx
        if bias_correction:
            first_unbias = first_moment / (1 - beta1**t)
            second_unbias = second_moment / (1 - beta2**t)
            x = x - learning_rate * first_unbias / (np.sqrt(second_unbias) + 1e-7)
        else:
            x = x - learning_rate * first_moment / (np.sqrt(second_moment) + 1e-7)
        path.append(x)
    return np.array(path)


def optax_adam_eps_root(lrs, grads, eps_root):
    """optax.adam(lr, eps=0, eps_root=ε): w −= lr·m̂/√(v̂ + ε)."""
    w, m, v, path = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3), []
    for t, (lr, g) in enumerate(zip(lrs, grads, strict=True), start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - lr * (m / (1 - 0.9**t)) / np.sqrt(v / (1 - 0.999**t) + eps_root)
        path.append(w)
    return np.array(path)


def keras_adam(lrs, grads, epsilon):
    """Keras Adam: α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ); m += (g − m)(1 − β₁); v += (g² − v)(1 − β₂);
    w −= α·m/(√v + ε)."""
    w, m, v, path = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3), []
    for t, (lr, g) in enumerate(zip(lrs, grads, strict=True), start=1):
        alpha = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        m = m + (g - m) * (1 - 0.9)
        v = v + (g * g - v) * (1 - 0.999)
        w = w - alpha * m / (np.sqrt(v) + epsilon)
        path.append(w)
    return np.array(path)


FORMULAS = [
    ("lecture momentum", optim.SGD, dict(momentum=0.9, momentum_form="lecture"),
     lambda lrs, gs: lecture_momentum(lrs, gs, 0.9)),
    ("Keras Nesterov", optim.SGD, dict(momentum=0.8, nesterov=True, momentum_form="lecture"),
     lambda lrs, gs: keras_nesterov(lrs, gs, 0.8)),
    ("lecture AdaGrad", optim.Adagrad, dict(eps=1e-7), lecture_adagrad),
    ("Keras Adagrad", optim.Adagrad,
     dict(initial_accumulator_value=0.1, eps=1e-7, eps_inside_sqrt=True), keras_adagrad),
    ("lecture RMSProp", optim.RMSprop, dict(alpha=0.9, eps=1e-7),
     lambda lrs, gs: lecture_rmsprop(lrs, gs, 0.9)),
    ("Keras RMSprop", optim.RMSprop, dict(alpha=0.9, eps=1e-7, eps_inside_sqrt=True),
     lambda lrs, gs: keras_rmsprop(lrs, gs, 0.9, centered=False)),
    ("Keras RMSprop centered", optim.RMSprop,
     dict(alpha=0.9, eps=1e-7, eps_inside_sqrt=True, centered=True),
     lambda lrs, gs: keras_rmsprop(lrs, gs, 0.9, centered=True)),
    ("lecture Adam without bias correction", optim.Adam,
     dict(betas=(0.9, 0.99), eps=1e-7, bias_correction=False),
     lambda lrs, gs: lecture_adam(lrs, gs, 0.9, 0.99, bias_correction=False)),
    ("lecture Adam with bias correction", optim.Adam, dict(betas=(0.9, 0.99), eps=1e-7),
     lambda lrs, gs: lecture_adam(lrs, gs, 0.9, 0.99, bias_correction=True)),
    ("optax Adam eps_root", optim.Adam, dict(eps=1e-3, eps_inside_sqrt=True),
     lambda lrs, gs: optax_adam_eps_root(lrs, gs, 1e-3)),
    ("Keras Adam", optim.Adam, dict(eps=1e-3, eps_before_bias_correction=True),
     lambda lrs, gs: keras_adam(lrs, gs, 1e-3)),
]


@pytest.mark.parametrize("desc, cls, options, formula", FORMULAS, ids=[f[0] for f in FORMULAS])
def test_conventions_match_their_formulas_written_out(desc, cls, options, formula):
    lrs, grads = sequences()
    expected = formula(lrs, grads)
    actual = run_class(cls, lrs, grads, **options)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=desc)
    assert np.abs(actual[-1] - actual[0]).max() > 0.1, desc


def test_momentum_forms_differ_exactly_when_the_learning_rate_changes():
    constant_lrs, grads = sequences(changing=False)
    lecture = run_class(optim.SGD, constant_lrs, grads, momentum=0.9, momentum_form="lecture")
    pytorch = run_class(optim.SGD, constant_lrs, grads, momentum=0.9)
    np.testing.assert_allclose(lecture, pytorch, rtol=1e-12, atol=1e-12)
    lrs, grads = sequences(changing=True)
    lecture = run_class(optim.SGD, lrs, grads, momentum=0.9, momentum_form="lecture")
    pytorch = run_class(optim.SGD, lrs, grads, momentum=0.9)
    half = STEPS // 2
    np.testing.assert_allclose(lecture[:half], pytorch[:half], rtol=1e-12, atol=1e-12)
    # Right after the 10× lr drop PyTorch's step shrinks 10×; the lecture's velocity, which
    # holds η already, still carries the old speed.
    step_lecture = np.linalg.norm(lecture[half] - lecture[half - 1])
    step_pytorch = np.linalg.norm(pytorch[half] - pytorch[half - 1])
    assert step_lecture > 5 * step_pytorch


def test_adam_without_bias_correction_takes_a_larger_first_step():
    w = np.array([1.0, -2.0, 0.5])
    g = np.array([0.3, -0.1, 2.0])
    with_correction, _ = ADAM.step(g, ADAM.init_state(w), w, lr=0.01, eps=0.0)
    without, _ = ADAM.step(g, ADAM.init_state(w), w, lr=0.01, eps=0.0,
                                   bias_correction=False)
    # (1 − β₁)/√(1 − β₂) = 0.1/√0.001 ≈ 3.16 for every coordinate, whatever its gradient.
    ratio = np.abs(without) / np.abs(with_correction)
    np.testing.assert_allclose(ratio, 0.1 / np.sqrt(0.001), rtol=1e-12)


def test_adam_with_zero_lr_moves_moments_not_parameters():
    state = ADAM.init_state(W)
    delta, state = ADAM.step(G, state, W, lr=0.0)
    assert not delta.any() and np.isfinite(delta).all()
    np.testing.assert_allclose(state.exp_avg, 0.1 * G)


# ---------------------------------------------------------------------------- the contract
# (rule, init options, update options): every rule with its default and its heavier options.
CONTRACT = [
    ("sgd", {}, dict(lr=0.1)),
    ("sgd", {}, dict(lr=0.1, momentum=0.9)),
    ("sgd", {}, dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.1, maximize=True)),
    ("sgd", {}, dict(lr=0.1, momentum=0.9, nesterov=True, momentum_form="lecture")),
    ("adagrad", {}, dict(lr=0.1)),
    ("adagrad", dict(initial_accumulator_value=0.1),
     dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, eps_inside_sqrt=True, maximize=True)),
    ("adadelta", {}, dict(lr=1.0)),
    ("adadelta", {}, dict(lr=1.0, weight_decay=0.1, maximize=True)),
    ("rmsprop", {}, dict(lr=0.01)),
    ("rmsprop", dict(momentum=0.5, centered=True),
     dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, eps_inside_sqrt=True)),
    ("adam", {}, dict(lr=0.01)),
    ("adam", dict(amsgrad=True), dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("adam", {}, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True,
                      eps_before_bias_correction=True)),
    ("adam", {}, dict(lr=0.01, eps_inside_sqrt=True, bias_correction=False)),
    ("nadam", {}, dict(lr=0.01)),
    ("nadam", {}, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
CONTRACT_IDS = [f"{n}-{o}" for n, _, o in CONTRACT]


def arrays_of(state):
    return [value for value in state if isinstance(value, np.ndarray)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, init_options, options", CONTRACT, ids=CONTRACT_IDS)
def test_in_place_contract(name, init_options, options, dtype):
    """State arrays are updated in place and handed back; `out` receives delta; grad, param
    are untouched; the dtype is kept; the result equals a fresh computation (`out=None`)."""
    rng = np.random.default_rng(0)
    param = rng.standard_normal((4, 3)).astype(dtype)
    init = get_spec(name).init_state
    update = get_spec(name).step
    state = init(param, **init_options)
    twin = init(param, **init_options)
    out = np.empty_like(param)
    for _ in range(3):
        grad = rng.standard_normal((4, 3)).astype(dtype)
        grad_copy, param_copy = grad.copy(), param.copy()
        before = [id(a) for a in arrays_of(state)]
        delta, new_state = update(grad, state, param, out=out, **options)
        fresh, twin = update(grad, twin, param, **options)
        assert delta is out and delta.dtype == dtype
        np.testing.assert_array_equal(delta, fresh)
        np.testing.assert_array_equal(grad, grad_copy)
        np.testing.assert_array_equal(param, param_copy)
        assert type(new_state) is type(state)
        assert [id(a) for a in arrays_of(new_state)][:len(before)] == before
        assert all(a.dtype == dtype for a in arrays_of(new_state))
        if hasattr(new_state, "step"):
            assert new_state.step == state.step + 1
        state = new_state
        param += delta


HOT_PATHS = [
    ("sgd", {}, dict(lr=0.1)),
    ("sgd", {}, dict(lr=0.1, momentum=0.9)),
    ("sgd", {}, dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd", {}, dict(lr=0.1, momentum=0.9, momentum_form="lecture")),
    ("adagrad", {}, dict(lr=0.1)),
    ("rmsprop", {}, dict(lr=0.01)),
    ("rmsprop", dict(momentum=0.9, centered=True), dict(lr=0.01, momentum=0.9, centered=True)),
    ("adam", {}, dict(lr=0.01)),
    ("adam", dict(amsgrad=True), dict(lr=0.01, amsgrad=True)),
    ("adam", {}, dict(lr=0.01, eps_before_bias_correction=True)),
]


@pytest.mark.parametrize("name, init_options, options", HOT_PATHS,
                         ids=[f"{n}-{o}" for n, _, o in HOT_PATHS])
def test_default_paths_allocate_no_temporary_array(name, init_options, options):
    n = 250_000  # 1 MB of float32: any temporary would show in the traced peak
    param = np.linspace(-1, 1, n, dtype=np.float32)
    grad = np.linspace(2, -1, n, dtype=np.float32)
    init = get_spec(name).init_state
    update = get_spec(name).step
    state = init(param, **init_options)
    out = np.empty_like(param)
    _, state = update(grad, state, param, out=out, **options)  # creates lazy buffers
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(2):
            _, state = update(grad, state, param, out=out, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 0.1 * param.nbytes, f"{name}: {peak - base} bytes of temporaries"


def test_optimizer_step_allocates_nothing_after_the_first():
    param = steepest.Tensor(np.zeros(250_000, np.float32), requires_grad=True)
    param.grad = np.ones(250_000, np.float32)
    opt = optim.Adam([param], lr=0.01)
    opt.step()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 0.1 * param.data.nbytes


@pytest.mark.parametrize("call, message", [
    (lambda: SGD.step(G, SGD.init_state(W), W, lr=0.1, out=np.empty(3)),
     r"out has shape \(3,\)"),
    (lambda: ADAM.step(G, ADAM.init_state(W), W, lr=0.1,
                               out=np.empty(2, np.float32)), "dtype float32"),
    (lambda: ADAGRAD.step(np.ones(3), ADAGRAD.init_state(W), W, lr=0.1),
     r"gradient has shape \(3,\)"),
    (lambda: SGD.step(G, SGD.init_state(W), W, lr=0.1, momentum_form="keras"),
     "invalid momentum_form 'keras'"),
    (lambda: SGD.step(G, SGD.init_state(W), W, lr=0.1, momentum=0.9, dampening=0.5,
                              momentum_form="lecture"), "dampening=0.5"),
])
def test_rule_argument_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
