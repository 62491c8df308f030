"""Results as sources, on both stores: a run of A completing emits one result event (data: the
final output, source: the final execution), a trigger on A's results starts B with it, and
B's trace, ``verify --trace`` and proof bundle cross into A's executions."""

from __future__ import annotations

import io
import json

import pytest

from catenary.errors import ManifestError
from catenary.events.results import result_key
from catenary.model.enums import NodeKind
from catenary.sdk import Node
from catenary.trust.identity import verify_signature


def _workflow(node: Node, name: str, op: str, slots: int) -> object:
    segment = {"inputs": [-1] * slots, "sequence": [{"op": op, "config": {}}]}
    return node.workflows.create(
        json.dumps(
            {"data": {"name": name, "creators": [], "description": "", "groups": [], "segments": [segment]}}
        )
    )


def _chain(node: Node) -> tuple[object, object]:
    a = _workflow(node, "a", "test/add", 2)
    b = _workflow(node, "b", "test/inc", 1)
    node.triggers.create(
        {"name": "a", "on": "numbers.ready", "workflow": str(a.id), "inputs": ["$.a", "$.b"]}
    )
    node.triggers.create({"name": "b", "on": {"workflow": str(a.id)}, "workflow": str(b.id), "inputs": ["$"]})
    return a, b


def test_a_result_starts_the_next_workflow_and_the_trace_crosses_it(node: Node) -> None:
    a, b = _chain(node)
    first = node.events.emit("numbers.ready", {"a": 2, "b": 40})
    [run_a] = [node.runs.get(r.id) for r in node.runs.list(a.id)]
    [run_b] = [node.runs.get(r.id) for r in node.runs.list(b.id)]
    assert run_a.status == run_b.status == "completed"
    final_a, final_b = run_a.outputs[0].producer, run_b.outputs[0].producer
    assert node.values.get(run_b.outputs[0].output) == 43

    [result] = node.events.list(key=result_key(a.id))
    assert (result.event.source, result.event.data, result.event.emitter) == (
        final_a,
        run_a.outputs[0].output,
        node.id,
    )
    assert verify_signature(node.id, result.signature, result.event.signed_bytes()) is None

    trace = node.executions.trace(final_b)
    hashes = {n.hash for n in trace.nodes}
    assert final_a in hashes  # B's trace reaches A's executions ...
    causes = {n.cause.id for n in trace.nodes if n.kind == NodeKind.EVENT and n.cause is not None}
    assert causes == {first.id, result.id}  # ... and the first event with its emitter
    assert any(edge[0] == final_a for edge in trace.edges)

    report = node.trust.verify(final_b, trace=True)
    assert {v.execution for v in report.verdicts} >= {final_a, final_b} and report.ok

    # once per (source, execution): dispatching again emits and fires nothing new
    node.triggers.dispatch()
    assert len(node.events.list(key=result_key(a.id))) == 1 and len(node.runs.list(b.id)) == 1


def test_the_bundle_carries_the_upstream_lineage_and_the_events(node: Node, make_node, tmp_path) -> None:
    a, b = _chain(node)
    first = node.events.emit("numbers.ready", {"a": 1, "b": 2})
    final_b = node.runs.get(node.runs.list(b.id)[0].id).outputs[0].producer
    final_a = node.runs.get(node.runs.list(a.id)[0].id).outputs[0].producer
    stream = io.BytesIO()
    counts = node.trust.export(final_b, stream)
    assert counts["emitted"] == 2 and counts["runs"] == 2

    fresh = make_node(data_dir=tmp_path / "fresh", db=None)
    report = fresh.trust.verify_bundle(stream.getvalue())
    assert report.ok, report.summary()
    assert set(report.bundle.emitted) == {first.id, node.events.list(key=result_key(a.id))[0].id}
    imported = fresh.trust.import_verified(report)
    assert imported["emitted"] == 2
    assert {n.hash for n in fresh.executions.trace(final_b).nodes} >= {final_a, final_b}


def test_a_run_the_caller_completes_starts_the_next_workflow(node: Node) -> None:
    a, b = _chain(node)
    done = node.runs.run(a.id, {0: [3, 4]})
    [run_b] = [node.runs.get(r.id) for r in node.runs.list(b.id)]
    assert node.values.get(run_b.outputs[0].output) == 8
    [result] = node.events.list(key=result_key(a.id))
    assert result.event.source == done.state.outputs[0].producer


