"""Augmentation: each transform checked by its defining property on known arrays, torchvision's
geometry against torch's own samplers, seeding, dtype, Compose, the CLI spec and TTA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import steepest
from steepest import nn
from steepest.data import augment as A


def images(n=6, c=2, h=5, w=7, dtype=np.float32, low=0.1):
    """Distinct positive values, so zeros and copies can be told apart."""
    values = np.arange(n * c * h * w, dtype=np.float64).reshape(n, c, h, w)
    return (low + values / values.size * (1 - low)).astype(dtype)


def labels(n=6, k=3):
    return np.arange(n) % k


# --------------------------------------------------------------------------- flip
@pytest.mark.parametrize("shape", [(8, 2, 3, 4), (8, 10), (8, 3, 10)])
def test_flip_reverses_exactly_the_rows_the_rng_chose(shape):
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    y = np.arange(shape[0])
    out, y_out = A.RandomHorizontalFlip(0.5)(x, y, np.random.default_rng(3))
    flipped = np.random.default_rng(3).random(shape[0]) < 0.5
    assert 0 < flipped.sum() < shape[0]  # the seed picks some, not all
    np.testing.assert_array_equal(out[flipped], x[flipped][..., ::-1])
    np.testing.assert_array_equal(out[~flipped], x[~flipped])
    assert y_out is y and out.dtype == np.float32
    np.testing.assert_array_equal(x, np.arange(np.prod(shape)).reshape(shape))  # input intact


def test_flip_probability_zero_and_one():
    x = images()
    np.testing.assert_array_equal(A.RandomHorizontalFlip(0.0)(x, None, np.random.default_rng(0))[0],
                                  x)
    np.testing.assert_array_equal(A.RandomHorizontalFlip(1.0)(x, None, np.random.default_rng(0))[0],
                                  x[..., ::-1])


# --------------------------------------------------------------------------- crop
def test_crop_with_padding_is_the_drawn_window_of_the_zero_padded_image():
    x = images(n=7, c=2, h=4, w=5)
    out, _ = A.RandomCrop((4, 5), padding=2)(x, None, np.random.default_rng(11))
    rng = np.random.default_rng(11)
    top = rng.integers(0, 8 - 4 + 1, size=7)
    left = rng.integers(0, 9 - 5 + 1, size=7)
    padded = np.pad(x, [(0, 0), (0, 0), (2, 2), (2, 2)])
    assert out.shape == x.shape and out.dtype == np.float32
    for i in range(7):
        np.testing.assert_array_equal(out[i], padded[i, :, top[i]:top[i] + 4,
                                                    left[i]:left[i] + 5])
    # Offsets differ between images, and some windows reach into the zero border.
    assert len(set(zip(top, left, strict=True))) > 1 and (out == 0).any()


def test_crop_without_padding_smaller_size():
    x = images(n=4, c=1, h=6, w=6)
    out, _ = A.RandomCrop(3)(x, None, np.random.default_rng(2))
    rng = np.random.default_rng(2)
    top, left = rng.integers(0, 4, size=4), rng.integers(0, 4, size=4)
    for i in range(4):
        np.testing.assert_array_equal(out[i], x[i, :, top[i]:top[i] + 3, left[i]:left[i] + 3])


@pytest.mark.parametrize("shape", [(5, 12), (5, 2, 12)])
def test_crop_signals(shape):
    x = np.arange(1, np.prod(shape) + 1, dtype=np.float32).reshape(shape)
    out, _ = A.RandomCrop(12, padding=3)(x, None, np.random.default_rng(4))
    left = np.random.default_rng(4).integers(0, 18 - 12 + 1, size=5)
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(3, 3)])
    assert out.shape == shape
    for i in range(5):
        np.testing.assert_array_equal(out[i], padded[i, ..., left[i]:left[i] + 12])


# --------------------------------------------------------------------------- resized crop
def test_resized_crop_matches_torch_interpolate_on_each_box():
    x = np.random.default_rng(0).random((3, 2, 9, 11)).astype(np.float32)
    boxes = dict(top=[0, 2, 5], left=[1, 0, 7], height=[9, 4, 2], width=[5, 11, 3])
    out = A.resized_crop(x, **boxes, size=(6, 4))
    assert out.shape == (3, 2, 6, 4) and out.dtype == np.float32
    for i in range(3):
        t, l, h, w = (boxes[k][i] for k in ("top", "left", "height", "width"))
        expected = torch.nn.functional.interpolate(
            torch.from_numpy(x[i:i + 1, :, t:t + h, l:l + w]), size=(6, 4), mode="bilinear",
            align_corners=False, antialias=False).numpy()
        np.testing.assert_allclose(out[i:i + 1], expected, rtol=1e-6, atol=1e-6)


def test_random_resized_crop_boxes_and_output():
    t = A.RandomResizedCrop((8, 8), scale=(0.3, 0.6), ratio=(0.5, 2.0))
    top, left, h, w = t.boxes(200, 16, 16, np.random.default_rng(1))
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + h <= 16).all() and (left + w <= 16).all()
    area = h * w / 256
    assert area.min() > 0.2 and area.max() < 0.7  # scale range, up to rounding
    x = images(n=4, c=3, h=16, w=16)
    out, _ = t(x, None, np.random.default_rng(1))
    assert out.shape == (4, 3, 8, 8) and out.dtype == np.float32
    # The whole square image at ratio 1 and scale 1 is resized to itself: exactly x.
    whole, _ = A.RandomResizedCrop(16, scale=(1, 1), ratio=(1, 1))(x, None,
                                                                   np.random.default_rng(0))
    np.testing.assert_array_equal(whole, x)


def test_random_resized_crop_falls_back_to_centre_crop():
    t = A.RandomResizedCrop(4, scale=(2.0, 3.0), ratio=(1.0, 1.0))  # no box can fit
    top, left, h, w = t.boxes(3, 6, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(h, [6, 6, 6])
    np.testing.assert_array_equal(w, [6, 6, 6])
    np.testing.assert_array_equal(top, [0, 0, 0])
    np.testing.assert_array_equal(left, [2, 2, 2])


# --------------------------------------------------------------------------- affine
def _torch_affine(x, matrix, mode):
    """torchvision's tensor path: pixel-centre grid about the centre, then grid_sample."""
    n, _, height, width = x.shape
    u = torch.arange(width, dtype=torch.float64) - (width - 1) / 2
    v = torch.arange(height, dtype=torch.float64) - (height - 1) / 2
    outs = []
    for i in range(n):
        m = torch.from_numpy(matrix[i])
        sx = m[0] * u[None, :] + m[1] * v[:, None] + m[2]
        sy = m[3] * u[None, :] + m[4] * v[:, None] + m[5]
        grid = torch.stack([sx / (0.5 * width), sy / (0.5 * height)], dim=-1)[None]
        outs.append(torch.nn.functional.grid_sample(
            torch.from_numpy(x[i:i + 1]).double(), grid, mode=mode, padding_mode="zeros",
            align_corners=False))
    return torch.cat(outs).numpy()


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_affine_matches_torch_grid_sample(mode):
    x = np.random.default_rng(5).random((3, 2, 7, 9)).astype(np.float32)
    angle = np.array([30.0, -45.0, 90.0])
    translate = np.array([[1.0, 0.0], [-2.0, 3.0], [0.0, 0.0]])
    scale = np.array([1.0, 0.8, 1.3])
    shear = np.array([[10.0, 0.0], [0.0, -5.0], [5.0, 7.0]])
    out = A.affine(x, angle, translate, scale, shear, interpolation=mode)
    matrix = A._inverse_affine(angle, translate[:, 0], translate[:, 1], scale, shear[:, 0],
                               shear[:, 1])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _torch_affine(x, matrix, mode), atol=1e-6)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_random_affine_90_degrees_rotates_a_square_image_exactly(mode):
    x = images(n=3, c=2, h=6, w=6)
    clockwise, _ = A.RandomAffine(degrees=(90, 90), interpolation=mode)(
        x, None, np.random.default_rng(0))
    counter, _ = A.RandomAffine(degrees=(-90, -90), interpolation=mode)(
        x, None, np.random.default_rng(0))
    # torchvision's F.affine rotates clockwise for positive angles.
    np.testing.assert_allclose(clockwise, np.rot90(x, k=-1, axes=(2, 3)), atol=1e-6)
    np.testing.assert_allclose(counter, np.rot90(x, k=1, axes=(2, 3)), atol=1e-6)
    full_turn = A.affine(x, 180.0)
    np.testing.assert_allclose(full_turn, x[:, :, ::-1, ::-1], atol=1e-6)


