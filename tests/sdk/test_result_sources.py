"""Result sources filtered by workflow name, segment and operation (docs/events.md, "Results
as sources"): a trigger fires on a chosen execution's output, the event links that execution,
the mapping is type-checked against what the chosen operation produces, and a bad source is
refused by JSON path with nothing stored."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from catenary.errors import ManifestError
from catenary.events.results import ResultSource
from catenary.sdk import Node
from tests.helpers import manifest, snapshot


def _workflow(node: Node, *segments: tuple[list[int], list[str]], name: str) -> Any:
    return node.workflows.create(manifest(*segments, name=name))


def _outputs(node: Node, workflow: Any) -> list[Any]:
    return sorted(node.values.get(node.runs.get(r.id).outputs[0].output) for r in node.runs.list(workflow.id))


def test_a_segment_source_fires_on_that_segments_output(node: Node) -> None:
    a = _workflow(node, ([-1], ["test/inc", "test/inc"]), ([0], ["test/count"]), name="a")
    b = _workflow(node, ([-1], ["test/inc"]), name="b")
    on = {"workflow": str(a.id), "segment": 0}
    row = node.triggers.create({"name": "b", "on": on, "workflow": str(b.id), "inputs": ["$"]})
    assert row.definition["on"] == on  # the readable form is kept; the key derives from it
    run = node.runs.run(a.id, {0: [1]})
    # segment 0 gives inc(inc(1)) = 3, not the run's final result: b's run adds one
    assert _outputs(node, b) == [4]
    [event] = node.events.list(key=ResultSource.parse(on).key)
    segment0 = run.state.outputs[0].producer
    assert (event.event.source, node.values.get(event.event.data)) == (segment0, 3)
    [run_b] = node.runs.list(b.id)
    trace = node.executions.trace(node.runs.get(run_b.id).outputs[0].producer)
    assert segment0 in {n.hash for n in trace.nodes}  # the lineage crosses into a's segment 0
    final_b = node.runs.get(run_b.id).outputs[0].producer
    assert node.trust.verify(final_b, trace=True).ok  # re-executes a's segment 0 too


def test_the_bundle_of_a_run_started_by_a_segment_verifies_on_a_fresh_node(
    node: Node, make_node: Any, tmp_path: Path
) -> None:
    a = _workflow(node, ([-1], ["test/inc", "test/inc"]), ([0], ["test/count"]), name="a")
    b = _workflow(node, ([-1], ["test/inc"]), name="b")
    on = {"workflow": str(a.id), "segment": 0}
    node.triggers.create({"name": "b", "on": on, "workflow": str(b.id), "inputs": ["$"]})
    run = node.runs.run(a.id, {0: [1]})
    [run_b] = node.runs.list(b.id)
    final_b = node.runs.get(run_b.id).outputs[0].producer
    stream = io.BytesIO()
    assert node.trust.export(final_b, stream)["emitted"] == 1
    fresh = make_node(data_dir=tmp_path / "fresh", db=None)
    report = fresh.trust.verify_bundle(stream.getvalue())
    assert report.ok, report.summary()
    fresh.trust.import_verified(report)
    assert run.state.outputs[0].producer in {n.hash for n in fresh.executions.trace(final_b).nodes}


def test_an_operation_source_fires_on_each_of_its_executions(node: Node) -> None:
    a = _workflow(node, ([-1], ["test/inc", "test/inc"]), ([0], ["test/count"]), name="a")
    b = _workflow(node, ([-1], ["test/inc"]), name="b")
    node.triggers.create(
        {
            "name": "b",
            "on": {"workflow": str(a.id), "operation": "test/inc"},
            "workflow": str(b.id),
            "inputs": ["$"],
        }
    )
    node.runs.run(a.id, {0: [10]})
    assert _outputs(node, b) == [12, 13]  # the two test/inc steps gave 11 and 12
    node.triggers.dispatch()  # once per execution: nothing new
    assert len(node.runs.list(b.id)) == 2


def test_a_name_source_takes_every_workflow_of_that_name(node: Node) -> None:
    v1 = _workflow(node, ([-1], ["test/inc"]), name="etl")
    v2 = _workflow(node, ([-1], ["test/count"]), name="etl")
    b = _workflow(node, ([-1], ["test/inc"]), name="b")
    node.triggers.create({"name": "b", "on": {"name": "etl"}, "workflow": str(b.id), "inputs": ["$"]})
    node.runs.run(v1.id, {0: [1]})
    node.runs.run(v2.id, {0: [5]})
    v3 = _workflow(node, ([-1], ["test/inc", "test/inc"]), name="etl")  # stored after the trigger
    node.runs.run(v3.id, {0: [100]})
    assert len(_outputs(node, b)) == 3 and 103 in _outputs(node, b)


def test_the_mapping_is_checked_against_what_the_chosen_operation_produces(node: Node) -> None:
    a = _workflow(node, ([-1], ["test/to-map"]), name="a")  # produces {"n": int}
    b = _workflow(node, ([-1], ["test/inc"]), name="b")  # takes an int
    on = {"workflow": str(a.id), "segment": 0}
    with pytest.raises(
        ManifestError, match=r"^\$\.inputs\[0\]: test/to-map \(segment 0\) gives \{'n': 'int'\}"
    ):
        node.triggers.create({"name": "b", "on": on, "workflow": str(b.id), "inputs": ["$"]})
    with pytest.raises(ManifestError, match=r"^\$\.inputs\[0\]: .* with nothing at \$\.n\.x"):
        node.triggers.create({"name": "b", "on": on, "workflow": str(b.id), "inputs": ["$.n.x"]})
    node.triggers.create({"name": "b", "on": on, "workflow": str(b.id), "inputs": ["$.n"]})
    node.runs.run(a.id, {0: [4]})
    assert len(_outputs(node, b)) == 1


@pytest.mark.parametrize(
    ("on", "message"),
    [
        ({"workflow": "A", "segmnt": 0}, r"^\$\.on\.segmnt: unknown field of a result source"),
        (
            {"workflow": "A", "operation": "test/add"},
            r"^\$\.on\.operation: no step of workflow 'a' runs operation 'test/add'",
        ),
        (
            {"workflow": "A", "segment": 0, "operation": "test/count"},
            r"^\$\.on\.operation: no step of segment 0 of",
        ),
        ({"workflow": "A", "segment": 2}, r"^\$\.on\.segment: workflow 'a' has no segment 2"),
        ({"workflow": "A", "segment": -1}, r"^\$\.on\.segment: expected a segment index"),
        ({"name": "nope"}, r"^\$\.on\.name: no workflow named 'nope'"),
        ({"name": "a", "workflow": "A"}, r"^\$\.on: a result source names its workflow"),
    ],
)
def test_a_bad_source_is_refused_by_path_and_stores_nothing(
    node: Node, db_path: Path | str, on: dict[str, Any], message: str
) -> None:
    a = _workflow(node, ([-1], ["test/inc"]), ([0], ["test/count"]), name="a")
    b = _workflow(node, ([-1], ["test/inc"]), name="b")
    on = {k: str(a.id) if v == "A" else v for k, v in on.items()}
    before = snapshot(db_path)
    with pytest.raises(ManifestError, match=message):
        node.triggers.create({"name": "b", "on": on, "workflow": str(b.id), "inputs": ["$"]})
    assert snapshot(db_path) == before
