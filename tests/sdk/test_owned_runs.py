"""Runs owned by nodes through the sdk (catenary/runs), on every backend: a submitted run is
driven to the end; a run whose node died is taken over and finished with the records a
sequential run makes; a cancel stops at a step boundary; doctor finds undriven runs."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import pytest

from catenary import Node
from catenary.cid import CID
from catenary.errors import InputError, RunStateError
from catenary.model import Execution, Run
from catenary.model.filter import ExecutionFilter
from catenary.runs.follow import follow, outcome
from catenary.runs.orders import Orders
from catenary.store import SQLiteStore
from tests.helpers import manifest

OPS = ["tests.ops_fixture", "tests.runs.runs_ops"]
CHAIN = manifest(([-1], ["test/inc", "test/inc"]), ([0], ["test/inc"]), ([1, 0], ["test/add"]))
SLOW = manifest(([-1], [("runs/slow", {"seconds": "0.3"})] * 4))


def records(node: Node, run: CID) -> list[Execution]:
    found = node.executions.list(ExecutionFilter(run=run), 1000).executions
    return sorted(found, key=lambda e: (e.segment, e.step))


def sequential(make_node: Callable[..., Node], tmp_path, workflow: dict, nonce: bytes, inputs: dict) -> list:
    """The same run (same nonce: same ids) stepped by hand on a fresh SQLite data dir."""
    other = make_node(data_dir=tmp_path / "sequential", db=None, operations=OPS)
    wf = other.workflows.create(json.dumps(workflow))
    state = other.engine.new(wf.id, nonce)
    for segment in range(len(wf.workflow.segments)):
        other.runs.next(state.id, inputs.get(segment, ()))
    return [(e.hash, e.key, e.output, e.status) for e in records(other, state.id)]


def test_a_submitted_run_is_driven_to_the_end(make_node) -> None:
    node = make_node(operations=OPS)
    wf = node.workflows.create(json.dumps(CHAIN))
    state = node.runs.submit(wf.id, {0: [1]})
    assert state.status == "running"
    steps: list = []
    ended = follow(node, state.id, steps.append, since=0)
    assert outcome(node, ended).result == 7  # inc inc: 3; inc: 4; add(4, 3)
    assert [s.segment for s in steps] == [0, 1, 2] and steps[-1].done
    assert node.store.get_run_lease(state.id) is None  # the lease ends with the run


def test_submit_checks_every_segment_before_the_run_exists(make_node) -> None:
    node = make_node(operations=OPS)
    wf = node.workflows.create(json.dumps(CHAIN))
    with pytest.raises(InputError, match="segment 0 takes 1 external input"):
        node.runs.submit(wf.id, {})
    with pytest.raises(InputError, match="input for segment 7"):
        node.runs.submit(wf.id, {0: [1], 7: [2]})
    assert node.runs.list() == []


def test_a_run_whose_node_died_is_finished_by_another_with_a_sequential_runs_records(
    make_node, tmp_path, db
) -> None:
    """Node A recorded segment 0 and died holding the lease; node B takes the run over when
    the lease lapses and finishes it: every step once, the hashes of a sequential run."""
    a = make_node(operations=OPS)
    wf = a.workflows.create(json.dumps(CHAIN))
    nonce = os.urandom(16)
    run = Run(wf.id, nonce)
    value = a.values.put(1)
    # Another node (its own data dir and identity) on the same database.
    shared = {} if db else {"store": SQLiteStore(a.data_dir / "catenary.db")}
    b = make_node(operations=OPS, data_dir=tmp_path / "node-b", **shared)
    a.store.submit_run(run, time.time_ns(), Orders({0: (value,)}).encode(), [], "did:key:dead", 10**9)
    a.runs.next(run.id, [1])  # what A did before it died: segment 0 is recorded
    assert b.runs.driver.take_over() == []  # A's lease is still live
    deadline = time.monotonic() + 10
    while not (adopted := b.runs.driver.take_over()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert adopted == [run.id]
    ended = follow(b, run.id)
    assert ended.status == "completed"
    got = [(e.hash, e.key, e.output, e.status) for e in records(b, run.id)]
    assert got == sequential(make_node, tmp_path, CHAIN, nonce, {0: [1]})
    assert {e.executor for e in records(b, run.id) if e.segment > 0} == {b.id}


def test_cancel_stops_a_driven_run_at_the_next_step_boundary(make_node) -> None:
    node = make_node(operations=OPS)
    wf = node.workflows.create(json.dumps(SLOW))
    state = node.runs.submit(wf.id, {0: [0]})
    time.sleep(0.45)  # inside the second step
    asked = node.runs.cancel(state.id, "enough")
    assert asked.status == "running"  # its driver stops it at the boundary
    ended = follow(node, state.id)
    assert ended.status == "cancelled"
    assert ended.error == f"cancelled by {node.id}: enough"
    done = records(node, state.id)
    # The steps finished before the boundary are recorded, completed; none after it ran.
    assert [e.step for e in done] == [0, 1] and all(e.status == "completed" for e in done)
    assert ended.next_segment == 0 and ended.outputs == {}
    with pytest.raises(RunStateError, match="cancelled"):
        node.runs.next(state.id, [0])
    with pytest.raises(RunStateError, match="only a running run"):
        node.runs.cancel(state.id)


def test_cancel_of_a_run_nothing_drives_ends_it_at_once(make_node) -> None:
    node = make_node(operations=OPS)
    wf = node.workflows.create(json.dumps(CHAIN))
    state = node.runs.new(wf.id)  # stepped by hand: no lease
    ended = node.runs.cancel(state.id, "not needed", by="did:key:someone")
    assert (ended.status, ended.error) == ("cancelled", "cancelled by did:key:someone: not needed")


def test_doctor_finds_an_undriven_run_and_repair_finishes_it(make_node) -> None:
    node = make_node(operations=OPS)
    wf = node.workflows.create(json.dumps(CHAIN))
    run = Run(wf.id, os.urandom(16))
    value = node.values.put(5)
    node.store.submit_run(run, time.time_ns(), Orders({0: (value,)}).encode(), [], "did:key:dead", 0)
    time.sleep(0.01)
    report = node.doctor.check()
    assert [(f.check, f.subject, f.repairable) for f in report.findings] == [("undriven", str(run.id), True)]
    assert "did:key:dead" in report.findings[0].message
    repaired = node.doctor.check(repair=True)
    assert repaired.ok and [(r.action, r.subject) for r in repaired.repairs] == [("driven", str(run.id))]
    assert node.runs.get(run.id).status == "completed"
    assert node.doctor.check().ok
