"""Loss functions; cross-entropy is a fused primitive (stable log-softmax + NLL in one op).

Shapes follow PyTorch: N is the batch, C the number of classes, `*` any extra axes (d1, d2, ...)
of K-dimensional inputs such as per-pixel classification. `reduction` is 'mean', 'sum' or 'none'
('none' keeps one loss per element: (N, *)). Class weights, `pos_weight` and the class-index
targets are constants: they get no gradient (as in PyTorch). Soft (probability) targets, the
targets of `mse_loss` and of `binary_cross_entropy_with_logits` do get one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from steepest.autograd import ops
from steepest.autograd.function import Function
from steepest.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")

# ----------------------------------------------------------------------------- validation


def _check_reduction(reduction, loss: str) -> None:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(
            f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated size_average / reduce flags as a reduction (None: not given)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _input_tensor(input, loss: str, name: str = "input") -> Tensor:
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"{loss}: {name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _array(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _class_weight(weight, n_classes: int, dtype, loss: str) -> np.ndarray | None:
    """The per-class weight as a (C,) array of the input's dtype, or None."""
    if weight is None:
        return None
    array = _array(weight)
    if array.shape != (n_classes,):
        raise ValueError(
            f"{loss}: weight must have shape ({n_classes},), one value per class, "
            f"got shape {array.shape}"
        )
    return array.astype(dtype, copy=False)


def _index_shape(input_shape: tuple) -> tuple:
    """The shape of class-index targets for an input (N, C, *): (N, *); () for an input (C,)."""
    return () if len(input_shape) == 1 else (input_shape[0],) + tuple(input_shape[2:])


def _check_index_target(target: np.ndarray, input_shape: tuple, loss: str) -> None:
    expected = _index_shape(input_shape)
    if target.dtype.kind == "f" and target.shape == expected:
        raise TypeError(
            f"{loss}: target has shape {target.shape} (class indices) but dtype {target.dtype}; "
            f"class indices must be integers (use target.astype(np.int64))"
            + (", or pass class probabilities of the input's shape "
               f"{tuple(input_shape)}" if loss == "cross_entropy" else "")
        )
    if target.shape != expected:
        if (len(input_shape) >= 2 and target.ndim >= 1
                and target.shape[0] != input_shape[0]):
            problem = (f"batch sizes differ (input {input_shape[0]}, "
                       f"target {target.shape[0]})")
        else:
            problem = "wrong target shape"
        soft = (f", or class probabilities of the input's shape {tuple(input_shape)}"
                if loss == "cross_entropy" else "")
        raise ValueError(
            f"{loss}: input of shape {tuple(input_shape)} and target of shape {target.shape} "
            f"do not match ({problem}): class-index targets need shape {expected}{soft}"
        )
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{loss}: class-index target must be an integer array, got dtype {target.dtype}"
        )


def _class_arguments(input, target, weight, reduction, loss: str):
    """Checked arguments of a classification loss: (x, unbatched, C, weight (C,) or None,
    target array). x: (N, C, *) or (C,) for one sample (then `unbatched`)."""
    _check_reduction(reduction, loss)
    x = _input_tensor(input, loss)
    if x.ndim == 0:
        raise ValueError(f"{loss}: input must have a class axis, got a scalar (shape ())")
    unbatched = x.ndim == 1
    n_classes = x.shape[0] if unbatched else x.shape[1]
    weight_array = _class_weight(weight, n_classes, x.dtype, loss)
    return x, unbatched, n_classes, weight_array, _array(target)


def _check_class_range(target: np.ndarray, n_classes: int, ignore_index: int | None,
                       loss: str) -> None:
    """Reject indices outside 0..C-1: NumPy would silently wrap a negative one."""
    if target.size == 0 or (target.min() >= 0 and target.max() < n_classes):
        return  # the common case, decided by two reductions
    bad = (target < 0) | (target >= n_classes)
    if ignore_index is not None:
        bad &= target != ignore_index
    if not bad.any():
        return
    position = tuple(int(i) for i in np.argwhere(bad)[0])
    value = int(target[position])
    where = f" at batch position {position}" if position else ""
    allowed = f"0..{n_classes - 1}"
    if ignore_index is not None:
        allowed += f", or ignore_index={ignore_index}"
    raise ValueError(
        f"{loss}: target {value}{where} is out of range for C={n_classes} classes "
        f"(allowed: {allowed})"
    )


