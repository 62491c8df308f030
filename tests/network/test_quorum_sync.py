"""Issue 18's done-when, over peer sync alone (no bundle moved by hand): four honest nodes
with separate SQLite databases, real `catenary serve` processes on loopback. A runs; B and C
validate; D judges under a 2-of-3 quorum of B, C and E; E forges an output for the same key.
The validators' attestations (and dissents), added after the executions they sign were
announced, reach D through sync (docs/network.md, "Attestations added later")."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from catenary.cid import CID, cid_of
from catenary.client import Client
from catenary.model.enums import Acceptance, Role
from tests.helpers import manifest, query
from tests.network.nodes import Served, held, wait_for

OPS = ("--ops", "tests.trust.trust_ops")
WF = manifest(([-1], ["trust/square", "test/inc"]), name="quorum")
DEFERRED = "\n[sync]\nreexecute = false\n"  # outputs wait for validators and the quorum


def policy(node: Served, extra: str) -> None:
    with (node.data_dir / "policy.toml").open("a") as f:
        f.write(extra)


def run(node: Served, x: int) -> tuple[CID, CID]:
    """(square's execution, the final execution) of WF on ``x``, over gRPC."""
    with Client(node.address) as client:
        wf = client.workflows.create(json.dumps(WF))
        result = client.runs.run(wf.id, {0: [x]})
        mine = [e for e in client.executions.iterate() if e.run == result.state.id]
    square = next(e for e in mine if e.step == 0)
    return square.hash, result.final


CLIENTS: dict[str, Client] = {}  # one channel per node, not one per poll (the machine is loaded)


def standing(node: Served, execution: CID) -> Any:
    client = CLIENTS.get(node.address)
    if client is None:
        client = CLIENTS[node.address] = Client(node.address)
    return client.acceptance.get(execution)


def status(node: Served, execution: CID) -> Acceptance | None:
    if str(execution) not in held(node):
        return None
    return standing(node, execution).status  # type: ignore[no-any-return]


@pytest.fixture
def clients() -> Iterator[None]:
    yield
    for client in CLIENTS.values():
        client.close()
    CLIENTS.clear()


@pytest.mark.usefixtures("clients")
def test_a_quorum_forms_over_sync_and_a_forgery_is_disputed(make_node: Callable[..., Served]) -> None:
    a = make_node("a", *OPS)
    b, c, d = (make_node(n, *OPS, start=False) for n in "bcd")
    e = make_node("e", "--ops", "tests.network.forged_ops", start=False)
    for validator in (b, c):
        policy(validator, DEFERRED + "\n[validate]\non_serve = true\n")
    keys = ", ".join(f'"{n.id}"' for n in (b, c, e))
    policy(d, DEFERRED + f'\n[[quorum]]\nkeys = [{keys}]\nneed = 2\n\n[memo]\nreuse = "accepted"\n')
    for node in (b, c, e):
        node.start()
    for validator in (b, c):
        validator.follow(a)
        validator.follow(e)

    # A runs; the work reaches B and C, who re-execute it and sign.
    squares = {}
    for x in range(6):
        square, final = run(a, x)
        squares[square] = cid_of(x * x)
    wanted = {str(h) for h in squares}
    for validator in (b, c):
        wait_for(lambda v=validator: wanted <= held(v), f"{validator.data_dir.name} to hold a's work")

    # D joins late and is killed mid-sync (SIGKILL), then restarted: it converges from its cursors.
    d.start()
    for peer in (a, b, c, e):
        d.follow(peer)
    wait_for(lambda: held(d) or None, "d's first synced execution")
    d.kill()
    d.start()
    wait_for(lambda: wanted <= held(d), "d to hold a's work after the restart")
    for square, output in squares.items():
        wait_for(
            lambda s=square: status(d, s) is Acceptance.ACCEPTED, f"{square} to be accepted on d", timeout=90
        )
        got = standing(d, square)
        assert got.canonical == output
        counted = {v.signer for v in got.votes if v.counted and v.output == output}
        assert counted == {b.id, c.id}  # the validators' votes came by sync, after the executions
    signers = {r[0] for r in query(d.data_dir / "catenary.db", "SELECT DISTINCT signer FROM attestations")}
    assert signers == {a.id, b.id, c.id}
    refused = {p["id"]: p["refused"] for p in d.peers().values()}
    assert refused == {a.id: 0, b.id: 0, c.id: 0, e.id: 0}

    # E forges 7 * 7 = 50 for the same key; B and C dissent, and D finds E's execution disputed.
    forged, _ = run(e, 7)
    honest, _ = run(a, 7)
    for node in (b, c, d):
        wait_for(lambda n=node: status(n, forged) is Acceptance.DISPUTED, f"{forged} disputed on {node}")
    wait_for(lambda: status(d, honest) is Acceptance.ACCEPTED, "a's square of 7 accepted on d", timeout=90)

    def dissents() -> set[str | None]:
        listed = CLIENTS[d.address].attestations.list(forged)
        return {x.signer for x in listed if x.role is Role.DISSENT and x.valid}

    wait_for(lambda: dissents() == {b.id, c.id}, "b's and c's signed dissents on d", timeout=90)
    got = standing(d, forged)
    assert got.canonical == cid_of(49) and (e.id, cid_of(50)) in {(v.signer, v.output) for v in got.votes}

    # No honest node reuses the forgery: D (reuse = "accepted") reuses A's result.
    with Client(d.address) as client:
        again, _ = run(d, 7)
        mine = client.executions.get(again)
    assert mine.cached_from == honest and mine.output == cid_of(49)
    for node in (a, b, c, d):
        assert "refused" not in node.log(), node.log()
