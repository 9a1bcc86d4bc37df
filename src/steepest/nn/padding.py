"""Padding layers: `ZeroPad1d/2d`, `ConstantPad1d/2d`, `ReflectionPad1d/2d`,
`ReplicationPad1d/2d`, `CircularPad1d/2d` (each calls `functional.pad`)."""

from __future__ import annotations

from steepest import functional as F
from steepest.nn.module import Module
from steepest.tensor import Tensor


class _PadNd(Module):
    dims = 0
    mode = "constant"

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        pairs = 2 * self.dims
        self.padding = (int(padding),) * pairs if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != pairs:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of "
                             f"{pairs} ints, got {padding!r}")
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        value = self.value if self.mode == "constant" else None
        return F.pad(input, self.padding, self.mode, value)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


class ConstantPad1d(_PadNd):
    """Pad the last dim with `value`: padding (left, right)."""

    dims = 1

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_PadNd):
    """Pad the last two dims with `value`: padding (left, right, top, bottom)."""

    dims = 2

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(_PadNd):
    dims = 1

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(_PadNd):
    dims = 2

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


class ReflectionPad1d(_PadNd):
    dims, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    dims, mode = 2, "reflect"


class ReplicationPad1d(_PadNd):
    dims, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    dims, mode = 2, "replicate"


class CircularPad1d(_PadNd):
    dims, mode = 1, "circular"


class CircularPad2d(_PadNd):
    dims, mode = 2, "circular"
