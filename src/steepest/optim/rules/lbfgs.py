"""L-BFGS: a quasi-Newton direction from the last few steps, with an optional strong-Wolfe search.

Unlike the other rules, L-BFGS optimises all parameters as one flat vector x and evaluates the
loss itself (several times per step with the line search), so its rule takes an `evaluate`
function instead of a gradient: `lbfgs_update(x, evaluate, state, **options)`, where
`evaluate(point)` puts the parameters at `point` and returns (loss, flat gradient there).
`Optimizer.step(closure)` builds `evaluate` from the closure; x is changed in place.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from steepest.optim.spec import OptimizerSpec, Option, choice, integer, number, optional

__all__ = ["LBFGS_SPEC", "LBFGSState", "lbfgs_init", "lbfgs_update"]

Evaluate = Callable[[np.ndarray], tuple[Any, np.ndarray]]


class LBFGSState(NamedTuple):
    """L-BFGS's state (PyTorch's keys; kept with the first parameter, as PyTorch does): the
    evaluation and iteration counts, the last direction d and step t, the history of gradient
    changes y (old_dirs), steps s (old_stps) and 1/(yᵀs) (ro), the initial Hessian scale
    H_diag, the last gradient and loss, and the two-loop recursion's coefficients (al)."""

    func_evals: int = 0
    n_iter: int = 0
    d: np.ndarray | None = None
    t: float | None = None
    old_dirs: list[np.ndarray] | None = None
    old_stps: list[np.ndarray] | None = None
    ro: list[float] | None = None
    H_diag: float | None = None
    prev_flat_grad: np.ndarray | None = None
    prev_loss: float | None = None
    al: list[float | None] | None = None


def lbfgs_init(param: np.ndarray) -> LBFGSState:
    """Nothing evaluated yet: the history starts at the first step."""
    return LBFGSState()