def test_affine_translation_shifts_with_zero_fill():
    x = images(n=2, c=1, h=4, w=5)
    out = A.affine(x, translate=(2.0, -1.0))  # right 2, up 1
    expected = np.zeros_like(x)
    expected[:, :, :3, 2:] = x[:, :, 1:, :3]
    np.testing.assert_array_equal(out, expected)


def test_random_affine_translation_is_an_integer_shift_within_range():
    x = images(n=5, c=1, h=8, w=8)
    out, _ = A.RandomAffine(translate=(0.25, 0.25))(x, None, np.random.default_rng(9))
    for i in range(5):
        matches = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)
                   if np.array_equal(out[i], A.affine(x[i:i + 1], translate=(dx, dy))[0])]
        assert matches, f"image {i} is not a shift of at most 2 pixels"


# --------------------------------------------------------------------------- colour
def test_color_jitter_brightness_multiplies_each_image_by_its_factor():
    x = images(n=8, c=3, h=4, w=4) * 0.5  # at most 0.5: factors up to 1.5 stay below 1
    out, _ = A.ColorJitter(brightness=0.5)(x, None, np.random.default_rng(7))
    factors = np.random.default_rng(7).uniform(0.5, 1.5, size=8).astype(np.float32)
    np.testing.assert_allclose(out, x * factors[:, None, None, None], rtol=1e-6)
    assert out.dtype == np.float32 and len(np.unique(factors)) == 8


