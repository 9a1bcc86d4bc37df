"""`import steepest` leaves glibc's allocator alone; the command and `fit` set it, once, unless
told not to (keep_memory=False, STEEPEST_KEEP_MEMORY=0). Each case runs in a fresh process that
records every mallopt call steepest makes through ctypes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

RECORDER = textwrap.dedent("""
    import ctypes, json, sys
    calls = []
    real_cdll = ctypes.CDLL

    class Recorded:
        def __init__(self, name, *args, **kwargs):
            self.lib, self.name = real_cdll(name, *args, **kwargs), name

        def __getattr__(self, attr):
            function = getattr(self.lib, attr)
            if self.name != "libc.so.6" or attr != "mallopt":
                return function
            def mallopt(*args):
                calls.append(list(args))
                return function(*args)
            return mallopt

    ctypes.CDLL = Recorded
    import numpy as np
    import steepest as st
    after_import = list(calls)
""")


def _run(body: str, **env: str) -> dict:
    script = RECORDER + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
    environment = {k: v for k, v in os.environ.items() if k != "STEEPEST_KEEP_MEMORY"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**environment, "OPENBLAS_NUM_THREADS": "1", **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


FIT = textwrap.dedent("""
    from steepest import nn
    from steepest.train import fit
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = np.arange(20) % 2
    fit(nn.Linear(3, 2), (x, y), epochs=1, batch_size=10, progress=False, log=None{extra})
    result = {{"calls": calls}}
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_import_changes_nothing_and_fit_sets_the_allocator_once():
    result = _run("""
        kept = st.keep_freed_memory()
        again = st.keep_freed_memory()
        result = {"after_import": after_import, "calls": calls, "kept": kept, "again": again}
    """)
    assert result["after_import"] == []
    # M_MMAP_THRESHOLD (-3) to 32 MiB and M_TRIM_THRESHOLD (-1) to 1 GiB, made once.
    assert result["calls"] == [[-3, 32 * 1024 * 1024], [-1, 1024 * 1024 * 1024]]
    assert result["kept"] is True and result["again"] is True
    result = _run(FIT.format(extra=""))
    assert len(result["calls"]) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.parametrize("extra, env", [(", keep_memory=False", {}),
                                        ("", {"STEEPEST_KEEP_MEMORY": "0"})])
def test_fit_leaves_the_allocator_alone_when_told(extra, env):
    result = _run(FIT.format(extra=extra), **env)
    assert result["calls"] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.parametrize("env, count", [({}, 2), ({"STEEPEST_KEEP_MEMORY": "0"}, 0)])
def test_the_command_sets_the_allocator(tmp_path, env, count):
    result = _run(f"""
        from steepest.cli import main
        status = main(["runs", "list", "--db", {str(tmp_path / "none.db")!r}])
        result = {{"calls": calls, "after_import": after_import}}
    """, **env)
    assert result["after_import"] == [] and len(result["calls"]) == count
