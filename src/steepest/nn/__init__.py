"""Layers, activations, losses and initialisation, with PyTorch's names."""

from steepest.nn import functional, init
from steepest.nn import utils as utils
from steepest.nn.activation import ELU, SELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from steepest.nn.conv import Conv1d, Conv2d
from steepest.nn.linear import Dropout, Flatten, Identity, Linear
from steepest.nn.loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    MulticlassSVMLoss,
    MultiMarginLoss,
    NLLLoss,
)
from steepest.nn.module import Module, ModuleList, Sequential
from steepest.nn.normalization import BatchNorm1d, BatchNorm2d
from steepest.nn.parameter import Parameter
from steepest.nn.pooling import AvgPool2d, FractionalMaxPool2d, MaxPool1d, MaxPool2d
from steepest.nn.regularization import DropConnect, Maxout, StochasticDepth

__all__ = [
    "ELU", "SELU", "AvgPool2d", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv1d",
    "Conv2d", "CrossEntropyLoss", "DropConnect", "Dropout", "Flatten", "FractionalMaxPool2d",
    "Identity", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool1d", "MaxPool2d",
    "Maxout", "Module", "ModuleList", "MulticlassSVMLoss", "MultiMarginLoss", "NLLLoss",
    "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "StochasticDepth", "Tanh",
    "functional", "init",
]
