"""The engine and remote steps: recorded ``created`` (visible to executors) before the segment
commits, waited for, adopted again after a timeout, memoized, failed cleanly. On both stores."""

from __future__ import annotations

import threading

import pytest

from catenary.errors import ExecutionFailedError, ExecutionPendingError
from catenary.model import OperationManifest, Status
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from catenary.sdk.doctor import Doctor
from catenary.trust import attestation
from tests.executors.conftest import workflow
from tests.helpers import check_hashes

BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def records(node: Node, run) -> dict[tuple[int, int], object]:
    return {(e.segment, e.step): e for e in node.executions.iterate(ExecutionFilter(run=run))}


@BACKENDS
def test_a_remote_step_is_created_then_claimed_and_finished_by_an_executor(remote_node, thread_executor):
    node = remote_node
    wf = workflow(node, ([-1], ["test/inc", "test/remote-slow", "test/inc"]), ([0], ["test/inc"]))
    executor = thread_executor("exec-1")
    run = node.runs.new(wf.id)
    first = node.runs.next(run.id, [1])
    assert not first.done
    result = node.runs.next(run.id)
    assert result.done and result.result == (1 + 1) * 10 + 1 + 1
    got = records(node, run.id)
    assert sorted(got) == [(0, 0), (0, 1), (0, 2), (1, 0)]
    remote = got[(0, 1)]
    assert remote.status is Status.COMPLETED and remote.executor == "exec-1"
    assert remote.cached_from is None and remote.started_at is not None
    assert remote.parents == (got[(0, 0)].hash,) and got[(0, 2)].parents == (remote.hash,)
    # The executor saw it created, through Updates, before anything else of the segment existed.
    assert [e.status for e in executor.seen if e.hash == remote.hash] == [Status.CREATED]
    for e in got.values():
        check_hashes(e)
    # The node signs what it computed, not what the executor did.
    assert node.attestations.list(remote.hash) == []
    assert len(node.attestations.list(got[(0, 0)].hash)) == 1
    assert node.runs.get(run.id).outputs[0].producer == got[(0, 2)].hash
    assert Doctor(node.store).check().ok


@BACKENDS
def test_a_memoized_remote_step_needs_no_executor(remote_node, thread_executor):
    node = remote_node
    wf = workflow(node, ([-1], ["test/remote-shout"]))
    with thread_executor("exec-1"):
        _, first = node.runs.run(wf.id, {0: ["hi"]})
    node.engine.remote_wait = 0.2  # no executor now: a wait would fail
    # The executor signed nothing the policy trusts: its result is not reused (issue 13).
    with pytest.raises(ExecutionPendingError):
        node.runs.run(wf.id, {0: ["hi"]})
    # Verified by this node (its validator attestation): now trusted, reused.
    node.store.put_attestations(
        [
            attestation.sign(
                node.identity, first.final, *_key_output(node, first.final), attestation.VALIDATOR
            )
        ],
        1,
    )
    state, second = node.runs.run(wf.id, {0: ["hi"]})
    assert second.result == first.result == "HI!"
    cached = node.executions.get(second.final)
    assert cached.cached_from == first.final and cached.executor == node.id
    with pytest.raises(ExecutionPendingError):  # fresh: executed again, so waited for
        node.runs.run(wf.id, {0: ["hi"]}, fresh=True)


def _key_output(node, execution_hash):
    e = node.executions.get(execution_hash)
    return e.key, e.output


