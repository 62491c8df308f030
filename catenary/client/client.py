"""``Client(address)``: the sdk managers' shape, over gRPC. Errors come back as catenary errors."""

from __future__ import annotations

import builtins
import functools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from catenary.api import convert, trust
from catenary.api.errors import from_rpc_error
from catenary.api.event_convert import event_from_pb
from catenary.api.options import message_options
from catenary.api.quorum import standing_from_pb
from catenary.cid import CID, decode, encode
from catenary.client.events import EventClient
from catenary.client.failover import RECONNECT_OPTIONS, FailoverChannel, parse_addresses, position_now, resume
from catenary.client.triggers import ScheduleClient, TriggerClient
from catenary.errors import InputError
from catenary.model import Execution, Status
from catenary.model.enums import Direction, NodeKind
from catenary.model.filter import ExecutionFilter
from catenary.model.results import (
    DEFAULT_MAX_VALUE_SIZE,
    AttestationCheck,
    Dispute,
    OperationInfo,
    Page,
    RunResult,
    RunState,
    Standing,
    StepResult,
    Trace,
    TraceNode,
    VerifyReport,
    WorkflowInfo,
    check_page_size,
    check_trace_request,
    iterate_pages,
)

# The generated modules the server imports too: the client must not import the server.
from catenary.proto.api import (
    execution_pb2,
    execution_pb2_grpc,
    operation_pb2,
    operation_pb2_grpc,
    queue_pb2,
    queue_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    submit_pb2,
    value_pb2,
    value_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)

if TYPE_CHECKING:
    from catenary.client.auth import ClientTLS
    from catenary.trust.identity import Identity

F = TypeVar("F", bound=Callable[..., Any])
CLAIM_GRACE = 30.0  # seconds a Claim may take beyond its wait before the client gives up

# Executions per Updates message the client asks for: one message per execution cost the
# replay more than the executions themselves (docs/benchmarks.md, the stream section).
UPDATES_BATCH = 500


