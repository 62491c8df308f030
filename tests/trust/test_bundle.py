"""Proof bundles: export on one node, verify and import on a fresh one; every kind of
tampering detected and named, and nothing imported from a bundle that does not verify."""

from __future__ import annotations

import io

import pytest

from catenary import Node
from catenary.cid import CID, block, cid_of, decode
from catenary.cid.car import read_car
from catenary.errors import UnreadableBundleError, VerificationError
from catenary.model.filter import ExecutionFilter
from catenary.trust.bundle import FORMAT
from catenary.trust.policy import Policy
from tests.helpers import snapshot
from tests.trust.conftest import Car


def test_layout_roots_index_and_metadata(finished, bundle) -> None:
    node, state, result = finished
    car = Car(bundle)
    assert car.roots[0] == result.final  # the execution's own block: its hash
    index = car.index
    assert index["format"] == FORMAT and index["execution"] == result.final
    assert len(index["executions"]) == 4 and len(index["runs"]) == 1
    meta = car.value(car.meta_of(result.final))
    e = node.executions.get(result.final)
    assert meta["key"] == e.key and meta["output"] == e.output and meta["run"] == state.id
    assert decode(car.blocks[e.key]) == {"operation": e.operation, "config": {}, "inputs": list(e.inputs)}
    assert car.blocks[e.hash] == node_preimage(e)
    assert len(meta["attestations"]) == 1
    # The python source of every operation rides along.
    version = car.value(e.operation)
    assert "def count" in car.value(version["implementation"]["source"])


def node_preimage(e) -> bytes:
    from catenary.cid import encode
    from catenary.model import hash_data

    return encode(
        hash_data(e.workflow, e.segment, e.step, e.operation, e.config, list(e.parents), list(e.inputs))
    )


def test_fresh_node_verifies_and_imports(finished, bundle, node_b) -> None:
    node_a, state, result = finished
    report = node_b.trust.verify_bundle(bundle)
    assert report.ok and report.overall == "verified" and report.problems == []
    assert len(report.verdicts) == 4 and all(v.ok for v in report.verdicts)
    assert all(len(v.attestations) == 1 and v.attestations[0].valid for v in report.verdicts)
    _, counts = node_b.trust.import_bundle(bundle)
    assert counts["executions"] == 4 and counts["events"] == 2 and counts["attestations"] == 4
    for e in node_a.executions.iterate(ExecutionFilter(run=state.id)):
        mine = node_b.executions.get(e.hash)
        assert (mine.key, mine.output, mine.executor, mine.parents, mine.created_at) == (
            e.key,
            e.output,
            e.executor,
            e.parents,
            e.created_at,
        )
    trace_a, trace_b = node_a.executions.trace(result.final), node_b.executions.trace(result.final)
    assert {n.hash for n in trace_a.nodes} == {n.hash for n in trace_b.nodes}
    assert set(trace_a.edges) == set(trace_b.edges)
    assert node_b.runs.get(state.id).status == "completed"
    assert node_b.values.get(node_b.executions.get(result.final).output) == 16
    # Extended: a new run here reuses the imported results once its policy trusts node_a's
    # key (by default it reuses only what it signed itself, and computes again).
    workflow_id = node_b.executions.get(result.final).workflow
    _, again = node_b.runs.run(workflow_id, {0: [1], 1: [5]})
    assert node_b.executions.get(again.final).cached_from is None
    node_b.policy = Policy.parse(
        {"rules": {"trust_executor": [{"keys": [node_a.id], "operations": ["*"]}]}}, node_b.id
    )
    _, trusted = node_b.runs.run(workflow_id, {0: [1], 1: [5]})
    assert node_b.executions.get(trusted.final).cached_from == result.final
    # Importing again adds nothing.
    assert not any(node_b.trust.import_bundle(bundle)[1].values())


