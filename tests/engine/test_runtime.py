"""The runtime: new()/next(), the execution DAG, events, memoization and failures (SPEC §2-§3)."""

from __future__ import annotations

import pytest

from catenary.cid import CID, cid_of, decode
from catenary.errors import ExecutionFailedError, NotFoundError, RunStateError
from catenary.model import Execution, Status
from catenary.model.filter import ExecutionFilter
from catenary.model.workflow import EXTERNAL
from tests.helpers import check_hashes, manifest, run_events, snapshot

# The segment-input shape of the camera-and-lens-ownership manifest.
SIX = manifest(
    ([-1], ["test/inc", "test/inc"]),
    ([0], ["test/inc"]),
    ([-1, 1], ["test/add", "test/inc"]),
    ([2, 0], ["test/add"]),
    ([-1, 3], ["test/add", "test/inc", "test/inc"]),
    ([4, 3], ["test/add"]),
)
SIX_INPUTS = {0: [10], 2: [100], 4: [1000]}


def six_expected(a: int, b: int, c: int) -> list[int]:
    x0 = a + 2
    x1 = x0 + 1
    x2 = b + x1 + 1
    x3 = x2 + x0
    x4 = c + x3 + 2
    x5 = x4 + x3
    return [x0, x1, x2, x3, x4, x5]


def run_executions(node, run: CID) -> list[Execution]:
    return sorted(node.executions.iterate(ExecutionFilter(run=run)), key=lambda e: (e.segment, e.step))


def step_all(node, wf_id: CID, inputs: dict[int, list], fresh: bool = False):
    run = node.runs.new(wf_id)
    results = []
    segments = len(node.workflows.get(wf_id).workflow.segments)
    for index in range(segments):
        results.append(node.runs.next(run.id, inputs.get(index, []), fresh=fresh))
    return run, results


def assert_dag(node, wf_id: CID, run: CID, inputs: dict[int, list], db_path) -> None:
    """The run's executions are exactly the DAG the manifest implies (SPEC §2)."""
    workflow = node.workflows.get(wf_id).workflow
    executions = run_executions(node, run)
    by_pos = {(e.segment, e.step): e for e in executions}
    assert len(by_pos) == len(executions)
    assert set(by_pos) == {(s, k) for s, seg in enumerate(workflow.segments) for k in range(len(seg.sequence))}
    events = run_events(db_path, run)
    expected_events = {}
    for s, segment in enumerate(workflow.segments):
        values = inputs.get(s, [])
        value_cids = [cid_of(v) for v in values]
        event_hash = None
        if segment.external_slots:
            event_hash = cid_of({"run": run, "segment": s, "inputs": value_cids})
            expected_events[event_hash] = s
        feed = iter(value_cids)
        first = by_pos[(s, 0)]
        parents, slot_inputs = [], []
        for source in segment.inputs:
            if source == EXTERNAL:
                parents.append(event_hash)
                slot_inputs.append(next(feed))
            else:
                producer = by_pos[(source, len(workflow.segments[source].sequence) - 1)]
                parents.append(producer.hash)
                slot_inputs.append(producer.output)
        assert list(first.parents) == parents, f"segment {s} step 0 parents"
        assert list(first.inputs) == slot_inputs, f"segment {s} step 0 inputs"
        assert len(first.parents) == len(first.inputs) == len(segment.inputs)
        for k in range(1, len(segment.sequence)):
            e, prev = by_pos[(s, k)], by_pos[(s, k - 1)]
            assert e.parents == (prev.hash,)
            assert e.inputs == (prev.output,)
        for k, step in enumerate(segment.sequence):
            e = by_pos[(s, k)]
            assert (e.workflow, e.run, e.operation, e.config) == (wf_id, run, step.version_id, step.config)
    assert {h: seg for h, (seg, _) in events.items()} == expected_events
    for h, (_, raw) in events.items():
        ev = decode(raw)
        assert cid_of(ev) == h
        assert set(ev) == {"run", "segment", "inputs"}
        assert ev["run"] == run


# -- the DAG ----------------------------------------------------------------------------------