def test_color_jitter_clips_to_unit_range_unless_told_not_to():
    x = np.full((4, 1, 2, 2), 0.9, dtype=np.float32)
    out, _ = A.ColorJitter(brightness=(1.5, 2.0))(x, None, np.random.default_rng(0))
    np.testing.assert_array_equal(out, 1.0)
    free, _ = A.ColorJitter(brightness=(1.5, 2.0), clip=None)(x, None, np.random.default_rng(0))
    assert (free > 1.3).all()


def test_color_jitter_contrast_keeps_the_mean_and_scales_deviations():
    x = images(n=5, c=1, h=4, w=4) * 0.5 + 0.25
    out, _ = A.ColorJitter(contrast=0.5)(x, None, np.random.default_rng(1))
    factors = np.random.default_rng(1).uniform(0.5, 1.5, size=5)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3), keepdims=True), mean, rtol=1e-5)
    np.testing.assert_allclose(out - mean, factors[:, None, None, None] * (x - mean), atol=1e-6)


def test_color_jitter_saturation_blends_with_grayscale():
    x = np.random.default_rng(2).uniform(0.3, 0.7, size=(4, 3, 3, 3)).astype(np.float32)
    out, _ = A.ColorJitter(saturation=0.5)(x, None, np.random.default_rng(3))
    f = np.random.default_rng(3).uniform(0.5, 1.5, size=4)[:, None, None, None]
    gray = np.einsum("nchw,c->nhw", x, [0.2989, 0.587, 0.114])[:, None]
    np.testing.assert_allclose(out, f * x + (1 - f) * gray, atol=1e-6)
    one_channel = x[:, :1]
    np.testing.assert_array_equal(
        A.ColorJitter(saturation=0.5)(one_channel, None, np.random.default_rng(3))[0],
        one_channel)