@BACKENDS
def test_without_an_executor_next_raises_and_then_resumes_the_same_execution(remote_node, thread_executor):
    node = remote_node
    node.engine.remote_wait = 0.3
    wf = workflow(node, ([-1], ["test/inc", "test/remote-slow"]))
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutionPendingError, match=r"still created .* the run has not moved") as info:
        node.runs.next(run.id, [4])
    pending = info.value.execution
    assert pending.status is Status.CREATED and pending.executor is None
    state = node.runs.get(run.id)
    assert (state.status, state.next_segment) == ("running", 0)
    # Only the remote execution is recorded; the rest of the segment is the next commit's.
    assert list(records(node, run.id)) == [(0, 1)]
    node.engine.remote_wait = 20
    with thread_executor("exec-2"):
        result = node.runs.next(run.id, [4])
    assert result.done and result.result == 50
    got = records(node, run.id)
    assert got[(0, 1)].hash == pending.hash and got[(0, 1)].executor == "exec-2"
    assert len(node.executions.list(ExecutionFilter(key=pending.key)).executions) == 1
    assert Doctor(node.store).check().ok


@BACKENDS
def test_a_remote_failure_fails_the_run_and_is_recorded_once(remote_node, thread_executor):
    node = remote_node
    wf = workflow(node, ([-1], ["test/remote-boom", "test/inc"]))
    with thread_executor("exec-1"):
        run = node.runs.new(wf.id)
        with pytest.raises(
            ExecutionFailedError,
            match=r"segment 0 step 0 \(test/remote-boom\): "
            r"ValueError: remote boom on 3",
        ) as info:
            node.runs.next(run.id, [3])
    failed = info.value.execution
    assert [e.hash for e in records(node, run.id).values()] == [failed.hash]
    assert failed.status is Status.FAILED and failed.executor == "exec-1"
    state = node.runs.get(run.id)
    assert state.status == "failed" and "remote boom on 3" in state.error


@BACKENDS
def test_a_remote_version_known_only_from_its_manifest(make_node):
    """A node that has no code for it (registered from a manifest, as for executors in other
    languages) creates it and waits for it all the same."""
    node = make_node(remote_wait=20)
    info = node.operations.register_remote(OperationManifest("test/js-len", ("string",), "int"))
    wf = node.workflows.create(
        '{"data": {"name": "m", "creators": [], "description": "", "groups": [], "segments": '
        f'[{{"inputs": [-1], "sequence": [{{"version_id": "{info.version_id}", "config": {{}}}}]}}]}}}}'
    )
    stop = threading.Event()

    def executor() -> None:
        for e in node.executions.updates(
            ExecutionFilter(statuses=(Status.CREATED,), operation=info.version_id), 0, stop=stop
        ):
            node.executions.update(e.hash, Status.IN_PROGRESS, "js")
            node.executions.update(e.hash, Status.COMPLETED, "js", output=len(node.values.get(e.inputs[0])))

    thread = threading.Thread(target=executor)
    thread.start()
    try:
        _, result = node.runs.run(wf.id, {0: ["four"]})
    finally:
        stop.set()
        thread.join(10)
    assert result.result == 4 and node.executions.get(result.final).executor == "js"


@BACKENDS
def test_runs_waiting_at_once_each_get_their_own_remote_result(remote_node, thread_executor):
    # The waiting runs share one reader of the store's change feed (engine/remote_waits.py):
    # each must still be woken with its own execution, and the reader must end when none waits.
    node = remote_node
    wf = workflow(node, ([-1], ["test/remote-shout"]))
    thread_executor("exec-1")
    words = [f"word {i}" for i in range(12)]
    results: dict[str, object] = {}

    def drive(word: str) -> None:
        results[word] = node.runs.run(wf.id, {0: [word]})[1].result

    threads = [threading.Thread(target=drive, args=(w,)) for w in words]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {w: w.upper() + "!" for w in words}
    done = list(node.executions.iterate(ExecutionFilter(workflow=wf.id)))
    assert len(done) == len(words) and {e.status for e in done} == {Status.COMPLETED}
    for _ in range(50):  # the reader ends within a poll once nobody waits
        if not any(t.name == "catenary-remote-waits" for t in threading.enumerate()):
            break
        threading.Event().wait(0.1)
    else:
        raise AssertionError("the remote-waits reader is still running with nobody waiting")
