"""`Parameter`: a leaf tensor that a Module registers and an optimizer updates."""

from __future__ import annotations

from typing import Any

import numpy as np

from steepest.tensor import Tensor, get_default_dtype


class Parameter(Tensor):
    """A tensor that requires grad by default and is listed by `Module.parameters()`."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.zeros(0, dtype=get_default_dtype())
        super().__init__(data.data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
