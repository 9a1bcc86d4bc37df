"""The harness of the comparison studies: what every study does around its runs.

Checking a study's arguments; its data (training, validation and test arrays, `prepare_data`)
and models (`model_builder`: the same initial weights for every run of one seed); one seeded
`fit` run recorded in the run store (`train_run`, which returns a `RunResult`); and an untimed
warm-up pass before the first timed run (`warm_up`). The studies (`optimizers`, `batch_sizes`,
`regularisation`) say only which runs to make and what to conclude; `stats` summarises the
runs over seeds and `steepest.lab.plots` draws them.

A run that diverges is a result (`RunResult.diverged`); a run that fails for any other reason
stops the study with a `StudyRunError` naming the run and the cause, and is recorded in the
store as failed, with that cause.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from steepest.lab._common import ShortRepr
from steepest.train.callbacks import Callback


class StudyRunError(RuntimeError):
    """A run of a study failed (not by diverging); the message names the run and the cause,
    which is chained as __cause__."""


# ---------------------------------------------------------------------------- arguments
def positive_int(value: Any, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def positive_float(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{where}: {name} must be a positive number, got {value!r}")
    return float(value)


def distinct(values: Any, where: str, what: str, check: Callable[[Any], Any],
             one: tuple[type, ...] = (str,)) -> list[Any]:
    """`values` (a list, or one value of the types `one`) as a non-empty list of distinct
    entries, each passed through `check` (which raises on a bad one); ValueError naming `what`
    otherwise."""
    if values is None or isinstance(values, one):
        values = [values]
    checked = [check(value) for value in values]
    if not checked:
        raise ValueError(f"{where}: {what} must name at least one")
    for index, value in enumerate(checked):
        if value in checked[:index]:
            raise ValueError(f"{where}: {what} lists {values[index]!r} twice: {list(values)}")
    return checked


def check_seeds(seeds: Any, where: str) -> list[int]:
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


def run_length(epochs: Any, steps: Any, default_epochs: int, where: str) -> dict[str, int]:
    if epochs is not None and steps is not None:
        raise ValueError(f"{where}: give epochs or steps, not both")
    if steps is not None:
        return {"steps": positive_int(steps, where, "steps")}
    return {"epochs": positive_int(default_epochs if epochs is None else epochs, where,
                                    "epochs")}


def check_grid(values: Any, where: str, name: str) -> tuple[float, ...]:
    if isinstance(values, numbers.Real):
        values = [values]
    grid = tuple(positive_float(v, where, f"the learning-rate grid of {name}") for v in values)
    if not grid:
        raise ValueError(f"{where}: the learning-rate grid of {name} is empty")
    return grid


# ---------------------------------------------------------------------------- data and models
@dataclass
class StudyData:
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


def prepare_data(data: Any, val_fraction: float, train_size: int | None, split_seed: int,
                 where: str) -> StudyData:
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
        train_size = positive_int(train_size, where, "train_size")
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
        return StudyData(x, y, x_val, y_val, x_test, y_test, num_classes)
    return StudyData(x, y, None, None, x_test, y_test, num_classes)


def model_builder(model: Any, model_options: Mapping[str, Any] | None, data: StudyData,
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


def batch_label(batch_size: int | None, n: int | None = None) -> str:
    if batch_size is None:
        return "full" if n is None else f"full ({n})"
    if batch_size == 1:
        return "1 (stochastic)" if n is not None else "1"
    return str(batch_size)


# ---------------------------------------------------------------------------- one run
@dataclass(eq=False, repr=False)  # compared by identity: the curves are arrays
class RunResult(ShortRepr):
    """One training run of a study.

    epochs (E,): the epoch numbers of the evaluations (1..E); steps_at (E,): optimizer steps
    taken by each. train_loss / train_accuracy (E,): means over each epoch's batches (as the
    trainer logs them). val_* (E,) (None without a validation split) and test_* (E,): measured
    at every epoch's end. step_loss (S,): every optimizer step's mini-batch loss. seconds: wall
    time of the whole `fit` (evaluations included); train_seconds (E + 1,): cumulative time
    spent in training steps only, 0 first. full_train_loss (E + 1,): the loss on the whole
    (clean) training set before training and after each epoch, when the study measures it.
    A run that diverged has NaN for the epochs it did not finish (and one stopped early by
    EarlyStopping for the epochs it did not run). returned_test_accuracy: the test accuracy of
    the model `fit` returned (after EarlyStopping restored its best weights, if it did).
    run_id: its row in the store.
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
    returned_test_accuracy: float | None = None

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
        """The test accuracy of the model the run ended with (what `fit` returned)."""
        if self.returned_test_accuracy is not None:
            return self.returned_test_accuracy
        return float(self.test_accuracy[-1])

    def selection_key(self) -> tuple[float, float]:
        """Larger is better: (final val accuracy, −final val loss); a diverged run is worst."""
        if self.diverged or not math.isfinite(self.final_val_accuracy):
            return (-math.inf, -math.inf)
        loss = self.final_val_loss
        return (self.final_val_accuracy, -loss if math.isfinite(loss) else -math.inf)


