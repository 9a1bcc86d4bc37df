"""The Trainer: the lectures' basic pipeline (sample a batch, forward, loss, backward, update) as a
reliable tool: metrics, validation, callbacks, checkpoints that resume bit for bit, a progress
bar, and a record in the run store.

Each optimizer step goes through the seams of `train.loop.TrainingLoop`: forward_backward of
each batch, reduce_gradients, apply_update; what is learnt and reported is a `train.tasks.Task`.
One optimizer *step* consumes `grad_accumulation` batches; `steps` and schedules count optimizer
steps. Epoch e (0-based) visits the loader's batches in the order `DataLoader.epoch_batches(e)`
gives, which depends only on the loader's seed and e; together with the saved RNG state this is
what makes a resumed run repeat the uninterrupted one exactly.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from steepest.nn.module import Module
from steepest.tensor import Tensor
from steepest.train.callbacks import Callback, logged_value
from steepest.train.loop import (
    ApplyUpdate,
    ForwardBackward,
    NonFiniteLoss,
    ReduceGradients,
    TrainingLoop,
    evaluate,
)
from steepest.train.tasks import Classification


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the step and the likely cause."""


class History:
    """What `fit` returns, as Keras's: `history[name]` is one value per epoch.

    Keys: loss (training batches, mean over the epoch), the task's metrics over the epoch's
    batches (accuracy; mae, rmse, r2 for regression), lr (group 0's, as the epoch's last
    optimizer step used it), val_* with validation data, test_* with test data. `step_loss`
    holds every optimizer step's training loss. `val` and `test` hold the validation and test
    metrics of the model `fit` returns (after EarlyStopping restored its best weights, if it
    did), to compare with each other: `history["val_accuracy"][-1]` is the last epoch's, which
    may be another model.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.step_loss: list[float] = []
        self.val: dict[str, float] | None = None
        self.test: dict[str, float] | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        return self.history[name]

    def state_dict(self) -> dict[str, Any]:
        # Per-step losses as an array: thousands of floats are slow to write as JSON.
        return {"history": self.history, "epoch": self.epoch,
                "step_loss": np.array(self.step_loss, dtype=np.float64)}

    def plot(self, out: Any = None, *, figure: Any = None) -> Any:
        """Loss, accuracy and learning rate against epoch (training solid, validation dashed,
        test dotted) as a matplotlib Figure, written to `out` if given. figure: a Figure to
        draw into again (what the live plot of `fit` in a notebook does)."""
        from steepest.figures import plot_curves

        epochs = np.array(self.epoch)
        metrics = {name: (epochs, np.array(values)) for name, values in self.history.items()}
        run_id = getattr(self, "run_id", None)
        label = "this run" if run_id is None else f"run #{run_id}"
        return plot_curves([(label, metrics)], out, figure=figure)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.epoch = list(state["epoch"])
        self.step_loss = np.asarray(state["step_loss"], dtype=np.float64).tolist()


class Trainer:
    """Train `model` with `optimizer` on a DataLoader.

    task: a `train.tasks.Task` or its name, "classification" (the default) or "regression": the
      loss and the metrics. loss_fn(outputs, targets) -> scalar Tensor replaces the task's loss
      (default: cross-entropy for classification, mean squared error for regression).
    scheduler: an `optim.lr_scheduler` object (or any object with `step()`), driven by the
      scheduler protocol: stepped after every optimizer step or at the end of every epoch, as
      its `interval` says ("step" if it has none; `scheduler_interval` overrides it), and given
      `logs[scheduler.monitor]` when it has a monitor (ReduceLROnPlateau).
    grad_accumulation: batches whose gradients are averaged into one optimizer step.
    clip_grad_norm / clip_grad_value: clip before each step (`nn.utils.clip_grad_*_`).
    ema: an `ExponentialMovingAverage`, updated after each step; evaluation then uses the
      averaged weights.
    run: a `store.Run` to record config, metrics, checkpoints and results in the run store.
    run_uuid: the run's identity, written into its checkpoints (default: the Run's, else new).
    tta: test-time augmentation views (`data.augment.tta_predict`) for the final test metrics
      (classification only).
    forward_backward / reduce_gradients / apply_update: the seams of `train.loop` (default:
      one process, the optimizer steps here); a distributed runner passes its own.
    """

    def __init__(self, model: Module, optimizer: Any, *, task: Any = None,
                 loss_fn: Callable[[Tensor, Any], Tensor] | None = None,
                 scheduler: Any = None, scheduler_interval: str | None = None,
                 callbacks: Iterable[Callback] = (), grad_accumulation: int = 1,
                 clip_grad_norm: float | None = None, clip_grad_value: float | None = None,
                 ema: Any = None, progress: bool = True, run: Any = None,
                 config: dict[str, Any] | None = None, log: Callable[[str], None] | None = print,
                 log_every_epochs: int | None = None, eval_batch_size: int = 1000,
                 tta: Sequence[Any] | None = None, run_uuid: str | None = None,
                 reduce_gradients: ReduceGradients | None = None,
                 apply_update: ApplyUpdate | None = None,
                 forward_backward: ForwardBackward | None = None) -> None:
        if not isinstance(grad_accumulation, int) or grad_accumulation < 1:
            raise ValueError(f"grad_accumulation must be a positive integer, got "
                             f"{grad_accumulation!r}")
        if scheduler_interval is None:
            scheduler_interval = getattr(scheduler, "interval", "step")
        if scheduler_interval not in ("step", "epoch"):
            raise ValueError(f"scheduler_interval must be 'step' or 'epoch', got "
                             f"{scheduler_interval!r}")
        self.loop = TrainingLoop(model, optimizer, task, loss_fn=loss_fn,
                                 clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value,
                                 reduce_gradients=reduce_gradients, apply_update=apply_update,
                                 forward_backward=forward_backward)
        self.task = self.loop.task
        if tta and not isinstance(self.task, Classification):
            raise ValueError(f"tta: test-time augmentation averages class probabilities; the "
                             f"task is {self.task.name}")
        self.model, self.optimizer = model, optimizer
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.callbacks = list(callbacks)
        self.grad_accumulation = grad_accumulation
        self.ema, self.progress, self.run = ema, progress, run
        # The run's identity, saved in every checkpoint (see train.identity).
        if run_uuid is None:
            from steepest.store import new_uuid

            run_uuid = getattr(run, "uuid", None) or new_uuid()
        self.run_uuid = run_uuid
        self.config = dict(config or {})
        self._log = log
        self.log_every_epochs = log_every_epochs
        self.eval_batch_size = eval_batch_size
        self.tta = tuple(tta) if tta else None
        self.history = History()
        self.epoch = 0          # epochs completed
        self.step = 0           # optimizer steps taken
        self.batch = 0          # batches of the current epoch already consumed
        self._epoch_sums = self._zero_sums()
        # The learning rate of every param group as the last optimizer step used it (the
        # scheduler has moved the groups' "lr" on to the next step's by the time it is logged).
        self.step_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        self.stop_training = False
        self.last_checkpoint: Path | None = None
        self._step_logs: dict[str, float] | None = None  # the step whose callbacks are running
        self._loader: Any = None
        self._bar: Any = None
        self._at_eval_point = False

    # ---- logging -------------------------------------------------------------------------
    def log(self, message: str) -> None:
        if self._log is None:
            return
        if self._bar is not None and not self._bar.disable:
            self._bar.write(message)
        else:
            self._log(message)

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _zero_sums(self) -> dict[str, Any]:
        return {"loss": 0.0, "batches": 0, **self.task.zero_sums()}

    # ---- evaluation ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _evaluation_point(self) -> Iterator[None]:
        """The weights to evaluate and save while inside: `optimizer.eval()` (schedule-free
        moves to its average; other optimizers have one point), then `optimizer.train()`.
        Reentrant: nested uses move once."""
        if self._at_eval_point or not hasattr(self.optimizer, "eval"):
            yield
            return
        self._at_eval_point = True
        self.optimizer.eval()
        try:
            yield
        finally:
            self.optimizer.train()
            self._at_eval_point = False

    def evaluate(self, data: Any) -> dict[str, float]:
        """Mean loss and the task's metrics over `data` ((x, y) arrays or a DataLoader), in eval
        mode, without a graph, at the optimizer's evaluation point, with the EMA weights when
        there is an EMA."""
        with self._evaluation_point():
            if self.ema is not None:
                with self.ema.average_parameters():
                    return self._evaluate(data)
            return self._evaluate(data)

    def _evaluate(self, data: Any) -> dict[str, float]:
        return evaluate(self.model, self.task, data, self.eval_batch_size)

    def _evaluate_tta(self, test: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
        from steepest.data.augment import evaluate_tta

        model = self.model
        if self.ema is not None:
            with self.ema.average_parameters():
                loss, accuracy = evaluate_tta(model, *test, self.tta)
        else:
            loss, accuracy = evaluate_tta(model, *test, self.tta)
        return {"test_tta_loss": loss, "test_tta_accuracy": accuracy}

    # ---- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, path: str | Path, kind: str = "last") -> Path:
        """A full checkpoint of this run at the current step (see `steepest.io`), with the
        weights at the optimizer's evaluation point."""
        with self._evaluation_point():
            return self._save_checkpoint(path, kind)

    def _save_checkpoint(self, path: str | Path, kind: str) -> Path:
        from steepest.io import capture_rng_state, save_checkpoint
        from steepest.train.checks import first_non_finite

        ema_state = self.ema.state_dict() if self.ema is not None else None
        broken = first_non_finite({"": self.model.state_dict(), "ema.": {
            k: v for k, v in (ema_state or {}).items() if isinstance(v, np.ndarray)}})
        if broken is not None:  # never a "last good" checkpoint that is not good
            kept = (f"; the last good checkpoint is {self.last_checkpoint}"
                    if self.last_checkpoint is not None else "")
            raise TrainingDiverged(
                f"{broken} at step {self.step}: the inputs or the learning rate are probably "
                f"too large for the model's precision; not saved as {Path(path).name}{kept}")
        if self.run is not None:  # the steps up to this checkpoint are never logged again
            if self._step_logs is not None:  # this step's row, before an interrupt can lose it
                self.run.log_step(self.step, **self._step_logs)
            self.run.flush()

        # Arrays anywhere in `extra` (step losses, EMA weights, a callback's best weights) are
        # stored as tensors by steepest.io; the rest is JSON.
        extra = {
            "kind": kind,
            "batch": self.batch,
            "epoch_sums": dict(self._epoch_sums),
            "history": self.history.state_dict(),
            "callbacks": {key: callback.state_dict() for key, callback in self._callback_keys()},
            "ema": ema_state,
            "loader_seed": getattr(self._loader, "seed", None),
            "run_uuid": self.run_uuid,
        }
        path = save_checkpoint(
            path, model=self.model, optimizer=self.optimizer,
            scheduler=self.scheduler,
            epoch=self.epoch, step=self.step, config=self.config,
            rng_states={"default": capture_rng_state()}, extra=extra,
        )
        self.last_checkpoint = Path(path)
        if self.run is not None:
            self.run.add_checkpoint(str(path), kind=kind, step=self.step)
        return Path(path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore everything `save_checkpoint` wrote, to continue the run exactly."""
        from steepest.io import CheckpointError, load_checkpoint, restore_rng_state
        from steepest.train.checks import check_training_state

        checkpoint = load_checkpoint(path)
        extra = _upgrade_legacy_extra(checkpoint)
        # Before anything is set.
        check_training_state(checkpoint, extra, len(self._loader), self.task.zero_sums())
        saved_seed, seed = extra.get("loader_seed"), getattr(self._loader, "seed", None)
        if saved_seed is not None and seed is not None and saved_seed != seed:
            raise CheckpointError(f"{path}: the checkpoint was written with data seed "
                                  f"{saved_seed}, this run uses {seed}; resume with the same "
                                  f"--seed")
        if self.ema is not None and extra.get("ema") is None:
            raise CheckpointError(f"{path}: the checkpoint has no EMA of the weights; resume "
                                  f"without --ema, or start a new run")
        saved_callbacks = dict(extra.get("callbacks") or {})
        # The parts whose own load_state_dict checks them: callbacks and the EMA first (their
        # earlier states kept), then model, optimizer and schedule (which undo themselves). If
        # any does not fit, all are put back: a failed resume changes nothing.
        kept = [(callback, copy.deepcopy(callback.state_dict()))
                for _, callback in self._callback_keys()]
        if self.ema is not None:
            kept.append((self.ema, copy.deepcopy(self.ema.state_dict())))
        stage = "model"
        try:
            for key, callback in self._callback_keys():
                if key in saved_callbacks:
                    stage = f"callback {key}"
                    callback.load_state_dict(saved_callbacks.pop(key))
                elif callback.state_dict():
                    self.log(f"resume: {path} has no state for callback {key}; it starts "
                             f"afresh")
            if self.ema is not None:
                stage = "EMA"
                self.ema.load_state_dict(extra["ema"])
            stage = "model"
            checkpoint.restore(self.model, self.optimizer, self.scheduler)
        except (CheckpointError, KeyError, ValueError, TypeError, IndexError,
                AttributeError) as error:
            for thing, state in kept:
                with contextlib.suppress(Exception):
                    thing.load_state_dict(state)
            if isinstance(error, CheckpointError):
                raise
            raise CheckpointError(f"{path}: the saved state of the {stage} does not fit: "
                                  f"{error}") from error
        for key in saved_callbacks:
            self.log(f"resume: the state of callback {key} in {path} is not used by this run")
        self.epoch, self.step, self.batch = checkpoint.epoch, checkpoint.step, extra["batch"]
        self._epoch_sums = {**self._zero_sums(), **extra["epoch_sums"]}
        self.history.load_state_dict(extra["history"])
        if self.history.epoch and self.history.epoch[-1] > self.epoch:
            # The record of an epoch cut short: it is recorded again when the epoch completes.
            self.history.epoch.pop()
            for values in self.history.history.values():
                values.pop()
        restore_rng_state(checkpoint.rng_states["default"])
        self.last_checkpoint = Path(path)

    def _callback_keys(self) -> list[tuple[str, Callback]]:
        """Callbacks named by class and rank among their class ("EarlyStopping", or
        "LambdaCallback#2"), so that saved states find their callback even if others change."""
        seen: dict[str, int] = {}
        keys = []
        for callback in self.callbacks:
            name = type(callback).__name__
            seen[name] = seen.get(name, 0) + 1
            keys.append((name if seen[name] == 1 else f"{name}#{seen[name]}", callback))
        return keys

    # ---- the loop --------------------------------------------------------------------------
    def fit(self, train: Any, *, epochs: int | None = None, steps: int | None = None,
            validation: Any = None, test: Any = None, resume: str | Path | None = None
            ) -> History:
        """Train for `epochs` passes over `train` (a DataLoader) or for `steps` optimizer steps.

        validation / test: (x, y) arrays or DataLoaders evaluated at the end of every epoch
        (val_* and test_* metrics). resume: a checkpoint of this same run to continue from.
        """
        self._loader = train
        batches_per_epoch = len(train)
        if batches_per_epoch == 0:
            raise ValueError("fit: the training data gives no batches (is drop_last on with "
                             "fewer samples than batch_size?)")
        steps_per_epoch = math.ceil(batches_per_epoch / self.grad_accumulation)
        if (epochs is None) == (steps is None):
            raise ValueError("fit: give exactly one of epochs or steps")
        limit = epochs if epochs is not None else steps
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"fit: epochs/steps must be a positive integer, got {limit!r}")
        total_steps = steps if steps is not None else epochs * steps_per_epoch
        if resume is not None:
            self.load_checkpoint(resume)
        self.stop_training = self.step >= total_steps
        every = self.log_every_epochs or max(1, math.ceil(total_steps / steps_per_epoch / 10))
        self._bar = _progress_bar(self.progress, total_steps, self.step)
        for callback in self.callbacks:
            callback.on_train_begin(self)
        self.model.train()
        if hasattr(self.optimizer, "train"):
            self.optimizer.train()
            self._at_eval_point = False
        status, failure = "failed", None
        started = time.perf_counter()
        # Overflow on the way to a NaN loss is reported once, by _diverged, not as warnings.
        errstate = np.errstate(over="ignore", invalid="ignore")
        errstate.__enter__()
        try:
            while not self.stop_training:
                self._train_epoch(train, batches_per_epoch, total_steps)
                complete = self.batch >= batches_per_epoch
                logs = self._end_epoch(validation, test, complete)
                if not complete or self.epoch % every == 0 or self.stop_training:
                    self.log(_epoch_line(self.epoch + (not complete), logs, self.task))
            status = "finished"
        except TrainingDiverged:
            status = "diverged"
            raise
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except Exception as error:  # recorded with the run, then raised as it is
            failure = f"{type(error).__name__}: {error}"
            raise
        finally:
            errstate.__exit__(None, None, None)
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            final: dict[str, Any] = {"steps": self.step, "epochs": self.epoch,
                                     "train_seconds": time.perf_counter() - started}
            if status == "finished":
                self._finish(validation, test, final)
            if failure is not None:
                final["error"] = failure
            if self.run is not None:
                self.run.finish(status=status, results=final)
        return self.history

    def _finish(self, validation: Any, test: Any, final: dict[str, Any]) -> None:
        # The model ends at the evaluation point (and stays there): what is tested, saved and
        # returned. The next fit moves it back.
        if hasattr(self.optimizer, "eval"):
            self.optimizer.eval()
            self._at_eval_point = True
        for callback in self.callbacks:
            callback.on_loop_end(self)
        for callback in self.callbacks:
            callback.on_train_end(self, final)
        if validation is not None:  # the model as returned, beside its test metrics
            self.history.val = {f"val_{k}": v for k, v in self.evaluate(validation).items()}
            final.update(self.history.val)
        if test is not None:
            self.history.test = {f"test_{k}": v for k, v in self.evaluate(test).items()}
            if self.tta and isinstance(test, tuple):
                self.history.test.update(self._evaluate_tta(test))
            final.update(self.history.test)
        for name, values in self.history.history.items():
            if values:
                final[f"final_{name}"] = values[-1]

    def _train_epoch(self, train: Any, batches_per_epoch: int, total_steps: int) -> None:
        k = self.grad_accumulation
        for callback in self.callbacks:
            callback.on_epoch_begin(self, self.epoch)
        sums = self._epoch_sums
        loop, task = self.loop, self.task
        group_loss = 0.0
        for b, (x, y) in enumerate(train.epoch_batches(self.epoch, start=self.batch),
                                   start=self.batch):
            group_start = b - b % k
            group_size = min(k, batches_per_epoch - group_start)
            if b == group_start:
                loop.zero_grad()
                group_loss = 0.0
            try:
                value, outputs = loop.forward_backward(x, y, scale=1.0 / group_size)
            except NonFiniteLoss as error:
                self._diverged(error.loss, b)
            group_loss += value / group_size
            sums["loss"] += value
            sums["batches"] += 1
            task.update_sums(sums, outputs.data, y)
            if b != group_start + group_size - 1:
                continue
            self._optimizer_step()
            self.batch = b + 1
            logs = {"loss": group_loss, "lr": self.step_lrs[0]}
            self.history.step_loss.append(group_loss)
            self._step_logs = logs  # a checkpoint written by a callback now records them too
            for callback in self.callbacks:
                callback.on_step_end(self, self.step, logs)
            self._step_logs = None
            if self.run is not None:
                self.run.log_step(self.step, **logs)
            if self._bar is not None:
                self._bar.update(1)
                if self.step % 10 == 0 or self.step == total_steps:
                    name, value = next(iter(task.metrics(sums).items()), ("", None))
                    shown = {} if value is None else {name[:3]: f"{value:.3f}"}
                    self._bar.set_postfix(loss=f"{group_loss:.4f}", lr=f"{logs['lr']:.3g}",
                                          **shown, refresh=False)
            if self.step >= total_steps:
                self.stop_training = True
            if self.stop_training:
                return

    def _optimizer_step(self) -> None:
        self.loop.reduce_gradients()
        for callback in self.callbacks:
            callback.on_after_backward(self, self.step + 1)
        self.step_lrs = [float(group["lr"]) for group in self.optimizer.param_groups]
        self.loop.apply_update()
        self.step += 1
        if self.scheduler is not None and self.scheduler_interval == "step":
            self._step_scheduler(None)
        if self.ema is not None:
            self.ema.update()

    def _step_scheduler(self, logs: dict[str, float] | None) -> None:
        """The scheduler protocol: `step()`, or `step(logs[monitor])` for a scheduler that
        watches a metric (only at the end of an epoch: that is when metrics are logged)."""
        monitor = getattr(self.scheduler, "monitor", None)
        if monitor is None:
            self.scheduler.step()
        elif logs is None:
            raise ValueError(f"{type(self.scheduler).__name__} watches {monitor!r}, which is "
                             f"logged once per epoch: step it per epoch "
                             f"(scheduler_interval='epoch')")
        else:
            self.scheduler.step(logged_value(type(self.scheduler).__name__, logs, monitor))

    def _end_epoch(self, validation: Any, test: Any, complete: bool = True) -> dict[str, float]:
        """Metrics of the epoch. An epoch cut short (by `steps` or a callback) is recorded in the
        history and the store too, but the trainer stays mid-epoch: no epoch-end schedule or
        callbacks, and a checkpoint written now resumes at the next batch of this epoch."""
        with self._evaluation_point():
            return self._epoch_logs(validation, test, complete)

    def _epoch_logs(self, validation: Any, test: Any, complete: bool) -> dict[str, float]:
        sums = self._epoch_sums
        logs = {"loss": sums["loss"] / max(sums["batches"], 1), **self.task.metrics(sums)}
        if validation is not None:
            logs.update({f"val_{k}": v for k, v in self.evaluate(validation).items()})
        if test is not None:
            logs.update({f"test_{k}": v for k, v in self.evaluate(test).items()})
        if complete and self.scheduler is not None and self.scheduler_interval == "epoch":
            self._step_scheduler(logs)
        logs["lr"] = self.step_lrs[0]
        if not complete:
            self.history.append(self.epoch + 1, logs)
            if self.run is not None:
                self.run.log_epoch(self.epoch + 1, **logs)
            return logs
        self.epoch += 1
        self.batch = 0
        self._epoch_sums = self._zero_sums()
        self.history.append(self.epoch, logs)
        if self.run is not None:
            self.run.log_epoch(self.epoch, **logs)
        for callback in self.callbacks:
            callback.on_epoch_end(self, self.epoch, logs)
        # After every on_epoch_end: a checkpoint written now holds the callbacks' updated state.
        for callback in self.callbacks:
            callback.on_epoch_saved(self, self.epoch, logs)
        return logs

    def _diverged(self, value: float, batch: int) -> None:
        where = f"step {self.step + 1} (epoch {self.epoch + 1}, batch {batch + 1})"
        kept = (f"; the last good checkpoint is {self.last_checkpoint}"
                if self.last_checkpoint is not None else "")
        raise TrainingDiverged(
            f"the loss became {value} at {where}: the learning rate ({self._lr():g}) is probably "
            f"too large; try a smaller one, a schedule with warm-up, or gradient clipping{kept}"
        )


def _upgrade_legacy_extra(checkpoint: Any) -> dict[str, Any]:
    """The trainer's extras of `checkpoint`, also from files written before steepest.io stored
    arrays inside extras (steepest 0.1.0): there the Trainer had moved the step losses to
    arrays["history.step_loss"], the EMA's arrays to arrays["ema.<name>"], and each array of a
    callback's state to arrays[key], leaving {"__array__": key} in its place."""
    extra, arrays = dict(checkpoint.extra), checkpoint.arrays
    if "history.step_loss" not in arrays or not isinstance(extra.get("history"), dict) \
            or not isinstance(extra.get("ema", {}), dict):
        return extra  # today's layout (or a damaged one, which check_training_state names)

    def join(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                return arrays[value["__array__"]]
            return {k: join(v) for k, v in value.items()}
        return value

    extra["history"] = {**extra["history"], "step_loss": arrays["history.step_loss"]}
    extra["callbacks"] = join(extra.get("callbacks", {}))
    ema = {k[len("ema."):]: v for k, v in arrays.items() if k.startswith("ema.")}
    extra["ema"] = {**extra.get("ema", {}), **ema} if ema or "ema" in extra else None
    return extra


def _epoch_line(epoch: int, logs: dict[str, float], task: Any) -> str:
    parts = [f"epoch {epoch:4d}"]
    for prefix in ("", "val ", "test "):
        key = prefix.strip() + "_" if prefix else ""
        if f"{key}loss" in logs:
            parts.append(f"{prefix}loss {logs[f'{key}loss']:.4f}")
            parts += [prefix + task.format_metric(name, logs[key + name])
                      for name in task.metric_names if key + name in logs]
    parts.append(f"lr {logs['lr']:.3g}")
    return "  ".join(parts)


def _progress_bar(progress: bool, total: int, initial: int) -> Any:
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional: no bar, the epoch lines still show progress
        return None
    # disable=None: no bar when stderr is not a terminal (CI logs, pytest).
    return tqdm(total=total, initial=initial, unit="step", disable=None, dynamic_ncols=True,
                mininterval=0.2)
