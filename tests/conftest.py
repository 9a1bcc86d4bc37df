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


# ---------------------------------------------------------------------------- file permissions
# Tests of read-only files and folders. Root ignores file modes, so as root the code under test
# runs in a forked child that has dropped to the unprivileged user "nobody" (65534); as any
# other user it runs in this process. Everything it imports must already be imported: nobody
# cannot read root's Python installation. Run the same call once as the owner first.
NOBODY = 65534


@pytest.fixture
def shared_dir():
    """A temporary folder that "nobody" may enter (pytest's tmp_path is private to root)."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="steepest-perm-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


def call_unprivileged(function, *args):
    """function(*args) with no right to write read-only files: its return value (JSON-able)."""
    import json

    if os.geteuid() != 0:
        return function(*args)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, call, report, and leave without any cleanup
        os.close(read)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            message = {"value": function(*args)}
        except BaseException as error:  # noqa: BLE001 - reported by the parent
            message = {"error": f"{type(error).__name__}: {error}"}
        data = json.dumps(message).encode()
        while data:
            data = data[os.write(write, data):]
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as incoming:
        text = incoming.read()
    os.waitpid(pid, 0)
    answer = json.loads(text)
    if "error" in answer:
        raise AssertionError(f"unprivileged call failed: {answer['error']}")
    return answer["value"]


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray for the whole session (starting one takes seconds): 127.0.0.1 only, no
    dashboard, no usage statistics; shut down when the tests end."""
    from steepest.distributed.cluster import connect, disconnect

    ray = connect(num_cpus=2)
    yield ray
    disconnect()


# ---------------------------------------------------------------------------- loud skips
def pytest_terminal_summary(terminalreporter) -> None:
    """Browser tests that could not run (no Chromium) say so at the end, in red."""
    reasons = sorted({str(report.longrepr[2]) for report in terminalreporter.stats.get(
        "skipped", []) if "BROWSER TESTS DID NOT RUN" in str(report.longrepr)})
    if reasons:
        terminalreporter.section("BROWSER TESTS DID NOT RUN", sep="!", red=True, bold=True)
        for reason in reasons:
            terminalreporter.line(reason, red=True, bold=True)
