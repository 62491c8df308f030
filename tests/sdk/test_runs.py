"""Runs, workflows, operations and values through the sdk: bad input changes nothing, runs persist."""

from __future__ import annotations

import json
import math

import pytest

from catenary import Node
from catenary.cid import cid_of
from catenary.errors import (
    BadInputError,
    CatenaryError,
    EncodingError,
    ExecutionFailedError,
    InputError,
    ManifestError,
    NotFoundError,
    RunStateError,
)
from catenary.model import Run
from catenary.model.filter import ExecutionFilter
from tests.helpers import check_hashes, manifest, snapshot
from tests.model.test_workflow import BAD, bad_manifest

TWO = manifest(([-1], ["test/inc", "test/inc"]), ([0, -1], ["test/add"]), ([1], ["test/inc"]))
TYPED = manifest(([-1, -1], ["std/concat"]), ([0], ["std/utf8-decode"]), ([-1], ["std/utf8-encode"]))


# -- runs: new / next / get / list ---------------------------------------------------------------


def test_new_next_until_done(node) -> None:
    wf = node.workflows.create(TWO)
    state = node.runs.new(wf.id)
    assert (state.status, state.next_segment, state.workflow) == ("running", 0, wf.id)
    assert Run(state.workflow, state.nonce).id == state.id and len(state.nonce) == 16
    r0 = node.runs.next(state.id, [1])
    r1 = node.runs.next(state.id, [10])
    r2 = node.runs.next(state.id)
    assert (r0.done, r1.done, r2.done) == (False, False, True)
    assert (r0.result, r1.result, r2.result) == (None, None, 3 + 10 + 1)
    assert node.runs.get(state.id).status == "completed"


def test_run_to_the_end(node) -> None:
    wf = node.workflows.create(TWO)
    steps = []
    state, result = node.runs.run(wf.id, {0: [1], 1: [10]}, on_step=steps.append)
    assert [s.segment for s in steps] == [0, 1, 2]
    assert result.done and result.result == 14 and result is steps[-1]
    assert state.status == "completed" and state.next_segment == 3
    assert state.total_time == pytest.approx(sum(s.segment_time for s in steps))
    assert sorted(state.outputs) == [0, 1, 2]
    assert node.values.get(state.outputs[2].output) == 14
    assert state.outputs[2].producer == result.final


def test_two_runs_of_one_workflow_have_distinct_ids(node) -> None:
    wf = node.workflows.create(TWO)
    a, b = node.runs.new(wf.id), node.runs.new(wf.id)
    assert a.id != b.id and a.nonce != b.nonce


def test_runs_list(node) -> None:
    one = node.workflows.create(TWO)
    two = node.workflows.create(manifest(([-1], ["test/inc"]), name="other"))
    a, b = node.runs.new(one.id), node.runs.new(two.id)
    assert {r.id for r in node.runs.list()} == {a.id, b.id}
    assert [r.id for r in node.runs.list(workflow=two.id)] == [b.id]
    assert len(node.runs.list(limit=1)) == 1


# -- bad input: typed error, nothing stored --------------------------------------------------------


@pytest.fixture
def started(node, db_path):
    """A run of TYPED waiting for segment 0, and the DB snapshot at that point."""
    wf = node.workflows.create(TYPED)
    state = node.runs.new(wf.id)
    return state, snapshot(db_path)


@pytest.mark.parametrize(
    "inputs, error, fragment",
    [
        ([], InputError, "takes 2 external input(s), got 0"),
        ([b"a"], InputError, "got 1"),
        ([b"a", b"b", b"c"], InputError, "got 3"),
        ([float("nan"), b"b"], InputError, "NaN"),
        ([{"deep": [1.0, float("inf")]}, b"b"], InputError, "inf"),
        ([2**70, b"b"], InputError, "64-bit"),
        ([{1: "non-string key"}, b"b"], InputError, "not a string"),
        ([{1, 2}, b"b"], InputError, "set"),
        ([object(), b"b"], InputError, "object"),
    ],
)
def test_bad_external_inputs_change_nothing(node, db_path, started, inputs, error, fragment) -> None:
    state, before = started
    with pytest.raises(error) as info:
        node.runs.next(state.id, inputs)
    assert isinstance(info.value, BadInputError) and info.value.exit_code == 2
    assert fragment in str(info.value)
    assert snapshot(db_path) == before
    assert node.runs.next(state.id, [b"ok", b"!"]).segment == 0  # the run is still usable