def test_six_segment_run_results_and_step_results(node) -> None:
    wf = node.workflows.create(SIX)
    run, results = step_all(node, wf.id, SIX_INPUTS)
    expected = six_expected(10, 100, 1000)
    assert [r.segment for r in results] == list(range(6))
    assert [r.done for r in results] == [False] * 5 + [True]
    assert [r.result for r in results] == [None] * 5 + [expected[-1]]
    assert all(isinstance(r.segment_time, float) and r.segment_time >= 0 for r in results)
    assert results[-1].total_time == pytest.approx(sum(r.segment_time for r in results))
    totals = [r.total_time for r in results]
    assert totals == sorted(totals)
    executions = run_executions(node, run.id)
    assert len(executions) == 2 + 1 + 2 + 1 + 3 + 1
    # every segment's last output is the expected value
    for s, want in enumerate(expected):
        last = max((e for e in executions if e.segment == s), key=lambda e: e.step)
        assert node.values.get(last.output) == want
        if s < 5:
            assert results[s].final == last.hash
    assert results[-1].final == executions[-1].hash
    state = node.runs.get(run.id)
    assert state.status == "completed" and state.next_segment == 6
    assert state.total_time == pytest.approx(results[-1].total_time)


def test_six_segment_run_forms_the_manifest_dag(node, db_path) -> None:
    wf = node.workflows.create(SIX)
    run, _ = step_all(node, wf.id, SIX_INPUTS)
    assert_dag(node, wf.id, run.id, SIX_INPUTS, db_path)


def test_every_stored_execution_hash_and_key_recompute(node, ops) -> None:
    wf = node.workflows.create(SIX)
    step_all(node, wf.id, SIX_INPUTS)                  # fresh work
    step_all(node, wf.id, SIX_INPUTS)                  # all memoized
    step_all(node, wf.id, {0: [11], 2: [100], 4: [1000]})
    failing = node.workflows.create(manifest(([-1], ["test/inc", "test/boom"])))
    with pytest.raises(ExecutionFailedError):
        node.runs.run(failing.id, {0: [1]})
    everything = list(node.executions.iterate())
    assert len(everything) == 3 * 10 + 2
    assert {e.status for e in everything} == {Status.COMPLETED, Status.FAILED}
    assert any(e.cached_from for e in everything)
    for e in everything:
        check_hashes(e)


def test_values_are_stored_and_cids_are_value_cids(node) -> None:
    wf = node.workflows.create(manifest(([-1], ["std/utf8-encode", ("std/hash", {"algorithm": "blake3"})])))
    run = node.runs.new(wf.id)
    node.runs.next(run.id, ["héllo"])
    first, second = run_executions(node, run.id)
    assert first.inputs == (cid_of("héllo"),)
    assert node.values.get(first.inputs[0]) == "héllo"
    assert first.output == cid_of("héllo".encode())
    assert node.values.get(first.output) == "héllo".encode()
    assert second.inputs == (first.output,)
    assert second.config == {"algorithm": "blake3"}


def test_events_only_for_next_calls_with_external_inputs(node, db_path) -> None:
    wf = node.workflows.create(manifest(([-1, -1], ["test/add"]), ([0], ["test/inc"]), ([1, -1], ["test/add"])))
    run = node.runs.new(wf.id)
    node.runs.next(run.id, [1, 2])
    node.runs.next(run.id, [])
    node.runs.next(run.id, [7])
    events = run_events(db_path, run.id)
    assert sorted(seg for seg, _ in events.values()) == [0, 2]
    e0 = cid_of({"run": run.id, "segment": 0, "inputs": [cid_of(1), cid_of(2)]})
    e2 = cid_of({"run": run.id, "segment": 2, "inputs": [cid_of(7)]})
    assert set(events) == {e0, e2}
    execs = run_executions(node, run.id)
    assert execs[0].parents == (e0, e0)             # len(parents) == len(inputs), the event twice
    assert execs[0].inputs == (cid_of(1), cid_of(2))
    assert execs[1].parents == (execs[0].hash,)
    assert execs[2].parents == (execs[1].hash, e2)


def test_slots_interleaved_with_segment_inputs(node, db_path) -> None:
    """A segment with inputs [-1, 0, -1] has parents [event, e0, event], inputs in slot order."""
    wf = node.workflows.create(manifest(([-1], ["test/inc"]), ([-1, 0, -1], ["test/add3"])))
    run = node.runs.new(wf.id)
    node.runs.next(run.id, [5])
    result = node.runs.next(run.id, [1, 2])
    e0, e1 = run_executions(node, run.id)
    ev = cid_of({"run": run.id, "segment": 1, "inputs": [cid_of(1), cid_of(2)]})
    assert e1.parents == (ev, e0.hash, ev)
    assert e1.inputs == (cid_of(1), e0.output, cid_of(2))
    assert result.result == 100 * 1 + 10 * 6 + 2
    assert set(run_events(db_path, run.id)) == {ev, cid_of({"run": run.id, "segment": 0, "inputs": [cid_of(5)]})}


