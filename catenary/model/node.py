"""``NodeLike``: the shape a local :class:`~catenary.sdk.Node` and a remote
:class:`~catenary.client.Client` share, one protocol per manager.

Code written against ``NodeLike`` (the CLI, a test suite, an application) runs on a node in
this process or on one across the network without a change. Only what both offer is here:
a node's own powers (bundles, sweeping leases, its store) stay on ``Node``.

Members are read-only properties so that a manager's concrete class satisfies them.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from catenary.cid import CID
from catenary.model.emitted import EmittedEvent, SignedEvent
from catenary.model.enums import Direction
from catenary.model.execution import Execution, Status
from catenary.model.filter import ExecutionFilter
from catenary.model.results import (
    AttestationCheck,
    Dispute,
    OperationInfo,
    Page,
    RunResult,
    RunState,
    Standing,
    StepResult,
    Trace,
    VerifyReport,
    WorkflowInfo,
)


class ExecutionsLike(Protocol):
    """``node.executions``: read, follow and trace executions; report as an executor."""

    def get(self, execution_hash: CID) -> Execution: ...

    def list(
        self, flt: ExecutionFilter | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page: ...

    def iterate(self, flt: ExecutionFilter | None = None, page_size: int = 500) -> Iterator[Execution]: ...

    def updates(
        self, flt: ExecutionFilter | None = None, since_seq: int = 0, stop: threading.Event | None = None
    ) -> Iterator[Execution]: ...

    def latest_seq(self) -> int: ...

    def dispute(self, execution_hash: CID) -> Dispute | None: ...

    def trace(
        self, execution_hash: CID, direction: Direction | str = Direction.ANCESTORS, depth: int = 0
    ) -> Trace: ...

    # Implemented by sdk/execution.py and client/client.py with this same signature (a protocol stub).
    def create(
        self,
        workflow: CID,
        run: CID,
        segment: int,
        step: int,
        operation: CID,
        config: dict[str, str],
        parents: builtins.list[CID],
        inputs: builtins.list[CID],
    ) -> Execution: ...

    def update(
        self,
        execution_hash: CID,
        status: Status,
        executor: str | None = None,
        output: Any = None,
        error: str | None = None,
        lease: float | None = None,
        attestation: bytes | None = None,
    ) -> Execution: ...


class WorkflowsLike(Protocol):
    """``node.workflows``: store a manifest, read workflows back."""

    def create(self, manifest: str | bytes) -> WorkflowInfo: ...

    def get(self, workflow_id: CID) -> WorkflowInfo: ...

    def list(self) -> list[WorkflowInfo]: ...


class OperationsLike(Protocol):
    """``node.operations``: the operation versions a node knows."""

    def get(self, version_id: CID) -> OperationInfo: ...

    def list(self) -> list[OperationInfo]: ...


class RunsLike(Protocol):
    """``node.runs``: start runs and step them."""

    def new(self, workflow_id: CID, *, queues: Mapping[str, str] | None = None) -> RunState: ...

    def next(self, run_id: CID, inputs: Sequence[Any] = (), fresh: bool = False) -> StepResult: ...

    def get(self, run_id: CID) -> RunState: ...

    def list(self, workflow: CID | None = None, limit: int = 100) -> list[RunState]: ...

    def submit(
        self, workflow_id: CID, inputs: Mapping[int, Sequence[Any]] | None = None, fresh: bool = False
    ) -> RunState: ...

    def cancel(self, run_id: CID, reason: str = "") -> RunState: ...

    # Implemented by sdk/run.py and client/client.py with this same signature (a protocol stub).
    def run(
        self,
        workflow_id: CID,
        inputs: Mapping[int, Sequence[Any]] | None = None,
        fresh: bool = False,
        on_step: Callable[[StepResult], None] | None = None,
        on_start: Callable[[RunState], None] | None = None,
        queues: Mapping[str, str] | None = None,
    ) -> RunResult: ...


class ValuesLike(Protocol):
    """``node.values``: the content-addressed value store."""

    def get(self, cid: CID) -> Any: ...

    def get_bytes(self, cid: CID) -> bytes: ...

    def put(self, value: Any) -> CID: ...


class TrustLike(Protocol):
    """``node.trust``: verification by re-execution (on the node that holds the records)."""

    def verify(self, execution_hash: CID, trace: bool = False) -> VerifyReport: ...


class AttestationsLike(Protocol):
    """``node.attestations``: an execution's signed attestations, each checked."""

    def list(self, execution_hash: CID) -> list[AttestationCheck]: ...


class AcceptanceLike(Protocol):
    """``node.acceptance``: whether an execution's output counts under the node's quorum policy."""

    def get(self, execution_hash: CID) -> Standing: ...


class EventsLike(Protocol):
    """``node.events``: emitted events, signed by their emitter (the node's or the client's key)."""

    def emit(self, key: str, data: Any) -> SignedEvent: ...

    def get(self, event_id: CID) -> SignedEvent: ...

    def data(self, event: EmittedEvent) -> Any: ...

    def list(
        self, key: str | None = None, emitter: str | None = None, after: int = 0, limit: int = 100
    ) -> builtins.list[SignedEvent]: ...

    def updates(
        self,
        key: str | None = None,
        emitter: str | None = None,
        after: int = 0,
        stop: threading.Event | None = None,
    ) -> Iterator[SignedEvent]: ...

    def latest_position(self) -> int: ...


@runtime_checkable
class NodeLike(Protocol):
    """A node, here or remote: ``node.executions.get(...)``, ``node.runs.next(...)``, ..."""

    # One property per manager: protocol stubs, alike in shape by nature.
    @property
    def executions(self) -> ExecutionsLike: ...

    @property
    def workflows(self) -> WorkflowsLike: ...

    @property
    def operations(self) -> OperationsLike: ...

    @property
    def runs(self) -> RunsLike: ...

    @property
    def values(self) -> ValuesLike: ...

    @property
    def trust(self) -> TrustLike: ...

    @property
    def attestations(self) -> AttestationsLike: ...

    @property
    def events(self) -> EventsLike: ...

    @property
    def acceptance(self) -> AcceptanceLike: ...

    def close(self) -> None: ...
