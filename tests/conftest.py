"""Shared test helpers: the PyTorch reference, tolerances by dtype, and random inputs."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

# Tolerances the issue asks for: float64 to about 1e-10, float32 to about 1e-5.
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-5)}


def assert_close(actual, expected, dtype=np.float64, what: str = "") -> None:
    """Compare a steepest array (or Tensor) with a PyTorch tensor or array at dtype's tolerance."""
    if hasattr(actual, "data") and not isinstance(actual, np.ndarray):
        actual = actual.data
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), err_msg=what,
                               **TOL[np.dtype(dtype).type])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
