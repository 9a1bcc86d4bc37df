"""Callbacks: small objects the `Trainer` calls at fixed points of the loop (Keras's hooks).

Order inside one optimizer step (the seams of `train.loop`): forward_backward of each batch,
reduce_gradients, `on_after_backward` (gradients are there, before clipping), apply_update
(clipping, optimizer step), scheduler step, EMA, `on_step_end`.
At the end of an epoch: metrics, then `on_epoch_end(trainer, epoch, logs)`, where `logs` holds
loss, the task's metrics (accuracy; mae, rmse, r2 for regression), lr and, when there is
validation data, val_loss and val_<metric>; then
`on_epoch_saved`, where checkpoints are written, once every callback has updated its state.
When the loop ends: `on_loop_end` (the state a resume continues from: checkpoints are written
here), then `on_train_end` (where EarlyStopping may restore the best weights).
A callback stops training by setting `trainer.stop_training = True`.

Callbacks that carry state across epochs (EarlyStopping's best value, for instance) give it
through `state_dict()` so that a resumed run continues exactly where the stopped one was.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from steepest.train.trainer import Trainer


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, trainer: Trainer) -> None: ...
    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...
    def on_after_backward(self, trainer: Trainer, step: int) -> None: ...
    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None: ...
    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...
    def on_epoch_saved(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...
    def on_loop_end(self, trainer: Trainer) -> None: ...
    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


# Metrics where larger is better, whatever the task (monitors in mode "auto" maximise them).
_HIGHER_IS_BETTER = ("acc", "accuracy", "r2")


def _resolve_mode(owner: str, mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        name = monitor.removeprefix("val_").removeprefix("test_")
        return "max" if name in _HIGHER_IS_BETTER or "acc" in name else "min"
    return mode


def logged_value(owner: str, logs: dict[str, float], monitor: str) -> float:
    """logs[monitor] as a float, or a ValueError naming what is logged instead."""
    if monitor not in logs:
        raise ValueError(
            f"{owner}: monitored metric {monitor!r} is not logged; available: "
            f"{', '.join(sorted(logs))} (validation metrics need validation data)"
        )
    return float(logs[monitor])


class _Monitor:
    """Tracks the best value of one logged metric (lower or higher is better)."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float) -> None:
        if min_delta < 0:
            raise ValueError(f"{owner}: min_delta must be >= 0, got {min_delta}")
        self.owner, self.monitor = owner, monitor
        self.mode = _resolve_mode(owner, mode, monitor)
        self.min_delta = float(min_delta)
        self.best: float | None = None

    def value(self, logs: dict[str, float]) -> float:
        return logged_value(self.owner, logs, self.monitor)

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    restore_best_weights: at the end of training, load the weights of the best epoch, whether
    or not early stopping triggered (Keras restores only when it triggers; a run that simply ran
    out of epochs deserves its best weights too). `start_from_epoch` epochs are ignored first.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 5,
                 mode: str = "auto", restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0, got {patience!r}")
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor, self.patience = monitor, patience
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None

    @property
    def best(self) -> float | None:
        return self._monitor.best

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if epoch <= self.start_from_epoch:  # Keras counts from 0: ignore epochs 1..start
            return
        value = self._monitor.value(logs)
        if self._monitor.improved(value):
            self._monitor.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = _evaluated_weights(trainer)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            trainer.log(f"early stopping at epoch {epoch}: {self.monitor} has not improved for "
                        f"{self.patience} epochs (best {self.best:.4g} at epoch {self.best_epoch})")

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            if trainer.ema is not None:  # the EMA weights were monitored: evaluate those again
                for name, array in trainer.ema.shadow.items():
                    array[...] = self.best_weights[name]
            trainer.log(f"restored the weights of epoch {self.best_epoch} "
                        f"({self.monitor} {self.best:.4g})")

    def state_dict(self) -> dict[str, Any]:
        return {"best": self._monitor.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._monitor.best, self.wait = state["best"], state["wait"]
        self.best_epoch, self.stopped_epoch = state["best_epoch"], state.get("stopped_epoch")
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else {k: np.array(v) for k, v in
                                                          weights.items()}


def _evaluated_weights(trainer: Trainer) -> dict[str, np.ndarray]:
    """A copy of the weights that evaluation sees: the EMA's when there is one."""
    if trainer.ema is not None:
        with trainer.ema.average_parameters():
            return copy.deepcopy(trainer.model.state_dict())
    return copy.deepcopy(trainer.model.state_dict())


class ModelCheckpoint(Callback):
    """Write `last.safetensors` (every epoch, and every `every_n_steps` steps if given) and
    `best.safetensors` (when `monitor` improves) into `dirpath`.

    Each file is a full checkpoint (model, optimizer, schedule, RNG, epoch and step) written
    atomically, so `steepest train --resume DIR/last.safetensors` continues the run exactly.
    A step whose loss is not finite never reaches here: the last good checkpoint stays.
    """

    def __init__(self, dirpath: str | Path, monitor: str = "val_loss", mode: str = "auto",
                 save_best: bool = True, save_last: bool = True,
                 every_n_steps: int | None = None) -> None:
        if every_n_steps is not None and (not isinstance(every_n_steps, int) or every_n_steps < 1):
            raise ValueError(f"ModelCheckpoint: every_n_steps must be a positive integer or "
                             f"None, got {every_n_steps!r}")
        self.dirpath = Path(dirpath)
        self.monitor = monitor
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode, 0.0)
        self.save_best, self.save_last, self.every_n_steps = save_best, save_last, every_n_steps
        self.last_path = self.dirpath / "last.safetensors"
        self.best_path = self.dirpath / "best.safetensors"
        self._saved_at: tuple[int, int] | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        from steepest.io import remove_stale_temporaries

        try:
            self.dirpath.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f"checkpoint folder {self.dirpath}: cannot create it "
                             f"({error.strerror or error})") from None
        stale = remove_stale_temporaries(self.dirpath)
        if stale:
            trainer.log(f"removed {len(stale)} temporary file(s) that a killed process left in "
                        f"{self.dirpath}: {', '.join(p.name for p in stale)}")

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if self.save_last and self.every_n_steps and step % self.every_n_steps == 0:
            self._save_last(trainer)

    def _save_last(self, trainer: Trainer) -> None:
        trainer.save_checkpoint(self.last_path, kind="last")
        self._saved_at = (trainer.step, trainer.epoch)

    def on_loop_end(self, trainer: Trainer) -> None:
        # A run that stopped mid-epoch (steps, or a callback) saves where it stopped.
        if self.save_last and self._saved_at != (trainer.step, trainer.epoch):
            self._save_last(trainer)

    def on_epoch_saved(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        monitor = self.monitor if self.monitor in logs else "loss"
        if self.save_best and monitor != self._monitor.monitor:
            self._monitor = _Monitor("ModelCheckpoint", monitor, self._monitor.mode, 0.0)
        if self.save_best:
            value = self._monitor.value(logs)
            if self._monitor.improved(value):
                self._monitor.best = value
                trainer.save_checkpoint(self.best_path, kind="best")
        if self.save_last:
            self._save_last(trainer)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self._monitor.best, "monitor": self._monitor.monitor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._monitor = _Monitor("ModelCheckpoint", state.get("monitor", self.monitor),
                                 self._monitor.mode, 0.0)
        self._monitor.best = state.get("best")


class GradNormLogger(Callback):
    """Log the global L2 norm of the gradients (before clipping) as `grad_norm`, and with
    `per_layer=True` each parameter's norm as `grad_norm/<name>`, every `every` steps."""

    def __init__(self, every: int = 1, per_layer: bool = False) -> None:
        self.every, self.per_layer = every, per_layer
        self._pending: dict[str, float] = {}

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        if step % self.every:
            return
        total = 0.0
        norms = {}
        for name, param in trainer.model.named_parameters():
            if param.grad is not None:
                norm = float(np.linalg.norm(param.grad.data.ravel()))
                total += norm * norm
                if self.per_layer:
                    norms[f"grad_norm/{name}"] = norm
        self._pending = {"grad_norm": math.sqrt(total), **norms}

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if self._pending:
            logs.update(self._pending)
            self._pending = {}


class LearningRateLogger(Callback):
    """Log the learning rate of every param group as each step used it (`lr`, `lr/1`, ...)."""

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        for i, lr in enumerate(trainer.step_lrs):
            logs["lr" if i == 0 else f"lr/{i}"] = lr


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython already imported and a kernel's shell)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ in ("ZMQInteractiveShell", "Shell")


class LivePlot(Callback):
    """A figure of the training curves (`History.plot`) that updates in place in a notebook:
    redrawn at the end of an epoch (at most once per `interval` seconds) and when training
    ends. `fit` adds one in a Jupyter notebook when progress is on.

    display: called with the PNG bytes the first time, it returns a handle whose
    `update(png)` replaces the picture (default: IPython.display with a display_id).
    """

    def __init__(self, interval: float = 1.0, display: Any = None) -> None:
        self.interval = float(interval)
        self._display = display
        self._handle: Any = None
        self._figure: Any = None
        self._last = -math.inf
        self.draws = 0

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        import time

        if time.monotonic() - self._last >= self.interval:
            self._draw(trainer)

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if trainer.history.epoch:
            self._draw(trainer)

    def _draw(self, trainer: Trainer) -> None:
        import io
        import time

        self._figure = trainer.history.plot(figure=self._figure)
        buffer = io.BytesIO()
        self._figure.savefig(buffer, format="png", dpi=80)
        png = buffer.getvalue()
        if self._handle is None:
            self._handle = (self._display or _ipython_display)(png)
        else:
            self._handle.update(png)
        self._last = time.monotonic()
        self.draws += 1


class _NotebookImage:
    """The picture a notebook cell shows, replaced in place by `update` (IPython's display)."""

    def __init__(self, png: bytes) -> None:
        from IPython.display import display

        self._handle = display(self._image(png), display_id=True)

    @staticmethod
    def _image(png: bytes) -> Any:
        from IPython.display import Image

        return Image(data=png, format="png")

    def update(self, png: bytes) -> None:
        self._handle.update(self._image(png))


def _ipython_display(png: bytes) -> Any:
    return _NotebookImage(png)


class LambdaCallback(Callback):
    """A callback from plain functions: LambdaCallback(on_step_end=lambda t, step, logs: ...)."""

    def __init__(self, **hooks: Any) -> None:
        for name, function in hooks.items():
            if not hasattr(Callback, name) or not name.startswith("on_"):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, function)
