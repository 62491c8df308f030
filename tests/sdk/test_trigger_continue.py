"""Continue triggers on both stores: a run paused before a segment with -1 inputs is advanced
by the event whose correlation value matches; no match or several are recorded failures."""

from __future__ import annotations

import json

import pytest

from catenary.errors import ManifestError
from catenary.model.enums import NodeKind
from catenary.sdk import Node

# segment 0 adds the order's two numbers; segment 1 waits for a payment and adds it
ORDER = {
    "data": {
        "name": "order",
        "creators": [],
        "description": "",
        "groups": [],
        "segments": [
            {"inputs": [-1, -1], "sequence": [{"op": "test/add", "config": {}}]},
            {"inputs": [0, -1], "sequence": [{"op": "test/add", "config": {}}]},
        ],
    }
}


def _setup(node: Node):
    wf = node.workflows.create(json.dumps(ORDER))
    node.triggers.create(
        {"name": "order", "on": "order.placed", "workflow": str(wf.id), "inputs": ["$.a", "$.b"]}
    )
    node.triggers.create(_pay(wf))
    return wf


def _pay(wf, **over):
    return {
        "name": "pay",
        "on": "payment.received",
        "workflow": str(wf.id),
        "inputs": ["$.amount"],
        "continue": {"segment": 1, "event": "$.order", "run": "$.id"},
        **over,
    }


def _run_of(node: Node, trigger: str, event):
    [firing] = [f for f in node.triggers.history(trigger) if f.event == event]
    return firing


def test_the_matching_event_advances_the_waiting_run_and_the_trace_reaches_it(node: Node) -> None:
    _setup(node)
    first = node.events.emit("order.placed", {"id": "o-1", "a": 1, "b": 2})
    second = node.events.emit("order.placed", {"id": "o-2", "a": 10, "b": 20})
    run1 = _run_of(node, "order", first.id).run
    run2 = _run_of(node, "order", second.id).run
    assert node.runs.get(run1).next_segment == 1 and node.runs.get(run1).status == "running"

    paid = node.events.emit("payment.received", {"order": "o-2", "amount": 100})
    firing = _run_of(node, "pay", paid.id)
    assert (firing.status, firing.run, firing.reason) == ("fired", run2, None)
    done = node.runs.get(run2)
    assert done.status == "completed" and node.values.get(done.outputs[1].output) == 130
    assert node.runs.get(run1).next_segment == 1  # the other order still waits

    # the segment's input event names the payment as its cause, like a started run's
    trace = node.executions.trace(done.outputs[1].producer)
    causes = {n.cause.id for n in trace.nodes if n.kind == NodeKind.EVENT and n.cause}
    assert causes == {second.id, paid.id}

    # once per (trigger, event): dispatching again changes nothing
    assert node.triggers.dispatch() == 0
    # a second payment for the same order finds no waiting run: a recorded failure
    again = node.events.emit("payment.received", {"order": "o-2", "amount": 1})
    failed = _run_of(node, "pay", again.id)
    assert failed.status == "failed" and failed.run is None
    assert "no run of workflow" in failed.reason and "'o-2'" in failed.reason
    assert node.values.get(node.runs.get(run2).outputs[1].output) == 130


def test_no_match_and_several_matches_are_recorded_failures(node: Node) -> None:
    wf = _setup(node)
    node.events.emit("order.placed", {"id": "o-1", "a": 1, "b": 2})
    node.events.emit("order.placed", {"id": "o-1", "a": 3, "b": 4})  # the same order id twice
    unknown = node.events.emit("payment.received", {"order": "o-9", "amount": 5})
    twice = node.events.emit("payment.received", {"order": "o-1", "amount": 5})
    no_key = node.events.emit("payment.received", {"amount": 5})
    reasons = {f.event: f.reason for f in node.triggers.history("pay") if f.status == "failed"}
    assert "no run of workflow" in reasons[unknown.id]
    assert reasons[twice.id].startswith("2 runs are waiting before segment 1 with $.id = 'o-1'")
    assert reasons[no_key.id].startswith("$.continue.event: the event data has nothing at $.order")
    assert all(r.next_segment == 1 and r.status == "running" for r in node.runs.list(wf.id))


def test_bad_continue_triggers_are_refused_by_json_path(node: Node) -> None:
    wf = node.workflows.create(json.dumps(ORDER))
    cases = [
        (
            _pay(wf, **{"continue": {"segment": 2, "event": "$.o", "run": "$.o"}}),
            r"^\$\.continue\.segment: .* no segment 2",
        ),
        (
            _pay(wf, **{"continue": {"segment": 0, "event": "$.o", "run": "$.o"}}),
            r"^\$\.continue\.segment: expected",
        ),
        (
            _pay(wf, **{"continue": {"segment": 1, "event": "o", "run": "$.o"}}),
            r"^\$\.continue\.event: expected a JSON path",
        ),
        (_pay(wf, **{"continue": {"segment": 1, "event": "$.o"}}), r"^\$\.continue\.run: missing"),
        (
            _pay(wf, **{"continue": {"segment": 1, "event": "$.o", "run": "$.o", "x": 1}}),
            r"^\$\.continue\.x: unknown",
        ),
        (_pay(wf, inputs=["$.a", "$.b"]), r"^\$\.inputs: segment 1 .* takes 1 external input"),
    ]
    for definition, message in cases:
        with pytest.raises(ManifestError, match=message):
            node.triggers.create(definition)
    assert node.triggers.list() == []
    row = node.triggers.create(_pay(wf))
    assert row.definition["continue"] == {"segment": 1, "event": "$.order", "run": "$.id"}


def test_a_started_continue_firing_is_resumed_once(node: Node) -> None:
    """A node stopped between claiming a continue firing and stepping: the next dispatch steps
    the claimed run's segment with the event's inputs, once."""
    wf = _setup(node)
    placed = node.events.emit("order.placed", {"id": "o-1", "a": 1, "b": 2})
    run = _run_of(node, "order", placed.id).run
    node.triggers.enable("pay", False)
    paid = node.events.emit("payment.received", {"order": "o-1", "amount": 7})
    assert node.store.claim_firing("pay", paid.id, "started", 1, continues=run)
    assert [r.id for r in node.runs.list(wf.id)] == [run]  # no run was created
    node.triggers.dispatch()
    firing = _run_of(node, "pay", paid.id)
    assert (firing.status, firing.run) == ("fired", run)
    assert node.values.get(node.runs.get(run).outputs[1].output) == 10
    node.triggers.enable("pay")
    assert node.triggers.dispatch() == 0
