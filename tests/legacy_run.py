"""The run behind tests/data/legacy-trainer-checkpoint.safetensors (see make_legacy_checkpoint.py):
a small seeded training with everything a Trainer checkpoint holds: dropout, Adam, a cosine
schedule, an EMA, early stopping that keeps its best weights, and a stop mid-epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import steepest as st
from steepest import nn
from steepest.train import EarlyStopping, LambdaCallback, fit

LEGACY_CHECKPOINT = (Path(__file__).resolve().parent / "data"
                     / "legacy-trainer-checkpoint.safetensors")


def legacy_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(12)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


def legacy_fit(checkpoint_dir: Any = None, stop_at: int | None = None, resume: Any = None,
               model_seed: int = 0):
    st.manual_seed(model_seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
    halt = LambdaCallback(on_step_end=lambda t, s, logs: setattr(t, "stop_training",
                                                                 s == stop_at))
    stopper = EarlyStopping(monitor="loss", patience=50, restore_best_weights=True)
    history = fit(model, legacy_data(), optimizer="adam", lr=1e-2, schedule="cosine", steps=24,
                  batch_size=10, ema_decay=0.9, checkpoint_dir=checkpoint_dir,
                  checkpoint_every=7, callbacks=[stopper, halt], resume=resume,
                  progress=False, log=None, seed=4)
    return model, history
