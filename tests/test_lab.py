"""The descent lab: surfaces against PyTorch, the lectures' claims about optimizers measured on
them, the lab's paths against hand-written loops, the pictures, and `steepest race`."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import assert_close

import steepest
from steepest import optim
from steepest.cli import UsageError
from steepest.cli import race as race_cli
from steepest.lab import (
    OPTIMIZERS,
    SURFACES,
    Ravine,
    Surface,
    animate_race,
    descend,
    format_option,
    get_surface,
    optimizer_options,
    parse_option,
    plot_learning_rates,
    plot_losses,
    plot_race,
    race,
    race_table,
)
from steepest.nn.parameter import Parameter

# ----------------------------------------------------------------- the surfaces, written in torch
TWO_PI = 2 * math.pi
TORCH_SURFACES = {
    "bowl": lambda x, y: x**2 + y**2,
    "ravine": lambda x, y: 0.5 * (x**2 + 50 * y**2),
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "beale": lambda x, y: ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
                           + (2.625 - x + x * y**3) ** 2),
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "saddle": lambda x, y: x**2 - y**2,
    "monkey-saddle": lambda x, y: x**3 - 3 * x * y**2,
    "rastrigin": lambda x, y: (20 + x**2 - 10 * torch.cos(TWO_PI * x)
                               + y**2 - 10 * torch.cos(TWO_PI * y)),
    "ackley": lambda x, y: (-20 * torch.exp(-0.2 * torch.sqrt(0.5 * (x**2 + y**2)))
                            - torch.exp(0.5 * (torch.cos(TWO_PI * x) + torch.cos(TWO_PI * y)))
                            + math.e + 20),
    "rough-bowl": lambda x: x**2 + 4 * torch.sin(3 * x) ** 2 * x**2 / (1 + x**2),
}


def torch_value_and_grad(name: str, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f and ∇f by torch at many points: points (m, d) -> (m,), (m, d)."""
    coords = [torch.tensor(points[:, i], dtype=torch.float64, requires_grad=True)
              for i in range(points.shape[1])]
    values = TORCH_SURFACES[name](*coords)
    values.sum().backward()
    return values.detach().numpy(), np.stack([c.grad.numpy() for c in coords], axis=1)