def _refused(node: Node, data: bytes) -> tuple[str, list[str]]:
    """verify_bundle's report must fail; import must refuse and change nothing."""
    db = node.data_dir / "catenary.db"
    before = snapshot(db)
    report = node.trust.verify_bundle(data)
    assert not report.ok
    with pytest.raises(VerificationError, match="nothing was imported"):
        node.trust.import_bundle(data)
    assert snapshot(db) == before
    return report.overall, report.problems + [
        f"{v.execution} {v.verdict}: {v.reason}" for v in report.verdicts if not v.ok
    ]


def test_truncated_and_corrupt_car_is_unreadable(bundle, node_b) -> None:
    boundaries = {b.offset for b in read_car(bundle).blocks}
    for size in (0, 1, 5, 60, len(bundle) // 2, len(bundle) - 1):
        if size in boundaries:
            continue
        with pytest.raises(UnreadableBundleError):
            node_b.trust.verify_bundle(bundle[:size])
    with pytest.raises(UnreadableBundleError, match="not a CARv1 header|not DAG-CBOR"):
        node_b.trust.verify_bundle(b"\x0aHELLO WORLD" + bundle)


def test_cut_between_sections_names_the_missing_blocks(bundle, node_b) -> None:
    cut = read_car(bundle).blocks[-3].offset
    overall, problems = _refused(node_b, bundle[:cut])
    assert any(p.startswith("missing block") for p in problems)


def test_block_bytes_not_matching_their_cid(finished, bundle, node_b) -> None:
    node, _, result = finished
    output = node.executions.get(result.final).output
    car = Car(bundle)
    car.blocks[output] = block(17)[1]  # the CID stays, the bytes change
    _, problems = _refused(node_b, car.bytes())
    assert any(p.startswith(f"block {output}") and "hash to" in p for p in problems)


def test_flipped_byte_anywhere_is_detected(bundle, node_b) -> None:
    positions = sorted(set(range(0, len(bundle), max(1, len(bundle) // 150))) | set(range(0, 120)))
    for pos in positions:
        data = bytearray(bundle)
        data[pos] ^= 0x40
        try:
            report = node_b.trust.verify_bundle(bytes(data))
        except UnreadableBundleError:
            continue
        assert not report.ok, f"a flipped byte at {pos} went unnoticed"
        assert report.problems or any(not v.ok for v in report.verdicts)


def test_missing_event_block(finished, bundle, node_b) -> None:
    node, state, _ = finished
    car = Car(bundle)
    first = node.executions.list(ExecutionFilter(run=state.id, segment=0)).executions[-1]
    event = first.parents[0]
    del car.blocks[event]
    _, problems = _refused(node_b, car.bytes())
    assert f"missing block {event} (parent 0 of execution {first.hash})" in problems


def test_swapped_output_value(finished, bundle, node_b) -> None:
    """A forger who re-links everything so every CID checks: the attestation no longer
    matches, and re-execution disagrees."""
    node, _, result = finished
    car = Car(bundle)
    meta_cid = car.meta_of(result.final)
    meta = car.value(meta_cid)
    forged, data = block(17)
    car.blocks[forged] = data
    meta["output"] = forged
    car.replace(meta_cid, meta)
    _, problems = _refused(node_b, car.bytes())
    text = "\n".join(problems)
    assert f"but the execution's output is {forged}" in text  # the signed output differs
    assert f"{result.final} mismatch: re-execution gave {cid_of(16)}, the recorded output is {forged}" in text


def test_swapped_input_value(finished, bundle, node_b) -> None:
    node, _, result = finished
    e = node.executions.get(result.final)
    car = Car(bundle)
    forged, data = block(99)
    car.blocks[forged] = data
    pre = car.value(e.hash)
    pre["inputs"] = [forged]
    new_hash = car.replace(e.hash, pre)
    meta = car.value(
        next(link for link in car.index["executions"] if car.value(link)["execution"] == new_hash)
    )
    meta["key"] = cid_of({"operation": e.operation, "config": {}, "inputs": [forged]})
    car.replace(car.meta_of(new_hash), meta)
    _, problems = _refused(node_b, car.bytes())
    text = "\n".join(problems)
    assert f"input 0 is {forged} but parent" in text


def test_forged_signature(finished, bundle, node_b) -> None:
    node, _, result = finished
    car = Car(bundle)
    meta = car.value(car.meta_of(result.final))
    att = car.value(meta["attestations"][0])
    att["signature"] = bytes(64)
    new = car.replace(meta["attestations"][0], att)
    _, problems = _refused(node_b, car.bytes())
    assert any(
        p.startswith(f"attestation {new} on execution {result.final} is invalid") and "does not verify" in p
        for p in problems
    )


def test_unknown_operation_is_named(bundle, tmp_path) -> None:
    bare = Node(tmp_path / "bare")  # the standard library only: no test/* operations
    try:
        overall, problems = _refused(bare, bundle)
        assert overall == "unverifiable"
        assert any("test/inc" in p and "has no implementation here" in p for p in problems)
    finally:
        bare.close()


def test_extra_unlinked_block(bundle, node_b) -> None:
    car = Car(bundle)
    extra, data = block("stowaway")
    car.blocks[extra] = data
    _, problems = _refused(node_b, car.bytes())
    assert f"block {extra} is not linked from the bundle (unexpected extra block)" in problems


def test_wrong_root_count_is_unreadable(bundle, node_b) -> None:
    car = Car(bundle)
    car.roots = car.roots[:1]
    with pytest.raises(UnreadableBundleError, match="expected 2"):
        node_b.trust.verify_bundle(car.bytes())


def test_export_of_unknown_hash(node_a) -> None:
    from catenary.errors import NotFoundError

    with pytest.raises(NotFoundError):
        node_a.trust.export(cid_of("nothing"), io.BytesIO())


def test_export_refuses_a_record_that_does_not_recompute(finished) -> None:
    node, _, result = finished
    node.store._db.execute(
        "UPDATE executions SET key = ? WHERE hash = ?",  # noqa: SLF001
        (cid_of("x").cid_bytes, result.final.cid_bytes),
    )
    with pytest.raises(VerificationError, match="key does not recompute"):
        node.trust.export(result.final, io.BytesIO())


def test_running_run_without_all_outputs_is_imported_as_ended(node_a, node_b) -> None:
    from tests.trust.conftest import CHAIN

    wf = node_a.workflows.create(CHAIN)
    state = node_a.runs.new(wf.id)
    node_a.runs.next(state.id, [1])
    second = node_a.runs.next(state.id, [5])  # segment 2 is still to run
    seg0 = node_a.executions.list(ExecutionFilter(run=state.id, segment=0)).executions[0]
    buffer = io.BytesIO()
    node_a.trust.export(seg0.hash, buffer)  # only segment 0's ancestry
    node_b.trust.import_bundle(buffer.getvalue())
    imported = node_b.runs.get(state.id)
    assert imported.status == "failed" and "segment(s) 1" in imported.error
    buffer = io.BytesIO()
    node_a.trust.export(second.final, buffer)  # segments 0 and 1: the run can go on
    other = Node(node_b.data_dir.parent / "c", operations=["tests.ops_fixture"])
    try:
        other.trust.import_bundle(buffer.getvalue())
        assert other.runs.get(state.id).status == "running"
        assert other.runs.next(state.id).done
    finally:
        other.close()


def test_bundle_walks_as_one_dag(bundle) -> None:
    """Every block is reachable from the two roots by links (values are leaves)."""
    car = Car(bundle)
    seen: set[CID] = set()
    stack = list(car.roots)
    while stack:
        cid = stack.pop()
        if cid in seen:
            continue
        seen.add(cid)
        stack.extend(_links(car.value(cid)))
    assert seen == set(car.blocks)


def _links(value):
    if isinstance(value, CID):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _links(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _links(v)
