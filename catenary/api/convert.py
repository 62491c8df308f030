"""Protobuf messages <-> catenary dataclasses, used by the servicers and the client alike."""

from __future__ import annotations

import json

from catenary.api.quorum import ACCEPTANCE_TO_PB, acceptance_from_pb
from catenary.cid import CID, decode, encode
from catenary.errors import BadInputError, InvalidCIDError
from catenary.model import Execution, OperationManifest, OperationVersion, Segment, Status, Step, Workflow
from catenary.model.filter import ExecutionFilter
from catenary.model.results import Dispute, OperationInfo, RunState, SegmentOutput
from catenary.proto.definition import execution_pb2, operation_pb2, run_pb2, workflow_pb2

STATUS_TO_PB = {
    Status.CREATED: execution_pb2.CREATED,
    Status.IN_PROGRESS: execution_pb2.IN_PROGRESS,
    Status.COMPLETED: execution_pb2.COMPLETED,
    Status.FAILED: execution_pb2.FAILED,
}
STATUS_FROM_PB: dict[int, Status] = {v: k for k, v in STATUS_TO_PB.items()}


def cid(data: bytes, field: str) -> CID:
    """A required binary CID field."""
    if not data:
        raise BadInputError(f"{field}: a CID is required")
    try:
        return CID.from_bytes(data)
    except InvalidCIDError as exc:
        raise InvalidCIDError(f"{field}: {exc}") from exc


def optional_cid(data: bytes, field: str) -> CID | None:
    return cid(data, field) if data else None


def status(value: int, field: str = "status") -> Status:
    try:
        return STATUS_FROM_PB[value]
    except KeyError as exc:
        raise BadInputError(f"{field}: unknown status {value}") from exc


def execution_to_pb(e: Execution, dispute: Dispute | None = None) -> execution_pb2.Execution:
    """``dispute``: Execution.Get's answer says whether the execution is disputed."""
    msg = execution_pb2.Execution(
        hash=e.hash.cid_bytes,
        key=e.key.cid_bytes,
        workflow=e.workflow.cid_bytes,
        run=e.run.cid_bytes,
        segment=e.segment,
        step=e.step,
        operation=e.operation.cid_bytes,
        config=e.config,
        parents=[p.cid_bytes for p in e.parents],
        inputs=[i.cid_bytes for i in e.inputs],
        status=STATUS_TO_PB[e.status],
        created_at=e.created_at,
        seq=e.seq,
    )
    # proto3 optional fields: set only when present, so the reader's HasField tells None apart.
    optional: dict[str, CID | str | int | None] = {
        "output": e.output,
        "error": e.error,
        "executor": e.executor,
        "cached_from": e.cached_from,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
    }
    for name, value in optional.items():
        if value is not None:
            setattr(msg, name, value.cid_bytes if isinstance(value, CID) else value)
    if dispute is not None:
        msg.disputed.CopyFrom(execution_pb2.Dispute(at=dispute.at, detail=dispute.detail))
    return msg


def dispute_from_pb(m: execution_pb2.Execution) -> Dispute | None:
    """Why the execution in Execution.Get's answer is disputed, None if it is not."""
    if not m.HasField("disputed"):
        return None
    return Dispute(CID(m.hash), m.disputed.at, m.disputed.detail)


def execution_from_pb(m: execution_pb2.Execution) -> Execution:
    return Execution(
        hash=CID(m.hash),
        key=CID(m.key),
        workflow=CID(m.workflow),
        run=CID(m.run),
        segment=m.segment,
        step=m.step,
        operation=CID(m.operation),
        config=dict(m.config),
        parents=tuple(CID(p) for p in m.parents),
        inputs=tuple(CID(i) for i in m.inputs),
        status=STATUS_FROM_PB[m.status],
        output=CID(m.output) if m.HasField("output") else None,
        error=m.error if m.HasField("error") else None,
        executor=m.executor if m.HasField("executor") else None,
        cached_from=CID(m.cached_from) if m.HasField("cached_from") else None,
        created_at=m.created_at,
        started_at=m.started_at if m.HasField("started_at") else None,
        finished_at=m.finished_at if m.HasField("finished_at") else None,
        seq=m.seq,
    )


def filter_from_pb(m: execution_pb2.Filter) -> ExecutionFilter:
    return ExecutionFilter(
        statuses=tuple(status(s, "filter.statuses") for s in m.statuses),
        workflow=optional_cid(m.workflow, "filter.workflow"),
        run=optional_cid(m.run, "filter.run"),
        operation=optional_cid(m.operation, "filter.operation"),
        segment=m.segment if m.HasField("segment") else None,
        parent=optional_cid(m.parent, "filter.parent"),
        key=optional_cid(m.key, "filter.key"),
        created_after=m.created_after if m.HasField("created_after") else None,
        created_before=m.created_before if m.HasField("created_before") else None,
        input=optional_cid(m.input, "filter.input"),
        output=optional_cid(m.output, "filter.output"),
        acceptance=acceptance_from_pb(m.acceptance, "filter.acceptance"),
    )


