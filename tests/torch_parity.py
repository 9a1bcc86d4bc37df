"""The torch-parity harness: one test body, run with `torch` bound to PyTorch and to steepest.

A body is a function `body(torch, *arrays)` written as PyTorch code; `run_both` calls it once
with each library (inputs made from the same NumPy arrays by that library's `tensor`), and
`compare` checks that the results agree: the same structure, shapes, dtypes and values, or an
exception from both. `check_op` adds gradients: it backpropagates the same random upstream
gradient through every floating output and compares the inputs' gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import steepest

LIBS = {"torch": torch, "steepest": steepest}
TOL = {np.dtype(np.float64): dict(rtol=1e-10, atol=1e-10),
       np.dtype(np.float32): dict(rtol=1e-5, atol=1e-5)}


def to_numpy(value: Any) -> Any:
    """Results of either library as NumPy values and plain containers."""
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, steepest.Tensor):
        return value.data
    fields = getattr(value, "_fields", None) or getattr(type(value), "__match_args__", None)
    if isinstance(value, tuple) and fields:  # named tuples (torch.return_types: structseqs)
        return {"fields": tuple(fields), "items": [to_numpy(v) for v in value]}
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (torch.dtype, np.dtype)) or (isinstance(value, type)
                                                      and issubclass(value, np.generic)):
        return str(value).replace("torch.", "")
    if isinstance(value, torch.Size):
        return tuple(value)
    return value


def compare(ours: Any, theirs: Any, what: str, tol: dict | None = None) -> None:
    """Assert that two results from to_numpy agree (values to tol, or the dtype's tolerance)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{what}: expected a dict/named tuple, got {ours!r}"
        assert set(ours) == set(theirs), f"{what}: keys {sorted(ours)} != {sorted(theirs)}"
        for key in theirs:
            compare(ours[key], theirs[key], f"{what}[{key!r}]", tol)
        return
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), \
            f"{what}: expected {len(theirs)} items, got {ours!r}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            compare(a, b, f"{what}[{i}]", tol)
        return
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), f"{what}: expected an array, got {type(ours)}"
        assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
        assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} != {theirs.dtype}"
        if theirs.dtype.kind in "fc":
            np.testing.assert_allclose(ours, theirs, err_msg=what,
                                       **(tol or TOL.get(theirs.dtype, TOL[np.dtype("f4")])))
        else:
            np.testing.assert_array_equal(ours, theirs, err_msg=what)
        return
    if isinstance(theirs, float):
        np.testing.assert_allclose(ours, theirs, err_msg=what, **(tol or TOL[np.dtype("f8")]))
        return
    assert ours == theirs, f"{what}: {ours!r} != {theirs!r}"


def run_both(body, *arrays: np.ndarray, requires_grad: bool = False) -> dict:
    """{"torch": result or exception, "steepest": ...} of body(lib, *tensors)."""
    results = {}
    for name, lib in LIBS.items():
        inputs = [lib.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f")
                  for a in arrays]
        try:
            results[name] = (body(lib, *inputs), inputs)
        except Exception as error:  # noqa: BLE001  (compared below: both must raise)
            results[name] = (error, inputs)
    return results


def assert_same(body, *arrays: np.ndarray, what: str = "", tol: dict | None = None) -> None:
    """body(torch, ...) and body(steepest, ...) give the same result, or both raise."""
    results = run_both(body, *arrays)
    theirs, _ = results["torch"]
    ours, _ = results["steepest"]
    if _both_raised(ours, theirs, what):
        return
    compare(to_numpy(ours), to_numpy(theirs), what, tol)


def _both_raised(ours: Any, theirs: Any, what: str) -> bool:
    """True if PyTorch raised and so did steepest; an error if only one of them raised."""
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), (
            f"{what}: PyTorch raises {type(theirs).__name__}: {theirs}, steepest returned "
            f"{ours!r}")
        return True
    if isinstance(ours, Exception):
        raise AssertionError(f"{what}: steepest raised {type(ours).__name__}: {ours}") from ours
    return False


def _floating_outputs(result: Any) -> list:
    if isinstance(result, (torch.Tensor, steepest.Tensor)):
        return [result] if result.dtype in (torch.float64, torch.float32, np.float64,
                                            np.float32) and result.requires_grad else []
    if isinstance(result, (list, tuple)):
        return [t for r in result for t in _floating_outputs(r)]
    return []


def check_op(body, arrays: list[np.ndarray], what: str, seed: int = 0,
             tol: dict | None = None) -> None:
    """Forward values and the gradient of every floating input, PyTorch against steepest."""
    results = run_both(body, *arrays, requires_grad=True)
    theirs, torch_inputs = results["torch"]
    ours, our_inputs = results["steepest"]
    if _both_raised(ours, theirs, what):
        return
    compare(to_numpy(ours), to_numpy(theirs), f"{what}: forward", tol)
    torch_outs, our_outs = _floating_outputs(theirs), _floating_outputs(ours)
    assert len(torch_outs) == len(our_outs), f"{what}: differentiable outputs differ"
    if not torch_outs:
        return
    rng = np.random.default_rng(seed)
    torch_total, our_total = 0, 0
    for t_out, s_out in zip(torch_outs, our_outs, strict=True):
        upstream = rng.standard_normal(tuple(t_out.shape)).astype(t_out.detach().numpy().dtype)
        torch_total = torch_total + (t_out * torch.from_numpy(upstream)).sum()
        our_total = our_total + (s_out * steepest.tensor(upstream)).sum()
    torch_total.backward()
    our_total.backward()
    for i, (t_in, s_in) in enumerate(zip(torch_inputs, our_inputs, strict=True)):
        if not t_in.requires_grad:
            continue
        expected = None if t_in.grad is None else t_in.grad.numpy()
        actual = None if s_in.grad is None else s_in.grad.data
        if expected is None:
            assert actual is None or not np.any(actual), f"{what}: input {i} got a gradient"
            continue
        assert actual is not None, f"{what}: steepest gave input {i} no gradient"
        compare(actual, expected, f"{what}: gradient of input {i}", tol)
