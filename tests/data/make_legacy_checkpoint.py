"""Writes tests/data/legacy-trainer-checkpoint.safetensors: a Trainer checkpoint in the layout
of steepest 0.1.0 before the training loop was rebuilt (commit 0cd672b), where the Trainer moved
arrays out of its extras itself ("history.step_loss", "ema.<name>" and {"__array__": key}
markers for callback states). tests/test_trainer.py resumes it and checks that the run continues
bit for bit. Kept to show how the file was made; rerunning it with today's code writes today's
layout, not the legacy one.

    python tests/data/make_legacy_checkpoint.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from legacy_run import LEGACY_CHECKPOINT, legacy_fit  # noqa: E402

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        legacy_fit(checkpoint_dir=folder, stop_at=13)
        shutil.copyfile(Path(folder) / "last.safetensors", LEGACY_CHECKPOINT)
    print(f"wrote {LEGACY_CHECKPOINT}")
