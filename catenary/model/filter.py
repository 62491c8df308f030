"""The execution filter (SPEC §5): every field narrows the match; empty means all."""

from __future__ import annotations

from dataclasses import dataclass

from catenary.cid import CID
from catenary.errors import BadInputError
from catenary.model.enums import Acceptance
from catenary.model.execution import Execution, Status

_INT64 = (-(2**63), 2**63 - 1)  # what the store's integer columns hold


@dataclass(frozen=True)
class ExecutionFilter:
    """Which executions to list or watch. ``statuses`` matches any of them."""

    statuses: tuple[Status, ...] = ()
    workflow: CID | None = None
    run: CID | None = None
    operation: CID | None = None  # the version id
    segment: int | None = None
    parent: CID | None = None
    key: CID | None = None
    created_after: int | None = None  # unix ns, exclusive
    created_before: int | None = None  # unix ns, exclusive
    input: CID | None = None  # executions that took this value as one of their inputs
    output: CID | None = None  # executions that produced this value
    # Decided by the node's quorum policy, not by the record: the sdk applies it to listed
    # pages (the store and matches() leave it out); updates refuse it.
    acceptance: Acceptance | None = None

    def __post_init__(self) -> None:
        # An integer the database cannot hold would fail deep in the store (OverflowError):
        # refuse it here, naming the field, whichever surface built the filter.
        for name in ("segment", "created_after", "created_before"):
            value = getattr(self, name)
            if value is None:
                continue
            if type(value) is not int:
                raise BadInputError(f"filter {name}: expected an integer, got {type(value).__name__}")
            if not _INT64[0] <= value <= _INT64[1]:
                raise BadInputError(
                    f"filter {name}: an integer of {value.bit_length()} bits is outside the 64-bit range"
                )

    def matches(self, execution: Execution) -> bool:
        """The same test the store applies, for live updates."""
        return (
            (not self.statuses or execution.status in self.statuses)
            and (self.workflow is None or execution.workflow == self.workflow)
            and (self.run is None or execution.run == self.run)
            and (self.operation is None or execution.operation == self.operation)
            and (self.segment is None or execution.segment == self.segment)
            and (self.parent is None or self.parent in execution.parents)
            and (self.key is None or execution.key == self.key)
            and (self.created_after is None or execution.created_at > self.created_after)
            and (self.created_before is None or execution.created_at < self.created_before)
            and (self.input is None or self.input in execution.inputs)
            and (self.output is None or execution.output == self.output)
        )
