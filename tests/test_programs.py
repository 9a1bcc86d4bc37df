"""Whole PyTorch programs run twice from the same source text: once with `import torch`
giving PyTorch, once giving steepest (only the import changes). They must end within float32
rounding of PyTorch.

The programs (tests/programs/*.py) are PyTorch's tutorials with fixed starting values instead
of random ones, so both runs start from the same point; each leaves its numbers in RESULT.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import steepest

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.py"))

# What `import torch`, `from torch import nn` and `import torch.nn.functional as F` find when
# the program runs on steepest.
STEEPEST_MODULES = {
    "torch": "steepest", "torch.nn": "steepest.nn",
    "torch.nn.functional": "steepest.nn.functional", "torch.optim": "steepest.optim",
    "torch.optim.lr_scheduler": "steepest.optim.lr_scheduler", "torch.utils": "steepest.utils",
    "torch.utils.data": "steepest.utils.data", "torch.autograd": "steepest.autograd",
}


def run_program(path: Path, library: str, monkeypatch) -> dict:
    source = path.read_text()
    if library == "steepest":
        import importlib

        for name, target in STEEPEST_MODULES.items():
            monkeypatch.setitem(sys.modules, name, importlib.import_module(target))
    namespace = {"__name__": "__main__", "__file__": str(path)}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102  (our own test programs)
    monkeypatch.undo()
    return namespace["RESULT"]


def assert_float32_close(ours, theirs, where: str) -> None:
    """Equal up to float32 rounding accumulated over the run: 1e-4 relative, 1e-6 absolute
    (a float32 step rounds at 6e-8; two thousand of them drift by about 1e-5)."""
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), where
        for key in theirs:
            assert_float32_close(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_float32_close(a, b, f"{where}[{i}]")
    elif isinstance(theirs, float):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6, err_msg=where)
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs_the_same_on_steepest(path: Path, monkeypatch) -> None:
    torch.manual_seed(0)
    steepest.manual_seed(0)
    theirs = run_program(path, "torch", monkeypatch)
    ours = run_program(path, "steepest", monkeypatch)
    assert_float32_close(ours, theirs, path.stem)


def test_the_programs_are_really_pytorch_programs() -> None:
    for path in PROGRAMS:
        source = path.read_text()
        assert "import torch" in source and "steepest" not in source, path.name
