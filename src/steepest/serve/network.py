"""The live network of `steepest serve`: a small MLP trained on 2-D toy data while the page
watches, as TensorFlow Playground does, but by steepest's own Trainer and optimizers.

A `NetworkSession` holds one training: the data (`data.make_toy`), the model (`models.mlp`,
re-initialised by `lab.gradients.init_linear_`), the optimizer (any of the lab's, with its
options) and a thread running `train.fit` with a callback that records each step's loss, each
layer's gradient norm, and, a few times a second, the decision boundary on a grid. The page
plays, pauses and reads snapshots; nothing in the page computes a gradient.
"""

from __future__ import annotations

import math
import string
import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from steepest.serve.checks import BadRequest, hyperparameters, integer, jsonable, number
from steepest.train.callbacks import Callback

#: The regularisers' settings in the plane: `lab.compare.RegularisationSettings` (where each
#: regulariser is defined, once), but no crop (a 2-D point has nothing to crop) and weaker
#: weight decay and dropout than a wide MNIST-1D net takes.
PLANE_SETTINGS = {"weight_decay": 1e-3, "dropout": 0.1, "drop_connect": 0.1, "crop_padding": 0}
MAX_STEPS = 20_000
MAX_SESSIONS = 4
GRID = 64           # decision boundary resolution (GRID × GRID)
WINDOW = 1.6        # the plane shown: [-WINDOW, WINDOW]²
SNAPSHOT_SECONDS = 0.2

DEFAULTS: dict[str, Any] = {
    "dataset": "circles", "noise": 0.05, "points": 300, "depth": 2, "width": 8,
    "activation": "tanh", "init": "auto", "optimizer": "adam", "options": {},
    "regulariser": "none", "settings": {}, "batch_size": 10, "steps": 3000, "seed": 0,
}


def choices() -> dict[str, Any]:
    """What the page may choose from, read from the library's own tables."""
    from steepest import models
    from steepest.data import TOY_CLASSES
    from steepest.lab import OPTIMIZERS
    from steepest.lab.compare import REGULARISERS
    from steepest.lab.gradients import INITS

    settings = _settings({})
    return {
        "datasets": TOY_CLASSES, "activations": list(models.ACTIVATIONS), "inits": list(INITS),
        "optimizers": [name for name in OPTIMIZERS if _trainable(name)],
        "regularisers": {name: {"description": regulariser.describe(settings),
                                "settings": {k: getattr(settings, k)
                                             for k in _fields(regulariser)}}
                         for name, regulariser in REGULARISERS.items()},
        "defaults": DEFAULTS, "max_steps": MAX_STEPS,
        "default_lr": {name: default_lr(name) for name in OPTIMIZERS if _trainable(name)},
    }


def _trainable(optimizer: str) -> bool:
    """Whether the training loop can drive the lab optimizer: any with a spec (the loop hands a
    closure to those whose spec needs one, LBFGS); not the random search, which has none."""
    from steepest.lab import OPTIMIZERS

    named = OPTIMIZERS[optimizer]
    return not named.needs_closure or getattr(named.resolve(), "spec", None) is not None


def default_lr(optimizer: str) -> float:
    """The learning rate the network starts with: the studies' rate for the optimizer (its
    spec's `study_lr`), which trains these small networks well."""
    from steepest.optim.spec import study_lr

    return study_lr(optimizer)


def _fields(regulariser: Any) -> list[str]:
    """The settings a regulariser uses: the fields its description names (but the crop)."""
    names = [field for _, field, _, _ in string.Formatter().parse(regulariser.description)
             if field]
    return [name for name in names if name != "crop_padding"]


def _settings(given: dict[str, float]) -> Any:
    from steepest.lab.compare.regularisation import RegularisationSettings

    return RegularisationSettings(**{**PLANE_SETTINGS, **given})


