"""Triggers on both stores: a matching event starts a run whose trace reaches the emitted
event and its emitter; each (trigger, event) pair fires once; refusals store nothing."""

from __future__ import annotations

import json

import pytest

from catenary.cid import cid_of
from catenary.errors import AlreadyExistsError, ManifestError, NotFoundError
from catenary.model import Run
from catenary.model.enums import NodeKind
from catenary.sdk import Node
from catenary.trust.identity import Identity

ADD = {
    "data": {
        "name": "add",
        "creators": [],
        "description": "",
        "groups": [],
        "segments": [{"inputs": [-1, -1], "sequence": [{"op": "test/add", "config": {}}]}],
    }
}


def _workflow(node: Node):
    return node.workflows.create(json.dumps(ADD))


def _trigger(wf, **over):
    return {"name": "sum", "on": "numbers.ready", "workflow": str(wf.id), "inputs": ["$.a", "$.b"], **over}


def test_an_event_starts_the_workflow_and_the_trace_reaches_it(node: Node) -> None:
    wf = _workflow(node)
    node.triggers.create(_trigger(wf))
    stored = node.events.emit("numbers.ready", {"a": 2, "b": 40})
    [firing] = node.triggers.history("sum")
    assert (firing.status, firing.event, firing.reason) == ("fired", stored.id, None)
    run = node.runs.get(firing.run)
    assert run.status == "completed"
    final = run.outputs[0].producer
    assert node.values.get(run.outputs[0].output) == 42

    trace = node.executions.trace(final)
    [event] = [n for n in trace.nodes if n.kind == NodeKind.EVENT]
    assert event.cause is not None and event.cause.id == stored.id
    assert event.cause.event.emitter == node.id and event.cause.signature == stored.signature
    # the run's event names the cause in its hashed pre-image
    assert node.store.get_event(event.hash).cause == stored.id

    # once per pair: dispatching again fires nothing new
    assert node.triggers.dispatch() == 0
    assert len(node.runs.list(wf.id)) == 1


def test_filters_and_failed_firings_are_recorded_with_their_reason(node: Node) -> None:
    wf = _workflow(node)
    other = Identity.generate()
    node.triggers.create(_trigger(wf, where={"$.kind": "sum"}))
    node.triggers.create(_trigger(wf, name="theirs", emitters=[other.id]))
    node.events.emit("numbers.ready", {"a": 1, "b": 2, "kind": "product"})  # where does not match
    node.events.emit("numbers.ready", {"a": 1, "kind": "sum"})  # $.b missing
    node.events.emit("numbers.ready", {"a": "x", "b": 2, "kind": "sum"})  # a type mismatch
    by_status = {}
    for f in node.triggers.history():
        by_status.setdefault((f.trigger, f.status), []).append(f.reason)
    assert len(by_status[("sum", "skipped")]) == 1
    reasons = by_status[("sum", "failed")]
    assert any("$.inputs[1]" in r for r in reasons) and any("input 0" in r for r in reasons), reasons
    assert len(by_status[("theirs", "skipped")]) == 3  # not its emitter
    assert node.runs.list(wf.id) == []


def test_bad_triggers_are_refused_by_json_path_and_store_nothing(node: Node) -> None:
    wf = _workflow(node)
    cases = [
        (_trigger(wf, colour="red"), r"^\$\.colour: unknown field"),
        (_trigger(wf, inputs=["$.a"]), r"^\$\.inputs: segment 0 .* takes 2 external input"),
        (_trigger(wf, inputs=["$.a", "b"]), r"^\$\.inputs\[1\]: expected a JSON path"),
        (_trigger(wf, workflow=str(cid_of("nope"))), r"^\$\.workflow: no workflow"),
        (_trigger(wf, on="Numbers Ready"), r"^\$\.on: "),
        ({"name": "x"}, r"^\$\.on: missing"),
    ]
    for definition, message in cases:
        with pytest.raises(ManifestError, match=message):
            node.triggers.create(definition)
    assert node.triggers.list() == []
    node.triggers.create(_trigger(wf))
    with pytest.raises(AlreadyExistsError):
        node.triggers.create(_trigger(wf))