def _rpc(method: F) -> F:
    """Re-raise a server's error as the catenary error it was."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
            raise error from (None if error is exc else exc)

    return wrapper  # type: ignore[return-value]


# Each client wraps one generated stub and converts; the shape repeats by design.
class ExecutionClient:
    def __init__(self, channel: grpc.Channel, addresses: int = 1) -> None:
        self._stub = execution_pb2_grpc.ExecutionStub(channel)
        self._queue = queue_pb2_grpc.QueueStub(channel)
        self._addresses = addresses  # how many to try for latest_seq

    @_rpc
    def get(self, execution_hash: CID) -> Execution:
        return convert.execution_from_pb(
            self._stub.Get(execution_pb2.GetExecutionRequest(hash=execution_hash.cid_bytes))
        )

    @_rpc
    def dispute(self, execution_hash: CID) -> Dispute | None:
        """Why the execution is disputed (a verify re-execution disagreed), None if it is not."""
        return convert.dispute_from_pb(
            self._stub.Get(execution_pb2.GetExecutionRequest(hash=execution_hash.cid_bytes))
        )

    @_rpc
    def list(
        self, flt: ExecutionFilter | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page:
        check_page_size(page_size)  # here: over gRPC a 0 would mean the server's default
        response = self._stub.List(
            execution_pb2.ListExecutionsRequest(
                filter=convert.filter_to_pb(flt or ExecutionFilter()),
                page_size=page_size,
                page_token=page_token or "",
            )
        )
        return Page(
            [convert.execution_from_pb(e) for e in response.executions], response.next_page_token or None
        )

    def iterate(self, flt: ExecutionFilter | None = None, page_size: int = 500) -> Iterator[Execution]:
        """Every match, lazily, page by page."""
        return iterate_pages(self.list, flt, page_size)

    def updates(
        self,
        flt: ExecutionFilter | None = None,
        since_seq: int = 0,
        stop: threading.Event | None = None,
        from_now: bool = False,
        ready: threading.Event | None = None,
        batch: int = UPDATES_BATCH,
    ) -> Iterator[Execution]:
        """Stored matches after ``since_seq``, then live ones; ``ready`` is set once subscribed.

        ``batch``: executions the server may put in one message (0: one per message, as
        before the field existed); the executions and their order are the same either way.
        A node that dies or restarts is reconnected to (the same or the next address) and the
        stream goes on after the last seq yielded: each change once, in seq order.
        """
        request = functools.partial(
            execution_pb2.UpdatesRequest, filter=convert.filter_to_pb(flt or ExecutionFilter()), batch=batch
        )
        stream = resume(
            lambda after, now: self._stub.Updates(request(since_seq=after, from_now=now)),
            # an envelope is read whole before its executions are yielded: its last seq is where
            # a reopened stream goes on
            lambda message: int(message.batch[-1].seq) if message.batch else int(message.seq),
            "catenary-since-seq",
            since_seq,
            from_now,
            stop,
            ready,
            self._addresses,
        )
        try:
            from_pb = convert.execution_from_pb
            for message in stream:
                # An envelope (batch asked for) carries executions; a server that predates
                # the field ignores it and sends each execution as its own message.
                if message.batch:
                    for execution in message.batch:
                        yield from_pb(execution)
                else:
                    yield from_pb(message)
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
            raise error from (None if error is exc else exc)

    @_rpc
    def latest_seq(self) -> int:
        return position_now(
            lambda: self._stub.Updates(execution_pb2.UpdatesRequest(from_now=True)),
            "catenary-since-seq",
            self._addresses,
        )

    @_rpc
    def trace(
        self, execution_hash: CID, direction: Direction | str = Direction.ANCESTORS, depth: int = 0
    ) -> Trace:
        check_trace_request(direction, depth)
        request = execution_pb2.TraceRequest(
            hash=execution_hash.cid_bytes,
            depth=depth,
            direction=execution_pb2.DESCENDANTS
            if direction == Direction.DESCENDANTS
            else execution_pb2.ANCESTORS,
        )
        nodes: list[TraceNode] = []
        for message in self._stub.Trace(request):
            if message.HasField("execution"):
                e = convert.execution_from_pb(message.execution)
                nodes.append(TraceNode(NodeKind.EXECUTION, e.hash, e))
            else:
                ev = message.event
                nodes.append(
                    TraceNode(
                        NodeKind.EVENT,
                        CID(ev.hash),
                        None,
                        tuple(CID(i) for i in ev.inputs),
                        ev.segment,
                        CID(ev.run) if ev.run else None,
                        event_from_pb(message.cause) if message.HasField("cause") else None,
                    )
                )
        known = {n.hash for n in nodes}
        edges = [
            (p, n.hash)
            for n in nodes
            if n.execution is not None
            for p in dict.fromkeys(n.execution.parents)
            if p in known
        ]
        # A run started by another run's result: the edge from the upstream execution, as the sdk's.
        edges += [
            (n.cause.event.source, n.hash)
            for n in nodes
            if n.cause is not None and n.cause.event.source in known
        ]
        return Trace(execution_hash, nodes, edges)

    # NodeLike's signature (model/node.py), which the sdk implements too.
    @_rpc
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
    ) -> Execution:
        return convert.execution_from_pb(
            self._stub.Create(
                execution_pb2.CreateExecutionRequest(
                    workflow=workflow.cid_bytes,
                    run=run.cid_bytes,
                    segment=segment,
                    step=step,
                    operation=operation.cid_bytes,
                    config=config,
                    parents=[p.cid_bytes for p in parents],
                    inputs=[i.cid_bytes for i in inputs],
                )
            )
        )

    @_rpc
    def update(
        self,
        execution_hash: CID,
        status: Status,
        executor: str | None = None,
        output: Any = None,
        error: str | None = None,
        lease: float | None = None,
        attestation: bytes | None = None,
    ) -> Execution:
        """``attestation``: with COMPLETED, the executor's signed attestation block (see
        :meth:`catenary.remote.Worker.attest`); the node refuses a completed report without one."""
        return convert.execution_from_pb(
            self._stub.Update(
                execution_pb2.UpdateExecutionRequest(
                    hash=execution_hash.cid_bytes,
                    status=convert.STATUS_TO_PB[status],
                    executor=executor or "",
                    output=encode(output) if status is Status.COMPLETED else b"",
                    error=error or "",
                    lease_seconds=lease or 0,
                    attestation=attestation or b"",
                )
            )
        )

    @_rpc
    def claim(
        self,
        executor: str,
        queue: str = "",
        operations: Sequence[CID] = (),
        max_count: int = 1,
        lease: float | None = None,
        wait: float = 0.0,
        stop: threading.Event | None = None,
    ) -> builtins.list[Execution]:
        """Claim up to ``max_count`` executions waiting on ``queue`` (Queue.Claim); waits up to
        ``wait`` seconds for work to appear, or until ``stop`` is set (then: nothing). Renew and
        report each with :meth:`update`."""
        call = self._queue.Claim.future(
            queue_pb2.ClaimRequest(
                executor=executor,
                queue=queue,
                operations=[op.cid_bytes for op in operations],
                max=max_count,
                lease_seconds=lease or 0,
                wait_seconds=wait,
            ),
            timeout=wait + CLAIM_GRACE,  # the node answers by then, work or not
        )
        answered = threading.Event()
        call.add_done_callback(lambda _: answered.set())
        while not answered.wait(0.2):  # woken at once by the answer; the stop is looked at 5 times a second
            if stop is not None and stop.is_set():
                call.cancel()
                return []
        reply = call.result()
        return [convert.execution_from_pb(e) for e in reply.executions]


class WorkflowClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = workflow_pb2_grpc.WorkflowStub(channel)

    @_rpc
    def create(self, manifest: str | bytes) -> WorkflowInfo:
        text = manifest.decode("utf-8", "surrogateescape") if isinstance(manifest, bytes) else manifest
        return WorkflowInfo(
            *convert.workflow_from_pb(self._stub.Create(workflow_pb2.CreateWorkflowRequest(manifest=text)))
        )

    @_rpc
    def get(self, workflow_id: CID) -> WorkflowInfo:
        return WorkflowInfo(
            *convert.workflow_from_pb(
                self._stub.Get(workflow_pb2.GetWorkflowRequest(id=workflow_id.cid_bytes))
            )
        )

    @_rpc
    def list(self) -> list[WorkflowInfo]:
        response = self._stub.List(workflow_pb2.ListWorkflowsRequest())
        return [WorkflowInfo(*convert.workflow_from_pb(w)) for w in response.workflows]


# Each client wraps one generated stub and converts; the shape repeats by design.
class OperationClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = operation_pb2_grpc.OperationStub(channel)

    @_rpc
    def get(self, version_id: CID) -> OperationInfo:
        return convert.operation_from_pb(
            self._stub.Get(operation_pb2.GetOperationRequest(version_id=version_id.cid_bytes))
        )

    @_rpc
    def list(self) -> list[OperationInfo]:
        response = self._stub.List(operation_pb2.ListOperationsRequest())
        return [convert.operation_from_pb(o) for o in response.operations]


class RunClient:
    def __init__(self, channel: grpc.Channel, workflows: WorkflowClient) -> None:
        self._stub = run_pb2_grpc.RunStub(channel)
        self._workflows = workflows

    @_rpc
    def new(self, workflow_id: CID, *, queues: Mapping[str, str] | None = None) -> RunState:
        return convert.run_from_pb(
            self._stub.New(run_pb2.NewRunRequest(workflow=workflow_id.cid_bytes, queues=dict(queues or {})))
        )

    @_rpc
    def next(self, run_id: CID, inputs: Sequence[Any] = (), fresh: bool = False) -> StepResult:
        r = self._stub.Next(
            run_pb2.NextRequest(run=run_id.cid_bytes, inputs=[encode(v) for v in inputs], fresh=fresh)
        )
        return StepResult(
            run_id,
            r.segment,
            r.done,
            decode(r.result) if r.HasField("result") else None,
            r.segment_time,
            r.total_time,
            CID(r.final),
        )

    @_rpc
    def get(self, run_id: CID) -> RunState:
        return convert.run_from_pb(self._stub.Get(run_pb2.GetRunRequest(run=run_id.cid_bytes)))

    @_rpc
    def submit(
        self, workflow_id: CID, inputs: Mapping[int, Sequence[Any]] | None = None, fresh: bool = False
    ) -> RunState:
        """Create a run that the node drives to the end; returns at once (catenary.runs.follow)."""
        entries = [
            submit_pb2.SegmentInputs(segment=index, values=[encode(v) for v in values])
            for index, values in sorted((inputs or {}).items())
        ]
        request = submit_pb2.SubmitRequest(workflow=workflow_id.cid_bytes, inputs=entries, fresh=fresh)
        return convert.run_from_pb(self._stub.Submit(request))

    @_rpc
    def cancel(self, run_id: CID, reason: str = "") -> RunState:
        """End a running run ``cancelled`` (by its driver, at the next step boundary)."""
        return convert.run_from_pb(
            self._stub.Cancel(submit_pb2.CancelRunRequest(run=run_id.cid_bytes, reason=reason))
        )

    @_rpc
    def list(self, workflow: CID | None = None, limit: int = 100) -> list[RunState]:
        response = self._stub.List(
            run_pb2.ListRunsRequest(workflow=workflow.cid_bytes if workflow else b"", limit=limit)
        )
        return [convert.run_from_pb(r) for r in response.runs]

    # NodeLike's signature (model/node.py), which the sdk implements too.
    def run(
        self,
        workflow_id: CID,
        inputs: Mapping[int, Sequence[Any]] | None = None,
        fresh: bool = False,
        on_step: Callable[[StepResult], None] | None = None,
        on_start: Callable[[RunState], None] | None = None,
        queues: Mapping[str, str] | None = None,
    ) -> RunResult:
        """new() then next() until done; every segment's input count is checked first."""
        inputs = dict(inputs or {})
        segments = self._workflows.get(workflow_id).workflow.segments
        for index in inputs:
            if not 0 <= index < len(segments):
                raise InputError(
                    f"input for segment {index}, but the workflow has segments 0..{len(segments) - 1}"
                )
        for index, segment in enumerate(segments):
            given = len(inputs.get(index, ()))
            if given != segment.external_slots:
                raise InputError(
                    f"segment {index} takes {segment.external_slots} external input(s), got {given}"
                )
        state = self.new(workflow_id, queues=queues)
        if on_start:
            on_start(state)
        for index in range(len(segments)):
            result = self.next(state.id, inputs.get(index, ()), fresh=fresh)
            if on_step:
                on_step(result)
        return RunResult(self.get(state.id), result)


class ValueClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = value_pb2_grpc.ValueStub(channel)

    @_rpc
    def get_bytes(self, cid: CID) -> bytes:
        return bytes(self._stub.Get(value_pb2.GetValueRequest(cid=cid.cid_bytes)).data)

    def get(self, cid: CID) -> Any:
        return decode(self.get_bytes(cid))

    @_rpc
    def put(self, value: Any) -> CID:
        return CID(self._stub.Put(value_pb2.PutValueRequest(data=encode(value))).cid)


class TrustClient:
    """``client.trust``: verification by re-execution on the remote node (bundles stay local)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = execution_pb2_grpc.ExecutionStub(channel)

    @_rpc
    def verify(self, execution_hash: CID, trace: bool = False) -> VerifyReport:
        """As ``node.trust.verify``: the remote node re-executes and signs what it verified."""
        return trust.report_from_pb(
            self._stub.Verify(execution_pb2.VerifyRequest(hash=execution_hash.cid_bytes, trace=trace))
        )


class AttestationClient:
    """``client.attestations``: an execution's attestations, each checked by the remote node."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = execution_pb2_grpc.ExecutionStub(channel)

    @_rpc
    def list(self, execution_hash: CID) -> list[AttestationCheck]:
        response = self._stub.Attestations(execution_pb2.AttestationsRequest(hash=execution_hash.cid_bytes))
        return [trust.check_from_pb(a) for a in response.attestations]