def parse_config(body: Any) -> dict[str, Any]:
    """Check a network request (see docs/serve.md); returns the full config."""
    from steepest import models
    from steepest.data import TOY_CLASSES
    from steepest.lab import OPTIMIZERS, optimizer_options
    from steepest.lab.compare import REGULARISERS
    from steepest.lab.gradients import check_init

    if not isinstance(body, dict):
        raise BadRequest("the request must be a JSON object")
    unknown = sorted(set(body) - set(DEFAULTS))
    if unknown:
        raise BadRequest(f"unknown field(s) {unknown}; a network takes {', '.join(DEFAULTS)}")
    config = {**DEFAULTS, **body}
    if config["dataset"] not in TOY_CLASSES:
        raise BadRequest(f"dataset must be one of {', '.join(TOY_CLASSES)}, got "
                         f"{config['dataset']!r}")
    config["noise"] = number(config["noise"], "noise")
    if not 0 <= config["noise"] <= 0.5:
        raise BadRequest(f"noise must be from 0 to 0.5, got {config['noise']}")
    config["points"] = integer(config["points"], "points", 20, 2000)
    config["depth"] = integer(config["depth"], "depth", 1, 6)
    config["width"] = integer(config["width"], "width", 1, 32)
    config["batch_size"] = integer(config["batch_size"], "batch_size", 1, config["points"])
    config["steps"] = integer(config["steps"], "steps", 1, MAX_STEPS)
    config["seed"] = integer(config["seed"], "seed", 0, 2**31 - 1)
    if config["activation"] not in models.ACTIVATIONS:
        raise BadRequest(f"activation must be one of {', '.join(models.ACTIVATIONS)}, got "
                         f"{config['activation']!r}")
    try:
        check_init(str(config["init"]))
    except ValueError as error:
        raise BadRequest(f"init: {error}") from None
    optimizer = config["optimizer"]
    if optimizer not in OPTIMIZERS or not _trainable(optimizer):
        raise BadRequest(f"optimizer must be one of {', '.join(choices()['optimizers'])}, got "
                         f"{optimizer!r}")
    options = hyperparameters(optimizer, config["options"], "options")
    options.setdefault("lr", default_lr(optimizer))
    config["options"] = options
    regulariser = config["regulariser"]
    if regulariser not in REGULARISERS:
        raise BadRequest(f"regulariser must be one of {', '.join(REGULARISERS)}, got "
                         f"{regulariser!r}")
    given = config["settings"]
    fields = _fields(REGULARISERS[regulariser])
    if not isinstance(given, dict) or set(given) - set(fields):
        raise BadRequest(f"settings of {regulariser} must be an object with some of "
                         f"{sorted(fields)}, got {given!r}")
    config["settings"] = {key: number(value, f"settings: {key}") for key, value in
                          given.items()}
    if any(not 0 <= value <= 100 for value in config["settings"].values()):
        raise BadRequest(f"settings must be from 0 to 100, got {config['settings']}")
    if REGULARISERS[regulariser].weight_decay(_settings({})) is not None \
            and "weight_decay" not in optimizer_options(optimizer):
        raise BadRequest(f"{optimizer} has no weight_decay for the {regulariser} regulariser")
    return config


class _Watch(Callback):
    """The Trainer callback through which a session watches, pauses and stops its training."""

    def __init__(self, session: NetworkSession) -> None:
        self.session = session

    def on_after_backward(self, trainer: Any, step: int) -> None:
        self.session._record_gradients()

    def on_step_end(self, trainer: Any, step: int, logs: dict[str, float]) -> None:
        session = self.session
        with session._lock:
            session.losses.append(float(logs["loss"]))
            session.step = step
        if time.monotonic() - session._last_snapshot >= SNAPSHOT_SECONDS:
            session._take_boundary()
        session._wait_if_paused(trainer)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        with self.session._lock:
            self.session.test_points.append({
                "step": trainer.step, "epoch": epoch,
                "loss": logs["loss"], "accuracy": logs["accuracy"],
                "test_loss": logs.get("test_loss"), "test_accuracy": logs.get("test_accuracy")})
            self.session.version += 1


