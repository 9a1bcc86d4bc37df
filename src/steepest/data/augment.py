"""Data augmentation on NumPy batches, seeded and composable, and test-time augmentation.

Every transform is a callable `t(x, y, rng) -> (x, y)`:
x: a batch of images (N, C, H, W) or of signals (N, L) / (N, C, L) where the transform makes
sense for them; y: (N,) integer labels (or (N, K) soft targets); rng: a `numpy.random.Generator`
(the DataLoader passes `default_rng([seed, epoch, batch, 1])`). Random parameters are drawn per
sample, vectorised over the batch; the input is never modified and the output keeps x's dtype.
Parameter names and ranges follow torchvision's transforms of the same name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from steepest._suggest import did_you_mean

Transform = Callable[[np.ndarray, np.ndarray, np.random.Generator],
                     tuple[np.ndarray, np.ndarray]]

__all__ = [
    "AUGMENTATIONS", "ColorJitter", "Compose", "Cutout", "GaussianNoise", "Mixup",
    "RandomAffine", "RandomCrop", "RandomErasing", "RandomHorizontalFlip", "RandomResizedCrop",
    "TTA_VIEWS", "affine", "build_augmentation", "check_tta_views", "evaluate_tta",
    "resized_crop", "tta_predict",
]


# --------------------------------------------------------------------------- checks
def _batch(x: Any, owner: str, *, images: bool = False, floating: bool = False) -> np.ndarray:
    x = np.asarray(x)
    if images and x.ndim != 4:
        raise ValueError(f"{owner} works on images (N, C, H, W), got shape {x.shape}"
                         + ("; add a channel axis with x[:, None]" if x.ndim == 3 else ""))
    if not images and x.ndim not in (2, 3, 4):
        raise ValueError(f"{owner} expects a batch of signals (N, L), (N, C, L) or images "
                         f"(N, C, H, W), got shape {x.shape}")
    if floating and not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{owner} needs floating-point data, got dtype {x.dtype}; convert first, "
                        "e.g. x.astype(np.float32) / 255")
    return x


def _probability(p: float, owner: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"{owner}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _size2(size: Any, owner: str) -> tuple[int, int]:
    """An int n -> (n, n); a pair (h, w) -> (h, w)."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(f"{owner}: size must be an int or a pair (height, width), got {size!r}")
    return (_positive_int(size[0], f"{owner}: size"), _positive_int(size[1], f"{owner}: size"))


def _range(value: Any, owner: str, name: str, *, low: float | None = None) -> tuple[float, float]:
    """A pair (a, b) with a <= b (and a >= low when given)."""
    if not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"{owner}: {name} must be a pair (min, max), got {value!r}")
    a, b = float(value[0]), float(value[1])
    if a > b or (low is not None and a < low):
        bound = f" with min >= {low}" if low is not None else ""
        raise ValueError(f"{owner}: {name} must be (min, max) with min <= max{bound}, "
                         f"got {value!r}")
    return a, b


def _spread(value: Any, owner: str, name: str, center: float = 0.0) -> tuple[float, float]:
    """A number v -> (center - v, center + v) (v >= 0); a pair -> itself."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{owner}: {name} must be non-negative, got {value!r}")
        return center - float(value), center + float(value)
    return _range(value, owner, name)


# --------------------------------------------------------------------------- sampling
def _pixel_table(x: np.ndarray) -> np.ndarray:
    """x (N, C, H, W) -> (N*H*W, C): one row per pixel, so a gather moves whole rows."""
    n, c, height, width = x.shape
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(n * height * width, c)


def _gather(table: np.ndarray, shape: tuple, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Pixels (rows, cols) of each image, channels last: integer rows and cols broadcastable
    to (N, h, w) -> (N, h, w, C). table: `_pixel_table(x)`; shape: x.shape."""
    n, c, height, width = shape
    image = np.arange(n).reshape((n,) + (1,) * (np.ndim(rows) - 1)) * height
    index = (image + rows) * width + cols
    return table.take(index.ravel(), axis=0).reshape(index.shape + (c,))


