"""Layers, activations, losses and initialisation, with PyTorch's names."""

from steepest.nn import functional, init
from steepest.nn.activation import ELU, SELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from steepest.nn.linear import Dropout, Flatten, Identity, Linear
from steepest.nn.module import Module, ModuleList, Sequential
from steepest.nn.parameter import Parameter

__all__ = [
    "ELU", "SELU", "Dropout", "Flatten", "Identity", "LeakyReLU", "Linear", "LogSoftmax",
    "Module", "ModuleList", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "functional", "init",
]
