"""Peers follow each other with no shared file: four nodes, restarts, provenance."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.helpers import query
from tests.network.nodes import Served, cli, held, run_on, wait_for


def test_a_run_on_a_is_seen_on_b_c_and_d(make_node: Callable[..., Served]) -> None:
    a, b, c, d = (make_node(n) for n in "abcd")
    b.follow(a)  # a line and a shortcut: c hears of a's work only through b, d from both
    c.follow(b)
    d.follow(a)
    d.follow(c)
    run = run_on(a)
    wanted = set(run["executions"])
    assert len(wanted) == 4
    for node in (b, c, d):
        wait_for(lambda node=node: wanted <= held(node), f"{node.data_dir.name} to hold a's run")
    # where each came from, and the counts in `peer list`
    rows = query(b.data_dir / "catenary.db", "SELECT peer FROM provenance")
    assert {r[0] for r in rows} == {a.id} and len(rows) == 4
    assert {r[0] for r in query(c.data_dir / "catenary.db", "SELECT peer FROM provenance")} == {b.id}
    peer = b.peers()[a.id]
    assert peer["received"] == 4 and peer["refused"] == 0 and peer["cursor"] > 0
    # the record on d is a's: same output, same executor, a's attestation kept
    got = json.loads(cli(d.data_dir, "exec", "get", run["final"], "--json").stdout)
    assert got["executor"] == a.id and got["status"] == "completed"
    on_a = run["executions"][run["final"]]
    assert got["output"] == str(on_a.output)
    signers = query(d.data_dir / "catenary.db", "SELECT DISTINCT signer FROM attestations")
    assert signers == [(a.id,)]  # a's signed claims travelled with its work, and no one else's
    for node in (b, c, d):
        assert "refused" not in node.log()


def test_a_node_killed_mid_sync_converges_after_restart(make_node: Callable[..., Served]) -> None:
    a = make_node("a")
    wanted: set[str] = set()
    for i in range(12):
        wanted |= set(run_on(a, (i, 100 + i))["executions"])
    assert len(wanted) == 48
    b = make_node("b")
    b.follow(a)
    partial = wait_for(lambda: held(b) or None, "the first synced execution", timeout=60)
    b.kill()  # SIGKILL, mid-sync: whatever was not committed is lost
    got = held(b)
    assert partial <= got and len(got) < len(wanted), "synced before the kill: give it more work"
    a.stop()  # and the peer goes away too, then comes back at the same address
    a.start()
    b.start()
    wanted |= set(run_on(a, (7, 7))["executions"])  # work done after both restarts
    wait_for(lambda: wanted <= held(b), "b to converge after the restart")
    # resumed from its cursor: each execution stored once, with its provenance, nothing refused
    rows = query(b.data_dir / "catenary.db", "SELECT execution, peer FROM provenance")
    assert len(rows) == len(wanted) and {r[1] for r in rows} == {a.id}
    peer = b.peers()[a.id]
    assert peer["refused"] == 0 and peer["received"] == len(wanted)
