"""Validators and quorum across nodes with separate SQLite databases (records moved by
bundle export/import, as peer sync will move them): a run on A, validated by B and C,
accepted on D under a 2-of-3 policy; a dishonest E's forged output disputed and never reused."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from catenary import Node
from catenary.cid import CID, block, cid_of, decode, encode
from catenary.errors import NotFoundError, VerificationError
from catenary.model.enums import Acceptance, Role
from catenary.model.filter import ExecutionFilter
from catenary.operations import Operation
from catenary.trust import attestation
from tests.helpers import manifest, snapshot

OPS = ["tests.ops_fixture", "tests.trust.trust_ops"]
WF = manifest(([-1], ["trust/square", "test/inc"]), name="quorum")


def export(node: Node, execution: CID) -> bytes:
    buffer = io.BytesIO()
    node.trust.export(execution, buffer)
    return buffer.getvalue()


def move(src: Node, dst: Node, execution: CID) -> None:
    """What sync will do: every record checked, nothing re-executed (validators do that)."""
    report = dst.trust.verify_bundle(export(src, execution), reexecute=False)
    dst.trust.import_verified(report, deferred=True)


def policy(data_dir: Path, keys: list[str], need: int, reuse: str = "accepted") -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    listed = ", ".join(f'"{k}"' for k in keys)
    (data_dir / "policy.toml").write_text(
        f'[[quorum]]\noperations = ["*"]\nkeys = [{listed}]\nneed = {need}\n\n[memo]\nreuse = "{reuse}"\n'
    )


def forge(node: Node, name: str) -> None:
    """Make ``node`` dishonest: the operation keeps its version id but returns another output."""
    op = node.registry.by_name(name)
    assert op is not None
    node.registry.add(Operation(op.manifest, op.version, lambda x: op.func(x) + 1, op.source))


@pytest.fixture
def nodes(make_node: Callable[..., Node], tmp_path: Path) -> dict[str, Node]:
    """A (executor), B and C (validators), E (dishonest), D (judges under 2 of B, C, E)."""
    made = {n: make_node(data_dir=tmp_path / n, operations=OPS) for n in "abce"}
    policy(tmp_path / "d", [made[n].id for n in "bce"], 2)
    made["d"] = make_node(data_dir=tmp_path / "d", operations=OPS)
    forge(made["e"], "trust/square")
    return made


def run(node: Node, x: int) -> tuple[CID, CID, CID]:
    """(run, square's execution, the final execution) of WF on ``x``."""
    wf = node.workflows.create(WF)
    state, result = node.runs.run(wf.id, {0: [x]})
    square = [e for e in node.executions.iterate(ExecutionFilter(run=state.id)) if e.step == 0][0]
    return state.id, square.hash, result.final


def test_validators_make_a_result_accepted_and_a_forgery_disputed(nodes: dict[str, Node]) -> None:
    a, b, c, d, e = (nodes[n] for n in "abcde")
    run_a, square_a, final_a = run(a, 7)
    _, square_e, final_e = run(e, 7)
    assert a.executions.get(square_a).key == e.executions.get(square_e).key  # the same computation
    assert e.executions.get(square_e).output == cid_of(50) != a.executions.get(square_a).output

    # D holds the forgery first: it is the oldest candidate for the key.
    move(e, d, final_e)
    move(a, d, final_a)
    # E, one of D's counted keys, vouches for 50; A is not counted: one trusted voice, no quorum.
    for split in (square_a, square_e):
        assert d.acceptance.get(split).status is Acceptance.PENDING
        assert d.acceptance.get(split).canonical is None

    for validator in (b, c):
        move(a, validator, final_a)
        done = validator.validator.validate_run(run_a)
        assert [v.outcome for v in done] == ["validated", "validated"]
        move(validator, d, final_a)
    standing = d.acceptance.get(square_a)
    assert standing.status is Acceptance.ACCEPTED and standing.canonical == cid_of(49)
    assert {v.signer for v in standing.votes if v.counted and v.output == cid_of(49)} == {b.id, c.id}

    # E's output: the quorum agreed on another one.
    forged = d.acceptance.get(square_e)
    assert forged.status is Acceptance.DISPUTED and forged.canonical == cid_of(49)
    assert (e.id, cid_of(50)) in {(v.signer, v.output) for v in forged.votes}

    # B re-executes E's execution: a signed dissent, stored like an attestation, travels to D.
    move(e, b, final_e)
    assert b.validator.validate(square_e).outcome == "dissent"
    dissent = [r for r in b.store.list_attestations(square_e) if r.signer == b.id]
    assert [r.role for r in dissent] == [Role.DISSENT]
    assert attestation.attested_output(dissent[0].data) == cid_of(49)
    assert b.acceptance.get(square_e).status is Acceptance.DISPUTED
    move(b, d, final_e)
    votes = {(v.signer, v.output, v.role) for v in d.acceptance.get(square_e).votes}
    assert (b.id, cid_of(49), Role.DISSENT) in votes
    assert d.acceptance.get(square_a).status is Acceptance.ACCEPTED  # the dissent agrees with A

    # exec list --acceptance, on D
    accepted = d.executions.list(ExecutionFilter(acceptance=Acceptance.ACCEPTED)).executions
    disputed = d.executions.list(ExecutionFilter(acceptance=Acceptance.DISPUTED)).executions
    assert square_a in {x.hash for x in accepted} and square_e not in {x.hash for x in accepted}
    assert {x.hash for x in disputed} == {square_e}

    # Memoization on the honest nodes reuses A's result, never E's forgery.
    for honest in (d, b):
        _, square_here, final_here = run(honest, 7)
        mine = honest.executions.get(square_here)
        assert mine.cached_from == square_a and mine.output == cid_of(49)
        assert decode(honest.store.get_block(honest.executions.get(final_here).output) or b"") == 50


def test_pending_until_the_quorum_and_not_reused_before(nodes: dict[str, Node]) -> None:
    a, b, d = nodes["a"], nodes["b"], nodes["d"]
    run_a, square_a, final_a = run(a, 3)
    move(a, b, final_a)
    b.validator.validate_run(run_a)
    move(b, d, final_a)
    assert d.acceptance.get(square_a).status is Acceptance.PENDING  # 1 of 2
    _, square_d, _ = run(d, 3)
    assert d.executions.get(square_d).cached_from is None  # ran again: not accepted yet
    assert d.executions.list(ExecutionFilter(acceptance=Acceptance.PENDING), page_size=1).executions


def test_a_validator_skips_what_it_executed_and_what_it_signed(nodes: dict[str, Node]) -> None:
    a, b = nodes["a"], nodes["b"]
    run_a, square_a, final_a = run(a, 2)
    assert a.validator.validate(square_a).reason == "executed here"
    move(a, b, final_a)
    assert b.validator.validate(square_a).outcome == "validated"
    assert b.validator.validate(square_a).reason == "already signed here"


def test_an_attestation_alone_is_checked_before_it_is_stored(nodes: dict[str, Node], tmp_path: Path) -> None:
    a, b, d = nodes["a"], nodes["b"], nodes["d"]
    run_a, square_a, final_a = run(a, 4)
    move(a, b, final_a)
    move(a, d, final_a)
    b.validator.validate(square_a)
    vote = next(r for r in b.store.list_attestations(square_a) if r.signer == b.id)
    before = snapshot(tmp_path / "d" / "catenary.db")

    forged = decode(vote.data)
    forged["signature"] = bytes(64)
    with pytest.raises(VerificationError, match=r"is invalid: .*signature"):
        d.attestations.add(encode(forged))
    _, unknown, _ = run(b, 5)  # an execution D does not have
    stray = b.store.list_attestations(unknown)[0]
    with pytest.raises(NotFoundError, match=f"unknown execution {unknown}"):
        d.attestations.add(stray.data)
    assert snapshot(tmp_path / "d" / "catenary.db") == before

    check = d.attestations.add(vote.data)
    assert check.valid and check.signer == b.id and check.role is Role.VALIDATOR
    assert block(decode(vote.data))[0] in {r.cid for r in d.store.list_attestations(square_a)}
    assert d.acceptance.get(square_a).status is Acceptance.PENDING  # one of two


def test_sampling_is_deterministic_by_key() -> None:
    from catenary.sdk.quorum import sampled

    keys = [cid_of(i) for i in range(2000)]
    picked = [k for k in keys if sampled(k, 0.25)]
    assert picked == [k for k in keys if sampled(k, 0.25)]
    assert 400 < len(picked) < 600
    assert all(sampled(k, 1.0) for k in keys) and not any(sampled(k, 0.0) for k in keys)
    assert set(picked) <= {k for k in keys if sampled(k, 0.5)}  # a larger fraction keeps these


def test_a_bundle_with_a_forged_validator_signature_is_refused_and_counts_for_nothing(
    nodes: dict[str, Node], tmp_path: Path
) -> None:
    from catenary.trust.quorum import bundle_standings
    from tests.trust.conftest import Car

    a, b, c, d = (nodes[n] for n in "abcd")
    run_a, square_a, final_a = run(a, 9)
    for validator in (b, c):
        move(a, validator, final_a)
        validator.validator.validate_run(run_a)
    move(c, b, final_a)  # B now holds C's vote too: 2 of 2 needed on D
    car = Car(export(b, final_a))
    vote = next(r for r in b.store.list_attestations(square_a) if r.signer == c.id)
    forged = decode(vote.data)
    forged["signature"] = bytes(64)
    car.replace(vote.cid, forged)
    before = snapshot(tmp_path / "d" / "catenary.db")

    report = d.trust.verify_bundle(car.bytes(), reexecute=False)
    assert not report.checked and any(f"{c.id}" in p or "signature" in p for p in report.problems)
    assert bundle_standings(report, d.policy)[square_a].status is Acceptance.PENDING  # C's vote is void
    with pytest.raises(VerificationError, match="nothing was imported"):
        d.trust.import_verified(report, deferred=True)
    assert snapshot(tmp_path / "d" / "catenary.db") == before
    honest = d.trust.verify_bundle(export(b, final_a), reexecute=False)
    assert bundle_standings(honest, d.policy)[square_a].status is Acceptance.ACCEPTED