def filter_to_pb(f: ExecutionFilter) -> execution_pb2.Filter:
    msg = execution_pb2.Filter(statuses=[STATUS_TO_PB[s] for s in f.statuses])
    for name in ("workflow", "run", "operation", "parent", "key", "input", "output"):
        value = getattr(f, name)
        if value is not None:
            setattr(msg, name, value.cid_bytes)
    for name in ("segment", "created_after", "created_before"):
        value = getattr(f, name)
        if value is not None:
            setattr(msg, name, value)
    if f.acceptance is not None:
        msg.acceptance = ACCEPTANCE_TO_PB[f.acceptance]
    return msg


def workflow_to_pb(workflow_id: CID, w: Workflow, created_at: int | None = None) -> workflow_pb2.Workflow:
    return workflow_pb2.Workflow(
        id=workflow_id.cid_bytes,
        created_at=created_at or 0,
        name=w.name,
        creators=list(w.creators),
        description=w.description,
        groups=list(w.groups),
        segments=[
            workflow_pb2.Segment(inputs=list(s.inputs), sequence=[_step_to_pb(st) for st in s.sequence])
            for s in w.segments
        ],
    )


def _step_to_pb(st: Step) -> workflow_pb2.Step:
    msg = workflow_pb2.Step(version_id=st.version_id.cid_bytes, config=st.config)
    if st.inputs is not None:
        msg.inputs = json.dumps(list(st.inputs))
    if st.output is not None:
        msg.output = json.dumps(st.output)
    return msg


def _step_from_pb(st: workflow_pb2.Step) -> Step:
    # The types come from a node; a malformed one fails Workflow.id recomputation downstream.
    return Step(
        CID(st.version_id),
        dict(st.config),
        tuple(json.loads(st.inputs)) if st.HasField("inputs") else None,
        json.loads(st.output) if st.HasField("output") else None,
    )


def workflow_from_pb(m: workflow_pb2.Workflow) -> tuple[CID, Workflow, int | None]:
    workflow = Workflow(
        name=m.name,
        creators=tuple(m.creators),
        description=m.description,
        groups=tuple(m.groups),
        segments=tuple(
            Segment(tuple(s.inputs), tuple(_step_from_pb(st) for st in s.sequence)) for s in m.segments
        ),
    )
    return CID(m.id), workflow, m.created_at or None


def operation_to_pb(info: OperationInfo) -> operation_pb2.Operation:
    return operation_pb2.Operation(
        version_id=info.version_id.cid_bytes,
        id=info.manifest.id.cid_bytes,
        name=info.manifest.name,
        description=info.manifest.description,
        manifest=encode(info.manifest.data()),
        implementation=encode(info.version.implementation),
        available=info.available,
    )


def operation_from_pb(m: operation_pb2.Operation) -> OperationInfo:
    manifest = OperationManifest.from_data(decode(m.manifest))
    return OperationInfo(manifest, OperationVersion(manifest.id, decode(m.implementation)), m.available)


def run_to_pb(state: RunState) -> run_pb2.Run:
    msg = run_pb2.Run(
        id=state.id.cid_bytes,
        workflow=state.workflow.cid_bytes,
        nonce=state.nonce,
        status=state.status,
        next_segment=state.next_segment,
        total_time=state.total_time,
        created_at=state.created_at,
        updated_at=state.updated_at,
        outputs=[
            run_pb2.SegmentOutput(
                segment=o.segment,
                output=o.output.cid_bytes,
                producer=o.producer.cid_bytes,
                segment_time=o.segment_time,
            )
            for o in sorted(state.outputs.values(), key=lambda o: o.segment)
        ],
    )
    if state.error is not None:
        msg.error = state.error
    return msg


def run_from_pb(m: run_pb2.Run) -> RunState:
    return RunState(
        id=CID(m.id),
        workflow=CID(m.workflow),
        nonce=m.nonce,
        status=m.status,
        next_segment=m.next_segment,
        total_time=m.total_time,
        error=m.error if m.HasField("error") else None,
        created_at=m.created_at,
        updated_at=m.updated_at,
        outputs={
            o.segment: SegmentOutput(o.segment, CID(o.output), CID(o.producer), o.segment_time)
            for o in m.outputs
        },
    )
