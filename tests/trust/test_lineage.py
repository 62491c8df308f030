"""Lineage in one store query: ancestors and descendants, each node once, depth limits."""

from __future__ import annotations

from catenary.model.filter import ExecutionFilter
from tests.helpers import manifest

# Diamond-ish: seg 2 takes seg 0 and seg 1, seg 3 takes seg 2 and seg 0.
DIAMOND = manifest(
    ([-1], ["test/inc"]),
    ([0], ["test/inc", "test/inc"]),
    ([0, 1], ["test/add"]),
    ([2, 0], ["test/add"]),
    name="diamond",
)


def _run(node, m, inputs):
    wf = node.workflows.create(m)
    return node.runs.run(wf.id, inputs)


def test_ancestors_reach_each_node_once(node) -> None:
    state, result = _run(node, DIAMOND, {0: [1]})
    lineage = node.store.lineage(result.final, "ancestors")
    hashes = [e.hash for e in lineage.executions]
    assert len(hashes) == len(set(hashes)) == 5
    assert hashes[0] == result.final
    assert [e.hash for e in lineage.events] and lineage.levels[result.final] == 0
    seg0 = node.executions.list(ExecutionFilter(run=state.id, segment=0)).executions[0]
    assert lineage.levels[seg0.hash] == 1  # the shortest path: seg 3 takes seg 0 directly


def test_descendants_are_the_impact(node) -> None:
    state, result = _run(node, DIAMOND, {0: [1]})
    seg0 = node.executions.list(ExecutionFilter(run=state.id, segment=0)).executions[0]
    trace = node.executions.trace(seg0.hash, "descendants")
    assert {n.hash for n in trace.nodes} == {
        e.hash for e in node.executions.iterate(ExecutionFilter(run=state.id))
    }
    assert all(n.kind == "execution" for n in trace.nodes)
    assert trace.nodes[0].hash == seg0.hash
    assert all(child != seg0.hash for _, child in trace.edges)
    one = node.executions.trace(seg0.hash, "descendants", depth=1)
    children = {e.hash for e in node.executions.iterate(ExecutionFilter(parent=seg0.hash))}
    assert {n.hash for n in one.nodes} == children | {seg0.hash}
    assert set(one.edges) == {(seg0.hash, c) for c in children}


def test_depth_limits_ancestors(node) -> None:
    _, result = _run(node, DIAMOND, {0: [1]})
    full = node.executions.trace(result.final)
    for depth in (1, 2, 3):
        limited = node.executions.trace(result.final, depth=depth)
        levels = node.store.lineage(result.final, "ancestors").levels
        assert {n.hash for n in limited.nodes} == {h for h, lv in levels.items() if lv <= depth}
        assert set(limited.edges) <= set(full.edges)
    assert node.executions.trace(result.final, depth=50).nodes.__len__() == len(full.nodes)


def test_a_deep_chain_traces_whole(node) -> None:
    steps = 1500
    _, result = _run(node, manifest(([-1], ["test/inc"] * steps), name="deep"), {0: [0]})
    assert result.result == steps
    trace = node.executions.trace(result.final)
    assert len(trace.nodes) == steps + 1 and len(trace.edges) == steps
    assert trace.nodes[-1].kind == "event"
    segs = [n.execution.step for n in trace.nodes if n.kind == "execution"]
    assert segs == list(range(steps - 1, -1, -1))  # breadth-first from the root
    first = trace.nodes[-2].hash
    down = node.executions.trace(first, "descendants", depth=10)
    assert len(down.nodes) == 11


def test_unknown_hash_has_no_lineage(node) -> None:
    from catenary.cid import cid_of

    assert node.store.lineage(cid_of("nothing"), "ancestors") is None
    assert node.store.lineage(cid_of("nothing"), "descendants", 3) is None
