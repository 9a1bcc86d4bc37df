"""`fit`: one call from a model and data to a trained model, a History and a recorded run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from steepest.nn.module import Module
from steepest.tensor import Tensor
from steepest.train.callbacks import (
    Callback,
    EarlyStopping,
    LivePlot,
    ModelCheckpoint,
    in_notebook,
)
from steepest.train.trainer import History, Trainer


def _as_arrays(data: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, tuple) and len(data) == 2:
        x, y = (d.data if isinstance(d, Tensor) else np.asarray(d) for d in data)
        if len(x) != len(y):
            raise ValueError(f"fit: {what} has {len(x)} inputs but {len(y)} targets")
        return x, y
    raise TypeError(f"fit: {what} must be an (x, y) pair of arrays, a Split or a DataLoader, "
                    f"got {type(data).__name__}")


def fit(model: Module, data: Any, *, optimizer: Any = "adam", lr: float | None = None,
        weight_decay: float | None = None, schedule: Any = None, epochs: int | None = None,
        steps: int | None = None, batch_size: int | None = 100, shuffle: bool = True,
        drop_last: bool = False, validation_split: float = 0.0, validation_data: Any = None,
        test_data: Any = None, augment: Callable | None = None, tta: Any = None,
        task: Any = None, loss_fn: Callable | None = None, callbacks: Iterable[Callback] = (),
        grad_accumulation: int = 1, clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None, ema_decay: float | None = None,
        early_stopping: int | None = None, restore_best_weights: bool = False,
        checkpoint_dir: str | Path | None = None, checkpoint_every: int | None = None,
        resume: str | Path | None = None, fork: bool = False,
        extend_schedule: str | None = None, store: Any = None, run_name: str | None = None,
        config: dict[str, Any] | None = None, command: str | None = None,
        progress: bool = True, live_plot: bool | None = None, seed: int = 0,
        log: Callable[[str], None] | None = print, reduce_gradients: Callable | None = None,
        apply_update: Callable | None = None, forward_backward: Callable | None = None,
        keep_memory: bool = True) -> History:
    """Train `model` on `data` and return its History.

    data: a `data.Split` (trains on x, y; evaluates x_test, y_test every epoch as test_*), an
      (x, y) pair of arrays, or a ready `DataLoader` (then batch_size/shuffle/augment are its own).
    optimizer: a name from `optim.OPTIMIZERS` (with lr, default 1e-3, and weight_decay, default
      the optimizer's own) or an `Optimizer` object.
    schedule: a name from `optim.SCHEDULES` or a scheduler object built on that optimizer.
    epochs / steps: how long (steps count optimizer steps); the default is 10 epochs.
    batch_size: None is full-batch gradient descent, 1 stochastic, n mini-batch.
    task: "classification" (the default: cross-entropy and accuracy), "regression" (mean
      squared error; mae, rmse, r2) or a `train.tasks.Task`; loss_fn replaces its loss.
    tta: views for test-time augmentation (`data.augment.TTA_VIEWS`, e.g. ("identity",
      "hflip")): the final test metrics then also give test_tta_loss and test_tta_accuracy.
    validation_split: the fraction of the training data held out (seeded) as val_*.
    early_stopping: patience in epochs (monitoring val_loss, or loss without validation data);
      restore_best_weights loads the best epoch's weights at the end, triggered or not.
    checkpoint_dir: write last.safetensors every epoch (and every `checkpoint_every` steps) and
      best.safetensors; never into a folder holding another run's checkpoints.
    resume: a checkpoint to continue from, exactly: the same run (its UUID) goes on, in the
      store's record that holds it, else in a new record "resumed from <uuid> at step N". A
      checkpoint older than the run's latest is refused (RunConflictError); fork=True branches
      a new run off it instead (new UUID, recorded as "forked from <uuid> at step N").
    extend_schedule: resuming with more steps than a named schedule was made for needs a
      choice: "keep-final" (stay at its final rate) or "restart" (the schedule again over the
      new steps); otherwise ScheduleExtensionError (see `train.extension`).
    store: a `store.RunStore`, a path to one, or True for the default (`runs/steepest.db` or
      $STEEPEST_DB): config, metrics, checkpoints and results are recorded there.
    progress: a tqdm.auto progress bar (a widget in a notebook). live_plot: a figure of the
      curves updating every epoch (`callbacks.LivePlot`); None: in a Jupyter notebook when
      progress is on.
    seed: seeds the data order, augmentation and the validation split (not the model's
      initialisation: seed that with `steepest.manual_seed` before building the model).
    forward_backward / reduce_gradients / apply_update: the training loop's seams
      (`train.loop`), for a distributed runner; None trains in this process.
    keep_memory: call `steepest.keep_freed_memory()` first (glibc keeps freed memory in the
      process, so each step's temporaries are not page-faulted back in; a process-wide
      setting, made once; STEEPEST_KEEP_MEMORY=0 or False here leaves glibc alone).
    """
    from steepest.data import DataLoader, Split, train_val_split
    from steepest.optim.registry import make_optimizer, make_scheduler

    if keep_memory:
        from steepest import keep_freed_memory

        keep_freed_memory()

    if epochs is None and steps is None:
        epochs = 10
    elif epochs is not None and steps is not None:
        raise ValueError("fit: give exactly one of epochs or steps")
    if not isinstance(grad_accumulation, int) or grad_accumulation < 1:
        raise ValueError(f"fit: grad_accumulation must be a positive integer, got "
                         f"{grad_accumulation!r}")
    test = test_data
    if isinstance(data, Split):
        if test is None:
            test = (data.x_test, data.y_test)
        data = (data.x, data.y)
    validation = validation_data
    if hasattr(data, "epoch_batches"):
        loader = data
        if validation_split:
            raise ValueError("fit: validation_split needs arrays, not a DataLoader; pass "
                             "validation_data instead")
    else:
        x, y = _as_arrays(data, "data")
        if validation_split:
            if validation is not None:
                raise ValueError("fit: give validation_split or validation_data, not both")
            x, y, x_val, y_val = train_val_split(x, y, validation_split, seed=seed)
            validation = (x_val, y_val)
        loader = DataLoader((x, y), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                            seed=seed, transform=augment)
    if validation is not None and not hasattr(validation, "epoch_batches"):
        validation = _as_arrays(validation, "validation_data")
    if test is not None and not hasattr(test, "epoch_batches"):
        test = _as_arrays(test, "test_data")
    from steepest.data import check_inputs

    for part, arrays in (("training inputs", getattr(loader, "dataset", None)),
                         ("validation inputs", validation), ("test inputs", test)):
        inputs = arrays[0] if isinstance(arrays, tuple) else getattr(arrays, "x", None)
        if isinstance(inputs, np.ndarray):  # NaN/inf: a data problem, named before training
            check_inputs(inputs, "fit", part)
    if tta and isinstance(test, tuple):  # a view the data cannot take: now, not after training
        from steepest.data.augment import check_tta_views

        check_tta_views(tta, test[0].shape[1:])

    if isinstance(optimizer, str):
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = make_optimizer(optimizer, params, lr=1e-3 if lr is None else lr,
                                   weight_decay=weight_decay)
    elif lr is not None or weight_decay is not None:
        raise ValueError("fit: lr and weight_decay are set on the optimizer object itself; "
                         "pass them only with an optimizer name")
    steps_per_epoch = -(-len(loader) // grad_accumulation)
    total_steps = steps if steps is not None else epochs * steps_per_epoch
    from steepest.train.extension import ScheduleSpan, schedule_span
    from steepest.train.identity import plan_run

    # Which run trains and where it writes: decided (and refused) before anything is written.
    given_run = store if hasattr(store, "log_step") else None
    if given_run is None:
        store = as_store(store)
    plan = plan_run(resume, checkpoint_dir, fork=fork, store=store if given_run is None else None,
                    run_uuid=getattr(given_run, "uuid", None))
    # What checkpoints, early stopping and a plateau schedule watch.
    monitor = "val_loss" if validation is not None else "loss"
    interval = None
    span_config: dict[str, Any] = {}
    if isinstance(schedule, str):
        span = schedule_span(schedule, plan.resumed, total_steps, extend_schedule)
        schedule, interval = make_scheduler(schedule, optimizer, total_steps=span.steps,
                                            steps_per_epoch=steps_per_epoch, monitor=monitor)
        if span.how is not None:
            schedule = ScheduleSpan(schedule, span)
            span_config = span.config()

    callbacks = list(callbacks)
    if live_plot or (live_plot is None and progress and in_notebook()):
        callbacks.append(LivePlot())
    # Checkpoints before early stopping: `last` is saved before the best weights are restored.
    if checkpoint_dir is not None:
        callbacks.append(ModelCheckpoint(checkpoint_dir, monitor=monitor,
                                         every_n_steps=checkpoint_every))
    if early_stopping is not None:
        callbacks.append(EarlyStopping(monitor=monitor, patience=early_stopping,
                                       restore_best_weights=restore_best_weights))
    elif restore_best_weights:
        callbacks.append(EarlyStopping(monitor=monitor, patience=total_steps + 1,
                                       restore_best_weights=True))
    ema = None
    if ema_decay is not None:
        from steepest.train.ema import ExponentialMovingAverage

        ema = ExponentialMovingAverage(model, decay=ema_decay)

    config = dict(config or {})
    config.setdefault("optimizer", type(optimizer).__name__)
    config.setdefault("lr", float(optimizer.param_groups[0]["lr"]))
    config.setdefault("batch_size", batch_size)
    config.setdefault("seed", seed)
    config.setdefault("total_steps", total_steps)
    config.update(span_config)
    run = given_run or open_run(store, config, plan, run_name, command)
    trainer = Trainer(model, optimizer, task=task, loss_fn=loss_fn, scheduler=schedule,
                      scheduler_interval=interval, callbacks=callbacks,
                      grad_accumulation=grad_accumulation, clip_grad_norm=clip_grad_norm,
                      clip_grad_value=clip_grad_value, ema=ema, progress=progress, run=run,
                      config=config, log=log, tta=tta, run_uuid=plan.uuid,
                      reduce_gradients=reduce_gradients, apply_update=apply_update,
                      forward_backward=forward_backward)
    history = trainer.fit(loader, epochs=epochs, steps=steps,
                          validation=validation, test=test, resume=resume)
    history.run_id = getattr(run, "id", None)
    history.trainer = trainer
    return history


def as_store(store: Any) -> Any:
    """A RunStore from a RunStore, a path, True (the default store), or None/False (none)."""
    if store is None or store is False:
        return None
    from steepest.store import RunStore, resolve_db_path

    if isinstance(store, RunStore):
        return store
    return RunStore(resolve_db_path(None if store is True else store))


def open_run(store: Any, config: dict[str, Any], plan: Any, name: str | None,
             command: str | None, kind: str = "train") -> Any:
    """The `store.Run` that records the training `plan` (`identity.plan_run`) decided: the
    store's own record of the run when it goes on there (nothing is written until its first
    step), else a new record of `kind` carrying the run's UUID and origin. store: a RunStore,
    a path, True (the default store) or None/False (no record)."""
    store = as_store(store)
    if store is None:
        return None
    if plan.record_id is not None:
        resumed = plan.resumed
        return store.open_run(plan.record_id, step=resumed.step, epoch=resumed.epoch)
    return store.start_run(config, kind=kind, name=name, command=command, uuid=plan.uuid,
                           origin=plan.origin, origin_uuid=plan.origin_uuid,
                           origin_step=plan.origin_step)