class Recorder(Callback):
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


class ThinRun:
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


def warm_up(make_model: Callable[[np.random.Generator], Any], data: StudyData,
            batch_size: int | None) -> None:
    """One untimed forward and backward pass of a throwaway model on one batch, so that the
    first timed run does not pay for what only the first pass costs (lazy imports, the first
    allocations, the BLAS threads starting) and look slower than the runs after it. It draws
    from its own generator and puts steepest's default generator back (a model function that
    ignores its rng draws from that), so the study's runs draw exactly as without it.

    A model that cannot take that pass raises here, with the cause, before any run; a loss
    that is not finite is left to the runs, which report the divergence.
    """
    from steepest.random import default_generator
    from steepest.train.loop import NonFiniteLoss, TrainingLoop

    shared = default_generator().bit_generator
    state = shared.state
    # At least 2 examples: batch norm cannot train on one (the runs say so if they must).
    size = len(data.x) if batch_size is None else min(max(batch_size, 2), len(data.x))
    try:
        model = make_model(np.random.default_rng([2**31 - 1, 1]))
        model.train()
        with np.errstate(all="ignore"):
            TrainingLoop(model).forward_backward(data.x[:size], data.y[:size])
    except NonFiniteLoss:
        pass
    except Exception as error:
        raise StudyRunError(f"the warm-up pass (one batch of {size} through a fresh model) "
                            f"failed: {type(error).__name__}: {error}") from error
    finally:
        shared.state = state


def train_run(make_model: Callable[[np.random.Generator], Any], data: StudyData, *,
              label: str, optimizer: str, lr: float, seed: int, stage: str,
              length: dict[str, int], batch_size: int | None, store: Any, run_name: str,
              config: dict[str, Any], command: str | None, progress: bool,
              weight_decay: float | None = None, augment: Any = None,
              measure_train_loss: bool = False,
              transform: Callable[[Any, np.random.Generator], Any] | None = None,
              final_train_accuracy: bool = False,
              fit_options: dict[str, Any] | None = None) -> RunResult:
    """One seeded `fit` run, recorded in `store` (a RunStore or None, see `as_store`).
    fit_options: more arguments for `fit` (early stopping, for instance).

    Divergence is a result (`RunResult.diverged`); any other failure raises StudyRunError
    naming `run_name` and the cause (the store records the run as failed, with the cause).
    """
    from steepest.train.fit import fit, open_run
    from steepest.train.identity import plan_run
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
    record = run = None
    if store is not None:
        record = run = open_run(store, config, plan_run(), run_name, command, kind="compare")
        if steps_per_epoch > 100:
            run = ThinRun(record, steps_per_epoch // 100)
    recorder = Recorder((data.x, data.y) if measure_train_loss else None)
    started = time.perf_counter()
    diverged = False
    try:
        # The record ends as failed, with the cause, even if fit fails before training.
        with record if record is not None else contextlib.nullcontext():
            fit(model, (data.x, data.y), optimizer=optimizer, lr=lr, weight_decay=weight_decay,
                batch_size=batch_size, drop_last=drop_last, validation_data=data.validation,
                test_data=(data.x_test, data.y_test), augment=augment, callbacks=[recorder],
                store=run, progress=progress, log=None, seed=seed, **length,
                **(fit_options or {}))
    except TrainingDiverged:
        diverged = True
    except Exception as error:
        where = f" (run #{record.id} in {record.store.path}, marked failed)" \
            if record is not None else ""
        raise StudyRunError(f"{run_name}: {type(error).__name__}: {error}{where}") from error
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
        returned_test_accuracy=None if diverged or not history.test else
        float(history.test["test_accuracy"]),
    )


def as_store(store: Any) -> Any:
    """The study's run store, opened once for all its runs: None/False (no record), a
    RunStore, a path to one, or True (the default path)."""
    from steepest.train.fit import as_store as open_store

    return open_store(store)
