"""The same calls, the same answers and the same refusals from a local Node and a Client."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from catenary.cid import CID, cid_of
from catenary.errors import BadInputError, InputError, NotFoundError, RunStateError, StatusTransitionError
from catenary.model import Execution, OperationManifest, Status
from catenary.model.filter import ExecutionFilter
from catenary.model.node import NodeLike
from catenary.model.results import EXECUTOR, MISMATCH, VERIFIED, StepResult, WorkflowInfo
from catenary.trust.attestation import report
from catenary.trust.identity import Identity
from tests.helpers import create_remote_step

from .conftest import Api

UNKNOWN = CID.parse("bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6")


def chain(steps: int = 2, segments: int = 1) -> str:
    segs = [
        {"inputs": [-1 if i == 0 else i - 1], "sequence": [{"op": "test/inc", "config": {}}] * steps}
        for i in range(segments)
    ]
    return json.dumps(
        {"data": {"name": "chain", "creators": [], "description": "", "groups": [], "segments": segs}}
    )


def run_chain(node: NodeLike, start: int, steps: int = 2) -> tuple[WorkflowInfo, StepResult]:
    wf = node.workflows.create(chain(steps))
    return wf, node.runs.run(wf.id, {0: [start]})[1]


def test_both_are_nodelike(api: Api) -> None:
    assert isinstance(api.node, NodeLike)


# -- workflows -------------------------------------------------------------------------------


def test_workflows_create_get_list(api: Api) -> None:
    wf = api.node.workflows.create(chain(3))
    again = api.node.workflows.create(chain(3).encode())
    assert again.id == wf.id  # content-addressed: creating it again is a no-op
    got = api.node.workflows.get(wf.id)
    assert got.id == wf.id and got.workflow == wf.workflow
    assert len(got.workflow.segments[0].sequence) == 3
    listed = api.node.workflows.list()
    assert [w.id for w in listed] == [wf.id] and listed[0].created_at


def test_workflow_refusals(api: Api) -> None:
    bad = json.loads(chain())
    bad["data"]["segments"][0]["sequence"][0]["op"] = "no/such-op"
    # The JSON path is in the message on both; the class itself (ManifestError, with .path)
    # does not survive gRPC yet: issue 12 part 6 carries error fields over the wire.
    with pytest.raises(BadInputError, match=r"segments\[0\]\.sequence\[0\]\.op: .*no/such-op"):
        api.node.workflows.create(json.dumps(bad))
    with pytest.raises(BadInputError, match="manifest"):
        api.node.workflows.create("{not json")
    with pytest.raises(NotFoundError, match="unknown workflow"):
        api.node.workflows.get(UNKNOWN)
    assert api.node.workflows.list() == []


# -- operations ------------------------------------------------------------------------------


def test_operations_list_and_get(api: Api) -> None:
    by_name = {o.manifest.name: o for o in api.node.operations.list()}
    inc = by_name["test/inc"]
    assert inc.available and inc.manifest.inputs == ("int",) and inc.manifest.output == "int"
    got = api.node.operations.get(inc.version_id)
    assert got == inc
    with pytest.raises(NotFoundError, match="unknown operation version"):
        api.node.operations.get(UNKNOWN)


# -- runs ------------------------------------------------------------------------------------


def test_runs_new_next_get_list(api: Api) -> None:
    wf = api.node.workflows.create(chain(2, segments=2))
    state = api.node.runs.new(wf.id)
    assert state.workflow == wf.id and state.status == "running" and state.next_segment == 0
    first = api.node.runs.next(state.id, [1])
    assert (first.run, first.segment, first.done, first.result) == (state.id, 0, False, None)
    last = api.node.runs.next(state.id)
    assert (last.segment, last.done, last.result) == (1, True, 5)
    done = api.node.runs.get(state.id)
    assert done.status == "completed" and sorted(done.outputs) == [0, 1]
    assert done.outputs[1].producer == last.final
    assert [r.id for r in api.node.runs.list(wf.id)] == [state.id]
    assert api.node.runs.list(UNKNOWN) == []
    with pytest.raises(RunStateError):
        api.node.runs.next(state.id)


def test_runs_run_checks_inputs_first(api: Api) -> None:
    wf = api.node.workflows.create(chain(1))
    with pytest.raises(InputError, match="segment 0 takes 1 external input"):
        api.node.runs.run(wf.id, {0: [1, 2]})
    with pytest.raises(InputError, match="input for segment 3"):
        api.node.runs.run(wf.id, {0: [1], 3: [1]})
    assert api.node.runs.list(wf.id) == []  # refused before any run was created
    seen: list[int] = []
    state, result = api.node.runs.run(wf.id, {0: [41]}, on_step=lambda r: seen.append(r.segment))
    assert state.status == "completed" and result.result == 42 and seen == [0]
    with pytest.raises(NotFoundError):
        api.node.runs.new(UNKNOWN)


# -- values ----------------------------------------------------------------------------------


def test_values_put_get(api: Api) -> None:
    value: dict[str, Any] = {"k": [1, 2, None], "b": b"\x00\xff", "s": "é"}
    cid = api.node.values.put(value)
    assert cid == cid_of(value)
    assert api.node.values.get(cid) == value
    assert api.node.values.get_bytes(cid)
    with pytest.raises(NotFoundError):
        api.node.values.get(UNKNOWN)


# -- executions ------------------------------------------------------------------------------


def test_executions_get_list_pages_iterate(api: Api) -> None:
    _, result = run_chain(api.node, 0, steps=3)
    final = api.node.executions.get(result.final)
    assert final.status is Status.COMPLETED and final.step == 2
    assert api.node.values.get(final.output) == 3
    page = api.node.executions.list(page_size=2)
    assert [e.step for e in page.executions] == [2, 1] and page.next_page_token
    rest = api.node.executions.list(page_size=2, page_token=page.next_page_token)
    assert [e.step for e in rest.executions] == [0] and rest.next_page_token is None
    assert [e.hash for e in api.node.executions.iterate(page_size=1)] == [
        e.hash for e in page.executions + rest.executions
    ]
    by_parent = ExecutionFilter(parent=rest.executions[0].hash)
    assert [e.step for e in api.node.executions.list(by_parent).executions] == [1]
    with pytest.raises(NotFoundError, match="unknown execution"):
        api.node.executions.get(UNKNOWN)
    with pytest.raises(BadInputError, match="page size"):
        api.node.executions.list(page_size=0)
    with pytest.raises(BadInputError, match="invalid page token"):
        api.node.executions.list(page_token="forged")
    with pytest.raises(BadInputError, match="different filter"):
        api.node.executions.list(by_parent, page_token=page.next_page_token)


def test_executions_updates_stored_then_live(api: Api) -> None:
    run_chain(api.node, 0, steps=1)
    since = api.node.executions.latest_seq()
    assert since > 0
    stop = threading.Event()
    seen: list[Execution] = []

    def follow() -> None:
        for e in api.node.executions.updates(ExecutionFilter(statuses=(Status.COMPLETED,)), since, stop):
            seen.append(e)
            if len(seen) == 2:
                stop.set()

    thread = threading.Thread(target=follow)
    thread.start()
    _, result = run_chain(api.node, 10, steps=2)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert [e.step for e in seen] == [0, 1] and seen[-1].hash == result.final
    assert all(e.seq > since for e in seen)


def test_executions_trace_both_directions(api: Api) -> None:
    _, result = run_chain(api.node, 0, steps=3)
    up = api.node.executions.trace(result.final)
    assert up.root == result.final
    kinds = [n.kind for n in up.nodes]
    assert kinds == ["execution"] * 3 + ["event"]
    event = up.nodes[-1]
    assert event.segment == 0 and event.inputs == (cid_of(0),) and event.run == result.run
    steps = [n.execution.step for n in up.nodes if n.execution is not None]
    assert steps == [2, 1, 0]
    assert len(up.edges) == 3 and (event.hash, up.nodes[2].hash) in up.edges
    first = up.nodes[2].hash
    down = api.node.executions.trace(first, "descendants", depth=1)
    assert [n.hash for n in down.nodes] == [first, up.nodes[1].hash]
    assert down.edges == [(first, up.nodes[1].hash)]
    with pytest.raises(BadInputError, match="depth must be >= 0, got -1"):
        api.node.executions.trace(first, depth=-1)
    with pytest.raises(BadInputError, match="direction must be ancestors or descendants"):
        api.node.executions.trace(first, "sideways")
    with pytest.raises(NotFoundError):
        api.node.executions.trace(UNKNOWN)


def remote_step(api: Api) -> Execution:
    """A created execution of a remote operation (declared output: string), where a run's
    segment 1 puts it."""
    manifest = OperationManifest(name="test/remote-upper", inputs=("int",), output="string")
    info = api.local.operations.register_remote(manifest)
    return create_remote_step(api.node, info.version_id)


def test_executions_create_claim_complete(api: Api) -> None:
    created = remote_step(api)
    assert created.status is Status.CREATED and created.executor is None
    one, two = Identity.generate(), Identity.generate()
    claimed = api.node.executions.update(created.hash, Status.IN_PROGRESS, one.id)
    assert claimed.status is Status.IN_PROGRESS and claimed.executor == one.id
    with pytest.raises(StatusTransitionError, match=f"claimed by {one.id}"):
        api.node.executions.update(created.hash, Status.IN_PROGRESS, two.id)
    signed = report(one, created.hash, created.key, "ONE")
    done = api.node.executions.update(
        created.hash, Status.COMPLETED, one.id, output="ONE", attestation=signed
    )
    assert done.status is Status.COMPLETED and api.node.values.get(done.output) == "ONE"
    [attested] = api.node.attestations.list(created.hash)  # the executor's own, stored with the report
    assert (attested.signer, attested.role, attested.valid) == (one.id, EXECUTOR, True)
    with pytest.raises(StatusTransitionError, match="expected status in_progress, actual completed"):
        api.node.executions.update(created.hash, Status.FAILED, one.id, error="late")


def test_an_output_of_the_wrong_type_fails_the_execution(api: Api) -> None:
    """The sdk refuses it, so a Python caller and a gRPC caller get the same answer."""
    created = remote_step(api)
    worker = Identity.generate()
    api.node.executions.update(created.hash, Status.IN_PROGRESS, worker.id)
    signed = report(worker, created.hash, created.key, 41)
    reported = api.node.executions.update(
        created.hash, Status.COMPLETED, worker.id, output=41, attestation=signed
    )
    assert reported.status is Status.FAILED and reported.output is None
    assert reported.error == (
        "test/remote-upper reported an output that does not match its "
        "declared type: output: expected string, got int"
    )
    assert api.node.executions.get(created.hash) == reported  # stored as failed, not completed


# -- trust -----------------------------------------------------------------------------------


def test_verify_and_attestations(api: Api) -> None:
    _, result = run_chain(api.node, 5, steps=2)
    report = api.node.trust.verify(result.final, trace=True)
    assert report.ok and report.overall == VERIFIED and report.root == result.final
    assert report.signer == api.local.id
    assert len(report.verdicts) == 2 and {v.verdict for v in report.verdicts} == {VERIFIED}
    assert report.verdicts[0].name == "test/inc"
    checks = api.node.attestations.list(result.final)
    assert checks and all(c.valid for c in checks)
    # The node that did the work signed as executor; its re-execution attests the same block.
    assert {(c.signer, c.role) for c in checks} == {(api.local.id, EXECUTOR)}
    assert MISMATCH not in {v.verdict for v in report.verdicts}
    with pytest.raises(NotFoundError):
        api.node.trust.verify(UNKNOWN)
