"""The descent lab: steepest's own optimizers racing on 2-D loss surfaces, with tables and
pictures (matplotlib is imported only when a picture is drawn)."""

from steepest.lab.descent import OPTIMIZERS, OptimizerSpec, Path, descend, race, race_table
from steepest.lab.plots import animate_race, plot_learning_rates, plot_losses, plot_race
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

__all__ = [
    "OPTIMIZERS", "SURFACES", "Ackley", "Beale", "Bowl", "Himmelblau", "Minimum",
    "MonkeySaddle", "OptimizerSpec", "Path", "Rastrigin", "Ravine", "Rosenbrock", "RoughBowl",
    "Saddle", "Surface", "animate_race", "descend", "get_surface", "plot_learning_rates",
    "plot_losses", "plot_race", "race", "race_table", "refine_critical_points",
]
