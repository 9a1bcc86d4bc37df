"""Every parser of outside input, fuzzed for a bounded number of inputs (seconds each): the
safetensors header and steepest's metadata (up to a Trainer resuming from it), IDX (plain and
gzipped), CIFAR binary, npz, CSV and the TOML config. The only acceptable outcomes are a result
or the parser's documented error. `make fuzz` runs the same targets for minutes.

With atheris installed (it is on Linux x86-64), each target also gets a bounded
coverage-guided libFuzzer run in a child process; hypothesis mutates the seeds in this process
either way.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent / "fuzz"
sys.path.insert(0, str(FUZZ))

from seeds import SEEDS  # noqa: E402
from targets import TARGETS, run_one  # noqa: E402

#: Inputs per target in `make test`: a few seconds each on this machine.
RUNS = int(os.environ.get("STEEPEST_FUZZ_RUNS", "1000"))
HAVE_ATHERIS = importlib.util.find_spec("atheris") is not None


@pytest.fixture(scope="module")
def seeds():
    return {target: make() for target, make in SEEDS.items()}


def test_every_target_has_seeds_and_every_parser_a_target():
    assert set(SEEDS) == set(TARGETS) == {"checkpoint", "idx", "idx_gz", "cifar", "npz", "csv",
                                          "config"}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_seeds_give_a_result_or_a_documented_error(seeds, target):
    """Each malformed file of issue 11 (and a good one) in turn: a named seed that fails shows
    here by name."""
    for name, data in seeds[target].items():
        try:
            run_one(target, data)
        except BaseException as error:
            raise AssertionError(f"{target} seed {name!r}: {type(error).__name__}: "
                                 f"{error}"[:2000]) from error


@pytest.mark.skipif(not HAVE_ATHERIS, reason="atheris is not installed: hypothesis runs below")
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_bounded_atheris_run_finds_nothing(tmp_path, target):
    result = subprocess.run(
        [sys.executable, str(FUZZ / "run.py"), target, "--runs", str(RUNS), "--state",
         str(tmp_path)], capture_output=True, text=True, timeout=600)
    crashes = sorted((tmp_path / "crashes").glob("*")) if (tmp_path / "crashes").exists() else []
    assert result.returncode == 0 and not crashes, result.stderr[-5000:]
    assert f"Done {RUNS} runs" in result.stderr or "runs in" in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_bounded_hypothesis_run_finds_nothing(seeds, target):
    """Seeds mutated in this process (flips, insertions, deletions, cuts): all that runs
    without atheris, and a second opinion with it."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    corpus = list(seeds[target].values())

    @st.composite
    def mutated(draw):
        data = bytearray(draw(st.sampled_from(corpus)))
        for _ in range(draw(st.integers(0, 8))):
            kind = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
            at = draw(st.integers(0, max(0, len(data) - 1)))
            if kind == "flip" and data:
                data[at] = draw(st.integers(0, 255))
            elif kind == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            elif kind == "delete" and data:
                del data[at:at + draw(st.integers(1, 8))]
            elif kind == "cut":
                del data[at:]
        return bytes(data)

    @settings(max_examples=RUNS // 10, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated())
    def check(data):
        run_one(target, data)

    check()