def test_a_result_missed_before_a_restart_is_emitted_once_after(make_node) -> None:
    """A node stopped after a run completed but before it dispatched (the engine steps the
    run, nothing else): the next node on the data emits the result and starts B, once."""
    first = make_node()
    a, b = _chain(first)
    run = first.engine.new(a.id)
    first.engine.next(run.id, [20, 22])
    assert first.events.list(key=result_key(a.id)) == [] and first.runs.list(b.id) == []
    first.close()
    for _ in range(2):  # two restarts: the second finds everything done
        again = make_node()
        again.triggers.dispatch()
        [result] = again.events.list(key=result_key(a.id))
        [run_b] = again.runs.list(b.id)
        assert again.values.get(again.runs.get(run_b.id).outputs[0].output) == 43
        again.close()


def test_a_bad_result_filter_is_refused_by_path(node: Node) -> None:
    wf = _workflow(node, "b", "test/inc", 1)
    both = {"name": "b", "workflow": str(wf.id)}
    for on, path in [({"workflow": "nope"}, r"^\$\.on\.workflow"), (both, r"^\$\.on:")]:
        with pytest.raises(ManifestError, match=path):
            node.triggers.create({"name": "b", "on": on, "workflow": str(wf.id), "inputs": ["$"]})
    assert node.triggers.list() == []


def test_a_result_event_keeps_its_id_over_grpc(node: Node) -> None:
    """The source travels (EmittedEvent.source): a client recomputes the event's id from the
    record it receives, so without it a result event would read as altered."""
    from catenary.api import Server
    from catenary.client import Client
    from tests.helpers import open_policy

    a, _b = _chain(node)
    node.events.emit("numbers.ready", {"a": 1, "b": 1})
    [result] = node.events.list(key=result_key(a.id))
    server = Server(node, "127.0.0.1:0", max_workers=4, policy=open_policy(node)).start()
    try:
        with Client(server.address) as client:
            assert client.events.get(result.id) == result
            assert [e.id for e in client.events.list(key=result_key(a.id))] == [result.id]
    finally:
        server.stop(grace=1)


def test_a_forged_or_detached_result_event_fails_verify_bundle(node: Node, make_node, tmp_path) -> None:
    """A flipped signature, or a result event whose data is not its source's output, is a
    problem naming the emitted event; the bundle imports nothing."""
    from tests.trust.conftest import Car

    a, b = _chain(node)
    node.events.emit("numbers.ready", {"a": 5, "b": 6})
    final_b = node.runs.get(node.runs.list(b.id)[0].id).outputs[0].producer
    stream = io.BytesIO()
    node.trust.export(final_b, stream)
    [result] = node.events.list(key=result_key(a.id))
    fresh = make_node(data_dir=tmp_path / "fresh", db=None)

    def meta_link(car: Car) -> object:
        return next(m for m in car.index["emitted"] if car.value(m)["event"] == result.id)

    signed = Car(stream.getvalue())
    meta = signed.value(meta_link(signed))
    signed.replace(
        meta_link(signed), {**meta, "signature": bytes([meta["signature"][0] ^ 1]) + meta["signature"][1:]}
    )
    detached = Car(stream.getvalue())  # the source's recorded output is not the event's data
    source_meta = detached.meta_of(result.event.source)
    other = detached.value(detached.meta_of(final_b))["output"]
    detached.replace(source_meta, {**detached.value(source_meta), "output": other})
    for car, problem in [
        (signed, "does not verify"),
        (detached, "is not the output of its source execution"),
    ]:
        report = fresh.trust.verify_bundle(car.bytes())
        assert not report.ok and any(problem in p and str(result.id) in p for p in report.problems), (
            report.problems
        )
    assert fresh.events.list() == []


def test_the_trace_over_grpc_crosses_into_the_upstream_run_as_the_sdk_does(node: Node) -> None:
    """Execution.Trace carries each input event's cause (the emitted event, with its source),
    so a client sees the same nodes, causes and edges as the sdk, the cross-run edge included."""
    from catenary.api import Server
    from catenary.client import Client
    from tests.helpers import open_policy

    a, b = _chain(node)
    node.events.emit("numbers.ready", {"a": 2, "b": 40})
    [run_b] = [node.runs.get(r.id) for r in node.runs.list(b.id)]
    final_b = run_b.outputs[0].producer
    local = node.executions.trace(final_b)
    server = Server(node, "127.0.0.1:0", max_workers=4, policy=open_policy(node)).start()
    try:
        with Client(server.address) as client:
            remote = client.executions.trace(final_b)
    finally:
        server.stop(grace=1)
    assert {(n.hash, n.cause) for n in remote.nodes} == {(n.hash, n.cause) for n in local.nodes}
    assert sum(n.cause is not None for n in remote.nodes) == 2  # the first event and A's result
    assert set(remote.edges) == set(local.edges)
    cross = [
        (s, e)
        for s, e in remote.edges
        if any(n.hash == e and n.cause is not None and n.cause.event.source == s for n in remote.nodes)
    ]
    assert len(cross) == 1  # A's final execution -> B's input event
