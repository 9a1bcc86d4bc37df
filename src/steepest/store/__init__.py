"""The run store (SQLite, stdlib): configs, metrics, checkpoints and results of every run."""

from steepest.store.plots import plot_runs
from steepest.store.runstore import (
    DEFAULT_DB,
    FLUSH_ROWS,
    FLUSH_SECONDS,
    SCOPES,
    STATUSES,
    CheckpointRecord,
    NotARunStoreError,
    Run,
    RunRecord,
    RunStore,
    RunStoreError,
    git_commit,
    new_uuid,
    printable,
    resolve_db_path,
)

__all__ = [
    "DEFAULT_DB", "FLUSH_ROWS", "FLUSH_SECONDS", "SCOPES", "STATUSES", "CheckpointRecord",
    "NotARunStoreError", "Run", "RunRecord", "RunStore", "RunStoreError", "git_commit",
    "new_uuid", "plot_runs", "printable", "resolve_db_path",
]