# --------------------------------------------------------------------------- noise
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_noise_adds_std_times_standard_normal(dtype):
    x = np.zeros((50, 40), dtype=dtype) + 1
    out, _ = A.GaussianNoise(0.3)(x, None, np.random.default_rng(8))
    expected = np.random.default_rng(8).standard_normal(x.shape, dtype=dtype)
    assert out.dtype == dtype
    np.testing.assert_allclose(out - 1, 0.3 * expected, rtol=1e-5, atol=1e-6)
    assert abs((out - 1).std() - 0.3) < 0.02


# --------------------------------------------------------------------------- occlusion
def test_random_erasing_fills_one_box_per_chosen_image():
    x = images(n=40, c=2, h=10, w=10)
    out, _ = A.RandomErasing(p=0.5, value=-1.0)(x, None, np.random.default_rng(6))
    erased = 0
    for i in range(40):
        mask = (out[i] == -1.0)
        np.testing.assert_array_equal(out[i][~mask], x[i][~mask])
        if not mask.any():
            continue
        erased += 1
        assert (mask[0] == mask[1]).all()  # the same box on every channel
        rows, cols = np.flatnonzero(mask[0].any(1)), np.flatnonzero(mask[0].any(0))
        h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        assert mask[0].sum() == h * w  # a filled rectangle
        assert h < 10 and w < 10 and 0.02 * 100 * 0.5 <= h * w <= 0.33 * 100 * 1.6
    assert 10 < erased < 35  # about half of the 40 with p = 0.5
    untouched, _ = A.RandomErasing(p=0.0)(x, None, np.random.default_rng(6))
    np.testing.assert_array_equal(untouched, x)


def test_cutout_zeros_a_clipped_square():
    x = images(n=30, c=1, h=8, w=8)
    out, _ = A.Cutout(4)(x, None, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    cy, cx = rng.integers(0, 8, size=30), rng.integers(0, 8, size=30)
    for i in range(30):
        expected = x[i].copy()
        expected[:, max(cy[i] - 2, 0):cy[i] + 2, max(cx[i] - 2, 0):cx[i] + 2] = 0
        np.testing.assert_array_equal(out[i], expected)
    assert ((out == 0).sum(axis=(1, 2, 3)) < 16).any()  # some squares are clipped


def test_cutout_on_signals_zeros_a_segment():
    x = np.arange(1, 5 * 20 + 1, dtype=np.float32).reshape(5, 20)
    out, _ = A.Cutout(6)(x, None, np.random.default_rng(1))
    centre = np.random.default_rng(1).integers(0, 20, size=5)
    for i in range(5):
        expected = x[i].copy()
        expected[max(centre[i] - 3, 0):centre[i] + 3] = 0
        np.testing.assert_array_equal(out[i], expected)


# --------------------------------------------------------------------------- mixup
def test_mixup_rows_are_convex_combinations_with_matching_soft_targets():
    n = 8
    x = np.eye(n, dtype=np.float32)  # row i is e_i, so a mixed row shows its weights
    y = np.arange(n)
    out, soft = A.Mixup(alpha=0.4, num_classes=n)(x, y, np.random.default_rng(12))
    rng = np.random.default_rng(12)
    lam = rng.beta(0.4, 0.4)
    partner = rng.permutation(n)
    assert out.dtype == np.float32 and soft.dtype == np.float32 and soft.shape == (n, n)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out, soft, rtol=1e-6)  # x weights == target weights
    np.testing.assert_allclose(out, lam * x + (1 - lam) * x[partner], rtol=1e-6)
    moved = partner != np.arange(n)
    np.testing.assert_allclose(soft[moved, y[moved]], lam, rtol=1e-6)
    np.testing.assert_allclose(soft[moved, y[partner][moved]], 1 - lam, rtol=1e-6)


