"""catenary verify: re-execution without reusing cached results; verdicts with reasons."""

from __future__ import annotations

from catenary import Node
from catenary.cid import cid_of, encode
from catenary.model.filter import ExecutionFilter
from tests import ops_fixture
from tests.helpers import manifest


def test_verify_re_executes_and_does_not_use_the_cache(finished) -> None:
    node, _, result = finished
    before = ops_fixture.CALLS["test/count"]
    report = node.trust.verify(result.final)
    assert report.ok and report.overall == "verified"
    [v] = report.verdicts
    assert v.verdict == "verified" and v.expected == v.got == node.executions.get(result.final).output
    assert ops_fixture.CALLS["test/count"] == before + 1  # the function really ran again


def test_verify_trace_checks_every_ancestor(finished) -> None:
    node, state, result = finished
    report = node.trust.verify(result.final, trace=True)
    run = {e.hash for e in node.executions.iterate(ExecutionFilter(run=state.id))}
    assert {v.execution for v in report.verdicts} == run
    assert all(v.verdict == "verified" for v in report.verdicts)


def test_the_executor_does_not_attest_twice(finished) -> None:
    node, _, result = finished
    report = node.trust.verify(result.final, trace=True)
    assert report.attested == []
    assert len(node.attestations.list(result.final)) == 1


def test_a_second_node_adds_its_validator_attestation(finished, bundle, node_b) -> None:
    _, _, result = finished
    node_b.trust.import_bundle(bundle)
    report = node_b.trust.verify(result.final, trace=True)
    assert report.ok and len(report.attested) == 4
    checks = node_b.attestations.list(result.final)
    roles = sorted((c.role, c.signer == node_b.id, c.valid) for c in checks)
    assert roles == [("executor", False, True), ("validator", True, True)]
    again = node_b.trust.verify(result.final)
    assert again.attested == [] and len(node_b.attestations.list(result.final)) == 2


def test_non_deterministic_operation_is_caught(node_a) -> None:
    wf = node_a.workflows.create(manifest(([-1], ["trust/random"]), name="random"))
    _, result = node_a.runs.run(wf.id, {0: [16]})
    report = node_a.trust.verify(result.final)
    [v] = report.verdicts
    recorded = node_a.executions.get(result.final).output
    assert v.verdict == "mismatch" and v.expected == recorded and v.got not in (None, recorded)
    assert f"the recorded output is {recorded}" in v.reason
    assert report.attested == [] and not report.ok


def test_operation_not_here_is_unverifiable(finished, tmp_path) -> None:
    node, _, result = finished
    node.close()
    bare = Node(tmp_path / "a")  # the same data dir, without the test operations
    try:
        [v] = bare.trust.verify(result.final).verdicts
        assert v.verdict == "unverifiable"
        assert "test/count" in v.reason and "has no implementation here" in v.reason and "--ops" in v.reason
    finally:
        bare.close()


def test_missing_input_value_is_unverifiable(finished) -> None:
    node, _, result = finished
    e = node.executions.get(result.final)
    node.store._db.execute("DELETE FROM blocks WHERE cid = ?", (e.inputs[0].cid_bytes,))  # noqa: SLF001
    [v] = node.trust.verify(result.final).verdicts
    assert v.verdict == "unverifiable" and f"input 0 value {e.inputs[0]} is missing" in v.reason


def test_tampered_output_is_a_mismatch(finished) -> None:
    node, _, result = finished
    forged = cid_of(12345)
    node.store._db.execute(
        "UPDATE executions SET output = ? WHERE hash = ?",  # noqa: SLF001
        (forged.cid_bytes, result.final.cid_bytes),
    )
    [v] = node.trust.verify(result.final).verdicts
    assert v.verdict == "mismatch" and v.expected == forged and v.got == cid_of(16)


def test_tampered_record_does_not_recompute(finished) -> None:
    node, state, result = finished
    first = node.executions.list(ExecutionFilter(run=state.id, segment=0)).executions[-1]
    node.store._db.execute(
        "UPDATE executions SET config = ? WHERE hash = ?",  # noqa: SLF001
        (encode({"mode": "x"}), first.hash.cid_bytes),
    )
    report = node.trust.verify(result.final, trace=True)
    bad = [v for v in report.verdicts if not v.ok]
    assert [v.execution for v in bad] == [first.hash]
    assert bad[0].verdict == "mismatch" and bad[0].reason.startswith("hash does not recompute")


def test_swapped_input_breaks_the_link_to_the_parent(finished) -> None:
    node, _, result = finished
    e = node.executions.get(result.final)
    other = cid_of(999)
    node.store.put_blocks([(other, encode(999))])
    # Rewrite inputs and recompute hash/key, as a careful forger would: the record is then
    # self-consistent, but its input is not what its parent produced.
    from catenary.cid.codec import encode as enc
    from catenary.model import hash_data, key_data

    new_hash = cid_of(
        hash_data(e.workflow, e.segment, e.step, e.operation, e.config, list(e.parents), [other])
    )
    new_key = cid_of(key_data(e.operation, e.config, [other]))
    node.store._db.execute(
        "UPDATE executions SET inputs = ?, hash = ?, key = ? WHERE hash = ?",  # noqa: SLF001
        (enc([other]), new_hash.cid_bytes, new_key.cid_bytes, e.hash.cid_bytes),
    )
    [v] = node.trust.verify(new_hash).verdicts
    assert v.verdict == "mismatch" and f"input 0 is {other} but parent" in v.reason


def test_failed_execution_is_unverifiable(node_a) -> None:
    import pytest

    from catenary.errors import ExecutionFailedError

    wf = node_a.workflows.create(manifest(([-1], ["test/boom"]), name="boom"))
    with pytest.raises(ExecutionFailedError) as info:
        node_a.runs.run(wf.id, {0: [1]})
    [v] = node_a.trust.verify(info.value.execution.hash).verdicts
    assert v.verdict == "unverifiable" and "failed" in v.reason


def test_unknown_hash(node_a) -> None:
    import pytest

    from catenary.errors import NotFoundError

    with pytest.raises(NotFoundError):
        node_a.trust.verify(cid_of("nothing"))
    with pytest.raises(NotFoundError):
        node_a.trust.verify(cid_of("nothing"), trace=True)