def _broadcast_class_axis(weight: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) weight shaped (1, C, 1, ...) to broadcast against an (N, C, *) array."""
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


def _log_softmax_and_probs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log p and p along axis 1, shifted by the max so that no exp overflows."""
    logp = x - x.max(axis=1, keepdims=True)
    probs = np.exp(logp)
    total = probs.sum(axis=1, keepdims=True)
    probs /= total
    logp -= np.log(total)
    return logp, probs


# ----------------------------------------------------------------------------- fused primitives


def _at_target(array: np.ndarray, safe: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """array[n, y_n, ...] for each n (and extra axes): (N, 1, *). Plain fancy indexing for
    the common (N, C) case, which is several times faster than take_along_axis there."""
    if rows is not None:
        return array[rows, safe[:, 0]][:, None]
    return np.take_along_axis(array, safe, axis=1)


def _subtract_at_target(array: np.ndarray, safe: np.ndarray, rows: np.ndarray | None,
                        values: np.ndarray) -> None:
    """array[n, y_n, ...] -= values (N, 1, *), in place; each (n, ...) has one target."""
    if rows is not None:
        array[rows, safe[:, 0]] -= values[:, 0]
    else:
        np.put_along_axis(array, safe, np.take_along_axis(array, safe, axis=1) - values, axis=1)


class _ClassIndexNLL(Function):
    """Weighted negative log-likelihood of class indices, with log-softmax fused in for logits.

    x: (N, C, *) logits (from_logits) or log-probabilities; target: (N, *) class indices.
    Per element, with l = log p, w the class weight (1 without), v = [y ≠ ignore_index],
    ε the label smoothing:
        ℓ = −(1 − ε)·w_y·l_y − (ε / C)·v·Σ_c w_c·l_c        (PyTorch's formula)
    'mean' divides Σℓ by Σ w_y·v (the weights of the targets kept), as PyTorch does for the
    smoothing term too; 0/0 (every target ignored) is NaN, as in PyTorch, with zero gradient.
    Writing ℓ = −Σ_c a_c·l_c, the gradient for logits is p·Σ_c a_c − a (softmax − one-hot).
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, label_smoothing, from_logits):
        n_classes = x.shape[1]
        valid = target != ignore_index
        # Ignored entries read class 0 (always in range) and then get weight 0.
        safe = np.where(valid, target, 0)[:, None]
        if weight is None:
            target_weight = valid.astype(x.dtype)
        else:
            target_weight = np.where(valid, weight[safe[:, 0]], 0).astype(x.dtype, copy=False)
        if from_logits:
            logp, ctx.probs = _log_softmax_and_probs(x)
        else:
            logp = x
        rows = np.arange(x.shape[0]) if x.ndim == 2 else None
        loss = _at_target(logp, safe, rows)[:, 0]
        loss *= -target_weight
        if label_smoothing:
            if weight is None:
                smooth = logp.sum(axis=1)
            else:
                smooth = (logp * _broadcast_class_axis(weight, x.ndim)).sum(axis=1)
            smooth = np.where(valid, smooth, 0)
            loss = (1.0 - label_smoothing) * loss - (label_smoothing / n_classes) * smooth
        ctx.shape, ctx.safe, ctx.valid, ctx.weight = x.shape, safe, valid, weight
        ctx.rows = rows
        ctx.target_weight, ctx.reduction = target_weight, reduction
        ctx.label_smoothing, ctx.from_logits = label_smoothing, from_logits
        if reduction == "none":
            return loss
        if reduction == "sum":
            return np.asarray(loss.sum())
        ctx.total_weight = target_weight.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum() / ctx.total_weight)

    @staticmethod
    def backward(ctx, grad_out):
        shape, eps = ctx.shape, ctx.label_smoothing
        n_classes = shape[1]
        if ctx.reduction == "mean":
            if ctx.total_weight == 0:
                return np.zeros(shape, dtype=grad_out.dtype)
            scale = grad_out / ctx.total_weight
        else:
            scale = grad_out  # () for 'sum', (N, *) for 'none'
        target_coef = ((1.0 - eps) * ctx.target_weight * scale)[:, None]
        if eps:
            smooth_scale = (eps / n_classes) * (ctx.valid * scale)[:, None]
            class_weight = (1.0 if ctx.weight is None
                            else _broadcast_class_axis(ctx.weight, len(shape)))
        if ctx.from_logits:
            coef_sum = target_coef
            if eps:
                weight_sum = float(n_classes if ctx.weight is None else ctx.weight.sum())
                coef_sum = target_coef + smooth_scale * weight_sum
            grad = ctx.probs * coef_sum
        else:
            grad = np.zeros(shape, dtype=grad_out.dtype)
        _subtract_at_target(grad, ctx.safe, ctx.rows, np.broadcast_to(target_coef, ctx.safe.shape))
        if eps:
            grad -= smooth_scale * class_weight
        return grad


class _SoftmaxCrossEntropy(Function):
    """The common case of `cross_entropy`, lean: x (N, C) logits, target (N,) indices all in
    0..C-1, no class weights, no smoothing, 'mean' or 'sum'.

    ℓ = Σ_n (log Σ_c e^{x_nc} − x_{n,y_n}) [/ N];  dℓ/dx = softmax(x) − onehot(y) [/ N].
    Same numbers as `_ClassIndexNLL`, in about a third of the time on small batches, where
    the per-call overhead of the general op dominates the step of a small MLP.
    """

    @staticmethod
    def forward(ctx, x, target, reduction):
        shifted = x - x.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(x.shape[0])
        loss = np.log(total[:, 0]).sum() - shifted[rows, target].sum()
        ctx.exp, ctx.total, ctx.rows, ctx.target = exp, total, rows, target
        ctx.scale = 1.0 / x.shape[0] if reduction == "mean" else 1.0
        return np.asarray(loss * ctx.scale, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        scale = grad_out * ctx.scale
        grad = ctx.exp / ctx.total  # the softmax (not in place: retain_graph may reuse exp)
        grad *= scale
        grad[ctx.rows, ctx.target] -= scale
        return grad, None


class _SoftTargetCrossEntropy(Function):
    """Cross-entropy against class probabilities, log-softmax fused in.

    x: (N, C, *) logits; target q: (N, C, *) probabilities. With l = log_softmax(x) over C,
    q' = (1 − ε)·q + ε/C and w the class weight (1 without):  ℓ = −Σ_c w_c·q'_c·l_c  (N, *).
    'mean' divides Σℓ by N·d1·d2·... (not by the weights), as PyTorch does.
    Gradients: dℓ/dx = p·Σ_c a_c − a with a = w·q';  dℓ/dq = −(1 − ε)·w·l.
    """

    @staticmethod
    def forward(ctx, x, target, weight, reduction, label_smoothing):
        n_classes = x.shape[1]
        q = target.astype(x.dtype, copy=False)
        logp, probs = _log_softmax_and_probs(x)
        coef = q * (1.0 - label_smoothing) + label_smoothing / n_classes if label_smoothing else q
        class_weight = None if weight is None else _broadcast_class_axis(weight, x.ndim)
        if class_weight is not None:
            coef = coef * class_weight
        loss = -(logp * coef).sum(axis=1)
        ctx.probs, ctx.coef, ctx.class_weight = probs, coef, class_weight
        ctx.reduction, ctx.label_smoothing = reduction, label_smoothing
        ctx.count, ctx.target_dtype = x.size // n_classes, target.dtype
        if ctx.needs_input_grad[1]:
            ctx.logp = logp
        if reduction == "none":
            return loss
        if reduction == "sum":
            return np.asarray(loss.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum() / ctx.count)  # an empty batch gives NaN, as PyTorch

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.reduction == "none":
            scale = grad_out[:, None]
        elif ctx.reduction == "sum":
            scale = grad_out
        else:
            scale = grad_out / ctx.count
        grad_x = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_x = ctx.probs * ctx.coef.sum(axis=1, keepdims=True)
            grad_x -= ctx.coef
            grad_x *= scale
        if ctx.needs_input_grad[1]:
            grad_target = ctx.logp * (-(1.0 - ctx.label_smoothing) * scale)
            if ctx.class_weight is not None:
                grad_target *= ctx.class_weight
            grad_target = grad_target.astype(ctx.target_dtype, copy=False)
        return grad_x, grad_target


class _BCEWithLogits(Function):
    """Binary cross-entropy on logits, elementwise: x, y: (*) -> (*).

    ℓ = w·[(1 − y)·x + (1 + (p_w − 1)·y)·log(1 + e⁻ˣ)], with log(1 + e⁻ˣ) computed as
    max(−x, 0) + log1p(e^{−|x|}) so that no exp overflows (without p_w this is the familiar
    max(x, 0) − x·y + log(1 + e^{−|x|})). weight w broadcasts to x; pos_weight p_w broadcasts
    along the last axis (one per class). Gradients (PyTorch's):
    dℓ/dx = w·[(1 − y) − (1 + (p_w − 1)·y)·σ(−x)],  dℓ/dy = w·[(p_w − 1)·log(1 + e⁻ˣ) − x].
    """

    @staticmethod
    def forward(ctx, x, target, weight=None, pos_weight=None):
        y = target.astype(x.dtype, copy=False)
        exp_neg_abs = np.exp(-np.abs(x))
        softplus_neg = np.maximum(-x, 0) + np.log1p(exp_neg_abs)  # log(1 + e⁻ˣ)
        log_weight = 1.0 if pos_weight is None else (pos_weight - 1) * y + 1
        loss = (1 - y) * x + log_weight * softplus_neg
        if weight is not None:
            loss *= weight
        ctx.x, ctx.y, ctx.exp_neg_abs, ctx.softplus_neg = x, y, exp_neg_abs, softplus_neg
        ctx.log_weight, ctx.weight, ctx.pos_weight = log_weight, weight, pos_weight
        ctx.target_dtype = target.dtype
        return loss

    @staticmethod
    def backward(ctx, grad_out):
        g = grad_out if ctx.weight is None else grad_out * ctx.weight
        grad_x = grad_target = None
        if ctx.needs_input_grad[0]:
            x, e = ctx.x, ctx.exp_neg_abs
            # σ(−x) from e^{−|x|} on both sides of 0, so it never overflows.
            sigmoid_neg = np.where(x >= 0, e / (1 + e), 1 / (1 + e))
            grad_x = g * ((1 - ctx.y) - ctx.log_weight * sigmoid_neg)
        if ctx.needs_input_grad[1]:
            if ctx.pos_weight is None:
                grad_target = g * -ctx.x
            else:
                grad_target = g * ((ctx.pos_weight - 1) * ctx.softplus_neg - ctx.x)
            grad_target = grad_target.astype(ctx.target_dtype, copy=False)
        return grad_x, grad_target


# ----------------------------------------------------------------------------- losses


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """Mean squared error (x − y)².  input, target: (*), same shape -> () or (*) for 'none'.

    Composed from primitives, so the target gets a gradient too when it requires one. Unlike
    PyTorch (which warns and broadcasts), different shapes are an error: they are nearly
    always a bug such as (N, 1) against (N,).
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "mse_loss")
    x, target = _regression_pair(input, target, "mse_loss")
    diff = x - target
    squares = diff * diff
    return _reduce(squares if weight is None else squares * weight, reduction)


def cross_entropy(input: Tensor, target, weight=None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy on logits, as `torch.nn.functional.cross_entropy`.

    input: (N, C) or (N, C, d1, d2, ...) logits, or (C,) for one sample.
    target: class indices, an integer array (N,) / (N, d1, ...) / () with values in 0..C-1 or
    `ignore_index`; or class probabilities, a float array of the input's shape.
    weight: (C,) per-class weights. label_smoothing ε in [0, 1] mixes the target with the
    uniform distribution: (1 − ε)·onehot + ε/C.
    Returns () for 'mean' and 'sum', (N, *) for 'none'.
    'mean' over class indices divides by the summed weights of the targets that are not
    ignored (N·d1·... without weights); over probabilities it divides by N·d1·....
    """
    loss = "cross_entropy"
    reduction = legacy_reduction(size_average, reduce, reduction)
    if isinstance(target, Tensor) and target.data.dtype.kind in "iu" and \
            not target.requires_grad:
        target = target.data  # class indices: constants, read as an array
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{loss}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if (weight is None and not label_smoothing and reduction in ("mean", "sum")
            and isinstance(input, Tensor) and input.ndim == 2 and input.dtype.kind == "f"
            and isinstance(target, np.ndarray) and target.dtype.kind in "iu"
            and target.shape == input.shape[:1] and target.size
            and target.min() >= 0 and target.max() < input.shape[1]
            and not (0 <= ignore_index < input.shape[1] and (target == ignore_index).any())):
        # The common case, decided before the general checks it cannot fail.
        return _SoftmaxCrossEntropy.apply(input, target, reduction=reduction)
    x, unbatched, n_classes, weight_array, target_array = _class_arguments(
        input, target, weight, reduction, loss)
    soft = target_array.dtype.kind == "f" and target_array.shape == x.shape
    if unbatched:
        x = x.reshape(1, n_classes)
    if soft:
        if ignore_index >= 0:
            raise ValueError(
                f"{loss}: ignore_index={ignore_index} is not supported with class-probability "
                f"targets (float target of the input's shape)"
            )
        # A target tensor goes in as an input: probabilities can be learned (distillation).
        soft_target = target if isinstance(target, Tensor) else target_array
        if unbatched:
            soft_target = soft_target.reshape(1, n_classes)
        out = _SoftTargetCrossEntropy.apply(
            x, soft_target, weight=weight_array, reduction=reduction,
            label_smoothing=float(label_smoothing),
        )
    else:
        input_shape = (n_classes,) if unbatched else x.shape
        _check_index_target(target_array, input_shape, loss)
        _check_class_range(target_array, n_classes, ignore_index, loss)
        out = _ClassIndexNLL.apply(
            x, target=target_array.reshape(1) if unbatched else target_array,
            weight=weight_array, ignore_index=ignore_index, reduction=reduction,
            label_smoothing=float(label_smoothing), from_logits=True,
        )
    if unbatched and reduction == "none":
        out = out.reshape(())
    return out


def nll_loss(input: Tensor, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices, as `torch.nn.functional.nll_loss`.

    input: (N, C) or (N, C, d1, ...) log-probabilities (e.g. from log_softmax), or (C,).
    target: (N,) / (N, d1, ...) / () integer class indices in 0..C-1 or `ignore_index`.
    weight: (C,). ℓ = −w_y·input[y]; 'mean' divides Σℓ by the summed weights of the targets
    that are not ignored. Returns () or (N, *) for 'none'.
    """
    loss = "nll_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, unbatched, n_classes, weight_array, target_array = _class_arguments(
        input, target, weight, reduction, loss)
    _check_index_target(target_array, x.shape, loss)
    _check_class_range(target_array, n_classes, ignore_index, loss)
    if unbatched:
        x = x.reshape(1, n_classes)
        target_array = target_array.reshape(1)
    out = _ClassIndexNLL.apply(
        x, target=target_array, weight=weight_array, ignore_index=ignore_index,
        reduction=reduction, label_smoothing=0.0, from_logits=False,
    )
    if unbatched and reduction == "none":
        out = out.reshape(())
    return out


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable op, as PyTorch's.

    input: (*) logits; target: (*) in [0, 1], same shape; weight: broadcastable to (*);
    pos_weight: (C,) weight of the positive class, broadcast along the last axis.
    ℓ = w·[max(x, 0) − x·y + log(1 + e^{−|x|})] without pos_weight (see `_BCEWithLogits`).
    Returns () or (*) for 'none'. The target gets a gradient; weight and pos_weight do not.
    """
    loss = "binary_cross_entropy_with_logits"
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, loss)
    x = _input_tensor(input, loss)
    target_array = _array(target)
    if target_array.shape != x.shape:
        raise ValueError(
            f"{loss}: target of shape {target_array.shape} must have the input's shape "
            f"{x.shape}"
        )
    constants = {}
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is None:
            continue
        array = _array(value).astype(x.dtype, copy=False)
        try:
            fits = np.broadcast_shapes(array.shape, x.shape) == x.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{loss}: {name} of shape {array.shape} does not broadcast to the input's "
                f"shape {x.shape}"
            )
        constants[name] = array
    out = _BCEWithLogits.apply(
        x, target if isinstance(target, Tensor) else target_array, **constants
    )
    return _reduce(out, reduction)


def _regression_pair(input, target, loss: str) -> tuple[Tensor, Any]:
    """input as a float tensor and target of the same shape (PyTorch broadcasts with a
    warning; a shape mismatch is nearly always a bug, so here it is an error, as mse_loss)."""
    x = _input_tensor(input, loss)
    target_shape = _array(target).shape
    if x.shape != target_shape:
        raise ValueError(f"{loss}: input of shape {x.shape} and target of shape "
                         f"{target_shape} differ; they must have the same shape")
    return x, target


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight=None) -> Tensor:
    """|x − y| (mean absolute error).  input, target: (*) -> () or (*) for 'none'.
    The gradient at x = y is 0 (sign(0), as PyTorch)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "l1_loss")
    x, y = _regression_pair(input, target, "l1_loss")
    error = ops.Abs.apply(x - y)
    return _reduce(error if weight is None else error * weight, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """½(x − y)² where |x − y| < δ, else δ(|x − y| − ½δ)."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, got "
                           f"{delta}")
    x, y = _regression_pair(input, target, "huber_loss")
    diff = x - y
    size = ops.Abs.apply(diff)
    loss = ops.Where.apply(size.data < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    return _reduce(loss if weight is None else loss * weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """½(x − y)²/β where |x − y| < β, else |x − y| − ½β (β = 0: the L1 loss).
    Huber loss divided by β."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got "
                           f"{beta}")
    x, y = _regression_pair(input, target, "smooth_l1_loss")
    diff = x - y
    size = ops.Abs.apply(diff)
    if beta == 0:
        return _reduce(size, reduction)
    loss = ops.Where.apply(size.data < beta, (0.5 / beta) * diff * diff, size - 0.5 * beta)
    return _reduce(loss, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight=None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """−w·[y·log x + (1 − y)·log(1 − x)] on probabilities x in [0, 1]; each log is clamped
    at −100 as PyTorch does, so x = 0 or 1 gives a finite loss."""
    loss = "binary_cross_entropy"
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, loss)
    x, y = _regression_pair(input, target, loss)
    if x.data.size and (x.data.min() < 0 or x.data.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    with np.errstate(divide="ignore"):
        log_x = ops.Clip.apply(ops.Log.apply(x), -100.0, None)
        log_not_x = ops.Clip.apply(ops.Log.apply(1.0 - x), -100.0, None)
    out = -(y * log_x + (1.0 - y) * log_not_x)
    if weight is not None:
        out = out * weight
    return _reduce(out, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with input = log q (log-probabilities) and target = p
    (or log p with log_target): Σ p·(log p − log q), 0 where p = 0. reduction 'batchmean'
    divides the sum by the batch size (the true KL per sample); 'mean' divides by the
    number of elements (PyTorch's default, which it warns about)."""
    loss = "kl_div"
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"{loss}: reduction must be 'mean', 'batchmean', 'sum' or 'none', "
                         f"got {reduction!r}")
    x = _input_tensor(input, loss)
    y = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    if log_target:
        out = ops.Exp.apply(y) * (y - x)
    else:
        # xlogy(p, p) − p·log q, with 0·log 0 = 0.
        positive = y.data > 0
        safe_log = ops.Log.apply(ops.Where.apply(positive, y, np.ones((), y.data.dtype)))
        out = ops.Where.apply(positive, y * safe_log, np.zeros((), y.data.dtype)) - y * x
    if reduction == "batchmean":
        total = out.sum()
        return total / x.shape[0] if x.ndim else total
    return _reduce(out, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(−y·x)) for labels y in {−1, 1}."""
    from steepest.functional.activation import softplus

    reduction = legacy_reduction(size_average, reduce, reduction)
    x, y = _regression_pair(input, target, "soft_margin_loss")
    return _reduce(softplus(-(y * x), threshold=np.inf), reduction)


def _hinge_inputs(input, target, loss: str) -> tuple[Tensor, np.ndarray, bool]:
    """Checked scores (N, C) (a (C,) input becomes (1, C)), targets (N,) and 'was unbatched'."""
    x = _input_tensor(input, loss)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"{loss}: input must have shape (N, C) or (C,), got shape {x.shape}"
        )
    target_array = _array(target)
    _check_index_target(target_array, x.shape, loss)
    _check_class_range(target_array, x.shape[-1], None, loss)
    if x.ndim == 1:
        return x.reshape(1, x.shape[0]), target_array.reshape(1), True
    return x, target_array, False


def _margins(scores: Tensor, target: np.ndarray, margin: float, pytorch_order: bool) -> Tensor:
    """max(0, s_j − s_y + margin) for every class j (N, C), including j = y (mask it out).

    The kink follows PyTorch: the gradient is 0 where the margin term is exactly 0 (ReLU).
    """
    n = scores.shape[0]
    correct = scores[np.arange(n), target].reshape(n, 1)
    if pytorch_order:
        z = (margin - correct) + scores  # PyTorch adds in this order: margin − x_y + x_j
    else:
        z = (scores - correct) + margin  # the lectures' s_j − s_{y_i} + Δ
    return ops.ReLU.apply(z)


def multi_margin_loss(input: Tensor, target, p: int = 1, margin: float = 1.0, weight=None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss, as `torch.nn.functional.multi_margin_loss`.

    input: (N, C) or (C,) scores; target: (N,) or () class indices; weight: (C,).
    ℓ_i = Σ_{j≠y_i} w_{y_i}·max(0, margin − x_{y_i} + x_j)^p / C  (p is 1 or 2), so unlike the
    lectures' SVM loss (`multiclass_svm_loss`) it divides by the number of classes C.
    Returns () or (N,) for 'none'.
    """
    loss = "multi_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, loss)
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{loss}: p must be 1 or 2, got {p!r}")
    scores, target_array, unbatched = _hinge_inputs(input, target, loss)
    n_classes = scores.shape[1]
    weight_array = _class_weight(weight, n_classes, scores.dtype, loss)
    hinge = _margins(scores, target_array, float(margin), pytorch_order=True)
    if p == 2:
        hinge = hinge * hinge
    keep = (np.arange(n_classes) != target_array[:, None]).astype(scores.dtype)
    if weight_array is not None:
        keep *= weight_array[target_array][:, None]
    per_sample = (hinge * keep).sum(axis=1) / n_classes
    if unbatched:
        per_sample = per_sample.reshape(())
    return _reduce(per_sample, reduction)


def multiclass_svm_loss(scores: Tensor, target, margin: float = 1.0,
                        reduction: str = "mean") -> Tensor:
    """The lectures' hinge loss L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + margin), as written there.

    scores: (N, C) or (C,); target: (N,) or () class indices. No division by C (PyTorch's
    `multi_margin_loss` has one); the default 'mean' is the lectures' (1/N) Σ_i L_i, to which
    `l2_penalty` adds λ Σ w². Returns () or (N,) for 'none'. The gradient is 0 where a margin
    term is exactly 0.
    """
    loss = "multiclass_svm_loss"
    _check_reduction(reduction, loss)
    x, target_array, unbatched = _hinge_inputs(scores, target, loss)
    hinge = _margins(x, target_array, float(margin), pytorch_order=False)
    keep = (np.arange(x.shape[1]) != target_array[:, None]).astype(x.dtype)
    per_sample = (hinge * keep).sum(axis=1)
    if unbatched:
        per_sample = per_sample.reshape(())
    return _reduce(per_sample, reduction)


def l2_penalty(parameters, weight_decay: float) -> Tensor:
    """λ Σ w² over the given tensors: add it to the data loss for L = mean(L_i) + λ Σ w².

    parameters: an iterable of tensors (e.g. `model.parameters()`) or one tensor, any shapes.
    Returns a scalar (); its gradient is 2λw. No parameters give a float32 zero.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    if not isinstance(parameters, Iterable):
        raise TypeError(
            f"l2_penalty: parameters must be a tensor or an iterable of tensors, "
            f"got {type(parameters).__name__}"
        )
    if not np.isscalar(weight_decay) or not weight_decay >= 0:
        raise ValueError(f"l2_penalty: weight_decay must be a number >= 0, got {weight_decay!r}")
    total = None
    for k, param in enumerate(parameters):
        if not isinstance(param, Tensor):
            raise TypeError(
                f"l2_penalty: parameter {k} is a {type(param).__name__}, not a Tensor"
            )
        square_sum = (param * param).sum()
        total = square_sum if total is None else total + square_sum
    if total is None:
        return Tensor(np.zeros((), dtype=np.float32))
    return total * float(weight_decay)
