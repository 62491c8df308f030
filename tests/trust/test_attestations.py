"""Attestations: recorded by the engine with each execution that did the work, in the same
transaction; listed with their check; a bad or foreign signature is never shown valid."""

from __future__ import annotations

import pytest

from catenary.cid import block, cid_of, decode, encode
from catenary.model.filter import ExecutionFilter
from catenary.store import AttestationRow
from catenary.trust import attestation
from catenary.trust.identity import Identity
from tests.helpers import query
from tests.trust.conftest import CHAIN


def test_engine_attests_each_execution_that_did_the_work(finished) -> None:
    node, state, _ = finished
    executions = list(node.executions.iterate(ExecutionFilter(run=state.id)))
    assert len(executions) == 4
    for e in executions:
        [check] = node.attestations.list(e.hash)
        assert check.valid and check.role == "executor" and check.signer == node.id
        data = decode(node.store.get_block(check.cid))
        assert data["execution"] == e.hash and data["key"] == e.key and data["output"] == e.output
        assert set(data) == {"execution", "key", "output", "signer", "signature"}


def test_cache_hits_get_no_executor_attestation(finished) -> None:
    node, _, _ = finished
    wf = node.workflows.create(CHAIN)
    state, result = node.runs.run(wf.id, {0: [1], 1: [5]})  # every step is a memo hit
    hit = node.executions.get(result.final)
    assert hit.cached_from is not None
    assert node.attestations.list(hit.hash) == []
    assert len(node.attestations.list(hit.cached_from)) == 1


def test_attestation_is_committed_with_its_execution(node_a) -> None:
    """A failed step records no attestation; the executions before it get theirs in the
    same commit (the counts agree row for row)."""
    wf = node_a.workflows.create(CHAIN)
    node_a.runs.run(wf.id, {0: [1], 1: [5]})
    db = node_a.data_dir / "catenary.db"
    executed = query(db, "SELECT COUNT(*) FROM executions WHERE cached_from IS NULL")[0][0]
    assert query(db, "SELECT COUNT(*) FROM attestations")[0][0] == executed
    assert query(db, "SELECT COUNT(*) FROM attestations a JOIN blocks b ON b.cid = a.cid")[0][0] == executed


def _store_forged(node, e, mutate) -> AttestationRow:
    """Store an attestation for ``e`` whose data ``mutate`` altered after signing."""
    genuine = attestation.sign(node.identity, e.hash, e.key, e.output, "validator")
    data = decode(genuine.data)
    mutate(data)
    cid, raw = block(data)
    row = AttestationRow(e.hash, cid, raw, data["signer"], "validator")
    node.store.put_attestations([row], 1)
    return row


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda d: d.update(signature=bytes(64)), "does not verify"),
        (
            lambda d: d.update(signature=d["signature"][:-1] + bytes([d["signature"][-1] ^ 1])),
            "does not verify",
        ),
        (lambda d: d.update(signer=Identity.generate().id), "does not verify"),  # foreign signer
        (lambda d: d.update(signer="node-abc"), "not a did:key"),
        (lambda d: d.update(output=cid_of("forged")), "does not verify"),
        (lambda d: d.pop("key"), "not an attestation"),
    ],
)
def test_bad_or_foreign_signatures_are_invalid(finished, mutate, reason) -> None:
    node, _, result = finished
    e = node.executions.get(result.final)
    row = _store_forged(node, e, mutate)
    checks = {c.cid: c for c in node.attestations.list(e.hash)}
    assert checks[row.cid].valid is False
    assert reason in checks[row.cid].reason
    assert sum(c.valid for c in checks.values()) == 1  # only the genuine executor one


def test_a_valid_signature_over_another_execution_is_invalid_here(finished) -> None:
    node, state, result = finished
    final = node.executions.get(result.final)
    other = next(e for e in node.executions.iterate(ExecutionFilter(run=state.id)) if e.hash != final.hash)
    genuine = attestation.sign(node.identity, other.hash, other.key, other.output, "validator")
    node.store.put_attestations(
        [AttestationRow(final.hash, genuine.cid, genuine.data, node.id, "validator")], 1
    )
    bad = [c for c in node.attestations.list(final.hash) if c.cid == genuine.cid][0]
    assert not bad.valid and "signed for execution" in bad.reason


def test_altered_block_bytes_are_invalid(finished) -> None:
    node, _, result = finished
    [check] = node.attestations.list(result.final)
    db = node.store._db  # noqa: SLF001 - simulate a tampered database file
    data = bytearray(node.store.get_block(check.cid))
    data[-1] ^= 1
    db.execute("UPDATE blocks SET data = ? WHERE cid = ?", (bytes(data), check.cid.cid_bytes))
    [again] = node.attestations.list(result.final)
    assert not again.valid and "do not hash to its CID" in again.reason


def test_unsigned_map_is_what_the_signature_covers(finished) -> None:
    node, _, result = finished
    [check] = node.attestations.list(result.final)
    data = decode(node.store.get_block(check.cid))
    signature = data.pop("signature")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(node.identity.public_key).verify(signature, encode(data))
