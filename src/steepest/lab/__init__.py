"""The lab: steepest's own optimizers racing on 2-D loss surfaces, and studies of why training
works or fails (gradient flow, initialisation, learning rate, loss landscape) with reports.
matplotlib is imported only when a picture is drawn; the studies' modules only when first used.
"""

import importlib
from typing import Any

from steepest.lab.descent import (
    OPTIMIZERS,
    NamedOptimizer,
    Path,
    descend,
    format_option,
    optimizer_options,
    parse_option,
    race,
    race_table,
)
from steepest.lab.plots import (
    animate_race,
    plot_learning_rates,
    plot_losses,
    plot_pitfalls,
    plot_race,
)
from steepest.lab.surfaces import (
    SURFACES,
    Ackley,
    Beale,
    Bowl,
    Himmelblau,
    Minimum,
    MonkeySaddle,
    Rastrigin,
    Ravine,
    Rosenbrock,
    RoughBowl,
    Saddle,
    Surface,
    get_surface,
    refine_critical_points,
)

# The studies, imported on first use (`steepest.lab.gradient_flow` or `from steepest.lab import
# Report` loads its module then), so `import steepest.lab` stays as light as it was.
_LAZY = {
    "steepest.lab.report": ("Report", "markdown_table"),
    "steepest.lab.gradients": ("ACTIVATIONS", "INITS", "GradientFlowResult", "deep_mlp",
                               "gradient_flow", "plot_gradient_flow",
                               "plot_gradient_flow_over_training"),
    "steepest.lab.init_study": ("InitResult", "init_statistics", "plot_init_histograms",
                                "plot_init_statistics"),
    "steepest.lab.lr_range": ("LRRangeResult", "LRSweepResult", "lr_range_test", "lr_sweep",
                              "plot_lr_range", "plot_lr_sweep"),
    "steepest.lab.landscape": ("InterpolationResult", "LandscapeResult", "TrainRecord",
                               "landscape_2d", "linear_interpolation", "plot_landscape_1d",
                               "plot_landscape_2d", "train_and_record"),
    "steepest.lab.compare": ("BATCH_SIZE_LR", "DEFAULT_LR", "REGULARISERS", "BatchSizeResult",
                             "CompareResult", "RegularisationResult", "RunResult",
                             "StudyRunError", "compare_batch_sizes", "compare_optimizers",
                             "default_lr_grid", "plot_batch_sizes", "plot_compare",
                             "plot_regularisation", "regularisation_study", "smooth_losses",
                             "steps_to_target"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'steepest.lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))


__all__ = [
    *_LAZY_NAMES,
    "OPTIMIZERS", "SURFACES", "Ackley", "Beale", "Bowl", "Himmelblau", "Minimum",
    "MonkeySaddle", "NamedOptimizer", "Path", "Rastrigin", "Ravine", "Rosenbrock", "RoughBowl",
    "Saddle", "Surface", "animate_race", "descend", "format_option", "get_surface",
    "optimizer_options", "parse_option", "plot_learning_rates", "plot_losses", "plot_pitfalls",
    "plot_race", "race", "race_table", "refine_critical_points",
]