def test_same_inputs_in_two_runs_give_different_hashes_same_keys(node) -> None:
    wf = node.workflows.create(SIX)
    r1, _ = step_all(node, wf.id, SIX_INPUTS)
    r2, _ = step_all(node, wf.id, SIX_INPUTS)
    a, b = run_executions(node, r1.id), run_executions(node, r2.id)
    assert all(x.hash != y.hash and x.key == y.key for x, y in zip(a, b))
    assert len({e.hash for e in a + b}) == len(a) + len(b)


# -- memoization ----------------------------------------------------------------------------

COUNTED = manifest(([-1], ["test/count", "test/inc"]), ([0], ["test/count"]))


def test_memoization_reuses_by_key_across_runs(node, ops) -> None:
    wf = node.workflows.create(COUNTED)
    r1, res1 = step_all(node, wf.id, {0: [3]})
    assert ops.CALLS["test/count"] == 2
    r2, res2 = step_all(node, wf.id, {0: [3]})
    assert ops.CALLS["test/count"] == 2  # nothing ran again
    assert res2[-1].result == res1[-1].result == (2 * 3 + 1) * 2
    first, second = run_executions(node, r1.id), run_executions(node, r2.id)
    for did, reused in zip(first, second):
        assert did.cached_from is None
        assert reused.cached_from == did.hash
        assert reused.status == Status.COMPLETED
        assert reused.output == did.output
        assert reused.executor == node.id
        assert reused.created_at <= reused.started_at <= reused.finished_at
        assert reused.hash != did.hash


def test_cached_from_follows_chains_to_the_execution_that_did_the_work(node, ops) -> None:
    wf = node.workflows.create(COUNTED)
    runs = [step_all(node, wf.id, {0: [4]})[0] for _ in range(4)]
    assert ops.CALLS["test/count"] == 2
    originals = run_executions(node, runs[0].id)
    for later in runs[1:]:
        for did, reused in zip(originals, run_executions(node, later.id)):
            assert reused.cached_from == did.hash
    for e in node.executions.iterate():
        if e.cached_from is not None:
            worker = node.executions.get(e.cached_from)
            assert worker.cached_from is None and worker.key == e.key


def test_memoization_across_workflows_and_positions(node, ops) -> None:
    """The key names no workflow or position: the same computation elsewhere is reused."""
    a = node.workflows.create(manifest(([-1], ["test/count"]), name="a"))
    b = node.workflows.create(manifest(([-1], ["test/inc"]), ([0], ["test/count"]), name="b"))
    step_all(node, a.id, {0: [8]})
    assert ops.CALLS["test/count"] == 1
    rb, res = step_all(node, b.id, {0: [7]})  # inc(7) == 8 -> count(8) already known
    assert ops.CALLS["test/count"] == 1
    counted = run_executions(node, rb.id)[1]
    worker = node.executions.list(ExecutionFilter(workflow=a.id)).executions[0]
    assert counted.cached_from == worker.hash
    assert res[-1].result == 16


def test_memoization_within_one_run(node, ops) -> None:
    wf = node.workflows.create(manifest(([-1], ["test/count"]), ([-1], ["test/count"])))
    run = node.runs.new(wf.id)
    node.runs.next(run.id, [5])
    node.runs.next(run.id, [5])
    assert ops.CALLS["test/count"] == 1
    e0, e1 = run_executions(node, run.id)
    assert e1.cached_from == e0.hash and e1.key == e0.key and e1.hash != e0.hash


def test_memoization_within_one_segment(node, ops) -> None:
    """std/get with an empty path is the identity: its second call has the key of the first."""
    wf = node.workflows.create(manifest(([-1], [("std/get", {"path": ""}), ("std/get", {"path": ""})])))
    _, result = node.runs.run(wf.id, {0: [{"a": 1}]})
    assert result.result == {"a": 1}
    e0, e1 = run_executions(node, result.run)
    assert e0.key == e1.key
    assert e1.cached_from == e0.hash