def _cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                       bounds: tuple[float, float] | None = None) -> float:
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to bounds
    (PyTorch's port of minFunc's polyinterp); the middle of the bounds if it has none."""
    if bounds is not None:
        low, high = bounds
    else:
        low, high = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            position = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            position = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(position, low), high)
    return (low + high) / 2.0


def _strong_wolfe(evaluate_along: Callable[[float], tuple[float, np.ndarray]], t: float,
                  d: np.ndarray, f: float, g: np.ndarray, gtd: float, c1: float = 1e-4,
                  c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25
                  ) -> tuple[float, np.ndarray, float, int]:
    """A step t along d satisfying the strong Wolfe conditions f(x + td) <= f + c1·t·gtd and
    |∇f(x + td)ᵀd| <= −c2·gtd: bracket, then zoom by cubic interpolation (Nocedal & Wright,
    Algorithms 3.5 and 3.6, as PyTorch ports them from minFunc). Returns (f_new, g_new, t,
    evaluations)."""
    d_norm = float(np.abs(d).max())
    g = g.copy()
    f_new, g_new = evaluate_along(t)
    evaluations = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    iteration = 0
    while iteration < max_ls:
        if f_new > (f + c1 * t * gtd) or (iteration > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.copy(), gtd_new
        f_new, g_new = evaluate_along(t)
        evaluations += 1
        gtd_new = float(g_new @ d)
        iteration += 1
    if iteration == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]
        bracket_gtd = [gtd, gtd_new]  # (unused: the zoom below does not run)

    # Zoom: shrink the bracket until a point satisfies the conditions.
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and iteration < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # Too close to an end of the bracket (twice, or outside it): move 10% of its width in.
        margin = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < margin:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - margin
                else:
                    t = min(bracket) + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate_along(t)
        evaluations += 1
        gtd_new = float(g_new @ d)
        iteration += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evaluations


def _along(evaluate: Evaluate, start: np.ndarray, d: np.ndarray
           ) -> Callable[[float], tuple[float, np.ndarray]]:
    """t -> (loss, gradient) at start + t·d."""
    def evaluate_along(step: float) -> tuple[float, np.ndarray]:
        value, gradient = evaluate(start + step * d)
        return float(value), gradient

    return evaluate_along


def lbfgs_update(x: np.ndarray, evaluate: Evaluate, state: LBFGSState, *, lr: float,
                 max_iter: int, max_eval: int | None, tolerance_grad: float,
                 tolerance_change: float, history_size: int, line_search_fn: str | None
                 ) -> tuple[Any, LBFGSState]:
    """L-BFGS (Liu & Nocedal 1989; Nocedal & Wright, Algorithm 7.4), as PyTorch computes it.
    One step runs up to max_iter iterations:

        d = −H·g   (two-loop recursion over the last history_size pairs s = t·d, y = Δg, with
                    the initial H = (yᵀs / yᵀy)·I; the first iteration takes d = −g)
        t = lr (first iteration: min(1, 1/‖g‖₁)·lr), or a strong-Wolfe line search from it
        x ← x + t·d

    and stops early when max|g| <= tolerance_grad, the step or the loss change is below
    tolerance_change, or max_eval evaluations are spent (default max_iter·5/4). A pair is kept
    only if yᵀs > 1e-10. x: all parameters flattened (changed in place); evaluate(point) ->
    (loss, gradient). Returns (the loss at the starting point as `evaluate` gave it, state).
    """
    if max_eval is None:
        max_eval = max_iter * 5 // 4
    func_evals = state.func_evals
    n_iter_total = state.n_iter
    orig_loss, flat_grad = evaluate(x)
    loss = float(orig_loss)
    current_evals = 1
    func_evals += 1
    if float(np.abs(flat_grad).max()) <= tolerance_grad:
        return orig_loss, state._replace(func_evals=func_evals)

    d, t = state.d, state.t
    old_dirs, old_stps, ro = state.old_dirs, state.old_stps, state.ro
    H_diag, prev_flat_grad, prev_loss, al = state.H_diag, state.prev_flat_grad, \
        state.prev_loss, state.al
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        n_iter_total += 1
        # ---- the direction
        if n_iter_total == 1:
            d = -flat_grad
            old_dirs, old_stps, ro = [], [], []
            H_diag = 1.0
        else:
            y = flat_grad - prev_flat_grad
            s = d * t
            ys = float(y @ s)
            if ys > 1e-10:
                if len(old_dirs) == history_size:
                    old_dirs.pop(0)
                    old_stps.pop(0)
                    ro.pop(0)
                old_dirs.append(y)
                old_stps.append(s)
                ro.append(1.0 / ys)
                H_diag = ys / float(y @ y)
            count = len(old_dirs)
            if al is None:
                al = [None] * history_size
            q = -flat_grad
            for i in range(count - 1, -1, -1):
                al[i] = float(old_stps[i] @ q) * ro[i]
                q -= al[i] * old_dirs[i]
            d = r = q * H_diag
            for i in range(count):
                beta = float(old_dirs[i] @ r) * ro[i]
                r += (al[i] - beta) * old_stps[i]
        if prev_flat_grad is None:
            prev_flat_grad = flat_grad.copy()
        else:
            prev_flat_grad[...] = flat_grad
        prev_loss = loss
        # ---- the step length
        if n_iter_total == 1:
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr
        else:
            t = lr
        gtd = float(flat_grad @ d)
        if gtd > -tolerance_change:  # not a descent direction any more
            break
        evaluations = 0
        if line_search_fn is not None:
            loss, flat_grad, t, evaluations = _strong_wolfe(
                _along(evaluate, x.copy(), d), t, d, loss, flat_grad, gtd,
                max_ls=max_eval - current_evals)
            x += t * d
            optimal = float(np.abs(flat_grad).max()) <= tolerance_grad
        else:
            x += t * d
            optimal = False
            if n_iter != max_iter:  # the last iteration's loss is not needed
                value, flat_grad = evaluate(x)
                loss = float(value)
                optimal = float(np.abs(flat_grad).max()) <= tolerance_grad
                evaluations = 1
        current_evals += evaluations
        func_evals += evaluations
        # ---- stop?
        if n_iter == max_iter or current_evals >= max_eval or optimal:
            break
        if float(np.abs(d * t).max()) <= tolerance_change:
            break
        if abs(loss - prev_loss) < tolerance_change:
            break
    return orig_loss, LBFGSState(func_evals, n_iter_total, d, float(t), old_dirs, old_stps, ro,
                                 float(H_diag), prev_flat_grad, prev_loss, al)


LBFGS_SPEC = OptimizerSpec(
    name="LBFGS",
    summary="L-BFGS: quasi-Newton steps from a short history, optionally with a line search",
    formula="d = −H·g (two-loop recursion over the last (s, y) pairs);  x += t·d, t = lr or "
            "strong Wolfe",
    paper="Liu & Nocedal 1989, On the Limited Memory BFGS Method for Large Scale "
          "Optimization, Math. Programming 45",
    year=1989,
    state=LBFGSState,
    init=lbfgs_init,
    update=lbfgs_update,
    options=(
        Option("lr", 1.0, number("learning rate"), "step length (the line search's first try)"),
        Option("max_iter", 20, integer("max_iter", low=1), "iterations per step()"),
        Option("max_eval", None, optional(integer("max_eval", low=1)),
               "evaluations per step() (None: max_iter·5/4)"),
        Option("tolerance_grad", 1e-7, number("tolerance_grad"),
               "stop when max|g| is below it"),
        Option("tolerance_change", 1e-9, number("tolerance_change"),
               "stop when the step or the loss changes less"),
        Option("history_size", 100, integer("history_size", low=1), "(s, y) pairs kept"),
        Option("line_search_fn", None, choice("line_search_fn", (None, "strong_wolfe")),
               "None (fixed step lr) or 'strong_wolfe'"),
    ),
    elementwise=False,
    study_lr=1.0,
    family="quasi-newton",
    needs_closure=True,
    conventions="PyTorch's: one param group; step(closure) re-evaluates the closure (with "
                "gradients on) as often as the iterations and the line search need.",
)