def test_wrong_value_type_is_refused_before_anything_is_stored(node, db_path) -> None:
    wf = node.workflows.create(TYPED)
    state = node.runs.new(wf.id)
    node.runs.next(state.id, [b"a", b"b"])
    node.runs.next(state.id)
    before = snapshot(db_path)
    with pytest.raises(InputError) as info:
        node.runs.next(state.id, [b"bytes, not a string"])
    assert "expected string, got bytes" in str(info.value)
    assert "std/utf8-encode" in str(info.value)
    assert snapshot(db_path) == before
    assert node.runs.next(state.id, ["text"]).result == b"text"


def test_oversized_value_is_refused(make_node, db_path) -> None:
    node = make_node(max_value_size=64)
    wf = node.workflows.create(TYPED)
    state = node.runs.new(wf.id)
    before = snapshot(db_path)
    with pytest.raises(InputError, match="over the value size cap of 64 bytes"):
        node.runs.next(state.id, [b"x" * 100, b"y"])
    assert snapshot(db_path) == before
    with pytest.raises(InputError, match="over the value size cap"):
        node.values.put(b"x" * 100)
    assert snapshot(db_path) == before
    assert node.runs.next(state.id, [b"x" * 10, b"y"]).segment == 0


def test_unknown_workflow_run_and_hash(node, db_path) -> None:
    node.workflows.create(TWO)
    before = snapshot(db_path)
    missing = cid_of("missing")
    for call in (
        lambda: node.runs.new(missing),
        lambda: node.runs.next(missing, [1]),
        lambda: node.runs.get(missing),
        lambda: node.runs.run(missing, {0: [1]}),
        lambda: node.workflows.get(missing),
        lambda: node.executions.get(missing),
        lambda: node.executions.trace(missing),
        lambda: node.values.get(missing),
        lambda: node.operations.get(missing),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert snapshot(db_path) == before


def test_run_checks_every_segments_inputs_before_creating_the_run(node, db_path) -> None:
    wf = node.workflows.create(TWO)
    before = snapshot(db_path)
    for inputs in (
        {0: [1]},
        {0: [1], 1: [1, 2]},
        {0: [1], 1: [2], 2: [3]},
        {0: [1], 1: [2], 5: [3]},
        {0: ["one"], 1: [2]},
        {0: [1], 1: [float("nan")]},
    ):
        with pytest.raises(InputError):
            node.runs.run(wf.id, inputs)
    assert snapshot(db_path) == before
    assert node.runs.list() == []


def test_bad_manifests_store_nothing(node, db_path) -> None:
    before = snapshot(db_path)
    for case, mutate, path, _ in BAD:
        with pytest.raises(ManifestError) as info:
            node.workflows.create(bad_manifest(mutate))
        assert info.value.path == path, case
    for text in ("{not json", '{"data": 1, "data": 2}', '{"data": NaN}', b"\xff\xfe", ""):
        with pytest.raises(ManifestError):
            node.workflows.create(text)
    assert snapshot(db_path) == before
    assert node.workflows.list() == []


def test_step_error_types(node) -> None:
    wf = node.workflows.create(manifest(([-1], ["test/boom"])))
    state = node.runs.new(wf.id)
    with pytest.raises(ExecutionFailedError) as info:
        node.runs.next(state.id, [1])
    assert info.value.exit_code == 1 and not isinstance(info.value, BadInputError)
    with pytest.raises(RunStateError) as again:
        node.runs.next(state.id, [1])
    assert isinstance(again.value, CatenaryError) and not isinstance(again.value, BadInputError)


# -- persistence --------------------------------------------------------------------------------


def test_runs_persist_across_nodes(make_node, data_dir, ops) -> None:
    first = make_node()
    wf = first.workflows.create(TWO)
    state = first.runs.new(wf.id)
    r0 = first.runs.next(state.id, [1])
    node_id = first.id
    first.close()

    second = make_node()
    assert second.id == node_id
    assert second.workflows.get(wf.id).workflow.id == wf.id
    resumed = second.runs.get(state.id)
    assert (resumed.status, resumed.next_segment) == ("running", 1)
    assert resumed.total_time == pytest.approx(r0.total_time)
    r1 = second.runs.next(state.id, [10])
    second.close()

    third = make_node()
    r2 = third.runs.next(state.id)
    assert r2.done and r2.result == 14
    assert r2.total_time == pytest.approx(r0.segment_time + r1.segment_time + r2.segment_time)
    executions = list(third.executions.iterate(ExecutionFilter(run=state.id)))
    assert len(executions) == 4
    for e in executions:
        check_hashes(e)
    # memoization survives the restart
    calls = ops.CALLS["test/inc"]
    third.runs.run(wf.id, {0: [1], 1: [10]})
    assert ops.CALLS["test/inc"] == calls


def test_values_persist_and_roundtrip(make_node) -> None:
    node = make_node()
    value = {"b": b"\x00\x01", "s": "ß", "l": [1, -2, 1.5, True, None], "c": cid_of("x")}
    cid = node.values.put(value)
    assert cid == cid_of(value)
    node.close()
    again = make_node()
    assert again.values.get(cid) == value
    assert again.values.get_bytes(cid)
    with pytest.raises(EncodingError):
        again.values.put({"x": math.nan})


# -- workflows and operations --------------------------------------------------------------------


def test_workflow_create_forms_and_idempotence(node, tmp_path) -> None:
    a = node.workflows.create(TWO)
    b = node.workflows.create(json.dumps(TWO))
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(TWO))
    c = node.workflows.create(path)
    d = node.workflows.create(json.dumps(TWO).encode())
    assert a.id == b.id == c.id == d.id
    assert [w.id for w in node.workflows.list()] == [a.id]
    assert node.workflows.get(a.id).workflow == a.workflow
    with pytest.raises(BadInputError, match="cannot read"):
        node.workflows.create(tmp_path / "absent.json")


