"""The execution record (SPEC §4) and its two hashes (SPEC §2)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID, block_cid, encode
from catenary.cid.codec import encode_trusted
from catenary.errors import StatusTransitionError


class Status(str, enum.Enum):  # noqa: UP042 - StrEnum would change str() of a member
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
    workflow: CID,
    segment: int,
    step: int,
    operation: CID,
    config: dict[str, str],
    parents: list[CID],
    inputs: list[CID],
) -> dict[str, Any]:
    """The hashed pre-image of an execution ``hash``."""
    return {
        "workflow": workflow,
        "segment": segment,
        "step": step,
        "operation": operation,
        "config": config,
        "parents": parents,
        "inputs": inputs,
    }


def key_data(operation: CID, config: dict[str, str], inputs: list[CID]) -> dict[str, Any]:
    """The hashed pre-image of an execution ``key`` (the pure computation)."""
    return {"operation": operation, "config": config, "inputs": inputs}


@dataclass(frozen=True)
class Preimages:
    """An execution's two pre-images, encoded once, with the CIDs they name (SPEC §2).

    The bytes are kept because a proof bundle stores the pre-images as blocks."""

    hash: CID
    key: CID
    hash_block: bytes
    key_block: bytes


@dataclass(frozen=True)
class Invocation:
    """The fields an execution's ``hash`` covers: what ran, where in which workflow, on what.

    This is the one place a pre-image is built; the engine, the sdk, the verifier and the
    bundle code all go through :meth:`preimages` and :meth:`record`."""

    # The same seven fields as in Execution (the duplicate finder pairs the two lists), on
    # purpose: Execution stays flat, in SPEC §4's order, for every reader of records.

    workflow: CID
    segment: int
    step: int
    operation: CID
    config: dict[str, str]
    parents: tuple[CID, ...]
    inputs: tuple[CID, ...]

    def preimages(self, trusted: bool = False) -> Preimages:
        """Encode both pre-images. ``trusted`` skips the DAG-CBOR value checks (same bytes):
        for the engine, whose CIDs, small ints and validated config strings have nothing for
        them to find and which would pay for them at every step. Untrusted fields (a stored
        or received record) keep the checks, which raise EncodingError naming the field."""
        encode_ = encode_trusted if trusted else encode
        config, inputs = dict(self.config), list(self.inputs)
        hash_block = encode_(
            hash_data(
                self.workflow, self.segment, self.step, self.operation, config, list(self.parents), inputs
            )
        )
        key_block = encode_(key_data(self.operation, config, inputs))
        return Preimages(block_cid(hash_block), block_cid(key_block), hash_block, key_block)

    def record(
        self,
        run: CID,
        status: Status,
        *,
        ids: Preimages | None = None,
        output: CID | None = None,
        error: str | None = None,
        executor: str | None = None,
        cached_from: CID | None = None,
        created_at: int,
        started_at: int | None = None,
        finished_at: int | None = None,
        seq: int = 0,
    ) -> Execution:
        """The execution record of this invocation in ``run``. ``ids`` are its pre-images when
        the caller has them already (computed here otherwise, with the value checks)."""
        ids = ids or self.preimages()
        return Execution(
            hash=ids.hash,
            key=ids.key,
            workflow=self.workflow,
            run=run,
            segment=self.segment,
            step=self.step,
            operation=self.operation,
            config=dict(self.config),
            parents=self.parents,
            inputs=self.inputs,
            status=status,
            output=output,
            error=error,
            executor=executor,
            cached_from=cached_from,
            created_at=created_at,
            started_at=started_at,
            finished_at=finished_at,
            seq=seq,
        )


@dataclass(frozen=True)
class Execution:
    """One operation invocation, as stored. Field names are those of SPEC §4."""

    # Seven of these fields are Invocation's too, on purpose (see there): the record stays flat.
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

    @property
    def invocation(self) -> Invocation:
        """The hashed fields of this record, to recompute its pre-images from."""
        return Invocation(
            self.workflow,
            self.segment,
            self.step,
            self.operation,
            self.config,
            tuple(self.parents),
            tuple(self.inputs),
        )

    def recomputed_hash(self) -> CID:
        return self.invocation.preimages().hash

    def recomputed_key(self) -> CID:
        return self.invocation.preimages().key
