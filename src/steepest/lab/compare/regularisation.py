"""The regularisation study: the same wide MLP trained with each regulariser, and the gap between
its train and test accuracy (`regularisation_study`). Every regulariser is defined once, in
`REGULARISERS`: what it is and what it changes in a run (the model, the optimizer's weight
decay, the batches, or a wrapper around the model)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steepest.lab._common import ShortRepr, check_optimizer
from steepest.lab.compare import harness, stats
from steepest.lab.compare.harness import RunResult, StudyData

__all__ = ["REGULARISERS", "Regulariser", "RegularisationResult", "RegularisationSettings",
           "regularisation_study"]


@dataclass(frozen=True)
class RegularisationSettings:
    """How strong each regulariser of one study is (`regularisation_study`'s arguments)."""

    weight_decay: float = 3e-3
    dropout: float = 0.3
    drop_connect: float = 0.3
    noise_std: float = 0.1
    crop_padding: int = 5
    mixup_alpha: float = 0.4
    cutout_size: int = 10
    patience: int = 5
    validation_split: float = 0.1


def _nothing(*args: Any) -> None:
    return None


@dataclass(frozen=True)
class Regulariser:
    """One regulariser: a description (formatted with the study's `RegularisationSettings`) and
    what it changes in a run. Each hook is given the settings (and `augment` the study's data);
    a hook that returns None (or {}) changes nothing.

    model_options(settings) -> options for `models.mlp` (e.g. {"dropout": 0.3}).
    weight_decay(settings) -> the optimizer's weight decay.
    augment(settings, data) -> a batch transform (`data.augment`), fresh for every batch.
    wrap_model(settings) -> transform(model, rng) -> the model the run trains.
    validation(settings) -> the fraction of the training set held out to watch (seeded).
    fit_options(settings) -> more options for `fit` (e.g. early stopping).
    """

    description: str
    model_options: Callable[[RegularisationSettings], dict[str, Any] | None] = _nothing
    weight_decay: Callable[[RegularisationSettings], float | None] = _nothing
    augment: Callable[[RegularisationSettings, StudyData], Any] = _nothing
    wrap_model: Callable[[RegularisationSettings], Any] = _nothing
    validation: Callable[[RegularisationSettings], float | None] = _nothing
    fit_options: Callable[[RegularisationSettings], dict[str, Any] | None] = _nothing

    def describe(self, settings: RegularisationSettings) -> str:
        return self.description.format(**vars(settings))


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


def _crop_and_noise(settings: RegularisationSettings, data: StudyData) -> Any:
    from steepest.data.augment import Compose, GaussianNoise, RandomCrop

    return Compose([RandomCrop(data.sample_shape[-1], padding=int(settings.crop_padding)),
                    GaussianNoise(settings.noise_std)])


def _cutout(settings: RegularisationSettings, data: StudyData) -> Any:
    from steepest.data.augment import Cutout

    return Cutout(int(settings.cutout_size))


def _mixup(settings: RegularisationSettings, data: StudyData) -> Any:
    from steepest.data.augment import Mixup

    return Mixup(settings.mixup_alpha, num_classes=data.num_classes)


#: The regularisers `regularisation_study` knows, in the order the study shows them.
REGULARISERS: dict[str, Regulariser] = {
    "none": Regulariser("no regularisation"),
    # The optimizer's weight_decay: an L2 penalty (weight_decay/2)·‖w‖² added to the loss
    # (decoupled decay for adamw).
    "l2": Regulariser("L2 penalty (weight_decay={weight_decay:g} in the optimizer)",
                      weight_decay=lambda s: s.weight_decay),
    "dropout": Regulariser("Dropout(p={dropout:g}) after every hidden activation",
                           model_options=lambda s: {"dropout": s.dropout}),
    # Weights dropped, not units.
    "dropconnect": Regulariser("DropConnect(p={drop_connect:g}) on every hidden Linear layer",
                               wrap_model=lambda s: _drop_connect(s.drop_connect)),
    "batchnorm": Regulariser("BatchNorm1d after every hidden Linear layer",
                             model_options=lambda s: {"batch_norm": True}),
    # A random crop with crop_padding zeros at each end (default L/8), then Gaussian noise.
    "augment": Regulariser("random crop (padding {crop_padding}) + Gaussian noise "
                           "(std {noise_std:g})", augment=_crop_and_noise),
    # A stretch of every training signal blanked (DeVries & Taylor's cutout, in 1-D).
    "cutout": Regulariser("cutout: a random stretch of {cutout_size} values set to 0",
                          augment=_cutout),
    # Convex mixes of pairs of examples, with soft targets.
    "mixup": Regulariser("mixup (alpha={mixup_alpha:g}), soft targets", augment=_mixup),
    # Stop when the loss on held-out training examples has not improved for `patience`
    # epochs, and keep the best epoch's weights: the run trains on the rest.
    "early-stopping": Regulariser(
        "early stopping: patience {patience} epochs on a {validation_split:.0%} validation "
        "split, best weights restored",
        validation=lambda s: s.validation_split,
        fit_options=lambda s: {"early_stopping": int(s.patience),
                               "restore_best_weights": True}),
}


# ---------------------------------------------------------------------------- the study
@dataclass(repr=False)
class RegularisationResult(ShortRepr):
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
            "train acc": stats.plus_minus(self.train_accuracy(method)),
            "test acc": stats.plus_minus(self.test_accuracy(method)),
            "gap": stats.plus_minus(self.gap(method)),
            "best test acc": stats.plus_minus([float(np.nanmax(r.test_accuracy))
                                               for r in self.runs[method]]),
        } for method in self.methods]


