"""Studies on a real task (MNIST-1D by default), each a set of seeded `fit` runs recorded in the
run store: optimizers compared at learning rates chosen on a validation split
(`compare_optimizers`), full-batch, stochastic and mini-batch gradient descent
(`compare_batch_sizes`), and the train/test gap under regularisers (`regularisation_study`);
with mean ± std over seeds, tables and figures (matplotlib imported only when drawing).

    result = compare_optimizers(("sgd", "momentum", "adam"), seeds=(0, 1, 2), epochs=20)
    print(markdown_table(result.table()))
    plot_compare(result).savefig("compare.png")

Every run of a study trains the same model on the same data: seed s builds the model with
`numpy.random.default_rng([s, 1])` (its dropout masks draw from that generator too, DropConnect's
from `default_rng([s, 2])`) and gives `fit(seed=s)` the order of the batches and the
augmentation, so two optimizers with one seed start from the same weights and see the same
batches. The validation split is
drawn once (`split_seed`) and shared by every run.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab._common import check_optimizer, smooth_losses
from steepest.optim.spec import preset_names, study_lr
from steepest.train.callbacks import Callback

__all__ = [
    "BATCH_SIZE_LR", "DEFAULT_LR", "REGULARISERS", "BatchSizeResult", "CompareResult",
    "RegularisationResult", "RunResult", "compare_batch_sizes", "compare_optimizers",
    "default_lr_grid", "plot_batch_sizes", "plot_compare", "plot_regularisation",
    "regularisation_study", "smooth_losses", "steps_to_target",
]

#: The centre of each optimizer's default learning-rate grid (`default_lr_grid`): its spec's
#: study_lr (`steepest.optim.spec.study_lr`), where the measurement behind each rate is stated.
DEFAULT_LR: dict[str, float] = {name: study_lr(name) for name in preset_names()}

#: Learning rates of plain SGD per batch size in `compare_batch_sizes` when none are given
#: (None = full batch): the best of the grid 0.01, 0.03, 0.1, 0.3, 1, 3 by validation accuracy
#: after 10 epochs of the default MLP on MNIST-1D, seeds 0 and 1 (for batch 32, 1 won on seed
#: 0 and 0.3 on seed 1: the safer 0.3 is kept). Stochastic steps are noisy and need a small
#: rate; a full-batch step follows the exact gradient and takes a large one. The measurements
#: follow the linear-scaling rule lr = 0.01 · b (Goyal et al., 2017), which other batch sizes
#: get, capped at 1.
BATCH_SIZE_LR: dict[int | None, float] = {None: 1.0, 1: 0.01, 32: 0.3, 128: 1.0}

#: The regularisers `regularisation_study` knows.
REGULARISERS = ("none", "l2", "dropout", "dropconnect", "batchnorm", "augment", "mixup")

_DESCRIPTIONS = {
    "none": "no regularisation",
    "l2": "L2 penalty (weight_decay={weight_decay:g} in the optimizer)",
    "dropout": "Dropout(p={dropout:g}) after every hidden activation",
    "dropconnect": "DropConnect(p={drop_connect:g}) on every hidden Linear layer",
    "batchnorm": "BatchNorm1d after every hidden Linear layer",
    "augment": "random crop (padding {crop_padding}) + Gaussian noise (std {noise_std:g})",
    "mixup": "mixup (alpha={mixup_alpha:g}), soft targets",
}


# ---------------------------------------------------------------------------- small pieces
def default_lr_grid(optimizer: str, points: int = 3) -> tuple[float, ...]:
    """`points` consecutive rates of the ladder ..., 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, ...
    (steps of about 3×) centred on `DEFAULT_LR[optimizer]`: for adam 0.001, 0.003, 0.01; with
    points=5, 0.0003 ... 0.03. An even count puts the extra rate above the centre."""
    from steepest.optim.registry import OPTIMIZERS

    if optimizer not in DEFAULT_LR:
        raise ValueError(f"default_lr_grid: unknown optimizer {optimizer!r}; choose from "
                         f"{', '.join(OPTIMIZERS)}")
    points = _positive_int(points, "default_lr_grid", "points")
    # Rung 2k is 10^k, rung 2k + 1 is 3·10^k.
    centre = round(2 * math.log10(DEFAULT_LR[optimizer]) + (1 - 2 * math.log10(3)))
    first = centre - (points - 1) // 2

    def rung(index: int) -> float:
        decade, half = divmod(index, 2)
        return float(f"{(3.0 if half else 1.0) * 10.0 ** decade:.3g}")

    return tuple(rung(first + k) for k in range(points))


def steps_to_target(losses: Sequence[float] | np.ndarray, target: float,
                    smoothing: float = 0.05) -> int | None:
    """The number of optimizer steps after which the smoothed training loss (see
    `smooth_losses`) first is at or below `target`; None if it never gets there.

    losses: (S,) the loss of every step, losses[0] being the first step's. A return of k means
    the smoothed loss after the k-th step (index k − 1) was the first to reach the target.
    """
    smoothed = smooth_losses(losses, smoothing)
    reached = np.nonzero(smoothed <= target)[0]
    return int(reached[0]) + 1 if reached.size else None


def _positive_int(value: Any, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _positive_float(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{where}: {name} must be a positive number, got {value!r}")
    return float(value)


def _seeds(seeds: Any, where: str) -> list[int]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = [seeds]
    seeds = list(seeds)
    if not seeds:
        raise ValueError(f"{where}: seeds must name at least one seed, e.g. seeds=(0, 1, 2)")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"{where}: seeds must be integers >= 0, got {seed!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{where}: seeds lists a seed twice: {seeds}")
    return [int(s) for s in seeds]


def _length(epochs: Any, steps: Any, default_epochs: int, where: str) -> dict[str, int]:
    if epochs is not None and steps is not None:
        raise ValueError(f"{where}: give epochs or steps, not both")
    if steps is not None:
        return {"steps": _positive_int(steps, where, "steps")}
    return {"epochs": _positive_int(default_epochs if epochs is None else epochs, where,
                                    "epochs")}


def _grid(values: Any, where: str, name: str) -> tuple[float, ...]:
    if isinstance(values, numbers.Real):
        values = [values]
    grid = tuple(_positive_float(v, where, f"the learning-rate grid of {name}") for v in values)
    if not grid:
        raise ValueError(f"{where}: the learning-rate grid of {name} is empty")
    return grid


# ---------------------------------------------------------------------------- data and models
@dataclass
class _Data:
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray] | None:
        return None if self.x_val is None else (self.x_val, self.y_val)


def _prepare(data: Any, val_fraction: float, train_size: int | None, split_seed: int,
             where: str) -> _Data:
    """Training, validation and test arrays from `data`: None (MNIST-1D), a Split-like object
    (x, y, x_test, y_test), a tuple (x, y, x_test, y_test), or (x, y) (20% held out as the test
    set, seeded). train_size keeps a seeded random subset of the training part first."""
    from steepest.data import train_val_split

    if data is None:
        from steepest.data import load_mnist1d

        data = load_mnist1d()
    if all(hasattr(data, a) for a in ("x", "y", "x_test", "y_test")):
        x, y, x_test, y_test = data.x, data.y, data.x_test, data.y_test
    elif isinstance(data, (tuple, list)) and len(data) == 4:
        x, y, x_test, y_test = data
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y, x_test, y_test = train_val_split(data[0], data[1], 0.2, seed=split_seed)
    else:
        raise TypeError(f"{where}: data must be None (MNIST-1D), a Split, or a tuple (x, y, "
                        f"x_test, y_test) or (x, y); got {type(data).__name__}")
    x, y = np.asarray(x), np.asarray(y)
    x_test, y_test = np.asarray(x_test), np.asarray(y_test)
    for name, labels in (("y", y), ("y_test", y_test)):
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{where}: {name} must be (N,) integer class labels, got shape "
                             f"{labels.shape} dtype {labels.dtype}")
    if len(x) != len(y) or len(x_test) != len(y_test) or len(x) == 0 or len(x_test) == 0:
        raise ValueError(f"{where}: data needs as many inputs as labels, and a non-empty "
                         f"training and test set; got x {x.shape}, y {y.shape}, x_test "
                         f"{x_test.shape}, y_test {y_test.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x, x_test = x.astype(np.float32), x_test.astype(np.float32)
    if train_size is not None:
        train_size = _positive_int(train_size, where, "train_size")
        if train_size < len(x):
            keep = np.sort(np.random.default_rng([split_seed, 7]).permutation(len(x))
                           [:train_size])
            x, y = x[keep], y[keep]
    num_classes = int(max(y.max(), y_test.max())) + 1
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"{where}: val_fraction must be in [0, 1), got {val_fraction!r}")
    if val_fraction > 0:
        if len(x) < 2:
            raise ValueError(f"{where}: holding out a validation split needs at least 2 "
                             f"training examples, got {len(x)} (train_size)")
        x, y, x_val, y_val = train_val_split(x, y, val_fraction, seed=split_seed)
        return _Data(x, y, x_val, y_val, x_test, y_test, num_classes)
    return _Data(x, y, None, None, x_test, y_test, num_classes)


def _builder(model: Any, model_options: Mapping[str, Any] | None, data: _Data,
             where: str) -> Callable[[np.random.Generator], Any]:
    """A function rng -> a fresh model: a name from `models.MODELS` (with model_options), or a
    callable model_fn(rng) / model_fn()."""
    from steepest.lab._common import build
    from steepest.models import MODELS, build_model

    options = dict(model_options or {})
    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(f"{where}: unknown model {model!r}; choose from "
                             f"{', '.join(MODELS)}, or pass a function rng -> Module")
        # Fail now, not in the middle of the study, on a bad option.
        build_model(model, data.sample_shape, data.num_classes,
                    generator=np.random.default_rng(0), **options)

        def make(rng: np.random.Generator) -> Any:
            return build_model(model, data.sample_shape, data.num_classes, generator=rng,
                               **options)

        return make
    if callable(model):
        if options:
            raise ValueError(f"{where}: model_options go with a model name, not with a "
                             f"model function")
        return lambda rng: build(model, rng)
    raise TypeError(f"{where}: model must be a name ({', '.join(MODELS)}) or a function "
                    f"rng -> Module, got {type(model).__name__}")


def _as_store(store: Any) -> Any:
    """None, or a RunStore: given one, a path to one, or True for the default path."""
    if store is None or store is False:
        return None
    from steepest.store import RunStore, resolve_db_path

    if isinstance(store, RunStore):
        return store
    return RunStore(resolve_db_path(None if store is True else store))


def _batch_label(batch_size: int | None, n: int | None = None) -> str:
    if batch_size is None:
        return "full" if n is None else f"full ({n})"
    if batch_size == 1:
        return "1 (stochastic)" if n is not None else "1"
    return str(batch_size)


# ---------------------------------------------------------------------------- one run
@dataclass(eq=False)  # compared by identity: the curves are arrays
class RunResult:
    """One training run of a study.

    epochs (E,): the epoch numbers of the evaluations (1..E); steps_at (E,): optimizer steps
    taken by each. train_loss / train_accuracy (E,): means over each epoch's batches (as the
    trainer logs them). val_* (E,) (None without a validation split) and test_* (E,): measured
    at every epoch's end. step_loss (S,): every optimizer step's mini-batch loss. seconds: wall
    time of the whole `fit` (evaluations included); train_seconds (E + 1,): cumulative time
    spent in training steps only, 0 first. full_train_loss (E + 1,): the loss on the whole
    (clean) training set before training and after each epoch, when the study measures it.
    A run that diverged has NaN for the epochs it did not finish. run_id: its row in the store.
    """

    label: str
    optimizer: str
    lr: float
    seed: int
    stage: str
    batch_size: int | None
    steps_per_epoch: int
    epochs: np.ndarray
    steps_at: np.ndarray
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    val_loss: np.ndarray | None
    val_accuracy: np.ndarray | None
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    step_loss: np.ndarray
    seconds: float
    train_seconds: np.ndarray
    full_train_loss: np.ndarray | None = None
    final_train_accuracy: float | None = None
    diverged: bool = False
    run_id: int | None = None

    @property
    def final_val_accuracy(self) -> float:
        return float(self.val_accuracy[-1]) if self.val_accuracy is not None else math.nan

    @property
    def final_val_loss(self) -> float:
        return float(self.val_loss[-1]) if self.val_loss is not None else math.nan

    @property
    def best_val_accuracy(self) -> float:
        """The highest validation accuracy of any epoch (NaN without validation)."""
        if self.val_accuracy is None or not np.isfinite(self.val_accuracy).any():
            return math.nan
        return float(np.nanmax(self.val_accuracy))

    @property
    def final_test_accuracy(self) -> float:
        return float(self.test_accuracy[-1])

    def selection_key(self) -> tuple[float, float]:
        """Larger is better: (final val accuracy, −final val loss); a diverged run is worst."""
        if self.diverged or not math.isfinite(self.final_val_accuracy):
            return (-math.inf, -math.inf)
        loss = self.final_val_loss
        return (self.final_val_accuracy, -loss if math.isfinite(loss) else -math.inf)


class _Recorder(Callback):
    """Keeps the trainer (to read its history even if training diverges), times the training
    steps apart from the evaluations, and optionally measures the loss on the whole training
    set before training and after every epoch."""

    def __init__(self, train_set: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.train_set = train_set
        self.trainer: Any = None
        self.train_seconds = [0.0]
        self.full_train_loss: list[float] = []
        self._epoch_start = 0.0
        self._last_step = 0.0

    def on_train_begin(self, trainer: Any) -> None:
        self.trainer = trainer
        if self.train_set is not None:
            self.full_train_loss.append(trainer.evaluate(self.train_set)["loss"])

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        self._epoch_start = self._last_step = time.perf_counter()

    def on_step_end(self, trainer: Any, step: int, logs: dict[str, float]) -> None:
        self._last_step = time.perf_counter()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        self.train_seconds.append(self.train_seconds[-1] + self._last_step - self._epoch_start)
        if self.train_set is not None:
            self.full_train_loss.append(trainer.evaluate(self.train_set)["loss"])


class _ThinRun:
    """A store Run that keeps every `every`-th step's metrics (stochastic gradient descent
    takes thousands of steps per epoch; writing each would time the database, not the
    training). Epoch metrics and the end of the run are passed on unchanged."""

    def __init__(self, run: Any, every: int) -> None:
        self.run, self.every, self.id = run, max(1, int(every)), run.id

    def log_step(self, step: int, **metrics: Any) -> None:
        if step % self.every == 0:
            self.run.log_step(step, **metrics)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.run, name)


def _warm_up(make_model: Callable[[np.random.Generator], Any], data: _Data,
             batch_size: int | None) -> None:
    """One untimed forward and backward pass of a throwaway model on one batch, so that the
    first timed run does not pay for what only the first pass costs (lazy imports, the first
    allocations, the BLAS threads starting) and look slower than the runs after it. It draws
    from its own generator and puts steepest's default generator back (a model function that
    ignores its rng draws from that), so the study's runs draw exactly as without it."""
    import steepest.nn.functional as F
    from steepest.random import default_generator
    from steepest.tensor import Tensor

    shared = default_generator().bit_generator
    state = shared.state
    # At least 2 examples: batch norm cannot train on one (the runs say so if they must).
    size = len(data.x) if batch_size is None else min(max(batch_size, 2), len(data.x))
    try:
        model = make_model(np.random.default_rng([2**31 - 1, 1]))
        model.train()
        with np.errstate(all="ignore"):
            F.cross_entropy(model(Tensor(data.x[:size])), data.y[:size]).backward()
    except Exception:  # only a warm-up: the timed runs report whatever is wrong
        pass
    finally:
        shared.state = state


