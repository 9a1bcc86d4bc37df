"""`steepest.nn.functional`: the same functions as `steepest.functional`, at PyTorch's address."""

from steepest.functional import *  # noqa: F403
from steepest.functional import __all__  # noqa: F401
