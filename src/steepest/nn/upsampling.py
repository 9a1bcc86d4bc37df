"""`Upsample` (and the fixed-mode `UpsamplingNearest2d`, `UpsamplingBilinear2d`)."""

from __future__ import annotations

from steepest import functional as F
from steepest.nn.module import Module
from steepest.tensor import Tensor


class Upsample(Module):
    """Resize the spatial dims by `scale_factor` or to `size` (see `functional.interpolate`).

    x: (N, C, L), (N, C, H, W) or (N, C, D, H, W); mode 'nearest', 'linear', 'bilinear',
    'bicubic', 'trilinear' (align_corners for the interpolating modes).
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) \
            else (tuple(float(f) for f in scale_factor) if scale_factor else None)
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor}" if self.scale_factor is not None \
            else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
