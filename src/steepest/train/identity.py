"""Run identity: which run a checkpoint continues, and where a run may write.

A run's identity is a UUID, written into every checkpoint it saves and into its record in the
run store. Resuming a checkpoint continues *that* run: in a store that holds its UUID, the same
record goes on; in a store that lacks it, a new record says "resumed from <uuid> at step N". A
resume never overwrites newer work: if the run already has a later checkpoint (in the folder it
would write to, or recorded in the store), it is refused with a message that says how to fork.
A fork is a new run (new UUID, its own folder) branched off a checkpoint, recorded as "forked
from <uuid> at step N". And no run writes into a folder that holds another run's checkpoints.
Every check here reads checkpoint headers only, and runs before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steepest.io import CheckpointError, CheckpointInfo, checkpoint_info

#: The files a run writes into its checkpoint folder (`ModelCheckpoint`).
CHECKPOINT_FILES = ("last.safetensors", "best.safetensors")


class RunConflictError(ValueError):
    """Training as asked would overwrite another run's checkpoints, overwrite newer checkpoints
    of the same run, or mix two histories in one record. The message says what to do."""


@dataclass(frozen=True)
class RunPlan:
    """What `plan_run` decided, before anything was written.

    uuid: the identity of the run that trains (the checkpoint's own when continuing; new for a
    fresh run or a fork). checkpoint_dir: where it writes (absolute), or None. resumed: the
    header of the checkpoint it starts from, or None. origin: None (a fresh run, or one that
    goes on in the store that holds it), "resumed" (its record begins in this store) or
    "forked". record_id: the store's run that goes on, or None for a new record.
    """

    uuid: str
    checkpoint_dir: Path | None
    resumed: CheckpointInfo | None = None
    origin: str | None = None
    record_id: int | None = None

    @property
    def origin_uuid(self) -> str | None:
        return self.resumed.run_uuid if self.origin and self.resumed else None

    @property
    def origin_step(self) -> int | None:
        return self.resumed.step if self.origin and self.resumed else None


def _short(run_uuid: str | None) -> str:
    return f"run {run_uuid}" if run_uuid else "a run without a run id (older steepest)"


def plan_run(resume: str | os.PathLike | None = None,
             checkpoint_dir: str | os.PathLike | None = None, *, fork: bool = False,
             store: Any = None, run_uuid: str | None = None) -> RunPlan:
    """Decide which run trains and check that it may write where it would.

    resume: the checkpoint to start from (None: a fresh run). checkpoint_dir: the folder the
    run will write to (None: none). fork: branch a new run off `resume`. store: a
    `store.RunStore` to look the run up in (None: no record). run_uuid: the identity when the
    caller already opened the run (otherwise it is decided here).
    Raises RunConflictError (nothing written) or CheckpointError for an unreadable checkpoint.
    """
    from steepest.store import new_uuid

    resumed = checkpoint_info(resume) if resume is not None else None
    folder = Path(os.path.abspath(checkpoint_dir)) if checkpoint_dir is not None else None
    continuing = resumed is not None and not fork
    uuid = run_uuid or (resumed.run_uuid if continuing and resumed.run_uuid else new_uuid())
    origin = "forked" if fork and resumed is not None else None
    record_id = None
    if continuing and store is not None:
        record = store.find_uuid(resumed.run_uuid) if resumed.run_uuid else None
        if record is None:
            origin = "resumed"
        else:
            _check_not_behind(resumed, record, store)
            record_id = record.id
    if folder is not None:
        claim_checkpoint_dir(folder, resumed if continuing else None)
    return RunPlan(uuid, folder, resumed, origin, record_id)


def _check_not_behind(resumed: CheckpointInfo, record: Any, store: Any) -> None:
    newer = [c for c in record.checkpoints if c.step is not None and c.step > resumed.step]
    if newer:
        latest = max(newer, key=lambda c: (c.step, c.kind == "last"))
        raise RunConflictError(
            f"--resume {resumed.path} is at step {resumed.step}, but run #{record.id} in "
            f"{store.path} already reached step {latest.step} ({latest.path}): resuming would "
            f"mix two histories in one record. Branch off a new run with --fork (fit: "
            f"fork=True), or resume its latest checkpoint")


def claim_checkpoint_dir(folder: str | os.PathLike, resumed: CheckpointInfo | None) -> None:
    """Check that a run may write its checkpoints into `folder` (nothing is written).

    resumed: the checkpoint the run continues (None for a fresh run or a fork). The folder may
    hold no checkpoint of another run, and none of this run newer than `resumed`; a file there
    that is not a readable checkpoint is never overwritten either.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunConflictError(f"checkpoint folder {folder} is a file, not a folder; give "
                               f"--checkpoint-dir another path")
    for name in CHECKPOINT_FILES:
        path = folder / name
        if not path.exists() and not path.is_symlink():
            continue
        try:
            found = checkpoint_info(path)
        except (CheckpointError, OSError) as error:
            raise RunConflictError(f"{path} is in the way and is not a readable steepest "
                                   f"checkpoint ({error}); give --checkpoint-dir another "
                                   f"folder") from None
        if resumed is None:
            raise RunConflictError(
                f"{folder} already holds the checkpoints of {_short(found.run_uuid)} ({name}, "
                f"step {found.step}): a new run would overwrite them. Give --checkpoint-dir "
                f"another folder, or move those files away")
        if found.run_uuid != resumed.run_uuid:
            raise RunConflictError(
                f"{folder} holds the checkpoints of {_short(found.run_uuid)} ({name}), not of "
                f"the run in {resumed.path}: give --checkpoint-dir another folder")
        if found.step > resumed.step:
            raise RunConflictError(
                f"--resume {resumed.path} is at step {resumed.step}, but {path} of the same run "
                f"is at step {found.step}: resuming would overwrite newer work. Branch off a "
                f"new run with --fork (fit: fork=True), or resume {path}")