def test_workflow_manifest_with_version_ids_in_dag_json(node) -> None:
    inc = node.operations.resolve_name("test/inc")
    text = json.dumps(
        {
            "data": {
                "name": "v",
                "creators": [],
                "description": "",
                "groups": [],
                "segments": [{"inputs": [-1], "sequence": [{"version_id": {"/": str(inc)}, "config": {}}]}],
            }
        }
    )
    wf = node.workflows.create(text)
    assert wf.workflow.segments[0].sequence[0].version_id == inc
    assert node.runs.run(wf.id, {0: [41]})[1].result == 42


def test_operations_list_and_get(make_node) -> None:
    node = make_node()
    infos = node.operations.list()
    names = {i.manifest.name for i in infos}
    assert {"std/hash", "std/exif", "test/inc", "test/boom"} <= names
    assert all(i.available for i in infos)
    inc = node.operations.resolve_name("test/inc")
    info = node.operations.get(inc)
    assert info.version_id == inc and info.manifest.name == "test/inc" and info.available
    # another process without the test module still knows the recorded versions, but cannot run them
    plain = make_node(operations=[])
    recorded = {i.manifest.name: i for i in plain.operations.list()}
    assert recorded["test/inc"].available is False
    assert recorded["std/hash"].available is True
    assert plain.operations.get(inc).available is False
    assert plain.operations.resolve_name("test/inc") is None


def test_bad_operations_module_is_refused(data_dir) -> None:
    with pytest.raises(BadInputError, match="cannot import"):
        Node(data_dir, operations=["tests.no_such_ops"])
