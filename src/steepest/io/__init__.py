"""Files: checkpoints and plain weights as safetensors (never pickle), written atomically."""

from steepest.io.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointInfo,
    atomic_write,
    capture_rng_state,
    checkpoint_info,
    load_checkpoint,
    load_state_dict,
    remove_stale_temporaries,
    restore_rng_state,
    save_checkpoint,
    save_state_dict,
)

__all__ = [
    "Checkpoint", "CheckpointError", "CheckpointInfo", "atomic_write", "capture_rng_state",
    "checkpoint_info", "load_checkpoint", "load_state_dict", "remove_stale_temporaries",
    "restore_rng_state", "save_checkpoint", "save_state_dict",
]
