"""`import steepest` changes nothing process-wide: no thread, no optional extra imported (the
allocator is tests/test_allocator.py's, the executors' pool test_optim_chunked.py's). Each case
runs in a fresh process, so that nothing this test session imported hides an import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# The optional extras (pyproject's data, train, plot, distributed, serve, test) and the big
# libraries a careless import would drag in.
EXTRAS = ("ray", "fastapi", "uvicorn", "starlette", "pydantic", "matplotlib", "torch", "tqdm",
          "safetensors", "sklearn", "threadpoolctl", "scipy", "PIL", "pandas", "hypothesis",
          "atheris")
# The one module that imports an extra at its top: it is where that extra is used.
EXTRA_HOMES = {"steepest.serve.app": {"fastapi", "starlette", "pydantic"}}


def _run(body: str) -> dict:
    script = textwrap.dedent(f"""
        import json, sys, threading
        EXTRAS = {EXTRAS!r}
        def extras():
            return sorted(name for name in EXTRAS if name in sys.modules)
    """) + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_steepest_starts_no_thread_and_imports_no_extra():
    result = _run("""
        import steepest
        result = {"threads": threading.active_count(), "extras": extras()}
    """)
    assert result == {"threads": 1, "extras": []}


def test_every_module_imports_only_its_own_extras():
    """Each module of the package in turn: only an extra's home imports it; no thread starts."""
    result = _run("""
        import importlib, pkgutil
        import steepest
        brought = {}
        for info in pkgutil.walk_packages(steepest.__path__, "steepest."):
            if info.name == "steepest.__main__":  # runs the command
                continue
            before = set(extras())
            importlib.import_module(info.name)
            if set(extras()) - before:
                brought[info.name] = sorted(set(extras()) - before)
        result = {"brought": brought, "threads": threading.active_count(),
                  "modules": sum(name.startswith("steepest.") for name in sys.modules)}
    """)
    assert result["modules"] > 100  # the walk imported the package (not an empty one)
    assert result["threads"] == 1
    assert {name: set(got) for name, got in result["brought"].items()} == EXTRA_HOMES


def test_a_training_step_through_the_loop_imports_no_extra():
    result = _run("""
        import numpy as np
        from steepest import models
        from steepest.optim import make_optimizer
        from steepest.train.loop import TrainingLoop
        model = models.mlp(4, 3, depth=1, width=5)
        loop = TrainingLoop(model, make_optimizer("adam", model, lr=0.01))
        x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
        loss = loop.step(x, np.arange(8) % 3)
        result = {"loss": loss, "threads": threading.active_count(), "extras": extras()}
    """)
    assert result["loss"] > 0 and result["threads"] == 1 and result["extras"] == []
