"""The lectures' basic pipeline: sample a mini-batch, forward, loss, backward, update (each step
through the one training loop, `train.loop`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from steepest.nn.module import Module
from steepest.optim import SGD
from steepest.train.loop import TrainingLoop, evaluate


def evaluate_classifier(model: Module, x: np.ndarray, y: np.ndarray,
                        batch_size: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` on (x, y), in eval mode, without a graph."""
    metrics = evaluate(model, "classification", (x, y), batch_size)
    return metrics["loss"], metrics["accuracy"]


def train_classifier(model: Module, x: np.ndarray, y: np.ndarray, x_test: np.ndarray,
                     y_test: np.ndarray, *, epochs: int, lr: float, batch_size: int,
                     seed: int = 0, log: Callable[[str], None] = print) -> list[dict]:
    """Plain mini-batch gradient descent, w ← w − η ∇L, with a reshuffle every epoch.

    Returns one record per epoch: train loss (mean over the epoch's batches), test loss and
    test accuracy.
    """
    rng = np.random.default_rng(seed)
    loop = TrainingLoop(model, SGD([p for p in model.parameters() if p.requires_grad],
                                   lr=float(lr)))
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            losses.append(loop.step(x[batch], y[batch]))
        test_loss, test_acc = evaluate_classifier(model, x_test, y_test)
        record = dict(epoch=epoch, train_loss=float(np.mean(losses)), test_loss=test_loss,
                      test_accuracy=test_acc)
        history.append(record)
        log(f"epoch {epoch:3d}  train loss {record['train_loss']:.4f}  "
            f"test loss {test_loss:.4f}  test accuracy {100 * test_acc:5.1f}%")
    return history