def test_memo_hit_within_segment_feeds_a_later_step(node) -> None:
    """A hit on an execution of the same, not yet committed, segment must still feed the next step.

    The cached output is the segment's external input, held only in memory until commit.
    """
    wf = node.workflows.create(manifest(
        ([-1], [("std/get", {"path": ""}), ("std/get", {"path": ""}), "std/utf8-encode"])))
    _, result = node.runs.run(wf.id, {0: ["hi"]})
    assert result.result == b"hi"


def test_fresh_reexecutes_everything(node, ops) -> None:
    wf = node.workflows.create(COUNTED)
    step_all(node, wf.id, {0: [3]})
    r2, _ = step_all(node, wf.id, {0: [3]}, fresh=True)
    assert ops.CALLS["test/count"] == 4
    assert all(e.cached_from is None for e in run_executions(node, r2.id))
    r3, _ = step_all(node, wf.id, {0: [3]})
    assert ops.CALLS["test/count"] == 4
    assert all(e.cached_from is not None for e in run_executions(node, r3.id))


def test_failed_executions_are_never_reused(node, ops) -> None:
    wf = node.workflows.create(manifest(([-1], ["test/flaky"])))
    ops.STATE["fail"] = True
    with pytest.raises(ExecutionFailedError):
        node.runs.run(wf.id, {0: [1]})
    ops.STATE["fail"] = False
    _, result = node.runs.run(wf.id, {0: [1]})
    assert ops.CALLS["test/flaky"] == 2
    assert result.result == 101
    failed, ok = sorted(node.executions.iterate(), key=lambda e: e.seq)
    assert failed.status == Status.FAILED and ok.status == Status.COMPLETED
    assert failed.key == ok.key
    assert ok.cached_from is None


def test_config_is_part_of_the_key(node, ops) -> None:
    a = node.workflows.create(manifest(([-1], [("test/mode", {"mode": "double"})])))
    b = node.workflows.create(manifest(([-1], [("test/mode", {"mode": "negate"})])))
    assert node.runs.run(a.id, {0: [6]})[1].result == 12
    assert node.runs.run(b.id, {0: [6]})[1].result == -6
    assert ops.CALLS["test/mode"] == 2


# -- failures -----------------------------------------------------------------------------------

FAILING = manifest(([-1], ["test/inc"]), ([0], ["test/inc", "test/boom", "test/inc"]))


def test_failing_operation_marks_execution_and_run_failed(node, db_path) -> None:
    wf = node.workflows.create(FAILING)
    run = node.runs.new(wf.id)
    node.runs.next(run.id, [1])
    seg0 = run_executions(node, run.id)
    with pytest.raises(ExecutionFailedError) as info:
        node.runs.next(run.id, [])
    assert "boom on 3" in str(info.value)
    assert "RuntimeError" in str(info.value)
    executions = run_executions(node, run.id)
    assert executions[:1] == seg0  # nothing already recorded is lost or changed
    assert [(e.segment, e.step, e.status) for e in executions] == [
        (0, 0, Status.COMPLETED), (1, 0, Status.COMPLETED), (1, 1, Status.FAILED)]
    failed = executions[-1]
    assert info.value.execution is not None and info.value.execution.hash == failed.hash
    assert failed.output is None and failed.cached_from is None
    assert "boom on 3" in failed.error
    assert failed.started_at is not None and failed.finished_at is not None
    check_hashes(failed)
    state = node.runs.get(run.id)
    assert state.status == "failed"
    assert "boom on 3" in state.error
    assert state.next_segment == 1
    # a failed run is terminal and stepping it changes nothing
    before = snapshot(db_path)
    with pytest.raises(RunStateError, match="failed"):
        node.runs.next(run.id, [])
    with pytest.raises(RunStateError):
        node.runs.next(run.id, [], fresh=True)
    assert snapshot(db_path) == before


def test_wrong_output_type_fails_the_execution(node) -> None:
    wf = node.workflows.create(manifest(([-1], ["test/wrong-type"])))
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutionFailedError, match="expected int, got string"):
        node.runs.next(run.id, [1])
    (e,) = run_executions(node, run.id)
    assert e.status == Status.FAILED and "expected int, got string" in e.error
    assert node.runs.get(run.id).status == "failed"


def test_unencodable_output_fails_the_execution(node) -> None:
    wf = node.workflows.create(manifest(([-1], ["test/nan"])))
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutionFailedError, match="NaN|nan"):
        node.runs.next(run.id, [1])
    assert node.runs.get(run.id).status == "failed"