def test_mixup_on_images_and_soft_inputs():
    x = images(n=6, c=1, h=3, w=3)
    soft_in = np.full((6, 3), 1 / 3, dtype=np.float32)
    out, soft = A.Mixup(1.0, num_classes=3)(x, soft_in, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    lam, partner = rng.beta(1.0, 1.0), rng.permutation(6)
    np.testing.assert_allclose(out, lam * x + (1 - lam) * x[partner], rtol=1e-6)
    np.testing.assert_allclose(soft, soft_in, rtol=1e-6)


# --------------------------------------------------------------------------- shared properties
TRANSFORMS = [
    A.RandomHorizontalFlip(), A.RandomCrop(6, padding=2), A.RandomResizedCrop(4),
    A.ColorJitter(0.4, 0.4, 0.4), A.RandomAffine(20, (0.1, 0.1), (0.8, 1.2), 10),
    A.RandomAffine(20, interpolation="bilinear"), A.RandomErasing(p=1.0), A.Cutout(3),
    A.Mixup(0.5, num_classes=3), A.GaussianNoise(0.2),
]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seeded_dtype_preserving_and_pure(transform, dtype):
    x = images(n=6, c=3, h=6, w=6, dtype=dtype)
    before = x.copy()
    y = labels()
    first, y1 = transform(x, y, np.random.default_rng(0))
    again, y2 = transform(x, y, np.random.default_rng(0))
    other, _ = transform(x, y, np.random.default_rng(1))
    assert first.dtype == dtype
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(x, before)


def test_compose_applies_in_order_with_one_generator():
    add_one = lambda x, y, rng: (x + 1, y)  # noqa: E731
    double = lambda x, y, rng: (x * 2, y)  # noqa: E731
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(A.Compose([add_one, double])(x, None, None)[0], 4.0)
    np.testing.assert_array_equal(A.Compose([double, add_one])(x, None, None)[0], 3.0)
    flip, noise = A.RandomHorizontalFlip(), A.GaussianNoise(0.1)
    xi = images()
    out, _ = A.Compose([flip, noise])(xi, None, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    step, _ = flip(xi, None, rng)
    expected, _ = noise(step, None, rng)
    np.testing.assert_array_equal(out, expected)
    assert len(A.Compose([flip, noise])) == 2 and "RandomHorizontalFlip(p=0.5)" in repr(
        A.Compose([flip]))


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, message", [
    (lambda: A.RandomHorizontalFlip(1.5), "probability"),
    (lambda: A.RandomCrop(0), "positive integer"),
    (lambda: A.RandomCrop(4, padding=-1), "padding"),
    (lambda: A.RandomResizedCrop(4, scale=(0.9, 0.1)), "min <= max"),
    (lambda: A.ColorJitter(brightness=-1), "non-negative"),
    (lambda: A.RandomAffine(interpolation="cubic"), "interpolation"),
    (lambda: A.RandomAffine(translate=(0.1, 2.0)), "translate"),
    (lambda: A.RandomErasing(value="noise"), "'random'"),
    (lambda: A.Mixup(0.0, num_classes=3), "alpha"),
    (lambda: A.GaussianNoise(-0.1), "std"),
])
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_shapes_and_dtypes_raise():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"images \(N, C, H, W\).*channel axis"):
        A.RandomAffine(10)(np.zeros((2, 5, 5), np.float32), None, rng)
    with pytest.raises(ValueError, match="images"):
        A.RandomErasing()(np.zeros((2, 10), np.float32), None, rng)
    with pytest.raises(ValueError, match="shape"):
        A.RandomHorizontalFlip()(np.zeros(5, np.float32), None, rng)
    with pytest.raises(TypeError, match="floating-point"):
        A.ColorJitter(0.5)(np.zeros((2, 3, 4, 4), np.uint8), None, rng)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        A.ColorJitter(contrast=0.5)(np.zeros((2, 2, 4, 4), np.float32), None, rng)
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2"):
        A.Mixup(num_classes=3)(np.zeros((2, 4), np.float32), np.array([0, 3]), rng)
    with pytest.raises(ValueError, match="larger than the padded"):
        A.RandomCrop(9)(np.zeros((2, 1, 4, 4), np.float32), None, rng)


