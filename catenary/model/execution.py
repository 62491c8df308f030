"""The execution record (SPEC §4) and its two hashes (SPEC §2)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID, cid_of
from catenary.errors import StatusTransitionError


class Status(str, enum.Enum):
    """Execution status; the only path is created -> in_progress -> completed | failed."""

    CREATED = "created"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


_NEXT = {
    Status.CREATED: (Status.IN_PROGRESS,),
    Status.IN_PROGRESS: (Status.COMPLETED, Status.FAILED),
    Status.COMPLETED: (),
    Status.FAILED: (),
}


def check_transition(current: Status, new: Status) -> None:
    """Raise StatusTransitionError unless ``current -> new`` is allowed."""
    if new not in _NEXT[current]:
        expected = " or ".join(s.value for s in _NEXT[current]) or "nothing (terminal)"
        raise StatusTransitionError(
            f"cannot move an execution from {current.value} to {new.value}: from {current.value} "
            f"the next status must be {expected}"
        )


def hash_data(
    workflow: CID, segment: int, step: int, operation: CID, config: dict[str, str],
    parents: list[CID], inputs: list[CID],
) -> dict[str, Any]:
    """The hashed pre-image of an execution ``hash``."""
    return {
        "workflow": workflow, "segment": segment, "step": step, "operation": operation,
        "config": config, "parents": parents, "inputs": inputs,
    }


def key_data(operation: CID, config: dict[str, str], inputs: list[CID]) -> dict[str, Any]:
    """The hashed pre-image of an execution ``key`` (the pure computation)."""
    return {"operation": operation, "config": config, "inputs": inputs}


@dataclass(frozen=True)
class Execution:
    """One operation invocation, as stored. Field names are those of SPEC §4."""

    hash: CID
    key: CID
    workflow: CID
    run: CID
    segment: int
    step: int
    operation: CID
    config: dict[str, str]
    parents: tuple[CID, ...]
    inputs: tuple[CID, ...]
    status: Status
    output: CID | None
    error: str | None
    executor: str | None
    cached_from: CID | None
    created_at: int
    started_at: int | None
    finished_at: int | None
    seq: int

    @property
    def duration_ns(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def recomputed_hash(self) -> CID:
        return cid_of(hash_data(self.workflow, self.segment, self.step, self.operation, self.config,
                                list(self.parents), list(self.inputs)))

    def recomputed_key(self) -> CID:
        return cid_of(key_data(self.operation, self.config, list(self.inputs)))
