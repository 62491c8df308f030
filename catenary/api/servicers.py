"""Thin gRPC servicers: convert the request, call the sdk, convert the answer."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from catenary.api import convert, trust
from catenary.api.auth import CALLER
from catenary.api.errors import stream, unary
from catenary.api.event_convert import event_to_pb
from catenary.api.quorum import standing_to_pb
from catenary.api.streams import Subscriptions, envelopes
from catenary.cid import decode
from catenary.errors import BadInputError
from catenary.model import Direction, Execution, Status

# The generated modules; the client and api/server.py list them too (imports, no logic).
from catenary.proto.api import (
    execution_pb2,
    execution_pb2_grpc,
    operation_pb2,
    operation_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    submit_pb2,
    value_pb2,
    value_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from catenary.proto.definition import event_pb2, quorum_pb2
from catenary.proto.definition import execution_pb2 as execution_def_pb2
from catenary.proto.definition import operation_pb2 as operation_def_pb2
from catenary.proto.definition import run_pb2 as run_def_pb2
from catenary.proto.definition import value_pb2 as value_def_pb2
from catenary.proto.definition import workflow_pb2 as workflow_def_pb2
from catenary.sdk import Node

DEFAULT_PAGE_SIZE = 100
RECENT_MESSAGES = 4096  # Updates messages kept converted, shared by every subscriber


class ExecutionServicer(execution_pb2_grpc.ExecutionServicer):
    def __init__(self, node: Node, subscriptions: Subscriptions | None = None) -> None:
        self.node = node
        self.subscriptions = subscriptions or Subscriptions()
        self._recent: dict[tuple[bytes, int], execution_def_pb2.Execution] = {}

    def _message(self, execution: Execution) -> execution_def_pb2.Execution:
        """The message for a change, converted once for all the subscribers that get it."""
        key = (execution.hash.cid_bytes, execution.seq)
        message = self._recent.get(key)
        if message is None:
            message = convert.execution_to_pb(execution)
            if len(self._recent) >= RECENT_MESSAGES:
                self._recent.clear()  # cheap bound; it refills with the next batch
            self._recent[key] = message
        return message

    @unary
    def Get(
        self, request: execution_pb2.GetExecutionRequest, context: grpc.ServicerContext
    ) -> execution_def_pb2.Execution:
        h = convert.cid(request.hash, "hash")
        return convert.execution_to_pb(self.node.executions.get(h), self.node.executions.dispute(h))

    @unary
    def List(
        self, request: execution_pb2.ListExecutionsRequest, context: grpc.ServicerContext
    ) -> execution_pb2.ListExecutionsResponse:
        page = self.node.executions.list(
            convert.filter_from_pb(request.filter),
            request.page_size or DEFAULT_PAGE_SIZE,
            request.page_token or None,
        )
        return execution_pb2.ListExecutionsResponse(
            executions=[convert.execution_to_pb(e) for e in page.executions],
            next_page_token=page.next_page_token or "",
        )

    @stream
    def Updates(
        self, request: execution_pb2.UpdatesRequest, context: grpc.ServicerContext
    ) -> Iterator[execution_def_pb2.Execution]:
        flt = convert.filter_from_pb(request.filter)
        since = self.node.executions.latest_seq() if request.from_now else request.since_seq
        with self.subscriptions.open(context) as stop:
            if stop is None:
                return
            # Tell the client it is subscribed before the first change arrives, so it
            # can subscribe, then create, and miss nothing.
            context.send_initial_metadata((("catenary-since-seq", str(since)),))
            # The sync server sends one message at a time: a slow subscriber holds its
            # own thread back (back-pressure), never the writers or server memory.
            if not request.batch:
                for execution in self.node.executions.updates(flt, since, stop=stop):
                    yield self._message(execution)
                return
            for chunk in self.node.executions.update_chunks(flt, since, stop=stop):
                yield from envelopes(map(self._message, chunk), request.batch)

    @unary
    def Create(
        self, request: execution_pb2.CreateExecutionRequest, context: grpc.ServicerContext
    ) -> execution_def_pb2.Execution:
        return convert.execution_to_pb(
            self.node.executions.create(
                workflow=convert.cid(request.workflow, "workflow"),
                run=convert.cid(request.run, "run"),
                segment=request.segment,
                step=request.step,
                operation=convert.cid(request.operation, "operation"),
                config=dict(request.config),
                parents=[convert.cid(p, f"parents[{i}]") for i, p in enumerate(request.parents)],
                inputs=[convert.cid(v, f"inputs[{i}]") for i, v in enumerate(request.inputs)],
            )
        )

    @unary
    def Update(
        self, request: execution_pb2.UpdateExecutionRequest, context: grpc.ServicerContext
    ) -> execution_def_pb2.Execution:
        execution_hash = convert.cid(request.hash, "hash")
        status = convert.status(request.status)
        executor = executor_of(request.executor, self.node.id)
        if status is not Status.COMPLETED:
            return convert.execution_to_pb(
                self.node.executions.update(
                    execution_hash,
                    status,
                    executor,
                    error=request.error or None,
                    lease=request.lease_seconds or None,
                    signed=True,
                )
            )
        if not request.output:
            raise BadInputError("a completed execution needs its output (DAG-CBOR bytes)")
        # The sdk checks the executor's attestation (signer holds the lease, attests this
        # output), then the output against the operation's declared type: a mismatch fails
        # the execution with the reason, for a Python caller and a gRPC one alike.
        return convert.execution_to_pb(
            self.node.executions.update(
                execution_hash,
                Status.COMPLETED,
                executor,
                output=decode(request.output),
                attestation=request.attestation or None,
                signed=True,
            )
        )

    @stream
    def Trace(
        self, request: execution_pb2.TraceRequest, context: grpc.ServicerContext
    ) -> Iterator[execution_pb2.TraceNode]:
        # proto3 enums are open: an unknown number arrives as is and must not mean "ancestors".
        direction = {
            execution_pb2.ANCESTORS: Direction.ANCESTORS,
            execution_pb2.DESCENDANTS: Direction.DESCENDANTS,
        }.get(request.direction)
        if direction is None:
            raise BadInputError(f"direction: unknown value {request.direction} (ANCESTORS or DESCENDANTS)")
        trace = self.node.executions.trace(convert.cid(request.hash, "hash"), direction, request.depth)
        for node in trace.nodes:
            if node.execution is not None:
                yield execution_pb2.TraceNode(execution=convert.execution_to_pb(node.execution))
            else:
                yield execution_pb2.TraceNode(
                    event=event_pb2.Event(
                        hash=node.hash.cid_bytes,
                        run=node.run.cid_bytes if node.run else b"",
                        segment=node.segment or 0,
                        inputs=[i.cid_bytes for i in node.inputs],
                    ),
                    cause=event_to_pb(node.cause) if node.cause is not None else None,
                )

    @unary
    def Verify(
        self, request: execution_pb2.VerifyRequest, context: grpc.ServicerContext
    ) -> execution_pb2.VerifyResponse:
        return trust.report_to_pb(
            self.node.trust.verify(convert.cid(request.hash, "hash"), trace=request.trace)
        )

    @unary
    def Attestations(
        self, request: execution_pb2.AttestationsRequest, context: grpc.ServicerContext
    ) -> execution_pb2.AttestationsResponse:
        checks = self.node.attestations.list(convert.cid(request.hash, "hash"))
        return execution_pb2.AttestationsResponse(attestations=[trust.check_to_pb(c) for c in checks])

    @unary
    def Acceptance(
        self, request: execution_pb2.GetExecutionRequest, context: grpc.ServicerContext
    ) -> quorum_pb2.Standing:
        return standing_to_pb(self.node.acceptance.get(convert.cid(request.hash, "hash")))


def executor_of(named: str, node_id: str) -> str | None:
    """Who claims or reports: an authenticated caller is its own did:key. Only the node's own
    key (its operator, as the local CLI) and anonymous callers (an open policy) name another."""
    caller = CALLER.get()
    if caller is None or (caller == node_id and named):
        return named or None
    if named and named != caller:
        raise BadInputError(
            f"executor: {named!r} is not the caller's key {caller}; send its did:key or nothing"
        )
    return caller


# Every servicer holds the node and converts; alike in shape by design.
class WorkflowServicer(workflow_pb2_grpc.WorkflowServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    @unary
    def Create(
        self, request: workflow_pb2.CreateWorkflowRequest, context: grpc.ServicerContext
    ) -> workflow_def_pb2.Workflow:
        info = self.node.workflows.create(request.manifest)
        return convert.workflow_to_pb(info.id, info.workflow)

    @unary
    def Get(
        self, request: workflow_pb2.GetWorkflowRequest, context: grpc.ServicerContext
    ) -> workflow_def_pb2.Workflow:
        info = self.node.workflows.get(convert.cid(request.id, "id"))
        return convert.workflow_to_pb(info.id, info.workflow)

    @unary
    def List(
        self, request: workflow_pb2.ListWorkflowsRequest, context: grpc.ServicerContext
    ) -> workflow_pb2.ListWorkflowsResponse:
        return workflow_pb2.ListWorkflowsResponse(
            workflows=[
                convert.workflow_to_pb(i.id, i.workflow, i.created_at) for i in self.node.workflows.list()
            ]
        )


# Every servicer holds the node and converts; alike in shape by design.
class OperationServicer(operation_pb2_grpc.OperationServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    @unary
    def Get(
        self, request: operation_pb2.GetOperationRequest, context: grpc.ServicerContext
    ) -> operation_def_pb2.Operation:
        return convert.operation_to_pb(
            self.node.operations.get(convert.cid(request.version_id, "version_id"))
        )

    @unary
    def List(
        self, request: operation_pb2.ListOperationsRequest, context: grpc.ServicerContext
    ) -> operation_pb2.ListOperationsResponse:
        return operation_pb2.ListOperationsResponse(
            operations=[convert.operation_to_pb(i) for i in self.node.operations.list()]
        )


class RunServicer(run_pb2_grpc.RunServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    @unary
    def New(self, request: run_pb2.NewRunRequest, context: grpc.ServicerContext) -> run_def_pb2.Run:
        workflow = convert.cid(request.workflow, "workflow")
        return convert.run_to_pb(self.node.runs.new(workflow, queues=dict(request.queues)))

    @unary
    def Next(self, request: run_pb2.NextRequest, context: grpc.ServicerContext) -> run_pb2.NextResponse:
        inputs = [decode(data) for data in request.inputs]
        result = self.node.runs.next(convert.cid(request.run, "run"), inputs, fresh=request.fresh)
        response = run_pb2.NextResponse(
            done=result.done,
            segment_time=result.segment_time,
            total_time=result.total_time,
            final=result.final.cid_bytes,
            segment=result.segment,
        )
        if result.done:
            response.result = self.node.values.encode(result.result)[1]
        return response

    @unary
    def Get(self, request: run_pb2.GetRunRequest, context: grpc.ServicerContext) -> run_def_pb2.Run:
        return convert.run_to_pb(self.node.runs.get(convert.cid(request.run, "run")))

    @unary
    def Submit(self, request: submit_pb2.SubmitRequest, context: grpc.ServicerContext) -> run_def_pb2.Run:
        inputs: dict[int, list[object]] = {}
        for entry in request.inputs:
            if entry.segment in inputs:
                raise BadInputError(f"inputs: segment {entry.segment} is given twice")
            inputs[entry.segment] = [decode(v) for v in entry.values]
        workflow = convert.cid(request.workflow, "workflow")
        return convert.run_to_pb(self.node.runs.submit(workflow, inputs, fresh=request.fresh))

    @unary
    def Cancel(self, request: submit_pb2.CancelRunRequest, context: grpc.ServicerContext) -> run_def_pb2.Run:
        run = convert.cid(request.run, "run")
        return convert.run_to_pb(
            self.node.runs.cancel(run, request.reason, by=CALLER.get() or "an anonymous caller")
        )

    @unary
    def List(
        self, request: run_pb2.ListRunsRequest, context: grpc.ServicerContext
    ) -> run_pb2.ListRunsResponse:
        workflow = convert.optional_cid(request.workflow, "workflow")
        states = self.node.runs.list(workflow, request.limit or 100)
        return run_pb2.ListRunsResponse(runs=[convert.run_to_pb(s) for s in states])


class ValueServicer(value_pb2_grpc.ValueServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    @unary
    def Get(self, request: value_pb2.GetValueRequest, context: grpc.ServicerContext) -> value_def_pb2.Value:
        cid = convert.cid(request.cid, "cid")
        return value_def_pb2.Value(cid=cid.cid_bytes, data=self.node.values.get_bytes(cid))

    @unary
    def Put(self, request: value_pb2.PutValueRequest, context: grpc.ServicerContext) -> value_def_pb2.Value:
        cid = self.node.values.put_bytes(request.data)
        return value_def_pb2.Value(cid=cid.cid_bytes, data=request.data)