def _train(make_model: Callable[[np.random.Generator], Any], data: _Data, *, label: str,
           optimizer: str, lr: float, seed: int, stage: str, length: dict[str, int],
           batch_size: int | None, store: Any, run_name: str, config: dict[str, Any],
           command: str | None, progress: bool, weight_decay: float | None = None,
           augment: Any = None, measure_train_loss: bool = False,
           transform: Callable[[Any, np.random.Generator], Any] | None = None,
           final_train_accuracy: bool = False) -> RunResult:
    """One seeded `fit` run, recorded in `store` (a RunStore or None)."""
    from steepest.train.fit import fit
    from steepest.train.trainer import TrainingDiverged

    model = make_model(np.random.default_rng([seed, 1]))
    if transform is not None:
        model = transform(model, np.random.default_rng([seed, 2]))
    n = len(data.x)
    # A last batch of one example is dropped: batch norm cannot normalise a single example.
    drop_last = batch_size is not None and n > batch_size and n % batch_size == 1
    steps_per_epoch = 1 if batch_size is None else (
        n // batch_size if drop_last else -(-n // batch_size))
    if "steps" in length:
        total = length["steps"]
        n_epochs = -(-total // steps_per_epoch)
    else:
        n_epochs = length["epochs"]
        total = n_epochs * steps_per_epoch
    run = None
    if store is not None:
        run = store.start_run(config, kind="compare", name=run_name, command=command)
        if steps_per_epoch > 100:
            run = _ThinRun(run, steps_per_epoch // 100)
    recorder = _Recorder((data.x, data.y) if measure_train_loss else None)
    started = time.perf_counter()
    diverged = False
    try:
        fit(model, (data.x, data.y), optimizer=optimizer, lr=lr, weight_decay=weight_decay,
            batch_size=batch_size, drop_last=drop_last, validation_data=data.validation,
            test_data=(data.x_test, data.y_test), augment=augment, callbacks=[recorder],
            store=run, progress=progress, log=None, seed=seed, **length)
    except TrainingDiverged:
        diverged = True
    seconds = time.perf_counter() - started
    history = recorder.trainer.history

    def curve(name: str, size: int = n_epochs) -> np.ndarray:
        values = np.full(size, np.nan)
        got = history.history.get(name, [])[:size]
        values[:len(got)] = got
        return values

    has_val = data.x_val is not None
    full_loss = None
    if measure_train_loss:
        full_loss = np.full(n_epochs + 1, np.nan)
        full_loss[:len(recorder.full_train_loss)] = recorder.full_train_loss[:n_epochs + 1]
    train_seconds = np.full(n_epochs + 1, np.nan)
    train_seconds[:len(recorder.train_seconds)] = recorder.train_seconds[:n_epochs + 1]
    if len(history.epoch) == n_epochs and len(recorder.train_seconds) == n_epochs:
        # The last epoch was cut short by `steps`: it has no epoch end, time it to the last step.
        train_seconds[-1] = recorder.train_seconds[-1] + recorder._last_step \
            - recorder._epoch_start
    train_accuracy = None
    if final_train_accuracy and not diverged:
        train_accuracy = float(recorder.trainer.evaluate((data.x, data.y))["accuracy"])
    epochs = np.arange(1, n_epochs + 1)
    return RunResult(
        label=label, optimizer=optimizer, lr=float(lr), seed=seed, stage=stage,
        batch_size=batch_size, steps_per_epoch=steps_per_epoch, epochs=epochs,
        steps_at=np.minimum(epochs * steps_per_epoch, total),
        train_loss=curve("loss"), train_accuracy=curve("accuracy"),
        val_loss=curve("val_loss") if has_val else None,
        val_accuracy=curve("val_accuracy") if has_val else None,
        test_loss=curve("test_loss"), test_accuracy=curve("test_accuracy"),
        step_loss=np.asarray(history.step_loss, dtype=np.float64), seconds=seconds,
        train_seconds=train_seconds, full_train_loss=full_loss,
        final_train_accuracy=train_accuracy, diverged=diverged,
        run_id=None if run is None else run.id,
    )


def _choose(runs: Sequence[RunResult]) -> RunResult:
    """The run with the best final validation accuracy, ties to the lower validation loss, then
    to the smaller learning rate (every run diverged: the smallest rate)."""
    return max(runs, key=lambda r: (*r.selection_key(), -r.lr))


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) over the seeds; one value: std 0."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 1:
        return float(array[0]), 0.0
    return float(np.mean(array)), float(np.std(array, ddof=1))


def _pm(values: Sequence[float], digits: int = 3) -> float | str:
    """One seed: the number; several: "mean ± std" (the sample std over seeds, ddof=1)."""
    if len(values) == 1:
        return float(values[0])
    mean, std = _mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _nan_mean_std(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of `curves` (seeds, T): the mean and the sample std (ddof=1) of the values
    that are not NaN (a run that diverged has NaN from then on, so it does not blank the band);
    a column with one value has std 0, one with none NaN for both."""
    curves = np.asarray(curves, dtype=np.float64)
    with warnings.catch_warnings():  # all-NaN columns and single values: handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, axis=0)
        std = np.nanstd(curves, axis=0, ddof=1)
    count = np.sum(~np.isnan(curves), axis=0)
    return mean, np.where(count == 1, 0.0, std)


def _stack(runs: Sequence[RunResult], key: str, smoothing: float) -> np.ndarray:
    if key == "smoothed_step_loss":
        curves = [smooth_losses(r.step_loss, smoothing) for r in runs]
    else:
        curves = [getattr(r, key) for r in runs]
    if any(c is None for c in curves):
        raise ValueError(f"band: the runs have no {key!r} curve (no validation split?)")
    lengths = {len(c) for c in curves}
    if len(lengths) > 1:  # a run that diverged stopped early: pad it with NaN
        size = max(lengths)
        curves = [np.concatenate([c, np.full(size - len(c), np.nan)]) for c in curves]
    return np.stack(curves)


def _band(runs: Sequence[RunResult], key: str, smoothing: float
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, mean, std) of a curve over the runs (seeds): x is the step number (1..S) for
    step_loss / smoothed_step_loss, 0..E for full_train_loss, else the epoch (1..E). mean and
    std (the sample std, ddof=1; 0 for one seed) skip NaN: a run that diverged counts until it
    diverged, and a step curve that ended early is padded with NaN."""
    curves = _stack(runs, key, smoothing)
    if key in ("step_loss", "smoothed_step_loss"):
        x = np.arange(1, curves.shape[1] + 1)
    elif key == "full_train_loss":
        x = np.arange(curves.shape[1])
    else:
        x = np.arange(1, curves.shape[1] + 1)
    return (x, *_nan_mean_std(curves))


# ---------------------------------------------------------------------------- optimizers
@dataclass
class CompareResult:
    """What `compare_optimizers` found.

    optimizers, seeds: as run. lr_grid[name]: the rates tried (empty if the rate was given);
    chosen_lr[name]: the rate every seed then ran with. grid[name]: the grid's runs (seed
    seeds[0], one per rate, in grid order); runs[name]: one run per seed at the chosen rate (the
    seeds[0] run is the grid's run at that rate, not repeated). target_loss: the smoothed
    training loss that `steps_to_target` counts steps to.
    """

    optimizers: list[str]
    seeds: list[int]
    lr_grid: dict[str, tuple[float, ...]]
    chosen_lr: dict[str, float]
    grid: dict[str, list[RunResult]]
    runs: dict[str, list[RunResult]]
    target_loss: float
    smoothing: float
    config: dict[str, Any] = field(default_factory=dict)

    def band(self, optimizer: str, key: str = "val_loss"
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, mean, std) over the seeds of one optimizer's curve: key is val_loss,
        val_accuracy, test_loss, test_accuracy, train_loss, train_accuracy (x = epochs 1..E),
        step_loss or smoothed_step_loss (x = steps 1..S). std is the sample standard deviation
        over the seeds (ddof=1; 0 with one seed); NaN (a diverged run's missing epochs or
        steps) is left out of both."""
        return _band(self.runs[optimizer], key, self.smoothing)

    def steps_to_target(self, optimizer: str) -> list[int | None]:
        """Per seed, the steps until the smoothed training loss reached `target_loss`."""
        return [steps_to_target(r.step_loss, self.target_loss, self.smoothing)
                for r in self.runs[optimizer]]

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per optimizer the numbers behind `table()`: (mean, sample std (ddof=1)) over the
        seeds."""
        out = {}
        for name in self.optimizers:
            runs = self.runs[name]
            best_val = [r.best_val_accuracy for r in runs]
            final_val = [r.final_val_accuracy for r in runs]
            test = [r.final_test_accuracy for r in runs]
            reached = [s for s in self.steps_to_target(name) if s is not None]
            out[name] = {
                "lr": self.chosen_lr[name],
                "best_val_accuracy": _mean_std(best_val),
                "final_val_accuracy": _mean_std(final_val),
                "test_accuracy": _mean_std(test),
                "steps_to_target": _mean_std(reached) if reached else None,
                "reached": len(reached),
                "seconds": _mean_std([r.seconds for r in runs]),
                "diverged": sum(r.diverged for r in runs),
            }
        return out

    def table(self) -> list[dict[str, Any]]:
        """One row per optimizer: its rate, best validation accuracy, final test accuracy (mean
        ± sample std over seeds, ddof=1), steps to the target loss, and wall time per run."""
        rows = []
        n = len(self.seeds)
        for name, numbers_ in self.summary().items():
            runs = self.runs[name]
            steps = numbers_["steps_to_target"]
            if steps is None:
                steps_cell: Any = "never"
            else:
                steps_cell = round(steps[0]) if numbers_["reached"] == n and n == 1 else (
                    f"{steps[0]:.0f} ± {steps[1]:.0f}" if numbers_["reached"] == n
                    else f"{steps[0]:.0f} ({numbers_['reached']}/{n} runs)")
            row = {
                "optimizer": name,
                "lr": numbers_["lr"],
                "best val acc": _pm([r.best_val_accuracy for r in runs]),
                "test acc": _pm([r.final_test_accuracy for r in runs]),
                f"steps to loss ≤ {self.target_loss:.3g}": steps_cell,
                "wall time (s)": _pm([r.seconds for r in runs], 2),
            }
            if numbers_["diverged"]:
                row["diverged"] = f"{numbers_['diverged']}/{n}"
            rows.append(row)
        return rows

    def grid_table(self) -> list[dict[str, Any]]:
        """One row per grid run: optimizer, rate, final validation accuracy and loss, and
        whether it was chosen."""
        rows = []
        for name in self.optimizers:
            for run in self.grid[name]:
                rows.append({
                    "optimizer": name, "lr": run.lr,
                    "val acc": "diverged" if run.diverged else run.final_val_accuracy,
                    "val loss": "diverged" if run.diverged else run.final_val_loss,
                    "chosen": "✓" if run.lr == self.chosen_lr[name] else "",
                })
        return rows


def compare_optimizers(optimizers: Sequence[str] = ("sgd", "momentum", "adam"), *,
                       data: Any = None, model: Any = "mlp",
                       model_options: Mapping[str, Any] | None = None,
                       seeds: Sequence[int] = (0, 1, 2),
                       lrs: Mapping[str, float] | None = None,
                       lr_grid: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
                       grid_points: int = 3, epochs: int | None = None,
                       steps: int | None = None, batch_size: int | None = 100,
                       val_fraction: float = 0.2, train_size: int | None = None,
                       target_loss: float | None = None, smoothing: float = 0.05,
                       split_seed: int = 0, store: Any = None, command: str | None = None,
                       data_name: str | None = None, progress: bool = False,
                       log: Callable[[str], None] | None = None) -> CompareResult:
    """Train the same model on the same data with each optimizer over several seeds, each at
    a learning rate chosen on a validation split.

    optimizers: names from `optim.OPTIMIZERS`. data: None (MNIST-1D), a Split or a tuple (see
    `_prepare`); `val_fraction` of its training part is held out (drawn once with split_seed)
    for validation, and its test part is evaluated every epoch. model: a name from
    `models.MODELS` (with model_options, e.g. {"width": 256}) or a function rng -> Module.
    Learning rate: `lrs[name]` if given; else each rate of the grid (`lr_grid[name]`, or
    `lr_grid` itself if it is one list for all, or `default_lr_grid(name, grid_points)`: c/3,
    c, 3c around `DEFAULT_LR[name]`) is trained with seed seeds[0], and the one with the best
    final validation accuracy wins (ties: lower validation loss, then the smaller rate; a
    diverged run never wins unless all did). Then each seed trains at the chosen rate (the
    seeds[0] run is the grid's, not repeated). epochs / steps: the length of every run
    (default 20 epochs). target_loss: the smoothed training loss (see `smooth_losses`) whose
    first crossing `steps_to_target` reports; None picks the highest final smoothed loss of
    any run, so every run reaches it and the count says how much sooner the others got there.
    store: a RunStore, its path, or True (default path): every run (grid runs too, config
    "stage": "grid") is recorded there with kind "compare" and a name like
    "compare adam lr=0.003 seed=1". log: called with one line per finished run.
    """
    where = "compare_optimizers"
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    optimizers = [check_optimizer(name, where) for name in optimizers]
    if not optimizers:
        raise ValueError(f"{where}: optimizers must name at least one optimizer")
    if len(set(optimizers)) != len(optimizers):
        raise ValueError(f"{where}: optimizers lists a name twice: {optimizers}")
    seeds = _seeds(seeds, where)
    length = _length(epochs, steps, 20, where)
    if batch_size is not None:
        batch_size = _positive_int(batch_size, where, "batch_size")
    smoothing = float(smoothing)
    lrs = dict(lrs or {})
    for name, value in lrs.items():
        if name not in optimizers:
            raise ValueError(f"{where}: lrs names {name!r}, which is not among the optimizers "
                             f"{optimizers}")
        lrs[name] = _positive_float(value, where, f"lrs[{name!r}]")
    grids: dict[str, tuple[float, ...]] = {}
    for name in optimizers:
        if name in lrs:
            grids[name] = ()
        elif isinstance(lr_grid, Mapping) and name in lr_grid:
            grids[name] = _grid(lr_grid[name], where, name)
        elif lr_grid is not None and not isinstance(lr_grid, Mapping):
            grids[name] = _grid(lr_grid, where, name)
        else:
            grids[name] = default_lr_grid(name, grid_points)
    if isinstance(lr_grid, Mapping):
        unknown = sorted(set(lr_grid) - set(optimizers))
        if unknown:
            raise ValueError(f"{where}: lr_grid names {unknown}, not among the optimizers "
                             f"{optimizers}")
    prepared = _prepare(data, val_fraction, train_size, split_seed, where)
    if prepared.x_val is None:
        raise ValueError(f"{where}: choosing learning rates needs a validation split; give "
                         f"val_fraction > 0 (e.g. 0.2)")
    make_model = _builder(model, model_options, prepared, where)
    store = _as_store(store)
    base = {
        "study": "optimizers", "model": model if isinstance(model, str) else "custom",
        "model_options": dict(model_options or {}), "batch_size": batch_size, **length,
        "val_fraction": val_fraction, "train_size": len(prepared.x), "split_seed": split_seed,
        "data": data_name or ("mnist1d" if data is None else "custom"),
    }

    def train(name: str, lr: float, seed: int, stage: str) -> RunResult:
        config = {**base, "stage": stage, "optimizer": name, "lr": lr, "seed": seed}
        result = _train(make_model, prepared, label=name, optimizer=name, lr=lr, seed=seed,
                        stage=stage, length=length, batch_size=batch_size, store=store,
                        run_name=f"compare {name} lr={lr:g} seed={seed}", config=config,
                        command=command, progress=progress)
        if log is not None:
            state = "diverged" if result.diverged else \
                f"val acc {result.final_val_accuracy:.3f}"
            log(f"{name:>9s} lr={lr:<8g} seed={seed} ({stage}): {state} "
                f"({result.seconds:.1f} s)")
        return result

    _warm_up(make_model, prepared, batch_size)
    grid_runs: dict[str, list[RunResult]] = {}
    chosen: dict[str, float] = {}
    runs: dict[str, list[RunResult]] = {}
    for name in optimizers:
        grid_runs[name] = [train(name, lr, seeds[0], "grid") for lr in grids[name]]
        if grid_runs[name]:
            best = _choose(grid_runs[name])
            chosen[name] = best.lr
        else:
            best = None
            chosen[name] = lrs[name]
        runs[name] = [best if best is not None and seed == seeds[0]
                      else train(name, chosen[name], seed, "seeds") for seed in seeds]
    if target_loss is None:
        finals = [smooth_losses(r.step_loss, smoothing)[-1] for rs in runs.values() for r in rs
                  if not r.diverged and len(r.step_loss)]
        finals = [f for f in finals if math.isfinite(f)]
        target_loss = float(max(finals)) if finals else math.nan
    else:
        target_loss = _positive_float(target_loss, where, "target_loss")
    config = {**base, "optimizers": optimizers, "seeds": seeds,
              "lr_grid": {k: list(v) for k, v in grids.items()}, "lrs": lrs,
              "chosen_lr": chosen, "target_loss": target_loss, "smoothing": smoothing}
    return CompareResult(optimizers, seeds, grids, chosen, grid_runs, runs, target_loss,
                         smoothing, config)


# ---------------------------------------------------------------------------- batch sizes
@dataclass
class BatchSizeResult:
    """What `compare_batch_sizes` found. batch_sizes: as run (None = full batch); lrs[b]: the
    rate batch size b ran with; runs[b]: one run per seed, each with full_train_loss (E + 1,)
    (the loss on the whole training set before training and after every epoch) and
    train_seconds (E + 1,) (cumulative time in training steps); grid[b]: the grid's runs if the
    rate was chosen by a grid."""

    batch_sizes: list[int | None]
    optimizer: str
    seeds: list[int]
    lrs: dict[int | None, float]
    runs: dict[int | None, list[RunResult]]
    grid: dict[int | None, list[RunResult]]
    n_train: int
    config: dict[str, Any] = field(default_factory=dict)

    def label(self, batch_size: int | None) -> str:
        return _batch_label(batch_size, self.n_train)

    def band(self, batch_size: int | None, key: str = "full_train_loss"
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, mean, std) over seeds (std: the sample std, ddof=1; 0 with one seed):
        full_train_loss and train_seconds have x = epochs 0..E, the per-epoch curves
        (val_accuracy, ...) x = 1..E."""
        if key == "train_seconds":
            curves = np.stack([r.train_seconds for r in self.runs[batch_size]])
            return (np.arange(curves.shape[1]), *_nan_mean_std(curves))
        return _band(self.runs[batch_size], key, 0.05)

    def table(self) -> list[dict[str, Any]]:
        """One row per batch size: rate, steps per epoch, training loss after the first and the
        last epoch, validation and test accuracy, training seconds per epoch and in all."""
        rows = []
        for b in self.batch_sizes:
            runs = self.runs[b]
            epochs = len(runs[0].epochs)
            rows.append({
                "batch size": self.label(b),
                "lr": self.lrs[b],
                "steps/epoch": runs[0].steps_per_epoch,
                "loss after 1 epoch": _pm([r.full_train_loss[1] for r in runs]),
                f"loss after {epochs} epochs": _pm([r.full_train_loss[-1] for r in runs]),
                "val acc": _pm([r.final_val_accuracy for r in runs]),
                "test acc": _pm([r.final_test_accuracy for r in runs]),
                "s/epoch": _pm([r.train_seconds[-1] / epochs for r in runs], 4),
                "train time (s)": _pm([r.train_seconds[-1] for r in runs], 2),
            })
        return rows


def _batch_lr(batch_size: int | None) -> float:
    if batch_size in BATCH_SIZE_LR:
        return BATCH_SIZE_LR[batch_size]
    return float(min(1.0, 0.01 * batch_size))


def _parse_batch_size(value: Any, where: str) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "full"):
        return None
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ValueError(f"{where}: batch size {value!r} must be 'full' or a positive "
                             f"integer") from None
    return _positive_int(value, where, "a batch size")


def compare_batch_sizes(batch_sizes: Sequence[int | str | None] = (None, 1, 32, 128), *,
                        optimizer: str = "sgd", lrs: Mapping[Any, float] | None = None,
                        lr_grid: Sequence[float] | None = None, epochs: int | None = None,
                        seeds: Sequence[int] = (0,), data: Any = None, model: Any = "mlp",
                        model_options: Mapping[str, Any] | None = None,
                        val_fraction: float = 0.2, train_size: int | None = None,
                        split_seed: int = 0, store: Any = None, command: str | None = None,
                        data_name: str | None = None, progress: bool = False,
                        log: Callable[[str], None] | None = None) -> BatchSizeResult:
    """Full-batch (None or "full"), stochastic (1) and mini-batch (b) gradient descent with one
    optimizer, for the same number of epochs, so each has seen every example equally often.

    The lectures' trade-off shows in `full_train_loss` against epochs and against
    `train_seconds`: a stochastic epoch takes n small steps and makes the most progress, but
    costs the most time; a full-batch epoch is one exact, cheap step and needs many epochs;
    mini-batches sit between (and use the vectorised hardware best).
    Learning rates: `lrs[b]` where given (keys as batch_sizes, "full" or None for full batch);
    else, with `lr_grid`, the rate of the grid with the best final validation accuracy on seed
    seeds[0] (runs of the full length); else for SGD `BATCH_SIZE_LR` (measured on MNIST-1D,
    linear scaling for other sizes), and for other optimizers `DEFAULT_LR`. epochs: default 10.
    Every run is recorded in `store` (kind "compare", name "compare batch=32 lr=0.1 seed=0").
    """
    where = "compare_batch_sizes"
    if isinstance(batch_sizes, (str, numbers.Integral)) or batch_sizes is None:
        batch_sizes = [batch_sizes]
    sizes = [_parse_batch_size(b, where) for b in batch_sizes]
    if not sizes:
        raise ValueError(f"{where}: batch_sizes must name at least one size")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"{where}: batch_sizes lists a size twice: {list(batch_sizes)}")
    optimizer = check_optimizer(optimizer, where)
    seeds = _seeds(seeds, where)
    length = _length(epochs, None, 10, where)
    given: dict[int | None, float] = {}
    for key, value in (lrs or {}).items():
        size = _parse_batch_size(key, where)
        if size not in sizes:
            raise ValueError(f"{where}: lrs names batch size {key!r}, which is not among "
                             f"{[_batch_label(b) for b in sizes]}")
        given[size] = _positive_float(value, where, f"lrs[{key!r}]")
    grid = _grid(lr_grid, where, "the batch sizes") if lr_grid is not None else ()
    prepared = _prepare(data, val_fraction, train_size, split_seed, where)
    if grid and prepared.x_val is None:
        raise ValueError(f"{where}: choosing learning rates by lr_grid needs val_fraction > 0")
    make_model = _builder(model, model_options, prepared, where)
    store = _as_store(store)
    n = len(prepared.x)
    base = {
        "study": "batch-sizes", "optimizer": optimizer,
        "model": model if isinstance(model, str) else "custom",
        "model_options": dict(model_options or {}), **length, "val_fraction": val_fraction,
        "train_size": n, "split_seed": split_seed,
        "data": data_name or ("mnist1d" if data is None else "custom"),
    }

    def train(b: int | None, lr: float, seed: int, stage: str) -> RunResult:
        label = _batch_label(b)
        config = {**base, "stage": stage, "batch_size": b, "lr": lr, "seed": seed}
        result = _train(make_model, prepared, label=label, optimizer=optimizer, lr=lr,
                        seed=seed, stage=stage, length=length, batch_size=b, store=store,
                        run_name=f"compare batch={label} lr={lr:g} seed={seed}",
                        config=config, command=command, progress=progress,
                        measure_train_loss=True)
        if log is not None:
            state = "diverged" if result.diverged else \
                f"train loss {result.full_train_loss[-1]:.3f}"
            log(f"batch {_batch_label(b, n):>14s} lr={lr:<6g} seed={seed} ({stage}): {state} "
                f"({result.train_seconds[-1]:.1f} s training)")
        return result

    _warm_up(make_model, prepared, sizes[0])
    chosen: dict[int | None, float] = {}
    grids: dict[int | None, list[RunResult]] = {}
    runs: dict[int | None, list[RunResult]] = {}
    for b in sizes:
        grids[b] = []
        best = None
        if b in given:
            chosen[b] = given[b]
        elif grid:
            grids[b] = [train(b, lr, seeds[0], "grid") for lr in grid]
            best = _choose(grids[b])
            chosen[b] = best.lr
        else:
            chosen[b] = _batch_lr(b) if optimizer == "sgd" else DEFAULT_LR[optimizer]
        runs[b] = [best if best is not None and seed == seeds[0]
                   else train(b, chosen[b], seed, "seeds") for seed in seeds]
    config = {**base, "batch_sizes": [_batch_label(b) for b in sizes], "seeds": seeds,
              "lrs": {_batch_label(b): v for b, v in chosen.items()},
              "lr_grid": list(grid) or None}
    return BatchSizeResult(sizes, optimizer, seeds, chosen, runs, grids, n, config)


# ---------------------------------------------------------------------------- regularisation
@dataclass
class RegularisationResult:
    """What `regularisation_study` found: runs[method] one run per seed; each run's
    final_train_accuracy is measured on the whole clean training set in eval mode (not on
    augmented or mixed batches), its final_test_accuracy on the test set."""

    methods: list[str]
    seeds: list[int]
    descriptions: dict[str, str]
    runs: dict[str, list[RunResult]]
    config: dict[str, Any] = field(default_factory=dict)

    def train_accuracy(self, method: str) -> np.ndarray:
        """(seeds,) final training accuracy of each seed's run."""
        return np.array([r.final_train_accuracy if r.final_train_accuracy is not None
                         else np.nan for r in self.runs[method]])

    def test_accuracy(self, method: str) -> np.ndarray:
        """(seeds,) final test accuracy of each seed's run."""
        return np.array([r.final_test_accuracy for r in self.runs[method]])

    def gap(self, method: str) -> np.ndarray:
        """(seeds,) train accuracy − test accuracy."""
        return self.train_accuracy(method) - self.test_accuracy(method)

    def table(self) -> list[dict[str, Any]]:
        """One row per method: what it is, final train accuracy, test accuracy, and the gap
        train − test (mean ± sample std over seeds, ddof=1, when there are several)."""
        return [{
            "method": method,
            "setting": self.descriptions[method],
            "train acc": _pm(self.train_accuracy(method)),
            "test acc": _pm(self.test_accuracy(method)),
            "gap": _pm(self.gap(method)),
            "best test acc": _pm([float(np.nanmax(r.test_accuracy)) for r in
                                  self.runs[method]]),
        } for method in self.methods]


def _drop_connect(p: float) -> Callable[[Any, np.random.Generator], Any]:
    """Wrap every top-level Linear layer of a Sequential except the last (the output layer)
    in `nn.DropConnect(p)`; the masks draw from the run's generator."""
    def transform(model: Any, rng: np.random.Generator) -> Any:
        from steepest import nn

        layers = list(model)
        linear = [i for i, layer in enumerate(layers) if isinstance(layer, nn.Linear)]
        wrap = set(linear[:-1])
        return nn.Sequential(*[nn.DropConnect(layer, p, generator=rng) if i in wrap else layer
                               for i, layer in enumerate(layers)])
    return transform


def regularisation_study(methods: Sequence[str] = REGULARISERS, *, data: Any = None,
                         model_options: Mapping[str, Any] | None = None,
                         optimizer: str = "adam", lr: float = 1e-3, epochs: int | None = None,
                         batch_size: int | None = 100, train_size: int | None = None,
                         seeds: Sequence[int] = (0,), weight_decay: float = 3e-3,
                         dropout: float = 0.3, drop_connect: float = 0.3,
                         noise_std: float = 0.1, crop_padding: int | None = None,
                         mixup_alpha: float = 0.4, split_seed: int = 0, store: Any = None,
                         command: str | None = None, data_name: str | None = None,
                         progress: bool = False,
                         log: Callable[[str], None] | None = None) -> RegularisationResult:
    """The same MLP (default 2 hidden layers of 256 ReLUs: wide enough to learn MNIST-1D's
    training set by heart) trained with each method, and its train/test accuracy gap.

    methods (REGULARISERS): "none"; "l2" (the optimizer's weight_decay, an L2 penalty
    (weight_decay/2)·‖w‖² added to the loss; for "adamw" it is decoupled decay); "dropout"
    (`mlp(dropout=p)`: nn.Dropout after every hidden activation); "dropconnect" (every hidden
    Linear wrapped in nn.DropConnect(p): weights dropped, not units); "batchnorm"
    (`mlp(batch_norm=True)`); "augment" (data.augment RandomCrop with `crop_padding` zeros at
    each end, default L/8, then GaussianNoise(noise_std), fresh for every batch); "mixup"
    (data.augment.Mixup(mixup_alpha): convex mixes of pairs, soft targets).
    No validation split: the whole training set (or a seeded `train_size` subset: fewer
    examples, more overfitting) trains, the test set measures. epochs: default 50.
    Every run is recorded in `store` (kind "compare", name "compare regularisation=dropout
    seed=0").
    """
    from steepest.data.augment import Compose, GaussianNoise, Mixup, RandomCrop

    where = "regularisation_study"
    if isinstance(methods, str):
        methods = [methods]
    methods = list(methods)
    for method in methods:
        if method not in REGULARISERS:
            raise ValueError(f"{where}: unknown method {method!r}; choose from "
                             f"{', '.join(REGULARISERS)}")
    if not methods or len(set(methods)) != len(methods):
        raise ValueError(f"{where}: methods must name distinct methods, got {methods}")
    optimizer = check_optimizer(optimizer, where)
    lr = _positive_float(lr, where, "lr")
    seeds = _seeds(seeds, where)
    length = _length(epochs, None, 50, where)
    for name, value in (("dropout", dropout), ("drop_connect", drop_connect)):
        if not 0.0 < float(value) < 1.0:
            raise ValueError(f"{where}: {name} must be a probability in (0, 1), got {value!r}")
    prepared = _prepare(data, 0.0, train_size, split_seed, where)
    options = {"depth": 2, "width": 256, **dict(model_options or {})}
    for banned in ("dropout", "batch_norm"):
        if options.get(banned):
            raise ValueError(f"{where}: model_options must not set {banned!r}: the study "
                             f"switches it on for its own method")
    if len(prepared.sample_shape) > 2:
        raise ValueError(f"{where}: the augmentation here is for signals (N, L) or (N, C, L); "
                         f"these samples have shape {prepared.sample_shape}")
    length_of_signal = prepared.sample_shape[-1]
    if crop_padding is None:
        crop_padding = max(1, round(length_of_signal / 8))
    store = _as_store(store)
    settings = dict(weight_decay=weight_decay, dropout=dropout, drop_connect=drop_connect,
                    crop_padding=crop_padding, noise_std=noise_std, mixup_alpha=mixup_alpha)
    descriptions = {m: _DESCRIPTIONS[m].format(**settings) for m in methods}
    base = {
        "study": "regularisation", "optimizer": optimizer, "lr": lr, "model": "mlp",
        "model_options": options, "batch_size": batch_size, **length,
        "train_size": len(prepared.x), "split_seed": split_seed,
        "data": data_name or ("mnist1d" if data is None else "custom"), **settings,
    }
    runs: dict[str, list[RunResult]] = {}
    for method in methods:
        method_options = dict(options)
        if method == "dropout":
            method_options["dropout"] = dropout
        if method == "batchnorm":
            method_options["batch_norm"] = True
        make_model = _builder("mlp", method_options, prepared, where)
        augment = None
        if method == "augment":
            augment = Compose([RandomCrop(length_of_signal, padding=int(crop_padding)),
                               GaussianNoise(noise_std)])
        elif method == "mixup":
            augment = Mixup(mixup_alpha, num_classes=prepared.num_classes)
        runs[method] = []
        for seed in seeds:
            config = {**base, "stage": "seeds", "method": method, "seed": seed}
            result = _train(make_model, prepared, label=method, optimizer=optimizer, lr=lr,
                            seed=seed, stage="seeds", length=length, batch_size=batch_size,
                            store=store, run_name=f"compare regularisation={method} seed={seed}",
                            config=config, command=command, progress=progress,
                            weight_decay=weight_decay if method == "l2" else None,
                            augment=augment, final_train_accuracy=True,
                            transform=_drop_connect(drop_connect) if method == "dropconnect"
                            else None)
            runs[method].append(result)
            if log is not None:
                state = "diverged" if result.diverged else (
                    f"train acc {result.final_train_accuracy:.3f}, test acc "
                    f"{result.final_test_accuracy:.3f}")
                log(f"{method:>12s} seed={seed}: {state} ({result.seconds:.1f} s)")
    config = {**base, "methods": methods, "seeds": seeds}
    return RegularisationResult(methods, seeds, descriptions, runs, config)


# ---------------------------------------------------------------------------- pictures
def _colours(count: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(count)]


def _draw_band(ax: Any, x: np.ndarray, mean: np.ndarray, std: np.ndarray, colour: Any,
               label: str, seeds: int) -> None:
    ax.plot(x, mean, color=colour, linewidth=1.8, label=label)
    if seeds > 1:
        ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)


def plot_compare(result: CompareResult, out: Any = None, *, title: str | None = None) -> Any:
    """Four panels: validation loss and validation accuracy against epochs, the smoothed
    training loss against steps (mean ± std bands over seeds; the target loss dashed), and the
    learning-rate grid (final validation accuracy against the rate, chosen rate marked).
    Returns the matplotlib Figure; out: a PNG path to write."""
    from steepest.lab.plots import _figure, _save

    figure = _figure(11.5, 8.0)
    axes = figure.subplots(2, 2)
    colours = dict(zip(result.optimizers, _colours(len(result.optimizers)), strict=True))
    n = len(result.seeds)
    for name in result.optimizers:
        label = f"{name} (lr {result.chosen_lr[name]:g})"
        for ax, key in ((axes[0, 0], "val_loss"), (axes[0, 1], "val_accuracy"),
                        (axes[1, 0], "smoothed_step_loss")):
            _draw_band(ax, *result.band(name, key), colours[name], label, n)
        grid = result.grid[name]
        if grid:
            lrs = [r.lr for r in grid]
            accuracy = [np.nan if r.diverged else r.final_val_accuracy for r in grid]
            axes[1, 1].plot(lrs, accuracy, marker="o", color=colours[name], label=name)
            chosen = result.chosen_lr[name]
            if chosen in lrs:
                index = lrs.index(chosen)
                axes[1, 1].plot(chosen, accuracy[index], marker="*", markersize=16,
                                color=colours[name], markeredgecolor="black",
                                linestyle="none")
    if math.isfinite(result.target_loss):
        axes[1, 0].axhline(result.target_loss, color="0.3", linestyle="--", linewidth=1,
                           label=f"target {result.target_loss:.3g}")
    band = "mean ± sample std over " + (f"{n} seeds" if n > 1 else "1 seed")
    axes[0, 0].set(xlabel="epoch", ylabel="validation loss", title=f"Validation loss ({band})")
    axes[0, 1].set(xlabel="epoch", ylabel="validation accuracy",
                   title="Validation accuracy")
    axes[1, 0].set(xlabel="optimizer step", ylabel="training loss (smoothed)",
                   title="Training loss", yscale="log")
    axes[1, 1].set(xlabel="learning rate", ylabel="final validation accuracy",
                   title=f"Learning-rate grid (seed {result.seeds[0]}; ★ chosen)",
                   xscale="log")
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title is not None:
        figure.suptitle(title)
    _save(figure, out)
    return figure


def plot_batch_sizes(result: BatchSizeResult, out: Any = None, *,
                     title: str | None = None) -> Any:
    """Two panels: the loss on the whole training set against epochs, and against training
    wall time (log scale: a stochastic epoch costs far more than a full-batch one); mean ± std
    over seeds (the sample std, ddof=1). Returns the matplotlib Figure; out: a PNG path to
    write."""
    from steepest.lab.plots import _figure, _save

    figure = _figure(11.5, 4.6)
    by_epoch, by_time = figure.subplots(1, 2)
    colours = _colours(len(result.batch_sizes))
    n = len(result.seeds)
    for colour, b in zip(colours, result.batch_sizes, strict=True):
        label = f"batch {result.label(b)}, lr {result.lrs[b]:g}"
        x, mean, std = result.band(b, "full_train_loss")
        _draw_band(by_epoch, x, mean, std, colour, label, n)
        _, seconds, _ = result.band(b, "train_seconds")
        # The first point (no training yet) is at t = 0, which a log axis cannot show.
        by_time.plot(seconds[1:], mean[1:], color=colour, linewidth=1.8, marker="o",
                     markersize=3, label=label)
    by_epoch.set(xlabel="epoch", ylabel="training loss (whole training set)",
                 title="Loss per epoch: smaller batches, more steps, more progress")
    by_time.set(xlabel="training time (s, log scale)", ylabel="training loss",
                title="Loss per second: the cost of each epoch", xscale="log")
    for ax in (by_epoch, by_time):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if title is not None:
        figure.suptitle(title)
    _save(figure, out)
    return figure


def plot_regularisation(result: RegularisationResult, out: Any = None, *,
                        title: str | None = None) -> Any:
    """Two panels: bars of final train and test accuracy per method (the gap written above
    each pair; error bars = the sample std over seeds, ddof=1), and test accuracy against
    epochs per method.
    Returns the matplotlib Figure; out: a PNG path to write."""
    from steepest.lab.plots import _figure, _save

    figure = _figure(12.0, 4.8)
    bars, curves = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    positions = np.arange(len(result.methods))
    width = 0.38
    train = [result.train_accuracy(m) for m in result.methods]
    test = [result.test_accuracy(m) for m in result.methods]
    n = len(result.seeds)
    error = (lambda values: [_mean_std(v)[1] for v in values]) if n > 1 else \
        (lambda values: None)
    bars.bar(positions - width / 2, [np.mean(v) for v in train], width, yerr=error(train),
             label="train", color="tab:blue")
    bars.bar(positions + width / 2, [np.mean(v) for v in test], width, yerr=error(test),
             label="test", color="tab:orange")
    for x, method in zip(positions, result.methods, strict=True):
        gap = float(np.mean(result.gap(method)))
        top = float(np.nanmax([np.mean(result.train_accuracy(method)),
                               np.mean(result.test_accuracy(method))]))
        bars.annotate(f"gap {gap:.2f}", (x, top), xytext=(0, 4), textcoords="offset points",
                      ha="center", fontsize=8)
    bars.set_xticks(positions, result.methods, rotation=20)
    bars.set(ylabel="accuracy", ylim=(0, 1.12), title="Final accuracy: train vs test")
    bars.legend(fontsize=8, loc="lower right")
    bars.grid(True, axis="y", alpha=0.3)
    for colour, method in zip(_colours(len(result.methods)), result.methods, strict=True):
        x, mean, std = _band(result.runs[method], "test_accuracy", 0.05)
        _draw_band(curves, x, mean, std, colour, method, n)
    curves.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy during training")
    curves.grid(True, alpha=0.3)
    curves.legend(fontsize=8)
    if title is not None:
        figure.suptitle(title)
    _save(figure, out)
    return figure