# --------------------------------------------------------------------------- the CLI spec
def test_build_augmentation_names_defaults_and_canonical_order():
    t = A.build_augmentation("mixup, noise:0.05,flip,crop", sample_shape=(3, 32, 32),
                             num_classes=10)
    assert [type(s).__name__ for s in t] == ["RandomCrop", "RandomHorizontalFlip",
                                             "GaussianNoise", "Mixup"]
    assert t[0].padding == 4 and t[0].size == (32, 32)
    assert t[2].std == 0.05 and t[3].alpha == 0.2 and t[3].num_classes == 10
    every = A.build_augmentation(",".join(A.AUGMENTATIONS), sample_shape=(1, 8, 8),
                                 num_classes=10)
    assert len(every) == len(A.AUGMENTATIONS)
    out, soft = every(images(n=4, c=1, h=8, w=8), np.arange(4), np.random.default_rng(0))
    assert out.shape == (4, 1, 8, 8) and out.dtype == np.float32 and soft.shape == (4, 10)
    signals = A.build_augmentation("crop:3,cutout,flip", sample_shape=(40,))
    assert signals[0].padding == 3 and signals[0].size == 40 and signals[2].size == 5
    assert signals(np.ones((3, 40), np.float32), np.zeros(3, int),
                   np.random.default_rng(0))[0].shape == (3, 40)
    for empty in (None, "", "none", " , "):
        assert A.build_augmentation(empty, sample_shape=(40,)) is None


@pytest.mark.parametrize("spec, shape, message", [
    ("flip,rotate", (1, 8, 8), "unknown augmentation 'rotate'.*flip, crop, resized-crop"),
    ("affine", (40,), "'affine' works on images"),
    ("jitter", (2, 40), "'jitter' works on images"),
    ("mixup", (40,), "num_classes"),
    ("crop:two", (40,), "must be an integer"),
    ("noise:x", (40,), "must be a number"),
    ("flip,flip", (40,), "twice"),
    ("flip:2", (40,), "probability"),
    ("flip", (), "sample_shape"),
])
def test_build_augmentation_errors(spec, shape, message):
    with pytest.raises(ValueError, match=message):
        A.build_augmentation(spec, sample_shape=shape)


# --------------------------------------------------------------------------- test time
def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def test_tta_predict_averages_softmax_over_views_in_eval_mode():
    steepest.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(2 * 4 * 5, 3))
    model.train()
    x = np.random.default_rng(0).standard_normal((7, 2, 4, 5)).astype(np.float32)
    weight, bias = model[2].weight.data, model[2].bias.data

    def logits(v):
        return v.reshape(len(v), -1).astype(np.float64) @ weight.T + bias

    shifted = np.zeros_like(x)
    shifted[..., 1:] = x[..., :-1]
    probs = A.tta_predict(model, x, ("identity", "hflip", "shift-right"), batch_size=3, shift=1)
    expected = (_softmax(logits(x)) + _softmax(logits(x[..., ::-1]))
                + _softmax(logits(shifted))) / 3
    np.testing.assert_allclose(probs, expected, rtol=1e-5)  # dropout off: eval mode
    assert model.training  # restored
    y = np.array([0, 1, 2, 0, 1, 2, 0])
    loss, accuracy = A.evaluate_tta(model, x, y, ("identity", "hflip"))
    p = (_softmax(logits(x)) + _softmax(logits(x[..., ::-1]))) / 2
    assert loss == pytest.approx(-np.log(p[np.arange(7), y]).mean(), rel=1e-5)
    assert accuracy == pytest.approx((p.argmax(1) == y).mean())
    custom = A.tta_predict(model, x, (lambda v: v * 0,))
    np.testing.assert_allclose(custom, _softmax(np.broadcast_to(bias, (7, 3))), rtol=1e-5)


def test_tta_views_errors():
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ValueError, match="unknown TTA view 'rot'"):
        A.tta_predict(model, np.zeros((2, 10), np.float32), ("rot",))
    with pytest.raises(ValueError, match="needs images"):
        A.tta_predict(model, np.zeros((2, 10), np.float32), ("shift-up",))
    with pytest.raises(ValueError, match="views is empty"):
        A.tta_predict(model, np.zeros((2, 10), np.float32), ())