def torch_hessian(name: str, points: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of torch's gradient: points (m, d) -> (m, d, d)."""
    d = points.shape[1]
    columns = [(torch_value_and_grad(name, points + h * np.eye(d)[j])[1]
                - torch_value_and_grad(name, points - h * np.eye(d)[j])[1]) / (2 * h)
               for j in range(d)]
    return np.stack(columns, axis=2)


@pytest.mark.parametrize("name", list(SURFACES))
def test_surface_value_and_gradient_match_torch(name):
    surface = get_surface(name)
    rng = np.random.default_rng(7)
    lows, highs = np.array(surface.window).T
    points = rng.uniform(lows, highs, size=(6, surface.dim))
    expected_values, expected_grads = torch_value_and_grad(name, points)
    for point, value, grad in zip(points, expected_values, expected_grads, strict=True):
        assert_close(surface.value(point), value, np.float64, f"{name} f{point}")
        assert_close(surface.gradient(point), grad, np.float64, f"{name} ∇f{point}")


@pytest.mark.parametrize("name", ["rastrigin", "ackley", "rough-bowl", "beale"])
def test_surface_gradient_matches_finite_differences(name):
    surface = get_surface(name)
    start = np.array(surface.start, dtype=np.float64) + 0.123
    assert steepest.gradcheck(lambda p: surface.loss(p), [steepest.tensor(start,
                                                                           requires_grad=True)])


@pytest.mark.parametrize("name, count, global_points, global_value", [
    ("bowl", 1, [(0.0, 0.0)], 0.0),
    ("ravine", 1, [(0.0, 0.0)], 0.0),
    ("rosenbrock", 1, [(1.0, 1.0)], 0.0),
    ("beale", 1, [(3.0, 0.5)], 0.0),
    ("himmelblau", 4, [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                       (3.584428, -1.848126)], 0.0),
    ("rastrigin", 121, [(0.0, 0.0)], 0.0),
    ("ackley", 81, [(0.0, 0.0)], 0.0),
    ("rough-bowl", 9, [(0.0,)], 0.0),
])
def test_listed_minima_are_minima_and_the_global_one_is_lowest(name, count, global_points,
                                                                global_value):
    surface = get_surface(name)
    minima = surface.minima
    assert len(minima) == count
    points = np.array([m.point for m in minima])
    values = np.array([m.value for m in minima])
    # Zero gradient by steepest's autograd and by torch; positive-definite Hessian by torch.
    for point in points:
        assert np.abs(surface.gradient(point)).max() < 1e-9, point
    torch_values, torch_grads = torch_value_and_grad(name, points)
    assert_close(values, torch_values, np.float64, f"{name} minima values")
    # Ackley's global minimum is a cone tip: no gradient there, so torch's is NaN (0·∞).
    smooth = np.linalg.norm(points, axis=1) > 0 if name == "ackley" else slice(None)
    assert np.abs(torch_grads[smooth]).max() < 1e-9
    eigenvalues = np.linalg.eigvalsh(torch_hessian(name, points[smooth]))
    assert eigenvalues.min() > 1e-3
    # The global ones are where they are known to be, lowest, and no local one ties them.
    found = sorted(m.point for m in minima if m.is_global)
    np.testing.assert_allclose(found, sorted(global_points), atol=1e-6)
    assert values.min() == pytest.approx(global_value, abs=1e-12)
    local = values[[not m.is_global for m in minima]]
    assert np.all(local > values.min() + 1e-3)


def test_rastrigin_first_local_minimum_solves_its_equation():
    # d/dx (x² − 10 cos 2πx) = 2x + 20π sin 2πx = 0 near x = 1: the textbook 0.99496.
    minimum, distance = get_surface("rastrigin").nearest_minimum((1.0, 0.0))
    x = minimum.point[0]
    assert distance < 0.01 and not minimum.is_global
    assert abs(2 * x + 20 * math.pi * math.sin(2 * math.pi * x)) < 1e-10
    assert x == pytest.approx(0.994958636, abs=1e-8)


@pytest.mark.parametrize("name, saddle", [("saddle", (0.0, 0.0)), ("monkey-saddle", (0.0, 0.0))])
def test_saddle_surfaces_have_no_minimum_and_a_critical_point(name, saddle):
    surface = get_surface(name)
    assert surface.minima == () and surface.global_minimum is None
    assert surface.saddles == (saddle,)
    np.testing.assert_array_equal(surface.gradient(saddle), [0.0, 0.0])
    # Downhill from the saddle along y (saddle) or −x (monkey saddle): it is no minimum.
    assert surface.value((0.0, 0.1)) < 0 or surface.value((-0.1, 0.0)) < 0


@pytest.mark.parametrize("build, error", [
    (lambda: get_surface("nope"), "unknown surface 'nope'"),
    (lambda: Ravine(condition=0.5), "condition number must be >= 1, got 0.5"),
    (lambda: get_surface("rough-bowl", a=-1.0), "a and b must be positive"),
    (lambda: descend("bowl", "nope", None, 3), "unknown optimizer 'nope'"),
    (lambda: descend("bowl", "sgd", (1.0, 2.0, 3.0), 3), "needs a start point of 2"),
    (lambda: descend("bowl", "sgd", None, -1), "steps must be a non-negative integer"),
    (lambda: descend("bowl", "sgd", None, 3, lr=-0.1), "Invalid learning rate: -0.1"),
])
def test_bad_arguments_raise_value_errors(build, error):
    with pytest.raises(ValueError, match=error):
        build()


def test_descend_rejects_an_optimizer_that_is_neither_name_nor_class():
    with pytest.raises(TypeError, match="must be a name"):
        descend("bowl", 3.5, None, 3)


# ----------------------------------------------------------------- the Path record
def test_lab_adam_path_is_the_hand_written_loop():
    path = descend("rosenbrock", "adam", (-1.2, 1.0), 40, lr=0.05)
    point = Parameter(np.array([-1.2, 1.0]))
    opt = optim.Adam([point], lr=0.05)
    surface = get_surface("rosenbrock")
    points, losses = [point.data.copy()], []
    for _ in range(40):
        opt.zero_grad()
        loss = surface.loss(point)
        loss.backward()
        losses.append(loss.item())
        opt.step()
        points.append(point.data.copy())
    losses.append(surface.value(point.data))
    np.testing.assert_array_equal(path.points, np.array(points))
    np.testing.assert_array_equal(path.losses, np.array(losses))
    assert path.points.shape == (41, 2) and path.grads.shape == (41, 2)
    np.testing.assert_array_equal(path.grad_norms, np.linalg.norm(path.grads, axis=1))
    np.testing.assert_array_equal(path.lrs, np.full(40, 0.05))
    np.testing.assert_array_equal(path.evaluations, np.arange(41))
    assert not path.diverged and path.steps == 40


def test_descend_accepts_an_optimizer_class_and_the_same_numbers_come_out():
    by_name = descend("himmelblau", "momentum", None, 30, lr=0.002)
    by_class = descend("himmelblau", optim.SGD, None, 30, lr=0.002, momentum=0.9)
    np.testing.assert_array_equal(by_name.points, by_class.points)
    assert by_class.name == "sgd" and by_class.hyperparameters["momentum"] == 0.9


def test_descend_follows_a_schedule():
    path = descend("bowl", "sgd", None, 12, lr=0.1,
                   schedule=lambda opt: optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5))
    np.testing.assert_allclose(path.lrs, 0.1 * 0.5 ** (np.arange(12) // 5), rtol=1e-15)
    # Plain GD on x² + y²: each step multiplies the point by (1 − 2·lr_k).
    expected = np.array(get_surface("bowl").start) * np.cumprod(1 - 2 * path.lrs)[:, None]
    np.testing.assert_allclose(path.points[1:], expected, rtol=1e-12)


def test_divergence_stops_the_descent_and_is_recorded():
    # On x² + y² with lr = 1000 each step multiplies the point by −1999: f overflows.
    path = descend("bowl", "sgd", None, 500, lr=1000.0)
    assert path.diverged
    assert path.steps < 60
    assert not np.isfinite(path.losses[-1]) and np.all(np.isfinite(path.losses[:-1]))
    np.testing.assert_allclose(path.points[1], np.array([-4.0, 3.0]) * -1999.0)


# ----------------------------------------------------------------- what the lectures teach
def test_momentum_crosses_the_ravine_far_faster_than_gradient_descent():
    ravine = Ravine(condition=50)
    lr, tol = 0.01, 1e-3
    gd = descend(ravine, "sgd", None, 1000, lr=lr)
    heavy_ball = descend(ravine, "momentum", None, 1000, lr=lr)
    # GD on (x² + 50y²)/2 is x ← (1 − lr)x, y ← (1 − 50 lr)y: its arrival step in closed form.
    k = np.arange(1001)
    x0, y0 = ravine.start
    closed_form = np.hypot(x0 * (1 - lr) ** k, y0 * (1 - 50 * lr) ** k)
    assert gd.first_within(tol) == int(np.argmax(closed_form <= tol)) == 906
    assert heavy_ball.first_within(tol) == 161
    assert 4 * heavy_ball.first_within(tol) < gd.first_within(tol)


def test_near_a_saddle_gradient_descent_stalls_while_momentum_and_adam_escape():
    start, steps, lr = (-1.5, 1e-3), 100, 0.01
    gd = descend("saddle", "sgd", start, steps, lr=lr)
    heavy_ball = descend("saddle", "momentum", start, steps, lr=lr)
    adam = descend("saddle", "adam", start, steps, lr=lr)
    # GD: x shrinks by 0.98 per step into the saddle, y grows only by 1.02 from 1e-3.
    np.testing.assert_allclose(gd.final_point, [-1.5 * 0.98**100, 1e-3 * 1.02**100], rtol=1e-12)
    assert gd.final_loss > 0 and abs(gd.final_point[1]) < 0.01
    for escaped in (heavy_ball, adam):
        assert escaped.final_loss < -1.0 and escaped.final_point[1] > 1.0


def test_adagrad_effective_step_shrinks_monotonically():
    lr, eps = 0.5, 1e-10
    path = descend("himmelblau", "adagrad", None, 60, lr=lr)
    grads = path.grads[:-1]
    effective = -np.diff(path.points, axis=0) / grads          # lr / (√G + ε), per coordinate
    expected = lr / (np.sqrt(np.cumsum(grads**2, axis=0)) + eps)
    np.testing.assert_allclose(effective, expected, rtol=1e-9)
    assert np.all(np.diff(effective, axis=0) < 0)
    assert np.all(effective[-1] < 0.2 * effective[0])


def test_adam_without_bias_correction_takes_a_much_larger_first_step():
    lr, (beta1, beta2), eps = 0.01, (0.9, 0.999), 1e-8
    corrected = descend("rosenbrock", "adam", None, 1, lr=lr)
    uncorrected = descend("rosenbrock", "adam-nobias", None, 1, lr=lr)
    grad = corrected.grads[0]
    step_corrected = corrected.points[1] - corrected.points[0]
    step_uncorrected = uncorrected.points[1] - uncorrected.points[0]
    # m̂₁/√v̂₁ = g/|g|, so the corrected first step is lr per coordinate; without the correction
    # m₁/√v₁ = (1 − β₁)g / √((1 − β₂)g²) = 0.1/√0.001 ≈ 3.16 times as much.
    np.testing.assert_allclose(step_corrected, -lr * grad / (np.abs(grad) + eps), rtol=1e-12)
    np.testing.assert_allclose(
        step_uncorrected,
        -lr * (1 - beta1) * grad / (np.sqrt((1 - beta2) * grad**2) + eps), rtol=1e-12)
    ratio = np.abs(step_uncorrected / step_corrected)
    np.testing.assert_allclose(ratio, (1 - beta1) / math.sqrt(1 - beta2), rtol=1e-7)  # ε's share
    assert np.all(ratio > 3.16)


def test_random_search_needs_many_more_evaluations_than_gradient_descent():
    target = 1e-2
    gd = descend("bowl", "sgd", None, 40, lr=0.1)
    search = descend("bowl", "random-search", None, 400, lr=0.1,
                     generator=np.random.default_rng(0))
    # GD: f = 25·0.64^k, so it is below 1e-2 after k = 18 gradient evaluations.
    assert gd.evaluations_to(target) == 18
    evaluations = search.evaluations_to(target)
    assert evaluations is not None and evaluations > 5 * 18
    assert np.all(np.diff(search.evaluations) >= 1)


def test_a_search_is_known_by_needing_a_closure_not_by_its_class_name():
    """An optimizer that is no RandomSearch but says it needs a closure (as a search in a copy
    of the package, or a user's own, would) descends as a search: a closure each step, the
    search's learning rate."""

    class Probe:  # RandomSearch's steps behind another class
        needs_closure = True

        def __init__(self, params, lr=0.01, **options):
            self.search = optim.RandomSearch(params, lr=lr, **options)
            self.param_groups, self.state = self.search.param_groups, self.search.state

        def zero_grad(self):
            self.search.zero_grad()

        def step(self, closure):
            return self.search.step(closure)

    ours = descend("bowl", Probe, None, 30, generator=np.random.default_rng(0))
    reference = descend("bowl", "random-search", None, 30, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(ours.points, reference.points)
    np.testing.assert_array_equal(ours.evaluations, reference.evaluations)
    assert ours.hyperparameters["lr"] == reference.hyperparameters["lr"]


# ----------------------------------------------------------------- races and tables
def test_race_table_reports_every_optimizer():
    paths = race("himmelblau", ["sgd", "adam", "random-search"], 60, lrs={"adam": 0.1})
    assert [p.name for p in paths] == ["sgd", "adam", "random-search"]
    assert paths[1].lr == 0.1 and paths[0].lr == get_surface("himmelblau").default_lr("sgd", "gd")
    table = race_table(paths, tol=1e-3)
    lines = table.splitlines()
    assert len(lines) > 6 and lines[0].startswith("optimizer") and lines[5] == ""
    sgd_line = lines[2].split()
    assert sgd_line[0] == "sgd" and sgd_line[-1] == str(paths[0].first_within(1e-3))
    assert "(global)" in lines[2] and lines[4].endswith("never: still moving")
    distances = paths[2].distances()
    assert f"{distances.min():.2e} ({int(np.argmin(distances))})" in lines[4]
    # The note under the table says what "never" and "stalled" mean.
    note = " ".join(lines[6:])
    assert note.startswith("never: the path did not come within 0.001 of a minimum in 60 steps")
    assert "still moving: its last tenth of the steps still went on" in note
    # Same seed, same race: the random search is reproducible.
    again = race("himmelblau", ["random-search"], 60, seed=0)
    np.testing.assert_array_equal(again[0].points, paths[2].points)


@pytest.mark.parametrize("surface,optimizer,steps,options,why", [
    ("rosenbrock", "sgd", 400, {"lr": 1e-3}, "still moving"),
    ("rosenbrock", "rmsprop", 1000, {"lr": 0.02}, "zig-zagging"),
    ("bowl", "sgd", 400, {"lr": 1e-9}, "stalled"),
    ("bowl", "sgd", 2000, {"lr": 1.5}, "diverged"),
])
def test_race_table_says_why_a_path_never_arrived(surface, optimizer, steps, options, why):
    path = descend(surface, optimizer, None, steps, **options)
    assert path.first_within(1e-3) is None
    assert race_table([path]).splitlines()[2].endswith(f"never: {why}")


def test_race_table_on_a_saddle_says_there_is_no_minimum():
    table = race_table(race("monkey-saddle", ["sgd", "momentum"], 200, lrs={"momentum": 0.01}))
    assert "n/a (no minimum)" in table and "diverged at step" in table


def test_every_named_optimizer_runs_on_its_class():
    for name, spec in OPTIMIZERS.items():
        path = descend("bowl", name, None, 3, **({"generator": np.random.default_rng(0)}
                                                   if name == "random-search" else {}))
        assert path.steps == 3 and np.isfinite(path.final_loss), name
        point = Parameter(np.zeros((1, 2) if spec.matrix else 2))
        assert isinstance(spec.resolve()([point], lr=0.1), optim.Optimizer)


# ----------------------------------------------------------------- pictures
def _png(path) -> bytes:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    return data


def test_plots_write_pngs(tmp_path):
    plot_race(race("beale", ["sgd", "adam"], 20), tmp_path / "race.png", resolution=40)
    plot_losses(race("saddle", ["sgd", "adam"], 20), tmp_path / "losses.png")
    plot_race(race("rough-bowl", ["sgd"], 10), tmp_path / "bowl.png", resolution=40)
    for name in ("race", "losses", "bowl"):
        _png(tmp_path / f"{name}.png")


def test_learning_rate_picture_shows_too_small_right_and_too_large(tmp_path):
    figure = plot_learning_rates(out=tmp_path / "lr.png")
    _png(tmp_path / "lr.png")
    titles = [ax.get_title() for ax in figure.axes]
    assert "too small" in titles[0] and "stuck in a local minimum, x = 3.04" in titles[0]
    assert "right" in titles[1] and "global minimum x = 0.00" in titles[1]
    assert "too large" in titles[2] and "jumps over the global minimum 11 times" in titles[2]
    # The lecture's tiny person stands where each walk began and where it ended.
    from matplotlib.offsetbox import AnnotationBbox

    walkers = [a for a in figure.axes[0].artists if isinstance(a, AnnotationBbox)]
    walk = descend("rough-bowl", "sgd", None, 30, lr=0.01)
    np.testing.assert_allclose([w.xy for w in walkers],
                               [(walk.points[0, 0], walk.losses[0]),
                                (walk.points[-1, 0], walk.losses[-1])])


def test_pitfalls_picture_a_local_minimum_a_saddle_and_a_ravine(tmp_path):
    from steepest.lab import plot_pitfalls

    figure = plot_pitfalls(tmp_path / "pitfalls.png")
    _png(tmp_path / "pitfalls.png")
    titles = [ax.get_title().replace("\n", " ") for ax in figure.axes]
    assert titles[0].startswith("A local minimum") and "the steps stop" in titles[0]
    assert titles[1].startswith("A saddle point") and "it stalls" in titles[1]
    assert titles[2].startswith("A ravine") and "zig-zags" in titles[2]


def test_plots_reject_mixed_surfaces_and_2d_learning_rate_picture():
    with pytest.raises(ValueError, match="one surface"):
        plot_race(race("bowl", ["sgd"], 2) + race("ravine", ["sgd"], 2))
    with pytest.raises(ValueError, match="needs a 1-D surface"):
        plot_learning_rates("bowl")


def test_race_paths_stay_distinguishable_panels_when_one_path_lies_on_another(tmp_path):
    from steepest.lab.plots import overlapping_paths

    # The README's race: SGD and AdaGrad crawl along the valley Adam races down.
    paths = race("rosenbrock", ["sgd", "momentum", "adagrad", "adam"], 300)
    hidden = overlapping_paths(paths)
    assert 0 in hidden and 2 in hidden
    figure = plot_race(paths, tmp_path / "race.png", resolution=40)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == 4                                    # one map per optimizer
    assert [ax.get_title().splitlines()[0] for ax in visible] == [p.label for p in paths]
    assert visible[0].get_title().splitlines()[1] == \
        f"ends {paths[0].surface.nearest_minimum(paths[0].final_point)[1]:.2g} from ★"
    # Apart, the same paths share one map; every path has its own marker shape.
    apart = race("himmelblau", ["sgd", "adam"], 150)
    assert overlapping_paths(apart) == []
    figure = plot_race(apart, resolution=40)
    (ax,) = figure.axes
    lines = [line for line in ax.lines if line.get_label() in {p.label for p in apart}]
    assert len({line.get_marker() for line in lines}) == 2
    assert len(figure.axes) == 1 and len(plot_race(apart, layout="panels").axes) == 2


def test_slide_style_draws_16_9_with_large_fonts(tmp_path):
    from PIL import Image

    from steepest.figures import figure_style

    paths = race("himmelblau", ["sgd", "adam"], 20)
    default = plot_race(paths, tmp_path / "page.png", resolution=40)
    with figure_style("slide"):
        slide = plot_race(paths, tmp_path / "slide.png", resolution=40)
    with Image.open(tmp_path / "slide.png") as image:
        assert image.size == (1920, 1080)
    tick = lambda figure: figure.axes[0].get_xticklabels()[0].get_fontsize()  # noqa: E731
    assert tick(slide) >= 1.6 * tick(default)
    assert slide.axes[0].title.get_fontsize() >= 20
    with pytest.raises(ValueError, match="unknown figure style 'poster'; choose from"):
        with figure_style("poster"):
            pass


def test_log_axis_labels_read_as_numbers():
    from steepest.figures import _log_label

    assert [_log_label(v) for v in (1e-6, 1e-3, 0.2, 1.0, 50.0, 1e4, 1e5, 3e2, 2e5)] == \
        ["10⁻⁶", "0.001", "0.2", "1", "50", "10,000", "10⁵", "", ""]
    from steepest.figures import log_axis, new_figure

    for values, scale in (([1e-5, 1.0], "log"), ([1.2, 2.3], "linear"), ([0.5, 4.0], "log")):
        ax = new_figure(3, 2).add_subplot()
        ax.plot([0, 1], values)
        log_axis(ax, "y")
        assert ax.get_yscale() == scale     # a factor below 3 stays linear
    labels = [label.get_text() for label in ax.get_yticklabels() if label.get_text()]
    assert len(labels) >= 3                 # 0.5 .. 4: every leading digit labelled


def test_animation_is_at_least_800_pixels_wide_with_a_legend(tmp_path):
    from PIL import Image

    out = tmp_path / "race.gif"
    figure = animate_race(race("bowl", ["sgd", "momentum"], 10), out, frames=2, resolution=30)
    with Image.open(out) as image:
        assert image.size[0] >= 800
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()][:2] == ["sgd (lr 0.1)",
                                                                     "momentum (lr 0.05)"]
    assert legend.get_texts()[0].get_fontsize() >= 10


def test_animation_writes_a_small_gif(tmp_path):
    from PIL import Image

    out = tmp_path / "race.gif"
    animate_race(race("bowl", ["sgd", "momentum"], 10), out, frames=3, dpi=30, resolution=30)
    assert out.read_bytes()[:6] == b"GIF89a"
    with Image.open(out) as image:
        assert image.n_frames == 3


def test_importing_steepest_and_the_lab_does_not_import_matplotlib():
    code = "import sys, steepest, steepest.lab; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------- steepest race
def _race_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="steepest")
    race_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["race", *argv])