class AcceptanceClient:
    """``client.acceptance``: whether an execution's output counts under the remote node's policy."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = execution_pb2_grpc.ExecutionStub(channel)

    @_rpc
    def get(self, execution_hash: CID) -> Standing:
        return standing_from_pb(
            self._stub.Acceptance(execution_pb2.GetExecutionRequest(hash=execution_hash.cid_bytes))
        )


class Client:
    """A remote node: ``client.executions.get / list / updates``, ``client.runs.next``, ..."""

    def __init__(
        self,
        address: str | Sequence[str],
        max_value_size: int = DEFAULT_MAX_VALUE_SIZE,
        timeout: float | None = None,
        key: Identity | None = None,
        tls: ClientTLS | None = None,
        audience: str | None = None,
        sessions: bool = True,
    ) -> None:
        """``key`` proves the caller on every call, by a session (one signature, then a MAC per
        call) or, with ``sessions=False``, a signed token per call; ``tls`` (a CA, and a client
        certificate for mutual TLS) secures the channel; ``audience`` is the node's did, else
        asked of it. ``address``: one node, or several of one database (a list, or separated
        by commas), tried in order when one is unavailable (:mod:`catenary.client.failover`)."""
        from catenary.client.auth import open_channel

        self.addresses = parse_addresses(address)
        self.address = ",".join(self.addresses)
        options = [*message_options(max_value_size), *RECONNECT_OPTIONS]
        self._channel = FailoverChannel(
            self.addresses, [open_channel(a, options, key, tls, audience, sessions) for a in self.addresses]
        )
        self.executions = ExecutionClient(self._channel, len(self.addresses))
        self.workflows = WorkflowClient(self._channel)
        self.operations = OperationClient(self._channel)
        self.runs = RunClient(self._channel, self.workflows)
        self.values = ValueClient(self._channel)
        self.trust = TrustClient(self._channel)
        self.attestations = AttestationClient(self._channel)
        self.acceptance = AcceptanceClient(self._channel)
        self.events = EventClient(self._channel, key, _rpc, len(self.addresses))
        self.triggers = TriggerClient(self._channel, _rpc)
        self.schedules = ScheduleClient(self._channel, _rpc)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