class NetworkSession:
    """One live training (see the module doc). Thread-safe: the page reads `snapshot` while
    the training thread writes."""

    def __init__(self, config: dict[str, Any], session_id: str) -> None:
        from steepest.data import TOY_CLASSES, make_toy

        self.id = session_id
        self.config = config
        classes = TOY_CLASSES[config["dataset"]]
        n = config["points"]
        x, y = make_toy(config["dataset"], 2 * n, noise=config["noise"], seed=config["seed"])
        self.x, self.y = x[:n], y[:n]
        self.x_test, self.y_test = x[n:], y[n:]
        self.classes = classes
        from steepest.lab.compare import REGULARISERS

        self.regulariser = REGULARISERS[config["regulariser"]]
        self.settings = _settings(config["settings"])
        try:
            self.model, self.layers = self._build_model()
        except (ValueError, TypeError) as error:  # a dropout of 2, say
            raise BadRequest(str(error)) from None
        self.optimizer = self._build_optimizer()
        self.losses: list[float] = []
        self.grad_norms: list[list[float]] = []     # one row per step, one column per layer
        self.test_points: list[dict[str, Any]] = []
        self.boundary: list[float] | None = None
        self.boundary_step = -1
        self.step = 0
        self.status = "paused"                      # paused, running, finished, diverged, failed
        self.message = ""
        self.version = 0
        self._lock = threading.Lock()
        self._run = threading.Event()               # set: training may go on
        self._stop = False
        self._thread: threading.Thread | None = None
        self._last_snapshot = 0.0
        axis = np.linspace(-WINDOW, WINDOW, GRID, dtype=np.float32)
        gx, gy = np.meshgrid(axis, axis)
        self._grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        self._take_boundary()

    # ---------------------------------------------------------------- building
    def _build_model(self) -> tuple[Any, list[str]]:
        from steepest import models, nn
        from steepest.lab.gradients import init_linear_

        config = self.config
        generator = np.random.default_rng(config["seed"])
        model = models.mlp(2, self.classes, depth=config["depth"], width=config["width"],
                           activation=config["activation"], generator=generator,
                           **(self.regulariser.model_options(self.settings) or {}))
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        for layer in linears:
            init_linear_(layer, config["init"], config["activation"], generator)
        wrap = self.regulariser.wrap_model(self.settings)
        if wrap is not None:
            model = wrap(model, generator)
        names = [f"layer {i + 1} ({layer.in_features}→{layer.out_features})"
                 for i, layer in enumerate(linears)]
        self._linears = linears
        return model, names

    def _build_optimizer(self) -> Any:
        """The optimizer by its `--optimizer` name, as `steepest train` builds it (Muon gets
        the weight matrices and AdamW the biases, one MultiOptimizer)."""
        from steepest.optim import make_optimizer

        options = dict(self.config["options"])
        weight_decay = self.regulariser.weight_decay(self.settings)
        if weight_decay is not None:
            options["weight_decay"] = weight_decay
        try:
            return make_optimizer(self.config["optimizer"], self.model, **options)
        except (ValueError, TypeError) as error:
            raise BadRequest(str(error)) from None

    # ---------------------------------------------------------------- training
    def play(self) -> None:
        """Start or continue training (a finished session stays finished)."""
        if self.status in ("finished", "diverged", "failed"):
            return
        self.status = "running"
        self._run.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._train, name=f"network-{self.id}",
                                            daemon=True)
            self._thread.start()
        self._touch()

    def pause(self) -> None:
        if self.status == "running":
            self.status = "paused"
            self._run.clear()
            self._touch()

    def stop(self) -> None:
        """End the training thread for good (the session is being dropped)."""
        self._stop = True
        self._run.set()

    def _touch(self) -> None:
        with self._lock:
            self.version += 1

    def _wait_if_paused(self, trainer: Any) -> None:
        self._run.wait()
        if self._stop:
            trainer.stop_training = True

    def _train(self) -> None:
        from steepest.lab.compare.harness import StudyData
        from steepest.train import TrainingDiverged, fit

        config = self.config
        data = StudyData(self.x, self.y, None, None, self.x_test, self.y_test, self.classes)
        augment = self.regulariser.augment(self.settings, data)
        try:
            fit(self.model, (self.x, self.y), optimizer=self.optimizer,
                steps=config["steps"], batch_size=config["batch_size"],
                test_data=(self.x_test, self.y_test), augment=augment,
                callbacks=[_Watch(self)], store=None, progress=False, log=None,
                seed=config["seed"])
            status, message = "finished", ""
        except TrainingDiverged as error:
            status, message = "diverged", str(error)
        except Exception as error:  # shown on the page; the server goes on
            status, message = "failed", f"{type(error).__name__}: {error}"
        self._take_boundary()
        with self._lock:
            if not self._stop:
                self.status, self.message = status, message
            self.version += 1

    def _record_gradients(self) -> None:
        norms = []
        for layer in self._linears:
            grad = layer.weight.grad
            norms.append(math.nan if grad is None else float(np.linalg.norm(grad)))
        with self._lock:
            self.grad_norms.append(norms)

    def _take_boundary(self) -> None:
        """The model's class probabilities on the grid, in eval mode and without a graph."""
        import steepest as st
        import steepest.nn.functional as F

        was_training = self.model.training
        self.model.eval()
        with st.no_grad():
            probabilities = F.softmax(self.model(st.Tensor(self._grid)), dim=1).data
        self.model.train(was_training)
        if self.classes == 2:
            values = probabilities[:, 1]
        else:  # class index + confidence in one number: class + max probability (< 1)
            values = probabilities.argmax(axis=1) + 0.999 * probabilities.max(axis=1)
        with self._lock:
            self.boundary = np.round(values.astype(np.float64), 4).tolist()
            self.boundary_step = self.step
            self.version += 1
        self._last_snapshot = time.monotonic()

    # ---------------------------------------------------------------- reading
    def describe(self) -> dict[str, Any]:
        """The session's fixed part: config, data points, layer names, grid geometry."""
        return {"id": self.id, "config": self.config, "classes": self.classes,
                "layers": self.layers, "grid": GRID, "window": WINDOW,
                "x": jsonable(self.x), "y": self.y.tolist(),
                "x_test": jsonable(self.x_test), "y_test": self.y_test.tolist()}

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """The state now, with per-step losses and gradient norms from step `since` on."""
        with self._lock:
            return {"version": self.version, "status": self.status, "message": self.message,
                    "step": self.step, "since": since,
                    "losses": jsonable(self.losses[since:]),
                    "grad_norms": jsonable(self.grad_norms[since:len(self.losses)]),
                    "epochs": list(self.test_points), "boundary": self.boundary,
                    "boundary_step": self.boundary_step}


class Sessions:
    """The live networks of one server, at most MAX_SESSIONS (the oldest is dropped)."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, NetworkSession] = OrderedDict()
        self._lock = threading.Lock()
        self._count = 0

    def create(self, body: Any) -> NetworkSession:
        config = parse_config(body)
        with self._lock:
            self._count += 1
            session_id = f"n{self._count}"
        session = NetworkSession(config, session_id)
        with self._lock:
            self._sessions[session_id] = session
            while len(self._sessions) > MAX_SESSIONS:
                _, old = self._sessions.popitem(last=False)
                old.stop()
        return session

    def get(self, session_id: str) -> NetworkSession:
        with self._lock:
            if session_id not in self._sessions:
                raise LookupError(f"no live network {session_id!r} (it may have been replaced "
                                  f"by a newer one); start a new one")
            return self._sessions[session_id]

    def drop(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            session.stop()

    def close(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.stop()