def test_race_command_prints_the_table_and_writes_the_pictures(tmp_path, capsys):
    png, gif = tmp_path / "race.png", tmp_path / "race.gif"
    args = _race_args("--surface", "himmelblau", "--optimizers", "sgd,momentum,adam",
                      "--steps", "40", "--lr", "adam=0.2", "--start", "0,-1",
                      "--out", str(png), "--gif", str(gif), "--frames", "2")
    assert race_cli.run(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "himmelblau: f = (x² + y − 11)² + (x + y² − 7)²; start (0, -1); 40 steps"
    rows = {line.split()[0]: line.split() for line in out[3:6]}
    assert set(rows) == {"sgd", "momentum", "adam"} and rows["adam"][1] == "0.2"
    expected = descend("himmelblau", "adam", (0.0, -1.0), 40, lr=0.2)
    assert rows["adam"][2] == f"{expected.final_loss:.3e}"
    assert f"wrote {png}" in out and f"wrote {gif}" in out
    _png(png)
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_race_command_lists_surfaces_and_optimizers(capsys):
    assert race_cli.run(_race_args("--list")) == 0
    out = capsys.readouterr().out
    for name in [*SURFACES, *OPTIMIZERS]:
        assert f"  {name} " in out
    assert "himmelblau     (x² + y − 11)² + (x + y² − 7)²  (2-D, 4 minima)" in out


@pytest.mark.parametrize("argv, message", [
    (["--surface", "everest"], "unknown surface 'everest'; choose one of: bowl, ravine"),
    (["--optimizers", "sgd,shampoo"], "unknown optimizer 'shampoo'"),
    (["--optimizers", "sgd,sgd"], "lists an optimizer twice"),
    (["--steps", "many"], "--steps must be an integer, got 'many'"),
    (["--steps", "0"], "--steps must be between 1 and 1000000, got 0"),
    (["--lr", "adam"], "expected NAME=VALUE"),
    (["--lr", "adam=fast"], "--lr adam must be a number, got 'fast'"),
    (["--lr", "adam=-1"], "--lr adam must be a positive number"),
    (["--lr", "nadam=0.1"], "'nadam' is not racing"),
    (["--start", "1"], "rosenbrock is 2-D, so give 2 coordinate"),
    (["--start", "1,north"], "--start coordinate must be a number, got 'north'"),
    (["--tol", "0"], "--tol must be a positive number"),
    (["--frames", "0"], "--frames must be between 1 and 1000, got 0"),
    (["--out", "race.jpg"], "must end in .png"),
    (["--gif", "/no/such/folder/race.gif"], "does not exist"),
    (["--json", "race.txt"], "must end in .json"),
    (["--option", "adam.betas=0.9"], "adam.betas=0.9: expected a value like the default "
                                     "0.9,0.999"),
    (["--option", "adam.nope=1"], "adam has no option 'nope'"),
    (["--option", "adam"], "expected NAME.KEY=VALUE"),
    (["--option", "nadam.eps=1"], "'nadam' is not racing"),
    (["--option", "adam.lr=1"], "give learning rates with --lr adam=VALUE"),
    (["--option", "adam.betas=0.9,1.5"], "Invalid beta parameter at index 1: 1.5"),
    (["--option", "sgd.nesterov=yes"], "expected a value like the default false"),
])
def test_race_command_mistakes_are_usage_errors(argv, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        race_cli.run(_race_args(*argv))


def test_race_options_reach_the_optimizer_classes_and_the_json_keeps_every_digit(tmp_path):
    out = tmp_path / "race.json"
    args = _race_args("--surface", "beale", "--optimizers", "adam,sgd", "--steps", "40",
                      "--start=1.25,-0.5", "--option", "adam.betas=0.8,0.99",
                      "--option", "adam.amsgrad=true", "--option", "sgd.momentum=0.5",
                      "--option", "sgd.momentum_form=lecture", "--json", str(out))
    assert race_cli.run(args) == 0
    written = json.loads(out.read_text())
    adam = descend("beale", "adam", (1.25, -0.5), 40, betas=(0.8, 0.99), amsgrad=True)
    sgd = descend("beale", "sgd", (1.25, -0.5), 40, momentum=0.5, momentum_form="lecture")
    for record, path in zip(written["paths"], (adam, sgd), strict=True):
        assert record["points"] == path.points.tolist()  # bit for bit through JSON
        assert record["losses"] == path.losses.tolist()
    assert written["paths"][0]["hyperparameters"]["betas"] == [0.8, 0.99]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_option_reads_back_from_its_text(name):
    for key, default in optimizer_options(name).items():
        assert parse_option(name, key, format_option(default)) == default
    assert parse_option("momentum", "momentum", "0.1") == 0.1  # the name's fixed value
    assert optimizer_options("momentum")["momentum"] == 0.9


def test_descend_records_each_rules_state_and_the_effective_step_size():
    path = descend("ravine", "momentum", None, 5, lr=0.01)
    velocity = path.states["momentum_buffer"]
    assert velocity.shape == (6, 2) and np.isnan(velocity[0]).all()  # created at step 1
    np.testing.assert_array_equal(velocity[1], path.grads[0])
    np.testing.assert_allclose(velocity[2], 0.9 * velocity[1] + path.grads[1])
    np.testing.assert_allclose(path.points[1:] - path.points[:-1], -0.01 * velocity[1:])
    gd = descend("bowl", "sgd", None, 4, lr=0.1)
    np.testing.assert_allclose(gd.step_sizes(), 0.1)  # plain gradient descent: the lr
    assert gd.states == {}
    adagrad = descend("himmelblau", "adagrad", None, 6, lr=0.5)
    expected = 0.5 / (np.sqrt(adagrad.states["sum"][1:]) + 1e-10)
    np.testing.assert_allclose(adagrad.step_sizes(), expected, rtol=1e-12)
    assert descend("bowl", "random-search", None, 3).states == {}


def test_surface_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        Surface().loss(steepest.tensor(np.zeros(2)))


def test_lab_results_have_a_short_repr():
    from steepest.lab import gradient_flow, init_statistics

    path = descend("ravine", "momentum", start=(-4.0, 1.0), steps=300, lr=0.02)
    text = repr(path)
    assert len(text.splitlines()) <= 15 and "points=array(301, 2) float64" in text
    assert "hyperparameters={'momentum': 0.9, 'lr': 0.02}" in text
    for result in (init_statistics(depth=3, width=16, n=10),
                   gradient_flow(("relu",), depth=3, width=8, data=(np.ones((4, 3), np.float32),
                                                                     np.arange(4) % 2))):
        assert len(repr(result).splitlines()) <= 20, repr(result)


def _overlapping_texts(figure):
    """Pairs of drawn texts (titles, tick labels, axis labels) of different panels of a figure
    whose boxes overlap once it is rendered."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = []
    for panel, ax in enumerate(figure.axes):
        if not ax.get_visible():
            continue
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(),
                 *ax.get_yticklabels()]
        boxes += [(panel, text.get_text(), text.get_window_extent(renderer)) for text in texts
                  if text.get_visible() and text.get_text()]
    return [(a, b) for i, (panel_a, a, box_a) in enumerate(boxes)
            for panel_b, b, box_b in boxes[i + 1:] if panel_a != panel_b and box_a.overlaps(box_b)]


def test_slide_style_keeps_the_titles_and_ticks_of_side_by_side_panels_apart():
    from steepest.figures import figure_style
    from steepest.lab import init_statistics
    from steepest.lab.init_study import plot_init_statistics

    paths = race("rosenbrock", ["sgd", "adagrad", "adam"], 50)
    result = init_statistics(("too-small", "he"), ("tanh", "relu"), depth=4, width=32, n=64)
    for style in ("default", "slide"):
        with figure_style(style):
            assert _overlapping_texts(plot_race(paths, layout="panels", resolution=30)) == []
            assert _overlapping_texts(plot_init_statistics(result)) == []