def regularisation_study(methods: Sequence[str] = tuple(REGULARISERS), *, data: Any = None,
                         model_options: Mapping[str, Any] | None = None,
                         optimizer: str = "adam", lr: float = 1e-3, epochs: int | None = None,
                         batch_size: int | None = 100, train_size: int | None = None,
                         seeds: Sequence[int] = (0,), weight_decay: float = 3e-3,
                         dropout: float = 0.3, drop_connect: float = 0.3,
                         noise_std: float = 0.1, crop_padding: int | None = None,
                         mixup_alpha: float = 0.4, cutout_size: int | None = None,
                         patience: int = 5, validation_split: float = 0.1,
                         split_seed: int = 0, store: Any = None,
                         command: str | None = None, data_name: str | None = None,
                         progress: bool = False,
                         log: Callable[[str], None] | None = None) -> RegularisationResult:
    """The same MLP (default 2 hidden layers of 256 ReLUs: wide enough to learn MNIST-1D's
    training set by heart) trained with each method, and its train/test accuracy gap.

    methods: names of `REGULARISERS` (each entry says what it changes); the keyword arguments
    after `seeds` are their strengths (`RegularisationSettings`).
    No validation split: the whole training set (or a seeded `train_size` subset: fewer
    examples, more overfitting) trains, the test set measures; only early stopping holds out
    `validation_split` of it (seeded) to watch, and trains on the rest. epochs: default 50.
    cutout_size: default a quarter of the signal's length.
    Every run is recorded in `store` (kind "compare", name "compare regularisation=dropout
    seed=0").
    """
    where = "regularisation_study"
    def known(method: Any) -> str:
        if method not in REGULARISERS:
            raise ValueError(f"{where}: unknown method {method!r}; choose from "
                             f"{', '.join(REGULARISERS)}")
        return method

    methods = harness.distinct(methods, where, "methods", known)
    optimizer = check_optimizer(optimizer, where)
    lr = harness.positive_float(lr, where, "lr")
    seeds = harness.check_seeds(seeds, where)
    length = harness.run_length(epochs, None, 50, where)
    for name, value in (("dropout", dropout), ("drop_connect", drop_connect)):
        if not 0.0 < float(value) < 1.0:
            raise ValueError(f"{where}: {name} must be a probability in (0, 1), got {value!r}")
    prepared = harness.prepare_data(data, 0.0, train_size, split_seed, where)
    if len(prepared.sample_shape) > 2:
        raise ValueError(f"{where}: the augmentation here is for signals (N, L) or (N, C, L); "
                         f"these samples have shape {prepared.sample_shape}")
    if crop_padding is None:
        crop_padding = max(1, round(prepared.sample_shape[-1] / 8))
    if cutout_size is None:
        cutout_size = max(1, round(prepared.sample_shape[-1] / 4))
    if not 0.0 < float(validation_split) < 1.0:
        raise ValueError(f"{where}: validation_split must be in (0, 1), got "
                         f"{validation_split!r}")
    for name, value in (("patience", patience), ("cutout_size", cutout_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    settings = RegularisationSettings(weight_decay=weight_decay, dropout=dropout,
                                      drop_connect=drop_connect, noise_std=noise_std,
                                      crop_padding=crop_padding, mixup_alpha=mixup_alpha,
                                      cutout_size=int(cutout_size), patience=int(patience),
                                      validation_split=float(validation_split))
    options = {"depth": 2, "width": 256, **dict(model_options or {})}
    for name, regulariser in REGULARISERS.items():
        for key in regulariser.model_options(settings) or {}:
            if options.get(key):
                raise ValueError(f"{where}: model_options must not set {key!r}: the study "
                                 f"switches it on for its method {name!r}")
    store = harness.as_store(store)
    descriptions = {m: REGULARISERS[m].describe(settings) for m in methods}
    base = {
        "study": "regularisation", "optimizer": optimizer, "lr": lr, "model": "mlp",
        "model_options": options, "batch_size": batch_size, **length,
        "train_size": len(prepared.x), "split_seed": split_seed,
        "data": data_name or ("mnist1d" if data is None else "custom"), **vars(settings),
    }
    runs: dict[str, list[RunResult]] = {}
    for method in methods:
        regulariser = REGULARISERS[method]
        held_out = regulariser.validation(settings)
        method_data = prepared if not held_out else harness.prepare_data(
            data, held_out, train_size, split_seed, where)
        make_model = harness.model_builder(
            "mlp", {**options, **(regulariser.model_options(settings) or {})}, method_data,
            where)
        augment = regulariser.augment(settings, method_data)
        runs[method] = []
        for seed in seeds:
            config = {**base, "stage": "seeds", "method": method, "seed": seed}
            result = harness.train_run(
                make_model, method_data, label=method, optimizer=optimizer, lr=lr, seed=seed,
                stage="seeds", length=length, batch_size=batch_size, store=store,
                run_name=f"compare regularisation={method} seed={seed}", config=config,
                command=command, progress=progress,
                weight_decay=regulariser.weight_decay(settings), augment=augment,
                final_train_accuracy=True, transform=regulariser.wrap_model(settings),
                fit_options=regulariser.fit_options(settings))
            runs[method].append(result)
            if log is not None:
                state = "diverged" if result.diverged else (
                    f"train acc {result.final_train_accuracy:.3f}, test acc "
                    f"{result.final_test_accuracy:.3f}")
                log(f"{method:>12s} seed={seed}: {state} ({result.seconds:.1f} s)")
    config = {**base, "methods": methods, "seeds": seeds}
    return RegularisationResult(methods, seeds, descriptions, runs, config)
