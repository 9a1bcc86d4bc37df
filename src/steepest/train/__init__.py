"""Training loops."""

from steepest.train.basic import evaluate_classifier, train_classifier

__all__ = ["evaluate_classifier", "train_classifier"]
