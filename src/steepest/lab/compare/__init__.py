"""Studies on a real task (MNIST-1D by default), each a set of seeded `fit` runs recorded in the
run store: optimizers compared at learning rates chosen on a validation split
(`compare_optimizers`), full-batch, stochastic and mini-batch gradient descent
(`compare_batch_sizes`), and the train/test gap under regularisers (`regularisation_study`);
with mean ± std over seeds, tables and figures (matplotlib imported only when drawing).

    result = compare_optimizers(("sgd", "momentum", "adam"), seeds=(0, 1, 2), epochs=20)
    print(markdown_table(result.table()))
    plot_compare(result).savefig("compare.png")

One module per job:
    harness          arguments, data and models of a study, one seeded run (`train_run`,
                     `RunResult`), the warm-up; a failed run raises `StudyRunError`
    stats            mean ± sample std over seeds, bands of curves, the rate choice,
                     steps to a target loss
    optimizers       `compare_optimizers`, `CompareResult`, `DEFAULT_LR`, `default_lr_grid`
    batch_sizes      `compare_batch_sizes`, `BatchSizeResult`, `BATCH_SIZE_LR`
    regularisation   `regularisation_study`, `RegularisationResult`, `REGULARISERS` (the one
                     table of regularisers)
and the figures in `steepest.lab.plots` (`plot_compare`, `plot_batch_sizes`,
`plot_regularisation`).

Every run of a study trains the same model on the same data: seed s builds the model with
`numpy.random.default_rng([s, 1])` (its dropout masks draw from that generator too, DropConnect's
from `default_rng([s, 2])`) and gives `fit(seed=s)` the order of the batches and the
augmentation, so two optimizers with one seed start from the same weights and see the same
batches. The validation split is drawn once (`split_seed`) and shared by every run.
"""

from steepest.lab._common import smooth_losses
from steepest.lab.compare.batch_sizes import BATCH_SIZE_LR, BatchSizeResult, compare_batch_sizes
from steepest.lab.compare.harness import RunResult, StudyRunError
from steepest.lab.compare.optimizers import (
    DEFAULT_LR,
    CompareResult,
    compare_optimizers,
    default_lr_grid,
)
from steepest.lab.compare.regularisation import (
    REGULARISERS,
    RegularisationResult,
    RegularisationSettings,
    Regulariser,
    regularisation_study,
)
from steepest.lab.compare.stats import steps_to_target
from steepest.lab.plots import plot_batch_sizes, plot_compare, plot_regularisation

__all__ = [
    "BATCH_SIZE_LR", "DEFAULT_LR", "REGULARISERS", "BatchSizeResult", "CompareResult",
    "RegularisationResult", "RegularisationSettings", "Regulariser", "RunResult",
    "StudyRunError", "compare_batch_sizes", "compare_optimizers", "default_lr_grid",
    "plot_batch_sizes", "plot_compare", "plot_regularisation", "regularisation_study",
    "smooth_losses", "steps_to_target",
]