def test_runtime_type_check_of_inputs_from_any(node) -> None:
    """std/get declares any; a string flowing into test/inc (int) fails at run time, not in validation."""
    wf = node.workflows.create(manifest(([-1], [("std/get", {"path": "x"}), "test/inc"])))
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutionFailedError, match="input 0: expected int, got string"):
        node.runs.next(run.id, [{"x": "three"}])
    statuses = [e.status for e in run_executions(node, run.id)]
    assert statuses == [Status.COMPLETED, Status.FAILED]


def test_oversized_output_fails_the_execution(make_node) -> None:
    node = make_node(max_value_size=100)
    wf = node.workflows.create(manifest(([-1, -1], ["std/concat"])))
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutionFailedError, match="over the value size cap"):
        node.runs.next(run.id, [b"x" * 60, b"y" * 60])
    (e,) = run_executions(node, run.id)
    assert e.status == Status.FAILED


def test_completed_run_cannot_be_stepped(node, db_path) -> None:
    wf = node.workflows.create(manifest(([-1], ["test/inc"])))
    state, result = node.runs.run(wf.id, {0: [1]})
    assert state.status == "completed" and result.done
    before = snapshot(db_path)
    with pytest.raises(RunStateError, match="completed"):
        node.runs.next(state.id, [1])
    assert snapshot(db_path) == before


def test_operation_without_implementation_is_not_found(make_node, db_path) -> None:
    """A version recorded by another process but not loaded here cannot run; nothing is stored."""
    with_ops = make_node()
    wf = with_ops.workflows.create(manifest(([-1], ["test/inc"])))
    without = make_node(operations=[])
    run = without.runs.new(wf.id)
    before = snapshot(db_path)
    with pytest.raises(NotFoundError, match="no implementation"):
        without.runs.next(run.id, [1])
    assert snapshot(db_path) == before
    assert with_ops.runs.next(run.id, [1]).result == 2


def test_cached_from_follows_a_cached_hit_back_to_the_worker(tmp_path, ops) -> None:
    """When the memo lookup finds a record that was itself cached, cached_from names the worker."""
    from catenary import Node
    from catenary.store import SQLiteStore
    from catenary.store.rows import COLUMNS, row_to_execution

    class NewestHitStore(SQLiteStore):
        def find_completed(self, key):
            rows = self._read(f"SELECT {COLUMNS} FROM executions WHERE key = ? AND status = 'completed' "
                              "ORDER BY seq DESC LIMIT 1", (key.cid_bytes,))
            return row_to_execution(rows[0]) if rows else None

    data_dir = tmp_path / "newest"
    data_dir.mkdir()
    node = Node(data_dir, operations=["tests.ops_fixture"], store=NewestHitStore(data_dir / "catenary.db"))
    try:
        wf = node.workflows.create(manifest(([-1], ["test/count"])))
        runs = [node.runs.run(wf.id, {0: [9]})[0] for _ in range(3)]
        worker, second, third = (run_executions(node, r.id)[0] for r in runs)
        assert ops.CALLS["test/count"] == 1
        assert second.cached_from == worker.hash
        assert third.cached_from == worker.hash  # not second.hash, which the lookup returned
    finally:
        node.close()


def test_operation_timeout_fails_the_execution_cleanly(tmp_path) -> None:
    import time as _time

    from catenary import ExecutionFailedError, Status, operation
    from catenary.sdk import Node

    @operation("test/sleepy", inputs=["int"], output="int")
    def sleepy(seconds: int) -> int:
        """Sleeps, then answers."""
        _time.sleep(seconds / 10)
        return seconds

    node = Node(tmp_path / "data", operation_timeout=0.2)
    node.registry.add(sleepy)
    node.operations.publish()
    wf = node.workflows.create({"data": {"name": "slow", "creators": [], "description": "",
                                         "groups": [], "segments": [{"inputs": [-1], "sequence": [
                                             {"op": "test/sleepy", "config": {}}]}]}})
    assert node.runs.run(wf.id, {0: [1]})[1].result == 1  # 0.1 s: within the timeout
    started = _time.perf_counter()
    try:
        node.runs.run(wf.id, {0: [30]})  # 3 s
    except ExecutionFailedError as exc:
        message = str(exc)
    else:
        raise AssertionError("the slow operation should have failed")
    assert _time.perf_counter() - started < 2
    assert "did not finish within the operation timeout of 0.2 s" in message
    failed = node.executions.list(None, 10).executions[0]
    assert failed.status is Status.FAILED and "OperationTimeout" in failed.error
    node.close()