def _channels_first(x: np.ndarray) -> np.ndarray:
    """(N, h, w, C) -> contiguous (N, C, h, w)."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _sample(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, interpolation: str,
            fill: float) -> np.ndarray:
    """Read x (N, C, H, W) at real pixel coordinates rows, cols (N, h, w) -> (N, C, h, w).

    Pixel centres sit at integer coordinates. Points outside the image read `fill`
    ("nearest"), or blend towards it by the weight of their outside neighbours ("bilinear"),
    as torchvision's grid transform does (grid_sample with zero padding, then the fill mask).
    """
    n, c, height, width = x.shape
    table = _pixel_table(x)
    if interpolation == "nearest":
        r = np.rint(rows).astype(np.intp)
        q = np.rint(cols).astype(np.intp)
        inside = (r >= 0) & (r < height) & (q >= 0) & (q < width)
        out = _gather(table, x.shape, np.clip(r, 0, height - 1), np.clip(q, 0, width - 1))
        return _channels_first(np.where(inside[..., None], out, np.asarray(fill, x.dtype)))
    r0 = np.floor(rows)
    q0 = np.floor(cols)
    fr = (rows - r0).astype(x.dtype)
    fq = (cols - q0).astype(x.dtype)
    r0 = r0.astype(np.intp)
    q0 = q0.astype(np.intp)
    out = np.zeros(rows.shape + (c,), dtype=x.dtype)
    coverage = np.zeros(rows.shape, dtype=x.dtype)
    one = x.dtype.type(1)
    for dr, wr in ((0, one - fr), (1, fr)):
        for dq, wq in ((0, one - fq), (1, fq)):
            r, q = r0 + dr, q0 + dq
            inside = (r >= 0) & (r < height) & (q >= 0) & (q < width)
            weight = np.where(inside, wr * wq, 0).astype(x.dtype)
            pixels = _gather(table, x.shape, np.clip(r, 0, height - 1),
                             np.clip(q, 0, width - 1))
            out += weight[..., None] * pixels
            coverage += weight
    if fill != 0:
        out += (one - coverage)[..., None] * x.dtype.type(fill)
    return _channels_first(out)


def _resize_coordinates(start: np.ndarray, length: np.ndarray, out: int) -> tuple:
    """Source coordinates of `out` samples over [start, start + length) per sample, as
    bilinear resizing with align_corners=False computes them (clamped to the window)."""
    scale = length[:, None] / out
    inner = np.maximum((np.arange(out)[None, :] + 0.5) * scale - 0.5, 0.0)
    low = np.floor(inner).astype(np.intp)
    frac = inner - low
    high = np.minimum(low + 1, length[:, None] - 1)
    return start[:, None] + low, start[:, None] + high, frac


def resized_crop(x: np.ndarray, top: Any, left: Any, height: Any, width: Any,
                 size: int | tuple[int, int]) -> np.ndarray:
    """Crop box i of image i and resize it bilinearly: x (N, C, H, W) -> (N, C, *size).

    top, left, height, width: (N,) integers (or scalars for all). Resizing samples as
    `torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False)`.
    """
    x = _batch(x, "resized_crop", images=True, floating=True)
    n = len(x)
    out_h, out_w = _size2(size, "resized_crop")
    top, left, height, width = (np.broadcast_to(np.asarray(v, dtype=np.intp), (n,))
                                for v in (top, left, height, width))
    if np.any(height < 1) or np.any(width < 1) or np.any(top < 0) or np.any(left < 0) \
            or np.any(top + height > x.shape[2]) or np.any(left + width > x.shape[3]):
        raise ValueError(f"resized_crop: crop boxes must lie inside the {x.shape[2]}x"
                         f"{x.shape[3]} images")
    r0, r1, fr = _resize_coordinates(top, height, out_h)
    q0, q1, fq = _resize_coordinates(left, width, out_w)
    table = _pixel_table(x)
    fr = fr.astype(x.dtype)[:, :, None, None]  # (N, h, 1, 1): channels last
    fq = fq.astype(x.dtype)[:, None, :, None]  # (N, 1, w, 1)
    one = x.dtype.type(1)
    rows0, rows1 = r0[:, :, None], r1[:, :, None]
    cols0, cols1 = q0[:, None, :], q1[:, None, :]

    def read(rows, cols):
        return _gather(table, x.shape, rows, cols)

    upper = read(rows0, cols0) * (one - fq) + read(rows0, cols1) * fq
    lower = read(rows1, cols0) * (one - fq) + read(rows1, cols1) * fq
    return _channels_first((upper * (one - fr) + lower * fr).astype(x.dtype, copy=False))


def _inverse_affine(angle, tx, ty, scale, shear_x, shear_y) -> np.ndarray:
    """(N, 6) inverse affine matrices about the image centre, torchvision's formula
    (`_get_inverse_affine_matrix` with centre 0): output pixel -> source pixel."""
    rot = np.radians(angle)
    sx = np.radians(shear_x)
    sy = np.radians(shear_y)
    a = np.cos(rot - sy) / np.cos(sy)
    b = -np.cos(rot - sy) * np.tan(sx) / np.cos(sy) - np.sin(rot)
    c = np.sin(rot - sy) / np.cos(sy)
    d = -np.sin(rot - sy) * np.tan(sx) / np.cos(sy) + np.cos(rot)
    m0, m1, m3, m4 = d / scale, -b / scale, -c / scale, a / scale
    m2 = m0 * -tx + m1 * -ty
    m5 = m3 * -tx + m4 * -ty
    return np.stack([m0, m1, m2, m3, m4, m5], axis=1)


def affine(x: np.ndarray, angle: Any = 0.0, translate: Any = (0.0, 0.0), scale: Any = 1.0,
           shear: Any = (0.0, 0.0), *, interpolation: str = "nearest",
           fill: float = 0.0) -> np.ndarray:
    """Affine-transform each image about its centre: x (N, C, H, W) -> (N, C, H, W).

    angle: degrees, clockwise (as torchvision's `F.affine`); translate: (tx, ty) pixels;
    scale: zoom factor; shear: (x, y) degrees. Each is a scalar for all images or one value per
    image ((N,) arrays; (N, 2) for translate and shear). Every output pixel is read from the
    inverse-mapped source coordinate (nearest or bilinear); outside the image reads `fill`.
    """
    x = _batch(x, "affine", images=True)
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"affine: interpolation must be 'nearest' or 'bilinear', got "
                         f"{interpolation!r}")
    if interpolation == "bilinear":
        _batch(x, "affine (bilinear)", images=True, floating=True)
    n, _, height, width = x.shape
    angle, scale = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))
                    for v in (angle, scale))
    translate, shear = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n, 2))
                        for v in (translate, shear))
    if np.any(scale <= 0):
        raise ValueError(f"affine: scale must be positive, got {scale[scale <= 0][0]}")
    m = _inverse_affine(angle, translate[:, 0], translate[:, 1], scale, shear[:, 0], shear[:, 1])
    u = (np.arange(width) - (width - 1) / 2)[None, None, :]   # output x, about the centre
    v = (np.arange(height) - (height - 1) / 2)[None, :, None]  # output y (downwards)
    m = m[:, :, None, None]
    cols = m[:, 0] * u + m[:, 1] * v + m[:, 2] + (width - 1) / 2
    rows = m[:, 3] * u + m[:, 4] * v + m[:, 5] + (height - 1) / 2
    return _sample(x, rows, cols, interpolation, fill).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- Compose
class Compose:
    """Apply transforms in order, all drawing from the same generator: t_k(...t_1(x, y, rng))."""

    def __init__(self, transforms: Iterable[Transform]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable t(x, y, rng), got "
                                f"{type(t).__name__}")

    def __call__(self, x: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        for t in self.transforms:
            x, y = t(x, y, rng)
        return x, y

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, index: int) -> Transform:
        return self.transforms[index]

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])" if inner else "Compose([])"


class _Transform:
    """Shared repr: the class name and the constructor's arguments."""

    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({args})"


# --------------------------------------------------------------------------- geometric
class RandomHorizontalFlip(_Transform):
    """Reverse the last axis (image width, or signal length) of each sample with probability p.

    Draws rng.random(N) < p to choose the flipped samples.
    """

    _fields = ("p",)

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(p, "RandomHorizontalFlip")

    def __call__(self, x, y, rng):
        x = _batch(x, "RandomHorizontalFlip")
        flip = rng.random(len(x)) < self.p
        return np.where(flip.reshape((-1,) + (1,) * (x.ndim - 1)), x[..., ::-1], x), y


class RandomCrop(_Transform):
    """A random size window of each zero-padded sample, as torchvision's RandomCrop.

    Images (N, C, H, W): size int or (h, w), padding p zeros on all four sides ->
    (N, C, h, w). Signals (N, L) / (N, C, L): size int, p zeros at both ends -> (N, size) /
    (N, C, size). Draws the top offsets, then the left offsets, uniformly over every window.
    """

    _fields = ("size", "padding")

    def __init__(self, size: int | tuple[int, int], padding: int = 0) -> None:
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            self.size = _positive_int(size, "RandomCrop: size")
        else:
            self.size = _size2(size, "RandomCrop")
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) \
                or padding < 0:
            raise ValueError(f"RandomCrop: padding must be a non-negative integer, got "
                             f"{padding!r}")
        self.padding = int(padding)

    def __call__(self, x, y, rng):
        x = _batch(x, "RandomCrop")
        n, p = len(x), self.padding
        if x.ndim == 4:
            h, w = _size2(self.size, "RandomCrop")
            spatial = (2, 3)
        else:
            if not isinstance(self.size, int):
                raise ValueError(f"RandomCrop: signals (N, L) need an int size, got {self.size}")
            h, w = None, self.size
            spatial = (x.ndim - 1,)
        pad = [(0, 0)] * x.ndim
        for axis in spatial:
            pad[axis] = (p, p)
        padded = np.pad(x, pad) if p else x
        if x.ndim == 4:
            if h > padded.shape[2] or w > padded.shape[3]:
                raise ValueError(f"RandomCrop: size {(h, w)} is larger than the padded images "
                                 f"{padded.shape[2:]}")
            top = rng.integers(0, padded.shape[2] - h + 1, size=n)
            left = rng.integers(0, padded.shape[3] - w + 1, size=n)
            windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
            return windows[np.arange(n), :, top, left], y
        if w > padded.shape[-1]:
            raise ValueError(f"RandomCrop: size {w} is longer than the padded signals "
                             f"({padded.shape[-1]})")
        left = rng.integers(0, padded.shape[-1] - w + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(padded, w, axis=x.ndim - 1)
        if x.ndim == 2:
            return windows[np.arange(n), left], y
        return windows[np.arange(n), :, left], y


class RandomResizedCrop(_Transform):
    """A random box of random area and aspect ratio, resized to `size` (bilinear).

    Images (N, C, H, W) -> (N, C, *size). As torchvision: up to 10 tries per sample of area
    fraction ~ U(scale) and log aspect ratio ~ U(log ratio), the first box that fits wins;
    otherwise the centre crop clamped to the ratio range. Resizing has no antialiasing.
    """

    _fields = ("size", "scale", "ratio")

    def __init__(self, size: int | tuple[int, int], scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> None:
        self.size = _size2(size, "RandomResizedCrop")
        self.scale = _range(scale, "RandomResizedCrop", "scale", low=0.0)
        self.ratio = _range(ratio, "RandomResizedCrop", "ratio")
        if self.ratio[0] <= 0:
            raise ValueError(f"RandomResizedCrop: ratio must be positive, got {ratio!r}")

    def boxes(self, n: int, height: int, width: int, rng: np.random.Generator,
              tries: int = 10) -> tuple[np.ndarray, ...]:
        """(top, left, box_height, box_width), each (n,) int: the crop boxes for n images."""
        area = height * width
        target = area * rng.uniform(self.scale[0], self.scale[1], size=(n, tries))
        log_ratio = rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]),
                                size=(n, tries))
        aspect = np.exp(log_ratio)
        w = np.rint(np.sqrt(target * aspect)).astype(np.intp)
        h = np.rint(np.sqrt(target / aspect)).astype(np.intp)
        fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = fits.argmax(axis=1)
        found = fits[np.arange(n), first]
        h = h[np.arange(n), first]
        w = w[np.arange(n), first]
        # Fallback: the whole image, clamped to the allowed aspect ratios, centred.
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            fw, fh = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            fh, fw = height, int(round(height * self.ratio[1]))
        else:
            fw, fh = width, height
        h = np.where(found, h, fh)
        w = np.where(found, w, fw)
        top = np.where(found, rng.integers(0, height - h + 1), (height - fh) // 2)
        left = np.where(found, rng.integers(0, width - w + 1), (width - fw) // 2)
        return top, left, h, w

    def __call__(self, x, y, rng):
        x = _batch(x, "RandomResizedCrop", images=True, floating=True)
        top, left, h, w = self.boxes(len(x), x.shape[2], x.shape[3], rng)
        return resized_crop(x, top, left, h, w, self.size), y


class RandomAffine(_Transform):
    """Random rotation, translation, scale and shear about each image's centre.

    As torchvision's RandomAffine: angle ~ U(-degrees, degrees) (or U(degrees) for a pair),
    positive = clockwise; translate (a, b): horizontal shift ~ U(-a W, a W) and vertical
    ~ U(-b H, b H), rounded to whole pixels; scale (lo, hi): zoom ~ U(lo, hi); shear s:
    x-shear ~ U(-s, s), a pair (lo, hi): x-shear range, four values: x- then y-shear ranges.
    Drawn in that order, one value per image. interpolation "nearest" (torchvision's default)
    or "bilinear"; pixels from outside the image read `fill`.
    """

    _fields = ("degrees", "translate", "scale", "shear", "interpolation", "fill")

    def __init__(self, degrees: float | tuple[float, float] = 0,
                 translate: tuple[float, float] | None = None,
                 scale: tuple[float, float] | None = None,
                 shear: float | Sequence[float] | None = None, *,
                 interpolation: str = "nearest", fill: float = 0.0) -> None:
        owner = "RandomAffine"
        self.degrees = _spread(degrees, owner, "degrees")
        if translate is not None:
            translate = _range(translate, owner, "translate")
            if not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"{owner}: translate fractions must be in [0, 1], got "
                                 f"{translate!r}")
        self.translate = translate
        if scale is not None:
            scale = _range(scale, owner, "scale")
            if scale[0] <= 0:
                raise ValueError(f"{owner}: scale must be positive, got {scale!r}")
        self.scale = scale
        if shear is not None:
            if isinstance(shear, Sequence) and len(shear) == 4:
                shear = (_range(shear[:2], owner, "shear (x)")
                         + _range(shear[2:], owner, "shear (y)"))
            else:
                shear = _spread(shear, owner, "shear")
        self.shear = shear
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{owner}: interpolation must be 'nearest' or 'bilinear', got "
                             f"{interpolation!r}")
        self.interpolation = interpolation
        self.fill = float(fill)

    def parameters(self, n: int, height: int, width: int,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
        """angle (n,), translate (n, 2), scale (n,), shear (n, 2) for n images."""
        angle = rng.uniform(self.degrees[0], self.degrees[1], size=n)
        translate = np.zeros((n, 2))
        if self.translate is not None:
            max_dx, max_dy = self.translate[0] * width, self.translate[1] * height
            translate[:, 0] = np.rint(rng.uniform(-max_dx, max_dx, size=n))
            translate[:, 1] = np.rint(rng.uniform(-max_dy, max_dy, size=n))
        scale = np.ones(n) if self.scale is None else rng.uniform(*self.scale, size=n)
        shear = np.zeros((n, 2))
        if self.shear is not None:
            shear[:, 0] = rng.uniform(self.shear[0], self.shear[1], size=n)
            if len(self.shear) == 4:
                shear[:, 1] = rng.uniform(self.shear[2], self.shear[3], size=n)
        return dict(angle=angle, translate=translate, scale=scale, shear=shear)

    def __call__(self, x, y, rng):
        x = _batch(x, "RandomAffine", images=True)
        params = self.parameters(len(x), x.shape[2], x.shape[3], rng)
        return affine(x, **params, interpolation=self.interpolation, fill=self.fill), y


# --------------------------------------------------------------------------- photometric
_GRAY = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale weights


def _grayscale(x: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) -> (N, 1, H, W) luma."""
    w = np.asarray(_GRAY, dtype=x.dtype)
    return np.einsum("nchw,c->nhw", x, w)[:, None]


class ColorJitter(_Transform):
    """Random brightness, contrast and saturation per image, as torchvision's ColorJitter.

    Each strength s gives a factor ~ U(max(0, 1 - s), 1 + s) per image (or U(lo, hi) for a
    pair); 0 leaves it out. brightness: x * f; contrast: f x + (1 - f) mean(gray(x));
    saturation: f x + (1 - f) gray(x) (a no-op on 1 channel). Applied in that fixed order
    (torchvision shuffles the order per call), each result clipped to `clip` (default [0, 1];
    None: no clipping, for standardised data). Images (N, C, H, W); contrast and saturation
    need C = 1 or 3.
    """

    _fields = ("brightness", "contrast", "saturation", "clip")

    def __init__(self, brightness: float | tuple[float, float] = 0,
                 contrast: float | tuple[float, float] = 0,
                 saturation: float | tuple[float, float] = 0, *,
                 clip: tuple[float, float] | None = (0.0, 1.0)) -> None:
        self.brightness = self._factor_range(brightness, "brightness")
        self.contrast = self._factor_range(contrast, "contrast")
        self.saturation = self._factor_range(saturation, "saturation")
        self.clip = None if clip is None else _range(clip, "ColorJitter", "clip")

    @staticmethod
    def _factor_range(value, name) -> tuple[float, float] | None:
        low, high = _spread(value, "ColorJitter", name, center=1.0)
        if isinstance(value, Sequence):
            if low < 0:
                raise ValueError(f"ColorJitter: {name} factors must be non-negative, got "
                                 f"{value!r}")
        else:
            low = max(low, 0.0)
        return None if (low, high) == (1.0, 1.0) else (low, high)

    def _clip(self, x: np.ndarray) -> np.ndarray:
        return x if self.clip is None else np.clip(x, self.clip[0], self.clip[1])

    def __call__(self, x, y, rng):
        x = _batch(x, "ColorJitter", images=True, floating=True)
        n, channels = x.shape[:2]
        if (self.contrast or self.saturation) and channels not in (1, 3):
            raise ValueError(f"ColorJitter: contrast and saturation need 1 or 3 channels, got "
                             f"{channels}")
        shape = (n, 1, 1, 1)
        out = x
        if self.brightness is not None:
            f = rng.uniform(*self.brightness, size=n).astype(x.dtype).reshape(shape)
            out = self._clip(out * f)
        if self.contrast is not None:
            f = rng.uniform(*self.contrast, size=n).astype(x.dtype).reshape(shape)
            gray = _grayscale(out) if channels == 3 else out
            mean = gray.mean(axis=(1, 2, 3), keepdims=True)
            out = self._clip(f * out + (1 - f) * mean)
        if self.saturation is not None:
            f = rng.uniform(*self.saturation, size=n).astype(x.dtype).reshape(shape)
            if channels == 3:
                out = self._clip(f * out + (1 - f) * _grayscale(out))
        return out.astype(x.dtype, copy=False), y


class GaussianNoise(_Transform):
    """x + std * N(0, 1), independent per element; any shape."""

    _fields = ("std",)

    def __init__(self, std: float = 0.1) -> None:
        if isinstance(std, bool) or not isinstance(std, (int, float, np.floating)) or std < 0:
            raise ValueError(f"GaussianNoise: std must be a non-negative number, got {std!r}")
        self.std = float(std)

    def __call__(self, x, y, rng):
        x = _batch(x, "GaussianNoise", floating=True)
        noise_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        noise = rng.standard_normal(x.shape, dtype=noise_dtype)
        return (x + x.dtype.type(self.std) * noise).astype(x.dtype, copy=False), y


# --------------------------------------------------------------------------- occlusion
def _boxes_mask(top, left, h, w, height: int, width: int) -> np.ndarray:
    """(N, H, W) True inside box [top, top + h) x [left, left + w) of each sample."""
    rows = np.arange(height)[None, :, None]
    cols = np.arange(width)[None, None, :]
    top, left, h, w = (np.asarray(v)[:, None, None] for v in (top, left, h, w))
    return (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)


class RandomErasing(_Transform):
    """With probability p per image, fill a random box with `value` (Zhong et al., 2017).

    As torchvision: up to 10 tries of area fraction ~ U(scale), log aspect ~ U(log ratio),
    box h = round(sqrt(area * aspect)), w = round(sqrt(area / aspect)) that must be smaller
    than the image; no fitting try leaves the image as it is. value: a number, or "random"
    (standard normal noise). Images (N, C, H, W).
    """

    _fields = ("p", "scale", "ratio", "value")

    def __init__(self, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                 ratio: tuple[float, float] = (0.3, 3.3), value: float | str = 0.0) -> None:
        self.p = _probability(p, "RandomErasing")
        self.scale = _range(scale, "RandomErasing", "scale", low=0.0)
        self.ratio = _range(ratio, "RandomErasing", "ratio")
        if self.ratio[0] <= 0:
            raise ValueError(f"RandomErasing: ratio must be positive, got {ratio!r}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value must be a number or 'random', got {value!r}")
        self.value = value if isinstance(value, str) else float(value)

    def __call__(self, x, y, rng, tries: int = 10):
        x = _batch(x, "RandomErasing", images=True)
        n, _, height, width = x.shape
        erase = rng.random(n) < self.p
        area = height * width * rng.uniform(self.scale[0], self.scale[1], size=(n, tries))
        aspect = np.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]),
                                    size=(n, tries)))
        h = np.rint(np.sqrt(area * aspect)).astype(np.intp)
        w = np.rint(np.sqrt(area / aspect)).astype(np.intp)
        fits = (h < height) & (w < width) & (h > 0) & (w > 0)
        first = fits.argmax(axis=1)
        erase &= fits[np.arange(n), first]
        h = np.where(erase, h[np.arange(n), first], 0)
        w = np.where(erase, w[np.arange(n), first], 0)
        top = rng.integers(0, height - h + 1)
        left = rng.integers(0, width - w + 1)
        mask = _boxes_mask(top, left, h, w, height, width)[:, None]
        if self.value == "random":
            fill = rng.standard_normal(x.shape).astype(x.dtype)
        else:
            fill = np.asarray(self.value, dtype=x.dtype)
        return np.where(mask, fill, x).astype(x.dtype, copy=False), y


class Cutout(_Transform):
    """Zero a size x size square centred at a uniform random pixel of each image (DeVries &
    Taylor, 2017); the square is clipped at the border. Signals (N, L) / (N, C, L): a segment
    of `size` values. Draws the centre rows, then the centre columns.
    """

    _fields = ("size",)

    def __init__(self, size: int) -> None:
        self.size = _positive_int(size, "Cutout: size")

    def __call__(self, x, y, rng):
        x = _batch(x, "Cutout")
        n, s = len(x), self.size
        if x.ndim == 4:
            height, width = x.shape[2:]
            cy = rng.integers(0, height, size=n)
            cx = rng.integers(0, width, size=n)
            mask = _boxes_mask(cy - s // 2, cx - s // 2, np.full(n, s), np.full(n, s),
                               height, width)[:, None]
        else:
            length = x.shape[-1]
            cx = rng.integers(0, length, size=n)
            positions = np.arange(length)[None, :]
            start = (cx - s // 2)[:, None]
            mask = (positions >= start) & (positions < start + s)
            if x.ndim == 3:
                mask = mask[:, None]
        return np.where(mask, x.dtype.type(0), x), y


# --------------------------------------------------------------------------- mixup
class Mixup(_Transform):
    """Mix each sample with another of the batch (Zhang et al., 2018): soft targets out.

    lam ~ Beta(alpha, alpha) once per batch, partner = rng.permutation(N) (drawn in that
    order); x' = lam x + (1 - lam) x[partner], y' = lam onehot(y) + (1 - lam)
    onehot(y[partner]) as (N, num_classes) float32 rows summing to 1. y may already be soft
    targets (N, num_classes). Works on any shape of x.
    """

    _fields = ("alpha", "num_classes")

    def __init__(self, alpha: float = 0.2, *, num_classes: int) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
                or alpha <= 0:
            raise ValueError(f"Mixup: alpha must be positive, got {alpha!r}")
        self.alpha = float(alpha)
        self.num_classes = _positive_int(num_classes, "Mixup: num_classes")

    def soft_targets(self, y: Any) -> np.ndarray:
        """(N,) integer labels -> (N, num_classes) one-hot float32; soft targets pass through."""
        y = np.asarray(y)
        k = self.num_classes
        if y.ndim == 2:
            if y.shape[1] != k:
                raise ValueError(f"Mixup: soft targets must have {k} columns, got {y.shape}")
            return y.astype(np.float32)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"Mixup: y must be (N,) integer labels or (N, {k}) soft targets, "
                             f"got shape {y.shape} dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ValueError(f"Mixup: labels must be in 0..{k - 1}, got {y.min()}..{y.max()}")
        out = np.zeros((len(y), k), dtype=np.float32)
        out[np.arange(len(y)), y] = 1.0
        return out

    def __call__(self, x, y, rng):
        x = _batch(x, "Mixup", floating=True)
        if len(y) != len(x):
            raise ValueError(f"Mixup: x has {len(x)} samples but y has {len(y)}")
        targets = self.soft_targets(y)
        lam = rng.beta(self.alpha, self.alpha)
        partner = rng.permutation(len(x))
        lam_x = x.dtype.type(lam)
        mixed = lam_x * x + (x.dtype.type(1) - lam_x) * x[partner]
        lam_y = np.float32(lam)
        soft = lam_y * targets + (np.float32(1) - lam_y) * targets[partner]
        return mixed.astype(x.dtype, copy=False), soft


# --------------------------------------------------------------------------- the CLI's spec
AUGMENTATIONS = ("flip", "crop", "resized-crop", "jitter", "affine", "erase", "cutout",
                 "mixup", "noise")
# The order they are applied in: geometric, photometric, occlusion, noise, mixup (last: it
# turns the labels into soft targets and mixes whole samples).
_ORDER = ("crop", "resized-crop", "affine", "flip", "jitter", "erase", "cutout", "noise", "mixup")
_IMAGE_ONLY = ("resized-crop", "jitter", "affine", "erase")
_VALUE_HELP = {
    "flip": "probability", "crop": "padding in pixels", "resized-crop": "smallest area fraction",
    "jitter": "strength", "affine": "degrees", "erase": "probability", "cutout": "size",
    "mixup": "alpha", "noise": "std",
}
_INTEGER_VALUES = ("crop", "cutout")


def _parse_spec(spec: str | Sequence[str]) -> dict[str, float | None]:
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    chosen: dict[str, float | None] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        name, _, value_text = item.partition(":")
        name = name.strip().lower().replace("_", "-")
        if name not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {name!r}{did_you_mean(name, AUGMENTATIONS)}: "
                             f"choose from "
                             f"{', '.join(AUGMENTATIONS)} (comma-separated, each optionally "
                             "name:value)")
        if name in chosen:
            raise ValueError(f"augmentation {name!r} is listed twice in {spec!r}")
        value = None
        if value_text.strip():
            try:
                value = (int(value_text) if name in _INTEGER_VALUES else float(value_text))
            except ValueError:
                kind = "an integer" if name in _INTEGER_VALUES else "a number"
                raise ValueError(f"augmentation {name}:{value_text}: the value ("
                                 f"{_VALUE_HELP[name]}) must be {kind}") from None
        chosen[name] = value
    return chosen


def build_augmentation(spec: str | Sequence[str] | None, *, sample_shape: Sequence[int],
                       num_classes: int | None = None) -> Compose | None:
    """The training augmentation named by the CLI's `--augment`, e.g. "flip,crop:4,mixup:0.4".

    Names (AUGMENTATIONS), each optionally `name:value`, with defaults for the data's
    sample_shape ((C, H, W) images, (L,) or (C, L) signals; s = min(H, W), L the length):
    flip[:p=0.5]; crop[:padding=max(1, round(s/8))] (same size out); resized-crop[:min scale
    0.5]; jitter[:strength 0.4] (brightness, contrast, and saturation for 3 channels);
    affine[:degrees=10] (translate 0.1, scale 0.9..1.1, shear 5); erase[:p=0.5];
    cutout[:size=s/2, L/8 for signals]; mixup[:alpha=0.2] (needs num_classes);
    noise[:std=0.1]. Applied in a fixed order whatever the order given: crop, resized-crop,
    affine, flip, jitter, erase, cutout, noise, mixup. "" / "none" / None -> None.
    resized-crop, jitter, affine and erase need images; asking for them on signals is an error.
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "none")):
        return None
    chosen = _parse_spec(spec)
    if not chosen:
        return None
    shape = tuple(int(d) for d in sample_shape)
    if len(shape) not in (1, 2, 3) or any(d < 1 for d in shape):
        raise ValueError(f"build_augmentation: sample_shape must be (L,), (C, L) or (C, H, W), "
                         f"got {tuple(sample_shape)}")
    image = len(shape) == 3
    for name in chosen:
        if name in _IMAGE_ONLY and not image:
            raise ValueError(f"augmentation {name!r} works on images (C, H, W); these samples "
                             f"have shape {shape}; for signals use "
                             "flip, crop, cutout, mixup or noise")
    side = min(shape[1:]) if image else shape[-1]
    transforms: list[Transform] = []

    def value(name, default):
        given = chosen[name]
        return default if given is None else given

    for name in _ORDER:
        if name not in chosen:
            continue
        try:
            if name == "crop":
                size = shape[1:] if image else shape[-1]
                transforms.append(RandomCrop(size, padding=value(name, max(1, round(side / 8)))))
            elif name == "resized-crop":
                transforms.append(RandomResizedCrop(shape[1:], scale=(value(name, 0.5), 1.0)))
            elif name == "affine":
                transforms.append(RandomAffine(value(name, 10.0), translate=(0.1, 0.1),
                                               scale=(0.9, 1.1), shear=5.0))
            elif name == "flip":
                transforms.append(RandomHorizontalFlip(value(name, 0.5)))
            elif name == "jitter":
                strength = value(name, 0.4)
                saturation = strength if shape[0] == 3 else 0.0
                if shape[0] not in (1, 3):
                    transforms.append(ColorJitter(brightness=strength))
                else:
                    transforms.append(ColorJitter(strength, strength, saturation))
            elif name == "erase":
                transforms.append(RandomErasing(p=value(name, 0.5)))
            elif name == "cutout":
                transforms.append(Cutout(value(name, max(1, side // 2 if image else side // 8))))
            elif name == "noise":
                transforms.append(GaussianNoise(value(name, 0.1)))
            elif name == "mixup":
                if num_classes is None:
                    raise ValueError("mixup needs num_classes (to build soft targets)")
                transforms.append(Mixup(value(name, 0.2), num_classes=num_classes))
        except ValueError as error:
            raise ValueError(f"augmentation {name!r}: {error}") from None
    return Compose(transforms)


# --------------------------------------------------------------------------- test time
TTA_VIEWS = ("identity", "hflip", "shift-left", "shift-right", "shift-up", "shift-down")


def _shift(x: np.ndarray, axis: int, amount: int) -> np.ndarray:
    """Move the content `amount` places along `axis` (positive: towards higher indices),
    filling with zeros: the crop of a zero-padded sample at an off-centre offset."""
    out = np.zeros_like(x)
    length = x.shape[axis]
    amount = max(-length, min(length, amount))
    source = [slice(None)] * x.ndim
    target = [slice(None)] * x.ndim
    if amount >= 0:
        source[axis], target[axis] = slice(0, length - amount), slice(amount, length)
    else:
        source[axis], target[axis] = slice(-amount, length), slice(0, length + amount)
    out[tuple(target)] = x[tuple(source)]
    return out


def _view(x: np.ndarray, view: str | Callable[[np.ndarray], np.ndarray],
          shift: int) -> np.ndarray:
    if callable(view):
        return np.asarray(view(x))
    if view == "identity":
        return x
    if view == "hflip":
        return x[..., ::-1]
    if view in ("shift-left", "shift-right"):
        return _shift(x, x.ndim - 1, shift if view == "shift-right" else -shift)
    if view in ("shift-up", "shift-down"):
        if x.ndim != 4:
            raise ValueError(f"TTA view {view!r} needs images (N, C, H, W), got shape {x.shape}")
        return _shift(x, 2, shift if view == "shift-down" else -shift)
    raise ValueError(f"unknown TTA view {view!r}{did_you_mean(str(view), TTA_VIEWS)}: choose "
                     f"from {', '.join(TTA_VIEWS)}, or pass a function x -> x")


def check_tta_views(views: Sequence[str | Callable[[np.ndarray], np.ndarray]],
                    sample_shape: Sequence[int]) -> None:
    """Raise ValueError naming the first view that is unknown or cannot apply to samples of
    `sample_shape` ("shift-up" on 1-D signals), before any training rather than after it."""
    probe = np.zeros((1, *sample_shape), dtype=np.float32)
    for view in views:
        if not callable(view) and view not in TTA_VIEWS:
            raise ValueError(f"unknown view {view!r}{did_you_mean(str(view), TTA_VIEWS)}; "
                             f"choose from {', '.join(TTA_VIEWS)}")
        if not callable(view):
            _view(probe, view, 1)


def tta_predict(model: Any, x: np.ndarray,
                views: Sequence[str | Callable[[np.ndarray], np.ndarray]] = ("identity", "hflip"),
                *, batch_size: int = 1000, shift: int = 2) -> np.ndarray:
    """Class probabilities averaged over views of x: (N, ...) -> (N, K) float64.

    Each view (TTA_VIEWS: "identity", "hflip", "shift-<dir>" by `shift` pixels with zero fill,
    or a function x -> x) goes through the model in eval mode without a graph, in batches of
    `batch_size`; the softmax of the logits is averaged over the views. The model's training
    mode is restored afterwards.
    """
    from steepest.autograd.grad_mode import no_grad
    from steepest.tensor import Tensor

    x = np.asarray(x)
    views = list(views)
    if not views:
        raise ValueError("tta_predict: views is empty; give at least 'identity'")
    batch_size = _positive_int(batch_size, "tta_predict: batch_size")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    total = None
    try:
        with no_grad():
            for view in views:
                for start in range(0, len(x), batch_size):
                    batch = np.ascontiguousarray(_view(x[start:start + batch_size], view, shift))
                    out = model(Tensor(batch))
                    logits = np.asarray(getattr(out, "data", out), dtype=np.float64)
                    if logits.ndim != 2:
                        raise ValueError(f"tta_predict: the model must return (N, K) logits, "
                                         f"got shape {logits.shape}")
                    if total is None:
                        total = np.zeros((len(x), logits.shape[1]))
                    logits = logits - logits.max(axis=1, keepdims=True)
                    probs = np.exp(logits)
                    total[start:start + len(batch)] += probs / probs.sum(axis=1, keepdims=True)
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    if total is None:
        return np.zeros((0, 0))
    return total / len(views)


def evaluate_tta(model: Any, x: np.ndarray, y: np.ndarray,
                 views: Sequence[str | Callable[[np.ndarray], np.ndarray]] = ("identity",
                                                                              "hflip"),
                 *, batch_size: int = 1000, shift: int = 2) -> tuple[float, float]:
    """(loss, accuracy) of the view-averaged probabilities p = tta_predict(...): loss is the
    mean of -log p[y], accuracy the fraction with argmax p == y."""
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"evaluate_tta: x has {len(x)} samples but y has {len(y)}")
    probs = tta_predict(model, x, views, batch_size=batch_size, shift=shift)
    if len(y) == 0:
        return float("nan"), float("nan")
    picked = probs[np.arange(len(y)), y]
    loss = float(-np.log(np.maximum(picked, np.finfo(np.float64).tiny)).mean())
    accuracy = float((probs.argmax(axis=1) == y).mean())
    return loss, accuracy