def test_declared_types_are_checked_at_creation_where_the_values_are_known(node: Node) -> None:
    wf = _workflow(node)  # test/add: int, int
    node.schedules.add("clock", "* * * * *", "numbers.ready", data={"a": 1, "label": "x"})
    node.schedules.add("other", "* * * * *", "other.key", data="no map")  # another key: ignored
    cases = [
        # a field where pins: its value is what the input always is
        (
            _trigger(wf, inputs=["$.n", "$.b"], where={"$.n": "two"}),
            r"^\$\.inputs\[0\]: segment 0 input 0: expected int, got string \(declared by test/add; "
            r"where pins \$\.n\)",
        ),
        (
            _trigger(wf, inputs=["$.n.x", "$.b"], where={"$.n": 5}),
            r"^\$\.inputs\[0\]: where pins \$\.n to a value with nothing at \$\.n\.x",
        ),
        # the ticks of a schedule on the key: their data is known
        (
            _trigger(wf, inputs=["$.time", "$.tick"]),
            r"^\$\.inputs\[0\]: segment 0 input 0: expected int, got string .* schedule 'clock'",
        ),
        (
            _trigger(wf, inputs=["$.data.label", "$.tick"]),
            r"^\$\.inputs\[0\]: .*expected int, got string .* schedule 'clock'",
        ),
        (
            _trigger(wf, inputs=["$.tick", "$.data.b"]),
            r"^\$\.inputs\[1\]: the events of schedule 'clock' have nothing at \$\.data\.b",
        ),
    ]
    for definition, message in cases:
        with pytest.raises(ManifestError, match=message):
            node.triggers.create(definition)
    assert node.triggers.list() == []
    # what fits is accepted: pinned ints, a tick and the schedule's int, unknown data
    node.triggers.create(_trigger(wf, name="pinned", inputs=["$.n", "$.b"], where={"$.n": 2}))
    node.triggers.create(_trigger(wf, name="ticks", inputs=["$.tick", "$.data.a"]))
    node.triggers.create(_trigger(wf, name="unknown", on="numbers.later", inputs=["$.x", "$.y"]))
    # a trigger that takes only another emitter's events never sees this node's ticks
    theirs = Identity.generate().id
    node.triggers.create(_trigger(wf, name="theirs", inputs=["$.time", "$.y"], emitters=[theirs]))
    # nor one whose where the ticks do not match
    node.triggers.create(_trigger(wf, name="kind", inputs=["$.time", "$.y"], where={"$.data.kind": "k"}))
    assert {t.name for t in node.triggers.list()} == {"pinned", "ticks", "unknown", "theirs", "kind"}


def test_disable_enable_delete_and_only_later_events(node: Node) -> None:
    wf = _workflow(node)
    node.events.emit("numbers.ready", {"a": 1, "b": 1})  # before the trigger: never fires it
    node.triggers.create(_trigger(wf))
    assert node.triggers.history() == []
    node.triggers.enable("sum", False)
    node.events.emit("numbers.ready", {"a": 1, "b": 2})
    assert node.triggers.history() == [] and not node.triggers.get("sum").enabled
    node.triggers.enable("sum")  # the event stored while disabled fires now
    node.triggers.dispatch()
    assert [f.status for f in node.triggers.history("sum")] == ["fired"]
    node.triggers.delete("sum")
    with pytest.raises(NotFoundError):
        node.triggers.get("sum")
    assert len(node.triggers.history("sum")) == 1  # the history stays


def test_a_pair_claimed_elsewhere_is_not_fired_again(node: Node) -> None:
    """Another node (or this one before a crash) claimed the pair: its run goes on, no second run."""
    wf = _workflow(node)
    node.triggers.create(_trigger(wf))
    node.triggers.enable("sum", False)
    stored = node.events.emit("numbers.ready", {"a": 3, "b": 4})
    run = Run(wf.id, bytes(16))
    assert node.store.claim_firing("sum", stored.id, "started", 1, run=run)
    assert not node.store.claim_firing("sum", stored.id, "started", 2, run=Run(wf.id, b"\x01" * 16))
    node.triggers.enable("sum")
    node.triggers.dispatch()  # resumes the started firing: steps the claimed run, once
    [firing] = node.triggers.history("sum")
    assert firing.status == "fired" and firing.run == run.id
    assert [r.id for r in node.runs.list(wf.id)] == [run.id]
    assert node.values.get(node.runs.get(run.id).outputs[0].output) == 7
